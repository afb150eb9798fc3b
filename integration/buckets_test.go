package integration

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Issue 13 item 9: hourly buckets are bounded by a window, the zero date
// is stored where MariaDB stores it, and every proxy instance answers the
// same about buckets another instance created.

// bucketRules are baseRules plus hourly tables of the tests below (split
// over s0 and s1; bk_two's buckets also by id into 2). Nothing is
// precreated: these tests decide which buckets exist.
func bucketRules(extra string) string {
	return baseRules + `      bk_win:
        shard: {by: hour, column: at, clusters: [s0, s1]}
      bk_zero:
        shard: {by: hour, column: at, clusters: [s0, s1]}
      bk_two:
        shard: {by: hour, column: at, clusters: [s0, s1], then: {by: hash, column: id, tables: 2}}
precreate_hours: -1
` + extra
}

// bucketTables counts a table's bucket tables on the shards' primaries,
// asking the servers directly.
func bucketTables(t *testing.T, table string) int {
	t.Helper()
	total := 0
	for _, addr := range []string{shardCluster["s0"], shardCluster["s1"]} {
		var n int
		scan(t, direct(t, addr, ""), "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME LIKE '"+table+"\\_%' AND TABLE_NAME <> '"+table+"_template'", &n)
		total += n
	}
	return total
}

// A write with an hour outside the window is refused with 1526 before any
// table is created, even when its other rows are fine; reads outside the
// window create nothing and find nothing.
func TestBucketWindow(t *testing.T) {
	p := startProxyRules(t, bucketRules(""))
	db := p.open(t, "shop")
	freshTable(t, db, "bk_win", "(id INT PRIMARY KEY, at DATETIME NOT NULL)")

	// 300 rows, 300 distinct hours from the year 1000 on, and one row of
	// this hour.
	rows := make([]string, 0, 301)
	for i := 0; i < 300; i++ {
		at := time.Date(1000+i, time.Month(1+i%12), 1, i%24, 0, 0, 0, time.UTC)
		rows = append(rows, fmt.Sprintf("(%d, '%s')", i, at.Format("2006-01-02 15:04:05")))
	}
	rows = append(rows, "(1000, NOW())")
	_, err := db.Exec("INSERT INTO bk_win (id, at) VALUES " + strings.Join(rows, ", "))
	if err == nil {
		t.Fatal("INSERT with 300 hours outside the window accepted")
	}
	if code, state, msg := mysqlErr(t, err); code != 1526 || state != "HY000" || !strings.HasPrefix(msg, "Table has no partition for value 1000010100") {
		t.Fatalf("got %d %s %q, want 1526 HY000 Table has no partition for value 1000010100…", code, state, msg)
	}
	// One row far ahead is refused alike.
	_, err = db.Exec("INSERT INTO bk_win (id, at) VALUES (1, NOW()), (3, '2999-01-01 00:00:00')")
	if err == nil {
		t.Fatal("a row in 2999 accepted")
	}
	if code, _, msg := mysqlErr(t, err); code != 1526 {
		t.Fatalf("got %d %q, want 1526", code, msg)
	}
	if n := bucketTables(t, "bk_win"); n != 0 {
		t.Fatalf("%d bucket tables created by refused INSERTs, want 0", n)
	}
	// Reads outside the window create nothing and return nothing.
	for _, q := range []string{
		"SELECT COUNT(*) FROM bk_win WHERE at = '1000-01-01 00:00:00'",
		"SELECT COUNT(*) FROM bk_win WHERE at BETWEEN '1500-01-01' AND '1500-01-02'",
		"SELECT COUNT(*) FROM bk_win WHERE at = '2999-01-01 00:00:00'",
	} {
		var n int
		scan(t, db, q, &n)
		if n != 0 {
			t.Fatalf("%s: %d rows, want 0", q, n)
		}
	}
	if n := bucketTables(t, "bk_win"); n != 0 {
		t.Fatalf("%d bucket tables after reads outside the window, want 0", n)
	}
	// Inside the window a write creates its one bucket.
	conn := pin(t, db)
	if _, err := conn.ExecContext(t.Context(), "INSERT INTO bk_win (id, at) VALUES (1, NOW())"); err != nil {
		t.Fatal(err)
	}
	var n int
	scan(t, conn, "SELECT COUNT(*) FROM bk_win", &n)
	if n != 1 || bucketTables(t, "bk_win") != 1 {
		t.Fatalf("%d rows in %d bucket tables after one INSERT, want 1 in 1", n, bucketTables(t, "bk_win"))
	}
}

