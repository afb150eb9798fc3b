package integration

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shard"
)

// Global sequences (issue 15 item 5): a sharded table's id comes from a
// sequence table on the decision log's cluster, in blocks per proxy
// instance, instead of each physical table's AUTO_INCREMENT (which gave
// duplicated ids across physical tables).

// seqEnv is a database of its own (txn_seq…) on every primary and on ref,
// with two sharded tables whose ids come from sequences: notes (sharded by
// product_id) and events (sharded by id itself).
type seqEnv struct {
	t     *testing.T
	db    string
	cache int
	ref   *sql.DB
	main  *sql.DB
}

// seqTables are the tables' definitions, the same through the proxy and
// on ref. The physical tables keep AUTO_INCREMENT, as a dump of one
// MariaDB restored through the proxy would: the proxy's values must win.
var seqTables = []string{
	"CREATE TABLE notes (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, product_id INT NOT NULL, u INT, body VARCHAR(40), UNIQUE KEY (product_id, u))",
	"CREATE TABLE events (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, kind VARCHAR(40))",
}

func newSeqEnv(t *testing.T, cache int) *seqEnv {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	e := &seqEnv{t: t, db: "txn_seq_" + hex.EncodeToString(b), cache: cache}
	for _, addr := range []string{"127.0.0.1:3310", "127.0.0.1:3320", "127.0.0.1:3330", refServer} {
		root := direct(t, addr, "")
		if _, err := root.Exec("CREATE DATABASE " + e.db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { root.Exec("DROP DATABASE IF EXISTS " + e.db) })
	}
	e.ref = direct(t, refServer, e.db)
	for _, q := range seqTables {
		if _, err := e.ref.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// The sequence table is the tests' decision log schema (the default
	// place): forget this database's sequences when done.
	e.main = direct(t, "127.0.0.1:3310", "")
	t.Cleanup(func() {
		e.main.Exec("DELETE FROM " + testLogSchema + ".sequences WHERE name LIKE '" + e.db + ".%'")
	})
	return e
}

// rules are the env's rules for one proxy instance.
func (e *seqEnv) rules(instance string) string {
	return fmt.Sprintf(`
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
      notes:
        shard: {by: hash, column: product_id, tables: 4, clusters: [s0, s1]}
        sequence: {column: id, cache: %d}
      events:
        shard: {by: hash, column: id, tables: 4, clusters: [s0, s1]}
        sequence: {column: id, start: 1000000, cache: %d}
transactions: {log_schema: %s, instance: %s}
`, e.db, e.cache, e.cache, testLogSchema, instance)
}

// start starts a proxy instance; the first one creates the tables.
func (e *seqEnv) start(instance string, create bool) *proxy {
	e.t.Helper()
	p := startProxyRules(e.t, e.rules(instance))
	if create {
		db := p.open(e.t, e.db)
		for _, q := range seqTables {
			if _, err := db.Exec(q); err != nil {
				e.t.Fatalf("%s: %v", q, err)
			}
		}
	}
	return p
}

// lastInsertID reads LAST_INSERT_ID() on c.
func lastInsertID(t *testing.T, c *sql.Conn) int64 {
	t.Helper()
	var v int64
	scan(t, c, "SELECT LAST_INSERT_ID()", &v)
	return v
}

// TestSeqSingleRowInserts: 40 single-row INSERTs that leave id out, text
// and prepared, in and out of a transaction, get 40 distinct ids, each the
// OK packet's insert id and LAST_INSERT_ID() at once, and the rows read
// back under those ids.
func TestSeqSingleRowInserts(t *testing.T) {
	e := newSeqEnv(t, 1000)
	p := e.start("seq-a", true)
	modes := []struct {
		name, params string
	}{{"text", "interpolateParams=true"}, {"prepared", ""}}
	ids := map[int64]string{}
	for _, m := range modes {
		for _, inTxn := range []bool{false, true} {
			name := fmt.Sprintf("%s/txn=%v", m.name, inTxn)
			c := pin(t, p.open(t, e.db, m.params))
			if inTxn {
				if _, err := c.ExecContext(context.Background(), "BEGIN"); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < 10; i++ {
				body := fmt.Sprintf("%s-%d", name, i)
				res, err := c.ExecContext(context.Background(), "INSERT INTO notes (product_id, body) VALUES (?, ?)", i%5, body)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				id, _ := res.LastInsertId()
				if last := lastInsertID(t, c); last != id || id <= 0 {
					t.Fatalf("%s: insert id %d, LAST_INSERT_ID() %d", name, id, last)
				}
				if prev, dup := ids[id]; dup {
					t.Fatalf("%s: id %d given twice (first to %s)", name, id, prev)
				}
				ids[id] = body
			}
			if inTxn {
				if _, err := c.ExecContext(context.Background(), "COMMIT"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if len(ids) != 40 {
		t.Fatalf("%d ids, want 40", len(ids))
	}
	c := pin(t, p.open(t, e.db))
	for id, body := range ids {
		var got string
		scan(t, c, fmt.Sprintf("/* shardgate:primary */ SELECT body FROM notes WHERE id = %d", id), &got)
		if got != body {
			t.Fatalf("row %d: body %q, want %q", id, got, body)
		}
	}
}

// TestSeqForms: multi-row INSERTs over several tables get consecutive ids
// from the first, reported as the insert id; NULL, 0 and DEFAULT ask for
// a value, 0 does not under NO_AUTO_VALUE_ON_ZERO; a table sharded by the
// sequence's own column routes rows by the generated value.
func TestSeqForms(t *testing.T) {
	e := newSeqEnv(t, 1000)
	p := e.start("seq-a", true)
	for _, m := range []string{"interpolateParams=true", ""} {
		c := pin(t, p.open(t, e.db, m))
		ctx := context.Background()
		res, err := c.ExecContext(ctx, "INSERT INTO notes (product_id, body) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (?, 'e')", 5)
		if err != nil {
			t.Fatal(err)
		}
		first, _ := res.LastInsertId()
		if n, _ := res.RowsAffected(); n != 5 || lastInsertID(t, c) != first {
			t.Fatalf("multi-row: affected %d, insert id %d, LAST_INSERT_ID() %d", n, first, lastInsertID(t, c))
		}
		got := rowsOf(t, p.open(t, e.db), fmt.Sprintf("/* shardgate:primary */ SELECT id - %d, body FROM notes WHERE id BETWEEN %d AND %d", first, first, first+4), false)
		if fmt.Sprint(got) != "[0|a 1|b 2|c 3|d 4|e]" {
			t.Fatalf("multi-row ids relative to the first: %v", got)
		}
		res, err = c.ExecContext(ctx, "INSERT INTO notes (id, product_id, body) VALUES (NULL, 1, 'null'), (0, 2, 'zero'), (DEFAULT, 3, 'default'), (?, 4, 'bound null')", nil)
		if err != nil {
			t.Fatal(err)
		}
		first, _ = res.LastInsertId()
		got = rowsOf(t, p.open(t, e.db), fmt.Sprintf("/* shardgate:primary */ SELECT id - %d, body FROM notes WHERE id >= %d AND body IN ('null','zero','default','bound null')", first, first), false)
		if fmt.Sprint(got) != "[0|null 1|zero 2|default 3|bound null]" {
			t.Fatalf("NULL/0/DEFAULT rows: %v", got)
		}
		// events is sharded by id: each row lands where its id hashes.
		res, err = c.ExecContext(ctx, "INSERT INTO events (kind) VALUES ('x'), ('y'), ('z')")
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := res.LastInsertId()
		if ev < 1000000 {
			t.Fatalf("events start at 1000000 (start:), got %d", ev)
		}
		for i, kind := range []string{"x", "y", "z"} {
			var k string
			scan(t, c, fmt.Sprintf("SELECT kind FROM events WHERE id = %d", ev+int64(i)), &k)
			if k != kind {
				t.Fatalf("events id %d: kind %q, want %q", ev+int64(i), k, kind)
			}
		}
	}
	// NO_AUTO_VALUE_ON_ZERO: 0 is stored as given, LAST_INSERT_ID() stays.
	c := pin(t, p.open(t, e.db))
	before := lastInsertID(t, c)
	for _, q := range []string{"SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')", "INSERT INTO notes (id, product_id, body) VALUES (0, 9, 'zero kept')"} {
		if _, err := c.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var body string
	scan(t, c, "SELECT body FROM notes WHERE id = 0 AND product_id = 9", &body)
	if body != "zero kept" || lastInsertID(t, c) != before {
		t.Fatalf("NO_AUTO_VALUE_ON_ZERO: row 0 %q, LAST_INSERT_ID() %d (was %d)", body, lastInsertID(t, c), before)
	}
	// Without a column list (a dump's INSERTs) the table's definition
	// gives the column's place: NULL asks for a value, an explicit id stays.
	res, err := c.ExecContext(context.Background(), "INSERT INTO notes VALUES (NULL, 1, 5, 'no list'), (424242, 2, 5, 'no list, explicit')")
	if err != nil {
		t.Fatalf("INSERT without a column list: %v", err)
	}
	gen, _ := res.LastInsertId()
	got := rowsOf(t, p.open(t, e.db), "/* shardgate:primary */ SELECT id, body FROM notes WHERE body LIKE 'no list%'", false)
	if want := fmt.Sprintf("[%d|no list 424242|no list, explicit]", gen); fmt.Sprint(got) != want || gen <= 0 || gen == 424242 {
		t.Fatalf("INSERT without a column list: insert id %d, rows %v, want %s", gen, got, want)
	}
}

// TestSeqInsertSelect: INSERT … SELECT into a sequenced table, text and
// prepared, in and out of a transaction, while a second client inserts
// single rows into the same table: every streamed row gets a value of its
// own (no duplicate with the other client's), a table sharded by the
// sequence's column finds each row by its id, the insert id and
// LAST_INSERT_ID() are the first value generated, and explicit ids move
// the sequence past them.
func TestSeqInsertSelect(t *testing.T) {
	e := newSeqEnv(t, 7) // small blocks: the statement crosses several
	p := e.start("seq-a", true)
	ctx := context.Background()
	src := pin(t, p.open(t, e.db))
	for i := 0; i < 40; i++ {
		if _, err := src.ExecContext(ctx, fmt.Sprintf("INSERT INTO notes (product_id, u, body) VALUES (%d, %d, 'src-%d')", i%6, i, i)); err != nil {
			t.Fatal(err)
		}
	}
	// The other client: single-row INSERTs into events until told to stop.
	stop := make(chan struct{})
	var otherIDs []int64
	var otherErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := p.open(t, e.db)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			res, err := c.Exec("INSERT INTO events (kind) VALUES (?)", fmt.Sprintf("other-%d", i))
			if err != nil {
				otherErr = err
				return
			}
			id, _ := res.LastInsertId()
			otherIDs = append(otherIDs, id)
		}
	}()
	type run struct {
		name, params string
		inTxn        bool
	}
	var copied int
	for _, r := range []run{{"text", "interpolateParams=true", false}, {"text-txn", "interpolateParams=true", true}, {"prepared", "", false}, {"prepared-txn", "", true}} {
		c := pin(t, p.open(t, e.db, r.params))
		if r.inTxn {
			if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
				t.Fatal(err)
			}
		}
		res, err := c.ExecContext(ctx, "INSERT INTO events (kind) SELECT CONCAT(?, body) FROM notes WHERE u < ?", r.name+":", 40)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		n, _ := res.RowsAffected()
		first, _ := res.LastInsertId()
		if n != 40 || first <= 0 || lastInsertID(t, c) != first {
			t.Fatalf("%s: %d rows, insert id %d, LAST_INSERT_ID() %d", r.name, n, first, lastInsertID(t, c))
		}
		if r.inTxn {
			if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
				t.Fatal(err)
			}
		}
		copied += 40
		// The first id is one of the statement's rows, found where it hashes.
		var kind string
		scan(t, c, fmt.Sprintf("SELECT kind FROM events WHERE id = %d", first), &kind)
		if !strings.HasPrefix(kind, r.name+":") {
			t.Fatalf("%s: row %d has kind %q", r.name, first, kind)
		}
	}
	close(stop)
	wg.Wait()
	if otherErr != nil {
		t.Fatalf("the other client: %v", otherErr)
	}
	// Every row, streamed or the other client's, has an id of its own, and
	// a lookup by id (routed by its hash) finds each.
	c := pin(t, p.open(t, e.db))
	ids := map[int64]string{}
	rows, err := c.QueryContext(ctx, "/* shardgate:primary */ SELECT id, kind FROM events")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var kind string
		if err := rows.Scan(&id, &kind); err != nil {
			t.Fatal(err)
		}
		if prev, dup := ids[id]; dup {
			t.Fatalf("id %d given twice: %q and %q", id, prev, kind)
		}
		ids[id] = kind
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(ids) != copied+len(otherIDs) {
		t.Fatalf("%d rows in events, want %d copied + %d the other client's", len(ids), copied, len(otherIDs))
	}
	for _, id := range otherIDs {
		if !strings.HasPrefix(ids[id], "other-") {
			t.Fatalf("the other client's id %d holds %q", id, ids[id])
		}
	}
	n := 0
	for id := range ids {
		if n++; n > 50 {
			break
		}
		var kind string
		scan(t, c, fmt.Sprintf("SELECT kind FROM events WHERE id = %d", id), &kind)
		if kind != ids[id] {
			t.Fatalf("lookup of id %d gave %q, want %q", id, kind, ids[id])
		}
	}
	// Explicit ids are copied as given and move the sequence past them;
	// a NULL id takes a value; the sequenced column is not the shard key
	// here.
	res, err := c.ExecContext(ctx, "INSERT INTO notes (id, product_id, u, body) SELECT u + 900000, product_id, u + 100, CONCAT('copy-', body) FROM notes WHERE u IN (1, 2)")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Fatalf("explicit copy: %d rows", n)
	}
	res, err = c.ExecContext(ctx, "INSERT INTO notes (id, product_id, u, body) SELECT NULL, product_id, u + 200, 'null id' FROM notes WHERE u = 0")
	if err != nil {
		t.Fatal(err)
	}
	nullID, _ := res.LastInsertId()
	if nullID <= 900002 || lastInsertID(t, c) != nullID {
		t.Fatalf("a NULL id after explicit ids up to 900002 got %d (LAST_INSERT_ID() %d)", nullID, lastInsertID(t, c))
	}
	got := rowsOf(t, p.open(t, e.db), "/* shardgate:primary */ SELECT id, body FROM notes WHERE body LIKE 'copy-%' AND id > 900000", false)
	if fmt.Sprint(got) != "[900001|copy-src-1 900002|copy-src-2]" {
		t.Fatalf("explicit ids copied: %v", got)
	}
	res, err = c.ExecContext(ctx, "INSERT INTO notes (product_id, body) VALUES (1, 'after the copy')")
	if err != nil {
		t.Fatal(err)
	}
	if next, _ := res.LastInsertId(); next <= nullID {
		t.Fatalf("after %d the next value is %d", nullID, next)
	}
	// Refused as before: rows an upsert or IGNORE may skip.
	_, err = c.ExecContext(ctx, "INSERT IGNORE INTO events (kind) SELECT body FROM notes")
	if code, _, _ := mysqlErr(t, err); code != 1235 {
		t.Fatalf("INSERT IGNORE … SELECT into a sequenced table: %v, want 1235", err)
	}
}

// TestSeqRollback: values taken inside a transaction that rolls back are
// not reused, as AUTO_INCREMENT's are not, by any physical table; the rows
// are gone. Blocks of one value: every INSERT takes its value from the
// sequence table, on a connection of its own, which the ROLLBACK does not
// touch.
func TestSeqRollback(t *testing.T) {
	e := newSeqEnv(t, 1)
	p := e.start("seq-a", true)
	for _, m := range []string{"interpolateParams=true", ""} {
		c := pin(t, p.open(t, e.db, m))
		ctx := context.Background()
		if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		var rolled []int64
		for i := 0; i < 3; i++ {
			res, err := c.ExecContext(ctx, "INSERT INTO notes (product_id, body) VALUES (?, 'rolled back')", i)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := res.LastInsertId()
			rolled = append(rolled, id)
		}
		if _, err := c.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		// One row for each of several product ids, so every physical
		// table takes a value.
		res, err := c.ExecContext(ctx, "INSERT INTO notes (product_id, body) VALUES (0, 'after'), (1, 'after'), (2, 'after'), (3, 'after'), (4, 'after'), (5, 'after'), (6, 'after'), (7, 'after')")
		if err != nil {
			t.Fatal(err)
		}
		next, _ := res.LastInsertId()
		after := rowsOf(t, p.open(t, e.db), fmt.Sprintf("/* shardgate:primary */ SELECT id FROM notes WHERE body = 'after' AND id >= %d", next), false)
		if len(after) != 8 {
			t.Fatalf("rows after ROLLBACK: %v", after)
		}
		for _, id := range rolled {
			if next <= id {
				t.Fatalf("after ROLLBACK got %d, at or below rolled-back id %d", next, id)
			}
		}
		if _, err := c.ExecContext(ctx, "DELETE FROM notes WHERE body = 'after'"); err != nil {
			t.Fatal(err)
		}
		var n int
		scan(t, c, fmt.Sprintf("SELECT COUNT(*) FROM notes WHERE id IN (%d, %d, %d)", rolled[0], rolled[1], rolled[2]), &n)
		if n != 0 {
			t.Fatalf("%d rolled-back rows remain", n)
		}
	}
}

// TestSeqExplicitIDs: explicit ids move the sequence past them, in this
// instance and, beyond its block, for the next block of another instance;
// an INSERT of explicit ids only leaves LAST_INSERT_ID() alone, and its
// insert id is the backend's, as on one MariaDB.
func TestSeqExplicitIDs(t *testing.T) {
	e := newSeqEnv(t, 10)
	a := e.start("seq-a", true)
	b := e.start("seq-b", false)
	ca, cb := pin(t, a.open(t, e.db)), pin(t, b.open(t, e.db))
	ctx := context.Background()
	insert := func(c *sql.Conn, q string) int64 {
		t.Helper()
		res, err := c.ExecContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		id, _ := res.LastInsertId()
		return id
	}
	g := insert(ca, "INSERT INTO notes (product_id, body) VALUES (1, 'g')")
	// Inside a's block (cache 10): a's next value moves past it.
	inBlock := g + 3
	insert(ca, fmt.Sprintf("INSERT INTO notes (id, product_id, body) VALUES (%d, 2, 'explicit in block')", inBlock))
	if last := lastInsertID(t, ca); last != g {
		t.Fatalf("explicit insert changed LAST_INSERT_ID() to %d, want %d kept", last, g)
	}
	if next := insert(ca, "INSERT INTO notes (product_id, body) VALUES (1, 'after in-block')"); next != inBlock+1 {
		t.Fatalf("after explicit %d: got %d, want %d", inBlock, next, inBlock+1)
	}
	// Far past every block: the sequence table moves, so b's next block
	// (b has none yet) starts past it too.
	far := g + 5000
	if id := insert(ca, fmt.Sprintf("INSERT INTO notes (id, product_id, body) VALUES (%d, 3, 'explicit far')", far)); id != far {
		t.Fatalf("OK insert id of an explicit row: %d, want %d (the backend's, as one MariaDB's)", id, far)
	}
	if next := insert(ca, "INSERT INTO notes (product_id, body) VALUES (1, 'after far')"); next != far+1 {
		t.Fatalf("after explicit %d: a got %d, want %d", far, next, far+1)
	}
	if next := insert(cb, "INSERT INTO notes (product_id, body) VALUES (1, 'other instance')"); next <= far {
		t.Fatalf("other instance's next value %d, want past %d", next, far)
	}
	// A string and a decimal spelling of a number are explicit values too.
	if next := insert(ca, fmt.Sprintf("INSERT INTO notes (id, product_id, body) VALUES ('%d', 4, 's'), (NULL, 5, 'n')", far+100)); next != far+101 {
		t.Fatalf("after explicit '%d': got %d, want %d", far+100, next, far+101)
	}
}

// seqRowsEnv reads SHARDGATE_SEQ_ROWS, the two-instance test's row count
// (default 5,000; the acceptance size is 100,000).
func seqRowsEnv(t *testing.T) int {
	return int(envInt(t, "SHARDGATE_SEQ_ROWS", 5000, 100))
}

// TestSeqTwoInstances: two proxy instances inserting into one table at
// once, with small blocks so that they race for the sequence row often,
// never give one id twice.
func TestSeqTwoInstances(t *testing.T) {
	total := seqRowsEnv(t)
	e := newSeqEnv(t, 100)
	a := e.start("seq-a", true)
	b := e.start("seq-b", false)
	const workers = 4 // per instance
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	start := time.Now()
	per := total / (2 * workers)
	for i, p := range []*proxy{a, b, a, b, a, b, a, b} {
		n := per
		if i == 0 {
			n += total - per*2*workers
		}
		db := p.open(t, e.db, "interpolateParams=true")
		wg.Add(1)
		go func(i int, db *sql.DB, n int) {
			defer wg.Done()
			for done := 0; done < n; {
				k := min(1+done%5, n-done) // 1 to 5 rows a statement
				q := "INSERT INTO notes (product_id, body) VALUES "
				for j := 0; j < k; j++ {
					if j > 0 {
						q += ", "
					}
					q += fmt.Sprintf("(%d, 'w%d')", (i*7919+done+j)%1000, i)
				}
				if _, err := db.Exec(q); err != nil {
					errs <- err
					return
				}
				done += k
			}
		}(i, db, n)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var rows, distinct int
	pa := a.open(t, e.db)
	scan(t, pa, "/* shardgate:primary */ SELECT COUNT(*) FROM notes", &rows)
	scan(t, pa, "/* shardgate:primary */ SELECT COUNT(DISTINCT id) FROM notes", &distinct)
	// COUNT(DISTINCT) over shards is merged by the proxy; check on the
	// physical tables too, independently of it.
	var ids []int64
	for i := 0; i < 4; i++ {
		addr := map[int]string{0: "127.0.0.1:3320", 1: "127.0.0.1:3330", 2: "127.0.0.1:3320", 3: "127.0.0.1:3330"}[i]
		r, err := direct(t, addr, e.db).Query(fmt.Sprintf("SELECT id FROM notes_%d", i))
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var id int64
			r.Scan(&id)
			ids = append(ids, id)
		}
		r.Close()
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	dups := 0
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			dups++
		}
	}
	t.Logf("%d rows through two instances in %s (%.0f rows/s), %d duplicate ids", len(ids), elapsed.Round(time.Millisecond), float64(len(ids))/elapsed.Seconds(), dups)
	if rows != total || distinct != total || len(ids) != total || dups != 0 {
		t.Fatalf("rows %d, distinct ids %d (proxy), %d rows and %d duplicates on the physical tables; want %d rows, 0 duplicates", rows, distinct, len(ids), dups, total)
	}
}

// TestSeqInsertIDsMatchRef: after INSERT … ON DUPLICATE KEY UPDATE and
// REPLACE split over several tables, the affected rows, the OK packet's
// insert id and LAST_INSERT_ID() name the same rows through the proxy as
// on one MariaDB (ids themselves differ: AUTO_INCREMENT there, the
// sequence here), text and prepared.
func TestSeqInsertIDsMatchRef(t *testing.T) {
	// Product ids on four different physical tables: every step of a
	// split statement holds one row.
	var pids []int
	seen := map[int]bool{}
	for v := 1; len(pids) < 4; v++ {
		if i := shard.Index(strconv.Itoa(v), 4); !seen[i] {
			seen[i] = true
			pids = append(pids, v)
		}
	}
	p0, p1, p2, p3 := pids[0], pids[1], pids[2], pids[3]
	// Each statement's first body is a bound value: prepared for real in
	// the prepared run, interpolated by the driver in the text run.
	stmts := []struct {
		q   string
		arg string
	}{
		{fmt.Sprintf("INSERT INTO notes (product_id, u, body) VALUES (%d, 10, ?), (%d, 20, 'b')", p0, p1), "a"},
		{fmt.Sprintf("INSERT INTO notes (product_id, u, body) VALUES (%d, 10, ?) ON DUPLICATE KEY UPDATE body = VALUES(body)", p0), "x"},
		{fmt.Sprintf("INSERT INTO notes (product_id, u, body) VALUES (%d, 10, ?) ON DUPLICATE KEY UPDATE body = VALUES(body)", p0), "x"},
		{fmt.Sprintf("INSERT INTO notes (product_id, u, body) VALUES (%d, 10, ?), (%d, 50, 'n'), (%d, 60, 'm') ON DUPLICATE KEY UPDATE body = VALUES(body)", p0, p2, p3), "y"},
		{fmt.Sprintf("INSERT INTO notes (product_id, u, body) VALUES (%d, 70, ?), (%d, 20, 'z') ON DUPLICATE KEY UPDATE body = VALUES(body)", p2, p1), "p"},
		{fmt.Sprintf("INSERT INTO notes (product_id, u, body) VALUES (%d, 70, ?), (%d, 10, 'w') ON DUPLICATE KEY UPDATE body = VALUES(body)", p2, p0), "q"},
		{fmt.Sprintf("REPLACE INTO notes (product_id, u, body) VALUES (%d, 10, ?), (%d, 80, 's')", p0, p3), "r"},
		{fmt.Sprintf("REPLACE INTO notes (id, product_id, u, body) VALUES (9000000, %d, 80, ?)", p3), "explicit"},
		{fmt.Sprintf("INSERT INTO notes (id, product_id, u, body) VALUES (9000100, %d, 11, ?), (NULL, %d, 12, 'g'), (0, %d, 13, 'h')", p0, p1, p2), "e"},
		{fmt.Sprintf("INSERT INTO notes (product_id, u, body) VALUES (%d, 12, ?) ON DUPLICATE KEY UPDATE body = 'g2'", p1), "g2"},
		// Rows of one step, some updating and some inserted: the proxy
		// reads which generated values went into rows.
		{fmt.Sprintf("INSERT INTO notes (product_id, u, body) VALUES (%d, 10, ?), (%d, 91, 'm1'), (%d, 92, 'm2') ON DUPLICATE KEY UPDATE body = VALUES(body)", p0, p0, p0), "mu"},
		{fmt.Sprintf("INSERT INTO notes (product_id, u, body) VALUES (%d, 93, ?), (%d, 20, 'upd'), (%d, 70, 'upd2') ON DUPLICATE KEY UPDATE body = VALUES(body)", p1, p1, p2), "mi"},
		{fmt.Sprintf("INSERT INTO notes (id, product_id, u, body) VALUES (9000200, %d, 94, ?), (NULL, %d, 91, 'dup') ON DUPLICATE KEY UPDATE body = VALUES(body)", p0, p0), "explicit inserted"},
		// INSERT IGNORE skips duplicates: the first value of a row inserted.
		{fmt.Sprintf("INSERT IGNORE INTO notes (product_id, u, body) VALUES (%d, 10, ?), (%d, 95, 'new')", p0, p1), "ig"},
		{fmt.Sprintf("INSERT IGNORE INTO notes (product_id, u, body) VALUES (%d, 10, ?), (%d, 96, 'new'), (%d, 97, 'new')", p0, p0, p0), "ig"},
		{fmt.Sprintf("INSERT IGNORE INTO notes (product_id, u, body) VALUES (%d, 10, ?), (%d, 95, 'dup')", p0, p1), "ig"},
	}
	for _, mode := range []string{"interpolateParams=true", ""} {
		t.Run(map[string]string{"": "prepared"}[mode]+map[string]string{"interpolateParams=true": "text"}[mode], func(t *testing.T) {
			e := newSeqEnv(t, 1000)
			pr := e.start("seq-a", true)
			pc := pin(t, pr.open(t, e.db, mode))
			refDB, err := sql.Open("mysql", "app:app@tcp("+refServer+")/"+e.db+"?"+mode)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { refDB.Close() })
			rc := pin(t, refDB)
			ctx := context.Background()
			// what names the row an id points at, as its (product_id, u).
			what := func(c *sql.Conn, id int64) string {
				var pid, u sql.NullInt64
				err := c.QueryRowContext(ctx, fmt.Sprintf("SELECT product_id, u FROM notes WHERE id = %d", id)).Scan(&pid, &u)
				if err == sql.ErrNoRows {
					return fmt.Sprintf("no row (%d)", min(id, 1))
				}
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("(%d, %d)", pid.Int64, u.Int64)
			}
			run := func(c *sql.Conn, q, arg string) string {
				res, err := c.ExecContext(ctx, q, arg)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				n, _ := res.RowsAffected()
				id, _ := res.LastInsertId()
				return fmt.Sprintf("affected %d, insert id names %s, LAST_INSERT_ID() names %s", n, what(c, id), what(c, lastInsertID(t, c)))
			}
			for _, st := range stmts {
				got, want := run(pc, st.q, st.arg), run(rc, st.q, st.arg)
				if got != want {
					t.Errorf("%s\n  proxy: %s\n  ref:   %s", st.q, got, want)
				}
			}
		})
	}
}

