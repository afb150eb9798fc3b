package integration

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/bench/tpch"
)

// The shapes of TPC-H queries 4, 14 and 19, in general (issue 16): a
// subquery correlated on the shard keys of two tables of one rule runs
// table pair by table pair; a join in the proxy whose select list,
// conditions or grouping mix a sharded table's columns with those of a
// table on another cluster has its joined rows copied into a temporary
// table, over which the server evaluates the rest. Each query is
// compared with ref as TestTPCH compares (column names, every value's
// text, the order where ORDER BY fixes it) in the four ways TestTPCH
// runs them.

const tpch4DB = "txn_tpch4"

// tpch4Rules: t4orders and t4lines hash-sharded by their order keys under
// one rule (4 tables over s0, s1), t4parts whole on main, t4users sharded
// by another rule (8 tables).
const tpch4Rules = `
users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
  ` + tpch4DB + `:
    cluster: main
    tables:
      t4orders:
        shard: {by: hash, column: okey, tables: 4, clusters: [s0, s1]}
      t4lines:
        shard: {by: hash, column: lokey, tables: 4, clusters: [s0, s1]}
      t4users:
        shard: {by: hash, column: ukey, tables: 8, clusters: [s0, s1]}
      t4parts: {cluster: main}
`

// tpch4Setup loads the tables through the proxy and on ref: orders
// without lines, lines of no known part and with a NULL part, parts never
// ordered, NULLs in every compared column, mixed-case and accented text
// (compared by utf8mb4_general_ci: 'promo' LIKE 'PROMO%'), decimals and
// dates; most rows on one shard.
func tpch4Setup(t *testing.T) *tpchEnv {
	for _, srv := range []string{mainPrimary, "127.0.0.1:3320", "127.0.0.1:3330", refServer} {
		if _, err := direct(t, srv, "").Exec("CREATE DATABASE IF NOT EXISTS " + tpch4DB); err != nil {
			t.Fatal(err)
		}
	}
	p := startProxyRules(t, tpch4Rules)
	ansi := "sql_mode=" + url.QueryEscape("'ANSI,NO_BACKSLASH_ESCAPES'")
	e := &tpchEnv{proxy: p.open(t, tpch4DB), ref: direct(t, refServer, tpch4DB), proxyANSI: p.open(t, tpch4DB, ansi)}
	refANSI, err := sql.Open("mysql", "app:app@tcp("+refServer+")/"+tpch4DB+"?"+ansi)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { refANSI.Close() })
	e.refANSI = refANSI
	both := func(q string) {
		t.Helper()
		for _, db := range []*sql.DB{e.proxy, e.ref} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	tables := []string{"t4orders", "t4lines", "t4parts", "t4users"}
	for _, tb := range tables {
		both("DROP TABLE IF EXISTS " + tb)
	}
	t.Cleanup(func() {
		for _, tb := range tables {
			e.proxy.Exec("DROP TABLE IF EXISTS " + tb)
			e.ref.Exec("DROP TABLE IF EXISTS " + tb)
		}
	})
	both("CREATE TABLE t4orders (okey INT PRIMARY KEY, ukey INT, prio VARCHAR(20) COLLATE utf8mb4_general_ci, odate DATE, total DECIMAL(12,2))")
	both("CREATE TABLE t4lines (id INT PRIMARY KEY, lokey INT NOT NULL, pkey INT, qty DECIMAL(10,2), price DECIMAL(12,2), disc DECIMAL(4,2), flag CHAR(1) COLLATE utf8mb4_general_ci, shipdate DATE, KEY (lokey), KEY (pkey))")
	both("CREATE TABLE t4parts (id INT PRIMARY KEY, pkey INT NOT NULL, ptype VARCHAR(30) COLLATE utf8mb4_general_ci, brand CHAR(5) COLLATE utf8mb4_bin, weight DECIMAL(8,3), since DATE, KEY (pkey))")
	both("CREATE TABLE t4users (id INT PRIMARY KEY, ukey INT NOT NULL, uname VARCHAR(20))")
	types := []string{"PROMO BRUSHED", "promo polished", "Promo", "STANDARD tin", "élan COPPER", "Élan", "ECONOMY", "", "zinc"}
	brands := []string{"B1", "b1", "B2", "b2", "B3"}
	flags := []string{"R", "r", "A", "N", "n"}
	var parts []string
	for i := 1; i <= 40; i++ {
		ptype, weight, since := "'"+types[i%len(types)]+"'", fmt.Sprintf("%d.%03d", i%7, i*37%1000), fmt.Sprintf("'2024-01-%02d'", i%28+1)
		if i%11 == 0 {
			ptype = "NULL"
		}
		if i%13 == 0 {
			weight, since = "NULL", "NULL"
		}
		parts = append(parts, fmt.Sprintf("(%d, %d, %s, '%s', %s, %s)", i, i%35+1, ptype, brands[i%len(brands)], weight, since))
	}
	both("INSERT INTO t4parts VALUES " + strings.Join(parts, ","))
	var orders, lines, users []string
	line := 0
	for o := 1; o <= 120; o++ {
		// Skew: half the orders have keys 4k+1 above 1000.
		okey := o
		if o%2 == 0 {
			okey = 1000 + 4*o + 1
		}
		prio := []string{"'1-URGENT'", "'2-high'", "'3-Médium'", "NULL", "'5-LOW'"}[o%5]
		orders = append(orders, fmt.Sprintf("(%d, %d, %s, '2024-%02d-%02d', %d.%02d)", okey, o%9, prio, o%3+1, o%27+1, o*13, o%100))
		if o%6 == 0 {
			continue // an order without lines
		}
		for k := 0; k < o%4+1; k++ {
			line++
			pkey := fmt.Sprint((line*7)%40 + 1) // up to 40: some match no part
			if line%17 == 0 {
				pkey = "NULL"
			}
			qty, disc := fmt.Sprintf("%d.%02d", line%12, line%3*25), fmt.Sprintf("0.%02d", line%11)
			if line%19 == 0 {
				qty = "NULL"
			}
			flag := "'" + flags[line%len(flags)] + "'"
			if line%23 == 0 {
				flag = "NULL"
			}
			lines = append(lines, fmt.Sprintf("(%d, %d, %s, %s, %d.%02d, %s, %s, '2024-01-%02d')", line, okey, pkey, qty, line*31%900+10, line%100, disc, flag, line%28+1))
		}
	}
	for u := 1; u <= 30; u++ {
		users = append(users, fmt.Sprintf("(%d, %d, 'user%d')", u, u%12, u))
	}
	both("INSERT INTO t4orders VALUES " + strings.Join(orders, ","))
	both("INSERT INTO t4lines VALUES " + strings.Join(lines, ","))
	both("INSERT INTO t4users VALUES " + strings.Join(users, ","))
	syncReplicas(t)
	return e
}

