package integration

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Issue 13 items 1, 2, 4 and 11: the proxy stays up and bounded under
// hostile load (connection floods, pre-login memory, clients that never
// read, SIGHUP).

// shardgateBinary builds cmd/shardgate once per test run.
var shardgateBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "shardgate-limits-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "shardgate")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/shardgate").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
})

// syncBuffer collects a child's log while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// binaryProxy is the shardgate binary running as a child process.
type binaryProxy struct {
	addr string
	file string // the rules file
	cmd  *exec.Cmd
	logs *syncBuffer
	exit chan error // receives the exit status when the process ends
}

// startBinaryProxy runs the binary with rulesYAML and flags; a non-empty
// nofile runs it under that descriptor limit (prlimit --nofile=N:N).
func startBinaryProxy(t *testing.T, rulesYAML string, nofile int, flags ...string) *binaryProxy {
	t.Helper()
	bin, err := shardgateBinary()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte(rulesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &binaryProxy{addr: freePorts(t, 1)[0], file: file, logs: &syncBuffer{}, exit: make(chan error, 1)}
	args := append([]string{bin, "--rules", file, "--listen", p.addr}, flags...)
	if nofile > 0 {
		// prlimit sets the limit and execs the binary: same pid.
		args = append([]string{"prlimit", fmt.Sprintf("--nofile=%d:%d", nofile, nofile)}, args...)
	}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exit <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exit
	})
	db := openDSN(t, "app:app@tcp("+p.addr+")/shop")
	eventually(t, 20*time.Second, "the binary accepting clients", func() bool {
		p.mustRun(t)
		return db.Ping() == nil
	})
	db.Close()
	return p
}

// mustRun fails the test when the process has exited.
func (p *binaryProxy) mustRun(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.exit:
		p.exit <- err
		t.Fatalf("the proxy exited: %v\n%s", err, p.logs.String())
	default:
	}
}

// fds counts the process's open descriptors.
func (p *binaryProxy) fds() int {
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
	return len(entries)
}

// login opens a fresh connection and runs one statement on it.
func loginAndQuery(addr string) error {
	db, err := sql.Open("mysql", "app:app@tcp("+addr+")/shop?timeout=5s")
	if err != nil {
		return err
	}
	defer db.Close()
	var one int
	return db.QueryRow("SELECT 1").Scan(&one)
}

// isTooMany says err is the server's 1040 "Too many connections".
func isTooMany(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1040 && string(me.SQLState[:]) == "08004" && me.Message == "Too many connections"
}

// Item 1: silent sockets far beyond the descriptor limit. The proxy caps
// them (1040 to the rest), never reaches the limit, keeps running, and a
// real client logs in once the flood stops.
func TestFloodBeyondFDLimit(t *testing.T) {
	const nofile, sockets = 1024, 3000
	// 7 servers × (16 + 2) + 64 = 190 descriptors kept for backends; the
	// long connect_timeout keeps the silent sockets in their pre-login
	// slots for the whole flood.
	p := startBinaryProxy(t, baseRules+"pool: {max_open: 16, max_idle: 16}\nconnect_timeout: 2m\n", nofile)
	if !strings.Contains(p.logs.String(), "max_connections=834") || !strings.Contains(p.logs.String(), "lowered_by_fd_limit=true") {
		t.Fatalf("start-up log does not show max_connections lowered to 1024-190=834:\n%s", p.logs.String())
	}
	var flood []net.Conn
	var mu sync.Mutex
	var dialFailures atomic.Int64
	var wg sync.WaitGroup
	peakFDs := 0
	for w := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < sockets; i += 30 {
				c, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
				if err != nil {
					dialFailures.Add(1)
					continue
				}
				mu.Lock()
				flood = append(flood, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range flood {
			c.Close()
		}
	})
	// While the flood holds its sockets: the process is up, below its
	// limit, and a real client is refused with 1040, not left hanging.
	eventually(t, 20*time.Second, "a real client refused with 1040 during the flood", func() bool {
		p.mustRun(t)
		peakFDs = max(peakFDs, p.fds())
		return isTooMany(loginAndQuery(p.addr))
	})
	p.mustRun(t)
	peakFDs = max(peakFDs, p.fds())
	if peakFDs >= nofile {
		t.Fatalf("the proxy reached its descriptor limit: %d open", peakFDs)
	}
	for _, c := range flood {
		c.Close()
	}
	since := time.Now()
	var err error
	eventually(t, 20*time.Second, "a real client logging in after the flood", func() bool {
		p.mustRun(t)
		err = loginAndQuery(p.addr)
		return err == nil
	})
	t.Logf("%d sockets (%d dials failed) against a %d-descriptor limit: proxy peak %d descriptors, up throughout; a client logged in %s after the flood stopped",
		len(flood), dialFailures.Load(), nofile, peakFDs, time.Since(since).Round(time.Millisecond))
}

