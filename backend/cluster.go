package backend

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/logs"
)

// Role says whether a backend takes writes.
type Role string

const (
	RolePrimary Role = "primary"
	RoleReplica Role = "replica"
)

// Backend is one server of a cluster with its pool and health.
type Backend struct {
	*Pool
	Cluster string
	Role    Role
	Weight  int
	// writable: at its last check the server had read_only off and no
	// replication thread running (Writable).
	writable atomic.Bool
	// drain, when set, is why an operator took the backend out of
	// rotation (SetDrain): no new statement is sent to it.
	drain atomic.Pointer[drainState]

	healthy atomic.Bool
	// lag is Seconds_Behind_Master, -1 when unknown or not a replica.
	lag     atomic.Int64
	lastErr atomic.Value // string
	fails   atomic.Int32
	// downSince is when the backend last left rotation (Unix ns).
	downSince atomic.Int64
	// log carries the backend's cluster, role and address.
	log *slog.Logger
	// Restarts counts server restarts the health checker saw through
	// Uptime, for tests and metrics.
	Restarts atomic.Int64
}

// Healthy reports whether the last health check passed.
func (b *Backend) Healthy() bool { return b.healthy.Load() }

// Why a backend leaves rotation, as logged ("reason").
const (
	ReasonUnreachable        = "unreachable"         // no connection, login or answer within health_timeout
	ReasonLag                = "lag"                 // a replica behind by more than max_replica_lag
	ReasonReplicationStopped = "replication stopped" // a replica's threads stopped, or not a replica
	ReasonCheckRefused       = "check refused"       // the server answered the check with an error
	ReasonStatementFailed    = "statement failed"    // a statement could not reach it, or its connection broke
	ReasonRestart            = "restart detected"    // its Uptime says it started again since the last check
)

// MarkDown takes the backend out of rotation at once, without waiting for
// the next health check, when a statement found it broken. Its idle
// connections are most likely broken too. The health check brings it back.
func (b *Backend) MarkDown(detail string) {
	b.leave(ReasonStatementFailed, detail)
	b.Purge()
}

// leave takes the backend out of rotation; the transition is logged once,
// however many checks or statements find it down afterwards.
func (b *Backend) leave(reason, detail string) {
	b.lastErr.Store(detail)
	if b.healthy.Swap(false) {
		b.downSince.Store(time.Now().UnixNano())
		b.log.Warn("backend out of rotation", "reason", reason, "err", detail)
	}
}

// rejoin puts the backend back in rotation after a good check.
func (b *Backend) rejoin() {
	b.fails.Store(0)
	b.lastErr.Store("")
	if !b.healthy.Swap(true) {
		down := time.Duration(time.Now().UnixNano() - b.downSince.Load())
		b.log.Info("backend back in rotation", "down_for", down.Round(time.Millisecond).String())
	}
}

// Lag is the replica's last known delay in seconds, -1 when unknown.
func (b *Backend) Lag() int64 { return b.lag.Load() }

// LastError is the last health check failure, empty when healthy.
func (b *Backend) LastError() string {
	s, _ := b.lastErr.Load().(string)
	return s
}

// Cluster is a primary and its replicas.
type Cluster struct {
	Name     string
	Primary  *Backend
	Replicas []*Backend
	// MaxLag is the delay beyond which a replica leaves rotation.
	MaxLag time.Duration
	// HealthTimeout bounds one health check (connect, login and the probe
	// itself). It is independent of the check interval: a check slower than
	// the interval is not a failure until it passes this timeout. Zero means
	// DefaultHealthTimeout.
	HealthTimeout time.Duration
	// HealthFailures is how many consecutive failed checks take a backend
	// out of rotation, so that one slow check (a loaded machine, a GC
	// pause) does not. Zero means DefaultHealthFailures. A statement that
	// finds a backend broken still takes it out at once (MarkDown).
	HealthFailures int
	rr             atomic.Uint64
}

// DefaultPrimaryPingAfter: a primary's connection idle for longer is pinged
// before it is used. A write that fails on a dead connection has an unknown
// outcome, so the proxy pays one round trip to avoid that on connections
// that sat idle (a busy pool reuses connections within milliseconds and
// never pings); a read on a replica is retried instead.
const DefaultPrimaryPingAfter = time.Second

