package integration

import (
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shard"
)

// shardEnv is a proxy with testdata/rules.plan.yaml and the ref server, both
// holding the same data: sharded through the proxy, plain on ref.
type shardEnv struct {
	t     *testing.T
	proxy *sql.DB
	ref   *sql.DB
	p     *proxy
}

func newShardEnv(t *testing.T) *shardEnv {
	rulesYAML, err := os.ReadFile("../testdata/rules.plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// No background bucket creation here: it would race with the tests'
	// DROP TABLE; TestShardingPayments checks it with a proxy of its own.
	p := startProxyRules(t, string(rulesYAML)+"precreate_hours: -1\n")
	refRoot := direct(t, refServer, "")
	if _, err := refRoot.Exec("CREATE DATABASE IF NOT EXISTS shop"); err != nil {
		t.Fatal(err)
	}
	e := &shardEnv{t: t, proxy: p.open(t, "shop", "interpolateParams=true"), ref: direct(t, refServer, "shop"), p: p}
	e.proxy.SetMaxOpenConns(4)
	return e
}

// both runs a statement through the proxy and on ref.
func (e *shardEnv) both(q string) {
	e.t.Helper()
	if _, err := e.proxy.Exec(q); err != nil {
		e.t.Fatalf("proxy: %s: %v", q, err)
	}
	if _, err := e.ref.Exec(q); err != nil {
		e.t.Fatalf("ref: %s: %v", q, err)
	}
}

// dropAtEnd drops tables through the proxy and on ref when the test ends,
// so no later run finds this one's rows.
func (e *shardEnv) dropAtEnd(tables ...string) {
	e.t.Cleanup(func() {
		for _, table := range tables {
			for _, db := range []*sql.DB{e.proxy, e.ref} {
				if _, err := db.Exec("DROP TABLE IF EXISTS " + table); err != nil {
					e.t.Errorf("cleanup: DROP TABLE %s: %v", table, err)
				}
			}
		}
	})
}

// rowsOf returns every row of q as text, sorted unless ordered.
func rowsOf(t *testing.T, db *sql.DB, q string, ordered bool) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out := rowsText(t, q, rows)
	if !ordered {
		sort.Strings(out)
	}
	return out
}

// rowsText reads (and closes) the rows of q, one "a|b|NULL" line per row.
func rowsText(t testing.TB, q string, rows *sql.Rows) []string {
	t.Helper()
	_, cells, err := rowsCells(t, rows)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out := make([]string, len(cells))
	for i, row := range cells {
		out[i] = strings.Join(row, "|")
	}
	return out
}

// rowsCells reads every row of rows as text cells (NULL as "NULL"), with
// the column names; the error is the one the rows ended with.
func rowsCells(t testing.TB, rows *sql.Rows) ([]string, [][]string, error) {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	return cols, out, rows.Err()
}

// same checks that q returns the same rows through the proxy and on ref.
func (e *shardEnv) same(q string) int {
	e.t.Helper()
	got, want := rowsOf(e.t, e.proxy, q, false), rowsOf(e.t, e.ref, q, false)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		e.t.Fatalf("%s: proxy returned %d rows, ref %d; first proxy %v, first ref %v", q, len(got), len(want), head(got), head(want))
	}
	return len(got)
}

func head(rows []string) []string {
	if len(rows) > 3 {
		return rows[:3]
	}
	return rows
}

var shardCluster = map[string]string{"s0": "127.0.0.1:3320", "s1": "127.0.0.1:3330", "main": mainPrimary}

