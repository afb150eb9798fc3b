package integration

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Issue 15, items 3 and 4: INSERT … SELECT with sharded tables, and
// UPDATEs that change the shard key. Every write runs through the proxy
// and on the ref server (one plain MariaDB holding the same tables), and
// the tables are compared after it; rows are also read by their shard key
// (`WHERE pid = …`), which only finds a row in the physical table its key
// routes to.

// mvEnv is a fresh database on every cluster and on ref with:
//
//	items   hash(pid) over 4 tables on s0, s1
//	items3  hash(pid) over 3 tables on s1, s0 (another rule)
//	plain   no rule (main)
//	events  hour(at), then hash(pid) over 2 tables, on s0, s1
//	evsrc   no rule (main): rows for events
type mvEnv struct {
	db  string
	p   *proxy
	px  *sql.DB // through the proxy
	ref *sql.DB
}

const mvColumns = "(id INT PRIMARY KEY, pid INT, qty INT, note VARCHAR(250))"

func newMvEnv(t *testing.T, extraRules string) *mvEnv {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	e := &mvEnv{db: "txn_mv" + hex.EncodeToString(b)}
	for _, addr := range []string{primaries["main"], primaries["s0"], primaries["s1"], refServer} {
		root := direct(t, addr, "")
		if _, err := root.Exec("CREATE DATABASE " + e.db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { root.Exec("DROP DATABASE IF EXISTS " + e.db) })
	}
	rules := fmt.Sprintf(`
users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
  %s:
    cluster: main
    tables:
      items: {shard: {by: hash, column: pid, tables: 4, clusters: [s0, s1]}}
      items3: {shard: {by: hash, column: pid, tables: 3, clusters: [s1, s0]}}
      events:
        shard: {by: hour, column: at, clusters: [s0, s1], then: {by: hash, column: pid, tables: 2}}
%s`, e.db, extraRules)
	e.p = startProxyRules(t, rules)
	e.px = e.p.open(t, e.db)
	e.ref = direct(t, refServer, e.db)
	for _, table := range []string{"items", "items3", "plain"} {
		e.both(t, "CREATE TABLE "+table+" "+mvColumns)
	}
	e.both(t, "CREATE TABLE events (id INT PRIMARY KEY, at DATETIME, pid INT, qty INT)")
	e.both(t, "CREATE TABLE evsrc (id INT PRIMARY KEY, at DATETIME, pid INT, qty INT)")
	var vals []string
	for i := 1; i <= 40; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, %d, 'n%d')", i, i%7, i%5, i))
	}
	e.both(t, "INSERT INTO items (id, pid, qty, note) VALUES "+strings.Join(vals, ","))
	vals = vals[:0]
	for i := 101; i <= 130; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, %d, 'p%d')", i, i%11, i%3, i))
	}
	e.both(t, "INSERT INTO plain (id, pid, qty, note) VALUES "+strings.Join(vals, ","))
	vals = vals[:0]
	base := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Hour)
	for i := 1; i <= 20; i++ {
		at := base.Add(time.Duration(i%6)*time.Hour + time.Duration(i)*time.Minute).Format("2006-01-02 15:04:05")
		vals = append(vals, fmt.Sprintf("(%d, '%s', %d, %d)", i, at, i%4, i))
	}
	e.both(t, "INSERT INTO evsrc (id, at, pid, qty) VALUES "+strings.Join(vals, ","))
	return e
}

// both runs a statement through the proxy and on ref and checks that
// they report the same affected rows.
func (e *mvEnv) both(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	r1, err := e.px.Exec(q, args...)
	if err != nil {
		t.Fatalf("proxy: %s: %v", q, err)
	}
	r2, err := e.ref.Exec(q, args...)
	if err != nil {
		t.Fatalf("ref: %s: %v", q, err)
	}
	n1, _ := r1.RowsAffected()
	n2, _ := r2.RowsAffected()
	if n1 != n2 {
		t.Errorf("%s: proxy reports %d affected rows, ref %d", q, n1, n2)
	}
	return n1
}

// mvRows reads a query's rows as text.
func mvRows(t testing.TB, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rowsText(t, q, rows)
}

