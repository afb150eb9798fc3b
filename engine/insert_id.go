package engine

import (
	"fmt"
	"sync"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// SequenceIDs reports, for an INSERT whose rows got values from a global
// sequence (the proxy wrote them into the statement), the insert id one
// MariaDB would: the first generated value that went into an inserted
// row, in the OK packet and as the session's LAST_INSERT_ID(). The
// backends' own insert ids say nothing useful here: to them every value
// is explicit.
type SequenceIDs struct {
	Input Primitive
	// Column names the sequence, schema.table.column, for EXPLAIN.
	Column string
	// First is the value of the first row that got one; Count how many
	// rows got values (consecutive from First). Count 0: every row gave
	// its own value, and LAST_INSERT_ID() does not change, as in MariaDB.
	First int64
	Count int
	// Upsert: ON DUPLICATE KEY UPDATE, where a row may update an existing
	// one instead, and its generated value then goes unused.
	Upsert bool
}

func (s *SequenceIDs) Inputs() []Primitive { return []Primitive{s.Input} }

func (s *SequenceIDs) Describe() string { return "SequenceIDs " + s.mergeSummary() }

func (s *SequenceIDs) mergeSummary() string {
	if s.Count == 0 {
		return fmt.Sprintf("sequence %s: explicit values only", s.Column)
	}
	return fmt.Sprintf("sequence %s: %d value(s) from %d", s.Column, s.Count, s.First)
}

func (s *SequenceIDs) Execute(vc Cursor, w ResultWriter) error {
	sc := &seqCursor{Cursor: vc, s: s}
	return s.Input.Execute(sc, &seqWriter{ResultWriter: w, sc: sc})
}

// seqCursor watches the steps' OK packets (how many rows each inserted
// and how many were duplicates) and gives the session the insert id.
type seqCursor struct {
	Cursor
	s *SequenceIDs
	// mu: steps may be released from several goroutines.
	mu sync.Mutex
	// records and dups add up the steps' "Records: N  Duplicates: D";
	// steps counts the OK packets seen.
	records, dups uint64
	steps         int
	decided       bool
	id            uint64 // the insert id the client hears; 0: the backend's stands
	sets          bool   // LAST_INSERT_ID() becomes id
}

func (c *seqCursor) Release(conn Conn, out *backend.Outcome, err error) {
	if out != nil && out.Err == nil && err == nil {
		c.mu.Lock()
		c.note(out.OK)
		c.mu.Unlock()
	}
	c.Cursor.Release(conn, out, err)
}

// note counts one step's rows. A multi-row INSERT's OK packet says
// "Records: N  Duplicates: D  Warnings: W"; a one-row INSERT's says
// nothing, and its affected rows tell: 1 inserted, 2 updated, 0 unchanged.
func (c *seqCursor) note(ok wire.OK) {
	c.steps++
	var rec, dup, warn uint64
	if n, _ := fmt.Sscanf(ok.Info, "Records: %d  Duplicates: %d  Warnings: %d", &rec, &dup, &warn); n >= 2 {
		c.records += rec
		c.dups += dup
		return
	}
	c.records++
	if ok.AffectedRows != 1 {
		c.dups++
	}
}

// decide works out the insert id once, from the steps' OK packets or,
// for a single step whose answer streams, from its own.
func (c *seqCursor) decide(ok wire.OK) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.decided {
		return
	}
	c.decided = true
	if c.s.Count == 0 {
		return
	}
	if c.s.Upsert {
		if c.steps == 0 {
			c.note(ok)
		}
		if c.dups >= c.records {
			// Every row updated (or left) an existing one: no generated
			// value was used, LAST_INSERT_ID() stays, and the client
			// hears the backend's id, as from one MariaDB.
			return
		}
		// Some row was inserted. When some others were duplicates,
		// which rows were is not told by the servers: the first
		// generated value is reported (see README, Global sequences).
	}
	c.id, c.sets = uint64(c.s.First), true
}

func (c *seqCursor) Succeeded(ok wire.OK) {
	c.decide(ok)
	ok.InsertID = 0
	if c.sets {
		ok.InsertID = c.id
	}
	c.Cursor.Succeeded(ok)
}

// seqWriter puts the insert id into the OK packet the client gets.
type seqWriter struct {
	ResultWriter
	sc *seqCursor
}

func (w *seqWriter) WritePacket(p []byte) error {
	if ok, good := wire.ParseOK(p); good {
		w.sc.decide(ok)
		if w.sc.sets {
			ok.InsertID = w.sc.id
			p = wire.AppendOK(nil, ok)
		}
	}
	return w.ResultWriter.WritePacket(p)
}
