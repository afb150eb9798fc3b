package xa

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
)

func testConfig() Config {
	return Config{Instance: "sg-test:3307", LogCluster: "main", LogSchema: "txn_log", RecoveryInterval: time.Second, AbortAfter: 30 * time.Second}
}

// transfer is a transaction with a branch on s0 and one on s1, as a
// session would hold them.
func transfer(t *testing.T, w *world, c *Coordinator) (*Txn, []Branch) {
	t.Helper()
	tx := c.Begin()
	return tx, []Branch{w.session(t, tx, "s0"), w.session(t, tx, "s1")}
}

func codeOf(err error) uint16 {
	var me *mysql.MyError
	if errors.As(err, &me) {
		return me.Code
	}
	return 0
}

// TestTwoPhaseCommitFaults: a fault at each step of the commit protocol
// ends with every branch committed or every branch rolled back, once
// recovery has run; the client hears what happened, and only connections
// that ended their branch are kept.
func TestTwoPhaseCommitFaults(t *testing.T) {
	broken := fault{breakBefore: true}
	cases := []struct {
		name   string
		setup  func(w *world)
		hook   Hook
		code   uint16 // 0: COMMIT succeeds
		text   string
		before string // outcome before recovery
		after  string // outcome after recovery
		keep   []bool
		warn   bool
	}{
		{name: "no fault", code: 0, before: "committed", after: "committed", keep: []bool{true, true}},
		{name: "crash before prepare", hook: crashAt(BeforePrepare, -1), code: mysql.ER_UNKNOWN_ERROR, text: "simulated crash",
			before: "rolled back", after: "rolled back", keep: []bool{false, false}},
		{name: "prepare refused (deadlock)", setup: func(w *world) {
			w.inject("s1", "XA PREPARE", fault{server: xaErr(mysql.ER_XA_RBDEADLOCK, "XA_RBDEADLOCK")})
		},
			code: mysql.ER_LOCK_DEADLOCK, text: "Deadlock found", before: "rolled back", after: "rolled back", keep: []bool{true, true}},
		{name: "prepare refused (other error)", setup: func(w *world) { w.inject("s1", "XA PREPARE", fault{server: xaErr(mysql.ER_XAER_RMERR, "XAER_RMERR")}) },
			code: mysql.ER_XAER_RMERR, text: "rolled back: XA PREPARE failed on primary s1", before: "rolled back", after: "rolled back", keep: []bool{true, true}},
		{name: "prepare ran, then the connection broke", setup: func(w *world) { w.inject("s1", "XA PREPARE", fault{breakAfter: true}) },
			code: mysql.ER_XA_RBROLLBACK, text: "the connection broke", before: "mixed: s0=rolled back, s1=prepared", after: "rolled back", keep: []bool{true, false}},
		{name: "crash between prepares", hook: crashAt(Prepare, 1), code: mysql.ER_UNKNOWN_ERROR, text: "simulated crash",
			before: "mixed: s0=prepared, s1=rolled back", after: "rolled back", keep: []bool{false, false}},
		{name: "decision not written (server error)", setup: func(w *world) {
			w.inject("main", "INSERT INTO `txn_log`.xa_log", fault{server: xaErr(mysql.ER_TABLEACCESS_DENIED_ERROR, "INSERT command denied")})
		}, code: mysql.ER_XA_RBROLLBACK, text: "could not be written to the decision log", before: "rolled back", after: "rolled back", keep: []bool{true, true}},
		{name: "log server down", setup: func(w *world) { w.setDown("main", true) },
			code: mysql.ER_XA_RBROLLBACK, text: "could not be written", before: "rolled back", after: "rolled back", keep: []bool{true, true}},
		{name: "decision written, answer lost", setup: func(w *world) { w.inject("main", "INSERT INTO `txn_log`.xa_log", fault{breakAfter: true}) },
			code: 0, before: "committed", after: "committed", keep: []bool{true, true}},
		{name: "decision not written, answer lost, log gone", setup: func(w *world) {
			w.inject("main", "INSERT INTO `txn_log`.xa_log", fault{breakBefore: true})
			w.inject("main", "INSERT INTO `txn_log`.xa_log", fault{breakBefore: true})
		}, code: mysql.ER_UNKNOWN_ERROR, text: "outcome unknown", before: "prepared", after: "rolled back", keep: []bool{false, false}},
		{name: "crash after decision", hook: crashAt(AfterDecision, -1), code: mysql.ER_UNKNOWN_ERROR, text: "simulated crash",
			before: "prepared", after: "committed", keep: []bool{false, false}},
		// The retry finds the branch gone: committed by the first XA
		// COMMIT here, but the proxy cannot tell that from a branch the
		// server lost, so the OK carries a warning.
		{name: "commit's connection broke after it ran", setup: func(w *world) { w.inject("s1", "XA COMMIT", fault{breakAfter: true}) },
			code: 0, before: "committed", after: "committed", keep: []bool{true, false}, warn: true},
		{name: "commit's connection broke, retried elsewhere", setup: func(w *world) { w.inject("s1", "XA COMMIT", broken) },
			code: 0, before: "committed", after: "committed", keep: []bool{true, false}},
		{name: "commit's server gone", setup: func(w *world) {
			w.inject("s1", "XA COMMIT", broken)
			w.setDownLater("s1")
		}, code: 0, warn: true, before: "mixed: s0=committed, s1=prepared", after: "committed", keep: []bool{true, false}},
		{name: "crash during commits", hook: crashAt(Commit, 1), code: mysql.ER_UNKNOWN_ERROR, text: "simulated crash",
			before: "mixed: s0=committed, s1=prepared", after: "committed", keep: []bool{false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld("main", "s0", "s1")
			c := New(testConfig(), w)
			tx, bs := transfer(t, w, c)
			if tc.setup != nil {
				tc.setup(w)
			}
			c.SetHook(tc.hook)
			out, err := tx.Commit(bs)
			c.SetHook(nil)
			if code := codeOf(err); code != tc.code || err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("COMMIT: %v (code %d), want code %d with %q", err, code, tc.code, tc.text)
			}
			if (out.Warning != "") != tc.warn {
				t.Fatalf("warning %q, want one: %v", out.Warning, tc.warn)
			}
			for i, k := range tc.keep {
				if out.Keep[i] != k {
					t.Fatalf("keep %v, want %v", out.Keep, tc.keep)
				}
				if fc := bs[i].Conn.(*fakeConn); fc.closed == k {
					t.Fatalf("branch %d: connection closed %v, but kept %v", i, fc.closed, k)
				}
			}
			if got := w.outcome(tx.Gtrid()); got != tc.before {
				t.Fatalf("before recovery: %s, want %s", got, tc.before)
			}
			w.setDown("main", false)
			w.setDown("s1", false)
			if _, err := c.Recover(); err != nil {
				t.Fatal(err)
			}
			if got := w.outcome(tx.Gtrid()); got != tc.after {
				t.Fatalf("after recovery: %s, want %s", got, tc.after)
			}
			// A second round finds nothing left to do.
			if r, err := c.Recover(); err != nil || r.Committed+r.RolledBack+len(r.Waiting) != 0 {
				t.Fatalf("second round: %+v, %v", r, err)
			}
		})
	}
}

