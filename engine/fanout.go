package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// Fanout runs a write on several tables, one after another on primaries,
// and answers one OK packet. With AllSucceed (DDL and global tables, where
// every copy does the same) every step runs, also after one failed or its
// connection broke, and the affected rows are one copy's; otherwise the
// first failure stops the statement and the affected rows are summed.
//
// When the session runs the write atomically (Cursor.Atomic: a schema with
// transactions: xa), the first failure stops it and the session undoes
// every step. Otherwise a write that did not succeed everywhere is not
// undone where it did: its error says, per physical table and cluster,
// what became of the write (see StepState), and is an *OutcomeError so
// that the session can log the same.
type Fanout struct {
	Routes     []*Route
	AllSucceed bool
	// Global: the steps write the same rows to every copy of a global
	// table, so a write some copies took and others did not leaves the
	// copies different, and the error says so.
	Global bool
	// Batched: each cluster's steps go as one batch (one round trip), the
	// clusters' batches at once (see executeBatched). Split INSERTs, whose
	// steps write disjoint rows, are batched.
	Batched bool
}

func (f *Fanout) Inputs() []Primitive { return routePrimitives(f.Routes) }

func (f *Fanout) Describe() string {
	return "Fanout (" + f.mergeSummary() + ")"
}

func (f *Fanout) mergeSummary() string {
	switch {
	case f.AllSucceed:
		return "all must succeed"
	case f.Batched:
		return "sum affected rows, one batch per cluster"
	}
	return "sum affected rows"
}

// StepState is what became of one step of a write to several tables.
// The states are declared in the order messages list them.
type StepState int

const (
	// StepCommitted: the server answered OK outside a transaction.
	StepCommitted StepState = iota
	// StepInTransaction: the server answered OK inside the session's open
	// transaction (its status says so): written but not committed; the
	// client's COMMIT or ROLLBACK decides.
	StepInTransaction
	// StepRolledBack: it was in the session's open transaction, whose
	// connection then broke: the server rolls the transaction back.
	StepRolledBack
	// StepFailed: the server answered an error; the table did not take
	// the statement.
	StepFailed
	// StepUnknown: the connection broke after the statement was sent: it
	// may or may not have taken effect.
	StepUnknown
	// StepNotSent: nothing of the step reached its server (no connection,
	// the write of the statement failed, or the fan-out stopped before it).
	StepNotSent
	numStepStates
)

func (s StepState) String() string {
	switch s {
	case StepCommitted:
		return "committed"
	case StepInTransaction:
		return "in the open transaction (not committed)"
	case StepRolledBack:
		return "rolled back with the transaction"
	case StepFailed:
		return "failed"
	case StepUnknown:
		return "outcome unknown"
	}
	return "not sent"
}

// short is the state's name in the counts.
func (s StepState) short() string {
	switch s {
	case StepInTransaction:
		return "in the open transaction"
	case StepRolledBack:
		return "rolled back"
	}
	return s.String()
}

// StepOutcome is what became of one step.
type StepOutcome struct {
	Cluster string
	Tables  []string
	State   StepState
	// Code, SQLState and Detail: the server's error (StepFailed), what
	// broke (StepUnknown, StepRolledBack), why it was not sent
	// (StepNotSent; Code 0 when the reason has none).
	Code     uint16
	SQLState string
	Detail   string
}

// Where names the step's tables on their cluster: "s0.comments_2".
func (o StepOutcome) Where() string {
	if len(o.Tables) == 0 {
		return o.Cluster
	}
	return o.Cluster + "." + strings.Join(o.Tables, ",")
}

// OutcomeError is the error of a write to several tables that did not
// succeed on every one. The client hears Err (errors.As finds it); Steps
// hold every step's outcome, for the log.
type OutcomeError struct {
	Err    *mysql.MyError
	Global bool
	Steps  []StepOutcome
}

func (e *OutcomeError) Error() string { return e.Err.Error() }
func (e *OutcomeError) Unwrap() error { return e.Err }

