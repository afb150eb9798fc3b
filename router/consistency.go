package router

import (
	"fmt"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
)

// Read-your-writes (consistency: session): after a write the session
// remembers its GTID per cluster, and a later read on that cluster waits
// for a replica to apply it, or goes to the primary.

// sessionConsistency reports whether reads must see the session's writes.
func (s *Session) sessionConsistency(snap *Snapshot) (bool, float64) {
	schema := snap.Rules.Schemas[s.state.db]
	if schema == nil {
		schema = snap.Rules.DefaultSchema()
	}
	return schema.Consistency == "session", schema.CausalTimeout.Seconds()
}

// noteWriteGTID notes that the session wrote on h's cluster. The position
// to wait for is read from the primary when a read needs it, not here:
// a query on the write's own connection would replace what ROW_COUNT() and
// the diagnostics of the write report.
func (s *Session) noteWriteGTID(snap *Snapshot, h *held) {
	on, _ := s.sessionConsistency(snap)
	if !on || h.backend.Role != backend.RolePrimary || s.txn.inTransaction() {
		return
	}
	if s.state.wrote == nil {
		s.state.wrote = map[string]bool{}
	}
	s.state.wrote[h.cluster()] = true
}

// noteBucketsFound is told that this instance just learnt of hourly
// buckets that exist on the primaries of clusters: their replicas may not
// have applied the CREATE TABLE yet (nor the rows written since). With
// consistency: session the session reads those clusters as after a write
// of its own, on a replica that has caught up with the primary or on the
// primary; otherwise it returns true: the statement reads on primaries.
func (s *Session) noteBucketsFound(snap *Snapshot, clusters []string) (onPrimary bool) {
	if on, _ := s.sessionConsistency(snap); !on {
		return true
	}
	if s.state.wrote == nil {
		s.state.wrote = map[string]bool{}
	}
	for _, c := range clusters {
		s.state.wrote[c] = true
	}
	return false
}

// writePosition is the GTID position a replica must reach to show the
// session's writes on cluster: the primary's binlog position, read once
// after each write, on a pooled connection other than the session's own.
func (s *Session) writePosition(snap *Snapshot, cluster string) string {
	if s.state.wrote[cluster] {
		primary := snap.Clusters[cluster].Primary
		c, err := primary.Get(s.foundRows, 0)
		if err != nil {
			return ""
		}
		res, _, err := c.Query("SELECT @@gtid_binlog_pos")
		if engine.Classify(err) == engine.FaultBroken {
			primary.Discard(c)
			return ""
		}
		primary.Put(c)
		if err != nil || len(res.Rows) != 1 || res.Rows[0][0] == nil {
			return ""
		}
		if s.state.lastGTID == nil {
			s.state.lastGTID = map[string]string{}
		}
		s.state.lastGTID[cluster] = *res.Rows[0][0]
		delete(s.state.wrote, cluster)
	}
	return s.state.lastGTID[cluster]
}

// caughtUp waits, up to causal_timeout, for a replica to apply the session's
// last write on that cluster. false sends the read to the primary; an error
// means the connection broke.
func (s *Session) caughtUp(snap *Snapshot, c *backend.Conn, cluster string) (bool, error) {
	on, timeout := s.sessionConsistency(snap)
	if !on {
		return true, nil
	}
	gtid := s.writePosition(snap, cluster)
	if gtid == "" {
		// Not known: a position could not be read after a write.
		return !s.state.wrote[cluster], nil
	}
	if s.state.appliedOn[c.Addr()] == gtid {
		// This replica applied the position already: a replica does not
		// undo what it applied, so the wait would answer at once.
		return true, nil
	}
	res, _, err := c.Query(fmt.Sprintf("SELECT MASTER_GTID_WAIT(%s, %g)", parser.QuoteString(gtid), timeout))
	switch engine.Classify(err) {
	case engine.FaultServer:
		return false, nil
	case engine.FaultNone:
	default:
		return false, err
	}
	applied := len(res.Rows) == 1 && res.Rows[0][0] != nil && *res.Rows[0][0] == "0"
	if applied {
		if s.state.appliedOn == nil {
			s.state.appliedOn = map[string]string{}
		}
		s.state.appliedOn[c.Addr()] = gtid
	}
	return applied, nil
}
