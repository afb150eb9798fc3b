// Package protocol is the client-facing side of the proxy: it accepts MySQL
// connections, logs clients in and turns each command into a call on a
// router session.
package protocol

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/logs"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// Server accepts client connections.
type Server struct {
	router *router.Router
	log    *slog.Logger
	tls    *tls.Config
	// nofile is the descriptor limit when the server was made; the client
	// caps leave room under it for backends (ClientLimits).
	nofile uint64

	nextID   atomic.Uint32
	mu       sync.Mutex
	ln       net.Listener
	conns    map[*clientConn]struct{}
	preauth  int // connections in conns that have not logged in yet
	closing  bool
	sessions sync.WaitGroup
	// userConns counts each user's logged-in connections (max_connections).
	userConns map[string]int
	// guard counts failed logins per client host (max_connect_errors).
	guard *hostGuard

	// rsa is the key pair caching_sha2_password's full authentication
	// uses without TLS, made when first needed (see rsaKey).
	rsa struct {
		once sync.Once
		key  *rsaKeyPair
		err  error
	}

	// refused counts connections refused with 1040 before the greeting.
	refused atomic.Int64
	// refusals logs refused clients, by reason, at most one line per
	// reason per logs.Every.
	refusals *logs.Limiter
}

// NewServer serves clients with rt. It fails when the TLS certificate in
// the rules cannot be loaded.
func NewServer(r *rules.Rules, rt *router.Router, log *slog.Logger) (*Server, error) {
	log = logs.OrDiscard(log)
	s := &Server{router: rt, log: log, conns: map[*clientConn]struct{}{}, userConns: map[string]int{}, nofile: fdLimit(),
		refusals: logs.NewLimiter(log, logs.Every)}
	s.guard = newHostGuard(func(host string, failures int) {
		// Once per block: the next attempts are refused before a greeting
		// and not logged again.
		log.Warn("client host blocked after consecutive failed logins; FLUSH HOSTS (admin user) or connect_errors_timeout unblocks it",
			"host", host, "failures", failures, "timeout", s.currentRules().ConnectErrorsTimeout.String())
		rt.Metrics.HostBlocked()
	})
	rt.FlushHosts = s.guard.flush
	rt.Metrics.BlockedHosts(func() int { return s.guard.blockedCount(time.Now(), s.currentRules().ConnectErrorsTimeout) })
	rt.Metrics.Memory(rt.Memory())
	if r.TLS != nil {
		cert, err := tls.LoadX509KeyPair(r.TLS.Cert, r.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return s, nil
}

// currentRules are the rules of the router's current snapshot: what a new
// connection or command goes by.
func (s *Server) currentRules() *rules.Rules { return s.router.Snapshot().Rules }

// Limits are the client caps in force under the current rules.
func (s *Server) Limits() Limits { return ClientLimits(s.currentRules(), s.nofile) }

// FDLimit is the descriptor limit the caps were derived from.
func (s *Server) FDLimit() uint64 { return s.nofile }

// Serve accepts connections on ln until Shutdown. It returns early only
// when ln is closed by someone else: every other Accept failure (out of
// descriptors above all) is waited out, with backoff, while the clients
// already connected keep being served.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shuttingDown() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			delay = acceptBackoff(delay)
			// Logged when a streak starts, then once per second at most.
			if delay == acceptBackoffMin || delay == acceptBackoffMax {
				s.log.Warn("accept failed; retrying", "err", err, "retry_in", delay)
			}
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.admit(nc)
	}
}

// admit starts serving a new connection, or refuses it with 1040 when the
// caps are reached.
func (s *Server) admit(nc net.Conn) {
	r := s.currentRules()
	lim := ClientLimits(r, s.nofile)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if len(s.conns) >= lim.MaxConns || s.preauth >= lim.MaxPreauth {
		all, pre := len(s.conns), s.preauth
		s.mu.Unlock()
		s.refuse(nc, all, pre, lim)
		return
	}
	cc := &clientConn{srv: s, raw: nc, id: s.nextID.Add(1)}
	cc.Conn = wire.NewConn(&writeTimeoutConn{Conn: nc, timeout: r.NetWriteTimeout}, 4096)
	// Until login, packets are bounded by PreauthMaxPacket, not by
	// max_allowed_packet.
	cc.MaxPacket = PreauthMaxPacket
	s.conns[cc] = struct{}{}
	s.preauth++
	s.sessions.Add(1)
	s.mu.Unlock()
	go cc.serve()
}

