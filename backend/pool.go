package backend

import (
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/logs"
	"github.com/shardgate/shardgate/wire"
)

// PoolConfig sizes a pool and says how its connections log in.
type PoolConfig struct {
	Dial        DialConfig
	MaxOpen     int
	MaxIdle     int
	IdleTimeout time.Duration
	WaitTimeout time.Duration
	// PingAfter is how long a connection may sit idle before it is pinged
	// on borrow.
	PingAfter time.Duration
	// PrimaryPingAfter replaces PingAfter on a primary when it is shorter
	// (DefaultPrimaryPingAfter when zero).
	PrimaryPingAfter time.Duration
}

// Pool holds the connections to one server. At most MaxOpen connections exist
// at any time, idle or in use; borrowers beyond that wait up to WaitTimeout.
type Pool struct {
	Addr string
	cfg  PoolConfig

	mu      sync.Mutex
	idle    []*Conn // most recently used last
	open    int
	waiters []chan *Conn // a nil *Conn means "a slot is free: dial"
	closed  bool

	// Counters for SHOW SHARDGATE BACKENDS and metrics.
	Reads, Writes atomic.Int64
	InFlight      atomic.Int64

	// version is the server's version number (VersionID) from the last
	// handshake, 0 before the first.
	version atomic.Int64

	// epoch counts purges (under mu). A connection dialled before the last
	// purge is not taken back: it belongs to a server that failed a check
	// or restarted since, so it is most likely dead.
	epoch uint64
	// Purges counts purges, for tests and SHOW SHARDGATE BACKENDS.
	Purges atomic.Int64
	// Waits counts the borrowers that found the pool full and waited,
	// WaitTimeouts those refused after pool.wait_timeout (metrics).
	Waits, WaitTimeouts atomic.Int64

	// exhausted logs statements refused because the pool stayed full:
	// the first at once, then one line per logs.Every with the count.
	exhausted *logs.Limiter

	// borrowed lists the connections lent out now (and those being
	// dialled for a borrower), under mu, so that Cut can reach statements
	// in flight. Linking and unlinking happen inside critical sections
	// Get and Put take anyway, so the list costs two pointer writes per
	// borrow (BenchmarkPoolGetPut measures it).
	borrowed connList
	// cuts counts Cut calls (under mu): a connection whose dial began
	// before one is cut as soon as it is linked.
	cuts uint64
	// lastCut is the reason of the last Cut (under mu).
	lastCut *LeftRotationError
	// CutConns counts connections closed by Cut, for tests and metrics.
	CutConns atomic.Int64

	// Misreturned counts connections given back (Put or Discard) while
	// already idle in the pool: a borrower returned one twice, or kept
	// using one it had returned. Each is closed (see misreturned); any
	// count is a proxy defect, which the integration tests fail on.
	Misreturned atomic.Int64
	// misuse logs those, at most one line per logs.Every.
	misuse *logs.Limiter
}

// connList is an intrusive doubly linked list of connections; a pool's
// mu guards it and the links in its connections.
type connList struct{ head *Conn }

func (l *connList) add(c *Conn) {
	c.prev, c.next, c.listed = nil, l.head, true
	if l.head != nil {
		l.head.prev = c
	}
	l.head = c
}

