package integration

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Window functions whose windows are not PARTITION BY the shard key are
// computed by the proxy over the rows of every shard (engine.Window). The
// queries run over `items` (loadItems: two shards empty, one holding half
// the rows, NULLs in every nullable column, names equal under the default
// collation spelt differently, decimals, doubles, datetimes) through the
// proxy and on ref; column names, types and scales and the text of every
// value must be identical, in order where the statement fixes it. ROW_NUMBER,
// LAG and LEAD order by id last (a total order): over ties MariaDB numbers
// rows in any order. MIN and MAX of names read LOWER(name): strings equal
// under the collation may come back in either spelling.
var windowQueries = []string{
	// Numbering over all rows, and per partition of a string (NULL one
	// partition, 'apple' and 'APPLE' one partition).
	"SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM items ORDER BY id",
	"SELECT id, name, ROW_NUMBER() OVER (PARTITION BY name ORDER BY id) FROM items ORDER BY id",
	"SELECT id, ROW_NUMBER() OVER (PARTITION BY name ORDER BY created DESC, id) AS rn FROM items ORDER BY rn DESC, id LIMIT 40",
	// Ties and NULLs in the ORDER BY keys (NULL first ascending, last
	// descending).
	"SELECT id, qty, RANK() OVER (ORDER BY qty) AS r, DENSE_RANK() OVER (ORDER BY qty) AS d FROM items ORDER BY id",
	"SELECT id, RANK() OVER (PARTITION BY name ORDER BY price DESC) AS r, DENSE_RANK() OVER (PARTITION BY name ORDER BY price DESC) FROM items ORDER BY id",
	"SELECT id, RANK() OVER (PARTITION BY qty % 4 ORDER BY DATE(created) DESC, LOWER(name)) FROM items ORDER BY id",
	// LAG and LEAD with offsets, over strings, decimals and datetimes.
	"SELECT id, LAG(price) OVER (ORDER BY created, id), LEAD(name, 2) OVER (ORDER BY created, id), LAG(created, 3) OVER (ORDER BY created, id) FROM items ORDER BY id",
	"SELECT id, LAG(qty, 3) OVER (PARTITION BY qty % 3 ORDER BY id), LEAD(score) OVER (PARTITION BY qty % 3 ORDER BY id), LAG(id, 0) OVER (PARTITION BY qty % 3 ORDER BY id) FROM items ORDER BY id",
	"SELECT id, LEAD(price, 5) OVER (PARTITION BY name ORDER BY id) AS l FROM items ORDER BY l DESC, id LIMIT 30",
	// Aggregates: the default frame (peers included), the whole
	// partition, ROWS UNBOUNDED PRECEDING; DECIMAL scales of SUM and AVG.
	"SELECT id, SUM(price) OVER (PARTITION BY name ORDER BY qty) AS s, COUNT(*) OVER (PARTITION BY name ORDER BY qty) FROM items ORDER BY id",
	"SELECT id, AVG(price) OVER (PARTITION BY name), AVG(qty) OVER (PARTITION BY name), COUNT(*) OVER (PARTITION BY name), COUNT(price) OVER (PARTITION BY name), SUM(qty) OVER (PARTITION BY name) FROM items ORDER BY id",
	"SELECT id, SUM(qty) OVER (ORDER BY created, id ROWS UNBOUNDED PRECEDING) AS s, AVG(price) OVER (ORDER BY created, id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM items ORDER BY id",
	"SELECT id, SUM(price) OVER (ORDER BY qty RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), SUM(price) OVER (ORDER BY qty RANGE UNBOUNDED PRECEDING) FROM items ORDER BY id",
	// The argument of the frame's first, last or n-th row (a total order:
	// over ties the frame's rows come in any order).
	"SELECT id, FIRST_VALUE(name) OVER w AS f, LAST_VALUE(price) OVER w AS l, NTH_VALUE(created, 3) OVER w AS n FROM items WINDOW w AS (PARTITION BY qty ORDER BY id) ORDER BY id",
	"SELECT id, LAST_VALUE(qty) OVER (ORDER BY qty) AS l FROM items ORDER BY id",
	"SELECT id, NTH_VALUE(name, 2) OVER (PARTITION BY name ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n, FIRST_VALUE(score) OVER (PARTITION BY name ORDER BY id ROWS 2 PRECEDING) FROM items ORDER BY n, id",
	// Functions of the partition's size (ties share CUME_DIST and
	// PERCENT_RANK; NTILE numbers over a total order).
	"SELECT id, PERCENT_RANK() OVER w AS p, CUME_DIST() OVER w AS c FROM items WINDOW w AS (PARTITION BY name ORDER BY qty DESC) ORDER BY id",
	"SELECT id, NTILE(7) OVER (PARTITION BY qty % 4 ORDER BY created, id) AS t, NTILE(1000) OVER (PARTITION BY qty % 4 ORDER BY created, id) FROM items ORDER BY t, id",
	// Moving frames: the row and n rows before it.
	"SELECT id, SUM(price) OVER (PARTITION BY name ORDER BY created, id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s, AVG(qty) OVER (PARTITION BY name ORDER BY created, id ROWS 6 PRECEDING), COUNT(*) OVER (PARTITION BY name ORDER BY created, id ROWS 3 PRECEDING), COUNT(price) OVER (PARTITION BY name ORDER BY created, id ROWS 1 PRECEDING) FROM items ORDER BY id",
	"SELECT id, MIN(price) OVER (ORDER BY id ROWS 4 PRECEDING) AS mn, MAX(LOWER(name)) OVER (ORDER BY id ROWS 2 PRECEDING), SUM(score) OVER (ORDER BY id ROWS 3 PRECEDING), MAX(qty) OVER (ORDER BY id ROWS CURRENT ROW) FROM items ORDER BY mn, id",
	"SELECT id, MIN(LOWER(name)) OVER (ORDER BY id) AS mn FROM items ORDER BY id",
	"SELECT id, MAX(UPPER(name)) OVER (ORDER BY qty DESC) FROM items ORDER BY id",
	"SELECT id, MAX(created) OVER (PARTITION BY qty) AS mx, MAX(price) OVER (PARTITION BY qty ORDER BY id ROWS UNBOUNDED PRECEDING), MIN(price) OVER (PARTITION BY qty ORDER BY id) FROM items ORDER BY id",
	"SELECT id, SUM(score) OVER (), AVG(score) OVER (), COUNT(*) OVER (), MIN(qty) OVER () FROM items ORDER BY id",
	"SELECT id, AVG(score) OVER (PARTITION BY qty ORDER BY price DESC), COUNT(name) OVER (PARTITION BY qty ORDER BY price DESC) FROM items ORDER BY id",
	"SELECT id, SUM(qty) OVER (PARTITION BY DATE(created) ORDER BY id), COUNT(*) OVER (PARTITION BY DATE(created)) FROM items ORDER BY id",
	// Named windows, SELECT *, a WHERE that leaves few rows or none.
	"SELECT id, SUM(qty) OVER w AS s, ROW_NUMBER() OVER w AS rn, RANK() OVER w FROM items WINDOW w AS (PARTITION BY LOWER(name) ORDER BY id) ORDER BY id",
	"SELECT *, ROW_NUMBER() OVER (ORDER BY price DESC, id) AS rn FROM items ORDER BY id",
	"SELECT *, SUM(qty) OVER (PARTITION BY name) AS s, LAG(name) OVER (PARTITION BY name ORDER BY id) AS l FROM items ORDER BY s DESC, l, id LIMIT 60",
	"SELECT id, ROW_NUMBER() OVER (ORDER BY id), SUM(price) OVER () FROM items WHERE product_id IN (4, 1) ORDER BY id",
	"SELECT id, ROW_NUMBER() OVER (ORDER BY id), SUM(price) OVER () FROM items WHERE qty > 1000",
	// A window's keys name the table's columns, a select alias of the
	// same name notwithstanding; the statement's ORDER BY names the alias.
	"SELECT qty AS price, ROW_NUMBER() OVER (ORDER BY price DESC, id) AS rn, id FROM items ORDER BY price, id",
	"SELECT qty AS price, SUM(id) OVER (PARTITION BY price) AS s, id FROM items ORDER BY id",
	"SELECT LOWER(name) AS ln, COUNT(*) OVER (PARTITION BY ln ORDER BY qty + 0) AS n, id FROM items ORDER BY id",
	// Windows without an ORDER BY beside ordered ones of the same
	// PARTITION BY: their frame is the whole partition.
	"SELECT id, RANK() OVER (PARTITION BY name ORDER BY qty) AS r, SUM(qty) OVER (PARTITION BY name) AS s, COUNT(*) OVER (PARTITION BY name) FROM items ORDER BY id",
	// Partitioned by the shard key of an outer join's inner side: its
	// NULL-extended rows (from every shard) are one partition.
	"SELECT b.id, COUNT(*) OVER (PARTITION BY a.product_id) AS n, SUM(b.qty) OVER (PARTITION BY a.product_id ORDER BY b.id) FROM items a RIGHT JOIN items b ON a.product_id = b.product_id AND a.id = b.id AND a.qty > 5 ORDER BY b.id",
	// Over groups of the shard key (whole on each shard, HAVING there).
	"SELECT product_id, COUNT(*) AS n, SUM(COUNT(*)) OVER () AS t, RANK() OVER (ORDER BY COUNT(*) DESC) AS r, AVG(SUM(price)) OVER (ORDER BY COUNT(*) DESC) FROM items GROUP BY product_id ORDER BY product_id",
	"SELECT product_id, SUM(qty) AS s, ROW_NUMBER() OVER (ORDER BY SUM(qty) DESC, product_id) AS rn FROM items GROUP BY product_id HAVING COUNT(*) > 20 ORDER BY rn LIMIT 5",
	// A part of a UNION ALL, computed as it would be alone.
	"SELECT id, ROW_NUMBER() OVER (ORDER BY price, id) AS rn FROM items UNION ALL SELECT id, COUNT(*) OVER () FROM items WHERE id < 5",
	// Inside a derived table (run first, over its shards).
	"SELECT t.id, t.rn FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY name ORDER BY price DESC, id) AS rn FROM items) t WHERE t.rn <= 2 ORDER BY t.id",
	// Without an ORDER BY the row order is not fixed: compared sorted.
	"SELECT id, DENSE_RANK() OVER (PARTITION BY product_id % 3 ORDER BY qty) FROM items",
	"SELECT id, SUM(price) OVER (PARTITION BY name) FROM items",
	// ORDER BY a window function's value, and a LIMIT.
	"SELECT id, RANK() OVER (ORDER BY price DESC) AS r FROM items ORDER BY r, id LIMIT 10 OFFSET 5",
	"SELECT id, SUM(qty) OVER (PARTITION BY name ORDER BY id) FROM items ORDER BY 2 DESC, 1 LIMIT 20",
	// ORDER BY a window value that is a string: by its collation.
	"SELECT id, LAG(name) OVER (ORDER BY id) AS l FROM items ORDER BY l, id",
	"SELECT id, MAX(LOWER(name)) OVER (PARTITION BY qty) AS m, LEAD(name, 2) OVER (PARTITION BY qty ORDER BY id) AS ld FROM items ORDER BY m DESC, ld, id LIMIT 50",
	"SELECT id, MIN(created) OVER (PARTITION BY name ORDER BY id) AS mc FROM items ORDER BY mc DESC, 1",
}

