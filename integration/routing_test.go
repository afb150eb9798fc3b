package integration

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// whoAnswers returns the port of the server that ran q (q must select @@port).
func whoAnswers(t *testing.T, conn *sql.Conn, q string) int {
	t.Helper()
	var port int
	if err := conn.QueryRowContext(context.Background(), q).Scan(&port); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return port
}

func isReplica(port int) bool { return port == 3311 || port == 3312 }

func TestReadWriteRouting(t *testing.T) {
	p := startProxy(t, "")
	db := p.open(t, "shop")
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mustExec := func(q string) sql.Result {
		t.Helper()
		res, err := conn.ExecContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return res
	}
	freshTable(t, db, "rw_t", "(id INT PRIMARY KEY AUTO_INCREMENT, v INT)")

	seen := map[int]bool{}
	for i := 0; i < 40; i++ {
		port := whoAnswers(t, conn, "SELECT @@port")
		if !isReplica(port) {
			t.Fatalf("a plain read outside a transaction ran on %d", port)
		}
		seen[port] = true
	}
	if len(seen) != 2 {
		t.Errorf("reads used replicas %v, want both", seen)
	}
	if port := whoAnswers(t, conn, "SELECT @@port FROM (SELECT 1) x FOR UPDATE"); port != 3310 {
		t.Errorf("FOR UPDATE ran on %d", port)
	}
	if port := whoAnswers(t, conn, "/* shardgate:primary */ SELECT @@port"); port != 3310 {
		t.Errorf("primary hint ran on %d", port)
	}

	// LAST_INSERT_ID() in both forms, right after an INSERT.
	res := mustExec("INSERT INTO rw_t (v) VALUES (1), (2)")
	first, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"SELECT LAST_INSERT_ID()", "SELECT LAST_INSERT_ID() AS id"} {
		var got int64
		if err := conn.QueryRowContext(ctx, q).Scan(&got); err != nil || got != first {
			t.Fatalf("%s = %d (%v), want %d", q, got, err, first)
		}
	}

	// A temporary table stays usable: the session keeps its connection.
	mustExec("CREATE TEMPORARY TABLE tmp_rw (x INT)")
	mustExec("INSERT INTO tmp_rw VALUES (7)")
	var x int
	if err := conn.QueryRowContext(ctx, "SELECT x FROM tmp_rw").Scan(&x); err != nil || x != 7 {
		t.Fatalf("temporary table: %d %v", x, err)
	}
}

// LAST_INSERT_ID() is the session's, even when its INSERT's backend
// connection has since served another client's INSERT: with one connection
// per server in the pool, client b's INSERT runs on the very connection
// client a inserted on (checked by the backend thread id, @@pseudo_thread_id), so that connection's own
// LAST_INSERT_ID() is b's; a must still read its own.
func TestLastInsertIDAfterReuse(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 1, max_idle: 1}\n")
	db := p.open(t, "shop")
	freshTable(t, db, "lid_t", "(id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
	a, b := pin(t, p.open(t, "shop")), pin(t, p.open(t, "shop"))
	ctx := context.Background()
	insert := func(c *sql.Conn, rows string) (id, connID int64) {
		t.Helper()
		res, err := c.ExecContext(ctx, "INSERT INTO lid_t (v) VALUES "+rows)
		if err != nil {
			t.Fatal(err)
		}
		if id, err = res.LastInsertId(); err != nil {
			t.Fatal(err)
		}
		scan(t, c, "/* shardgate:primary */ SELECT @@pseudo_thread_id", &connID)
		return id, connID
	}
	for round := 0; round < 3; round++ {
		aID, aConn := insert(a, "(1), (2)")
		bID, bConn := insert(b, "(3)")
		if aConn != bConn {
			t.Fatalf("round %d: the clients used backend connections %d and %d; the test needs one shared", round, aConn, bConn)
		}
		if aID == bID {
			t.Fatalf("round %d: both inserts report id %d", round, aID)
		}
		for _, q := range []string{"SELECT LAST_INSERT_ID()", "SELECT LAST_INSERT_ID() + 0 AS id"} {
			var got int64
			scan(t, a, q, &got)
			if got != aID {
				t.Fatalf("round %d: client a: %s = %d, want its own %d (b's is %d)", round, q, got, aID, bID)
			}
		}
	}
}

