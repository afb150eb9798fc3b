package integration

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// Uncorrelated subqueries over tables a statement cannot read together
// with the rest run first, their values in their place
// (planner/subquery_first.go): the answers equal one server's.
func TestSubqueriesFirstDifferential(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	loadPicks(t, e)

	queries := []string{
		"SELECT id, name FROM items WHERE product_id IN (SELECT product_id FROM picks WHERE note = 'hot') ORDER BY id",
		// A NULL among NOT IN's values: no row is surely outside the list.
		"SELECT id FROM items WHERE product_id NOT IN (SELECT product_id FROM picks) ORDER BY id",
		"SELECT id FROM items WHERE product_id NOT IN (SELECT product_id FROM picks WHERE product_id IS NOT NULL) ORDER BY id",
		"SELECT COUNT(*) FROM items WHERE product_id IN (SELECT product_id FROM picks WHERE note = 'nothing')",
		"SELECT COUNT(*) FROM items WHERE product_id NOT IN (SELECT product_id FROM picks WHERE note = 'nothing')",
		"SELECT COUNT(*) FROM items WHERE EXISTS (SELECT 1 FROM picks WHERE note = 'nothing')",
		"SELECT COUNT(*) FROM items WHERE NOT EXISTS (SELECT 1 FROM picks WHERE note = 'nothing') AND qty > 3",
		// Strings compared by the column's case- and accent-blind collation.
		"SELECT COUNT(*), SUM(price) FROM items WHERE name IN (SELECT name FROM picks)",
		"SELECT id, name FROM items WHERE name IN (SELECT LOWER(name) FROM picks WHERE id < 3) ORDER BY id",
		// A scalar subquery over the sharded table itself, beside it.
		"SELECT id, price FROM items WHERE price > (SELECT AVG(price) + 300 FROM items WHERE qty > 5) ORDER BY id",
		"SELECT id FROM items WHERE product_id = (SELECT MAX(product_id) FROM picks) ORDER BY id",
		"SELECT id FROM items WHERE product_id = (SELECT product_id FROM picks WHERE id = 99) ORDER BY id",
		// The outer table unsharded, the subquery sharded.
		"SELECT id, name FROM picks WHERE product_id IN (SELECT product_id FROM items WHERE qty > 20) ORDER BY id",
		"SELECT product_id, COUNT(*), SUM(qty) FROM items WHERE product_id IN (SELECT product_id FROM picks) GROUP BY product_id ORDER BY product_id",
		"SELECT qty % 3 AS g, COUNT(*) FROM items WHERE product_id IN (SELECT product_id FROM picks WHERE note <> 'cold') GROUP BY g ORDER BY g",
		// An unqualified name is the subquery's own column when its table
		// has one (here picks.product_id = picks.product_id).
		"SELECT COUNT(*) FROM items WHERE EXISTS (SELECT 1 FROM picks WHERE picks.product_id = product_id)",
		// Inside a derived table, and two at once.
		"SELECT d.id FROM (SELECT id FROM items WHERE product_id IN (SELECT product_id FROM picks WHERE note = 'cold')) AS d ORDER BY d.id",
		"SELECT id FROM items WHERE product_id IN (SELECT product_id FROM picks WHERE note = 'hot') AND qty > (SELECT MIN(id) FROM picks) ORDER BY id",
	}
	for _, q := range queries {
		if d := diff(e.proxy, e.ref, q); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
	}

	// EXPLAIN SHARDGATE shows what runs first and the statement after.
	r := query(e.proxy, "EXPLAIN SHARDGATE SELECT id FROM items WHERE product_id IN (SELECT product_id FROM picks WHERE note = 'hot')")
	if plan := strings.Join(r.rows, "\n"); r.err != nil || !strings.Contains(plan, "subquery 0, run first: SELECT `product_id` FROM `picks`") || !strings.Contains(plan, "IN {subquery 0}") {
		t.Errorf("EXPLAIN SHARDGATE: %v\n%s", r.err, plan)
	}

	// Prepared, with the subquery's own parameter.
	ps, err := e.proxy.Prepare("SELECT id FROM items WHERE product_id IN (SELECT product_id FROM picks WHERE note = ?) ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	total := 0
	for _, note := range []string{"hot", "cold", "none"} {
		// The proxy executes the server-side prepared statement; ref runs
		// the same text with the value.
		cells := func(rows *sql.Rows, err error) [][]string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			_, out, err := rowsCells(t, rows)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		got := cells(ps.Query(note))
		want := cells(e.ref.Query("SELECT id FROM items WHERE product_id IN (SELECT product_id FROM picks WHERE note = ?) ORDER BY id", note))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("prepared, note %s: proxy %v, ref %v", note, got, want)
		}
		total += len(want)
	}
	if total == 0 {
		t.Error("the prepared statement found no rows for any note: it proves nothing")
	}

	// Errors as one server gives them, or a refusal naming why.
	for _, c := range []struct {
		q    string
		code uint16
		msg  string
	}{
		{"SELECT id FROM items WHERE product_id = (SELECT product_id FROM picks)", 1242, "more than 1 row"},
		{"SELECT id FROM items WHERE product_id IN (SELECT product_id, id FROM picks)", 1241, "1 column"},
		{"SELECT id FROM items i WHERE EXISTS (SELECT 1 FROM picks p WHERE p.product_id = i.product_id)", 1235, ""},
		{"SELECT id FROM items WHERE EXISTS (SELECT 1 FROM picks WHERE picks.id = qty)", 1235, "names a column its own tables lack"},
	} {
		_, err := e.proxy.Exec(c.q)
		if err == nil {
			t.Errorf("%s: answered", c.q)
			continue
		}
		if code, _, msg := mysqlErr(t, err); code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %s, want %d %q", c.q, code, msg, c.code, c.msg)
		}
		if c.code != 1235 {
			if _, err := e.ref.Exec(c.q); err == nil {
				t.Errorf("%s: ref answered", c.q)
			} else if code, _, _ := mysqlErr(t, err); code != c.code {
				t.Errorf("%s: ref %d, proxy %d", c.q, code, c.code)
			}
		}
	}
}

