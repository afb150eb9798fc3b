// Package rules loads and validates the rules file: who may connect, which
// backend clusters exist, and where each schema and table lives.
package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Rules is a validated rules file. It is immutable once loaded.
type Rules struct {
	Listen string `yaml:"listen"`
	// AdminListen serves /metrics over HTTP; empty turns it off.
	AdminListen      string              `yaml:"admin_listen"`
	Users            []User              `yaml:"users"`
	Backend          Backend             `yaml:"backend"`
	Clusters         map[string]*Cluster `yaml:"clusters"`
	Schemas          map[string]*Schema  `yaml:"schemas"`
	Pool             Pool                `yaml:"pool"`
	AuthPlugin       string              `yaml:"auth_plugin"`
	ServerVersion    string              `yaml:"server_version"`
	MaxAllowedPacket int                 `yaml:"max_allowed_packet"`
	ShutdownTimeout  time.Duration       `yaml:"shutdown_timeout"`
	HealthInterval   time.Duration       `yaml:"health_interval"`
	// HealthTimeout bounds one health check; it may exceed the interval.
	HealthTimeout time.Duration `yaml:"health_timeout"`
	// HealthFailures is how many consecutive failed checks take a backend
	// out of rotation.
	HealthFailures int `yaml:"health_failures"`
	// TLS, when set, lets clients switch to TLS (CLIENT_SSL).
	TLS *TLS `yaml:"tls"`
	// MaxReplicaLag takes a replica out of rotation when it falls further behind.
	MaxReplicaLag time.Duration `yaml:"max_replica_lag"`
	// ReplicaFallback is "primary" (reads go to the primary when no replica
	// is usable) or "error".
	ReplicaFallback string `yaml:"replica_fallback"`
	// PrecreateHours is how many hourly buckets ahead of now the proxy
	// creates in the background (default 2; -1 turns creation ahead off).
	PrecreateHours int `yaml:"precreate_hours"`
	// ScatterConcurrency bounds the shards one plain scatter read reads at
	// once (merged reads need every shard's stream open).
	ScatterConcurrency int `yaml:"scatter_concurrency"`
	// PlanCacheSize bounds the plans kept per statement shape (statements
	// differing only in their literals share one): the most recently used
	// are kept. -1 turns the cache off.
	PlanCacheSize int `yaml:"plan_cache_size"`
	// BucketRefreshInterval is how often the proxy lists the hourly buckets
	// that exist on the backends: buckets other proxy instances created,
	// or dropped, are seen within it even when nothing asks for them.
	BucketRefreshInterval time.Duration `yaml:"bucket_refresh_interval"`
	// BucketRecheckInterval bounds how often a statement that may reach
	// buckets this instance does not know makes it look on the backends
	// (per table for ranges, per hour for exact values).
	BucketRecheckInterval time.Duration `yaml:"bucket_recheck_interval"`
	// MaxConnectErrors is how many consecutive failed logins block a client
	// host (error 1129) until FLUSH HOSTS or ConnectErrorsTimeout.
	MaxConnectErrors int `yaml:"max_connect_errors"`
	// ConnectErrorsTimeout unblocks a blocked host by itself, and forgets
	// a host's failures when it has not failed for that long.
	ConnectErrorsTimeout time.Duration `yaml:"connect_errors_timeout"`
	// LoginFailureDelay is how long a failed login waits before its error
	// is sent: guessing passwords gets slow on one connection.
	LoginFailureDelay time.Duration `yaml:"login_failure_delay"`

	// Bounds that keep a flood of clients from taking the proxy down (see
	// "Limits under load" in the README).

	// MaxConnections caps client connections, logged in or not; the next
	// client gets error 1040 as MariaDB sends it. The proxy lowers it
	// further when the descriptor limit leaves too little room.
	MaxConnections int `yaml:"max_connections"`
	// MaxPreauthConnections caps connections that have not finished
	// logging in, so silent sockets cannot use up max_connections for
	// clients with a password.
	MaxPreauthConnections int `yaml:"max_preauth_connections"`
	// ConnectTimeout is how long a client has to finish logging in
	// (MariaDB's connect_timeout); it is not pool.connect_timeout.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// NetWriteTimeout is how long a write to a client may make no
	// progress; then its statement is killed and it is disconnected.
	NetWriteTimeout time.Duration `yaml:"net_write_timeout"`

	// The memory budget (see "Memory" in the README): what the proxy
	// buffers (in-memory sorts, whole results, long data, large packets)
	// is reserved from MemoryLimit before it is allocated; one connection
	// may hold at most ConnectionMemoryLimit of it, and one statement at
	// most StatementMemoryLimit (part of its connection's share).
	MemoryLimit           ByteSize `yaml:"memory_limit"`
	ConnectionMemoryLimit ByteSize `yaml:"connection_memory_limit"`
	StatementMemoryLimit  ByteSize `yaml:"statement_memory_limit"`

	// Transactions configures transactions that span clusters: where the
	// commit decisions of two-phase commits are logged and how in-doubt
	// ones are recovered (docs/transactions.md).
	Transactions Transactions `yaml:"transactions"`

	// Sequences says where the sequence table of tables with a sequence
	// lives (README: Global sequences).
	Sequences Sequences `yaml:"sequences"`
	// SlowLog writes statements slower than its time to a file.
	SlowLog SlowLog `yaml:"slow_log"`

	// SchemaOrder lists schema names as written; the first one answers
	// statements that name no table while no database is selected.
	SchemaOrder []string `yaml:"-"`
	File        string   `yaml:"-"`
	// Digest is the SHA-256 of the file's bytes (hex): which version of
	// the rules is running (SHOW SHARDGATE RULES).
	Digest string `yaml:"-"`
}

