package router

import (
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// START TRANSACTION WITH CONSISTENT SNAPSHOT (docs/transactions.md:
// Consistent snapshots). One server takes one snapshot of every table at
// once. Over clusters there is no such thing; what the proxy gives is a
// snapshot per cluster, each taken when the START runs (not lazily at the
// transaction's first read of that cluster, as other transactions' branches
// are): a local START TRANSACTION WITH CONSISTENT SNAPSHOT on every
// cluster the session may read, one after another. Rows of one cluster are
// consistent with each other; two clusters' snapshots are some
// milliseconds apart, so a transaction another client commits on two
// clusters meanwhile may be seen on one and not the other.
//
// The branches are local transactions (XA START takes no snapshot), so
// such a transaction may write to one cluster only: it then commits
// atomically (the others hold only reads). A write for a second cluster
// is refused (1235) rather than committed non-atomically.

// beginSnapshot is START TRANSACTION WITH CONSISTENT SNAPSHOT.
func (s *Session) beginSnapshot(snap *Snapshot, st *parser.Statement, w ResultWriter) error {
	// A transaction in progress is committed first, as by any BEGIN.
	if s.txn.dist != nil {
		warning, err := s.endDist(true)
		if err != nil {
			return err
		}
		if warning != "" {
			s.rt.Log.Warn(warning)
		}
	}
	if err := s.commitOpen(snap); err != nil {
		return err
	}
	if err := s.startSnapshot(snap, st.SQL, st.ReadOnlyTxn); err != nil {
		return err
	}
	return s.writeOK(w, wire.OK{})
}

// startSnapshot starts a consistent-snapshot transaction with begin (the
// client's START TRANSACTION … WITH CONSISTENT SNAPSHOT): its branches
// start now, each cluster's acquire sending begin (startBranch). On an
// error none is left open.
func (s *Session) startSnapshot(snap *Snapshot, begin string, readOnly bool) error {
	s.txn.begin(begin, readOnly, snap)
	s.txn.dist = &distTxn{begin: begin, snapshot: true}
	eff := engine.Effects{CountsAsRead: true}
	for _, c := range s.snapshotClusters(snap) {
		h, err := s.acquire(snap, eff, c, readOnly)
		if err != nil {
			s.abortDist()
			s.txn.end()
			return err
		}
		s.settle(h)
	}
	return nil
}

// snapshotClusters are the clusters the session may read: those of every
// schema its user may reach, in a fixed order (each schema's default
// cluster first).
func (s *Session) snapshotClusters(snap *Snapshot) []string {
	var out []string
	seen := map[string]bool{}
	for _, name := range snap.schemaNames() {
		if snap.Rules.Schemas[name] == nil || dbAccess(s.client.Account, "", name) != nil {
			continue // information_schema and the like: no cluster of their own
		}
		for _, c := range snap.Planner.SchemaClusters(name) {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// snapshotWrite checks a statement that may write on cluster inside a
// consistent-snapshot transaction: the first cluster written is the only
// one that may be.
func (s *Session) snapshotWrite(eff engine.Effects, cluster string) error {
	d := s.txn.dist
	if d == nil || !d.snapshot || eff.CountsAsRead || eff.NamesNoTable || s.txn.noBranch {
		return nil
	}
	switch d.written {
	case "":
		d.written = cluster
	case cluster:
	default:
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET,
			"shardgate: a transaction started WITH CONSISTENT SNAPSHOT may write to one cluster only (it wrote to %s; this statement writes to %s): its branches are local transactions; use BEGIN for a transaction that writes to several clusters",
			d.written, cluster)
	}
	return nil
}
