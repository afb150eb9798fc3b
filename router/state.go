package router

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/charset"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/wire"
)

// state is what a client session carries onto every backend connection
// that serves it, and what it remembers between statements.
type state struct {
	db string
	// vars is the session state every backend connection serving this
	// client must carry (see backend.Conn.SyncVars): "names", system
	// variables by lower-case name, "@user" variables; values are SQL
	// literals read back from the server.
	vars map[string]string
	// handshakeNames is the character set the client logged in with.
	handshakeNames string
	// lastInsertID is LAST_INSERT_ID() as the session sees it.
	lastInsertID uint64
	// lastGTID is, per cluster, a GTID position that holds the session's
	// writes (for schemas with consistency: session); wrote marks clusters
	// written since it was read.
	lastGTID map[string]string
	wrote    map[string]bool
	// appliedOn is, per replica address, the last lastGTID position that
	// replica was seen to have applied: reading there again needs no
	// wait until the session writes again (positions only grow).
	appliedOn map[string]string
	// sqlMode and charset are @@sql_mode and @@character_set_client as the
	// server reported them: how the server reads the SQL text the proxy
	// renders for this session.
	sqlMode, charset string
	modeCache        sqlModes
	// diag is the union of the warnings of the previous statement when it
	// ran on several backends (nil otherwise: its connection has them).
	diag *diagnostics
	// waitTimeout and interactiveTimeout (seconds, 0: the server default)
	// bound how long the client may stay idle.
	waitTimeout, interactiveTimeout int
	// sqlPrepared is what each SQL-level prepared statement (PREPARE
	// name FROM …, by lower-case name) runs, as parsed at PREPARE; nil
	// when the proxy could not read it. EXECUTE meets the switches with it.
	sqlPrepared map[string][]*parser.Statement
}

// textMode is how the session's server reads SQL text.
func (st *state) textMode() parser.TextMode {
	m := st.modes().text
	m.Charset = st.charset
	return m
}

// oracleMode reports sql_mode ORACLE, in which MariaDB reads statements
// with a grammar of its own.
func (st *state) oracleMode() bool { return st.sqlModeHas("ORACLE") }

// sqlModeHas reports whether the session's sql_mode includes flag (upper
// case, as the server writes it back).
func (st *state) sqlModeHas(flag string) bool {
	_, ok := st.modes().flags[flag]
	return ok
}

// sqlModes is the session's sql_mode read once: every statement asks it
// several questions, and the text changes only with SET sql_mode.
type sqlModes struct {
	src   string
	valid bool
	flags map[string]struct{}
	text  parser.TextMode // without the character set
}

// modes is st.sqlMode read into flags, again only when it changed.
func (st *state) modes() *sqlModes {
	c := &st.modeCache
	if c.valid && c.src == st.sqlMode {
		return c
	}
	c.src, c.valid, c.flags = st.sqlMode, true, map[string]struct{}{}
	for _, f := range strings.Split(strings.ToUpper(st.sqlMode), ",") {
		c.flags[f] = struct{}{}
	}
	has := func(f string) bool { _, ok := c.flags[f]; return ok }
	c.text = parser.TextMode{
		NoBackslashEscapes: has("NO_BACKSLASH_ESCAPES"),
		AnsiQuotes:         has("ANSI_QUOTES") || has("ANSI"),
		PipesAsConcat:      has("PIPES_AS_CONCAT") || has("ANSI") || has("ORACLE"),
		IgnoreSpace:        has("IGNORE_SPACE") || has("ANSI"),
		HighNotPrecedence:  has("HIGH_NOT_PRECEDENCE"),
		RealAsFloat:        has("REAL_AS_FLOAT") || has("ANSI"),
	}
	return c
}

// facts describe the session for the planner.
func (st *state) facts() planner.Facts {
	return planner.Facts{DB: st.db, Text: st.textMode(), NoZeroDate: st.refusesZeroDate(), NoAutoValueOnZero: st.sqlModeHas("NO_AUTO_VALUE_ON_ZERO"), TimeRoundFractional: st.sqlModeHas("TIME_ROUND_FRACTIONAL"), TimeZone: st.vars["time_zone"]}
}