// refuse sends 1040 "Too many connections" in place of the greeting and
// closes the socket.
func (s *Server) refuse(nc net.Conn, all, preauth int, lim Limits) {
	nc.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
	nc.Write(tooManyConnections())
	nc.Close()
	n := s.refused.Add(1)
	s.refusals.Log(slog.LevelWarn, "too many connections", "refusing clients: too many connections (1040)",
		"reason", "too many connections", "code", mysql.ER_CON_COUNT_ERROR, "refused_total", n,
		"connections", all, "max_connections", lim.MaxConns,
		"not_logged_in", preauth, "max_preauth_connections", lim.MaxPreauth)
}

// refusedLogin logs a client refused before or at login (blocked or
// unknown host, failed login, limits), at most one line per reason per
// logs.Every; the count of the others goes with the next line.
func (s *Server) refusedLogin(reason string, err error, host, user string) {
	code := uint16(0)
	msg := ""
	if err != nil {
		var me *mysql.MyError
		if errors.As(err, &me) {
			code, msg = me.Code, me.Message
		} else {
			msg = err.Error()
		}
	}
	s.refusals.Log(slog.LevelInfo, reason, "client refused", "reason", reason, "code", code, "err", msg, "host", host, "user", user)
}

// Clients is the number of client connections, logged in or not.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// loggedIn releases a connection's pre-login slot.
func (s *Server) loggedIn() {
	s.mu.Lock()
	s.preauth--
	s.mu.Unlock()
}

