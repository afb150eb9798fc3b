package planner

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/tabledef"
)

var update = flag.Bool("update", false, "rewrite the golden files, printing what changed")

type fixedBuckets map[string][]string

func (f fixedBuckets) Buckets(schema, table string) []string { return f[schema+"."+table] }

func (f fixedBuckets) Has(schema, table, bucket string) bool {
	return slices.Contains(f[schema+"."+table], bucket)
}

// goldenCase is one statement of testdata/<area>.sql with what its
// annotations promise.
type goldenCase struct {
	sql       string
	wantError bool
	tables    int // -1: not asserted
	// noAutoZero: planned under sql_mode NO_AUTO_VALUE_ON_ZERO.
	noAutoZero bool
}

func readCases(t *testing.T, path string) []goldenCase {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenCase
	next := goldenCase{tables: -1}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case line == "-- error":
			next.wantError = true
		case line == "-- sql_mode: NO_AUTO_VALUE_ON_ZERO":
			next.noAutoZero = true
		case strings.HasPrefix(line, "-- tables: "):
			n, err := strconv.Atoi(strings.TrimPrefix(line, "-- tables: "))
			if err != nil {
				t.Fatalf("%s: bad annotation %q", path, line)
			}
			next.tables = n
		case strings.HasPrefix(line, "--"):
		default:
			next.sql = line
			out = append(out, next)
			next = goldenCase{tables: -1}
		}
	}
	return out
}

// readGolden splits a golden file into the expected output per statement.
func readGolden(path string) map[string]string {
	data, err := os.ReadFile(path)
	out := map[string]string{}
	if err != nil {
		return out
	}
	for _, block := range strings.Split(string(data), "\n> ") {
		block = strings.TrimPrefix(block, "> ")
		sql, rest, _ := strings.Cut(block, "\n")
		out[sql] = strings.TrimRight(rest, "\n")
	}
	return out
}

func newGoldenPlanner(t *testing.T) *Planner {
	return newGoldenPlannerFrom(t, "../testdata/rules.plan.yaml")
}

// goldenRules is the rules file of a golden area: rules.plan.yaml, but
// canonical keys have tables of their own (rules.canon.yaml).
func goldenRules(area string) string {
	switch area {
	case "canon":
		return "../testdata/rules.canon.yaml"
	case "tpch":
		return "../testdata/rules.tpch.yaml"
	}
	return "../testdata/rules.plan.yaml"
}

// goldenDB is the session's database of a golden area: shop, but the
// TPC-H tables live in usr_tpch (a database the test cluster's app user
// may use, so the integration test shares the rules file).
func goldenDB(area string) string {
	if area == "tpch" {
		return "usr_tpch"
	}
	return "shop"
}

func newGoldenPlannerFrom(t *testing.T, path string) *Planner {
	r, err := rules.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	buckets := fixedBuckets{
		"shop.payments": {"2026112409", "2026112410", "2026112411", "2026112412"},
		"shop.audit":    {"2026112409"},
	}
	now := func() time.Time { return time.Date(2026, 11, 24, 19, 5, 6, 0, time.UTC) }
	return New(r, buckets, now)
}

