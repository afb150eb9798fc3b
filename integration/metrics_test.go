package integration

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricValue finds one sample in Prometheus text output.
func metricValue(t *testing.T, body, name string, labels ...string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			return f
		}
	}
	return -1
}

// The binary with admin_listen serves /metrics, and the counters move.
func TestMetricsEndpoint(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "shardgate")
	if out, err := runCmd(t, 5*time.Minute, "go", "build", "-o", bin, "../cmd/shardgate"); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ports := freePorts(t, 2) // two distinct ports
	addr, admin := ports[0], ports[1]
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(baseRules+"admin_listen: "+admin+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--rules", rules, "--listen", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	db := openDSN(t, "app:app@tcp("+addr+")/shop")
	eventually(t, 10*time.Second, "the binary accepting clients", func() bool { return db.Ping() == nil })
	client := &http.Client{Timeout: 10 * time.Second}
	scrape := func() string {
		resp, err := client.Get("http://" + admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
		}
		return string(b)
	}
	before := scrape()
	for i := 0; i < 10; i++ {
		var v int
		scan(t, db, "SELECT 1", &v)
	}
	// Created on the primary directly: the drop at the end runs after the
	// binary has stopped.
	freshTable(t, direct(t, mainPrimary, "shop"), "metrics_t", "(id INT PRIMARY KEY)")
	if _, err := db.Exec("REPLACE INTO metrics_t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("SELECT * FROM no_such_table_for_metrics"); err == nil {
		t.Fatal("a query of a missing table succeeded")
	}
	after := scrape()

	reads := `kind="select",route="replica"`
	if d := metricValue(t, after, "shardgate_queries_total", reads) - max(0, metricValue(t, before, "shardgate_queries_total", reads)); d < 10 {
		t.Errorf("replica selects moved by %v, want >= 10", d)
	}
	if v := metricValue(t, after, "shardgate_queries_total", `kind="insert",route="primary"`); v < 1 {
		t.Errorf("primary inserts: %v", v)
	}
	if v := metricValue(t, after, "shardgate_query_errors_total", `code="1146"`); v < 1 {
		t.Errorf("errors by code: %v", v)
	}
	if v := metricValue(t, after, "shardgate_query_duration_seconds_count", `route="replica"`); v < 10 {
		t.Errorf("latency histogram count: %v", v)
	}
	if v := metricValue(t, after, "shardgate_backend_healthy", `addr="127.0.0.1:3311"`); v != 1 {
		t.Errorf("replica health: %v", v)
	}
	if v := metricValue(t, after, "shardgate_replica_lag_seconds", `addr="127.0.0.1:3312"`); v < 0 {
		t.Errorf("replica lag: %v", v)
	}
	if v := metricValue(t, after, "shardgate_client_connections"); v < 1 {
		t.Errorf("client connections: %v", v)
	}
	if !regexp.MustCompile(`shardgate_backend_connections_open\{addr="127.0.0.1:3310",cluster="main",role="primary"\} [1-9]`).MatchString(after) {
		t.Errorf("pool usage missing:\n%s", after)
	}
	// Purges, restarts and cuts are counted per backend (TestRestartSeenThroughUptime
	// and TestFrozenReplicaReadsMoveOn check that they move).
	for _, name := range []string{"shardgate_backend_pool_purges_total", "shardgate_backend_restarts_total", "shardgate_backend_connections_cut_total"} {
		if v := metricValue(t, after, name, `addr="127.0.0.1:3311"`); v < 0 {
			t.Errorf("%s missing", name)
		}
	}
}
