package protocol

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// recConn is a client socket that records what the proxy writes.
type recConn struct {
	net.Conn
	out bytes.Buffer
}

func (c *recConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *recConn) Close() error                     { return nil }
func (c *recConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// answers is what the proxy wrote since the last call.
func (c *recConn) answers() []byte {
	b := bytes.Clone(c.out.Bytes())
	c.out.Reset()
	return b
}

// stmtClient is a logged-in connection holding one prepared statement
// (id 1, two parameters) that no backend is asked about: the tests stop
// before anything would run. Its only backend is a port nothing listens
// on, so a statement that ran after all would fail rather than reach a
// server.
func stmtClient(t *testing.T, extra string) (*clientConn, *recConn, *memory.Budget) {
	t.Helper()
	r, err := rules.Parse("test.yaml", []byte("users: [{name: app, password: app}]\nbackend: {user: app, password: app}\n"+
		"clusters: {main: {primary: 127.0.0.1:1}}\nschemas: {shop: {cluster: main}}\n"+extra))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(r, router.New(r, nil), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	sock := &recConn{}
	cc := &clientConn{srv: s, raw: sock, id: 1}
	cc.Conn = wire.NewConn(sock, 4096)
	cc.sess = s.router.NewSession("shop", 45, false)
	t.Cleanup(cc.sess.Close)
	cc.Mem = cc.sess.Memory()
	cc.stmts = map[uint32]*preparedStmt{1: {prep: &router.Prepared{SQL: "SELECT ?, ?", Offsets: []int{7, 10}}}}
	return cc, sock, s.router.Memory()
}

func longData(stmt uint32, param uint16, data []byte) []byte {
	p := binary.LittleEndian.AppendUint32(nil, stmt)
	p = binary.LittleEndian.AppendUint16(p, param)
	return append(p, data...)
}

// execute is COM_STMT_EXECUTE of statement 1 with both parameters BLOBs
// sent as long data (no values in the packet).
func execute() []byte {
	p := binary.LittleEndian.AppendUint32(nil, 1)
	p = append(p, 0, 1, 0, 0, 0) // flags, iterations
	p = append(p, 0, 1)          // NULL bitmap, new types
	p = binary.LittleEndian.AppendUint16(p, uint16(mysql.MYSQL_TYPE_BLOB))
	return binary.LittleEndian.AppendUint16(p, uint16(mysql.MYSQL_TYPE_BLOB))
}

// errOf decodes the one ERR packet the proxy wrote.
func errOf(t *testing.T, out []byte) *mysql.MyError {
	t.Helper()
	if len(out) < 5 || out[4] != 0xff {
		t.Fatalf("want an ERR packet, got %q", out[:min(len(out), 120)])
	}
	return wire.ParseError(out[4:])
}

// Long data is reserved from the connection's account as it grows; a
// parameter past max_allowed_packet fails its EXECUTE with 1153, long data
// past the connection's share or the process budget with 1041, naming the
// limit. The data is given back at once, later long data for that
// statement is ignored until the EXECUTE has answered, and the statement
// takes long data again after.
func TestLongDataBudget(t *testing.T) {
	const mib = 1 << 20
	chunk := bytes.Repeat([]byte{'v'}, mib)
	tests := []struct {
		name   string
		extra  string
		others int64 // held by another connection first
		chunks []uint16
		// held after the chunks (0 when refused), and the EXECUTE's error.
		held int64
		code uint16
		msg  string
	}{
		{"within the share", "memory_limit: 16M\nconnection_memory_limit: 8M\n", 0, []uint16{0, 0, 0, 1},
			memory.Bytes(4*mib) + memory.Bytes(mib), 0, ""},
		{"one parameter past max_allowed_packet", "max_allowed_packet: 2097152\n", 0, []uint16{0, 1, 0, 0, 1},
			0, mysql.ER_NET_PACKET_TOO_LARGE, "longer than 'max_allowed_packet' bytes (2097152, the proxy's max_allowed_packet)"},
		{"past connection_memory_limit", "memory_limit: 64M\nconnection_memory_limit: 4M\n", 0, []uint16{0, 0, 0, 1},
			0, mysql.ER_OUT_OF_RESOURCES, "would take this connection past connection_memory_limit (4 MiB"},
		{"the process budget held by others", "memory_limit: 16M\n", 13 * mib, []uint16{0, 1, 0},
			0, mysql.ER_OUT_OF_RESOURCES, "the proxy's memory_limit (16 MiB) is in use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc, sock, budget := stmtClient(t, tc.extra)
			other := hold(t, budget, tc.others)
			for _, param := range tc.chunks {
				if !cc.stmtLongData(longData(1, param, chunk)) {
					t.Fatal("long data closed the connection")
				}
			}
			if out := sock.answers(); len(out) != 0 {
				t.Fatalf("COM_STMT_SEND_LONG_DATA answered %q", out)
			}
			if got := cc.sess.Memory().Used(); got != tc.held {
				t.Fatalf("the connection holds %d, want %d", got, tc.held)
			}
			if tc.code == 0 {
				cc.stmtReset(binary.LittleEndian.AppendUint32(nil, 1))
				if got := cc.sess.Memory().Used(); got != 0 {
					t.Fatalf("after COM_STMT_RESET the connection holds %d", got)
				}
				return
			}
			if !cc.stmtExecute(execute()) {
				t.Fatal("EXECUTE closed the connection")
			}
			e := errOf(t, sock.answers())
			if e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("EXECUTE: %d %q, want %d containing %q", e.Code, e.Message, tc.code, tc.msg)
			}
			// Past the error the statement takes long data again.
			other()
			cc.stmtLongData(longData(1, 0, []byte("again")))
			if d := cc.stmts[1].long[0]; string(d) != "again" || cc.stmts[1].longErr != nil {
				t.Fatalf("long data after the error: %q, %v", d, cc.stmts[1].longErr)
			}
			if got, want := cc.sess.Memory().Used(), memory.Bytes(cap(cc.stmts[1].long[0])); got != want {
				t.Fatalf("the connection holds %d, want %d", got, want)
			}
		})
	}
}