// TestSeqTableUnreachable: when the sequence table's primary cannot be
// reached, an INSERT that needs a value gets 1467 saying it did not run,
// and nothing is written. So does one of explicit ids while the instance
// holds no block: it could not move the sequence past them, and a later
// value could repeat one.
func TestSeqTableUnreachable(t *testing.T) {
	e := newSeqEnv(t, 1000)
	dead := freePorts(t, 1)[0] // nothing listens there
	rulesYAML := strings.Replace(e.rules("seq-a"), "clusters:\n", "clusters:\n  gone: {primary: "+dead+"}\n", 1) +
		"sequences: {cluster: gone, schema: " + testLogSchema + "}\npool: {connect_timeout: 500ms}\n"
	p := startProxyRules(t, rulesYAML)
	db := p.open(t, e.db)
	for _, q := range seqTables {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, mode := range []string{"interpolateParams=true", ""} {
		c := pin(t, p.open(t, e.db, mode))
		for _, ins := range []struct {
			q   string
			arg any
		}{
			{"INSERT INTO notes (product_id, body) VALUES (?, 'needs a value')", 1},
			{"INSERT INTO notes (id, product_id, body) VALUES (?, 1, 'explicit')", 77},
		} {
			_, err := c.ExecContext(context.Background(), ins.q, ins.arg)
			code, _, msg := mysqlErr(t, err)
			if code != 1467 || !strings.Contains(msg, "not run") {
				t.Fatalf("%q: %s: got %v, want 1467 saying the statement was not run", mode, ins.q, err)
			}
		}
	}
	var n int
	scan(t, db, "/* shardgate:primary */ SELECT COUNT(*) FROM notes", &n)
	if n != 0 {
		t.Fatalf("%d rows written", n)
	}
}

// TestSeqPrimaryKilledDuringAllocation: the sequence table's primary is
// killed while an instance waits to take a new block (another transaction
// holds the sequence's row). The INSERT that needed the block fails with
// 1467 saying it was not run, and writes nothing; after the restart the
// same instance and a second one go on without reusing a value: every id
// distinct, and above every id handed out before.
func TestSeqPrimaryKilledDuringAllocation(t *testing.T) {
	needLocalCluster(t)
	e := newSeqEnv(t, 3)
	// The sequences on s1, whose primary the test kills; the rows go to
	// s0 only (product ids whose table lives there).
	withSeq := func(instance string) string {
		return e.rules(instance) + "sequences: {cluster: s1, schema: " + testLogSchema + "}\npool: {connect_timeout: 500ms}\n"
	}
	s1 := direct(t, "127.0.0.1:3330", "")
	t.Cleanup(func() {
		s1.Exec("DELETE FROM " + testLogSchema + ".sequences WHERE name LIKE '" + e.db + ".%'")
	})
	a := startProxyRules(t, withSeq("seq-a"))
	dbA := a.open(t, e.db)
	for _, q := range seqTables {
		if _, err := dbA.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var onS0 []int
	for pid := 1; len(onS0) < 4 && pid < 100; pid++ {
		plan := strings.Join(mvRows(t, dbA, fmt.Sprintf("EXPLAIN SHARDGATE INSERT INTO notes (product_id) VALUES (%d)", pid)), "\n")
		if strings.Contains(plan, "s0 [") {
			onS0 = append(onS0, pid)
		}
	}
	if len(onS0) < 4 {
		t.Fatalf("no product ids routed to s0: %v", onS0)
	}
	insert := func(db *sql.DB, i int) error {
		_, err := db.Exec("INSERT INTO notes (product_id, u, body) VALUES (?, ?, 'x')", onS0[i%len(onS0)], i)
		return err
	}
	// The first block (cache 3) is used up.
	for i := 0; i < 3; i++ {
		if err := insert(dbA, i); err != nil {
			t.Fatal(err)
		}
	}
	// Another transaction holds the sequence's row, so the next block's
	// statement waits on s1's primary.
	holder := pin(t, direct(t, "127.0.0.1:3330", testLogSchema))
	key := fmt.Sprintf("%x", e.db+".notes")
	if _, err := holder.ExecContext(context.Background(), "BEGIN"); err != nil {
		t.Fatal(err)
	}
	var next int64
	scan(t, holder, "SELECT next_id FROM sequences WHERE name = X'"+key+"' FOR UPDATE", &next)
	res := make(chan error, 1)
	go func() { res <- insert(dbA, 3) }()
	// Wait until the block's statement is waiting for the row lock.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var waiting int
		scan(t, s1, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%INTO `"+testLogSchema+"`.`sequences`%' AND USER = 'app'", &waiting)
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the proxy never asked for a new block")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := serverPid(t, "s1-p")
	t.Cleanup(func() { clusterScript(t, "start", "s1-p") })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-res:
		code, _, msg := mysqlErr(t, err)
		if code != 1467 || !strings.Contains(msg, "not run") {
			t.Fatalf("got %v, want 1467 saying the statement was not run", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the INSERT still waits 30 s after the primary was killed")
	}
	var n int
	// (Read where the rows go: s1 is down.)
	scan(t, dbA, fmt.Sprintf("/* shardgate:primary */ SELECT COUNT(*) FROM notes WHERE product_id IN (%d, %d, %d, %d)", onS0[0], onS0[1], onS0[2], onS0[3]), &n)
	if n != 3 {
		t.Fatalf("%d rows after the failed INSERT, want 3", n)
	}
	clusterScript(t, "start", "s1-p")
	// The same instance and a second one go on.
	b := startProxyRules(t, withSeq("seq-b"))
	dbB := b.open(t, e.db)
	for i := 4; i < 20; i++ {
		db := dbA
		if i%2 == 1 {
			db = dbB
		}
		var err error
		for try := 0; try < 50; try++ { // until the pools find s1's primary back
			if err = insert(db, i); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("insert %d after the restart: %v", i, err)
		}
	}
	ids := mvRows(t, dbA, "/* shardgate:primary */ SELECT id FROM notes ORDER BY id")
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			t.Fatalf("id %s given twice: %v", id, ids)
		}
		seen[id] = true
		if v, _ := strconv.Atoi(id); i >= 3 && v <= 3 {
			t.Fatalf("id %s reused after the restart: %v", id, ids)
		}
	}
	if len(ids) != 19 {
		t.Fatalf("%d rows, want 19: %v", len(ids), ids)
	}
}
