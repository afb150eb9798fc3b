package integration

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Derived tables over shards (issue 16 item 2): each runs first, merged
// over its shards, and the statement around it runs on a temporary table
// holding its rows, on the cluster of the statement's other tables. Every
// query answers as on ref (the same rows in one server): column names,
// values and order.
var derivedQueries = []string{
	"SELECT COUNT(*), SUM(n) FROM (SELECT product_id, COUNT(*) AS n FROM items GROUP BY product_id) AS d",
	"SELECT d.name, d.c FROM (SELECT LOWER(name) AS name, COUNT(*) AS c FROM items GROUP BY LOWER(name)) d WHERE d.c > 10 ORDER BY d.c DESC, d.name",
	"SELECT AVG(total), MAX(total) FROM (SELECT product_id, SUM(price * qty) AS total FROM items GROUP BY product_id) t",
	"SELECT p.id, p.note, d.c FROM picks p JOIN (SELECT product_id, COUNT(*) c FROM items GROUP BY product_id) d ON d.product_id = p.product_id ORDER BY p.id",
	"SELECT p.id, d.c FROM picks p LEFT JOIN (SELECT product_id, COUNT(*) c FROM items WHERE qty > 100 GROUP BY product_id) d ON d.product_id = p.product_id ORDER BY p.id",
	// (Which spelling of a group's name shows is the server's choice.)
	"SELECT CONCAT(LOWER(d.name), ':', d.c) AS label FROM (SELECT name, COUNT(*) c FROM items WHERE name IS NOT NULL GROUP BY name) d ORDER BY label",
	"SELECT * FROM (SELECT id, price FROM items ORDER BY price DESC, id LIMIT 10) x ORDER BY id",
	"SELECT a.product_id, a.c, b.m FROM (SELECT product_id, COUNT(*) c FROM items GROUP BY product_id) a JOIN (SELECT product_id, MAX(price) m FROM items GROUP BY product_id) b USING (product_id) ORDER BY a.product_id",
	"SELECT COUNT(*) FROM (SELECT id FROM items WHERE qty > 5 UNION SELECT id FROM items WHERE price < 100) u",
	"SELECT DATE(d.mx) AS day, d.product_id FROM (SELECT product_id, MAX(created) mx FROM items GROUP BY product_id) d ORDER BY d.product_id",
	"SELECT d.q, COUNT(*) FROM (SELECT qty AS q FROM items) d GROUP BY d.q ORDER BY d.q",
	"SELECT SUM(d.p), MIN(d.p) FROM (SELECT price AS p FROM items WHERE price IS NOT NULL) d",
	// The temporary table keeps the column's collation: 'apple' finds
	// every spelling, and accents order as on ref.
	"SELECT COUNT(*) FROM (SELECT name FROM items) d WHERE d.name = 'apple'",
	"SELECT d.name FROM (SELECT DISTINCT LOWER(name) AS name FROM items WHERE name IS NOT NULL) d ORDER BY d.name",
	"SELECT GROUP_CONCAT(d.product_id ORDER BY d.product_id) AS ids FROM (SELECT DISTINCT product_id FROM items) d",
	"SELECT product_id, c, RANK() OVER (ORDER BY c DESC, product_id) AS r FROM (SELECT product_id, COUNT(*) c FROM items GROUP BY product_id) d ORDER BY product_id",
	"SELECT MAX(d.s), STD(d.s) > 0 AS spread FROM (SELECT score AS s FROM items) d",
	"SELECT d.* FROM (SELECT product_id, COUNT(DISTINCT name) AS names, SUM(qty) AS q FROM items GROUP BY product_id HAVING q > 50) d ORDER BY d.product_id",
	"SELECT x.y FROM (SELECT YEAR(created) AS y FROM items WHERE created IS NOT NULL) x GROUP BY x.y ORDER BY x.y",
	"SELECT t.n FROM (SELECT COUNT(*) AS n FROM items WHERE product_id IN (SELECT product_id FROM picks WHERE note = 'hot')) t",
	"SELECT COUNT(*) FROM (SELECT * FROM items WHERE id < 0) AS empty_d",
	// The sharded table itself beside a derived table over shards: its
	// rows (narrowed by its own conditions) are read first too.
	"SELECT i.id, d.c FROM items i JOIN (SELECT product_id, COUNT(*) c FROM items GROUP BY product_id) d ON d.product_id = i.product_id WHERE i.qty > 15 ORDER BY i.id",
	"SELECT i.id, i.name, d.top FROM items i JOIN (SELECT qty, MAX(price) top FROM items GROUP BY qty) d ON d.qty = i.qty AND d.top = i.price ORDER BY i.id",
	"SELECT d.product_id, COUNT(i.id) FROM (SELECT DISTINCT product_id FROM items WHERE qty < 3) d LEFT JOIN items i ON i.product_id = d.product_id AND i.qty > 20 WHERE i.name IS NULL OR i.name <> 'x' GROUP BY d.product_id ORDER BY d.product_id",
	"SELECT i.id FROM items i, (SELECT AVG(price) AS a FROM items) d WHERE i.price > d.a AND i.product_id = 4 ORDER BY i.id",
	"SELECT id FROM items AS items WHERE items.product_id IN (4, 9) ORDER BY id",
	"SELECT items.id, d.n FROM items JOIN (SELECT name, COUNT(*) n FROM items GROUP BY name) d ON d.name = items.name WHERE items.product_id IN (4, 9) ORDER BY items.id",
}