func crashAt(step Step, branch int) Hook {
	return func(s Step, b int) error {
		if s == step && b == branch {
			return ErrCrash
		}
		return nil
	}
}

// setDownLater takes the server down once it is asked for a new
// connection (after the branch's own connection broke).
func (w *world) setDownLater(cluster string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.servers[cluster].faults["__down_on_get"] = []fault{{}}
}

// TestAbortTombstoneBeatsLateCommit: recovery by another instance aborts a
// transaction whose coordinator looks gone; when the coordinator comes to
// its decision after all, the tombstone stands and it rolls back.
func TestAbortTombstoneBeatsLateCommit(t *testing.T) {
	w := newWorld("main", "s0", "s1")
	a := New(testConfig(), w)
	cfgB := testConfig()
	cfgB.Instance = "other:3307"
	b := New(cfgB, w)
	tx, bs := transfer(t, w, a)
	var g string
	a.SetHook(func(s Step, _ int) error {
		if s != Decision {
			return nil
		}
		// Every branch is prepared and a is about to decide: b's recovery
		// runs now, with a silent for longer than three intervals.
		g = tx.Gtrid()
		w.mu.Lock()
		w.inst[a.token] = fakeInstance{epoch: a.epoch, heartbeat: time.Now().Add(-time.Hour)}
		w.mu.Unlock()
		r, err := b.Recover()
		if err != nil || len(r.Waiting) != 0 {
			t.Errorf("b's recovery: %+v %v", r, err)
		}
		return nil
	})
	// a's own heartbeat is refreshed by nothing here: the hook makes it old.
	_, err := tx.Commit(bs)
	if codeOf(err) != mysql.ER_XA_RBROLLBACK || !strings.Contains(err.Error(), "recovery decided to abort") {
		t.Fatalf("late COMMIT: %v", err)
	}
	if got := w.outcome(g); got != "rolled back" {
		t.Fatalf("outcome %s", got)
	}
	if w.log[g] != decisionAbort {
		t.Fatalf("decision row %q", w.log[g])
	}
}

