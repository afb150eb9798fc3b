package protocol

import (
	"math"
	"net"
	"syscall"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// What keeps hostile or careless clients from taking the proxy down: caps
// on connections (all, and those not logged in yet), room in the
// descriptor table for backends, a small packet limit before login, and a
// bound on writes to a client that stopped reading.

// PreauthMaxPacket bounds every packet a client sends before it has logged
// in. A handshake response is a few hundred bytes (user, 20- or 32-byte
// scramble, database, plugin name, connection attributes: drivers send
// well under 1 KiB of attributes); the 64 MiB max_allowed_packet applies
// only after login, so a socket that never logs in can make the proxy hold
// no more than this.
const PreauthMaxPacket = 16 << 10

// Descriptors kept for everything that is not a client connection.
const (
	// fdReservePerServer: besides the pool's max_open, a health check and
	// a KILL connection may be open to each backend server at once.
	fdReservePerServer = 2
	// fdReserveFixed: listeners, the metrics server and its scrapers,
	// standard streams, pprof, name resolution.
	fdReserveFixed = 64
)

// Limits are the client caps in force, after the descriptor limit.
type Limits struct {
	// MaxConns caps client connections, logged in or not.
	MaxConns int
	// MaxPreauth caps client connections that have not logged in.
	MaxPreauth int
	// Reserve is how many descriptors are kept for backends and the rest.
	Reserve uint64
	// FDBound says MaxConns is lower than max_connections because of the
	// descriptor limit.
	FDBound bool
}

// ClientLimits derives the client caps from the rules and the process's
// descriptor limit (RLIMIT_NOFILE), so that however many clients connect,
// every backend pool can still open max_open connections: clients only
// get the descriptors left after the backends' share. When the limit does
// not even cover that share, clients get half of it rather than none (and
// the start-up log says the limit is too low for the pools).
func ClientLimits(r *rules.Rules, nofile uint64) Limits {
	servers := 0
	for _, c := range r.Clusters {
		servers += 1 + len(c.Replicas)
	}
	l := Limits{MaxConns: r.MaxConnections, Reserve: uint64(servers*(r.Pool.MaxOpen+fdReservePerServer) + fdReserveFixed)}
	room := nofile / 2
	if nofile > l.Reserve {
		room = nofile - l.Reserve
	}
	if room < uint64(l.MaxConns) {
		l.MaxConns, l.FDBound = max(1, int(room)), true
	}
	l.MaxPreauth = min(r.MaxPreauthConnections, l.MaxConns)
	return l
}

// fdLimit is the process's current descriptor limit; unknown means no
// bound from it.
func fdLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return math.MaxUint64
	}
	return rl.Cur
}

// Accept failures are retried, never returned: running out of descriptors
// (EMFILE, ENFILE), buffers or a connection reset before it was accepted
// pass, and the clients already connected must keep their service. The
// waits are net/http's: 5 ms doubling up to 1 s.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptBackoff is the wait after a failed Accept that followed a wait of
// prev (0: the previous Accept succeeded).
func acceptBackoff(prev time.Duration) time.Duration {
	if prev <= 0 {
		return acceptBackoffMin
	}
	return min(2*prev, acceptBackoffMax)
}

// tooManyConnections is the first and only packet a refused client gets,
// in place of the greeting, as MariaDB sends it.
func tooManyConnections() []byte {
	payload := wire.ErrorPacket(wire.Errorf(mysql.ER_CON_COUNT_ERROR, "Too many connections"))
	p := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), 0}
	return append(p, payload...)
}

// refuseWriteTimeout bounds the write of the refusal: a fresh socket's
// send buffer is empty, so it never waits in practice, and the accept loop
// must not wait on a client whatever happens.
const refuseWriteTimeout = 100 * time.Millisecond

// writeTimeoutConn gives every write to a client net_write_timeout to make
// progress: a fresh deadline per chunk, so a slow client that keeps
// reading is never cut off, while one that stopped reading fails the write
// (the statement is then killed on its backend and the client closed, the
// path a client that leaves mid-result takes).
type writeTimeoutConn struct {
	net.Conn
	timeout time.Duration
}

// writeChunk is how much one deadline covers.
const writeChunk = 64 << 10

func (c *writeTimeoutConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), writeChunk)
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
			return written, err
		}
		m, err := c.Conn.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}
