package router

import (
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/sequence"
	"github.com/shardgate/shardgate/slowlog"
	"github.com/shardgate/shardgate/wire"
)

// ResultWriter is the client side of a session: results are streamed into
// it packet by packet and flushed once per response.
type ResultWriter = engine.ResultWriter

// ClientGoneError means the client stopped reading in the middle of a
// response; the connection to it must be closed.
type ClientGoneError = engine.ClientGoneError

// Session is one client's state. It belongs to the client's goroutine.
type Session struct {
	rt *Router
	// id numbers the session, so pools can keep a connection for it.
	id uint64
	// foundRows mirrors the client's CLIENT_FOUND_ROWS: backend
	// connections must report matched rows, not changed ones.
	foundRows bool
	// reachedBackend: a statement of this session has run on a backend
	// (before, the diagnostics area is empty).
	reachedBackend bool
	// cmd is what the session records of the command it runs.
	cmd command
	// lits and litTexts are the literals of the query text, reused.
	lits     []parser.TextLiteral
	litTexts []string
	// shape is the statement of this query the plan cache answers or
	// learns from (router/shapecache.go); nil outside query.
	shape *shapeUse
	// multiStatements: the client asked for CLIENT_MULTI_STATEMENTS.
	multiStatements bool
	// executing: the statement running is a prepared statement's
	// execution (COM_STMT_EXECUTE), whose parse-time warnings MariaDB
	// gave at COM_STMT_PREPARE already.
	executing bool
	// localInfile: the client asked for CLIENT_LOCAL_FILES (LOAD DATA
	// LOCAL may ask it for a file).
	localInfile bool
	// interactive: the client said CLIENT_INTERACTIVE (its idle limit is
	// interactive_timeout).
	interactive bool
	state       state
	txn         txn
	// client is who is on the other end; live is what other sessions (KILL,
	// SHOW PROCESSLIST) may read of this one.
	client Client
	live   live
	// mem is the connection's account of the memory budget: its long
	// data and large packets, and the accounts of its statements.
	mem *memory.Account
}

// observation is what the metrics record of one client command.
// command is a session's record of the client command it runs: the
// observation and the row counter, kept in the session rather than
// allocated for every command.
type command struct {
	obs observation
	rc  rowCounter
	frc fileRowCounter
}

type observation struct {
	kind, route string
	errCode     uint16
	// stmt is the statement, for the slow log (sql its text when it was
	// not parsed).
	stmt *parser.Statement
	sql  string
	// multi: the command was several statements; the slow log names
	// them all (sql), since its time is theirs together.
	multi bool
	// contacted: a backend connection was borrowed for the command; an
	// error without one is the proxy's own refusal.
	contacted bool
}

// NewSession starts a session for a logged-in client. collation is the
// collation id from the handshake; foundRows mirrors CLIENT_FOUND_ROWS.
func (rt *Router) NewSession(db string, collation uint8, foundRows bool) *Session {
	s := &Session{rt: rt, id: rt.sessionIDs.Add(1), foundRows: foundRows, mem: rt.mem.Connection()}
	s.state = newState(db, namesForCollation(collation))
	s.txn.status = mysql.SERVER_STATUS_AUTOCOMMIT
	return s
}

// SetInteractive follows the client's CLIENT_INTERACTIVE.
func (s *Session) SetInteractive(on bool) { s.interactive = on }

// defaultIdleTimeout is MariaDB's default wait_timeout and
// interactive_timeout (8 hours).
const defaultIdleTimeout = 28800 * time.Second

// IdleTimeout is how long the client may wait before its next command:
// its session's wait_timeout (interactive_timeout for interactive clients).
func (s *Session) IdleTimeout() time.Duration {
	secs := s.state.waitTimeout
	if s.interactive {
		secs = s.state.interactiveTimeout
	}
	if secs <= 0 {
		return defaultIdleTimeout
	}
	return time.Duration(secs) * time.Second
}

// AllowMultiStatements follows the client's CLIENT_MULTI_STATEMENTS.
func (s *Session) AllowMultiStatements(on bool) { s.multiStatements = on }

// DB is the session's current database.
func (s *Session) DB() string { return s.state.db }

// TextMode is how the session's server reads SQL text (sql_mode and
// character set): what values bound into a prepared statement must follow.
func (s *Session) TextMode() parser.TextMode { return s.state.textMode() }

