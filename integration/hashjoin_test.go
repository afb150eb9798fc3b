package integration

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hash joins in the proxy (engine.HashJoin, planner/join.go hashJoinPays):
// tables joined on columns that are not the looked-up side's shard key,
// neither side pinned, are read once each, one of them held in a hash
// table. The answers equal one server's holding every row (ref).

const hjDB = "txn_hashjoin"

// hjRules: ha sharded by a_key and hb by b_key, joined on other columns
// (ref, name, code = num); hc on cluster s1 only.
func hjRules(extra string) string {
	return `
users: [{name: app, password: app, admin: true}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
  ` + hjDB + `:
    cluster: main
    tables:
      ha:
        shard: {by: hash, column: a_key, tables: 4, clusters: [s0, s1]}
      hb:
        shard: {by: hash, column: b_key, tables: 4, clusters: [s0, s1]}
      hpad:
        shard: {by: hash, column: a_key, tables: 4, clusters: [s0, s1]}
      hc: {cluster: s1}
` + extra
}

type hjEnv struct {
	proxy, ref *sql.DB
	p          *proxy
}

// hjSetup loads skewed data through the proxy and on ref: ha's rows have
// two shard-key values only (physical tables stay empty), join columns
// hold NULLs, names differ only by case, accents or trailing spaces
// (equal under utf8mb4_general_ci), codes are numbers written as strings.
func hjSetup(t *testing.T, extra string) *hjEnv {
	for _, srv := range []string{"127.0.0.1:3310", "127.0.0.1:3320", "127.0.0.1:3330", refServer} {
		if _, err := direct(t, srv, "").Exec("CREATE DATABASE IF NOT EXISTS " + hjDB); err != nil {
			t.Fatal(err)
		}
	}
	p := startProxyRules(t, hjRules(extra))
	e := &hjEnv{proxy: p.open(t, hjDB), ref: direct(t, refServer, hjDB), p: p}
	both := func(q string) {
		t.Helper()
		for _, db := range []*sql.DB{e.proxy, e.ref} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	tables := []string{"ha", "hb", "hc", "hpad"}
	for _, tb := range tables {
		both("DROP TABLE IF EXISTS " + tb)
	}
	t.Cleanup(func() {
		for _, tb := range tables {
			e.proxy.Exec("DROP TABLE IF EXISTS " + tb)
			e.ref.Exec("DROP TABLE IF EXISTS " + tb)
		}
	})
	both("CREATE TABLE ha (id INT PRIMARY KEY, a_key INT NOT NULL, ref INT, name VARCHAR(20) COLLATE utf8mb4_general_ci, code VARCHAR(10) COLLATE utf8mb4_general_ci, qty INT)")
	both("CREATE TABLE hb (id INT PRIMARY KEY, b_key INT NOT NULL, ref INT, name VARCHAR(20) COLLATE utf8mb4_general_ci, num INT, note VARCHAR(20))")
	both("CREATE TABLE hc (id INT PRIMARY KEY, ref INT, label VARCHAR(20))")
	both("CREATE TABLE hpad (id INT PRIMARY KEY, a_key INT NOT NULL, ref INT, pad VARCHAR(400))")
	names := []string{"a", "A ", "A", "ab", "AB  ", "élan", "Elan", "ÉLAN", "über", "Uber", "中文", "中文 ", "汉字", "", "zz"}
	codes := []string{"10", "10.0", "7", "007", "1e1", "x", "3.5", " 4"}
	rng := rand.New(rand.NewSource(16))
	maybe := func(v string) string {
		if rng.Intn(8) == 0 {
			return "NULL"
		}
		return v
	}
	var vals []string
	flush := func(table string) {
		if len(vals) > 0 {
			both("INSERT INTO " + table + " VALUES " + strings.Join(vals, ","))
			vals = nil
		}
	}
	for id := 1; id <= 250; id++ {
		vals = append(vals, fmt.Sprintf("(%d,%d,%s,%s,%s,%d)", id, 1+rng.Intn(2), maybe(fmt.Sprint(1+rng.Intn(150))),
			maybe("'"+names[rng.Intn(len(names))]+"'"), maybe("'"+codes[rng.Intn(len(codes))]+"'"), rng.Intn(10)))
	}
	flush("ha")
	for id := 1; id <= 200; id++ {
		vals = append(vals, fmt.Sprintf("(%d,%d,%s,%s,%s,'n%d')", id, 1+rng.Intn(50), maybe(fmt.Sprint(1+rng.Intn(200))),
			maybe("'"+names[rng.Intn(len(names))]+"'"), maybe(fmt.Sprint(rng.Intn(12))), id%7))
	}
	flush("hb")
	for id := 1; id <= 40; id++ {
		vals = append(vals, fmt.Sprintf("(%d,%s,'c%d')", id, maybe(fmt.Sprint(1+rng.Intn(200))), id))
	}
	flush("hc")
	syncReplicas(t)
	return e
}

// hjQueries join on columns that are not the other side's shard key,
// neither side pinned: hash joins (hjWantPlan checks a few).
var hjQueries = []string{
	"SELECT a.id, b.id FROM ha a JOIN hb b ON a.ref = b.ref",
	"SELECT a.id, b.id, b.note FROM ha a LEFT JOIN hb b ON a.ref = b.ref",
	"SELECT b.id, a.id, a.qty FROM hb b LEFT JOIN ha a ON a.ref = b.ref AND a.qty > 3",
	"SELECT a.id, b.id FROM ha a RIGHT JOIN hb b ON a.ref = b.ref",
	// The driving side filtered: it is held, the other streams.
	"SELECT a.id, b.id FROM ha a JOIN hb b ON a.ref = b.ref WHERE a.qty = 2",
	"SELECT a.id, b.id FROM ha a LEFT JOIN hb b ON a.ref = b.ref WHERE a.qty IN (1, 2)",
	// Strings by the columns' collation: 'a' = 'A ' = 'A', 'élan' = 'ELAN'.
	"SELECT a.id, a.name, b.id, b.name FROM ha a JOIN hb b ON a.name = b.name",
	"SELECT a.id, b.name FROM ha a LEFT JOIN hb b ON a.name = b.name WHERE a.qty < 5",
	// A string column against a number column compares as doubles.
	"SELECT a.id, a.code, b.id FROM ha a JOIN hb b ON a.code = b.num",
	// Two equalities; ORDER BY and LIMIT; aggregates; an anti-join.
	"SELECT a.id, b.id FROM ha a JOIN hb b ON a.ref = b.ref AND a.qty = b.num",
	"SELECT a.id, b.id FROM ha a JOIN hb b ON a.ref = b.ref ORDER BY b.id DESC, a.id LIMIT 15",
	"SELECT b.num, COUNT(*), SUM(a.qty), MIN(a.name) FROM ha a JOIN hb b ON a.ref = b.ref GROUP BY b.num ORDER BY b.num",
	"SELECT COUNT(*), MAX(a.qty) FROM ha a JOIN hb b ON a.ref = b.ref WHERE b.note = 'none'",
	"SELECT a.id FROM ha a LEFT JOIN hb b ON a.ref = b.ref WHERE b.id IS NULL",
	"SELECT COUNT(b.id), COUNT(*) FROM ha a LEFT JOIN hb b ON a.name = b.name",
	// Three tables: a hash join, then a lookup of the table of one cluster.
	"SELECT a.id, b.id, c.label FROM ha a JOIN hb b ON a.ref = b.ref LEFT JOIN hc c ON c.ref = b.ref",
}

// hjCompare runs q on both and reports a difference (rows sorted unless
// the query orders them).
func hjCompare(pc, rc interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args ...any) string {
	run := func(c interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}) result {
		rows, err := c.QueryContext(context.Background(), q, args...)
		if err != nil {
			return result{err: err}
		}
		return resultOf(rows)
	}
	p, r := run(pc), run(rc)
	if p.err != nil || r.err != nil {
		return fmt.Sprintf("errors: proxy %v, ref %v", p.err, r.err)
	}
	pr, rr := p.rows, r.rows
	if !ordered(q) {
		pr, rr = sortedCopy(pr), sortedCopy(rr)
	}
	if fmt.Sprint(pr) != fmt.Sprint(rr) {
		return fmt.Sprintf("proxy %d rows %v, ref %d rows %v", len(pr), head(pr), len(rr), head(rr))
	}
	if len(rr) == 0 && !strings.Contains(q, "'none'") {
		return "no rows: the query proves nothing"
	}
	return ""
}

