package rules

import (
	"net"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Ranges of values: a value outside them is refused at load with the line
// it is on, never clamped or used as it is (a negative max_allowed_packet
// would remove the cap, a negative interval panics the ticker, a huge table
// count creates millions of tables).

const (
	// MinAllowedPacket and MaxAllowedPacketLimit are MariaDB's own bounds
	// for max_allowed_packet.
	MinAllowedPacket      = 1024
	MaxAllowedPacketLimit = 1 << 30
	// MaxShardTables bounds the physical tables one hash level makes, and
	// the tables of one hourly bucket (every bucket creates that many).
	MaxShardTables = 1024
	// MaxPrecreateHours bounds the hourly buckets created ahead: each is a
	// set of tables on every cluster of the rule.
	MaxPrecreateHours = 168
	// MaxScatterConcurrency bounds the shards one read runs at once.
	MaxScatterConcurrency = 1024
	// DefaultPlanCacheSize and MaxPlanCacheSize bound plan_cache_size.
	DefaultPlanCacheSize = 10000
	MaxPlanCacheSize     = 1000000
	// MinHealthInterval keeps the health loop from spinning.
	MinHealthInterval = 10 * time.Millisecond
	// MinMemoryLimit and MaxMemoryLimit bound memory_limit: below 16 MiB
	// the shares could not hold a few large packets; above 1 TiB is a
	// typo. MinMemoryShare bounds the connection and statement shares.
	MinMemoryLimit = 16 << 20
	MaxMemoryLimit = 1 << 40
	MinMemoryShare = 1 << 20
	// MaxBucketWindow bounds an hourly table's buckets.past and
	// buckets.future: a hundred years each way.
	MaxBucketWindow = 100 * 365 * 24 * time.Hour
	// MinBucketInterval keeps the bucket refresh from querying the
	// backends' information_schema in a loop.
	MinBucketInterval = 10 * time.Millisecond
)

// checkNulls refuses entries written with no value ("s0:" with nothing
// after it): YAML decodes them as nil, which no later step expects. It
// runs before defaults are applied.
func checkNulls(doc *yaml.Node) error {
	for _, key := range []string{"clusters", "schemas"} {
		m := valueOf(doc, key)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		what := strings.TrimSuffix(key, "s")
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if isNull(v) {
				return lineError(k.Line, "%s %s has no value: give its keys (see testdata/rules.example.yaml) or remove it", what, k.Value)
			}
			if key == "clusters" {
				if err := nullItems(valueOf(v, "replicas"), "cluster "+k.Value+": replicas"); err != nil {
					return err
				}
			}
			if key != "schemas" {
				continue
			}
			tables := valueOf(v, "tables")
			if tables == nil || tables.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(tables.Content); j += 2 {
				tk, tv := tables.Content[j], tables.Content[j+1]
				if isNull(tv) {
					return lineError(tk.Line, "schema %s: table %s has no value: give one of cluster, global or shard", k.Value, tk.Value)
				}
				if b := valueOf(tv, "buckets"); b != nil && isNull(b) {
					return lineError(b.Line, "schema %s: table %s: buckets has no value: give past and future, or remove it for the defaults", k.Value, tk.Value)
				}
			}
		}
	}
	return nullItems(valueOf(doc, "users"), "users")
}