// Status is the server status to report in packets the proxy writes.
func (s *Session) Status() uint16 { return s.txn.clientStatus() }

// Close returns any held connection; an open transaction is rolled back by
// the reset that Put performs on a dirty connection.
func (s *Session) Close() {
	s.rt.sessions.remove(s)
	s.abortDist()
	s.txn.release()
	s.txn.setSnap(nil)
	s.mem.Close()
}

// Memory is the connection's account of the memory budget.
func (s *Session) Memory() *memory.Account { return s.mem }

// Reset is COM_RESET_CONNECTION: the session forgets variables, temporary
// tables and transactions, and keeps its database.
func (s *Session) Reset() {
	s.abortDist()
	s.txn.release()
	s.txn.setSnap(nil)
	s.txn = txn{status: mysql.SERVER_STATUS_AUTOCOMMIT}
	s.state.reset()
}

// InitDB is COM_INIT_DB and USE.
func (s *Session) InitDB(db string) error {
	if err := dbAccess(s.client.Account, s.host(), db); err != nil {
		return err
	}
	if !s.snapshot().hasSchema(db) && !rules.IsServerSchema(db) {
		return wire.Errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", db)
	}
	s.state.db = db
	return nil
}

// snapshot is the routing snapshot for the next statement: the one the
// open transaction started with, else the router's current one.
func (s *Session) snapshot() *Snapshot {
	if s.txn.snap != nil {
		return s.txn.snap
	}
	return s.rt.Snapshot()
}

// Query runs one COM_QUERY and writes its whole response to w.
func (s *Session) Query(sql string, w ResultWriter) error {
	s.live.set("Query", sql)
	defer s.live.set("Sleep", "")
	w, rc := s.cmd.countRows(w)
	return s.observe(rc, func(obs *observation) error {
		obs.sql = sql
		return s.query(sql, w, obs)
	})
}

// ExecutePrepared runs a prepared statement with its values bound into sql.
// When its routing does not depend on the values, the statement parsed at
// PREPARE serves every execution and nothing is parsed again.
func (s *Session) ExecutePrepared(p *Prepared, sql string, w ResultWriter) error {
	s.executing = true
	defer func() { s.executing = false }()
	if p.fast == nil {
		return s.Query(sql, w)
	}
	st := *p.fast
	st.SQL = sql
	s.live.set("Execute", sql)
	defer s.live.set("Sleep", "")
	w, rc := s.cmd.countRows(w)
	return s.observe(rc, func(obs *observation) error { return s.statement(&st, w, obs) })
}

// observe runs one client command and records it in the metrics.
func (s *Session) observe(rc *rowCounter, run func(*observation) error) error {
	s.txn.adopt(s.rt.Snapshot())
	// The session's own record of the command, reused: commands of one
	// session run one after another.
	s.cmd.obs = observation{kind: "other", route: "proxy"}
	obs := &s.cmd.obs
	start := time.Now()
	release, err := s.admit()
	if err == nil {
		// Released however run ends: a panic (recovered by the server,
		// which closes the connection) must not keep a max_statements
		// slot taken for good.
		func() {
			defer release()
			err = run(obs)
		}()
	}
	s.live.mu.Lock()
	s.live.db, s.live.txn = s.state.db, s.txn.inTransaction() || s.txn.dist != nil
	s.live.mu.Unlock()
	took := time.Since(start)
	s.noteRefusal(err, obs)
	code := obs.errCode
	if err != nil {
		var me *mysql.MyError
		if errors.As(err, &me) {
			code = me.Code
		}
	}
	s.rt.Metrics.Query(obs.kind, obs.route, took, code)
	if m := s.rt.Metrics; m != nil && obs.stmt != nil {
		snap := s.rt.Snapshot()
		for _, t := range obs.stmt.Tables {
			m.Table(metricTable(snap, s.schemaOf(t), t.Name), obs.kind, obs.route, took)
		}
	}
	if s.rt.slow.Slow(took) {
		s.noteSlow(obs, took, code, start, rc)
	}
	return err
}

