package backend

import (
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// fakePrepare plays a server over net.Pipe: it checks the COM_STMT_PREPARE,
// answers with the given packets and, when closeID is not 0, expects the
// COM_STMT_CLOSE for that statement. It reports what went wrong on done.
func fakePrepare(srv net.Conn, sql string, answer [][]byte, closeID uint32, done chan<- error) {
	c := wire.NewConn(srv, 4096)
	defer srv.Close()
	p, err := c.ReadPacket()
	if err != nil || len(p) == 0 || p[0] != mysql.COM_STMT_PREPARE || string(p[1:]) != sql {
		done <- errors.New("expected COM_STMT_PREPARE of the statement")
		return
	}
	for _, a := range answer {
		c.WritePacket(a)
	}
	c.Flush()
	if closeID != 0 {
		c.ResetSequence()
		p, err = c.ReadPacket()
		if err != nil || len(p) != 5 || p[0] != mysql.COM_STMT_CLOSE || binary.LittleEndian.Uint32(p[1:]) != closeID {
			done <- errors.New("expected COM_STMT_CLOSE of the statement")
			return
		}
	}
	done <- nil
}

func prepareOK(id uint32, cols, params uint16) []byte {
	p := []byte{wire.HeaderOK}
	p = binary.LittleEndian.AppendUint32(p, id)
	p = binary.LittleEndian.AppendUint16(p, cols)
	p = binary.LittleEndian.AppendUint16(p, params)
	return append(p, 0, 0, 0)
}

func TestPrepare(t *testing.T) {
	def := func(name string) []byte {
		return wire.AppendColumn(nil, wire.Column{Name: name, Type: mysql.MYSQL_TYPE_LONG})
	}
	eof := wire.AppendEOF(nil, 0, mysql.SERVER_STATUS_AUTOCOMMIT)
	cases := []struct {
		name     string
		answer   [][]byte
		closeID  uint32
		params   []string
		columns  []string
		errPart  string
		serverEr bool // error is a *mysql.MyError: the connection stays usable
	}{
		{"params and columns", [][]byte{prepareOK(7, 2, 1), def("?"), eof, def("a"), def("b"), eof}, 7, []string{"?"}, []string{"a", "b"}, "", false},
		{"columns only", [][]byte{prepareOK(8, 1, 0), def("a"), eof}, 8, nil, []string{"a"}, "", false},
		{"params only", [][]byte{prepareOK(9, 0, 2), def("?"), def("?"), eof}, 9, []string{"?", "?"}, nil, "", false},
		{"neither", [][]byte{prepareOK(10, 0, 0)}, 10, nil, nil, "", false},
		{"server error", [][]byte{wire.ErrorPacket(wire.Errorf(mysql.ER_NO_SUCH_TABLE, "Table 'shop.nope' doesn't exist"))}, 0, nil, nil, "doesn't exist", true},
		{"short header", [][]byte{{wire.HeaderOK, 1, 0}}, 0, nil, nil, "malformed", false},
		{"fewer definitions", [][]byte{prepareOK(11, 2, 0), def("a"), eof}, 0, nil, nil, "announced 2", false},
		{"error inside", [][]byte{prepareOK(12, 1, 0), wire.ErrorPacket(wire.Errorf(mysql.ER_UNKNOWN_ERROR, "boom"))}, 0, nil, nil, "boom", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cli, srv := net.Pipe()
			defer cli.Close()
			done := make(chan error, 1)
			const sql = "SELECT a, b FROM t WHERE id = ?"
			go fakePrepare(srv, sql, c.answer, c.closeID, done)
			conn := &Conn{Conn: wire.NewConn(cli, 4096), vars: map[string]string{}}
			params, columns, err := conn.Prepare(sql)
			if c.errPart != "" {
				var me *mysql.MyError
				if err == nil || !strings.Contains(err.Error(), c.errPart) || errors.As(err, &me) != c.serverEr {
					t.Fatalf("error %v (%T), want one containing %q (server error: %v)", err, err, c.errPart, c.serverEr)
				}
				cli.Close()
				<-done
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			names := func(defs [][]byte) []string {
				var out []string
				for _, d := range defs {
					col, ok := wire.ParseColumn(d)
					if !ok {
						t.Fatalf("definition %x does not parse", d)
					}
					out = append(out, col.Name)
				}
				return out
			}
			if got := names(params); strings.Join(got, ",") != strings.Join(c.params, ",") {
				t.Errorf("params %v, want %v", got, c.params)
			}
			if got := names(columns); strings.Join(got, ",") != strings.Join(c.columns, ",") {
				t.Errorf("columns %v, want %v", got, c.columns)
			}
		})
	}
}

// SyncVars sends one SET with the differences, variable names quoted as
// identifiers (they come from client statements), and nothing when the
// connection already matches.
func TestSyncVars(t *testing.T) {
	cases := []struct {
		name string
		have map[string]string
		want map[string]string
		sql  string // "" when nothing may be sent
	}{
		{"nothing to do", map[string]string{"sql_mode": "'ANSI'"}, map[string]string{"sql_mode": "'ANSI'"}, ""},
		{"set and reset", map[string]string{"time_zone": "'+01:00'", "@old": "1"}, map[string]string{"sql_mode": "'ANSI'", "@x": "2"},
			"SET @`old` = NULL, @@session.`time_zone` = DEFAULT, @`x` = 2, @@session.`sql_mode` = 'ANSI'"},
		{"names first", map[string]string{}, map[string]string{"names": "'latin1'"}, "SET NAMES 'latin1'"},
		{"hostile user variable name", map[string]string{"names": DefaultNames}, map[string]string{"names": DefaultNames, "@a = 1, @@global.read_only = 0, @`b": "1"},
			"SET @`a = 1, @@global.read_only = 0, @``b` = 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cli, srv := net.Pipe()
			defer cli.Close()
			got := make(chan string, 1)
			go func() {
				defer srv.Close()
				sc := wire.NewConn(srv, 4096)
				p, err := sc.ReadPacket()
				if err != nil || len(p) == 0 || p[0] != mysql.COM_QUERY {
					got <- ""
					return
				}
				got <- string(p[1:])
				sc.WritePacket(wire.AppendOK(nil, wire.OK{Status: mysql.SERVER_STATUS_AUTOCOMMIT}))
				sc.Flush()
			}()
			conn := &Conn{Conn: wire.NewConn(cli, 4096), vars: c.have}
			if err := conn.SyncVars(c.want); err != nil {
				t.Fatal(err)
			}
			cli.Close()
			if sql := <-got; sql != c.sql {
				t.Errorf("sent %q\nwant %q", sql, c.sql)
			}
			if c.sql != "" && len(conn.vars) != len(c.want) {
				t.Errorf("recorded %v, want %v", conn.vars, c.want)
			}
		})
	}
}
