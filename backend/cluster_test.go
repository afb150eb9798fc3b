package backend

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardgate/shardgate/backend/backendtest"
	"github.com/shardgate/shardgate/wire"
)

func TestPickReplicaByLoadPerWeight(t *testing.T) {
	c := NewCluster("main", "127.0.0.1:1", []string{"127.0.0.1:2", "127.0.0.1:3"}, []int{1, 3}, PoolConfig{}, 0, nil)
	light, heavy := c.Replicas[0], c.Replicas[1]
	counts := map[*Backend]int{}
	for i := 0; i < 400; i++ {
		b := c.PickReplica()
		counts[b]++
		b.InFlight.Add(1) // requests pile up: load per weight decides
	}
	if counts[heavy] != 3*counts[light] {
		t.Errorf("weights 1:3 got %d:%d requests", counts[light], counts[heavy])
	}
	heavy.healthy.Store(false)
	for i := 0; i < 10; i++ {
		if c.PickReplica() != light {
			t.Fatal("an unhealthy replica was picked")
		}
	}
	light.healthy.Store(false)
	if c.PickReplica() != nil {
		t.Fatal("no healthy replica, yet one was picked")
	}
}

// TestPickReplicaSkipsDrained: an operator's drain takes a healthy replica
// out of rotation, counting what it turned away, until cleared.
func TestPickReplicaSkipsDrained(t *testing.T) {
	c := NewCluster("main", "127.0.0.1:1", []string{"127.0.0.1:2", "127.0.0.1:3"}, []int{1, 1}, PoolConfig{}, 0, nil)
	a, b := c.Replicas[0], c.Replicas[1]
	var hits atomic.Int64
	a.SetDrain("drain by switch 1", &hits)
	if a.Drain() != "drain by switch 1" || b.Drain() != "" {
		t.Fatalf("drain reasons %q %q", a.Drain(), b.Drain())
	}
	for i := 0; i < 10; i++ {
		if c.PickReplica() != b {
			t.Fatal("a drained replica was picked")
		}
	}
	if hits.Load() == 0 {
		t.Fatal("the drain counted nothing it turned away")
	}
	b.SetDrain("drain by switch 2", nil)
	if c.PickReplica() != nil {
		t.Fatal("every replica drained, yet one was picked")
	}
	a.SetDrain("", nil)
	if c.PickReplica() != a || a.Drain() != "" {
		t.Fatal("a cleared drain kept the replica out")
	}
}

// refusedAddr is a loopback address nothing listens on: a port the kernel
// just handed out and that was closed again.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// One failed check must not take a backend out of rotation (a slow check on
// a loaded machine did); HealthFailures consecutive ones must.
func TestHealthNeedsConsecutiveFailures(t *testing.T) {
	for _, failures := range []int32{1, 2, 3} {
		c := NewCluster("main", refusedAddr(t), nil, nil, PoolConfig{}, 0, nil)
		ch := &checker{b: c.Primary, timeout: time.Second, failures: failures}
		for i := int32(1); i <= failures; i++ {
			ch.check()
			if got, want := c.Primary.Healthy(), i < failures; got != want {
				t.Fatalf("failures=%d: after %d failed checks healthy=%v, want %v", failures, i, got, want)
			}
		}
		if c.Primary.LastError() == "" {
			t.Fatalf("failures=%d: no error recorded", failures)
		}
	}
}