func hjWantPlan(t *testing.T, db *sql.DB, q string, wants ...string) {
	t.Helper()
	r := query(db, "EXPLAIN SHARDGATE "+q)
	plan := strings.Join(r.rows, "\n")
	for _, w := range wants {
		if r.err != nil || !strings.Contains(plan, w) {
			t.Errorf("EXPLAIN SHARDGATE %s: %v, want %q in\n%s", q, r.err, w, plan)
		}
	}
}

func TestHashJoinDifferential(t *testing.T) {
	e := hjSetup(t, "")
	// The data is skewed as promised: ha leaves physical tables empty.
	empty := 0
	for k := 0; k < 4; k++ {
		n := 0
		for _, srv := range []string{"127.0.0.1:3320", "127.0.0.1:3330"} {
			var c int
			if err := direct(t, srv, hjDB).QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM ha_%d", k)).Scan(&c); err == nil {
				n += c
			}
		}
		if n == 0 {
			empty++
		}
	}
	if empty == 0 {
		t.Errorf("no physical table of ha is empty: the skew the test promises is missing")
	}
	hjWantPlan(t, e.proxy, hjQueries[0], "HashJoin inner", "the other side is read once")
	hjWantPlan(t, e.proxy, hjQueries[4], "HashJoin inner", "the driving side is read once")
	hjWantPlan(t, e.proxy, hjQueries[1], "HashJoin left")
	// Pinned driving side: the lookup join stays.
	hjWantPlan(t, e.proxy, "SELECT a.id, b.id FROM ha a JOIN hb b ON a.ref = b.ref WHERE a.a_key = 1", "LookupJoin inner")
	ctx := context.Background()
	pc, err := e.proxy.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	rc, err := e.ref.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	// Column definitions as one server's (a LEFT JOIN's NULL-extended
	// side loses NOT NULL; aggregates' types).
	for _, q := range hjQueries {
		if d := joinsTypes(t, e.proxy, e.ref, q); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
	}
	for _, mode := range []string{"utf8mb4", "gbk", "latin1"} {
		for _, c := range []*sql.Conn{pc, rc} {
			if _, err := c.ExecContext(ctx, "SET NAMES "+mode); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range hjQueries {
			start := time.Now()
			if d := hjCompare(pc, rc, q); d != "" {
				t.Errorf("%s: %s\n    %s", mode, q, d)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Logf("%v: %s: %s", d, mode, q)
			}
		}
		// Prepared (binary protocol), a parameter that pins nothing.
		for _, q := range []string{
			"SELECT a.id, b.id, b.name FROM ha a LEFT JOIN hb b ON a.name = b.name WHERE a.qty >= ? ORDER BY a.id, b.id",
			"SELECT b.num, COUNT(*) FROM ha a JOIN hb b ON a.ref = b.ref WHERE b.num < ? GROUP BY b.num",
		} {
			for _, arg := range []int{3, 9} {
				ps, err := pc.PrepareContext(ctx, q)
				if err != nil {
					t.Fatalf("%s: prepare %s: %v", mode, q, err)
				}
				if d := hjCompare(hjStmt{ps, []any{arg}}, rc, strings.ReplaceAll(q, "?", fmt.Sprint(arg))); d != "" {
					t.Errorf("%s: prepared %s (%d)\n    %s", mode, q, arg, d)
				}
				ps.Close()
			}
		}
	}
}

