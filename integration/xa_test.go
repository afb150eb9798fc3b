package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shardgate/shardgate/xa"
)

// Issue 14: transactions that span clusters. The schema of newTxnEnv has
// notes on main, orders on s1 and comments hash-sharded over s0 and s1, so
// one transaction can have a branch on each of the three clusters.

// xaRules is the transactions block of these tests: the decision log in a
// database the app user may create, and a recovery quick enough for a
// test to wait for.
const xaRules = "transactions: {log_schema: " + testLogSchema + ", recovery_interval: 200ms, abort_after: 5s}\n"

// schemaMode puts a schema-level transactions: key after newTxnEnv's
// table rules.
func schemaMode(mode string) string { return "    transactions: " + mode + "\n" }

// inDoubt lists the gtrids of instance's transactions that a primary holds
// prepared (XA RECOVER on every primary). Other instances' are left out:
// other proxies may use the same servers.
func inDoubt(t testing.TB, instance string) []string {
	t.Helper()
	var out []string
	for _, cluster := range []string{"main", "s0", "s1"} {
		rows, err := direct(t, primaries[cluster], "").Query("XA RECOVER")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var format, gl, bl int
			var data []byte
			if err := rows.Scan(&format, &gl, &bl, &data); err != nil {
				t.Fatal(err)
			}
			g := string(data[:gl])
			if format == xa.FormatID && strings.HasPrefix(g, "sg:"+instance+":") {
				out = append(out, cluster+":"+g)
			}
		}
		rows.Close()
	}
	return out
}

// noneInDoubt waits until no primary holds a prepared branch of instance.
func noneInDoubt(t testing.TB, instance string, within time.Duration) time.Duration {
	t.Helper()
	return eventually(t, within, "no prepared branch of "+instance+" left on any primary", func() bool { return len(inDoubt(t, instance)) == 0 })
}

// decisions counts the decision log's rows of instance by decision.
func decisions(t testing.TB, instance string) map[string]int {
	t.Helper()
	rows, err := direct(t, primaries["main"], "").Query("SELECT decision, COUNT(*) FROM " + testLogSchema + ".xa_log WHERE xid LIKE '" + "sg:" + instance + ":%' GROUP BY decision")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var d string
		var n int
		if err := rows.Scan(&d, &n); err != nil {
			t.Fatal(err)
		}
		out[d] = n
	}
	return out
}

// pidOn is a product_id whose comments live on cluster.
func (e *txnEnv) pidOn(t testing.TB, c *sql.Conn, cluster string) int {
	t.Helper()
	for pid := 1; pid < 100; pid++ {
		rows, err := c.QueryContext(context.Background(), fmt.Sprintf("EXPLAIN SHARDGATE SELECT * FROM comments WHERE product_id = %d", pid))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			found = found || strings.HasPrefix(strings.TrimSpace(line), cluster+" [")
		}
		rows.Close()
		if found {
			return pid
		}
	}
	t.Fatalf("no product_id on %s", cluster)
	return 0
}

func execErr(c *sql.Conn, q string) error {
	_, err := c.ExecContext(context.Background(), q)
	return err
}

func wantCode(t testing.TB, err error, code uint16, text string) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded, want error %d", code)
	}
	got, _, msg := mysqlErr(t, err)
	if got != code || !strings.Contains(msg, text) {
		t.Fatalf("error %d %q, want %d containing %q", got, msg, code, text)
	}
}

func inTransaction(t testing.TB, c *sql.Conn) int {
	t.Helper()
	var n int
	scan(t, c, "SELECT @@in_transaction", &n)
	return n
}

