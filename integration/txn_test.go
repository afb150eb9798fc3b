package integration

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
)

// txnEnv is a schema of its own (a fresh database on every cluster) with a
// table of each kind: notes (no rule, on main), orders (business split, on
// s1) and comments (hash-sharded over s0 and s1).
type txnEnv struct {
	db     string
	p      *proxy
	direct map[string]*sql.DB // cluster → its primary
	// rules is the proxy's rules file.
	rules string
}

var primaries = map[string]string{"main": "127.0.0.1:3310", "s0": "127.0.0.1:3320", "s1": "127.0.0.1:3330"}

func newTxnEnv(t *testing.T, extraRules string) *txnEnv {
	t.Helper()
	return newTxnEnvTables(t, "", extraRules)
}

// newTxnEnvTables is newTxnEnv with more table rules for the schema (YAML
// lines indented for its tables: mapping).
func newTxnEnvTables(t *testing.T, tableRules, extraRules string) *txnEnv {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	e := &txnEnv{db: "txn_" + hex.EncodeToString(b), direct: map[string]*sql.DB{}}
	for cluster, addr := range primaries {
		root := direct(t, addr, "")
		if _, err := root.Exec("CREATE DATABASE " + e.db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { root.Exec("DROP DATABASE IF EXISTS " + e.db) })
		e.direct[cluster] = direct(t, addr, e.db)
	}
	create := func(cluster, sql string) {
		if _, err := e.direct[cluster].Exec(sql); err != nil {
			t.Fatalf("%s: %s: %v", cluster, sql, err)
		}
	}
	create("main", "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(20))")
	create("s1", "CREATE TABLE orders (id INT PRIMARY KEY, total INT)")
	for i := 0; i < 4; i++ {
		cluster := []string{"s0", "s1"}[i%2]
		create(cluster, fmt.Sprintf("CREATE TABLE comments_%d (id INT PRIMARY KEY, product_id INT, body VARCHAR(20))", i))
	}
	e.rules = fmt.Sprintf(`
users: [{name: app, password: app}, {name: other, password: other}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
  %s:
    cluster: main
    tables:
      orders: {cluster: s1}
      comments:
        shard: {by: hash, column: product_id, tables: 4, clusters: [s0, s1]}
%s%s`, e.db, tableRules, extraRules)
	// Reads the proxy sends to replicas (and a USE of the database there)
	// must find it: under load a replica may not have applied the CREATE
	// DATABASE yet (1049).
	syncReplicas(t)
	e.p = startProxyRules(t, e.rules)
	return e
}