func (l *connList) remove(c *Conn) {
	if !c.listed {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	c.prev, c.next, c.listed = nil, nil, false
}

// ServerVersion is the version number of the server as its last handshake
// gave it (major*10000 + minor*100 + patch, e.g. 101119), 0 while no
// connection has been made.
func (p *Pool) ServerVersion() int { return int(p.version.Load()) }

// noteVersion records the version a handshake announced.
func (p *Pool) noteVersion(c *Conn) {
	if v := VersionID(c.Version); v > 0 {
		p.version.Store(int64(v))
	}
}

// NewPool creates an empty pool; connections are dialled on demand.
func NewPool(addr string, cfg PoolConfig) *Pool { return newPool(addr, cfg, nil) }

func newPool(addr string, cfg PoolConfig, log *slog.Logger) *Pool {
	return &Pool{Addr: addr, cfg: cfg, exhausted: logs.NewLimiter(log, logs.Every), misuse: logs.NewLimiter(log, logs.Every)}
}

// Stats returns the number of open and idle connections.
func (p *Pool) Stats() (open, idle int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open, len(p.idle)
}

// Get borrows a connection for owner (a session id). foundRows selects
// connections that report matched rather than changed rows, as the client
// asked in its handshake. The owner's own reserved connection comes first,
// then unreserved ones, then a new one, and others' reserved ones only when
// the pool is full.
func (p *Pool) Get(foundRows bool, owner uint64) (*Conn, error) {
	return p.get(foundRows, owner, true)
}

func (p *Pool) get(foundRows bool, owner uint64, wait bool) (*Conn, error) {
	for {
		c, dial, err := p.acquireOrWait(foundRows, owner, wait)
		if err != nil {
			return nil, err
		}
		if dial {
			return p.dial(foundRows)
		}
		if c.cut.Load() != nil {
			// Cut while handed over from another borrower.
			p.discard(c)
			continue
		}
		if p.needsPing(c) {
			if err := c.Ping(); err != nil {
				p.discard(c)
				continue
			}
		}
		p.InFlight.Add(1)
		return c, nil
	}
}

// Spare reports whether the pool could lend n connections at once, idle
// or dialled, without waiting for one to come back. Another borrower may
// take them the next moment: it is a hint for a caller that would
// otherwise wait for itself, not a reservation.
func (p *Pool) Spare(n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed && len(p.idle)+p.cfg.MaxOpen-p.open >= n
}

// dial makes a new connection in a slot the caller holds. The connection
// is linked into borrowed before its login, so that Cut reaches a login
// waiting on a frozen server too.
func (p *Pool) dial(foundRows bool) (*Conn, error) {
	cfg := p.cfg.Dial
	cfg.FoundRows = foundRows
	p.mu.Lock()
	epoch, cuts := p.epoch, p.cuts
	p.mu.Unlock()
	var linked *Conn
	c, err := dial(p.Addr, cfg, func(c *Conn) {
		linked = c
		p.linkDialled(c, cuts)
	})
	if err != nil {
		p.release(linked)
		return nil, err
	}
	// The epoch from before the dial: a purge during it may be about
	// the server this connection reached.
	c.epoch = epoch
	p.noteVersion(c)
	p.InFlight.Add(1)
	return c, nil
}

// needsPing reports an idle connection the server may have closed since:
// idle longer than PingAfter, or than half the wait_timeout a client set
// on it (a client's SET wait_timeout travels with its session).
func (p *Pool) needsPing(c *Conn) bool {
	idle := time.Since(c.lastUsed)
	if p.cfg.PingAfter > 0 && idle > p.cfg.PingAfter {
		return true
	}
	wt := c.vars["wait_timeout"]
	if wt == "" {
		return false // the server's default, far above PingAfter
	}
	secs, err := strconv.Atoi(wt)
	return err == nil && idle > time.Duration(secs)*time.Second/2
}

// acquire returns an idle connection, or dial=true when the caller holds a
// slot and must dial one.
func (p *Pool) acquire(foundRows bool, owner uint64) (c *Conn, dial bool, err error) {
	return p.acquireOrWait(foundRows, owner, true)
}

// errWouldWait is acquireOrWait's answer, without wait, for a full pool.
var errWouldWait = errors.New("every connection is busy")

// TryGet is Get for work the proxy may leave undone (reading a definition
// it can do without): it never waits for a busy pool, answering nil,
// nil instead. A session that holds connections and waits for another
// of the same pool could otherwise wait for itself when every one is
// held by sessions doing the same.
func (p *Pool) TryGet(foundRows bool) (*Conn, error) {
	c, err := p.get(foundRows, 0, false)
	if errors.Is(err, errWouldWait) {
		return nil, nil
	}
	return c, err
}

func (p *Pool) acquireOrWait(foundRows bool, owner uint64, wait bool) (c *Conn, dial bool, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, unreachable(p.Addr, errPoolClosed)
	}
	if c := p.popIdle(foundRows, owner); c != nil {
		p.borrowed.add(c)
		p.mu.Unlock()
		return c, false, nil
	}
	if p.open < p.cfg.MaxOpen {
		p.open++
		p.mu.Unlock()
		return nil, true, nil
	}
	// Full: a connection kept for its last owner's ROW_COUNT() goes too.
	if c := p.popIdle(foundRows, anyOwner); c != nil {
		p.borrowed.add(c)
		p.mu.Unlock()
		return c, false, nil
	}
	// Full. An idle connection of the other kind can make room.
	if len(p.idle) > 0 {
		victim := p.idle[0]
		p.idle = p.idle[1:]
		victim.state = connGone
		p.mu.Unlock()
		victim.Close()
		return nil, true, nil
	}
	if !wait {
		p.mu.Unlock()
		return nil, false, errWouldWait
	}
	ch := make(chan *Conn, 1)
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	p.Waits.Add(1)

	timer := time.NewTimer(p.cfg.WaitTimeout)
	defer timer.Stop()
	select {
	case c := <-ch:
		return p.handed(c, foundRows)
	case <-timer.C:
	}
	p.mu.Lock()
	for i, w := range p.waiters {
		if w == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			p.WaitTimeouts.Add(1)
			p.exhausted.Log(slog.LevelWarn, "exhausted", "backend pool exhausted: a statement waited pool.wait_timeout for a connection and was refused (1040)",
				"max_open", p.cfg.MaxOpen, "wait_timeout", p.cfg.WaitTimeout.String())
			return nil, false, wire.Errorf(mysql.ER_CON_COUNT_ERROR,
				"shardgate: not sent, nothing ran (safe to retry): all %d connections to backend %s are busy (waited %s)", p.cfg.MaxOpen, p.Addr, p.cfg.WaitTimeout)
		}
	}
	p.mu.Unlock()
	// Handed a connection just as the wait ran out: take it.
	return p.handed(<-ch, foundRows)
}

