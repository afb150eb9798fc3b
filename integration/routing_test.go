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
	mustExec("DROP TABLE IF EXISTS rw_t")
	mustExec("CREATE TABLE rw_t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")

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

	// LAST_INSERT_ID() in both forms, right after an INSERT, although the
	// INSERT's connection went back to the pool.
	res := mustExec("INSERT INTO rw_t (v) VALUES (1), (2)")
	first, _ := res.LastInsertId()
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

// 100 transactions of 100 statements each never change server inside a
// transaction, and run on the primary.
func TestTransactionsStayOnOneConnection(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 4, max_idle: 4}\n")
	db := p.open(t, "shop", "interpolateParams=true") // prepared statements come with a later issue
	db.SetMaxOpenConns(8)
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS txn_t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		var firstID int64
		for j := 0; j < 100; j++ {
			var port, id int64
			q := "SELECT @@port, CONNECTION_ID()"
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
	conn, _ := db.Conn(ctx)
	defer conn.Close()
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
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS txerr_t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	db.Exec("DELETE FROM txerr_t")
	ctx := context.Background()
	conn, _ := db.Conn(ctx)
	defer conn.Close()
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
// sees it, and replicas still serve reads (they wait for the write's GTID).
func TestReadYourWrites(t *testing.T) {
	p := startProxyRules(t, strings.Replace(baseRules, "    cluster: main\n", "    cluster: main\n    consistency: session\n    causal_timeout: 500ms\n", 1))
	db := p.open(t, "shop", "interpolateParams=true")
	ctx := context.Background()
	conn, _ := db.Conn(ctx)
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS ryw_t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)"); err != nil {
		t.Fatal(err)
	}
	const trials = 2000
	byReplica := 0
	for i := 0; i < trials; i++ {
		res, err := conn.ExecContext(ctx, "INSERT INTO ryw_t (v) VALUES (?)", i)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
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
	if byReplica < trials/2 {
		t.Fatalf("only %d of %d reads used replicas", byReplica, trials)
	}
}

// Statements that read what the previous statement left in its connection,
// or assign user variables inside a SELECT, or take named locks.
func TestConnectionBoundFunctions(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 4, max_idle: 4}\n")
	db := p.open(t, "shop")
	ctx := context.Background()
	conn, _ := db.Conn(ctx)
	defer conn.Close()
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
	exec("DROP TABLE IF EXISTS cb_t")
	exec("CREATE TABLE cb_t (id INT PRIMARY KEY, v INT)")
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
	for i := 0; i < 20; i++ {
		other.Exec("/* shardgate:primary */ DO 1")
	}
	exec("DELETE FROM cb_t WHERE id = 3")
	for i := 0; i < 5; i++ {
		other.Exec("/* shardgate:primary */ DO 1")
	}
	if got := one("SELECT ROW_COUNT()"); got != "1" {
		t.Fatalf("ROW_COUNT() after a 1-row DELETE = %s", got)
	}

	var port int
	rows, err := conn.QueryContext(ctx, "/* shardgate:primary */ SELECT SQL_CALC_FOUND_ROWS id, @@port FROM cb_t LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		rows.Scan(new(int), &port)
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

	// A named lock keeps the session on the connection that holds it.
	if got := one("SELECT GET_LOCK('shardgate_test_lock', 1)"); got != "1" {
		t.Fatalf("GET_LOCK = %s", got)
	}
	var holder sql.NullInt64
	if err := other.QueryRow("/* shardgate:primary */ SELECT IS_USED_LOCK('shardgate_test_lock')").Scan(&holder); err != nil || !holder.Valid {
		t.Fatalf("lock not held: %v", err)
	}
	if got := one("SELECT CONNECTION_ID()"); got != fmt.Sprint(holder.Int64) {
		t.Fatalf("session moved off the lock holder %d to %s", holder.Int64, got)
	}
	if got := one("SELECT RELEASE_LOCK('shardgate_test_lock')"); got != "1" {
		t.Fatalf("RELEASE_LOCK = %s", got)
	}
}

// autocommit=0 keeps every statement on the primary, on one connection,
// until COMMIT; others never see the uncommitted row.
func TestAutocommitOff(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 3, max_idle: 3}\n")
	db := p.open(t, "shop")
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS ac_t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	db.Exec("DELETE FROM ac_t")
	ctx := context.Background()
	conn, _ := db.Conn(ctx)
	defer conn.Close()
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
