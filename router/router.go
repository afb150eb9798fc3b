// Package router keeps each client's session: its state (database,
// character set, variables), its transaction and the backend connections
// they pin. A statement is parsed, planned against the current routing
// snapshot (package planner) and executed by the plan's primitives
// (package engine), which reach backends through the session's cursor.
package router

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/logs"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/metrics"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/sequence"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/slowlog"
	"github.com/shardgate/shardgate/tabledef"
	"github.com/shardgate/shardgate/xa"
)

// Snapshot is everything routing reads, as one immutable value: the rules,
// the planner compiled from them, the clusters with their pools, and the
// caches that depend on the rules. A statement loads the current snapshot
// once and a transaction keeps the one it started with, so a swap (hot
// reload, resharding) never changes routing in the middle of either.
type Snapshot struct {
	Rules    *rules.Rules
	Planner  *planner.Planner
	Clusters map[string]*backend.Cluster
	// Buckets are the hourly buckets known to exist. They outlive a
	// snapshot built from the same tables.
	Buckets *shard.BucketRegistry
	// Defs are the table definitions read so far (router/tabledefs.go).
	Defs     *tabledef.Cache
	prepared prepareCache
	stmts    stmtCache
	shapes   *shapeCache
	// metricNames are the metric labels of the rules' tables.
	metricNames map[string]map[string]string
	// users counts the sessions held to this snapshot (txn.setSnap).
	users atomic.Int64
}

// Router is shared by every session; it is safe for concurrent use.
type Router struct {
	snap atomic.Pointer[Snapshot]
	// Metrics, when not nil, records every statement.
	Metrics *metrics.Metrics
	// Log receives background events (bucket discovery and creation,
	// backend health, full pools) and partial writes and refusals.
	Log *slog.Logger
	// refusals logs statements the proxy refused, by reason, at most one
	// line per reason per logs.Every.
	refusals *logs.Limiter
	parsers  sync.Pool
	// shapeCounts counts the plan cache's hits and misses.
	shapeCounts shapeCounts
	// sessionIDs numbers sessions, so pools can keep a connection for its
	// last owner.
	sessionIDs atomic.Uint64
	// sessions are the live sessions by client connection id.
	sessions registry
	// FlushHosts, set by the client-facing server, forgets failed logins
	// and unblocks every host (FLUSH HOSTS).
	FlushHosts func()
	// mem is the process-wide memory budget (memory_limit). It belongs to
	// the router, not to a snapshot: reservations made under one snapshot
	// are given back under the next.
	mem *memory.Budget
	// XA coordinates transactions that span clusters and recovers those a
	// crash left prepared (see SetListenAddr for its instance name).
	XA        *xa.Coordinator
	primaries *primaries
	// seq hands out global sequences' values (README: Global sequences).
	// It belongs to the router, not to a snapshot: the block this
	// instance holds outlives a reload.
	seq    *sequence.Allocator
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// watch follows primaries an operator promoted (primary.go); only
	// its goroutine touches seen, followed is under reloadMu.
	watch primaryWatch

	// started is when the router was made (SHOW SHARDGATE STATUS).
	started time.Time

	// limits count statements per user and schema (limits.go).
	limits limiters

	// slow keeps the statements slower than its threshold (slow_log).
	slow *slowlog.Log

	// switches are the operator's kill switches (switches.go): they
	// outlive reloads until cleared.
	switches switchboard

	// Adjust, when not nil, applies the command line's overrides (such as
	// --listen) to every rules file a reload reads, as to the first.
	Adjust func(*rules.Rules)

	// reloadMu orders reloads (reload.go) and guards what they change
	// beside the snapshot: the rules' versions, the health checks per
	// cluster and the clusters a reload left to drain.
	reloadMu sync.Mutex
	ctx      context.Context
	versions []RulesVersion
	health   map[*backend.Cluster]context.CancelFunc
	draining []*backend.Cluster
	// retired are the snapshots reloads replaced that sessions may still
	// be held to.
	retired   []*Snapshot
	xaRunning bool
}