// TestXATransactionSpansClusters: in a schema with transactions: xa (the
// default), a transaction writes on main, s0 and s1 and commits or rolls
// back as one; what MariaDB does to one transaction (savepoints, a failed
// statement, implicit commits, autocommit=0) it does to all branches.
func TestXATransactionSpansClusters(t *testing.T) {
	e := newTxnEnv(t, xaRules)
	instance := e.p.router.XA.Instance()
	c := e.session(t)
	s0pid, s1pid := e.pidOn(t, c, "s0"), e.pidOn(t, c, "s1")
	insertAll := func(id int) {
		t.Helper()
		mustExec(t, c, fmt.Sprintf("INSERT INTO notes VALUES (%d, 'n')", id))
		mustExec(t, c, fmt.Sprintf("INSERT INTO orders VALUES (%d, 1)", id))
		mustExec(t, c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (%d, %d, 'c')", id, s0pid))
	}
	// counts of id on main, s1 and s0 (notes, orders, comments).
	counts := func(where string) string {
		t.Helper()
		return fmt.Sprintf("%d%d%d", e.count(t, "notes", where), e.count(t, "orders", where), e.count(t, "comments", where))
	}

	t.Run("commit", func(t *testing.T) {
		before := decisions(t, instance)["commit"]
		mustExec(t, c, "BEGIN")
		insertAll(1)
		if got := counts("id = 1"); got != "000" {
			t.Fatalf("visible before COMMIT: %s", got)
		}
		mustExec(t, c, "COMMIT")
		if got := counts("id = 1"); got != "111" {
			t.Fatalf("after COMMIT: %s, want a row on each cluster", got)
		}
		if got := decisions(t, instance)["commit"]; got != before+1 {
			t.Fatalf("decision log: %d commit rows, want %d (a two-phase commit writes one)", got, before+1)
		}
		if d := inDoubt(t, instance); len(d) != 0 {
			t.Fatalf("prepared branches left: %v", d)
		}
		if inTransaction(t, c) != 0 {
			t.Fatal("still in a transaction after COMMIT")
		}
	})
	t.Run("rollback", func(t *testing.T) {
		mustExec(t, c, "START TRANSACTION")
		insertAll(2)
		mustExec(t, c, "ROLLBACK")
		if got := counts("id = 2"); got != "000" {
			t.Fatalf("after ROLLBACK: %s", got)
		}
	})
	t.Run("one cluster commits in one phase", func(t *testing.T) {
		before := decisions(t, instance)
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "INSERT INTO orders VALUES (3, 1)")
		mustExec(t, c, "UPDATE orders SET total = 2 WHERE id = 3")
		mustExec(t, c, "COMMIT")
		if e.count(t, "orders", "id = 3 AND total = 2") != 1 {
			t.Fatal("one-phase commit lost the write")
		}
		if after := decisions(t, instance); after["commit"] != before["commit"] {
			t.Fatal("a one-branch transaction wrote the decision log")
		}
	})
	t.Run("savepoint before a branch started", func(t *testing.T) {
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "INSERT INTO notes VALUES (4, 'kept')")
		mustExec(t, c, "SAVEPOINT sp")
		// s1's and s0's branches start after the savepoint: rolling back
		// to it undoes their work too.
		mustExec(t, c, "INSERT INTO orders VALUES (4, 1)")
		mustExec(t, c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (4, %d, 'c')", s0pid))
		mustExec(t, c, "UPDATE notes SET body = 'undone' WHERE id = 4")
		mustExec(t, c, "ROLLBACK TO SAVEPOINT sp")
		mustExec(t, c, "INSERT INTO orders VALUES (5, 1)")
		mustExec(t, c, "RELEASE SAVEPOINT sp")
		wantCode(t, execErr(c, "ROLLBACK TO SAVEPOINT sp"), 1305, "SAVEPOINT sp does not exist")
		mustExec(t, c, "COMMIT")
		if got := counts("id = 4"); got != "100" {
			t.Fatalf("after ROLLBACK TO: %s, want the note only", got)
		}
		if e.count(t, "notes", "id = 4 AND body = 'kept'") != 1 || e.count(t, "orders", "id = 5") != 1 {
			t.Fatal("work before the savepoint, or after the rollback to it, is lost")
		}
	})
	t.Run("failed statement leaves the transaction open", func(t *testing.T) {
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "INSERT INTO notes VALUES (6, 'n')")
		wantCode(t, execErr(c, "INSERT INTO orders VALUES (1, 1)"), 1062, "Duplicate")
		if inTransaction(t, c) != 1 {
			t.Fatal("a duplicate key ended the transaction")
		}
		mustExec(t, c, "INSERT INTO orders VALUES (6, 1)")
		mustExec(t, c, "COMMIT")
		if got := counts("id = 6"); got != "110" {
			t.Fatalf("after COMMIT: %s", got)
		}
	})
	t.Run("split insert that fails is undone on every table", func(t *testing.T) {
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "INSERT INTO notes VALUES (7, 'n')")
		// Rows for s0 and s1; the s1 one collides with id 1's comment.
		mustExec(t, c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (70, %d, 'c')", s1pid))
		err := execErr(c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (71, %d, 'x'), (70, %d, 'dup')", s0pid, s1pid))
		wantCode(t, err, 1062, "the statement was rolled back on every table; the transaction stays open")
		mustExec(t, c, "COMMIT")
		if e.count(t, "comments", "id = 71") != 0 {
			t.Fatal("the failed statement's row on the other cluster was kept")
		}
		if e.count(t, "notes", "id = 7")+e.count(t, "comments", "id = 70") != 2 {
			t.Fatal("the transaction's other work was lost")
		}
	})
	t.Run("autocommit split insert is all or nothing", func(t *testing.T) {
		err := execErr(c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (80, %d, 'x'), (70, %d, 'dup')", s0pid, s1pid))
		wantCode(t, err, 1062, "rolled back on every table")
		if e.count(t, "comments", "id = 80") != 0 {
			t.Fatal("the row for the other cluster was written")
		}
		mustExec(t, c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (80, %d, 'x'), (81, %d, 'y')", s0pid, s1pid))
		if e.count(t, "comments", "id IN (80, 81)") != 2 {
			t.Fatal("the split insert did not commit")
		}
		mustExec(t, c, "UPDATE comments SET body = 'z' WHERE id IN (80, 81)")
		if e.count(t, "comments", "body = 'z'") != 2 {
			t.Fatal("the fan-out update did not commit")
		}
	})
	t.Run("DDL commits the transaction first", func(t *testing.T) {
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "INSERT INTO notes VALUES (9, 'n')")
		mustExec(t, c, "INSERT INTO orders VALUES (9, 1)")
		mustExec(t, c, "CREATE TABLE ddl_commits (id INT)")
		if inTransaction(t, c) != 0 {
			t.Fatal("still in the transaction after DDL")
		}
		mustExec(t, c, "ROLLBACK")
		if got := counts("id = 9"); got != "110" {
			t.Fatalf("DDL did not commit the transaction: %s", got)
		}
		// A temporary table does not commit.
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "INSERT INTO notes VALUES (10, 'n')")
		mustExec(t, c, "INSERT INTO orders VALUES (10, 1)")
		mustExec(t, c, "CREATE TEMPORARY TABLE tmp_in_txn (id INT)")
		mustExec(t, c, "ROLLBACK")
		if got := counts("id = 10"); got != "000" {
			t.Fatalf("CREATE TEMPORARY TABLE committed: %s", got)
		}
		mustExec(t, c, "DROP TEMPORARY TABLE tmp_in_txn")
	})
	t.Run("BEGIN commits the open transaction", func(t *testing.T) {
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "INSERT INTO notes VALUES (11, 'n')")
		mustExec(t, c, "INSERT INTO orders VALUES (11, 1)")
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "ROLLBACK")
		if got := counts("id = 11"); got != "110" {
			t.Fatalf("%s", got)
		}
	})
	t.Run("autocommit=0", func(t *testing.T) {
		mustExec(t, c, "SET autocommit = 0")
		mustExec(t, c, "INSERT INTO notes VALUES (12, 'n')")
		mustExec(t, c, "INSERT INTO orders VALUES (12, 1)")
		mustExec(t, c, "ROLLBACK")
		mustExec(t, c, "INSERT INTO notes VALUES (13, 'n')")
		mustExec(t, c, "INSERT INTO orders VALUES (13, 1)")
		if got := counts("id IN (12, 13)"); got != "000" {
			t.Fatalf("visible before COMMIT: %s", got)
		}
		// autocommit going to 1 commits, as in MariaDB.
		mustExec(t, c, "SET autocommit = 1")
		if got := counts("id = 13") + counts("id = 12"); got != "110000" {
			t.Fatalf("after SET autocommit = 1: %s", got)
		}
		// DDL under autocommit=0 (what PyMySQL sessions do) commits what
		// is open and runs outside any transaction.
		mustExec(t, c, "SET autocommit = 0")
		mustExec(t, c, "DROP TABLE IF EXISTS ac0_ddl")
		mustExec(t, c, "CREATE TABLE ac0_ddl (id INT)")
		mustExec(t, c, "INSERT INTO notes VALUES (15, 'n')")
		mustExec(t, c, "INSERT INTO orders VALUES (15, 1)")
		mustExec(t, c, "DROP TABLE ac0_ddl")
		mustExec(t, c, "ROLLBACK")
		mustExec(t, c, "SET autocommit = 1")
		if got := counts("id = 15"); got != "110" {
			t.Fatalf("DDL under autocommit=0 did not commit the open transaction: %s", got)
		}
	})
	t.Run("read only transaction over several clusters", func(t *testing.T) {
		mustExec(t, c, "START TRANSACTION READ ONLY")
		var n1, n2 int
		scan(t, c, "SELECT COUNT(*) FROM notes WHERE id = 1", &n1)
		scan(t, c, "SELECT COUNT(*) FROM orders WHERE id = 1", &n2)
		wantCode(t, execErr(c, "INSERT INTO orders VALUES (14, 1)"), 1792, "READ ONLY")
		mustExec(t, c, "COMMIT")
		if n1 != 1 || n2 != 1 {
			t.Fatalf("read %d %d", n1, n2)
		}
	})
	t.Run("reads see the transaction's own writes, and after COMMIT", func(t *testing.T) {
		for i := 100; i < 130; i++ {
			mustExec(t, c, "BEGIN")
			mustExec(t, c, fmt.Sprintf("INSERT INTO notes VALUES (%d, 'n')", i))
			mustExec(t, c, fmt.Sprintf("INSERT INTO orders VALUES (%d, 1)", i))
			var n int
			scan(t, c, fmt.Sprintf("SELECT COUNT(*) FROM orders WHERE id = %d", i), &n)
			if n != 1 {
				t.Fatalf("the transaction does not see its own row")
			}
			mustExec(t, c, "COMMIT")
			// consistency: session: the replicas of both clusters must
			// show both writes (or the reads go to the primaries).
			var a, b int
			scan(t, c, fmt.Sprintf("SELECT COUNT(*) FROM notes WHERE id = %d", i), &a)
			scan(t, c, fmt.Sprintf("SELECT COUNT(*) FROM orders WHERE id = %d", i), &b)
			if a != 1 || b != 1 {
				t.Fatalf("after COMMIT the session reads %d %d: its own writes are not visible", a, b)
			}
		}
	})
	if d := inDoubt(t, instance); len(d) != 0 {
		t.Fatalf("prepared branches left: %v", d)
	}
}

