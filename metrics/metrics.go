// Package metrics exposes what the proxy does in Prometheus's format:
// queries by kind and route, errors by code, latencies, client connections,
// and each backend's pool, health and lag. Each proxy builds its own
// Metrics; nothing here is global.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shardgate/shardgate/memory"
)

// Backend is what the metrics read from one backend server at scrape time.
type Backend struct {
	Cluster, Role, Addr string
	Open, Idle          int
	InFlight            int64
	Healthy             bool
	LagSeconds          int64 // -1 when unknown
	Reads, Writes       int64
	// Purges: times the pool forgot its connections (failed check,
	// restart, broken connection); Restarts: server restarts seen through
	// Uptime; Cut: statements' connections closed when the server left
	// rotation.
	Purges, Restarts, Cut int64
	// Misreturned: connections given back to the pool twice, closed
	// instead of being shared (a proxy defect; should stay 0).
	Misreturned int64
	// Waits: borrowers that found the pool full and waited; WaitTimeouts:
	// those refused after pool.wait_timeout (1040).
	Waits, WaitTimeouts int64
}

// Metrics records the proxy's activity.
type Metrics struct {
	registry *prometheus.Registry
	queries  *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	clients  prometheus.Gauge
	// Logins that failed, and hosts blocked for too many of them.
	loginFailures prometheus.Counter
	hostBlocks    prometheus.Counter
	// Transactions: commits by kind, failed prepares, branches recovered.
	txnCommits      *prometheus.CounterVec
	prepareFailures prometheus.Counter
	recovered       *prometheus.CounterVec
	slow            *prometheus.CounterVec
	slowLatency     *prometheus.HistogramVec
	limitRefusals   *prometheus.CounterVec
	tableQueries    *prometheus.CounterVec
	tableLatency    *prometheus.HistogramVec
	refusals        *prometheus.CounterVec
}

// New builds the metrics; backends is called at every scrape.
func New(backends func() []Backend) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.queries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shardgate_queries_total",
		Help: "Statements run, by kind (select, insert, ...) and route (primary, replica, scatter, fanout, proxy).",
	}, []string{"kind", "route"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shardgate_query_errors_total",
		Help: "Statements answered with an error, by MySQL error code.",
	}, []string{"code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "shardgate_query_duration_seconds",
		Help:    "Time from a statement's arrival to the end of its answer, by route.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route"})
	m.clients = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shardgate_client_connections",
		Help: "Client connections open now.",
	})
	m.loginFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shardgate_login_failures_total",
		Help: "Client logins refused: wrong password, unknown user, host not allowed for the user, malformed handshake.",
	})
	m.hostBlocks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shardgate_hosts_blocked_total",
		Help: "Times a client host was blocked after max_connect_errors consecutive failed logins.",
	})
	m.txnCommits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shardgate_transaction_commits_total",
		Help: "Transactions committed, by kind: local (one or more plain local transactions), one_phase (one XA branch), two_phase (several XA branches).",
	}, []string{"kind"})
	m.prepareFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shardgate_transaction_prepare_failures_total",
		Help: "Two-phase commits rolled back because a branch failed to prepare.",
	})
	m.recovered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shardgate_transaction_recovered_branches_total",
		Help: "Prepared XA branches ended by recovery, by decision (commit, rollback).",
	}, []string{"decision"})
	m.slow = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shardgate_slow_queries_total",
		Help: "Statements over slow_log.time (SHARDGATE SLOW_QUERY_TIME), by kind and route; SHOW SHARDGATE SLOW has them by fingerprint.",
	}, []string{"kind", "route"})
	m.slowLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "shardgate_slow_query_duration_seconds",
		Help:    "Durations of the statements the slow log kept, by kind (select, insert, …: the fingerprint's class).",
		Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"kind"})
	m.limitRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shardgate_limit_refusals_total",
		Help: "Statements refused with 1226 by a user's or schema's max_statements or max_qps, by scope (user, schema) and limit.",
	}, []string{"scope", "limit"})
	m.tableQueries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shardgate_table_queries_total",
		Help: "Statements by logical table they name (schema.table), kind and route; one statement naming two tables counts for each.",
	}, []string{"table", "kind", "route"})
	m.tableLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "shardgate_table_query_duration_seconds",
		Help:    "Time from a statement's arrival to the end of its answer, by logical table it names.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 10},
	}, []string{"table"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shardgate_refusals_total",
		Help: "Statements the proxy refused itself, by reason (access denied, not supported, read only, …: as the 'statement refused' log line).",
	}, []string{"reason"})
	m.registry.MustRegister(m.queries, m.errors, m.latency, m.clients, m.loginFailures, m.hostBlocks,
		m.txnCommits, m.prepareFailures, m.recovered, m.slow, m.slowLatency, m.limitRefusals, m.tableQueries, m.tableLatency, m.refusals, &backendCollector{list: backends})
	return m
}