// Shutdown stops accepting, lets running statements finish and closes idle
// client connections. When ctx ends first, the remaining connections are
// closed mid-statement.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	if s.ln != nil {
		s.ln.Close()
	}
	for cc := range s.conns {
		cc.wakeIfIdle()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for cc := range s.conns {
			cc.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

func (s *Server) shuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// clientConn is one client: login, then a loop of command and response on
// this one goroutine (no hand-offs between goroutines on the hot path).
type clientConn struct {
	*wire.Conn
	srv *Server
	// raw is the accepted socket, under TLS and the write timeout.
	raw  net.Conn
	id   uint32
	busy atomic.Bool
	sess *router.Session
	// Prepared statements, by the ids the proxy gave them.
	stmts    map[uint32]*preparedStmt
	nextStmt uint32
}

// wakeIfIdle unblocks a connection waiting for its next command so that it
// notices the shutdown; a busy one notices after its statement.
func (cc *clientConn) wakeIfIdle() {
	if !cc.busy.Load() {
		cc.SetReadDeadline(time.Now())
	}
}

func (cc *clientConn) serve() {
	preauth := true
	defer func() {
		if r := recover(); r != nil {
			// Never let one client's input take the proxy down.
			cc.srv.log.Error("panic serving client", "conn", cc.id, "panic", r)
		}
		if cc.sess != nil {
			cc.sess.Close()
		}
		cc.Close()
		cc.srv.mu.Lock()
		delete(cc.srv.conns, cc)
		if preauth {
			cc.srv.preauth--
		}
		cc.srv.mu.Unlock()
		cc.srv.sessions.Done()
	}()
	r := cc.srv.currentRules()
	// A login must be over within connect_timeout, however the client
	// trickles its bytes: past it the socket is closed, which ends any read
	// or write of the login (TLS handshake included).
	expired := time.AfterFunc(r.ConnectTimeout, func() { cc.raw.Close() })
	user, hs, ok := cc.login()
	inTime := expired.Stop()
	if !inTime {
		host, _ := clientHost(cc.RemoteAddr())
		cc.srv.refusedLogin("connect_timeout", wire.Errorf(mysql.ER_HANDSHAKE_ERROR, "login not finished within connect_timeout %s", r.ConnectTimeout), host, hs.user)
	}
	if !ok {
		return
	}
	defer cc.srv.userGone(user.Name)
	if !inTime {
		return
	}
	preauth = false
	cc.srv.loggedIn()
	cc.MaxPacket = r.MaxAllowedPacket
	cc.srv.router.Metrics.ClientConnected()
	defer cc.srv.router.Metrics.ClientGone()
	cc.sess = cc.srv.router.NewSession(hs.db, hs.collation, hs.caps&mysql.CLIENT_FOUND_ROWS != 0)
	// From now on packets larger than wire.KeptBuffer are charged to the
	// connection's memory account while in use.
	cc.Mem = cc.sess.Memory()
	cc.sess.AllowMultiStatements(hs.caps&mysql.CLIENT_MULTI_STATEMENTS != 0)
	cc.sess.AllowLocalInfile(hs.caps&mysql.CLIENT_LOCAL_FILES != 0)
	cc.sess.SetInteractive(hs.caps&mysql.CLIENT_INTERACTIVE != 0)
	cc.sess.Identify(router.Client{ID: cc.id, User: hs.user, Host: cc.RemoteAddr().String(), Account: user, Close: func() { cc.Close() }})
	if err := cc.WritePacket(wire.AppendOK(nil, wire.OK{Status: cc.sess.Status()})); err != nil {
		return
	}
	if err := cc.Flush(); err != nil {
		return
	}
	for {
		// An idle client is closed after its wait_timeout (interactive
		// clients: interactive_timeout), as a server does.
		cc.SetReadDeadline(time.Now().Add(cc.sess.IdleTimeout()))
		if cc.srv.shuttingDown() {
			return
		}
		cc.ResetSequence()
		p, err := cc.ReadPacket()
		if err != nil {
			var refused *wire.PacketRefusedError
			if errors.As(err, &refused) {
				// The packet was read past, not kept: the connection goes on.
				if !cc.packetRefused(refused) {
					return
				}
				continue
			}
			if errors.Is(err, wire.ErrPacketTooLarge) {
				cc.WriteError(wire.Errorf(mysql.ER_NET_PACKET_TOO_LARGE, "Got a packet bigger than 'max_allowed_packet' bytes"))
			} else if !errors.Is(err, io.EOF) && !cc.srv.shuttingDown() {
				cc.srv.log.Debug("client read failed", "conn", cc.id, "err", err)
			}
			return
		}
		cc.busy.Store(true)
		keep := cc.dispatch(p)
		cc.busy.Store(false)
		if !keep {
			return
		}
	}
}

// packetRefused answers a command whose packet did not fit the memory
// budget: a COM_STMT_SEND_LONG_DATA gets no answer (its statement's
// EXECUTE fails), anything else gets 1041. false: the client is gone.
func (cc *clientConn) packetRefused(e *wire.PacketRefusedError) bool {
	if len(e.Head) > 0 && e.Head[0] == mysql.COM_STMT_SEND_LONG_DATA {
		cc.longDataRefused(e.Head, e.Err)
		return true
	}
	err := engine.MemoryError(mysql.ER_OUT_OF_RESOURCES, fmt.Sprintf("a packet of %s", memory.Format(int64(e.Size))),
		"send smaller statements or values", e.Err)
	cc.sess.NoteMemoryRefusal(err)
	return cc.reply(err)
}

// login admits a client: its host must not be blocked and must be one
// some user may come from, then its credentials must hold, its user must
// have a connection to spare and the database it asks for must be one it
// may use. Every refusal has been answered when ok is false.
func (cc *clientConn) login() (*rules.User, handshakeResponse, bool) {
	s := cc.srv
	r := s.currentRules()
	host, ip := clientHost(cc.RemoteAddr())
	if s.guard.blocked(host, time.Now(), r.ConnectErrorsTimeout) {
		// As MariaDB: the error instead of a greeting.
		err := wire.Errorf(mysql.ER_HOST_IS_BLOCKED, "Host '%s' is blocked because of many connection errors; unblock with 'mariadb-admin flush-hosts'", host)
		cc.WriteError(err)
		s.refusedLogin("host blocked", err, host, "")
		return nil, handshakeResponse{}, false
	}
	if !r.AnyUserAllowsHost(ip) {
		err := wire.Errorf(mysql.ER_HOST_NOT_PRIVILEGED, "Host '%s' is not allowed to connect to this MariaDB server", host)
		cc.WriteError(err)
		s.refusedLogin("host not allowed", err, host, "")
		return nil, handshakeResponse{}, false
	}
	hs, user, err := s.authenticate(cc.Conn, cc.id, host, ip)
	var le *loginError
	if errors.As(err, &le) {
		if le.counted {
			s.router.Metrics.LoginFailed()
			s.guard.fail(host, time.Now(), r.MaxConnectErrors, r.ConnectErrorsTimeout)
			// A constant pause before the answer, in this client's own
			// goroutine and holding no lock: guessing is slow per
			// connection, and other clients' logins do not wait.
			time.Sleep(r.LoginFailureDelay)
		}
		cc.WriteError(le.err)
		s.refusedLogin("login failed", le.err, host, hs.user)
		return nil, hs, false
	}
	if err != nil {
		if errors.Is(err, wire.ErrPacketTooLarge) {
			// Beyond PreauthMaxPacket; not counted against the host, so a
			// flood of them cannot get a shared address blocked.
			err := wire.Errorf(mysql.ER_NET_PACKET_TOO_LARGE, "Got a packet bigger than 'max_allowed_packet' bytes")
			cc.WriteError(err)
			s.refusedLogin("packet too large before login", err, host, "")
		} else if me := (*mysql.MyError)(nil); errors.As(err, &me) {
			// Answered already (TLS required); not a failed password.
			s.refusedLogin("login refused", me, host, hs.user)
		}
		return nil, hs, false
	}
	s.guard.succeed(host)
	if !s.userArrived(user) {
		err := wire.Errorf(mysql.ER_USER_LIMIT_REACHED, "User '%s' has exceeded the 'max_user_connections' resource (current value: %d)", user.Name, user.MaxConnections)
		cc.WriteError(err)
		s.refusedLogin("user connection limit", err, host, user.Name)
		return nil, hs, false
	}
	if hs.db != "" {
		if err := s.router.CheckDB(user, host, hs.db); err != nil {
			s.userGone(user.Name)
			cc.WriteError(err)
			s.refusedLogin("database denied", err, host, user.Name)
			return nil, hs, false
		}
	}
	return user, hs, true
}

// userArrived counts a logged-in connection of user, unless the user has
// all its max_connections already.
func (s *Server) userArrived(u *rules.User) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.MaxConnections > 0 && s.userConns[u.Name] >= u.MaxConnections {
		return false
	}
	s.userConns[u.Name]++
	return true
}

func (s *Server) userGone(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userConns[name]--; s.userConns[name] <= 0 {
		delete(s.userConns, name)
	}
}

// clientHost is the client's address without the port: the host that
// failed logins are counted for and that users' hosts patterns match.
func clientHost(a net.Addr) (string, net.IP) {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip := ta.IP
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		return ip.String(), ip
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		h = a.String()
	}
	return h, net.ParseIP(h)
}