// New builds the first snapshot from the rules: clusters, pools, planner.
// No connection is made until Start or the first statement. Events are
// logged to log (nil: nowhere).
func New(r *rules.Rules, log *slog.Logger) *Router {
	log = logs.OrDiscard(log)
	rt := &Router{Log: log, refusals: logs.NewLimiter(log, logs.Every), started: time.Now()}
	rt.mem = memory.NewBudget(int64(r.MemoryLimit), int64(r.ConnectionMemoryLimit), int64(r.StatementMemoryLimit))
	rt.parsers.New = func() any { return parser.New() }
	rt.snap.Store(newSnapshot(r, shard.NewBucketRegistry(), time.Now, log, nil))
	rt.versions = []RulesVersion{{Number: 1, At: time.Now(), Source: "start", Rules: r}}
	rt.primaries = newPrimaries(r)
	rt.slow = slowlog.New(slowlog.Config{File: r.SlowLog.File, MaxSize: int64(r.SlowLog.MaxSize),
		MaxBackups: r.SlowLog.MaxBackups, Threshold: r.SlowLog.Time})
	rt.XA = xa.New(xaConfig(r, r.Listen), rt.primaries)
	rt.seq = sequence.New(&sequence.Table{Cluster: r.Sequences.Cluster, Schema: r.Sequences.Schema, P: seqPrimaries{rt.primaries}})
	return rt
}

// SetListenAddr names this proxy's instance after the address it really
// listens on (when the rules give no transactions.instance): call it
// before Start. A restarted proxy on the same address is the same
// instance with a newer epoch, which lets recovery end what its previous
// process left prepared at once.
func (rt *Router) SetListenAddr(addr string) {
	rt.XA = xa.New(xaConfig(rt.Snapshot().Rules, addr), rt.primaries)
}

// xaConfig is the coordinator's configuration: the rules' transactions
// block, the instance named "host:port" by default.
func xaConfig(r *rules.Rules, listen string) xa.Config {
	tx := r.Transactions
	instance := tx.Instance
	if instance == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "shardgate"
		}
		_, port, err := net.SplitHostPort(listen)
		if err != nil {
			port = listen
		}
		instance = host + ":" + port
	}
	return xa.Config{Instance: instance, LogCluster: tx.LogCluster, LogSchema: tx.LogSchema,
		RecoveryInterval: tx.RecoveryInterval, AbortAfter: tx.AbortAfter}
}

// usesXA reports whether some schema's transactions are XA: only then is
// there a decision log to create and branches to recover.
func usesXA(r *rules.Rules) bool {
	for _, s := range r.Schemas {
		if s.Transactions == rules.TxnXA {
			return true
		}
	}
	return false
}

// primaries lends the coordinator connections to the primaries from pools
// of its own: a commit's decision must never wait behind sessions that
// fill a primary's pool while they hold the branches being committed.
// A reload may add clusters or move a primary (update): a connection goes
// back to the pool it came from, wherever the cluster's pool is now.
type primaries struct {
	mu    sync.Mutex
	pools map[string]*backend.Pool
	addrs map[string]string // the server each pool dials
	lent  map[*backend.Conn]*backend.Pool
	// old are pools a reload replaced: closed with the rest.
	old []*backend.Pool
}

// coordinatorPool sizes the coordinator's pool per primary.
const coordinatorPool = 32

func newPrimaries(r *rules.Rules) *primaries {
	p := &primaries{pools: map[string]*backend.Pool{}, addrs: map[string]string{}, lent: map[*backend.Conn]*backend.Pool{}}
	p.update(r)
	return p
}

// update gives every cluster of r a pool to its primary: new clusters and
// moved primaries get new pools; a cluster r no longer names keeps its
// pool, so that recovery can still end the branches it left prepared.
func (p *primaries) update(r *rules.Rules) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, c := range r.Clusters {
		if p.pools[name] != nil && p.addrs[name] == c.Primary {
			continue
		}
		if old := p.pools[name]; old != nil {
			old.CloseAllIdle()
			p.old = append(p.old, old)
		}
		p.addrs[name] = c.Primary
		p.pools[name] = backend.NewPool(c.Primary, backend.PoolConfig{
			Dial: backend.DialConfig{
				User: r.Backend.User, Password: r.Backend.Password,
				ConnectTimeout: r.Pool.ConnectTimeout, ReadTimeout: r.Pool.ReadTimeout,
			},
			MaxOpen: coordinatorPool, MaxIdle: 4, IdleTimeout: r.Pool.IdleTimeout,
			WaitTimeout: r.Pool.WaitTimeout, PingAfter: r.Pool.PrimaryPingAfter,
		})
	}
}

func (p *primaries) Get(cluster string) (xa.Conn, error) {
	p.mu.Lock()
	pool := p.pools[cluster]
	p.mu.Unlock()
	if pool == nil {
		return nil, fmt.Errorf("no cluster %q in the rules", cluster)
	}
	c, err := pool.Get(false, 0)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.lent[c] = pool
	p.mu.Unlock()
	return c, nil
}

