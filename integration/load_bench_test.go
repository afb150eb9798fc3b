package integration

import (
	"cmp"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// loadRules shards a hash table over 64 tables and an hourly table with 4
// hash tables per hour over s0 and s1, in schema db.
func loadRules(db, mode string) string {
	return fmt.Sprintf(`
users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
  %s:
    cluster: main
    transactions: %s
    tables:
      items:
        shard: {by: hash, column: id, tables: 64, clusters: [s0, s1]}
      events:
        shard: {by: hour, column: created_at, clusters: [s0, s1], then: {by: hash, column: id, tables: 4}}
        buckets: {past: 87600h, future: 48h}
transactions: {log_schema: %s}
`, db, mode, testLogSchema)
}

const (
	loadItemsDDL  = "(id BIGINT PRIMARY KEY, k INT NOT NULL, body VARCHAR(64), amount DECIMAL(10,2))"
	loadEventsDDL = "(id BIGINT NOT NULL, created_at DATETIME NOT NULL, body VARCHAR(64), PRIMARY KEY (id, created_at))"
)

// loadSchema creates db on every primary and ref, with items and events
// created through a proxy with loadRules and as plain tables on ref.
func loadSchema(t testing.TB, db string) (*proxy, *sql.DB, *sql.DB) {
	t.Helper()
	for _, addr := range []string{primaries["main"], primaries["s0"], primaries["s1"], refServer} {
		root := direct(t, addr, "")
		if _, err := root.Exec("CREATE DATABASE " + db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { direct(t, addr, "").Exec("DROP DATABASE IF EXISTS " + db) })
	}
	p := startProxyRules(t, loadRules(db, cmp.Or(os.Getenv("LOAD_TXN_MODE"), "xa")))
	px := p.open(t, db)
	ref := direct(t, refServer, db)
	for _, d := range []*sql.DB{px, ref} {
		for _, ddl := range []string{"CREATE TABLE items " + loadItemsDDL, "CREATE TABLE events " + loadEventsDDL} {
			if _, err := d.Exec(ddl); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p, px, ref
}

// insertBatch is one INSERT of n rows starting at id first: items spread
// over every table by id, events over hours hours from base (so over
// about 4*hours physical tables).
func insertBatch(table string, first, n, hours int, base time.Time) string {
	var b strings.Builder
	if table == "items" {
		b.WriteString("INSERT INTO items (id, k, body, amount) VALUES ")
	} else {
		b.WriteString("INSERT INTO events (id, created_at, body) VALUES ")
	}
	for i := 0; i < n; i++ {
		id := first + i
		if i > 0 {
			b.WriteByte(',')
		}
		if table == "items" {
			fmt.Fprintf(&b, "(%d,%d,'item %d',%d.%02d)", id, id%97, id, id%1000, id%100)
		} else {
			fmt.Fprintf(&b, "(%d,'%s','event %d')", id, base.Add(time.Duration(id%hours)*time.Hour).Format("2006-01-02 15:04:05"), id)
		}
	}
	return b.String()
}

// BenchmarkLoadThroughput (make bench): rows per second loaded with
// 100-row INSERTs through the proxy and into one server (ref), side by
// side: into items (64 hash tables on two clusters: a statement reaches
// about 50 of them), into events' existing hourly buckets (25 hours × 4
// tables: a statement reaches about 100), and into events' new buckets
// (the first statements create them); then LOAD DATA LOCAL of a file of
// as many rows into items and into events' existing buckets. BENCH_ROWS
// sets the rows per run (default 30,000); BENCH_BATCH the rows per INSERT
// (default 100; mariadb-dump's extended INSERTs hold thousands);
// LOAD_TXN_MODE the schema's transactions mode (default xa).
func BenchmarkLoadThroughput(b *testing.B) {
	rows := int(envInt(b, "BENCH_ROWS", 30000, 1000))
	batch := int(envInt(b, "BENCH_BATCH", 100, 1))
	db := uniqueName("txn_loadbench")
	_, px, ref := loadSchema(b, db)
	base := time.Now().UTC().Truncate(time.Hour).Add(-200 * 24 * time.Hour)
	// cpu is the CPU time every server of the cluster used per row while
	// one run loaded (replicas and the decision log's cluster included):
	// on these machines the servers share the cores with the proxy, so it
	// bounds what a run can reach.
	cpu := map[*sql.DB][]time.Duration{}
	run := func(d *sql.DB, table string, firstID, hours int, at time.Time) float64 {
		before := serversCPU(b)
		start := time.Now()
		for id := firstID; id < firstID+rows; id += batch {
			if _, err := d.Exec(insertBatch(table, id, min(batch, firstID+rows-id), hours, at)); err != nil {
				b.Fatal(err)
			}
		}
		rate := float64(rows) / time.Since(start).Seconds()
		cpu[d] = append(cpu[d], (serversCPU(b)-before)/time.Duration(rows))
		return rate
	}
	// Two baselines: ref, a lone server (binary log, no replicas), and
	// main's primary, configured like every shard's primary (binary log,
	// two replicas applying it on the same cores): the server the
	// application wrote to before it was sharded.
	prim := direct(b, primaries["main"], db)
	for _, ddl := range []string{"CREATE TABLE items " + loadItemsDDL, "CREATE TABLE events " + loadEventsDDL} {
		if _, err := prim.Exec(ddl); err != nil {
			b.Fatal(err)
		}
	}
	report := func(name string, proxyRate, directRate, primaryRate float64) {
		b.Logf("%s: proxy %.0f rows/s, one server %.0f rows/s (ratio %.2f), a primary with replicas %.0f rows/s (ratio %.2f)",
			name, proxyRate, directRate, proxyRate/directRate, primaryRate, proxyRate/primaryRate)
		b.ReportMetric(proxyRate/directRate, name+"-ratio")
		b.ReportMetric(proxyRate/primaryRate, name+"-ratio-primary")
		if len(cpu[px]) > 0 && len(cpu[ref]) > 0 {
			pc, rc := cpu[px][len(cpu[px])-1], cpu[ref][len(cpu[ref])-1]
			b.Logf("%s: servers' CPU per row: through the proxy %v, one server %v (%.1f×)", name, pc, rc, float64(pc)/float64(max(rc, 1)))
		}
	}
	// New buckets first: 25 hours never written before.
	newProxy := run(px, "events", 0, 25, base)
	newDirect := run(ref, "events", 0, 25, base)
	newPrimary := run(prim, "events", 0, 25, base)
	report("insert-new-buckets", newProxy, newDirect, newPrimary)
	existProxy := run(px, "events", rows, 25, base)
	existDirect := run(ref, "events", rows, 25, base)
	existPrimary := run(prim, "events", rows, 25, base)
	report("insert-buckets", existProxy, existDirect, existPrimary)
	hashProxy := run(px, "items", 0, 1, base)
	hashDirect := run(ref, "items", 0, 1, base)
	hashPrimary := run(prim, "items", 0, 1, base)
	report("insert-hash", hashProxy, hashDirect, hashPrimary)

	// LOAD DATA LOCAL of a file of BENCH_ROWS rows (ids after the
	// INSERTs'), into items and into events' existing buckets.
	dir := b.TempDir()
	for _, l := range []struct{ table, cols string }{{"items", "(id, k, body, amount)"}, {"events", "(id, created_at, body)"}} {
		path := filepath.Join(dir, l.table+".csv")
		var f strings.Builder
		for id := 2 * rows; id < 3*rows; id++ {
			if l.table == "items" {
				fmt.Fprintf(&f, "%d,%d,item %d,%d.%02d\n", id, id%97, id, id%1000, id%100)
			} else {
				fmt.Fprintf(&f, "%d,%s,event %d\n", id, base.Add(time.Duration(id%25)*time.Hour).Format("2006-01-02 15:04:05"), id)
			}
		}
		if err := os.WriteFile(path, []byte(f.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		mysql.RegisterLocalFile(path)
		stmt := fmt.Sprintf("LOAD DATA LOCAL INFILE '%s' INTO TABLE %s FIELDS TERMINATED BY ',' %s", path, l.table, l.cols)
		rate := func(d *sql.DB) float64 {
			before := serversCPU(b)
			defer func() { cpu[d] = append(cpu[d], (serversCPU(b)-before)/time.Duration(rows)) }()
			start := time.Now()
			res, err := d.Exec(stmt)
			if err != nil {
				b.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != int64(rows) {
				b.Fatalf("%s: %d rows loaded, want %d", stmt, n, rows)
			}
			return float64(rows) / time.Since(start).Seconds()
		}
		report("load-data-"+l.table, rate(px), rate(ref), rate(prim))
		mysql.DeregisterLocalFile(path)
	}
}

// serversCPU is the CPU time (user + system) the test cluster's servers
// have used so far, read from /proc; 0 when the cluster runs elsewhere.
func serversCPU(t testing.TB) time.Duration {
	state := cmp.Or(os.Getenv("SHARDGATE_STATE"), "/tmp/shardgate-cluster")
	pids, _ := filepath.Glob(filepath.Join(state, "*", "pid"))
	var ticks int64
	for _, f := range pids {
		pid, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(pid)), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces), from field 3:
		// utime and stime are the 14th and 15th of the whole line.
		rest := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(rest) < 13 {
			continue
		}
		for _, f := range rest[11:13] {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			ticks += n
		}
	}
	// USER_HZ is 100 on Linux whatever the kernel's own tick.
	return time.Duration(ticks) * 10 * time.Millisecond
}
