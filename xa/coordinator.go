// Package xa coordinates transactions that span clusters: XA branches
// committed with two-phase commit, the commit decision made durable in a
// table on one cluster (the decision log), and the recovery that finishes
// or rolls back branches left prepared by a crash — of the proxy, of a
// server, or of the connection between them. It also commits the local
// branches of best_effort and read-only transactions.
//
// The session (package router) decides when a branch starts and which
// connection holds it; this package decides how branches end. Nothing here
// reads or writes a client's session, so every step of the protocol is
// unit-tested with fake servers (see docs/transactions.md for the design).
package xa

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/metrics"
	"github.com/shardgate/shardgate/wire"
)

// Config is the top-level transactions: block of the rules, with the
// instance name filled in.
type Config struct {
	Instance              string
	LogCluster, LogSchema string
	RecoveryInterval      time.Duration
	AbortAfter            time.Duration
}

// Step is a point of the commit protocol where a test's Hook may inject a
// fault.
type Step int

const (
	// BeforePrepare: once, before any branch is prepared.
	BeforePrepare Step = iota
	// Prepare: per branch, before its XA END and XA PREPARE.
	Prepare
	// Decision: once, every branch prepared, before the decision is written.
	Decision
	// AfterDecision: once, the commit decision is durable, no branch
	// committed yet.
	AfterDecision
	// Commit: per branch, before its XA COMMIT.
	Commit
)

var stepNames = [...]string{"before prepare", "prepare", "decision", "after decision", "commit"}

func (s Step) String() string { return stepNames[s] }

// Hook is called at each Step (branch is the branch's index, -1 for steps
// of the whole transaction). ErrCrash makes the coordinator stop as if the
// process died there: every branch connection is closed with no further
// statement, and recovery must finish the work. Another error is a failure
// of that step: of the branch's statement (a *mysql.MyError is the
// server's answer, anything else a broken connection), or of the decision
// log's write at Decision. Production has no hook.
type Hook func(step Step, branch int) error

// ErrCrash is what a Hook returns to simulate a crash of the proxy.
var ErrCrash = errors.New("xa: simulated crash of the proxy")

// Coordinator runs the commits of one proxy process and its recovery.
type Coordinator struct {
	cfg   Config
	token string
	// epoch is the process's start (unix ms): a restarted instance's
	// transactions are told from the live process's by it.
	epoch int64
	seq   atomic.Uint64
	p     Primaries
	log   decisionLog
	hook  atomic.Pointer[Hook]
	// Metrics, when not nil, counts commits, prepare failures and
	// recoveries.
	Metrics *metrics.Metrics
	// Log receives recovery's actions and failures.
	Log *slog.Logger

	mu     sync.Mutex
	active map[string]*Txn
	// endedInRound are transactions that ended while a recovery round ran:
	// what that round's XA RECOVER listed of them was in flight, not left
	// over.
	endedInRound map[string]bool
	// Recovery's memory: when each in-doubt gtrid was first seen (for
	// abort_after), what the last round found, and how many rounds ran.
	firstSeen map[string]time.Time
	inDoubt   []InDoubt
	rounds    int
	ready     bool
}

// New makes the coordinator of a process starting now.
func New(cfg Config, p Primaries) *Coordinator {
	c := &Coordinator{
		cfg: cfg, token: Token(cfg.Instance), epoch: time.Now().UnixMilli(), p: p,
		log:    decisionLog{cluster: cfg.LogCluster, schema: cfg.LogSchema, p: p},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		active: map[string]*Txn{}, firstSeen: map[string]time.Time{},
	}
	return c
}

// SetHook installs a test's fault hook (nil removes it).
func (c *Coordinator) SetHook(h Hook) {
	if h == nil {
		c.hook.Store(nil)
		return
	}
	c.hook.Store(&h)
}

func (c *Coordinator) at(step Step, branch int) error {
	if h := c.hook.Load(); h != nil {
		return (*h)(step, branch)
	}
	return nil
}

// Instance is the instance's token as xids carry it.
func (c *Coordinator) Instance() string { return c.token }

// Txn is one distributed transaction of a session, from its first XA
// branch to its end. Its methods belong to the session's goroutine.
type Txn struct {
	c       *Coordinator
	gtrid   string
	started time.Time

	mu       sync.Mutex // guards what SHOW SHARDGATE TRANSACTIONS reads
	clusters []string
	state    string
}

