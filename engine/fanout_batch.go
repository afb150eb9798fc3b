package engine

import (
	"errors"
	"fmt"
	"sync"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// batchConn runs several statements in one round trip (*backend.Conn's
// ExecBatch): OK packets of those that ran, the error of the one that
// failed (the server stops there), or a broken connection.
type batchConn interface {
	ExecBatch(sqls []string) (oks []wire.OK, failed *mysql.MyError, err error)
}

// maxBatchBytes bounds the text of one batch (MariaDB's default
// max_allowed_packet is 16 MiB).
const maxBatchBytes = 4 << 20

// clusterBatch is the steps of a batched fan-out that run on one cluster.
type clusterBatch struct {
	cluster string
	idx     []int // into Fanout.Routes, in order
	conn    Conn
	oks     []wire.OK
	failed  *mysql.MyError
	err     error
}

// executeBatched runs a write to several tables (a split INSERT) with one
// round trip per cluster: every cluster's statements go as one batch on
// one connection, and the clusters' batches run at once. On each cluster
// the server stops at the first statement that fails, so its later
// statements do not run; batches on other clusters are not stopped by it
// (they run at the same time). Each table's outcome is reported as in
// Execute, and in a schema with transactions: xa the whole write is
// still undone when any step fails.
func (f *Fanout) executeBatched(vc Cursor, w ResultWriter) error {
	finish, err := vc.Atomic(f.clusters())
	if err != nil {
		return err
	}
	steps := make([]StepOutcome, len(f.Routes))
	var batches []*clusterBatch
	byCluster := map[string]*clusterBatch{}
	for i, r := range f.Routes {
		steps[i] = StepOutcome{Cluster: r.Cluster, Tables: r.Tables, State: StepNotSent}
		b := byCluster[r.Cluster]
		if b == nil {
			b = &clusterBatch{cluster: r.Cluster}
			byCluster[r.Cluster] = b
			batches = append(batches, b)
		}
		b.idx = append(b.idx, i)
	}
	txnAtStart := vc.Status()&mysql.SERVER_STATUS_IN_TRANS != 0
	// Every connection is borrowed before anything is sent: a cluster
	// that gives none fails the write with nothing written anywhere.
	for bi, b := range batches {
		c, err := vc.Conn(b.cluster, false)
		if err == nil {
			b.conn = c
			continue
		}
		for _, o := range batches[:bi] {
			vc.Release(o.conn, nil, nil)
		}
		code, state, detail := errorParts(err)
		for _, i := range b.idx {
			steps[i].Code, steps[i].SQLState, steps[i].Detail = code, state, detail
		}
		for _, o := range batches {
			if o != b {
				for _, i := range o.idx {
					steps[i].Detail = "not tried: the statement stopped at its first failure"
				}
			}
		}
		if finish != nil {
			return finish(atomicError(steps, err))
		}
		return f.outcomeError(steps)
	}
	if len(batches) == 1 {
		f.runBatch(batches[0])
	} else {
		var wg sync.WaitGroup
		for _, b := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.runBatch(b)
			}()
		}
		wg.Wait()
	}
	// Outcomes and releases in the session's goroutine, in route order.
	var total wire.OK
	var firstErr error
	firstAt := len(f.Routes)
	for _, b := range batches {
		errAt, berr := f.settleBatch(vc, b, steps, txnAtStart, &total)
		if berr != nil && errAt < firstAt {
			firstAt, firstErr = errAt, berr
		}
	}
	if firstErr != nil {
		if finish != nil {
			return finish(atomicError(steps, firstErr))
		}
		return f.outcomeError(steps)
	}
	if finish != nil {
		if err := finish(nil); err != nil {
			return err
		}
	}
	return answerOK(vc, w, total)
}