// goldenDefs are the definitions of the golden tests' sharded tables, as
// the router reads them from information_schema (planner/canon.go reads
// shard keys by them).
var goldenDefs = func() *tabledef.Cache {
	c := tabledef.NewCache()
	intCol := func(name string, nullable bool) tabledef.Column {
		return tabledef.Column{Name: name, DataType: "int", ColumnType: "int(11)", Nullable: nullable}
	}
	bigintCol := tabledef.Column{Name: "id", DataType: "bigint", ColumnType: "bigint(20)"}
	text := func(name, coll string, n int64) tabledef.Column {
		cs, _, _ := strings.Cut(coll, "_")
		return tabledef.Column{Name: name, DataType: "varchar", ColumnType: fmt.Sprintf("varchar(%d)", n), Charset: cs, Collation: coll, CharLength: n, Nullable: true}
	}
	dt := func(name string) tabledef.Column {
		return tabledef.Column{Name: name, DataType: "datetime", ColumnType: "datetime", Nullable: true}
	}
	for table, cols := range map[string][]tabledef.Column{
		"comments":      {bigintCol, intCol("product_id", false), {Name: "body", DataType: "text", ColumnType: "text", Charset: "utf8mb4", Collation: "utf8mb4_general_ci", CharLength: 65535, Nullable: true}},
		"comment_likes": {bigintCol, intCol("product_id", false)},
		"reviews":       {bigintCol, intCol("product_id", false)},
		"items":         {bigintCol, intCol("product_id", true)},
		"logs":          {intCol("id", false)},
		"wide":          {intCol("id", false)},
		"big":           {intCol("id", false)},
		"payments":      {bigintCol, intCol("user_id", true), dt("created_at"), {Name: "amount", DataType: "decimal", ColumnType: "decimal(10,2)", Precision: 10, Scale: 2, Nullable: true}},
		"audit":         {bigintCol, dt("at")},
		"tags":          {text("name", "utf8mb4_general_ci", 32), intCol("n", true)},
		"tags_bin":      {text("name", "utf8mb4_bin", 32), intCol("n", true)},
		"tags_latin1":   {text("name", "latin1_swedish_ci", 32), intCol("n", true)},
		"ukeys":         {{Name: "k", DataType: "bigint", ColumnType: "bigint(20) unsigned", Unsigned: true}, {Name: "t", DataType: "tinyint", ColumnType: "tinyint(4)", Nullable: true}},
		"seq_notes":     {bigintCol, intCol("product_id", false), text("body", "utf8mb4_general_ci", 64)},
		"seq_events":    {bigintCol, text("kind", "utf8mb4_general_ci", 64)},
		"dkeys":         {{Name: "d", DataType: "datetime", ColumnType: "datetime(3)", FSP: 3, Nullable: true}},
	} {
		c.Put("shop", table, 0, cols)
	}
	for table, key := range map[string]string{"customer": "c_custkey"} {
		c.Put("usr_tpch", table, 0, []tabledef.Column{intCol(key, false)})
	}
	// The tables of TPC-H queries 14 and 19 (lineitem ⋈ part, joined in
	// the proxy), as bench/tpch creates them (all NOT NULL).
	for table, spec := range map[string]string{
		"lineitem": "l_orderkey int, l_partkey int, l_suppkey int, l_linenumber int, l_quantity decimal(15,2), l_extendedprice decimal(15,2), l_discount decimal(15,2), l_tax decimal(15,2), l_returnflag char(1), l_linestatus char(1), l_shipdate date, l_commitdate date, l_receiptdate date, l_shipinstruct char(25), l_shipmode char(10), l_comment varchar(44)",
		"orders":   "o_orderkey int, o_custkey int, o_orderstatus char(1), o_totalprice decimal(15,2), o_orderdate date, o_orderpriority char(15), o_clerk char(15), o_shippriority int, o_comment varchar(79)",
		"part":     "p_partkey int, p_name varchar(55), p_mfgr char(25), p_brand char(10), p_type varchar(25), p_size int, p_container char(10), p_retailprice decimal(15,2), p_comment varchar(23)",
	} {
		var cols []tabledef.Column
		for _, col := range strings.Split(spec, ", ") {
			name, typ, _ := strings.Cut(col, " ")
			dataType, _, _ := strings.Cut(typ, "(")
			def := tabledef.Column{Name: name, DataType: dataType, ColumnType: typ}
			switch dataType {
			case "int":
				def.ColumnType = "int(11)"
			case "char", "varchar":
				def.Charset, def.Collation = "utf8mb4", "utf8mb4_general_ci"
			}
			cols = append(cols, def)
		}
		c.Put("usr_tpch", table, 0, cols)
	}
	return c
}()

// physicalTables counts the distinct physical tables a plan's routes touch.
func physicalTables(p *engine.Plan) int {
	seen := map[string]bool{}
	for _, r := range p.Routes() {
		for _, t := range r.Tables {
			seen[r.Cluster+"."+t] = true
		}
	}
	return len(seen)
}

