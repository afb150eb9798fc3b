package router

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// ResultWriter is the client side of a session: results are streamed into
// it packet by packet and flushed once per response.
type ResultWriter interface {
	WritePacket(p []byte) error
	Flush() error
}

// ClientGoneError means the client stopped reading in the middle of a
// response; the connection to it must be closed.
type ClientGoneError = backend.SinkError

// Session is one client's state. It belongs to the client's goroutine.
type Session struct {
	rt *Router
	// multiStatements: the client asked for CLIENT_MULTI_STATEMENTS.
	multiStatements bool
	id              uint64
	db              string
	foundRows       bool
	// vars is the session state every backend connection serving this
	// client must carry (see backend.Conn.SyncVars).
	vars map[string]string
	// handshakeNames is the character set the client logged in with.
	handshakeNames string

	pinned *held // the connection a transaction or connection state ties us to
	// txnPending is a BEGIN the client sent that no backend has seen yet:
	// it goes out just before the transaction's first statement.
	txnPending    string
	txnReadOnly   bool
	status        uint16
	lastInsertID  uint64
	stickyReasons stickiness
	// prev is where the last write ran, for ROW_COUNT() in the next statement.
	prev struct {
		h    *held
		uses uint64
	}
	// What the metrics say about the statement running now.
	kind, route string
	errCode     uint16
	// lastGTID is, per cluster, the GTID of the session's last write, kept
	// for schemas with consistency: session.
	lastGTID map[string]string
}

// stickiness lists connection state that keeps the session on one backend
// connection after the statement that created it.
type stickiness struct {
	tempTables, connState, lockTables, foundRows bool
}

func (s stickiness) any() bool { return s.tempTables || s.connState || s.lockTables || s.foundRows }

type held struct {
	backend *backend.Backend
	conn    *backend.Conn
}

// NewSession starts a session for a logged-in client. collation is the
// collation id from the handshake; foundRows mirrors CLIENT_FOUND_ROWS.
func (rt *Router) NewSession(db string, collation uint8, foundRows bool) *Session {
	s := &Session{rt: rt, id: rt.sessionIDs.Add(1), db: db, foundRows: foundRows, vars: map[string]string{}, status: mysql.SERVER_STATUS_AUTOCOMMIT}
	if names := namesForCollation(collation); names != backend.DefaultNames {
		s.handshakeNames = names
		s.vars["names"] = names
	}
	return s
}

// AllowMultiStatements follows the client's CLIENT_MULTI_STATEMENTS.
func (s *Session) AllowMultiStatements(on bool) { s.multiStatements = on }

// DB is the session's current database.
func (s *Session) DB() string { return s.db }

// Status is the server status to report in OK packets the proxy writes.
func (s *Session) Status() uint16 {
	// Only flags that describe the session, not the last statement.
	st := s.status & (mysql.SERVER_STATUS_IN_TRANS | mysql.SERVER_STATUS_AUTOCOMMIT |
		mysql.SERVER_STATUS_IN_TRANS_READONLY | mysql.SERVER_STATUS_NO_BACKSLASH_ESCAPED)
	if s.txnPending != "" {
		st |= mysql.SERVER_STATUS_IN_TRANS
	}
	return st
}

// Close returns any held connection; an open transaction is rolled back by
// the reset that Put performs on a dirty connection.
func (s *Session) Close() {
	s.release()
}

// Reset is COM_RESET_CONNECTION: the session forgets variables, temporary
// tables and transactions, and keeps its database.
func (s *Session) Reset() {
	s.release()
	s.vars = map[string]string{}
	if s.handshakeNames != "" {
		s.vars["names"] = s.handshakeNames
	}
	s.txnPending, s.txnReadOnly = "", false
	s.status = mysql.SERVER_STATUS_AUTOCOMMIT
	s.lastInsertID = 0
}

