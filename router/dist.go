package router

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
	"github.com/shardgate/shardgate/xa"
)

// Transactions that span clusters (docs/transactions.md). In a schema with
// transactions: xa or best_effort, a transaction gets a branch on each
// cluster it touches, started lazily by the first statement for that
// cluster on the cluster's primary: XA START with the transaction's xid
// (xa), or the client's BEGIN (best_effort, and every READ ONLY
// transaction, whose branches are local transactions on replicas). COMMIT
// and ROLLBACK end every branch through the coordinator (package xa).

// distTxn is one transaction whose branches may span clusters.
type distTxn struct {
	// xa: branches are XA transactions; otherwise local ones.
	xa bool
	// begin starts a local branch: the client's BEGIN, or "" when the
	// server starts it by itself (autocommit=0).
	begin string
	// next is a SET TRANSACTION for this transaction only: every branch
	// gets it before it starts.
	next string
	// x is the coordinator's transaction, made with the first XA branch.
	x *xa.Txn
	// branches are the clusters with a branch, in the order they started.
	branches []string
	// savepoints are the transaction's savepoints, oldest first. A branch
	// started later gets them all at its start, so ROLLBACK TO one undoes
	// that branch's work too.
	savepoints []string
	// snapshot: START TRANSACTION WITH CONSISTENT SNAPSHOT, whose local
	// branches started at once on every cluster; written is the one
	// cluster it may write to, once it has (snapshottxn.go).
	snapshot bool
	written  string
	// spans counts the clusters a multi-step write of this transaction is
	// known to reach (Cursor.Atomic), so varsFor bounds lock waits on its
	// first branch too, before the others exist.
	spans int
}

func (d *distTxn) has(cluster string) bool {
	for _, c := range d.branches {
		if c == cluster {
			return true
		}
	}
	return false
}

// reach counts the clusters with a branch together with those of clusters
// that have none yet.
func (d *distTxn) reach(clusters []string) int {
	n := len(d.branches)
	for i, c := range clusters {
		if !d.has(c) && !slices.Contains(clusters[:i], c) {
			n++
		}
	}
	return n
}

func (d *distTxn) remove(cluster string) {
	for i, c := range d.branches {
		if c == cluster {
			d.branches = append(d.branches[:i], d.branches[i+1:]...)
			return
		}
	}
}

// savepoint is the index of a savepoint (names are case-insensitive), -1
// when there is none.
func (d *distTxn) savepoint(name string) int {
	for i, sp := range d.savepoints {
		if strings.EqualFold(sp, name) {
			return i
		}
	}
	return -1
}

// txnMode is how a transaction starting now commits: the transactions
// mode of the session's current schema (of the first declared schema when
// none is selected). It is fixed for the transaction.
func (s *Session) txnMode(snap *Snapshot) string {
	schema := snap.Rules.Schemas[s.state.db]
	if schema == nil {
		schema = snap.Rules.DefaultSchema()
	}
	return schema.Transactions
}

// newDist starts a transaction that may span clusters, or returns nil in a
// schema whose transactions stay on one cluster. begin is the client's
// BEGIN ("" under autocommit=0).
func (s *Session) newDist(snap *Snapshot, begin string, readOnly bool) *distTxn {
	mode := s.txnMode(snap)
	locked := s.lockedTables()
	if mode == rules.TxnSingle && !locked {
		return nil
	}
	// A read-only transaction needs no atomic commit: each cluster gets a
	// local one (on a replica). Under LOCK TABLES the connections that
	// hold the locks hold local transactions (locktables.go).
	return &distTxn{xa: mode == rules.TxnXA && !readOnly && !locked, begin: begin}
}

