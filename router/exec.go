package router

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// execute runs a plan: one step streams straight through; several steps
// are read concurrently and concatenated, or written one after another.
func (s *Session) execute(st *parser.Statement, p *Plan, w ResultWriter) error {
	if err := s.rt.ensureBuckets(p.Ensure); err != nil {
		return err
	}
	switch {
	case p.ShowCreate:
		return s.showCreate(st, p, w)
	case len(p.Steps) == 1 && p.Merge != MergeAllSucceed && p.Spec == nil:
		return s.runStep(st, p, p.Steps[0], w)
	case p.Spec != nil:
		s.route = "scatter"
		if p.MetaSQL != "" {
			if err := s.readMeta(st, p); err != nil {
				return err
			}
		}
		return s.scatterMerge(st, p, w)
	case p.Read || st.Kind == parser.KindSelect:
		// Locking reads (FOR UPDATE) scatter too, on primaries.
		s.route = "scatter"
		return s.scatter(st, p, w)
	default:
		s.route = "fanout"
		return s.writeSteps(st, p, w)
	}
}

// columnRewriter shows logical table names in column definitions.
func (p *Plan) columnRewriter() func([]byte) []byte {
	if len(p.Logical) == 0 {
		return nil
	}
	return func(def []byte) []byte {
		col, ok := wire.ParseColumn(def)
		if !ok {
			return def
		}
		changed := false
		if l, ok := p.Logical[col.Table]; ok {
			col.Table, changed = l, true
		}
		if l, ok := p.Logical[col.OrgTable]; ok {
			col.OrgTable, changed = l, true
		}
		if !changed {
			return def
		}
		return wire.AppendColumn(nil, col)
	}
}

// stepConn borrows the connection one step of a multi-step plan runs on.
// Inside a transaction every step must use the session's own connection,
// which lives on one cluster.
func (s *Session) stepConn(st *parser.Statement, step Step) (*held, error) {
	return s.acquire(st, s.rt.Clusters[step.Cluster])
}

func (s *Session) releaseStep(h *held) {
	if s.pinned == h {
		return
	}
	s.settle(h)
}

type scatterRow struct {
	row []byte
	err error
	// header is set by the first shard to answer.
	header [][]byte
	done   bool
	shard  int
}

// scatter runs a read on every step concurrently and streams the rows as
// they arrive under the first shard's column definitions. Any shard failing
// fails the statement: the others are stopped and the client gets the
// error, never a short result.
func (s *Session) scatter(st *parser.Statement, p *Plan, w ResultWriter) error {
	if s.pinned != nil || s.txnPending != "" {
		return s.scatterInTxn(st, p, w)
	}
	// A scatter holds one connection per step: pools must be sized for
	// the widest statement (a full pool waits up to pool.wait_timeout).
	held := make([]*held, len(p.Steps))
	for i, step := range p.Steps {
		h, err := s.stepConn(st, step)
		if err != nil {
			for _, h := range held[:i] {
				h.backend.Discard(h.conn)
			}
			return err
		}
		held[i] = h
		h.backend.Reads.Add(1)
	}
	out := make(chan scatterRow, 256)
	stop := make(chan struct{})
	sem := make(chan struct{}, s.rt.Rules.ScatterConcurrency)
	var wg sync.WaitGroup
	results := make([]error, len(p.Steps))
	for i := range p.Steps {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-stop:
				results[i] = errStopped
				return
			}
			defer func() { <-sem }()
			results[i] = readShard(held[i].conn, p.Steps[i].SQL, i, out, stop)
		}(i)
	}
	go func() { wg.Wait(); close(out) }()

	var failure error
	headerSent := false
	rewrite := p.columnRewriter()
	for r := range out {
		if failure != nil {
			continue // draining after a failure
		}
		switch {
		case r.err != nil:
			failure = r.err
		case r.header != nil:
			if !headerSent {
				headerSent = true
				failure = writeHeader(w, r.header, rewrite)
			}
		case r.done:
		default:
			if err := w.WritePacket(r.row); err != nil {
				failure = &ClientGoneError{Err: err}
			}
		}
		if failure != nil {
			// Stop every shard: closing its connection ends the read here,
			// KILL ends the statement on the server.
			close(stop)
			for _, h := range held {
				go h.backend.Kill(h.conn.ThreadID)
				h.conn.Close()
			}
		}
	}
	for i, h := range held {
		if failure != nil || results[i] != nil {
			h.backend.Discard(h.conn)
		} else {
			h.backend.Put(h.conn)
		}
	}
	if failure != nil {
		var me *mysql.MyError
		if errors.As(failure, &me) {
			return me
		}
		var gone *ClientGoneError
		if errors.As(failure, &gone) {
			return gone
		}
		return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: a shard failed during a scatter read: %v", failure)
	}
	if err := w.WritePacket(wire.AppendEOF(nil, 0, s.Status())); err != nil {
		return &ClientGoneError{Err: err}
	}
	return w.Flush()
}

