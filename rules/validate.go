package rules

import (
	"fmt"
	"net"
	"time"

	"gopkg.in/yaml.v3"
)

// Validation: every error names the file line it is about.

// posError is a failure at a line of the file.
type posError struct {
	line int
	msg  string
}

func (e *posError) Error() string { return fmt.Sprintf("%d: %s", e.line, e.msg) }

func lineError(line int, format string, args ...any) error {
	return &posError{line, fmt.Sprintf(format, args...)}
}

func (r *Rules) validate(doc *yaml.Node) error {
	if len(r.Users) == 0 {
		return lineError(doc.Line, "no users: list at least one under users:")
	}
	seenUsers := map[string]bool{}
	for _, u := range r.Users {
		if u.Name == "" {
			return lineError(u.line, "user without a name")
		}
		if seenUsers[u.Name] {
			return lineError(u.line, "duplicate user %q", u.Name)
		}
		seenUsers[u.Name] = true
	}
	if r.Backend.User == "" {
		return lineError(doc.Line, "backend.user is required: the user the proxy logs in with on every server")
	}
	if _, _, err := net.SplitHostPort(r.Listen); err != nil {
		return lineError(doc.Line, "listen %q: %v", r.Listen, err)
	}
	switch r.AuthPlugin {
	case "caching_sha2_password", "mysql_native_password":
	default:
		return lineError(doc.Line, "auth_plugin %q: use caching_sha2_password or mysql_native_password", r.AuthPlugin)
	}
	if r.TLS != nil && (r.TLS.Cert == "" || r.TLS.Key == "") {
		return lineError(doc.Line, "tls: both cert and key are required")
	}
	if r.ReplicaFallback != "primary" && r.ReplicaFallback != "error" {
		return lineError(doc.Line, "replica_fallback %q: use primary or error", r.ReplicaFallback)
	}
	if err := r.validateRanges(doc); err != nil {
		return err
	}
	// Zero means the default (applyDefaults); a negative value would
	// remove the bound or close every client at once.
	for _, v := range []struct {
		key      string
		negative bool
	}{
		{"max_connections", r.MaxConnections < 0},
		{"max_preauth_connections", r.MaxPreauthConnections < 0},
		{"connect_timeout", r.ConnectTimeout < 0},
		{"net_write_timeout", r.NetWriteTimeout < 0},
	} {
		if v.negative {
			return lineError(keyLine(doc, v.key), "%s must be positive", v.key)
		}
	}
	if r.HealthFailures < 1 {
		return lineError(pathLine(doc, "health_failures"), "health_failures %d: must be at least 1", r.HealthFailures)
	}
	if len(r.Clusters) == 0 {
		return lineError(doc.Line, "no clusters: define at least one under clusters:")
	}
	// Keyed by serverKey: one server under two spellings (localhost:3310
	// and 127.0.0.1:3310) would get two pools and two health states.
	seenAddr := map[string]string{}
	for _, name := range sortedKeys(r.Clusters) {
		c := r.Clusters[name]
		if c.Primary == "" {
			return lineError(c.line, "cluster %s: primary is required", name)
		}
		addrs := []struct {
			addr string
			line int
		}{{c.Primary, c.line}}
		for _, rep := range c.Replicas {
			if rep.Weight < 0 {
				return lineError(rep.line, "cluster %s: replica %s: weight must be positive", name, rep.Addr)
			}
			addrs = append(addrs, struct {
				addr string
				line int
			}{rep.Addr, rep.line})
		}
		for _, a := range addrs {
			key, ok := serverKey(a.addr)
			if !ok {
				return lineError(a.line, "cluster %s: address %q: want host:port (port 1-65535)", name, a.addr)
			}
			if other, dup := seenAddr[key]; dup {
				return lineError(a.line, "cluster %s: address %s is the same server as %s: one server may appear once", name, a.addr, other)
			}
			seenAddr[key] = fmt.Sprintf("%s (cluster %s, line %d)", a.addr, name, a.line)
		}
	}
	if len(r.Schemas) == 0 {
		return lineError(doc.Line, "no schemas: define at least one under schemas:")
	}
	for i := range r.Users {
		if err := r.validateUser(&r.Users[i]); err != nil {
			return err
		}
	}
	if r.MaxConnectErrors < 1 {
		return lineError(keyLine(doc, "max_connect_errors"), "max_connect_errors %d: must be at least 1", r.MaxConnectErrors)
	}
	if r.ConnectErrorsTimeout < 0 {
		return lineError(keyLine(doc, "connect_errors_timeout"), "connect_errors_timeout must be positive")
	}
	if r.LoginFailureDelay < 0 || r.LoginFailureDelay > 5*time.Second {
		return lineError(keyLine(doc, "login_failure_delay"), "login_failure_delay %s: must be between 0 and 5s (a login must finish within connect_timeout)", r.LoginFailureDelay)
	}
	if r.ConnectTimeout > 0 && r.LoginFailureDelay >= r.ConnectTimeout {
		// The delay runs inside the login: the client would see its socket
		// closed instead of its access-denied error.
		return lineError(keyLine(doc, "login_failure_delay"), "login_failure_delay %s: must be shorter than connect_timeout %s", r.LoginFailureDelay, r.ConnectTimeout)
	}
	for _, name := range r.SchemaOrder {
		s := r.Schemas[name]
		if s.Cluster == "" {
			return lineError(s.line, "schema %s: cluster is required (where tables without a rule live)", name)
		}
		if r.Clusters[s.Cluster] == nil {
			return lineError(s.line, "schema %s: unknown cluster %q", name, s.Cluster)
		}
		if s.Consistency != "eventual" && s.Consistency != "session" {
			return lineError(s.line, "schema %s: consistency %q: use eventual or session", name, s.Consistency)
		}
		if s.CausalTimeout <= 0 {
			return lineError(s.line, "schema %s: causal_timeout %s: must be positive", name, s.CausalTimeout)
		}
		if err := s.Limits.check(); err != nil {
			return lineError(s.line, "schema %s: %v", name, err)
		}
		switch s.Transactions {
		case TxnXA, TxnBestEffort, TxnSingle:
		default:
			return lineError(s.line, "schema %s: transactions %q: use xa, best_effort or single", name, s.Transactions)
		}
		for _, tname := range sortedKeys(s.Tables) {
			if err := r.validateTable(s, s.Tables[tname]); err != nil {
				return err
			}
		}
	}
	if err := r.validateTransactions(doc); err != nil {
		return err
	}
	if err := r.validateSequences(doc); err != nil {
		return err
	}
	sl := r.SlowLog
	if sl.Time < 0 {
		return lineError(pathLine(doc, "slow_log", "time"), "slow_log: time %s: must not be negative", sl.Time)
	}
	if sl.MaxSize < 1<<20 {
		return lineError(pathLine(doc, "slow_log", "max_size"), "slow_log: max_size %s: at least 1MiB", sl.MaxSize)
	}
	if sl.MaxBackups < 0 {
		return lineError(pathLine(doc, "slow_log", "max_backups"), "slow_log: max_backups %d: must not be negative", sl.MaxBackups)
	}
	return nil
}