// release gives back a held connection. Whatever it was held for (a
// transaction, temporary tables, locks) must not reach the next user, so it
// is reset on the way back.
func (s *Session) release() {
	if s.pinned == nil {
		return
	}
	s.pinned.conn.Dirty = true
	s.pinned.backend.Put(s.pinned.conn)
	s.pinned = nil
	s.stickyReasons = stickiness{}
}

// InitDB is COM_INIT_DB and USE.
func (s *Session) InitDB(db string) error {
	if !s.rt.HasSchema(db) {
		return wire.Errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", db)
	}
	s.db = db
	return nil
}

// Query runs one COM_QUERY and writes its whole response to w.
func (s *Session) Query(sql string, w ResultWriter) error {
	return s.observe(func() error { return s.query(sql, w) })
}

// observe runs one client command and records it in the metrics.
func (s *Session) observe(run func() error) error {
	m := s.rt.Metrics
	if m == nil {
		return run()
	}
	start := time.Now()
	s.kind, s.route, s.errCode = "other", "proxy", 0
	err := run()
	code := s.errCode
	var me *mysql.MyError
	if errors.As(err, &me) {
		code = me.Code
	}
	m.Query(s.kind, s.route, time.Since(start), code)
	return err
}

func (s *Session) query(sql string, w ResultWriter) error {
	if handled, err := s.admin(sql, w); handled {
		return err
	}
	key := s.db + "\x00" + sql
	if st := s.rt.stmts.get(key); st != nil {
		return s.statement(st, w)
	}
	stmts, err := s.rt.parse(sql)
	if err != nil {
		return err
	}
	switch len(stmts) {
	case 0:
		return wire.Errorf(mysql.ER_EMPTY_QUERY, "Query was empty")
	case 1:
		if s.rt.cacheable(stmts[0], s.db) {
			s.rt.stmts.put(key, stmts[0])
		}
		return s.statement(stmts[0], w)
	}
	if !s.multiStatements {
		return wire.Errorf(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax; several statements in one query need CLIENT_MULTI_STATEMENTS, near '%s'", stmts[1].SQL)
	}
	// Each statement's answer is one result; all but the last say that
	// more follow. The first error ends the query, as in MySQL.
	for i, st := range stmts {
		mw := &moreResults{w: w}
		if err := s.statement(st, mw); err != nil {
			if ferr := mw.finish(true); ferr != nil {
				return ferr
			}
			return err
		}
		// A server error ends the query too; nothing after it runs.
		failed := mw.failed()
		if err := mw.finish(i < len(stmts)-1 && !failed); err != nil {
			return &ClientGoneError{Err: err}
		}
		if failed {
			return nil
		}
	}
	return nil
}

// statement runs one parsed statement.
func (s *Session) statement(st *parser.Statement, w ResultWriter) error {
	s.kind = st.Kind.String()
	switch st.Kind {
	case parser.KindUse:
		if err := s.InitDB(st.Node.(*ast.UseStmt).DBName); err != nil {
			return err
		}
		return s.writeOK(w, wire.OK{})
	case parser.KindSet:
		return s.set(st, w)
	case parser.KindBegin:
		return s.begin(st, w)
	case parser.KindCommit, parser.KindRollback:
		if s.pinned == nil {
			// Nothing ran inside a transaction (or there is none): there is
			// nothing to commit, as COMMIT outside a transaction in MySQL.
			s.txnPending = ""
			return s.writeOK(w, wire.OK{})
		}
	case parser.KindSelect:
		if isInfoSchemaTables(st) {
			return s.infoSchema(st, w)
		}
		if rewritten := s.proxyVariables(st); rewritten != nil {
			st = rewritten
		}
	case parser.KindShow:
		switch show := st.Node.(*ast.ShowStmt); show.Tp {
		case ast.ShowDatabases:
			return s.showDatabases(show, w)
		case ast.ShowTables:
			return s.showTables(st, show, w)
		}
	}
	return s.run(st, w)
}

func (s *Session) begin(st *parser.Statement, w ResultWriter) error {
	if s.pinned != nil {
		// BEGIN inside a transaction commits it first, as MySQL does.
		return s.run(st, w)
	}
	// The cluster is not known until the first statement names a table:
	// answer now and send BEGIN just before that statement.
	s.txnPending = st.SQL
	s.txnReadOnly = st.ReadOnlyTxn
	return s.writeOK(w, wire.OK{})
}

// target picks the backend a statement runs on.
func (s *Session) target(st *parser.Statement, cluster *backend.Cluster) (*backend.Backend, error) {
	hint := routingHint(st.SQL)
	inTxn := s.txnPending != "" || s.vars["autocommit"] == "0"
	useReplica := st.ReadOnly && !inTxn
	if s.txnPending != "" && s.txnReadOnly {
		useReplica = true
	}
	switch hint {
	case hintPrimary:
		useReplica = false
	case hintReplica:
		useReplica = !inTxn || s.txnReadOnly
	}
	if !useReplica {
		return cluster.Primary, nil
	}
	if b := cluster.PickReplica(); b != nil {
		return b, nil
	}
	if s.rt.Rules.ReplicaFallback == "error" {
		return nil, wire.Errorf(mysql.ER_OPTION_PREVENTS_STATEMENT,
			"shardgate: no healthy replica in cluster %s and replica_fallback is error", cluster.Name)
	}
	return cluster.Primary, nil
}

// run plans a statement and executes the plan.
func (s *Session) run(st *parser.Statement, w ResultWriter) error {
	p, err := s.rt.planner.plan(st, s.db)
	if err != nil {
		return err
	}
	return s.execute(st, p, w)
}

// runStep executes a one-step plan on one backend and streams the answer.
func (s *Session) runStep(st *parser.Statement, p *Plan, step Step, w ResultWriter) error {
	cluster := s.rt.Clusters[step.Cluster]
	var err error
	var h *held
	var out backend.Outcome
	for try := 0; ; try++ {
		wasPinned := s.pinned != nil
		if h, err = s.acquire(st, cluster); err != nil {
			return err
		}
		s.route = string(h.backend.Role)
		if st.Kind == parser.KindSelect || st.Kind == parser.KindShow || st.Kind == parser.KindExplain {
			h.backend.Reads.Add(1)
		} else {
			h.backend.Writes.Add(1)
		}
		cw := countingWriter{ResultWriter: w}
		if out, err = s.send(h, step.SQL, &cw, p.columnRewriter()); err == nil {
			break
		}
		// A read that broke before the client saw a byte runs again
		// elsewhere: only statements caught mid-answer fail.
		var gone *backend.SinkError
		retry := st.ReadOnly && !wasPinned && s.pinned == nil && cw.packets == 0 && !errors.As(err, &gone) && try < len(cluster.Replicas)
		if !retry {
			return s.fail(h, err)
		}
		h.backend.MarkDown(err.Error())
		h.backend.Discard(h.conn)
	}
	if out.Err == nil {
		s.noteSuccess(st, out)
		s.status = out.Status
		s.noteWriteGTID(h, st)
		if len(st.AssignedUserVars) > 0 {
			reads := make([]varRead, len(st.AssignedUserVars))
			for i, name := range st.AssignedUserVars {
				reads[i] = userVarRead(name)
			}
			if err := s.captureVars(h.conn, reads); err != nil {
				// The statement's answer is already with the client; a
				// connection that cannot tell us its variables is dropped.
				h.conn.Dirty = true
			}
		}
	} else if s.errCode = out.Err.Code; s.pinned == nil && s.vars["autocommit"] == "0" {
		// An ERR packet carries no status: whether the failed statement
		// left a transaction open is unknown, so no one else may reuse
		// this connection without a reset.
		h.conn.Dirty = true
	}
	// On an error a transaction stays as it was, so the status does too.
	s.settle(h)
	return w.Flush()
}

// acquire returns the connection a statement runs on, prepared with the
// session's database and variables, and with a pending BEGIN sent.
func (s *Session) acquire(st *parser.Statement, cluster *backend.Cluster) (*held, error) {
	if s.pinned != nil {
		if s.pinned.backend.Cluster != cluster.Name {
			return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET,
				"shardgate: this session's transaction or connection state lives on cluster %s; a statement for cluster %s cannot join it (no distributed transactions)",
				s.pinned.backend.Cluster, cluster.Name)
		}
		return s.pinned, nil
	}
	if st.UsesPrevResult {
		return s.reclaimPrev(st, cluster)
	}
	// A backend found broken leaves rotation and the statement tries the
	// next choice: nothing has run yet, so trying again is always safe.
	var lastErr error
	for try := 0; try <= len(cluster.Replicas); try++ {
		h, err := s.tryAcquire(st, cluster)
		if err == nil {
			return h, nil
		}
		var broken *brokenBackend
		if !errors.As(err, &broken) {
			return nil, err
		}
		broken.b.MarkDown(broken.err.Error())
		lastErr = broken.err
	}
	return nil, lastErr
}