var errStopped = errors.New("stopped")

// readShard reads one shard's whole result into out.
func readShard(c *backend.Conn, sql string, shard int, out chan<- scatterRow, stop <-chan struct{}) error {
	send := func(r scatterRow) bool {
		select {
		case out <- r:
			return true
		case <-stop:
			return false
		}
	}
	if err := c.Send(mysql.COM_QUERY, []byte(sql)); err != nil {
		send(scatterRow{err: err})
		return err
	}
	header, err := c.ReadHeader()
	if err != nil {
		send(scatterRow{err: err})
		return err
	}
	if !send(scatterRow{header: header, shard: shard}) {
		return errStopped
	}
	for {
		row, eof, _, err := c.ReadRow()
		if err != nil {
			send(scatterRow{err: err})
			return err
		}
		if eof {
			send(scatterRow{done: true, shard: shard})
			return nil
		}
		if !send(scatterRow{row: append([]byte(nil), row...), shard: shard}) {
			return errStopped
		}
	}
}

func writeHeader(w ResultWriter, cols [][]byte, rewrite func([]byte) []byte) error {
	write := func(p []byte) error {
		if err := w.WritePacket(p); err != nil {
			return &ClientGoneError{Err: err}
		}
		return nil
	}
	if err := write(mysql.AppendLengthEncodedInteger(nil, uint64(len(cols)))); err != nil {
		return err
	}
	for _, c := range cols {
		if rewrite != nil {
			c = rewrite(c)
		}
		if err := write(c); err != nil {
			return err
		}
	}
	// Status flags in this EOF are informational; the final EOF carries the
	// session's.
	return write(wire.AppendEOF(nil, 0, mysql.SERVER_STATUS_AUTOCOMMIT))
}

// scatterInTxn reads the steps one after another on the session's own
// connection: inside a transaction they must all see its snapshot.
func (s *Session) scatterInTxn(st *parser.Statement, p *Plan, w ResultWriter) error {
	rewrite := p.columnRewriter()
	headerSent := false
	for _, step := range p.Steps {
		h, err := s.stepConn(st, step)
		if err != nil {
			return err
		}
		if err := h.conn.Send(mysql.COM_QUERY, []byte(step.SQL)); err != nil {
			return s.fail(h, err)
		}
		header, err := h.conn.ReadHeader()
		if err != nil {
			var me *mysql.MyError
			if errors.As(err, &me) {
				s.releaseStep(h)
				return me
			}
			return s.fail(h, err)
		}
		if !headerSent {
			headerSent = true
			if err := writeHeader(w, header, rewrite); err != nil {
				return s.fail(h, err)
			}
		}
		for {
			row, eof, status, err := h.conn.ReadRow()
			if err != nil {
				var me *mysql.MyError
				if errors.As(err, &me) {
					s.releaseStep(h)
					return me
				}
				return s.fail(h, err)
			}
			if eof {
				s.status = status
				break
			}
			if err := w.WritePacket(row); err != nil {
				return s.fail(h, &backend.SinkError{Err: err})
			}
		}
		s.releaseStep(h)
	}
	if err := w.WritePacket(wire.AppendEOF(nil, 0, s.Status())); err != nil {
		return &ClientGoneError{Err: err}
	}
	return w.Flush()
}

