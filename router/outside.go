package router

import (
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
)

// outsideCursor reads for a statement outside the session's transaction:
// every connection is a primary's, borrowed from the pool with the
// session's database and variables and no transaction, and goes straight
// back after. INSERT … SELECT under autocommit uses it to stream its
// source while the rows are written in the statement's own transaction on
// other connections (the session's one connection per cluster cannot read
// and write at once). Only reads run on it.
type outsideCursor struct {
	*cursor
}

// Outside implements engine.OutsideReader: nil when a cluster's primary
// pool cannot lend the read's connections and one more at once.
func (vc *cursor) Outside(need map[string]int) engine.Cursor {
	for cluster, n := range need {
		cl := vc.snap.Clusters[cluster]
		if cl == nil || cl.Primary == nil || !cl.Primary.Spare(n+1) {
			return nil
		}
	}
	return &outsideCursor{vc}
}

func (oc *outsideCursor) Conn(cluster string, replica bool) (engine.Conn, error) {
	s := oc.s
	cl := oc.snap.Clusters[cluster]
	b := cl.Primary
	conn, err := b.Get(s.foundRows, s.id)
	if err != nil {
		if backend.IsUnreachable(err) {
			b.MarkDown(err.Error())
			return nil, backend.NotSent(b.Describe(), err)
		}
		return nil, err
	}
	h := &held{Conn: conn, backend: b}
	if err := h.UseDB(s.state.db); err == nil {
		err = h.SyncVars(outsideVars(s.state.vars))
	}
	if err != nil {
		if engine.Classify(err) == engine.FaultServer {
			conn.Dirty = true
			b.Put(conn)
			return nil, err
		}
		b.Discard(conn)
		return nil, backend.NotSent(b.Describe(), err)
	}
	oc.obs.contacted = true
	if err := s.live.start(h); err != nil {
		b.Put(conn)
		return nil, err
	}
	b.Reads.Add(1)
	return h, nil
}

func (oc *outsideCursor) Release(c engine.Conn, out *backend.Outcome, err error) {
	h := c.(*held)
	oc.s.live.stop(h)
	switch engine.Classify(err) {
	case engine.FaultClient:
		go h.backend.Kill(h.ThreadID)
		h.backend.Discard(h.Conn)
		return
	case engine.FaultBroken:
		h.backend.Discard(h.Conn)
		return
	}
	if out != nil && out.Status&mysql.SERVER_STATUS_IN_TRANS != 0 {
		h.Dirty = true // never hand an open transaction on
	}
	h.backend.Put(h.Conn)
}

func (oc *outsideCursor) Lost(c engine.Conn, err error) error {
	h := c.(*held)
	oc.Release(c, nil, err)
	return engine.LostConnection(h, h.backend.Cluster, err)
}

// Retry: reads here run on primaries, with no other server to try.
func (oc *outsideCursor) Retry(c engine.Conn, attempt int) bool { return false }

// Sequential: these connections are the statement's own, so its inputs
// may stream at once.
func (oc *outsideCursor) Sequential() bool { return false }

func (oc *outsideCursor) Atomic([]string) (func(error) error, error) { return nil, nil }

// outsideVars are the session's variables with autocommit on: a read
// here must not open a transaction of its own.
func outsideVars(vars map[string]string) map[string]string {
	if v, ok := vars["autocommit"]; !ok || v != "0" {
		return vars
	}
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		out[k] = v
	}
	out["autocommit"] = "1"
	return out
}

// Spare implements engine.SpareConns: every server a read of each
// cluster may go to (its primary and replicas) could lend n connections
// at once. A join in the proxy asks before it keeps its driving side
// streaming while it looks rows up on the same cluster.
func (vc *cursor) Spare(need map[string]int) bool {
	for cluster, n := range need {
		cl := vc.snap.Clusters[cluster]
		if cl == nil || cl.Primary == nil || !cl.Primary.Spare(n) {
			return false
		}
		for _, r := range cl.Replicas {
			if !r.Spare(n) {
				return false
			}
		}
	}
	return true
}
