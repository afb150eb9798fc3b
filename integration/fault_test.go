package integration

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	out, err := exec.Command("../scripts/cluster.sh", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("cluster.sh %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
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

// readLoad runs SELECT @@port on n connections until stop closes.
func readLoad(db *sql.DB, n int, stop <-chan struct{}) []readResult {
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
	p := startProxy(t, "")
	db := p.open(t, "shop")
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	t.Cleanup(func() { clusterScript(t, "start", "main-r2") })

	stop := make(chan struct{})
	done := make(chan []readResult)
	go func() { done <- readLoad(db, 16, stop) }()
	time.Sleep(1500 * time.Millisecond)
	killedAt := time.Now()
	if err := syscall.Kill(serverPid(t, "main-r2"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	close(stop)
	results := <-done

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
	restarted := time.Now()
	conn, _ := db.Conn(context.Background())
	defer conn.Close()
	for {
		if whoAnswers(t, conn, "SELECT @@port") == 3312 {
			t.Logf("the restarted replica served a read after %s", time.Since(restarted))
			break
		}
		if time.Since(restarted) > 5*time.Second {
			t.Fatal("the restarted replica serves no reads after 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A frozen (SIGSTOPped) replica: every client gets an answer or an error
// within the read timeout, none hangs.
func TestFrozenReplicaNeverHangsClients(t *testing.T) {
	const readTimeout = 2 * time.Second
	p := startProxy(t, "pool: {read_timeout: 2s, connect_timeout: 1s}\nhealth_interval: 250ms\n")
	db := p.open(t, "shop")
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	// Warm the pools so some connections to the replica are idle in them.
	for i := 0; i < 50; i++ {
		var port int
		db.QueryRow("SELECT @@port").Scan(&port)
	}
	pid := serverPid(t, "main-r1")
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })

	stop := make(chan struct{})
	done := make(chan []readResult)
	go func() { done <- readLoad(db, 16, stop) }()
	time.Sleep(3 * time.Second)
	close(stop)
	results := <-done
	syscall.Kill(pid, syscall.SIGCONT)

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
	const interval = 250 * time.Millisecond
	p := startProxy(t, "health_interval: 250ms\nmax_replica_lag: 2s\n")
	db := p.open(t, "shop")
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS lag_t (id INT PRIMARY KEY AUTO_INCREMENT, at DATETIME(3))"); err != nil {
		t.Fatal(err)
	}
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
				db.Exec("INSERT INTO lag_t (at) VALUES (NOW(3))")
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
		cols, _ := rows.Columns()
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			rows.Scan(ptrs...)
		}
		rows.Close()
		for i, c := range cols {
			if c == "Seconds_Behind_Master" {
				if secs, _ := strconv.Atoi(vals[i].String); secs > 2 {
					behindAt = time.Now()
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2*interval + 100*time.Millisecond)
	conn, _ := db.Conn(context.Background())
	defer conn.Close()
	for i := 0; i < 40; i++ {
		if port := whoAnswers(t, conn, "SELECT @@port"); port == 3312 {
			t.Fatalf("the lagging replica served a read %s after passing max_replica_lag", time.Since(behindAt))
		}
	}
	rootSQL(t, "main-r2", "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE")
	caughtUp := time.Now()
	for {
		if whoAnswers(t, conn, "SELECT @@port") == 3312 {
			t.Logf("back in rotation %s after the delay was lifted", time.Since(caughtUp))
			return
		}
		if time.Since(caughtUp) > 10*time.Second {
			t.Fatal("the replica did not return to rotation after catching up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
