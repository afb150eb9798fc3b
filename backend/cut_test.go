package backend

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend/backendtest"
	"github.com/shardgate/shardgate/wire"
)

// Issue 13 item 5: statements in flight on a server that left rotation
// are cut at once instead of waiting for the read timeout.

var testWhy = &LeftRotationError{Server: "replica main (127.0.0.1:1)", Reason: "health check failed: i/o timeout"}

// readAsync starts a read on c, as a statement waiting for its answer
// does, and returns where its error arrives.
func readAsync(c *Conn) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := c.ReadPacket()
		ch <- err
	}()
	return ch
}

func waitErr(t *testing.T, ch <-chan error, within time.Duration, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(within):
		t.Fatalf("%s still waiting %s after the cut", what, within)
		return nil
	}
}

// peerClosed reports whether the other end of a pipe sees the connection
// closed.
func peerClosed(peer net.Conn) bool {
	peer.SetReadDeadline(time.Now().Add(time.Second))
	_, err := peer.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe)
}

func wantCut(t *testing.T, err error) {
	t.Helper()
	var lr *LeftRotationError
	if !errors.As(err, &lr) {
		t.Fatalf("read ended with %v (%T), want a *LeftRotationError", err, err)
	}
	if lr.Server != testWhy.Server || lr.Reason != testWhy.Reason || lr.Err == nil {
		t.Fatalf("cut error %+v does not carry the server, the reason and the read's own error", lr)
	}
}

// However a connection was borrowed, a Cut ends the read waiting on it at
// once with a *LeftRotationError, and giving it back frees its slot.
func TestCutEndsReadsInFlight(t *testing.T) {
	cases := []struct {
		name   string
		borrow func(t *testing.T, p *Pool) *Conn
	}{
		{"taken idle by Get", func(t *testing.T, p *Pool) *Conn {
			c, _ := pipeConn(t)
			p.idle, p.open = []*Conn{c}, 1
			got, err := p.Get(false, 0)
			if err != nil || got != c {
				t.Fatalf("Get: %v", err)
			}
			return got
		}},
		{"reclaimed for ROW_COUNT()", func(t *testing.T, p *Pool) *Conn {
			c, _ := pipeConn(t)
			c.uses = 3
			p.idle, p.open = []*Conn{c}, 1
			if !p.Reclaim(c, 3) {
				t.Fatal("Reclaim refused an untouched connection")
			}
			return c
		}},
		{"handed over to a waiter", func(t *testing.T, p *Pool) *Conn {
			c, _ := pipeConn(t)
			p.idle, p.open = []*Conn{c}, 1
			first, err := p.Get(false, 0)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan *Conn, 1)
			go func() {
				c, err := p.Get(false, 0) // the pool is full: waits
				if err != nil {
					t.Error(err)
				}
				got <- c
			}()
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				p.mu.Lock()
				n := len(p.waiters)
				p.mu.Unlock()
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the second Get never waited")
				}
			}
			p.Put(first)
			return <-got
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := NewPool("127.0.0.1:1", PoolConfig{MaxOpen: 1, MaxIdle: 1, WaitTimeout: 10 * time.Second})
			conn := c.borrow(t, p)
			read := readAsync(conn)
			if n := p.Cut(testWhy); n != 1 {
				t.Fatalf("cut %d connections, want the 1 borrowed", n)
			}
			wantCut(t, waitErr(t, read, 2*time.Second, "the read"))
			if conn.LeftRotation() != testWhy {
				t.Error("the connection does not say why it was cut")
			}
			p.Discard(conn)
			if open, idle := p.Stats(); open != 0 || idle != 0 {
				t.Errorf("after Discard: open %d idle %d, want 0 and 0", open, idle)
			}
			if p.borrowed.head != nil {
				t.Error("a discarded connection is still listed as borrowed")
			}
			if n := p.CutConns.Load(); n != 1 {
				t.Errorf("CutConns %d, want 1", n)
			}
		})
	}
}

