package router

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/sequence"
	"github.com/shardgate/shardgate/wire"
)

// cursor is the session as the primitives of one statement's plan see it.
type cursor struct {
	s    *Session
	snap *Snapshot
	plan *engine.Plan
	obs  *observation
	// single: the plan is one route, whose server names the metrics route.
	single bool
	// varsConn: the plan runs the statement on one connection (not a
	// single route), whose user variables are the statement's.
	varsConn bool
	// cluster is where the statement's last step ran: connection state it
	// creates (temporary tables, locks) lives there.
	cluster string
	// diag collects the warnings of a statement with several steps.
	diag *diagnostics
	// mem is the statement's share of the session's memory account.
	mem *memory.Account
	// dml: the statement is an INSERT, UPDATE or DELETE (a write with
	// several steps may run as one transaction, see Atomic).
	dml bool
}

func (s *Session) cursor(snap *Snapshot, p *engine.Plan, obs *observation) *cursor {
	vc := &cursor{s: s, snap: snap, plan: p, obs: obs, mem: s.rt.mem.Statement(s.mem)}
	root := p.Root
	if q, ok := root.(*engine.SequenceIDs); ok {
		root = q.Input
	}
	if e, ok := root.(*engine.EnsureBuckets); ok {
		root = e.Input
	}
	switch root.(type) {
	case *engine.Route, *engine.ShowCreate:
		vc.single = true
	case *engine.Fanout:
		obs.route = "fanout"
	case *engine.Materialize:
		// One connection runs the statement (its derived tables were
		// read first, by cursors of their own): the user variables it
		// assigns are read back from it.
		vc.varsConn = true
		obs.route = "scatter"
	default:
		obs.route = "scatter"
	}
	if !vc.single {
		// A single statement's connection keeps its own diagnostics.
		vc.diag = &diagnostics{}
	}
	return vc
}

func (vc *cursor) Conn(cluster string, replica bool) (engine.Conn, error) {
	if err := vc.s.snapshotWrite(vc.plan.Effects, cluster); err != nil {
		return nil, err
	}
	h, err := vc.s.acquire(vc.snap, vc.plan.Effects, cluster, replica)
	if err != nil {
		return nil, err
	}
	vc.obs.contacted = true
	if vc.single {
		vc.obs.route = string(h.backend.Role)
	}
	vc.cluster = h.cluster()
	if err := vc.s.live.start(h); err != nil {
		vc.Release(h, nil, nil)
		return nil, err
	}
	if vc.plan.Effects.CountsAsRead {
		h.backend.Reads.Add(1)
	} else {
		h.backend.Writes.Add(1)
	}
	return h, nil
}

// Warn adds the proxy's own warning to the statement's diagnostics, kept
// for SHOW WARNINGS like the shards' (a merged plan is never single).
func (vc *cursor) Warn(level string, code uint16, message string) {
	if vc.diag == nil {
		vc.diag = &diagnostics{}
	}
	vc.diag.count++
	vc.diag.rows = append(vc.diag.rows, [][]byte{[]byte(level), []byte(strconv.Itoa(int(code))), []byte(message)})
}

func (vc *cursor) WarningCount() uint16 {
	if vc.diag == nil {
		return 0
	}
	return uint16(min(vc.diag.count, 0xffff))
}

