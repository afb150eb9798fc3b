// Package integration runs real clients through the proxy against the real
// local MariaDB cluster (scripts/cluster.sh up). A missing cluster is a
// failure, not a skip; the only skips are the tests that stop, kill or
// reconfigure servers, when SHARDGATE_EXTERNAL_CLUSTER says the servers are
// not ours (needLocalCluster). `go test -short` leaves the package out.
package integration

import (
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/protocol"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
)

// Backend addresses of the local cluster.
const (
	mainPrimary = "127.0.0.1:3310"
	refServer   = "127.0.0.1:3340"
)

var mainReplicas = []string{"127.0.0.1:3311", "127.0.0.1:3312"}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("integration: skipped by -short")
		os.Exit(0)
	}
	closeInheritedFDs()
	// ref (3340) too: the sharding tests compare with a shop database there,
	// whichever of them runs first (or alone).
	for _, addr := range []string{"127.0.0.1:3310", "127.0.0.1:3320", "127.0.0.1:3330", refServer} {
		db, err := sql.Open("mysql", "app:app@tcp("+addr+")/")
		if err == nil {
			_, err = db.Exec("CREATE DATABASE IF NOT EXISTS shop")
			db.Close()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "integration: the local cluster is not reachable at %s (run scripts/cluster.sh up): %v\n", addr, err)
			os.Exit(1)
		}
	}
	// A replica that wrote a transaction of its own has stopped
	// replicating for good (gtid_test.go): say so once, by name, before,
	// while (as soon as it happens) and after the tests, rather than only
	// through the tests that wait for it.
	if err := brokenReplicas(false); err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		os.Exit(1)
	}
	// The replicas must have the shop database before any test reads
	// through them.
	if err := syncReplicasErr(30 * time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		os.Exit(1)
	}
	stop := make(chan struct{})
	go watchReplicas(2*time.Second, stop)
	code := m.Run()
	close(stop)
	if err := brokenReplicas(false); err != nil {
		fmt.Fprintf(os.Stderr, "integration: after the tests: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

// closeInheritedFDs marks every descriptor this process inherited (beyond
// stdin, stdout and stderr) close-on-exec. The tests restart servers with
// scripts/cluster.sh; a daemonised mariadbd would otherwise inherit, and
// hold forever, e.g. the lock of `flock /tmp/sg-integration.lock go test`,
// blocking every later run on the shared cluster.
func closeInheritedFDs() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// proxy is an in-process shardgate listening on a free loopback port.
type proxy struct {
	addr   string
	srv    *protocol.Server
	router *router.Router
}

const baseRules = `
users:
  - {name: app, password: app, admin: true}
  - {name: nopass, password: ""}
backend: {user: app, password: app}
clusters:
  main:
    primary: 127.0.0.1:3310
    replicas: [127.0.0.1:3311, 127.0.0.1:3312]
  s0:
    primary: 127.0.0.1:3320
    replicas: [127.0.0.1:3321]
  s1:
    primary: 127.0.0.1:3330
    replicas: [127.0.0.1:3331]
schemas:
  shop:
    cluster: main
    tables:
      orders: {cluster: s1}
      comments:
        shard: {by: hash, column: product_id, tables: 8, clusters: [s0, s1]}
`

// startProxy starts a proxy with baseRules plus extra top-level keys.
func startProxy(t testing.TB, extra string) *proxy {
	t.Helper()
	return startProxyRules(t, baseRules+extra)
}

// testLogSchema is the decision log's database for the tests' proxies: the
// cluster's app user has no grant on the default (shardgate), only on
// txn_% among others (scripts/cluster.sh).
const testLogSchema = "txn_shardgate"

// startProxyRules starts a proxy with a whole rules file. A file without a
// transactions: block gets one naming testLogSchema.
func startProxyRules(t testing.TB, rulesYAML string) *proxy {
	t.Helper()
	return startProxyLog(t, rulesYAML, nil)
}

// startProxyLog starts a proxy with a whole rules file, logging to log
// (nil: nowhere).
func startProxyLog(t testing.TB, rulesYAML string, log *slog.Logger) *proxy {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if !regexp.MustCompile(`(?m)^transactions:`).MatchString(rulesYAML) {
		rulesYAML = strings.TrimRight(rulesYAML, "\n") + "\ntransactions: {log_schema: " + testLogSchema + "}\n"
	}
	r, err := rules.Parse("test-rules.yaml", []byte(rulesYAML))
	if err != nil {
		t.Fatal(err)
	}
	return startProxyParsed(t, r, log)
}

// startProxyParsed starts a proxy with rules already read (rules.Load of a
// file for tests that reload it).
func startProxyParsed(t testing.TB, r *rules.Rules, log *slog.Logger) *proxy {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(r, log)
	rt.SetListenAddr(ln.Addr().String())
	rt.Start()
	srv, err := protocol.NewServer(r, rt, log)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	p := &proxy{addr: ln.Addr().String(), srv: srv, router: rt}
	t.Cleanup(func() {
		srv.Shutdown(t.Context())
		// A connection given back twice could have been lent to two
		// sessions: the pool closed it, but it is a defect in the proxy.
		for _, b := range rt.BackendStats() {
			if b.Misreturned > 0 {
				t.Errorf("backend %s (%s): %d connections given back to the pool twice", b.Addr, b.Cluster, b.Misreturned)
			}
		}
		rt.Close()
	})
	return p
}

func (p *proxy) port() string { _, port, _ := net.SplitHostPort(p.addr); return port }

// dsn is a go-sql-driver DSN for the proxy; params are appended as given.
func (p *proxy) dsn(db string, params ...string) string {
	d := "app:app@tcp(" + p.addr + ")/" + db
	if len(params) > 0 {
		d += "?" + strings.Join(params, "&")
	}
	return d
}

func (p *proxy) open(t testing.TB, db string, params ...string) *sql.DB {
	t.Helper()
	d, err := sql.Open("mysql", p.dsn(db, params...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func direct(t testing.TB, addr, db string) *sql.DB {
	t.Helper()
	d, err := sql.Open("mysql", "app:app@tcp("+addr+")/"+db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// mysqlErr extracts the server error code and state from err.
func mysqlErr(t testing.TB, err error) (uint16, string, string) {
	t.Helper()
	me, ok := err.(*mysql.MySQLError)
	if !ok {
		t.Fatalf("want a MySQL error, got %T %v", err, err)
	}
	return me.Number, string(me.SQLState[:]), me.Message
}

// waitOnReplicas waits until replication has brought shop.table to every
// replica of main.
func waitOnReplicas(t testing.TB, table string) {
	t.Helper()
	for _, addr := range mainReplicas {
		db := direct(t, addr, "")
		eventually(t, 10*time.Second, "table "+table+" on replica "+addr, func() bool {
			var n int
			scan(t, db, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='shop' AND TABLE_NAME='"+table+"'", &n)
			return n == 1
		})
	}
}