// TestRecoveryLeavesLiveCoordinators: another instance's prepared
// transaction is left alone while that instance sends heartbeats and the
// transaction is younger than abort_after; a restarted instance's (an
// older epoch) is ended at once; this process's own ones only once no
// session works on them.
func TestRecoveryLeavesLiveCoordinators(t *testing.T) {
	w := newWorld("main", "s0", "s1")
	a := New(testConfig(), w)
	cfgB := testConfig()
	cfgB.Instance = "other:3307"
	b := New(cfgB, w)
	if _, err := a.Recover(); err != nil { // a's heartbeat
		t.Fatal(err)
	}
	// A transaction of a, prepared on both branches, a still at work.
	tx, bs := transfer(t, w, a)
	for _, br := range bs {
		x := tx.XID(br.Cluster).SQL()
		br.Conn.Exec("XA END " + x)
		br.Conn.Exec("XA PREPARE " + x)
		br.Drop() // detached, as after a crash of the connection
	}
	r, err := b.Recover()
	if err != nil || len(r.Waiting) != 1 || r.RolledBack+r.Committed != 0 {
		t.Fatalf("b while a is alive: %+v %v", r, err)
	}
	if len(b.Transactions()) != 1 || !strings.Contains(b.Transactions()[0].State, "coordinator at work") {
		t.Fatalf("SHOW SHARDGATE TRANSACTIONS on b: %+v", b.Transactions())
	}
	// a itself leaves it while its session is at work on it...
	if r, _ := a.Recover(); len(r.Waiting) != 1 {
		t.Fatalf("a with the transaction active: %+v", r)
	}
	// ...and a restarted a (same name, a later epoch) ends it at once.
	time.Sleep(2 * time.Millisecond)
	a2 := New(testConfig(), w)
	if a2.epoch == a.epoch {
		t.Fatal("same epoch")
	}
	r, err = a2.Recover()
	if err != nil || r.RolledBack != 2 {
		t.Fatalf("restarted a: %+v %v", r, err)
	}
	if got := w.outcome(tx.Gtrid()); got != "rolled back" {
		t.Fatalf("outcome %s", got)
	}
	tx.end()
}

