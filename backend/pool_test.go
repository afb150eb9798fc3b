package backend

import (
	"net"
	"testing"
	"time"

	"github.com/shardgate/shardgate/wire"
)

func TestPopIdlePrefersOwnThenFreeThenOldestReserved(t *testing.T) {
	now := time.Now()
	own := &Conn{ReservedFor: 7, lastUsed: now}
	other := &Conn{ReservedFor: 9, lastUsed: now}
	stale := &Conn{ReservedFor: 9, lastUsed: now.Add(-2 * reservation)}
	free := &Conn{lastUsed: now}
	foundRows := &Conn{foundRows: true, lastUsed: now}
	cases := []struct {
		name  string
		idle  []*Conn
		owner uint64
		want  *Conn
	}{
		{"own reservation first", []*Conn{own, free, other}, 7, own},
		{"free before others' reservations", []*Conn{other, free}, 5, free},
		{"expired reservation is free", []*Conn{other, stale}, 5, stale},
		{"others' reservations only when full", []*Conn{other}, 5, nil},
		{"full pool takes the oldest", []*Conn{other, own}, anyOwner, other},
		{"kind must match", []*Conn{foundRows}, 5, nil},
	}
	for _, c := range cases {
		p := &Pool{idle: append([]*Conn{}, c.idle...)}
		if got := p.popIdle(false, c.owner); got != c.want {
			t.Errorf("%s: got %p, want %p", c.name, got, c.want)
		}
		if c.want != nil && len(p.idle) != len(c.idle)-1 {
			t.Errorf("%s: idle list not shortened", c.name)
		}
		// restore the reservations popIdle cleared for the next case
		own.ReservedFor, other.ReservedFor, stale.ReservedFor = 7, 9, 9
	}
}

func TestNeedsPing(t *testing.T) {
	p := NewPool("127.0.0.1:1", PoolConfig{PingAfter: 30 * time.Second})
	cases := []struct {
		idle time.Duration
		vars map[string]string
		want bool
	}{
		{time.Second, nil, false},
		{31 * time.Second, nil, true},
		{2 * time.Second, map[string]string{"wait_timeout": "2"}, true}, // a client set wait_timeout=2
		{500 * time.Millisecond, map[string]string{"wait_timeout": "2"}, false},
		{2 * time.Second, map[string]string{"wait_timeout": "DEFAULT"}, false},
	}
	for _, c := range cases {
		conn := &Conn{vars: c.vars, lastUsed: time.Now().Add(-c.idle)}
		if got := p.needsPing(conn); got != c.want {
			t.Errorf("idle %v, vars %v: %v, want %v", c.idle, c.vars, got, c.want)
		}
	}
}

// pipeConn is a connection whose other end the test holds; closing it is
// seen there as EOF.
func pipeConn(t testing.TB) (*Conn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return &Conn{Conn: wire.NewConn(a, 1024), lastUsed: time.Now(), vars: map[string]string{}}, b
}

// After a purge no connection made before it is handed out again: idle
// ones are closed at once, borrowed ones when they come back.
func TestPurgeForgetsEarlierConnections(t *testing.T) {
	p := NewPool("127.0.0.1:1", PoolConfig{MaxOpen: 4, MaxIdle: 4})
	idle, idlePeer := pipeConn(t)
	borrowed, _ := pipeConn(t)
	p.idle, p.open = []*Conn{idle}, 2
	p.InFlight.Add(1) // borrowed is out

	p.Purge()
	if open, n := p.Stats(); open != 1 || n != 0 {
		t.Fatalf("after purge: open %d idle %d, want 1 and 0", open, n)
	}
	idlePeer.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := idlePeer.Read(make([]byte, 1)); err == nil {
		t.Fatal("the purged idle connection is still open")
	}
	p.Put(borrowed)
	if open, n := p.Stats(); open != 0 || n != 0 {
		t.Fatalf("a connection borrowed before the purge came back: open %d idle %d", open, n)
	}
	// One made after the purge is kept.
	fresh, _ := pipeConn(t)
	fresh.epoch = p.epoch
	p.open++
	p.InFlight.Add(1)
	p.Put(fresh)
	if open, n := p.Stats(); open != 1 || n != 1 {
		t.Fatalf("a connection made after the purge was not kept: open %d idle %d", open, n)
	}
}

// A primary's connection idle for more than DefaultPrimaryPingAfter is checked
// before use, whatever the idle timeout.
func TestPrimaryPingsAfterASecond(t *testing.T) {
	c := NewCluster("c", "127.0.0.1:1", []string{"127.0.0.1:2"}, []int{1}, PoolConfig{PingAfter: 30 * time.Second}, 0, nil)
	stale := &Conn{lastUsed: time.Now().Add(-2 * DefaultPrimaryPingAfter)}
	if !c.Primary.needsPing(stale) {
		t.Error("primary: a connection idle for 2s is used without a ping")
	}
	if c.Replicas[0].needsPing(stale) {
		t.Error("replica: pinged before its PingAfter (reads are retried instead)")
	}
}

// pool.primary_ping_after moves the primary's threshold, never past the
// pool's own PingAfter.
func TestPrimaryPingAfterConfigured(t *testing.T) {
	for _, tc := range []struct {
		pingAfter, primary, idle time.Duration
		want                     bool
	}{
		{30 * time.Second, 10 * time.Second, 5 * time.Second, false},
		{30 * time.Second, 10 * time.Second, 11 * time.Second, true},
		{30 * time.Second, time.Minute, 31 * time.Second, true}, // the pool's PingAfter still applies
		{30 * time.Second, 0, 2 * time.Second, true},            // zero: the 1 s default
	} {
		c := NewCluster("c", "127.0.0.1:1", nil, nil, PoolConfig{PingAfter: tc.pingAfter, PrimaryPingAfter: tc.primary}, 0, nil)
		conn := &Conn{lastUsed: time.Now().Add(-tc.idle)}
		if got := c.Primary.needsPing(conn); got != tc.want {
			t.Errorf("PingAfter %s, PrimaryPingAfter %s, idle %s: ping %v, want %v", tc.pingAfter, tc.primary, tc.idle, got, tc.want)
		}
	}
}
