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

	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// Server accepts client connections.
type Server struct {
	router *router.Router
	log    *slog.Logger
	tls    *tls.Config

	nextID   atomic.Uint32
	mu       sync.Mutex
	ln       net.Listener
	conns    map[*clientConn]struct{}
	closing  bool
	sessions sync.WaitGroup
}

// NewServer serves clients with rt. It fails when the TLS certificate in
// the rules cannot be loaded.
func NewServer(r *rules.Rules, rt *router.Router, log *slog.Logger) (*Server, error) {
	s := &Server{router: rt, log: log, conns: map[*clientConn]struct{}{}}
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

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		cc := &clientConn{srv: s, Conn: wire.NewConn(nc, 4096), id: s.nextID.Add(1)}
		cc.MaxPacket = s.currentRules().MaxAllowedPacket
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[cc] = struct{}{}
		s.sessions.Add(1)
		s.mu.Unlock()
		go cc.serve()
	}
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
	srv  *Server
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
		cc.srv.mu.Unlock()
		cc.srv.sessions.Done()
	}()
	cc.SetDeadline(time.Now().Add(10 * time.Second)) // a login must not take forever
	hs, err := cc.srv.authenticate(cc.Conn, cc.id)
	if err != nil {
		return
	}
	cc.SetDeadline(time.Time{})
	cc.srv.router.Metrics.ClientConnected()
	defer cc.srv.router.Metrics.ClientGone()
	cc.sess = cc.srv.router.NewSession(hs.db, hs.collation, hs.caps&mysql.CLIENT_FOUND_ROWS != 0)
	cc.sess.AllowMultiStatements(hs.caps&mysql.CLIENT_MULTI_STATEMENTS != 0)
	cc.sess.SetInteractive(hs.caps&mysql.CLIENT_INTERACTIVE != 0)
	cc.sess.Identify(router.Client{ID: cc.id, User: hs.user, Host: cc.RemoteAddr().String(), Close: func() { cc.Close() }})
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
		cc.stmts = nil
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