// noteSlow records a statement slower than the slow log's threshold.
func (s *Session) noteSlow(obs *observation, took time.Duration, code uint16, start time.Time, rc *rowCounter) {
	e := slowlog.Entry{Time: start, User: s.client.User, Host: s.client.Host, Conn: s.client.ID, Schema: s.state.db,
		DurationMS: float64(took.Microseconds()) / 1000, Kind: obs.kind, Route: obs.route, Code: code,
		Rows: rc.rows, Affected: rc.affected, Clusters: s.live.clustersUsed()}
	if st := obs.stmt; st != nil && !obs.multi {
		e.Statement, e.Fingerprint = st.SQL, parser.FingerprintIn(slowlog.FingerprintText(st.SQL), s.state.textMode())
		for _, t := range st.Tables {
			e.Tables = append(e.Tables, s.schemaOf(t)+"."+t.Name)
		}
	} else {
		e.Statement, e.Fingerprint = obs.sql, parser.FingerprintIn(slowlog.FingerprintText(obs.sql), s.state.textMode())
	}
	s.rt.Metrics.Slow(obs.kind, obs.route, took)
	if err := s.rt.slow.Record(e); err != nil {
		s.rt.refusals.Log(slog.LevelError, "slow log", "slow log: writing failed", "err", err)
	}
}