// MinRecoveryInterval keeps the recovery loop from spinning.
const MinRecoveryInterval = 10 * time.Millisecond

// maxInstanceName is the width of the decision log's instance column.
const maxInstanceName = 100

func (r *Rules) validateTransactions(doc *yaml.Node) error {
	tx := r.Transactions
	line := func(key string) int { return pathLine(doc, "transactions", key) }
	if r.Clusters[tx.LogCluster] == nil {
		return lineError(line("log_cluster"), "transactions: log_cluster %q: unknown cluster", tx.LogCluster)
	}
	if !plainName(tx.LogSchema) {
		return lineError(line("log_schema"), "transactions: log_schema %q: use letters, digits, _ and $ (at most 64)", tx.LogSchema)
	}
	if len(tx.Instance) > maxInstanceName {
		return lineError(line("instance"), "transactions: instance: at most %d bytes", maxInstanceName)
	}
	if tx.RecoveryInterval < MinRecoveryInterval {
		return lineError(line("recovery_interval"), "transactions: recovery_interval %s: must be at least %s", tx.RecoveryInterval, MinRecoveryInterval)
	}
	if tx.AbortAfter <= 0 {
		return lineError(line("abort_after"), "transactions: abort_after %s: must be positive", tx.AbortAfter)
	}
	if tx.LockWaitTimeout < time.Second || tx.LockWaitTimeout > time.Hour {
		return lineError(line("lock_wait_timeout"), "transactions: lock_wait_timeout %s: must be between 1s and 1h (innodb_lock_wait_timeout counts whole seconds)", tx.LockWaitTimeout)
	}
	return nil
}