func (vc *cursor) Release(c engine.Conn, out *backend.Outcome, err error) {
	s, h := vc.s, c.(*held)
	s.reachedBackend = true
	s.live.stop(h)
	if h.returned {
		// The session already gave it back when its distributed
		// transaction ended (endDist): once is all.
		return
	}
	switch engine.Classify(err) {
	case engine.FaultClient:
		// The client left mid-result (or the statement abandoned this
		// input): stop the query instead of letting it run for nobody.
		go h.backend.Kill(h.ThreadID)
		s.drop(h)
		return
	case engine.FaultBroken:
		// Its siblings in the pool most likely broke with it (a restart):
		// the next statements must not find out one by one.
		h.backend.Purge()
		s.drop(h)
		return
	}
	if out != nil && out.Err == nil {
		s.txn.status = out.Status
		if out.Warnings > 0 && !vc.single {
			vc.diag.collect(h, out.Warnings)
		}
		eff := vc.plan.Effects
		if !eff.CountsAsRead {
			s.noteWriteGTID(vc.snap, h)
		}
		if (vc.single || vc.varsConn) && len(eff.AssignedUserVars) > 0 {
			reads := make([]varRead, len(eff.AssignedUserVars))
			for i, name := range eff.AssignedUserVars {
				reads[i] = userVarRead(name)
			}
			if err := s.state.captureVars(h.Conn, reads); err != nil {
				// The statement's answer is already with the client; a
				// connection that cannot tell us its variables is dropped.
				h.Dirty = true
			}
		}
	} else if out != nil {
		vc.obs.errCode = out.Err.Code
		if d := s.txn.dist; d != nil && d.has(h.cluster()) && s.txn.pinned(h.cluster()) == h && endsTransaction(out.Err.Code) {
			// A deadlock rolled back this branch's transaction: MariaDB
			// ends the whole transaction, and so do all its branches.
			s.abortDist()
			return
		}
		if s.txn.pinned(h.cluster()) != h && s.state.vars["autocommit"] == "0" {
			// An ERR packet carries no status: whether the failed statement
			// left a transaction open is unknown, so no one else may reuse
			// this connection without a reset.
			h.Dirty = true
		}
	}
	s.settle(h)
}

func (vc *cursor) Lost(c engine.Conn, err error) error {
	h := c.(*held)
	if engine.Classify(err) == engine.FaultServer {
		vc.Release(c, nil, err)
		return err
	}
	vc.s.live.stop(h)
	if h.returned {
		return engine.LostConnection(h, h.backend.Cluster, err)
	}
	return vc.s.lost(h, err)
}

func (vc *cursor) Retry(c engine.Conn, attempt int) bool {
	h := c.(*held)
	vc.s.live.stop(h)
	if h.returned {
		return false
	}
	return vc.s.retryRead(vc.snap, h, attempt)
}

// retryRead decides whether a read whose connection h broke before any of
// its answer was used runs again elsewhere: not on the connection the
// session is tied to (its transaction or state went with it: the client
// hears so), and not more often than the cluster has replicas. When it
// does, h's server leaves rotation and h is dropped.
func (s *Session) retryRead(snap *Snapshot, h *held, attempt int) bool {
	cl := snap.Clusters[h.backend.Cluster]
	if s.txn.pinned(h.cluster()) == h || cl == nil || attempt >= len(cl.Replicas) {
		return false
	}
	if h.LeftRotation() == nil {
		h.backend.MarkDown("statement failed: connection broken")
	} // else a health check took it out and cut h: its reason stands
	h.backend.Discard(h.Conn)
	return true
}

func (vc *cursor) Sequential() bool {
	return vc.s.txn.sequential() || vc.s.state.vars["autocommit"] == "0"
}

func (vc *cursor) Status() uint16          { return vc.s.Status() }
func (vc *cursor) Memory() *memory.Account { return vc.mem }
func (vc *cursor) ScatterConcurrency() int { return vc.snap.Rules.ScatterConcurrency }

func (vc *cursor) EnsureBucket(need engine.BucketNeed) error {
	if !vc.snap.Buckets.Has(need.Schema, need.Table.Name, need.Bucket) {
		if err := createBucket(vc.snap, need.Schema, need.Table, need.Bucket); err != nil {
			return err
		}
	}
	// Under LOCK TABLES the bucket's tables join the locks, or the
	// statement would meet 1100 (not locked) on the locked connection.
	return vc.s.relock(vc.snap)
}

// AssignSequence takes values from the proxy's sequences (see
// planSequenced): like those, they are not given back when the statement
// fails.
func (vc *cursor) AssignSequence(key string, start, cache int64, slots []engine.SequenceSlot) ([]int64, error) {
	in := make([]sequence.Slot, len(slots))
	for i, sl := range slots {
		in[i] = sequence.Slot{Explicit: sl.Explicit, Value: sl.Value}
	}
	return vc.s.rt.seq.Assign(key, sequence.Config{Start: start, Cache: cache}, in)
}

