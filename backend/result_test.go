package backend

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/wire"
)

// fakeResult plays a server answering one COM_QUERY with packets.
func fakeResult(srv net.Conn, packets [][]byte) {
	c := wire.NewConn(srv, 4096)
	defer srv.Close()
	if _, err := c.ReadPacket(); err != nil {
		return
	}
	for _, p := range packets {
		if c.WritePacket(p) != nil {
			return
		}
	}
	c.Flush()
}

// resultPackets is a result set of n rows of three columns, one NULL.
func resultPackets(n int) [][]byte {
	out := [][]byte{{3}}
	for _, name := range []string{"TABLE_SCHEMA", "TABLE_NAME", "TABLE_COMMENT"} {
		out = append(out, wire.AppendColumn(nil, wire.Column{Name: name, Type: mysql.MYSQL_TYPE_VAR_STRING}))
	}
	out = append(out, wire.AppendEOF(nil, 0, mysql.SERVER_STATUS_AUTOCOMMIT))
	for i := 0; i < n; i++ {
		var p []byte
		p = wire.AppendTextValue(p, []byte("shop"), false)
		p = wire.AppendTextValue(p, []byte(fmt.Sprintf("table_with_a_long_name_%06d", i)), false)
		p = wire.AppendTextValue(p, nil, true)
		out = append(out, p)
	}
	return append(out, wire.AppendEOF(nil, 0, mysql.SERVER_STATUS_AUTOCOMMIT))
}

// QueryBounded asks grow for what each row will take before keeping it:
// the sum is what the result holds in the heap (within 5%; 10% under the
// race detector, see raceEnabled), and a refusal
// abandons the result with a *SinkError wrapping it (the connection is
// then dropped by the caller).
func TestQueryBoundedAccounts(t *testing.T) {
	const n = 60000
	packets := resultPackets(n)
	t.Run("accounted as held", func(t *testing.T) {
		cli, srv := net.Pipe()
		defer cli.Close()
		go fakeResult(srv, packets)
		conn := &Conn{Conn: wire.NewConn(cli, 4096), vars: map[string]string{}}
		var grown int64
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, _, err := conn.QueryBounded("SELECT …", func(b int64) error { grown += b; return nil })
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		if len(res.Rows) != n {
			t.Fatalf("%d rows", len(res.Rows))
		}
		t.Logf("%d rows: heap grew %d, reserved %d", n, heap, grown)
		tolerance := grown / 20
		if raceEnabled {
			tolerance = grown / 10
		}
		if d := heap - grown; d > tolerance || d < -tolerance {
			t.Fatalf("the result holds %d bytes of heap, %d were reserved", heap, grown)
		}
		runtime.KeepAlive(res)
	})
	t.Run("refused", func(t *testing.T) {
		cli, srv := net.Pipe()
		defer cli.Close()
		go fakeResult(srv, packets)
		conn := &Conn{Conn: wire.NewConn(cli, 4096), vars: map[string]string{}}
		acct := memory.NewBudget(64<<20, 64<<10, 64<<10).Statement(nil)
		res, _, err := conn.QueryBounded("SELECT …", acct.Grow)
		var sink *SinkError
		var r *memory.Refusal
		if res != nil || !errors.As(err, &sink) || !errors.As(err, &r) || r.Scope != memory.Statement {
			t.Fatalf("result %v, error %v (%T)", res, err, err)
		}
		if acct.Used() > 64<<10 || acct.Used() < 60<<10 {
			t.Fatalf("refused at %d bytes of a 64 KiB share", acct.Used())
		}
	})
}