func TestDerivedTablesDifferential(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	loadPicks(t, e)
	for _, q := range derivedQueries {
		if d := diff(e.proxy, e.ref, q); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
	}
	// Prepared, and inside a transaction: the derived table reads the
	// transaction's own uncommitted rows, which another client does not.
	ctx := context.Background()
	q := "SELECT d.c FROM (SELECT COUNT(*) AS c FROM items WHERE qty = ?) d"
	var before, inTxn, other int
	if err := e.proxy.QueryRowContext(ctx, q, 7).Scan(&before); err != nil {
		t.Fatal(err)
	}
	var want int
	if err := e.ref.QueryRowContext(ctx, q, 7).Scan(&want); err != nil || want != before {
		t.Fatalf("prepared: proxy %d, ref %d (%v)", before, want, err)
	}
	c := pin(t, e.proxy)
	mustExecMv(t, c, "BEGIN")
	mustExecMv(t, c, "INSERT INTO items (id, product_id, qty) VALUES (100001, 4, 7), (100002, 13, 7)")
	if err := c.QueryRowContext(ctx, q, 7).Scan(&inTxn); err != nil {
		t.Fatal(err)
	}
	if err := e.proxy.QueryRowContext(ctx, q, 7).Scan(&other); err != nil {
		t.Fatal(err)
	}
	mustExecMv(t, c, "ROLLBACK")
	if inTxn != before+2 || other != before {
		t.Fatalf("in the transaction %d (want %d), another client %d (want %d)", inTxn, before+2, other, before)
	}
	// Server-side prepared, a derived table over shards beside a table of
	// another cluster (orders lives on s1): described at COM_STMT_PREPARE
	// over an empty temporary table there, answered as on ref.
	e.both("DROP TABLE IF EXISTS orders")
	e.both("CREATE TABLE orders (id INT PRIMARY KEY, user_id INT)")
	e.dropAtEnd("orders")
	e.both("INSERT INTO orders VALUES (1, 4), (2, 9), (3, 16), (4, 1000)")
	syncReplicas(t)
	serverSide := e.p.open(t, "shop")
	pq := "SELECT o.id, d.k, d.v FROM orders o LEFT JOIN (SELECT product_id AS k, COUNT(*) AS v FROM items WHERE qty > ? GROUP BY product_id) d ON d.k = o.user_id WHERE o.id < ? ORDER BY o.id"
	ps, err := serverSide.Prepare(pq)
	if err != nil {
		t.Fatalf("PREPARE %s: %v", pq, err)
	}
	defer ps.Close()
	for _, args := range [][]any{{3, 10}, {50, 3}, {0, 0}} {
		prows, perr := ps.Query(args...)
		rrows, rerr := e.ref.Query(pq, args...)
		if perr != nil || rerr != nil {
			t.Fatalf("%v: proxy %v, ref %v", args, perr, rerr)
		}
		pc, pv, perr := rowsCells(t, prows)
		rc, rv, rerr := rowsCells(t, rrows)
		if perr != nil || rerr != nil || fmt.Sprint(pc, pv) != fmt.Sprint(rc, rv) {
			t.Errorf("prepared %v: proxy %v %v (%v), ref %v %v (%v)", args, pc, pv, perr, rc, rv, rerr)
		}
	}
	// No temporary table is left on a connection: the next client of a
	// pool of one connection per server sees none.
	for i := 0; i < 3; i++ {
		if d := diff(e.proxy, e.ref, derivedQueries[0]); d != "" {
			t.Fatal(d)
		}
	}
	plan := strings.Join(mvRows(t, e.proxy, "EXPLAIN SHARDGATE "+derivedQueries[3]), "\n")
	if !strings.Contains(plan, "copied into temporary table") || !strings.Contains(plan, "then on main") {
		t.Errorf("plan:\n%s", plan)
	}
}

