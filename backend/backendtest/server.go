// Package backendtest plays MariaDB servers for tests, as net/http/httptest
// plays HTTP servers: enough of the protocol for the proxy's pool, health
// checks and simple reads, on a loopback port, and a switch that freezes a
// server the way SIGSTOP does. Tests of backend and of the packages above
// it use it; production code never imports it.
package backendtest

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// Answer answers one command (its byte and argument: a COM_QUERY's text)
// with the packets to send. An empty answer is an OK packet. A nil packet
// inside an answer freezes the server at that point: what came before it
// is flushed first (a server frozen in the middle of a result).
type Answer func(cmd byte, arg []byte) [][]byte

// Server is a fake MariaDB server. It accepts any login.
type Server struct {
	ln     net.Listener
	answer Answer

	mu     sync.Mutex
	conns  []net.Conn
	frozen bool
	thaw   chan struct{} // closed when a frozen server resumes
	closed bool

	// Accepted receives a value per accepted connection (dropped when
	// nobody reads them).
	Accepted chan struct{}
}

// Start starts a server answering with answer (nil: OK to everything); the
// test's cleanup stops it and closes every connection it accepted.
func Start(t testing.TB, answer Answer) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ln: ln, answer: answer, Accepted: make(chan struct{}, 1024)}
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Freeze stops the server answering, on the connections it has and on new
// ones, as SIGSTOP does: the kernel still completes TCP handshakes and
// takes in what clients send.
func (s *Server) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.frozen {
		s.frozen, s.thaw = true, make(chan struct{})
	}
}

// Thaw lets a frozen server go on (SIGCONT).
func (s *Server) Thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frozen {
		s.frozen = false
		close(s.thaw)
	}
}

// Frozen reports whether the server is frozen.
func (s *Server) Frozen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frozen
}

// Close stops the server and closes its connections.
func (s *Server) Close() {
	s.ln.Close()
	s.Thaw()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, c := range s.conns {
		c.Close()
	}
}

// waitThawed blocks while the server is frozen.
func (s *Server) waitThawed() {
	s.mu.Lock()
	for s.frozen {
		ch := s.thaw
		s.mu.Unlock()
		<-ch
		s.mu.Lock()
	}
	s.mu.Unlock()
}

func (s *Server) serve() {
	for id := uint32(1); ; id++ {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns = append(s.conns, nc)
		s.mu.Unlock()
		select {
		case s.Accepted <- struct{}{}:
		default:
		}
		go s.session(nc, id)
	}
}

// Greeting is a protocol-10 handshake as MariaDB 10.11 sends it.
func Greeting(id uint32) []byte {
	p := []byte{10}
	p = append(append(p, "5.5.5-10.11.14-MariaDB"...), 0)
	p = binary.LittleEndian.AppendUint32(p, id)
	p = append(append(p, "abcdefgh"...), 0)
	p = append(p, 0xff, 0xf7, 45, 2, 0, 0xff, 0x81, 21)
	p = append(p, make([]byte, 10)...)
	p = append(append(p, "ijklmnopqrst"...), 0)
	return append(append(p, "mysql_native_password"...), 0)
}

// OK is an OK packet.
func OK() []byte { return wire.AppendOK(nil, wire.OK{Status: mysql.SERVER_STATUS_AUTOCOMMIT}) }

func (s *Server) session(nc net.Conn, id uint32) {
	defer nc.Close()
	c := wire.NewConn(nc, 4096)
	s.waitThawed()
	c.WritePacket(Greeting(id))
	c.Flush()
	if _, err := c.ReadPacket(); err != nil {
		return
	}
	s.waitThawed()
	c.WritePacket(OK())
	c.Flush()
	for {
		c.ResetSequence()
		p, err := c.ReadPacket()
		if err != nil || len(p) == 0 || p[0] == mysql.COM_QUIT {
			return
		}
		s.waitThawed()
		if p[0] == mysql.COM_STMT_CLOSE {
			continue
		}
		var answer [][]byte
		if s.answer != nil {
			answer = s.answer(p[0], p[1:])
		}
		if len(answer) == 0 {
			answer = [][]byte{OK()}
		}
		for _, a := range answer {
			if a == nil {
				c.Flush()
				s.Freeze()
				s.waitThawed()
				continue
			}
			c.WritePacket(a)
		}
		if c.Flush() != nil {
			return
		}
	}
}

// Result is a text-protocol result set of string columns.
func Result(names []string, rows ...[]string) [][]byte {
	out := [][]byte{mysql.AppendLengthEncodedInteger(nil, uint64(len(names)))}
	for _, n := range names {
		out = append(out, wire.AppendColumn(nil, wire.Column{Name: n, OrgName: n, Charset: 45, Length: 255, Type: mysql.MYSQL_TYPE_VAR_STRING}))
	}
	out = append(out, wire.AppendEOF(nil, 0, mysql.SERVER_STATUS_AUTOCOMMIT))
	for _, r := range rows {
		var b []byte
		for _, v := range r {
			b = wire.AppendTextValue(b, []byte(v), false)
		}
		out = append(out, b)
	}
	return append(out, wire.AppendEOF(nil, 0, mysql.SERVER_STATUS_AUTOCOMMIT))
}
