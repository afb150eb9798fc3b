// Package rules loads and validates the rules file: who may connect, which
// backend clusters exist, and where each schema and table lives.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
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

	// SchemaOrder lists schema names as written; the first one answers
	// statements that name no table while no database is selected.
	SchemaOrder []string `yaml:"-"`
	File        string   `yaml:"-"`
}

// User may log in to the proxy.
type User struct {
	Name     string `yaml:"name"`
	Password string `yaml:"password"`
	line     int
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
	return decodeStrict(n, (*plain)(t), "cert", "key", "require")
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
	// Consistency is "eventual" or "session" (read-your-writes).
	Consistency string `yaml:"consistency"`
	// CausalTimeout bounds the wait for a replica to apply a session's
	// last write before the read goes to the primary.
	CausalTimeout time.Duration `yaml:"causal_timeout"`
	line          int
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
	line                 int
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
}

// Defaults, applied to keys the file leaves out.
const (
	DefaultListen           = "127.0.0.1:3307"
	DefaultAuthPlugin       = "caching_sha2_password"
	DefaultServerVersion    = "5.5.5-10.11.99-MariaDB-shardgate"
	DefaultMaxAllowedPacket = 64 << 20
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
	r := &Rules{File: file}
	if err := decodeStrict(doc, r, "listen", "admin_listen", "users", "backend", "clusters", "schemas", "pool",
		"auth_plugin", "server_version", "max_allowed_packet", "shutdown_timeout", "health_interval",
		"health_timeout", "health_failures",
		"max_replica_lag", "replica_fallback", "precreate_hours", "scatter_concurrency", "tls"); err != nil {
		return nil, fmt.Errorf("%s:%w", file, err)
	}
	r.SchemaOrder = mappingKeys(doc, "schemas")
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
	if r.ScatterConcurrency <= 0 {
		r.ScatterConcurrency = 8
	}
	if r.PrecreateHours == 0 {
		r.PrecreateHours = 2
	}
	if r.ReplicaFallback == "" {
		r.ReplicaFallback = "primary"
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
			s.Consistency = "eventual"
		}
		if s.CausalTimeout == 0 {
			s.CausalTimeout = 100 * time.Millisecond
		}
		for tname, t := range s.Tables {
			t.Name = tname
		}
	}
}

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
	if r.HealthInterval < 0 || r.HealthTimeout < 0 {
		return lineError(doc.Line, "health_interval and health_timeout must be positive")
	}
	if r.HealthFailures < 1 {
		return lineError(doc.Line, "health_failures %d: must be at least 1", r.HealthFailures)
	}
	if r.Pool.MaxIdle > r.Pool.MaxOpen || r.Pool.MaxOpen < 1 {
		return lineError(doc.Line, "pool: max_open must be at least 1 and max_idle at most max_open")
	}
	if len(r.Clusters) == 0 {
		return lineError(doc.Line, "no clusters: define at least one under clusters:")
	}
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
			if _, _, err := net.SplitHostPort(a.addr); err != nil {
				return lineError(a.line, "cluster %s: address %q: want host:port", name, a.addr)
			}
			if other, dup := seenAddr[a.addr]; dup {
				return lineError(a.line, "cluster %s: address %s is already used by cluster %s", name, a.addr, other)
			}
			seenAddr[a.addr] = name
		}
	}
	if len(r.Schemas) == 0 {
		return lineError(doc.Line, "no schemas: define at least one under schemas:")
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
		for _, tname := range sortedKeys(s.Tables) {
			if err := r.validateTable(s, s.Tables[tname]); err != nil {
				return err
			}
		}
	}
	return nil
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
	return nil
}

func (r *Rules) validateShard(where string, s *ShardRule, depth int) error {
	if s.Column == "" {
		return lineError(s.line, "%s: shard: column is required", where)
	}
	switch s.By {
	case "hash":
		if s.Tables < 1 {
			return lineError(s.line, "%s: shard: tables must be at least 1, got %d", where, s.Tables)
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

// User returns the user with that name.
func (r *Rules) User(name string) (User, bool) {
	for _, u := range r.Users {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}

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

// decodeStrict decodes a mapping node into v, refusing keys that are not in
// allowed so that a typo never silently becomes a default.
func decodeStrict(n *yaml.Node, v any, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return lineError(n.Line, "expected a mapping")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for _, a := range allowed {
			if k.Value == a {
				ok = true
				break
			}
		}
		if !ok {
			return lineError(k.Line, "unknown key %q (known: %s)", k.Value, strings.Join(allowed, ", "))
		}
	}
	if err := n.Decode(v); err != nil {
		var pe *posError
		var te *yaml.TypeError
		switch {
		case errors.As(err, &pe):
			return pe
		case errors.As(err, &te) && len(te.Errors) > 0:
			// yaml.v3 words these "line N: what"; keep one format for all.
			var line int
			msg := te.Errors[0]
			if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
				return lineError(line, "%s", strings.TrimSpace(msg[strings.Index(msg, ":")+1:]))
			}
			return lineError(n.Line, "%s", msg)
		}
		return lineError(n.Line, "%v", err)
	}
	return nil
}

func mappingKeys(doc *yaml.Node, key string) []string {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == key && doc.Content[i+1].Kind == yaml.MappingNode {
			var keys []string
			m := doc.Content[i+1]
			for j := 0; j < len(m.Content); j += 2 {
				keys = append(keys, m.Content[j].Value)
			}
			return keys
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The UnmarshalYAML methods record line numbers for validation messages and
// refuse unknown keys at every level.

func (u *User) UnmarshalYAML(n *yaml.Node) error {
	type plain User
	u.line = n.Line
	return decodeStrict(n, (*plain)(u), "name", "password")
}

func (c *Cluster) UnmarshalYAML(n *yaml.Node) error {
	type plain Cluster
	c.line = n.Line
	return decodeStrict(n, (*plain)(c), "primary", "replicas")
}

func (r *Replica) UnmarshalYAML(n *yaml.Node) error {
	r.line = n.Line
	if n.Kind == yaml.ScalarNode {
		r.Addr = n.Value
		return nil
	}
	type plain Replica
	return decodeStrict(n, (*plain)(r), "addr", "weight")
}

func (s *Schema) UnmarshalYAML(n *yaml.Node) error {
	type plain Schema
	s.line = n.Line
	return decodeStrict(n, (*plain)(s), "cluster", "tables", "consistency", "causal_timeout")
}

func (t *Table) UnmarshalYAML(n *yaml.Node) error {
	type plain Table
	t.line = n.Line
	return decodeStrict(n, (*plain)(t), "cluster", "global", "shard", "allow_full_table_writes")
}

func (s *ShardRule) UnmarshalYAML(n *yaml.Node) error {
	type plain ShardRule
	s.line = n.Line
	return decodeStrict(n, (*plain)(s), "by", "column", "tables", "clusters", "then")
}

func (p *Pool) UnmarshalYAML(n *yaml.Node) error {
	type plain Pool
	return decodeStrict(n, (*plain)(p), "max_open", "max_idle", "idle_timeout", "connect_timeout", "read_timeout", "wait_timeout")
}

func (b *Backend) UnmarshalYAML(n *yaml.Node) error {
	type plain Backend
	return decodeStrict(n, (*plain)(b), "user", "password")
}

// ClustersOrNil is the rule's clusters; nil for a nil rule.
func (s *ShardRule) ClustersOrNil() []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s.Clusters...)
}
