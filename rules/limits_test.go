package rules

import (
	"strings"
	"testing"
	"time"
)

// Issue 13 item 10: values that used to panic or be accepted silently are
// refused at load with the file and line they are on.
func TestRulesDefects(t *testing.T) {
	const schemas = "schemas: {shop: {cluster: main}}\n" // line 7 after base
	cases := []struct {
		name, yaml, want string
	}{
		// Entries with no value (nil after decoding) used to crash.
		{"cluster without value", base + "  s0:\n" + schemas,
			"rules.yaml:7: cluster s0 has no value"},
		{"schema without value", base + "schemas:\n  shop:\n",
			"rules.yaml:8: schema shop has no value"},
		{"table without value", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n",
			"rules.yaml:11: schema shop: table c has no value"},
		{"null replica", "users: [{name: app}]\nbackend: {user: app}\nclusters:\n  main:\n    primary: 127.0.0.1:3310\n    replicas:\n      -\n" + schemas,
			"rules.yaml:7: cluster main: replicas: an item has no value"},
		{"null user", "users:\n  - name: app\n  -\nbackend: {user: app}\nclusters: {main: {primary: 127.0.0.1:3310}}\n" + schemas,
			"rules.yaml:3: users: an item has no value"},
		// Durations.
		{"negative primary_ping_after", base + schemas + "pool: {primary_ping_after: -1s}\n",
			"rules.yaml:8: pool.primary_ping_after -1s: must be positive"},
		{"unknown pool key", base + schemas + "pool: {primary_ping: 1s}\n",
			"rules.yaml:8: unknown key \"primary_ping\""},
		{"negative health_interval", base + schemas + "health_interval: -1s\n",
			"rules.yaml:8: health_interval -1s: must be at least 10ms"},
		{"tiny health_interval", base + schemas + "health_interval: 1ns\n",
			"rules.yaml:8: health_interval 1ns: must be at least 10ms"},
		{"negative shutdown_timeout", base + schemas + "shutdown_timeout: -5s\n",
			"rules.yaml:8: shutdown_timeout -5s: must be positive"},
		{"negative max_replica_lag", base + schemas + "max_replica_lag: -1s\n",
			"rules.yaml:8: max_replica_lag -1s: must be positive"},
		{"negative pool read_timeout", base + schemas + "pool:\n  max_open: 4\n  read_timeout: -30s\n",
			"rules.yaml:10: pool.read_timeout -30s: must be positive"},
		{"negative pool connect_timeout", base + schemas + "pool: {connect_timeout: -1s}\n",
			"rules.yaml:8: pool.connect_timeout -1s: must be positive"},
		{"negative pool wait_timeout", base + schemas + "pool:\n  wait_timeout: -1s\n",
			"rules.yaml:9: pool.wait_timeout -1s: must be positive"},
		{"negative pool idle_timeout", base + schemas + "pool:\n  idle_timeout: -1s\n",
			"rules.yaml:9: pool.idle_timeout -1s: must be positive"},
		{"negative causal_timeout", base + "schemas:\n  shop:\n    cluster: main\n    causal_timeout: -1ms\n",
			"rules.yaml:9: schema shop: causal_timeout -1ms: must be positive"},
		// Sizes and counts.
		{"negative max_allowed_packet", base + schemas + "max_allowed_packet: -1\n",
			"rules.yaml:8: max_allowed_packet -1: must be between 1024 and 1073741824"},
		{"huge max_allowed_packet", base + schemas + "max_allowed_packet: 2147483648\n",
			"rules.yaml:8: max_allowed_packet 2147483648: must be between"},
		{"negative max_idle", base + schemas + "pool:\n  max_idle: -1\n",
			"rules.yaml:9: pool.max_idle -1: must be between 0 and max_open (128)"},
		{"max_idle over max_open", base + schemas + "pool:\n  max_open: 2\n  max_idle: 3\n",
			"rules.yaml:10: pool.max_idle 3: must be between 0 and max_open (2)"},
		{"negative max_open", base + schemas + "pool:\n  max_open: -3\n",
			"rules.yaml:9: pool.max_open -3: must be at least 1"},
		{"negative scatter_concurrency", base + schemas + "scatter_concurrency: -2\n",
			"rules.yaml:8: scatter_concurrency -2: must be between 1 and 1024"},
		{"huge precreate_hours", base + schemas + "precreate_hours: 100000\n",
			"rules.yaml:8: precreate_hours 100000: must be between -1 (none) and 168"},
		{"precreate_hours below -1", base + schemas + "precreate_hours: -2\n",
			"rules.yaml:8: precreate_hours -2: must be between -1"},
		{"huge table count", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard: {by: hash, column: id, tables: 100000000, clusters: [main]}\n",
			"rules.yaml:12: schema shop: table c: shard: tables must be between 1 and 1024, got 100000000"},
		{"huge then count", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard:\n          by: hour\n          column: t\n          clusters: [main]\n          then: {by: hash, column: id, tables: 5000}\n",
			"rules.yaml:16: schema shop: table c: shard: tables must be between 1 and 1024, got 5000"},
		{"then under hash", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard:\n          by: hash\n          column: t\n          tables: 2\n          clusters: [main]\n          then: {by: hash, column: id, tables: 2}\n",
			"rules.yaml:17: schema shop: table c: shard: then applies to by: hour only"},
		{"then of then", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard:\n          by: hour\n          column: t\n          clusters: [main]\n          then:\n            by: hash\n            column: id\n            tables: 2\n            then: {by: hash, column: x, tables: 2}\n",
			"rules.yaml:20: schema shop: table c: shard: then: one level only"},
		// One server under two names.
		{"localhost and 127.0.0.1", base + "  s0:\n    primary: localhost:3310\n" + schemas,
			"rules.yaml:8: cluster s0: address localhost:3310 is the same server as 127.0.0.1:3310 (cluster main, line 5)"},
		{"port with a leading zero", base + "  s0:\n    primary: 127.0.0.1:03311\n" + schemas,
			"rules.yaml:8: cluster s0: address 127.0.0.1:03311 is the same server as 127.0.0.1:3311 (cluster main, line 6)"},
		{"ipv4-mapped ipv6", base + "  s0:\n    primary: \"[::ffff:127.0.0.1]:3312\"\n" + schemas,
			"is the same server as 127.0.0.1:3312 (cluster main, line 6)"},
		{"replica equal to its primary", "users: [{name: app}]\nbackend: {user: app}\nclusters:\n  main:\n    primary: 127.0.0.1:3310\n    replicas: [LOCALHOST:3310]\n" + schemas,
			"rules.yaml:6: cluster main: address LOCALHOST:3310 is the same server as 127.0.0.1:3310 (cluster main, line 5)"},
		{"port out of range", base + "  s0:\n    primary: 127.0.0.1:70000\n" + schemas,
			"rules.yaml:8: cluster s0: address \"127.0.0.1:70000\": want host:port (port 1-65535)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("rules.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// The bounds themselves are accepted.
func TestRulesLimitsAccepted(t *testing.T) {
	yaml := base + "  s0:\n    primary: localhost:3320\n" +
		"schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard: {by: hash, column: id, tables: 1024, clusters: [main, s0]}\n" +
		"max_allowed_packet: 1024\nprecreate_hours: -1\nhealth_interval: 10ms\npool: {max_open: 1, max_idle: 1, primary_ping_after: 1m}\n"
	r, err := Parse("rules.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxAllowedPacket != 1024 || r.PrecreateHours != -1 || r.Pool.MaxIdle != 1 || r.Pool.PrimaryPingAfter != time.Minute {
		t.Fatalf("rules: %+v", r)
	}
}

// memory_limit and its shares: sizes with units, defaults derived from
// memory_limit, and values out of range refused with their line.
func TestMemoryLimits(t *testing.T) {
	const schemas = "schemas: {shop: {cluster: main}}\n" // line 7 after base
	accepted := []struct {
		name, yaml       string
		limit, conn, stm ByteSize
	}{
		{"defaults", "", 1 << 30, 256 << 20, 256 << 20},
		{"shares follow memory_limit", "memory_limit: 64M\n", 64 << 20, 16 << 20, 16 << 20},
		{"a statement's share within its connection's", "memory_limit: 64M\nconnection_memory_limit: 4M\n", 64 << 20, 4 << 20, 4 << 20},
		{"units", "memory_limit: 2GiB\nconnection_memory_limit: 512MB\nstatement_memory_limit: 1048576\n", 2 << 30, 512 << 20, 1 << 20},
		{"lower case and spaces", "memory_limit: 16m\nconnection_memory_limit: 16 m\nstatement_memory_limit: 2048k\n", 16 << 20, 16 << 20, 2 << 20},
		{"the bounds", "memory_limit: 1T\nconnection_memory_limit: 1T\nstatement_memory_limit: 1M\n", 1 << 40, 1 << 40, 1 << 20},
	}
	for _, c := range accepted {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse("rules.yaml", []byte(base+schemas+c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if r.MemoryLimit != c.limit || r.ConnectionMemoryLimit != c.conn || r.StatementMemoryLimit != c.stm {
				t.Fatalf("memory_limit %s, connection %s, statement %s; want %s, %s, %s",
					r.MemoryLimit, r.ConnectionMemoryLimit, r.StatementMemoryLimit, c.limit, c.conn, c.stm)
			}
		})
	}
	refused := []struct{ name, yaml, want string }{
		{"below the minimum", "memory_limit: 8M\n", "rules.yaml:8: memory_limit 8M: must be between 16M and 1T"},
		{"negative", "memory_limit: -1G\n", "rules.yaml:8: memory_limit -1G: must be between 16M and 1T"},
		{"above the maximum", "memory_limit: 2T\n", "rules.yaml:8: memory_limit 2T: must be between 16M and 1T"},
		{"not a size", "memory_limit: lots\n", `rules.yaml:8: "lots": want a size in bytes such as 1G, 512M or 1048576`},
		{"unknown unit", "memory_limit: 1P\n", `rules.yaml:8: "1P": want a size in bytes`},
		{"overflow", "memory_limit: 9999999999999T\n", `rules.yaml:8: "9999999999999T": want a size in bytes`},
		{"connection over memory_limit", "memory_limit: 64M\nconnection_memory_limit: 128M\n",
			"rules.yaml:9: connection_memory_limit 128M: must be between 1M and memory_limit (64M)"},
		{"connection share too small", "connection_memory_limit: 1000\nstatement_memory_limit: 1000\n",
			"rules.yaml:8: connection_memory_limit 1000: must be between 1M and memory_limit (1G)"},
		{"statement over its connection's", "connection_memory_limit: 32M\nstatement_memory_limit: 64M\n",
			"rules.yaml:9: statement_memory_limit 64M: must be between 1M and connection_memory_limit (32M): a statement's memory is part of its connection's"},
		{"statement over the default connection share", "statement_memory_limit: 512M\n",
			"rules.yaml:8: statement_memory_limit 512M: must be between 1M and connection_memory_limit (256M)"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("rules.yaml", []byte(base+schemas+c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}
