package planner

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
)

// literalToken finds the plain literals of the golden statements: quoted
// strings and unsigned numbers standing alone.
var literalToken = regexp.MustCompile(`'(?:[^'\\]|\\.|'')*'|(?:^|[^\w.$@])(\d+(?:\.\d+)?)\b`)

// withOtherLiterals rewrites each literal of sql into another value of
// its kind: numbers get other digits, strings other text.
func withOtherLiterals(sql string, seed int) string {
	return literalToken.ReplaceAllStringFunc(sql, func(tok string) string {
		if strings.HasPrefix(tok, "'") {
			// Another first letter: the same length (ESCAPE takes one
			// character), the same escapes.
			body := tok[1:]
			if c := body[0]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
				return "'" + string(rune('u'+seed)) + body[1:]
			}
			return tok
		}
		lead, num := "", tok
		if len(tok) > 0 && (tok[0] < '0' || tok[0] > '9') {
			lead, num = tok[:1], tok[1:]
		}
		intPart, frac, hasFrac := strings.Cut(num, ".")
		n, err := strconv.ParseUint(intPart, 10, 64)
		if err != nil {
			return tok
		}
		out := strconv.FormatUint(n+uint64(seed)*7+3, 10)
		if hasFrac {
			out += "." + frac
		}
		return lead + out
	})
}

// TestVerbatimPlansIgnoreLiterals is the property the plan cache by shape
// (router/shapecache.go) rests on: a statement over tables without a rule
// placing rows by value, planned as one Route sending its own text, is
// planned alike — the same cluster, replica choice, effects — for every
// text of its shape, that is with any other literal values. Every golden
// statement is tried with two sets of other values.
func TestVerbatimPlansIgnoreLiterals(t *testing.T) {
	p := parser.New()
	areas, err := filepath.Glob("testdata/*.sql")
	if err != nil || len(areas) == 0 {
		t.Fatalf("no golden areas: %v", err)
	}
	checked := 0
	check := func(t *testing.T, area string, pl *Planner, r *rules.Rules, f Facts, sql string) {
		stmts, err := p.Parse(sql)
		// INSERTs are not kept (router.shapeable): an explicit id or 0
		// decides whether one sets LAST_INSERT_ID().
		if err != nil || len(stmts) != 1 || !placedByName(r, stmts[0], f.DB) || stmts[0].Kind == parser.KindInsert {
			return
		}
		plan, err := pl.Plan(stmts[0], f)
		if err != nil || !isVerbatim(plan, stmts[0]) {
			return
		}
		shape, ok := parser.LiteralShape(sql, parser.TextMode{})
		if !ok {
			return
		}
		for seed := 1; seed <= 2; seed++ {
			other := withOtherLiterals(sql, seed)
			if other == sql {
				continue
			}
			if s2, ok := parser.LiteralShape(other, parser.TextMode{}); !ok || s2 != shape {
				t.Fatalf("%s: rewriting literals changed the shape:\n%q\n%q", area, sql, other)
			}
			ost, err := p.Parse(other)
			if err != nil {
				t.Fatalf("%s: %q does not parse: %v", area, other, err)
			}
			op, err := pl.Plan(ost[0], f)
			if err != nil {
				t.Errorf("%s: %q plans (verbatim), %q fails: %v", area, sql, other, err)
				continue
			}
			if !isVerbatim(op, ost[0]) || describeWithout(op, other) != describeWithout(plan, sql) || fmt.Sprint(op.Effects) != fmt.Sprint(plan.Effects) {
				t.Errorf("%s: plans differ by literals:\n%s\n%s", area, plan, op)
			}
			checked++
		}
	}
	r, err := rules.Load(goldenRules("unsharded"))
	if err != nil {
		t.Fatal(err)
	}
	pl := newGoldenPlannerFrom(t, goldenRules("unsharded"))
	for _, sql := range shapeCorpus {
		check(t, "shapes", pl, r, Facts{DB: "shop", Defs: goldenDefs}, sql)
	}
	for _, sqlPath := range areas {
		area := strings.TrimSuffix(filepath.Base(sqlPath), ".sql")
		r, err := rules.Load(goldenRules(area))
		if err != nil {
			t.Fatal(err)
		}
		pl := newGoldenPlannerFrom(t, goldenRules(area))
		for _, c := range readCases(t, sqlPath) {
			check(t, area, pl, r, Facts{DB: goldenDB(area), Defs: goldenDefs}, c.sql)
		}
	}
	if checked < 40 {
		t.Fatalf("only %d statement variants checked: the corpus no longer exercises the property", checked)
	}
	t.Logf("%d variants of verbatim plans checked", checked)
}

