package router

import (
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
)

// held is a borrowed backend connection with the server it belongs to.
type held struct {
	*backend.Conn
	backend *backend.Backend
	// returned: the session gave the connection back (or the coordinator
	// closed it) while a statement still had it lent — a distributed
	// transaction ended by a failure of another of the statement's
	// connections (endDist). The statement's own Release of it must then
	// do nothing: a second return could hand it to two sessions.
	returned bool
}

func (h *held) cluster() string { return h.backend.Cluster }

// Describe names the connection's server in errors.
func (h *held) Describe() string { return h.backend.Describe() }

// txn is the session's transaction and the backend connections that it,
// or state living in a connection, ties the session to: at most one per
// cluster. In a schema with transactions: single, a transaction lives on
// one cluster (open); with xa or best_effort it may have a branch on each
// of several clusters (dist, see dist.go). Connection state (temporary
// tables, locks, SQL-level prepared statements) may tie the session to a
// connection on each of several clusters.
type txn struct {
	// pins are the connections the session is tied to, by cluster.
	pins map[string]*held
	// sticky lists, per cluster, the connection state that keeps its pin.
	sticky map[string]stickiness
	// open is the cluster whose pinned connection holds the open
	// transaction of a single-cluster transaction, "" when none is open on
	// a backend (always "" while dist is set).
	open string
	// dist is the transaction of a schema whose transactions may span
	// clusters (xa, best_effort), from its BEGIN (or, under autocommit=0,
	// its first statement) to its end; nil otherwise.
	dist *distTxn
	// noBranch: the running statement commits implicitly (DDL …), so it
	// runs outside any transaction and starts none, also under
	// autocommit=0.
	noBranch bool
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
	// last is the connection the previous statement ran on; prev.uses
	// tells whether anyone used it since it went back to the pool (for
	// ROW_COUNT() and FOUND_ROWS() in the next statement).
	last *held
	prev struct {
		h    *held
		uses uint64
	}
	// snap is the routing snapshot the transaction started with.
	snap *Snapshot
	// locks is what the session's LOCK TABLES holds (locktables.go).
	locks *tableLocks
}

// stickiness lists connection state that keeps the session on one backend
// connection after the statement that created it.
type stickiness struct {
	tempTables, connState, lockTables, foundRows bool
	// preTxn: statements that name no table ran here after a BEGIN that
	// has not gone out yet; the transaction starts here if its first table
	// statement is for this cluster, so they all see one connection.
	preTxn bool
}

func (s stickiness) any() bool {
	return s.tempTables || s.connState || s.lockTables || s.foundRows || s.preTxn
}

// inTransaction: the server said, after the last statement, that a
// transaction is open.
func (t *txn) inTransaction() bool { return t.status&mysql.SERVER_STATUS_IN_TRANS != 0 }

// begin notes a BEGIN to send with the transaction's first statement.
func (t *txn) begin(sql string, readOnly bool, snap *Snapshot) {
	t.pending, t.readOnly = sql, readOnly
	if t.snap == nil {
		t.setSnap(snap)
	}
}

// tempTables: the session may hold temporary tables on some cluster.
func (t *txn) tempTables() bool {
	for _, st := range t.sticky {
		if st.tempTables {
			return true
		}
	}
	return false
}

// end forgets a transaction that never reached a backend.
func (t *txn) end() {
	t.pending, t.readOnly = "", false
	t.endPreTxn("")
	t.forgetSnapshot()
}

// endPreTxn lets go of the connections kept for a pending BEGIN, but the
// one on cluster keep.
func (t *txn) endPreTxn(keep string) {
	for c, st := range t.sticky {
		if !st.preTxn {
			continue
		}
		st.preTxn = false
		t.sticky[c] = st
		if p := t.pins[c]; p != nil && c != keep && !st.any() && !t.holds(c) {
			t.unpin(p)
			p.backend.Put(p.Conn)
		}
	}
}