// User may log in to the proxy.
type User struct {
	Name string `yaml:"name"`
	// Password is the clear text, or a stored hash: "*" and 40 hex digits
	// is mysql_native_password's SHA1(SHA1(password)) (see NativeHash);
	// "$A$005$…" (or its hex form 0x24412430…) is caching_sha2_password's
	// SHA-256-crypt hash (see SHA2Hash).
	Password string `yaml:"password"`
	// Schemas lists the declared schemas the user may reach; "*" (the
	// default) is every declared schema.
	Schemas []string `yaml:"schemas"`
	// ReadOnly users may read but not write or change tables.
	ReadOnly bool `yaml:"read_only"`
	// Hosts are the client addresses the user may log in from: MySQL
	// patterns (127.0.0.%, 10.1._.5), CIDRs (10.0.0.0/8) or addresses.
	// Empty: any address.
	Hosts []string `yaml:"hosts"`
	// MaxConnections bounds the user's concurrent client connections
	// (0: unlimited), as MariaDB's max_user_connections.
	MaxConnections int `yaml:"max_connections"`
	// Limits bounds the user's statements across all its connections.
	Limits `yaml:",inline"`
	// Admin users may run the proxy's administrative statements (SHOW
	// SHARDGATE BACKENDS, FLUSH HOSTS).
	Admin bool `yaml:"admin"`
	// SystemSchemas lists the servers' own schemas (mysql,
	// performance_schema, sys) the user may read; none by default, and
	// "*" in schemas does not include them. Writes to them are never
	// allowed.
	SystemSchemas []string `yaml:"system_schemas"`
	line          int
	lines         userLines

	// Compiled by validation.
	hosts      []hostPattern
	schemaSet  map[string]bool // nil: every declared schema
	nativeHash []byte
	sha2Hash   *SHA2Hash
}

// TLS names the proxy's certificate and key (PEM files). With require, a
// client that does not switch to TLS is refused.
type TLS struct {
	Cert    string `yaml:"cert"`
	Key     string `yaml:"key"`
	Require bool   `yaml:"require"`
}

func (t *TLS) UnmarshalYAML(n *yaml.Node) error {
	type plain TLS
	return decodeStrict(n, (*plain)(t))
}

// Backend holds the credentials the proxy uses on every MariaDB server.
type Backend struct {
	User     string `yaml:"user"`
	Password string `yaml:"password"`
}

// Cluster is one primary and its replicas.
type Cluster struct {
	Name     string    `yaml:"-"`
	Primary  string    `yaml:"primary"`
	Replicas []Replica `yaml:"replicas"`
	line     int
}

// Replica is a read-only copy of a cluster's primary.
type Replica struct {
	Addr   string `yaml:"addr"`
	Weight int    `yaml:"weight"`
	line   int
}

