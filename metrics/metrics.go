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
)

// Backend is what the metrics read from one backend server at scrape time.
type Backend struct {
	Cluster, Role, Addr string
	Open, Idle          int
	InFlight            int64
	Healthy             bool
	LagSeconds          int64 // -1 when unknown
	Reads, Writes       int64
}

// Metrics records the proxy's activity.
type Metrics struct {
	registry *prometheus.Registry
	queries  *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	clients  prometheus.Gauge
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
	m.registry.MustRegister(m.queries, m.errors, m.latency, m.clients, &backendCollector{list: backends})
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
)

// backendCollector reads the backends at scrape time.
type backendCollector struct{ list func() []Backend }

func (c *backendCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descIdle, descInFlight, descHealthy, descLag, descReads, descWrites} {
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
		if b.Role == "replica" {
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(b.LagSeconds), b.Cluster, b.Addr)
		}
	}
}