// Begin starts a transaction's bookkeeping; its branches start with XID.
func (c *Coordinator) Begin() *Txn {
	t := &Txn{c: c, gtrid: gtrid(c.token, c.epoch, c.seq.Add(1)), started: time.Now(), state: "active"}
	c.mu.Lock()
	c.active[t.gtrid] = t
	c.mu.Unlock()
	return t
}

// Gtrid is the transaction's global id.
func (t *Txn) Gtrid() string { return t.gtrid }

// XID is the id of the transaction's branch on cluster.
func (t *Txn) XID(cluster string) XID { return XID{Gtrid: t.gtrid, Bqual: bqual(cluster)} }

// Started records that cluster's branch began (XA START succeeded).
func (t *Txn) Started(cluster string) {
	t.mu.Lock()
	t.clusters = append(t.clusters, cluster)
	t.mu.Unlock()
}

func (t *Txn) setState(s string) {
	t.mu.Lock()
	t.state = s
	t.mu.Unlock()
}

// end forgets the transaction: from now on recovery may resolve whatever
// of it a server still holds prepared.
func (t *Txn) end() {
	t.c.mu.Lock()
	delete(t.c.active, t.gtrid)
	if t.c.endedInRound != nil {
		t.c.endedInRound[t.gtrid] = true
	}
	t.c.mu.Unlock()
}

// Branch is one branch as the session holds it.
type Branch struct {
	Cluster string
	// Server names the branch's server in messages.
	Server string
	Conn   Conn
	// Drop closes Conn and forgets it (the session's pool accounting). The
	// coordinator calls it once for every connection it does not keep: a
	// broken one, or one that may hold a prepared branch that only
	// recovery may end (closing detaches a prepared branch from its
	// connection, so another connection can commit it; a branch that is
	// not prepared is rolled back by the server).
	Drop func()
}

// Outcome says what became of each branch's connection.
type Outcome struct {
	// Keep[i]: branch i's connection ended its transaction and may serve
	// again; otherwise Drop has been called for it.
	Keep []bool
	// Warning, when set, goes with a successful COMMIT: the transaction is
	// committed, but some branch's commit is left to recovery.
	Warning string
}

func newOutcome(n int) Outcome { return Outcome{Keep: make([]bool, n)} }

// Commit ends the transaction: one branch commits in one phase, several
// with two-phase commit. The error is what the client hears.
func (t *Txn) Commit(bs []Branch) (Outcome, error) {
	defer t.end()
	bs = droppingOnce(bs)
	var out Outcome
	var err error
	switch len(bs) {
	case 0:
		return newOutcome(0), nil
	case 1:
		out, err = t.onePhase(bs[0])
	default:
		out, err = t.twoPhase(bs)
	}
	dropUnkept(bs, out)
	return out, err
}

// Rollback ends the transaction, rolling every branch back.
func (t *Txn) Rollback(bs []Branch) Outcome {
	defer t.end()
	bs = droppingOnce(bs)
	out := newOutcome(len(bs))
	for i, b := range bs {
		out.Keep[i] = t.rollbackBranch(b, false)
	}
	dropUnkept(bs, out)
	return out
}

// droppingOnce makes each branch's Drop safe to call more than once.
func droppingOnce(bs []Branch) []Branch {
	out := make([]Branch, len(bs))
	for i, b := range bs {
		var once sync.Once
		drop := b.Drop
		b.Drop = func() {
			once.Do(func() {
				if drop != nil {
					drop()
				}
			})
		}
		out[i] = b
	}
	return out
}

func dropUnkept(bs []Branch, out Outcome) {
	for i, b := range bs {
		if !out.Keep[i] {
			b.Drop()
		}
	}
}

