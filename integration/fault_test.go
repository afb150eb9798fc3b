package integration

import (
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// needLocalCluster skips, saying why, tests that stop, kill or restart
// servers: they need the process-based cluster of scripts/cluster.sh.
func needLocalCluster(t *testing.T) {
	t.Helper()
	if os.Getenv("SHARDGATE_EXTERNAL_CLUSTER") != "" {
		t.Skip("SHARDGATE_EXTERNAL_CLUSTER is set: this test stops, kills or restarts servers of the local cluster (scripts/cluster.sh)")
	}
}

// clusterScript runs scripts/cluster.sh with args.
func clusterScript(t *testing.T, args ...string) string {
	t.Helper()
	needLocalCluster(t)
	out, err := runCmd(t, 2*time.Minute, "../scripts/cluster.sh", args...)
	if err != nil {
		t.Fatalf("cluster.sh %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(out)
}

func serverPid(t *testing.T, name string) int {
	pid, err := strconv.Atoi(clusterScript(t, "pid", name))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// readResult is one read of a load run: when it ended and who answered.
type readResult struct {
	at   time.Time
	took time.Duration
	port int
	err  error
}

// readLoad runs SELECT @@port on n connections until stop closes; ok
// counts the successful reads as they happen.
func readLoad(db *sql.DB, n int, stop <-chan struct{}, ok *atomic.Int64) []readResult {
	var mu sync.Mutex
	var results []readResult
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				var port int
				err := db.QueryRow("SELECT @@port").Scan(&port)
				if err == nil {
					ok.Add(1)
				}
				mu.Lock()
				results = append(results, readResult{at: time.Now(), took: time.Since(start), port: port, err: err})
				mu.Unlock()
			}
		}()
	}
	<-stop
	wg.Wait()
	return results
}

// kill -9 of a replica under a 16-thread read load: only statements in flight
// on it may fail, all succeed again within 2 s, and the restarted replica
// serves reads again within 5 s.
func TestKilledReplicaUnderLoad(t *testing.T) {
	needLocalCluster(t) // before any goroutine starts
	p := startProxy(t, "")
	db := p.open(t, "shop")
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	pid := serverPid(t, "main-r2")
	t.Cleanup(func() { clusterScript(t, "start", "main-r2") })

	stop := make(chan struct{})
	done := make(chan []readResult)
	var ok atomic.Int64
	go func() { done <- readLoad(db, 16, stop, &ok) }()
	stopLoad := func() []readResult {
		if stop != nil {
			close(stop)
			stop = nil
			return <-done
		}
		return nil
	}
	defer stopLoad() // no goroutine outlives the test, even when it fails
	// The load runs on both replicas before the kill.
	eventually(t, 10*time.Second, "200 reads before the kill", func() bool { return ok.Load() >= 200 })
	killedAt := killQuiesced(t, "main-r2", pid)
	// Run on until 2 s have passed (failures are allowed only before then)
	// and 200 more reads have succeeded.
	base := ok.Load()
	eventually(t, 30*time.Second, "200 reads after the kill", func() bool {
		return time.Since(killedAt) > 2*time.Second && ok.Load()-base >= 200
	})
	results := stopLoad()

	var failed, before, after, byKilledAfter int
	for _, r := range results {
		switch {
		case r.at.Before(killedAt):
			before++
			if r.err != nil {
				t.Errorf("a read failed before the kill: %v", r.err)
			}
		case r.err != nil:
			failed++
			if r.at.Sub(killedAt) > 2*time.Second {
				t.Errorf("a read failed %s after the kill: %v", r.at.Sub(killedAt), r.err)
			}
		default:
			after++
			if r.port == 3312 && r.at.Sub(killedAt) > 100*time.Millisecond {
				byKilledAfter++
			}
		}
	}
	t.Logf("reads: %d before the kill, %d ok after, %d failed", before, after, failed)
	if failed > 16 {
		t.Errorf("%d reads failed; at most the 16 in flight may", failed)
	}
	if byKilledAfter > 0 {
		t.Errorf("%d reads answered by the killed replica", byKilledAfter)
	}
	if after < 100 {
		t.Errorf("only %d reads succeeded after the kill", after)
	}

	clusterScript(t, "start", "main-r2")
	if why := replicationBroken("127.0.0.1:3312"); why != "" {
		t.Errorf("after the restart: %s", why)
	}
	conn := pin(t, db)
	took := eventually(t, 5*time.Second, "the restarted replica serving reads", func() bool {
		return whoAnswers(t, conn, "SELECT @@port") == 3312
	})
	t.Logf("the restarted replica served a read after %s", took)
}

// A frozen (SIGSTOPped) replica: every client gets an answer or an error
// within the read timeout, none hangs.
func TestFrozenReplicaNeverHangsClients(t *testing.T) {
	needLocalCluster(t)
	const readTimeout = 2 * time.Second
	p := startProxy(t, "pool: {read_timeout: 2s, connect_timeout: 1s}\nhealth_interval: 250ms\nhealth_timeout: 1s\n")
	db := p.open(t, "shop")
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	// Warm the pools so some connections to the replica are idle in them.
	for i := 0; i < 50; i++ {
		var port int
		if err := db.QueryRow("SELECT @@port").Scan(&port); err != nil {
			t.Fatal(err)
		}
	}
	pid := serverPid(t, "main-r1")
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	freeze(t, pid)

	stop := make(chan struct{})
	done := make(chan []readResult)
	var okReads atomic.Int64
	go func() { done <- readLoad(db, 16, stop, &okReads) }()
	// Long enough for reads caught on the frozen replica to hit the read
	// timeout, and until 100 reads have succeeded meanwhile.
	frozenAt := time.Now()
	enough := false
	for deadline := frozenAt.Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if enough = time.Since(frozenAt) > readTimeout+time.Second && okReads.Load() >= 100; enough {
			break
		}
	}
	close(stop)
	results := <-done
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if !enough {
		t.Fatalf("only %d reads succeeded in 30 s while one replica was frozen", okReads.Load())
	}

	var slowest time.Duration
	var ok, failed int
	for _, r := range results {
		slowest = max(slowest, r.took)
		if r.err != nil {
			failed++
		} else {
			ok++
			if r.port == 3311 {
				t.Errorf("the frozen replica answered a read")
			}
		}
	}
	t.Logf("%d reads ok, %d failed, slowest %s", ok, failed, slowest)
	if slowest > readTimeout+time.Second {
		t.Errorf("a client waited %s, more than the read timeout %s", slowest, readTimeout)
	}
	if ok < 100 {
		t.Errorf("only %d reads succeeded while one replica was frozen", ok)
	}
}

