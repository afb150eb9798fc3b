package integration

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	gmclient "github.com/go-mysql-org/go-mysql/client"
)

// GROUP_CONCAT, STD/VARIANCE and BIT_AND/OR/XOR over groups that span
// shards (GROUP BY other columns than the shard key, or none), compared
// with ref holding every row in one table (loadItems: skewed, NULLs,
// mixed-case and accented names, decimals, datetimes, doubles).
//
// Every value must be identical, except in two kinds of columns, marked
// per query: the statistical aggregates (aggTol), whose last digits depend
// on the order MariaDB adds the rows in (the proxy merges per-shard
// partials), compared with a relative tolerance of 1e-12 or, where the
// column prints fixed decimals, one unit of the last one; and a
// GROUP_CONCAT without ORDER BY (aggBag), whose element order MariaDB
// leaves unspecified, compared as a sorted list of elements.

// aggCase is one query and how its columns are compared.
type aggCase struct {
	q    string
	args []any
	tol  []int          // columns compared with a tolerance
	bag  map[int]string // GROUP_CONCAT columns compared as sorted elements, by separator
}

func aggCases() []aggCase {
	stat := "STD(qty), STDDEV(price), STDDEV_POP(score), STDDEV_SAMP(qty), VARIANCE(price), VAR_POP(score), VAR_SAMP(price), VAR_SAMP(score)"
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	shift := func(cols []int, by int) []int {
		out := make([]int, len(cols))
		for i, c := range cols {
			out[i] = c + by
		}
		return out
	}
	return []aggCase{
		// Bitwise aggregates: exact.
		{q: "SELECT BIT_AND(qty), BIT_OR(qty), BIT_XOR(qty) FROM items"},
		{q: "SELECT BIT_AND(qty), BIT_OR(qty), BIT_XOR(qty), COUNT(*) FROM items WHERE qty > 1000"},
		{q: "SELECT qty % 4 AS g, BIT_AND(id), BIT_OR(price), BIT_XOR(product_id), BIT_AND(qty) FROM items GROUP BY g"},
		{q: "SELECT LOWER(name) AS n, BIT_XOR(id) AS x, BIT_OR(qty) FROM items GROUP BY n HAVING x > 100 ORDER BY x DESC, n"},
		{q: "SELECT DATE(created) AS d, BIT_AND(id), BIT_XOR(qty) FROM items GROUP BY d ORDER BY d DESC LIMIT 7"},
		{q: "SELECT qty, BIT_OR(id) FROM items WHERE qty IS NULL OR qty < 0 GROUP BY qty"},
		// Statistical aggregates.
		{q: "SELECT " + stat + " FROM items", tol: all},
		{q: "SELECT " + stat + " FROM items WHERE qty > 1000", tol: all},
		{q: "SELECT " + stat + " FROM items WHERE id = 17", tol: all},
		{q: "SELECT qty % 5 AS g, " + stat + ", COUNT(*) FROM items GROUP BY g", tol: shift(all, 1)},
		{q: "SELECT DATE(created) AS d, " + stat + " FROM items GROUP BY d", tol: shift(all, 1)},
		{q: "SELECT LOWER(name) AS n, STD(price) AS sd, VAR_SAMP(qty) FROM items GROUP BY n HAVING sd > 250 ORDER BY sd DESC", tol: []int{1, 2}},
		{q: "SELECT qty, VARIANCE(price) AS v, AVG(price) FROM items WHERE qty > 5 GROUP BY qty ORDER BY v, qty LIMIT 6", tol: []int{1}},
		{q: "SELECT qty, STDDEV_SAMP(score), SUM(score) / COUNT(*) FROM items GROUP BY qty HAVING STDDEV_SAMP(score) IS NULL OR COUNT(*) < 20", tol: []int{1}},
		// GROUP_CONCAT with ORDER BY: exact.
		{q: "SELECT qty, GROUP_CONCAT(id ORDER BY id) FROM items GROUP BY qty"},
		{q: "SELECT qty, GROUP_CONCAT(name ORDER BY name, id SEPARATOR '|'), COUNT(*) FROM items GROUP BY qty"},
		{q: "SELECT qty % 3 AS g, GROUP_CONCAT(DISTINCT LOWER(name) ORDER BY LOWER(name) DESC SEPARATOR '; ') FROM items GROUP BY g"},
		{q: "SELECT qty % 4 AS g, GROUP_CONCAT(price, ':', created ORDER BY created DESC, id SEPARATOR '') FROM items GROUP BY g"},
		{q: "SELECT DATE(created) AS d, GROUP_CONCAT(score ORDER BY score, id), MIN(price) FROM items GROUP BY d ORDER BY d LIMIT 20"},
		{q: "SELECT GROUP_CONCAT(DISTINCT product_id ORDER BY product_id DESC), COUNT(*), 'k' FROM items"},
		{q: "SELECT GROUP_CONCAT(name ORDER BY id), COUNT(*), 'k', 2 FROM items WHERE qty > 1000"},
		{q: "SELECT LOWER(name) AS n, GROUP_CONCAT(qty ORDER BY qty DESC, id) AS q, COUNT(*) AS c FROM items GROUP BY n HAVING c > 30 ORDER BY c DESC, n"},
		{q: "SELECT qty, GROUP_CONCAT(DISTINCT qty), GROUP_CONCAT(DISTINCT product_id) FROM items WHERE qty < 3 GROUP BY qty"},
		{q: "SELECT qty, GROUP_CONCAT(id ORDER BY id), STD(price), BIT_OR(id) FROM items GROUP BY qty ORDER BY qty DESC", tol: []int{2}},
		{q: "SELECT GROUP_CONCAT(DISTINCT name ORDER BY id SEPARATOR '/') FROM items WHERE qty BETWEEN 5 AND 9"},
		{q: "SELECT GROUP_CONCAT(DISTINCT LOWER(name)) FROM items"},
		// Inside expressions and HAVING.
		{q: "SELECT qty, IFNULL(GROUP_CONCAT(name ORDER BY id), '-') AS g, COALESCE(GROUP_CONCAT(DISTINCT price ORDER BY price DESC), 'none') FROM items WHERE id < 200 GROUP BY qty"},
		{q: "SELECT LOWER(name) AS n, CASE WHEN COUNT(*) > 40 THEN 'many' ELSE GROUP_CONCAT(qty ORDER BY qty, id) END FROM items GROUP BY n"},
		{q: "SELECT qty, COUNT(*) FROM items GROUP BY qty HAVING GROUP_CONCAT(name) IS NULL OR COUNT(*) > 30"},
		{q: "SELECT IFNULL(GROUP_CONCAT(name ORDER BY id), 'nothing'), 'k' FROM items WHERE qty > 1000"},
		// Beside DISTINCT aggregates of one argument.
		{q: "SELECT qty, COUNT(DISTINCT product_id), GROUP_CONCAT(name ORDER BY id), AVG(DISTINCT product_id), COUNT(*), SUM(price) FROM items GROUP BY qty"},
		{q: "SELECT LOWER(name) AS n, COUNT(DISTINCT qty) AS d, GROUP_CONCAT(DISTINCT qty ORDER BY qty DESC) FROM items GROUP BY n HAVING d > 3 ORDER BY d DESC, n"},
		// WITH ROLLUP merges STD, BIT_* and GROUP_CONCAT over runs of
		// groups too.
		{q: "SELECT qty % 3 AS g, product_id % 2 AS h, GROUP_CONCAT(id ORDER BY id DESC), GROUP_CONCAT(DISTINCT LOWER(name) ORDER BY LOWER(name) SEPARATOR '') FROM items WHERE qty < 4 GROUP BY g, h WITH ROLLUP"},
		{q: "SELECT qty % 3 AS g, product_id % 2 AS h, STD(price), VAR_SAMP(qty), BIT_XOR(id), BIT_AND(qty) FROM items GROUP BY g, h WITH ROLLUP", tol: []int{2, 3}},
		// Without ORDER BY the order of elements is unspecified.
		{q: "SELECT qty, GROUP_CONCAT(name) FROM items GROUP BY qty", bag: map[int]string{1: ","}},
		{q: "SELECT GROUP_CONCAT(name SEPARATOR '|') FROM items WHERE product_id IN (1, 4, 6)", bag: map[int]string{0: "|"}},
		{q: "SELECT qty % 2 AS g, GROUP_CONCAT(created), GROUP_CONCAT(price SEPARATOR ' ') FROM items GROUP BY g", bag: map[int]string{1: ",", 2: " "}},
	}
}