// onePhase commits the only branch: XA END, XA COMMIT … ONE PHASE.
func (t *Txn) onePhase(b Branch) (Outcome, error) {
	out := newOutcome(1)
	x := t.XID(b.Cluster).SQL()
	t.setState("committing")
	ran, err := execAll(b.Conn, "XA END "+x, "XA COMMIT "+x+" ONE PHASE")
	if err != nil && ran == 0 { // XA END
		if engine.Classify(err) != engine.FaultServer {
			// Not prepared: the server rolls it back when it sees the
			// connection gone. (Sent together with the commit, a broken
			// connection may also have lost the commit's answer.)
			if _, batched := b.Conn.(batcher); batched {
				return out, backend.OutcomeUnknown(b.Server, err)
			}
			return out, rolledBack("the connection to %s broke before the commit (%v)", b.Server, err)
		}
		out.Keep[0] = t.rollbackBranch(b, true)
		return out, clientError(err)
	}
	switch engine.Classify(err) {
	case engine.FaultNone:
		out.Keep[0] = true
		t.c.Metrics.TxnCommitted("one_phase")
		return out, nil
	case engine.FaultServer:
		// A one-phase commit that fails rolls the branch back.
		out.Keep[0] = t.rollbackBranch(b, true)
		return out, clientError(err)
	}
	return out, backend.OutcomeUnknown(b.Server, err)
}

// rollbackBranch rolls back a branch that is not prepared (or, prepared,
// on the connection that prepared it). ended: XA END already ran. It
// reports whether the connection may serve again.
func (t *Txn) rollbackBranch(b Branch, ended bool) bool {
	x := t.XID(b.Cluster).SQL()
	if !ended {
		// XA ROLLBACK needs the branch ended; a branch marked rollback-only
		// (after a deadlock) refuses XA END and rolls back all the same.
		if _, err := b.Conn.Exec("XA END " + x); engine.Classify(err) == engine.FaultBroken {
			return false
		}
	}
	_, err := b.Conn.Exec("XA ROLLBACK " + x)
	var me *mysql.MyError
	switch {
	case err == nil:
		return true
	case errors.As(err, &me) && me.Code == mysql.ER_XAER_NOTA:
		return true // the server has no such branch any more: nothing to end
	}
	// Closing the connection rolls back a branch that is not prepared; a
	// prepared one detaches and waits for recovery.
	return false
}

// branchResult is what one branch's step ended with.
type branchResult struct {
	err     error
	crashed bool
	// broken: the connection failed; the branch may or may not have done
	// the step (a prepare may have happened).
	broken bool
	done   bool
	// unconfirmed: done, but the branch was no longer prepared when the
	// commit was retried after its connection broke: the first XA COMMIT
	// most likely went through, but nothing confirms it did.
	unconfirmed bool
}

// each runs f on every branch at once and waits for all.
func each(n int, f func(i int) branchResult) []branchResult {
	res := make([]branchResult, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i] = f(i)
		}(i)
	}
	wg.Wait()
	return res
}

// hooked turns a hook's answer into a branch result; ok is false when the
// step must not run.
func hooked(err error) (branchResult, bool) {
	switch {
	case err == nil:
		return branchResult{}, true
	case errors.Is(err, ErrCrash):
		return branchResult{crashed: true, err: err}, false
	case engine.Classify(err) == engine.FaultServer:
		return branchResult{err: err}, false
	}
	return branchResult{broken: true, err: err}, false
}

