package planner

import (
	"testing"

	"github.com/shardgate/shardgate/parser"
)

// TestDerivedFirst: the derived tables reading sharded tables are taken
// out, each with its own SELECT (keeping the names MariaDB gives its
// columns), and the statement reads their temporary tables on the cluster
// of its other tables; anything else leaves the planner's refusal.
func TestDerivedFirst(t *testing.T) {
	pl := newGoldenPlannerFrom(t, goldenRules("merges"))
	f := Facts{DB: "shop", Defs: goldenDefs}
	for _, c := range []struct {
		name, sql string
		subs      []string // nil: not rewritten
		cluster   string
		want      string
	}{
		{name: "alone: the schema's cluster",
			sql:     "SELECT COUNT(*) FROM (SELECT product_id, COUNT(*) FROM comments GROUP BY product_id) AS d",
			subs:    []string{"SELECT `product_id`,COUNT(1) AS `COUNT(*)` FROM `comments` GROUP BY `product_id`"},
			cluster: "main",
			want:    "SELECT COUNT(1) AS `COUNT(*)` FROM `shop`.`shardgate derived 0` AS `d`"},
		{name: "joined to a table on another cluster",
			sql:     "SELECT o.id, d.n FROM orders o JOIN (SELECT user_id, COUNT(*) n FROM comments GROUP BY user_id) d ON d.user_id = o.user_id",
			subs:    []string{"SELECT `user_id`,COUNT(1) AS `n` FROM `comments` GROUP BY `user_id`"},
			cluster: "s1",
			want:    "SELECT `o`.`id`,`d`.`n` FROM `orders` AS `o` JOIN `shop`.`shardgate derived 0` AS `d` ON `d`.`user_id`=`o`.`user_id`"},
		{name: "two, and a global table",
			sql:     "SELECT * FROM (SELECT id FROM comments) a, (SELECT id FROM payments) b, regions r",
			subs:    []string{"SELECT `id` FROM `comments`", "SELECT `id` FROM `payments`"},
			cluster: "main",
			want:    "SELECT * FROM ((`shop`.`shardgate derived 0` AS `a`) JOIN `shop`.`shardgate derived 1` AS `b`) JOIN `regions` AS `r`"},
		{name: "a derived table of unsharded tables stays",
			sql:     "SELECT * FROM (SELECT id FROM users) u, (SELECT id FROM comments) c",
			subs:    []string{"SELECT `id` FROM `comments`"},
			cluster: "main",
			want:    "SELECT * FROM (SELECT `id` FROM `users`) AS `u`, `shop`.`shardgate derived 0` AS `c`"},
		{name: "no session database",
			sql:     "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM shop.comments) AS d",
			subs:    []string{"SELECT COUNT(1) AS `n` FROM `shop`.`comments`"},
			cluster: "main",
			want:    "SELECT MAX(`n`) AS `MAX(n)` FROM `shop`.`shardgate derived 0` AS `d`"},
		{name: "a sharded table beside: read first too, with its own conditions",
			sql: "SELECT c.id, d.n FROM comments c JOIN (SELECT user_id, COUNT(*) n FROM payments GROUP BY user_id) d ON d.user_id = c.user_id WHERE c.product_id = 4 AND c.body LIKE 'a%' AND d.n > 1 AND c.id < d.n",
			subs: []string{"SELECT `user_id`,COUNT(1) AS `n` FROM `payments` GROUP BY `user_id`",
				"SELECT * FROM `comments` AS `c` WHERE (`c`.`product_id`=4) AND (`c`.`body` LIKE 'a%')"},
			cluster: "main",
			want:    "SELECT `c`.`id`,`d`.`n` FROM `shop`.`shardgate derived 1` AS `c` JOIN `shop`.`shardgate derived 0` AS `d` ON `d`.`user_id`=`c`.`user_id` WHERE `c`.`product_id`=4 AND `c`.`body` LIKE 'a%' AND `d`.`n`>1 AND `c`.`id`<`d`.`n`"},
		{name: "a sharded table beside on the NULL-extended side: no condition goes in",
			sql:     "SELECT d.user_id, c.id FROM (SELECT user_id FROM payments) d LEFT JOIN comments c ON c.user_id = d.user_id WHERE c.product_id = 4",
			subs:    []string{"SELECT `user_id` FROM `payments`", "SELECT * FROM `comments` AS `c`"},
			cluster: "main",
			want:    "SELECT `d`.`user_id`,`c`.`id` FROM `shop`.`shardgate derived 0` AS `d` LEFT JOIN `shop`.`shardgate derived 1` AS `c` ON `c`.`user_id`=`d`.`user_id` WHERE `c`.`product_id`=4"},
		{name: "the rest names a sharded table inside a subquery",
			sql: "SELECT * FROM (SELECT id FROM comments) d WHERE d.id IN (SELECT id FROM comments)"},
		{name: "the rest spans clusters",
			sql: "SELECT * FROM (SELECT id FROM comments) d JOIN orders o ON o.id = d.id JOIN users u ON u.id = o.user_id"},
		{name: "no derived table over shards",
			sql: "SELECT * FROM (SELECT id FROM users) u"},
		{name: "locking read",
			sql: "SELECT * FROM (SELECT id FROM comments) d FOR UPDATE"},
		{name: "WITH",
			sql: "WITH x AS (SELECT 1) SELECT * FROM (SELECT id FROM comments) d"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stmts, err := parser.New().Parse(c.sql)
			if err != nil {
				t.Fatal(err)
			}
			ff := f
			if c.name == "no session database" {
				ff.DB = ""
			}
			rw, err := pl.DerivedFirst(stmts[0].Node, ff)
			if err != nil {
				t.Fatal(err)
			}
			if c.subs == nil {
				if rw != nil {
					t.Fatalf("rewritten: %s", rw.SQL())
				}
				return
			}
			if rw == nil {
				t.Fatal("not rewritten")
			}
			if len(rw.Tables) != len(c.subs) {
				t.Fatalf("%d derived tables, want %d", len(rw.Tables), len(c.subs))
			}
			for i, d := range rw.Tables {
				if d.SQL != c.subs[i] {
					t.Errorf("derived %d: %s, want %s", i, d.SQL, c.subs[i])
				}
			}
			if rw.Cluster != c.cluster || rw.SQL() != c.want {
				t.Errorf("on %s: %s\nwant on %s: %s", rw.Cluster, rw.SQL(), c.cluster, c.want)
			}
		})
	}
}
