package engine

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// Fanout runs a write on several tables, one after another on primaries,
// and answers one OK packet. With AllSucceed (DDL and global tables, where
// every copy does the same) every step runs and the failures are listed,
// and the affected rows are one copy's; otherwise the first failure stops
// the statement and the affected rows are summed.
type Fanout struct {
	Routes     []*Route
	AllSucceed bool
}

func (f *Fanout) Inputs() []Primitive { return routePrimitives(f.Routes) }

func (f *Fanout) Describe() string {
	if f.AllSucceed {
		return "Fanout (all must succeed)"
	}
	return "Fanout (sum affected rows)"
}

func (f *Fanout) mergeSummary() string {
	if f.AllSucceed {
		return "all must succeed"
	}
	return "sum affected rows"
}

func (f *Fanout) Execute(vc Cursor, w ResultWriter) error {
	var total wire.OK
	var done, failed []string
	var firstErr *mysql.MyError
	for _, r := range f.Routes {
		where := r.Cluster
		if len(r.Tables) > 0 {
			where += "." + strings.Join(r.Tables, ",")
		}
		ok, err, broken := f.step(vc, r)
		if broken {
			return f.progress(partly(err, len(done)), done, len(f.Routes))
		}
		if err != nil {
			me, isServer := partly(err, len(f.Routes)-1).(*mysql.MyError)
			if !isServer {
				me = wire.Errorf(mysql.ER_UNKNOWN_ERROR, "%v", err)
			}
			if firstErr == nil {
				firstErr = me
			}
			failed = append(failed, fmt.Sprintf("%s (%d: %s)", where, me.Code, me.Message))
			if !f.AllSucceed {
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
		if len(f.Routes) == 1 {
			return firstErr
		}
		msg := "shardgate: failed on " + strings.Join(failed, "; ")
		code, state := firstErr.Code, firstErr.State
		if len(done) > 0 {
			msg += fmt.Sprintf("; succeeded on %d of %d: %s (not rolled back: no distributed transactions)", len(done), len(f.Routes), strings.Join(done, ", "))
			if code == backend.CodeNotSent {
				// Partly written: not the code that says a retry is safe.
				code, state = backend.CodeOutcomeUnknown, "HY000"
			}
		}
		return &mysql.MyError{Code: code, State: state, Message: msg}
	}
	if f.AllSucceed && len(f.Routes) > 1 {
		// Every copy did the same: report one copy's count.
		total.AffectedRows /= uint64(len(f.Routes))
	}
	// After the steps' connections went back: a write to several tables
	// cannot keep connection state (temporary tables, locks) in any one.
	vc.Succeeded(total)
	total.Status = vc.Status()
	if err := w.WritePacket(wire.AppendOK(nil, total)); err != nil {
		return clientGone(err)
	}
	return w.Flush()
}

// step runs one write. broken: the connection failed mid-write, so
// whether this table got it is unknown; err is then what the client hears.
func (f *Fanout) step(vc Cursor, r *Route) (ok wire.OK, err error, broken bool) {
	c, err := vc.Conn(r.Cluster, false)
	if err != nil {
		return wire.OK{}, err, false
	}
	ok, err = c.Exec(r.SQL)
	switch Classify(err) {
	case FaultNone:
		vc.Release(c, &backend.Outcome{OK: ok, Status: ok.Status, Warnings: ok.Warnings}, nil)
		return ok, nil, false
	case FaultServer:
		vc.Release(c, &backend.Outcome{Err: err.(*mysql.MyError)}, nil)
		return ok, err, false
	}
	vc.Release(c, nil, err)
	return ok, LostConnection(c, r.Cluster, err), true
}

// partly rewords a step's "not sent" error when other steps of the
// statement have run or may run (others > 0): this table's write was not
// sent, but the statement as a whole is not safe to retry (1105).
func partly(err error, others int) error {
	me, ok := err.(*mysql.MyError)
	if !ok || others == 0 || me.Code != backend.CodeNotSent {
		return err
	}
	return wire.Errorf(backend.CodeOutcomeUnknown, "shardgate: not sent to this table (%s)", strings.TrimPrefix(me.Message, backend.NotSentPrefix))
}

// progress reports a fan-out that stopped on a broken connection with what
// had already been written.
func (f *Fanout) progress(err error, done []string, n int) error {
	me, ok := err.(*mysql.MyError)
	if !ok {
		return err
	}
	// The message already says whether this table's write was sent.
	msg := me.Message
	if len(done) > 0 {
		msg += fmt.Sprintf("; succeeded before it on %d of %d: %s (not rolled back: no distributed transactions)", len(done), n, strings.Join(done, ", "))
	}
	return &mysql.MyError{Code: me.Code, State: me.State, Message: msg}
}