// Item 2: sockets that never log in, each announcing a 16 MiB handshake
// packet and sending 1 MiB of it, make the proxy allocate nothing of
// that size: RSS grows by less than 32 MB for 200 of them.
func TestPreauthPacketsBoundMemory(t *testing.T) {
	const sockets, sent = 200, 1 << 20
	p := startBinaryProxy(t, baseRules, 0)
	pid := p.cmd.Process.Pid
	if err := loginAndQuery(p.addr); err != nil {
		t.Fatal(err)
	}
	base := rssKB(pid)
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if r := rssKB(pid); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	var conns []net.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	chunk := bytes.Repeat([]byte{'a'}, 64<<10)
	for range sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			readRaw(c) // the greeting
			announced := 1<<24 - 1
			if _, err := c.Write([]byte{byte(announced), byte(announced >> 8), byte(announced >> 16), 1}); err != nil {
				return
			}
			for n := 0; n < sent; n += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					return // the proxy closed it: what the fix does
				}
			}
			// The proxy answers 1153 and closes at once; one that waits
			// for the rest of the packet holds what it read meanwhile,
			// and the sampler sees it.
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			io.Copy(io.Discard, c)
		}()
	}
	wg.Wait()
	if r := rssKB(pid); r > peak.Load() {
		peak.Store(r)
	}
	close(stop)
	<-sampled
	p.mustRun(t)
	growthMB := float64(peak.Load()-base) / 1024
	t.Logf("%d sockets announcing 16 MiB before login, sending 1 MiB each: proxy RSS %d MB before, peak %d MB (growth %.1f MB)",
		len(conns), base/1024, peak.Load()/1024, growthMB)
	if growthMB >= 32 {
		t.Fatalf("RSS grew by %.1f MB, want < 32 MB", growthMB)
	}
	for _, c := range conns {
		c.Close()
	}
	if err := loginAndQuery(p.addr); err != nil {
		t.Fatalf("a real client after the pre-login flood: %v", err)
	}
}

// Item 2: a socket that does not finish logging in within connect_timeout
// is closed.
func TestPreauthConnectTimeout(t *testing.T) {
	const timeout = time.Second
	p := startProxy(t, "connect_timeout: 1s\n")
	start := time.Now() // before the proxy can have accepted the socket
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if g, err := readRaw(c); err != nil || g[0] != 10 {
		t.Fatalf("greeting: %x %v", g, err)
	}
	// Silence; the proxy must close well before the 10 s default.
	c.SetReadDeadline(time.Now().Add(8 * time.Second))
	_, err = io.Copy(io.Discard, c)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("the silent socket was not closed: %v", err)
	}
	if took < timeout {
		t.Fatalf("closed after %s, before connect_timeout %s", took, timeout)
	}
	t.Logf("silent socket closed %s after connecting (connect_timeout %s)", took.Round(time.Millisecond), timeout)
}

// Item 1: max_connections counts logged-in clients; the next one gets 1040
// 08004 "Too many connections", and a freed slot admits a client again.
func TestMaxConnections(t *testing.T) {
	p := startProxy(t, "max_connections: 3\n")
	db := p.open(t, "shop")
	db.SetMaxIdleConns(0) // a released connection is closed, freeing its slot
	var held []*sql.Conn
	for range 3 {
		c, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	err := loginAndQuery(p.addr)
	if !isTooMany(err) {
		t.Fatalf("fourth client: got %v, want 1040 08004 Too many connections", err)
	}
	held[0].Close()
	eventually(t, 10*time.Second, "a client admitted after one left", func() bool { return loginAndQuery(p.addr) == nil })
	for _, c := range held[1:] {
		c.Close()
	}
}

// stalledClient logs in on a socket with a tiny receive buffer and sends a
// query with a large result that it then never reads.
func stalledClient(t *testing.T, addr, query string) net.Conn {
	t.Helper()
	rd := &recordingDialer{}
	name := uniqueName("stalled")
	mysql.RegisterDialContext(name, func(ctx context.Context, addr string) (net.Conn, error) {
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
			return errors.Join(err, serr)
		}}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			rd.mu.Lock()
			rd.conns = append(rd.conns, c)
			rd.mu.Unlock()
		}
		return c, err
	})
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = "app", "app", name, addr, "shop"
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := connector.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	c := rd.last()
	writeRaw(t, c, 0, append([]byte{0x03}, query...)) // COM_QUERY, then no reading
	return c
}