// handed takes what handOff gave a waiter: a connection (still linked in
// borrowed), or nil for a slot to dial in.
func (p *Pool) handed(c *Conn, foundRows bool) (*Conn, bool, error) {
	if c == nil {
		return nil, true, nil
	}
	if c.foundRows != foundRows {
		p.mu.Lock()
		p.borrowed.remove(c)
		c.state = connGone
		p.mu.Unlock()
		c.Close()
		return nil, true, nil
	}
	return c, false, nil
}

var errPoolClosed = errors.New("the pool is closed (the proxy is shutting down or reloading)")

// anyOwner lets popIdle take connections reserved for anyone.
const anyOwner = ^uint64(0)

// reservation is how long an idle connection stays kept for its last owner:
// long enough for a ROW_COUNT() right after the statement, short enough that
// connections of clients that left are soon everyone's again.
const reservation = time.Second

// popIdle takes an idle connection of the wanted kind: owner's own reserved
// one, else the most recently returned unreserved one (else, for anyOwner,
// the one reserved longest ago).
func (p *Pool) popIdle(foundRows bool, owner uint64) *Conn {
	pick := -1
	now := time.Now()
	for i := len(p.idle) - 1; i >= 0; i-- {
		c := p.idle[i]
		if c.foundRows != foundRows {
			continue
		}
		if c.ReservedFor == owner && owner != 0 {
			pick = i
			break
		}
		free := c.ReservedFor == 0 || now.Sub(c.lastUsed) > reservation
		if pick < 0 && free {
			pick = i
		}
	}
	if pick < 0 && owner == anyOwner {
		for i, c := range p.idle {
			if c.foundRows == foundRows {
				pick = i
				break
			}
		}
	}
	if pick < 0 {
		return nil
	}
	c := p.idle[pick]
	p.idle = append(p.idle[:pick], p.idle[pick+1:]...)
	c.ReservedFor, c.state = 0, connLent
	return c
}