// Defaults for a Cluster's health settings left at zero.
const (
	DefaultHealthTimeout  = 2 * time.Second
	DefaultHealthFailures = 2
)

// NewCluster builds a cluster; every backend starts healthy until a check
// says otherwise, so the proxy serves from the first second. Health
// transitions and full pools are logged to log (nil: nowhere).
func NewCluster(name, primary string, replicas []string, weights []int, cfg PoolConfig, maxLag time.Duration, log *slog.Logger) *Cluster {
	c := &Cluster{Name: name, MaxLag: maxLag}
	log = logs.OrDiscard(log)
	pcfg := cfg
	primaryPing := cfg.PrimaryPingAfter
	if primaryPing <= 0 {
		primaryPing = DefaultPrimaryPingAfter
	}
	if pcfg.PingAfter <= 0 || pcfg.PingAfter > primaryPing {
		pcfg.PingAfter = primaryPing
	}
	c.Primary = newBackend(name, RolePrimary, primary, 1, pcfg, log)
	for i, addr := range replicas {
		c.Replicas = append(c.Replicas, newBackend(name, RoleReplica, addr, weights[i], cfg, log))
	}
	return c
}

func newBackend(cluster string, role Role, addr string, weight int, cfg PoolConfig, log *slog.Logger) *Backend {
	log = log.With("cluster", cluster, "role", string(role), "addr", addr)
	b := &Backend{Pool: newPool(addr, cfg, log), Cluster: cluster, Role: role, Weight: weight, log: log}
	b.healthy.Store(true)
	b.lag.Store(-1)
	return b
}

// Backends lists the primary then the replicas.
func (c *Cluster) Backends() []*Backend { return append([]*Backend{c.Primary}, c.Replicas...) }

// PickReplica chooses a healthy replica with the fewest requests in flight
// per unit of weight; ties rotate. It returns nil when none is healthy.
func (c *Cluster) PickReplica() *Backend {
	var best *Backend
	var bestLoad float64
	n := len(c.Replicas)
	start := int(c.rr.Add(1))
	for i := 0; i < n; i++ {
		b := c.Replicas[(start+i)%n]
		if !b.Healthy() {
			continue
		}
		if b.Drain() != "" {
			b.DrainHit()
			continue
		}
		load := float64(b.InFlight.Load()+1) / float64(b.Weight)
		if best == nil || load < bestLoad {
			best, bestLoad = b, load
		}
	}
	return best
}

// RunHealth checks every backend each interval until ctx ends. A backend
// leaves rotation after HealthFailures consecutive failed checks and returns
// at its first good one. A check still running when the next one is due is
// left to finish (it ends by HealthTimeout at the latest) rather than
// counted as failed.
func (c *Cluster) RunHealth(ctx context.Context, interval time.Duration) {
	timeout, failures := c.HealthTimeout, c.HealthFailures
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	if failures <= 0 {
		failures = DefaultHealthFailures
	}
	checkers := make([]*checker, 0, 1+len(c.Replicas))
	for _, b := range c.Backends() {
		checkers = append(checkers, &checker{b: b, maxLag: c.MaxLag, timeout: timeout, failures: int32(failures)})
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, ch := range checkers {
			go ch.check()
		}
		select {
		case <-ctx.Done():
			for _, ch := range checkers {
				ch.close()
			}
			return
		case <-t.C:
		}
		for _, b := range c.Backends() {
			b.CloseIdle()
		}
	}
}

// checker keeps its own connection, outside the pool, so a full pool never
// delays a health check.
type checker struct {
	b        *Backend
	maxLag   time.Duration
	timeout  time.Duration
	failures int32 // consecutive failures that take the backend out
	running  atomic.Bool
	conn     atomic.Pointer[Conn]
	// booted is when the server started (now - Uptime) as read at the
	// checker's last login; zero before the first. Only the running check
	// touches it.
	booted time.Time
	// fake, when set, replaces the check against the server (tests of
	// what the checker does with an outcome).
	fake func() error
}

func (ch *checker) close() {
	if c := ch.conn.Swap(nil); c != nil {
		c.Close()
	}
}