// TestRecoveryDecision: when recovery may end another coordinator's
// transaction.
func TestRecoveryDecision(t *testing.T) {
	c := New(testConfig(), newWorld("main"))
	alive := instance{epoch: 100, silent: time.Second}
	cases := []struct {
		name      string
		token     string
		epoch     int64
		active    bool
		instances map[string]instance
		age       time.Duration
		want      string
	}{
		{"being committed here", c.token, c.epoch, true, nil, time.Hour, ""},
		{"left by this process", c.token, c.epoch, false, nil, 0, "left to recovery by this process"},
		{"live instance", "x", 100, false, map[string]instance{"x": alive}, time.Second, ""},
		{"live instance, old transaction", "x", 100, false, map[string]instance{"x": alive}, time.Minute, "in doubt for longer than abort_after"},
		{"unknown instance", "x", 100, false, map[string]instance{}, 0, "its instance is unknown to the log"},
		{"restarted instance", "x", 99, false, map[string]instance{"x": alive}, 0, "its instance restarted since"},
		{"silent instance", "x", 100, false, map[string]instance{"x": {epoch: 100, silent: 4 * time.Second}}, 0, "its instance stopped sending heartbeats"},
		{"instance restarted after, heartbeat not yet written", "x", 101, false, map[string]instance{"x": alive}, 0, ""},
	}
	for _, tc := range cases {
		if got := c.gone(tc.token, tc.epoch, tc.active, tc.instances, tc.age); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestOnePhase: one branch commits with XA COMMIT … ONE PHASE; a broken
// connection at that point is an unknown outcome, a refused XA END rolls
// the branch back.
func TestOnePhase(t *testing.T) {
	cases := []struct {
		name    string
		fault   fault
		prefix  string
		code    uint16
		outcome string
		keep    bool
	}{
		{"ok", fault{}, "", 0, "committed", true},
		{"commit connection broke", fault{breakBefore: true}, "XA COMMIT", mysql.ER_UNKNOWN_ERROR, "rolled back", false},
		{"end refused", fault{server: xaErr(mysql.ER_XA_RBDEADLOCK, "XA_RBDEADLOCK")}, "XA END", mysql.ER_LOCK_DEADLOCK, "rolled back", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld("main", "s0")
			c := New(testConfig(), w)
			tx := c.Begin()
			b := w.session(t, tx, "s0")
			if tc.prefix != "" {
				w.inject("s0", tc.prefix, tc.fault)
			}
			out, err := tx.Commit([]Branch{b})
			if codeOf(err) != tc.code || out.Keep[0] != tc.keep {
				t.Fatalf("%v (keep %v)", err, out.Keep)
			}
			if got := w.outcome(tx.Gtrid()); got != tc.outcome {
				t.Fatalf("outcome %s", got)
			}
			for _, s := range w.statemts {
				if strings.Contains(s, "xa_log") {
					t.Fatalf("a one-phase commit wrote the decision log: %s", s)
				}
			}
		})
	}
}

// TestRollbackEndsEveryBranch: ROLLBACK ends active branches and one
// marked rollback-only by a deadlock.
func TestRollbackEndsEveryBranch(t *testing.T) {
	w := newWorld("main", "s0", "s1")
	c := New(testConfig(), w)
	tx, bs := transfer(t, w, c)
	w.mu.Lock()
	w.servers["s1"].branches[tx.XID("s1")].state = stRollbackOnly
	w.mu.Unlock()
	out := tx.Rollback(bs)
	if !out.Keep[0] || !out.Keep[1] {
		t.Fatalf("keep %v", out.Keep)
	}
	if got := w.outcome(tx.Gtrid()); got != "rolled back" {
		t.Fatalf("outcome %s", got)
	}
	if len(c.Transactions()) != 0 {
		t.Fatalf("still listed: %+v", c.Transactions())
	}
}

// TestRecoveryIgnoresOtherXIDs: prepared transactions of other formats or
// with gtrids shardgate did not make are never touched.
func TestRecoveryIgnoresOtherXIDs(t *testing.T) {
	w := newWorld("main", "s0")
	c := New(testConfig(), w)
	conn, _ := w.Get("s0")
	foreign := XID{Gtrid: "app-txn-1", Bqual: "b"}
	conn.Exec("XA START " + foreign.SQL())
	conn.Exec("XA END " + foreign.SQL())
	conn.Exec("XA PREPARE " + foreign.SQL())
	conn.(*fakeConn).close()
	if r, err := c.Recover(); err != nil || r.RolledBack+r.Committed+len(r.Waiting) != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	if got := w.outcome("app-txn-1"); got != "prepared" {
		t.Fatalf("foreign branch: %s", got)
	}
}

// TestRecoveryLeavesTransactionsInFlight: a branch XA RECOVER lists while
// its transaction is being committed here, and whose transaction ends
// before recovery looks at it, was in flight: recovery leaves it (and
// counts nothing); only a branch still prepared in the next round is left
// over.
func TestRecoveryLeavesTransactionsInFlight(t *testing.T) {
	w := newWorld("main", "s0", "s1")
	c := New(testConfig(), w)
	tx, bs := transfer(t, w, c)
	for _, br := range bs {
		x := tx.XID(br.Cluster).SQL()
		br.Conn.Exec("XA END " + x)
		br.Conn.Exec("XA PREPARE " + x)
		br.Drop()
	}
	w.onRecover = func() { tx.end() } // its session finishes meanwhile
	r, err := c.Recover()
	if err != nil || r.Committed+r.RolledBack != 0 || len(r.Waiting) != 1 {
		t.Fatalf("round with the transaction in flight: %+v %v", r, err)
	}
	w.onRecover = nil
	if got := w.outcome(tx.Gtrid()); got != "prepared" {
		t.Fatalf("touched while in flight: %s", got)
	}
	r, err = c.Recover()
	if err != nil || r.RolledBack != 2 {
		t.Fatalf("next round: %+v %v", r, err)
	}
}

// After the commit decision a branch whose connection broke is committed
// from another connection; when the server then no longer holds it
// prepared (XAER_NOTA, absent from XA RECOVER), its first XA COMMIT most
// likely went through, but a branch the server lost (a crash with relaxed
// durability, a failover) looks the same. The client hears OK with a
// warning saying so, never a bare OK. (Found by an adversarial review.)
func TestVanishedBranchCommitUnconfirmed(t *testing.T) {
	w := newWorld("main", "s0", "s1")
	a := New(testConfig(), w)
	tx, bs := transfer(t, w, a)
	a.SetHook(func(s Step, i int) error {
		if s == Commit && i == 1 {
			w.mu.Lock()
			x := tx.XID("s1")
			delete(w.servers["s1"].branches, x)
			w.servers["s1"].rolledBack = append(w.servers["s1"].rolledBack, x)
			w.mu.Unlock()
			return errors.New("connection reset") // broken
		}
		return nil
	})
	out, err := tx.Commit(bs)
	if err != nil {
		t.Fatalf("COMMIT: %v (the decision was commit)", err)
	}
	if !strings.Contains(out.Warning, "no longer prepared") || !strings.Contains(out.Warning, "nothing confirms it") {
		t.Fatalf("warning %q, want one saying the branch's commit is unconfirmed", out.Warning)
	}
}
