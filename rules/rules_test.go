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
	if r.MaxConnections != 4096 || r.MaxPreauthConnections != 256 || r.ConnectTimeout != 10*time.Second || r.NetWriteTimeout != time.Minute {
		t.Fatalf("client limit defaults: max_connections %d, max_preauth_connections %d, connect_timeout %s, net_write_timeout %s",
			r.MaxConnections, r.MaxPreauthConnections, r.ConnectTimeout, r.NetWriteTimeout)
	}
	if r.MemoryLimit != 1<<30 || r.ConnectionMemoryLimit != 256<<20 || r.StatementMemoryLimit != 256<<20 {
		t.Fatalf("memory limits: %s, %s, %s", r.MemoryLimit, r.ConnectionMemoryLimit, r.StatementMemoryLimit)
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
		{"tables < 1", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard: {by: hash, column: id, tables: 0, clusters: [main]}\n", "rules.yaml:12: schema shop: table c: shard: tables must be between 1 and 1024, got 0"},
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
		{"negative health_timeout", base + "schemas: {shop: {cluster: main}}\nhealth_timeout: -1s\n", "rules.yaml:8: health_timeout -1s: must be positive"},
		{"bad health_timeout", base + "schemas: {shop: {cluster: main}}\nhealth_timeout: soon\n", "rules.yaml:8: cannot unmarshal"},
		{"negative max_connections", base + "schemas: {shop: {cluster: main}}\nmax_connections: -1\n", "rules.yaml:8: max_connections must be positive"},
		{"negative max_preauth_connections", base + "schemas: {shop: {cluster: main}}\nmax_preauth_connections: -5\n", "rules.yaml:8: max_preauth_connections must be positive"},
		{"negative connect_timeout", base + "schemas: {shop: {cluster: main}}\nconnect_timeout: -1s\n", "rules.yaml:8: connect_timeout must be positive"},
		{"negative net_write_timeout", base + "schemas: {shop: {cluster: main}}\nnet_write_timeout: -2s\n", "rules.yaml:8: net_write_timeout must be positive"},
		{"login_failure_delay beyond connect_timeout", base + "schemas: {shop: {cluster: main}}\nconnect_timeout: 1s\nlogin_failure_delay: 2s\n", "rules.yaml:9: login_failure_delay 2s: must be shorter than connect_timeout 1s"},
		{"bad connect_timeout", base + "schemas: {shop: {cluster: main}}\nconnect_timeout: 10\n", "rules.yaml:8: cannot unmarshal"},
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