// windowRefusals are answered with 1235 naming what is not computed.
var windowRefusals = map[string]string{
	"SELECT id, ROW_NUMBER() OVER (ORDER BY id) + 1 FROM items":                                  "inside an expression",
	"SELECT qty, COUNT(*), RANK() OVER (ORDER BY COUNT(*)) FROM items GROUP BY qty":              "GROUP BY includes its shard key",
	"SELECT SUM(qty), RANK() OVER (ORDER BY SUM(qty)) FROM items":                                "GROUP BY includes its shard key",
	"SELECT id, SUM(qty) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING) FROM items": "frame",
}

// windowResult is a result with its column definitions, as text.
func windowResult(rows *sql.Rows, err error) (cols []string, out []string, _ error) {
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, nil, err
	}
	for _, c := range types {
		p, s, _ := c.DecimalSize()
		cols = append(cols, fmt.Sprintf("%s %s(%d,%d)", c.Name(), c.DatabaseTypeName(), p, s))
	}
	for rows.Next() {
		vals := make([]sql.RawBytes, len(types))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = "NULL"
			if v != nil {
				parts[i] = "'" + string(v) + "'"
			}
		}
		out = append(out, strings.Join(parts, ","))
	}
	return cols, out, rows.Err()
}

// windowDiff compares a result of the proxy's with ref's.
func windowDiff(q string, pc, pr []string, perr error, rc, rr []string, rerr error) string {
	if perr != nil || rerr != nil {
		return fmt.Sprintf("errors: proxy %v, ref %v", perr, rerr)
	}
	if strings.Join(pc, "|") != strings.Join(rc, "|") {
		return fmt.Sprintf("columns: proxy %q, ref %q", pc, rc)
	}
	if !windowOrdered(q) {
		pr, rr = sortedCopy(pr), sortedCopy(rr)
	}
	if len(pr) != len(rr) {
		return fmt.Sprintf("proxy %d rows, ref %d rows; proxy %v ref %v", len(pr), len(rr), head(pr), head(rr))
	}
	for i := range pr {
		if pr[i] != rr[i] {
			return fmt.Sprintf("row %d: proxy %s, ref %s", i, pr[i], rr[i])
		}
	}
	return ""
}