// TestXADeadlockEndsTransaction: a deadlock in one branch ends the whole
// distributed transaction, as MariaDB ends a transaction: the client hears
// 1213, every branch is rolled back and the session is out of the
// transaction.
func TestXADeadlockEndsTransaction(t *testing.T) {
	e := newTxnEnv(t, xaRules)
	for _, q := range []string{"INSERT INTO notes VALUES (1, 'x'), (2, 'y')"} {
		if _, err := e.direct["main"].Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	a, b := e.session(t), e.session(t)
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "INSERT INTO orders VALUES (1, 1)") // a's branch on s1
	mustExec(t, a, "UPDATE notes SET body = 'a' WHERE id = 1")
	mustExec(t, b, "BEGIN")
	mustExec(t, b, "INSERT INTO orders VALUES (2, 1)")
	mustExec(t, b, "UPDATE notes SET body = 'b' WHERE id = 2")
	aDone := make(chan error, 1)
	go func() { aDone <- execErr(a, "UPDATE notes SET body = 'a' WHERE id = 2") }()
	time.Sleep(200 * time.Millisecond) // a waits for b's lock
	bErr := execErr(b, "UPDATE notes SET body = 'b' WHERE id = 1")
	aErr := <-aDone
	var victim *sql.Conn
	var victimOrder int
	switch {
	case aErr == nil && bErr != nil:
		victim, victimOrder = b, 2
		wantCode(t, bErr, 1213, "Deadlock")
	case aErr != nil && bErr == nil:
		victim, victimOrder = a, 1
		wantCode(t, aErr, 1213, "Deadlock")
	default:
		t.Fatalf("want one deadlock: a %v, b %v", aErr, bErr)
	}
	survivor := a
	if victim == a {
		survivor = b
	}
	if inTransaction(t, victim) != 0 {
		t.Fatal("the deadlock victim is still in a transaction")
	}
	mustExec(t, survivor, "COMMIT")
	// The victim's branch on s1 was rolled back with the one that deadlocked.
	if n := e.count(t, "orders", fmt.Sprintf("id = %d", victimOrder)); n != 0 {
		t.Fatalf("the victim's write on the other cluster survived the deadlock")
	}
	if n := e.count(t, "orders", fmt.Sprintf("id = %d", 3-victimOrder)); n != 1 {
		t.Fatalf("the survivor's write is lost")
	}
	// The victim's next statement runs outside any transaction.
	mustExec(t, victim, "INSERT INTO orders VALUES (9, 1)")
	if e.count(t, "orders", "id = 9") != 1 {
		t.Fatal("the victim's next write is not autocommitted")
	}
}