// dispatch runs one command; false means close the connection.
func (cc *clientConn) dispatch(p []byte) bool {
	if len(p) == 0 {
		return cc.reply(wire.Errorf(mysql.ER_UNKNOWN_COM_ERROR, "Unknown command"))
	}
	cmd, arg := p[0], p[1:]
	switch cmd {
	case mysql.COM_QUIT:
		return false
	case mysql.COM_PROCESS_KILL:
		if len(arg) < 4 {
			return cc.reply(wire.Errorf(mysql.ER_MALFORMED_PACKET, "Malformed communication packet"))
		}
		id := uint64(arg[0]) | uint64(arg[1])<<8 | uint64(arg[2])<<16 | uint64(arg[3])<<24
		return cc.okOr(cc.sess.Kill(id, false))
	case mysql.COM_PING:
		return cc.ok()
	case mysql.COM_INIT_DB:
		return cc.okOr(cc.sess.InitDB(string(arg)))
	case mysql.COM_QUERY:
		return cc.reply(cc.sess.Query(string(arg), cc.Conn))
	case mysql.COM_FIELD_LIST:
		table, wildcard, _ := cutNUL(arg)
		return cc.reply(cc.sess.FieldList(table, wildcard, cc.Conn))
	case mysql.COM_RESET_CONNECTION:
		cc.sess.Reset()
		cc.dropStatements()
		return cc.ok()
	case mysql.COM_STMT_PREPARE:
		return cc.stmtPrepare(string(arg))
	case mysql.COM_STMT_EXECUTE:
		return cc.stmtExecute(arg)
	case mysql.COM_STMT_SEND_LONG_DATA:
		return cc.stmtLongData(arg)
	case mysql.COM_STMT_CLOSE:
		return cc.stmtClose(arg)
	case mysql.COM_STMT_RESET:
		return cc.stmtReset(arg)
	case mysql.COM_SET_OPTION:
		// 0 turns multi-statements on, 1 off; the answer is an EOF packet.
		if len(arg) < 2 || arg[0] > 1 {
			return cc.reply(wire.Errorf(mysql.ER_UNKNOWN_COM_ERROR, "Unknown command"))
		}
		cc.sess.AllowMultiStatements(arg[0] == 0)
		if cc.WritePacket(wire.AppendEOF(nil, 0, cc.sess.Status())) != nil {
			return false
		}
		return cc.Flush() == nil
	}
	return cc.reply(wire.Errorf(mysql.ER_UNKNOWN_COM_ERROR, "Unknown command"))
}

func cutNUL(b []byte) (string, string, bool) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), string(b[i+1:]), true
		}
	}
	return string(b), "", false
}

func (cc *clientConn) ok() bool {
	if err := cc.WritePacket(wire.AppendOK(nil, wire.OK{Status: cc.sess.Status()})); err != nil {
		return false
	}
	return cc.Flush() == nil
}

// okOr answers OK, or the error.
func (cc *clientConn) okOr(err error) bool {
	if err == nil {
		return cc.ok()
	}
	return cc.reply(err)
}

// reply finishes a command whose response, if any, is written already: an
// error becomes an ERR packet unless the client itself is gone.
func (cc *clientConn) reply(err error) bool {
	if err == nil {
		return true
	}
	var gone *router.ClientGoneError
	if errors.As(err, &gone) {
		return false
	}
	return cc.WriteError(err) == nil
}
