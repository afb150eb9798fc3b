package integration

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Dump and restore through the proxy, both ways, with the real
// mariadb-dump and mariadb clients (README: Backups). The sharded schema
// txn_dump has a hash-sharded table, an hourly table split again by hash,
// a global table, a business-split table and a plain one; ref holds the
// same rows in txn_dump_src, in plain tables.

const dumpRules = `
users:
  - {name: app, password: app, admin: true}
backend: {user: app, password: app}
clusters:
  main:
    primary: 127.0.0.1:3310
    replicas: [127.0.0.1:3311, 127.0.0.1:3312]
  s0:
    primary: 127.0.0.1:3320
    replicas: [127.0.0.1:3321]
  s1:
    primary: 127.0.0.1:3330
    replicas: [127.0.0.1:3331]
schemas:
  txn_dump:
    cluster: main
    tables:
      comments:
        shard: {by: hash, column: product_id, tables: 4, clusters: [s0, s1]}
      payments:
        shard: {by: hour, column: created_at, clusters: [s0, s1], then: {by: hash, column: user_id, tables: 2}}
        buckets: {past: 876000h, future: 48h}
      regions: {global: true}
      orders: {cluster: s1}
`

// dumpTables are the schema's tables with their definitions (no
// AUTO_INCREMENT: a restore must give equal checksums on every server).
var dumpTables = []struct{ name, def string }{
	{"comments", "(id BIGINT PRIMARY KEY, product_id INT NOT NULL, user_id INT, body VARCHAR(200), created_at DATETIME)"},
	{"payments", "(id BIGINT PRIMARY KEY, user_id INT NOT NULL, created_at DATETIME NOT NULL, amount DECIMAL(10,2))"},
	{"regions", "(id INT PRIMARY KEY, name VARCHAR(50))"},
	{"orders", "(id BIGINT PRIMARY KEY, user_id INT, total DECIMAL(10,2))"},
	{"products", "(id INT PRIMARY KEY, name VARCHAR(50) CHARACTER SET utf8mb4)"},
}

// dumpRows are the rows, as INSERTs with column lists (through the proxy
// and on ref alike). Strings carry quotes, backslashes, NULLs and
// non-ASCII text, which the dump must carry unchanged.
func dumpRows() []string {
	var out []string
	var b strings.Builder
	b.WriteString("INSERT INTO comments (id, product_id, user_id, body, created_at) VALUES ")
	for i := 1; i <= 240; i++ {
		if i > 1 {
			b.WriteString(",")
		}
		body := fmt.Sprintf("'comment %d: it''s \\\\ ok, café'", i)
		if i%17 == 0 {
			body = "NULL"
		}
		fmt.Fprintf(&b, "(%d, %d, %d, %s, '2026-11-24 %02d:%02d:00')", i, i%37+1, i%11, body, i%24, i%60)
	}
	out = append(out, b.String())
	b.Reset()
	b.WriteString("INSERT INTO payments (id, user_id, created_at, amount) VALUES ")
	for i := 1; i <= 120; i++ {
		if i > 1 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "(%d, %d, '2026-11-24 %02d:%02d:%02d', %d.%02d)", i, i%7+1, 8+i%6, i%60, i%13, i, i%100)
	}
	out = append(out, b.String())
	out = append(out,
		"INSERT INTO regions (id, name) VALUES (1, 'North'), (2, 'South'), (3, NULL)",
		"INSERT INTO orders (id, user_id, total) VALUES (1, 1, 29.90), (2, 2, 19.50), (3, 3, NULL)",
		"INSERT INTO products (id, name) VALUES (1, 'kettle'), (2, 'thé ☕'), (3, 'a\\'b')")
	return out
}