// Succeeded applies what the statement leaves in the session.
func (vc *cursor) Succeeded(ok wire.OK) {
	s, eff := vc.s, vc.plan.Effects
	if ok.InsertID != 0 && eff.SetsInsertID {
		s.state.lastInsertID = ok.InsertID
	}
	// FOUND_ROWS() belongs to the statement right after: a pin kept for it
	// elsewhere ends now (the connection goes back to the pool).
	for c, st := range s.txn.sticky {
		if st.foundRows && c != vc.cluster {
			st.foundRows = false
			s.txn.sticky[c] = st
			if p := s.txn.pinned(c); p != nil && !st.any() && !s.txn.holds(c) {
				s.txn.unpin(p)
				p.backend.Put(p.Conn)
			}
		}
	}
	if vc.cluster != "" {
		if s.txn.sticky == nil {
			s.txn.sticky = map[string]stickiness{}
		}
		st := s.txn.sticky[vc.cluster]
		st.tempTables = st.tempTables || eff.TempTable
		st.lockTables = (st.lockTables || eff.LockTables) && !eff.UnlockTables
		st.connState = st.connState || eff.HoldsConnState
		st.foundRows = eff.CalcFoundRows
		s.txn.sticky[vc.cluster] = st
	}
	for _, t := range eff.ForgetBuckets {
		vc.snap.Buckets.Forget(t.Schema, t.Table)
	}
}

// acquire returns the connection a statement runs on, prepared with the
// session's database and variables, and with a pending BEGIN sent.
func (s *Session) acquire(snap *Snapshot, eff engine.Effects, clusterName string, replica bool) (*held, error) {
	if d := s.txn.dist; d != nil && len(d.branches) > 0 {
		if eff.NamesNoTable {
			// A statement that names no table joins the transaction where
			// the session's previous statement ran, else its first branch.
			if last := s.txn.last; last != nil && d.has(last.cluster()) && s.txn.pinned(last.cluster()) == last {
				return s.synced(last, eff)
			}
			return s.synced(s.txn.pinned(d.branches[0]), eff)
		}
		if d.has(clusterName) {
			return s.synced(s.txn.pinned(clusterName), eff)
		}
		// Otherwise the statement starts this cluster's branch (startTxn).
	} else if open := s.txn.open; open != "" {
		// A transaction lives on one cluster: every statement joins it,
		// those that name no table included.
		if open != clusterName && !eff.NamesNoTable {
			return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET,
				"shardgate: this session's transaction lives on cluster %s; a statement for cluster %s cannot join it (the schema's transactions are single: set transactions: xa or best_effort to let a transaction span clusters)",
				open, clusterName)
		}
		return s.synced(s.txn.pinned(open), eff)
	}
	if last := s.txn.last; eff.NamesNoTable && last != nil && s.txn.pinned(last.cluster()) == last {
		// A statement that names no table belongs where the session's
		// previous statement ran, when the session keeps that connection.
		return s.synced(last, eff)
	}
	if p := s.txn.pinned(clusterName); p != nil && !replica && p.backend.Role == backend.RoleReplica && !eff.NamesNoTable {
		// Only FOUND_ROWS() keeps a replica's connection (the one that ran
		// SQL_CALC_FOUND_ROWS): a statement that must run on the primary
		// ends that pin, and never runs on the replica.
		if st := s.txn.sticky[clusterName]; st.foundRows && !st.tempTables && !st.connState && !st.lockTables && !st.preTxn && !s.txn.holds(clusterName) {
			st.foundRows = false
			s.txn.sticky[clusterName] = st
			s.txn.unpin(p)
			p.backend.Put(p.Conn)
		} else {
			return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: this session is held on a replica of cluster %s, where a statement for the primary cannot run", clusterName)
		}
	}
	if p := s.txn.pinned(clusterName); p != nil {
		if eff.NamesNoTable {
			return s.synced(p, eff)
		}
		if _, err := s.synced(p, eff); err != nil {
			return nil, err
		}
		return s.withPendingTxn(snap, p)
	}
	cluster := snap.Clusters[clusterName]
	if eff.UsesPrevResult {
		return s.reclaimPrev(eff, cluster)
	}
	// A backend found broken leaves rotation and the statement tries the
	// next choice: nothing has run yet, so trying again is always safe.
	// When no choice is left the client hears that its statement was not
	// sent: whatever broke, it broke before the statement was written.
	h, err := s.tryAcquire(snap, eff, cluster, replica)
	if err == nil {
		return h, nil
	}
	return s.acquireAgain(snap, eff, cluster, replica, err)
}