// Partial reports whether anything may have been written: then the
// tables (or copies) may now differ and someone must look at them.
func (e *OutcomeError) Partial() bool {
	for _, s := range e.Steps {
		switch s.State {
		case StepCommitted, StepInTransaction, StepUnknown:
			return true
		}
	}
	return false
}

// List names the steps in state, each with its detail in parentheses
// when it has one, at most max of them (then "… and N more").
func (e *OutcomeError) List(state StepState, max int) []string {
	var out []string
	n := 0
	for _, s := range e.Steps {
		if s.State != state {
			continue
		}
		n++
		if len(out) < max {
			out = append(out, s.Where()+detailText(s))
		}
	}
	if n > len(out) {
		out = append(out, fmt.Sprintf("… and %d more", n-len(out)))
	}
	return out
}

// clusters are the clusters f's routes run on, each once, in route order.
func (f *Fanout) clusters() []string {
	var out []string
	for _, r := range f.Routes {
		if !slices.Contains(out, r.Cluster) {
			out = append(out, r.Cluster)
		}
	}
	return out
}

func (f *Fanout) Execute(vc Cursor, w ResultWriter) error {
	if f.Batched && !f.AllSucceed && len(f.Routes) > 1 {
		return f.executeBatched(vc, w)
	}
	var finish func(error) error
	if len(f.Routes) > 1 {
		var err error
		if finish, err = vc.Atomic(f.clusters()); err != nil {
			return err
		}
	}
	var total wire.OK
	steps := make([]StepOutcome, len(f.Routes))
	for i, r := range f.Routes {
		steps[i] = StepOutcome{Cluster: r.Cluster, Tables: r.Tables, State: StepNotSent}
	}
	// A transaction lives on one cluster's connection: open (or pending)
	// when the statement starts, or opened by a step (autocommit=0). If
	// that connection breaks, the server rolls the transaction back: the
	// steps it holds are lost, and no step may run outside it.
	txnAtStart := vc.Status()&mysql.SERVER_STATUS_IN_TRANS != 0
	txnCluster := ""
	var firstErr error
	failed := false
	stopped := ""
	for i, r := range f.Routes {
		if stopped != "" {
			steps[i].Detail = "not tried: " + stopped
			continue
		}
		ok, err, lost := f.step(vc, r, &steps[i])
		if err == nil {
			total.AffectedRows += ok.AffectedRows
			total.Warnings += ok.Warnings
			if total.InsertID == 0 {
				total.InsertID = ok.InsertID
			}
			if steps[i].State == StepInTransaction {
				txnCluster = r.Cluster
			}
			continue
		}
		failed = true
		if lost != nil && (txnAtStart || txnCluster == r.Cluster) {
			for j := range steps[:i] {
				if s := &steps[j]; s.State == StepInTransaction && s.Cluster == r.Cluster {
					s.State, s.Detail = StepRolledBack, "the connection holding the transaction broke"
				}
			}
			if steps[i].State == StepNotSent {
				me := backend.TransactionLost(lost.server, lost.cause)
				err = me
				steps[i].Code, steps[i].Detail = me.Code, fmt.Sprintf("%s: broke before the statement was written; the transaction is lost (%v)", lost.server, lost.cause)
			}
			stopped = "the connection holding the session's transaction broke"
		} else if !f.AllSucceed || finish != nil {
			stopped = "the statement stopped at its first failure"
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if failed {
		if len(f.Routes) == 1 {
			return firstErr
		}
		if finish != nil {
			// The session undoes the steps and says so.
			return finish(atomicError(steps, firstErr))
		}
		return f.outcomeError(steps)
	}
	if f.AllSucceed && len(f.Routes) > 1 {
		// Every copy did the same: report one copy's count.
		total.AffectedRows /= uint64(len(f.Routes))
	}
	if finish != nil {
		// Committed (or kept in the session's transaction) before the
		// client hears of success.
		if err := finish(nil); err != nil {
			return err
		}
	}
	// After the steps' connections went back: a write to several tables
	// cannot keep connection state (temporary tables, locks) in any one.
	return answerOK(vc, w, total)
}

// atomicError is the failure of an atomic write: its first failing step,
// with that step's code; the session adds what it undid.
func atomicError(steps []StepOutcome, first error) error {
	code, state, text := errorParts(first)
	if code == 0 {
		code, state = backend.CodeOutcomeUnknown, "HY000"
	}
	if len(state) != 5 {
		state = "HY000"
	}
	for _, s := range steps {
		if s.State == StepFailed || s.State == StepUnknown || s.State == StepRolledBack || (s.State == StepNotSent && s.Code != 0) {
			return &mysql.MyError{Code: code, State: state, Message: fmt.Sprintf("shardgate: failed on %s (%d: %s)", s.Where(), code, text)}
		}
	}
	return &mysql.MyError{Code: code, State: state, Message: "shardgate: " + text}
}

// lostConn is a step's broken connection: its server, as messages name
// it, and what broke.
type lostConn struct {
	server string
	cause  error
}

// step runs one route and records its outcome in st. err is what the
// client would hear about this step alone; lost is set when the
// connection broke.
func (f *Fanout) step(vc Cursor, r *Route, st *StepOutcome) (ok wire.OK, err error, lost *lostConn) {
	c, err := vc.Conn(r.Cluster, false)
	if err != nil {
		st.State = StepNotSent
		st.Code, st.SQLState, st.Detail = errorParts(err)
		return wire.OK{}, err, nil
	}
	ok, err = c.Exec(r.SQL)
	var me *mysql.MyError
	switch Classify(err) {
	case FaultNone:
		vc.Release(c, &backend.Outcome{OK: ok, Status: ok.Status, Warnings: ok.Warnings}, nil)
		st.State = StepCommitted
		if ok.Status&mysql.SERVER_STATUS_IN_TRANS != 0 {
			st.State = StepInTransaction
		}
		return ok, nil, nil
	case FaultServer:
		errors.As(err, &me)
		vc.Release(c, &backend.Outcome{Err: me}, nil)
		st.State, st.Code, st.SQLState, st.Detail = StepFailed, me.Code, me.State, me.Message
		return ok, me, nil
	}
	vc.Release(c, nil, err)
	server := serverName(c, r.Cluster)
	if backend.Sent(err) {
		st.State, st.Code = StepUnknown, backend.CodeOutcomeUnknown
		st.Detail = fmt.Sprintf("the connection to %s broke after the statement was sent (%v)", server, err)
	} else {
		st.State, st.Code = StepNotSent, backend.CodeNotSent
		st.Detail = fmt.Sprintf("%s: %v", server, err)
	}
	return ok, backend.Lost(server, err), &lostConn{server: server, cause: err}
}

// errorParts splits an error into a code (0 when it has none) and a text
// without the proxy's prefixes, for a step's detail.
func errorParts(err error) (code uint16, state, text string) {
	var me *mysql.MyError
	if !errors.As(err, &me) {
		return 0, "", err.Error()
	}
	msg := strings.TrimPrefix(me.Message, backend.NotSentPrefix)
	return me.Code, me.State, strings.TrimPrefix(msg, "shardgate: ")
}

// Bounds of an outcome message: the client library may keep only the
// first 512 bytes (MYSQL_ERRMSG_SIZE), so the counts come first; the
// lists name at most maxListed tables, each detail at most maxDetail
// bytes. The log gets the full lists.
const (
	maxListed       = 20
	minListedPerSet = 3
	maxDetail       = 160
)

// outcomeError words what became of every step. The code is honest about
// the whole statement: 1105 when anything may have been written (or a
// transaction was lost); when nothing was, the first server error's own
// code, else the first step's reason for not sending (1429 "not sent"
// only when no step reached any server).
func (f *Fanout) outcomeError(steps []StepOutcome) *OutcomeError {
	e := &OutcomeError{Global: f.Global, Steps: steps}
	var count [numStepStates]int
	for _, s := range steps {
		count[s.State]++
	}
	written := count[StepCommitted] + count[StepInTransaction]
	code, state := uint16(backend.CodeOutcomeUnknown), "HY000"
	var b strings.Builder
	b.WriteString("shardgate: ")
	switch {
	case count[StepUnknown] > 0:
		b.WriteString("outcome unknown: ")
	case written > 0:
		b.WriteString("partly written: ")
	case count[StepRolledBack] > 0:
		b.WriteString("transaction lost: ")
	default:
		first := firstWithCode(steps, StepFailed)
		if first == nil {
			first = firstWithCode(steps, StepNotSent)
		}
		if first != nil {
			code, state = first.Code, first.SQLState
			if len(state) != 5 {
				state = "HY000"
			}
		}
		if code == backend.CodeNotSent && count[StepFailed] == 0 {
			b.WriteString(strings.TrimPrefix(backend.NotSentPrefix, "shardgate: "))
		} else {
			b.WriteString("nothing written: ")
		}
	}
	what := fmt.Sprintf("a write to %d tables", len(steps))
	if f.Global {
		what = fmt.Sprintf("a write to the %d copies of global table %s", len(steps), strings.Join(steps[0].Tables, ","))
	}
	var parts []string
	for st := range numStepStates {
		if count[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[st], st.short()))
		}
	}
	fmt.Fprintf(&b, "%s did not succeed everywhere (%s)", what, strings.Join(parts, ", "))
	switch {
	case f.Global && count[StepCommitted] > 0:
		b.WriteString("; the copies now differ, repair by hand (" + notAtomic + ")")
	case f.Global && (written > 0 || count[StepUnknown] > 0):
		b.WriteString("; the copies may now differ (" + notAtomic + ")")
	case count[StepCommitted] > 0:
		b.WriteString("; not rolled back (" + notAtomic + ")")
	}
	b.WriteString(". ")
	b.WriteString(listSteps(steps, count[:]))
	e.Err = &mysql.MyError{Code: code, State: state, Message: b.String()}
	return e
}