// hjStmt runs a prepared statement with its arguments wherever hjCompare
// runs a query.
type hjStmt struct {
	s    *sql.Stmt
	args []any
}

func (h hjStmt) QueryContext(ctx context.Context, _ string, _ ...any) (*sql.Rows, error) {
	return h.s.QueryContext(ctx, h.args...)
}

// Inside a transaction both sides are read on the transaction's
// connections: the join sees its own uncommitted rows, another client
// does not; a second client joining at the same time gets ref's answers.
func TestHashJoinTransactionAndConcurrency(t *testing.T) {
	e := hjSetup(t, "")
	ctx := context.Background()
	c, err := e.proxy.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	qs := []string{
		"SELECT a.id, b.id FROM ha a JOIN hb b ON a.ref = b.ref WHERE b.id > 9000",
		"SELECT a.id, b.id FROM ha a LEFT JOIN hb b ON a.ref = b.ref WHERE a.id > 9000",
	}
	hjWantPlan(t, e.proxy, qs[0], "HashJoin inner")
	count := func(conn interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}, q string) []string {
		t.Helper()
		rows, err := conn.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return rowsText(t, q, rows)
	}
	for _, s := range []string{"BEGIN", "INSERT INTO ha VALUES (9001, 1, 9999, 'new', '1', 1), (9002, 2, 9998, 'new', '1', 1)", "INSERT INTO hb VALUES (9001, 3, 9999, 'new', 1, 'x')"} {
		if _, err := c.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if got := count(c, qs[0]); fmt.Sprint(got) != "[9001|9001]" {
		t.Errorf("inside the transaction: %v, want its own row joined", got)
	}
	if got := sortedCopy(count(c, qs[1])); fmt.Sprint(got) != "[9001|9001 9002|NULL]" {
		t.Errorf("LEFT inside the transaction: %v", got)
	}
	if got := count(e.proxy, qs[0]); len(got) != 0 {
		t.Errorf("another client: %v, want nothing (not committed)", got)
	}
	if _, err := c.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if got := count(c, qs[0]); len(got) != 0 {
		t.Errorf("after ROLLBACK: %v", got)
	}

	// Two clients at once, each its own connection.
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for client := 0; client < 2; client++ {
		wg.Add(1)
		go func(client int) {
			defer wg.Done()
			db := e.p.open(t, hjDB)
			for round := 0; round < 3; round++ {
				for i, q := range hjQueries {
					if (i+client)%2 != 0 {
						continue
					}
					if d := hjCompare(db, e.ref, q); d != "" {
						errs <- fmt.Sprintf("client %d: %s\n    %s", client, q, d)
					}
				}
			}
		}(client)
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Error(s)
	}
}