// Query records one statement. code is 0 when it succeeded.
func (m *Metrics) Query(kind, route string, took time.Duration, code uint16) {
	if m == nil {
		return
	}
	m.queries.WithLabelValues(kind, route).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
	if code != 0 {
		m.errors.WithLabelValues(strconv.Itoa(int(code))).Inc()
	}
}

// ClientConnected and ClientGone track client connections.
func (m *Metrics) ClientConnected() {
	if m != nil {
		m.clients.Inc()
	}
}

func (m *Metrics) ClientGone() {
	if m != nil {
		m.clients.Dec()
	}
}

// LoginFailed counts one refused login.
func (m *Metrics) LoginFailed() {
	if m != nil {
		m.loginFailures.Inc()
	}
}

// HostBlocked counts one host blocked for too many failed logins.
func (m *Metrics) HostBlocked() {
	if m != nil {
		m.hostBlocks.Inc()
	}
}

// TxnCommitted counts one committed transaction of kind local, one_phase
// or two_phase.
func (m *Metrics) TxnCommitted(kind string) {
	if m != nil {
		m.txnCommits.WithLabelValues(kind).Inc()
	}
}

// PrepareFailed counts a two-phase commit rolled back at prepare.
func (m *Metrics) PrepareFailed() {
	if m != nil {
		m.prepareFailures.Inc()
	}
}

// Recovered counts one branch ended by recovery (commit or rollback).
func (m *Metrics) Recovered(decision string) {
	if m != nil {
		m.recovered.WithLabelValues(decision).Inc()
	}
}

// BlockedHosts exports how many hosts are blocked now, read from blocked
// at every scrape. Call it once.
func (m *Metrics) BlockedHosts(blocked func() int) {
	if m == nil {
		return
	}
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shardgate_blocked_hosts",
		Help: "Client hosts blocked now (error 1129) until FLUSH HOSTS or connect_errors_timeout.",
	}, func() float64 { return float64(blocked()) }))
}

// PlanCache exports the plan cache's lookups by outcome (hit or miss),
// read from counts at every scrape. Call it once.
func (m *Metrics) PlanCache(hits, misses func() uint64) {
	if m == nil {
		return
	}
	for outcome, f := range map[string]func() uint64{"hit": hits, "miss": misses} {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "shardgate_plan_cache_lookups_total",
			Help:        "Statements looked up in the plan cache by shape, by outcome.",
			ConstLabels: prometheus.Labels{"outcome": outcome},
		}, func() float64 { return float64(f()) }))
	}
}

// Memory exports the memory budget, read at every scrape: its limit, what
// is reserved now and at most since start, and the reservations refused
// by each limit. Call it once.
func (m *Metrics) Memory(b *memory.Budget) {
	if m == nil || b == nil {
		return
	}
	m.registry.MustRegister(&memoryCollector{b: b})
}

var (
	descMemLimit    = prometheus.NewDesc("shardgate_memory_limit_bytes", "memory_limit: what the proxy may reserve in all for buffers (sorts, long data, large packets, whole results).", nil, nil)
	descMemReserved = prometheus.NewDesc("shardgate_memory_reserved_bytes", "Bytes reserved from memory_limit now.", nil, nil)
	descMemPeak     = prometheus.NewDesc("shardgate_memory_reserved_peak_bytes", "The most bytes reserved from memory_limit at once since start.", nil, nil)
	descMemRefusals = prometheus.NewDesc("shardgate_memory_refusals_total", "Reservations refused (errors 1038, 1041), by the limit that refused: memory_limit, connection_memory_limit or statement_memory_limit.", []string{"limit"}, nil)
)

type memoryCollector struct{ b *memory.Budget }

func (c *memoryCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMemLimit, descMemReserved, descMemPeak, descMemRefusals} {
		ch <- d
	}
}

