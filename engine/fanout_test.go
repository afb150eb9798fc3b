package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// fanoutRoutes makes one route per response, table t_<i> on cluster
// clusters[i % len(clusters)].
func fanoutRoutes(vc *fakeCursor, clusters []string, rsps ...*resp) []*Route {
	rs := routes(vc, rsps...)
	for i, r := range rs {
		r.Cluster = clusters[i%len(clusters)]
		r.Tables = []string{fmt.Sprintf("t_%d", i)}
		r.Replica = false
	}
	return rs
}

func okStatus(affected uint64, status uint16) *resp {
	return okResp(wire.OK{AffectedRows: affected, Status: status})
}

func okAuto(affected uint64) *resp { return okStatus(affected, mysql.SERVER_STATUS_AUTOCOMMIT) }

func dupErr() *resp { return srvErr(mysql.ER_DUP_ENTRY, "Duplicate entry '1'") }

// stateLetters writes states as letters: C committed, T in transaction,
// R rolled back, F failed, U unknown, N not sent.
func stateLetters(steps []StepOutcome) string {
	letters := map[StepState]string{StepCommitted: "C", StepInTransaction: "T", StepRolledBack: "R", StepFailed: "F", StepUnknown: "U", StepNotSent: "N"}
	var out []string
	for _, s := range steps {
		out = append(out, letters[s.State])
	}
	return strings.Join(out, " ")
}

// countsOf is the summary an outcome message starts with, for states
// given as letters.
func countsOf(letters string) string {
	names := []struct{ l, name string }{{"C", "committed"}, {"T", "in the open transaction"}, {"R", "rolled back"}, {"F", "failed"}, {"U", "outcome unknown"}, {"N", "not sent"}}
	var parts []string
	for _, n := range names {
		if c := strings.Count(letters, n.l); c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, n.name))
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// outcomeOf checks err is an *OutcomeError whose client error is the same
// error errors.As finds, and returns it.
func outcomeOf(t *testing.T, err error) *OutcomeError {
	t.Helper()
	var oe *OutcomeError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) is not an *OutcomeError", err, err)
	}
	var me *mysql.MyError
	if !errors.As(err, &me) || me != oe.Err {
		t.Fatalf("errors.As finds %v, not the outcome's client error", me)
	}
	return oe
}