// tpch4Queries are the shapes; SortCols as in tpch.Query (nil: compared as
// multisets).
var tpch4Queries = []tpch.Query{
	// EXISTS, NOT EXISTS, IN and scalar subqueries correlated on the
	// shard keys of two tables of one rule, qualified or not.
	{Name: "exists", SQL: "SELECT o.prio, COUNT(*) AS n FROM t4orders o WHERE EXISTS (SELECT * FROM t4lines l WHERE l.lokey = o.okey AND l.qty > 3) GROUP BY o.prio ORDER BY o.prio", SortCols: []int{0}},
	{Name: "not exists unqualified", SQL: "SELECT okey, prio FROM t4orders WHERE NOT EXISTS (SELECT 1 FROM t4lines WHERE lokey = okey AND flag = 'r') ORDER BY okey", SortCols: []int{0}},
	{Name: "scalar subquery", SQL: "SELECT okey, (SELECT SUM(qty) FROM t4lines WHERE lokey = okey) AS q, (SELECT COUNT(*) FROM t4lines l WHERE l.lokey = t4orders.okey AND l.flag IS NULL) AS nulls FROM t4orders ORDER BY okey", SortCols: []int{0}},
	{Name: "in subquery", SQL: "SELECT COUNT(*), SUM(total) FROM t4orders WHERE okey IN (SELECT lokey FROM t4lines WHERE flag = 'R' AND price > 100)"},
	{Name: "exists from the lines", SQL: "SELECT COUNT(*), SUM(price) FROM t4lines l WHERE EXISTS (SELECT 1 FROM t4orders o WHERE o.okey = l.lokey AND o.odate >= '2024-02-01') AND NOT EXISTS (SELECT 1 FROM t4orders o WHERE o.okey = l.lokey AND o.prio IS NULL)"},
	{Name: "exists pinned", SQL: "SELECT okey FROM t4orders WHERE okey IN (9, 1017, 3, 1025) AND EXISTS (SELECT 1 FROM t4lines WHERE lokey = okey) ORDER BY okey", SortCols: []int{0}},
	// Aggregates over expressions mixing a sharded table and one on
	// another cluster (Q14), strings compared by their collations.
	{Name: "promo share", SQL: "SELECT 100.00 * SUM(CASE WHEN p.ptype LIKE 'promo%' THEN l.price * (1 - l.disc) ELSE 0 END) / SUM(l.price * (1 - l.disc)) AS promo FROM t4lines l JOIN t4parts p ON l.pkey = p.pkey WHERE l.shipdate >= '2024-01-05'"},
	{Name: "promo share over no rows", SQL: "SELECT 100.00 * SUM(CASE WHEN p.ptype LIKE 'promo%' THEN l.price ELSE 0 END) / SUM(l.price) AS promo, COUNT(*) FROM t4lines l, t4parts p WHERE l.pkey = p.pkey AND l.shipdate > '2030-01-01'"},
	{Name: "group by a mixed expression", SQL: "SELECT UPPER(CONCAT(p.ptype, '/', l.flag)) AS k, COUNT(*) AS n, SUM(l.qty * p.weight) AS w FROM t4lines l, t4parts p WHERE l.pkey = p.pkey GROUP BY k ORDER BY k", SortCols: []int{0}},
	{Name: "having on a group column", SQL: "SELECT p.brand, COUNT(*) AS n, MAX(l.price) FROM t4lines l JOIN t4parts p ON p.pkey = l.pkey GROUP BY p.brand HAVING p.brand <> 'B1' ORDER BY p.brand", SortCols: []int{0}},
	{Name: "count distinct", SQL: "SELECT COUNT(DISTINCT p.ptype) FROM t4lines l JOIN t4parts p ON p.pkey = l.pkey"},
	{Name: "order by a mixed expression", SQL: "SELECT l.id, l.qty * p.weight AS w FROM t4lines l JOIN t4parts p ON p.pkey = l.pkey ORDER BY w DESC, l.id, p.id LIMIT 7"},
	// OR predicates linking both tables (Q19): a common join key, or none
	// but a key in the AND around the OR.
	{Name: "or of conjunctions", SQL: "SELECT SUM(l.price * (1 - l.disc)) AS revenue, COUNT(*) FROM t4lines l, t4parts p WHERE (p.pkey = l.pkey AND p.brand = 'B1' AND l.qty BETWEEN 1 AND 5 AND l.flag IN ('r', 'A')) OR (p.pkey = l.pkey AND p.brand = 'b2' AND l.qty >= 5 AND p.ptype LIKE 'élan%') OR (p.pkey = l.pkey AND p.weight < l.qty)"},
	{Name: "or inside an and", SQL: "SELECT l.id, p.id, p.ptype, l.flag FROM t4lines l JOIN t4parts p ON l.pkey = p.pkey WHERE p.ptype = l.flag OR p.weight > l.qty OR p.since < l.shipdate ORDER BY l.id, p.id", SortCols: []int{0, 1}},
	{Name: "order by a name both tables have, joined by the proxy alone", SQL: "SELECT l.id, p.id AS pid FROM t4lines l JOIN t4parts p ON p.pkey = l.pkey ORDER BY id DESC, pid LIMIT 5", SortCols: []int{0, 1}},
	{Name: "order by a name both tables have, as the select list names it", SQL: "SELECT l.id, p.ptype, p.id AS pid FROM t4lines l JOIN t4parts p ON p.pkey = l.pkey WHERE p.ptype < l.flag ORDER BY id DESC, pid LIMIT 5", SortCols: []int{0, 2}},
	{Name: "columns of one name in both tables", SQL: "SELECT l.id, p.id FROM t4lines l JOIN t4parts p ON p.pkey = l.pkey WHERE l.id < p.id * 3 ORDER BY l.id, p.id", SortCols: []int{0, 1}},
	{Name: "star with a mixed condition", SQL: "SELECT * FROM t4lines l JOIN t4parts p ON p.pkey = l.pkey WHERE p.ptype < l.flag OR p.brand = l.flag ORDER BY l.id, p.id"},
	// LEFT JOIN: NULL-extended rows seen by the mixed predicates.
	{Name: "left join mixed where", SQL: "SELECT l.id, p.ptype FROM t4lines l LEFT JOIN t4parts p ON p.pkey = l.pkey WHERE p.ptype IS NULL OR p.ptype LIKE 'É%' OR l.flag = p.brand ORDER BY l.id, p.id"},
	{Name: "left join mixed aggregate", SQL: "SELECT l.flag, COUNT(p.pkey) AS matched, SUM(COALESCE(p.weight, 0) * l.qty) AS w, MIN(CONCAT(p.ptype, l.id)) AS first FROM t4lines l LEFT JOIN t4parts p ON p.pkey = l.pkey AND p.brand <> 'B3' GROUP BY l.flag ORDER BY l.flag", SortCols: []int{0}},
}