// Idle connections are not borrowed, so a Cut leaves them alone (the
// health check purges them), and connections borrowed after a Cut (the
// server came back) are not cut by it.
func TestCutSparesIdleAndLaterConnections(t *testing.T) {
	p := NewPool("127.0.0.1:1", PoolConfig{MaxOpen: 2, MaxIdle: 2})
	idle, peer := pipeConn(t)
	p.idle, p.open = []*Conn{idle}, 1
	if n := p.Cut(testWhy); n != 0 {
		t.Fatalf("cut %d connections with none borrowed", n)
	}
	got, err := p.Get(false, 0)
	if err != nil || got != idle {
		t.Fatalf("Get: %v", err)
	}
	if got.LeftRotation() != nil {
		t.Fatal("a connection borrowed after the cut is marked cut")
	}
	go func() {
		w := wire.NewConn(peer, 1024)
		w.WritePacket(wire.AppendOK(nil, wire.OK{}))
		w.Flush()
	}()
	if _, err := got.ReadPacket(); err != nil {
		t.Fatalf("the idle connection no longer works after a cut: %v", err)
	}
	p.Put(got)
	if open, n := p.Stats(); open != 1 || n != 1 {
		t.Fatalf("open %d idle %d, want the connection back in the pool", open, n)
	}
}

