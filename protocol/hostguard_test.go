package protocol

import (
	"testing"
	"time"
)

// The failure counter: consecutive failures per host, a success clears
// the host's count, the limit blocks, blocks end with FLUSH HOSTS or the
// timeout, and each block is reported once.
func TestHostGuard(t *testing.T) {
	const limit, timeout = 3, time.Minute
	t0 := time.Unix(1_700_000_000, 0)
	type step struct {
		op          string // fail, ok, flush, check
		host        string
		at          time.Duration // after t0
		wantBlocked bool          // fail: this failure blocks; check: blocked now
	}
	cases := []struct {
		name    string
		steps   []step
		reports int // onBlock calls
	}{
		{"limit blocks", []step{
			{"fail", "a", 0, false}, {"fail", "a", 1, false}, {"check", "a", 2, false},
			{"fail", "a", 3, true}, {"check", "a", 4, true}, {"check", "b", 4, false},
		}, 1},
		{"success clears the count", []step{
			{"fail", "a", 0, false}, {"fail", "a", 1, false}, {"ok", "a", 2, false},
			{"fail", "a", 3, false}, {"fail", "a", 4, false}, {"check", "a", 5, false},
		}, 0},
		{"hosts count apart", []step{
			{"fail", "a", 0, false}, {"fail", "b", 1, false}, {"fail", "a", 2, false},
			{"fail", "b", 3, false}, {"fail", "a", 4, true}, {"check", "b", 5, false},
		}, 1},
		{"flush unblocks", []step{
			{"fail", "a", 0, false}, {"fail", "a", 0, false}, {"fail", "a", 0, true},
			{"flush", "", 1, false}, {"check", "a", 2, false}, {"fail", "a", 3, false},
		}, 1},
		{"timeout unblocks", []step{
			{"fail", "a", 0, false}, {"fail", "a", 0, false}, {"fail", "a", 0, true},
			{"check", "a", timeout - 1, true}, {"check", "a", timeout, false},
			{"fail", "a", timeout + 1, false},
		}, 1},
		{"old failures are not consecutive", []step{
			{"fail", "a", 0, false}, {"fail", "a", 1, false},
			{"fail", "a", timeout + 2, false}, {"check", "a", timeout + 3, false},
		}, 0},
		{"a success does not unblock", []step{
			{"fail", "a", 0, false}, {"fail", "a", 0, false}, {"fail", "a", 0, true},
			{"ok", "a", 1, false}, {"check", "a", 2, true},
		}, 1},
		{"reported once", []step{
			{"fail", "a", 0, false}, {"fail", "a", 0, false}, {"fail", "a", 0, true},
			{"fail", "a", 1, false}, {"fail", "a", 2, false}, {"check", "a", 3, true},
		}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reports := 0
			g := newHostGuard(func(host string, n int) {
				reports++
				if n < limit {
					t.Errorf("reported %s after %d failures", host, n)
				}
			})
			for i, s := range c.steps {
				now := t0.Add(s.at)
				var got bool
				switch s.op {
				case "fail":
					got = g.fail(s.host, now, limit, timeout)
				case "ok":
					g.succeed(s.host)
					continue
				case "flush":
					g.flush()
					continue
				case "check":
					got = g.blocked(s.host, now, timeout)
				}
				if got != s.wantBlocked {
					t.Fatalf("step %d (%s %s at %s): got %v, want %v", i, s.op, s.host, s.at, got, s.wantBlocked)
				}
			}
			if reports != c.reports {
				t.Fatalf("%d block reports, want %d", reports, c.reports)
			}
		})
	}
}

// The table stays bounded when an attacker fails from many addresses.
func TestHostGuardBounded(t *testing.T) {
	g := newHostGuard(nil)
	now := time.Unix(1_700_000_000, 0)
	g.fail("blocked", now, 1, time.Hour)
	for i := 0; i < maxGuardedHosts+100; i++ {
		g.fail(string(rune(i+0x10000)), now, 1000, time.Hour)
	}
	if len(g.hosts) > maxGuardedHosts {
		t.Fatalf("%d hosts kept", len(g.hosts))
	}
	if !g.blocked("blocked", now, time.Hour) {
		t.Fatal("pruning dropped a blocked host")
	}
}
