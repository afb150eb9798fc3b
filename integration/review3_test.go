package integration

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"
)

var bg = context.Background()

// mustConnR3 is a connection of its own from db, thrown away after the
// test (its session settings must not reach the pool's next user).
func mustConnR3(t *testing.T, db *sql.DB) *sql.Conn {
	t.Helper()
	c, err := db.Conn(bg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Raw(func(any) error { return driver.ErrBadConn })
		c.Close()
	})
	return c
}

// Review of the upsert that moves rows (engine.UpsertMove): the row that
// holds the taken key must be found even when the value the client gave
// is not the value the server stored (rounded, truncated, converted).
func TestReview3UpsertMoveConvertedKey(t *testing.T) {
	e := newMvEnv(t, "")
	e.both(t, "ALTER TABLE items ADD COLUMN sku CHAR(4), ADD UNIQUE KEY by_sku (sku)")
	e.both(t, "UPDATE items SET sku = CONCAT('S', id) WHERE id <= 20")
	cases := []struct{ name, setup, sql string }{
		// 1.4 is stored as 1 in an INT: row 1's key.
		{name: "rounded primary key", sql: "INSERT INTO items (id, pid, qty) VALUES (1.4, 1, 9) ON DUPLICATE KEY UPDATE pid = pid + 100"},
		{name: "string primary key", sql: "INSERT INTO items (id, pid, qty) VALUES ('2', 2, 9) ON DUPLICATE KEY UPDATE pid = pid + 100"},
		{name: "string with spaces", sql: "INSERT INTO items (id, pid, qty) VALUES (' 3', 3, 9) ON DUPLICATE KEY UPDATE pid = pid + 100"},
		// Non-strict: 'S5xyz' is truncated to CHAR(4)'s 'S5xy'... and 'S12x' to row 12's.
		{name: "truncated unique key", setup: "SET SESSION sql_mode = ''", sql: "INSERT INTO items (id, pid, sku) VALUES (800, 5, 'S12xyz') ON DUPLICATE KEY UPDATE pid = pid + 100"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pc := mustConnR3(t, e.px)
			rc := mustConnR3(t, e.ref)
			if c.setup != "" {
				mustExecMv(t, pc, c.setup)
				mustExecMv(t, rc, c.setup)
			}
			r1, err1 := pc.ExecContext(bg, c.sql)
			r2, err2 := rc.ExecContext(bg, c.sql)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("proxy: %v, ref: %v", err1, err2)
			}
			if err1 == nil {
				n1, _ := r1.RowsAffected()
				n2, _ := r2.RowsAffected()
				if n1 != n2 {
					t.Errorf("proxy reports %d affected rows, ref %d", n1, n2)
				}
			}
			e.same(t, "items", "pid")
		})
	}
}