// Schema is a logical database. A physical database of the same name exists
// on every cluster the schema uses.
type Schema struct {
	Name    string            `yaml:"-"`
	Cluster string            `yaml:"cluster"`
	Tables  map[string]*Table `yaml:"tables"`
	// Consistency is "session" (read-your-writes, the default) or
	// "eventual" (reads may lag the session's own writes).
	Consistency string `yaml:"consistency"`
	// CausalTimeout bounds the wait for a replica to apply a session's
	// last write before the read goes to the primary.
	CausalTimeout time.Duration `yaml:"causal_timeout"`
	// Transactions is how a transaction that reaches several clusters
	// commits: TxnXA, TxnBestEffort or TxnSingle (the default is TxnXA).
	Transactions string `yaml:"transactions"`
	// AllowFullTableWrites lets UPDATE and DELETE without WHERE (and
	// without LIMIT) reach every table of the schema that has no rule of
	// its own saying otherwise; by default they are refused (1175).
	AllowFullTableWrites bool `yaml:"allow_full_table_writes"`
	// Limits bounds the statements run in the schema (the session's
	// current database) by all users.
	Limits `yaml:",inline"`
	line   int
}

// Limits bound statements by rate and concurrency (0: unlimited). A
// statement over either gets 1226, as MariaDB answers a user over its
// own resource limits.
type Limits struct {
	// MaxStatements bounds the statements running at once.
	MaxStatements int `yaml:"max_statements"`
	// MaxQPS bounds the statements started per second (a token bucket
	// holding a tenth of a second's worth, at least one).
	MaxQPS float64 `yaml:"max_qps"`
}

// Transaction modes of a schema.
const (
	// TxnXA: every branch is an XA transaction; several branches commit
	// with two-phase commit, atomically.
	TxnXA = "xa"
	// TxnBestEffort: branches are local transactions committed one after
	// another; a failure after the first commit leaves the others'
	// outcome as reported.
	TxnBestEffort = "best_effort"
	// TxnSingle: a transaction stays on one cluster (a statement for
	// another cluster gets 1235).
	TxnSingle = "single"
)

// Transactions is the top-level transactions: block.
type Transactions struct {
	// LogCluster holds the decision log (its primary), LogSchema the
	// database of its tables.
	LogCluster string `yaml:"log_cluster"`
	LogSchema  string `yaml:"log_schema"`
	// Instance names this proxy in transaction ids and the log; empty:
	// host name and listen port, filled in at start.
	Instance string `yaml:"instance"`
	// RecoveryInterval is how often in-doubt branches are looked for (and
	// the instance's heartbeat written).
	RecoveryInterval time.Duration `yaml:"recovery_interval"`
	// AbortAfter: a prepared branch with no commit decision that recovery
	// has seen for this long is rolled back, even if its proxy looks alive.
	AbortAfter time.Duration `yaml:"abort_after"`
	// LockWaitTimeout bounds innodb_lock_wait_timeout (whole seconds) on
	// the branches of a transaction that spans clusters: a deadlock across
	// servers is detected by none of them.
	LockWaitTimeout time.Duration `yaml:"lock_wait_timeout"`
	line            int
}

// Sequences is the top-level sequences: block: the cluster whose primary
// holds the sequence table, and its database. Both default to the
// transactions' decision log (log_cluster, log_schema), a place the
// proxy already writes to and creates tables in.
type Sequences struct {
	Cluster string `yaml:"cluster"`
	Schema  string `yaml:"schema"`
	line    int
}

// SlowLog is the top-level slow_log: block (README: Operating shardgate).
type SlowLog struct {
	// File receives one JSON line per slow statement; "" keeps the slow
	// statements in SHOW SHARDGATE SLOW and metrics only.
	File string `yaml:"file"`
	// Time is the threshold (SHARDGATE SLOW_QUERY_TIME changes it at
	// runtime); default DefaultSlowQueryTime.
	Time time.Duration `yaml:"time"`
	// MaxSize rotates the file past this size, keeping MaxBackups old
	// files (defaults 100 MiB and 5).
	MaxSize    ByteSize `yaml:"max_size"`
	MaxBackups int      `yaml:"max_backups"`
	line       int
}

// DefaultSlowQueryTime is slow_log.time when the file leaves it out
// (MariaDB's long_query_time is 10 s; a proxy's operator wants less).
const DefaultSlowQueryTime = time.Second

// SequenceRule gives a sharded table's column values from a global
// sequence instead of each physical table's AUTO_INCREMENT.
type SequenceRule struct {
	Column string `yaml:"column"`
	// Start is the first value handed out (default 1).
	Start int64 `yaml:"start"`
	// Cache is how many values one proxy instance takes from the sequence
	// table at a time (default DefaultSequenceCache).
	Cache int64 `yaml:"cache"`
	line  int
}

