// Package router decides where each statement runs and runs it: it keeps a
// client session's state, picks the cluster and the server (primary or
// replica), carries the session onto a pooled backend connection and streams
// the answer back.
package router

import (
	"context"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/replication"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// Router is shared by every session; it is safe for concurrent use.
type Router struct {
	Rules    *rules.Rules
	Clusters map[string]*replication.Cluster
	parsers  sync.Pool
	// sessionIDs numbers sessions, so pools can keep a connection for its
	// last owner.
	sessionIDs atomic.Uint64
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// New builds the clusters and their pools from the rules. No connection is
// made until Start or the first statement.
func New(r *rules.Rules) *Router {
	rt := &Router{Rules: r, Clusters: map[string]*replication.Cluster{}}
	rt.parsers.New = func() any { return parser.New() }
	cfg := replication.PoolConfig{
		Dial: replication.DialConfig{
			User:           r.Backend.User,
			Password:       r.Backend.Password,
			ConnectTimeout: r.Pool.ConnectTimeout,
			ReadTimeout:    r.Pool.ReadTimeout,
		},
		MaxOpen:     r.Pool.MaxOpen,
		MaxIdle:     r.Pool.MaxIdle,
		IdleTimeout: r.Pool.IdleTimeout,
		WaitTimeout: r.Pool.WaitTimeout,
		PingAfter:   r.Pool.IdleTimeout / 2,
	}
	for name, c := range r.Clusters {
		var addrs []string
		var weights []int
		for _, rep := range c.Replicas {
			addrs = append(addrs, rep.Addr)
			weights = append(weights, rep.Weight)
		}
		rt.Clusters[name] = replication.NewCluster(name, c.Primary, addrs, weights, cfg, r.MaxReplicaLag)
	}
	return rt
}

// Start runs the health checks until Close.
func (rt *Router) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	rt.cancel = cancel
	for _, c := range rt.Clusters {
		rt.wg.Add(1)
		go func(c *replication.Cluster) {
			defer rt.wg.Done()
			c.RunHealth(ctx, rt.Rules.HealthInterval)
		}(c)
	}
}

// Close stops health checks and closes idle backend connections.
func (rt *Router) Close() {
	if rt.cancel != nil {
		rt.cancel()
	}
	rt.wg.Wait()
	for _, c := range rt.Clusters {
		for _, b := range c.Backends() {
			b.Close()
		}
	}
}

// HasSchema reports whether a client may USE name.
func (rt *Router) HasSchema(name string) bool {
	_, ok := rt.Rules.Schemas[name]
	return ok || strings.EqualFold(name, "information_schema")
}

// SchemaNames lists the logical databases a client sees.
func (rt *Router) SchemaNames() []string {
	names := []string{"information_schema"}
	for n := range rt.Rules.Schemas {
		names = append(names, n)
	}
	sort.Strings(names[1:])
	return names
}

func (rt *Router) parse(sql string) ([]*parser.Statement, error) {
	p := rt.parsers.Get().(*parser.Parser)
	defer rt.parsers.Put(p)
	return p.Parse(sql)
}

// systemSchemas live on every server; statements on them follow the session.
var systemSchemas = map[string]bool{"information_schema": true, "mysql": true, "performance_schema": true, "sys": true}

// clusterFor works out which cluster a statement runs on. Statements that
// name no table run where the session's database lives.
func (rt *Router) clusterFor(st *parser.Statement, db string) (*replication.Cluster, error) {
	chosen := ""
	var chosenBy string
	consider := func(schema, table string) error {
		if schema == "" {
			schema = db
		}
		if schema == "" || systemSchemas[strings.ToLower(schema)] {
			return nil
		}
		s, ok := rt.Rules.Schemas[schema]
		if !ok {
			return wire.Errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", schema)
		}
		cluster := s.Cluster
		if table != "" {
			if t := s.Table(table); t != nil {
				switch {
				case t.Shard != nil:
					return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET,
						"shardgate: table %s.%s is sharded by %s; statements on sharded tables are not supported by this version", schema, table, t.Shard.Column)
				case t.Global:
					return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET,
						"shardgate: table %s.%s is a global table; statements on global tables are not supported by this version", schema, table)
				default:
					cluster = t.Cluster
				}
			}
		}
		name := schema + "." + table
		if table == "" {
			name = "database " + schema
		}
		if chosen != "" && chosen != cluster {
			return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET,
				"shardgate: statement spans clusters: %s lives on %s but %s lives on %s", chosenBy, chosen, name, cluster)
		}
		chosen, chosenBy = cluster, name
		return nil
	}
	for _, t := range st.Tables {
		if err := consider(t.Schema, t.Name); err != nil {
			return nil, err
		}
	}
	if st.ShowSchema != "" {
		if err := consider(st.ShowSchema, ""); err != nil {
			return nil, err
		}
	}
	if chosen == "" {
		s := rt.Rules.Schemas[db]
		if s == nil {
			s = rt.Rules.DefaultSchema()
		}
		chosen = s.Cluster
	}
	return rt.Clusters[chosen], nil
}