func TestShardingComments(t *testing.T) {
	e := newShardEnv(t)
	for _, q := range []string{"DROP TABLE IF EXISTS comment_likes", "DROP TABLE IF EXISTS comments", "DROP TABLE IF EXISTS regions"} {
		e.both(q)
	}
	e.both("CREATE TABLE comments (id BIGINT PRIMARY KEY, product_id INT NOT NULL, user_id INT, region_id INT, body VARCHAR(100), created_at DATETIME)")
	e.both("CREATE TABLE comment_likes (comment_id BIGINT, product_id INT NOT NULL, liker INT, PRIMARY KEY (comment_id, liker))")
	e.both("CREATE TABLE regions (id INT PRIMARY KEY, name VARCHAR(40))")
	e.dropAtEnd("comments", "comment_likes", "regions")
	e.both("INSERT INTO regions (id, name) VALUES (1, 'North'), (2, 'South'), (3, 'Ëast'), (4, 'west')")

	// 10,000 comments over 500 products, 200 rows per statement; product
	// ids alternate between integers and quoted strings, which must route
	// alike.
	id := 0
	for batch := 0; batch < 50; batch++ {
		var vals []string
		for i := 0; i < 200; i++ {
			id++
			product := (id*7919)%500 + 1
			key := fmt.Sprint(product)
			if id%2 == 0 {
				key = "'" + key + "'"
			}
			vals = append(vals, fmt.Sprintf("(%d, %s, %d, %d, 'comment %d', '2026-11-%02d 10:00:00')", id, key, id%37, id%5, id, id%28+1))
		}
		e.both("INSERT INTO comments (id, product_id, user_id, region_id, body, created_at) VALUES " + strings.Join(vals, ", "))
	}
	e.both("INSERT INTO comment_likes (comment_id, product_id, liker) VALUES (1, 420, 1), (2, 339, 2), (3, 258, 3), (10, 40, 9), (11, 11, 1)")
	// Reads through the proxy go to the shards' replicas (eventual
	// consistency): they must have the rows before anything is compared.
	syncReplicas(t)

	// Every row sits in the physical table murmur3 names, on the cluster
	// that table index belongs to.
	rule := &shard.Table{Name: "comments", By: "hash", Column: "product_id", Count: 8, Clusters: []string{"s0", "s1"}}
	total := 0
	for i := 0; i < 8; i++ {
		target := rule.HashTarget(i)
		db := direct(t, shardCluster[target.Cluster], "shop")
		for _, row := range rowsOf(t, db, "SELECT product_id FROM "+target.Table, false) {
			if got := shard.Index(row, 8); got != i {
				t.Fatalf("product %s found in %s, murmur3 says comments_%d", row, target, got)
			}
			total++
		}
	}
	if total != 10000 {
		t.Fatalf("%d rows in the physical tables, want 10000", total)
	}

	for _, q := range []string{
		"SELECT * FROM comments WHERE product_id = 42",
		"SELECT * FROM comments WHERE product_id = '42'",
		"SELECT id, body FROM comments WHERE product_id IN (1, 2, 3, 499)",
		"SELECT id FROM comments WHERE product_id = 7 OR product_id = 8",
		"SELECT id, user_id FROM comments WHERE product_id BETWEEN 10 AND 20",
		"SELECT id FROM comments WHERE user_id = 3",
		"SELECT id, product_id FROM comments",
		"SELECT COUNT(*), MAX(id) FROM comments WHERE product_id = 250",
		"SELECT * FROM comments WHERE product_id = 77 ORDER BY id DESC LIMIT 3",
		"SELECT c.id, r.name FROM comments c JOIN regions r ON c.region_id = r.id WHERE c.product_id IN (5, 6)",
		"SELECT c.id, r.name FROM comments c JOIN regions r ON c.region_id = r.id",
		"SELECT c.id, l.liker FROM comments c JOIN comment_likes l ON c.product_id = l.product_id AND c.id = l.comment_id",
		"SELECT c.id, l.liker FROM comments c JOIN comment_likes l ON c.product_id = l.product_id WHERE c.product_id = 420",
		"SELECT * FROM comments WHERE product_id = 100000",
	} {
		e.same(q)
	}
	if n := e.same("SELECT c.id, l.liker FROM comments c JOIN comment_likes l ON c.product_id = l.product_id AND c.id = l.comment_id"); n != 3 {
		t.Fatalf("co-located join returned %d rows, want 3", n)
	}

	// Fan-out writes report the summed affected rows MySQL reports.
	for _, q := range []string{
		"UPDATE comments SET body = 'edited' WHERE user_id = 5",
		"UPDATE comments SET body = 'one' WHERE product_id = 3",
		"DELETE FROM comments WHERE id > 9990",
		"DELETE FROM comments WHERE product_id IN (11, 12)",
	} {
		pr, err := e.proxy.Exec(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		rr, err := e.ref.Exec(q)
		if err != nil {
			t.Fatal(err)
		}
		pn, err1 := pr.RowsAffected()
		rn, err2 := rr.RowsAffected()
		if err1 != nil || err2 != nil || pn != rn || pn == 0 {
			t.Fatalf("%s: proxy affected %d, ref %d", q, pn, rn)
		}
	}
	syncReplicas(t)
	e.same("SELECT id, body FROM comments")

	// A global-table write reaches every cluster.
	e.both("UPDATE regions SET name = 'Nörth' WHERE id = 1")
	syncReplicas(t)
	for _, addr := range shardCluster {
		var name string
		if err := direct(t, addr, "shop").QueryRow("SELECT name FROM regions WHERE id = 1").Scan(&name); err != nil || name != "Nörth" {
			t.Fatalf("global update not on %s: %q %v", addr, name, err)
		}
	}
	e.same("SELECT c.id, r.name FROM comments c JOIN regions r ON c.region_id = r.id WHERE r.id = 1")

	// DDL fans out; a DDL that fails says where.
	if _, err := e.proxy.Exec("ALTER TABLE comments ADD COLUMN score INT"); err != nil {
		t.Fatal(err)
	}
	var cols int
	scan(t, direct(t, shardCluster["s1"], "shop"), "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='shop' AND TABLE_NAME='comments_7' AND COLUMN_NAME='score'", &cols)
	if cols != 1 {
		t.Fatal("ALTER TABLE did not reach comments_7")
	}
	_, err := e.proxy.Exec("ALTER TABLE comments ADD COLUMN score INT")
	if code, _, msg := mysqlErr(t, err); code != 1060 || !strings.Contains(msg, "nothing written: a write to 8 tables") || !strings.Contains(msg, "failed: s0.comments_0") || !strings.Contains(msg, "s1.comments_7 (1060: ") {
		t.Fatalf("failing DDL: %d %s", code, msg)
	}

	// The logical view. SHOW TABLES lists what the schema's default
	// cluster (main) holds, without tables named like physical shards, plus
	// the tables of the rules. main holds no shards, so to prove the filter
	// the test puts shard-named tables there itself, and one that only
	// looks similar, which must stay listed.
	mainDB := direct(t, mainPrimary, "shop")
	for _, name := range []string{"comments_3", "comments_template", "comments_archive"} {
		freshTable(t, mainDB, name, "(id INT PRIMARY KEY)")
	}
	syncReplicas(t) // SHOW TABLES is a read: a replica answers it
	tables := rowsOf(t, e.proxy, "SHOW TABLES", true)
	listed := map[string]bool{}
	for _, name := range tables {
		listed[name] = true
	}
	for name, want := range map[string]bool{"comments": true, "payments": true, "regions": true, "comments_archive": true, "comments_3": false, "comments_template": false} {
		if listed[name] != want {
			t.Errorf("SHOW TABLES lists %s: %v, want %v (%v)", name, listed[name], want, tables)
		}
	}
	syncReplicas(t) // the ALTER TABLE above, for DESCRIBE
	var name, create string
	if err := e.proxy.QueryRow("SHOW CREATE TABLE comments").Scan(&name, &create); err != nil || name != "comments" || !strings.Contains(create, "CREATE TABLE `comments`") {
		t.Fatalf("SHOW CREATE TABLE: %q %q %v", name, create, err)
	}
	if got := rowsOf(t, e.proxy, "DESCRIBE comments", true); len(got) != 7 {
		t.Fatalf("DESCRIBE: %v", got)
	}
	plan := rowsOf(t, e.proxy, "EXPLAIN SHARDGATE SELECT * FROM comments WHERE product_id IN (1, 2)", true)
	// Products 1 and 2 live in comments_3 and comments_7, both on s1: one
	// step, a UNION ALL of the two tables; then the primitive tree, which
	// is that one route.
	if len(plan) != 4 || !strings.HasPrefix(plan[0], "read, 1 step(s)") || !strings.Contains(plan[1], "UNION ALL") || !strings.Contains(plan[1], "comments_7") ||
		plan[2] != "primitives:" || !strings.HasPrefix(plan[3], "Route s1 [comments_3,comments_7]: ") {
		t.Fatalf("EXPLAIN SHARDGATE: %v", plan)
	}

	// Each refusal has its code and names the table or column.
	for _, c := range []struct {
		sql  string
		code uint16
		name string
	}{
		{"INSERT IGNORE INTO comments (id, product_id) VALUES (1, 1) ON DUPLICATE KEY UPDATE product_id = 2", 1235, "product_id"},
		{"INSERT INTO comments (id, body) VALUES (99999, 'x')", 1364, "product_id"},
		{"INSERT INTO comments (id, product_id) VALUES (99999, NULL)", 1048, "product_id"},
		{"DELETE FROM comments", 1175, "shop.comments"},
		{"SELECT * FROM comments c JOIN reviews r ON c.product_id = r.product_id", 1235, "shop.reviews"},
		{"SELECT * FROM comments c JOIN users u ON c.user_id = u.id", 1235, "shop.users"},
		{"SELECT JSON_ARRAYAGG(body) FROM comments GROUP BY user_id", 1235, "shop.comments"},
		{"INSERT INTO comments (id, product_id) SELECT comment_id, product_id FROM comment_likes ON DUPLICATE KEY UPDATE body = product_id", 1235, "shop.comment_likes"},
	} {
		_, err := e.proxy.Exec(c.sql)
		if err == nil {
			t.Fatalf("%s: accepted", c.sql)
		}
		if code, _, msg := mysqlErr(t, err); code != c.code || !strings.Contains(msg, c.name) {
			t.Errorf("%s: %d %q, want %d naming %s", c.sql, code, msg, c.code, c.name)
		}
	}
}

func TestShardingPayments(t *testing.T) {
	e := newShardEnv(t)
	e.both("DROP TABLE IF EXISTS payments")
	e.both("CREATE TABLE payments (id BIGINT PRIMARY KEY, user_id INT NOT NULL, created_at DATETIME NOT NULL, amount DECIMAL(10,2))")
	e.dropAtEnd("payments")

	// 30 hours of payments, 6 per hour, plus the edges of the 10 o'clock hour.
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	id := 0
	var vals []string
	for h := 0; h < 30; h++ {
		for k := 0; k < 6; k++ {
			id++
			at := start.Add(time.Duration(h)*time.Hour + time.Duration(k*9)*time.Minute)
			vals = append(vals, fmt.Sprintf("(%d, %d, '%s', %d.%02d)", id, id%13, at.Format("2006-01-02 15:04:05"), id, id%100))
		}
	}
	vals = append(vals, "(9001, 4, '2026-11-20 10:59:59', 1.00)", "(9002, 4, '2026-11-20 11:00:00', 2.00)")
	e.both("INSERT INTO payments (id, user_id, created_at, amount) VALUES " + strings.Join(vals, ", "))
	syncReplicas(t) // the proxy reads from the shards' replicas

	rule := &shard.Table{Name: "payments", By: "hour", Column: "created_at", Clusters: []string{"s0", "s1"}, SubColumn: "user_id", SubCount: 4}
	for _, c := range []struct {
		id     int
		user   int
		bucket string
	}{{9001, 4, "2026112010"}, {9002, 4, "2026112011"}} {
		target := rule.BucketTargets(c.bucket, []int{shard.Index(fmt.Sprint(c.user), 4)})[0]
		var n int
		if err := direct(t, shardCluster[target.Cluster], "shop").QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE id = %d", target.Table, c.id)).Scan(&n); err != nil || n != 1 {
			t.Fatalf("payment %d not in %s: %v", c.id, target, err)
		}
	}
	// Every one of the 182 rows is in the bucket of its own hour.
	found := 0
	for h := 0; h < 30; h++ {
		bucket := start.Add(time.Duration(h) * time.Hour).Format("2006010215")
		for _, target := range rule.BucketTargets(bucket, nil) {
			db := direct(t, shardCluster[target.Cluster], "shop")
			for _, row := range rowsOf(t, db, "SELECT DATE_FORMAT(created_at, '%Y%m%d%H'), user_id FROM "+target.Table, false) {
				parts := strings.Split(row, "|")
				if parts[0] != bucket || target.Table != fmt.Sprintf("payments_%s_%d", bucket, shard.Index(parts[1], 4)) {
					t.Fatalf("row %s in %s", row, target)
				}
				found++
			}
		}
	}
	if found != 182 {
		t.Fatalf("found %d payments in their buckets, want 182", found)
	}

	for _, q := range []string{
		"SELECT id, amount FROM payments WHERE created_at BETWEEN '2026-11-20 10:00:00' AND '2026-11-20 11:59:59'",
		"SELECT id FROM payments WHERE created_at >= '2026-11-20 11:00:00' AND created_at < '2026-11-20 12:00:00'",
		"SELECT id FROM payments WHERE created_at < '2026-11-20 11:00:00'",
		"SELECT id FROM payments WHERE created_at > '2026-11-20 10:59:59' AND created_at <= '2026-11-21 02:00:00'",
		"SELECT id FROM payments WHERE created_at = '2026-11-20 11:00:00'",
		"SELECT id FROM payments WHERE created_at IN ('2026-11-20 10:59:59', '2026-11-21 05:45:00')",
		"SELECT id, created_at FROM payments WHERE user_id = 4",
		"SELECT id FROM payments WHERE user_id = 4 AND created_at BETWEEN '2026-11-20 10:00:00' AND '2026-11-20 10:59:59'",
		"SELECT * FROM payments",
		"SELECT id FROM payments WHERE created_at > '2026-12-01 00:00:00'",
	} {
		e.same(q)
	}
	// A proxy that starts creates the current hour's bucket and the next
	// precreate_hours (2) ones from the template. The run may cross an hour
	// boundary between starting the proxy and checking: then the proxy's
	// "current hour" is either one, and only the buckets both cases create
	// are certain.
	rulesYAML, err := os.ReadFile("../testdata/rules.plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Truncate(time.Hour)
	startProxyRules(t, string(rulesYAML))
	for h := 0; h <= 2; h++ {
		bucketTime := before.Add(time.Duration(h) * time.Hour)
		if h == 0 && time.Now().Truncate(time.Hour) != before {
			t.Logf("the hour changed since the proxy started: bucket %s is not certain", bucketTime.Format("2006010215"))
			continue
		}
		target := rule.BucketTargets(bucketTime.Format("2006010215"), []int{3})[0]
		shardDB := direct(t, shardCluster[target.Cluster], "shop")
		eventually(t, 10*time.Second, "bucket table "+target.String()+" precreated", func() bool {
			var n int
			scan(t, shardDB, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='shop' AND TABLE_NAME='"+target.Table+"'", &n)
			return n == 1
		})
	}

	// A row written with NOW() lands in the bucket of the time it was given:
	// the hour of the insert, whichever side of a boundary it fell.
	from := time.Now().Format("2006010215")
	if _, err := e.proxy.Exec("INSERT INTO payments (id, user_id, created_at, amount) VALUES (9100, 1, NOW(), 1)"); err != nil {
		t.Fatal(err)
	}
	to := time.Now().Format("2006010215")
	var at string
	if err := e.proxy.QueryRow("/* shardgate:primary */ SELECT created_at FROM payments WHERE id = 9100").Scan(&at); err != nil {
		t.Fatal(err)
	}
	got, err := shard.Bucket(at)
	if err != nil {
		t.Fatalf("created_at %q: %v", at, err)
	}
	if got != from && got != to {
		t.Fatalf("NOW() row has created_at %s (bucket %s), inserted between buckets %s and %s", at, got, from, to)
	}
}