func (t *Txn) twoPhase(bs []Branch) (Outcome, error) {
	c := t.c
	out := newOutcome(len(bs))
	clusters := make([]string, len(bs))
	for i, b := range bs {
		clusters[i] = b.Cluster
	}
	t.setState("preparing")
	prepareStart := time.Now()
	if err := c.at(BeforePrepare, -1); err != nil {
		if errors.Is(err, ErrCrash) {
			return newOutcome(len(bs)), crashed()
		}
		for i, b := range bs {
			out.Keep[i] = t.rollbackBranch(b, false)
		}
		return out, rolledBack("%v", err)
	}
	prep := each(len(bs), func(i int) branchResult {
		if r, ok := hooked(c.at(Prepare, i)); !ok {
			return r
		}
		x := t.XID(bs[i].Cluster).SQL()
		if _, err := execAll(bs[i].Conn, "XA END "+x, "XA PREPARE "+x); err != nil {
			return branchResult{err: err, broken: engine.Classify(err) != engine.FaultServer}
		}
		return branchResult{done: true}
	})
	for _, r := range prep {
		if r.crashed {
			return newOutcome(len(bs)), crashed()
		}
	}
	for i, r := range prep {
		if r.err == nil {
			continue
		}
		c.Metrics.PrepareFailed()
		t.rollbackPrepared(bs, prep, &out)
		if r.broken {
			return out, rolledBack("XA PREPARE on %s failed: the connection broke (%v); every branch is rolled back", bs[i].Server, r.err)
		}
		return out, prepareFailed(bs[i].Server, r.err)
	}

	// Every branch is prepared: the decision.
	t.setState("deciding")
	decision, err := t.decide(clusters, prepareStart)
	switch {
	case errors.Is(err, ErrCrash):
		return newOutcome(len(bs)), crashed()
	case err != nil:
		var unknown *errUnknown
		if errors.As(err, &unknown) {
			// The branches stay prepared, on connections that are closed:
			// recovery resolves them all the same way.
			c.Log.Warn("xa: commit decision unknown, left to recovery", "xid", t.gtrid, "err", err)
			return out, wire.Errorf(backend.CodeOutcomeUnknown, "shardgate: outcome unknown: the commit decision of this transaction could not be written or read back (%v); recovery commits or rolls back every branch the same way within a few seconds (transactions.recovery_interval): read to see whether it committed", unknown.err)
		}
		t.rollbackPrepared(bs, prep, &out)
		return out, rolledBack("the commit decision could not be written to the decision log (%s on cluster %s): %v", c.cfg.LogSchema, c.cfg.LogCluster, err)
	case decision == decisionAbort:
		t.rollbackPrepared(bs, prep, &out)
		return out, rolledBack("recovery decided to abort this transaction while it waited for its commit decision (it took longer than transactions.abort_after, or this proxy was presumed gone)")
	}
	if err := c.at(AfterDecision, -1); err != nil {
		return newOutcome(len(bs)), crashed() // any fault here is a crash
	}

	t.setState("committing")
	commits := each(len(bs), func(i int) branchResult {
		r, ok := hooked(c.at(Commit, i))
		if ok {
			if _, err := bs[i].Conn.Exec("XA COMMIT " + t.XID(bs[i].Cluster).SQL()); err != nil {
				r = branchResult{err: err, broken: true}
			} else {
				r.done = true
			}
		}
		if r.crashed || r.done {
			return r
		}
		// The decision is commit: finish on another connection, once this
		// one is closed. A branch is detached from its connection once the
		// server sees the connection gone, which may take a moment.
		bs[i].Drop()
		ended, err := t.commitElsewhere(bs[i])
		if err != nil {
			return branchResult{err: err, broken: true}
		}
		return branchResult{done: true, broken: true, unconfirmed: !ended}
	})
	var late, unconfirmed []string
	for i, r := range commits {
		if r.crashed {
			return newOutcome(len(bs)), crashed()
		}
		out.Keep[i] = r.done && !r.broken
		if !r.done {
			late = append(late, fmt.Sprintf("%s (%v)", bs[i].Server, r.err))
		}
		if r.unconfirmed {
			unconfirmed = append(unconfirmed, bs[i].Server)
		}
	}
	c.Metrics.TxnCommitted("two_phase")
	var warnings []string
	if len(late) > 0 {
		warnings = append(warnings, "the commit of the branch on "+strings.Join(late, ", ")+" is not confirmed yet: recovery completes it within a few seconds (transactions.recovery_interval)")
		c.Log.Warn("xa: committed, branches left to recovery", "xid", t.gtrid, "branches", late)
	}
	if len(unconfirmed) > 0 {
		// Gone from XA RECOVER after the connection broke during XA
		// COMMIT: committed by that XA COMMIT, unless the server lost the
		// prepared branch (a crash with relaxed durability, a failover):
		// saying "committed" without a word would be a guess.
		warnings = append(warnings, "the branch on "+strings.Join(unconfirmed, ", ")+" was no longer prepared when its commit was retried after the connection broke: its first XA COMMIT most likely went through, but nothing confirms it")
		c.Log.Warn("xa: committed, branch commits unconfirmed", "xid", t.gtrid, "branches", unconfirmed)
	}
	if len(warnings) > 0 {
		out.Warning = "shardgate: committed; " + strings.Join(warnings, "; ")
	}
	return out, nil
}