// notAtomic says why a write to several tables was not undone.
const notAtomic = "such a write is atomic only in a schema with transactions: xa"

func firstWithCode(steps []StepOutcome, state StepState) *StepOutcome {
	for i := range steps {
		if steps[i].State == state && steps[i].Code != 0 {
			return &steps[i]
		}
	}
	return nil
}

// listSteps lists the steps by state, at most maxListed names in all: each
// state first gets up to minListedPerSet, then the rest in order. Steps
// with the same detail next to each other share it: "a, b (detail)".
func listSteps(steps []StepOutcome, count []int) string {
	var quota [numStepStates]int
	left := maxListed
	for st := range numStepStates {
		quota[st] = min(count[st], minListedPerSet, left)
		left -= quota[st]
	}
	for st := range numStepStates {
		more := min(count[st]-quota[st], left)
		quota[st] += more
		left -= more
	}
	var groups []string
	for st := range numStepStates {
		if count[st] == 0 {
			continue
		}
		var b strings.Builder
		b.WriteString(st.String() + ": ")
		shown, prevDetail := 0, ""
		for _, s := range steps {
			if s.State != st || shown == quota[st] {
				continue
			}
			d := detailText(s)
			if shown > 0 {
				if d != prevDetail {
					b.WriteString(prevDetail)
				}
				b.WriteString(", ")
			}
			b.WriteString(s.Where())
			prevDetail = d
			shown++
		}
		b.WriteString(prevDetail)
		if n := count[st] - shown; n > 0 {
			fmt.Fprintf(&b, ", … and %d more", n)
		}
		groups = append(groups, b.String())
	}
	return strings.Join(groups, "; ")
}

// detailText is a step's detail as it follows its name: " (1062:
// Duplicate entry …)", cut to maxDetail bytes.
func detailText(s StepOutcome) string {
	d := s.Detail
	if d == "" {
		return ""
	}
	if len(d) > maxDetail {
		cut := maxDetail
		for cut > 0 && !utf8.RuneStart(d[cut]) {
			cut--
		}
		d = d[:cut] + "…"
	}
	if s.State == StepFailed || (s.State == StepNotSent && s.Code != 0 && s.Code != backend.CodeNotSent && s.Code != backend.CodeOutcomeUnknown) {
		return fmt.Sprintf(" (%d: %s)", s.Code, d)
	}
	return " (" + d + ")"
}
