package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
)

func TestAcceptBackoff(t *testing.T) {
	cases := []struct{ prev, want time.Duration }{
		{0, 5 * time.Millisecond},
		{5 * time.Millisecond, 10 * time.Millisecond},
		{320 * time.Millisecond, 640 * time.Millisecond},
		{640 * time.Millisecond, time.Second},
		{time.Second, time.Second},
	}
	for _, c := range cases {
		if got := acceptBackoff(c.prev); got != c.want {
			t.Errorf("acceptBackoff(%s) = %s, want %s", c.prev, got, c.want)
		}
	}
}

// testRules are rules with 3 backend servers (1 primary, 2 replicas) and
// extra top-level keys.
func testRules(t *testing.T, extra string) *rules.Rules {
	t.Helper()
	r, err := rules.Parse("test.yaml", []byte(`users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
schemas: {shop: {cluster: main}}
`+extra))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestClientLimits(t *testing.T) {
	// 3 servers × (max_open 100 + 2) + 64 = 370 descriptors for backends.
	const pool = "pool: {max_open: 100}\n"
	cases := []struct {
		name   string
		extra  string
		nofile uint64
		want   Limits
	}{
		{"fds to spare", pool, math.MaxUint64, Limits{MaxConns: 4096, MaxPreauth: 256, Reserve: 370}},
		{"configured caps", pool + "max_connections: 50\nmax_preauth_connections: 10\n", 100000, Limits{MaxConns: 50, MaxPreauth: 10, Reserve: 370}},
		{"preauth never above max_connections", pool + "max_connections: 5\n", 100000, Limits{MaxConns: 5, MaxPreauth: 5, Reserve: 370}},
		{"clients get what backends leave", pool, 1024, Limits{MaxConns: 654, MaxPreauth: 256, Reserve: 370, FDBound: true}},
		{"exactly max_connections left", pool + "max_connections: 630\n", 1000, Limits{MaxConns: 630, MaxPreauth: 256, Reserve: 370}},
		{"limit below the backends' share: half", pool, 300, Limits{MaxConns: 150, MaxPreauth: 150, Reserve: 370, FDBound: true}},
		{"default pool", "", 1024, Limits{MaxConns: 1024 - (3*130 + 64), MaxPreauth: 256, Reserve: 3*130 + 64, FDBound: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ClientLimits(testRules(t, c.extra), c.nofile); got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// scriptedListener returns the scripted Accept errors, then ErrClosed.
type scriptedListener struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (l *scriptedListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if len(l.errs) == 0 {
		return nil, net.ErrClosed
	}
	err := l.errs[0]
	l.errs = l.errs[1:]
	return nil, err
}
func (l *scriptedListener) Close() error   { return nil }
func (l *scriptedListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// Running out of descriptors (and the other failures of one Accept) never
// ends Serve: only a listener closed under it does.
func TestServeRetriesAcceptErrors(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ENOBUFS} {
		t.Run(errno.Error(), func(t *testing.T) {
			s := newTestServer(t, "")
			fail := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
			ln := &scriptedListener{errs: []error{fail, fail, fail}}
			err := s.Serve(ln)
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Serve returned %v, want it to retry until the listener is closed", err)
			}
			if ln.calls != 4 {
				t.Fatalf("Accept called %d times, want 4 (3 failures retried, then closed)", ln.calls)
			}
		})
	}
}

func newTestServer(t *testing.T, extra string) *Server {
	t.Helper()
	s, err := NewServer(testRules(t, extra), router.New(testRules(t, extra), nil), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serveLoopback runs s on a loopback listener until the test ends.
func serveLoopback(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	return ln.Addr().String()
}

// readPacket reads one packet (header and payload) with a deadline.
func readPacket(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		t.Fatalf("reading a packet: %v", err)
	}
	p := make([]byte, int(h[0])|int(h[1])<<8|int(h[2])<<16)
	if _, err := io.ReadFull(c, p); err != nil {
		t.Fatalf("reading a packet: %v", err)
	}
	return p
}

// errCode is the code of an ERR packet, 0 for any other packet.
func errCode(p []byte) uint16 {
	if len(p) < 3 || p[0] != 0xff {
		return 0
	}
	return binary.LittleEndian.Uint16(p[1:])
}

// expectEOF waits for the proxy to close c.
func expectEOF(t *testing.T, c net.Conn) {
	t.Helper()
	expectEOFWithin(t, c, 10*time.Second)
}

func expectEOFWithin(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	if n, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("want the proxy to close the connection, got %v after %d bytes", err, n)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Connections beyond max_preauth_connections (and max_connections) get
// 1040 as their first packet and are closed; a freed slot admits the next.
func TestPreauthCap(t *testing.T) {
	cases := []struct{ name, extra string }{
		{"max_preauth_connections", "max_preauth_connections: 2\n"},
		{"max_connections", "max_connections: 2\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := serveLoopback(t, newTestServer(t, c.extra+"connect_timeout: 1h\n"))
			var held []net.Conn
			for range 2 {
				h := dial(t, addr)
				if p := readPacket(t, h); p[0] != 10 {
					t.Fatalf("want a greeting, got %q", p)
				}
				held = append(held, h)
			}
			refused := dial(t, addr)
			p := readPacket(t, refused)
			if errCode(p) != 1040 || !bytes.Contains(p, []byte("#08004Too many connections")) {
				t.Fatalf("third connection: got %q, want ERR 1040 08004 Too many connections", p)
			}
			expectEOF(t, refused)
			held[0].Close()
			// The slot frees when the proxy sees the close: poll for it.
			deadline := time.Now().Add(10 * time.Second)
			for {
				c := dial(t, addr)
				if p := readPacket(t, c); p[0] == 10 {
					break
				} else if errCode(p) != 1040 || time.Now().After(deadline) {
					t.Fatalf("after a close: got %q", p)
				}
				c.Close()
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// Before login a packet may not exceed PreauthMaxPacket: one announcing
// 16 MiB gets 1153 and a close without the proxy reading (or allocating) it.
func TestPreauthPacketLimit(t *testing.T) {
	addr := serveLoopback(t, newTestServer(t, ""))
	cases := []struct {
		name   string
		length int
		want   uint16
	}{
		{"16 MiB announced", 1<<24 - 1, 1153},
		{"one byte over the limit", PreauthMaxPacket + 1, 1153},
		{"within the limit: read and parsed", 64, 1251},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := dial(t, addr)
			readPacket(t, conn) // greeting
			h := []byte{byte(c.length), byte(c.length >> 8), byte(c.length >> 16), 1}
			if _, err := conn.Write(append(h, make([]byte, min(c.length, 64))...)); err != nil {
				t.Fatal(err)
			}
			if p := readPacket(t, conn); errCode(p) != c.want {
				t.Fatalf("got %q, want error %d", p, c.want)
			}
			expectEOF(t, conn)
		})
	}
}

// A socket that does not log in within connect_timeout is closed.
func TestConnectTimeout(t *testing.T) {
	addr := serveLoopback(t, newTestServer(t, "connect_timeout: 100ms\nlogin_failure_delay: 10ms\n"))
	c := dial(t, addr)
	readPacket(t, c) // greeting; then silence
	// Well under the 10 s default, so the test fails if the setting is
	// ignored.
	expectEOFWithin(t, c, 5*time.Second)
}

// A write to a peer that does not read fails once the timeout passes with
// no progress; a peer that reads gets everything, over several chunks.
func TestWriteTimeoutConn(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 5*writeChunk/2)
	t.Run("peer stopped reading", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		done := make(chan error, 1)
		go func() {
			_, err := (&writeTimeoutConn{Conn: a, timeout: 20 * time.Millisecond}).Write(payload)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %v, want a deadline error", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a write to a peer that never reads did not fail")
		}
	})
	t.Run("peer reading", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		got := make(chan []byte, 1)
		go func() { p, _ := io.ReadAll(b); got <- p }()
		n, err := (&writeTimeoutConn{Conn: a, timeout: time.Minute}).Write(payload)
		a.Close()
		if err != nil || n != len(payload) || !bytes.Equal(<-got, payload) {
			t.Fatalf("wrote %d of %d: %v", n, len(payload), err)
		}
	})
}