// hold reserves n bytes of budget on other connections (each within its
// share); the returned function gives them back.
func hold(t *testing.T, budget *memory.Budget, n int64) func() {
	t.Helper()
	var accts []*memory.Account
	release := func() {
		for _, a := range accts {
			a.Close()
		}
		accts = nil
	}
	t.Cleanup(release)
	for share := budget.Share(memory.Connection); n > 0; n -= share {
		a := budget.Connection()
		accts = append(accts, a)
		if err := a.Grow(min(n, share)); err != nil {
			t.Fatal(err)
		}
	}
	return release
}

// Binding values into the statement's text is reserved too: long data that
// fits the connection's share but whose literals (hex: twice the data)
// would not is refused with 1041 before anything runs, and everything is
// given back.
func TestExecuteBindBudget(t *testing.T) {
	cc, sock, budget := stmtClient(t, "memory_limit: 64M\nconnection_memory_limit: 4M\n")
	binary := bytes.Repeat([]byte{0xff}, 1<<20) // not text: bound as hex
	cc.stmtLongData(longData(1, 0, binary))
	cc.stmtLongData(longData(1, 1, binary))
	if cc.stmts[1].longErr != nil {
		t.Fatalf("2 MiB of long data refused in a 4 MiB share: %v", cc.stmts[1].longErr)
	}
	cc.stmtExecute(execute())
	e := errOf(t, sock.answers())
	if e.Code != mysql.ER_OUT_OF_RESOURCES || !strings.Contains(e.Message, "binding the parameters of a prepared statement") || !strings.Contains(e.Message, "connection_memory_limit (4 MiB") {
		t.Fatalf("EXECUTE: %d %q", e.Code, e.Message)
	}
	if cc.sess.Memory().Used() != 0 || budget.Reserved() != 0 {
		t.Fatalf("after the refused EXECUTE: connection %d, budget %d", cc.sess.Memory().Used(), budget.Reserved())
	}
	if len(cc.stmts[1].long) != 0 {
		t.Fatal("the long data outlived its EXECUTE")
	}
}

// A packet the connection could not read for lack of memory: for long
// data its statement's EXECUTE fails with 1041 (COM_STMT_SEND_LONG_DATA
// has no answer); any other command is answered 1041 at once; the
// connection stays.
func TestRefusedPackets(t *testing.T) {
	cc, sock, _ := stmtClient(t, "")
	refusal := &memory.Refusal{Scope: memory.Connection, Limit: 256 << 20, Held: 250 << 20, Want: 60 << 20}
	head := append([]byte{mysql.COM_STMT_SEND_LONG_DATA}, longData(1, 0, []byte("first bytes"))...)[:16]
	if !cc.packetRefused(&wire.PacketRefusedError{Head: head, Size: 60 << 20, Err: refusal}) {
		t.Fatal("closed")
	}
	if out := sock.answers(); len(out) != 0 {
		t.Fatalf("long data answered %q", out)
	}
	cc.stmtExecute(execute())
	if e := errOf(t, sock.answers()); e.Code != mysql.ER_OUT_OF_RESOURCES || !strings.Contains(e.Message, "long data of a prepared statement parameter") {
		t.Fatalf("EXECUTE after refused long data: %d %q", e.Code, e.Message)
	}
	if !cc.packetRefused(&wire.PacketRefusedError{Head: []byte{mysql.COM_QUERY, 'I', 'N', 'S'}, Size: 60 << 20, Err: refusal}) {
		t.Fatal("closed")
	}
	e := errOf(t, sock.answers())
	if e.Code != mysql.ER_OUT_OF_RESOURCES || !strings.Contains(e.Message, "a packet of 60 MiB would take this connection past connection_memory_limit (256 MiB") {
		t.Fatalf("COM_QUERY refused: %d %q", e.Code, e.Message)
	}
}

// Closing a statement, resetting the connection or leaving gives its long
// data back.
func TestLongDataGivenBack(t *testing.T) {
	for _, end := range []struct {
		name string
		do   func(cc *clientConn)
	}{
		{"COM_STMT_CLOSE", func(cc *clientConn) { cc.stmtClose(binary.LittleEndian.AppendUint32(nil, 1)) }},
		{"COM_RESET_CONNECTION", func(cc *clientConn) { cc.dispatch([]byte{mysql.COM_RESET_CONNECTION}) }},
		{"the client leaves", func(cc *clientConn) { cc.sess.Close() }},
	} {
		t.Run(end.name, func(t *testing.T) {
			cc, _, budget := stmtClient(t, "")
			cc.stmtLongData(longData(1, 0, make([]byte, 3<<20)))
			if budget.Reserved() == 0 {
				t.Fatal("long data reserved nothing")
			}
			end.do(cc)
			if budget.Reserved() != 0 {
				t.Fatalf("after %s the budget holds %d", end.name, budget.Reserved())
			}
		})
	}
}
