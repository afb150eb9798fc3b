package main

import (
	"log/slog"
	"sort"
	"strconv"

	"github.com/shardgate/shardgate/rules"
)

// logConfig writes what the proxy runs with, once at start: the rules
// file, one record per cluster (its servers) and per schema (where its
// tables live), and the limits. Passwords are never logged.
func logConfig(log *slog.Logger, r *rules.Rules) {
	users := make([]string, 0, len(r.Users))
	for _, u := range r.Users {
		users = append(users, u.Name)
	}
	log.Info("config", "rules", r.File, "listen", r.Listen, "admin_listen", r.AdminListen,
		"clusters", len(r.Clusters), "schemas", len(r.Schemas), "users", users, "tls", r.TLS != nil,
		"backend_user", r.Backend.User)
	for _, name := range sortedKeys(r.Clusters) {
		c := r.Clusters[name]
		replicas := make([]string, 0, len(c.Replicas))
		for _, rep := range c.Replicas {
			s := rep.Addr
			if rep.Weight != 1 {
				s += " (weight " + strconv.Itoa(rep.Weight) + ")"
			}
			replicas = append(replicas, s)
		}
		log.Info("config: cluster", "cluster", name, "primary", c.Primary, "replicas", replicas)
	}
	for _, name := range r.SchemaOrder {
		s := r.Schemas[name]
		var sharded, global, split []string
		for _, t := range sortedKeys(s.Tables) {
			rule := s.Tables[t]
			switch {
			case rule.Shard != nil:
				sharded = append(sharded, t+" (by "+rule.Shard.By+")")
			case rule.Global:
				global = append(global, t)
			case rule.Cluster != "":
				split = append(split, t+" on "+rule.Cluster)
			}
		}
		log.Info("config: schema", "schema", name, "cluster", s.Cluster, "consistency", s.Consistency,
			"sharded", sharded, "global", global, "on_other_clusters", split)
	}
	log.Info("config: limits",
		"max_connections", r.MaxConnections, "max_preauth_connections", r.MaxPreauthConnections,
		"max_allowed_packet", r.MaxAllowedPacket, "scatter_concurrency", r.ScatterConcurrency,
		"pool_max_open", r.Pool.MaxOpen, "pool_max_idle", r.Pool.MaxIdle,
		"pool_wait_timeout", r.Pool.WaitTimeout.String(), "pool_connect_timeout", r.Pool.ConnectTimeout.String(),
		"pool_read_timeout", r.Pool.ReadTimeout.String(), "pool_idle_timeout", r.Pool.IdleTimeout.String(),
		"pool_primary_ping_after", r.Pool.PrimaryPingAfter.String(),
		"health_interval", r.HealthInterval.String(), "health_timeout", r.HealthTimeout.String(),
		"health_failures", r.HealthFailures, "max_replica_lag", r.MaxReplicaLag.String(),
		"replica_fallback", r.ReplicaFallback, "connect_timeout", r.ConnectTimeout.String(),
		"net_write_timeout", r.NetWriteTimeout.String(), "shutdown_timeout", r.ShutdownTimeout.String(),
		"max_connect_errors", r.MaxConnectErrors)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