// same checks a table holds the same rows through the proxy as on ref,
// and that every row is found by its shard key (where the column is
// given).
func (e *mvEnv) same(t *testing.T, table, key string) {
	t.Helper()
	// e.px is a pool of sessions other than the one that wrote, which
	// read-your-writes does not cover: the replicas must have the writes.
	syncReplicas(t)
	q := "SELECT * FROM " + table + " ORDER BY id"
	got, want := mvRows(t, e.px, q), mvRows(t, e.ref, q)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s differs from ref:\nproxy (%d rows): %v\nref (%d rows):   %v", table, len(got), got, len(want), want)
	}
	if key == "" {
		return
	}
	for _, k := range mvRows(t, e.ref, "SELECT DISTINCT "+key+" FROM "+table+" WHERE "+key+" IS NOT NULL") {
		q := "SELECT id FROM " + table + " WHERE " + key + " = ? ORDER BY id"
		if g, w := mvRows(t, e.px, q, k), mvRows(t, e.ref, q, k); strings.Join(g, ",") != strings.Join(w, ",") {
			t.Fatalf("%s WHERE %s = %s: proxy finds ids %v, ref %v (a row is not in the table its key routes to)", table, key, k, g, w)
		}
	}
}

func (e *mvEnv) explain(t *testing.T, q string) string {
	t.Helper()
	return strings.Join(mvRows(t, e.px, "EXPLAIN SHARDGATE "+q), "\n")
}

func TestMoveInsertSelect(t *testing.T) {
	e := newMvEnv(t, "")
	cases := []struct {
		name, sql string
		table     string // compared after
		key       string
		pushDown  bool
		args      []any // run prepared (server-side) when set
	}{
		{name: "co-located", sql: "INSERT INTO items (id, pid, qty, note) SELECT id + 1000, pid, qty * 2, CONCAT(note, '+') FROM items WHERE qty > 1",
			table: "items", key: "pid", pushDown: true},
		{name: "co-located prepared", sql: "INSERT INTO items (id, pid, qty, note) SELECT i.id + 2000, i.pid, i.qty, 'p' FROM items i WHERE i.id > ?",
			table: "items", key: "pid", pushDown: true, args: []any{30}},
		{name: "other rule", sql: "INSERT INTO items3 (id, pid, qty, note) SELECT id, pid + 1, qty, note FROM items",
			table: "items3", key: "pid"},
		{name: "other rule prepared", sql: "INSERT INTO items3 (id, pid, qty, note) SELECT id + 5000, pid * 3, qty, note FROM items WHERE qty = ?",
			table: "items3", key: "pid", args: []any{2}},
		{name: "computed key, same table", sql: "INSERT INTO items (id, pid, qty, note) SELECT id + 7000, pid + 50, qty, note FROM items WHERE id <= 40",
			table: "items", key: "pid"},
		{name: "locking source, same tables", sql: "INSERT INTO items (id, pid, qty, note) SELECT id + 8000, pid + 1, qty, note FROM items WHERE id <= 40 FOR UPDATE",
			table: "items", key: "pid"},
		{name: "unsharded to sharded", sql: "INSERT INTO items (id, pid, qty, note) SELECT id, pid, qty, note FROM plain",
			table: "items", key: "pid"},
		{name: "sharded to unsharded", sql: "INSERT INTO plain (id, pid, qty, note) SELECT id + 500, pid, qty, note FROM items WHERE id <= 20",
			table: "plain"},
		{name: "merged source", sql: "INSERT INTO plain (id, pid, qty, note) SELECT 900 + pid, pid, COUNT(*), MAX(note) FROM items GROUP BY pid",
			table: "plain"},
		{name: "ordered, limited source", sql: "INSERT INTO items3 (id, pid, qty, note) SELECT id + 9000, pid, qty, note FROM items ORDER BY note DESC, id LIMIT 7",
			table: "items3", key: "pid"},
		{name: "hourly", sql: "INSERT INTO events (id, at, pid, qty) SELECT id, at, pid, qty FROM evsrc",
			table: "events", key: "pid"},
		{name: "hourly to hourly, new hours", sql: "INSERT INTO events (id, at, pid, qty) SELECT id + 100, at + INTERVAL 7 HOUR, pid, qty FROM events",
			table: "events", key: "at"},
		{name: "ignore duplicates", sql: "INSERT IGNORE INTO items3 (id, pid, qty, note) SELECT id, pid + 1, 0, 'dup' FROM items WHERE id <= 60",
			table: "items3", key: "pid"},
		{name: "upsert through VALUES()", sql: "INSERT INTO items3 (id, pid, qty, note) SELECT id, pid + 1, qty + 100, 'up' FROM items WHERE id <= 15 ON DUPLICATE KEY UPDATE qty = VALUES(qty) + 1, note = VALUES(note)",
			table: "items3", key: "pid"},
		{name: "replace", sql: "REPLACE INTO items3 (id, pid, qty, note) SELECT id, pid + 1, 9, 'rep' FROM items WHERE id <= 10",
			table: "items3", key: "pid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := e.explain(t, c.sql)
			streamed := strings.Contains(plan, "insert rows routed per row")
			if streamed == c.pushDown {
				t.Fatalf("plan (push-down expected: %v):\n%s", c.pushDown, plan)
			}
			if c.pushDown && !strings.Contains(plan, "INSERT INTO `items_0`") {
				t.Fatalf("push-down plan does not run on each table:\n%s", plan)
			}
			if c.args != nil {
				// database/sql prepares statements with arguments on the
				// server (COM_STMT_PREPARE / EXECUTE).
				e.both(t, c.sql, c.args...)
			} else {
				e.both(t, c.sql)
			}
			e.same(t, c.table, c.key)
		})
	}
	t.Run("info and warnings", func(t *testing.T) {
		// INSERT IGNORE reports its skipped rows as MariaDB does: in the
		// OK packet's info and as warnings.
		q := "INSERT IGNORE INTO items3 (id, pid, qty, note) SELECT id, pid + 1, 1, 'again' FROM items WHERE id <= 5"
		pc, err := e.px.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		rc, err := e.ref.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		for _, c := range []*sql.Conn{pc, rc} {
			if _, err := c.ExecContext(context.Background(), q); err != nil {
				t.Fatal(err)
			}
		}
		w := func(c *sql.Conn) string {
			rows, err := c.QueryContext(context.Background(), "SHOW WARNINGS")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			var codes []string
			for rows.Next() {
				var level, code, msg string
				rows.Scan(&level, &code, &msg)
				codes = append(codes, code)
				n++
			}
			return strings.Join(codes, ",")
		}
		if g, r := w(pc), w(rc); g != r || g == "" {
			t.Fatalf("SHOW WARNINGS after INSERT IGNORE … SELECT: proxy %q, ref %q", g, r)
		}
	})
	t.Run("refused forms", func(t *testing.T) {
		for q, code := range map[string]uint16{
			"INSERT INTO items3 (id, pid) SELECT id, pid FROM items ON DUPLICATE KEY UPDATE qty = qty + 1": 1235,
			"INSERT INTO items3 SELECT * FROM items":                                                       1235,
			"INSERT INTO items3 (id, qty) SELECT id, qty FROM items":                                       1364,
		} {
			_, err := e.px.Exec(q)
			if c, _, _ := mysqlErr(t, err); c != code {
				t.Errorf("%s: got %v, want %d", q, err, code)
			}
		}
	})
}