// startBranch starts the transaction's branch on h's cluster, before the
// statement that needs it runs there.
func (s *Session) startBranch(snap *Snapshot, h *held) error {
	d, c := s.txn.dist, h.cluster()
	if s.txn.next != "" {
		d.next, s.txn.next = s.txn.next, ""
	}
	if d.next != "" {
		if _, err := h.Exec(d.next); err != nil {
			return err
		}
	}
	begin := d.begin
	if d.xa {
		if d.x == nil {
			d.x = s.rt.XA.Begin()
		}
		begin = "XA START " + d.x.XID(c).SQL()
	}
	status := s.txn.status
	if begin != "" {
		ok, err := h.Exec(begin)
		if err != nil {
			return err
		}
		status = ok.Status
	}
	for _, sp := range d.savepoints {
		if _, err := h.Exec("SAVEPOINT " + parser.QuoteIdent(sp)); err != nil {
			// The branch must not outlive its failed start on a connection
			// that goes back to the pool.
			end := "ROLLBACK"
			if d.xa {
				h.Exec("XA END " + d.x.XID(c).SQL())
				end = "XA ROLLBACK " + d.x.XID(c).SQL()
			}
			if _, rerr := h.Exec(end); rerr != nil {
				// Broken: the caller drops the connection and the server
				// rolls the branch back; refused: the caller resets it.
				return rerr
			}
			return err
		}
	}
	// The branch exists from here on: a failure of its first statement
	// must not hand the connection, and the branch, to the pool.
	if d.xa {
		d.x.Started(c)
	}
	d.branches = append(d.branches, c)
	s.txn.pending = ""
	s.txn.status = status | mysql.SERVER_STATUS_IN_TRANS
	s.txn.pin(h, snap)
	s.txn.endPreTxn(c)
	return nil
}

// varsFor is the session state a statement's connection must carry: the
// session's variables, with innodb_lock_wait_timeout bounded by
// transactions.lock_wait_timeout on the branches of a transaction that
// spans clusters (counting the branch the statement may start). A cycle of
// lock waits across two servers is seen by neither server's deadlock
// detection; the bound ends it with 1205 well before the connection's
// read timeout, as the wait would end on one server with 1213.
func (s *Session) varsFor(h *held) map[string]string {
	d := s.txn.dist
	if d == nil {
		return s.state.vars
	}
	n := len(d.branches)
	if !d.has(h.cluster()) {
		n++
	}
	n = max(n, d.spans)
	bound := int(math.Ceil(s.snapshot().Rules.Transactions.LockWaitTimeout.Seconds()))
	if n < 2 || bound <= 0 {
		return s.state.vars
	}
	if cur, err := strconv.Atoi(s.state.vars["innodb_lock_wait_timeout"]); err == nil && cur <= bound {
		return s.state.vars
	}
	vars := make(map[string]string, len(s.state.vars)+1)
	for k, v := range s.state.vars {
		vars[k] = v
	}
	vars["innodb_lock_wait_timeout"] = strconv.Itoa(bound)
	return vars
}

// endDist ends the distributed transaction: every branch committed
// (commit) or rolled back. The session is out of the transaction
// whatever happens; the error is what the client hears, warning goes with
// a successful COMMIT.
func (s *Session) endDist(commit bool) (warning string, err error) {
	d := s.txn.dist
	s.txn.dist, s.txn.pending, s.txn.readOnly = nil, "", false
	var bs []xa.Branch
	var hs []*held
	for _, c := range d.branches {
		h := s.txn.pinned(c)
		if h == nil {
			continue
		}
		hs = append(hs, h)
		b, conn := h.backend, h.Conn
		bs = append(bs, xa.Branch{Cluster: c, Server: h.Describe(), Conn: conn, Drop: func() { b.Discard(conn) }})
	}
	var out xa.Outcome
	coord := s.rt.XA
	switch {
	case d.x != nil && commit:
		out, err = d.x.Commit(bs)
	case d.x != nil:
		out = d.x.Rollback(bs)
	case commit:
		out, err = coord.CommitLocal(bs)
	default:
		out = coord.RollbackLocal(bs)
	}
	s.txn.status &^= mysql.SERVER_STATUS_IN_TRANS | mysql.SERVER_STATUS_IN_TRANS_READONLY
	snap := s.snapshot()
	for i, h := range hs {
		// A statement may still have h lent (a batched write whose other
		// connection broke ends the transaction while it settles its
		// batches one by one): its Release must not return h again.
		h.returned = true
		if !out.Keep[i] {
			// Closed by the coordinator already.
			s.forget(h)
			continue
		}
		if commit && err == nil {
			s.noteWriteGTID(snap, h)
		}
		if s.txn.sticky[h.cluster()].any() {
			h.returned = false
			continue // connection state keeps the session on it
		}
		s.txn.unpin(h)
		h.backend.Put(h.Conn)
	}
	s.txn.endPreTxn("")
	s.txn.forgetSnapshot()
	return out.Warning, err
}

// forget lets go of a connection the coordinator closed.
func (s *Session) forget(h *held) {
	s.txn.unpin(h)
	if s.txn.last == h {
		s.txn.last = nil
	}
	if s.txn.prev.h == h {
		s.txn.prev.h = nil
	}
}