// The zero date is stored and read back where MariaDB stores it, and
// refused with MariaDB's own error where MariaDB refuses it: the same
// statements on the reference server (one plain table) answer the same.
func TestBucketZeroDate(t *testing.T) {
	p := startProxyRules(t, bucketRules(""))
	db := p.open(t, "shop")
	freshTable(t, db, "bk_zero", "(id INT PRIMARY KEY, at DATETIME NOT NULL)")
	refRoot := direct(t, refServer, "")
	if _, err := refRoot.Exec("CREATE DATABASE IF NOT EXISTS shop"); err != nil {
		t.Fatal(err)
	}
	freshTable(t, direct(t, refServer, "shop"), "bk_zero", "(id INT PRIMARY KEY, at DATETIME NOT NULL)")
	// One session on each side: sql_mode is per session, and the proxy
	// reads its own writes on the session that made them.
	proxyConn, refConn := pin(t, db), pin(t, direct(t, refServer, "shop"))

	type outcome struct {
		err      string
		affected int64
	}
	both := func(q string) outcome {
		t.Helper()
		var out [2]outcome
		for i, c := range []*sql.Conn{proxyConn, refConn} {
			res, err := c.ExecContext(t.Context(), q)
			if err != nil {
				code, state, msg := mysqlErr(t, err)
				out[i].err = fmt.Sprintf("%d (%s) %s", code, state, msg)
				continue
			}
			out[i].affected, _ = res.RowsAffected()
		}
		if out[0] != out[1] {
			t.Fatalf("%s: proxy %+v, MariaDB %+v", q, out[0], out[1])
		}
		return out[0]
	}
	// The server's default sql_mode (no NO_ZERO_DATE): stored.
	both("INSERT INTO bk_zero (id, at) VALUES (1, '0000-00-00 00:00:00'), (2, NOW())")
	both("INSERT INTO bk_zero (id, at) VALUES (3, 0)")
	// NO_ZERO_DATE without strict mode: stored, with a warning.
	both("SET sql_mode = 'NO_ZERO_DATE'")
	both("INSERT INTO bk_zero (id, at) VALUES (4, '0000-00-00')")
	// Strict NO_ZERO_DATE: refused, the whole statement, with the error
	// MariaDB gives; INSERT IGNORE stores it.
	both("SET sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE'")
	if got := both("INSERT INTO bk_zero (id, at) VALUES (5, NOW()), (6, '0000-00-00 00:00:00')"); got.err != "1292 (22007) Incorrect datetime value: '0000-00-00 00:00:00' for column `shop`.`bk_zero`.`at` at row 2" {
		t.Fatalf("strict NO_ZERO_DATE: %+v", got)
	}
	both("SET sql_mode = 'TRADITIONAL'")
	if got := both("REPLACE INTO bk_zero (id, at) VALUES (7, 0)"); got.err == "" {
		t.Fatal("TRADITIONAL: zero date accepted")
	}
	both("INSERT IGNORE INTO bk_zero (id, at) VALUES (8, '0000-00-00 00:00:00')")
	both("SET sql_mode = DEFAULT")

	for _, q := range []string{
		"SELECT id, at FROM bk_zero WHERE at = '0000-00-00 00:00:00' ORDER BY id",
		"SELECT id FROM bk_zero WHERE at = 0 ORDER BY id",
		"SELECT id FROM bk_zero WHERE at < '1000-01-01' ORDER BY id",
		"SELECT id FROM bk_zero ORDER BY id",
		"SELECT COUNT(*) FROM bk_zero",
	} {
		got, want := rowsOfConn(t, proxyConn, q), rowsOfConn(t, refConn, q)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: proxy %v, MariaDB %v", q, got, want)
		}
	}
	// The zero dates are in the fixed bucket, on the rule's first cluster.
	var n int
	scan(t, direct(t, shardCluster["s0"], "shop"), "SELECT COUNT(*) FROM bk_zero_0000000000", &n)
	if n != 4 {
		t.Fatalf("%d rows in bk_zero_0000000000 on s0, want 4", n)
	}
}