// Item 4: clients that stop reading a large result are disconnected after
// net_write_timeout and their statements killed on the replicas, while
// another client's reads keep succeeding.
func TestWriteTimeoutStalledClients(t *testing.T) {
	const stalled = 8
	const writeTimeout = 2 * time.Second
	p := startProxy(t, "net_write_timeout: 2s\n")
	marker := uniqueName("stalled_marker")
	// 100 MB per client: more than every socket buffer between the
	// replica and the client holds, so the replica is still sending.
	query := "SELECT REPEAT('x', 1000) AS pad, seq, '" + marker + "' AS m FROM seq_1_to_100000"

	healthy := p.open(t, "shop")
	stopReads := make(chan struct{})
	readsDone := make(chan struct{})
	var reads, readErrs atomic.Int64
	var firstErr atomic.Value
	go func() {
		defer close(readsDone)
		for {
			select {
			case <-stopReads:
				return
			default:
			}
			var n int
			if err := healthy.QueryRow("SELECT COUNT(*) FROM seq_1_to_1000").Scan(&n); err != nil || n != 1000 {
				readErrs.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprint(n, err))
			}
			reads.Add(1)
		}
	}()

	var conns []net.Conn
	for range stalled {
		conns = append(conns, stalledClient(t, p.addr, query))
	}
	replicas := []*sql.DB{direct(t, mainReplicas[0], ""), direct(t, mainReplicas[1], "")}
	running := func() int {
		n := 0
		for _, r := range replicas {
			var k int
			scan(t, r, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%"+marker+"%' AND ID <> CONNECTION_ID()", &k)
			n += k
		}
		return n
	}
	eventually(t, 20*time.Second, "the stalled statements running on the replicas", func() bool { return running() == stalled })
	// The proxy kills them once its writes have made no progress for
	// net_write_timeout; without the bound they would run until the
	// replica's own net_write_timeout (60 s).
	gone := eventually(t, writeTimeout+20*time.Second, "the stalled statements killed on the replicas", func() bool { return running() == 0 })
	for i, c := range conns {
		// Disconnected: what the socket still holds drains, then EOF.
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("stalled client %d not disconnected: %v", i, err)
		}
	}
	close(stopReads)
	<-readsDone
	if readErrs.Load() > 0 {
		t.Fatalf("%d of %d reads of the healthy client failed while others stalled, first: %v", readErrs.Load(), reads.Load(), firstErr.Load())
	}
	if reads.Load() == 0 {
		t.Fatal("the healthy client read nothing")
	}
	t.Logf("%d stalled clients: statements killed %s after all were running (net_write_timeout %s); the healthy client's %d reads all succeeded",
		stalled, gone.Round(time.Millisecond), writeTimeout, reads.Load())
}

// Item 11 (and operations issue item 1): SIGHUP reloads the rules file;
// an invalid file is logged and refused, and the proxy keeps serving.
func TestSIGHUPReloadsRules(t *testing.T) {
	p := startBinaryProxy(t, baseRules, 0)
	db := openDSN(t, "app:app@tcp("+p.addr+")/shop")
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	hup := func(want string, count int) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, want, func() bool {
			p.mustRun(t)
			return strings.Count(p.logs.String(), want) == count
		})
	}
	hup("msg=\"rules reloaded\" version=2 source=SIGHUP", 1)
	added := strings.Replace(baseRules, "      orders: {cluster: s1}\n", "      orders: {cluster: s1}\n      sighup_added: {cluster: s1}\n", 1)
	if added == baseRules {
		t.Fatal("the base rules changed: no place to add a table")
	}
	if err := os.WriteFile(p.file, []byte(added), 0o644); err != nil {
		t.Fatal(err)
	}
	hup("msg=\"rules reloaded\" version=3 source=SIGHUP", 1)
	if !strings.Contains(p.logs.String(), "table shop.sighup_added added: on cluster s1") {
		t.Fatalf("the reload's log line does not name the added table:\n%s", p.logs.String())
	}
	if err := os.WriteFile(p.file, []byte(added+"schemas: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hup("SIGHUP: reload refused", 1)
	p.mustRun(t)
	// The connection from before the signals still works, and new ones do;
	// version 3 serves.
	rows := showRulesRows(t, db)
	if len(rows) != 3 || rows[2]["running"] != "yes" || rows[2]["source"] != "SIGHUP" {
		t.Fatalf("SHOW SHARDGATE RULES after the refused reload: %v", rows)
	}
	if err := loginAndQuery(p.addr); err != nil {
		t.Fatal(err)
	}
}