// Table says where one logical table lives when that is not the schema's
// default cluster.
type Table struct {
	Name    string     `yaml:"-"`
	Cluster string     `yaml:"cluster"`
	Global  bool       `yaml:"global"`
	Shard   *ShardRule `yaml:"shard"`
	// AllowFullTableWrites lets UPDATE or DELETE without WHERE reach every
	// shard of a sharded table.
	AllowFullTableWrites bool `yaml:"allow_full_table_writes"`
	// Buckets bounds the hours an hourly table accepts rows for (by: hour
	// only; defaults applied, so never nil for an hourly table).
	Buckets *BucketWindow `yaml:"buckets"`
	// Sequence, on a sharded table, fills a column from a global sequence.
	Sequence *SequenceRule `yaml:"sequence"`
	line     int
}

// BucketWindow is the range of hours, relative to the proxy's clock, for
// which rows of an hourly table are accepted and buckets created: a write
// outside it is refused (1526) instead of creating tables for any hour a
// client names.
type BucketWindow struct {
	Past   time.Duration `yaml:"past"`
	Future time.Duration `yaml:"future"`
	// Retain, when set, is how long buckets are kept: a background job
	// removes those whose hour ended longer ago (Archive says how: "drop",
	// the default, or "rename" to archived_<table>).
	Retain  time.Duration `yaml:"retain"`
	Archive string        `yaml:"archive"`
	// hasPast and hasFuture tell an explicit 0 from a key left out.
	hasPast, hasFuture bool
	line               int
}

// ShardRule splits a table by one column.
type ShardRule struct {
	By       string     `yaml:"by"`
	Column   string     `yaml:"column"`
	Tables   int        `yaml:"tables"`
	Clusters []string   `yaml:"clusters"`
	Then     *ShardRule `yaml:"then"`
	line     int
}