// aggRows runs q on db (text, or prepared with args) and returns its
// columns and rows, each cell quoted or NULL.
func aggRows(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args ...any) ([]string, [][]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				cells[i] = "NULL"
			} else {
				cells[i] = "'" + string(v) + "'"
			}
		}
		out = append(out, cells)
	}
	return cols, out, rows.Err()
}

// aggClose: two printed doubles equal within a relative 1e-12, or, both
// printed with the same fixed decimals, within one unit of the last.
func aggClose(a, b string) bool {
	if a == b {
		return true
	}
	a, b = strings.Trim(a, "'"), strings.Trim(b, "'")
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	if math.Abs(x-y) <= 1e-12*math.Max(math.Abs(x), math.Abs(y)) {
		return true
	}
	// A column with fixed decimals (STD of integers: 4) shows that many.
	// Through a prepared statement the proxy sends the double it read as
	// text from the merge, where MariaDB sends every digit in the binary
	// protocol: the printed one is compared at its decimals.
	_, fa, _ := strings.Cut(a, ".")
	_, fb, _ := strings.Cut(b, ".")
	d := min(len(fa), len(fb))
	return d < 15 && math.Abs(x-y) <= 1.0001*math.Pow(10, -float64(d))
}

// aggDiff compares one case's answers from the proxy and ref ("" when
// they agree).
func aggDiff(c aggCase, pc, rc []string, pr, rr [][]string, perr, rerr error) string {
	if perr != nil || rerr != nil {
		return fmt.Sprintf("errors: proxy %v, ref %v", perr, rerr)
	}
	if strings.Join(pc, "|") != strings.Join(rc, "|") {
		return fmt.Sprintf("columns: proxy %q, ref %q", pc, rc)
	}
	if len(pr) != len(rr) {
		return fmt.Sprintf("proxy %d rows, ref %d rows: proxy %v ref %v", len(pr), len(rr), pr, rr)
	}
	tol := map[int]bool{}
	for _, i := range c.tol {
		tol[i] = true
	}
	norm := func(rows [][]string) [][]string {
		out := make([][]string, len(rows))
		for k, r := range rows {
			out[k] = append([]string(nil), r...)
			for i, sep := range c.bag {
				if v := out[k][i]; v != "NULL" {
					parts := strings.Split(strings.Trim(v, "'"), sep)
					sort.Strings(parts)
					out[k][i] = "'" + strings.Join(parts, sep) + "'"
				}
			}
		}
		if !ordered(c.q) {
			// Rows in any order: sorted by the columns compared exactly.
			key := func(r []string) string {
				var parts []string
				for i, v := range r {
					if !tol[i] {
						parts = append(parts, v)
					}
				}
				return strings.Join(parts, ",")
			}
			sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
		}
		return out
	}
	pn, rn := norm(pr), norm(rr)
	for k := range pn {
		for i := range pn[k] {
			if tol[i] && aggClose(pn[k][i], rn[k][i]) || pn[k][i] == rn[k][i] {
				continue
			}
			return fmt.Sprintf("row %d column %s: proxy %s, ref %s\n    proxy row %v\n    ref row   %v", k, pc[i], pn[k][i], rn[k][i], pn[k], rn[k])
		}
	}
	return ""
}

