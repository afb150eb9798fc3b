package integration

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rootSQL runs a statement as root on one local server over its socket, for
// what the app user may not do (STOP SLAVE).
func rootSQL(t *testing.T, server, stmt string) {
	t.Helper()
	needLocalCluster(t)
	state := os.Getenv("SHARDGATE_STATE")
	if state == "" {
		state = "/tmp/shardgate-cluster"
	}
	out, err := runCmd(t, time.Minute, "mariadb", "--no-defaults", "-uroot", "--socket="+filepath.Join(state, server, "sock"), "-e", stmt)
	if err != nil {
		t.Fatalf("%s on %s: %v %s", stmt, server, err, out)
	}
}

// A replica whose replication is stopped leaves rotation after
// health_failures checks and returns once replication runs again.
func TestStoppedReplicaLeavesRotation(t *testing.T) {
	needLocalCluster(t)
	const interval, failures = 200 * time.Millisecond, 2
	p := startProxy(t, "health_interval: 200ms\nhealth_failures: 2\n")
	db := p.open(t, "shop")
	conn := pin(t, db)
	readPorts := func(n int) map[int]int {
		seen := map[int]int{}
		for i := 0; i < n; i++ {
			seen[whoAnswers(t, conn, "SELECT @@port")]++
		}
		return seen
	}
	if seen := readPorts(20); seen[3312] == 0 {
		t.Fatalf("3312 serves no reads before the fault: %v", seen)
	}
	rootSQL(t, "main-r2", "STOP SLAVE")
	defer rootSQL(t, "main-r2", "START SLAVE")
	stopped := p.router.Snapshot().Clusters["main"].Replicas[1]
	if stopped.Addr != "127.0.0.1:3312" {
		t.Fatalf("replica 1 is %s", stopped.Addr)
	}
	// failures checks at the interval; the deadline leaves room for a slow
	// machine, the log shows the real time.
	took := eventually(t, failures*interval+3*time.Second, "3312 out of rotation after STOP SLAVE", func() bool { return !stopped.Healthy() })
	t.Logf("out of rotation %s after STOP SLAVE", took)
	if seen := readPorts(40); seen[3312] != 0 || seen[3311] != 40 {
		t.Fatalf("reads after STOP SLAVE: %v", seen)
	}
	var healthy string
	rows, err := conn.QueryContext(context.Background(), "SHOW SHARDGATE BACKENDS")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var cluster, role, addr, ok, lag, open, idle, inflight, reads, writes, lastErr sql.NullString
		if err := rows.Scan(&cluster, &role, &addr, &ok, &lag, &open, &idle, &inflight, &reads, &writes, &lastErr); err != nil {
			t.Fatal(err)
		}
		if addr.String == "127.0.0.1:3312" {
			healthy = ok.String + " " + lastErr.String
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if healthy == "" || healthy[:2] != "no" {
		t.Fatalf("SHOW SHARDGATE BACKENDS says 3312 is %q", healthy)
	}
	rootSQL(t, "main-r2", "START SLAVE")
	eventually(t, 10*time.Second, "3312 back in rotation after START SLAVE", func() bool { return readPorts(20)[3312] > 0 })
}

// With no usable replica, reads go to the primary (replica_fallback:
// primary, the default) or fail clearly (replica_fallback: error).
func TestReplicaFallback(t *testing.T) {
	needLocalCluster(t)
	viaPrimary := startProxy(t, "health_interval: 200ms\n")
	failing := startProxy(t, "health_interval: 200ms\nreplica_fallback: error\n")
	for _, r := range []string{"main-r1", "main-r2"} {
		rootSQL(t, r, "STOP SLAVE")
		defer rootSQL(t, r, "START SLAVE")
	}
	for _, p := range []*proxy{viaPrimary, failing} {
		for _, b := range p.router.Snapshot().Clusters["main"].Replicas {
			eventually(t, 5*time.Second, b.Addr+" out of rotation", func() bool { return !b.Healthy() })
		}
	}
	var port int
	if err := viaPrimary.open(t, "shop").QueryRow("SELECT @@port").Scan(&port); err != nil || port != 3310 {
		t.Fatalf("fallback primary: port %d, %v", port, err)
	}
	err := failing.open(t, "shop").QueryRow("SELECT @@port").Scan(&port)
	if err == nil {
		t.Fatal("fallback error: a read was served")
	}
	if code, _, msg := mysqlErr(t, err); code != 1290 || !strings.Contains(msg, "no healthy replica in cluster main") {
		t.Fatalf("fallback error: %d %s", code, msg)
	}
	// Writes are unaffected.
	if _, err := failing.open(t, "shop").Exec("DO 1"); err != nil {
		t.Fatal(err)
	}
}
