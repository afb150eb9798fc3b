package integration

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Helpers that keep the suite honest on a shared machine: every child
// process has a deadline, every port is distinct, every name is the test's
// own, every wait polls for its condition instead of sleeping a fixed time.

// runCmd runs a child process with a deadline, so a hung sysbench, CLI,
// python or node fails its test instead of the whole `go test -timeout`.
func runCmd(t testing.TB, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	return runCmdEnv(t, timeout, nil, name, args...)
}

// runCmdEnv is runCmd with extra environment variables. The child gets a
// process group of its own, and the deadline kills the whole group (a
// script's sysbench too, not only the shell).
func runCmdEnv(t testing.TB, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second // grandchildren holding the pipes open
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s did not finish within %s: %w", name, timeout, ctx.Err())
	}
	return string(out), err
}

// handedOut remembers every port freePorts gave out in this process, so two
// calls never return the same port even after the listeners were closed.
var handedOut sync.Map

// freePorts returns n distinct loopback addresses nothing listens on. All n
// listeners are open at once (the kernel cannot give one port twice) and no
// port is ever handed out twice in one run. The port is free when this
// returns; the binary that gets it binds it within milliseconds.
func freePorts(t testing.TB, n int) []string {
	t.Helper()
	var addrs []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for len(addrs) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addr := ln.Addr().String()
		if _, dup := handedOut.LoadOrStore(addr, true); !dup {
			addrs = append(addrs, addr)
		}
	}
	return addrs
}

var nameSeq atomic.Int64

// uniqueName is a name no other run or test uses at the same time (lock
// names, query markers): the process id and a counter.
// databaseOnPrimaries creates a database named after prefix on the
// primaries of main, s0 and s1, dropped when the test ends, and returns
// its name: the schema of a test's own rules.
func databaseOnPrimaries(t testing.TB, prefix string) string {
	t.Helper()
	db := uniqueName(prefix)
	for _, addr := range []string{primaries["main"], primaries["s0"], primaries["s1"]} {
		if _, err := direct(t, addr, "").Exec("CREATE DATABASE " + db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { direct(t, addr, "").Exec("DROP DATABASE IF EXISTS " + db) })
	}
	return db
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), nameSeq.Add(1))
}

// freshTable drops and creates a table through db, and drops it again when
// the test ends, so no run sees another run's rows.
func freshTable(t testing.TB, db *sql.DB, name, columns string) {
	t.Helper()
	for _, q := range []string{"DROP TABLE IF EXISTS " + name, "CREATE TABLE " + name + " " + columns} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP TABLE IF EXISTS " + name); err != nil {
			t.Errorf("cleanup: DROP TABLE %s: %v", name, err)
		}
	})
}