// TestTransactionModes: transactions: single keeps today's behaviour (a
// transaction stays on one cluster: 1235; a split write stops at the first
// failure, what ran before it stays); best_effort commits branches one
// after another.
func TestTransactionModes(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		e := newTxnEnvTables(t, schemaMode("single"), xaRules)
		c := e.session(t)
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "INSERT INTO notes VALUES (1, 'n')")
		wantCode(t, execErr(c, "INSERT INTO orders VALUES (1, 1)"), 1235, "transactions are single")
		mustExec(t, c, "COMMIT")
		if e.count(t, "notes", "id = 1") != 1 || e.count(t, "orders", "id = 1") != 0 {
			t.Fatal("single: wrong rows")
		}
		s0pid, s1pid := e.pidOn(t, c, "s0"), e.pidOn(t, c, "s1")
		mustExec(t, c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (1, %d, 'c')", s1pid))
		err := execErr(c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (2, %d, 'x'), (1, %d, 'dup')", s0pid, s1pid))
		// The s0 row's step runs first and stays: single is not atomic.
		wantCode(t, err, 1105, "not rolled back")
		if n := e.count(t, "comments", "id = 2"); n != 1 {
			t.Fatalf("single: the step before the failure left %d rows, want 1 (%v)", n, err)
		}
	})
	t.Run("best_effort", func(t *testing.T) {
		e := newTxnEnvTables(t, schemaMode("best_effort"), xaRules)
		c := e.session(t)
		instance := e.p.router.XA.Instance()
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "INSERT INTO notes VALUES (1, 'n')")
		mustExec(t, c, "INSERT INTO orders VALUES (1, 1)")
		mustExec(t, c, "COMMIT")
		if e.count(t, "notes", "id = 1")+e.count(t, "orders", "id = 1") != 2 {
			t.Fatal("best_effort: COMMIT lost a branch")
		}
		mustExec(t, c, "BEGIN")
		mustExec(t, c, "INSERT INTO notes VALUES (2, 'n')")
		mustExec(t, c, "INSERT INTO orders VALUES (2, 1)")
		mustExec(t, c, "ROLLBACK")
		if e.count(t, "notes", "id = 2")+e.count(t, "orders", "id = 2") != 0 {
			t.Fatal("best_effort: ROLLBACK kept a branch")
		}
		if len(decisions(t, instance)) != 0 {
			t.Fatal("best_effort wrote the decision log")
		}
	})
}