// A check slower than the interval but within the timeout is not a failure:
// a server that accepts but never answers (a frozen one) is only taken out
// once checks time out, HealthFailures times in a row.
func TestHealthTimeoutIsNotTheInterval(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	const interval, timeout = 20 * time.Millisecond, 300 * time.Millisecond
	c := NewCluster("main", ln.Addr().String(), nil, nil, PoolConfig{}, 0, nil)
	c.HealthTimeout, c.HealthFailures = timeout, 2
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.RunHealth(ctx, interval) }()
	defer func() { cancel(); <-done }()

	start := time.Now()
	// Many intervals pass while the first check waits; none counts as a
	// failure before the timeout (the first check cannot end before it).
	time.Sleep(timeout / 2)
	if n := c.Primary.fails.Load(); n != 0 || !c.Primary.Healthy() {
		t.Fatalf("after %s (%d intervals, timeout %s): %d failures, healthy=%v", time.Since(start), time.Since(start)/interval, timeout, n, c.Primary.Healthy())
	}
	for c.Primary.Healthy() {
		if time.Since(start) > 10*timeout {
			t.Fatalf("a frozen server still healthy after %s", time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if took := time.Since(start); took < 2*timeout {
		t.Fatalf("out of rotation after %s, before two checks could time out (%s each)", took, timeout)
	}
}

// The first failed check purges the pool, before the backend leaves
// rotation: connections made before it must not serve a statement.
func TestFailedCheckPurgesPool(t *testing.T) {
	c := NewCluster("main", refusedAddr(t), nil, nil, PoolConfig{MaxOpen: 2, MaxIdle: 2}, 0, nil)
	ch := &checker{b: c.Primary, timeout: time.Second, failures: 3}
	ch.check()
	if !c.Primary.Healthy() {
		t.Fatal("one failure took the backend out")
	}
	if n := c.Primary.Purges.Load(); n != 1 {
		t.Fatalf("%d purges after a failed check, want 1", n)
	}
}

func TestBootTime(t *testing.T) {
	now := time.Now()
	s := func(v string) *string { return &v }
	cols := []wire.Column{{Name: "Variable_name"}, {Name: "Value"}}
	cases := []struct {
		name string
		rows [][]*string
		want time.Time
		ok   bool
	}{
		{"uptime", [][]*string{{s("Uptime"), s("3600")}}, now.Add(-time.Hour), true},
		{"just started", [][]*string{{s("Uptime"), s("0")}}, now, true},
		{"no row (not told)", nil, time.Time{}, false},
		{"NULL", [][]*string{{s("Uptime"), nil}}, time.Time{}, false},
		{"not a number", [][]*string{{s("Uptime"), s("soon")}}, time.Time{}, false},
		{"negative", [][]*string{{s("Uptime"), s("-5")}}, time.Time{}, false},
		{"two rows", [][]*string{{s("Uptime"), s("1")}, {s("Uptime_since_flush_status"), s("1")}}, time.Time{}, false},
	}
	for _, c := range cases {
		got, ok := bootTime(&Result{Columns: cols, Rows: c.rows}, now)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("%s: %v %v, want %v %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestRestarted(t *testing.T) {
	boot := time.Now().Add(-time.Hour)
	cases := []struct {
		name   string
		before time.Time
		now    time.Time
		want   bool
	}{
		{"first reading", time.Time{}, boot, false},
		{"same boot", boot, boot, false},
		{"a second off (Uptime's resolution)", boot, boot.Add(time.Second), false},
		{"at the slack", boot, boot.Add(restartSlack), false},
		{"started again", boot, boot.Add(restartSlack + time.Millisecond), true},
		{"started an hour later", boot, boot.Add(time.Hour), true},
		{"another server, up for longer", boot, boot.Add(-time.Hour), true},
		{"a second earlier", boot, boot.Add(-time.Second), false},
	}
	for _, c := range cases {
		if got := restarted(c.before, c.now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// uptimeConn is a connection to a server that answers the checker's
// Uptime query once with uptime ("" answers no row).
func uptimeConn(t *testing.T, uptime string) *Conn {
	c, peer := pipeConn(t)
	go func() {
		srv := wire.NewConn(peer, 4096)
		p, err := srv.ReadPacket()
		if err != nil || !strings.Contains(string(p), "Uptime") {
			t.Errorf("expected the Uptime query, got %q %v", p, err)
			return
		}
		var rows [][]string
		if uptime != "" {
			rows = append(rows, []string{"Uptime", uptime})
		}
		for _, a := range backendtest.Result([]string{"Variable_name", "Value"}, rows...) {
			srv.WritePacket(a)
		}
		srv.Flush()
	}()
	return c
}

// The checker's login reads Uptime: a server that started again since the
// last login has its pool purged, one that did not keeps it.
func TestCheckerSeesRestartsThroughUptime(t *testing.T) {
	cases := []struct {
		name     string
		uptimes  []string // one per login, in a row
		restarts int64
	}{
		{"first login", []string{"1000"}, 0},
		{"same server", []string{"1000", "1000", "1001"}, 0},
		{"restarted", []string{"1000", "3"}, 1},
		{"another server, up for longer (a failover)", []string{"1000", "50000"}, 1},
		{"restarted twice", []string{"1000", "3", "1000"}, 2},
		{"not told in between", []string{"1000", "", "1000"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := NewCluster("main", "127.0.0.1:1", nil, nil, PoolConfig{MaxOpen: 2, MaxIdle: 2}, 0, nil)
			ch := &checker{b: cl.Primary}
			for _, up := range c.uptimes {
				if err := ch.noteBoot(uptimeConn(t, up)); err != nil {
					t.Fatal(err)
				}
			}
			if got := cl.Primary.Restarts.Load(); got != c.restarts {
				t.Errorf("%d restarts seen, want %d", got, c.restarts)
			}
			if got := cl.Primary.Purges.Load(); got != c.restarts {
				t.Errorf("%d purges, want one per restart (%d)", got, c.restarts)
			}
		})
	}
}
