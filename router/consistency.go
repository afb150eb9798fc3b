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

// noteWriteGTID remembers the GTID of a committed write.
func (s *Session) noteWriteGTID(snap *Snapshot, h *held) {
	on, _ := s.sessionConsistency(snap)
	if !on || h.backend.Role != backend.RolePrimary || s.txn.inTransaction() {
		return
	}
	res, _, err := h.Query("SELECT @@last_gtid")
	if engine.Classify(err) == engine.FaultBroken {
		// The statement succeeded but the connection broke afterwards: the
		// reset on return fails and the pool drops it.
		h.Dirty = true
		return
	}
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] == nil || *res.Rows[0][0] == "" {
		return
	}
	if s.state.lastGTID == nil {
		s.state.lastGTID = map[string]string{}
	}
	s.state.lastGTID[h.backend.Cluster] = *res.Rows[0][0]
}

// caughtUp waits, up to causal_timeout, for a replica to apply the session's
// last write on that cluster. false sends the read to the primary; an error
// means the connection broke.
func (s *Session) caughtUp(snap *Snapshot, c *backend.Conn, cluster string) (bool, error) {
	on, timeout := s.sessionConsistency(snap)
	gtid := s.state.lastGTID[cluster]
	if !on || gtid == "" {
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
	return len(res.Rows) == 1 && res.Rows[0][0] != nil && *res.Rows[0][0] == "0", nil
}
