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

// Joins of tables no server holds together, evaluated in the proxy
// (engine.LookupJoin, planner/join.go): the answers equal one server's
// holding every row (ref).

const joinsDB = "txn_joins"

// joinsRules: jitems sharded by product_id and jusers by user_id (joined on
// user_id: not co-located), jnotes on cluster s1 only, jtags on main only.
func joinsRules(extra string) string {
	return `
users: [{name: app, password: app, admin: true}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
  ` + joinsDB + `:
    cluster: main
    tables:
      jitems:
        shard: {by: hash, column: product_id, tables: 8, clusters: [s0, s1]}
      jusers:
        shard: {by: hash, column: user_id, tables: 4, clusters: [s0, s1]}
      jnotes: {cluster: s1}
` + extra
}

type joinsEnv struct {
	proxy, ref *sql.DB
	p          *proxy
}

// joinsSetup creates the database on every server and ref, loads the
// tables through the proxy and on ref, and waits for the replicas.
func joinsSetup(t *testing.T, extra string) *joinsEnv {
	for _, srv := range []string{"127.0.0.1:3310", "127.0.0.1:3320", "127.0.0.1:3330", refServer} {
		db := direct(t, srv, "")
		if _, err := db.Exec("CREATE DATABASE IF NOT EXISTS " + joinsDB); err != nil {
			t.Fatal(err)
		}
	}
	p := startProxyRules(t, joinsRules(extra))
	e := &joinsEnv{proxy: p.open(t, joinsDB), ref: direct(t, refServer, joinsDB), p: p}
	both := func(q string) {
		t.Helper()
		for _, db := range []*sql.DB{e.proxy, e.ref} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	tables := []string{"jitems", "jusers", "jnotes", "jtags"}
	for _, tb := range tables {
		both("DROP TABLE IF EXISTS " + tb)
	}
	t.Cleanup(func() {
		for _, tb := range tables {
			e.proxy.Exec("DROP TABLE IF EXISTS " + tb)
			e.ref.Exec("DROP TABLE IF EXISTS " + tb)
		}
	})
	both("CREATE TABLE jitems (id INT PRIMARY KEY, product_id INT NOT NULL, user_id INT, name VARCHAR(50) COLLATE utf8mb4_general_ci, qty INT, price DECIMAL(10,2), KEY (user_id), KEY (name))")
	both("CREATE TABLE jusers (id INT PRIMARY KEY, user_id INT NOT NULL, uname VARCHAR(50) COLLATE utf8mb4_general_ci, region VARCHAR(10), level INT, KEY (user_id))")
	both("CREATE TABLE jnotes (id INT PRIMARY KEY, user_id INT, note VARCHAR(50), KEY (user_id))")
	both("CREATE TABLE jtags (name VARCHAR(50) COLLATE utf8mb4_general_ci, tag VARCHAR(20), KEY (name))")
	names := []string{"apple", "Apple", "APPLE", "élan", "Elan", "über", "Uber", "naïve", "zebra", "", "mango"}
	rng := rand.New(rand.NewSource(11))
	nullable := func(v string) string {
		if rng.Intn(12) == 0 {
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
	// Skewed: most items in three products (one physical table holds far
	// more than the others), user ids up to 800 so a join needs more than
	// one batch of 500 keys; some users missing, some duplicated.
	for id := 1; id <= 1500; id++ {
		product := []int{4, 4, 4, 7, 16}[rng.Intn(5)]
		if id%5 == 0 {
			product = 20 + rng.Intn(40)
		}
		vals = append(vals, fmt.Sprintf("(%d,%d,%s,%s,%s,%s)", id, product, nullable(fmt.Sprint(1+rng.Intn(800))),
			nullable("'"+names[rng.Intn(len(names))]+"'"), nullable(fmt.Sprint(rng.Intn(10))), nullable(fmt.Sprintf("%d.%02d", rng.Intn(100), rng.Intn(100)))))
		if len(vals) == 300 {
			flush("jitems")
		}
	}
	flush("jitems")
	regions := []string{"north", "south", "east"}
	uid := 0
	for user := 1; user <= 700; user++ {
		if user%9 == 0 {
			continue // a user no row of jusers has
		}
		copies := 1
		if user%11 == 0 {
			copies = 2 // duplicate keys on the inner side
		}
		for c := 0; c < copies; c++ {
			uid++
			vals = append(vals, fmt.Sprintf("(%d,%d,%s,'%s',%d)", uid, user, nullable("'"+names[rng.Intn(len(names))]+"'"), regions[rng.Intn(3)], rng.Intn(10)))
		}
		if len(vals) >= 300 {
			flush("jusers")
		}
	}
	flush("jusers")
	for id := 1; id <= 60; id++ {
		vals = append(vals, fmt.Sprintf("(%d,%s,'note %d')", id, nullable(fmt.Sprint(1+rng.Intn(100))), id))
	}
	flush("jnotes")
	both("INSERT INTO jtags VALUES ('ELAN','e'),('apple','a'),('Über','u'),('naive','n'),(NULL,'null'),('apple','a2'),('kiwi','k')")
	syncReplicas(t)
	return e
}

// sameTypes compares the column types both answers give.
func joinsTypes(t *testing.T, proxy, ref *sql.DB, q string) string {
	t.Helper()
	types := func(db *sql.DB) string {
		rows, err := db.Query(q)
		if err != nil {
			return err.Error()
		}
		defer rows.Close()
		ct, err := rows.ColumnTypes()
		if err != nil {
			return err.Error()
		}
		var out []string
		for _, c := range ct {
			n, _ := c.Nullable()
			out = append(out, fmt.Sprintf("%s:%s:%v", c.Name(), c.DatabaseTypeName(), n))
		}
		return strings.Join(out, ",")
	}
	if p, r := types(proxy), types(ref); p != r {
		return fmt.Sprintf("column types: proxy %s, ref %s", p, r)
	}
	return ""
}

func TestJoinsDifferential(t *testing.T) {
	e := joinsSetup(t, "")
	queries := []string{
		// Sharded by different columns, joined on user_id.
		"SELECT i.id, u.uname, u.region FROM jitems i JOIN jusers u ON i.user_id = u.user_id",
		"SELECT i.id, u.uname FROM jitems i, jusers u WHERE i.user_id = u.user_id AND i.product_id = 4",
		"SELECT i.id, u.id FROM jitems i JOIN jusers u ON u.user_id = i.user_id WHERE u.region = 'north' AND i.qty > 5",
		"SELECT * FROM jitems i JOIN jusers u ON i.user_id = u.user_id AND i.qty = u.level",
		"SELECT i.*, u.uname FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.product_id = 999",
		// LEFT and RIGHT: NULL-extended rows exactly.
		"SELECT i.id, u.uname, u.user_id FROM jitems i LEFT JOIN jusers u ON i.user_id = u.user_id AND u.region <> 'south'",
		"SELECT i.id, u.id FROM jusers u RIGHT JOIN jitems i ON i.user_id = u.user_id WHERE i.product_id IN (7, 16)",
		"SELECT u.user_id, i.id FROM jusers u LEFT JOIN jitems i ON i.user_id = u.user_id AND i.qty = 3",
		// A sharded table with a table on another cluster, either driving.
		"SELECT i.id, n.note FROM jitems i JOIN jnotes n ON n.user_id = i.user_id",
		"SELECT n.note, u.uname, u.user_id FROM jnotes n LEFT JOIN jusers u ON u.user_id = n.user_id",
		"SELECT n.id, i.id FROM jnotes n JOIN jitems i ON n.user_id = i.user_id WHERE n.id < 10",
		// Unqualified columns and * resolved by the tables' definitions.
		"SELECT * FROM jnotes n JOIN jusers u ON n.user_id = u.user_id WHERE note LIKE 'note 1%'",
		"SELECT note, uname, level FROM jnotes JOIN jusers ON jnotes.user_id = jusers.user_id",
		// Strings under a case- and accent-blind collation.
		"SELECT i.id, i.name, t.tag FROM jitems i JOIN jtags t ON i.name = t.name",
		"SELECT t.tag, i.id FROM jtags t LEFT JOIN jitems i ON i.name = t.name AND i.product_id = 16",
		"SELECT u.uname, t.tag FROM jusers u JOIN jtags t ON t.name = u.uname WHERE u.region = 'east'",
		// Expressions of one side, ORDER BY and LIMIT over the joined rows.
		"SELECT i.qty * 2 AS q2, UPPER(u.uname), i.price + 1 FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.product_id = 7",
		"SELECT i.id, u.uname FROM jitems i JOIN jusers u ON i.user_id = u.user_id ORDER BY u.uname, i.id, u.id LIMIT 20",
		"SELECT i.id, u.id AS uid FROM jitems i JOIN jusers u ON i.user_id = u.user_id ORDER BY uid DESC, 1 LIMIT 5, 10",
		"SELECT i.id, n.note FROM jitems i LEFT JOIN jnotes n ON n.user_id = i.user_id ORDER BY n.note, i.id LIMIT 30",
		// Expressions over both tables and conditions comparing strings:
		// evaluated by the server over the joined rows (a temporary table).
		"SELECT i.qty + u.level FROM jitems i JOIN jusers u ON i.user_id = u.user_id",
		"SELECT i.id FROM jitems i LEFT JOIN jusers u ON i.user_id = u.user_id WHERE u.region = 'north' OR u.id IS NULL",
		// GROUP BY, aggregates and DISTINCT over the joined rows.
		"SELECT u.region, COUNT(*), SUM(i.price), AVG(i.qty), MIN(i.price), MAX(u.level), COUNT(i.name) FROM jitems i JOIN jusers u ON i.user_id = u.user_id GROUP BY u.region ORDER BY u.region",
		"SELECT COUNT(*), SUM(i.qty), AVG(i.price), MAX(u.uname) FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE u.region = 'nowhere'",
		"SELECT COUNT(*) FROM jitems i JOIN jusers u ON i.user_id = u.user_id",
		"SELECT i.product_id, COUNT(u.id), COUNT(*) FROM jitems i LEFT JOIN jusers u ON i.user_id = u.user_id GROUP BY i.product_id ORDER BY COUNT(u.id) DESC, i.product_id LIMIT 10",
		"SELECT t.tag, COUNT(*), SUM(i.qty) FROM jitems i JOIN jtags t ON i.name = t.name GROUP BY t.tag",
		"SELECT DISTINCT u.region, i.qty FROM jitems i JOIN jusers u ON i.user_id = u.user_id ORDER BY 1, 2",
		"SELECT u.region, COUNT(DISTINCT i.product_id) FROM jitems i JOIN jusers u ON i.user_id = u.user_id GROUP BY u.region",
		"SELECT u.region, SUM(i.price) / COUNT(*) AS avgp FROM jitems i JOIN jusers u ON i.user_id = u.user_id GROUP BY u.region HAVING COUNT(*) > 10 ORDER BY avgp DESC",
		"SELECT i.product_id, SUM(i.price * (1 - i.qty / 100)) AS revenue, u.region FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE u.level > 3 GROUP BY i.product_id, u.region ORDER BY revenue DESC, i.product_id LIMIT 10",
		"SELECT n.note, COUNT(i.id), SUM(i.price) FROM jnotes n LEFT JOIN jitems i ON i.user_id = n.user_id GROUP BY n.note ORDER BY n.note",
		// Three tables, each further one looked up by the rows before it.
		"SELECT i.id, u.uname, n.note FROM jitems i JOIN jusers u ON i.user_id = u.user_id JOIN jnotes n ON n.user_id = u.user_id",
		"SELECT n.id, u.uname, i.id FROM jnotes n LEFT JOIN jusers u ON u.user_id = n.user_id LEFT JOIN jitems i ON i.user_id = u.user_id AND i.product_id = 4",
		"SELECT n.id, i.id, u.id FROM jnotes n JOIN jitems i ON i.user_id = n.user_id LEFT JOIN jusers u ON u.user_id = i.user_id AND u.level = i.qty ORDER BY n.id, i.id, u.id LIMIT 40",
		"SELECT u.region, COUNT(*), SUM(i.price) FROM jitems i, jusers u, jnotes n WHERE i.user_id = u.user_id AND n.user_id = i.user_id AND n.id < 30 GROUP BY u.region ORDER BY u.region",
		"SELECT t.tag, u.region, COUNT(*), MAX(i.id) FROM jtags t JOIN jitems i ON i.name = t.name JOIN jusers u ON u.user_id = i.user_id GROUP BY t.tag, u.region ORDER BY 1, 2",
		// Conditions no one table checks, on the joined rows.
		"SELECT i.id FROM jitems i LEFT JOIN jusers u ON u.user_id = i.user_id WHERE u.id IS NULL",
		"SELECT i.id, u.id FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.qty < u.level OR i.price IS NULL",
		"SELECT i.id, u.id FROM jitems i LEFT JOIN jusers u ON i.user_id = u.user_id WHERE u.level = i.qty",
		// A WHERE that rejects the NULL-extended rows makes the outer join
		// an inner one (NOT NULL kept, as MariaDB's simplification).
		"SELECT i.id, u.id, u.region FROM jitems i LEFT JOIN jusers u ON i.user_id = u.user_id WHERE u.region = 'north'",
		"SELECT u.id, i.id FROM jitems i RIGHT JOIN jusers u ON i.user_id = u.user_id WHERE i.qty IS NOT NULL AND u.level < 3",
		"SELECT u.region, COUNT(*), SUM(i.price) FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.qty + u.level > 10 GROUP BY u.region ORDER BY 1",
		"SELECT n.id, i.id, u.id FROM jnotes n JOIN jitems i ON i.user_id = n.user_id LEFT JOIN jusers u ON u.user_id = i.user_id WHERE u.id IS NULL OR u.level > i.qty ORDER BY n.id, i.id, u.id",
		// A RIGHT JOIN first among three tables: b LEFT JOIN a, then the
		// rest.
		"SELECT i.id, u.id, n.id FROM jitems i RIGHT JOIN jusers u ON i.user_id = u.user_id LEFT JOIN jnotes n ON n.user_id = u.user_id ORDER BY u.id, i.id, n.id",
		"SELECT u.id, i.id, n.note FROM jitems i RIGHT JOIN jusers u ON i.user_id = u.user_id AND i.qty > 10 JOIN jnotes n ON n.user_id = u.user_id WHERE u.level < 5 ORDER BY u.id, i.id, n.id",
		"SELECT u.region, COUNT(i.id), COUNT(n.id) FROM jitems i RIGHT JOIN jusers u ON i.user_id = u.user_id LEFT JOIN jnotes n ON n.user_id = i.user_id GROUP BY u.region ORDER BY u.region",
		// LIKE, BETWEEN and IN across the tables: the server's, over the
		// joined rows.
		"SELECT i.id, u.id FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.name LIKE CONCAT(LEFT(u.uname, 1), '%') ORDER BY i.id, u.id",
		"SELECT i.id, u.id FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.qty BETWEEN u.level AND u.level + 3 ORDER BY i.id, u.id",
		"SELECT i.id, u.id FROM jitems i LEFT JOIN jusers u ON i.user_id = u.user_id WHERE i.qty IN (u.level, u.level * 2) OR u.id IS NULL ORDER BY i.id, u.id",
		// Window functions and WITH ROLLUP over the joined rows: the
		// server's too.
		"SELECT i.id, u.id, ROW_NUMBER() OVER (PARTITION BY u.region ORDER BY i.id, u.id) AS rn FROM jitems i JOIN jusers u ON i.user_id = u.user_id ORDER BY i.id, u.id",
		"SELECT u.region, i.id, SUM(i.qty) OVER (PARTITION BY u.region ORDER BY i.id, u.id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.product_id IN (4, 7) ORDER BY u.region, i.id, u.id",
		"SELECT n.note, i.id, RANK() OVER (ORDER BY i.qty DESC) AS r, LAG(n.id) OVER (ORDER BY i.id, n.id) AS prev FROM jnotes n LEFT JOIN jitems i ON i.user_id = n.user_id ORDER BY n.note, i.id, n.id LIMIT 30",
		"SELECT u.region, i.product_id, COUNT(*), SUM(i.qty) FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.product_id < 8 GROUP BY u.region, i.product_id WITH ROLLUP",
	}
	for _, q := range queries {
		start := time.Now()
		if d := diff(e.proxy, e.ref, q); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
		if d := joinsTypes(t, e.proxy, e.ref, q); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
		if d := time.Since(start); d > time.Second {
			t.Logf("%v: %s", d, q)
		}
	}
	// The differential proves something only if joins found rows, and
	// the big join crossed several batches.
	var n int
	if err := e.proxy.QueryRow("SELECT COUNT(DISTINCT user_id) FROM jitems").Scan(&n); err != nil || n <= 500 {
		t.Errorf("jitems has %d distinct user ids (%v): the join does not need two batches", n, err)
	}

	// EXPLAIN SHARDGATE shows the join and both sides.
	r := query(e.proxy, "EXPLAIN SHARDGATE SELECT i.id, u.uname FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.product_id = 4")
	plan := strings.Join(r.rows, "\n")
	if r.err != nil || !strings.Contains(plan, "LookupJoin inner") || !strings.Contains(plan, "jusers_0") || !strings.Contains(plan, "jitems_") {
		t.Errorf("EXPLAIN SHARDGATE: %v\n%s", r.err, plan)
	}

	// Prepared (server-side, binary protocol) with a parameter.
	ps, err := e.proxy.Prepare("SELECT i.id, u.uname FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.product_id = ? ORDER BY i.id, u.id")
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	for _, product := range []int{4, 16, 999} {
		rows, err := ps.Query(product)
		if err != nil {
			t.Fatalf("prepared %d: %v", product, err)
		}
		got := rowsText(t, "prepared", rows)
		want := rowsOfDB(t, e.ref, fmt.Sprintf("SELECT i.id, u.uname FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.product_id = %d ORDER BY i.id, u.id", product))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("prepared, product %d: proxy %d rows %v, ref %d rows %v", product, len(got), head(got), len(want), head(want))
		}
	}

	// Prepared over a sharded table and one of another cluster (the
	// statement's definitions cannot come from one server running it).
	ps2, err := e.proxy.Prepare("SELECT n.note, i.id, i.price FROM jnotes n JOIN jitems i ON i.user_id = n.user_id WHERE n.id < ? ORDER BY n.note, i.id")
	if err != nil {
		t.Fatal(err)
	}
	defer ps2.Close()
	rows, err := ps2.Query(20)
	if err != nil {
		t.Fatal(err)
	}
	got := rowsText(t, "prepared", rows)
	want := rowsOfDB(t, e.ref, "SELECT n.note, i.id, i.price FROM jnotes n JOIN jitems i ON i.user_id = n.user_id WHERE n.id < 20 ORDER BY n.note, i.id")
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("prepared across clusters: proxy %d rows %v, ref %d rows %v", len(got), head(got), len(want), head(want))
	}

	// Refusals name what cannot be joined in the proxy.
	for _, c := range []struct{ q, msg string }{
		{"SELECT i.id FROM jitems i JOIN jusers u ON i.user_id < u.user_id", "joined on no equality"},
	} {
		_, err := e.proxy.Exec(c.q)
		if err == nil {
			t.Errorf("%s: answered", c.q)
			continue
		}
		if code, _, msg := mysqlErr(t, err); code != 1235 || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %s, want 1235 %q", c.q, code, msg, c.msg)
		}
	}
}