func (c *memoryCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descMemLimit, prometheus.GaugeValue, float64(c.b.Limit()))
	ch <- prometheus.MustNewConstMetric(descMemReserved, prometheus.GaugeValue, float64(c.b.Reserved()))
	ch <- prometheus.MustNewConstMetric(descMemPeak, prometheus.GaugeValue, float64(c.b.Peak()))
	for _, s := range []memory.Scope{memory.Process, memory.Connection, memory.Statement} {
		ch <- prometheus.MustNewConstMetric(descMemRefusals, prometheus.CounterValue, float64(c.b.Refusals(s)), s.Key())
	}
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	return mux
}

var (
	descOpen     = prometheus.NewDesc("shardgate_backend_connections_open", "Backend connections open, idle or busy.", []string{"cluster", "role", "addr"}, nil)
	descIdle     = prometheus.NewDesc("shardgate_backend_connections_idle", "Backend connections idle in the pool.", []string{"cluster", "role", "addr"}, nil)
	descInFlight = prometheus.NewDesc("shardgate_backend_requests_in_flight", "Backend connections borrowed now.", []string{"cluster", "role", "addr"}, nil)
	descHealthy  = prometheus.NewDesc("shardgate_backend_healthy", "1 when the backend's last health check passed.", []string{"cluster", "role", "addr"}, nil)
	descLag      = prometheus.NewDesc("shardgate_replica_lag_seconds", "Seconds_Behind_Master of a replica (-1 unknown).", []string{"cluster", "addr"}, nil)
	descReads    = prometheus.NewDesc("shardgate_backend_reads_total", "Reads a backend served.", []string{"cluster", "role", "addr"}, nil)
	descWrites   = prometheus.NewDesc("shardgate_backend_writes_total", "Writes a backend served.", []string{"cluster", "role", "addr"}, nil)
	descPurges   = prometheus.NewDesc("shardgate_backend_pool_purges_total", "Times the backend's pooled connections were forgotten (failed health check, restart, broken connection).", []string{"cluster", "role", "addr"}, nil)
	descRestarts = prometheus.NewDesc("shardgate_backend_restarts_total", "Server restarts the health check saw through Uptime.", []string{"cluster", "role", "addr"}, nil)
	descCut      = prometheus.NewDesc("shardgate_backend_connections_cut_total", "Borrowed connections closed because the server left rotation (statements in flight retried elsewhere or failed).", []string{"cluster", "role", "addr"}, nil)
)

// descMisreturned counts a proxy defect the pool caught (backend.Pool's
// misreturned).
var (
	descWaits        = prometheus.NewDesc("shardgate_backend_pool_waits_total", "Statements that found the backend's pool full and waited for a connection.", []string{"cluster", "role", "addr"}, nil)
	descWaitTimeouts = prometheus.NewDesc("shardgate_backend_pool_wait_timeouts_total", "Statements refused with 1040 after waiting pool.wait_timeout for a connection.", []string{"cluster", "role", "addr"}, nil)
)

var descMisreturned = prometheus.NewDesc("shardgate_backend_pool_misreturned_total", "Backend connections given back to the pool twice and closed instead of being shared by two sessions (a proxy defect: should stay 0).", []string{"cluster", "role", "addr"}, nil)

// backendCollector reads the backends at scrape time.
type backendCollector struct{ list func() []Backend }

func (c *backendCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descIdle, descInFlight, descHealthy, descLag, descReads, descWrites, descPurges, descRestarts, descCut, descMisreturned, descWaits, descWaitTimeouts} {
		ch <- d
	}
}