// A replica that falls behind (MASTER_DELAY with writes flowing) leaves
// rotation within two health checks of passing max_replica_lag, and returns
// once it has caught up.
func TestDelayedReplicaLeavesRotation(t *testing.T) {
	needLocalCluster(t)
	const interval, failures = 250 * time.Millisecond, 2
	p := startProxy(t, "health_interval: 250ms\nhealth_failures: 2\nmax_replica_lag: 2s\n")
	db := p.open(t, "shop")
	freshTable(t, db, "lag_t", "(id INT PRIMARY KEY AUTO_INCREMENT, at DATETIME(3))")
	rootSQL(t, "main-r2", "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=30; START SLAVE")
	t.Cleanup(func() { rootSQL(t, "main-r2", "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE") })

	stopWrites := make(chan struct{})
	var writes sync.WaitGroup
	writes.Add(1)
	go func() {
		defer writes.Done()
		for {
			select {
			case <-stopWrites:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := db.Exec("INSERT INTO lag_t (at) VALUES (NOW(3))"); err != nil {
					t.Errorf("write while the replica lags: %v", err)
					return
				}
			}
		}
	}()
	defer func() { close(stopWrites); writes.Wait() }()

	replica := direct(t, "127.0.0.1:3312", "")
	var behindAt time.Time
	for deadline := time.Now().Add(15 * time.Second); behindAt.IsZero(); {
		if time.Now().After(deadline) {
			t.Fatal("the delayed replica never fell 2 s behind")
		}
		rows, err := replica.Query("SHOW SLAVE STATUS")
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		for i, c := range cols {
			if c == "Seconds_Behind_Master" {
				// NULL (not yet known) counts as not behind.
				if secs, err := strconv.Atoi(vals[i].String); err == nil && secs > 2 {
					behindAt = time.Now()
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// health_failures checks of the interval, plus one check's time, after
	// passing max_replica_lag, the proxy must report it out of rotation.
	lagging := p.router.Snapshot().Clusters["main"].Replicas[1]
	if lagging.Addr != "127.0.0.1:3312" {
		t.Fatalf("replica 1 is %s", lagging.Addr)
	}
	took := eventually(t, (failures+1)*interval+2*time.Second, "3312 out of rotation", func() bool { return !lagging.Healthy() })
	t.Logf("out of rotation %s after it was seen behind", took)
	conn := pin(t, db)
	for i := 0; i < 40; i++ {
		if port := whoAnswers(t, conn, "SELECT @@port"); port == 3312 {
			t.Fatalf("the lagging replica served a read %s after passing max_replica_lag", time.Since(behindAt))
		}
	}
	rootSQL(t, "main-r2", "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE")
	took = eventually(t, 40*time.Second, "3312 back in rotation after catching up", func() bool {
		return whoAnswers(t, conn, "SELECT @@port") == 3312
	})
	t.Logf("back in rotation %s after the delay was lifted", took)
}

// Issue 13 item 5 (acceptance: "SIGSTOP of a replica under 16-thread
// reads: no read waits longer than 2 × health_interval + 1 s"). The
// health check takes the frozen replica out after two failed checks; the
// reads in flight on it are cut then and run again on a healthy server,
// although read_timeout is 30 s. Every read returns the whole, correct
// table; the only error allowed is the honest "incomplete result" of a
// read that was streaming when the replica froze.
func TestFrozenReplicaReadsMoveOn(t *testing.T) {
	needLocalCluster(t)
	const interval = 500 * time.Millisecond
	const bound = 2*interval + time.Second
	p := startProxy(t, "health_interval: 500ms\nhealth_timeout: 300ms\nhealth_failures: 2\npool: {read_timeout: 30s, connect_timeout: 1s}\n")
	db := p.open(t, "shop")
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	const table, n = "frozen_reads", 300
	freshTable(t, db, table, "(id INT PRIMARY KEY, v VARCHAR(40))")
	var values []string
	for i := 1; i <= n; i++ {
		values = append(values, fmt.Sprintf("(%d, 'row %d')", i, i))
	}
	if _, err := db.Exec("INSERT INTO " + table + " VALUES " + strings.Join(values, ", ")); err != nil {
		t.Fatal(err)
	}
	syncReplicas(t)
	frozen := p.router.Snapshot().Clusters["main"].Replicas[0]
	if frozen.Addr != "127.0.0.1:3311" {
		t.Fatalf("replica 0 is %s", frozen.Addr)
	}

	type read struct {
		start time.Time
		took  time.Duration
		port  int
		err   error
		bad   string // what was wrong with the rows
	}
	readAll := func() read {
		r := read{start: time.Now()}
		rows, err := db.Query("SELECT @@port, id, v FROM " + table + " ORDER BY id")
		if err != nil {
			r.err = err
			r.took = time.Since(r.start)
			return r
		}
		defer rows.Close()
		got := 0
		for rows.Next() {
			var port, id int
			var v string
			if err := rows.Scan(&port, &id, &v); err != nil {
				r.err = err
				break
			}
			got++
			if r.port == 0 {
				r.port = port
			}
			if port != r.port || id != got || v != fmt.Sprintf("row %d", got) {
				r.bad = fmt.Sprintf("row %d: port %d id %d v %q", got, port, id, v)
			}
		}
		if err := rows.Err(); err != nil && r.err == nil {
			r.err = err
		}
		if r.err == nil && r.bad == "" && got != n {
			r.bad = fmt.Sprintf("%d rows, want %d", got, n)
		}
		r.took = time.Since(r.start)
		return r
	}
	// Warm both replicas' pools.
	for i := 0; i < 40; i++ {
		if r := readAll(); r.err != nil || r.bad != "" {
			t.Fatalf("read before the freeze: %v %s", r.err, r.bad)
		}
	}

	pid := serverPid(t, "main-r1")
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	var mu sync.Mutex
	var results []read
	var okReads atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := readAll()
				if r.err == nil && r.bad == "" {
					okReads.Add(1)
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}()
	}
	var once sync.Once
	stopLoad := func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
		})
	}
	defer stopLoad()
	eventually(t, 10*time.Second, "100 reads under load before the freeze", func() bool { return okReads.Load() >= 100 })
	cutBefore := frozen.CutConns.Load()
	frozenAt := time.Now()
	freeze(t, pid)
	left := eventually(t, 10*time.Second, "the frozen replica out of rotation", func() bool { return !frozen.Healthy() })
	// Run on until every read caught by the freeze has had the bound to
	// finish, and 200 more have succeeded.
	base := okReads.Load()
	eventually(t, 30*time.Second, "200 reads after the freeze", func() bool {
		return time.Since(frozenAt) > bound+time.Second && okReads.Load()-base >= 200
	})
	stopLoad()
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	cut := frozen.CutConns.Load() - cutBefore
	t.Logf("out of rotation %s after SIGSTOP; %d connections cut", left, cut)

	var slowest time.Duration
	var ok, incomplete int
	for _, r := range results {
		slowest = max(slowest, r.took)
		if r.took > bound {
			t.Errorf("a read started %s after the freeze waited %s, more than 2 × health_interval + 1 s = %s",
				r.start.Sub(frozenAt).Round(time.Millisecond), r.took.Round(time.Millisecond), bound)
		}
		switch {
		case r.bad != "":
			t.Errorf("a read returned wrong rows: %s", r.bad)
		case r.err != nil:
			var me *mysql.MySQLError
			if !asMySQL(r.err, &me) || me.Number != 1105 || !strings.Contains(me.Message, "left rotation") || !strings.Contains(me.Message, "the result is incomplete") {
				t.Errorf("a read failed with %v; only the honest error of a read caught mid-result is allowed", r.err)
			}
			incomplete++
		default:
			ok++
			// (A read sent just before SIGSTOP took effect may still have
			// been answered by it.)
			if r.port == 3311 && r.start.After(frozenAt.Add(100*time.Millisecond)) {
				t.Errorf("a read started %s after the freeze was answered by the frozen replica", r.start.Sub(frozenAt))
			}
		}
	}
	t.Logf("%d reads: %d correct, %d incomplete (streaming when the replica froze); slowest %s (bound %s)", len(results), ok, incomplete, slowest, bound)
	if cut == 0 {
		t.Error("no read was in flight on the frozen replica when it left rotation: the test did not exercise the cut")
	}
	if incomplete > 16 {
		t.Errorf("%d reads failed; at most the 16 in flight may", incomplete)
	}

	conn := pin(t, db)
	took := eventually(t, 15*time.Second, "the resumed replica serving reads again", func() bool {
		return frozen.Healthy() && whoAnswers(t, conn, "SELECT @@port") == 3311
	})
	t.Logf("back in rotation %s after SIGCONT", took)
}

// freeze SIGSTOPs pid and returns once every thread of it has stopped:
// kill(2) returns before a thread running on another CPU is stopped, and
// such a thread can still answer a query a moment after the signal.
func freeze(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, fmt.Sprintf("every thread of %d stopped", pid), func() bool {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return false
		}
		for _, task := range tasks {
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
			if err != nil {
				continue // the thread ended
			}
			if !strings.Contains(string(status), "State:\tT") {
				return false
			}
		}
		return true
	})
}