// decide writes the commit decision and returns the one that stands. A
// transaction prepared for longer than abort_after asks for abort instead:
// recovery may have decided for it already, and a commit that late could
// outlive the garbage collection of recovery's abort.
func (t *Txn) decide(clusters []string, prepareStart time.Time) (string, error) {
	c := t.c
	if err := c.at(Decision, -1); err != nil {
		return "", err
	}
	want := decisionCommit
	if time.Since(prepareStart) > c.cfg.AbortAfter {
		want = decisionAbort
	}
	d, err := c.log.decide(t.gtrid, want, clusters, c.token)
	var unknown *errUnknown
	if errors.As(err, &unknown) {
		// Settle it now as recovery would: an abort that goes in first
		// wins; a duplicate says the commit went in.
		if d2, err2 := c.log.decide(t.gtrid, decisionAbort, clusters, c.token); err2 == nil {
			return d2, nil
		}
	}
	return d, err
}

// rollbackPrepared rolls back every branch after a failed prepare or an
// abort decision, on the connections that hold them.
func (t *Txn) rollbackPrepared(bs []Branch, prep []branchResult, out *Outcome) {
	for i, b := range bs {
		if prep[i].broken {
			// Perhaps prepared, on a connection now closed: recovery rolls
			// it back (no commit decision will ever be written for it).
			out.Keep[i] = false
			continue
		}
		out.Keep[i] = t.rollbackBranch(b, prep[i].done)
	}
}

// commitRetry bounds how long a commit is retried on new connections.
const commitRetry = 2 * time.Second

// vanishedFor is how long a branch must stay unknown to the server before
// its commit is reported as unconfirmed (see commitElsewhere).
const vanishedFor = 500 * time.Millisecond