func (ch *checker) check() {
	if !ch.running.CompareAndSwap(false, true) {
		// The previous check is still running; it fails by itself once it
		// passes the timeout (a frozen server), so this tick adds nothing.
		return
	}
	defer ch.running.Store(false)
	probe := ch.probe
	if ch.fake != nil {
		probe = ch.fake
	}
	if err := probe(); err != nil {
		ch.close()
		ch.fail(err)
		return
	}
	ch.b.rejoin()
}

// fail records a failed check; the backend leaves rotation only once the
// failures are consecutive and enough of them. Its pooled connections are
// purged at the first failure: whatever broke the check (a restart, a
// crash, the network) most likely broke them too.
func (ch *checker) fail(err error) {
	n := ch.b.fails.Add(1)
	ch.b.lastErr.Store(err.Error())
	ch.b.Purge()
	if n >= ch.failures {
		reason := failReason(err)
		ch.b.leave(reason, err.Error()) // first, so that retries go elsewhere
		ch.b.cutInFlight(reason, err)
	} else if ch.b.Healthy() {
		ch.b.log.Debug("backend health check failed", "reason", failReason(err), "err", err.Error(), "failures", n, "out_after", ch.failures)
	}
}

// failReason classifies a failed check for the log.
func failReason(err error) string {
	var lag *lagError
	var stopped replicationStopped
	var me *mysql.MyError
	switch {
	case errors.As(err, &lag):
		return ReasonLag
	case errors.As(err, &stopped):
		return ReasonReplicationStopped
	case errors.As(err, &me):
		return ReasonCheckRefused
	}
	return ReasonUnreachable
}

// cutInFlight cuts the statements in flight on a replica that left
// rotation because its checks went unanswered (frozen, unreachable: not
// lag, stopped replication or an error the server sent): they would
// otherwise wait up to read_timeout for a server the proxy already gave
// up on, while a read that has used none of its answer can run again on a
// healthy server (engine.Route and the router's cursor.Retry decide
// that). A primary's statements are left to finish or time out: they
// include writes, and cutting a write that may still commit would only
// turn its outcome from known to unknown. A server that answers (lag,
// replication stopped) finishes its reads by itself, correctly as of when
// they started, so they are not cut either.
func (b *Backend) cutInFlight(reason string, err error) {
	if b.Role == RoleReplica && reason == ReasonUnreachable {
		b.Cut(&LeftRotationError{Server: b.Describe(), Reason: "health check failed: " + err.Error()})
	}
}

// restartSlack absorbs Uptime's one-second resolution and clock reads.
const restartSlack = 2 * time.Second

// noteBoot reads when the server started, on the checker's new connection,
// and purges the pool when that changed: the server restarted between two
// checks (its connections are dead although no check failed).
func (ch *checker) noteBoot(c *Conn) error {
	res, _, err := c.Query("SHOW GLOBAL STATUS LIKE 'Uptime'")
	if err != nil {
		return err
	}
	booted, ok := bootTime(res, time.Now())
	if !ok {
		return nil // not told: nothing to compare
	}
	ch.sawBoot(booted)
	return nil
}

// sawBoot notes when the server says it started; a start other than the
// one seen before is a restart: the pool is purged and the event logged.
func (ch *checker) sawBoot(booted time.Time) {
	if restarted(ch.booted, booted) {
		ch.b.Restarts.Add(1)
		ch.b.Purge()
		ch.b.log.Warn("backend restart detected: its pooled connections were purged", "reason", ReasonRestart,
			"started", booted.UTC().Format(time.RFC3339), "previously_started", ch.booted.UTC().Format(time.RFC3339))
	}
	ch.booted = booted
}