// nullItems refuses an empty item ("- " with nothing) in a list.
func nullItems(seq *yaml.Node, where string) error {
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	for _, item := range seq.Content {
		if isNull(item) {
			return lineError(item.Line, "%s: an item has no value", where)
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// valueOf is the value of key in mapping m, nil when absent.
func valueOf(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// pathLine is the line of the key at path (e.g. "pool", "max_idle"), or of
// the deepest part of it that exists.
func pathLine(doc *yaml.Node, path ...string) int {
	line, n := doc.Line, doc
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			break
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, n, found = n.Content[i].Line, n.Content[i+1], true
				break
			}
		}
		if !found {
			break
		}
	}
	return line
}

// validateRanges checks the numbers and durations of the top level and of
// pool.
func (r *Rules) validateRanges(doc *yaml.Node) error {
	if r.MaxAllowedPacket < MinAllowedPacket || r.MaxAllowedPacket > MaxAllowedPacketLimit {
		return lineError(pathLine(doc, "max_allowed_packet"), "max_allowed_packet %d: must be between %d and %d (1 GiB), as in MariaDB", r.MaxAllowedPacket, MinAllowedPacket, MaxAllowedPacketLimit)
	}
	if r.HealthInterval < MinHealthInterval {
		return lineError(pathLine(doc, "health_interval"), "health_interval %s: must be at least %s", r.HealthInterval, MinHealthInterval)
	}
	if r.PrecreateHours < -1 || r.PrecreateHours > MaxPrecreateHours {
		return lineError(pathLine(doc, "precreate_hours"), "precreate_hours %d: must be between -1 (none) and %d", r.PrecreateHours, MaxPrecreateHours)
	}
	for _, v := range []struct {
		key string
		d   time.Duration
	}{
		{"bucket_refresh_interval", r.BucketRefreshInterval},
		{"bucket_recheck_interval", r.BucketRecheckInterval},
	} {
		if v.d < MinBucketInterval {
			return lineError(pathLine(doc, v.key), "%s %s: must be at least %s", v.key, v.d, MinBucketInterval)
		}
	}
	if r.ScatterConcurrency < 1 || r.ScatterConcurrency > MaxScatterConcurrency {
		return lineError(pathLine(doc, "scatter_concurrency"), "scatter_concurrency %d: must be between 1 and %d", r.ScatterConcurrency, MaxScatterConcurrency)
	}
	if r.PlanCacheSize != -1 && (r.PlanCacheSize < 1 || r.PlanCacheSize > MaxPlanCacheSize) {
		return lineError(pathLine(doc, "plan_cache_size"), "plan_cache_size %d: must be -1 (off) or between 1 and %d", r.PlanCacheSize, MaxPlanCacheSize)
	}
	durations := []struct {
		path []string
		d    time.Duration
	}{
		{[]string{"health_timeout"}, r.HealthTimeout},
		{[]string{"shutdown_timeout"}, r.ShutdownTimeout},
		{[]string{"max_replica_lag"}, r.MaxReplicaLag},
		{[]string{"connect_errors_timeout"}, r.ConnectErrorsTimeout},
		{[]string{"pool", "idle_timeout"}, r.Pool.IdleTimeout},
		{[]string{"pool", "connect_timeout"}, r.Pool.ConnectTimeout},
		{[]string{"pool", "read_timeout"}, r.Pool.ReadTimeout},
		{[]string{"pool", "wait_timeout"}, r.Pool.WaitTimeout},
		{[]string{"pool", "primary_ping_after"}, r.Pool.PrimaryPingAfter},
	}
	for _, d := range durations {
		// Zero was replaced by the default; what is left must be positive.
		if d.d <= 0 {
			return lineError(pathLine(doc, d.path...), "%s %s: must be positive", strings.Join(d.path, "."), d.d)
		}
	}
	if err := r.validateMemory(doc); err != nil {
		return err
	}
	if r.Pool.MaxOpen < 1 {
		return lineError(pathLine(doc, "pool", "max_open"), "pool.max_open %d: must be at least 1", r.Pool.MaxOpen)
	}
	if r.Pool.MaxIdle < 0 || r.Pool.MaxIdle > r.Pool.MaxOpen {
		return lineError(pathLine(doc, "pool", "max_idle"), "pool.max_idle %d: must be between 0 and max_open (%d)", r.Pool.MaxIdle, r.Pool.MaxOpen)
	}
	return nil
}

// validateMemory checks the budget and its shares: a statement's share is
// part of its connection's, which is part of the whole.
func (r *Rules) validateMemory(doc *yaml.Node) error {
	if r.MemoryLimit < MinMemoryLimit || r.MemoryLimit > MaxMemoryLimit {
		return lineError(keyLine(doc, "memory_limit"), "memory_limit %s: must be between %s and %s",
			r.MemoryLimit, ByteSize(MinMemoryLimit), ByteSize(MaxMemoryLimit))
	}
	if r.ConnectionMemoryLimit < MinMemoryShare || r.ConnectionMemoryLimit > r.MemoryLimit {
		return lineError(keyLine(doc, "connection_memory_limit"), "connection_memory_limit %s: must be between %s and memory_limit (%s)",
			r.ConnectionMemoryLimit, ByteSize(MinMemoryShare), r.MemoryLimit)
	}
	if r.StatementMemoryLimit < MinMemoryShare || r.StatementMemoryLimit > r.ConnectionMemoryLimit {
		return lineError(keyLine(doc, "statement_memory_limit"), "statement_memory_limit %s: must be between %s and connection_memory_limit (%s): a statement's memory is part of its connection's",
			r.StatementMemoryLimit, ByteSize(MinMemoryShare), r.ConnectionMemoryLimit)
	}
	return nil
}

// serverKey is the form of a backend address two spellings of one server
// share: the IP in its canonical text (localhost is 127.0.0.1), the port as
// a number. Host names other than localhost are compared as written (they
// are not resolved at load).
func serverKey(addr string) (string, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", false
	}
	host = strings.ToLower(host)
	switch {
	case host == "localhost":
		host = "127.0.0.1"
	case host == "":
		return "", false
	default:
		if ip := net.ParseIP(host); ip != nil {
			host = ip.String()
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), true
}