// windowOrdered: the statement has an ORDER BY of its own (not only in
// its windows).
func windowOrdered(q string) bool {
	i := strings.LastIndex(strings.ToUpper(q), "ORDER BY")
	return i >= 0 && strings.Count(q[i:], ")") <= strings.Count(q[i:], "(")
}

func TestWindowsDifferential(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	// The binary protocol: the same statements prepared (no
	// interpolation) on a connection of their own.
	prepared := e.p.open(t, "shop")
	compare := func(t *testing.T, q string, run func(q string) (*sql.Rows, error)) {
		t.Helper()
		pc, pr, perr := windowResult(run(q))
		rc, rr, rerr := windowResult(e.ref.Query(q))
		if d := windowDiff(q, pc, pr, perr, rc, rr, rerr); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
	}
	t.Run("text", func(t *testing.T) {
		for _, q := range windowQueries {
			compare(t, q, func(q string) (*sql.Rows, error) { return e.proxy.Query(q) })
		}
	})
	t.Run("prepared", func(t *testing.T) {
		for _, q := range windowQueries {
			compare(t, q, func(q string) (*sql.Rows, error) {
				st, err := prepared.Prepare(q)
				if err != nil {
					return nil, err
				}
				t.Cleanup(func() { st.Close() })
				return st.Query()
			})
		}
		// A placeholder outside the window: the statement is planned with
		// its value.
		q := "SELECT id, SUM(qty) OVER (PARTITION BY name ORDER BY id) FROM items WHERE qty > ? ORDER BY id"
		st, err := prepared.Prepare(q)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		pc, pr, perr := windowResult(st.Query(7))
		rc, rr, rerr := windowResult(e.ref.Query(strings.Replace(q, "?", "7", 1)))
		if d := windowDiff(q, pc, pr, perr, rc, rr, rerr); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
	})
	t.Run("transaction", func(t *testing.T) {
		// Inside a transaction the shards' streams are read one after
		// another on the transaction's connections.
		tx, err := e.proxy.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec("UPDATE items SET qty = qty + 100 WHERE id IN (3, 400)"); err != nil {
			t.Fatal(err)
		}
		rtx, err := e.ref.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer rtx.Rollback()
		if _, err := rtx.Exec("UPDATE items SET qty = qty + 100 WHERE id IN (3, 400)"); err != nil {
			t.Fatal(err)
		}
		for _, q := range windowQueries {
			pc, pr, perr := windowResult(tx.Query(q))
			rc, rr, rerr := windowResult(rtx.Query(q))
			if d := windowDiff(q, pc, pr, perr, rc, rr, rerr); d != "" {
				t.Errorf("%s\n    %s", q, d)
			}
		}
	})
	t.Run("session settings", func(t *testing.T) {
		// A connection character set other than the tables' (the weight
		// strings and values the shards send are in it), and an sql_mode
		// that changes what the statement's text means.
		ctx := context.Background()
		for _, set := range []string{"SET NAMES latin1", "SET SESSION sql_mode = 'ANSI_QUOTES,PIPES_AS_CONCAT,NO_BACKSLASH_ESCAPES'"} {
			pc, err := e.proxy.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := e.ref.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []*sql.Conn{pc, rc} {
				if _, err := c.ExecContext(ctx, set); err != nil {
					t.Fatalf("%s: %v", set, err)
				}
			}
			for _, q := range []string{
				"SELECT id, name, ROW_NUMBER() OVER (PARTITION BY name ORDER BY id) AS rn, LAG(name) OVER (PARTITION BY name ORDER BY id) FROM items ORDER BY id",
				"SELECT id, name || '!' AS x, RANK() OVER (ORDER BY name || '!' DESC) AS r FROM items ORDER BY r, id",
				"SELECT id, MIN(LOWER(name)) OVER (PARTITION BY qty % 5 ORDER BY id) FROM items WHERE name > 'b' ORDER BY id",
			} {
				pcols, prows, perr := windowResult(pc.QueryContext(ctx, q))
				rcols, rrows, rerr := windowResult(rc.QueryContext(ctx, q))
				if d := windowDiff(q, pcols, prows, perr, rcols, rrows, rerr); d != "" {
					t.Errorf("%s; %s\n    %s", set, q, d)
				}
			}
			// Back to the pool's defaults before another test takes them.
			pc.Raw(func(any) error { return driver.ErrBadConn })
			rc.Raw(func(any) error { return driver.ErrBadConn })
			pc.Close()
			rc.Close()
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		// Plans are shared: clients running the same statements at once
		// each get their own answers.
		var wg sync.WaitGroup
		for c := 0; c < 4; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for i := range windowQueries {
					q := windowQueries[(i+c*7)%len(windowQueries)]
					pc, pr, perr := windowResult(e.proxy.Query(q))
					rc, rr, rerr := windowResult(e.ref.Query(q))
					if d := windowDiff(q, pc, pr, perr, rc, rr, rerr); d != "" {
						t.Errorf("client %d: %s\n    %s", c, q, d)
					}
				}
			}(c)
		}
		wg.Wait()
	})
	t.Run("refused", func(t *testing.T) {
		for q, why := range windowRefusals {
			_, err := e.proxy.Exec(q)
			if code, _, msg := mysqlErr(t, err); code != 1235 || !strings.Contains(msg, why) {
				t.Errorf("%s: %d %s, want 1235 naming %q", q, code, msg, why)
			}
		}
	})
	t.Run("explain", func(t *testing.T) {
		// EXPLAIN SHARDGATE names the primitive and what it computes.
		rows, err := e.proxy.Query("EXPLAIN SHARDGATE SELECT id, RANK() OVER (PARTITION BY name ORDER BY qty) AS r FROM items ORDER BY r, id LIMIT 3")
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(rowsText(t, "EXPLAIN SHARDGATE", rows), "\n")
		for _, want := range []string{
			"merge: merge window partitions by h0 asc, h2 asc; compute windows RANK() OVER (PARTITION BY `name` ORDER BY `qty`); sort in memory by `r`, `id`; limit 3 offset 0",
			"\n      Window RANK() OVER (PARTITION BY `name` ORDER BY `qty`) partition by h0 asc order by h2 asc\n        MergeSort by h0 asc, h2 asc",
		} {
			if !strings.Contains(plan, want) {
				t.Errorf("EXPLAIN SHARDGATE lacks %q:\n%s", want, plan)
			}
		}
	})
	// What MariaDB refuses, the proxy does not answer either (the shards
	// refuse it as ref does): RANK without ORDER BY.
	for _, q := range []string{
		"SELECT id, RANK() OVER (PARTITION BY name) FROM items",
	} {
		_, perr := e.proxy.Exec(q)
		_, rerr := e.ref.Exec(q)
		if perr == nil || rerr == nil {
			t.Errorf("%s: proxy %v, ref %v: both must fail", q, perr, rerr)
			continue
		}
		pcode, _, _ := mysqlErr(t, perr)
		rcode, _, _ := mysqlErr(t, rerr)
		if pcode != rcode {
			t.Errorf("%s: proxy %v, ref %v", q, perr, rerr)
		}
	}
}