func rowsOfDB(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rowsText(t, q, rows)
}

// Inside a transaction the join reads on the transaction's connections:
// it sees the transaction's own uncommitted rows on both clusters, which
// another client does not.
func TestJoinsInTransaction(t *testing.T) {
	e := joinsSetup(t, "")
	ctx := context.Background()
	c, err := e.proxy.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := "SELECT i.id, u.uname FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE u.user_id = 5000"
	count := func(conn interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}) int {
		t.Helper()
		rows, err := conn.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return len(rowsText(t, q, rows))
	}
	for _, s := range []string{"BEGIN", "INSERT INTO jusers VALUES (9001, 5000, 'new', 'north', 1)", "INSERT INTO jitems VALUES (9001, 4, 5000, 'x', 1, 1.00), (9002, 31, 5000, 'y', 2, 2.00)"} {
		if _, err := c.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if n := count(c); n != 2 {
		t.Errorf("inside the transaction: %d rows, want 2 (its own rows)", n)
	}
	if n := count(e.proxy); n != 0 {
		t.Errorf("another client: %d rows, want 0 (not committed)", n)
	}
	// The unsharded table on another cluster, written in the transaction.
	if _, err := c.ExecContext(ctx, "INSERT INTO jnotes VALUES (9001, 5000, 'mine')"); err != nil {
		t.Fatal(err)
	}
	rows, err := c.QueryContext(ctx, "SELECT n.note, i.id FROM jnotes n JOIN jitems i ON i.user_id = n.user_id WHERE n.id = 9001")
	if err != nil {
		t.Fatal(err)
	}
	if got := rowsText(t, "notes", rows); len(got) != 2 {
		t.Errorf("notes joined inside the transaction: %v, want 2 rows", got)
	}
	if _, err := c.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if n := count(c); n != 0 {
		t.Errorf("after ROLLBACK: %d rows, want 0", n)
	}
}