// TestPlansGolden plans every statement of testdata/<area>.sql and compares
// the printed plan (or the error) with testdata/<area>.golden, one subtest
// per statement. Annotations in the .sql files assert pruning and expected
// errors, so a plan that regresses into an error, or into touching more
// (or fewer) tables, fails by name.
func TestPlansGolden(t *testing.T) {
	p := parser.New()
	areas, err := filepath.Glob("testdata/*.sql")
	if err != nil || len(areas) == 0 {
		t.Fatalf("no golden areas: %v", err)
	}
	total := 0
	for _, sqlPath := range areas {
		area := strings.TrimSuffix(filepath.Base(sqlPath), ".sql")
		pl := newGoldenPlannerFrom(t, goldenRules(area))
		goldenPath := strings.TrimSuffix(sqlPath, ".sql") + ".golden"
		want := readGolden(goldenPath)
		cases := readCases(t, sqlPath)
		total += len(cases)
		var out strings.Builder
		var changed []string
		t.Run(area, func(t *testing.T) {
			for _, c := range cases {
				got := ""
				var plan *engine.Plan
				stmts, err := p.Parse(c.sql)
				if err == nil {
					plan, err = planGolden(pl, stmts[0], Facts{DB: goldenDB(area), NoAutoValueOnZero: c.noAutoZero, Defs: goldenDefs})
				}
				if err != nil {
					got = "error: " + err.Error()
				} else {
					got = strings.TrimRight(plan.String(), "\n")
				}
				fmt.Fprintf(&out, "> %s\n%s\n\n", c.sql, got)
				if w, ok := want[c.sql]; !ok || w != got {
					changed = append(changed, c.sql)
				}
				t.Run(c.sql, func(t *testing.T) {
					switch {
					case c.wantError && err == nil:
						t.Errorf("planned, but the case is marked -- error:\n%s", got)
					case !c.wantError && err != nil:
						t.Errorf("unexpected error: %v", err)
					}
					if c.tables >= 0 && err == nil {
						if n := physicalTables(plan); n != c.tables {
							t.Errorf("touches %d physical tables, want %d:\n%s", n, c.tables, got)
						}
					}
					if *update {
						return
					}
					if w, ok := want[c.sql]; !ok {
						t.Errorf("not in %s (run go test ./planner -run TestPlansGolden -update):\n%s", goldenPath, got)
					} else if w != got {
						t.Errorf("plan differs from %s\n--- want\n%s\n--- got\n%s", goldenPath, w, got)
					}
				})
			}
		})
		if *update && (len(changed) > 0 || len(want) != len(cases)) {
			if err := os.WriteFile(goldenPath, []byte(out.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			sort.Strings(changed)
			t.Logf("%s: rewrote %d changed case(s): %s", goldenPath, len(changed), strings.Join(changed, " | "))
		}
	}
	if total < 100 {
		t.Fatalf("only %d golden cases", total)
	}
}

// planGolden plans as a session does: an INSERT into a table with a
// sequence first gets its values, here 1001, 1002, … for the rows that
// need one (the allocator is tested in package sequence).
func planGolden(pl *Planner, st *parser.Statement, f Facts) (*engine.Plan, error) {
	need, err := pl.SequenceNeed(st, f)
	if err != nil || need == nil {
		if err != nil {
			return nil, err
		}
		return pl.Plan(st, f)
	}
	values := make([]int64, len(need.Slots))
	next := int64(1001)
	for i, s := range need.Slots {
		if !s.Explicit {
			values[i] = next
			next++
		}
	}
	return pl.PlanSequenced(st, f, values)
}

// TestDropForgetsBuckets: dropping an hourly table through the proxy makes
// the session forget its buckets, so the next write creates them again.
func TestDropForgetsBuckets(t *testing.T) {
	pl := newGoldenPlanner(t)
	for sql, want := range map[string]int{
		"DROP TABLE payments": 1, // hourly
		"DROP TABLE comments": 0, // hash: no buckets
	} {
		stmts, err := parser.New().Parse(sql)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pl.Plan(stmts[0], Facts{DB: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(p.Effects.ForgetBuckets); got != want {
			t.Errorf("%s: forgets %d tables' buckets, want %d", sql, got, want)
		}
	}
}