// dumpSetup creates the sharded schema through p and the same rows on
// ref's txn_dump_src.
func dumpSetup(t *testing.T, p *proxy) (viaProxy, ref *sql.DB) {
	t.Helper()
	for _, addr := range []string{"127.0.0.1:3310", "127.0.0.1:3320", "127.0.0.1:3330"} {
		dumpExec(t, direct(t, addr, ""), "CREATE DATABASE IF NOT EXISTS txn_dump")
	}
	rootRef := direct(t, refServer, "")
	dumpExec(t, rootRef, "DROP DATABASE IF EXISTS txn_dump_src", "CREATE DATABASE txn_dump_src")
	t.Cleanup(func() { rootRef.Exec("DROP DATABASE IF EXISTS txn_dump_src") })
	viaProxy = p.open(t, "txn_dump")
	ref = direct(t, refServer, "txn_dump_src")
	for _, tb := range dumpTables {
		for _, db := range []*sql.DB{viaProxy, ref} {
			dumpExec(t, db, "DROP TABLE IF EXISTS "+tb.name, "CREATE TABLE "+tb.name+" "+tb.def)
		}
	}
	for _, q := range dumpRows() {
		dumpExec(t, viaProxy, q)
		dumpExec(t, ref, q)
	}
	// mariadb-dump lists tables, and other sessions read, on replicas.
	syncReplicas(t)
	return viaProxy, ref
}

func dumpExec(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%.200s: %v", q, err)
		}
	}
}