// TestShowShardgateTransactions lists an open distributed transaction with
// its clusters, for admin users only.
func TestShowShardgateTransactions(t *testing.T) {
	e := newTxnEnv(t, xaRules)
	c := e.session(t)
	mustExec(t, c, "BEGIN")
	mustExec(t, c, "INSERT INTO notes VALUES (1, 'n')")
	mustExec(t, c, "INSERT INTO orders VALUES (1, 1)")
	wantCodeDB(t, execErr(e.session(t), "SHOW SHARDGATE TRANSACTIONS"), 1227)
	admin := startProxyRules(t, strings.Replace(e.rules, "{name: app, password: app}", "{name: app, password: app, admin: true}", 1))
	// Each proxy lists its own sessions' transactions: ask the first one's
	// router directly, and the admin proxy for its (none) over SQL.
	var found []string
	for _, tr := range e.p.router.XA.Transactions() {
		found = append(found, tr.State+" "+strings.Join(tr.Clusters, ","))
	}
	if len(found) != 1 || found[0] != "active main,s1" {
		t.Fatalf("open transactions: %q, want one active on main,s1", found)
	}
	ac := pin(t, admin.open(t, e.db))
	mustExec(t, ac, "BEGIN")
	mustExec(t, ac, "INSERT INTO orders VALUES (2, 1)")
	mustExec(t, ac, "INSERT INTO notes VALUES (2, 'n')")
	rows, err := admin.open(t, e.db).Query("SHOW SHARDGATE TRANSACTIONS")
	if err != nil {
		t.Fatal(err)
	}
	found = nil
	for rows.Next() {
		var xid, inst, state, clusters, age string
		if err := rows.Scan(&xid, &inst, &state, &clusters, &age); err != nil {
			t.Fatal(err)
		}
		if inst == admin.router.XA.Instance() {
			found = append(found, state+" "+clusters)
		}
	}
	rows.Close()
	if len(found) != 1 || found[0] != "active s1,main" {
		t.Fatalf("SHOW SHARDGATE TRANSACTIONS: %q, want one active transaction on s1,main", found)
	}
	mustExec(t, ac, "ROLLBACK")
	mustExec(t, c, "ROLLBACK")
}

// wantCodeDB: err is the server error code.
func wantCodeDB(t testing.TB, err error, code uint16) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded, want error %d", code)
	}
	if got, _, msg := mysqlErr(t, err); got != code {
		t.Fatalf("error %d %s, want %d", got, msg, code)
	}
}