// refusesZeroDate reports a sql_mode in which MariaDB refuses to store the
// zero date: NO_ZERO_DATE in strict mode (without strict mode it stores it
// with warning 1264). TRADITIONAL is read back expanded into both. An
// empty sql_mode is the server's default, which has no NO_ZERO_DATE in
// MariaDB 10.2 and later.
func (st *state) refusesZeroDate() bool {
	has := st.sqlModeHas
	return has("NO_ZERO_DATE") && (has("STRICT_TRANS_TABLES") || has("STRICT_ALL_TABLES"))
}

// charsetOfNames reads the character set of a SET NAMES value
// ('gbk' COLLATE 'gbk_chinese_ci').
func charsetOfNames(names string) string {
	cs, _, _ := strings.Cut(strings.TrimPrefix(names, "'"), "'")
	return cs
}

func newState(db, names string) state {
	st := state{db: db, vars: map[string]string{}, charset: charsetOfNames(names)}
	if names != backend.DefaultNames {
		st.handshakeNames = names
		st.vars["names"] = names
	}
	return st
}

// reset forgets variables and LAST_INSERT_ID() (COM_RESET_CONNECTION); the
// database and the handshake's character set stay.
func (st *state) reset() {
	st.vars = map[string]string{}
	st.charset = charsetOfNames(backend.DefaultNames)
	if st.handshakeNames != "" {
		st.vars["names"] = st.handshakeNames
		st.charset = charsetOfNames(st.handshakeNames)
	}
	st.lastInsertID, st.sqlMode = 0, ""
	st.waitTimeout, st.interactiveTimeout = 0, 0
	st.sqlPrepared = nil // COM_RESET_CONNECTION drops prepared statements
}

// varRead names a session value and the expression that reads it back.
type varRead struct{ key, expr string }

func userVarRead(name string) varRead {
	return varRead{"@" + name, "@`" + strings.ReplaceAll(name, "`", "``") + "`"}
}

// set runs a SET statement on a backend, then reads the resulting values
// back and records them as literals. Replaying the client's expression on
// another connection would be wrong for relative values such as
// SET sql_mode = CONCAT(@@sql_mode, ',ANSI'); the server's answer is exact.
func (s *Session) set(snap *Snapshot, st *parser.Statement, w ResultWriter, obs *observation) error {
	if d := s.txn.dist; d != nil && len(d.branches) > 0 && s.state.vars["autocommit"] == "0" && setsAutocommitOn(st) {
		// autocommit going from 0 to 1 commits the transaction, as in
		// MariaDB (an XA branch would refuse the SET).
		if warning, err := s.endDist(true); err != nil {
			return err
		} else if warning != "" {
			s.rt.Log.Warn(warning)
		}
	}
	if nextTransactionOnly(st) && !s.txn.active() {
		// SET TRANSACTION without SESSION applies to the next transaction
		// only: it goes out just before the next statement reaches a
		// backend, on the connection that runs it. (On a pinned connection
		// it runs at once, below, and the server applies its own rules.)
		s.txn.next = st.SQL
		return s.writeOK(w, wire.OK{})
	}
	var reads []varRead
	for _, v := range st.Node.(*ast.SetStmt).Variables {
		name := strings.ToLower(v.Name)
		switch {
		case v.Name == ast.SetNames:
			reads = append(reads, varRead{"names", "CONCAT(QUOTE(@@character_set_client), ' COLLATE ', QUOTE(@@collation_connection))"})
		case v.Name == ast.SetCharset:
			for _, k := range []string{"character_set_client", "character_set_results", "collation_connection"} {
				reads = append(reads, varRead{k, "@@session." + k})
			}
		case v.IsGlobal || v.IsInstance:
			// Server-wide: runs on the primary, nothing to carry.
		case v.IsSystem:
			if name == "tx_isolation_one_shot" || nextTransactionOnly(st) {
				continue // nothing to carry: it ends with the transaction
			}
			reads = append(reads, varRead{name, "@@session." + name})
		default:
			reads = append(reads, userVarRead(name))
		}
	}
	p, err := snap.Planner.Plan(st, s.state.facts())
	if err != nil {
		return err
	}
	route, single := p.Root.(*engine.Route)
	if !single {
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: this SET statement would run on several tables; it must name one")
	}
	h, err := s.acquire(snap, p.Effects, route.Cluster, false)
	if err != nil {
		return err
	}
	obs.route = string(h.backend.Role)
	h.backend.Writes.Add(1)
	ok, err := h.Exec(st.SQL)
	if err == nil {
		err = s.state.captureVars(h.Conn, reads)
	}
	switch engine.Classify(err) {
	case engine.FaultNone:
		s.txn.status = ok.Status
	case engine.FaultServer:
		s.settle(h)
		return err
	default:
		return s.lost(h, err)
	}
	s.settle(h)
	return s.writeOK(w, wire.OK{Warnings: ok.Warnings})
}