// dumpClient runs mariadb-dump or mariadb with stdin, returning stdout;
// stderr goes into the error. The child has a deadline and a process group
// of its own.
func dumpClient(t testing.TB, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, append([]string{"--no-defaults"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	if err != nil {
		// The client repeats the failing statement, which may be long:
		// its error is at the end.
		msg := errOut.String()
		if len(msg) > 800 {
			msg = "…" + msg[len(msg)-800:]
		}
		err = fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return out.String(), err
}

// dumpVia dumps database db from the server at hostPort.
func dumpVia(t testing.TB, port, db string, opts ...string) string {
	t.Helper()
	args := append([]string{"-h127.0.0.1", "-P" + port, "-uapp", "-papp"}, opts...)
	out, err := dumpClient(t, nil, "mariadb-dump", append(args, db)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// restoreVia feeds a dump to the mariadb client connected to port, db.
func restoreVia(t testing.TB, port, db, dump string) error {
	t.Helper()
	_, err := dumpClient(t, []byte(dump), "mariadb", "-h127.0.0.1", "-P"+port, "-uapp", "-papp", db)
	return err
}

// checksums is CHECKSUM TABLE of every table of db on ref.
func checksums(t testing.TB, ref *sql.DB, db string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, tb := range dumpTables {
		var name string
		var sum sql.NullInt64
		scan(t, ref, "CHECKSUM TABLE "+db+"."+tb.name, &name, &sum)
		if !sum.Valid {
			t.Fatalf("CHECKSUM TABLE %s.%s: NULL (no such table?)", db, tb.name)
		}
		out[tb.name] = sum.Int64
	}
	return out
}

// physicalName matches a physical table name of the sharded tables.
var physicalName = regexp.MustCompile("`(comments|payments)_(\\d+|template)")

// checkLogicalDump: one CREATE TABLE per logical table, no physical name.
func checkLogicalDump(t testing.TB, dump string) {
	t.Helper()
	if m := physicalName.FindString(dump); m != "" {
		t.Errorf("the dump names physical table %s", m)
	}
	for _, tb := range dumpTables {
		if n := strings.Count(dump, "CREATE TABLE `"+tb.name+"` ("); n != 1 {
			t.Errorf("the dump has %d CREATE TABLE for %s, want 1", n, tb.name)
		}
	}
}

// restoreOnRef restores a dump into a fresh database on ref and compares
// its checksums with txn_dump_src's.
func restoreOnRef(t *testing.T, ref *sql.DB, dump, into string) {
	t.Helper()
	dumpExec(t, ref, "DROP DATABASE IF EXISTS "+into, "CREATE DATABASE "+into)
	t.Cleanup(func() { ref.Exec("DROP DATABASE IF EXISTS " + into) })
	if err := restoreVia(t, "3340", into, dump); err != nil {
		t.Fatal(err)
	}
	want, got := checksums(t, ref, "txn_dump_src"), checksums(t, ref, into)
	for name, w := range want {
		if got[name] != w {
			t.Errorf("CHECKSUM TABLE %s: restored %d, source %d", name, got[name], w)
		}
	}
}

// TestDumpThroughProxy: mariadb-dump of the sharded schema through the
// proxy, with its default options (LOCK TABLES) and with
// --single-transaction, is a logical dump that restores into one plain
// MariaDB with the source's checksums.
func TestDumpThroughProxy(t *testing.T) {
	p := startProxyRules(t, dumpRules)
	_, ref := dumpSetup(t, p)
	for _, opts := range [][]string{nil, {"--single-transaction"}, {"--single-transaction", "--complete-insert", "--skip-extended-insert"}} {
		t.Run("opts="+strings.Join(opts, ","), func(t *testing.T) {
			dump := dumpVia(t, p.port(), "txn_dump", opts...)
			checkLogicalDump(t, dump)
			restoreOnRef(t, ref, dump, "txn_dump_out")
		})
	}
}

// TestRestoreThroughProxy: a dump of one plain MariaDB restores through
// the proxy into the sharded schema (DROP/CREATE of every physical table,
// LOCK TABLES … WRITE including buckets created meanwhile, DISABLE KEYS,
// multi-row INSERTs routed per row); dumped again through the proxy it
// gives the source's checksums, and rows are where a keyed read finds
// them. The default dump has INSERTs without column lists.
func TestRestoreThroughProxy(t *testing.T) {
	p := startProxyRules(t, dumpRules)
	viaProxy, ref := dumpSetup(t, p)
	// --no-autocommit: SET autocommit=0 inside LOCK TABLES, COMMIT after
	// UNLOCK TABLES (the locks' connections hold local transactions).
	for _, opts := range [][]string{{"--complete-insert"}, {"--complete-insert", "--no-autocommit", "--skip-extended-insert"}, nil} {
		t.Run("opts="+strings.Join(opts, ","), func(t *testing.T) {
			// Start from other rows, so that only the restore can make
			// the checksums equal.
			dumpExec(t, viaProxy, "DELETE FROM comments WHERE product_id IN (1, 2, 3, 4, 5)", "DELETE FROM regions WHERE id = 1")
			syncReplicas(t)
			dump := dumpVia(t, "3340", "txn_dump_src", opts...)
			if err := restoreVia(t, p.port(), "txn_dump", dump); err != nil {
				t.Fatal(err)
			}
			syncReplicas(t)
			restoreOnRef(t, ref, dumpVia(t, p.port(), "txn_dump"), "txn_dump_back")
			for _, q := range []string{
				"SELECT COUNT(*) FROM comments WHERE product_id = 7",
				"SELECT COUNT(*) FROM comments WHERE product_id IN (1, 2, 3)",
				"SELECT COUNT(*) FROM payments WHERE created_at >= '2026-11-24 10:00:00' AND created_at < '2026-11-24 11:00:00' AND user_id = 3",
				"SELECT COUNT(*) FROM regions WHERE id = 1",
			} {
				var got, want int
				scan(t, viaProxy, q, &got)
				scan(t, ref, q, &want)
				if got != want || want == 0 {
					t.Errorf("%s: %d through the proxy, %d on ref", q, got, want)
				}
			}
		})
	}
}

// TestDumpSingleTransactionConsistent: START TRANSACTION WITH CONSISTENT
// SNAPSHOT takes its snapshot on every cluster when it starts, not at the
// first read of each; and a --single-transaction dump taken while another
// client commits pairs of rows (both on one cluster) has both rows of
// every pair or neither.
func TestDumpSingleTransactionConsistent(t *testing.T) {
	p := startProxyRules(t, dumpRules)
	viaProxy, ref := dumpSetup(t, p)
	counts := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) (n [3]int) {
		// On primaries: the rows were written by other sessions.
		scan(t, q, "/* shardgate:primary */ SELECT COUNT(*) FROM comments", &n[0])
		scan(t, q, "/* shardgate:primary */ SELECT COUNT(*) FROM orders", &n[1])
		scan(t, q, "/* shardgate:primary */ SELECT COUNT(*) FROM products", &n[2])
		return n
	}
	t.Run("snapshot at start", func(t *testing.T) {
		for _, begin := range []string{"START TRANSACTION WITH CONSISTENT SNAPSHOT", "START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */"} {
			c := pin(t, viaProxy)
			before := counts(viaProxy)
			dumpExec(t, c, begin)
			// Another client writes on every cluster after the START and
			// before the transaction reads anything.
			dumpExec(t, viaProxy,
				"INSERT INTO comments (id, product_id) VALUES (100001, 1), (100002, 2), (100003, 3)",
				"INSERT INTO orders (id) VALUES (100001)", "INSERT INTO products (id) VALUES (100001)")
			if got := counts(c); got != before {
				t.Errorf("%s: the transaction sees %v, want the counts at its start %v", begin, got, before)
			}
			dumpExec(t, c, "COMMIT")
			if got := counts(c); got == before {
				t.Errorf("after COMMIT the session still sees %v", got)
			}
			dumpExec(t, viaProxy, "DELETE FROM comments WHERE id > 100000 AND product_id IN (1, 2, 3)", "DELETE FROM orders WHERE id = 100001", "DELETE FROM products WHERE id = 100001")
			c.Close()
		}
	})
	t.Run("commit and chain", func(t *testing.T) {
		c := pin(t, viaProxy)
		dumpExec(t, c, "START TRANSACTION WITH CONSISTENT SNAPSHOT", "COMMIT AND CHAIN")
		dumpExec(t, viaProxy, "INSERT INTO orders (id) VALUES (100003)")
		var n int
		scan(t, c, "SELECT COUNT(*) FROM orders WHERE id = 100003", &n)
		if n != 0 {
			t.Error("the chained transaction sees a row committed after it started")
		}
		dumpExec(t, c, "COMMIT")
		scan(t, c, "/* shardgate:primary */ SELECT COUNT(*) FROM orders WHERE id = 100003", &n)
		if n != 1 {
			t.Error("after COMMIT the row is not seen")
		}
		dumpExec(t, viaProxy, "DELETE FROM orders WHERE id = 100003")
	})
	t.Run("one written cluster", func(t *testing.T) {
		c := pin(t, viaProxy)
		dumpExec(t, c, "START TRANSACTION WITH CONSISTENT SNAPSHOT", "INSERT INTO products (id) VALUES (100002)")
		_, err := c.ExecContext(context.Background(), "INSERT INTO orders (id) VALUES (100002)")
		if err == nil {
			t.Fatal("a write to a second cluster in a consistent-snapshot transaction succeeded")
		}
		if code, _, _ := mysqlErr(t, err); code != 1235 {
			t.Errorf("got %v, want 1235", err)
		}
		dumpExec(t, c, "ROLLBACK")
		var n int
		scan(t, viaProxy, "SELECT COUNT(*) FROM products WHERE id = 100002", &n)
		if n != 0 {
			t.Errorf("the rolled back insert is there")
		}
	})
	t.Run("dump during writes", func(t *testing.T) {
		// More rows, so that the dump takes long enough for the writer
		// to commit during it.
		var b strings.Builder
		b.WriteString("INSERT INTO comments (id, product_id, body) VALUES ")
		for i := 0; i < 4000; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "(%d, %d, REPEAT('x', 150))", 10000+i, i%37)
		}
		dumpExec(t, viaProxy, b.String())
		var stop atomic.Bool
		var written atomic.Int64
		var wg sync.WaitGroup
		writerErr := make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := p.open(t, "txn_dump")
			for id := 200000; !stop.Load(); id += 2 {
				tx, err := w.Begin()
				if err == nil {
					// A pair: same product, so one physical table; and its
					// order, on cluster s1 with half the products.
					_, err = tx.Exec(fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (%d, %d, 'pair'), (%d, %d, 'pair')", id, id%37, id+1, id%37))
					if err == nil {
						_, err = tx.Exec(fmt.Sprintf("INSERT INTO products (id, name) VALUES (%d, 'pair'), (%d, 'pair')", id, id+1))
					}
					if err == nil {
						err = tx.Commit()
					} else {
						tx.Rollback()
					}
				}
				if err != nil {
					writerErr <- err
					return
				}
				written.Add(1)
			}
		}()
		eventually(t, 10*time.Second, "the writer's first pair", func() bool { return written.Load() > 0 })
		startWritten := written.Load()
		dump := dumpVia(t, p.port(), "txn_dump", "--single-transaction")
		during := written.Load() - startWritten
		stop.Store(true)
		wg.Wait()
		select {
		case err := <-writerErr:
			t.Fatalf("writer: %v", err)
		default:
		}
		dumpExec(t, ref, "DROP DATABASE IF EXISTS txn_dump_cons", "CREATE DATABASE txn_dump_cons")
		t.Cleanup(func() { ref.Exec("DROP DATABASE IF EXISTS txn_dump_cons") })
		if err := restoreVia(t, "3340", "txn_dump_cons", dump); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"SELECT COUNT(*) FROM txn_dump_cons.comments WHERE body = 'pair'",
			"SELECT COUNT(*) FROM txn_dump_cons.products WHERE name = 'pair'",
		} {
			var n int
			scan(t, ref, q, &n)
			if n%2 != 0 {
				t.Errorf("%s: %d, a pair was cut in two", q, n)
			}
		}
		var broken int
		scan(t, ref, "SELECT COUNT(*) FROM txn_dump_cons.comments c WHERE body = 'pair' AND NOT EXISTS (SELECT 1 FROM txn_dump_cons.comments d WHERE d.id = c.id + IF(c.id % 2 = 0, 1, -1))", &broken)
		if broken != 0 {
			t.Errorf("%d comments of a pair without the other one", broken)
		}
		t.Logf("%d pairs committed during the dump", during)
		if during == 0 {
			t.Log("no pair was committed while the dump ran: the check above proves little this time")
		}
	})
}

// TestLockTablesAcrossClusters: LOCK TABLES … READ on a sharded table
// holds every physical table on every cluster until UNLOCK TABLES: a
// second client's write to either cluster waits (and times out), and goes
// through after the UNLOCK.
func TestLockTablesAcrossClusters(t *testing.T) {
	p := startProxyRules(t, dumpRules)
	viaProxy, _ := dumpSetup(t, p)
	locker := pin(t, viaProxy)
	dumpExec(t, locker, "LOCK TABLES comments READ, orders READ, regions READ")
	var n int
	scan(t, locker, "SELECT COUNT(*) FROM comments", &n)
	if n != 240 {
		t.Errorf("under LOCK TABLES the session counts %d comments, want 240", n)
	}
	// Prepared too: on the connections that hold the locks.
	if err := locker.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM comments WHERE product_id = ?", 3).Scan(&n); err != nil || n == 0 {
		t.Errorf("prepared read under LOCK TABLES: %d rows, %v", n, err)
	}
	// lock_wait_timeout 0: a write that would wait for the lock fails at
	// once with 1205.
	other := pin(t, viaProxy)
	dumpExec(t, other, "SET SESSION lock_wait_timeout = 0")
	s0 := pin(t, direct(t, "127.0.0.1:3320", "txn_dump"))
	s1 := pin(t, direct(t, "127.0.0.1:3330", "txn_dump"))
	dumpExec(t, s0, "SET SESSION lock_wait_timeout = 0")
	dumpExec(t, s1, "SET SESSION lock_wait_timeout = 0")
	for _, w := range []struct {
		c *sql.Conn
		q string
	}{
		{other, "INSERT INTO comments (id, product_id) VALUES (300001, 1)"},
		{other, "INSERT INTO orders (id) VALUES (300001)"},
		{other, "INSERT INTO regions (id) VALUES (300001)"},
		// Every physical table on both clusters.
		{s0, "INSERT INTO comments_0 (id, product_id) VALUES (300002, 0)"},
		{s0, "INSERT INTO comments_2 (id, product_id) VALUES (300002, 0)"},
		{s1, "INSERT INTO comments_1 (id, product_id) VALUES (300002, 0)"},
		{s1, "INSERT INTO comments_3 (id, product_id) VALUES (300002, 0)"},
	} {
		_, err := w.c.ExecContext(context.Background(), w.q)
		if err == nil {
			t.Errorf("%s: went through while the table was locked", w.q)
			continue
		}
		if code, _, _ := mysqlErr(t, err); code != 1205 {
			t.Errorf("%s: %v, want 1205 (lock wait timeout)", w.q, err)
		}
	}
	// A table the session did not lock, on a locked cluster: 1100, as on
	// one server.
	if _, err := locker.ExecContext(context.Background(), "SELECT COUNT(*) FROM products"); err == nil {
		t.Error("a table not locked was read under LOCK TABLES")
	} else if code, _, _ := mysqlErr(t, err); code != 1100 {
		t.Errorf("reading a table not locked: %v, want 1100", err)
	}
	dumpExec(t, locker, "UNLOCK TABLES")
	dumpExec(t, other, "INSERT INTO comments (id, product_id) VALUES (300001, 1), (300002, 2)", "INSERT INTO orders (id) VALUES (300001)")
	// A second UNLOCK has nothing to release.
	dumpExec(t, locker, "UNLOCK TABLES", "SELECT COUNT(*) FROM products")

	// A bucket another client creates while the session holds an hourly
	// table locked joins the lock before the session's next statement
	// (else the statement would meet 1100 on the locked connection).
	var payments int
	scan(t, viaProxy, "/* shardgate:primary */ SELECT COUNT(*) FROM payments", &payments)
	dumpExec(t, locker, "LOCK TABLES payments READ")
	dumpExec(t, other, "INSERT INTO payments (id, user_id, created_at) VALUES (500001, 1, '2026-11-24 21:30:00'), (500002, 2, '2026-11-24 21:40:00')")
	scan(t, locker, "SELECT COUNT(*) FROM payments", &n)
	if n != payments+2 {
		t.Errorf("under LOCK TABLES after a new bucket: %d payments, want %d", n, payments+2)
	}
	if _, err := other.ExecContext(context.Background(), "INSERT INTO payments (id, user_id, created_at) VALUES (500003, 1, '2026-11-24 21:50:00')"); err == nil {
		t.Error("a write to the new bucket went through after it joined the lock")
	}
	dumpExec(t, locker, "UNLOCK TABLES")

	// autocommit=0: each locked connection holds a transaction; ROLLBACK
	// undoes the rows on every cluster, UNLOCK TABLES commits them.
	// Counted on primaries: the other client's rows may not have reached
	// a replica yet.
	var before int
	scan(t, locker, "/* shardgate:primary */ SELECT COUNT(*) FROM comments", &before)
	rows := "INSERT INTO comments (id, product_id) VALUES (400001, 1), (400002, 2), (400003, 3), (400004, 4)"
	dumpExec(t, locker, "SET autocommit = 0", "LOCK TABLES comments WRITE", rows, "ROLLBACK", "UNLOCK TABLES")
	scan(t, locker, "/* shardgate:primary */ SELECT COUNT(*) FROM comments", &n)
	if n != before {
		t.Errorf("after ROLLBACK under LOCK TABLES: %d comments, want %d", n, before)
	}
	dumpExec(t, locker, "LOCK TABLES comments WRITE", rows, "UNLOCK TABLES", "SET autocommit = 1")
	scan(t, locker, "/* shardgate:primary */ SELECT COUNT(*) FROM comments", &n)
	if n != before+4 {
		t.Errorf("after UNLOCK TABLES: %d comments, want %d", n, before+4)
	}
}