// TestXAFaultInjection: a fault at each step of the two-phase commit (the
// coordinator's hook) ends consistent once recovery has run: every branch
// committed or every branch rolled back, and none left prepared. A crash
// before the decision is durable rolls back; after it, commits.
func TestXAFaultInjection(t *testing.T) {
	e := newTxnEnv(t, xaRules)
	instance := e.p.router.XA.Instance()
	c := e.session(t)
	cases := []struct {
		name      string
		hook      xa.Hook
		committed bool
		commitErr bool
	}{
		{"crash before prepare", crashAt(xa.BeforePrepare, -1), false, true},
		{"crash between prepares", crashAt(xa.Prepare, 1), false, true},
		{"prepare's connection breaks", failAt(xa.Prepare, 0, errors.New("injected: connection broke")), false, true},
		{"decision cannot be written", failAt(xa.Decision, -1, errors.New("injected: log unreachable")), false, true},
		{"crash after the decision", crashAt(xa.AfterDecision, -1), true, true},
		{"crash during commits", crashAt(xa.Commit, 1), true, true},
		{"commit's connection breaks", failAt(xa.Commit, 0, errors.New("injected: connection broke")), true, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := 100 + i
			mustExec(t, c, "BEGIN")
			mustExec(t, c, fmt.Sprintf("INSERT INTO notes VALUES (%d, 'n')", id))
			mustExec(t, c, fmt.Sprintf("INSERT INTO orders VALUES (%d, 1)", id))
			e.p.router.XA.SetHook(tc.hook)
			err := execErr(c, "COMMIT")
			e.p.router.XA.SetHook(nil)
			if (err != nil) != tc.commitErr {
				t.Fatalf("COMMIT: %v", err)
			}
			took := noneInDoubt(t, instance, 10*time.Second)
			want := 0
			if tc.committed {
				want = 2
			}
			// Recovery ends what the COMMIT left within its interval; a
			// branch being detached from a closed connection may be
			// listed by no XA RECOVER for a moment, so the rows are
			// awaited, not counted once.
			count := func() int {
				return e.count(t, "notes", fmt.Sprintf("id = %d", id)) + e.count(t, "orders", fmt.Sprintf("id = %d", id))
			}
			deadline := time.Now().Add(10 * time.Second)
			got := count()
			for got != want && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				got = count()
			}
			if got != want {
				t.Fatalf("after recovery: %d of the 2 rows, want %d (COMMIT said %v)", got, want, err)
			}
			if n := len(inDoubt(t, instance)); n != 0 {
				t.Fatalf("after recovery: %d branches still prepared", n)
			}
			t.Logf("COMMIT: %v; consistent after %s", err, took)
			// The session goes on.
			mustExec(t, c, fmt.Sprintf("INSERT INTO notes VALUES (%d, 'after')", id+1000))
		})
	}
}

func crashAt(step xa.Step, branch int) xa.Hook {
	return failAt(step, branch, xa.ErrCrash)
}

func failAt(step xa.Step, branch int, err error) xa.Hook {
	var once sync.Once
	return func(s xa.Step, b int) error {
		var out error
		if s == step && b == branch {
			once.Do(func() { out = err })
		}
		return out
	}
}

// accountsRules shards the bank test's accounts over s0 and s1.
func bankRules(db, extra string) string {
	return fmt.Sprintf(`
users: [{name: app, password: app, admin: true}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
  %s:
    cluster: main
    tables:
      accounts:
        shard: {by: hash, column: id, tables: 4, clusters: [s0, s1]}
      transfers:
        shard: {by: hash, column: id, tables: 4, clusters: [s0, s1]}
health_interval: 200ms
health_timeout: 1s
%s`, db, extra)
}

