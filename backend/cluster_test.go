package backend

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"
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