// plainName: an identifier that needs no quoting in any sql_mode.
func plainName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func (r *Rules) validateTable(s *Schema, t *Table) error {
	where := fmt.Sprintf("schema %s: table %s", s.Name, t.Name)
	kinds := 0
	if t.Cluster != "" {
		kinds++
		if r.Clusters[t.Cluster] == nil {
			return lineError(t.line, "%s: unknown cluster %q", where, t.Cluster)
		}
	}
	if t.Global {
		kinds++
	}
	if t.Shard != nil {
		kinds++
	}
	if kinds != 1 {
		return lineError(t.line, "%s: give exactly one of cluster, global or shard", where)
	}
	for rule, depth := t.Shard, 0; rule != nil; rule, depth = rule.Then, depth+1 {
		if err := r.validateShard(where, rule, depth); err != nil {
			return err
		}
	}
	if b := t.Buckets; b != nil {
		if t.Shard == nil || t.Shard.By != "hour" {
			return lineError(b.line, "%s: buckets applies to tables with shard: {by: hour} only", where)
		}
		for _, v := range []struct {
			key string
			d   time.Duration
		}{{"past", b.Past}, {"future", b.Future}} {
			if v.d < 0 || v.d > MaxBucketWindow {
				return lineError(b.line, "%s: buckets.%s %s: must be between 0 and %s (100 years)", where, v.key, v.d, MaxBucketWindow)
			}
		}
		switch {
		case b.Retain < 0:
			return lineError(b.line, "%s: buckets.retain %s: must not be negative", where, b.Retain)
		case b.Retain > 0 && b.Retain < b.Past:
			// A write the window accepts would recreate a bucket the job
			// removed, and lose its rows at the next pass.
			return lineError(b.line, "%s: buckets.retain %s is shorter than buckets.past %s: writes could recreate removed buckets", where, b.Retain, b.Past)
		case b.Retain == 0 && b.Archive != "":
			return lineError(b.line, "%s: buckets.archive needs buckets.retain", where)
		}
		switch b.Archive {
		case "", "drop", "rename":
		default:
			return lineError(b.line, "%s: buckets.archive %q: use drop or rename", where, b.Archive)
		}
	}
	if q := t.Sequence; q != nil {
		if err := validateSequence(where, t, q); err != nil {
			return err
		}
	}
	if s := t.Shard; s != nil && s.Then != nil {
		// Only an hourly rule is split further, by hash, once: a then
		// anywhere else would be ignored by the router.
		switch {
		case s.By != "hour":
			return lineError(s.Then.line, "%s: shard: then applies to by: hour only", where)
		case s.Then.By != "hash":
			return lineError(s.Then.line, "%s: shard: then must be by: hash", where)
		case s.Then.Then != nil:
			return lineError(s.Then.Then.line, "%s: shard: then: one level only", where)
		}
	}
	return nil
}

func (r *Rules) validateShard(where string, s *ShardRule, depth int) error {
	if s.Column == "" {
		return lineError(s.line, "%s: shard: column is required", where)
	}
	switch s.By {
	case "hash":
		if s.Tables < 1 || s.Tables > MaxShardTables {
			return lineError(s.line, "%s: shard: tables must be between 1 and %d, got %d", where, MaxShardTables, s.Tables)
		}
	case "hour":
		if depth > 0 {
			return lineError(s.line, "%s: shard: by: hour can only be the first level", where)
		}
		if s.Tables != 0 {
			return lineError(s.line, "%s: shard: by: hour makes one table set per hour; tables does not apply", where)
		}
	default:
		return lineError(s.line, "%s: shard: by %q: use hash or hour", where, s.By)
	}
	if depth == 0 && len(s.Clusters) == 0 {
		return lineError(s.line, "%s: shard: clusters is required", where)
	}
	if depth > 0 && len(s.Clusters) > 0 {
		return lineError(s.line, "%s: shard: then: clusters are set on the first level only", where)
	}
	seen := map[string]bool{}
	for _, c := range s.Clusters {
		if r.Clusters[c] == nil {
			return lineError(s.line, "%s: shard: unknown cluster %q", where, c)
		}
		if seen[c] {
			return lineError(s.line, "%s: shard: cluster %q listed twice", where, c)
		}
		seen[c] = true
	}
	return nil
}

// keyLine is the line of a top-level key, or of the document when absent.
func keyLine(doc *yaml.Node, key string) int {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == key {
			return doc.Content[i].Line
		}
	}
	return doc.Line
}