// TestDerivedRandom: random statements around random derived tables over
// shards, against ref, for SHARDGATE_DERIVED_SECONDS (default 3); the seed
// is printed and replayed with SHARDGATE_RANDOM_SEED. What is compared is
// mostly the temporary table's fidelity: the outer statement prints,
// compares and computes with the derived table's values, whose text
// depends on their types (a DOUBLE and a DECIMAL print differently).
func TestDerivedRandom(t *testing.T) {
	seed := time.Now().UnixNano()
	if s, ok := os.LookupEnv("SHARDGATE_RANDOM_SEED"); ok {
		var err error
		if seed, err = strconv.ParseInt(strings.TrimSpace(s), 10, 64); err != nil {
			t.Fatalf("SHARDGATE_RANDOM_SEED=%q: want an integer", s)
		}
	}
	budget := time.Duration(envInt(t, "SHARDGATE_DERIVED_SECONDS", 3, 1)) * time.Second
	e := newShardEnv(t)
	loadItems(t, e)
	loadPicks(t, e)
	t.Logf("random derived-table seed %d (replay: SHARDGATE_RANDOM_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	n, failed := 0, 0
	for start := time.Now(); time.Since(start) < budget && failed < 5; n++ {
		key := pick("product_id", "qty", "LOWER(name)", "DATE(created)", "price > 500")
		val := pick("COUNT(*)", "SUM(qty)", "SUM(price)", "AVG(price)", "AVG(score)", "MIN(created)", "MAX(score)",
			"MIN(LOWER(name))", "COUNT(DISTINCT qty)", "MAX(price) - MIN(price)", "SUM(qty) / COUNT(*)")
		where := pick("", " WHERE qty > 3", " WHERE name LIKE 'a%'", " WHERE price IS NOT NULL", " WHERE created < '2026-02-15'")
		inner := fmt.Sprintf("SELECT %s AS k, %s AS v FROM items%s GROUP BY %s", key, val, where, key)
		if rng.Intn(4) == 0 {
			inner = fmt.Sprintf("SELECT id AS k, %s AS v FROM items%s", pick("price", "score", "created", "name", "qty * 2"), where)
		}
		outer := pick(
			"SELECT d.k, d.v FROM (%s) d ORDER BY d.k, d.v",
			"SELECT CONCAT(d.k, '|', d.v) AS s FROM (%s) d ORDER BY s",
			"SELECT COUNT(*), COUNT(d.v), MIN(d.v), MAX(d.v) FROM (%s) d",
			"SELECT d.v, COUNT(*) FROM (%s) d GROUP BY d.v ORDER BY d.v",
			"SELECT d.k FROM (%s) d WHERE d.v > (SELECT AVG(v) FROM (SELECT 1 AS v) z) ORDER BY d.k",
			"SELECT ROUND(d.v, 1) AS r, d.k FROM (%s) d ORDER BY r, d.k LIMIT 7",
			"SELECT p.note, d.v FROM picks p LEFT JOIN (%s) d ON d.k = p.product_id ORDER BY p.id",
			"SELECT d.k, d.v, ROW_NUMBER() OVER (ORDER BY d.v, d.k) AS rn FROM (%s) d ORDER BY rn",
		)
		q := fmt.Sprintf(outer, inner)
		if d := diff(e.proxy, e.ref, q); d != "" {
			failed++
			t.Errorf("%s\n    %s", q, d)
		}
	}
	t.Logf("%d random derived-table statements, %d mismatches", n, failed)
}