func (p *primaries) Put(cluster string, c xa.Conn, broken bool) {
	conn := c.(*backend.Conn)
	p.mu.Lock()
	pool := p.lent[conn]
	delete(p.lent, conn)
	p.mu.Unlock()
	if pool == nil {
		conn.Close() // not lent by these pools: never pool it
		return
	}
	if broken {
		pool.Discard(conn)
		return
	}
	pool.Put(conn)
}

// seqPrimaries lends the sequence table the same pools: a block is taken
// on a connection of its own, never the session's, so a client's
// ROLLBACK does not give values back (as AUTO_INCREMENT's are not).
type seqPrimaries struct{ p *primaries }

func (s seqPrimaries) Get(cluster string) (sequence.Conn, error) {
	c, err := s.p.Get(cluster)
	if err != nil {
		return nil, err
	}
	return c.(*backend.Conn), nil
}

func (s seqPrimaries) Put(cluster string, c sequence.Conn, broken bool) {
	s.p.Put(cluster, c.(*backend.Conn), broken)
}

func (p *primaries) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pool := range p.pools {
		pool.Close()
	}
	for _, pool := range p.old {
		pool.Close()
	}
}

func (p *primaries) Clusters() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.pools))
	for n := range p.pools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func newSnapshot(r *rules.Rules, buckets *shard.BucketRegistry, now func() time.Time, log *slog.Logger, prev *Snapshot) *Snapshot {
	snap := &Snapshot{Rules: r, Clusters: map[string]*backend.Cluster{}, Buckets: buckets, Defs: tabledef.NewCache()}
	snap.Planner = planner.New(r, buckets, now)
	snap.shapes = newShapeCache(r.PlanCacheSize)
	snap.metricNames = metricTableNames(r)
	cfg := backend.PoolConfig{
		Dial: backend.DialConfig{
			User:           r.Backend.User,
			Password:       r.Backend.Password,
			ConnectTimeout: r.Pool.ConnectTimeout,
			ReadTimeout:    r.Pool.ReadTimeout,
		},
		MaxOpen:          r.Pool.MaxOpen,
		MaxIdle:          r.Pool.MaxIdle,
		IdleTimeout:      r.Pool.IdleTimeout,
		WaitTimeout:      r.Pool.WaitTimeout,
		PingAfter:        r.Pool.IdleTimeout / 2,
		PrimaryPingAfter: r.Pool.PrimaryPingAfter,
	}
	for name, c := range r.Clusters {
		if prev != nil && sameCluster(prev.Rules, r, name) {
			// A reload keeps the pools and health of a server it does not
			// change: no connection is dropped, no check starts over.
			snap.Clusters[name] = prev.Clusters[name]
			continue
		}
		var addrs []string
		var weights []int
		for _, rep := range c.Replicas {
			addrs = append(addrs, rep.Addr)
			weights = append(weights, rep.Weight)
		}
		cl := backend.NewCluster(name, c.Primary, addrs, weights, cfg, r.MaxReplicaLag, log)
		cl.HealthTimeout, cl.HealthFailures = r.HealthTimeout, r.HealthFailures
		snap.Clusters[name] = cl
	}
	if def := snap.Clusters[r.DefaultSchema().Cluster]; def != nil {
		snap.Planner.SetZones(newZoneSource(def.Primary, now))
	}
	return snap
}

// Memory is the process-wide memory budget.
func (rt *Router) Memory() *memory.Budget { return rt.mem }

// Snapshot is the current routing snapshot.
func (rt *Router) Snapshot() *Snapshot { return rt.snap.Load() }