// brokenBackend wraps a failure that says the backend itself is unusable.
type brokenBackend struct {
	b   *backend.Backend
	err error
}

func (e *brokenBackend) Error() string { return e.err.Error() }

func (s *Session) tryAcquire(st *parser.Statement, cluster *backend.Cluster) (*held, error) {
	b, err := s.target(st, cluster)
	if err != nil {
		return nil, err
	}
	conn, err := b.Get(s.foundRows, s.id)
	if err != nil {
		var me *mysql.MyError
		if errors.As(err, &me) && me.Code == wire.ErrBackendUnreachable {
			return nil, &brokenBackend{b, err}
		}
		return nil, err
	}
	if b.Role == backend.RoleReplica {
		fresh, err := s.caughtUp(conn, cluster.Name)
		if err != nil {
			b.Discard(conn)
			return nil, &brokenBackend{b, err}
		}
		if !fresh {
			b.Put(conn)
			b = cluster.Primary
			if conn, err = b.Get(s.foundRows, s.id); err != nil {
				return nil, err
			}
		}
	}
	h := &held{backend: b, conn: conn}
	if err := s.prepare(h, st); err != nil {
		var me *mysql.MyError
		if errors.As(err, &me) {
			// The server refused the session's state: the connection is fine.
			conn.Dirty = true
			b.Put(conn)
			return nil, err
		}
		b.Discard(conn)
		return nil, &brokenBackend{b, err}
	}
	return h, nil
}