// commitElsewhere commits a prepared branch from a connection of the
// coordinator's own.
// ended: this call committed it (false: the server no longer held it
// prepared).
func (t *Txn) commitElsewhere(b Branch) (ended bool, err error) {
	x := t.XID(b.Cluster)
	deadline := time.Now().Add(commitRetry)
	// A branch whose connection just closed may be neither attached nor
	// listed by XA RECOVER for a moment, while the server detaches it:
	// "no longer prepared" is believed only once it has held for
	// vanishedFor (else recovery, not this commit, would end the branch,
	// and the client would have heard that it most likely ended here).
	var vanishedSince time.Time
	var last error
	for {
		done, ended, err := finishBranch(t.c.p, b.Cluster, x, decisionCommit)
		if done && !ended {
			if vanishedSince.IsZero() {
				vanishedSince = time.Now()
			}
			if time.Since(vanishedSince) < vanishedFor {
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		if done {
			return ended, nil
		}
		vanishedSince = time.Time{}
		last = err
		if time.Now().After(deadline) {
			return false, last
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// finishBranch commits or rolls back a prepared branch on a connection of
// its own. done: the branch is finished; ended: by this call (not before:
// the server no longer held it prepared).
func finishBranch(p Primaries, cluster string, x XID, decision string) (done, ended bool, err error) {
	c, err := p.Get(cluster)
	if err != nil {
		return false, false, err
	}
	verb := "XA COMMIT "
	if decision == decisionAbort {
		verb = "XA ROLLBACK "
	}
	_, err = c.Exec(verb + x.SQL())
	var me *mysql.MyError
	switch {
	case err == nil:
		p.Put(cluster, c, false)
		return true, true, nil
	case errors.As(err, &me) && me.Code == mysql.ER_XAER_NOTA:
		// Unknown here: finished already, or still attached to the
		// connection that prepared it. XA RECOVER tells which.
		held, rerr := listsXID(c, x)
		p.Put(cluster, c, engine.Classify(rerr) == engine.FaultBroken)
		if rerr != nil {
			return false, false, rerr
		}
		if held {
			return false, false, fmt.Errorf("branch %s is still attached to another connection", x)
		}
		return true, false, nil
	}
	p.Put(cluster, c, engine.Classify(err) == engine.FaultBroken)
	return false, false, err
}

// listsXID reports whether the server holds x prepared.
func listsXID(c Conn, x XID) (bool, error) {
	found, err := recoverXIDs(c)
	if err != nil {
		return false, err
	}
	for _, f := range found {
		if f == x {
			return true, nil
		}
	}
	return false, nil
}

// recoverXIDs lists the shardgate xids a server holds prepared.
func recoverXIDs(c Conn) ([]XID, error) {
	res, _, err := c.Query("XA RECOVER")
	if err != nil {
		return nil, err
	}
	var out []XID
	for _, r := range res.Rows {
		if len(r) != 4 || r[0] == nil || r[1] == nil || r[2] == nil || r[3] == nil {
			continue
		}
		var format, gl, bl int
		if _, err := fmt.Sscan(*r[0]+" "+*r[1]+" "+*r[2], &format, &gl, &bl); err != nil || format != FormatID {
			continue
		}
		data := *r[3]
		if gl < 0 || bl < 0 || gl+bl > len(data) {
			continue
		}
		x := XID{Gtrid: data[:gl], Bqual: data[gl : gl+bl]}
		if _, _, ok := parseGtrid(x.Gtrid); ok {
			out = append(out, x)
		}
	}
	return out, nil
}

// Errors the client hears.

// clientError is a server's error as a plain MariaDB would give it: the
// XA forms of a deadlock and a lock wait timeout become 1213 and 1205.
func clientError(err error) error {
	var me *mysql.MyError
	if !errors.As(err, &me) {
		return err
	}
	switch me.Code {
	case mysql.ER_XA_RBDEADLOCK:
		return wire.Errorf(mysql.ER_LOCK_DEADLOCK, "Deadlock found when trying to get lock; try restarting transaction")
	case mysql.ER_XA_RBTIMEOUT:
		return wire.Errorf(mysql.ER_LOCK_WAIT_TIMEOUT, "Lock wait timeout exceeded; try restarting transaction")
	}
	return me
}

// prepareFailed: a branch refused to prepare; every branch is rolled back.
func prepareFailed(server string, err error) error {
	ce := clientError(err)
	var me *mysql.MyError
	if errors.As(ce, &me) && (me.Code == mysql.ER_LOCK_DEADLOCK || me.Code == mysql.ER_LOCK_WAIT_TIMEOUT) {
		return me // as one server would say it
	}
	if me != nil {
		return &mysql.MyError{Code: me.Code, State: me.State, Message: fmt.Sprintf("shardgate: the transaction was rolled back: XA PREPARE failed on %s: %s", server, me.Message)}
	}
	return rolledBack("XA PREPARE failed on %s: %v", server, err)
}

// rolledBack: the transaction did not commit, on any branch.
func rolledBack(format string, args ...any) error {
	return wire.Errorf(mysql.ER_XA_RBROLLBACK, "shardgate: the transaction was rolled back: "+format, args...)
}

func crashed() error {
	return wire.Errorf(backend.CodeOutcomeUnknown, "shardgate: outcome unknown: %v (test fault injection); recovery resolves the transaction", ErrCrash)
}

// InDoubt is a transaction SHOW SHARDGATE TRANSACTIONS lists.
type InDoubt struct {
	Gtrid    string
	State    string
	Clusters []string
	Age      time.Duration
	Instance string
}

// Transactions lists this process's open distributed transactions, then
// what the last recovery round found in doubt elsewhere.
func (c *Coordinator) Transactions() []InDoubt {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []InDoubt
	for _, t := range c.active {
		t.mu.Lock()
		if len(t.clusters) > 0 {
			out = append(out, InDoubt{Gtrid: t.gtrid, State: t.state, Clusters: append([]string(nil), t.clusters...), Age: time.Since(t.started), Instance: c.token})
		}
		t.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Gtrid < out[j].Gtrid })
	for _, d := range c.inDoubt {
		if _, mine := c.active[d.Gtrid]; !mine {
			out = append(out, d)
		}
	}
	return out
}

// batcher is a connection that sends several statements in one round trip
// (backend.Conn.ExecBatch).
type batcher interface {
	ExecBatch(sqls []string) ([]wire.OK, *mysql.MyError, error)
}

// execAll runs sqls in order, stopping at the first failure, in one round
// trip where the connection can: a branch's XA END and XA PREPARE (or XA
// COMMIT … ONE PHASE) go together, since nothing runs between them. ran
// counts the statements that succeeded; with a broken connection it is
// what is known to have succeeded.
func execAll(c Conn, sqls ...string) (ran int, err error) {
	if b, ok := c.(batcher); ok {
		oks, failed, err := b.ExecBatch(sqls)
		if err != nil {
			return len(oks), err
		}
		if failed != nil {
			return len(oks), failed
		}
		return len(oks), nil
	}
	for _, q := range sqls {
		if _, err := c.Exec(q); err != nil {
			return ran, err
		}
		ran++
	}
	return ran, nil
}