// Pool sizes and timeouts apply to every backend server's connection pool.
type Pool struct {
	MaxOpen        int           `yaml:"max_open"`
	MaxIdle        int           `yaml:"max_idle"`
	IdleTimeout    time.Duration `yaml:"idle_timeout"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	ReadTimeout    time.Duration `yaml:"read_timeout"`
	WaitTimeout    time.Duration `yaml:"wait_timeout"`
	// PrimaryPingAfter: a primary's connection idle for longer is pinged
	// before a statement is sent on it (a write that fails on a dead
	// connection has an unknown outcome; a ping that fails has none).
	PrimaryPingAfter time.Duration `yaml:"primary_ping_after"`
}

// Defaults, applied to keys the file leaves out.
const (
	DefaultListen           = "127.0.0.1:3307"
	DefaultAuthPlugin       = "caching_sha2_password"
	DefaultServerVersion    = "5.5.5-10.11.99-MariaDB-shardgate"
	DefaultMaxAllowedPacket = 64 << 20
	// MariaDB's own defaults for the same settings, except that
	// max_connections is higher than MariaDB's 151: a proxy's client
	// connections are cheap (one goroutine, two 4 KiB buffers).
	DefaultMaxConnections        = 4096
	DefaultMaxPreauthConnections = 256
	DefaultConnectTimeout        = 10 * time.Second
	DefaultNetWriteTimeout       = 60 * time.Second
	// DefaultMemoryLimit is the process-wide budget. A connection and a
	// statement each get a quarter of memory_limit by default
	// (MemoryShareDivisor; a statement at most its connection's share): no
	// one client or statement can take the budget from the others, and one
	// statement still gets 256 MiB.
	DefaultMemoryLimit = 1 << 30
	MemoryShareDivisor = 4
	// An hourly table accepts a year back and two days ahead by default.
	DefaultBucketPast            = 8760 * time.Hour
	DefaultBucketFuture          = 48 * time.Hour
	DefaultBucketRefreshInterval = 10 * time.Second
	DefaultBucketRecheckInterval = time.Second
	// DefaultLogSchema is the database of the XA decision log.
	DefaultLogSchema = "shardgate"
	// DefaultSequenceCache is a sequence's block size: one round trip to
	// the sequence table per this many values, and at most this many
	// values skipped when a proxy restarts.
	DefaultSequenceCache = 1000
)

// Load reads, parses and validates a rules file.
func Load(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse validates rules from data; file names the source in error messages.
func Parse(file string, data []byte) (*Rules, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: the rules file is empty", file)
	}
	doc := root.Content[0]
	sum := sha256.Sum256(data)
	r := &Rules{File: file, Digest: hex.EncodeToString(sum[:])}
	if err := decodeStrict(doc, r); err != nil {
		return nil, fmt.Errorf("%s:%w", file, err)
	}
	r.SchemaOrder = mappingKeys(doc, "schemas")
	if err := checkNulls(doc); err != nil {
		return nil, fmt.Errorf("%s:%w", file, err)
	}
	r.applyDefaults()
	if err := r.validate(doc); err != nil {
		return nil, fmt.Errorf("%s:%w", file, err)
	}
	return r, nil
}

func (r *Rules) applyDefaults() {
	if r.Listen == "" {
		r.Listen = DefaultListen
	}
	if r.AuthPlugin == "" {
		r.AuthPlugin = DefaultAuthPlugin
	}
	if r.ServerVersion == "" {
		r.ServerVersion = DefaultServerVersion
	}
	if r.MaxAllowedPacket == 0 {
		r.MaxAllowedPacket = DefaultMaxAllowedPacket
	}
	if r.ShutdownTimeout == 0 {
		r.ShutdownTimeout = 10 * time.Second
	}
	if r.HealthInterval == 0 {
		r.HealthInterval = time.Second
	}
	if r.HealthTimeout == 0 {
		r.HealthTimeout = 2 * time.Second
	}
	if r.HealthFailures == 0 {
		r.HealthFailures = 2
	}
	if r.MaxReplicaLag == 0 {
		r.MaxReplicaLag = 5 * time.Second
	}
	if r.ScatterConcurrency == 0 {
		r.ScatterConcurrency = 8
	}
	if r.PlanCacheSize == 0 {
		r.PlanCacheSize = DefaultPlanCacheSize
	}
	if r.PrecreateHours == 0 {
		r.PrecreateHours = 2
	}
	if r.BucketRefreshInterval == 0 {
		r.BucketRefreshInterval = DefaultBucketRefreshInterval
	}
	if r.BucketRecheckInterval == 0 {
		r.BucketRecheckInterval = DefaultBucketRecheckInterval
	}
	if r.MaxConnectErrors == 0 {
		r.MaxConnectErrors = 100
	}
	if r.ConnectErrorsTimeout == 0 {
		r.ConnectErrorsTimeout = time.Hour
	}
	if r.LoginFailureDelay == 0 {
		r.LoginFailureDelay = 150 * time.Millisecond
	}
	if r.ReplicaFallback == "" {
		r.ReplicaFallback = "primary"
	}
	if r.MaxConnections == 0 {
		r.MaxConnections = DefaultMaxConnections
	}
	if r.MaxPreauthConnections == 0 {
		r.MaxPreauthConnections = DefaultMaxPreauthConnections
	}
	if r.ConnectTimeout == 0 {
		r.ConnectTimeout = DefaultConnectTimeout
	}
	if r.NetWriteTimeout == 0 {
		r.NetWriteTimeout = DefaultNetWriteTimeout
	}
	if r.MemoryLimit == 0 {
		r.MemoryLimit = DefaultMemoryLimit
	}
	if r.ConnectionMemoryLimit == 0 {
		r.ConnectionMemoryLimit = r.MemoryLimit / MemoryShareDivisor
	}
	if r.StatementMemoryLimit == 0 {
		r.StatementMemoryLimit = min(r.MemoryLimit/MemoryShareDivisor, r.ConnectionMemoryLimit)
	}
	tx := &r.Transactions
	if tx.LogCluster == "" && len(r.SchemaOrder) > 0 && r.Schemas[r.SchemaOrder[0]] != nil {
		tx.LogCluster = r.Schemas[r.SchemaOrder[0]].Cluster
	}
	if tx.LogSchema == "" {
		tx.LogSchema = DefaultLogSchema
	}
	if tx.RecoveryInterval == 0 {
		tx.RecoveryInterval = 5 * time.Second
	}
	if tx.AbortAfter == 0 {
		tx.AbortAfter = 30 * time.Second
	}
	if tx.LockWaitTimeout == 0 {
		tx.LockWaitTimeout = 5 * time.Second
	}
	if r.Sequences.Cluster == "" {
		r.Sequences.Cluster = tx.LogCluster
	}
	if r.Sequences.Schema == "" {
		r.Sequences.Schema = tx.LogSchema
	}
	if r.SlowLog.Time == 0 {
		r.SlowLog.Time = DefaultSlowQueryTime
	}
	if r.SlowLog.MaxSize == 0 {
		r.SlowLog.MaxSize = 100 << 20
	}
	if r.SlowLog.MaxBackups == 0 {
		r.SlowLog.MaxBackups = 5
	}
	p := &r.Pool
	if p.MaxOpen == 0 {
		p.MaxOpen = 128
	}
	if p.MaxIdle == 0 {
		p.MaxIdle = min(64, p.MaxOpen)
	}
	if p.IdleTimeout == 0 {
		p.IdleTimeout = time.Minute
	}
	if p.ConnectTimeout == 0 {
		p.ConnectTimeout = 2 * time.Second
	}
	if p.ReadTimeout == 0 {
		p.ReadTimeout = 30 * time.Second
	}
	if p.WaitTimeout == 0 {
		p.WaitTimeout = 5 * time.Second
	}
	if p.PrimaryPingAfter == 0 {
		p.PrimaryPingAfter = time.Second
	}
	for name, c := range r.Clusters {
		c.Name = name
		for i := range c.Replicas {
			if c.Replicas[i].Weight == 0 {
				c.Replicas[i].Weight = 1
			}
		}
	}
	for name, s := range r.Schemas {
		s.Name = name
		if s.Consistency == "" {
			s.Consistency = "session"
		}
		if s.CausalTimeout == 0 {
			s.CausalTimeout = 100 * time.Millisecond
		}
		if s.Transactions == "" {
			s.Transactions = TxnXA
		}
		for tname, t := range s.Tables {
			t.Name = tname
			if q := t.Sequence; q != nil {
				if q.Start == 0 {
					q.Start = 1
				}
				if q.Cache == 0 {
					q.Cache = DefaultSequenceCache
				}
			}
			if t.Shard != nil && t.Shard.By == "hour" {
				if t.Buckets == nil {
					t.Buckets = &BucketWindow{line: t.line}
				}
				if !t.Buckets.hasPast {
					t.Buckets.Past = DefaultBucketPast
				}
				if !t.Buckets.hasFuture {
					t.Buckets.Future = DefaultBucketFuture
				}
			}
		}
	}
}

// User returns the user with that name.
func (r *Rules) User(name string) (*User, bool) {
	for i := range r.Users {
		if r.Users[i].Name == name {
			return &r.Users[i], true
		}
	}
	return nil, false
}

// AnyUserAllowsHost reports whether some user may log in from ip: a host no
// user accepts is refused before the greeting, as MariaDB does (1130).
func (r *Rules) AnyUserAllowsHost(ip net.IP) bool {
	for i := range r.Users {
		if r.Users[i].AllowsHost(ip) {
			return true
		}
	}
	return false
}

// AllowsHost reports whether the user may log in from ip.
func (u *User) AllowsHost(ip net.IP) bool {
	if len(u.hosts) == 0 {
		return true
	}
	for _, h := range u.hosts {
		if h.match(ip) {
			return true
		}
	}
	return false
}

// MaySee reports whether the user may reach the declared schema name. A
// user with every schema ("*") may name any database; whether it exists
// is decided elsewhere (1049).
func (u *User) MaySee(name string) bool {
	return u.schemaSet == nil || u.schemaSet[name]
}

// AllSchemas reports whether the user reaches every declared schema.
func (u *User) AllSchemas() bool { return u.schemaSet == nil }

// NativeHash is SHA1(SHA1(password)) when the password is given in
// mysql_native_password's stored form ("*" and 40 hex digits), else nil.
func (u *User) NativeHash() []byte { return u.nativeHash }

// SHA2Hash is the password's caching_sha2_password stored form when the
// password is given that way, else nil.
func (u *User) SHA2Hash() *SHA2Hash { return u.sha2Hash }

// DefaultSchema answers statements that name no table while no database is
// selected.
func (r *Rules) DefaultSchema() *Schema { return r.Schemas[r.SchemaOrder[0]] }

// Table returns the rule for a table of a schema, or nil when the table has
// no rule and lives on the schema's default cluster.
func (s *Schema) Table(name string) *Table {
	if t, ok := s.Tables[name]; ok {
		return t
	}
	return s.Tables[strings.ToLower(name)]
}

// ClustersOrNil is the rule's clusters; nil for a nil rule.
func (s *ShardRule) ClustersOrNil() []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s.Clusters...)
}

func (l Limits) check() error {
	if l.MaxStatements < 0 {
		return fmt.Errorf("max_statements %d: must be 0 (unlimited) or more", l.MaxStatements)
	}
	if l.MaxQPS < 0 {
		return fmt.Errorf("max_qps %g: must be 0 (unlimited) or more", l.MaxQPS)
	}
	return nil
}
