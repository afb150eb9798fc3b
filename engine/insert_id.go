package engine

import (
	"fmt"
	"strconv"
	"strings"
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
	// one instead of being inserted, or INSERT IGNORE, where it may be
	// skipped; its generated value then goes unused.
	Upsert bool
	// Steps are the input's backend steps in order: how many rows each
	// sends and its first generated value (0: none), so that an upsert's
	// insert id is the first value of a step that inserted rows.
	Steps []SeqStep
}

// SeqStep is one backend step of a sequenced INSERT.
type SeqStep struct {
	Cluster string
	Rows    int
	First   int64
	// Last: the step holds the statement's last row, whose id MariaDB
	// reports when no generated value was used (an explicit value, or
	// the id of the row an upsert updated).
	Last bool
	// Check, for an upsert's step with several generated values, reads
	// the smallest of them that a row holds, on the step's connection
	// right after it: run when the answer says some rows but not all were
	// duplicates.
	Check string
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
	sc := &seqCursor{Cursor: vc, s: s, step: map[Conn]int{}, borrows: map[string]int{}}
	return s.Input.Execute(sc, &seqWriter{ResultWriter: w, sc: sc})
}

// seqCursor watches the steps' OK packets (how many rows each inserted,
// how many were duplicates) and gives the session the insert id.
type seqCursor struct {
	Cursor
	s *SequenceIDs
	// mu: steps may be released from several goroutines.
	mu sync.Mutex
	// step maps a borrowed connection to the step it runs. The steps of
	// one cluster borrow connections in route order (a Fanout runs all
	// its steps one by one); should steps on different clusters run at
	// once, each cluster's steps are still told apart by the order of
	// their borrows. An answer whose row count does not fit its step
	// makes the insert id fall back to the first generated value.
	step    map[Conn]int
	borrows map[string]int // per cluster: steps borrowed so far
	// inserted is the smallest generated value known to be in an
	// inserted row (0: none); seen counts the steps' answers read;
	// mismatch: an answer did not fit its step.
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
	// pending: a single step's success waits for its check (see
	// SeqStep.Check), which runs when its connection is released.
	pending   bool
	pendingOK wire.OK
}

func (c *seqCursor) Conn(cluster string, replica bool) (Conn, error) {
	conn, err := c.Cursor.Conn(cluster, replica)
	if err == nil {
		c.mu.Lock()
		k := c.borrows[cluster]
		c.borrows[cluster] = k + 1
		c.step[conn] = c.stepOf(cluster, k)
		c.mu.Unlock()
	}
	return conn, err
}

