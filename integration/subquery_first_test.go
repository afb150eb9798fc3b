package integration

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	gmclient "github.com/go-mysql-org/go-mysql/client"
	gmmysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
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

// A scalar subquery that is a whole field of the select list runs first
// too: its value is written in its place, and the column is described as
// one server describes the subquery (engine.Retype), not as the literal.
// Every column definition is compared whole, byte for byte as the client
// reads it, with the text protocol and server-side prepared statements.
func TestSelectListSubqueries(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	loadPicks(t, e)
	e.both("DROP TABLE IF EXISTS kinds")
	e.both("CREATE TABLE kinds (id INT PRIMARY KEY, u INT UNSIGNED NOT NULL, d DATE, t TIME(2), ts TIMESTAMP NULL, vb VARBINARY(10), ch CHAR(4), y YEAR, b BIT(3), fl FLOAT, e ENUM('x','y'), tx TEXT)")
	e.dropAtEnd("kinds")
	e.both("INSERT INTO kinds VALUES (1, 7, '2026-11-27', '-10:00:00.5', '2026-11-27 10:00:00', X'00ff', 'ab', 2024, b'101', 1.1, 'y', 'text')")
	syncReplicas(t)

	queries := []string{
		// Over the sharded table, beside an unsharded one and beside itself.
		"SELECT id, (SELECT COUNT(*) FROM items) AS n FROM picks ORDER BY id",
		"SELECT id, (SELECT AVG(price) FROM items) AS a, (SELECT MAX(created) FROM items) AS m, (SELECT SUM(score) FROM items WHERE qty > 3) AS s FROM picks ORDER BY id",
		"SELECT id, (SELECT MAX(name) FROM items WHERE qty > 2) AS m FROM picks WHERE id < 3 ORDER BY id",
		"SELECT i.id, (SELECT MAX(p.name) FROM picks p) AS top, i.qty FROM items i ORDER BY i.id LIMIT 5",
		"SELECT qty, COUNT(*), (SELECT COUNT(*) FROM picks) AS picks FROM items GROUP BY qty ORDER BY qty",
		// Named by its text when it has no alias; a plain column of the
		// other table; no row (NULL); the last field after a wildcard.
		"SELECT id, (SELECT name FROM picks WHERE id = 2) FROM items ORDER BY id LIMIT 3",
		"SELECT id, (SELECT product_id FROM picks WHERE id = 1) AS p FROM items ORDER BY id LIMIT 3",
		"SELECT id, (SELECT name FROM picks WHERE id = 99) AS missing FROM items ORDER BY id LIMIT 2",
		"SELECT *, (SELECT COUNT(*) FROM items WHERE qty > 5) AS many FROM picks ORDER BY id",
		"SELECT ((SELECT MIN(id) FROM items)) AS paren, id FROM picks ORDER BY id",
		// Each type of column a subquery can return.
		"SELECT id, (SELECT u FROM kinds) AS u, (SELECT d FROM kinds) AS d, (SELECT t FROM kinds) AS t, (SELECT ts FROM kinds) AS ts FROM items ORDER BY id LIMIT 2",
		"SELECT id, (SELECT vb FROM kinds) AS vb, (SELECT ch FROM kinds) AS ch, (SELECT y FROM kinds) AS y, (SELECT fl FROM kinds) AS fl FROM items ORDER BY id LIMIT 2",
		// MariaDB's own errors for what the subquery returns.
		"SELECT id, (SELECT id FROM picks) AS many FROM items",
		"SELECT id, (SELECT id, name FROM picks WHERE id = 1) AS two FROM items",
	}
	type side struct {
		label string
		conn  *gmclient.Conn
	}
	var sides []side
	for _, s := range []struct{ label, addr string }{{"proxy", e.p.addr}, {"ref", refServer}} {
		c, err := gmclient.Connect(s.addr, "app", "app", "shop")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sides = append(sides, side{s.label, c})
	}
	// answer is a result as the client reads it: every column definition
	// whole, every value, or the error. like is ref's result for the same
	// statement (nil for ref's own). The select-list subqueries' columns
	// are compared whole; the others by name and type, since the proxy's
	// UNION ALL per cluster leaves a table's names and key flags out of a
	// read over shards (docs/reads.md).
	answer := func(c *gmclient.Conn, q string, prepared bool, like *gmmysql.Result) (string, *gmmysql.Result) {
		var r *gmmysql.Result
		var err error
		if prepared {
			var st *gmclient.Stmt
			if st, err = c.Prepare(q); err == nil {
				r, err = st.Execute()
				st.Close()
			}
		} else {
			r, err = c.Execute(q)
		}
		if err != nil {
			var me *gmmysql.MyError
			if errors.As(err, &me) {
				return fmt.Sprintf("error %d %s", me.Code, me.Message), nil
			}
			return "error " + err.Error(), nil
		}
		if like == nil {
			like = r
		}
		var b strings.Builder
		for i, f := range r.Fields {
			name := string(f.Name)
			subquery := strings.Contains(q, ") AS "+name) || strings.HasPrefix(name, "(SELECT")
			if i < len(like.Fields) && len(like.Fields[i].Table) > 0 || !subquery {
				fmt.Fprintf(&b, "%q not a subquery's charset=%d length=%d type=%d decimals=%d\n", f.Name, f.Charset, f.ColumnLength, f.Type, f.Decimal)
				continue
			}
			fmt.Fprintf(&b, "%q db=%q table=%q org_table=%q org_name=%q charset=%d length=%d type=%d flags=%#x decimals=%d\n",
				f.Name, f.Schema, f.Table, f.OrgTable, f.OrgName, f.Charset, f.ColumnLength, f.Type, f.Flag, f.Decimal)
		}
		for _, row := range r.Values {
			for _, v := range row {
				fmt.Fprintf(&b, "%v|", v.Value())
			}
			b.WriteString("\n")
		}
		return b.String(), r
	}
	for _, q := range queries {
		for _, prepared := range []bool{false, true} {
			want, ref := answer(sides[1].conn, q, prepared, nil)
			got, _ := answer(sides[0].conn, q, prepared, ref)
			if got != want {
				t.Errorf("%s (prepared %v):\nproxy:\n%s\nref:\n%s", q, prepared, got, want)
			}
			if strings.HasPrefix(got, "error 1235") {
				t.Errorf("%s: refused: %s", q, got)
			}
		}
	}

	// In combination: gbk, NO_BACKSLASH_ESCAPES, inside a transaction that
	// wrote the row the subquery reads (its own uncommitted value, with a
	// quote, a backslash and a character gbk has), text and prepared.
	e.both("INSERT INTO picks VALUES (7, 4, 'it''s \\ 中', 'x')")
	syncReplicas(t)
	for _, side := range sides {
		for _, q := range []string{"SET NAMES gbk", "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'", "BEGIN", "UPDATE picks SET name = CONCAT(name, '!') WHERE id = 7"} {
			if _, err := side.conn.Execute(q); err != nil {
				t.Fatalf("%s: %s: %v", side.label, q, err)
			}
		}
	}
	for _, q := range []string{
		"SELECT id, (SELECT name FROM picks WHERE id = 7) AS n FROM items ORDER BY id LIMIT 3",
		"SELECT (SELECT CONCAT(name, '\\') FROM picks WHERE id = 7) AS n, COUNT(*) FROM items",
	} {
		for _, prepared := range []bool{false, true} {
			want, ref := answer(sides[1].conn, q, prepared, nil)
			got, _ := answer(sides[0].conn, q, prepared, ref)
			if got != want || strings.HasPrefix(got, "error") {
				t.Errorf("gbk, NO_BACKSLASH_ESCAPES, in a transaction: %s (prepared %v):\nproxy:\n%s\nref:\n%s", q, prepared, got, want)
			}
		}
	}
	for _, side := range sides {
		for _, q := range []string{"ROLLBACK", "SET NAMES utf8mb4", "SET SESSION sql_mode = DEFAULT"} {
			if _, err := side.conn.Execute(q); err != nil {
				t.Fatalf("%s: %s: %v", side.label, q, err)
			}
		}
	}

	// COM_STMT_PREPARE describes a select-list subquery's column as the
	// EXECUTE will: the subquery described on its own, as a scalar
	// subquery's column (not the NULL the statement is prepared with).
	// (ref's own description is that of its answer: MariaDB describes
	// a scalar subquery alike at PREPARE and at EXECUTE.)
	for _, c := range []struct {
		sql    string
		column int
	}{
		{"SELECT id, (SELECT COUNT(*) FROM items WHERE qty > ?) AS n FROM picks ORDER BY id", 1},
		{"SELECT (SELECT MAX(created) FROM items) AS m, id FROM picks", 0},
		{"SELECT id, (SELECT name FROM picks WHERE id = 2) FROM items WHERE qty > ?", 1},
	} {
		got := preparedColumns(t, e.p.addr, c.sql)
		r, err := sides[1].conn.Execute(strings.ReplaceAll(c.sql, "?", "3"))
		if err != nil {
			t.Fatal(err)
		}
		f := r.Fields[c.column]
		want := wire.AppendColumn(nil, wire.Column{Schema: string(f.Schema), Table: string(f.Table), OrgTable: string(f.OrgTable), Name: string(f.Name), OrgName: string(f.OrgName),
			Charset: f.Charset, Length: f.ColumnLength, Type: f.Type, Flags: f.Flag, Decimals: f.Decimal})
		if len(got) != len(r.Fields) || !bytes.Equal(got[c.column], want) {
			t.Errorf("COM_STMT_PREPARE %s: column %d\nproxy %q\nref   %q", c.sql, c.column, got, want)
		}
	}

	// Types whose description as a subquery's MariaDB derives in ways the
	// proxy does not reproduce are refused with a reason, not answered
	// with another description.
	for _, q := range []string{
		"SELECT id, (SELECT e FROM kinds) AS e FROM items",
		"SELECT id, (SELECT tx FROM kinds) AS tx FROM items",
		"SELECT id, (SELECT b FROM kinds) AS b FROM items",
	} {
		got, _ := answer(sides[0].conn, q, false, nil)
		if !strings.HasPrefix(got, "error 1235 shardgate: the subquery") || !strings.Contains(got, "in the select list returns a column of a type") {
			t.Errorf("%s: %s", q, got)
		}
	}
}

// preparedColumns sends COM_STMT_PREPARE on a connection of its own and
// returns the column definitions of the answer, as the client reads them.
func preparedColumns(t *testing.T, addr, sql string) [][]byte {
	t.Helper()
	_, _, cols := (&psClient{t: t, c: rawLogin(t, addr)}).prepareDefs(sql)
	return cols
}