// aggCompare runs every case on both connections and reports mismatches.
func aggCompare(t *testing.T, label string, proxy, ref interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, cases []aggCase) {
	t.Helper()
	ctx := context.Background()
	for _, c := range cases {
		pc, pr, perr := aggRows(ctx, proxy, c.q, c.args...)
		rc, rr, rerr := aggRows(ctx, ref, c.q, c.args...)
		if d := aggDiff(c, pc, rc, pr, rr, perr, rerr); d != "" {
			t.Errorf("%s: %s\n    %s", label, c.q, d)
		}
	}
}

func TestAggsDifferential(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	cases := aggCases()
	aggCompare(t, "text", e.proxy, e.ref, cases)
	t.Logf("%d queries compared", len(cases))

	// Prepared (server-side: no interpolateParams), the same answers.
	pproxy := e.p.open(t, "shop")
	pref := direct(t, refServer, "shop")
	var prepared []aggCase
	for _, c := range cases {
		if strings.Contains(c.q, "FROM items WHERE") || strings.Contains(c.q, "'k'") {
			continue
		}
		c.q = strings.Replace(c.q, "FROM items", "FROM items WHERE id > ?", 1)
		c.args = []any{-1}
		prepared = append(prepared, c)
	}
	aggCompare(t, "prepared", pproxy, pref, prepared)

	// Inside a transaction, on the transaction's connections.
	ptx, err := e.proxy.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer ptx.Rollback()
	rtx, err := e.ref.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer rtx.Rollback()
	aggCompare(t, "in a transaction", ptx, rtx, cases[:12])
	if err := ptx.Commit(); err != nil {
		t.Fatal(err)
	}

	// What is not merged is refused, never answered wrongly, naming why.
	for _, c := range []struct{ q, why string }{
		{"SELECT qty, GROUP_CONCAT(name ORDER BY 1) FROM items GROUP BY qty", "GROUP_CONCAT ordered by a position over sharded table shop.items"},
		{"SELECT COUNT(DISTINCT name), GROUP_CONCAT(name) FROM items", "COUNT/SUM/AVG(DISTINCT ...) beside GROUP_CONCAT without GROUP BY"},
		{"SELECT qty, CONCAT('<', GROUP_CONCAT(name), '>') FROM items GROUP BY qty", "evaluating \"CONCAT("},
		{"SELECT STD(DISTINCT qty) FROM items", "(DISTINCT ...) over sharded table shop.items"},
		{"SELECT qty, GROUP_CONCAT(name) AS g FROM items GROUP BY qty ORDER BY g", "comparing the strings"},
	} {
		if _, err := e.proxy.Exec(c.q); err == nil {
			t.Errorf("%s: answered", c.q)
		} else if code, _, msg := mysqlErr(t, err); code != 1235 || !strings.Contains(msg, c.why) {
			t.Errorf("%s: %d %s, want 1235 saying %q", c.q, code, msg, c.why)
		}
	}
}