// TestLockTablesAliases: LOCK TABLES with MariaDB's forms beyond the
// parser's grammar (an alias, LOW_PRIORITY WRITE, WRITE CONCURRENT) runs
// as on one server: each statement after it gets the same answer (rows,
// or the error code) through the proxy as on ref holding the same tables,
// text and prepared, for a business-split and a global table; a sharded
// table under an alias is refused with 1235 before anything is locked.
func TestLockTablesAliases(t *testing.T) {
	p := startProxyRules(t, dumpRules)
	viaProxy, ref := dumpSetup(t, p)
	locker, refConn := pin(t, viaProxy), pin(t, ref)
	outcome := func(c *sql.Conn, q string, prepared bool) string {
		var rows *sql.Rows
		var err error
		if prepared {
			rows, err = c.QueryContext(context.Background(), q, 1)
		} else {
			rows, err = c.QueryContext(context.Background(), q)
		}
		if err != nil {
			code, _, _ := mysqlErr(t, err)
			return fmt.Sprintf("error %d", code)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			code, _, _ := mysqlErr(t, err)
			return fmt.Sprintf("error %d", code)
		}
		return fmt.Sprintf("%d rows", n)
	}
	steps := []struct {
		q        string
		prepared bool
	}{
		{"LOCK TABLES orders AS o READ, regions r LOW_PRIORITY WRITE", false},
		{"SELECT * FROM orders AS o", false},
		{"SELECT * FROM orders o WHERE o.id >= ?", true},
		{"SELECT * FROM regions AS r", false},
		{"SELECT * FROM orders", false},  // 1100: locked under its alias only
		{"SELECT * FROM regions", false}, // 1100
		{"SELECT * FROM orders AS x", false},
		{"UPDATE regions AS r SET name = name WHERE r.id = ?", true},
		{"UNLOCK TABLES", false},
		{"LOCK TABLE orders WRITE CONCURRENT, orders AS o2 READ", false},
		{"SELECT * FROM orders", false},
		{"SELECT * FROM orders AS o2", false},
		{"UNLOCK TABLES", false},
		{"LOCK TABLES orders AS `o``q` READ LOCAL", false},
		{"SELECT COUNT(*) FROM orders AS `o``q`", false},
		{"UNLOCK TABLES", false},
	}
	for _, s := range steps {
		got, want := outcome(locker, s.q, s.prepared), outcome(refConn, s.q, s.prepared)
		if got != want {
			t.Errorf("%s (prepared %v): proxy %s, ref %s", s.q, s.prepared, got, want)
		}
	}
	// A sharded table under an alias: refused, and nothing is locked (a
	// second client writes at once).
	if _, err := locker.ExecContext(context.Background(), "LOCK TABLES orders READ, comments AS c READ"); err == nil {
		t.Fatal("LOCK TABLES of a sharded table under an alias went through")
	} else if code, _, msg := mysqlErr(t, err); code != 1235 || !strings.Contains(msg, "alias") {
		t.Errorf("sharded table under an alias: %v, want 1235 naming the alias", err)
	}
	other := pin(t, viaProxy)
	dumpExec(t, other, "SET SESSION lock_wait_timeout = 1", "INSERT INTO orders (id) VALUES (300101)", "INSERT INTO comments (id, product_id) VALUES (300101, 1)")
	dumpExec(t, locker, "SELECT COUNT(*) FROM comments", "UNLOCK TABLES")
}
