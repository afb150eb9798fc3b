package integration

import (
	"database/sql"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MIN/MAX of strings equal under the collation ('apple', 'APPLE') may
// return either spelling, on one MySQL as through the proxy, so the suite
// compares MIN(LOWER(name)) where such ties exist.
//
// The differential suite: every SELECT runs through the proxy over `items`
// (8 tables on s0 and s1, skewed: comments_5 and _6 empty, _0 holding half
// the rows) and on ref, holding the same rows in one table. Column names and
// the text of every value must be identical, and so must the order wherever
// the statement fixes it.

var itemNames = []string{"apple", "Apple", "APPLE", "banana", "Banana", "cherry", "Zebra", "zebra", "élan", "Éclair", "über", "Über", "naïve", "Ørsted", "", "mango"}

// Products whose rows land in items_0 (half the rows) and elsewhere,
// avoiding items_5 and items_6.
var heavyProducts = []int{4, 6, 7, 16, 20, 24, 50, 56, 59}
var lightProducts = []int{1, 2, 3, 8, 9, 10, 11, 13, 14, 15, 17, 19, 21, 22, 23, 25, 26, 27, 29, 31}

func loadItems(t *testing.T, e *shardEnv) {
	e.both("DROP TABLE IF EXISTS items")
	e.both("CREATE TABLE items (id INT PRIMARY KEY, product_id INT NOT NULL, name VARCHAR(50), price DECIMAL(10,2), qty INT, created DATETIME, score DOUBLE)")
	rng := rand.New(rand.NewSource(7))
	var vals []string
	for id := 1; id <= 600; id++ {
		product := lightProducts[rng.Intn(len(lightProducts))]
		if id <= 300 {
			product = heavyProducts[rng.Intn(len(heavyProducts))]
		}
		nullable := func(v string) string {
			if rng.Intn(10) == 0 {
				return "NULL"
			}
			return v
		}
		name := nullable("'" + itemNames[rng.Intn(len(itemNames))] + "'")
		price := nullable(fmt.Sprintf("%d.%02d", rng.Intn(1000), rng.Intn(100)))
		qty := nullable(strconv.Itoa(rng.Intn(25) - 3))
		created := nullable(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Intn(90*24*60)) * time.Minute).Format("'2006-01-02 15:04:05'"))
		score := nullable(fmt.Sprintf("%d.5", rng.Intn(100)))
		vals = append(vals, fmt.Sprintf("(%d, %d, %s, %s, %s, %s, %s)", id, product, name, price, qty, created, score))
		if len(vals) == 100 {
			e.both("INSERT INTO items (id, product_id, name, price, qty, created, score) VALUES " + strings.Join(vals, ", "))
			vals = nil
		}
	}
	e.dropAtEnd("items")
	// Reads through the proxy go to the shards' replicas (eventual
	// consistency): they must have every row before anything is compared.
	syncReplicas(t)
}

// result is a statement's answer in text form: each row its values quoted
// ('…', NULL unquoted), as one string and cell by cell.
type result struct {
	cols  []string
	rows  []string
	cells [][]string
	err   error
}

func query(db *sql.DB, q string) result {
	rows, err := db.Query(q)
	if err != nil {
		return result{err: err}
	}
	return resultOf(rows)
}

// resultOf reads (and closes) rows.
func resultOf(rows *sql.Rows) result {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return result{err: err}
	}
	r := result{cols: cols}
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return result{err: err}
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = "'" + string(v) + "'"
			}
		}
		r.rows = append(r.rows, strings.Join(parts, ","))
		r.cells = append(r.cells, parts)
	}
	if err := rows.Err(); err != nil {
		return result{err: err}
	}
	return r
}

// ordered: the statement fixes the order of every row.
func ordered(q string) bool {
	u := strings.ToUpper(q)
	return strings.Contains(u, "ORDER BY") || (strings.Contains(u, "GROUP BY") && !strings.Contains(u, "HAVING"))
}