// runBatch sends b's statements on its connection. It touches only b
// and its connection, so batches of different clusters run at once.
func (f *Fanout) runBatch(b *clusterBatch) {
	sqls := make([]string, len(b.idx))
	for j, i := range b.idx {
		sqls[j] = f.Routes[i].SQL
	}
	if bc, ok := b.conn.(batchConn); ok {
		// One round trip per maxBatchBytes of text: a batch must fit the
		// backend's max_allowed_packet, which may be smaller than the
		// proxy's (a client's 60 MB INSERT was fine as per-table parts).
		for start := 0; start < len(sqls); {
			end, size := start, 0
			for end < len(sqls) && (end == start || size+len(sqls[end]) <= maxBatchBytes) {
				size += len(sqls[end]) + 3
				end++
			}
			oks, failed, err := bc.ExecBatch(sqls[start:end])
			b.oks = append(b.oks, oks...)
			if failed != nil || err != nil {
				b.failed, b.err = failed, err
				return
			}
			start = end
		}
		return
	}
	// A connection without batches: one statement after another, stopping
	// at the first failure as the server stops a batch.
	for _, sql := range sqls {
		ok, err := b.conn.Exec(sql)
		if err == nil {
			b.oks = append(b.oks, ok)
			continue
		}
		var me *mysql.MyError
		if Classify(err) == FaultServer && errors.As(err, &me) {
			b.failed = me
		} else {
			b.err = err
		}
		return
	}
}

// settleBatch records what became of b's steps, releases its connection,
// adds what succeeded to total, and returns the client's error for the
// batch (nil when every step succeeded) with the route index it is at.
func (f *Fanout) settleBatch(vc Cursor, b *clusterBatch, steps []StepOutcome, txnAtStart bool, total *wire.OK) (int, error) {
	inTxn := false
	warnings := 0
	for j, ok := range b.oks {
		i := b.idx[j]
		steps[i].State = StepCommitted
		if ok.Status&mysql.SERVER_STATUS_IN_TRANS != 0 {
			steps[i].State, inTxn = StepInTransaction, true
		}
		total.AffectedRows += ok.AffectedRows
		total.Warnings += ok.Warnings
		warnings += int(ok.Warnings)
		if total.InsertID == 0 {
			total.InsertID = ok.InsertID
		}
	}
	done := len(b.oks)
	switch {
	case b.err == nil && b.failed == nil:
		last := b.oks[len(b.oks)-1]
		vc.Release(b.conn, &backend.Outcome{OK: last, Status: last.Status, Warnings: uint16(min(warnings, 0xffff))}, nil)
		return 0, nil
	case b.err == nil:
		i := b.idx[done]
		me := b.failed
		steps[i].State, steps[i].Code, steps[i].SQLState, steps[i].Detail = StepFailed, me.Code, me.State, me.Message
		for _, k := range b.idx[done+1:] {
			steps[k].Detail = "not run: the statement before it on " + b.cluster + " failed"
		}
		vc.Release(b.conn, &backend.Outcome{Err: me}, nil)
		return i, me
	}
	// The connection broke.
	vc.Release(b.conn, nil, b.err)
	server := serverName(b.conn, b.cluster)
	rest := b.idx[done:]
	if b.failed != nil {
		// Everything was answered; only the end of the exchange broke.
		i := rest[0]
		steps[i].State, steps[i].Code, steps[i].SQLState, steps[i].Detail = StepFailed, b.failed.Code, b.failed.State, b.failed.Message
		for _, k := range rest[1:] {
			steps[k].Detail = "not run: the statement before it on " + b.cluster + " failed"
		}
		return i, b.failed
	}
	if len(rest) == 0 {
		// Every statement answered OK; the connection broke after.
		return 0, nil
	}
	sent := backend.Sent(b.err)
	for _, k := range rest {
		if sent {
			steps[k].State, steps[k].Code = StepUnknown, backend.CodeOutcomeUnknown
			steps[k].Detail = fmt.Sprintf("the connection to %s broke after the statement was sent (%v)", server, b.err)
		} else {
			steps[k].State, steps[k].Code = StepNotSent, backend.CodeNotSent
			steps[k].Detail = fmt.Sprintf("%s: %v", server, b.err)
		}
	}
	var err error = backend.Lost(server, b.err)
	if txnAtStart || inTxn {
		// The connection held the session's transaction: the server
		// rolls back what it took of it.
		for _, i := range b.idx[:done] {
			if steps[i].State == StepInTransaction {
				steps[i].State, steps[i].Detail = StepRolledBack, "the connection holding the transaction broke"
			}
		}
		if !sent {
			me := backend.TransactionLost(server, b.err)
			err = me
			steps[rest[0]].Code = me.Code
			steps[rest[0]].Detail = fmt.Sprintf("%s: broke before the statement was written; the transaction is lost (%v)", server, b.err)
		}
	}
	return rest[0], err
}