func (s *Session) prepare(h *held, st *parser.Statement) error {
	c := h.conn
	if err := c.UseDB(s.db); err != nil {
		return err
	}
	if err := c.SyncVars(s.vars); err != nil {
		return err
	}
	if st.UsesLastInsertID && s.lastInsertID != 0 {
		// LAST_INSERT_ID() lives in one connection; give this one the
		// session's value (LAST_INSERT_ID(n) sets it).
		if _, err := c.Exec(fmt.Sprintf("SELECT LAST_INSERT_ID(%d)", s.lastInsertID)); err != nil {
			return err
		}
	}
	if s.txnPending != "" {
		if _, err := c.Exec(s.txnPending); err != nil {
			return err
		}
		s.txnPending = ""
		s.pinned = h
	}
	return nil
}

func (s *Session) send(h *held, sql string, w ResultWriter, columns func([]byte) []byte) (backend.Outcome, error) {
	if err := h.conn.Send(mysql.COM_QUERY, []byte(sql)); err != nil {
		return backend.Outcome{}, err
	}
	return h.conn.Stream(w, columns)
}

// fail handles a broken exchange: the backend connection is gone either way.
func (s *Session) fail(h *held, err error) error {
	var gone *backend.SinkError
	if errors.As(err, &gone) {
		// The client left mid-result: stop the query instead of letting
		// it run on for nobody.
		go h.backend.Kill(h.conn.ThreadID)
	}
	if s.pinned == h {
		s.pinned = nil
		s.stickyReasons = stickiness{}
		s.status = mysql.SERVER_STATUS_AUTOCOMMIT
	}
	h.backend.Discard(h.conn)
	if gone != nil {
		return err
	}
	return wire.Errorf(mysql.ER_UNKNOWN_ERROR /* 1105 */, "shardgate: lost connection to backend %s (%s) during query: %v",
		h.backend.Addr, h.backend.Cluster, err)
}