// 100 transactions of 100 statements each never change server inside a
// transaction, and run on the primary.
func TestTransactionsStayOnOneConnection(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 4, max_idle: 4}\n")
	db := p.open(t, "shop", "interpolateParams=true") // prepared statements come with a later issue
	db.SetMaxOpenConns(8)
	freshTable(t, db, "txn_t", "(id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
	for i := 0; i < 100; i++ {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		var firstID int64
		for j := 0; j < 100; j++ {
			var port, id int64
			q := "SELECT @@port, @@pseudo_thread_id"
			if j%10 == 5 {
				if _, err := tx.Exec("INSERT INTO txn_t (v) VALUES (?)", j); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.QueryRow(q).Scan(&port, &id); err != nil {
				t.Fatal(err)
			}
			if port != 3310 {
				t.Fatalf("txn %d stmt %d ran on %d", i, j, port)
			}
			if j == 0 {
				firstID = id
			} else if id != firstID {
				t.Fatalf("txn %d changed backend connection at statement %d", i, j)
			}
		}
		if i%2 == 0 {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadOnlyTransactionOnOneReplica(t *testing.T) {
	p := startProxy(t, "")
	db := p.open(t, "shop")
	ctx := context.Background()
	conn := pin(t, db)
	if _, err := conn.ExecContext(ctx, "START TRANSACTION READ ONLY"); err != nil {
		t.Fatal(err)
	}
	first := whoAnswers(t, conn, "SELECT @@port")
	if !isReplica(first) {
		t.Fatalf("read-only transaction on %d", first)
	}
	for i := 0; i < 20; i++ {
		if port := whoAnswers(t, conn, "SELECT @@port"); port != first {
			t.Fatalf("read-only transaction moved from %d to %d", first, port)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
}

// An error inside a transaction does not end it: the session keeps its
// connection, and ROLLBACK still undoes the earlier statements.
func TestErrorInsideTransactionKeepsIt(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 2, max_idle: 2}\n")
	db := p.open(t, "shop")
	freshTable(t, db, "txerr_t", "(id INT PRIMARY KEY)")
	ctx := context.Background()
	conn := pin(t, db)
	for _, q := range []string{"BEGIN", "INSERT INTO txerr_t VALUES (1)"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO txerr_t VALUES (1)"); err == nil {
		t.Fatal("duplicate key accepted")
	} else if code, _, _ := mysqlErr(t, err); code != 1062 {
		t.Fatalf("want 1062, got %v", err)
	}
	// Other clients keep working meanwhile and never see the open transaction.
	other := p.open(t, "shop")
	var n int
	if err := other.QueryRow("/* shardgate:primary */ SELECT COUNT(*) FROM txerr_t").Scan(&n); err != nil || n != 0 {
		t.Fatalf("another client sees %d rows (%v)", n, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM txerr_t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("inside the transaction: %d rows (%v)", n, err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := other.QueryRow("/* shardgate:primary */ SELECT COUNT(*) FROM txerr_t").Scan(&n); err != nil || n != 0 {
		t.Fatalf("after rollback: %d rows (%v)", n, err)
	}
}

// consistency: session: a read right after the same session's write always
// sees it, and replicas still serve such reads (they wait for the write's
// GTID). How many of the reads a replica serves depends on the machine's
// load, so the test runs until 100 replica reads (or 4,000 trials): every
// read must see its write, and replicas must serve some.
func TestReadYourWrites(t *testing.T) {
	p := startProxyRules(t, strings.Replace(baseRules, "    cluster: main\n", "    cluster: main\n    consistency: session\n    causal_timeout: 2s\n", 1))
	db := p.open(t, "shop", "interpolateParams=true")
	ctx := context.Background()
	freshTable(t, db, "ryw_t", "(id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
	conn := pin(t, db)
	const maxTrials, wantByReplica = 4000, 100
	byReplica, trials := 0, 0
	for ; trials < maxTrials && byReplica < wantByReplica; trials++ {
		i := trials
		res, err := conn.ExecContext(ctx, "INSERT INTO ryw_t (v) VALUES (?)", i)
		if err != nil {
			t.Fatal(err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			t.Fatal(err)
		}
		var v, port int
		if err := conn.QueryRowContext(ctx, "SELECT v, @@port FROM ryw_t WHERE id = ?", id).Scan(&v, &port); err != nil {
			t.Fatalf("trial %d: row %d not read back: %v", i, id, err)
		}
		if v != i {
			t.Fatalf("trial %d: read %d", i, v)
		}
		if isReplica(port) {
			byReplica++
		}
	}
	t.Logf("%d of %d reads-after-write served by replicas", byReplica, trials)
	if byReplica < wantByReplica {
		t.Fatalf("only %d of %d reads-after-write used replicas", byReplica, trials)
	}
}

// Statements that read what the previous statement left in its connection,
// or assign user variables inside a SELECT, or take named locks.
func TestConnectionBoundFunctions(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 4, max_idle: 4}\n")
	db := p.open(t, "shop")
	ctx := context.Background()
	conn := pin(t, db)
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	one := func(q string) string {
		t.Helper()
		var v sql.NullString
		if err := conn.QueryRowContext(ctx, q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v.String
	}
	freshTable(t, db, "cb_t", "(id INT PRIMARY KEY, v INT)")
	exec("INSERT INTO cb_t VALUES (1, 0), (2, 0), (3, 0)")
	if got := one("SELECT ROW_COUNT()"); got != "3" {
		t.Fatalf("ROW_COUNT() after a 3-row INSERT = %s", got)
	}
	exec("UPDATE cb_t SET v = 1 WHERE id <= 2")
	if got := one("SELECT ROW_COUNT()"); got != "2" {
		t.Fatalf("ROW_COUNT() after a 2-row UPDATE = %s", got)
	}
	// Other clients keep the pool busy meanwhile without stealing it.
	other := p.open(t, "shop")
	busy := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if _, err := other.Exec("/* shardgate:primary */ DO 1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	busy(20)
	exec("DELETE FROM cb_t WHERE id = 3")
	busy(5)
	if got := one("SELECT ROW_COUNT()"); got != "1" {
		t.Fatalf("ROW_COUNT() after a 1-row DELETE = %s", got)
	}

	var port int
	rows, err := conn.QueryContext(ctx, "/* shardgate:primary */ SELECT SQL_CALC_FOUND_ROWS id, @@port FROM cb_t LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		if err := rows.Scan(new(int), &port); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if got := one("SELECT FOUND_ROWS()"); got != "2" {
		t.Fatalf("FOUND_ROWS() = %s", got)
	}

	// @x := inside a SELECT is carried like SET @x.
	if got := one("SELECT @picked := MAX(id) FROM cb_t"); got != "2" {
		t.Fatalf("assignment returned %s", got)
	}
	for i := 0; i < 5; i++ {
		if got := one("SELECT @picked"); got != "2" {
			t.Fatalf("@picked read back as %q", got)
		}
	}

	// So is SELECT ... INTO @var.
	exec("SELECT MIN(id), MAX(id) INTO @lo, @hi FROM cb_t")
	for i := 0; i < 5; i++ {
		if got := one("SELECT CONCAT(@lo, '-', @hi)"); got != "1-2" {
			t.Fatalf("@lo-@hi read back as %q", got)
		}
	}

	// A named lock keeps the session on the connection that holds it. The
	// lock name is this run's own: lock names are server-wide.
	lock := uniqueName("shardgate_test_lock")
	if got := one("SELECT GET_LOCK('" + lock + "', 1)"); got != "1" {
		t.Fatalf("GET_LOCK = %s", got)
	}
	var holder sql.NullInt64
	if err := other.QueryRow("/* shardgate:primary */ SELECT IS_USED_LOCK('" + lock + "')").Scan(&holder); err != nil || !holder.Valid {
		t.Fatalf("lock not held: %v", err)
	}
	if got := one("SELECT @@pseudo_thread_id"); got != fmt.Sprint(holder.Int64) {
		t.Fatalf("session moved off the lock holder %d to %s", holder.Int64, got)
	}
	if got := one("SELECT RELEASE_LOCK('" + lock + "')"); got != "1" {
		t.Fatalf("RELEASE_LOCK = %s", got)
	}
}

// autocommit=0 keeps every statement on the primary, on one connection,
// until COMMIT; others never see the uncommitted row.
func TestAutocommitOff(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 3, max_idle: 3}\n")
	db := p.open(t, "shop")
	freshTable(t, db, "ac_t", "(id INT PRIMARY KEY)")
	ctx := context.Background()
	conn := pin(t, db)
	for _, q := range []string{"SET autocommit = 0", "INSERT INTO ac_t VALUES (1)"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var n, port int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*), @@port FROM ac_t").Scan(&n, &port); err != nil || n != 1 || port != 3310 {
		t.Fatalf("inside: %d rows on %d (%v)", n, port, err)
	}
	other := p.open(t, "shop")
	if err := other.QueryRow("/* shardgate:primary */ SELECT COUNT(*) FROM ac_t").Scan(&n); err != nil || n != 0 {
		t.Fatalf("another client sees %d uncommitted rows (%v)", n, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := other.QueryRow("/* shardgate:primary */ SELECT COUNT(*) FROM ac_t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after COMMIT another client sees %d rows (%v)", n, err)
	}
	// Still autocommit=0: the next statement opens a new transaction, on the primary.
	if err := conn.QueryRowContext(ctx, "SELECT @@port, @@autocommit").Scan(&port, &n); err != nil || port != 3310 || n != 0 {
		t.Fatalf("after COMMIT: port %d autocommit %d (%v)", port, n, err)
	}
}
