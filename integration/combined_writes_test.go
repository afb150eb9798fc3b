package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TestWritePathsCombined walks the write paths of issue 15 through the
// matrix where defects hide: a sequenced sharded table (split INSERT with
// generated ids, INSERT … SELECT streamed, an UPDATE that moves rows), a
// global table, a plain sharded one and a business-split one (orders, on
// s1), × client charset gbk and utf8mb4
// (values with a quote, a backslash and Chinese) × sql_mode with and
// without NO_BACKSLASH_ESCAPES × text and prepared × autocommit and an
// explicit transaction, while a second client writes autocommit rows
// through the same pools of one connection per server. Every row must
// land where a lookup by its key finds it, with its value intact; the
// other client must never fail.
func TestWritePathsCombined(t *testing.T) {
	e := newTxnEnvTables(t, `      regions: {global: true}
      seqd:
        shard: {by: hash, column: product_id, tables: 4, clusters: [s0, s1]}
        sequence: {column: id, cache: 5}
`, "pool: {max_open: 1, max_idle: 1, wait_timeout: 10s}\ntransactions: {log_schema: "+testLogSchema+"}\n")
	t.Cleanup(func() {
		direct(t, primaries["main"], "").Exec("DELETE FROM " + testLogSchema + ".sequences WHERE name LIKE '" + e.db + ".%'")
	})
	for cluster := range primaries {
		if _, err := e.direct[cluster].Exec("CREATE TABLE regions (id INT PRIMARY KEY, name VARCHAR(40) CHARACTER SET utf8mb4)"); err != nil {
			t.Fatal(err)
		}
	}
	setup := pin(t, e.p.open(t, e.db))
	mustExec(t, setup, "CREATE TABLE seqd (id BIGINT NOT NULL PRIMARY KEY, product_id INT NOT NULL, body VARCHAR(60) CHARACTER SET utf8mb4)")
	syncReplicas(t)

	// The value, as each client charset sends it: 中文 is D6D0 CEC4 in gbk.
	const text = "中文 it's \\ ok"
	enc := map[string]string{"utf8mb4": text, "gbk": "\xd6\xd0\xce\xc4 it's \\ ok"}

	// The other client: autocommit INSERTs into comments until stopped.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var otherErr error
	otherRows := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		db := e.p.open(t, e.db)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.Exec("INSERT INTO comments (id, product_id, body) VALUES (?, ?, 'other')", 100000+i, i); err != nil {
				otherErr = fmt.Errorf("row %d: %w", i, err)
				return
			}
			otherRows++
		}
	}()

	type combo struct {
		charset, mode, proto string
		txn                  bool
	}
	var combos []combo
	for _, cs := range []string{"utf8mb4", "gbk"} {
		for _, mode := range []string{"STRICT_TRANS_TABLES", "STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES"} {
			for _, proto := range []string{"text", "prepared"} {
				for _, txn := range []bool{false, true} {
					combos = append(combos, combo{cs, mode, proto, txn})
				}
			}
		}
	}
	ctx := context.Background()
	want := map[int]string{} // product_id → body (as stored, UTF-8)
	for k, cb := range combos {
		name := fmt.Sprintf("%s/%s/%s/txn=%v", cb.charset, cb.mode, cb.proto, cb.txn)
		params := []string{"charset=" + cb.charset}
		if cb.proto == "text" {
			params = append(params, "interpolateParams=true")
		}
		c := pin(t, e.p.open(t, e.db, params...))
		exec := func(q string, args ...any) (int64, int64) {
			t.Helper()
			res, err := c.ExecContext(ctx, q, args...)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, q, err)
			}
			n, _ := res.RowsAffected()
			id, _ := res.LastInsertId()
			return n, id
		}
		exec("SET SESSION sql_mode = '" + cb.mode + "'")
		if cb.txn {
			exec("BEGIN")
		}
		body := fmt.Sprintf("%s #%d", enc[cb.charset], k)
		stored := fmt.Sprintf("%s #%d", text, k)
		p1, p2 := k*10+1, k*10+2
		if n, id := exec("INSERT INTO seqd (product_id, body) VALUES (?, ?), (?, ?)", p1, body, p2, body); n != 2 || id <= 0 {
			t.Fatalf("%s: split INSERT: %d rows, insert id %d", name, n, id)
		}
		if n, id := exec("INSERT INTO seqd (product_id, body) SELECT product_id + 100, CONCAT(body, ' copy') FROM seqd WHERE body = ?", body); n != 2 || id <= 0 {
			t.Fatalf("%s: INSERT … SELECT: %d rows, insert id %d", name, n, id)
		}
		if n, _ := exec("UPDATE seqd SET product_id = product_id + 1000 WHERE body = ?", body); n != 2 {
			t.Fatalf("%s: UPDATE moving rows: %d rows", name, n)
		}
		exec("INSERT INTO regions (id, name) VALUES (?, ?)", k, body)
		exec("INSERT INTO comments (id, product_id, body) VALUES (?, ?, ?)", k, k, fmt.Sprintf("c%d it's \\", k))
		exec("INSERT INTO orders (id, total) VALUES (?, ?)", k, k*10) // business-split: cluster s1
		if cb.txn {
			exec("COMMIT")
		}
		want[p1+1000], want[p2+1000] = stored, stored
		want[p1+100], want[p2+100] = stored+" copy", stored+" copy"
	}
	// A source larger than a batch (128 KB) under autocommit (20,000 rows of
	// about 40 bytes as INSERT text): its rows
	// stream from a connection of their own while batches are written on
	// the statement's, through pools of one connection per server.
	big := pin(t, e.p.open(t, e.db))
	var rows []string
	for i := 0; i < 20000; i++ {
		rows = append(rows, fmt.Sprintf("(%d, %d, '%s')", 500000+i, 500000+i, strings.Repeat("x", 18)))
	}
	if _, err := big.ExecContext(ctx, "INSERT INTO comments (id, product_id, body) VALUES "+strings.Join(rows, ",")); err != nil {
		t.Fatalf("20,000 rows into comments: %v", err)
	}
	res, err := big.ExecContext(ctx, "INSERT INTO seqd (product_id, body) SELECT product_id, body FROM comments WHERE id >= 500000")
	if err != nil {
		t.Fatalf("INSERT … SELECT of 20,000 rows under autocommit: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 20000 {
		t.Fatalf("INSERT … SELECT of 20,000 rows: %d rows", n)
	}
	// Each copied row where its key routes: a sample, and the count.
	for i := 0; i < 20000; i += 401 {
		var body string
		scan(t, big, fmt.Sprintf("/* shardgate:primary */ SELECT body FROM seqd WHERE product_id = %d", 500000+i), &body)
		if body != strings.Repeat("x", 18) {
			t.Fatalf("copied row %d: %q", 500000+i, body)
		}
	}
	var copiedRows int
	scan(t, big, "/* shardgate:primary */ SELECT COUNT(*) FROM seqd WHERE product_id >= 500000", &copiedRows)
	if copiedRows != 20000 {
		t.Fatalf("%d copied rows in seqd, want 20000", copiedRows)
	}
	close(stop)
	wg.Wait()
	if otherErr != nil {
		t.Fatalf("the other client: %v (after %d rows)", otherErr, otherRows)
	}

	// Read back as UTF-8 on the primaries: every row where its key routes.
	r := pin(t, e.p.open(t, e.db, "charset=utf8mb4"))
	ids := map[int64]bool{}
	var keys []int
	for pid := range want {
		keys = append(keys, pid)
	}
	sort.Ints(keys)
	for _, pid := range keys {
		var id int64
		var body string
		scan(t, r, fmt.Sprintf("/* shardgate:primary */ SELECT id, body FROM seqd WHERE product_id = %d", pid), &id, &body)
		if body != want[pid] {
			t.Errorf("product %d: body %q, want %q", pid, body, want[pid])
		}
		if ids[id] {
			t.Errorf("id %d given twice", id)
		}
		ids[id] = true
	}
	var n int
	scan(t, r, "/* shardgate:primary */ SELECT COUNT(DISTINCT id) FROM seqd", &n)
	if n != len(want)+20000 {
		t.Errorf("%d distinct ids in seqd, want %d", n, len(want)+20000)
	}
	// The global table: every copy holds the same rows, values intact.
	var copies []string
	for _, cluster := range []string{"main", "s0", "s1"} {
		var cnt int
		var sum string
		scan(t, e.direct[cluster], "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT(id, name))), 0) FROM regions", &cnt, &sum)
		copies = append(copies, fmt.Sprintf("%d/%s", cnt, sum))
	}
	if copies[0] != copies[1] || copies[1] != copies[2] || !strings.HasPrefix(copies[0], fmt.Sprintf("%d/", len(combos))) {
		t.Errorf("global copies: %v", copies)
	}
	var name string
	scan(t, r, "/* shardgate:primary */ SELECT name FROM regions WHERE id = 1", &name)
	if name != text+" #1" {
		t.Errorf("regions 1: %q", name)
	}
	if got := e.count(t, "comments", "body LIKE 'c%'"); got != len(combos) {
		t.Errorf("%d of the session's comments stored, want %d", got, len(combos))
	}
	if got := e.count(t, "orders", "total = id * 10"); got != len(combos) {
		t.Errorf("%d orders stored, want %d", got, len(combos))
	}
	if got := e.count(t, "comments", "body = 'other'"); got != otherRows {
		t.Errorf("%d of the other client's comments stored, it was told %d", got, otherRows)
	}
}
