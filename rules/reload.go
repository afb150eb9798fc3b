package rules

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// CheckReload compares the running rules with rules read for a reload and
// returns what the reload changes, one line each, in a stable order. It
// fails, naming every offending change, when the new rules would move rows
// that exist (a table's placement or split: that is resharding, not a
// reload) or change a setting that only takes effect at a restart (the
// listening sockets, TLS, the memory budget, this instance's identity in
// the decision log and the sequence table's place). Both rules must be
// valid on their own (Parse).
func CheckReload(old, cur *Rules) (changes []string, err error) {
	var refused []string
	refuse := func(format string, args ...any) { refused = append(refused, fmt.Sprintf(format, args...)) }

	for _, s := range restartOnly {
		if a, b := s.get(old), s.get(cur); a != b {
			refuse("%s: %s → %s takes effect only when the proxy restarts", s.name, orNone(a), orNone(b))
		}
	}

	for _, name := range sortedKeys(old.Schemas) {
		os, ns := old.Schemas[name], cur.Schemas[name]
		if ns == nil {
			changes = append(changes, "schema "+name+" removed")
			continue
		}
		if os.Cluster != ns.Cluster {
			refuse("schema %s: cluster %s → %s would leave the rows of its unsharded tables on %s (moving them is resharding, not a reload)", name, os.Cluster, ns.Cluster, os.Cluster)
		}
		for _, tn := range sortedKeys(os.Tables) {
			ot, nt := os.Tables[tn], ns.Table(tn)
			where := name + "." + tn
			switch {
			case nt == nil:
				refuse("table %s: its rule was removed, which would look for its rows on cluster %s alone (moving them is resharding, not a reload)", where, ns.Cluster)
			case ot.Cluster != nt.Cluster || ot.Global != nt.Global || !reflect.DeepEqual(shardShape(ot.Shard), shardShape(nt.Shard)):
				refuse("table %s: %s → %s would move its rows (that is resharding, not a reload)", where, ot.Placement(), nt.Placement())
			default:
				if !Same(ot, nt) {
					changes = append(changes, "table "+where+": "+nt.Placement()+" settings changed")
				}
			}
		}
		for _, tn := range sortedKeys(ns.Tables) {
			if os.Table(tn) == nil {
				changes = append(changes, "table "+name+"."+tn+" added: "+ns.Tables[tn].Placement())
			}
		}
		// A global table has a copy on every cluster of its schema: a new
		// cluster there would have none.
		if oc, nc := schemaClusters(os), schemaClusters(ns); !slices.Equal(oc, nc) {
			for _, tn := range sortedKeys(os.Tables) {
				if os.Tables[tn].Global {
					refuse("schema %s: clusters %s → %s, but global table %s has its copies on %s only (copying it is not a reload)",
						name, strings.Join(oc, ","), strings.Join(nc, ","), name+"."+tn, strings.Join(oc, ","))
					break
				}
			}
		}
		if schemaSettings(os) != schemaSettings(ns) {
			changes = append(changes, "schema "+name+": consistency, causal_timeout or transactions changed")
		}
	}
	for _, name := range sortedKeys(cur.Schemas) {
		if old.Schemas[name] == nil {
			changes = append(changes, "schema "+name+" added")
		}
	}
	for _, name := range sortedKeys(old.Clusters) {
		oc, nc := old.Clusters[name], cur.Clusters[name]
		switch {
		case nc == nil:
			changes = append(changes, "cluster "+name+" removed (its connections drain)")
		case oc.Primary != nc.Primary:
			changes = append(changes, fmt.Sprintf("cluster %s: primary %s → %s", name, oc.Primary, nc.Primary))
		case !slices.Equal(replicaList(oc), replicaList(nc)):
			changes = append(changes, fmt.Sprintf("cluster %s: replicas %s → %s", name, strings.Join(replicaList(oc), ","), strings.Join(replicaList(nc), ",")))
		}
	}
	for _, name := range sortedKeys(cur.Clusters) {
		if old.Clusters[name] == nil {
			changes = append(changes, "cluster "+name+" added: primary "+cur.Clusters[name].Primary)
		}
	}
	if !Same(old.Users, cur.Users) {
		changes = append(changes, "users changed (new logins go by the new list; connected sessions keep theirs)")
	}
	if !Same(old.Pool, cur.Pool) || !Same(old.Backend, cur.Backend) {
		changes = append(changes, "pool or backend account changed (every cluster gets new pools; the old ones drain)")
	}
	if len(refused) > 0 {
		return nil, errors.New(strings.Join(refused, "; "))
	}
	return changes, nil
}

