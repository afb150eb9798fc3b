package router

import (
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/wire"
)

// LOCK TABLES over clusters (README: LOCK TABLES). The planner gives one
// LOCK TABLES per cluster (every physical table of the logical ones);
// the session runs them one after another in cluster order on
// connections it then keeps (pinned, sticky lockTables) until UNLOCK
// TABLES, the next LOCK TABLES or the end of the session. As on one
// server, LOCK TABLES first releases what the session had locked and
// commits its transaction, and fails whole: a cluster that refuses its
// part has the parts already taken released again.

// Under autocommit=0 the server opens a transaction with LOCK TABLES, and
// UNLOCK TABLES commits it. The proxy keeps those as the local branches
// of one transaction (a distTxn without XA: XA START cannot join a
// transaction already open), whatever the schema's mode: COMMIT commits
// them cluster after cluster (best_effort's guarantee, not xa's), and
// UNLOCK TABLES commits it first, as one server does.

// tableLocks is what the session's LOCK TABLES holds.
type tableLocks struct {
	// st is the LOCK TABLES statement and facts the session state it was
	// planned with: planned again when an hourly table gains a bucket,
	// so that the bucket is locked too.
	st    *parser.Statement
	facts planner.Facts
	// sql is, per cluster, the LOCK TABLES statement its connection ran.
	sql map[string]string
}

// lockTables runs LOCK TABLES.
func (s *Session) lockTables(snap *Snapshot, st *parser.Statement, w ResultWriter, obs *observation) error {
	p, err := s.plan(snap, st)
	if err != nil {
		return err
	}
	if err := s.unlockTables(); err != nil {
		return err
	}
	if err := s.commitOpen(snap); err != nil {
		return err
	}
	locks := &tableLocks{st: st, facts: s.state.facts(), sql: map[string]string{}}
	s.txn.locks = locks
	for _, r := range lockRoutes(p.Root) {
		obs.contacted = true
		if err := s.lockOn(snap, p.Effects, r.Cluster, r.SQL); err != nil {
			// All or nothing, as on one server.
			if uerr := s.unlockTables(); uerr != nil {
				s.rt.Log.Warn("releasing a partly taken LOCK TABLES failed", "err", uerr)
			}
			return err
		}
	}
	return s.writeOK(w, wire.OK{})
}

// lockRoutes lists a LOCK TABLES plan's routes.
func lockRoutes(root engine.Primitive) []*engine.Route {
	switch n := root.(type) {
	case *engine.Route:
		return []*engine.Route{n}
	case *engine.Fanout:
		return n.Routes
	}
	return nil
}

// lockOn runs sql (a LOCK TABLES) on the session's connection to cluster
// and keeps that connection for the session.
func (s *Session) lockOn(snap *Snapshot, eff engine.Effects, cluster, sql string) error {
	h, err := s.acquire(snap, eff, cluster, false)
	if err != nil {
		return err
	}
	if err := s.live.start(h); err != nil {
		s.settle(h)
		return err
	}
	ok, err := h.Exec(sql)
	s.live.stop(h)
	switch engine.Classify(err) {
	case engine.FaultNone:
	case engine.FaultServer:
		s.settle(h)
		return err
	default:
		return s.lost(h, err)
	}
	s.txn.status = ok.Status
	if ok.Status&mysql.SERVER_STATUS_IN_TRANS != 0 {
		// autocommit=0: the lock opened a transaction on this connection.
		if s.txn.dist == nil {
			s.txn.dist = &distTxn{}
		}
		if d := s.txn.dist; !d.xa && !d.has(cluster) {
			d.branches = append(d.branches, cluster)
		}
	}
	if s.txn.sticky == nil {
		s.txn.sticky = map[string]stickiness{}
	}
	st := s.txn.sticky[cluster]
	st.lockTables = true
	s.txn.sticky[cluster] = st
	s.txn.locks.sql[cluster] = sql
	s.settle(h)
	return nil
}