// TestMoveSingleRefused: where a write to several tables cannot be
// atomic (transactions: single), the statements that would need it are
// refused before anything runs.
func TestMoveSingleRefused(t *testing.T) {
	e := newMvEnv(t, schemaMode("single"))
	for _, q := range []string{
		"INSERT INTO items3 (id, pid, qty, note) SELECT id, pid, qty, note FROM items",
		"UPDATE items SET pid = pid + 1 WHERE id = 3",
	} {
		_, err := e.px.Exec(q)
		if code, _, msg := mysqlErr(t, err); code != 1235 || !strings.Contains(msg, "transactions: xa") {
			t.Errorf("%s: %v, want 1235 naming transactions: xa", q, err)
		}
	}
	e.same(t, "items", "pid")
	e.same(t, "items3", "")
}

// TestMoveInsertSelectTransaction: inside a client transaction the rows
// are written in it (ROLLBACK leaves nothing, another client sees nothing
// before COMMIT), and the source sees the transaction's own writes.
func TestMoveInsertSelectTransaction(t *testing.T) {
	e := newMvEnv(t, "")
	ctx := context.Background()
	c, err := e.px.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other := e.p.open(t, e.db)
	count := func(db interface {
		QueryRow(string, ...any) *sql.Row
	}, table string) int {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, prepared := range []bool{false, true} {
		t.Run(fmt.Sprintf("rollback prepared=%v", prepared), func(t *testing.T) {
			mustExecMv(t, c, "BEGIN")
			q := "INSERT INTO items3 (id, pid, qty, note) SELECT id, pid + 1, qty, note FROM items WHERE id > ?"
			var err error
			if prepared {
				_, err = c.ExecContext(ctx, q, 0)
			} else {
				_, err = c.ExecContext(ctx, strings.Replace(q, "?", "0", 1))
			}
			if err != nil {
				t.Fatal(err)
			}
			var in int
			if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM items3").Scan(&in); err != nil || in != 40 {
				t.Fatalf("inside the transaction: %d rows (%v), want 40", in, err)
			}
			if n := count(other, "items3"); n != 0 {
				t.Fatalf("another client sees %d rows before COMMIT", n)
			}
			mustExecMv(t, c, "ROLLBACK")
			if n := count(other, "items3"); n != 0 {
				t.Fatalf("%d rows after ROLLBACK", n)
			}
		})
	}
	t.Run("commit, source sees own writes", func(t *testing.T) {
		mustExecMv(t, c, "BEGIN")
		mustExecMv(t, c, "INSERT INTO plain (id, pid, qty, note) VALUES (200, 3, 3, 'txn'), (201, 4, 4, 'txn')")
		mustExecMv(t, c, "INSERT INTO items (id, pid, qty, note) VALUES (300, 5, 5, 'txn')")
		mustExecMv(t, c, "INSERT INTO items3 (id, pid, qty, note) SELECT id, pid, qty, note FROM plain WHERE note = 'txn' UNION ALL SELECT 300, 5, 5, 'txn'")
		mustExecMv(t, c, "INSERT INTO items3 (id, pid, qty, note) SELECT id + 1, pid, qty, note FROM items WHERE id = 300")
		mustExecMv(t, c, "COMMIT")
		for _, q := range []string{
			"INSERT INTO plain (id, pid, qty, note) VALUES (200, 3, 3, 'txn'), (201, 4, 4, 'txn')",
			"INSERT INTO items (id, pid, qty, note) VALUES (300, 5, 5, 'txn')",
			"INSERT INTO items3 (id, pid, qty, note) VALUES (200, 3, 3, 'txn'), (201, 4, 4, 'txn'), (300, 5, 5, 'txn'), (301, 5, 5, 'txn')",
		} {
			if _, err := e.ref.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		e.same(t, "items3", "pid")
		e.same(t, "items", "pid")
	})
}

func mustExecMv(t *testing.T, c *sql.Conn, q string) {
	t.Helper()
	if _, err := c.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// fillPlain gives plain n more wide rows (ids from 10001) on main and ref.
func (e *mvEnv) fillPlain(t *testing.T, n int) {
	t.Helper()
	q := fmt.Sprintf("INSERT INTO plain (id, pid, qty, note) SELECT 10000 + seq, seq %% 97, seq %% 13, REPEAT(CHAR(65 + seq %% 26), 200) FROM seq_1_to_%d", n)
	if _, err := direct(t, primaries["main"], e.db).Exec(q); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ref.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// TestMoveInsertSelectFailure: a statement that fails after some of its
// batches were written leaves nothing, through the proxy as on ref; a
// backend connection killed mid-stream ends it rolled back everywhere.
func TestMoveInsertSelectFailure(t *testing.T) {
	e := newMvEnv(t, "")
	e.fillPlain(t, 8000)
	// Row 17990 is already there: its batch comes late (the rows of each
	// table are sent as 128 KiB batches).
	e.both(t, "INSERT INTO items (id, pid, qty, note) VALUES (17990, 36, 0, 'there')")
	q := "INSERT INTO items (id, pid, qty, note) SELECT id, pid, qty, note FROM plain WHERE id > 10000"
	_, perr := e.px.Exec(q)
	_, rerr := e.ref.Exec(q)
	pc, _, _ := mysqlErr(t, perr)
	rc, _, _ := mysqlErr(t, rerr)
	if pc != 1062 || rc != 1062 {
		t.Fatalf("duplicate in a late batch: proxy %v, ref %v (want 1062 from both)", perr, rerr)
	}
	if !strings.Contains(perr.Error(), "rolled back on every table") {
		t.Errorf("the error does not say the write was undone: %v", perr)
	}
	e.same(t, "items", "")

	t.Run("connection killed mid-stream", func(t *testing.T) {
		// A slow source keeps the statement running while its branch on
		// s1 is killed; the client hears it was rolled back, and no row
		// of it is anywhere.
		ctx := context.Background()
		c, err := e.px.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s1 := direct(t, primaries["s1"], "")
		done := make(chan error, 1)
		go func() {
			_, err := c.ExecContext(ctx, "INSERT INTO items (id, pid, qty, note) SELECT id + 50000, pid, qty + SLEEP(0.0005), note FROM plain WHERE id > 10000")
			done <- err
		}()
		// Every 100 ms, every connection of this database on s1 is
		// killed: pooled ones do not matter, the statement's branch (from
		// its first batch for s1 on) is among them.
		killed := 0
		time.Sleep(300 * time.Millisecond)
	loop:
		for {
			select {
			case err = <-done:
				break loop
			case <-time.After(100 * time.Millisecond):
			}
			for _, id := range mvRows(t, s1, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ?", e.db) {
				if _, err := s1.Exec("KILL " + id); err == nil {
					killed++
				}
			}
		}
		if killed == 0 {
			t.Fatalf("no connection was killed (%v)", err)
		}
		if err == nil {
			t.Fatal("the statement succeeded although a branch was killed")
		}
		t.Logf("client heard: %v", err)
		if n := mvRows(t, e.px, "SELECT COUNT(*) FROM items WHERE id > 50000"); n[0] != "0" {
			t.Fatalf("%s rows of the failed statement are visible", n[0])
		}
		for _, cl := range []string{"s0", "s1"} {
			db := direct(t, primaries[cl], "")
			eventually(t, 10*time.Second, "no prepared branch left on "+cl, func() bool {
				return len(mvRows(t, db, "XA RECOVER")) == 0
			})
		}
	})
}

// TestMoveConcurrentReader: while an INSERT … SELECT streams thousands of
// rows, another client reading the target sees none of them until the
// statement commits, then all (per cluster: docs/transactions.md says a
// reader may see one branch's commit before the other's).
func TestMoveConcurrentReader(t *testing.T) {
	e := newMvEnv(t, "")
	e.fillPlain(t, 6000)
	var stop atomic.Bool
	seen := map[int]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	reader := e.p.open(t, e.db)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			var n int
			if err := reader.QueryRow("SELECT COUNT(*) FROM items3").Scan(&n); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seen[n] = true
			mu.Unlock()
		}
	}()
	e.both(t, "INSERT INTO items3 (id, pid, qty, note) SELECT id, pid, qty, note FROM plain WHERE id > 10000")
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	// What each cluster holds after.
	per := map[string]int{}
	for _, cl := range []string{"s0", "s1"} {
		for _, r := range mvRows(t, direct(t, primaries[cl], e.db), "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE 'items3%'", e.db) {
			var n int
			direct(t, primaries[cl], e.db).QueryRow("SELECT COUNT(*) FROM " + r).Scan(&n)
			per[cl] += n
		}
	}
	allowed := map[int]bool{0: true, per["s0"]: true, per["s1"]: true, per["s0"] + per["s1"]: true}
	for n := range seen {
		if !allowed[n] {
			t.Errorf("a reader saw %d rows during the statement (allowed: 0, %d, %d, %d)", n, per["s0"], per["s1"], per["s0"]+per["s1"])
		}
	}
	if per["s0"]+per["s1"] != 6000 {
		t.Fatalf("%d rows written, want 6000", per["s0"]+per["s1"])
	}
	t.Logf("reader saw counts %v", seen)
	e.same(t, "items3", "")
}

// TestMoveInsertSelectMemory: a statement budget of 1 MiB streams 3.5 MB
// of rows under autocommit (batches are flushed as they fill), while
// inside a transaction, where the source is read whole, the same
// statement is refused with 1041 naming the limit.
// SHARDGATE_MOVE_ROWS sets the row count (15,000; docs/move.md has the
// figures of a larger run).
func TestMoveInsertSelectMemory(t *testing.T) {
	n := envInt(t, "SHARDGATE_MOVE_ROWS", 15000, 1000)
	e := newMvEnv(t, "memory_limit: 64M\nconnection_memory_limit: 4M\nstatement_memory_limit: 1M\n")
	e.fillPlain(t, int(n))
	peak0 := e.p.router.Memory().Peak()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	r, err := e.px.Exec("INSERT INTO items (id, pid, qty, note) SELECT id, pid, qty, note FROM plain WHERE id > 10000")
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	runtime.ReadMemStats(&ms1)
	if got, _ := r.RowsAffected(); got != n {
		t.Fatalf("%d rows inserted, want %d", got, n)
	}
	start = time.Now()
	if _, err := e.ref.Exec("INSERT INTO items (id, pid, qty, note) SELECT id, pid, qty, note FROM plain WHERE id > 10000"); err != nil {
		t.Fatal(err)
	}
	refTook := time.Since(start)
	peak := e.p.router.Memory().Peak()
	t.Logf("%d rows of ~230 bytes in %v (%.0f rows/s; on ref in %v); memory reserved at peak %d bytes (before: %d); test process heap in use %.1f MB before, %.1f MB after, %.1f MB allocated in all",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), refTook.Round(time.Millisecond), peak, peak0, float64(ms0.HeapInuse)/1e6, float64(ms1.HeapInuse)/1e6, float64(ms1.TotalAlloc-ms0.TotalAlloc)/1e6)
	if peak > 1<<20 {
		t.Errorf("peak reservation %d exceeds the statement budget", peak)
	}
	e.same(t, "items", "")
	ctx := context.Background()
	c, err := e.px.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustExecMv(t, c, "BEGIN")
	_, err = c.ExecContext(ctx, "INSERT INTO items3 (id, pid, qty, note) SELECT id, pid, qty, note FROM plain WHERE id > 10000")
	if code, _, _ := mysqlErr(t, err); code != 1041 || !strings.Contains(err.Error(), "statement_memory_limit") {
		t.Fatalf("inside a transaction: %v, want 1041 naming statement_memory_limit", err)
	}
	mustExecMv(t, c, "ROLLBACK")
}