// acquireAgain goes on after a first failed acquire, apart so that the
// common path allocates nothing for errors.As.
func (s *Session) acquireAgain(snap *Snapshot, eff engine.Effects, cluster *backend.Cluster, replica bool, err error) (*held, error) {
	var last *brokenBackend
	for try := 1; ; try++ {
		if !errors.As(err, &last) {
			return nil, err
		}
		last.b.MarkDown(last.err.Error())
		if try > len(cluster.Replicas) {
			return nil, backend.NotSent(last.b.Describe(), last.err)
		}
		var h *held
		if h, err = s.tryAcquire(snap, eff, cluster, replica); err == nil {
			return h, nil
		}
	}
}

// brokenBackend wraps a failure that says the backend itself is unusable.
type brokenBackend struct {
	b   *backend.Backend
	err error
}

func (e *brokenBackend) Error() string { return e.err.Error() }

func (s *Session) tryAcquire(snap *Snapshot, eff engine.Effects, cluster *backend.Cluster, replica bool) (*held, error) {
	b, err := s.target(snap, eff, cluster, replica)
	if err != nil {
		return nil, err
	}
	conn, err := b.Get(s.foundRows, s.id)
	if err != nil {
		if backend.IsUnreachable(err) {
			return nil, &brokenBackend{b, err}
		}
		return nil, err
	}
	if b.Role == backend.RoleReplica {
		fresh, err := s.caughtUp(snap, conn, cluster.Name)
		if err != nil {
			b.Discard(conn)
			return nil, &brokenBackend{b, err}
		}
		if !fresh {
			b.Put(conn)
			b = cluster.Primary
			if conn, err = b.Get(s.foundRows, s.id); err != nil {
				if backend.IsUnreachable(err) {
					return nil, &brokenBackend{b, err}
				}
				return nil, err
			}
		}
	}
	h := &held{Conn: conn, backend: b}
	if err := s.prepare(snap, h, eff); err != nil {
		if engine.Classify(err) == engine.FaultServer {
			// The server refused the session's state: the connection is fine.
			conn.Dirty = true
			b.Put(conn)
			var me *mysql.MyError
			if b.Role == backend.RoleReplica && errors.As(err, &me) && me.Code == mysql.ER_BAD_DB_ERROR {
				// The replica has not applied the CREATE DATABASE yet (made
				// on the primary, not through this proxy, which would have
				// waited for it): the primary answers, or refuses itself.
				onPrimary := eff
				onPrimary.Hint = "primary"
				return s.tryAcquire(snap, onPrimary, cluster, false)
			}
			return nil, err
		}
		b.Discard(conn)
		return nil, &brokenBackend{b, err}
	}
	return h, nil
}

// target picks the server a statement runs on: replicas for reads outside
// a transaction (and for READ ONLY transactions), the primary otherwise,
// unless a routing hint says which.
func (s *Session) target(snap *Snapshot, eff engine.Effects, cluster *backend.Cluster, replica bool) (*backend.Backend, error) {
	inTxn := s.txn.pending != "" || s.state.vars["autocommit"] == "0" || s.txn.dist != nil
	useReplica := replica && !inTxn
	if (s.txn.pending != "" || s.txn.dist != nil) && s.txn.readOnly {
		useReplica = true
	}
	switch eff.Hint {
	case "primary":
		useReplica = false
	case "replica":
		useReplica = !inTxn || s.txn.readOnly
	}
	if useReplica && s.rt.readsToPrimary(cluster.Name) {
		useReplica = false
	}
	if !useReplica {
		if reason := cluster.Primary.Drain(); reason != "" {
			cluster.Primary.DrainHit()
			return nil, wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: the primary of cluster %s (%s) takes no new statements (%s)", cluster.Name, cluster.Primary.Addr, reason)
		}
		return cluster.Primary, nil
	}
	if b := cluster.PickReplica(); b != nil {
		return b, nil
	}
	if snap.Rules.ReplicaFallback == "error" {
		return nil, wire.Errorf(mysql.ER_OPTION_PREVENTS_STATEMENT,
			"shardgate: no healthy replica in cluster %s and replica_fallback is error", cluster.Name)
	}
	return cluster.Primary, nil
}