// TestTPCH4Shapes compares every shape with ref in every mode.
func TestTPCH4Shapes(t *testing.T) {
	e := tpch4Setup(t)
	for _, q := range tpch4Queries {
		t.Run(q.Name, func(t *testing.T) {
			want := tpchRun(t, e.ref, "text", q.SQL)
			if want.err != nil {
				t.Fatalf("ref: %v", want.err)
			}
			if len(want.rows) == 0 {
				t.Fatal("ref answers no rows: nothing is compared")
			}
			for _, mode := range tpchModes {
				proxy, ref := e.sides(mode)
				w := want
				if mode == "ansi" {
					if w = tpchRun(t, ref, "text", q.SQL); w.err != nil {
						t.Fatalf("ref (ansi): %v", w.err)
					}
				}
				got := tpchRun(t, proxy, mode, q.SQL)
				if got.err != nil {
					t.Errorf("%s: %v", mode, got.err)
					continue
				}
				if diff := tpchCompare(q, got, w); diff != "" {
					t.Errorf("%s: %s", mode, diff)
				}
			}
		})
	}
}

// TestTPCH4Prepared: statements with ? joined in the proxy and finished by
// the server, prepared once and run with several values; and refusals
// that stand.
func TestTPCH4Prepared(t *testing.T) {
	e := tpch4Setup(t)
	q := "SELECT p.brand, SUM(CASE WHEN p.ptype LIKE ? THEN l.price ELSE 0 END) AS s, COUNT(*) AS n FROM t4lines l JOIN t4parts p ON p.pkey = l.pkey WHERE l.qty > ? OR p.weight > ? GROUP BY p.brand ORDER BY p.brand"
	ps, err := e.proxy.Prepare(q)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	for _, args := range [][]any{{"promo%", 3, 4}, {"%", 0, 0}, {"é%", 100, 100}} {
		rows, err := ps.Query(args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		got := resultOf(rows)
		rows, err = e.ref.Query(q, args...)
		if err != nil {
			t.Fatal(err)
		}
		want := resultOf(rows)
		if diff := tpchCompare(tpch.Query{SortCols: []int{0}}, got, want); diff != "" || got.err != nil {
			t.Errorf("%v: %s %v", args, diff, got.err)
		}
	}
	// EXPLAIN SHARDGATE shows the lookup join, the temporary table's
	// CREATE from the definitions and the statement over it; and the
	// co-located subquery's pairs of tables.
	r := query(e.proxy, "EXPLAIN SHARDGATE SELECT SUM(CASE WHEN p.ptype LIKE 'promo%' THEN l.price ELSE 0 END) FROM t4lines l JOIN t4parts p ON p.pkey = l.pkey")
	plan := strings.Join(r.rows, "\n")
	for _, want := range []string{"LookupJoin inner", "Materialize main", "CREATE TEMPORARY TABLE `txn_tpch4`.`shardgate joined rows` (`ptype` varchar(30) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", "FROM `txn_tpch4`.`shardgate joined rows`"} {
		if r.err != nil || !strings.Contains(plan, want) {
			t.Errorf("EXPLAIN SHARDGATE lacks %q: %v\n%s", want, r.err, plan)
		}
	}
	r = query(e.proxy, "EXPLAIN SHARDGATE SELECT COUNT(*) FROM t4orders o WHERE EXISTS (SELECT 1 FROM t4lines l WHERE l.lokey = o.okey)")
	if plan := strings.Join(r.rows, "\n"); r.err != nil || !strings.Contains(plan, "FROM `t4orders_3` AS `o` WHERE EXISTS (SELECT 1 FROM `t4lines_3` AS `l`") {
		t.Errorf("EXPLAIN SHARDGATE of the co-located EXISTS: %v\n%s", r.err, plan)
	}
	// Still refused: a correlation on a column that is not the shard key,
	// and a subquery over a table of another rule.
	for _, c := range []struct{ q, msg string }{
		{"SELECT COUNT(*) FROM t4orders o WHERE EXISTS (SELECT 1 FROM t4lines l WHERE l.id = o.okey)", "not every mention is pinned"},
		{"SELECT COUNT(*) FROM t4orders o WHERE EXISTS (SELECT 1 FROM t4users u WHERE u.ukey = o.okey)", "not every mention is pinned"},
	} {
		_, err := e.proxy.Exec(c.q)
		if err == nil {
			t.Errorf("%s: answered", c.q)
			continue
		}
		if code, _, msg := mysqlErr(t, err); code != 1235 || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %s, want 1235 %q", c.q, code, msg, c.msg)
		}
	}
}