// setTransaction matches SET TRANSACTION without a scope keyword, which
// TiDB's parser gives the same variables as SET SESSION TRANSACTION for
// READ ONLY / READ WRITE.
var setTransaction = regexp.MustCompile(`(?is)^\s*SET\s+TRANSACTION\b`)

// nextTransactionOnly reports SET TRANSACTION ... without SESSION or
// GLOBAL: it sets the characteristics of the next transaction only.
func nextTransactionOnly(st *parser.Statement) bool {
	for _, v := range st.Node.(*ast.SetStmt).Variables {
		if v.Name == "tx_isolation_one_shot" {
			return true
		}
	}
	return setTransaction.MatchString(st.SQL)
}

// captureVars reads values back from the connection a statement just changed
// and records them in the session (and as the connection's known state).
func (st *state) captureVars(c *backend.Conn, reads []varRead) error {
	if len(reads) == 0 {
		return nil
	}
	exprs := make([]string, len(reads))
	for i, r := range reads {
		exprs[i] = r.expr
	}
	res, _, err := c.Query("SELECT " + strings.Join(exprs, ", "))
	if err != nil {
		return err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != len(reads) {
		return errors.New("unexpected answer reading variables back")
	}
	changed := map[string]string{}
	for i, r := range reads {
		raw := res.Rows[0][i]
		v := parser.ColumnValueLiteral(res.Columns[i], raw)
		switch {
		case r.key == "names" && raw != nil:
			v = *raw
			st.charset = charsetOfNames(v)
			for _, k := range []string{"character_set_client", "character_set_connection", "character_set_results", "collation_connection"} {
				delete(st.vars, k)
			}
		case r.key == "sql_mode" && raw != nil:
			st.sqlMode = *raw
		case r.key == "character_set_client" && raw != nil:
			st.charset = *raw
		case r.key == "wait_timeout" && raw != nil:
			st.waitTimeout, _ = strconv.Atoi(*raw)
		case r.key == "interactive_timeout" && raw != nil:
			st.interactiveTimeout, _ = strconv.Atoi(*raw)
		}
		changed[r.key] = v
	}
	for k, v := range changed {
		if k == "names" && v == backend.DefaultNames {
			delete(st.vars, k)
		} else {
			st.vars[k] = v
		}
	}
	c.NoteVars(changed)
	return nil
}

// namesForCollation turns the handshake's collation id into a SET NAMES value.
// Ids MariaDB does not know (MySQL 8's 255, utf8mb4_0900_ai_ci) fall back to
// their character set's default collation, as MariaDB itself does.
func namesForCollation(id uint8) string {
	if id == backend.DefaultCollationID || id == 0 {
		return backend.DefaultNames
	}
	coll, err := charset.GetCollationByID(int(id))
	if err != nil {
		return backend.DefaultNames
	}
	cs := coll.CharsetName
	if cs == "utf8" {
		cs = "utf8mb3"
	}
	if strings.Contains(coll.Name, "0900") {
		if cs == "utf8mb4" {
			return backend.DefaultNames
		}
		return "'" + cs + "'"
	}
	name := strings.Replace(coll.Name, "utf8_", "utf8mb3_", 1)
	return "'" + cs + "' COLLATE '" + name + "'"
}
