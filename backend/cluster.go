package backend

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"
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

	healthy atomic.Bool
	// lag is Seconds_Behind_Master, -1 when unknown or not a replica.
	lag     atomic.Int64
	lastErr atomic.Value // string
	fails   atomic.Int32
}

// Healthy reports whether the last health check passed.
func (b *Backend) Healthy() bool { return b.healthy.Load() }

// MarkDown takes the backend out of rotation at once, without waiting for
// the next health check, when a statement found it broken. Its idle
// connections are most likely broken too. The health check brings it back.
func (b *Backend) MarkDown(reason string) {
	b.lastErr.Store(reason)
	b.healthy.Store(false)
	b.Purge()
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
// says otherwise, so the proxy serves from the first second.
func NewCluster(name, primary string, replicas []string, weights []int, cfg PoolConfig, maxLag time.Duration) *Cluster {
	c := &Cluster{Name: name, MaxLag: maxLag}
	pcfg := cfg
	primaryPing := cfg.PrimaryPingAfter
	if primaryPing <= 0 {
		primaryPing = DefaultPrimaryPingAfter
	}
	if pcfg.PingAfter <= 0 || pcfg.PingAfter > primaryPing {
		pcfg.PingAfter = primaryPing
	}
	c.Primary = newBackend(name, RolePrimary, primary, 1, pcfg)
	for i, addr := range replicas {
		c.Replicas = append(c.Replicas, newBackend(name, RoleReplica, addr, weights[i], cfg))
	}
	return c
}

func newBackend(cluster string, role Role, addr string, weight int, cfg PoolConfig) *Backend {
	b := &Backend{Pool: NewPool(addr, cfg), Cluster: cluster, Role: role, Weight: weight}
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
	if err := ch.probe(); err != nil {
		ch.close()
		ch.fail(err.Error())
		return
	}
	ch.b.fails.Store(0)
	ch.b.lastErr.Store("")
	ch.b.healthy.Store(true)
}

// fail records a failed check; the backend leaves rotation only once the
// failures are consecutive and enough of them. Its pooled connections are
// purged at the first failure: whatever broke the check (a restart, a
// crash, the network) most likely broke them too.
func (ch *checker) fail(msg string) {
	n := ch.b.fails.Add(1)
	ch.b.lastErr.Store(msg)
	ch.b.Purge()
	if n >= ch.failures {
		ch.b.healthy.Store(false)
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
	if len(res.Rows) != 1 || len(res.Rows[0]) != 2 || res.Rows[0][1] == nil {
		return nil // not told: nothing to compare
	}
	secs, err := strconv.ParseInt(*res.Rows[0][1], 10, 64)
	if err != nil {
		return nil
	}
	booted := time.Now().Add(-time.Duration(secs) * time.Second)
	if !ch.booted.IsZero() {
		if d := booted.Sub(ch.booted); d > restartSlack || d < -restartSlack {
			ch.b.Purge()
		}
	}
	ch.booted = booted
	return nil
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
	if ch.b.Role == RolePrimary {
		return c.Ping()
	}
	res, _, err := c.Query("SHOW SLAVE STATUS")
	if err != nil {
		return err
	}
	lag, err := replicaLag(res)
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
