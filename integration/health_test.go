package integration

import (
	"context"
	"os"
	"os/exec"
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
	out, err := exec.Command("mariadb", "--no-defaults", "-uroot", "--socket="+filepath.Join(state, server, "sock"), "-e", stmt).CombinedOutput()
	if err != nil {
		t.Fatalf("%s on %s: %v %s", stmt, server, err, out)
	}
}

// A replica whose replication is stopped leaves rotation within two health
// checks and returns once replication runs again.
func TestStoppedReplicaLeavesRotation(t *testing.T) {
	const interval = 200 * time.Millisecond
	p := startProxy(t, "health_interval: 200ms\n")
	db := p.open(t, "shop")
	conn, _ := db.Conn(context.Background())
	defer conn.Close()
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
	time.Sleep(2*interval + 100*time.Millisecond)
	if seen := readPorts(40); seen[3312] != 0 || seen[3311] != 40 {
		t.Fatalf("reads after STOP SLAVE: %v", seen)
	}
	var healthy string
	rows, err := conn.QueryContext(context.Background(), "SHOW SHARDGATE BACKENDS")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var cluster, role, addr, ok, lag, open, idle, inflight, reads, writes, lastErr *string
		rows.Scan(&cluster, &role, &addr, &ok, &lag, &open, &idle, &inflight, &reads, &writes, &lastErr)
		if *addr == "127.0.0.1:3312" {
			healthy = *ok + " " + *lastErr
		}
	}
	rows.Close()
	if healthy == "" || healthy[:2] != "no" {
		t.Fatalf("SHOW SHARDGATE BACKENDS says 3312 is %q", healthy)
	}
	rootSQL(t, "main-r2", "START SLAVE")
	deadline := time.Now().Add(5 * time.Second)
	for readPorts(20)[3312] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("3312 did not return to rotation within 5 s after START SLAVE")
		}
		time.Sleep(interval)
	}
}

// With no usable replica, reads go to the primary (replica_fallback:
// primary, the default) or fail clearly (replica_fallback: error).
func TestReplicaFallback(t *testing.T) {
	viaPrimary := startProxy(t, "health_interval: 200ms\n")
	failing := startProxy(t, "health_interval: 200ms\nreplica_fallback: error\n")
	for _, r := range []string{"main-r1", "main-r2"} {
		rootSQL(t, r, "STOP SLAVE")
		defer rootSQL(t, r, "START SLAVE")
	}
	time.Sleep(500 * time.Millisecond)
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