// writeSteps runs the steps of a write one after another on primaries and
// answers one OK packet. With MergeSumAffected the first failure stops the
// statement; with MergeAllSucceed (DDL, global tables) every step runs and
// the failures are listed.
func (s *Session) writeSteps(st *parser.Statement, p *Plan, w ResultWriter) error {
	var total wire.OK
	var done, failed []string
	var firstErr *mysql.MyError
	for _, step := range p.Steps {
		where := step.Cluster
		if len(step.Tables) > 0 {
			where += "." + strings.Join(step.Tables, ",")
		}
		h, err := s.stepConn(st, step)
		var ok wire.OK
		if err == nil {
			h.backend.Writes.Add(1)
			ok, err = h.conn.Exec(step.SQL)
			var me *mysql.MyError
			if err != nil && !errors.As(err, &me) {
				return s.fail(h, err)
			}
			if err == nil {
				s.status = ok.Status
			}
			s.releaseStep(h)
		}
		if err != nil {
			var me *mysql.MyError
			if !errors.As(err, &me) {
				me = wire.Errorf(mysql.ER_UNKNOWN_ERROR, "%v", err)
			}
			if firstErr == nil {
				firstErr = me
			}
			failed = append(failed, fmt.Sprintf("%s (%d: %s)", where, me.Code, me.Message))
			if p.Merge != MergeAllSucceed {
				break
			}
			continue
		}
		done = append(done, where)
		total.AffectedRows += ok.AffectedRows
		total.Warnings += ok.Warnings
		if total.InsertID == 0 {
			total.InsertID = ok.InsertID
		}
	}
	if firstErr != nil {
		if len(p.Steps) == 1 {
			return firstErr
		}
		msg := "shardgate: failed on " + strings.Join(failed, "; ")
		if len(done) > 0 {
			msg += fmt.Sprintf("; succeeded on %d of %d: %s (not rolled back: no distributed transactions)", len(done), len(p.Steps), strings.Join(done, ", "))
		}
		return &mysql.MyError{Code: firstErr.Code, State: firstErr.State, Message: msg}
	}
	s.noteSuccess(st, backend.Outcome{OK: total, Status: s.status})
	if p.Merge == MergeAllSucceed && len(p.Steps) > 1 {
		// Every copy did the same: report one copy's count.
		total.AffectedRows /= uint64(len(p.Steps))
	}
	s.rt.afterDDL(st, p)
	return s.writeOK(w, total)
}

// showCreate answers SHOW CREATE TABLE of a sharded table with its logical
// name.
func (s *Session) showCreate(st *parser.Statement, p *Plan, w ResultWriter) error {
	step := p.Steps[0]
	h, err := s.stepConn(st, step)
	if err != nil {
		return err
	}
	res, _, err := h.conn.Query(step.SQL)
	if err != nil {
		var me *mysql.MyError
		if !errors.As(err, &me) {
			return s.fail(h, err)
		}
		s.releaseStep(h)
		return err
	}
	s.releaseStep(h)
	rows := make([][][]byte, len(res.Rows))
	for i, r := range res.Rows {
		rows[i] = make([][]byte, len(r))
		for j, v := range r {
			if v == nil {
				continue
			}
			text := *v
			for phys, logical := range p.Logical {
				text = strings.Replace(text, "`"+phys+"`", "`"+logical+"`", 1)
				if text == phys {
					text = logical
				}
			}
			rows[i][j] = []byte(text)
		}
	}
	return s.writeRows(w, res.Columns, rows)
}

// readMeta reads the column definitions of p.MetaSQL from one shard.
func (s *Session) readMeta(st *parser.Statement, p *Plan) error {
	h, err := s.stepConn(st, p.Steps[0])
	if err != nil {
		return err
	}
	if err := h.conn.Send(mysql.COM_QUERY, []byte(p.MetaSQL)); err != nil {
		return s.fail(h, err)
	}
	header, err := h.conn.ReadHeader()
	if err != nil {
		var me *mysql.MyError
		if errors.As(err, &me) {
			s.releaseStep(h)
			return me
		}
		return s.fail(h, err)
	}
	for {
		_, eof, _, err := h.conn.ReadRow()
		if err != nil {
			return s.fail(h, err)
		}
		if eof {
			break
		}
	}
	s.releaseStep(h)
	p.Meta = header
	return nil
}