// unlockTables releases every lock the session's LOCK TABLES holds, on
// every cluster, and lets go of connections nothing else keeps.
func (s *Session) unlockTables() error {
	if !s.lockedTables() {
		s.txn.locks = nil
		return nil
	}
	// UNLOCK TABLES commits the transaction when tables were locked.
	if s.txn.dist != nil {
		warning, err := s.endDist(true)
		if err != nil {
			return err
		}
		if warning != "" {
			s.rt.Log.Warn(warning)
		}
	}
	if err := s.commitOpen(s.snapshot()); err != nil {
		return err
	}
	var first error
	for c, st := range s.txn.sticky {
		if !st.lockTables {
			continue
		}
		h := s.txn.pinned(c)
		if h == nil {
			continue
		}
		ok, err := h.Exec("UNLOCK TABLES")
		switch engine.Classify(err) {
		case engine.FaultNone:
			s.txn.status = ok.Status
		case engine.FaultServer:
			// The locks stay with the connection: it must not serve
			// anyone else before a reset.
			h.Dirty = true
			if first == nil {
				first = err
			}
		default:
			// Gone with its connection, and its locks with it.
			s.drop(h)
			continue
		}
		st.lockTables = false
		s.txn.sticky[c] = st
		if !st.any() && !s.txn.holds(c) {
			s.txn.unpin(h)
			h.backend.Put(h.Conn)
		}
	}
	s.txn.locks = nil
	return first
}

// unlockStatement is UNLOCK TABLES. With nothing locked it reaches no
// backend, as a server answers it then (mariadb-dump
// --single-transaction sends it right after START TRANSACTION).
func (s *Session) unlockStatement(w ResultWriter) error {
	if err := s.unlockTables(); err != nil {
		return err
	}
	return s.writeOK(w, wire.OK{})
}

// commitOpen commits a single-cluster transaction before a statement that
// commits implicitly but runs on other clusters too (LOCK TABLES, START
// TRANSACTION WITH CONSISTENT SNAPSHOT), as one server would.
func (s *Session) commitOpen(snap *Snapshot) error {
	c := s.txn.open
	if c == "" {
		return nil
	}
	h := s.txn.pinned(c)
	if h == nil {
		return nil
	}
	ok, err := h.Exec("COMMIT")
	switch engine.Classify(err) {
	case engine.FaultNone:
	case engine.FaultServer:
		return err
	default:
		return s.lost(h, backend.BeforeStatement(err))
	}
	s.txn.status = ok.Status
	s.noteWriteGTID(snap, h)
	s.txn.closed()
	s.settle(h)
	return nil
}

// relock extends the session's LOCK TABLES to hourly buckets created
// since (ahead of time, by this statement, another client or another
// proxy), before each statement under the lock and after a statement
// creates a bucket: the lock statement is
// planned again and run again on each cluster whose table list changed.
// MariaDB's LOCK TABLES releases the connection's locks before taking
// the new ones, so between the two other sessions may reach that
// cluster's tables for a moment (README: LOCK TABLES).
func (s *Session) relock(snap *Snapshot) error {
	locks := s.txn.locks
	if locks == nil {
		return nil
	}
	p, err := snap.Planner.Plan(locks.st, locks.facts)
	if err != nil {
		return err
	}
	for _, r := range lockRoutes(p.Root) {
		if locks.sql[r.Cluster] == r.SQL {
			continue
		}
		if err := s.lockOn(snap, p.Effects, r.Cluster, r.SQL); err != nil {
			return err
		}
		// Under autocommit=0 that LOCK TABLES committed the cluster's
		// transaction and opened another: the savepoints of the
		// transaction (the running statement's among them) are set again,
		// as for a branch that starts late.
		if d, h := s.txn.dist, s.txn.pinned(r.Cluster); d != nil && h != nil && d.has(r.Cluster) {
			for _, sp := range d.savepoints {
				if _, err := h.Exec("SAVEPOINT " + parser.QuoteIdent(sp)); err != nil {
					if engine.Classify(err) == engine.FaultServer {
						return err
					}
					return s.lost(h, err)
				}
			}
		}
	}
	return nil
}
