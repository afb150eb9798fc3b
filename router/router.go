// Package router decides where each statement runs and runs it: it keeps a
// client session's state, picks the cluster and the server (primary or
// replica), carries the session onto a pooled backend connection and streams
// the answer back.
package router

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/metrics"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/rules"
)

// Router is shared by every session; it is safe for concurrent use.
type Router struct {
	Rules    *rules.Rules
	Clusters map[string]*backend.Cluster
	// Metrics, when not nil, records every statement.
	Metrics *metrics.Metrics
	// Log receives background events (bucket discovery and creation).
	Log      *slog.Logger
	parsers  sync.Pool
	planner  *planner
	prepared prepareCache
	stmts    stmtCache
	buckets  *bucketRegistry
	// sessionIDs numbers sessions, so pools can keep a connection for its
	// last owner.
	sessionIDs atomic.Uint64
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// New builds the clusters and their pools from the rules. No connection is
// made until Start or the first statement.
func New(r *rules.Rules) *Router {
	rt := &Router{Rules: r, Clusters: map[string]*backend.Cluster{}, buckets: newBucketRegistry()}
	rt.parsers.New = func() any { return parser.New() }
	rt.planner = newPlanner(r, rt.buckets, time.Now)
	rt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := backend.PoolConfig{
		Dial: backend.DialConfig{
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
		cl := backend.NewCluster(name, c.Primary, addrs, weights, cfg, r.MaxReplicaLag)
		cl.HealthTimeout, cl.HealthFailures = r.HealthTimeout, r.HealthFailures
		rt.Clusters[name] = cl
	}
	return rt
}

// Start runs the health checks until Close.
func (rt *Router) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	rt.cancel = cancel
	for _, c := range rt.Clusters {
		rt.wg.Add(1)
		go func(c *backend.Cluster) {
			defer rt.wg.Done()
			c.RunHealth(ctx, rt.Rules.HealthInterval)
		}(c)
	}
	// Before the first client: a read or DROP without an hour condition
	// must see every existing bucket.
	rt.discoverBuckets(rt.Log)
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		rt.runBuckets(ctx.Done(), rt.Log)
	}()
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

// clusterFor is the one cluster a statement runs on; statements that plan
// to several steps are not accepted where this is asked.
func (rt *Router) clusterFor(st *parser.Statement, db string) (*backend.Cluster, error) {
	p, err := rt.planner.plan(st, db)
	if err != nil {
		return nil, err
	}
	if len(p.Steps) != 1 {
		return nil, notSupported("this statement would run on %d tables; it must name one", len(p.Steps))
	}
	return rt.Clusters[p.Steps[0].Cluster], nil
}

// BackendStats lists every backend for the metrics.
func (rt *Router) BackendStats() []metrics.Backend {
	var out []metrics.Backend
	for _, name := range sortedClusterNames(rt.Clusters) {
		for _, b := range rt.Clusters[name].Backends() {
			open, idle := b.Stats()
			out = append(out, metrics.Backend{Cluster: name, Role: string(b.Role), Addr: b.Addr, Open: open, Idle: idle,
				InFlight: b.InFlight.Load(), Healthy: b.Healthy(), LagSeconds: b.Lag(), Reads: b.Reads.Load(), Writes: b.Writes.Load()})
		}
	}
	return out
}

func sortedClusterNames(m map[string]*backend.Cluster) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