// loadPicks creates picks, an unsharded table on main (items lives on s0
// and s1), through the proxy and on ref.
func loadPicks(t *testing.T, e *shardEnv) {
	e.both("DROP TABLE IF EXISTS picks")
	e.both("CREATE TABLE picks (id INT PRIMARY KEY, product_id INT, name VARCHAR(50), note VARCHAR(20))")
	e.dropAtEnd("picks")
	e.both("INSERT INTO picks VALUES (1, 4, 'APPLE', 'hot'), (2, 9, 'élan', 'hot'), (3, 31, 'O''Brien', 'cold'), (4, NULL, 'zebra', 'cold'), (5, 16, NULL, 'hot'), (6, 12, 'naïve', 'none')")
	syncReplicas(t)
}

// In a distributed transaction the subquery runs on the transaction's own
// connection: it sees the transaction's uncommitted rows, which another
// client does not.
func TestSubqueriesFirstInTransaction(t *testing.T) {
	ctx := context.Background()
	e := newTxnEnvTables(t, schemaMode("xa"), xaRules)
	c := e.session(t)
	other := e.session(t)
	mustExec(t, c, "INSERT INTO comments VALUES (1, 7, 'seven'), (2, 8, 'eight'), (3, 9, 'nine')")
	q := "SELECT COUNT(*) FROM comments WHERE product_id IN (SELECT id FROM notes WHERE body = 'pick')"
	read := func(conn *sql.Conn) int {
		t.Helper()
		var n int
		if err := conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	mustExec(t, c, "BEGIN")
	mustExec(t, c, "INSERT INTO notes VALUES (7, 'pick'), (9, 'pick')")
	if n := read(c); n != 2 {
		t.Errorf("inside the transaction: %d rows, want 2 (its own notes)", n)
	}
	if n := read(other); n != 0 {
		t.Errorf("another client: %d rows, want 0 (the notes are not committed)", n)
	}
	mustExec(t, c, "ROLLBACK")
	if n := read(c); n != 0 {
		t.Errorf("after ROLLBACK: %d rows, want 0", n)
	}
}