// TestMoveShardKeyUpdate: UPDATEs of the shard key, no-op and real,
// text and prepared, in and out of a transaction, compared with ref and
// read back by the new key.
func TestMoveShardKeyUpdate(t *testing.T) {
	e := newMvEnv(t, "")
	e.both(t, "INSERT INTO events (id, at, pid, qty) SELECT id, at, pid, qty FROM evsrc")
	cases := []struct {
		name, sql string
		args      []any
		table     string
		moves     bool
	}{
		{name: "no-op", sql: "UPDATE items SET pid = pid, qty = qty + 1 WHERE id <= 5", table: "items"},
		{name: "same value", sql: "UPDATE items SET pid = 3, note = 'same' WHERE pid = 3", table: "items"},
		{name: "move", sql: "UPDATE items SET pid = pid + 100 WHERE id <= 10", table: "items", moves: true},
		// pid 4 and 5 hash to the same one of the 4 tables (items_0), 9
		// to items_1.
		{name: "literal, same table", sql: "UPDATE items SET pid = 4, qty = qty * 2 WHERE pid = 5", table: "items"},
		{name: "move to one key", sql: "UPDATE items SET pid = 9, qty = qty * 2 WHERE pid = 4", table: "items", moves: true},
		{name: "move prepared", sql: "UPDATE items SET pid = ?, note = CONCAT(note, '!') WHERE id = ?", args: []any{77, 12}, table: "items", moves: true},
		{name: "move some, keep some", sql: "UPDATE items SET pid = 1 WHERE id BETWEEN 20 AND 30", table: "items", moves: true},
		{name: "unchanged rows", sql: "UPDATE items SET pid = 1 WHERE id BETWEEN 20 AND 30", table: "items", moves: true},
		{name: "alias, order, limit", sql: "UPDATE items AS x SET x.pid = 9 WHERE x.pid = 1 ORDER BY x.id DESC LIMIT 2", table: "items", moves: true},
		{name: "hourly bucket", sql: "UPDATE events SET at = at + INTERVAL 3 HOUR WHERE id <= 4", table: "events", moves: true},
		{name: "hourly second level", sql: "UPDATE events SET pid = pid + 1 WHERE id > 15", table: "events", moves: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := e.explain(t, c.sql)
			if got := strings.Contains(plan, "move rows to their new tables"); got != c.moves {
				t.Fatalf("plan (moves expected: %v):\n%s", c.moves, plan)
			}
			e.both(t, c.sql, c.args...)
			key := "pid"
			if c.table == "events" {
				key = "at"
			}
			e.same(t, c.table, key)
		})
	}
	t.Run("generated column", func(t *testing.T) {
		// A moved row is inserted without its generated columns: the
		// server computes them at the new place.
		e.both(t, "INSERT INTO items3 (id, pid, qty) VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3)")
		// (DDL's affected rows are not compared: a sharded ALTER reports
		// one physical table's.)
		for _, db := range []*sql.DB{e.px, e.ref} {
			if _, err := db.Exec("ALTER TABLE items3 ADD COLUMN dbl INT AS (pid * 2) VIRTUAL, ADD COLUMN tag VARCHAR(20) AS (CONCAT('t', pid)) STORED"); err != nil {
				t.Fatal(err)
			}
		}
		e.both(t, "UPDATE items3 SET pid = pid + 10 WHERE id <= 3")
		e.same(t, "items3", "pid")
	})
	t.Run("info", func(t *testing.T) {
		// "Rows matched: 2  Changed: 2  Warnings: 0", as from one server:
		// compared by the affected rows of a statement that matches rows
		// it does not change.
		e.both(t, "UPDATE items SET pid = 9 WHERE pid IN (9, 2)")
		e.same(t, "items", "pid")
	})
	t.Run("transaction", func(t *testing.T) {
		ctx := context.Background()
		c, err := e.px.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		before := mvRows(t, e.px, "SELECT * FROM items ORDER BY id")
		// A failure below must not leave the transaction open on a
		// connection that goes back to e.px's pool.
		defer c.Raw(func(any) error { return driver.ErrBadConn })
		mustExecMv(t, c, "BEGIN")
		mustExecMv(t, c, "UPDATE items SET pid = pid + 1000 WHERE id <= 20")
		var n int
		if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM items WHERE pid >= 1000").Scan(&n); err != nil || n != 20 {
			t.Fatalf("inside the transaction, %d rows (%v) at their new keys, want 20", n, err)
		}
		mustExecMv(t, c, "ROLLBACK")
		if after := mvRows(t, e.px, "SELECT * FROM items ORDER BY id"); strings.Join(after, "\n") != strings.Join(before, "\n") {
			t.Fatal("ROLLBACK did not restore the rows")
		}
		e.same(t, "items", "pid")
	})
	t.Run("refused", func(t *testing.T) {
		for q, code := range map[string]uint16{
			// IGNORE would hide the duplicate that tells an update from an
			// insert (TestMoveUpsert has the ODKUs that move rows).
			"INSERT IGNORE INTO items (id, pid) VALUES (1, 1) ON DUPLICATE KEY UPDATE pid = pid + 1": 1235,
			"UPDATE items SET pid = 5 WHERE id = 1 LIMIT 1":                                          1235,
		} {
			_, err := e.px.Exec(q)
			if c, _, _ := mysqlErr(t, err); c != code {
				t.Errorf("%s: got %v, want %d", q, err, code)
			}
		}
		// An ODKU that keeps the key runs, as on ref.
		// (Row 34 has pid 6: the duplicate is found in the table pid 6
		// routes to, as every INSERT's duplicates are.)
		e.both(t, "INSERT INTO items (id, pid, qty) VALUES (34, 6, 1) ON DUPLICATE KEY UPDATE pid = VALUES(pid), qty = 42")
		e.same(t, "items", "pid")
	})
}