// Put returns a healthy connection. A connection whose state the proxy no
// longer knows is reset first; one that fails that is closed.
func (p *Pool) Put(c *Conn) {
	if p.misreturned(c, "Put") {
		return
	}
	p.InFlight.Add(-1)
	if c.Dirty {
		if err := c.Reset(); err != nil {
			p.discard(c)
			return
		}
	}
	p.mu.Lock()
	// Cut is decided under mu too: a connection is either still listed
	// when Cut runs, and closed by it, or back here first and checked.
	if c.epoch != p.epoch || c.cut.Load() != nil {
		p.mu.Unlock()
		p.discard(c)
		return
	}
	if p.handOff(c) {
		return // still borrowed, by the waiter now
	}
	p.borrowed.remove(c)
	if p.closed || len(p.idle) >= p.cfg.MaxIdle {
		p.open--
		c.state = connGone
		p.mu.Unlock()
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
	c.state = connIdle
	p.mu.Unlock()
}

// misreturned catches a connection given back that is not lent: idle in
// the pool, or closed by it, already. Its borrower returned it before (the
// caller is the second return of one borrow), so two holders believe they
// own it. An idle one left in the pool could be lent to one session while
// the other still uses it, mixing their statements and results: it is
// taken out and closed (whatever it holds is lost with it, as with any
// broken connection). A closed one's slot is not freed twice. Either is
// logged and counted. The check costs a lock the return takes anyway.
//
// It cannot catch a late return of a connection that another borrower
// took from the pool meanwhile: the pool cannot tell the two holders
// apart. Borrowers must return each borrow exactly once.
func (p *Pool) misreturned(c *Conn, how string) bool {
	p.mu.Lock()
	switch c.state {
	case connLent:
		p.mu.Unlock()
		return false
	case connIdle:
		for i, idle := range p.idle {
			if idle == c {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				break
			}
		}
		c.state = connGone
		p.open--
	}
	p.mu.Unlock()
	c.Close()
	p.Misreturned.Add(1)
	if p.misuse != nil {
		p.misuse.Log(slog.LevelError, "misreturned", "proxy defect: a backend connection was given back to its pool twice; it was closed so that no two sessions share it",
			"addr", p.Addr, "call", how, "thread_id", c.ThreadID)
	}
	return true
}

// Reclaim takes back an idle connection that has sent exactly uses commands,
// that is one nobody used since its owner returned it. Statements such as
// ROW_COUNT() need the connection the previous statement ran on.
func (p *Pool) Reclaim(c *Conn, uses uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, idle := range p.idle {
		if idle == c && c.uses == uses {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			p.borrowed.add(c)
			c.ReservedFor, c.state = 0, connLent
			p.InFlight.Add(1)
			return true
		}
	}
	return false
}

// Discard closes a broken borrowed connection and frees its slot.
func (p *Pool) Discard(c *Conn) {
	if p.misreturned(c, "Discard") {
		return
	}
	p.InFlight.Add(-1)
	p.discard(c)
}

func (p *Pool) discard(c *Conn) {
	c.Close()
	p.release(c)
}

// release frees the slot of c, a borrowed connection now closed (nil when
// the slot held none): a waiter may dial in its place.
func (p *Pool) release(c *Conn) {
	p.mu.Lock()
	if c != nil {
		p.borrowed.remove(c)
		c.state = connGone
	}
	if p.handOff(nil) {
		return
	}
	p.open--
	p.mu.Unlock()
}

// handOff gives c (nil: a free slot to dial in) to the longest waiter, if
// any. Called with p.mu held; it unlocks it when it hands off.
func (p *Pool) handOff(c *Conn) bool {
	if len(p.waiters) == 0 {
		return false
	}
	w := p.waiters[0]
	p.waiters = p.waiters[1:]
	p.mu.Unlock()
	w <- c
	return true
}

// CloseIdle closes connections idle for longer than the idle timeout.
func (p *Pool) CloseIdle() {
	p.mu.Lock()
	var expired []*Conn
	kept := p.idle[:0]
	for _, c := range p.idle {
		if time.Since(c.lastUsed) > p.cfg.IdleTimeout {
			expired = append(expired, c)
			c.state = connGone
			p.open--
		} else {
			kept = append(kept, c)
		}
	}
	p.idle = kept
	p.mu.Unlock()
	for _, c := range expired {
		c.Close()
	}
}

// CloseAllIdle closes every idle connection.
func (p *Pool) CloseAllIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	for _, c := range idle {
		c.state = connGone
	}
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// Purge forgets every connection made so far: idle ones are closed now,
// borrowed ones when they come back. Called when the server failed a
// health check, restarted, or broke a connection: its old connections are
// most likely dead, and a statement must not be the one to find out.
func (p *Pool) Purge() {
	p.mu.Lock()
	p.epoch++
	p.mu.Unlock()
	p.Purges.Add(1)
	p.CloseAllIdle()
}

// linkDialled lists c among the borrowed connections; its dial began when
// the pool had counted cuts Cut calls. A Cut since then means the
// server left rotation while c was being made: it is most likely frozen
// too, so c is cut at once.
func (p *Pool) linkDialled(c *Conn, cuts uint64) {
	p.mu.Lock()
	p.borrowed.add(c)
	var why *LeftRotationError
	if p.cuts != cuts {
		why = p.lastCut
		c.cut.Store(why)
	}
	p.mu.Unlock()
	if why != nil {
		c.Close()
		p.CutConns.Add(1)
	}
}

// Cut closes every borrowed connection, and any being dialled now, because
// their server left rotation: a statement in flight on one fails at once
// with a *LeftRotationError carrying why, instead of waiting for the read
// timeout, and the caller decides whether it may run elsewhere.
// Put and Discard of a cut connection free its slot as usual. Only the
// Backend decides when to cut (see Backend.leaveRotation).
func (p *Pool) Cut(why *LeftRotationError) int {
	p.mu.Lock()
	p.cuts++
	p.lastCut = why
	var cut []*Conn
	for c := p.borrowed.head; c != nil; c = c.next {
		if c.cut.CompareAndSwap(nil, why) {
			cut = append(cut, c)
		}
	}
	p.mu.Unlock()
	// Closing unblocks the borrower's read or write at once; the socket
	// is safe to close from another goroutine. The borrower still owns
	// the Conn and gives it back.
	for _, c := range cut {
		c.Close()
	}
	p.CutConns.Add(int64(len(cut)))
	return len(cut)
}

// Close closes idle connections and refuses new borrowers; borrowed ones are
// closed when returned.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.CloseAllIdle()
}

// Kill stops a runaway statement on this server from a separate connection.
// The killed connection must not be reused.
func (p *Pool) Kill(threadID uint32) error { return p.kill("CONNECTION", threadID) }

// KillQuery stops the statement a connection is running on this server;
// the connection stays usable (its client gets error 1317).
func (p *Pool) KillQuery(threadID uint32) error { return p.kill("QUERY", threadID) }

func (p *Pool) kill(what string, threadID uint32) error {
	c, err := Dial(p.Addr, p.cfg.Dial)
	if err != nil {
		return err
	}
	defer c.Close()
	// A number needs no quoting in any sql_mode or character set.
	_, err = c.Exec("KILL " + what + " " + strconv.FormatUint(uint64(threadID), 10))
	return err
}