func (s *Session) query(sql string, w ResultWriter, obs *observation) error {
	// Before anything reads the text (comment expansion, the statement
	// cache, the parser, the multi-statement split or the passthrough
	// scan): text the proxy could read differently from the server is
	// refused outright.
	if err := parser.CheckLexable(sql, s.state.textMode()); err != nil {
		return err
	}
	if s.state.oracleMode() && !leadingSet.MatchString(sql) {
		return errOracleMode()
	}
	snap := s.snapshot()
	// From here on the text is what the server will run: executable
	// comments expanded, so that nothing the server executes is hidden
	// from the proxy (and nothing the server ignores is run by it). The
	// expanded text is also what goes to the backends.
	sql, err := parser.ExpandExecutableComments(sql, s.state.textMode(), snap.serverVersion())
	if err != nil {
		return err
	}
	if handled, err := s.admin(sql, w); handled {
		return err
	}
	// The plan cache by shape first (router/shapecache.go), then the
	// parsed statements by text.
	defer func() { s.shape = nil }()
	shapeKey := s.shapeKey(snap, sql)
	if shapeKey != "" {
		st, known := s.lookupShape(snap, shapeKey, sql)
		if st != nil {
			return s.statement(st, w, obs)
		}
		if known {
			shapeKey = "" // a shape whose plans are not kept
		}
	}
	key := s.state.db + "\x00" + s.state.textMode().ParseKey() + "\x00" + sql
	if st := snap.stmts.get(key); st != nil {
		s.rememberShape(snap, shapeKey, sql, st)
		return s.statement(st, w, obs)
	}
	stmts, err := s.rt.parse(sql, s.state.textMode())
	if err != nil {
		if pieces := parser.Split(sql, s.state.textMode()); s.multiStatements && len(pieces) > 1 && !parser.IsStoredProgram(sql) {
			// One statement does not parse: the ones before it still run,
			// as on a server, which executes them one by one.
			return s.multi(len(pieces), func(i int) (*parser.Statement, error) { return s.parseOne(pieces[i]) }, w, obs)
		}
		return s.passthrough(sql, err, w, obs)
	}
	switch len(stmts) {
	case 0:
		if strings.TrimSpace(sql) != "" {
			// Only comments: MariaDB answers OK.
			return s.writeOK(w, wire.OK{})
		}
		return wire.Errorf(mysql.ER_EMPTY_QUERY, "Query was empty")
	case 1:
		if snap.cacheable(stmts[0], s.state.db) {
			snap.stmts.put(key, stmts[0])
		}
		s.rememberShape(snap, shapeKey, sql, stmts[0])
		return s.statement(stmts[0], w, obs)
	}
	if !s.multiStatements {
		return wire.Errorf(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax; several statements in one query need CLIENT_MULTI_STATEMENTS, near '%s'", stmts[1].SQL)
	}
	return s.multi(len(stmts), func(i int) (*parser.Statement, error) { return stmts[i], nil }, w, obs)
}

// parseOne parses one statement of a multi-statement query. One the
// parser cannot read comes back unparsed, for passthrough.
func (s *Session) parseOne(sql string) (*parser.Statement, error) {
	stmts, err := s.rt.parse(sql, s.state.textMode())
	switch {
	case err != nil:
		return &parser.Statement{SQL: sql, Unparsed: err}, nil
	case len(stmts) != 1:
		return nil, wire.Errorf(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax near '%s'", sql)
	}
	return stmts[0], nil
}

// multi runs the statements of a multi-statement query. Each answer is one
// result; all but the last say that more follow. The first error ends the
// query, as in MySQL.
func (s *Session) multi(n int, next func(i int) (*parser.Statement, error), w ResultWriter, obs *observation) error {
	obs.multi = true
	mode := s.state.textMode()
	for i := 0; i < n; i++ {
		if i > 0 && s.state.textMode() != mode {
			// The statements after this one were cut and read in the mode
			// the query started in; the server reads them in the new one
			// (another character set, NO_BACKSLASH_ESCAPES, ANSI_QUOTES),
			// where they could say something else.
			return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a statement of this query changed how SQL text is read (sql_mode or character set); send the statements after it as a new query")
		}
		if i > 0 {
			if err := s.admitNext(); err != nil {
				return err // the previous results went out saying more follow
			}
		}
		st, err := next(i)
		if err != nil {
			return err // the previous results went out saying more follow
		}
		mw := &moreResults{w: w}
		if err := s.statement(st, mw, obs); err != nil {
			if ferr := mw.finish(true); ferr != nil {
				return ferr
			}
			return err
		}
		// A server error ends the query too; nothing after it runs.
		failed := mw.failed()
		if err := mw.finish(i < n-1 && !failed); err != nil {
			return &ClientGoneError{Err: err}
		}
		if failed {
			return nil
		}
	}
	return nil
}

// MariaDB parses sql_mode=ORACLE with another grammar (PL/SQL blocks, :=
// assignments, Oracle types and functions), which the proxy's parser does
// not have: reading such text with MariaDB's ordinary grammar could misread
// it, so in that mode only SET (to leave it) runs.
func errOracleMode() error {
	return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: sql_mode ORACLE is not supported by the proxy (its parser does not have MariaDB's Oracle grammar); SET sql_mode to leave it")
}

var leadingSet = regexp.MustCompile(`(?i)^\s*SET\s`)

// statement runs one parsed statement: the session's own statements here,
// everything else planned and executed.
func (s *Session) statement(st *parser.Statement, w ResultWriter, obs *observation) error {
	if s.state.oracleMode() && (st.Unparsed != nil || st.Kind != parser.KindSet) {
		return errOracleMode()
	}
	if err := s.authorize(st); err != nil {
		return err
	}
	if st.Unparsed != nil {
		// passthrough checks the operator's switches too.
		s.state.diag = nil
		return s.passthrough(st.SQL, st.Unparsed, w, obs)
	}
	if err := s.checkSwitches(st); err != nil {
		return err
	}
	s.notePrepared(st)
	if st.ReadsDiagnostics {
		handled, rewritten, err := s.answerDiagnostics(st, w)
		if handled || err != nil {
			return err
		}
		if rewritten != nil {
			st = rewritten
		}
	} else if len(st.Tables) > 0 {
		// As on a server, a statement that uses a table starts a new
		// diagnostics area; SELECT 1, SET or DO keep the previous one.
		s.state.diag = nil
	}
	obs.kind, obs.stmt = st.Kind.String(), st
	snap := s.snapshot()
	pendingTxn := st.ReadsInTransaction && s.txn.pending != "" && !s.txn.active()
	if st.UsesConnectionID || pendingTxn {
		v := parser.SessionValues{ConnectionID: uint64(s.client.ID)}
		if pendingTxn {
			one := 1
			v.InTransaction = &one
		}
		prs := s.rt.parser(s.state.textMode())
		rewritten, err := prs.WithSessionValues(st, v, s.state.textMode())
		s.rt.parsers.Put(prs)
		if err != nil {
			return err
		}
		st = rewritten
	}
	switch n := st.Node.(type) {
	case *ast.KillStmt:
		return s.kill(n, w)
	case *ast.FlushStmt:
		if n.Tp == ast.FlushHosts {
			return s.flushHosts(w)
		}
	case *ast.ShowStmt:
		if n.Tp == ast.ShowProcessList {
			return s.showProcessList(n.Full, w)
		}
	case *ast.LoadDataStmt:
		return s.loadData(snap, st, n, w, obs)
	}
	if err := s.outfile(st); err != nil {
		return err
	}
	if err := s.infoSchemaAccess(st); err != nil {
		return err
	}
	if s.txn.dist != nil {
		if handled, err := s.distSavepoint(st, w); handled {
			return err
		}
	}
	if implicitCommit(st) {
		done, err := s.commitImplicitly()
		if err != nil {
			return err
		}
		defer done()
	}
	switch st.Node.(type) {
	case *ast.LockTablesStmt:
		return s.lockTables(snap, st, w, obs)
	case *ast.UnlockTablesStmt:
		return s.unlockStatement(w)
	}
	switch st.Kind {
	case parser.KindUse:
		if err := s.InitDB(st.Node.(*ast.UseStmt).DBName); err != nil {
			return err
		}
		return s.writeOK(w, wire.OK{})
	case parser.KindSet:
		return s.set(snap, st, w, obs)
	case parser.KindBegin:
		// Starting a transaction releases LOCK TABLES, as in MariaDB.
		if err := s.unlockTables(); err != nil {
			return err
		}
		if st.ConsistentSnapshot {
			return s.beginSnapshot(snap, st, w)
		}
		if s.txn.open == "" && (s.txn.dist != nil || s.txnMode(snap) != rules.TxnSingle) {
			return s.beginDist(snap, st, w)
		}
		if s.txn.open == "" {
			// The cluster is not known until the first statement names a
			// table: answer now, send BEGIN just before that statement.
			s.txn.begin(st.SQL, st.ReadOnlyTxn, snap)
			return s.writeOK(w, wire.OK{})
		}
		// BEGIN inside a transaction commits it first, as MySQL does: it
		// runs on the transaction's connection.
	case parser.KindInsert, parser.KindUpdate, parser.KindDelete, parser.KindDDL:
		if s.txn.readOnly {
			// A READ ONLY transaction runs on a replica, whose answer would
			// be read_only's 1290; one server answers this.
			return wire.Errorf(mysql.ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, "Cannot execute statement in a READ ONLY transaction")
		}
	case parser.KindCommit, parser.KindRollback:
		if s.txn.dist != nil {
			return s.finishDist(st, w)
		}
		if s.txn.open == "" {
			// Nothing ran inside the transaction (or there is none): there
			// is nothing to commit, as COMMIT outside a transaction.
			s.txn.end()
			return s.writeOK(w, wire.OK{})
		}
		if st.Kind == parser.KindCommit {
			err := s.run(snap, st, w, obs)
			if err == nil && obs.errCode == 0 {
				s.rt.Metrics.TxnCommitted("local")
			}
			return err
		}
	case parser.KindSelect:
		if answered, err := s.infoSchema(snap, st, w, obs); answered {
			return err
		}
		if rewritten := proxyVariables(snap, st, s.state.textMode()); rewritten != nil {
			st = rewritten
		}
	case parser.KindShow:
		switch show := st.Node.(*ast.ShowStmt); show.Tp {
		case ast.ShowDatabases:
			return s.showDatabases(snap, show, w)
		case ast.ShowTables:
			return s.showTables(snap, st, show, w, obs)
		case ast.ShowTableStatus:
			return s.showTableStatus(snap, st, show, w, obs)
		}
	}
	return s.run(snap, st, w, obs)
}

// run plans a statement and executes the plan.
func (s *Session) run(snap *Snapshot, st *parser.Statement, w ResultWriter, obs *observation) error {
	p, err := s.plan(snap, st)
	var retypes []engine.RetypedColumn
	if notSupportedYet(err) {
		// Subqueries over tables the statement cannot read together with
		// the rest may run first, their values taking their place.
		rewritten, subErr := s.subqueriesFirst(snap, st, obs, 0)
		switch {
		case subErr != nil:
			return subErr
		case rewritten != nil:
			st, retypes = rewritten.st, rewritten.columns
			p, err = s.plan(snap, st)
		}
	}
	if notSupportedYet(err) {
		// Derived tables over shards may run first, their rows copied
		// into temporary tables where the rest of the statement runs.
		dp, done, derivedErr := s.derivedFirst(snap, st, obs)
		defer done()
		switch {
		case derivedErr != nil:
			return derivedErr
		case dp != nil:
			p, err = dp, nil
		}
	}
	if err == nil {
		p, err = retyped(p, retypes)
	}
	if err != nil {
		return err
	}
	if ip, done, intoErr := s.intoVarsFirst(snap, st, p, obs); intoErr != nil {
		return intoErr
	} else if ip != nil {
		defer done()
		p = ip
	}
	if s.txn.locks != nil && len(st.Tables) > 0 {
		// Under LOCK TABLES: buckets that appeared since (created ahead of
		// time, by another client or instance) join the locks first.
		if err := s.relock(snap); err != nil {
			return err
		}
	}
	vc := s.cursor(snap, p, obs)
	switch st.Kind {
	case parser.KindInsert, parser.KindUpdate, parser.KindDelete:
		vc.dml = true
	}
	err = s.execute(vc, w)
	forgetDefs(snap, st, s.state.db)
	if err != nil {
		var oe *engine.OutcomeError
		if errors.As(err, &oe) && oe.Partial() {
			s.logPartialWrite(st.SQL, oe)
		}
	}
	if err == nil && !vc.single && !st.ReadsDiagnostics {
		s.state.diag = vc.diag
	} else if vc.single && len(st.Tables) > 0 {
		s.state.diag = nil // the statement's connection has its diagnostics
	}
	return err
}

// execute runs the cursor's plan. The statement's memory account is closed
// after, however the plan ended (an error, the client gone), so nothing
// it reserved outlives it.
func (s *Session) execute(vc *cursor, w ResultWriter) error {
	defer vc.mem.Close()
	return vc.plan.Root.Execute(vc, w)
}

// plan plans a statement for the session. First it looks on the backends
// for hourly buckets the statement may reach that this proxy instance
// does not know (another instance created them), so that every instance
// answers the same.
func (s *Session) plan(snap *Snapshot, st *parser.Statement) (*engine.Plan, error) {
	if p := s.planFromShape(st); p != nil {
		return p, nil
	}
	f := s.state.facts()
	f.Defs = snap.Defs
	f.TempTables = s.txn.tempTables()
	if needs := snap.Planner.DefsNeeded(st, f); len(needs) > 0 {
		s.loadDefs(snap, needs, false)
	}
	onPrimary := false
	if misses := snap.Planner.BucketMisses(st, f); len(misses) > 0 {
		if found := snap.looker(s.rt.Log).lookForMisses(misses); len(found) > 0 {
			onPrimary = s.noteBucketsFound(snap, found)
		}
	}
	p, err := s.planSequenced(snap, st, f)
	if stale := snap.Planner.RefreshDefs(st, f, err); len(stale) > 0 {
		for _, n := range stale {
			snap.Defs.Forget(n.Schema, n.Table)
		}
		s.loadDefs(snap, stale, true)
		p, err = s.planSequenced(snap, st, f)
	}
	if err == nil && !onPrimary {
		s.remember(snap, st, f, p)
	}
	if err != nil || !onPrimary || p.Effects.Hint != "" {
		return p, err
	}
	forced := *p // plans are shared values: change a copy
	forced.Effects.Hint = "primary"
	return &forced, nil
}

// planSequenced plans st, first taking values from the sequence of the
// table an INSERT writes to when it has one. The values are taken before
// the statement runs and are not given back when it fails or its
// transaction rolls back, as MariaDB's AUTO_INCREMENT values are not.
func (s *Session) planSequenced(snap *Snapshot, st *parser.Statement, f planner.Facts) (*engine.Plan, error) {
	need, err := snap.Planner.SequenceNeed(st, f)
	if err != nil || need == nil {
		if err != nil {
			return nil, err
		}
		return snap.Planner.Plan(st, f)
	}
	slots := make([]sequence.Slot, len(need.Slots))
	for i, sl := range need.Slots {
		slots[i] = sequence.Slot{Explicit: sl.Explicit, Value: sl.Value}
	}
	values, err := s.rt.seq.Assign(need.Key, sequence.Config{Start: need.Start, Cache: need.Cache}, slots)
	if err != nil {
		return nil, err
	}
	return snap.Planner.PlanSequenced(st, f, values)
}

func (s *Session) writeOK(w ResultWriter, ok wire.OK) error {
	ok.Status = s.Status()
	if err := w.WritePacket(wire.AppendOK(nil, ok)); err != nil {
		return &ClientGoneError{Err: err}
	}
	return w.Flush()
}

// FieldList is COM_FIELD_LIST, answered by the server holding the table.
func (s *Session) FieldList(table, wildcard string, w ResultWriter) error {
	snap := s.snapshot()
	if snap.Planner.IsReservedName(s.state.db, table) {
		return wire.Errorf(mysql.ER_NO_SUCH_TABLE, "Table '%s.%s' doesn't exist", s.state.db, table)
	}
	cluster, physical := snap.Planner.PhysicalFor(s.state.db, table)
	arg := append(append([]byte(physical), 0), wildcard...)
	for attempt := 0; ; attempt++ {
		h, err := s.acquire(snap, readOnly, cluster, true)
		if err != nil {
			return err
		}
		h.backend.Reads.Add(1)
		cw := &countingSink{Sink: w}
		if err = h.Send(mysql.COM_FIELD_LIST, arg); err == nil {
			_, err = h.StreamFieldList(cw)
		}
		if err == nil {
			s.settle(h)
			return w.Flush()
		}
		if engine.Classify(err) == engine.FaultBroken && cw.packets == 0 && s.retryRead(snap, h, attempt) {
			continue // nothing reached the client: ask the next server
		}
		return s.lost(h, err)
	}
}

// countingSink tells whether any of an answer reached the client.
type countingSink struct {
	backend.Sink
	packets int
}

func (c *countingSink) WritePacket(p []byte) error {
	c.packets++
	return c.Sink.WritePacket(p)
}

// readOnly are the effects of the proxy's own reads for the session.
var readOnly = engine.Effects{CountsAsRead: true}

// queryOn runs one of the proxy's own queries for the session on cluster
// (a replica when one is healthy) and reads the whole answer.
func (s *Session) queryOn(snap *Snapshot, cluster, sql string) (*backend.Result, error) {
	return s.queryBounded(snap, cluster, sql, nil, "", "")
}

// queryBounded is queryOn for an answer that may be large: its rows are
// reserved from acct as they arrive. Past acct's limits the answer is
// abandoned (its connection dropped, the query killed) and the client gets
// 1041 saying what needed the memory and how to avoid it. The answer is
// read whole before use, so a connection that broke (or was cut with its
// replica) is replaced by the next choice of server, and what its partial
// answer held is given back.
func (s *Session) queryBounded(snap *Snapshot, cluster, sql string, acct *memory.Account, what, avoid string) (*backend.Result, error) {
	for attempt := 0; ; attempt++ {
		h, err := s.acquire(snap, readOnly, cluster, true)
		if err != nil {
			return nil, err
		}
		h.backend.Reads.Add(1)
		var grow func(int64) error
		var grown int64
		if acct != nil {
			grow = func(n int64) error {
				if err := acct.Grow(n); err != nil {
					return err
				}
				grown += n
				return nil
			}
		}
		res, _, err := h.QueryBounded(sql, grow)
		switch engine.Classify(err) {
		case engine.FaultBroken:
			if s.retryRead(snap, h, attempt) {
				if acct != nil {
					acct.Shrink(grown)
				}
				continue
			}
			return nil, s.lost(h, err)
		case engine.FaultClient:
			// Only grow refuses: the rest of the answer is not read.
			return nil, engine.MemoryError(mysql.ER_OUT_OF_RESOURCES, what, avoid, s.lost(h, err))
		}
		s.settle(h)
		return res, err
	}
}

// metricTable is a table's label in metrics: schema.table for tables the
// rules name, schema.(other) for the rest of a declared schema, and
// (other) otherwise. A client must not grow the metrics without bound by
// naming tables.
func metricTable(snap *Snapshot, schema, table string) string {
	sc := snap.Rules.Schemas[schema]
	switch {
	case sc == nil:
		return "(other)"
	case sc.Table(table) == nil:
		table = "(other)"
	}
	// Built once per snapshot: every statement asks for every table.
	if name, ok := snap.metricNames[schema][strings.ToLower(table)]; ok {
		return name
	}
	return schema + "." + strings.ToLower(table)
}

// metricTableNames are the labels of the tables the rules name, by schema
// and lower-case table.
func metricTableNames(r *rules.Rules) map[string]map[string]string {
	out := map[string]map[string]string{}
	for schema, sc := range r.Schemas {
		out[schema] = map[string]string{"(other)": schema + ".(other)"}
		for name := range sc.Tables {
			out[schema][strings.ToLower(name)] = schema + "." + strings.ToLower(name)
		}
	}
	return out
}