// prepare carries the session onto a connection: database, variables,
// LAST_INSERT_ID() when the statement reads it, and a pending BEGIN.
func (s *Session) prepare(snap *Snapshot, h *held, eff engine.Effects) error {
	if err := h.UseDB(s.state.db); err != nil {
		return err
	}
	if err := h.SyncVars(s.varsFor(h)); err != nil {
		return err
	}
	if eff.UsesLastInsertID && s.state.lastInsertID != 0 {
		// LAST_INSERT_ID() lives in one connection; give this one the
		// session's value (LAST_INSERT_ID(n) sets it).
		if _, err := h.Exec(fmt.Sprintf("SELECT LAST_INSERT_ID(%d)", s.state.lastInsertID)); err != nil {
			return err
		}
	}
	if eff.NamesNoTable {
		// SET @v or SELECT 1 right after BEGIN reads and writes no data:
		// the transaction starts with the first statement that names a
		// table, on that table's cluster.
		return nil
	}
	return s.startTxn(snap, h)
}

// startTxn sends, on the connection a statement is about to run on, the
// characteristics of the next transaction and a pending BEGIN; in a schema
// whose transactions span clusters, it starts the cluster's branch.
func (s *Session) startTxn(snap *Snapshot, h *held) error {
	if s.txn.noBranch {
		return nil
	}
	if s.txn.dist == nil && s.txn.pending == "" && s.state.vars["autocommit"] == "0" && !s.txn.active() {
		// Under autocommit=0 a transaction starts with the first statement
		// that reads or writes a table.
		s.txn.dist = s.newDist(snap, "", false)
	}
	if d := s.txn.dist; d != nil {
		if d.has(h.cluster()) {
			return nil
		}
		return s.startBranch(snap, h)
	}
	if s.txn.next != "" {
		if _, err := h.Exec(s.txn.next); err != nil {
			return err
		}
		s.txn.next = ""
	}
	if s.txn.pending != "" {
		ok, err := h.Exec(s.txn.pending)
		if err != nil {
			return err
		}
		// The transaction is open now, whatever its first statement does:
		// a failure of that statement must not hand the connection, and
		// the transaction, to the pool.
		s.txn.pending = ""
		s.txn.status = ok.Status | mysql.SERVER_STATUS_IN_TRANS
		s.txn.pin(h, snap)
		s.txn.open = h.cluster()
		s.txn.endPreTxn(h.cluster())
	}
	return nil
}

// synced brings a pinned connection up to the session's database and
// variables: with connections on several clusters, a SET may have run on
// another one.
func (s *Session) synced(h *held, eff engine.Effects) (*held, error) {
	err := h.UseDB(s.state.db)
	if err == nil {
		err = h.SyncVars(s.varsFor(h))
	}
	if err == nil && eff.UsesLastInsertID && s.state.lastInsertID != 0 && !eff.UsesPrevResult {
		// The session's LAST_INSERT_ID() need not be this connection's:
		// an INSERT into a table with a sequence ran on another cluster,
		// or gave the backend explicit values only. (Not when the
		// statement also reads ROW_COUNT() or FOUND_ROWS(), which this
		// SELECT would reset.)
		_, err = h.Exec(fmt.Sprintf("SELECT LAST_INSERT_ID(%d)", s.state.lastInsertID))
	}
	switch engine.Classify(err) {
	case engine.FaultNone:
		return h, nil
	case engine.FaultServer:
		return nil, err
	}
	return nil, s.lost(h, backend.BeforeStatement(err))
}

// withPendingTxn starts a pending transaction on a pinned connection.
func (s *Session) withPendingTxn(snap *Snapshot, h *held) (*held, error) {
	if err := s.startTxn(snap, h); err != nil {
		if engine.Classify(err) == engine.FaultServer {
			return nil, err
		}
		return nil, s.lost(h, backend.BeforeStatement(err))
	}
	return h, nil
}

