package router

import (
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
)

// held is a borrowed backend connection with the server it belongs to.
type held struct {
	*backend.Conn
	backend *backend.Backend
}

// txn is the session's transaction and the backend connection it, or
// state that lives in a connection, ties the session to.
type txn struct {
	// pinned is the connection a transaction or connection state ties the
	// session to; every statement runs on it until it is released.
	pinned *held
	// pending is a BEGIN the client sent that no backend has seen yet: it
	// goes out just before the transaction's first statement.
	pending string
	// readOnly: START TRANSACTION READ ONLY (runs on a replica).
	readOnly bool
	// next is a SET TRANSACTION for the next transaction only, sent just
	// before the next statement that reaches a backend.
	next string
	// status is the server status after the last statement.
	status uint16
	// sticky lists connection state that keeps the session pinned after
	// the statement that created it.
	sticky stickiness
	// prev is the connection the last statement ran on, for ROW_COUNT()
	// and FOUND_ROWS() in the next one; uses tells whether anyone used it
	// since.
	prev struct {
		h    *held
		uses uint64
	}
	// snap is the routing snapshot the transaction started with.
	snap *Snapshot
}

// stickiness lists connection state that keeps the session on one backend
// connection after the statement that created it.
type stickiness struct {
	tempTables, connState, lockTables, foundRows bool
}

func (s stickiness) any() bool { return s.tempTables || s.connState || s.lockTables || s.foundRows }

// inTransaction: the server says a transaction is open on the pinned
// connection.
func (t *txn) inTransaction() bool { return t.status&mysql.SERVER_STATUS_IN_TRANS != 0 }

// begin notes a BEGIN to send with the transaction's first statement.
func (t *txn) begin(sql string, readOnly bool, snap *Snapshot) {
	t.pending, t.readOnly, t.snap = sql, readOnly, snap
}

// end forgets a transaction that never reached a backend.
func (t *txn) end() {
	t.pending, t.readOnly = "", false
	if t.pinned == nil {
		t.snap = nil
	}
}

// sequential: every step must run on the session's one connection.
func (t *txn) sequential() bool { return t.pinned != nil || t.pending != "" }

// pin ties the session to h.
func (t *txn) pin(h *held, snap *Snapshot) {
	t.pinned = h
	if t.snap == nil {
		t.snap = snap
	}
}

// unpin forgets the pinned connection without returning it (it is being
// returned or dropped by the caller).
func (t *txn) unpin() {
	t.pinned = nil
	t.sticky = stickiness{}
	if t.pending == "" {
		t.snap, t.readOnly = nil, false
	}
}

// release gives back a pinned connection. Whatever it was held for (a
// transaction, temporary tables, locks) must not reach the next user, so
// it is reset on the way back.
func (t *txn) release() {
	if t.pinned == nil {
		return
	}
	h := t.pinned
	t.unpin()
	h.Dirty = true
	h.backend.Put(h.Conn)
}

// clientStatus is the status the client sees: only flags that describe the
// session, not the last statement.
func (t *txn) clientStatus() uint16 {
	st := t.status & (mysql.SERVER_STATUS_IN_TRANS | mysql.SERVER_STATUS_AUTOCOMMIT |
		mysql.SERVER_STATUS_IN_TRANS_READONLY | mysql.SERVER_STATUS_NO_BACKSLASH_ESCAPED)
	if t.pending != "" {
		st |= mysql.SERVER_STATUS_IN_TRANS
	}
	return st
}