// restartOnly are the settings a running proxy cannot change: sockets
// already listening, the TLS certificate loaded at start, the process-wide
// memory budget, and the names this instance's prepared XA branches and
// sequence blocks are recorded under.
var restartOnly = []struct {
	name string
	get  func(*Rules) string
}{
	{"listen", func(r *Rules) string { return r.Listen }},
	{"admin_listen", func(r *Rules) string { return r.AdminListen }},
	{"tls", func(r *Rules) string {
		if r.TLS == nil {
			return ""
		}
		return fmt.Sprintf("cert %s, key %s, require %v", r.TLS.Cert, r.TLS.Key, r.TLS.Require)
	}},
	{"memory_limit", func(r *Rules) string { return r.MemoryLimit.String() }},
	{"connection_memory_limit", func(r *Rules) string { return r.ConnectionMemoryLimit.String() }},
	{"statement_memory_limit", func(r *Rules) string { return r.StatementMemoryLimit.String() }},
	{"transactions.instance", func(r *Rules) string { return r.Transactions.Instance }},
	{"transactions.log_cluster", func(r *Rules) string { return r.Transactions.LogCluster }},
	{"transactions.log_schema", func(r *Rules) string { return r.Transactions.LogSchema }},
	{"sequences.cluster", func(r *Rules) string { return r.Sequences.Cluster }},
	{"sequences.schema", func(r *Rules) string { return r.Sequences.Schema }},
	// The file is opened once; its threshold changes at runtime
	// (SHARDGATE SLOW_QUERY_TIME) and with a reload.
	{"slow_log.file", func(r *Rules) string { return r.SlowLog.File }},
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Placement says where a table's rows live, for messages and views.
func (t *Table) Placement() string {
	switch {
	case t.Global:
		return "global"
	case t.Shard != nil:
		return "sharded " + shardText(t.Shard)
	case t.Cluster != "":
		return "on cluster " + t.Cluster
	}
	return "on the schema's cluster"
}

func shardText(s *ShardRule) string {
	out := fmt.Sprintf("by %s(%s)", s.By, s.Column)
	if s.Tables > 0 {
		out += fmt.Sprintf(" into %d tables", s.Tables)
	}
	if len(s.Clusters) > 0 {
		out += " over " + strings.Join(s.Clusters, ",")
	}
	if s.Then != nil {
		out += " then " + shardText(s.Then)
	}
	return out
}

// shardShape is what decides where a row of a sharded table lives.
type shape struct {
	By, Column string
	Tables     int
	Clusters   []string
	Then       *shape
}

func shardShape(s *ShardRule) *shape {
	if s == nil {
		return nil
	}
	return &shape{By: s.By, Column: strings.ToLower(s.Column), Tables: s.Tables, Clusters: s.Clusters, Then: shardShape(s.Then)}
}

// schemaClusters are the clusters a schema's tables may live on.
func schemaClusters(s *Schema) []string {
	set := map[string]bool{s.Cluster: true}
	var add func(*ShardRule)
	add = func(r *ShardRule) {
		if r == nil {
			return
		}
		for _, c := range r.Clusters {
			set[c] = true
		}
		add(r.Then)
	}
	for _, t := range s.Tables {
		if t.Cluster != "" {
			set[t.Cluster] = true
		}
		add(t.Shard)
	}
	return sortedKeys(set)
}

type schemaKnobs struct {
	Consistency, Transactions string
	CausalTimeout             int64
}

func schemaSettings(s *Schema) schemaKnobs {
	return schemaKnobs{s.Consistency, s.Transactions, int64(s.CausalTimeout)}
}

func replicaList(c *Cluster) []string {
	var out []string
	for _, r := range c.Replicas {
		out = append(out, fmt.Sprintf("%s(weight %d)", r.Addr, r.Weight))
	}
	return out
}

// Same reports whether two settings read from two files are equal in every
// key a file can set (line numbers and defaults' bookkeeping aside).
func Same(a, b any) bool {
	ya, errA := yaml.Marshal(a)
	yb, errB := yaml.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ya, yb)
}

// WithPrimary is a copy of r in which cluster's primary is addr, listed
// among its replicas until now, and the former primary a replica (weight
// 1): the topology after a promotion the proxy followed.
func (r *Rules) WithPrimary(cluster, addr string) *Rules {
	out := *r
	out.Clusters = make(map[string]*Cluster, len(r.Clusters))
	for name, c := range r.Clusters {
		out.Clusters[name] = c
	}
	old := r.Clusters[cluster]
	c := &Cluster{Name: old.Name, Primary: addr}
	for _, rep := range old.Replicas {
		if rep.Addr != addr {
			c.Replicas = append(c.Replicas, rep)
		}
	}
	c.Replicas = append(c.Replicas, Replica{Addr: old.Primary, Weight: 1})
	out.Clusters[cluster] = c
	return &out
}