// abortDist rolls back every branch after one was lost (a deadlock, a
// broken connection): the session is out of the transaction, as MariaDB
// leaves a session whose transaction a deadlock rolled back.
func (s *Session) abortDist() {
	if s.txn.dist != nil {
		s.endDist(false)
	}
}

// endsTransaction: errors after which the server has rolled back the
// whole transaction of the branch, not only the statement.
func endsTransaction(code uint16) bool {
	switch code {
	case mysql.ER_LOCK_DEADLOCK, mysql.ER_XA_RBDEADLOCK, mysql.ER_XA_RBTIMEOUT, mysql.ER_XA_RBROLLBACK:
		return true
	}
	return false
}

// finishDist is COMMIT or ROLLBACK of a distributed transaction.
func (s *Session) finishDist(st *parser.Statement, w ResultWriter) error {
	commit := st.Kind == parser.KindCommit
	completion := ast.CompletionTypeDefault
	switch n := st.Node.(type) {
	case *ast.CommitStmt:
		completion = n.CompletionType
	case *ast.RollbackStmt:
		completion = n.CompletionType
	}
	if completion == ast.CompletionTypeRelease {
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: COMMIT/ROLLBACK RELEASE is not supported for a transaction that may span clusters; end it, then close the connection")
	}
	begin, readOnly, snapshot := s.txn.dist.begin, s.txn.readOnly, s.txn.dist.snapshot
	warning, err := s.endDist(commit)
	if err != nil {
		return err
	}
	if completion == ast.CompletionTypeChain && snapshot {
		// The chained transaction takes its snapshots now, as the first.
		if err := s.startSnapshot(s.snapshot(), begin, readOnly); err != nil {
			return err
		}
	} else if completion == ast.CompletionTypeChain {
		snap := s.snapshot()
		if begin == "" {
			begin = "BEGIN"
		}
		s.txn.begin(begin, readOnly, snap)
		s.txn.dist = s.newDist(snap, begin, readOnly)
	}
	ok := wire.OK{}
	if warning != "" {
		ok.Warnings = 1
		s.state.diag = &diagnostics{count: 1, rows: [][][]byte{{[]byte("Warning"), []byte("1105"), []byte(warning)}}}
	}
	return s.writeOK(w, ok)
}

// beginDist is BEGIN in a schema whose transactions may span clusters.
func (s *Session) beginDist(snap *Snapshot, st *parser.Statement, w ResultWriter) error {
	if s.txn.dist != nil {
		// BEGIN inside a transaction commits it first, as MariaDB does.
		if _, err := s.endDist(true); err != nil {
			return err
		}
	}
	s.txn.begin(st.SQL, st.ReadOnlyTxn, snap)
	s.txn.dist = s.newDist(snap, st.SQL, st.ReadOnlyTxn)
	return s.writeOK(w, wire.OK{})
}

// implicitCommit reports a statement that commits the open transaction
// before it runs (MariaDB's implicit commit: DDL other than on temporary
// tables, LOCK TABLES). Inside an XA branch the server refuses them (1399),
// so the proxy commits the distributed transaction first, as one server
// would commit its transaction. The parser reads some of them as other
// than DDL: routines, FLUSH and roles are listed here (found by PyMySQL's
// suite, which creates a procedure under autocommit=0).
func implicitCommit(st *parser.Statement) bool {
	switch st.Node.(type) {
	case *ast.AnalyzeTableStmt, *ast.GrantStmt, *ast.RevokeStmt, *ast.CreateUserStmt, *ast.AlterUserStmt,
		*ast.DropUserStmt, *ast.RenameUserStmt, *ast.SetPwdStmt,
		*ast.ProcedureInfo, *ast.DropProcedureStmt, *ast.FlushStmt, *ast.GrantRoleStmt, *ast.RevokeRoleStmt:
		return true
	}
	if st.Kind != parser.KindDDL {
		return false
	}
	switch n := st.Node.(type) {
	case *ast.CreateTableStmt:
		return n.TemporaryKeyword == ast.TemporaryNone
	case *ast.DropTableStmt:
		return n.TemporaryKeyword == ast.TemporaryNone
	case *ast.UnlockTablesStmt:
		// Commits only tables locked by LOCK TABLES, which cannot be in a
		// transaction here: LOCK TABLES committed it.
		return false
	}
	return true
}