// A statement that ended just before the cut gives back a connection that
// is now closed: it must not be pooled.
func TestPutOfCutConnectionFreesItsSlot(t *testing.T) {
	p := NewPool("127.0.0.1:1", PoolConfig{MaxOpen: 1, MaxIdle: 1})
	c, peer := pipeConn(t)
	p.idle, p.open = []*Conn{c}, 1
	got, err := p.Get(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	p.Cut(testWhy)
	p.Put(got)
	if open, idle := p.Stats(); open != 0 || idle != 0 {
		t.Fatalf("open %d idle %d: a cut connection went back to the pool", open, idle)
	}
	if !peerClosed(peer) {
		t.Fatal("the cut connection is still open")
	}
	if p.borrowed.head != nil {
		t.Fatal("the connection is still listed as borrowed")
	}
}

// A login waiting on a frozen server is cut too, and the borrower hears
// "unreachable" (not sent: the statement may run elsewhere).
func TestCutReachesLoginInProgress(t *testing.T) {
	srv := backendtest.Start(t, nil)
	srv.Freeze()
	p := NewPool(srv.Addr(), PoolConfig{MaxOpen: 2, MaxIdle: 2, WaitTimeout: time.Second,
		Dial: DialConfig{ConnectTimeout: 30 * time.Second, ReadTimeout: 30 * time.Second}})
	done := make(chan error, 1)
	go func() {
		c, err := p.Get(false, 0)
		if c != nil {
			p.Discard(c)
		}
		done <- err
	}()
	select {
	case <-srv.Accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the pool never connected")
	}
	p.Cut(testWhy)
	err := waitErr(t, done, 2*time.Second, "the login")
	if !IsUnreachable(err) || !IsLeftRotation(err) || Sent(err) {
		t.Fatalf("Get ended with %v, want unreachable because the server left rotation", err)
	}
	if open, _ := p.Stats(); open != 0 {
		t.Fatalf("%d connections open after the failed login", open)
	}
}

// A connection whose dial began before a Cut is cut when it is linked; one
// whose dial began after is not.
func TestDialledAcrossCutIsCut(t *testing.T) {
	p := NewPool("127.0.0.1:1", PoolConfig{MaxOpen: 2, MaxIdle: 2})
	before := p.cuts
	p.Cut(testWhy)
	old, oldPeer := pipeConn(t)
	fresh, _ := pipeConn(t)
	p.open = 2
	p.linkDialled(old, before)
	p.linkDialled(fresh, p.cuts)
	if old.LeftRotation() != testWhy || !peerClosed(oldPeer) {
		t.Error("a connection dialled across the cut was not cut")
	}
	if fresh.LeftRotation() != nil {
		t.Error("a connection dialled after the cut was cut")
	}
}

// Borrowers and cuts at once (run with -race): every failure is a cut,
// and in the end nothing is listed as borrowed and every open connection
// is idle.
func TestCutRacesWithBorrowers(t *testing.T) {
	srv := backendtest.Start(t, nil)
	p := NewPool(srv.Addr(), PoolConfig{MaxOpen: 4, MaxIdle: 4, WaitTimeout: 10 * time.Second,
		Dial: DialConfig{ConnectTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second}})
	stop := make(chan struct{})
	cutterDone := make(chan struct{})
	go func() {
		defer close(cutterDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
				p.Cut(testWhy)
			}
		}
	}()
	var wg sync.WaitGroup
	var served, cut atomic.Int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				c, err := p.Get(false, 0)
				if err != nil {
					if !IsLeftRotation(err) {
						t.Errorf("Get: %v", err)
						return
					}
					cut.Add(1)
					continue
				}
				switch err := c.Ping(); {
				case err == nil:
					served.Add(1)
					p.Put(c)
				case IsLeftRotation(err):
					cut.Add(1)
					p.Discard(c)
				default:
					t.Errorf("Ping: %v", err)
					p.Discard(c)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-cutterDone
	t.Logf("%d pings answered, %d cut", served.Load(), cut.Load())
	if open, idle := p.Stats(); open != idle {
		t.Errorf("open %d, idle %d: connections lost track of", open, idle)
	}
	if p.borrowed.head != nil || p.InFlight.Load() != 0 {
		t.Errorf("borrowed list not empty (in flight %d)", p.InFlight.Load())
	}
	if cut.Load() == 0 || served.Load() == 0 {
		t.Error("the run did not mix cuts and answered pings")
	}
}

// Which failed health checks cut a backend's statements in flight: only a
// replica's that stopped answering.
func TestLeaveRotationCutsOnlyUnansweringReplicas(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	cases := []struct {
		name string
		role Role
		err  error
		cut  bool
	}{
		{"replica that stopped answering", RoleReplica, timeout, true},
		{"replica unreachable", RoleReplica, unreachable("127.0.0.1:2", syscall.ECONNREFUSED), true},
		{"replica whose connection broke", RoleReplica, io.EOF, true},
		{"lagging replica", RoleReplica, &lagError{lag: 10 * time.Second, max: 5 * time.Second}, false},
		{"replica with replication stopped", RoleReplica, replicationStopped("replication threads stopped (IO No, SQL Yes)"), false},
		{"replica answering an error", RoleReplica, wire.Errorf(mysql.ER_CON_COUNT_ERROR, "Too many connections"), false},
		{"primary that stopped answering", RolePrimary, timeout, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := NewCluster("main", "127.0.0.1:1", []string{"127.0.0.1:2"}, []int{1}, PoolConfig{MaxOpen: 2, MaxIdle: 2}, 0, nil)
			b := cl.Primary
			if c.role == RoleReplica {
				b = cl.Replicas[0]
			}
			conn, _ := pipeConn(t)
			b.idle, b.open = []*Conn{conn}, 1
			got, err := b.Get(false, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Discard(got)
			ch := &checker{b: b, timeout: time.Second, failures: 1}
			ch.fail(c.err)
			if b.Healthy() {
				t.Fatal("still in rotation after the failed check")
			}
			why := got.LeftRotation()
			if (why != nil) != c.cut {
				t.Fatalf("cut = %v, want %v", why != nil, c.cut)
			}
			if why != nil && (why.Server != b.Describe() || !strings.Contains(why.Reason, c.err.Error())) {
				t.Errorf("cut reason %+v does not name %s and %q", why, b.Describe(), c.err)
			}
		})
	}
}

// The whole path: a replica that freezes fails its health checks, leaves
// rotation after HealthFailures of them, and the read in flight on it
// ends then — not before it leaves, and not at the read timeout.
func TestFrozenReplicaCutsReadsInFlight(t *testing.T) {
	srv := backendtest.Start(t, nil)
	srv.Freeze()
	const interval, timeout = 20 * time.Millisecond, 200 * time.Millisecond
	cl := NewCluster("main", refusedAddr(t), []string{srv.Addr()}, []int{1}, PoolConfig{MaxOpen: 2, MaxIdle: 2}, 0, nil)
	cl.HealthTimeout, cl.HealthFailures = timeout, 2
	replica := cl.Replicas[0]
	conn, _ := pipeConn(t) // a read sent before the freeze: no answer comes
	replica.idle, replica.open = []*Conn{conn}, 1
	got, err := replica.Get(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Discard(got)
	read := readAsync(got)
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cl.RunHealth(ctx, interval) }()
	defer func() { cancel(); <-done }()

	err = waitErr(t, read, 20*timeout, "the read on the frozen replica")
	took := time.Since(start)
	if !IsLeftRotation(err) {
		t.Fatalf("the read ended with %v, want a cut", err)
	}
	if replica.Healthy() {
		t.Fatal("the read was cut while the replica was still in rotation")
	}
	if took < 2*timeout {
		t.Fatalf("cut after %s, before two checks could time out (%s each)", took, timeout)
	}
	t.Logf("cut %s after the first check began", took)
}
