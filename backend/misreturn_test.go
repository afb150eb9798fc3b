package backend

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A connection given back twice (Put or Discard while it is idle in the
// pool, or closed by it, already) is never lent to two borrowers: the
// second return takes it out of the pool and closes it, its slot is freed
// once, and the defect is counted and logged. Without the check the pool
// holds it twice and lends it to the next two borrowers at once, or
// counts one connection fewer than are open.
func TestSecondReturnClosesInsteadOfSharing(t *testing.T) {
	cases := []struct {
		name          string
		first, second func(p *Pool, c *Conn)
	}{
		{"put twice", (*Pool).Put, (*Pool).Put},
		{"discarded after put", (*Pool).Put, (*Pool).Discard},
		{"discarded twice", (*Pool).Discard, (*Pool).Discard},
		{"put after discard", (*Pool).Discard, (*Pool).Put},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logged bytes.Buffer
			p := newPool("127.0.0.1:1", PoolConfig{MaxOpen: 4, MaxIdle: 4, WaitTimeout: 10 * time.Millisecond},
				slog.New(slog.NewTextHandler(&logged, nil)))
			c, peer := pipeConn(t)
			other, _ := pipeConn(t)
			p.idle, p.open = []*Conn{other}, 2 // c is borrowed, other idle
			p.InFlight.Add(1)

			tc.first(p, c)
			tc.second(p, c)

			if open, idle := p.Stats(); open != 1 || idle != 1 {
				t.Fatalf("after the second return: open %d idle %d, want 1 and 1 (c closed, other kept)", open, idle)
			}
			if got := p.InFlight.Load(); got != 0 {
				t.Errorf("in flight %d, want 0", got)
			}
			if got := p.Misreturned.Load(); got != 1 {
				t.Errorf("misreturned %d, want 1", got)
			}
			if !strings.Contains(logged.String(), "given back to its pool twice") {
				t.Errorf("not logged: %q", logged.String())
			}
			peer.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := peer.Read(make([]byte, 1)); err == nil {
				t.Error("the connection returned twice is still open")
			}
			// The pool lends other, then nothing it holds twice.
			first, _, err := p.acquire(false, 0)
			if err != nil || first != other {
				t.Fatalf("first borrow: %p, %v; want the other idle connection %p", first, err, other)
			}
			if again, dial, _ := p.acquire(false, 0); again == c || again == other || !dial {
				t.Fatalf("second borrow got %p (dial %v): a connection already lent", again, dial)
			}
		})
	}
}

// An ordinary borrow and return cycle is not mistaken for a second
// return: a connection popped from the idle list may be returned again.
func TestReturnAfterBorrowIsNotMisreturn(t *testing.T) {
	p := NewPool("127.0.0.1:1", PoolConfig{MaxOpen: 2, MaxIdle: 2})
	c, _ := pipeConn(t)
	p.open = 1
	p.InFlight.Add(1)
	for i := 0; i < 3; i++ {
		p.Put(c)
		got, dial, err := p.acquire(false, 0)
		if err != nil || dial || got != c {
			t.Fatalf("round %d: borrowed %p dial %v err %v, want %p", i, got, dial, err, c)
		}
		p.InFlight.Add(1)
	}
	if p.Misreturned.Load() != 0 {
		t.Fatalf("misreturned %d after ordinary borrows", p.Misreturned.Load())
	}
	// Reclaim and the idle sweep take connections out of the list too.
	p.Put(c)
	if !p.Reclaim(c, c.uses) {
		t.Fatal("reclaim failed")
	}
	p.Put(c)
	if p.Misreturned.Load() != 0 {
		t.Fatalf("misreturned %d after a reclaim", p.Misreturned.Load())
	}
}
