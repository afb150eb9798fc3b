package integration

import (
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
			rows.Scan(&id, &grp, &pad)
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