// TestMoveKeyInPrimaryKey: UPDATEs that move rows of tables whose primary
// key holds the shard column (an hourly table keyed (id, at), a hash
// table keyed (pid, id)) or that have none run through temporary copies
// (docs/move.md) and leave the same rows as on ref, each found by its
// key; text and prepared, autocommit and a rolled-back transaction; and
// no temporary table is left on the connection a later client gets.
func TestMoveKeyInPrimaryKey(t *testing.T) {
	e := newMvEnv(t, `      evpk:
        shard: {by: hour, column: at, clusters: [s0, s1], then: {by: hash, column: pid, tables: 2}}
      itpk: {shard: {by: hash, column: pid, tables: 4, clusters: [s0, s1]}}
      nopk: {shard: {by: hash, column: pid, tables: 4, clusters: [s0, s1]}}
`)
	e.both(t, "CREATE TABLE evpk (id INT NOT NULL, at DATETIME NOT NULL, pid INT NOT NULL, qty INT, PRIMARY KEY (id, at, pid))")
	e.both(t, "CREATE TABLE itpk (id INT NOT NULL, pid INT NOT NULL, qty INT, note VARCHAR(40), PRIMARY KEY (pid, id))")
	e.both(t, "CREATE TABLE nopk (id INT, pid INT, qty INT, note VARCHAR(40))")
	e.both(t, "INSERT INTO evpk (id, at, pid, qty) SELECT id, at, pid, qty FROM evsrc")
	for _, table := range []string{"itpk", "nopk"} {
		e.both(t, "INSERT INTO "+table+" (id, pid, qty, note) SELECT id, pid, qty, note FROM items")
	}
	cases := []struct {
		name, sql, table, key string
		args                  []any
	}{
		{"hourly bucket in the key", "UPDATE evpk SET at = at + INTERVAL 3 HOUR WHERE id <= 4", "evpk", "at", nil},
		{"hourly, to a day later", "UPDATE evpk SET at = at + INTERVAL 1 DAY, qty = qty + 1 WHERE id > 15", "evpk", "at", nil},
		{"hourly second level in the key", "UPDATE evpk SET pid = pid + 1 WHERE id BETWEEN 5 AND 9", "evpk", "pid", nil},
		{"hash key first in the key", "UPDATE itpk SET pid = pid + 100 WHERE id <= 10", "itpk", "pid", nil},
		{"prepared", "UPDATE itpk SET pid = ?, note = CONCAT(note, '!') WHERE id = ?", "itpk", "pid", []any{77, 12}},
		{"order and limit with a key", "UPDATE itpk AS x SET x.pid = 9 WHERE x.pid = 1 ORDER BY x.id DESC LIMIT 2", "itpk", "pid", nil},
		{"some rows stay", "UPDATE itpk SET pid = 1 WHERE id BETWEEN 20 AND 30", "itpk", "pid", nil},
		{"no primary key", "UPDATE nopk SET pid = pid * 3, qty = 7 WHERE qty = 1", "nopk", "pid", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.both(t, c.sql, c.args...)
			e.same(t, c.table, c.key)
		})
	}
	t.Run("a failed move, then another, in one transaction", func(t *testing.T) {
		e.both(t, "INSERT INTO itpk (id, pid, qty) VALUES (500, 7, 1), (500, 8, 2)")
		ctx := context.Background()
		for _, db := range []*sql.DB{e.px, e.ref} {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			mustExecMv(t, c, "BEGIN")
			// (7, 500) exists: the row cannot move there, on either.
			if _, err := c.ExecContext(ctx, "UPDATE itpk SET pid = 7 WHERE id = 500 AND pid = 8"); err == nil {
				t.Fatal("a move onto an existing key succeeded")
			} else if code, _, _ := mysqlErr(t, err); code != 1062 {
				t.Fatalf("move onto an existing key: %v, want 1062", err)
			}
			// The failed statement's copy must not add its rows to this one.
			mustExecMv(t, c, "UPDATE itpk SET pid = pid + 2000 WHERE id = 500")
			mustExecMv(t, c, "COMMIT")
			c.Close()
		}
		syncReplicas(t)
		q := "SELECT pid, qty FROM itpk WHERE id = 500 ORDER BY pid"
		if got, want := mvRows(t, e.px, q), mvRows(t, e.ref, q); strings.Join(got, ",") != strings.Join(want, ",") || len(got) != 2 {
			t.Fatalf("rows of id 500: proxy %v, ref %v", got, want)
		}
		e.both(t, "DELETE FROM itpk WHERE id = 500 AND pid IN (2007, 2008)") // ORDER BY id in same() would not order them
		e.same(t, "itpk", "pid")
	})
	t.Run("refused without a primary key and with LIMIT", func(t *testing.T) {
		_, err := e.px.Exec("UPDATE nopk SET pid = 5 WHERE pid = 1 LIMIT 1")
		if code, _, msg := mysqlErr(t, err); code != 1235 || !strings.Contains(msg, "PRIMARY KEY") {
			t.Fatalf("got %v, want 1235 naming the PRIMARY KEY", err)
		}
		e.same(t, "nopk", "pid")
	})
	t.Run("rolled back", func(t *testing.T) {
		ctx := context.Background()
		c, err := e.px.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		defer c.Raw(func(any) error { return driver.ErrBadConn })
		before := mvRows(t, e.px, "SELECT * FROM itpk ORDER BY id")
		mustExecMv(t, c, "BEGIN")
		mustExecMv(t, c, "UPDATE itpk SET pid = pid + 1000 WHERE id <= 20")
		var n int
		if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM itpk WHERE pid >= 1000 AND id <= 20").Scan(&n); err != nil || n != 20 {
			t.Fatalf("inside the transaction, %d rows (%v) at their new keys, want 20", n, err)
		}
		// The copies are gone already, inside the transaction.
		if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM `shardgate move itpk_0`").Scan(&n); err == nil {
			t.Fatal("a temporary copy is still there")
		}
		mustExecMv(t, c, "ROLLBACK")
		if after := mvRows(t, e.px, "SELECT * FROM itpk ORDER BY id"); strings.Join(after, "\n") != strings.Join(before, "\n") {
			t.Fatal("ROLLBACK did not restore the rows")
		}
	})
}
