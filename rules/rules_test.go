package rules

import (
	"strings"
	"testing"
	"time"
)

func TestExampleLoads(t *testing.T) {
	r, err := Load("../testdata/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Listen != "127.0.0.1:3307" || len(r.Clusters) != 3 || r.SchemaOrder[0] != "shop" {
		t.Fatalf("unexpected rules: %+v", r)
	}
	shop := r.Schemas["shop"]
	if got := shop.Table("comments").Shard; got.By != "hash" || got.Tables != 8 || got.Column != "product_id" {
		t.Fatalf("comments rule: %+v", got)
	}
	if got := shop.Table("payments").Shard.Then; got == nil || got.Tables != 4 || got.Column != "user_id" {
		t.Fatalf("payments then: %+v", got)
	}
	if !shop.Table("regions").Global || shop.Table("orders").Cluster != "s1" || shop.Table("users") != nil {
		t.Fatal("regions/orders/users rules wrong")
	}
	if r.Pool.ReadTimeout != 30*time.Second || r.Clusters["main"].Replicas[1].Weight != 1 {
		t.Fatalf("defaults not applied: %+v", r.Pool)
	}
	// A check may take longer than the interval, and one failed check does
	// not take a backend out.
	if r.HealthTimeout != 2*time.Second || r.HealthFailures != 2 || r.HealthTimeout <= r.HealthInterval {
		t.Fatalf("health defaults: interval %s timeout %s failures %d", r.HealthInterval, r.HealthTimeout, r.HealthFailures)
	}
}

const base = `users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main:
    primary: 127.0.0.1:3310
    replicas: [127.0.0.1:3311, {addr: 127.0.0.1:3312, weight: 3}]
`

func TestValidation(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"ok", base + "schemas: {shop: {cluster: main}}\n", ""},
		{"unknown top key", base + "schemas: {shop: {cluster: main}}\nlisten_addr: x\n", "rules.yaml:8: unknown key \"listen_addr\""},
		{"unknown schema cluster", base + "schemas:\n  shop:\n    cluster: nope\n", "rules.yaml:9: schema shop: unknown cluster \"nope\""},
		{"tables < 1", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard: {by: hash, column: id, tables: 0, clusters: [main]}\n", "rules.yaml:12: schema shop: table c: shard: tables must be at least 1"},
		{"missing column", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard: {by: hash, tables: 2, clusters: [main]}\n", "rules.yaml:12: schema shop: table c: shard: column is required"},
		{"duplicate table", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c: {global: true}\n      c: {global: true}\n", "rules.yaml:12: mapping key \"c\" already defined"},
		{"unknown table key", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c: {globl: true}\n", "rules.yaml:11: unknown key \"globl\""},
		{"unknown shard cluster", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard: {by: hash, column: id, tables: 2, clusters: [s9]}\n", "unknown cluster \"s9\""},
		{"bad by", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard: {by: range, column: id, tables: 2, clusters: [main]}\n", "shard: by \"range\": use hash or hour"},
		{"two placements", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c: {global: true, cluster: main}\n", "give exactly one of cluster, global or shard"},
		{"duplicate user", "users: [{name: app}, {name: app}]\n" + base[strings.Index(base, "\n")+1:] + "schemas: {shop: {cluster: main}}\n", "duplicate user \"app\""},
		{"bad type", base + "schemas: {shop: {cluster: main}}\nmax_allowed_packet: lots\n", "rules.yaml:8: cannot unmarshal"},
		{"no schemas", base, "no schemas"},
		{"negative health_failures", base + "schemas: {shop: {cluster: main}}\nhealth_failures: -1\n", "health_failures -1: must be at least 1"},
		{"negative health_timeout", base + "schemas: {shop: {cluster: main}}\nhealth_timeout: -1s\n", "health_interval and health_timeout must be positive"},
		{"bad health_timeout", base + "schemas: {shop: {cluster: main}}\nhealth_timeout: soon\n", "rules.yaml:8: cannot unmarshal"},
		{"bad replica addr", "users: [{name: app}]\nbackend: {user: app}\nclusters:\n  main:\n    primary: 127.0.0.1:3310\n    replicas: [localhost]\nschemas: {shop: {cluster: main}}\n", "rules.yaml:6: cluster main: address \"localhost\": want host:port"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse("rules.yaml", []byte(c.yaml))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if w := r.Clusters["main"].Replicas[1].Weight; w != 3 {
					t.Fatalf("weight %d", w)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}