// pin pins one client connection of db; the test fails if it cannot.
func pin(t testing.TB, db *sql.DB) *sql.Conn {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// scan runs a one-row query and fails the test on any error.
func scan(t testing.TB, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, q string, dest ...any) {
	t.Helper()
	if err := db.QueryRowContext(context.Background(), q).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// eventually polls cond until it holds or the deadline passes; then it fails
// with what. It replaces fixed sleeps: fast machines do not wait, slow ones
// get the whole deadline.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// envInt reads an integer setting; a value that is set but not an integer
// of at least min fails the test instead of silently using the default.
func envInt(t testing.TB, name string, def, min int64) int64 {
	t.Helper()
	s, ok := os.LookupEnv(name)
	if !ok || s == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < min {
		t.Fatalf("%s=%q: want an integer of at least %d", name, s, min)
	}
	return n
}

// replicasOf lists every primary of the local cluster with its replicas.
var replicasOf = map[string][]string{
	mainPrimary:      mainReplicas,
	"127.0.0.1:3320": {"127.0.0.1:3321"},
	"127.0.0.1:3330": {"127.0.0.1:3331"},
}

// syncReplicas waits until every replica has applied everything its primary
// had written when syncReplicas was called: reads through the proxy go to
// replicas (eventual consistency), so a test that just wrote must wait
// before it compares reads.
func syncReplicas(t testing.TB) {
	t.Helper()
	if err := syncReplicasErr(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func syncReplicasErr(timeout time.Duration) error {
	for primary, replicas := range replicasOf {
		db, err := sql.Open("mysql", "app:app@tcp("+primary+")/")
		if err != nil {
			return err
		}
		var pos string
		err = db.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos)
		db.Close()
		if err != nil {
			return fmt.Errorf("gtid position of %s: %w", primary, err)
		}
		for _, r := range replicas {
			// A replica whose SQL thread stopped on an error will never
			// get there: say why now rather than after the timeout.
			why, stopped := replicaProblems(r)
			if stopped && skipPhantomXAEnd(r, why) {
				why, stopped = replicaProblems(r)
			}
			if stopped {
				return fmt.Errorf("replica %s cannot reach %s of %s: %s", r, pos, primary, why)
			}
			db, err := sql.Open("mysql", "app:app@tcp("+r+")/")
			if err != nil {
				return err
			}
			var res sql.NullInt64
			err = db.QueryRow("SELECT MASTER_GTID_WAIT(?, ?)", pos, timeout.Seconds()).Scan(&res)
			db.Close()
			if err != nil {
				return fmt.Errorf("MASTER_GTID_WAIT on %s: %w", r, err)
			}
			if !res.Valid || res.Int64 != 0 {
				err := fmt.Errorf("replica %s did not reach %s of %s within %s", r, pos, primary, timeout)
				if why := replicationBroken(r); why != "" {
					err = fmt.Errorf("%w: %s", err, why)
				}
				return err
			}
		}
	}
	return nil
}

// skipPhantomXAEnd repairs the one replication error the tests
// themselves cause: a test that kills a primary mid-commit rolls back, on
// the replica, a prepared branch the restarted primary does not list
// (dropPhantomPrepares); when the primary's binlog later ends that branch
// after all (XA ROLLBACK or COMMIT of one of the proxy's xids, which
// begin 'sg:'), the replica's SQL thread stops on 1397 XAER_NOTA. The
// proxy never writes to a replica, so nothing else ends a branch there:
// the event is skipped and the SQL thread started again (the replica then
// lacks that transaction's rows, in the killed test's own database).
// true when it was.
func skipPhantomXAEnd(addr, why string) bool {
	name, ok := replicaNames[addr]
	if !ok || !strings.Contains(why, "error 1397") || !strings.Contains(why, "X'73673a") ||
		!(strings.Contains(why, "XA ROLLBACK") || strings.Contains(why, "XA COMMIT")) {
		return false
	}
	for i := 0; i < 20; i++ {
		fmt.Fprintf(os.Stderr, "integration: %s: skipping an XA end the test's own cleanup made unknown there: %s\n", name, why)
		out, err := exec.Command("mariadb", "--no-defaults", "-uroot", "--socket="+serverSocket(name), "-N", "-B",
			"-e", "STOP SLAVE SQL_THREAD; SET GLOBAL sql_slave_skip_counter = 1; START SLAVE SQL_THREAD").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "integration: skipping it on %s failed: %v %s\n", name, err, out)
			return false
		}
		time.Sleep(300 * time.Millisecond) // the SQL thread takes up the next events
		var stopped bool
		if why, stopped = replicaProblems(addr); !stopped || !strings.Contains(why, "error 1397") || !strings.Contains(why, "X'73673a") {
			return true
		}
	}
	return true
}

// ownLocalPorts lists the local ports of this process's TCP sockets. The
// in-process proxy's backend connections are among them, so a PROCESSLIST
// row whose HOST port is in this set is a connection of this test process,
// not of another run sharing the cluster.
func ownLocalPorts() (map[int]bool, error) {
	inodes := map[string]bool{}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	ports := map[int]bool{}
	for _, file := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		f, err := os.Open(file)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || !inodes[fields[9]] {
				continue
			}
			local := fields[1]
			port, err := strconv.ParseInt(local[strings.LastIndexByte(local, ':')+1:], 16, 32)
			if err == nil {
				ports[int(port)] = true
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return ports, nil
}

// ownBackendConnections counts the app connections on a server that come
// from this process, without the observer's own.
func ownBackendConnections(t testing.TB, observer *sql.DB) int {
	t.Helper()
	n, err := countOwnConnections(observer)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// countOwnConnections is ownBackendConnections for goroutines, which may
// not call t.Fatal.
func countOwnConnections(observer *sql.DB) (int, error) {
	ports, err := ownLocalPorts()
	if err != nil {
		return 0, err
	}
	rows, err := observer.Query("SELECT HOST FROM information_schema.PROCESSLIST WHERE USER='app' AND ID <> CONNECTION_ID()")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var host string
		if err := rows.Scan(&host); err != nil {
			return 0, err
		}
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			if port, err := strconv.Atoi(host[i+1:]); err == nil && ports[port] {
				n++
			}
		}
	}
	return n, rows.Err()
}