// implicitCommitText matches statements the parser cannot read that
// commit implicitly in MariaDB (a procedure's body, a table option it does
// not know): they pass through unchanged and must not run in a branch.
var implicitCommitText = regexp.MustCompile(`(?is)^\s*(CREATE|ALTER|DROP|RENAME|TRUNCATE|GRANT|REVOKE|ANALYZE|OPTIMIZE|REPAIR|CHECK|LOCK|FLUSH|INSTALL|UNINSTALL)\b`)

// commitImplicitly prepares a statement that commits the open transaction
// in MariaDB: a distributed transaction (pending or with branches) is
// committed first, and the statement starts no branch, also under
// autocommit=0. done ends that once the statement ran.
func (s *Session) commitImplicitly() (done func(), err error) {
	if s.txn.dist == nil && s.txnMode(s.snapshot()) == rules.TxnSingle {
		// single: the server commits as it always did.
		return func() {}, nil
	}
	if s.txn.dist != nil {
		warning, err := s.endDist(true)
		if err != nil {
			return nil, err
		}
		if warning != "" {
			s.rt.Log.Warn(warning)
		}
	}
	s.txn.noBranch = true
	return func() { s.txn.noBranch = false }, nil
}

// setsAutocommitOn reports a SET that turns autocommit on (any value but a
// literal 0 or OFF): MariaDB commits the open transaction when autocommit
// goes from 0 to 1.
func setsAutocommitOn(st *parser.Statement) bool {
	set, ok := st.Node.(*ast.SetStmt)
	if !ok {
		return false
	}
	for _, v := range set.Variables {
		if !v.IsSystem || v.IsGlobal || v.IsInstance || !strings.EqualFold(v.Name, "autocommit") || v.Value == nil {
			continue
		}
		var b strings.Builder
		if err := v.Value.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, &b)); err != nil {
			return true
		}
		switch strings.ToUpper(strings.Trim(b.String(), "'\"`")) {
		case "0", "OFF", "FALSE":
			continue
		}
		return true
	}
	return false
}

// distSavepoint runs SAVEPOINT, ROLLBACK TO SAVEPOINT and RELEASE SAVEPOINT
// on every branch of a distributed transaction and keeps the list new
// branches start with. handled is false for other statements.
func (s *Session) distSavepoint(st *parser.Statement, w ResultWriter) (handled bool, err error) {
	d := s.txn.dist
	var name, verb string
	switch n := st.Node.(type) {
	case *ast.SavepointStmt:
		name, verb = n.Name, "SAVEPOINT "
	case *ast.RollbackStmt:
		if n.SavepointName == "" {
			return false, nil
		}
		name, verb = n.SavepointName, "ROLLBACK TO SAVEPOINT "
	case *ast.ReleaseSavepointStmt:
		name, verb = n.Name, "RELEASE SAVEPOINT "
	default:
		return false, nil
	}
	if strings.EqualFold(name, statementSavepoint) {
		// The proxy's own, for multi-step writes: a client's savepoint of
		// that name would be confused with it.
		return true, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: the savepoint name %q is reserved by the proxy", name)
	}
	i := d.savepoint(name)
	if verb != "SAVEPOINT " && i < 0 {
		return true, wire.Errorf(mysql.ER_SP_DOES_NOT_EXIST, "SAVEPOINT %s does not exist", name)
	}
	if err := s.onEveryBranch(verb + parser.QuoteIdent(name)); err != nil {
		if len(d.branches) > 1 {
			// It may have run on some branches and not on others, which
			// would then commit different parts of the transaction: end
			// it on every branch instead.
			s.abortDist()
			return true, wholeWrite(err, "the transaction was rolled back on every cluster: the savepoint statement may have run on some of them only")
		}
		return true, err
	}
	switch verb {
	case "SAVEPOINT ":
		// A name set again moves to the end, as on a server.
		if i >= 0 {
			d.savepoints = append(d.savepoints[:i], d.savepoints[i+1:]...)
		}
		d.savepoints = append(d.savepoints, name)
	case "ROLLBACK TO SAVEPOINT ":
		d.savepoints = d.savepoints[:i+1]
	default:
		// RELEASE drops the savepoint and every later one, as the server
		// does.
		d.savepoints = d.savepoints[:i]
	}
	return true, s.writeOK(w, wire.OK{})
}

