package rules

import (
	"strings"
	"testing"
)

// TestSequenceRules: a sharded table's sequence gets its defaults, the
// sequence table defaults to the decision log's place, and every wrong
// value is refused with its line.
func TestSequenceRules(t *testing.T) {
	sharded := func(seq string) string {
		return base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      comments:\n        shard: {by: hash, column: product_id, tables: 4, clusters: [main]}\n        sequence: " + seq + "\n"
	}
	r, err := Parse("rules.yaml", []byte(sharded("{column: id}")+"transactions: {log_schema: txn_log}\n"))
	if err != nil {
		t.Fatal(err)
	}
	q := r.Schemas["shop"].Tables["comments"].Sequence
	if q == nil || q.Column != "id" || q.Start != 1 || q.Cache != DefaultSequenceCache {
		t.Fatalf("defaults: %+v", q)
	}
	if s := r.Sequences; s.Cluster != "main" || s.Schema != "txn_log" {
		t.Fatalf("sequence table defaults to the decision log's place: %+v", s)
	}
	r, err = Parse("rules.yaml", []byte(sharded("{column: id, start: 1000, cache: 10}")+"sequences: {cluster: main, schema: seqs}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if q := r.Schemas["shop"].Tables["comments"].Sequence; q.Start != 1000 || q.Cache != 10 {
		t.Fatalf("given values: %+v", q)
	}
	if s := r.Sequences; s.Schema != "seqs" {
		t.Fatalf("given sequences block: %+v", s)
	}

	hourly := base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      payments:\n        shard: {by: hour, column: created_at, clusters: [main]}\n        sequence: {column: created_at}\n"
	unsharded := base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      orders:\n        cluster: main\n        sequence: {column: id}\n"
	ok := "schemas: {shop: {cluster: main}}\n"
	cases := []struct{ name, yaml, want string }{
		{"no column", sharded("{start: 5}"), "rules.yaml:13: schema shop: table comments: sequence: column is required"},
		{"unknown key", sharded("{column: id, step: 2}"), "rules.yaml:13: unknown key \"step\""},
		{"column needs quoting", sharded("{column: my-id}"), "rules.yaml:13: schema shop: table comments: sequence: column \"my-id\""},
		{"zero start", sharded("{column: id, start: -1}"), "rules.yaml:13: schema shop: table comments: sequence: start -1: must be between 1 and"},
		{"huge start", sharded("{column: id, start: 9223372036854775807}"), "sequence: start 9223372036854775807: must be between 1 and"},
		{"negative cache", sharded("{column: id, cache: -5}"), "rules.yaml:13: schema shop: table comments: sequence: cache -5: must be between 1 and 1000000"},
		{"huge cache", sharded("{column: id, cache: 1000001}"), "sequence: cache 1000001: must be between 1 and 1000000"},
		{"not a number", sharded("{column: id, cache: lots}"), "rules.yaml:13: cannot unmarshal"},
		{"hour column", hourly, "rules.yaml:13: schema shop: table payments: sequence: column created_at is the hour column"},
		{"unsharded table", unsharded, "rules.yaml:13: schema shop: table orders: sequence applies to sharded tables only"},
		{"unknown cluster", base + ok + "sequences:\n  cluster: nope\n", "rules.yaml:9: sequences: cluster \"nope\": unknown cluster"},
		{"schema needs quoting", base + ok + "sequences:\n  schema: my-seq\n", "rules.yaml:9: sequences: schema \"my-seq\""},
		{"unknown sequences key", base + ok + "sequences:\n  table: x\n", "rules.yaml:9: unknown key \"table\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("rules.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}