// rowsOfConn returns every row of q on one connection, as text.
func rowsOfConn(t *testing.T, c *sql.Conn, q string) []string {
	t.Helper()
	rows, err := c.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = v.String
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// Two proxy instances with the same rules: buckets one creates are read
// by the other at once, by exact hour, and by a scatter read within
// bucket_recheck_interval; writes of the other reach them too.
func TestBucketsTwoInstances(t *testing.T) {
	const recheck = 200 * time.Millisecond
	rulesYAML := bucketRules(fmt.Sprintf("bucket_recheck_interval: %s\n", recheck))
	a := startProxyRules(t, rulesYAML)
	dbA := a.open(t, "shop")
	freshTable(t, dbA, "bk_two", "(id INT PRIMARY KEY, at DATETIME NOT NULL, v VARCHAR(10))")
	// B starts once the table is new: it knows none of its buckets.
	b := startProxyRules(t, rulesYAML)
	connA, connB := pin(t, dbA), pin(t, b.open(t, "shop"))
	execOn := func(c *sql.Conn, q string) int64 {
		t.Helper()
		res, err := c.ExecContext(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		n, _ := res.RowsAffected()
		return n
	}
	count := func(c *sql.Conn, q string) int {
		t.Helper()
		var n int
		scan(t, c, q, &n)
		return n
	}
	// Hours as the proxy reads them: on the wall clock, back from now.
	now := time.Now()
	thisHour := time.Date(now.Year(), now.Month(), now.Day(), now.Hour(), 0, 0, 0, now.Location())
	hour := func(back int) time.Time { return thisHour.Add(-time.Duration(back) * time.Hour) }
	at := func(h time.Time, min int) string {
		return h.Add(time.Duration(min) * time.Minute).Format("2006-01-02 15:04:05")
	}

	// A creates a bucket by inserting; B reads it at once.
	h1 := hour(3)
	execOn(connA, fmt.Sprintf("INSERT INTO bk_two (id, at, v) VALUES (1, '%s', 'a'), (2, '%s', 'a'), (3, '%s', 'a')", at(h1, 5), at(h1, 10), at(h1, 15)))
	if n := count(connB, "SELECT COUNT(*) FROM bk_two WHERE at = '"+at(h1, 10)+"'"); n != 1 {
		t.Fatalf("B reads %d rows at %s just written through A, want 1", n, at(h1, 10))
	}
	if n := count(connB, "SELECT COUNT(*) FROM bk_two WHERE at BETWEEN '"+at(h1, 0)+"' AND '"+at(h1, 59)+"'"); n != 3 {
		t.Fatalf("B reads %d rows of the hour, want 3", n)
	}
	if nA, nB := count(connA, "SELECT COUNT(*) FROM bk_two"), count(connB, "SELECT COUNT(*) FROM bk_two"); nA != 3 || nB != nA {
		t.Fatalf("COUNT(*): A %d, B %d, want 3 on both", nA, nB)
	}

	// B writes to A's bucket and to a bucket of its own; A sees both: its
	// point read finds B's new bucket. (On the primary: a row another
	// session wrote to a bucket A knows reaches A's replicas when it
	// reaches them, as for any table.)
	h2 := hour(4)
	execOn(connB, fmt.Sprintf("INSERT INTO bk_two (id, at, v) VALUES (4, '%s', 'b'), (5, '%s', 'b')", at(h1, 20), at(h2, 0)))
	if n := count(connA, "/* shardgate:primary */ SELECT COUNT(*) FROM bk_two WHERE at IN ('"+at(h1, 20)+"', '"+at(h2, 0)+"')"); n != 2 {
		t.Fatalf("A reads %d of B's 2 rows, want 2", n)
	}
	// An UPDATE through B reaches a bucket only A has written to.
	h3 := hour(5)
	execOn(connA, fmt.Sprintf("INSERT INTO bk_two (id, at, v) VALUES (6, '%s', 'a')", at(h3, 30)))
	if n := execOn(connB, "UPDATE bk_two SET v = 'b' WHERE at = '"+at(h3, 30)+"'"); n != 1 {
		t.Fatalf("B's UPDATE of A's new bucket changed %d rows, want 1", n)
	}

	// A scatter read on B, with no hour condition, sees a bucket A has
	// just created once bucket_recheck_interval has passed since B last
	// listed the table.
	h4 := hour(6)
	execOn(connA, fmt.Sprintf("INSERT INTO bk_two (id, at, v) VALUES (7, '%s', 'a')", at(h4, 0)))
	time.Sleep(recheck + 50*time.Millisecond)
	if nA, nB := count(connA, "SELECT COUNT(*) FROM bk_two"), count(connB, "SELECT COUNT(*) FROM bk_two"); nA != 7 || nB != nA {
		t.Fatalf("COUNT(*): A %d, B %d, want 7 on both", nA, nB)
	}
	if got, want := rowsOfConn(t, connB, "SELECT id, v FROM bk_two ORDER BY id"), rowsOfConn(t, connA, "/* shardgate:primary */ SELECT id, v FROM bk_two ORDER BY id"); strings.Join(got, ",") != strings.Join(want, ",") || len(got) != 7 {
		t.Fatalf("rows: B %v, A %v", got, want)
	}
}
