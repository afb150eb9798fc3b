package protocol

import (
	"net"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// discardConn is a net.Conn that drops what is written to it.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) Close() error                     { return nil }

// sysbenchRow is a row of sysbench's sbtest table (id, k, c, pad) as a
// backend sends it in the text protocol.
func sysbenchRow() (cols []wire.Column, row []byte) {
	cols = []wire.Column{
		{Name: "id", Type: mysql.MYSQL_TYPE_LONG, Charset: 63, Length: 11},
		{Name: "k", Type: mysql.MYSQL_TYPE_LONG, Charset: 63, Length: 11},
		{Name: "c", Type: mysql.MYSQL_TYPE_STRING, Charset: 45, Length: 480},
		{Name: "pad", Type: mysql.MYSQL_TYPE_STRING, Charset: 45, Length: 240},
	}
	c := "83868641912-28773972837-60736120486-75162659906-27563526494-20381887404-41576422241-93426793964-56405065102-33518432330"
	pad := "67847967377-48000963322-62604785301-91415491898-96926520291"
	for _, v := range []string{"4992", "5016", c, pad} {
		row = mysql.AppendLengthEncodedInteger(row, uint64(len(v)))
		row = append(row, v...)
	}
	return cols, row
}

// BenchmarkBinaryRow measures what a prepared statement's result costs
// the proxy per row today: the text row a backend sent re-encoded as a
// binary row (EXECUTE is bound into text), beside the same row written
// through untouched, which is what passing a backend's binary row
// through would cost (issue 18, item 2).
func BenchmarkBinaryRow(b *testing.B) {
	cols, row := sysbenchRow()
	header := [][]byte{{byte(len(cols))}}
	for _, c := range cols {
		header = append(header, wire.AppendColumn(nil, c))
	}
	header = append(header, []byte{0xfe, 0, 0, 0x02, 0})
	b.Run("re-encoded", func(b *testing.B) {
		out := wire.NewConn(discardConn{}, 64<<10)
		bw := newBinaryWriter(out)
		for _, p := range header {
			if err := bw.WritePacket(p); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := bw.WritePacket(row); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("passed through", func(b *testing.B) {
		out := wire.NewConn(discardConn{}, 64<<10)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := out.WritePacket(row); err != nil {
				b.Fatal(err)
			}
		}
	})
}
