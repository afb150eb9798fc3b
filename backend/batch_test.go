package backend

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend/backendtest"
	"github.com/shardgate/shardgate/wire"
)

// batchServer answers as MariaDB does: COM_SET_OPTION with EOF, a
// multi-statement COM_QUERY with one OK per statement (more results
// flagged) up to the first statement holding "fail", which gets an error
// and ends the answer. It records the commands it got.
func batchServer(t *testing.T) (*backendtest.Server, *[]string) {
	var mu sync.Mutex
	var got []string
	srv := backendtest.Start(t, func(cmd byte, arg []byte) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		switch cmd {
		case mysql.COM_SET_OPTION:
			got = append(got, "set_option:"+string('0'+arg[0]))
			return [][]byte{wire.AppendEOF(nil, 0, mysql.SERVER_STATUS_AUTOCOMMIT)}
		case mysql.COM_QUERY:
			got = append(got, "query:"+string(arg))
			stmts := strings.Split(string(arg), "\n;\n")
			var out [][]byte
			for i, s := range stmts {
				if strings.Contains(s, "fail") {
					return append(out, wire.ErrorPacket(wire.Errorf(mysql.ER_DUP_ENTRY, "Duplicate entry")))
				}
				status := uint16(mysql.SERVER_STATUS_AUTOCOMMIT)
				if i < len(stmts)-1 {
					status |= mysql.SERVER_MORE_RESULTS_EXISTS
				}
				out = append(out, wire.AppendOK(nil, wire.OK{AffectedRows: uint64(i + 1), Status: status}))
			}
			return out
		}
		return nil
	})
	return srv, &got
}

// ExecBatch sends multi-statements on, the statements as one query and
// multi-statements off, and reads each statement's answer: all OKs, or
// the OKs before the first error and that error, with the connection
// still usable after.
func TestExecBatch(t *testing.T) {
	tests := []struct {
		name     string
		sqls     []string
		oks      int
		failed   bool
		commands string
	}{
		{"one statement is a plain query", []string{"a"}, 1, false, "query:a"},
		{"three statements", []string{"a", "b", "c"}, 3, false, "set_option:0 query:a\n;\nb\n;\nc set_option:1"},
		{"the second fails", []string{"a", "fail", "c"}, 1, true, "set_option:0 query:a\n;\nfail\n;\nc set_option:1"},
		{"the first fails", []string{"fail", "b"}, 0, true, "set_option:0 query:fail\n;\nb set_option:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := batchServer(t)
			p := NewPool(srv.Addr(), PoolConfig{MaxOpen: 1, MaxIdle: 1, WaitTimeout: time.Second,
				Dial: DialConfig{ConnectTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second}})
			c, err := p.Get(false, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Discard(c)
			oks, failed, err := c.ExecBatch(tt.sqls)
			if err != nil {
				t.Fatal(err)
			}
			if len(oks) != tt.oks || (failed != nil) != tt.failed {
				t.Errorf("%d OKs, failed %v; want %d, %v", len(oks), failed, tt.oks, tt.failed)
			}
			for i, ok := range oks {
				if ok.AffectedRows != uint64(i+1) {
					t.Errorf("OK %d says %d rows", i, ok.AffectedRows)
				}
			}
			if failed != nil && failed.Code != mysql.ER_DUP_ENTRY {
				t.Errorf("failed with %v", failed)
			}
			// The connection is in step: the next command gets its own
			// answer.
			if err := c.Ping(); err != nil {
				t.Fatalf("after the batch: %v", err)
			}
			if g := strings.Join((*got), " "); g != tt.commands {
				t.Errorf("server got %q, want %q", g, tt.commands)
			}
		})
	}
}