func (c *backendCollector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.list() {
		labels := []string{b.Cluster, b.Role, b.Addr}
		healthy := 0.0
		if b.Healthy {
			healthy = 1
		}
		ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(b.Open), labels...)
		ch <- prometheus.MustNewConstMetric(descIdle, prometheus.GaugeValue, float64(b.Idle), labels...)
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(b.InFlight), labels...)
		ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, healthy, labels...)
		ch <- prometheus.MustNewConstMetric(descReads, prometheus.CounterValue, float64(b.Reads), labels...)
		ch <- prometheus.MustNewConstMetric(descWrites, prometheus.CounterValue, float64(b.Writes), labels...)
		ch <- prometheus.MustNewConstMetric(descPurges, prometheus.CounterValue, float64(b.Purges), labels...)
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(b.Restarts), labels...)
		ch <- prometheus.MustNewConstMetric(descCut, prometheus.CounterValue, float64(b.Cut), labels...)
		ch <- prometheus.MustNewConstMetric(descMisreturned, prometheus.CounterValue, float64(b.Misreturned), labels...)
		ch <- prometheus.MustNewConstMetric(descWaits, prometheus.CounterValue, float64(b.Waits), labels...)
		ch <- prometheus.MustNewConstMetric(descWaitTimeouts, prometheus.CounterValue, float64(b.WaitTimeouts), labels...)
		if b.Role == "replica" {
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(b.LagSeconds), b.Cluster, b.Addr)
		}
	}
}

// Switch is one operator's switch in force, read at scrape time.
type Switch struct {
	ID           int
	Kind, Target string
	Hits         int64
}

// Operations exports, read at every scrape, the rules version running and
// the switches in force with the statements each refused or rerouted.
// Call it once.
func (m *Metrics) Operations(version func() int, switches func() []Switch) {
	if m == nil {
		return
	}
	m.registry.MustRegister(&operationsCollector{version: version, switches: switches})
}

var (
	descRulesVersion = prometheus.NewDesc("shardgate_rules_version", "The version of the rules running (1 at start, one more per reload or rollback: SHOW SHARDGATE RULES).", nil, nil)
	descSwitch       = prometheus.NewDesc("shardgate_switch_active", "1 for each operator's switch in force (SHOW SHARDGATE SWITCHES).", []string{"id", "kind", "target"}, nil)
	descSwitchHits   = prometheus.NewDesc("shardgate_switch_hits_total", "Statements a switch refused (read_only, offline, block) or sent elsewhere (reads_to_primary).", []string{"id", "kind", "target"}, nil)
)

type operationsCollector struct {
	version  func() int
	switches func() []Switch
}

func (c *operationsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRulesVersion, descSwitch, descSwitchHits} {
		ch <- d
	}
}

func (c *operationsCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descRulesVersion, prometheus.GaugeValue, float64(c.version()))
	for _, sw := range c.switches() {
		labels := []string{strconv.Itoa(sw.ID), sw.Kind, sw.Target}
		ch <- prometheus.MustNewConstMetric(descSwitch, prometheus.GaugeValue, 1, labels...)
		ch <- prometheus.MustNewConstMetric(descSwitchHits, prometheus.CounterValue, float64(sw.Hits), labels...)
	}
}

// Slow counts a statement the slow log kept (over slow_log.time).
func (m *Metrics) Slow(kind, route string, took time.Duration) {
	if m == nil {
		return
	}
	m.slow.WithLabelValues(kind, route).Inc()
	m.slowLatency.WithLabelValues(kind).Observe(took.Seconds())
}

// LimitRefused counts a statement refused by a user's or schema's limit.
func (m *Metrics) LimitRefused(scope, limit string) {
	if m == nil {
		return
	}
	m.limitRefusals.WithLabelValues(scope, limit).Inc()
}

// Table records one statement for one logical table it names.
func (m *Metrics) Table(table, kind, route string, took time.Duration) {
	if m == nil {
		return
	}
	m.tableQueries.WithLabelValues(table, kind, route).Inc()
	m.tableLatency.WithLabelValues(table).Observe(took.Seconds())
}

// Refused counts a statement the proxy refused itself.
func (m *Metrics) Refused(reason string) {
	if m == nil {
		return
	}
	m.refusals.WithLabelValues(reason).Inc()
}

// Buckets exports, read at every scrape, the hourly buckets each hourly
// table has (schema.table → count). Call it once.
func (m *Metrics) Buckets(count func() map[string]int) {
	if m == nil {
		return
	}
	m.registry.MustRegister(&bucketCollector{count: count})
}

var descBuckets = prometheus.NewDesc("shardgate_buckets", "Hourly buckets this instance knows of, by logical table (schema.table).", []string{"table"}, nil)

type bucketCollector struct{ count func() map[string]int }

func (c *bucketCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descBuckets }

func (c *bucketCollector) Collect(ch chan<- prometheus.Metric) {
	for table, n := range c.count() {
		ch <- prometheus.MustNewConstMetric(descBuckets, prometheus.GaugeValue, float64(n), table)
	}
}