// shapeCorpus are statements over the tables of rules.plan.yaml without a
// rule placing rows (users on main, orders on s1) in the shapes
// applications send: every kind of literal in every place a literal goes.
var shapeCorpus = []string{
	"SELECT * FROM users WHERE id = 1",
	"SELECT name FROM users WHERE id IN (1, 2, 3) ORDER BY 1 LIMIT 10",
	"SELECT name FROM users WHERE name = 'it''s' OR name LIKE 'a%' ESCAPE '!'",
	"SELECT name FROM users WHERE name = 'a\\'' LIMIT 5, 10",
	"SELECT id FROM users WHERE id BETWEEN 10 AND 20 ORDER BY id DESC LIMIT 3 OFFSET 4",
	"SELECT COUNT(*), SUM(id) + 1.5 FROM users WHERE id > 2 GROUP BY name HAVING COUNT(*) > 1",
	"SELECT CAST(id AS DECIMAL(10,2)), LEFT(name, 3) FROM users WHERE id = -5",
	"SELECT id FROM users WHERE created > NOW() - INTERVAL 6 HOUR AND created < DATE '2026-11-27'",
	"SELECT id FROM users WHERE name = _utf8mb4'x' COLLATE utf8mb4_bin",
	"SELECT id FROM users WHERE id = 1 FOR UPDATE",
	"SELECT id FROM users WHERE id = 1 LOCK IN SHARE MODE",
	"SELECT /*+ no_index_merge() */ id FROM users WHERE id = 7 -- seven",
	"SELECT id FROM users WHERE id IN (SELECT id FROM users WHERE name = 'b')",
	"SELECT id, 'const' AS label, 42 FROM users WHERE id <> 0",
	"SELECT * FROM orders WHERE id = 10 AND total >= 99.95",
	"INSERT INTO users (name) VALUES ('a'), ('b'), ('c')",
	"INSERT INTO users (id, name) VALUES (1, 'a') ON DUPLICATE KEY UPDATE name = 'z'",
	"REPLACE INTO users (id, name) VALUES (3, 'r')",
	"UPDATE users SET name = 'n', id = id + 1 WHERE id = 9 LIMIT 1",
	"UPDATE orders SET total = total * 1.1 WHERE id = 2",
	"DELETE FROM users WHERE id = 5",
	"DELETE FROM orders WHERE id < 100 ORDER BY id LIMIT 10",
}

// placedByName reports a statement whose tables are all placed by their
// names (no sharded or global table), as router.Snapshot.cacheable asks.
func placedByName(r *rules.Rules, st *parser.Statement, db string) bool {
	if len(st.Tables) == 0 {
		return false
	}
	for _, t := range st.Tables {
		schema := t.Schema
		if schema == "" {
			schema = db
		}
		s, ok := r.Schemas[schema]
		if !ok {
			return false
		}
		if tr := s.Table(t.Name); tr != nil && (tr.Shard != nil || tr.Global) {
			return false
		}
	}
	return true
}

func isVerbatim(p *engine.Plan, st *parser.Statement) bool {
	r, ok := p.Root.(*engine.Route)
	return ok && r.SQL == st.SQL
}

// describeWithout prints a verbatim plan with its text left out.
func describeWithout(p *engine.Plan, sql string) string {
	r := *p.Root.(*engine.Route)
	r.SQL = ""
	q := *p
	q.Root = &r
	return strings.ReplaceAll(q.String(), sql, "")
}