func diff(proxy, ref *sql.DB, q string) string {
	p, r := query(proxy, q), query(ref, q)
	if p.err != nil || r.err != nil {
		return fmt.Sprintf("errors: proxy %v, ref %v", p.err, r.err)
	}
	if strings.Join(p.cols, "|") != strings.Join(r.cols, "|") {
		return fmt.Sprintf("columns: proxy %q, ref %q", p.cols, r.cols)
	}
	pr, rr := p.rows, r.rows
	if !ordered(q) {
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

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func differentialQueries() []string {
	var qs []string
	cols := []string{"name", "price", "qty", "created", "product_id", "score"}
	limits := []string{"", " LIMIT 7", " LIMIT 5 OFFSET 3", " LIMIT 0", " LIMIT 1000 OFFSET 595"}
	for _, c := range cols {
		for _, dir := range []string{"ASC", "DESC"} {
			for _, l := range limits[:3] {
				qs = append(qs, fmt.Sprintf("SELECT id, %s FROM items ORDER BY %s %s, id%s", c, c, dir, l))
			}
		}
	}
	qs = append(qs,
		// DISTINCT aggregates beside others, without GROUP BY (NULLs,
		// an empty input, case-insensitive strings).
		"SELECT COUNT(DISTINCT qty), COUNT(*), SUM(price), MAX(qty) FROM items",
		"SELECT COUNT(DISTINCT name), COUNT(name), MIN(LOWER(name)) FROM items",
		"SELECT 'x', SUM(DISTINCT qty), AVG(DISTINCT qty), COUNT(*) FROM items WHERE product_id < 10",
		"SELECT 'x', COUNT(DISTINCT qty), SUM(qty), AVG(DISTINCT qty) FROM items WHERE product_id = 999999",
		"SELECT COUNT(DISTINCT product_id) + COUNT(*) AS n, MAX(score) FROM items",
		"SELECT * FROM items ORDER BY name, price DESC, id LIMIT 20",
		"SELECT id, name AS n FROM items ORDER BY n DESC, id LIMIT 15",
		"SELECT id, price * 2 AS p2 FROM items ORDER BY p2, id LIMIT 12",
		"SELECT id, qty FROM items ORDER BY 2 DESC, 1 LIMIT 9",
		"SELECT id, LOWER(name) FROM items ORDER BY LOWER(name), id LIMIT 25",
		"SELECT id FROM items ORDER BY id"+limits[3],
		"SELECT id FROM items ORDER BY id"+limits[4],
		"SELECT id, created FROM items WHERE qty > 10 ORDER BY created DESC, id LIMIT 8",
		"SELECT id, name FROM items WHERE name LIKE 'a%' ORDER BY name, id",
	)
	wheres := []string{"", " WHERE qty > 5", " WHERE name IS NULL", " WHERE product_id IN (4, 9, 31)", " WHERE qty > 1000", " WHERE created >= '2026-02-01'"}
	aggs := []string{"COUNT(*)", "COUNT(name)", "SUM(price)", "SUM(qty)", "AVG(qty)", "AVG(price)", "MIN(LOWER(name))", "MAX(LOWER(name))", "MIN(price)", "MAX(created)", "MIN(score)", "MAX(qty)"}
	for _, w := range wheres {
		qs = append(qs, "SELECT "+strings.Join(aggs, ", ")+" FROM items"+w)
		for _, a := range aggs[:6] {
			qs = append(qs, "SELECT "+a+" FROM items"+w)
		}
	}
	qs = append(qs,
		"SELECT COUNT(DISTINCT qty) FROM items",
		"SELECT SUM(DISTINCT qty) FROM items",
		"SELECT COUNT(DISTINCT name) FROM items",
		"SELECT COUNT(DISTINCT qty) FROM items WHERE qty > 1000",
		"SELECT SUM(DISTINCT price) FROM items WHERE qty > 5",
		"SELECT COUNT(*) AS n, AVG(qty) AS a FROM items",
	)
	groups := []string{"product_id", "qty", "qty % 3", "LOWER(name)", "DATE(created)"}
	for _, g := range groups {
		qs = append(qs,
			fmt.Sprintf("SELECT %s, COUNT(*) FROM items GROUP BY %s", g, g),
			fmt.Sprintf("SELECT %s, COUNT(*), SUM(qty), AVG(price), MIN(LOWER(name)), MAX(created) FROM items GROUP BY %s", g, g),
			fmt.Sprintf("SELECT %s AS g, COUNT(*) AS n FROM items GROUP BY g HAVING n > 3", g),
			fmt.Sprintf("SELECT %s AS g, COUNT(*) AS n FROM items GROUP BY g ORDER BY n DESC, g LIMIT 5", g),
			fmt.Sprintf("SELECT %s AS g, SUM(price) FROM items GROUP BY g ORDER BY g DESC", g),
			fmt.Sprintf("SELECT %s, AVG(qty) FROM items WHERE price > 100 GROUP BY %s LIMIT 4", g, g),
			fmt.Sprintf("SELECT %s, MAX(price) FROM items GROUP BY %s HAVING MAX(price) > 500 ORDER BY MAX(price), %s", g, g, g),
			fmt.Sprintf("SELECT DISTINCT %s FROM items ORDER BY %s", g, g),
			fmt.Sprintf("SELECT DISTINCT %s FROM items ORDER BY %s DESC LIMIT 3", g, g),
		)
	}
	qs = append(qs,
		"SELECT product_id, COUNT(*) FROM items GROUP BY product_id HAVING COUNT(*) >= 10 AND SUM(qty) > 50 ORDER BY product_id",
		"SELECT qty, COUNT(*) FROM items GROUP BY qty HAVING qty IS NULL OR qty < 0 ORDER BY qty",
		"SELECT name, COUNT(*) FROM items WHERE name IS NULL GROUP BY name",
		"SELECT product_id, SUM(price) / COUNT(*) > 400 FROM items GROUP BY product_id",
		"SELECT qty, SUM(price) / COUNT(*) > 400 FROM items GROUP BY qty",
		// GROUP BY the shard key: whole groups on each shard, so any
		// aggregate and expression over aggregates is the shards' own.
		"SELECT product_id, COUNT(DISTINCT qty), SUM(price) / COUNT(*), MAX(price) - MIN(price) FROM items GROUP BY product_id",
		"SELECT product_id, GROUP_CONCAT(name ORDER BY id SEPARATOR '|') FROM items GROUP BY product_id ORDER BY product_id DESC",
		"SELECT product_id, ROUND(AVG(score), 2) AS a FROM items GROUP BY product_id HAVING MAX(name) LIKE '%a%' ORDER BY a DESC, product_id LIMIT 4",
		"SELECT product_id, qty, COUNT(*) FROM items GROUP BY product_id, qty HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC, product_id, qty LIMIT 5 OFFSET 1",
		"SELECT i.product_id, STD(i.price), BIT_OR(i.qty) FROM items i GROUP BY i.product_id",
		// DISTINCT aggregates of one argument under GROUP BY another
		// column: shards group by the argument too.
		"SELECT qty, COUNT(DISTINCT product_id), COUNT(*), SUM(price) FROM items GROUP BY qty",
		"SELECT qty, COUNT(DISTINCT name), MAX(price) FROM items GROUP BY qty ORDER BY COUNT(DISTINCT name) DESC, qty",
		"SELECT product_id % 3 AS m, AVG(DISTINCT price), SUM(DISTINCT price), COUNT(price) FROM items GROUP BY m HAVING COUNT(DISTINCT price) > 2 ORDER BY m",
		"SELECT qty, COUNT(DISTINCT created) FROM items GROUP BY qty HAVING AVG(price) > 300 ORDER BY qty LIMIT 3",
		"SELECT DISTINCT qty FROM items",
		"SELECT DISTINCT product_id, qty % 2 FROM items ORDER BY product_id, qty % 2",
		"SELECT id, name FROM items WHERE product_id = 4 ORDER BY name DESC, id LIMIT 5",
		"SELECT COUNT(*) FROM items WHERE product_id = 12",
		"SELECT id, name FROM items WHERE qty = 3",
		"SELECT id, price FROM items LIMIT 5 OFFSET 2",
		"SELECT MIN(LOWER(name)), MAX(UPPER(name)) FROM items",
		"SELECT COUNT(*), MIN(id), MAX(id) FROM items WHERE name = 'apple'",
		"SELECT id, name FROM items WHERE name = 'über' ORDER BY id",
		"SELECT product_id, MIN(created), MAX(created) FROM items GROUP BY product_id ORDER BY MIN(created) DESC, product_id LIMIT 6",
		"SELECT qty, COUNT(*) AS n FROM items GROUP BY qty ORDER BY n, qty LIMIT 4 OFFSET 2",
		// Which spelling DISTINCT keeps of names equal under the collation
		// is undefined on one server too; the spelling-independent form is
		// compared here, the row count and names case-blind below.
		"SELECT DISTINCT LOWER(name) FROM items WHERE name IN ('apple', 'banana', 'zebra') ORDER BY 1",
		// Expressions over aggregates whose groups span shards: the proxy
		// computes them over the merged values, in the type MariaDB gave
		// the expression (decimal scale, integer, double, text).
		"SELECT qty, SUM(price) / COUNT(*), ROUND(AVG(price), 2), MAX(price) - MIN(price), COUNT(*) * 2 FROM items GROUP BY qty",
		"SELECT qty % 3 AS g, ROUND(SUM(price) / COUNT(price), 3) AS r, IFNULL(MAX(name), 'none') FROM items GROUP BY g ORDER BY r DESC, g",
		"SELECT LOWER(name) AS n, CASE WHEN COUNT(*) > 40 THEN 'many' WHEN COUNT(*) > 20 THEN 'some' ELSE 'few' END AS c, SUM(qty) * 1.5 FROM items GROUP BY n",
		"SELECT SUM(price) / COUNT(*), ROUND(AVG(score), 1), ROUND(SUM(score) / 7, 3), TRUNCATE(AVG(price), 1), CEIL(AVG(qty)), FLOOR(AVG(qty)), COUNT(*) DIV 7, COUNT(*) % 7, ABS(MIN(qty) - MAX(qty)) FROM items",
		"SELECT SUM(price) / COUNT(*), COUNT(*) + 1, IFNULL(MAX(qty), -1) FROM items WHERE qty > 1000",
		"SELECT DATE(created) AS d, COALESCE(SUM(qty), 0) + COUNT(*) AS s, NULLIF(COUNT(name), 0) FROM items GROUP BY d ORDER BY s DESC, d LIMIT 5",
		"SELECT qty, IF(SUM(score) > 100, 'high', 'low'), SUM(score) / COUNT(*), AVG(score) * 2, ROUND(AVG(score)), ROUND(SUM(score) / 3, 2) FROM items GROUP BY qty",
		"SELECT qty, SUM(price) / COUNT(*) AS a FROM items GROUP BY qty HAVING a > 400 ORDER BY a, qty",
		"SELECT qty, SUM(price) * qty, MIN(price) * (qty % 4) FROM items GROUP BY qty ORDER BY 2 DESC, qty",
		"SELECT qty, ROUND(MAX(price), -1), ROUND(MIN(price) * 1.005, 2), TRUNCATE(SUM(price), -2) FROM items GROUP BY qty",
		"SELECT qty, CASE COUNT(*) WHEN 1 THEN 'one' WHEN 2 THEN 'two' END, -SUM(qty), NOT COUNT(name) > 5 FROM items GROUP BY qty",
		// An alias inside an ORDER BY expression (the shards compute the
		// key from the field's expression, in parentheses).
		"SELECT id, price * 2 AS p FROM items ORDER BY p + 1 DESC, id LIMIT 5",
		"SELECT id, qty + 1 AS p FROM items ORDER BY p * 2, id LIMIT 7",
		// ORDER BY a MIN/MAX of strings: by the column's collation (the
		// merged value's weight string), not by bytes.
		"SELECT qty, MIN(LOWER(name)) AS m FROM items GROUP BY qty ORDER BY m DESC, qty",
		"SELECT qty % 4 AS g, MAX(LOWER(name)) FROM items GROUP BY g ORDER BY MAX(LOWER(name)), g",
		// HAVING on the group keys alone runs on the shards (strings by
		// collation); the rest is merged.
		"SELECT LOWER(name) AS n, COUNT(*) FROM items GROUP BY n HAVING n IN ('APPLE', 'banana', 'ÉLAN') AND COUNT(*) > 1 ORDER BY n",
		"SELECT qty, LOWER(name) AS n, SUM(price) FROM items GROUP BY qty, n HAVING n > 'm' AND qty < 5 ORDER BY qty, n",
		// WITH ROLLUP: super-aggregate rows made by the proxy.
		"SELECT qty, COUNT(*), SUM(price), AVG(price), MIN(LOWER(name)), MAX(created) FROM items GROUP BY qty WITH ROLLUP",
		"SELECT product_id, qty % 2 AS m, COUNT(*), SUM(qty) FROM items GROUP BY product_id, m WITH ROLLUP",
		"SELECT LOWER(name) AS n, COUNT(*) FROM items WHERE price > 500 GROUP BY n WITH ROLLUP",
		"SELECT qty % 3 AS g, SUM(price) / COUNT(*), ROUND(AVG(score), 1) FROM items GROUP BY g WITH ROLLUP HAVING COUNT(*) > 10",
		"SELECT DATE(created) AS d, COUNT(*) FROM items WHERE qty > 1000 GROUP BY d WITH ROLLUP",
		"SELECT qty, product_id, COUNT(*) FROM items WHERE qty < 3 GROUP BY qty, product_id WITH ROLLUP LIMIT 12",
	)
	// Every expression over aggregates under every grouping (the shard
	// key's groups are whole on the shards, the others merged) and every
	// filter without one.
	exprs := []string{"SUM(price) / COUNT(*)", "ROUND(AVG(qty), 1)", "MAX(price) - MIN(price)", "IFNULL(SUM(qty), 0) + COUNT(name)",
		"CASE WHEN COUNT(*) > 10 THEN 'big' ELSE 'small' END", "TRUNCATE(SUM(score) / 3, 2)", "COUNT(*) DIV 4", "COALESCE(MIN(qty), 0) * 2"}
	for _, g := range groups {
		for _, x := range exprs {
			qs = append(qs, fmt.Sprintf("SELECT %s AS g, %s AS x FROM items GROUP BY g ORDER BY g", g, x))
		}
		qs = append(qs, fmt.Sprintf("SELECT %s AS g, SUM(price) / COUNT(*) AS x FROM items GROUP BY g HAVING x > 450 ORDER BY x DESC, g", g))
	}
	for _, w := range wheres {
		qs = append(qs, "SELECT "+strings.Join(exprs, ", ")+" FROM items"+w)
	}
	return qs
}

func TestMergeDifferential(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	qs := differentialQueries()
	if len(qs) < 150 {
		t.Fatalf("only %d differential queries", len(qs))
	}
	mismatches := 0
	compared := 0
	for _, q := range qs {
		if !strings.Contains(q, "ORDER BY") && strings.Contains(q, "LIMIT") && !strings.Contains(q, "GROUP BY") {
			// An unordered LIMIT picks arbitrary rows: checked below. (An
			// ordered one, such as the deep ORDER BY id LIMIT 1000 OFFSET
			// 595, is compared like any other.)
			continue
		}
		compared++
		if d := diff(e.proxy, e.ref, q); d != "" {
			mismatches++
			t.Errorf("%s\n    %s", q, d)
		}
	}
	t.Logf("%d differential queries, %d compared, %d mismatches", len(qs), compared, mismatches)

	// An unordered LIMIT returns the right number of rows, each a real row.
	r := query(e.proxy, "SELECT id, price FROM items LIMIT 5 OFFSET 2")
	if r.err != nil || len(r.rows) != 5 {
		t.Fatalf("unordered LIMIT: %v %d rows", r.err, len(r.rows))
	}
	// DISTINCT over a case-insensitive collation: one row per name however
	// the shards spell it, in the collation's order.
	q := "SELECT DISTINCT name FROM items WHERE name IN ('apple', 'banana', 'zebra') ORDER BY name"
	pr, rr := query(e.proxy, q), query(e.ref, q)
	if pr.err != nil || rr.err != nil || len(pr.rows) != len(rr.rows) || len(pr.rows) != 3 {
		t.Fatalf("%s: proxy %d rows %v, ref %d rows %v", q, len(pr.rows), pr.err, len(rr.rows), rr.err)
	}
	for i := range pr.rows {
		if !strings.EqualFold(fmt.Sprint(pr.rows[i]), fmt.Sprint(rr.rows[i])) {
			t.Fatalf("%s: row %d proxy %v, ref %v", q, i, pr.rows[i], rr.rows[i])
		}
	}
	// What is not merged is refused, not answered wrongly.
	if _, err := e.proxy.Exec("SELECT qty, CONCAT(qty, ':', COUNT(*)) FROM items GROUP BY qty"); err == nil {
		t.Fatal("an expression over aggregates the proxy does not evaluate was answered")
	} else if code, _, msg := mysqlErr(t, err); code != 1235 || !strings.Contains(msg, "CONCAT") {
		t.Fatalf("refusal: %d %s", code, msg)
	}
}

// A random query generator over the same data: bounded by
// SHARDGATE_RANDOM_SECONDS (default 10); the seed is printed and can be
// replayed with SHARDGATE_RANDOM_SEED.
func TestMergeRandom(t *testing.T) {
	// Settings that do not parse fail the test: a typo must not turn the
	// generator into a no-op (0 seconds) or a different run than asked.
	seed := time.Now().UnixNano()
	if s, ok := os.LookupEnv("SHARDGATE_RANDOM_SEED"); ok {
		var err error
		if seed, err = strconv.ParseInt(strings.TrimSpace(s), 10, 64); err != nil {
			t.Fatalf("SHARDGATE_RANDOM_SEED=%q: want an integer", s)
		}
	}
	budget := time.Duration(envInt(t, "SHARDGATE_RANDOM_SECONDS", 10, 1)) * time.Second
	e := newShardEnv(t)
	loadItems(t, e)
	loadPicks(t, e)
	t.Logf("random query seed %d (replay: SHARDGATE_RANDOM_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	where := func() string {
		return pick("", "", " WHERE qty > "+strconv.Itoa(rng.Intn(20)), " WHERE price < "+strconv.Itoa(rng.Intn(1000)),
			" WHERE name LIKE '"+pick("a", "b", "z", "é")+"%'", " WHERE created >= '2026-0"+strconv.Itoa(1+rng.Intn(3))+"-15'",
			" WHERE product_id IN ("+strconv.Itoa(heavyProducts[rng.Intn(9)])+", "+strconv.Itoa(lightProducts[rng.Intn(20)])+")", " WHERE qty IS NULL")
	}
	agg := func() string {
		return pick("COUNT(*)", "COUNT(qty)", "COUNT(name)", "SUM(qty)", "SUM(price)", "AVG(qty)", "AVG(price)",
			"MIN(LOWER(name))", "MAX(UPPER(name))", "MIN(price)", "MAX(price)", "MIN(created)", "MAX(created)", "MIN(qty)", "MAX(score)",
			"BIT_OR(qty)", "BIT_AND(id)", "BIT_XOR(price)")
	}
	// concat is a select field of its own (GROUP_CONCAT is merged only
	// there), with an order MariaDB fixes.
	concat := func() string {
		return pick("GROUP_CONCAT(id ORDER BY id)", "GROUP_CONCAT(DISTINCT qty ORDER BY qty DESC SEPARATOR '-')",
			"GROUP_CONCAT(DISTINCT LOWER(name))", "GROUP_CONCAT(price, '@', id ORDER BY price DESC, id SEPARATOR '')")
	}
	// aggExpr is an aggregate or, half the time, an expression over
	// aggregates (computed by the proxy when groups span shards).
	aggExpr := func() string {
		if rng.Intn(2) == 0 {
			return agg()
		}
		return pick(
			agg()+" IS NULL",
			"SUM(qty) / COUNT(*)",
			fmt.Sprintf("ROUND(AVG(price), %d)", rng.Intn(4)-1),
			fmt.Sprintf("ROUND(SUM(score) / %d, %d)", 1+rng.Intn(9), rng.Intn(3)),
			"MAX(price) - MIN(price)",
			"IFNULL(SUM(qty), 0) * 2",
			fmt.Sprintf("CASE WHEN COUNT(*) > %d THEN 'many' ELSE 'few' END", rng.Intn(60)),
			fmt.Sprintf("COUNT(*) DIV %d", 1+rng.Intn(5)),
			fmt.Sprintf("TRUNCATE(SUM(price) / %d, 2)", 1+rng.Intn(9)),
			"COALESCE(MIN(qty), MAX(price), 0)",
			"ABS(SUM(qty) - COUNT(*))",
			"FLOOR(AVG(price)) + CEIL(AVG(qty))",
			// Not STD/VARIANCE: their last digits depend on the row order
			// (README), and rounding does not hide that when the value
			// lies on a rounding boundary (seed 1795881818738137256:
			// ROUND(STD(price), 1) 28.6 against 28.5). The fixed
			// differential suites compare them.
		)
	}
	limit := func() string {
		switch rng.Intn(4) {
		case 0:
			return fmt.Sprintf(" LIMIT %d", rng.Intn(15))
		case 1:
			return fmt.Sprintf(" LIMIT %d OFFSET %d", rng.Intn(10), rng.Intn(20))
		}
		return ""
	}
	dir := func() string { return pick("", " DESC") }
	n := 0
	for start := time.Now(); time.Since(start) < budget; n++ {
		var q string
		switch rng.Intn(7) {
		case 4:
			// Subqueries over picks (on main) run first.
			c := pick("name", "price", "qty")
			note := pick("hot", "cold", "none", "nothing")
			switch rng.Intn(3) {
			case 0:
				notNull := pick("", " AND product_id IS NOT NULL")
				q = fmt.Sprintf("SELECT id, %s FROM items WHERE product_id %s (SELECT product_id FROM picks WHERE note = '%s'%s) ORDER BY id%s", c, pick("IN", "NOT IN"), note, notNull, limit())
			case 1:
				q = fmt.Sprintf("SELECT COUNT(*), SUM(qty) FROM items WHERE qty > (SELECT MIN(id) + %d FROM picks WHERE note = '%s')", rng.Intn(15), note)
			default:
				q = fmt.Sprintf("SELECT %s AS g, COUNT(*) FROM items WHERE %sEXISTS (SELECT 1 FROM picks WHERE note = '%s') GROUP BY g ORDER BY g", pick("qty", "product_id"), pick("", "NOT "), note)
			}
		case 5:
			// Windows: partitioned by the shard key (whole on each
			// shard) or not (computed by the proxy over merged rows).
			// Functions that number rows get a total order (id last);
			// the others may order by keys with ties and NULLs.
			part := pick("PARTITION BY product_id ", "PARTITION BY name ", "PARTITION BY qty % 3 ", "PARTITION BY DATE(created) ", "")
			fn := pick("ROW_NUMBER()", "LAG(id)", "LEAD(price, 2)", "LAG(created, 3)", "RANK()", "DENSE_RANK()", "SUM(qty)", "COUNT(*)", "COUNT(price)", "AVG(price)", "SUM(score)", "MAX(price)", "MIN(created)",
				"FIRST_VALUE(name)", "LAST_VALUE(price)", "NTH_VALUE(created, 2)", "PERCENT_RANK()", "CUME_DIST()", "NTILE(4)")
			order := pick("ORDER BY id", "ORDER BY price DESC, id", "ORDER BY created, id")
			total := strings.HasPrefix(fn, "ROW_NUMBER") || strings.HasPrefix(fn, "LAG") || strings.HasPrefix(fn, "LEAD") || strings.Contains(fn, "_VALUE") || strings.HasPrefix(fn, "NTILE")
			if !total || strings.Contains(fn, "_VALUE") {
				if !total {
					order = pick(order, "ORDER BY qty", "ORDER BY LOWER(name) DESC", "ORDER BY DATE(created)")
				}
				if !strings.Contains(fn, "RANK") && !strings.Contains(fn, "CUME") {
					frame := pick("", " ROWS UNBOUNDED PRECEDING", " RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING", fmt.Sprintf(" ROWS %d PRECEDING", rng.Intn(4)))
					if strings.HasPrefix(frame, " ROWS") && !strings.HasSuffix(order, "id") {
						order = "ORDER BY id" // rows frames over ties: any order
					}
					order += frame
					if !total {
						order = pick(order, "") // the whole partition
					}
				}
			}
			q = fmt.Sprintf("SELECT id, product_id, %s OVER (%s%s) AS w FROM items%s ORDER BY %s, id%s", fn, part, order, where(), pick("product_id"+dir(), "w"+dir(), "id"), limit())
			if rng.Intn(4) == 0 {
				// Over groups of the shard key.
				fn := pick("RANK()", "DENSE_RANK()", "ROW_NUMBER()", "SUM(COUNT(*))", "AVG(SUM(qty))", "LAG(SUM(price))", "MAX(MIN(created))")
				q = fmt.Sprintf("SELECT product_id, COUNT(*) AS n, %s OVER (ORDER BY %s, product_id) AS w FROM items%s GROUP BY product_id ORDER BY %s, product_id%s",
					fn, pick("COUNT(*) DESC", "SUM(price)", "MAX(qty)"), where(), pick("w"+dir(), "n"+dir(), "product_id"), limit())
			}
		case 6:
			// Self-joins on the shard key.
			q = fmt.Sprintf("SELECT a.id, b.id, a.qty + b.qty FROM items a JOIN items b ON a.product_id = b.product_id AND a.id < b.id WHERE a.qty > %d AND b.qty > %d ORDER BY a.id, b.id%s",
				rng.Intn(25), rng.Intn(25), limit())
		case 0:
			c := pick("name", "price", "qty", "created", "score", "product_id")
			q = fmt.Sprintf("SELECT id, %s FROM items%s ORDER BY %s%s, id%s", c, where(), c, dir(), limit())
		case 1:
			a := aggExpr()
			if rng.Intn(4) == 0 {
				a = concat()
			}
			q = fmt.Sprintf("SELECT %s, %s FROM items%s", a, aggExpr(), where())
		case 2:
			g := pick("product_id", "qty", "qty % 4", "LOWER(name)", "DATE(created)", "YEAR(created)")
			a := aggExpr()
			if rng.Intn(4) == 0 {
				a = concat()
			}
			q = fmt.Sprintf("SELECT %s AS g, %s AS a, COUNT(*) AS n FROM items%s GROUP BY g", g, a, where())
			if rng.Intn(2) == 0 {
				q += fmt.Sprintf(" HAVING n > %d", rng.Intn(8))
			}
			switch rng.Intn(3) {
			case 0:
				q += " ORDER BY n" + dir() + ", g" + limit()
			case 1:
				q += " ORDER BY g" + dir() + limit()
			}
		case 3:
			g := pick("product_id", "qty", "LOWER(name)", "DATE(created)")
			q = fmt.Sprintf("SELECT DISTINCT %s AS g FROM items%s ORDER BY g%s%s", g, where(), dir(), limit())
		}
		if d := diff(e.proxy, e.ref, q); d != "" {
			t.Fatalf("seed %d, query %d: %s\n    %s", seed, n, q, d)
		}
	}
	t.Logf("%d random queries, 0 mismatches", n)
	if n == 0 {
		t.Fatal("no random query ran")
	}
}

// Killing a shard's primary in the middle of a scatter read fails the
// statement; it never returns a short result as success.
func TestShardDiesDuringScatter(t *testing.T) {
	needLocalCluster(t)
	e := newShardEnv(t)
	loadItems(t, e)
	t.Cleanup(func() { clusterScript(t, "start", "s1-p") })
	marker := uniqueName("scatter_marker")
	done := make(chan result, 1)
	go func() {
		// Each row sleeps on its shard, so the read is still running
		// when the primary dies; the hint keeps it on the primaries.
		done <- query(e.proxy, "/* shardgate:primary */ SELECT id, SLEEP(0.01), '"+marker+"' FROM items WHERE qty > 0")
	}()
	// Kill only once the read runs on s1's primary.
	s1 := direct(t, "127.0.0.1:3330", "")
	eventually(t, 10*time.Second, "the scatter read running on s1", func() bool {
		var n int
		scan(t, s1, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%"+marker+"%' AND ID <> CONNECTION_ID()", &n)
		return n > 0
	})
	if err := syscall.Kill(serverPid(t, "s1-p"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err == nil {
		t.Fatalf("the statement succeeded with %d rows although a shard died", len(r.rows))
	}
	t.Logf("client got: %v", r.err)
	clusterScript(t, "start", "s1-p")
}

// TestPinnedStatementsDifferential: statements that name a sharded table
// inside a subquery, a derived table, a UNION or a self-join, or use
// window functions, answer as ref when every mention is pinned to one
// physical table by its shard key; otherwise they are refused (1235),
// never answered from a fraction of the rows (each refused one here was
// answered from one physical table before).
func TestPinnedStatementsDifferential(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	for _, q := range []string{
		"SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM items WHERE product_id = 4 ORDER BY id",
		"SELECT id, qty, SUM(qty) OVER (ORDER BY id) FROM items WHERE product_id = 4 ORDER BY id",
		"SELECT id, RANK() OVER (ORDER BY price DESC) AS r FROM items WHERE product_id = 7 ORDER BY r, id",
		"SELECT t.n, t.s FROM (SELECT COUNT(*) AS n, SUM(qty) AS s FROM items WHERE product_id = 4) AS t",
		"SELECT id FROM items WHERE product_id = 4 AND qty > (SELECT AVG(qty) FROM items WHERE product_id = 4) ORDER BY id",
		"SELECT id FROM items i WHERE product_id = 4 AND EXISTS (SELECT 1 FROM items j WHERE j.product_id = 4 AND j.qty = i.qty AND j.id <> i.id) ORDER BY id",
		"SELECT id FROM items WHERE product_id = 4 UNION SELECT id FROM items WHERE product_id = 4 AND qty > 2 ORDER BY id",
		"SELECT a.id, b.id FROM items a JOIN items b ON a.product_id = b.product_id AND a.id < b.id WHERE a.product_id = 4 ORDER BY a.id, b.id",
		"SELECT a.product_id, COUNT(*) FROM items a JOIN items b ON a.product_id = b.product_id GROUP BY a.product_id ORDER BY a.product_id",
		"SELECT COUNT(*), SUM(a.qty * b.qty) FROM items a JOIN items b USING (product_id)",
		"SELECT SQL_CALC_FOUND_ROWS id FROM items WHERE product_id = 4 ORDER BY id LIMIT 3",
		// Correlated on the shard key: each shard answers for its rows.
		"SELECT id FROM items i WHERE EXISTS (SELECT 1 FROM items j WHERE j.product_id = i.product_id AND j.qty > i.qty) ORDER BY id",
		"SELECT id FROM items i WHERE NOT EXISTS (SELECT 1 FROM items j WHERE product_id = i.product_id AND j.price > i.price) ORDER BY id",
		"SELECT i.id, (SELECT COUNT(*) FROM items j WHERE j.product_id = i.product_id AND j.name = i.name) AS n FROM items i ORDER BY i.id LIMIT 40",
		"SELECT COUNT(*), SUM(qty) FROM items i WHERE i.product_id IN (SELECT j.product_id FROM items j WHERE j.score > 0.5)",
		"SELECT product_id, COUNT(*) FROM items i WHERE qty > (SELECT AVG(qty) FROM items j WHERE j.product_id = i.product_id) GROUP BY product_id ORDER BY product_id",
	} {
		if d := diff(e.proxy, e.ref, q); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
	}
	// UNION ALL over shards: parts in order, each merged as it would be
	// alone; compared as multisets (one server's order inside an
	// unordered part is not defined either).
	for _, q := range []string{
		"SELECT id, name FROM items WHERE product_id = 4 UNION ALL SELECT id, name FROM items WHERE product_id = 5",
		"SELECT qty, COUNT(*) FROM items GROUP BY qty UNION ALL SELECT product_id, COUNT(*) FROM items WHERE product_id > 3 GROUP BY product_id",
		"SELECT COUNT(*) FROM items UNION ALL SELECT COUNT(*) FROM items WHERE qty IS NULL UNION ALL SELECT COUNT(DISTINCT qty) FROM items",
	} {
		p, r := query(e.proxy, q), query(e.ref, q)
		if p.err != nil || r.err != nil {
			t.Errorf("%s: proxy %v, ref %v", q, p.err, r.err)
			continue
		}
		ps, rs := fmt.Sprint(sortedRows(p.rows)), fmt.Sprint(sortedRows(r.rows))
		if ps != rs || strings.Join(p.cols, "|") != strings.Join(r.cols, "|") || len(p.rows) == 0 {
			t.Errorf("%s:\n proxy %v %s\n ref   %v %s", q, p.cols, ps, r.cols, rs)
		}
	}
	// UNION (DISTINCT) and the union's ORDER BY/LIMIT, done by the proxy
	// over the parts' rows; and statements whose uncorrelated subqueries
	// run first.
	for _, q := range []string{
		"SELECT id FROM items WHERE product_id = 4 UNION SELECT id FROM items WHERE product_id = 5",
		"SELECT LOWER(name) AS n FROM items WHERE qty > 10 UNION SELECT LOWER(name) FROM items WHERE qty < 0 ORDER BY n",
		"SELECT qty, product_id FROM items WHERE price > 900 UNION ALL SELECT qty, product_id FROM items WHERE price < 20 ORDER BY 1 DESC, 2 LIMIT 10",
		"SELECT id, price FROM items WHERE product_id = 4 UNION ALL SELECT id, price FROM items WHERE product_id = 9 ORDER BY price DESC, id LIMIT 5 OFFSET 1",
		"SELECT qty FROM items UNION SELECT product_id FROM items ORDER BY qty LIMIT 8",
		"SELECT DATE(created) AS d FROM items WHERE qty = 1 UNION SELECT DATE(created) FROM items WHERE qty = 2 UNION SELECT DATE(created) FROM items WHERE qty = 1 ORDER BY d DESC",
		"SELECT id FROM items WHERE product_id = 4 AND qty > (SELECT AVG(qty) FROM items) ORDER BY id",
		"SELECT id FROM items i WHERE i.product_id NOT IN (SELECT j.product_id FROM items j WHERE j.qty > 3)",
		// A derived table over shards runs first (derived_test.go).
		"SELECT * FROM (SELECT * FROM items) t WHERE t.product_id = 4 ORDER BY id",
		// Windows over all rows, computed by the proxy (windows_test.go),
		// of two sort orders too (windows_mixed_test.go).
		"SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM items ORDER BY id",
		"SELECT id, ROW_NUMBER() OVER (ORDER BY id), RANK() OVER (ORDER BY qty) FROM items ORDER BY id",
		// A self-join not on the shard key is joined in the proxy
		// (planner/join.go, integration/joins_test.go).
		"SELECT a.id, b.id FROM items a JOIN items b ON a.qty = b.qty WHERE a.product_id = 4",
		"SELECT a.id, b.id FROM items a JOIN items b ON a.qty = b.qty",
	} {
		if d := diff(e.proxy, e.ref, q); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
	}
	for _, q := range []string{
		"SELECT COUNT(*) FROM items UNION ALL SELECT MAX(qty) FROM items",
		"SELECT DISTINCT COUNT(*) FROM items GROUP BY product_id",
		"SELECT COUNT(*) FROM items a JOIN items b USING (qty)",
		"SELECT SQL_CALC_FOUND_ROWS id FROM items ORDER BY id LIMIT 3",
		"SELECT id FROM items i WHERE EXISTS (SELECT 1 FROM items j WHERE j.qty = i.qty AND j.id <> i.id)",
	} {
		_, err := e.proxy.Exec(q)
		if code, _, _ := mysqlErr(t, err); code != 1235 {
			t.Errorf("%s: %v, want 1235", q, err)
		}
	}
}

// TestExplainOverShards: plain EXPLAIN of a statement over shards gives
// each physical statement's own EXPLAIN rows, each followed by the
// cluster and physical tables it is about: text and prepared, FORMAT=JSON.
func TestExplainOverShards(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	prepared := e.p.open(t, "shop") // server-side prepared statements
	tagged := func(q string, args ...any) [][]string {
		t.Helper()
		db := e.proxy
		if len(args) > 0 {
			db = prepared
		}
		rows, err := db.Query(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, out, err := rowsCells(t, rows)
		if err != nil {
			t.Fatal(err)
		}
		if len(cols) < 3 || cols[len(cols)-2] != "shardgate_cluster" || cols[len(cols)-1] != "shardgate_tables" {
			t.Fatalf("%s: columns %v", q, cols)
		}
		return out
	}
	// Pinned: one physical statement, its table named in both places.
	for _, args := range [][]any{nil, {4}} {
		q := "EXPLAIN SELECT * FROM items WHERE product_id = 4"
		if args != nil {
			q = "EXPLAIN SELECT * FROM items WHERE product_id = ?"
		}
		rows := tagged(q, args...)
		if len(rows) != 1 {
			t.Fatalf("%s: %d rows: %v", q, len(rows), rows)
		}
		r := rows[0]
		if table, phys := r[2], r[len(r)-1]; table != phys || !strings.HasPrefix(phys, "items_") {
			t.Errorf("%s: table %q, shardgate_tables %q", q, table, phys)
		}
	}
	// Scattered: every physical table appears in its cluster's rows.
	rows := tagged("EXPLAIN SELECT COUNT(*) FROM items WHERE qty > 1")
	seen := map[string]bool{}
	for _, r := range rows {
		if r[2] != "" && strings.HasPrefix(r[2], "items_") {
			if !strings.Contains(","+r[len(r)-1]+",", ","+r[2]+",") {
				t.Errorf("row about %s tagged %s/%s", r[2], r[len(r)-2], r[len(r)-1])
			}
			seen[r[2]] = true
		}
	}
	if len(seen) != 8 { // items: 8 tables
		t.Errorf("EXPLAIN over the shards names %d physical tables %v, want 8", len(seen), seen)
	}
	js := tagged("EXPLAIN FORMAT=JSON SELECT id FROM items WHERE product_id IN (4, 5) ORDER BY id")
	for _, r := range js {
		if len(r) != 3 || !strings.HasPrefix(strings.TrimSpace(r[0]), "{") {
			t.Errorf("FORMAT=JSON row %v", r)
		}
	}
	// MySQL's EXPLAIN ANALYZE is MariaDB's syntax error, word for word.
	_, perr := e.proxy.Exec("EXPLAIN ANALYZE SELECT * FROM items")
	_, rerr := e.ref.Exec("EXPLAIN ANALYZE SELECT * FROM items")
	if perr == nil || rerr == nil || perr.Error() != rerr.Error() {
		t.Errorf("EXPLAIN ANALYZE: proxy %v, ref %v", perr, rerr)
	}
	// MariaDB's ANALYZE: each shard's SELECT runs and reports what it
	// read (r_rows), tagged like EXPLAIN's rows; the rows it read add up
	// to the table's, as ref's one ANALYZE reads them all.
	var total int
	if err := e.ref.QueryRow("SELECT COUNT(*) FROM items").Scan(&total); err != nil {
		t.Fatal(err)
	}
	ar, err := e.proxy.Query("ANALYZE SELECT id FROM items WHERE qty > 1")
	if err != nil {
		t.Fatal(err)
	}
	cols, analyzed, err := rowsCells(t, ar)
	if err != nil {
		t.Fatal(err)
	}
	rRows := -1
	for i, c := range cols {
		if c == "r_rows" {
			rRows = i
		}
	}
	if rRows < 0 || cols[len(cols)-1] != "shardgate_tables" {
		t.Fatalf("ANALYZE columns %v: no r_rows, or untagged", cols)
	}
	tables := map[string]bool{}
	read := 0.0
	for _, r := range analyzed {
		if strings.HasPrefix(r[2], "items_") {
			tables[r[2]] = true
			n, err := strconv.ParseFloat(r[rRows], 64)
			if err != nil {
				t.Fatalf("r_rows %q: %v", r[rRows], err)
			}
			read += n
		}
	}
	if len(tables) != 8 || int(read) != total {
		t.Errorf("ANALYZE names %d physical tables (want 8) that read %v rows (items has %d): %v", len(tables), read, total, analyzed)
	}
	for _, r := range tagged("ANALYZE FORMAT=JSON SELECT id FROM items WHERE product_id IN (4, 5)") {
		if len(r) != 3 || !strings.Contains(r[0], "r_rows") {
			t.Errorf("ANALYZE FORMAT=JSON row %v", r)
		}
	}
	if _, err := e.proxy.Exec("ANALYZE SELECT * FROM items FOR UPDATE"); err == nil {
		t.Error("ANALYZE of a locking read ran on the shards")
	}
	// An unsharded table's ANALYZE is the server's own.
	loadPicks(t, e)
	for _, q := range []string{"ANALYZE SELECT id, name FROM picks WHERE id > 2", "ANALYZE FORMAT=JSON SELECT COUNT(*) FROM picks"} {
		for _, db := range []*sql.DB{e.proxy, e.ref} {
			rows, err := db.Query(q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			cols, out, err := rowsCells(t, rows)
			if err != nil || len(out) == 0 || !strings.Contains(strings.Join(cols, " ")+fmt.Sprint(out), "r_") {
				t.Errorf("%s: %v %v (%v)", q, cols, out, err)
			}
		}
	}
}

// TestWindowsPartitionedByShardKey: window functions whose windows
// partition by the shard key are computed whole on each shard, and answer
// as ref (ordered).
func TestWindowsPartitionedByShardKey(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	for _, q := range []string{
		"SELECT id, product_id, ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY id) AS rn FROM items ORDER BY product_id, rn",
		"SELECT id, SUM(qty) OVER w AS s, RANK() OVER (w ORDER BY price DESC, id) AS r FROM items WINDOW w AS (PARTITION BY product_id) ORDER BY id LIMIT 25",
		"SELECT product_id, COUNT(*) AS n, SUM(COUNT(*)) OVER (PARTITION BY product_id) FROM items GROUP BY product_id, qty ORDER BY product_id, n, 3",
		"SELECT id, LAG(price) OVER (PARTITION BY product_id ORDER BY id), LEAD(name, 2) OVER (PARTITION BY product_id ORDER BY id) FROM items ORDER BY id DESC LIMIT 30 OFFSET 5",
		// Other windows are computed by the proxy (windows_test.go), two
		// sort orders one after the other (windows_mixed_test.go).
		"SELECT id, ROW_NUMBER() OVER (PARTITION BY qty ORDER BY id), SUM(qty) OVER () FROM items ORDER BY id",
	} {
		if d := diff(e.proxy, e.ref, q); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
	}
	// Not windows over groups that span shards.
	for _, q := range []string{
		"SELECT qty, SUM(COUNT(*)) OVER () FROM items GROUP BY qty",
	} {
		_, err := e.proxy.Exec(q)
		if code, _, _ := mysqlErr(t, err); code != 1235 {
			t.Errorf("%s: %v, want 1235", q, err)
		}
	}
}

// sortedRows orders rows as text, for comparing results whose order is
// not defined.
func sortedRows(rows []string) []string {
	out := append([]string(nil), rows...)
	sort.Strings(out)
	return out
}
