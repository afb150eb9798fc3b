package protocol

import (
	"sync"
	"time"
)

// hostGuard counts consecutive failed logins per client host, as MariaDB's
// host cache does for max_connect_errors: a host that reaches the limit is
// blocked (1129) until FLUSH HOSTS or until it has been blocked for the
// timeout; a successful login clears the host's count. The server owns one;
// nothing here is package state, so two proxies in one process (tests) do
// not share counts.
type hostGuard struct {
	mu    sync.Mutex
	hosts map[string]*hostFailures
	// onBlock is called once per block, outside the lock.
	onBlock func(host string, failures int)
}

type hostFailures struct {
	count   int
	last    time.Time // last failure
	blocked time.Time // zero: not blocked
}

// maxGuardedHosts bounds the table against an attacker with many source
// addresses (IPv6): when it is full, entries whose failures are older than
// the timeout go first, then unblocked ones.
const maxGuardedHosts = 1 << 16

func newHostGuard(onBlock func(string, int)) *hostGuard {
	return &hostGuard{hosts: map[string]*hostFailures{}, onBlock: onBlock}
}

// blocked reports whether host may not log in now. A block older than
// timeout is lifted (and the host starts counting from zero).
func (g *hostGuard) blocked(host string, now time.Time, timeout time.Duration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.hosts[host]
	if h == nil || h.blocked.IsZero() {
		return false
	}
	if now.Sub(h.blocked) >= timeout {
		delete(g.hosts, host)
		return false
	}
	return true
}

// fail records a failed login from host and reports whether this failure
// blocked it.
func (g *hostGuard) fail(host string, now time.Time, limit int, timeout time.Duration) bool {
	g.mu.Lock()
	h := g.hosts[host]
	if h == nil {
		if len(g.hosts) >= maxGuardedHosts {
			g.prune(now, timeout)
		}
		h = &hostFailures{}
		g.hosts[host] = h
	} else if h.blocked.IsZero() && now.Sub(h.last) >= timeout {
		h.count = 0 // failures long ago are not consecutive with this one
	}
	h.count++
	h.last = now
	newlyBlocked := h.blocked.IsZero() && h.count >= limit
	if newlyBlocked {
		h.blocked = now
	}
	count := h.count
	g.mu.Unlock()
	if newlyBlocked && g.onBlock != nil {
		g.onBlock(host, count)
	}
	return newlyBlocked
}

// succeed clears host's count after a successful login.
func (g *hostGuard) succeed(host string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if h := g.hosts[host]; h != nil && h.blocked.IsZero() {
		delete(g.hosts, host)
	}
}

// flush is FLUSH HOSTS: every count and block is forgotten.
func (g *hostGuard) flush() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hosts = map[string]*hostFailures{}
}

// blockedCount is how many hosts are blocked now (for the metrics).
func (g *hostGuard) blockedCount(now time.Time, timeout time.Duration) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, h := range g.hosts {
		if !h.blocked.IsZero() && now.Sub(h.blocked) < timeout {
			n++
		}
	}
	return n
}

// prune makes room: stale entries first, then every host that is not
// blocked (blocks are what matter most to keep).
func (g *hostGuard) prune(now time.Time, timeout time.Duration) {
	for host, h := range g.hosts {
		if now.Sub(h.last) >= timeout {
			delete(g.hosts, host)
		}
	}
	if len(g.hosts) < maxGuardedHosts {
		return
	}
	for host, h := range g.hosts {
		if h.blocked.IsZero() {
			delete(g.hosts, host)
		}
	}
}