// With pools of one connection per server, two clients joining at once
// both finish: a join never waits for a connection it holds itself (the
// driving side is read whole first when no second connection is free).
func TestJoinsPoolOfOne(t *testing.T) {
	e := joinsSetup(t, "pool: {max_open: 1, wait_timeout: 3s}\n")
	q := "SELECT i.id, u.uname FROM jitems i JOIN jusers u ON i.user_id = u.user_id WHERE i.product_id = 16"
	want := sortedCopy(query(e.ref, q).rows)
	if len(want) == 0 {
		t.Fatal("no rows: the test proves nothing")
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	start := time.Now()
	for client := 0; client < 2; client++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := e.p.open(t, joinsDB)
			db.SetMaxOpenConns(1)
			for i := 0; i < 5; i++ {
				r := query(db, q)
				if r.err != nil {
					errs <- r.err.Error()
					return
				}
				if got := sortedCopy(r.rows); fmt.Sprint(got) != fmt.Sprint(want) {
					errs <- fmt.Sprintf("%d rows, want %d", len(got), len(want))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v: clients waited for connections", d)
	}
}

// Keys whose text needs quoting (quotes, backslashes, accents) are
// written into the lookups' IN lists as the session's server reads text:
// under NO_BACKSLASH_ESCAPES and ANSI_QUOTES, and with latin1 results.
func TestJoinsKeysInSessionModes(t *testing.T) {
	e := joinsSetup(t, "")
	for _, db := range []*sql.DB{e.proxy, e.ref} {
		for _, q := range []string{
			`INSERT INTO jtags VALUES ('O''Brien', 'q1'), ('back\\slash', 'b1'), ('Ünïcode', 'u1')`,
			`INSERT INTO jnotes VALUES (1001, 9001, 'O''BRIEN'), (1002, 9002, 'back\\slash'), (1003, 9003, 'unicode'), (1004, 9004, 'BACK\\SLASH')`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	syncReplicas(t)
	q := "SELECT t.tag, n.id, n.note FROM jtags t JOIN jnotes n ON n.note = t.name ORDER BY n.id"
	for _, mode := range []string{
		"SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
		"SET sql_mode = 'ANSI_QUOTES'",
		"SET NAMES latin1",
		"SET NAMES utf8mb4",
	} {
		for _, prepared := range []bool{false, true} {
			ctx := context.Background()
			pc, err := e.proxy.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := e.ref.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			run := func(c *sql.Conn) []string {
				t.Helper()
				if _, err := c.ExecContext(ctx, mode); err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				var rows *sql.Rows
				if prepared {
					st, err := c.PrepareContext(ctx, q+" LIMIT ?")
					if err != nil {
						t.Fatalf("%s: prepare: %v", mode, err)
					}
					defer st.Close()
					rows, err = st.QueryContext(ctx, 100)
					if err != nil {
						t.Fatalf("%s: %v", mode, err)
					}
				} else if rows, err = c.QueryContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				return rowsText(t, q, rows)
			}
			got, want := run(pc), run(rc)
			pc.Close()
			rc.Close()
			if len(want) < 4 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s (prepared %v): proxy %q, ref %q", mode, prepared, got, want)
			}
		}
	}
}