// bankEnv makes the bank test's database on every cluster: 200 accounts of
// 1000 and an empty ledger of transfers.
func bankEnv(t *testing.T) string {
	t.Helper()
	db := uniqueName("txn_bank")
	for _, cluster := range []string{"main", "s0", "s1"} {
		root := direct(t, primaries[cluster], "")
		if _, err := root.Exec("CREATE DATABASE " + db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { direct(t, primaries[cluster], "").Exec("DROP DATABASE IF EXISTS " + db) })
	}
	for i := 0; i < 4; i++ {
		d := direct(t, primaries[[]string{"s0", "s1"}[i%2]], db)
		for _, q := range []string{
			fmt.Sprintf("CREATE TABLE accounts_%d (id INT PRIMARY KEY, balance BIGINT NOT NULL)", i),
			fmt.Sprintf("CREATE TABLE transfers_%d (id BIGINT PRIMARY KEY, src INT, dst INT, amount INT)", i),
		} {
			if _, err := d.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
	return db
}

// bankResult is what the clients of a bank run saw.
type bankResult struct {
	mu sync.Mutex
	// acked are transfers whose COMMIT returned OK; unknown are those whose
	// COMMIT was sent and failed (they may or may not have committed).
	acked, unknown map[int64]bool
	// errors counts the clients' errors by the start of their text.
	errors map[string]int
	wg     sync.WaitGroup
}

// runBank runs threads clients moving money between random accounts in
// explicit transactions until stop closes; wait for them with res.wg.
// Every transfer writes its row in the ledger in the same transaction.
// Clients go on after any error (the proxy may be restarting).
func runBank(dsn string, threads int, stop <-chan struct{}) *bankResult {
	res := &bankResult{acked: map[int64]bool{}, unknown: map[int64]bool{}, errors: map[string]int{}}
	for th := 0; th < threads; th++ {
		res.wg.Add(1)
		go func(th int) {
			defer res.wg.Done()
			db, err := sql.Open("mysql", dsn)
			if err != nil {
				panic(err)
			}
			defer db.Close()
			rng := rand.New(rand.NewPCG(uint64(th), 14))
			for seq := int64(1); ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				id := int64(th)<<32 | seq
				src, dst := rng.IntN(200), rng.IntN(200)
				if src == dst {
					continue
				}
				sent, err := transfer(db, id, src, dst, 1+rng.IntN(50))
				res.mu.Lock()
				switch {
				case err == nil:
					res.acked[id] = true
				case sent:
					res.unknown[id] = true
				}
				if err != nil {
					k := err.Error()
					if len(k) > 80 {
						k = k[:80]
					}
					res.errors[k]++
				}
				res.mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}(th)
	}
	return res
}

// transfer moves amount from src to dst and records it in the ledger.
// sent: COMMIT was sent, so when err is not nil the transfer may have
// committed.
func transfer(db *sql.DB, id int64, src, dst, amount int) (sent bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	for _, q := range []string{
		"BEGIN",
		fmt.Sprintf("UPDATE accounts SET balance = balance - %d WHERE id = %d", amount, src),
		fmt.Sprintf("UPDATE accounts SET balance = balance + %d WHERE id = %d", amount, dst),
		fmt.Sprintf("INSERT INTO transfers (id, src, dst, amount) VALUES (%d, %d, %d, %d)", id, src, dst, amount),
	} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			c.ExecContext(ctx, "ROLLBACK")
			return false, err
		}
	}
	_, err = c.ExecContext(ctx, "COMMIT")
	return true, err
}