// holds reports whether the session's connection on cluster c holds its
// open transaction (c is the single-cluster transaction's cluster, or one
// of a distributed transaction's branches).
func (t *txn) holds(c string) bool {
	return t.open == c || t.dist != nil && t.dist.has(c)
}

// active reports whether a transaction is open on some backend.
func (t *txn) active() bool {
	return t.open != "" || t.dist != nil && len(t.dist.branches) > 0
}

// sequential: every step must run on the session's connections one after
// another (a transaction, or connection state, is in play).
func (t *txn) sequential() bool { return len(t.pins) > 0 || t.pending != "" }

// pinned is the connection the session is tied to on cluster, if any.
func (t *txn) pinned(cluster string) *held { return t.pins[cluster] }

// pin ties the session to h on its cluster.
func (t *txn) pin(h *held, snap *Snapshot) {
	if t.pins == nil {
		t.pins = map[string]*held{}
	}
	t.pins[h.cluster()] = h
	if t.snap == nil {
		t.setSnap(snap)
	}
}

// unpin forgets h as the session's connection on its cluster, without
// returning it (the caller returns or drops it).
func (t *txn) unpin(h *held) {
	c := h.cluster()
	if t.pins[c] != h {
		return
	}
	delete(t.pins, c)
	delete(t.sticky, c)
	if t.locks != nil {
		delete(t.locks.sql, c)
	}
	if t.open == c {
		t.closed()
	}
	t.forgetSnapshot()
}

// closed notes that the open transaction is over.
func (t *txn) closed() { t.open, t.readOnly = "", false }

// forgetSnapshot lets the next statement use the router's current snapshot
// once nothing holds the session to the one it has.
func (t *txn) forgetSnapshot() {
	if len(t.pins) == 0 && t.pending == "" && t.dist == nil {
		t.setSnap(nil)
		t.readOnly = false
	}
}

// adopt moves a session that is in no transaction, but holds connections
// for their state (temporary tables, LOCK TABLES, user locks), onto current
// (the router's snapshot after a reload) when every cluster it holds a
// connection on is served by the same pools there: a session that keeps
// a temporary table all day must still see what a later reload adds. A
// session whose connection is on a cluster the reload changed stays on
// its snapshot until it lets that connection go.
func (t *txn) adopt(current *Snapshot) {
	if t.snap == nil || t.snap == current || t.pending != "" || t.dist != nil || t.open != "" || t.inTransaction() {
		return
	}
	for c := range t.pins {
		if cl := current.Clusters[c]; cl == nil || cl != t.snap.Clusters[c] {
			return
		}
	}
	t.setSnap(current)
}

// setSnap ties the session to snap (nil: none), counting the sessions
// each snapshot serves: a reload closes a replaced cluster's pools only
// once no session is held to a snapshot that uses them (Router.drain).
func (t *txn) setSnap(snap *Snapshot) {
	if t.snap == snap {
		return
	}
	if t.snap != nil {
		t.snap.users.Add(-1)
	}
	if snap != nil {
		snap.users.Add(1)
	}
	t.snap = snap
}

// release gives back every pinned connection. Whatever it was held for (a
// transaction, temporary tables, locks) must not reach the next user, so
// it is reset on the way back.
func (t *txn) release() {
	for _, h := range t.pins {
		t.unpin(h)
		h.Dirty = true
		h.backend.Put(h.Conn)
	}
}

// clientStatus is the status the client sees: only flags that describe the
// session, not the last statement.
func (t *txn) clientStatus() uint16 {
	st := t.status & (mysql.SERVER_STATUS_IN_TRANS | mysql.SERVER_STATUS_AUTOCOMMIT |
		mysql.SERVER_STATUS_IN_TRANS_READONLY | mysql.SERVER_STATUS_NO_BACKSLASH_ESCAPED)
	if t.pending != "" || t.dist != nil && len(t.dist.branches) > 0 {
		st |= mysql.SERVER_STATUS_IN_TRANS
	}
	return st
}
