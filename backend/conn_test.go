package backend

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/wire"
)

func TestParseServerHandshake(t *testing.T) {
	p := []byte{10}
	p = append(append(p, "10.11.14-MariaDB"...), 0)
	p = binary.LittleEndian.AppendUint32(p, 77)
	p = append(append(p, "abcdefgh"...), 0)
	p = append(p, 0xff, 0xf7, 45, 2, 0, 0xff, 0x81, 21)
	p = append(p, make([]byte, 10)...)
	p = append(append(p, "ijklmnopqrst"...), 0)
	p = append(append(p, "mysql_native_password"...), 0)
	hs, err := parseServerHandshake(p)
	if err != nil {
		t.Fatal(err)
	}
	if hs.version != "10.11.14-MariaDB" || hs.connID != 77 || string(hs.scramble) != "abcdefghijklmnopqrst" {
		t.Fatalf("parsed %+v", hs)
	}
	for n := 0; n < len(p); n++ {
		parseServerHandshake(p[:n]) // must not panic
	}
}

func TestReplicaLag(t *testing.T) {
	cols := []wire.Column{{Name: "Slave_IO_Running"}, {Name: "Slave_SQL_Running"}, {Name: "Seconds_Behind_Master"}}
	s := func(v string) *string { return &v }
	cases := []struct {
		row     []*string
		lag     time.Duration
		errPart string
	}{
		{[]*string{s("Yes"), s("Yes"), s("3")}, 3 * time.Second, ""},
		{[]*string{s("No"), s("Yes"), nil}, 0, "threads stopped"},
		{[]*string{s("Yes"), s("Yes"), nil}, 0, "unknown"},
	}
	for _, c := range cases {
		lag, err := replicaLag(&Result{Columns: cols, Rows: [][]*string{c.row}})
		if c.errPart == "" && (err != nil || lag != c.lag) {
			t.Errorf("%v: lag %v err %v", c.row, lag, err)
		}
		if c.errPart != "" && (err == nil || !strings.Contains(err.Error(), c.errPart)) {
			t.Errorf("%v: err %v, want %q", c.row, err, c.errPart)
		}
	}
	if _, err := replicaLag(&Result{Columns: cols}); err == nil {
		t.Error("a server that is no replica passed")
	}
}
