package rules

import (
	"strings"
	"testing"
)

const reloadBase = `users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311]}
  s0: {primary: 127.0.0.1:3320}
  s1: {primary: 127.0.0.1:3330}
schemas:
  shop:
    cluster: main
    tables:
      orders: {cluster: s1}
      comments: {shard: {by: hash, column: product_id, tables: 8, clusters: [s0, s1]}}
      events:
        shard: {by: hour, column: created_at, clusters: [s0], then: {by: hash, column: id, tables: 4}}
        buckets: {past: 720h}
`

// TestCheckReload: what a reload may change (reported as changes) and what
// it may not (rows would move, or only a restart applies it), with every
// refused change named.
func TestCheckReload(t *testing.T) {
	edit := func(pairs ...string) string {
		s := reloadBase
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(s, pairs[i]) {
				t.Fatalf("edit: %q not in the base rules", pairs[i])
			}
			s = strings.Replace(s, pairs[i], pairs[i+1], 1)
		}
		return s
	}
	cases := []struct {
		name    string
		yaml    string
		changes []string // each a part of one line of the changes
		refused []string // each a part of the error
	}{
		{name: "the same file", yaml: reloadBase},
		{name: "the same rules, other lines", yaml: "\n\n" + reloadBase},
		{name: "a table added", yaml: reloadBase + "      likes: {shard: {by: hash, column: id, tables: 2, clusters: [s0, s1]}}\n",
			changes: []string{"table shop.likes added: sharded by hash(id) into 2 tables over s0,s1"}},
		{name: "a replica added", yaml: edit("replicas: [127.0.0.1:3311]", "replicas: [127.0.0.1:3311, 127.0.0.1:3312]"),
			changes: []string{"cluster main: replicas 127.0.0.1:3311(weight 1) → 127.0.0.1:3311(weight 1),127.0.0.1:3312(weight 1)"}},
		{name: "a primary moved", yaml: edit("s0: {primary: 127.0.0.1:3320}", "s0: {primary: 127.0.0.1:3321}"),
			changes: []string{"cluster s0: primary 127.0.0.1:3320 → 127.0.0.1:3321"}},
		{name: "a cluster and a schema added", yaml: edit("  s1: {primary: 127.0.0.1:3330}\n", "  s1: {primary: 127.0.0.1:3330}\n  s2: {primary: 127.0.0.1:3340}\n") + "  other: {cluster: s2}\n",
			changes: []string{"schema other added", "cluster s2 added: primary 127.0.0.1:3340"}},
		{name: "a bucket window and a user", yaml: edit("past: 720h", "past: 1440h", "users: [{name: app, password: app}]", "users: [{name: app, password: app}, {name: ro, password: x, read_only: true}]"),
			changes: []string{"table shop.events: sharded by hour(created_at) over s0 then by hash(id) into 4 tables settings changed", "users changed"}},
		{name: "pool settings", yaml: reloadBase + "pool: {max_open: 10}\n", changes: []string{"pool or backend account changed"}},

		{name: "more tables", yaml: edit("tables: 8", "tables: 16"),
			refused: []string{"table shop.comments: sharded by hash(product_id) into 8 tables over s0,s1 → sharded by hash(product_id) into 16 tables over s0,s1 would move its rows (that is resharding, not a reload)"}},
		{name: "another shard column", yaml: edit("column: product_id", "column: id"), refused: []string{"table shop.comments"}},
		{name: "a cluster more for a split table", yaml: edit("clusters: [s0]", "clusters: [s0, s1]"), refused: []string{"table shop.events"}},
		{name: "the second split changed", yaml: edit("then: {by: hash, column: id, tables: 4}", "then: {by: hash, column: id, tables: 2}"), refused: []string{"table shop.events"}},
		{name: "a business table moved", yaml: edit("orders: {cluster: s1}", "orders: {cluster: s0}"),
			refused: []string{"table shop.orders: on cluster s1 → on cluster s0 would move its rows"}},
		{name: "a rule removed", yaml: edit("      orders: {cluster: s1}\n", ""), refused: []string{"table shop.orders: its rule was removed"}},
		{name: "the schema's cluster", yaml: edit("cluster: main\n", "cluster: s0\n"), refused: []string{"schema shop: cluster main → s0"}},
		{name: "listen and the memory budget", yaml: "listen: 127.0.0.1:4000\nmemory_limit: 2GiB\n" + reloadBase,
			refused: []string{"listen: 127.0.0.1:3307 → 127.0.0.1:4000 takes effect only when the proxy restarts", "memory_limit:"}},
		{name: "the decision log's place", yaml: reloadBase + "transactions: {log_cluster: s0}\n", refused: []string{"transactions.log_cluster: main → s0"}},
	}
	old, err := Parse("old.yaml", []byte(reloadBase))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur, err := Parse("new.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			changes, err := CheckReload(old, cur)
			if len(tc.refused) > 0 {
				if err == nil {
					t.Fatalf("accepted with changes %q", changes)
				}
				for _, want := range tc.refused {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("refused with %q, which does not say %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != len(tc.changes) {
				t.Fatalf("changes %q, want %d", changes, len(tc.changes))
			}
			for i, want := range tc.changes {
				if !strings.Contains(changes[i], want) {
					t.Errorf("change %d: %q, want %q in it", i, changes[i], want)
				}
			}
		})
	}
}

// TestDigest: the digest is of the file's bytes, so two files with the same
// rules differ and the same file gives the same digest.
func TestDigest(t *testing.T) {
	a, err := Parse("a.yaml", []byte(reloadBase))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("b.yaml", []byte(reloadBase))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("c.yaml", []byte(reloadBase+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Digest) != 64 || a.Digest != b.Digest || a.Digest == c.Digest {
		t.Fatalf("digests %s %s %s", a.Digest, b.Digest, c.Digest)
	}
}

func TestWithPrimary(t *testing.T) {
	r, err := Parse("r.yaml", []byte(reloadBase))
	if err != nil {
		t.Fatal(err)
	}
	f := r.WithPrimary("main", "127.0.0.1:3311")
	c := f.Clusters["main"]
	if c.Primary != "127.0.0.1:3311" || len(c.Replicas) != 1 || c.Replicas[0].Addr != "127.0.0.1:3310" {
		t.Fatalf("main after following: %+v", c)
	}
	if r.Clusters["main"].Primary != "127.0.0.1:3310" || f.Clusters["s0"] != r.Clusters["s0"] {
		t.Fatal("WithPrimary changed the rules it copied")
	}
	if changes, err := CheckReload(r, f); err != nil || len(changes) != 1 || !strings.Contains(changes[0], "primary 127.0.0.1:3310 → 127.0.0.1:3311") {
		t.Fatalf("the followed rules as a reload: %q, %v", changes, err)
	}
}