// session is one client session to the proxy (one *sql.Conn).
func (e *txnEnv) session(t *testing.T) *sql.Conn {
	t.Helper()
	db := e.p.open(t, e.db)
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustExec(t *testing.T, c *sql.Conn, q string) {
	t.Helper()
	if _, err := c.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// count reads, on the primaries (no replica delay), how many rows of a
// logical table match where.
func (e *txnEnv) count(t *testing.T, table, where string) int {
	t.Helper()
	var tables []struct{ cluster, name string }
	switch table {
	case "notes":
		tables = append(tables, struct{ cluster, name string }{"main", "notes"})
	case "orders":
		tables = append(tables, struct{ cluster, name string }{"s1", "orders"})
	case "comments":
		for i := 0; i < 4; i++ {
			tables = append(tables, struct{ cluster, name string }{[]string{"s0", "s1"}[i%2], fmt.Sprintf("comments_%d", i)})
		}
	}
	total := 0
	for _, tb := range tables {
		var n int
		if err := e.direct[tb.cluster].QueryRow("SELECT COUNT(*) FROM " + tb.name + " WHERE " + where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

// TestTransactionsOnEveryKindOfTable: a transaction on a table off the
// default cluster ends with COMMIT or ROLLBACK like on one server, and the
// statements that name no table (SELECT 1, SAVEPOINT, BEGIN) run inside it
// instead of wedging the session.
func TestTransactionsOnEveryKindOfTable(t *testing.T) {
	e := newTxnEnv(t, "")
	inserts := map[string]func(id int) string{
		"notes":  func(id int) string { return fmt.Sprintf("INSERT INTO notes VALUES (%d, 'n')", id) },
		"orders": func(id int) string { return fmt.Sprintf("INSERT INTO orders VALUES (%d, 5)", id) },
		"comments": func(id int) string {
			return fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (%d, 2, 'c')", id)
		},
	}
	for table, insert := range inserts {
		t.Run(table, func(t *testing.T) {
			c := e.session(t)
			// COMMIT keeps the write; SELECT 1 runs inside the transaction.
			mustExec(t, c, "BEGIN")
			mustExec(t, c, insert(1))
			var one int
			if err := c.QueryRowContext(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("SELECT 1 inside the transaction: %v", err)
			}
			mustExec(t, c, "COMMIT")
			if n := e.count(t, table, "id = 1"); n != 1 {
				t.Fatalf("after COMMIT: %d rows with id 1, want 1", n)
			}
			// ROLLBACK undoes it.
			mustExec(t, c, "BEGIN")
			mustExec(t, c, insert(2))
			mustExec(t, c, "ROLLBACK")
			if n := e.count(t, table, "id = 2"); n != 0 {
				t.Fatalf("after ROLLBACK: %d rows with id 2, want 0", n)
			}
			// Savepoints.
			mustExec(t, c, "START TRANSACTION")
			mustExec(t, c, insert(3))
			mustExec(t, c, "SAVEPOINT sp1")
			mustExec(t, c, insert(4))
			mustExec(t, c, "ROLLBACK TO SAVEPOINT sp1")
			mustExec(t, c, "RELEASE SAVEPOINT sp1")
			mustExec(t, c, "COMMIT")
			if n3, n4 := e.count(t, table, "id = 3"), e.count(t, table, "id = 4"); n3 != 1 || n4 != 0 {
				t.Fatalf("savepoint: id 3: %d rows (want 1), id 4: %d rows (want 0)", n3, n4)
			}
			// BEGIN inside a transaction commits it, as MySQL does.
			mustExec(t, c, "BEGIN")
			mustExec(t, c, insert(5))
			mustExec(t, c, "BEGIN")
			mustExec(t, c, "ROLLBACK")
			if n := e.count(t, table, "id = 5"); n != 1 {
				t.Fatalf("BEGIN inside a transaction must commit it: %d rows with id 5", n)
			}
			// autocommit=0: the write waits for COMMIT.
			mustExec(t, c, "SET autocommit = 0")
			mustExec(t, c, insert(6))
			if n := e.count(t, table, "id = 6"); n != 0 {
				t.Fatalf("autocommit=0: the write is visible before COMMIT")
			}
			mustExec(t, c, "COMMIT")
			mustExec(t, c, "SET autocommit = 1")
			if n := e.count(t, table, "id = 6"); n != 1 {
				t.Fatalf("autocommit=0 then COMMIT: %d rows with id 6", n)
			}
		})
	}
	// go-sql-driver's Tx on the sharded table.
	db := e.p.open(t, e.db)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO comments (id, product_id, body) VALUES (10, 7, 'tx')"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("tx.Commit on a sharded table: %v", err)
	}
	if n := e.count(t, "comments", "id = 10"); n != 1 {
		t.Fatalf("after tx.Commit: %d rows", n)
	}
}

// TestFoundRowsAfterSingleShardRead: the pagination pattern on a sharded
// table, SQL_CALC_FOUND_ROWS then FOUND_ROWS(), answers from the shard's
// connection.
func TestFoundRowsAfterSingleShardRead(t *testing.T) {
	e := newTxnEnv(t, "")
	c := e.session(t)
	for i := 1; i <= 5; i++ {
		mustExec(t, c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (%d, 2, 'p')", i))
	}
	rows, err := c.QueryContext(context.Background(), "/* shardgate:primary */ SELECT SQL_CALC_FOUND_ROWS id FROM comments WHERE product_id = 2 ORDER BY id LIMIT 2")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	var found int
	if err := c.QueryRowContext(context.Background(), "SELECT FOUND_ROWS()").Scan(&found); err != nil {
		t.Fatalf("FOUND_ROWS(): %v", err)
	}
	if n != 2 || found != 5 {
		t.Fatalf("page of %d rows, FOUND_ROWS() %d; want 2 and 5", n, found)
	}
	// The session is not wedged: a statement on main still runs.
	mustExec(t, c, "INSERT INTO notes VALUES (1, 'after')")
}

// TestFailedFirstStatementKeepsTransaction: when the first statement of a
// transaction fails, the transaction (opened on the server by the BEGIN sent
// with it) stays the session's: its later statements are inside it, its
// ROLLBACK undoes them, and another client waiting for the only pooled
// connection never writes inside it.
func TestFailedFirstStatementKeepsTransaction(t *testing.T) {
	e := newTxnEnv(t, "pool: {max_open: 1, max_idle: 1, wait_timeout: 10s}\n")
	if _, err := e.direct["main"].Exec("INSERT INTO notes VALUES (1, 'exists')"); err != nil {
		t.Fatal(err)
	}
	a := e.session(t)
	mustExec(t, a, "BEGIN")
	if _, err := a.ExecContext(context.Background(), "INSERT INTO notes VALUES (1, 'duplicate')"); err == nil {
		t.Fatal("duplicate key accepted")
	}
	// Another client's autocommit write waits for the one connection.
	other := e.p.open(t, e.db)
	done := make(chan error, 1)
	go func() {
		_, err := other.Exec("INSERT INTO notes VALUES (100, 'other client')")
		done <- err
	}()
	// While the transaction is open, the only connection is the session's:
	// the other client cannot have written yet.
	select {
	case err := <-done:
		t.Fatalf("the other client got the connection of an open transaction (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	mustExec(t, a, "INSERT INTO notes VALUES (2, 'in txn')")
	mustExec(t, a, "ROLLBACK")
	if err := <-done; err != nil {
		t.Fatalf("other client: %v", err)
	}
	if n := e.count(t, "notes", "id = 2"); n != 0 {
		t.Fatalf("ROLLBACK did not undo the transaction's second statement (%d rows)", n)
	}
	if n := e.count(t, "notes", "id = 100"); n != 1 {
		t.Fatalf("the other client's acknowledged write is lost (%d rows)", n)
	}
}

// TestNextTransactionCharacteristics: SET TRANSACTION without SESSION (what
// go-sql-driver's BeginTx sends for sql.TxOptions) applies to the next
// transaction only, on whatever cluster it runs.
func TestNextTransactionCharacteristics(t *testing.T) {
	e := newTxnEnv(t, "")
	ctx := context.Background()
	writer := e.direct["s1"]
	for _, table := range []string{"notes", "orders"} {
		t.Run(table, func(t *testing.T) {
			db := e.p.open(t, e.db)
			db.SetMaxOpenConns(1)
			writerDB := e.direct["main"]
			if table == "orders" {
				writerDB = writer
			}
			visibleChange := func(opts *sql.TxOptions, id int) bool {
				t.Helper()
				tx, err := db.BeginTx(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				var before, after int
				if err := tx.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&before); err != nil {
					t.Fatal(err)
				}
				if _, err := writerDB.Exec(fmt.Sprintf("INSERT INTO %s VALUES (%d, 1)", table, id)); err != nil {
					t.Fatal(err)
				}
				if err := tx.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&after); err != nil {
					t.Fatal(err)
				}
				return after != before
			}
			if !visibleChange(&sql.TxOptions{Isolation: sql.LevelReadCommitted}, 1) {
				t.Fatal("READ COMMITTED transaction did not see a committed insert")
			}
			if visibleChange(nil, 2) {
				t.Fatal("the next transaction is still READ COMMITTED: SET TRANSACTION must apply to one transaction only")
			}
			// READ ONLY for one transaction: its write fails (1792); the next
			// transaction writes.
			tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			_, err = tx.Exec(fmt.Sprintf("INSERT INTO %s VALUES (3, 1)", table))
			if err == nil {
				t.Fatal("a write inside a READ ONLY transaction succeeded")
			}
			if code, _, _ := mysqlErr(t, err); code != 1792 {
				t.Fatalf("write in READ ONLY transaction: %v, want 1792", err)
			}
			tx.Rollback()
			tx, err = db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(fmt.Sprintf("INSERT INTO %s VALUES (4, 1)", table)); err != nil {
				t.Fatalf("READ ONLY leaked into the next transaction: %v", err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCommentOnlyQuery: a query of comments only is answered OK, as
// MariaDB does; an empty one is 1065.
func TestCommentOnlyQuery(t *testing.T) {
	e := newTxnEnv(t, "")
	c := e.session(t)
	for _, q := range []string{"/* nothing */", "-- nothing\n", "# nothing"} {
		if _, err := c.ExecContext(context.Background(), q); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
}

// TestHiddenStateStaysWithItsSession: what SQL-level PREPARE/EXECUTE
// changes in a connection (here autocommit=0) is invisible to the parser;
// the connection stays with its session and is reset before another client
// gets it, so that client's acknowledged write is stored.
func TestHiddenStateStaysWithItsSession(t *testing.T) {
	e := newTxnEnv(t, "pool: {max_open: 1, max_idle: 1, wait_timeout: 10s}\n")
	adb, err := sql.Open("mysql", e.p.dsn(e.db))
	if err != nil {
		t.Fatal(err)
	}
	a, err := adb.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, a, "PREPARE s FROM 'SET autocommit = 0'")
	mustExec(t, a, "EXECUTE s")
	// The client leaves; its session's connection goes back to the pool.
	a.Close()
	adb.Close()
	b := e.session(t)
	mustExec(t, b, "INSERT INTO notes VALUES (2, 'b, autocommit')")
	if n := e.count(t, "notes", "id = 2"); n != 1 {
		t.Fatalf("the next client's acknowledged write is not stored (%d rows): it ran in the previous client's autocommit=0", n)
	}
}

// TestWarningsOfThePreviousStatement: SHOW WARNINGS, SHOW COUNT(*)
// WARNINGS and @@warning_count describe the session's previous statement,
// which ran on a pooled connection (a replica for a read).
func TestWarningsOfThePreviousStatement(t *testing.T) {
	e := newTxnEnv(t, "")
	c := e.session(t)
	ctx := context.Background()
	mustExec(t, c, "INSERT INTO notes VALUES (100, 'one row')")
	mustExec(t, c, "INSERT INTO comments (id, product_id, body) VALUES (1, 3, 'one row')")
	for _, c2 := range []struct {
		first string
		code  int
	}{
		{"SELECT CAST('12abc' AS SIGNED)", 1292},                                 // a read, on a replica
		{"SELECT CAST('12abc' AS SIGNED) FROM notes", 1292},                      // a read of a table
		{"INSERT IGNORE INTO notes VALUES (100, 'duplicate')", 1062},             // a write, on the primary
		{"SELECT CAST('1z' AS SIGNED) FROM comments WHERE product_id = 3", 1292}, // a shard
	} {
		first := c2.first
		mustExec(t, c, first)
		var n int
		if err := c.QueryRowContext(ctx, "SELECT @@warning_count").Scan(&n); err != nil || n != 1 {
			t.Fatalf("after %s: @@warning_count %d (%v), want 1", first, n, err)
		}
		mustExec(t, c, first)
		if err := c.QueryRowContext(ctx, "SHOW COUNT(*) WARNINGS").Scan(&n); err != nil || n != 1 {
			t.Fatalf("after %s: SHOW COUNT(*) WARNINGS %d (%v), want 1", first, n, err)
		}
		mustExec(t, c, first)
		var level, msg string
		var code int
		if err := c.QueryRowContext(ctx, "SHOW WARNINGS").Scan(&level, &code, &msg); err != nil || code != c2.code {
			t.Fatalf("after %s: SHOW WARNINGS %s %d %q (%v), want %d", first, level, code, msg, err, c2.code)
		}
	}
	// A read over several shards: the warnings of every shard.
	for p := 10; p < 18; p++ {
		mustExec(t, c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (%d, %d, 'x%d')", p, p, p))
	}
	const scatter = "SELECT CAST(body AS SIGNED) FROM comments WHERE product_id BETWEEN 10 AND 17"
	for _, q := range []string{"SELECT @@warning_count", "SHOW COUNT(*) WARNINGS"} {
		mustExec(t, c, scatter)
		var n int
		if err := c.QueryRowContext(ctx, q).Scan(&n); err != nil || n != 8 {
			t.Fatalf("after a read of 8 rows over several shards: %s = %d (%v), want 8", q, n, err)
		}
	}
	mustExec(t, c, scatter)
	rows, err := c.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if n != 8 {
		t.Fatalf("SHOW WARNINGS after a read over several shards: %d rows, want 8", n)
	}
	// As on one server, a statement that uses no table keeps them; one that
	// uses a table starts afresh.
	mustExec(t, c, "SELECT 1")
	var w int
	if err := c.QueryRowContext(ctx, "SELECT @@warning_count").Scan(&w); err != nil || w != 8 {
		t.Fatalf("after SELECT 1: @@warning_count %d (%v), want the read's 8", w, err)
	}
	mustExec(t, c, "SELECT COUNT(*) FROM notes")
	if err := c.QueryRowContext(ctx, "SELECT @@warning_count").Scan(&w); err != nil || w != 0 {
		t.Fatalf("after a statement on a table: @@warning_count %d (%v), want 0", w, err)
	}
}

// TestMultiStatementRunsUpToTheBadOne: in a multi-statement query whose
// second statement does not parse, the first still runs and returns its
// result, then the error comes, as from a server that runs them one by
// one.
func TestMultiStatementRunsUpToTheBadOne(t *testing.T) {
	e := newTxnEnv(t, "")
	db := e.p.open(t, e.db, "multiStatements=true")
	rows, err := db.Query("SELECT 42; xyzzy; SELECT 43")
	if err != nil {
		t.Fatalf("the first statement's result is lost: %v", err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row for SELECT 42: %v", rows.Err())
	}
	var v int
	if err := rows.Scan(&v); err != nil || v != 42 {
		t.Fatalf("SELECT 42 gave %d (%v)", v, err)
	}
	for rows.Next() {
	}
	if rows.NextResultSet() {
		t.Fatal("a result set after the statement that does not parse")
	}
	if code, _, _ := mysqlErr(t, rows.Err()); code != 1064 {
		t.Fatalf("after the first result: %v, want 1064", rows.Err())
	}
	// Statements with semicolons inside strings and comments split right.
	if _, err := db.Exec("INSERT INTO notes VALUES (1, 'a;b'); /* ; */ INSERT INTO notes VALUES (2, 'c')"); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "notes", "body IN ('a;b', 'c')"); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
}

// TestConnectionIDAndKill: CONNECTION_ID() is the client's proxy connection
// id, stable across statements; KILL QUERY with it from another connection
// stops the statement wherever it runs; another user may not kill it; KILL
// CONNECTION ends the session; SHOW PROCESSLIST lists proxy sessions.
func TestConnectionIDAndKill(t *testing.T) {
	e := newTxnEnv(t, "")
	ctx := context.Background()
	a, b := e.session(t), e.session(t)
	id := func(c *sql.Conn) uint64 {
		t.Helper()
		var v uint64
		if err := c.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	ida := id(a)
	mustExec(t, a, "INSERT INTO notes VALUES (1, 'x')") // another backend connection in between
	if again := id(a); again != ida {
		t.Fatalf("CONNECTION_ID() changed from %d to %d between statements", ida, again)
	}
	if idb := id(b); idb == ida {
		t.Fatalf("two sessions with CONNECTION_ID() %d", ida)
	}
	for _, sleep := range []string{
		"SELECT SLEEP(10)", // on a replica of main
		"SELECT SLEEP(10) FROM comments WHERE product_id = 3", // on a shard
	} {
		mustExec(t, a, "INSERT INTO comments (id, product_id, body) VALUES (3, 3, 'row') ON DUPLICATE KEY UPDATE body = 'row'")
		done := make(chan error, 1)
		go func() {
			_, err := a.ExecContext(ctx, sleep)
			done <- err
		}()
		// Wait until SHOW PROCESSLIST shows the statement running.
		deadline := time.Now().Add(5 * time.Second)
		for {
			rows, err := b.QueryContext(ctx, "SHOW FULL PROCESSLIST")
			if err != nil {
				t.Fatal(err)
			}
			running := false
			for rows.Next() {
				var pid uint64
				var user, host, command, state, info sql.NullString
				var db sql.NullString
				var secs int
				if err := rows.Scan(&pid, &user, &host, &db, &command, &secs, &state, &info); err != nil {
					t.Fatal(err)
				}
				running = running || (pid == ida && info.String == sleep)
			}
			rows.Close()
			if running {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("SHOW PROCESSLIST never showed session %d running %q", ida, sleep)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Another user may not kill it.
		other, err := sql.Open("mysql", fmt.Sprintf("other:other@tcp(%s)/%s", e.p.addr, e.db))
		if err != nil {
			t.Fatal(err)
		}
		_, err = other.Exec(fmt.Sprintf("KILL QUERY %d", ida))
		other.Close()
		if code, _, _ := mysqlErr(t, err); code != 1095 {
			t.Fatalf("another user's KILL: %v, want 1095", err)
		}
		start := time.Now()
		mustExec(t, b, fmt.Sprintf("KILL QUERY %d", ida))
		select {
		case <-done:
		case <-time.After(2 * time.Second): // the server stops SLEEP at once; 2 s leaves room for a loaded machine
			t.Fatalf("%s still running 2 s after KILL QUERY", sleep)
		}
		t.Logf("%s stopped %v after KILL QUERY", sleep, time.Since(start))
		// The session goes on.
		if got := id(a); got != ida {
			t.Fatalf("after KILL QUERY: CONNECTION_ID() %d, want %d", got, ida)
		}
	}
	// information_schema.PROCESSLIST lists the same proxy sessions, under any
	// WHERE the server can evaluate.
	idb := id(b)
	var n int
	if err := b.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN (%d, %d) AND USER = 'app'", ida, idb)).Scan(&n); err != nil || n != 2 {
		t.Fatalf("information_schema.PROCESSLIST: %d of the two sessions (%v)", n, err)
	}
	var info string
	if err := b.QueryRowContext(ctx, fmt.Sprintf("SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = %d", idb)).Scan(&info); err != nil || !strings.Contains(info, "information_schema.PROCESSLIST") {
		t.Fatalf("the session's own INFO: %q (%v)", info, err)
	}
	if _, err := b.ExecContext(ctx, "KILL QUERY 4000000000"); err == nil {
		t.Fatal("KILL of an unknown id succeeded")
	} else if code, _, _ := mysqlErr(t, err); code != 1094 {
		t.Fatalf("KILL of an unknown id: %v, want 1094", err)
	}
	mustExec(t, b, fmt.Sprintf("KILL CONNECTION %d", ida))
	if _, err := a.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Fatal("the session still answers after KILL CONNECTION")
	}
}

// TestWaitTimeoutClosesIdleClient: a client's SET wait_timeout applies to
// its own connection to the proxy: idle longer, it is closed, as by a
// server.
func TestWaitTimeoutClosesIdleClient(t *testing.T) {
	e := newTxnEnv(t, "")
	rd := &recordingDialer{}
	name := fmt.Sprintf("rec_wait_%d", time.Now().UnixNano())
	mysqldrv.RegisterDialContext(name, rd.dial)
	cfg := mysqldrv.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = "app", "app", name, e.p.addr, e.db
	connector, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustExec(t, c, "SET SESSION wait_timeout = 1")
	raw := rd.last()
	start := time.Now()
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	_, err = raw.Read(buf)
	idle := time.Since(start)
	if err == nil || os.IsTimeout(err) {
		t.Fatalf("an idle client with wait_timeout 1 was not closed within 10 s (%v)", err)
	}
	if idle < 900*time.Millisecond {
		t.Fatalf("closed after %v, before its wait_timeout of 1 s", idle)
	}
	t.Logf("closed after %v idle", idle)
}

// TestUnparsedStatementsPassThrough: statements TiDB's grammar does not
// know but MariaDB runs go to the default cluster unchanged when they name
// nothing the proxy routes and stay in the database; otherwise they are
// refused with 1235, never mis-routed.
func TestUnparsedStatementsPassThrough(t *testing.T) {
	e := newTxnEnv(t, "")
	c := e.session(t)
	ctx := context.Background()
	mustExec(t, c, "INSERT INTO notes VALUES (1, 'one')")
	// SET STATEMENT ... FOR (MariaDB only) on an unsharded table.
	var n int
	if err := c.QueryRowContext(ctx, "SET STATEMENT max_statement_time=10 FOR SELECT COUNT(*) FROM notes").Scan(&n); err != nil || n != 1 {
		t.Fatalf("SET STATEMENT ... FOR: %d, %v", n, err)
	}
	// HANDLER keeps state in the connection: the session keeps it.
	mustExec(t, c, "HANDLER notes OPEN")
	var id int
	var body string
	if err := c.QueryRowContext(ctx, "HANDLER notes READ FIRST").Scan(&id, &body); err != nil || id != 1 {
		t.Fatalf("HANDLER READ on the connection that opened it: %d %q %v", id, body, err)
	}
	mustExec(t, c, "HANDLER notes CLOSE")
	for _, refused := range []string{
		"SET STATEMENT max_statement_time=10 FOR SELECT COUNT(*) FROM comments", // a sharded table
		"HANDLER orders OPEN", // a split table
		"SET STATEMENT max_statement_time=10 FOR SELECT * FROM mysql.user", // another database
		"SET STATEMENT max_statement_time=10 FOR SELECT 1 /*!50000 FROM mysql.user */",
	} {
		_, err := c.ExecContext(ctx, refused)
		if err == nil {
			t.Errorf("%s: accepted", refused)
			continue
		}
		if code, _, _ := mysqlErr(t, err); code != 1235 {
			t.Errorf("%s: %v, want 1235", refused, err)
		}
	}
}