// TestXABankTransfer (issue 14's acceptance): 200 accounts hash-sharded
// over s0 and s1, 8 clients moving money between random accounts in
// explicit transactions through the proxy binary; the proxy is killed with
// -9 and restarted, and later s1's primary. Afterwards: the total is the
// initial total, no primary holds a prepared branch, no acknowledged
// COMMIT is missing from the ledger, and every account's balance is what
// the ledger's transfers made of it (no transfer half committed).
func TestXABankTransfer(t *testing.T) {
	needLocalCluster(t)
	db := bankEnv(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "shardgate")
	if out, err := runCmd(t, 5*time.Minute, "go", "build", "-o", bin, "../cmd/shardgate"); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ports := freePorts(t, 2)
	addr, admin := ports[0], ports[1]
	instance := uniqueName("bank")
	rulesFile := filepath.Join(dir, "rules.yaml")
	rulesYAML := bankRules(db, fmt.Sprintf("admin_listen: %s\ntransactions: {log_schema: %s, recovery_interval: 500ms, abort_after: 10s, instance: %s}\n", admin, testLogSchema, instance))
	if err := os.WriteFile(rulesFile, []byte(rulesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	var proc *exec.Cmd
	var logs strings.Builder
	start := func() {
		t.Helper()
		proc = exec.Command(bin, "--rules", rulesFile, "--listen", addr)
		proc.Stderr = &logs
		if err := proc.Start(); err != nil {
			t.Fatal(err)
		}
	}
	start()
	t.Cleanup(func() {
		proc.Process.Kill()
		proc.Wait()
		if t.Failed() {
			t.Logf("proxy log:\n%s", logs.String())
		}
	})
	dsn := "app:app@tcp(" + addr + ")/" + db + "?innodb_lock_wait_timeout=2"
	client := openDSN(t, dsn)
	eventually(t, 10*time.Second, "the binary accepting clients", func() bool { return client.Ping() == nil })
	var values []string
	for i := 0; i < 200; i++ {
		values = append(values, fmt.Sprintf("(%d, 1000)", i))
	}
	if _, err := client.Exec("INSERT INTO accounts (id, balance) VALUES " + strings.Join(values, ", ")); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	res := runBank(dsn, 8, stop)
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		res.wg.Wait()
	})
	time.Sleep(3 * time.Second)
	// The proxy dies mid-flight: some transactions are prepared on one
	// cluster or both, some decided and not committed.
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	proc.Wait()
	left := epochsInDoubt(t, instance)
	restarted := time.Now()
	start()
	eventually(t, 10*time.Second, "the restarted binary accepting clients", func() bool { return client.Ping() == nil })
	// Recovery at start ends what the killed process left prepared (row
	// locks held by in-doubt branches block the clients meanwhile).
	eventually(t, 10*time.Second, "the killed process's prepared branches ended", func() bool {
		now := epochsInDoubt(t, instance)
		for e := range left {
			if now[e] > 0 {
				return false
			}
		}
		return true
	})
	t.Logf("the killed proxy left %v prepared branches (by epoch); gone %s after the restart", left, time.Since(restarted))
	time.Sleep(2 * time.Second)
	killPrimary(t)
	time.Sleep(500 * time.Millisecond)
	clusterScript(t, "start", "s1-p")
	time.Sleep(3 * time.Second)
	close(stop)
	res.wg.Wait()

	took := noneInDoubt(t, instance, 30*time.Second)
	t.Logf("after the run, no prepared branch left %s after the clients stopped", took)
	res.mu.Lock()
	defer res.mu.Unlock()
	t.Logf("%d transfers acknowledged, %d with an unknown outcome", len(res.acked), len(res.unknown))
	for e, n := range res.errors {
		t.Logf("  %5d × %s", n, e)
	}
	if len(res.acked) < 100 {
		t.Fatalf("only %d transfers acknowledged", len(res.acked))
	}
	balances := map[int]int64{}
	ledger := map[int64][3]int{}
	for i := 0; i < 4; i++ {
		d := direct(t, primaries[[]string{"s0", "s1"}[i%2]], db)
		rows, err := d.Query(fmt.Sprintf("SELECT id, balance FROM accounts_%d", i))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int
			var b int64
			rows.Scan(&id, &b)
			balances[id] = b
		}
		rows.Close()
		rows, err = d.Query(fmt.Sprintf("SELECT id, src, dst, amount FROM transfers_%d", i))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var src, dst, amount int
			rows.Scan(&id, &src, &dst, &amount)
			ledger[id] = [3]int{src, dst, amount}
		}
		rows.Close()
	}
	var total int64
	want := map[int]int64{}
	for i := 0; i < 200; i++ {
		total += balances[i]
		want[i] = 1000
	}
	if len(balances) != 200 || total != 200*1000 {
		t.Errorf("%d accounts, total %d: want 200 accounts and %d", len(balances), total, 200*1000)
	}
	for id := range res.acked {
		if _, ok := ledger[id]; !ok {
			t.Errorf("transfer %d was acknowledged but is not in the ledger: an acknowledged COMMIT is lost", id)
		}
	}
	for id, tr := range ledger {
		if !res.acked[id] && !res.unknown[id] {
			t.Errorf("transfer %d is in the ledger but its COMMIT failed before it was sent", id)
		}
		want[tr[0]] -= int64(tr[2])
		want[tr[1]] += int64(tr[2])
	}
	bad := 0
	for i := 0; i < 200; i++ {
		if balances[i] != want[i] {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d accounts differ from what the ledger's transfers made of them: a transfer committed on one cluster only", bad)
	}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if v := metricValue(t, string(body), "shardgate_transaction_commits_total", `kind="two_phase"`); v < 1 {
		t.Errorf("two-phase commits counted: %v", v)
	}
}

// epochsInDoubt are the process epochs of instance's prepared branches.
func epochsInDoubt(t testing.TB, instance string) map[string]int {
	out := map[string]int{}
	for _, g := range inDoubt(t, instance) {
		parts := strings.Split(g, ":") // cluster:sg:token:epoch:seq
		out[parts[3]]++
	}
	return out
}

// XA statements are the proxy's own: a client's XA START would leave a
// prepared branch holding row locks after its connection, and one in the
// proxy's format would meet recovery. The proxy's statement savepoint
// name is reserved the same way. (From an adversarial review.)
func TestClientXAStatementsRefused(t *testing.T) {
	e := newTxnEnv(t, xaRules)
	c := e.session(t)
	for _, q := range []string{"XA START 'client'", "xa recover", "/* c */ XA START 'x',21319", "XA COMMIT 'client'"} {
		wantCodeDB(t, execErr(c, q), 1235)
	}
	mustExec(t, c, "BEGIN")
	mustExec(t, c, "INSERT INTO notes VALUES (1, 'n')")
	mustExec(t, c, "INSERT INTO orders VALUES (1, 1)") // a second cluster: distributed
	wantCodeDB(t, execErr(c, "SAVEPOINT `shardgate statement`"), 1235)
	mustExec(t, c, "SAVEPOINT s")
	mustExec(t, c, "INSERT INTO orders VALUES (2, 1)")
	mustExec(t, c, "ROLLBACK TO SAVEPOINT s")
	mustExec(t, c, "COMMIT")
	if n := e.count(t, "orders", "1=1"); n != 1 {
		t.Fatalf("orders: %d rows after ROLLBACK TO s and COMMIT, want 1", n)
	}
}