// A held side beyond statement_memory_limit is refused with 1041 naming
// the limit and the need; the same join with the small side held answers.
func TestHashJoinMemoryLimit(t *testing.T) {
	e := hjSetup(t, "memory_limit: 64M\nconnection_memory_limit: 4M\nstatement_memory_limit: 1M\n")
	pad := strings.Repeat("p", 390)
	var vals []string
	for id := 1; id <= 4000; id++ {
		vals = append(vals, fmt.Sprintf("(%d,%d,%d,'%s')", id, id%3, id%200, pad))
		if len(vals) == 200 {
			if _, err := e.proxy.Exec("INSERT INTO hpad VALUES " + strings.Join(vals, ",")); err != nil {
				t.Fatal(err)
			}
			vals = nil
		}
	}
	syncReplicas(t)
	// hb drives (named first, both read whole): hpad, the other side, is held.
	q := "SELECT b.id, p.pad FROM hb b JOIN hpad p ON p.ref = b.ref"
	hjWantPlan(t, e.proxy, q, "HashJoin inner", "the other side is read once")
	_, err := e.proxy.Exec(q)
	if err == nil {
		t.Fatalf("%s: answered within 1 MiB", q)
	}
	if code, _, msg := mysqlErr(t, err); code != 1041 || !strings.Contains(msg, "hash join") || !strings.Contains(msg, "statement_memory_limit (1 MiB)") || !strings.Contains(msg, "needs at least") {
		t.Errorf("%s: %d %s, want 1041 naming the hash join, statement_memory_limit and the need", q, code, msg)
	}
	// hb filtered drives and is held: hpad streams through.
	q = "SELECT COUNT(*), SUM(LENGTH(p.pad)) FROM hb b JOIN hpad p ON p.ref = b.ref WHERE b.num < 3"
	hjWantPlan(t, e.proxy, q, "the driving side is read once")
	var n, l sql.NullInt64
	if err := e.proxy.QueryRow(q).Scan(&n, &l); err != nil || n.Int64 == 0 {
		t.Errorf("%s: %v (%d rows)", q, err, n.Int64)
	}
}

// With pools of one connection per server, two clients hash-joining at
// once both finish: the held side is read and its connections given back
// before the other side is read.
func TestHashJoinPoolOfOne(t *testing.T) {
	e := hjSetup(t, "pool: {max_open: 1, wait_timeout: 3s}\n")
	q := "SELECT a.id, b.id FROM ha a LEFT JOIN hb b ON a.ref = b.ref"
	hjWantPlan(t, e.proxy, q, "HashJoin left")
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for client := 0; client < 2; client++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := e.p.open(t, hjDB)
			db.SetMaxOpenConns(1)
			for i := 0; i < 3; i++ {
				if d := hjCompare(db, e.ref, q); d != "" {
					errs <- d
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Error(s)
	}
}
