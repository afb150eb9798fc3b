package integration

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"testing"
	"time"
)

// Issue 15 item 4: INSERT … ON DUPLICATE KEY UPDATE that gives the shard
// key another value moves the updated row to the table its new key routes
// to, as one server's row would simply change. Every statement runs
// through the proxy and on ref, comparing affected rows, errors and then
// the tables (each row found by its key).
func TestMoveUpsert(t *testing.T) {
	e := newMvEnv(t, "")
	e.both(t, "INSERT INTO events (id, at, pid, qty) SELECT id, at, pid, qty FROM evsrc")
	e.both(t, "ALTER TABLE items ADD COLUMN sku VARCHAR(20), ADD UNIQUE KEY by_sku (sku)")
	e.both(t, "UPDATE items SET sku = CONCAT('S', id) WHERE id <= 20")
	// Affected rows: 1 per row inserted, 2 per row updated, 0 unchanged;
	// with CLIENT_FOUND_ROWS 1 for a row found unchanged.
	found := e.p.open(t, e.db+"?clientFoundRows=true")
	foundRef := direct(t, refServer, e.db+"?clientFoundRows=true")
	// Keys hold per physical table (README, Sharding): a row conflicts
	// with one the proxy finds only in the table its own key routes to,
	// so every row below that should update gives the existing row's pid.
	// The row with id i has pid i%7 and sku 'Si' (i <= 20); events' row i
	// has at as below and pid i%4.
	base := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Hour)
	atOf := func(i int) string {
		return base.Add(time.Duration(i%6)*time.Hour + time.Duration(i)*time.Minute).Format("2006-01-02 15:04:05")
	}
	cases := []struct {
		name, sql string
		args      []any
		table     string
		foundRows bool
		txn       bool
		setup     string // run first on the statement's connection
		err       uint16 // the statement fails (with this code) on both
	}{
		{name: "primary key taken, row moves", sql: "INSERT INTO items (id, pid, qty) VALUES (1, 1, 9) ON DUPLICATE KEY UPDATE pid = pid + 100, qty = VALUES(qty)", table: "items"},
		{name: "new row inserted", sql: "INSERT INTO items (id, pid, qty) VALUES (500, 3, 1) ON DUPLICATE KEY UPDATE pid = pid + 100", table: "items"},
		{name: "unique key taken", sql: "INSERT INTO items (id, pid, sku) VALUES (600, 5, 'S5') ON DUPLICATE KEY UPDATE pid = VALUES(pid) + 40, note = CONCAT(note, '/', VALUES(id))", table: "items"},
		// Row 3 meets the row row 1 moved, at its new place.
		{name: "several rows, one after a moved one", sql: "INSERT INTO items (id, pid, qty) VALUES (2, 2, 1), (601, 6, 2), (2, 20, 3), (3, 3, 4) ON DUPLICATE KEY UPDATE pid = VALUES(pid) * 10, qty = qty + VALUES(qty)", table: "items"},
		{name: "unchanged", sql: "INSERT INTO items (id, pid) VALUES (4, 4) ON DUPLICATE KEY UPDATE pid = pid + 0", table: "items"},
		{name: "unchanged, found rows", sql: "INSERT INTO items (id, pid) VALUES (4, 4) ON DUPLICATE KEY UPDATE pid = pid * 1", table: "items", foundRows: true},
		{name: "moved, found rows", sql: "INSERT INTO items (id, pid) VALUES (4, 4) ON DUPLICATE KEY UPDATE pid = pid + 1", table: "items", foundRows: true},
		{name: "prepared", sql: "INSERT INTO items (id, pid, note) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE pid = ?, note = VALUES(note)", args: []any{6, 6, "p", 66}, table: "items"},
		{name: "in a transaction", sql: "INSERT INTO items (id, pid) VALUES (7, 0), (8, 1) ON DUPLICATE KEY UPDATE pid = pid + 7", table: "items", txn: true},
		// Row 9 moves to pid 5's table with sku 'S12', which row 12 (pid
		// 5) holds: 1062, and the whole statement (its first row too) is
		// undone.
		{name: "duplicate at the new place", sql: "INSERT INTO items (id, pid, sku) VALUES (700, 1, 'new'), (9, 2, 'x') ON DUPLICATE KEY UPDATE pid = 5, sku = 'S12'", table: "items", err: 1062},
		// The row's values are written into the UPDATE as the session
		// reads text: a backslash is a character under
		// NO_BACKSLASH_ESCAPES.
		{name: "gbk, no backslash escapes", setup: "SET NAMES gbk, SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')",
			sql: `INSERT INTO items (id, pid, note) VALUES (10, 3, 'a\'), (11, 4, '\b') ON DUPLICATE KEY UPDATE pid = pid + 30, note = CONCAT(VALUES(note), '\', note)`, table: "items"},
		{name: "hourly bucket", sql: "INSERT INTO events (id, at, pid, qty) VALUES (1, '" + atOf(1) + "', 1, 0), (2, '" + atOf(2) + "', 2, 0), (900, '" + atOf(3) + "', 0, 5) ON DUPLICATE KEY UPDATE at = at + INTERVAL 2 HOUR, qty = qty + 100", table: "events"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			px, ref := e.px, e.ref
			if c.foundRows {
				px, ref = found, foundRef
			}
			run := func(db *sql.DB) (int64, uint16) {
				ctx := context.Background()
				conn, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if c.setup != "" {
					mustExecMv(t, conn, c.setup)
					// The pool's next user must not inherit it.
					defer conn.Raw(func(any) error { return driver.ErrBadConn })
				}
				if c.txn {
					mustExecMv(t, conn, "BEGIN")
				}
				res, err := conn.ExecContext(ctx, c.sql, c.args...)
				if err != nil {
					code, _, _ := mysqlErr(t, err)
					if c.txn {
						mustExecMv(t, conn, "ROLLBACK")
					}
					return 0, code
				}
				if c.txn {
					mustExecMv(t, conn, "COMMIT")
				}
				n, _ := res.RowsAffected()
				return n, 0
			}
			n1, code1 := run(px)
			n2, code2 := run(ref)
			if code1 != c.err || code2 != c.err {
				t.Fatalf("error codes: proxy %d, ref %d, want %d", code1, code2, c.err)
			}
			if n1 != n2 {
				t.Errorf("proxy reports %d affected rows, ref %d", n1, n2)
			}
			key := "pid"
			if c.table == "events" {
				key = "at"
			}
			e.same(t, c.table, key)
		})
	}
	if plan := e.explain(t, "INSERT INTO items (id, pid) VALUES (1, 1) ON DUPLICATE KEY UPDATE pid = 2"); !strings.Contains(plan, "insert, or update and move") {
		t.Errorf("plan:\n%s", plan)
	}
}
