package engine

import (
	"fmt"
	"sync"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// SequenceIDs reports, for an INSERT whose rows got values from a global
// sequence (the proxy wrote them into the statement), the insert id one
// MariaDB would give: the value of the first row, in row order, that got
// a generated value and was inserted, in the OK packet and as the
// session's LAST_INSERT_ID(). The backends' own insert ids say nothing
// useful here: to them every value is explicit.
type SequenceIDs struct {
	Input Primitive
	// Column names the sequence, schema.table.column, for EXPLAIN.
	Column string
	// First is the first generated value; Count how many rows got one
	// (consecutive from First). Count 0: every row gave its own value,
	// and LAST_INSERT_ID() does not change, as in MariaDB.
	First int64
	Count int
	// Upsert: ON DUPLICATE KEY UPDATE, where a row may update an existing
	// one instead of being inserted, and its generated value goes unused.
	Upsert bool
	// Steps are the input's backend steps in order: how many rows each
	// sends and its first generated value (0: none), so that an upsert's
	// insert id is the first value of a step that inserted rows.
	Steps []SeqStep
}

// SeqStep is one backend step of a sequenced INSERT.
type SeqStep struct {
	Rows  int
	First int64
	// Last: the step holds the statement's last row, whose id MariaDB
	// reports when no generated value was used (an explicit value, or
	// the id of the row an upsert updated).
	Last bool
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
	sc := &seqCursor{Cursor: vc, s: s, step: map[Conn]int{}}
	return s.Input.Execute(sc, &seqWriter{ResultWriter: w, sc: sc})
}

// seqCursor watches the steps' OK packets (how many rows each inserted,
// how many were duplicates) and gives the session the insert id.
type seqCursor struct {
	Cursor
	s *SequenceIDs
	// mu: steps may be released from several goroutines.
	mu sync.Mutex
	// step maps a borrowed connection to the step it runs: steps borrow
	// connections in route order (a Fanout runs them one by one).
	step    map[Conn]int
	borrows int
	// inserted is the smallest first value of a step that inserted rows
	// (0: none); seen counts the steps' answers read; mismatch: an answer
	// did not fit its step.
	inserted int64
	seen     int
	mismatch bool
	decided  bool
	// lastID is the insert id of the step holding the last row.
	lastID uint64
	// id is the insert id the client hears when rewrite is set (else the
	// backend's stands); sets: LAST_INSERT_ID() becomes id.
	id            uint64
	rewrite, sets bool
}

func (c *seqCursor) Conn(cluster string, replica bool) (Conn, error) {
	conn, err := c.Cursor.Conn(cluster, replica)
	if err == nil {
		c.mu.Lock()
		c.step[conn] = c.borrows
		c.borrows++
		c.mu.Unlock()
	}
	return conn, err
}

func (c *seqCursor) Release(conn Conn, out *backend.Outcome, err error) {
	c.mu.Lock()
	if i, ok := c.step[conn]; ok && out != nil && out.Err == nil && err == nil {
		c.note(i, out.OK)
	}
	delete(c.step, conn)
	c.mu.Unlock()
	c.Cursor.Release(conn, out, err)
}

// note reads one step's OK packet. A multi-row INSERT's says "Records: N
// Duplicates: D  Warnings: W"; a one-row INSERT's says nothing, and its
// affected rows tell: 1 inserted, 2 updated, 0 unchanged.
func (c *seqCursor) note(i int, ok wire.OK) {
	if i >= len(c.s.Steps) {
		return
	}
	st := c.s.Steps[i]
	c.seen++
	if st.Last {
		c.lastID = ok.InsertID
	}
	var rec, dup, warn uint64
	if n, _ := fmt.Sscanf(ok.Info, "Records: %d  Duplicates: %d  Warnings: %d", &rec, &dup, &warn); n < 2 {
		rec, dup = 1, 0
		if ok.AffectedRows != 1 {
			dup = 1
		}
	}
	if rec != uint64(st.Rows) {
		c.mismatch = true
	}
	if st.First > 0 && dup < rec && (c.inserted == 0 || st.First < c.inserted) {
		// Some row of the step was inserted. Its values increase in row
		// order; when only some rows were, the servers do not say which,
		// and the step's first generated value stands for them.
		c.inserted = st.First
	}
}

// decide works out the insert id once, when the OK packet is written or
// the statement's success recorded, whichever comes first. A single step
// streams its OK packet before its connection is released: its own
// packet is its answer then.
func (c *seqCursor) decide(ok wire.OK) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.decided {
		return
	}
	c.decided = true
	if c.seen == 0 && len(c.s.Steps) == 1 {
		c.note(0, ok)
	}
	generated := func(v int64) { c.id, c.rewrite, c.sets = uint64(v), true, true }
	switch {
	case c.s.Count > 0 && !c.s.Upsert:
		generated(c.s.First)
	case c.s.Count > 0 && (c.seen != len(c.s.Steps) || c.mismatch):
		// The steps' answers could not be matched: every row may have
		// been inserted, and the first value is the best guess.
		generated(c.s.First)
	case c.s.Count > 0 && c.inserted > 0:
		generated(c.inserted)
	case c.seen == len(c.s.Steps) && !c.mismatch:
		// No generated value was used (explicit values, or an upsert
		// that updated): LAST_INSERT_ID() stays, and the client hears the
		// last row's id as one MariaDB gives it, from its step.
		c.id, c.rewrite = c.lastID, true
	}
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
		if w.sc.rewrite {
			ok.InsertID = w.sc.id
			p = wire.AppendOK(nil, ok)
		}
	}
	return w.ResultWriter.WritePacket(p)
}