// aggSession is one connection through the proxy and one to ref, set up
// alike.
func aggSession(t *testing.T, e *shardEnv, setup ...string) (*sql.Conn, *sql.Conn) {
	t.Helper()
	ctx := context.Background()
	// Pools of their own, closed at the end: a connection set up here
	// must not go back to a pool another test uses.
	pc, err := e.p.open(t, "shop", "interpolateParams=true").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	rc, err := direct(t, refServer, "shop").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	for _, s := range setup {
		for _, c := range []*sql.Conn{pc, rc} {
			if _, err := c.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	return pc, rc
}

// aggWarnings is SHOW WARNINGS after the last statement: level and code of
// each (MariaDB's row numbers in 1260 count rows in its own scan order,
// which the proxy's merge does not have).
func aggWarnings(t *testing.T, c *sql.Conn) []string {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), "SHOW WARNINGS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(msg, "Row ") || !strings.HasSuffix(msg, " was cut by GROUP_CONCAT()") {
			t.Errorf("warning %q", msg)
		}
		out = append(out, fmt.Sprintf("%s %d", level, code))
	}
	return out
}

// GROUP_CONCAT under character sets other than the columns' and with a
// small group_concat_max_len: cut where MariaDB cuts (counting bytes of
// the result's own character set, at a whole character), with its warning
// once per value cut, and the same column type (VARCHAR at most 512).
func TestAggsGroupConcatSessions(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	cases := []aggCase{
		{q: "SELECT qty, GROUP_CONCAT(name ORDER BY name DESC, id SEPARATOR '·') FROM items GROUP BY qty"},
		{q: "SELECT GROUP_CONCAT(DISTINCT name ORDER BY id) FROM items WHERE name > 'e' AND name < 'v'"},
		{q: "SELECT LOWER(name) AS n, GROUP_CONCAT(DISTINCT LOWER(name), '/', qty ORDER BY qty, LOWER(name)) FROM items GROUP BY n"},
		{q: "SELECT qty % 3 AS g, GROUP_CONCAT(created ORDER BY created, id SEPARATOR '') FROM items GROUP BY g"},
		{q: "SELECT GROUP_CONCAT(name ORDER BY name, id) FROM items WHERE qty > 1000"},
	}
	for _, s := range []struct {
		label string
		setup []string
		cut   bool // some value is cut
	}{
		{label: "latin1", setup: []string{"SET NAMES latin1"}},
		{label: "gbk", setup: []string{"SET NAMES gbk"}},
		{label: "utf8mb4, max 37", setup: []string{"SET NAMES utf8mb4", "SET SESSION group_concat_max_len = 37"}, cut: true},
		{label: "latin1, max 41", setup: []string{"SET NAMES latin1", "SET SESSION group_concat_max_len = 41"}, cut: true},
		{label: "utf8mb4, max 4", setup: []string{"SET SESSION group_concat_max_len = 4"}, cut: true},
		{label: "ONLY_FULL_GROUP_BY", setup: []string{"SET SESSION sql_mode = CONCAT(@@sql_mode, ',ONLY_FULL_GROUP_BY')"}},
	} {
		t.Run(s.label, func(t *testing.T) {
			pc, rc := aggSession(t, e, s.setup...)
			cut := false
			cases := cases
			if strings.HasPrefix(s.label, "ONLY") {
				// The shards group by the elements too, and select only
				// what they group by (GROUP BY an alias of an expression
				// is refused there: see the report).
				cases = []aggCase{cases[0], cases[1], cases[4],
					{q: "SELECT qty, GROUP_CONCAT(DISTINCT price, '/', created ORDER BY created DESC) AS c, STD(price) FROM items GROUP BY qty", tol: []int{2}}}
			}
			for _, c := range cases {
				aggCompare(t, s.label, pc, rc, []aggCase{c})
				pw, rw := aggWarnings(t, pc), aggWarnings(t, rc)
				if strings.Join(pw, ";") != strings.Join(rw, ";") {
					t.Errorf("%s: %s: warnings: proxy %v, ref %v", s.label, c.q, pw, rw)
				}
				cut = cut || len(rw) > 0
			}
			if cut != s.cut {
				t.Errorf("%s: values cut %v, want %v", s.label, cut, s.cut)
			}
			// The column's type follows group_concat_max_len as MariaDB's.
			q := "SELECT qty, GROUP_CONCAT(name ORDER BY id) FROM items GROUP BY qty LIMIT 1"
			pt, rt := aggColumnType(t, pc, q), aggColumnType(t, rc, q)
			if pt != rt {
				t.Errorf("%s: column type: proxy %s, ref %s", s.label, pt, rt)
			}
		})
	}
}