// noteSuccess records what a statement changed in the session.
func (s *Session) noteSuccess(st *parser.Statement, out backend.Outcome) {
	if out.OK.InsertID != 0 && (st.Kind == parser.KindInsert || st.Kind == parser.KindUpdate || st.UsesLastInsertID) {
		s.lastInsertID = out.OK.InsertID
	}
	switch n := st.Node.(type) {
	case *ast.CreateTableStmt:
		if n.TemporaryKeyword != ast.TemporaryNone {
			s.stickyReasons.tempTables = true
		}
	case *ast.LockTablesStmt:
		s.stickyReasons.lockTables = true
	case *ast.UnlockTablesStmt:
		s.stickyReasons.lockTables = false
	}
	if st.HoldsConnState {
		s.stickyReasons.connState = true
	}
	s.stickyReasons.foundRows = st.CalcFoundRows
}

// settle keeps or returns the connection after a statement.
func (s *Session) settle(h *held) {
	inTxn := s.status&mysql.SERVER_STATUS_IN_TRANS != 0
	if inTxn || s.stickyReasons.any() {
		s.pinned = h
		return
	}
	if s.pinned == h {
		s.pinned = nil
	}
	// The client may ask ROW_COUNT() or FOUND_ROWS() next: keep the
	// connection for this session unless the pool runs short.
	s.prev.h, s.prev.uses = h, h.conn.Uses()
	h.conn.ReservedFor = s.id
	h.backend.Put(h.conn)
}

// reclaimPrev takes back the connection the previous statement ran on, for
// ROW_COUNT() and FOUND_ROWS(). The pool hands a returned connection to others
// last, so it is usually still there; when it is not, the honest answer is an
// error rather than another connection's count.
func (s *Session) reclaimPrev(st *parser.Statement, cluster *backend.Cluster) (*held, error) {
	h := s.prev.h
	if h == nil || h.backend.Cluster != cluster.Name || !h.backend.Reclaim(h.conn, s.prev.uses) {
		return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET,
			"shardgate: ROW_COUNT() and FOUND_ROWS() need the backend connection of the previous statement, which has been reused since; run both statements in one transaction")
	}
	if err := s.prepare(h, st); err != nil {
		h.conn.Dirty = true
		h.backend.Put(h.conn)
		return nil, err
	}
	return h, nil
}

func (s *Session) writeOK(w ResultWriter, ok wire.OK) error {
	ok.Status = s.Status()
	if err := w.WritePacket(wire.AppendOK(nil, ok)); err != nil {
		return &ClientGoneError{Err: err}
	}
	return w.Flush()
}

// routing hints: a leading comment MySQL ignores, e.g.
//
//	/* shardgate:primary */ SELECT ...
type hint int

const (
	hintNone hint = iota
	hintPrimary
	hintReplica
)

func routingHint(sql string) hint {
	sql = strings.TrimLeft(sql, " \t\r\n")
	if !strings.HasPrefix(sql, "/*") || strings.HasPrefix(sql, "/*!") || strings.HasPrefix(sql, "/*+") {
		return hintNone
	}
	end := strings.Index(sql, "*/")
	if end < 0 {
		return hintNone
	}
	switch strings.TrimSpace(sql[2:end]) {
	case "shardgate:primary":
		return hintPrimary
	case "shardgate:replica":
		return hintReplica
	}
	return hintNone
}

