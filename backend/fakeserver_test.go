package backend

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// fakeServer is a loopback listener that plays a MariaDB server well
// enough for Dial and the pool: it greets, accepts any login, and answers
// every command with what answer returns for it (an OK packet when answer
// is nil or returns nothing). COM_QUIT closes; COM_STMT_CLOSE has no
// answer. A frozen one accepts connections and never answers (a
// SIGSTOPped server: the kernel still completes the TCP handshake).
type fakeServer struct {
	ln     net.Listener
	answer func(cmd byte, arg []byte) [][]byte
	frozen bool

	mu       sync.Mutex
	conns    []net.Conn
	accepted chan struct{} // one value per accepted connection
}

// newFakeServer starts a fake server; the test's cleanup stops it and
// closes every connection it accepted.
func newFakeServer(t testing.TB, frozen bool, answer func(cmd byte, arg []byte) [][]byte) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, answer: answer, frozen: frozen, accepted: make(chan struct{}, 1024)}
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *fakeServer) serve() {
	for id := uint32(1); ; id++ {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, nc)
		s.mu.Unlock()
		select {
		case s.accepted <- struct{}{}:
		default:
		}
		if !s.frozen {
			go s.session(nc, id)
		}
	}
}

// greeting is a protocol-10 handshake as MariaDB 10.11 sends it.
func greeting(id uint32) []byte {
	p := []byte{10}
	p = append(append(p, "5.5.5-10.11.14-MariaDB"...), 0)
	p = binary.LittleEndian.AppendUint32(p, id)
	p = append(append(p, "abcdefgh"...), 0)
	p = append(p, 0xff, 0xf7, 45, 2, 0, 0xff, 0x81, 21)
	p = append(p, make([]byte, 10)...)
	p = append(append(p, "ijklmnopqrst"...), 0)
	return append(append(p, "mysql_native_password"...), 0)
}

func (s *fakeServer) session(nc net.Conn, id uint32) {
	defer nc.Close()
	c := wire.NewConn(nc, 4096)
	ok := wire.AppendOK(nil, wire.OK{Status: mysql.SERVER_STATUS_AUTOCOMMIT})
	c.WritePacket(greeting(id))
	c.Flush()
	if _, err := c.ReadPacket(); err != nil {
		return
	}
	c.WritePacket(ok)
	c.Flush()
	for {
		c.ResetSequence()
		p, err := c.ReadPacket()
		if err != nil || len(p) == 0 || p[0] == mysql.COM_QUIT {
			return
		}
		if p[0] == mysql.COM_STMT_CLOSE {
			continue
		}
		var answer [][]byte
		if s.answer != nil {
			answer = s.answer(p[0], p[1:])
		}
		if len(answer) == 0 {
			answer = [][]byte{ok}
		}
		for _, a := range answer {
			c.WritePacket(a)
		}
		if c.Flush() != nil {
			return
		}
	}
}

// textResult is a text-protocol result set of string columns.
func textResult(names []string, rows ...[]string) [][]byte {
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