// Every cut point: group_concat_max_len from 4 to 64 under utf8mb4,
// latin1 and gbk, over accented names and a separator of two bytes in
// utf8mb4 (one in latin1), so values are cut inside characters of the
// result's character set and of the client's, and inside the separator.
func TestAggsGroupConcatCuts(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	q := "SELECT qty, GROUP_CONCAT(name ORDER BY name DESC, id SEPARATOR '·') FROM items WHERE qty < 1 AND name > 'd' GROUP BY qty"
	for _, cs := range []string{"utf8mb4", "latin1", "gbk"} {
		pc, rc := aggSession(t, e, "SET NAMES "+cs)
		cuts := 0
		for n := 4; n <= 64; n++ {
			set := fmt.Sprintf("SET SESSION group_concat_max_len = %d", n)
			for _, c := range []*sql.Conn{pc, rc} {
				if _, err := c.ExecContext(context.Background(), set); err != nil {
					t.Fatal(err)
				}
			}
			aggCompare(t, cs+", "+set, pc, rc, []aggCase{{q: q}})
			pw, rw := aggWarnings(t, pc), aggWarnings(t, rc)
			if len(pw) != len(rw) {
				t.Errorf("%s, %s: warnings: proxy %v, ref %v", cs, set, pw, rw)
			}
			cuts += len(rw)
		}
		if cuts == 0 {
			t.Errorf("%s: nothing was cut", cs)
		}
	}
}

// The warnings' count comes in the result's final EOF too, as from one
// server (clients show it without SHOW WARNINGS).
func TestAggsGroupConcatWarningCount(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	q := "SELECT qty, GROUP_CONCAT(name ORDER BY name, id) FROM items GROUP BY qty"
	counts := map[string]uint16{}
	for _, side := range []struct{ label, addr string }{{"proxy", e.p.addr}, {"ref", refServer}} {
		c, err := gmclient.Connect(side.addr, "app", "app", "shop")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Execute("SET SESSION group_concat_max_len = 16"); err != nil {
			t.Fatal(err)
		}
		r, err := c.Execute(q)
		if err != nil {
			t.Fatalf("%s: %v", side.label, err)
		}
		counts[side.label] = r.Warnings
	}
	if counts["ref"] == 0 || counts["proxy"] != counts["ref"] {
		t.Errorf("warnings in the final EOF: proxy %d, ref %d", counts["proxy"], counts["ref"])
	}
}

func aggColumnType(t *testing.T, c *sql.Conn, q string) string {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	length, _ := types[1].Length()
	for rows.Next() {
	}
	return fmt.Sprintf("%s(%d)", types[1].DatabaseTypeName(), length)
}