// Start runs the health checks until Close.
func (rt *Router) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	rt.cancel = cancel
	snap := rt.Snapshot()
	rt.reloadMu.Lock()
	rt.ctx = ctx
	for _, c := range snap.Clusters {
		rt.startHealth(c, snap.Rules.HealthInterval)
	}
	rt.reloadMu.Unlock()
	// Before the first client: a read or DROP without an hour condition
	// must see every existing bucket.
	refreshBuckets(snap, rt.Log)
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		runBuckets(rt.Snapshot, ctx.Done(), rt.Log, func(snap *Snapshot) {
			if _, _, err := rt.expireBuckets(snap); err != nil {
				rt.Log.Warn("bucket retention pass failed; the next one retries", "err", err)
			}
		})
	}()
	rt.XA.Metrics, rt.XA.Log = rt.Metrics, rt.Log
	rt.Metrics.Buckets(func() map[string]int {
		snap, out := rt.Snapshot(), map[string]int{}
		for _, h := range snap.hourlyTables() {
			out[h.schema+"."+h.table.Name] = len(snap.Buckets.Buckets(h.schema, h.table.Name))
		}
		return out
	})
	rt.Metrics.PlanCache(rt.shapeCounts.hits.Load, rt.shapeCounts.misses.Load)
	rt.Metrics.Operations(rt.running, func() []metrics.Switch {
		var out []metrics.Switch
		for _, sw := range rt.Switches() {
			out = append(out, metrics.Switch{ID: sw.ID, Kind: sw.Kind, Target: sw.Target, Hits: sw.Hits()})
		}
		return out
	})
	rt.reloadMu.Lock()
	rt.startXA(snap.Rules)
	rt.reloadMu.Unlock()
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		rt.watchPrimaries(ctx)
	}()
}

// startXA runs the coordinator's recovery once some schema's transactions
// are XA (at start or after a reload that adds one). reloadMu is held.
func (rt *Router) startXA(r *rules.Rules) {
	if rt.xaRunning || rt.ctx == nil || !usesXA(r) {
		return
	}
	rt.xaRunning = true
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		rt.XA.Run(rt.ctx)
	}()
}

// Close stops health checks and closes idle backend connections.
func (rt *Router) Close() {
	if rt.cancel != nil {
		rt.cancel()
	}
	rt.wg.Wait()
	rt.primaries.close()
	rt.slow.Close()
	rt.reloadMu.Lock()
	draining := rt.draining
	rt.draining = nil
	rt.reloadMu.Unlock()
	for _, c := range append(draining, slices.Collect(maps.Values(rt.Snapshot().Clusters))...) {
		for _, b := range c.Backends() {
			b.Close()
		}
	}
}

// HasSchema reports whether a client may USE name.
func (rt *Router) HasSchema(name string) bool { return rt.Snapshot().hasSchema(name) }

func (snap *Snapshot) hasSchema(name string) bool {
	_, ok := snap.Rules.Schemas[name]
	return ok || strings.EqualFold(name, "information_schema")
}

// schemaNames lists the logical databases a client sees.
func (snap *Snapshot) schemaNames() []string {
	names := []string{"information_schema"}
	for n := range snap.Rules.Schemas {
		names = append(names, n)
	}
	sort.Strings(names[1:])
	return names
}

// serverVersion is the version executable comments are compared with: the
// lowest version the backends announced in their handshakes (a comment runs
// only when every backend would run it), or parser.DefaultServerVersion
// while no backend has been reached.
func (snap *Snapshot) serverVersion() int {
	v := 0
	lowest := func(b *backend.Backend) {
		if bv := b.ServerVersion(); bv > 0 && (v == 0 || bv < v) {
			v = bv
		}
	}
	// Every statement asks (executable comments): no slice built here.
	for _, c := range snap.Clusters {
		lowest(c.Primary)
		for _, b := range c.Replicas {
			lowest(b)
		}
	}
	if v == 0 {
		return parser.DefaultServerVersion
	}
	return v
}

// parse parses a query as a server in mode m reads it.
func (rt *Router) parse(sql string, m parser.TextMode) ([]*parser.Statement, error) {
	p := rt.parser(m)
	defer rt.parsers.Put(p)
	return p.Parse(sql)
}

// parser lends a pooled parser set to mode m; give it back to rt.parsers.
func (rt *Router) parser(m parser.TextMode) *parser.Parser {
	p := rt.parsers.Get().(*parser.Parser)
	p.SetMode(m)
	return p
}

// BackendStats lists every backend for the metrics.
func (rt *Router) BackendStats() []metrics.Backend {
	snap := rt.Snapshot()
	var out []metrics.Backend
	for _, name := range sortedClusterNames(snap.Clusters) {
		for _, b := range snap.Clusters[name].Backends() {
			open, idle := b.Stats()
			out = append(out, metrics.Backend{Cluster: name, Role: string(b.Role), Addr: b.Addr, Open: open, Idle: idle,
				InFlight: b.InFlight.Load(), Healthy: b.Healthy(), LagSeconds: b.Lag(), Reads: b.Reads.Load(), Writes: b.Writes.Load(),
				Purges: b.Purges.Load(), Restarts: b.Restarts.Load(), Cut: b.CutConns.Load(), Misreturned: b.Misreturned.Load(),
				Waits: b.Waits.Load(), WaitTimeouts: b.WaitTimeouts.Load()})
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