// settle keeps or returns the connection after a statement: kept while the
// server says a transaction is open on it or it holds connection state.
func (s *Session) settle(h *held) {
	c := h.cluster()
	s.txn.last = h
	if p := s.txn.pinned(c); p != nil && p != h {
		// The session is tied to another connection on this cluster; this
		// one served a step beside it and holds nothing worth keeping.
		// Reset it on the way back to be sure.
		h.Dirty = true
		h.backend.Put(h.Conn)
		return
	}
	switch {
	case s.txn.dist != nil:
		// A distributed transaction's branches start and end explicitly.
	case s.txn.inTransaction() && (s.txn.open == "" || s.txn.open == c):
		s.txn.open = c
	case s.txn.open == c:
		s.txn.closed()
	}
	if s.txn.pending != "" && !s.txn.active() {
		if s.txn.sticky == nil {
			s.txn.sticky = map[string]stickiness{}
		}
		st := s.txn.sticky[c]
		st.preTxn = true
		s.txn.sticky[c] = st
	}
	if s.txn.holds(c) || s.txn.sticky[c].any() {
		s.txn.pin(h, s.snapshot())
		return
	}
	s.txn.unpin(h)
	if s.txn.inTransaction() {
		// A transaction the session cannot keep (another cluster holds its
		// transaction): it must not reach the next user.
		h.Dirty = true
	}
	// The client may ask ROW_COUNT() or FOUND_ROWS() next: keep the
	// connection for this session unless the pool runs short.
	s.txn.prev.h, s.txn.prev.uses = h, h.Uses()
	h.ReservedFor = s.id
	h.backend.Put(h.Conn)
}

// drop discards a connection that broke or is in the middle of a result.
func (s *Session) drop(h *held) {
	c := h.cluster()
	lostBranch := false
	if s.txn.pinned(c) == h {
		if s.txn.open == c {
			s.txn.status = mysql.SERVER_STATUS_AUTOCOMMIT
		}
		if d := s.txn.dist; d != nil && d.has(c) {
			d.remove(c)
			lostBranch = true
		}
		s.txn.unpin(h)
	}
	if s.txn.last == h {
		s.txn.last = nil
	}
	h.backend.Discard(h.Conn)
	if lostBranch {
		// The server rolls back the branch of a connection that is gone
		// (it was not prepared): the whole transaction ends with it, its
		// other branches rolled back, as one server ends one transaction.
		s.abortDist()
	}
}

// lost drops a connection whose exchange failed and says what the client
// hears about it.
func (s *Session) lost(h *held, err error) error {
	if engine.Classify(err) == engine.FaultClient {
		go h.backend.Kill(h.ThreadID)
		s.drop(h)
		return err
	}
	if s.txn.holds(h.cluster()) && s.txn.pinned(h.cluster()) == h {
		// The transaction is gone with its connection: whatever happened
		// to the statement, a retry of it alone is not safe
		// (backend.Lost words it).
		err = backend.InTransaction(err)
	}
	h.backend.Purge()
	s.drop(h)
	return engine.LostConnection(h, h.backend.Cluster, err)
}

// reclaimPrev takes back the connection the previous statement ran on, for
// ROW_COUNT() and FOUND_ROWS(). The pool hands a returned connection to
// others last, so it is usually still there; when it is not, the honest
// answer is an error rather than another connection's count.
func (s *Session) reclaimPrev(eff engine.Effects, cluster *backend.Cluster) (*held, error) {
	h := s.txn.prev.h
	if h == nil || (h.backend.Cluster != cluster.Name && !eff.NamesNoTable) || !h.backend.Reclaim(h.Conn, s.txn.prev.uses) {
		return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET,
			"shardgate: ROW_COUNT() and FOUND_ROWS() need the backend connection of the previous statement, which has been reused since; run both statements in one transaction")
	}
	h.returned = false // lent again
	if err := s.prepare(s.snapshot(), h, eff); err != nil {
		h.Dirty = true
		h.backend.Put(h.Conn)
		return nil, err
	}
	return h, nil
}