// literal renders a value read back from the server as SQL that recreates it.
func literal(col wire.Column, v *string) string {
	if v == nil {
		return "NULL"
	}
	switch col.Type {
	case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONGLONG,
		mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_DECIMAL, mysql.MYSQL_TYPE_NEWDECIMAL,
		mysql.MYSQL_TYPE_FLOAT, mysql.MYSQL_TYPE_DOUBLE:
		return *v
	}
	if col.Charset == 63 {
		return "X'" + hex.EncodeToString([]byte(*v)) + "'"
	}
	if cs := charsetOfCollation(col.Charset); cs != "" {
		return "_" + cs + " X'" + hex.EncodeToString([]byte(*v)) + "'"
	}
	return quote(*v)
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`)
	return "'" + r.Replace(s) + "'"
}

// FieldList is COM_FIELD_LIST, answered by the server holding the table.
func (s *Session) FieldList(table, wildcard string, w ResultWriter) error {
	clusterName, physical, err := s.rt.physicalFor(s.db, table)
	if err != nil {
		return err
	}
	table = physical
	st := &parser.Statement{Kind: parser.KindShow, ReadOnly: true}
	h, err := s.acquire(st, s.rt.Clusters[clusterName])
	if err != nil {
		return err
	}
	h.backend.Reads.Add(1)
	arg := append(append([]byte(table), 0), wildcard...)
	if err := h.conn.Send(mysql.COM_FIELD_LIST, arg); err != nil {
		return s.fail(h, err)
	}
	if _, err := h.conn.StreamFieldList(w); err != nil {
		return s.fail(h, err)
	}
	s.settle(h)
	return w.Flush()
}

// sessionConsistency reports whether reads must see the session's writes.
func (s *Session) sessionConsistency() (bool, float64) {
	schema := s.rt.Rules.Schemas[s.db]
	if schema == nil {
		schema = s.rt.Rules.DefaultSchema()
	}
	return schema.Consistency == "session", schema.CausalTimeout.Seconds()
}

// noteWriteGTID remembers the GTID of a committed write, for read-your-writes.
func (s *Session) noteWriteGTID(h *held, st *parser.Statement) {
	on, _ := s.sessionConsistency()
	if !on || st.ReadOnly || h.backend.Role != backend.RolePrimary || s.status&mysql.SERVER_STATUS_IN_TRANS != 0 {
		return
	}
	res, _, err := h.conn.Query("SELECT @@last_gtid")
	var me *mysql.MyError
	if err != nil && !errors.As(err, &me) {
		// The statement succeeded but the connection broke afterwards: the
		// reset on return fails and the pool drops it.
		h.conn.Dirty = true
		return
	}
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] == nil || *res.Rows[0][0] == "" {
		return
	}
	if s.lastGTID == nil {
		s.lastGTID = map[string]string{}
	}
	s.lastGTID[h.backend.Cluster] = *res.Rows[0][0]
}

// caughtUp waits, up to causal_timeout, for a replica to apply the session's
// last write on that cluster. false sends the read to the primary; an error
// means the connection broke.
func (s *Session) caughtUp(c *backend.Conn, cluster string) (bool, error) {
	on, timeout := s.sessionConsistency()
	gtid := s.lastGTID[cluster]
	if !on || gtid == "" {
		return true, nil
	}
	res, _, err := c.Query(fmt.Sprintf("SELECT MASTER_GTID_WAIT(%s, %g)", quote(gtid), timeout))
	var me *mysql.MyError
	if errors.As(err, &me) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return len(res.Rows) == 1 && res.Rows[0][0] != nil && *res.Rows[0][0] == "0", nil
}

// countingWriter tells whether any of a response reached the client.
type countingWriter struct {
	ResultWriter
	packets int
}

func (c *countingWriter) WritePacket(p []byte) error {
	c.packets++
	return c.ResultWriter.WritePacket(p)
}

// ExecutePrepared runs a prepared statement with its values bound into sql.
// When its routing does not depend on the values, the statement parsed at
// PREPARE serves every execution and nothing is parsed again.
func (s *Session) ExecutePrepared(p *Prepared, sql string, w ResultWriter) error {
	if p.fast == nil {
		return s.Query(sql, w)
	}
	st := *p.fast
	st.SQL = sql
	return s.observe(func() error { return s.statement(&st, w) })
}
