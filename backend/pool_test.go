package backend

import (
	"testing"
	"time"
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