// onEveryBranch runs sql on every branch, in the order they started.
func (s *Session) onEveryBranch(sql string) error {
	d := s.txn.dist
	for _, c := range append([]string(nil), d.branches...) {
		h := s.txn.pinned(c)
		if h == nil {
			continue
		}
		ok, err := h.Exec(sql)
		switch engine.Classify(err) {
		case engine.FaultNone:
			s.txn.status = ok.Status
			continue
		case engine.FaultServer:
			return err
		}
		return s.lost(h, err)
	}
	return nil
}

// statementSavepoint is the savepoint a write with several steps inside a
// distributed transaction rolls back to when a step fails: the statement
// is undone on every branch and the transaction stays open, as on one
// server. Its name cannot be an identifier a client writes unquoted.
const statementSavepoint = "shardgate statement"

// Atomic implements engine.Cursor: a write with several steps (split
// INSERT, fan-out UPDATE/DELETE, global tables) runs all or nothing in a
// schema with transactions: xa — inside the session's transaction by a
// savepoint on every branch, otherwise as a transaction of its own.
func (vc *cursor) Atomic(clusters []string) (func(error) error, error) {
	s := vc.s
	if !vc.dml {
		return nil, nil
	}
	if s.txn.dist == nil && s.txn.pending == "" && !s.txn.active() && s.state.vars["autocommit"] == "0" {
		s.txn.dist = s.newDist(vc.snap, "", false)
	}
	if d := s.txn.dist; d != nil {
		d.spans = max(d.spans, d.reach(clusters))
		if err := s.onEveryBranch("SAVEPOINT " + parser.QuoteIdent(statementSavepoint)); err != nil {
			return nil, err
		}
		d.savepoints = append(d.savepoints, statementSavepoint)
		return func(err error) error { return s.endStatement(d, err) }, nil
	}
	if s.txn.active() || s.txn.pending != "" || s.txnMode(vc.snap) != rules.TxnXA || s.lockedTables() {
		return nil, nil
	}
	d := &distTxn{xa: true}
	d.spans = d.reach(clusters)
	s.txn.dist = d
	return func(err error) error {
		if s.txn.dist != d {
			// Already rolled back: a branch's connection broke.
			return wholeWrite(err, "rolled back on every table (the write ran as one transaction and a branch's connection broke)")
		}
		if err != nil {
			s.endDist(false)
			return wholeWrite(err, "rolled back on every table (the write runs as one transaction)")
		}
		warning, err := s.endDist(true)
		if warning != "" {
			s.rt.Log.Warn(warning)
		}
		return err
	}, nil
}

// lockedTables: the session holds LOCK TABLES somewhere, where no
// transaction can start (the steps run one by one, as in single).
func (s *Session) lockedTables() bool {
	for _, st := range s.txn.sticky {
		if st.lockTables {
			return true
		}
	}
	return false
}

// endStatement ends a multi-step write inside a distributed transaction.
func (s *Session) endStatement(d *distTxn, err error) error {
	if s.txn.dist != d {
		return wholeWrite(err, "the transaction was rolled back: one of its branches was lost")
	}
	i := d.savepoint(statementSavepoint)
	if err == nil {
		if rerr := s.onEveryBranch("RELEASE SAVEPOINT " + parser.QuoteIdent(statementSavepoint)); rerr != nil {
			s.abortDist()
			return wholeWrite(rerr, "the transaction was rolled back: the statement's savepoint could not be released")
		}
		d.savepoints = d.savepoints[:i]
		return nil
	}
	if rerr := s.onEveryBranch("ROLLBACK TO SAVEPOINT " + parser.QuoteIdent(statementSavepoint)); rerr != nil {
		s.abortDist()
		return wholeWrite(err, "the transaction was rolled back: the statement could not be undone on every table")
	}
	s.onEveryBranch("RELEASE SAVEPOINT " + parser.QuoteIdent(statementSavepoint))
	d.savepoints = d.savepoints[:i]
	return wholeWrite(err, "the statement was rolled back on every table; the transaction stays open")
}

// wholeWrite says what became of a multi-step write that failed; the
// failing step's code is kept when it is the server's (a broken
// connection becomes ER_XA_RBROLLBACK: rolled back, not unknown).
func wholeWrite(err error, what string) error {
	me, ok := err.(*mysql.MyError)
	if !ok {
		return err
	}
	code, state := me.Code, me.State
	if code == backend.CodeNotSent || code == backend.CodeOutcomeUnknown {
		code, state = mysql.ER_XA_RBROLLBACK, "XA100"
	}
	return &mysql.MyError{Code: code, State: state, Message: me.Message + "; " + what}
}