// bootTime is when the server started, from SHOW GLOBAL STATUS LIKE
// 'Uptime' read at now; false when the answer does not say.
func bootTime(res *Result, now time.Time) (time.Time, bool) {
	if len(res.Rows) != 1 || len(res.Rows[0]) != 2 || res.Rows[0][1] == nil {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(*res.Rows[0][1], 10, 64)
	if err != nil || secs < 0 {
		return time.Time{}, false
	}
	return now.Add(-time.Duration(secs) * time.Second), true
}

// restarted reports a boot time that differs from the one seen before
// (zero: none yet) by more than restartSlack: the server started again in
// between. Earlier counts too: another server, up for longer, answers at
// the address now (a failover); either way the pool's connections are to
// a server that is gone.
func restarted(before, now time.Time) bool {
	if before.IsZero() {
		return false
	}
	d := now.Sub(before)
	return d > restartSlack || d < -restartSlack
}

func (ch *checker) probe() error {
	c := ch.conn.Load()
	if c == nil {
		cfg := ch.b.cfg.Dial
		cfg.ConnectTimeout = ch.timeout
		cfg.ReadTimeout = ch.timeout
		var err error
		if c, err = Dial(ch.b.Addr, cfg); err != nil {
			return err
		}
		if err := ch.noteBoot(c); err != nil {
			c.Close()
			return err
		}
		ch.b.noteVersion(c)
		ch.conn.Store(c)
	}
	// Whether the server takes writes as a primary does (Writable): read
	// once per check on the checker's own connection, never a session's.
	ch.b.writable.Store(false)
	ro, _, err := c.Query("SELECT @@global.read_only")
	if err != nil {
		return err
	}
	readOnly := len(ro.Rows) != 1 || ro.Rows[0][0] == nil || *ro.Rows[0][0] != "0"
	if ch.b.Role == RolePrimary {
		ch.b.writable.Store(!readOnly)
		return nil
	}
	res, _, err := c.Query("SHOW SLAVE STATUS")
	if err != nil {
		return err
	}
	lag, err := replicaLag(res)
	var stopped replicationStopped
	if errors.As(err, &stopped) && !readOnly && !replicating(res) {
		ch.b.writable.Store(true) // promoted: out of rotation as a replica
	}
	if err != nil {
		ch.b.lag.Store(-1)
		return err
	}
	ch.b.lag.Store(int64(lag / time.Second))
	if ch.maxLag > 0 && lag > ch.maxLag {
		return &lagError{lag: lag, max: ch.maxLag}
	}
	return nil
}

type lagError struct{ lag, max time.Duration }

func (e *lagError) Error() string {
	return "replica is " + e.lag.String() + " behind, more than max_replica_lag " + e.max.String()
}

type replicationStopped string

func (e replicationStopped) Error() string { return string(e) }

// replicaLag reads Seconds_Behind_Master from SHOW SLAVE STATUS and fails
// when replication is not running.
func replicaLag(res *Result) (time.Duration, error) {
	if len(res.Rows) == 0 {
		return 0, replicationStopped("not configured as a replica")
	}
	col := map[string]int{}
	for i, c := range res.Columns {
		col[c.Name] = i
	}
	get := func(name string) string {
		i, ok := col[name]
		if !ok || res.Rows[0][i] == nil {
			return ""
		}
		return *res.Rows[0][i]
	}
	if get("Slave_IO_Running") != "Yes" || get("Slave_SQL_Running") != "Yes" {
		return 0, replicationStopped("replication threads stopped (IO " + get("Slave_IO_Running") + ", SQL " + get("Slave_SQL_Running") + ")")
	}
	secs, err := strconv.Atoi(get("Seconds_Behind_Master"))
	if err != nil {
		return 0, replicationStopped("Seconds_Behind_Master is unknown")
	}
	return time.Duration(secs) * time.Second, nil
}

type drainState struct {
	reason string
	hits   *atomic.Int64
}

// SetDrain takes the backend out of rotation for new statements, saying
// why (an operator's switch), or puts it back (""). Statements running on
// it and connections held by sessions are not touched. hits, when not
// nil, counts the statements the drain sent elsewhere or refused.
func (b *Backend) SetDrain(reason string, hits *atomic.Int64) {
	if reason == "" {
		b.drain.Store(nil)
		return
	}
	b.drain.Store(&drainState{reason, hits})
}

// Drain is why the backend is out of rotation by an operator's switch, ""
// when it is not.
func (b *Backend) Drain() string {
	if d := b.drain.Load(); d != nil {
		return d.reason
	}
	return ""
}

// DrainHit counts a statement the drain sent elsewhere or refused.
func (b *Backend) DrainHit() {
	if d := b.drain.Load(); d != nil && d.hits != nil {
		d.hits.Add(1)
	}
}
