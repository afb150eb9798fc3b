package router

import (
	"io"
	"net"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// pipeHeld is a borrowed connection to replica i of cl (-1: the primary)
// that can be closed; no server stands behind it.
func pipeHeld(t *testing.T, cl *backend.Cluster, i int) *held {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	bk := cl.Primary
	if i >= 0 {
		bk = cl.Replicas[i]
	}
	bk.InFlight.Add(1)
	return &held{Conn: &backend.Conn{Conn: wire.NewConn(a, 1024)}, backend: bk}
}

// Which reads whose connection broke run again elsewhere: never the one
// the session is tied to (its transaction or state went with the
// connection), and no more often than the cluster has replicas.
func TestRetryRead(t *testing.T) {
	cases := []struct {
		name    string
		attempt int
		pin     func(s *Session, h *held)
		want    bool
	}{
		{"a pooled connection, first attempt", 0, nil, true},
		{"second attempt", 1, nil, true},
		{"as many attempts as replicas", 2, nil, false},
		{"the transaction's connection", 0, func(s *Session, h *held) {
			s.txn.pin(h, nil)
			s.txn.open = h.cluster()
		}, false},
		{"a connection holding temporary tables", 0, func(s *Session, h *held) {
			s.txn.pin(h, nil)
			s.txn.sticky = map[string]stickiness{h.cluster(): {tempTables: true}}
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := backend.NewCluster("main", "127.0.0.1:1", []string{"127.0.0.1:2", "127.0.0.1:3"}, []int{1, 1}, backend.PoolConfig{MaxOpen: 4, MaxIdle: 4}, 0, nil)
			snap := &Snapshot{Clusters: map[string]*backend.Cluster{"main": cl}}
			s := &Session{}
			h := pipeHeld(t, cl, 0)
			if c.pin != nil {
				c.pin(s, h)
			}
			if got := s.retryRead(snap, h, c.attempt); got != c.want {
				t.Fatalf("retryRead = %v, want %v", got, c.want)
			}
			if c.want && h.backend.Healthy() {
				t.Error("a retried read left its broken server in rotation")
			}
			if !c.want && !h.backend.Healthy() {
				t.Error("a read that is not retried took its server out (the statement's error will)")
			}
		})
	}
}

// A connection lost while it held the session's open transaction: the
// client hears that the transaction is gone rather than that a retry is
// safe, whether the statement was not sent or cut with its replica.
func TestDroppedTransactionConnectionIsReported(t *testing.T) {
	cl := backend.NewCluster("main", "127.0.0.1:1", []string{"127.0.0.1:2"}, []int{1}, backend.PoolConfig{MaxOpen: 4, MaxIdle: 4}, 0, nil)
	cases := []struct {
		name  string
		inTxn bool
		cause error
		code  uint16
		says  string
	}{
		{"transaction, not sent", true, backend.BeforeStatement(io.EOF), backend.CodeOutcomeUnknown, "retry the whole transaction"},
		{"no transaction, not sent", false, backend.BeforeStatement(io.EOF), backend.CodeNotSent, "safe to retry"},
		{"transaction, cut", true, &backend.LeftRotationError{Server: "replica main (127.0.0.1:2)", Reason: "health check failed", Err: io.EOF}, backend.CodeOutcomeUnknown, "retry the whole transaction"},
		{"no transaction, cut", false, &backend.LeftRotationError{Server: "replica main (127.0.0.1:2)", Reason: "health check failed", Err: io.EOF}, backend.CodeOutcomeUnknown, "nothing was changed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Session{}
			h := pipeHeld(t, cl, 0)
			if c.inTxn {
				s.txn.pin(h, nil)
				s.txn.open = h.cluster()
				s.txn.status = mysql.SERVER_STATUS_IN_TRANS
			}
			err := s.lost(h, c.cause)
			if s.txn.pinned("main") == h {
				t.Fatal("the lost connection is still pinned")
			}
			me, ok := err.(*mysql.MyError)
			if !ok || me.Code != c.code || !strings.Contains(me.Message, c.says) {
				t.Fatalf("client hears %v, want %d saying %q", err, c.code, c.says)
			}
		})
	}
}
