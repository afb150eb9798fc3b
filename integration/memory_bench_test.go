package integration

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// rssKB reads a process's resident set size.
func rssKB(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkScatterStreamMemory streams 1,000,000 rows from 8 shards through
// the shardgate binary to a client that reads slowly, plain and k-way
// merged, and reports how much the proxy's RSS grew while doing it.
//
//	go test ./integration -run '^$' -bench ScatterStreamMemory -benchtime 1x
func BenchmarkScatterStreamMemory(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "shardgate")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/shardgate").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	rulesYAML, err := os.ReadFile("../testdata/rules.plan.yaml")
	if err != nil {
		b.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, append(rulesYAML, []byte("precreate_hours: -1\n")...), 0o644)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "--rules", rules, "--listen", addr)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Process.Kill()
	db, _ := sql.Open("mysql", "app:app@tcp("+addr+")/shop")
	defer db.Close()
	for i := 0; db.Ping() != nil; i++ {
		if i > 100 {
			b.Fatal("proxy did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := db.Exec("DROP TABLE IF EXISTS big"); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE big (id INT PRIMARY KEY, grp INT, pad VARCHAR(100))"); err != nil {
		b.Fatal(err)
	}
	// 125,000 rows per physical table, written straight to the backends.
	for i := 0; i < 8; i++ {
		addr := shardCluster[[]string{"s0", "s1"}[i%2]]
		backend := direct(b, addr, "shop")
		q := fmt.Sprintf("INSERT INTO big_%d SELECT seq, seq %% 1000, REPEAT('x', 100) FROM seq_%d_to_%d", i, i*125000+1, (i+1)*125000)
		if _, err := backend.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(2 * time.Second) // let the replicas apply the load
	for _, q := range []string{"SELECT * FROM big", "SELECT * FROM big ORDER BY id"} {
		runtimeBaseline := rssKB(cmd.Process.Pid)
		var peak atomic.Int64
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
					if r := rssKB(cmd.Process.Pid); r > peak.Load() {
						peak.Store(r)
					}
				}
			}
		}()
		rows, err := db.Query(q)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		var id, grp int
		var pad string
		for rows.Next() {
			if err := rows.Scan(&id, &grp, &pad); err != nil {
				b.Fatal(err)
			}
			if n++; n%20000 == 0 {
				time.Sleep(20 * time.Millisecond) // a slow client
			}
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		close(stop)
		if n != 1000000 {
			b.Fatalf("%s: %d rows", q, n)
		}
		growth := float64(peak.Load()-runtimeBaseline) / 1024
		name := "plain"
		if strings.Contains(q, "ORDER") {
			name = "merge"
		}
		b.ReportMetric(growth, name+"-rss-growth-MB")
		b.Logf("%s: 1,000,000 rows; proxy RSS %d MB before, peak %d MB (growth %.1f MB)", q, runtimeBaseline/1024, peak.Load()/1024, growth)
	}
}

// startBinary runs the shardgate binary with the planner's rules and returns
// its address and process.
func startBinary(b *testing.B) (string, *exec.Cmd) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "shardgate")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/shardgate").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	rulesYAML, err := os.ReadFile("../testdata/rules.plan.yaml")
	if err != nil {
		b.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.yaml")
	// max_connections above BenchmarkIdleConnections' 5,000 clients (the
	// default is 4,096).
	os.WriteFile(rules, append(rulesYAML, []byte("precreate_hours: -1\npool: {max_open: 64, max_idle: 64}\nmax_connections: 6000\n")...), 0o644)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "--rules", rules, "--listen", addr)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	db, _ := sql.Open("mysql", "app:app@tcp("+addr+")/shop")
	defer db.Close()
	for i := 0; db.Ping() != nil; i++ {
		if i > 100 {
			b.Fatal("proxy did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr, cmd
}

// BenchmarkScatterVsRef times ORDER BY … LIMIT 10, COUNT(*) and a GROUP BY
// over 16 physical tables holding 1,000,000 rows together, against the same
// statement on the ref server holding every row in one table, and reports
// the latency ratio.
//
//	go test ./integration -run '^$' -bench ScatterVsRef -benchtime 1x
func BenchmarkScatterVsRef(b *testing.B) {
	addr, _ := startBinary(b)
	proxy, _ := sql.Open("mysql", "app:app@tcp("+addr+")/shop")
	defer proxy.Close()
	ref := direct(b, refServer, "shop")
	for _, q := range []string{"DROP TABLE IF EXISTS wide", "CREATE TABLE wide (id INT PRIMARY KEY, grp INT, v INT, name VARCHAR(30), KEY (v))"} {
		if _, err := proxy.Exec(q); err != nil {
			b.Fatal(err)
		}
		if _, err := ref.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	const rows, tables = 1000000, 16
	for i := 0; i < tables; i++ {
		backend := direct(b, shardCluster[[]string{"s0", "s1"}[i%2]], "shop")
		q := fmt.Sprintf("INSERT INTO wide_%d SELECT seq, seq %% 1000, (seq * 7919) %% 1000003, CONCAT('name', seq) FROM seq_%d_to_%d", i, i*rows/tables+1, (i+1)*rows/tables)
		if _, err := backend.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := ref.Exec(fmt.Sprintf("INSERT INTO wide SELECT seq, seq %% 1000, (seq * 7919) %% 1000003, CONCAT('name', seq) FROM seq_1_to_%d", rows)); err != nil {
		b.Fatal(err)
	}
	time.Sleep(3 * time.Second) // replicas apply the load
	timeIt := func(db *sql.DB, q string) time.Duration {
		best := time.Duration(1 << 62)
		for i := 0; i < 5; i++ {
			start := time.Now()
			r, err := db.Query(q)
			if err != nil {
				b.Fatal(err)
			}
			for r.Next() {
			}
			r.Close()
			best = min(best, time.Since(start))
		}
		return best
	}
	for _, c := range []struct{ name, q string }{
		{"orderby-limit", "SELECT id, v FROM wide ORDER BY v DESC, id LIMIT 10"},
		{"count", "SELECT COUNT(*) FROM wide"},
		{"groupby", "SELECT grp, COUNT(*), SUM(v) FROM wide GROUP BY grp"},
	} {
		p, r := timeIt(proxy, c.q), timeIt(ref, c.q)
		ratio := float64(p) / float64(r)
		b.ReportMetric(ratio, c.name+"-ratio")
		b.Logf("%s: proxy %.1f ms, one server %.1f ms, ratio %.2f  (%s)", c.name, float64(p)/1e6, float64(r)/1e6, ratio, c.q)
	}
}

// BenchmarkIdleConnections opens 5,000 logged-in client connections that
// then sit idle, and reports the proxy's RSS per connection.
//
//	go test ./integration -run '^$' -bench IdleConnections -benchtime 1x
func BenchmarkIdleConnections(b *testing.B) {
	addr, cmd := startBinary(b)
	time.Sleep(500 * time.Millisecond)
	before := rssKB(cmd.Process.Pid)
	const n = 5000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		rd := &recordingDialer{}
		name := fmt.Sprintf("idle_%d", i)
		mysql.RegisterDialContext(name, rd.dial)
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = "app", "app", name, addr, "shop"
		connector, err := mysql.NewConnector(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := connector.Connect(context.Background()); err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, rd.last())
	}
	time.Sleep(time.Second)
	after := rssKB(cmd.Process.Pid)
	per := float64(after-before) / n
	b.ReportMetric(per, "KB/conn")
	b.Logf("%d idle clients: proxy RSS %d MB -> %d MB, %.1f KB per connection", n, before/1024, after/1024, per)
}