// Every combination of how one step of three ends (server error, no
// connection, connection broken at send, broken after send) at each
// position, with and without AllSucceed: which steps run, what each
// table's outcome is, the code (1105 once anything may have been
// written, the server's or 1429 only when nothing was), and the message.
func TestFanoutOutcomeMatrix(t *testing.T) {
	type kind int
	const (
		serverError kind = iota
		noConn
		brokenAtSend
		brokenAfterSend
	)
	kinds := []string{"server error", "no connection", "broken at send", "broken after send"}
	tests := []struct {
		kind   kind
		all    bool
		pos    int
		states string
		code   uint16
		header string
	}{
		{serverError, false, 0, "F N N", mysql.ER_DUP_ENTRY, "nothing written"},
		{serverError, false, 1, "C F N", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{serverError, false, 2, "C C F", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{noConn, false, 0, "N N N", backend.CodeNotSent, "not sent, nothing ran (safe to retry)"},
		{noConn, false, 1, "C N N", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{noConn, false, 2, "C C N", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{brokenAtSend, false, 0, "N N N", backend.CodeNotSent, "not sent, nothing ran (safe to retry)"},
		{brokenAtSend, false, 1, "C N N", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{brokenAtSend, false, 2, "C C N", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{brokenAfterSend, false, 0, "U N N", mysql.ER_UNKNOWN_ERROR, "outcome unknown"},
		{brokenAfterSend, false, 1, "C U N", mysql.ER_UNKNOWN_ERROR, "outcome unknown"},
		{brokenAfterSend, false, 2, "C C U", mysql.ER_UNKNOWN_ERROR, "outcome unknown"},
		{serverError, true, 0, "F C C", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{serverError, true, 1, "C F C", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{serverError, true, 2, "C C F", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{noConn, true, 0, "N C C", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{noConn, true, 1, "C N C", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{noConn, true, 2, "C C N", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{brokenAtSend, true, 0, "N C C", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{brokenAtSend, true, 1, "C N C", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{brokenAtSend, true, 2, "C C N", mysql.ER_UNKNOWN_ERROR, "partly written"},
		{brokenAfterSend, true, 0, "U C C", mysql.ER_UNKNOWN_ERROR, "outcome unknown"},
		{brokenAfterSend, true, 1, "C U C", mysql.ER_UNKNOWN_ERROR, "outcome unknown"},
		{brokenAfterSend, true, 2, "C C U", mysql.ER_UNKNOWN_ERROR, "outcome unknown"},
	}
	clusters := []string{"c0", "c1", "c2"}
	for _, tt := range tests {
		name := fmt.Sprintf("%s at %d all=%v", kinds[tt.kind], tt.pos, tt.all)
		t.Run(name, func(t *testing.T) {
			vc := newCursor(t)
			rsps := []*resp{okAuto(1), okAuto(1), okAuto(1)}
			switch tt.kind {
			case serverError:
				rsps[tt.pos] = dupErr()
			case noConn:
				vc.failConn = map[string]error{clusters[tt.pos]: backend.NotSent(fmt.Sprintf("primary %s (10.0.0.9:3306)", clusters[tt.pos]), errors.New("backend down"))}
			case brokenAtSend:
				rsps[tt.pos] = broken(true)
			case brokenAfterSend:
				rsps[tt.pos] = broken(false)
			}
			f := &Fanout{Routes: fanoutRoutes(vc, clusters, rsps...), AllSucceed: tt.all}
			w := &recWriter{}
			err := f.Execute(vc, w)
			wantFailed(t, vc, w, err)
			if len(w.packets) != 0 {
				t.Errorf("client got %d packets", len(w.packets))
			}
			// Which steps ran: up to the fault without AllSucceed, all with.
			var ran []string
			for _, c := range vc.conns {
				ran = append(ran, c.cluster)
				if c.replica {
					t.Errorf("step on %s asked for a replica", c.cluster)
				}
				if (tt.kind == brokenAtSend || tt.kind == brokenAfterSend) && c.cluster == clusters[tt.pos] {
					if c.fault() != FaultBroken {
						t.Errorf("broken step released with %v, want broken", c.relErr)
					}
				} else if c.relErr != nil || c.relOut == nil {
					t.Errorf("step on %s released with %v, %+v; want its outcome", c.cluster, c.relErr, c.relOut)
				}
			}
			var wantRan []string
			for i, c := range clusters {
				if (i <= tt.pos || tt.all) && !(tt.kind == noConn && i == tt.pos) {
					wantRan = append(wantRan, c)
				}
			}
			if strings.Join(ran, ",") != strings.Join(wantRan, ",") {
				t.Errorf("steps ran on %v, want %v", ran, wantRan)
			}
			oe := outcomeOf(t, err)
			t.Log(oe.Err.Message)
			if got := stateLetters(oe.Steps); got != tt.states {
				t.Errorf("outcomes %s, want %s", got, tt.states)
			}
			table := fmt.Sprintf("%s.t_%d", clusters[tt.pos], tt.pos)
			mention := map[kind]string{
				serverError:     "failed: " + table + " (1062: Duplicate entry '1')",
				noConn:          "not sent: " + table + " (primary " + clusters[tt.pos] + " (10.0.0.9:3306): backend down)",
				brokenAtSend:    "not sent: " + table + " (server " + clusters[tt.pos] + " (10.0.0.",
				brokenAfterSend: "outcome unknown: " + table + " (the connection to server " + clusters[tt.pos] + " (",
			}[tt.kind]
			want := []string{"shardgate: " + tt.header + ": a write to 3 tables did not succeed everywhere " + countsOf(tt.states), mention}
			if tt.pos > 0 {
				want = append(want, "committed: c0.t_0", "not rolled back (such a write is atomic only in a schema with transactions: xa)")
			}
			if !tt.all && tt.pos < 2 {
				want = append(want, "c2.t_2 (not tried: the statement stopped at its first failure)")
			}
			wantCode(t, err, tt.code, want...)
			if tt.code == backend.CodeNotSent && !strings.HasPrefix(oe.Err.Message, backend.NotSentPrefix) {
				t.Errorf("1429 without the 'not sent' prefix: %q", oe.Err.Message)
			}
			if got := oe.Partial(); got != strings.ContainsAny(tt.states, "CU") {
				t.Errorf("Partial() = %v for %s", got, tt.states)
			}
		})
	}
}

// Inside a transaction, steps that succeed are not committed, and a broken
// connection loses the transaction: what it held is rolled back and no
// later step may run outside it.
func TestFanoutInTransaction(t *testing.T) {
	inTrans := uint16(mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS)
	txnOK := func() *resp { return okStatus(1, inTrans) }
	tests := []struct {
		name     string
		status   uint16 // the session's at the start
		all      bool
		clusters []string
		resps    []*resp
		failConn map[string]error
		states   string
		code     uint16
		text     []string
	}{
		{name: "broken after send: earlier steps rolled back, rest not tried", status: inTrans, clusters: []string{"c0"},
			resps: []*resp{txnOK(), broken(false), txnOK()}, states: "R U N", code: mysql.ER_UNKNOWN_ERROR,
			text: []string{"shardgate: outcome unknown: ", "rolled back with the transaction: c0.t_0 (the connection holding the transaction broke)",
				"not sent: c0.t_2 (not tried: the connection holding the session's transaction broke)"}},
		{name: "broken at send with AllSucceed: transaction lost, stops", status: inTrans, all: true, clusters: []string{"c0"},
			resps: []*resp{txnOK(), broken(true), txnOK()}, states: "R N N", code: mysql.ER_UNKNOWN_ERROR,
			text: []string{"shardgate: transaction lost: ", "(1 rolled back, 2 not sent)", "not sent: c0.t_1 (server c0 (10.0.0.2:3306): broke before the statement was written; the transaction is lost"}},
		{name: "autocommit=0: a step opens the transaction, a later one fails", status: 0, clusters: []string{"c0"},
			resps: []*resp{txnOK(), dupErr(), txnOK()}, states: "T F N", code: mysql.ER_UNKNOWN_ERROR,
			text: []string{"shardgate: partly written: ", "in the open transaction (not committed): c0.t_0", "failed: c0.t_1 (1062: Duplicate entry '1')"}},
		{name: "a second cluster cannot join the transaction", status: inTrans, all: true, clusters: []string{"c0", "c1"},
			resps:    []*resp{txnOK(), txnOK(), txnOK()},
			failConn: map[string]error{"c1": wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: this session's transaction lives on cluster c0")},
			states:   "T N T", code: mysql.ER_UNKNOWN_ERROR,
			text: []string{"in the open transaction (not committed): c0.t_0, c0.t_2", "not sent: c1.t_1 (1235: this session's transaction lives on cluster c0)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.status = tt.status
			vc.failConn = tt.failConn
			f := &Fanout{Routes: fanoutRoutes(vc, tt.clusters, tt.resps...), AllSucceed: tt.all}
			w := &recWriter{}
			err := f.Execute(vc, w)
			wantFailed(t, vc, w, err)
			oe := outcomeOf(t, err)
			if got := stateLetters(oe.Steps); got != tt.states {
				t.Errorf("outcomes %s, want %s", got, tt.states)
			}
			wantCode(t, err, tt.code, tt.text...)
			if strings.Contains(oe.Err.Message, "committed: ") {
				t.Errorf("a step inside the transaction reported committed: %s", oe.Err.Message)
			}
		})
	}
}

// A one-step fan-out answers that step's own error; inside a transaction a
// broken connection says the transaction is lost rather than "safe to
// retry".
func TestFanoutOneStep(t *testing.T) {
	tests := []struct {
		name   string
		status uint16
		resp   *resp
		code   uint16
		text   string
	}{
		{"server error", mysql.SERVER_STATUS_AUTOCOMMIT, dupErr(), mysql.ER_DUP_ENTRY, "Duplicate entry '1'"},
		{"broken at send", mysql.SERVER_STATUS_AUTOCOMMIT, broken(true), backend.CodeNotSent, backend.NotSentPrefix + "server c0 ("},
		{"broken after send", mysql.SERVER_STATUS_AUTOCOMMIT, broken(false), mysql.ER_UNKNOWN_ERROR, "may or may not have taken effect"},
		{"broken at send in a transaction", mysql.SERVER_STATUS_IN_TRANS, broken(true), mysql.ER_UNKNOWN_ERROR, "retry the whole transaction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.status = tt.status
			f := &Fanout{Routes: fanoutRoutes(vc, []string{"c0"}, tt.resp), AllSucceed: true}
			w := &recWriter{}
			err := f.Execute(vc, w)
			wantFailed(t, vc, w, err)
			wantCode(t, err, tt.code, tt.text)
			var oe *OutcomeError
			if errors.As(err, &oe) {
				t.Errorf("one step answered an outcome list: %v", err)
			}
		})
	}
}

// A global table's copies: every copy is tried, and the message says the
// copies now differ, or, when every copy refused alike, that nothing was
// written, with the server's code.
func TestFanoutGlobalCopies(t *testing.T) {
	tests := []struct {
		name    string
		resps   []*resp
		code    uint16
		partial bool
		text    []string
	}{
		{"one copy fails", []*resp{okAuto(1), dupErr(), okAuto(1)}, mysql.ER_UNKNOWN_ERROR, true,
			[]string{"partly written: a write to the 3 copies of global table regions did not succeed everywhere (2 committed, 1 failed); the copies now differ, repair by hand",
				"committed: main.regions, s1.regions; failed: s0.regions (1062: Duplicate entry '1')"}},
		{"one copy unknown", []*resp{broken(false), okAuto(1), okAuto(1)}, mysql.ER_UNKNOWN_ERROR, true,
			[]string{"outcome unknown: a write to the 3 copies of global table regions", "the copies now differ", "outcome unknown: main.regions (the connection to server main"}},
		{"every copy refuses alike", []*resp{dupErr(), dupErr(), dupErr()}, mysql.ER_DUP_ENTRY, false,
			[]string{"nothing written: a write to the 3 copies of global table regions did not succeed everywhere (3 failed). failed: main.regions, s0.regions, s1.regions (1062: Duplicate entry '1')"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			rs := fanoutRoutes(vc, []string{"main", "s0", "s1"}, tt.resps...)
			for _, r := range rs {
				r.Tables = []string{"regions"}
			}
			f := &Fanout{Routes: rs, AllSucceed: true, Global: true}
			w := &recWriter{}
			err := f.Execute(vc, w)
			wantFailed(t, vc, w, err)
			if len(vc.conns) != 3 {
				t.Errorf("%d copies tried, want 3", len(vc.conns))
			}
			wantCode(t, err, tt.code, tt.text...)
			if got := outcomeOf(t, err).Partial(); got != tt.partial {
				t.Errorf("Partial() = %v", got)
			}
		})
	}
}

// Beyond maxListed tables the message names some of each outcome and
// counts the rest; the counts come first, within what a client library
// keeps of a message (512 bytes); the error still holds every step.
func TestFanoutMessageBounded(t *testing.T) {
	vc := newCursor(t)
	var rsps []*resp
	for i := 0; i < 64; i++ {
		if i%2 == 0 {
			rsps = append(rsps, okAuto(1))
		} else {
			rsps = append(rsps, srvErr(mysql.ER_LOCK_WAIT_TIMEOUT, "Lock wait timeout exceeded; try restarting transaction "+strings.Repeat("x", 300)))
		}
	}
	f := &Fanout{Routes: fanoutRoutes(vc, []string{"s0", "s1"}, rsps...), AllSucceed: true}
	err := f.Execute(vc, &recWriter{})
	oe := outcomeOf(t, err)
	msg := oe.Err.Message
	if i := strings.Index(msg, "(32 committed, 32 failed)"); i < 0 || i > 400 {
		t.Errorf("counts missing or beyond the first 400 bytes: %q", msg)
	}
	// 3 per outcome first, the other 14 names to the first outcome.
	for _, s := range []string{"… and 15 more", "… and 29 more"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message does not say %q: %s", s, msg)
		}
	}
	if n := strings.Count(msg, ".t_"); n != maxListed {
		t.Errorf("%d tables named, want %d", n, maxListed)
	}
	if len(msg) > 2500 {
		t.Errorf("message of %d bytes", len(msg))
	}
	if n := len(oe.Steps); n != 64 {
		t.Errorf("%d steps kept, want 64", n)
	}
	if l := oe.List(StepFailed, 100); len(l) != 32 || !strings.HasPrefix(l[0], "s1.t_1 (1205: Lock wait timeout") {
		t.Errorf("List(failed) = %d entries, first %q", len(l), l[0])
	}
	if l := oe.List(StepCommitted, 5); len(l) != 6 || l[5] != "… and 27 more" {
		t.Errorf("List(committed, 5) = %q", l)
	}
}

func TestFanoutSucceeds(t *testing.T) {
	ok := func(affected, id uint64, warnings uint16) *resp {
		return okResp(wire.OK{AffectedRows: affected, InsertID: id, Warnings: warnings, Status: mysql.SERVER_STATUS_AUTOCOMMIT})
	}
	tests := []struct {
		name       string
		allSucceed bool
		resps      []*resp
		want       wire.OK
	}{
		{name: "affected rows summed", resps: []*resp{ok(2, 0, 1), ok(3, 10, 0), ok(1, 20, 2)}, want: wire.OK{AffectedRows: 6, InsertID: 10, Warnings: 3}},
		{name: "all succeed: one copy's rows", allSucceed: true, resps: []*resp{ok(4, 0, 0), ok(4, 0, 0), ok(4, 0, 0)}, want: wire.OK{AffectedRows: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.status = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
			f := &Fanout{Routes: fanoutRoutes(vc, []string{"c0", "c1"}, tt.resps...), AllSucceed: tt.allSucceed}
			w := &recWriter{}
			if err := f.Execute(vc, w); err != nil {
				t.Fatal(err)
			}
			vc.checkReleased(t)
			got := decode(t, w.packets)
			want := tt.want
			want.Status = vc.status
			if got.ok == nil || *got.ok != want {
				t.Errorf("OK %+v, want %+v", got.ok, want)
			}
			vc.checkSucceeded(t, true)
			if vc.succeeded[0].InsertID != want.InsertID {
				t.Errorf("Succeeded with insert id %d, want %d", vc.succeeded[0].InsertID, want.InsertID)
			}
			if w.flushes != 1 {
				t.Errorf("%d flushes", w.flushes)
			}
		})
	}
}

func TestFanoutDescribe(t *testing.T) {
	if d := (&Fanout{AllSucceed: true}).Describe(); !strings.Contains(d, "all must succeed") {
		t.Errorf("Describe %q", d)
	}
	if d := (&Fanout{}).Describe(); !strings.Contains(d, "sum affected rows") {
		t.Errorf("Describe %q", d)
	}
}

// TestFanoutAtomic: when the session runs a write atomically, the first
// failure stops it (also for global tables), finish hears it once and
// decides what the client hears, and the OK packet goes out only after
// finish accepted the write.
func TestFanoutAtomic(t *testing.T) {
	ok := func() *resp { return okResp(wire.OK{AffectedRows: 1, Status: mysql.SERVER_STATUS_AUTOCOMMIT}) }
	dup := func() *resp { return srvErr(mysql.ER_DUP_ENTRY, "Duplicate entry '1'") }
	commitFailed := wire.Errorf(mysql.ER_XA_RBROLLBACK, "rolled back")
	tests := []struct {
		name       string
		allSucceed bool
		resps      []*resp
		commitErr  error
		ran        int
		finished   []string // what finish was called with ("" for nil)
		err        uint16
		errText    string
	}{
		{name: "all steps, then commit", resps: []*resp{ok(), ok(), ok()}, ran: 3, finished: []string{""}},
		{name: "commit fails", resps: []*resp{ok(), ok()}, commitErr: commitFailed, ran: 2, finished: []string{""}, err: mysql.ER_XA_RBROLLBACK, errText: "rolled back"},
		{name: "step fails", resps: []*resp{ok(), dup(), ok()}, ran: 2, finished: []string{"failed on c1.t_1 (1062: Duplicate entry '1')"}, err: mysql.ER_DUP_ENTRY, errText: "undone"},
		{name: "global table: first failure stops", allSucceed: true, resps: []*resp{dup(), ok(), ok()}, ran: 1, finished: []string{"failed on c0.t_0"}, err: mysql.ER_DUP_ENTRY, errText: "undone"},
		{name: "broken step", resps: []*resp{ok(), broken(false)}, ran: 2, finished: []string{"outcome unknown"}, err: mysql.ER_UNKNOWN_ERROR, errText: "undone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			w := &recWriter{}
			var finished []string
			vc.atomic = func() (func(error) error, error) {
				return func(err error) error {
					if len(w.packets) != 0 {
						t.Errorf("the client got an answer before finish")
					}
					if err == nil {
						finished = append(finished, "")
						return tt.commitErr
					}
					finished = append(finished, err.Error())
					me := err.(*mysql.MyError)
					return &mysql.MyError{Code: me.Code, State: me.State, Message: me.Message + "; undone"}
				}, nil
			}
			f := &Fanout{Routes: fanoutRoutes(vc, []string{"c0", "c1"}, tt.resps...), AllSucceed: tt.allSucceed}
			err := f.Execute(vc, w)
			vc.checkReleased(t)
			if len(vc.conns) != tt.ran {
				t.Errorf("%d steps ran, want %d", len(vc.conns), tt.ran)
			}
			if len(finished) != len(tt.finished) {
				t.Fatalf("finish called %d times (%q), want %d", len(finished), finished, len(tt.finished))
			}
			for i := range finished {
				if !strings.Contains(finished[i], tt.finished[i]) {
					t.Errorf("finish(%q), want %q", finished[i], tt.finished[i])
				}
			}
			if tt.err != 0 {
				wantCode(t, err, tt.err, tt.errText)
				if strings.Contains(err.Error(), "not rolled back") {
					t.Errorf("atomic failure worded as partial: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vc.checkSucceeded(t, true)
			if got := decode(t, w.packets); got.ok == nil || got.ok.AffectedRows != uint64(tt.ran) {
				t.Errorf("OK %+v", got.ok)
			}
		})
	}
}