// stepOf is the index of the k-th step on cluster (len(Steps) if none).
func (c *seqCursor) stepOf(cluster string, k int) int {
	for i, st := range c.s.Steps {
		if st.Cluster == cluster {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return len(c.s.Steps)
}

func (c *seqCursor) Release(conn Conn, out *backend.Outcome, err error) {
	c.mu.Lock()
	if i, ok := c.step[conn]; ok && out != nil && out.Err == nil && err == nil {
		err = c.note(i, out.OK, conn)
	}
	delete(c.step, conn)
	pending := c.pending
	c.pending = false
	c.mu.Unlock()
	if pending {
		c.succeed(c.pendingOK)
	}
	c.Cursor.Release(conn, out, err)
}

// counts reads a step's OK packet: a multi-row INSERT's says "Records: N
// Duplicates: D  Warnings: W"; a one-row INSERT's says nothing, and its
// affected rows tell: 1 inserted, 2 updated, 0 unchanged.
func counts(ok wire.OK) (rec, dup uint64) {
	var warn uint64
	if i := strings.Index(ok.Info, "Records: "); i >= 0 {
		if n, _ := fmt.Sscanf(ok.Info[i:], "Records: %d  Duplicates: %d  Warnings: %d", &rec, &dup, &warn); n >= 2 {
			return rec, dup
		}
	}
	if ok.AffectedRows != 1 {
		return 1, 1
	}
	return 1, 0
}

// mixed: the step's rows were partly inserted, partly duplicates, and a
// check says which generated values were used.
func (c *seqCursor) mixed(i int, ok wire.OK) bool {
	if !c.s.Upsert || i >= len(c.s.Steps) || c.s.Steps[i].Check == "" {
		return false
	}
	rec, dup := counts(ok)
	return dup > 0 && dup < rec
}

// note takes in one step's answer (a row skipped by IGNORE counts as a
// duplicate: affected 0, or in "Duplicates:"), running its check on conn when the
// answer leaves open which rows were inserted. The error is one that
// broke conn (nil otherwise: a failed check falls back to the step's
// first generated value).
func (c *seqCursor) note(i int, ok wire.OK, conn Conn) error {
	if i >= len(c.s.Steps) {
		c.mismatch = true
		return nil
	}
	st := c.s.Steps[i]
	c.seen++
	if st.Last {
		c.lastID = ok.InsertID
	}
	rec, dup := counts(ok)
	if rec != uint64(st.Rows) {
		c.mismatch = true
	}
	if st.First == 0 || dup >= rec {
		return nil
	}
	used := st.First
	var broke error
	if c.mixed(i, ok) && conn != nil {
		res, _, err := conn.Query(st.Check)
		switch {
		case err == nil && len(res.Rows) == 1 && len(res.Rows[0]) == 1:
			used = 0
			if v := res.Rows[0][0]; v != nil {
				used, _ = strconv.ParseInt(*v, 10, 64)
			}
		case Classify(err) == FaultBroken:
			broke = err
		}
	}
	if used > 0 && (c.inserted == 0 || used < c.inserted) {
		c.inserted = used
	}
	return broke
}

// decide works out the insert id once, from the steps' answers or, for a
// single step whose OK packet streams through before its connection is
// released, from that packet.
func (c *seqCursor) decide(ok wire.OK) {
	if c.decided {
		return
	}
	c.decided = true
	if c.seen == 0 && len(c.s.Steps) == 1 {
		c.note(0, ok, nil)
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

// holds reports whether a single step's answer must wait for its check.
func (c *seqCursor) holds(ok wire.OK) bool {
	return len(c.s.Steps) == 1 && c.seen == 0 && c.mixed(0, ok)
}

func (c *seqCursor) Succeeded(ok wire.OK) {
	c.mu.Lock()
	if c.holds(ok) {
		c.pending, c.pendingOK = true, ok
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.succeed(ok)
}

func (c *seqCursor) succeed(ok wire.OK) {
	c.mu.Lock()
	c.decide(ok)
	ok.InsertID = 0
	if c.sets {
		ok.InsertID = c.id
	}
	c.mu.Unlock()
	c.Cursor.Succeeded(ok)
}

// seqWriter puts the insert id into the OK packet the client gets; a
// single step's packet waiting for its check is written at Flush.
type seqWriter struct {
	ResultWriter
	sc   *seqCursor
	held *wire.OK
}

func (w *seqWriter) WritePacket(p []byte) error {
	ok, good := wire.ParseOK(p)
	if !good {
		return w.ResultWriter.WritePacket(p)
	}
	w.sc.mu.Lock()
	defer w.sc.mu.Unlock()
	if w.sc.holds(ok) {
		w.held = &ok
		return nil
	}
	return w.write(ok, p)
}

func (w *seqWriter) write(ok wire.OK, p []byte) error {
	w.sc.decide(ok)
	if w.sc.rewrite {
		ok.InsertID = w.sc.id
		p = wire.AppendOK(nil, ok)
	}
	return w.ResultWriter.WritePacket(p)
}

func (w *seqWriter) Flush() error {
	if w.held != nil {
		ok := *w.held
		w.held = nil
		w.sc.mu.Lock()
		err := w.write(ok, wire.AppendOK(nil, ok))
		w.sc.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return w.ResultWriter.Flush()
}
