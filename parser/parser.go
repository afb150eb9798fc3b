// Package parser wraps TiDB's SQL parser: it classifies a statement, lists
// the tables it touches and says what the router needs to know about it.
package parser

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	tidbmysql "github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values for a parser used outside TiDB

	"github.com/shardgate/shardgate/wire"
)

// Kind is what a statement does, as far as routing cares.
type Kind int

const (
	KindOther Kind = iota
	KindSelect
	KindShow
	KindSet
	KindUse
	KindBegin
	KindCommit
	KindRollback
	KindInsert
	KindUpdate
	KindDelete
	KindDDL
	KindExplain
)

var kindNames = [...]string{"other", "select", "show", "set", "use", "begin", "commit", "rollback", "insert", "update", "delete", "ddl", "explain"}

func (k Kind) String() string { return kindNames[k] }

// Table is a table a statement names; Schema is empty when the statement
// relies on the current database.
type Table struct {
	Schema, Name string
}

// Statement is one parsed statement with what routing needs to know.
type Statement struct {
	Node ast.StmtNode
	SQL  string
	Kind Kind
	// Tables lists each table named, once.
	Tables []Table
	// ShowSchema is the database a SHOW statement names (SHOW TABLES FROM x).
	ShowSchema string
	// ReadOnly statements may run on a replica outside a transaction.
	ReadOnly bool
	// Reasons the statement must run on the primary, on the session's own
	// connection, even though it only reads.
	UsesLastInsertID bool
	// UsesPrevResult reads what the previous statement left in its
	// connection: ROW_COUNT(), FOUND_ROWS(), SHOW WARNINGS/ERRORS,
	// @@warning_count, @@error_count.
	UsesPrevResult bool
	// UsesConnectionID calls CONNECTION_ID(), which must answer the
	// client's proxy connection id, not a pooled backend's.
	UsesConnectionID bool
	// ReadsInTransaction reads @@in_transaction, which a connection that
	// has not seen the session's pending BEGIN answers wrongly.
	ReadsInTransaction bool
	// ReadsDiagnostics reads the previous statement's warnings or errors
	// (SHOW WARNINGS/ERRORS, @@warning_count, @@error_count).
	ReadsDiagnostics bool
	// HoldsConnState creates state that lives in the connection for longer
	// than the statement: named locks, sequence values (LASTVAL).
	HoldsConnState bool
	// AssignedUserVars lists user variables a statement assigns inside an
	// expression (@x := ...), lower-cased; the session carries their values.
	AssignedUserVars []string
	Locking          bool // FOR UPDATE, LOCK IN SHARE MODE, FOR SHARE
	CalcFoundRows    bool
	// ReadOnlyTxn is set for START TRANSACTION READ ONLY.
	ReadOnlyTxn bool
	// ConsistentSnapshot is set for START TRANSACTION WITH CONSISTENT
	// SNAPSHOT (the parser keeps no trace of it in the node).
	ConsistentSnapshot bool
	// ExplainExtended is set for MariaDB's EXPLAIN EXTENDED and EXPLAIN
	// PARTITIONS, which TiDB's grammar lacks: Node is the EXPLAIN without
	// the word, SQL the text as sent (see parseExplainExtended).
	ExplainExtended bool
	// AnalyzeStatement is set for MariaDB's ANALYZE [FORMAT=…] statement
	// (it runs the statement and reports the plan with what it read),
	// which TiDB's grammar lacks: Node is an EXPLAIN with Analyze set,
	// SQL the text as sent (see parseAnalyzeStatement). MySQL's EXPLAIN
	// ANALYZE, which MariaDB refuses as a syntax error, has Analyze set
	// and this false.
	AnalyzeStatement bool
	// IntoUserVars is set for SELECT … INTO @vars, which TiDB's grammar
	// lacks: Node is the SELECT without the clause, SQL the text as sent
	// (see parseSelectIntoVars). Text written from Node loses the clause.
	IntoUserVars bool
	// IntoVars are those variables (lower case), in order.
	IntoVars []string
	// IntoAtEnd: the clause ends the statement (MariaDB's deprecated
	// place, warning 1287), not before FROM.
	IntoAtEnd bool
	// LockAliases, for a LOCK TABLES whose tables carry aliases (which
	// TiDB's grammar lacks), holds each TableLocks entry's alias ("" for
	// none); see parseLockTables.
	LockAliases []string
	// Unparsed, when set, is why the parser could not read SQL (one
	// statement of a multi-statement query); Node is nil.
	Unparsed error
}

// Parser is not safe for concurrent use; keep one per goroutine or pool them.
type Parser struct {
	p    *tidb.Parser
	mode TextMode
}

// New returns a parser.
func New() *Parser { return &Parser{p: tidb.New()} }

// SetMode makes the parser read text as a server in mode m does:
// NO_BACKSLASH_ESCAPES, ANSI_QUOTES, PIPES_AS_CONCAT, IGNORE_SPACE,
// HIGH_NOT_PRECEDENCE, REAL_AS_FLOAT.
func (p *Parser) SetMode(m TextMode) {
	p.mode = m
	var mode tidbmysql.SQLMode
	set := func(flag tidbmysql.SQLMode, on bool) {
		if on {
			mode |= flag
		}
	}
	set(tidbmysql.ModeNoBackslashEscapes, m.NoBackslashEscapes)
	set(tidbmysql.ModeANSIQuotes, m.AnsiQuotes)
	set(tidbmysql.ModePipesAsConcat, m.PipesAsConcat)
	set(tidbmysql.ModeIgnoreSpace, m.IgnoreSpace)
	set(tidbmysql.ModeHighNotPrecedence, m.HighNotPrecedence)
	set(tidbmysql.ModeRealAsFloat, m.RealAsFloat)
	p.p.SetSQLMode(mode)
}

// Parse parses one COM_QUERY's text, which may hold several statements.
// Errors carry ER_PARSE_ERROR.
func (p *Parser) Parse(sql string) ([]*Statement, error) {
	stmts, _, err := p.parse(sql)
	return stmts, err
}

// parse is Parse, also returning the introducer swap the parser read (nil
// if none), whose offsets differ from sql's.
func (p *Parser) parse(sql string) ([]*Statement, *introducerSwap, error) {
	swap, err := swapIntroducers(sql, p.mode)
	if err != nil {
		return nil, nil, err
	}
	text := sql
	if swap != nil {
		text = swap.text
	}
	nodes, err := p.parseSQL(text)
	if err != nil {
		if st := p.parseSelectIntoVars(sql); st != nil {
			return []*Statement{st}, nil, nil
		}
		if st := p.parseWork(sql); st != nil {
			return []*Statement{st}, nil, nil
		}
		if st := p.parseExplainExtended(sql); st != nil {
			return []*Statement{st}, nil, nil
		}
		if st := p.parseAnalyzeStatement(sql); st != nil {
			return []*Statement{st}, nil, nil
		}
		if st := p.parseLockTables(sql); st != nil {
			return []*Statement{st}, nil, nil
		}
		msg := err.Error()
		if i := strings.Index(msg, "near "); i >= 0 {
			msg = "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use " + msg[i:]
		}
		return nil, nil, wire.Errorf(mysql.ER_PARSE_ERROR, "%s", msg)
	}
	stmts := make([]*Statement, 0, len(nodes))
	for _, n := range nodes {
		// One statement's text is the whole text. Text() is not asked for
		// it: TiDB builds it anew, lower-casing every byte, which for a
		// statement of 64 MiB (a large value inlined) costs seconds.
		text := sql
		if len(nodes) > 1 {
			text = n.Text()
		}
		if swap != nil {
			swap.restoreCharset(n)
			if len(nodes) > 1 {
				text = swap.original(sql, text)
			}
		}
		stmts = append(stmts, Classify(n, text))
	}
	return stmts, swap, nil
}

// parseSQL is TiDB's ParseSQL, with its panics turned into an error: the
// literal values it builds (test_driver) panic on some valid input, a
// decimal literal of more than 81 digits for one (main/func_math.test's
// crc32(4294967296567555…, 'a')), and the proxy must not drop the client's
// connection over a statement MariaDB answers. A statement the parser
// cannot read goes on as any other (passthrough, or 1235).
func (p *Parser) parseSQL(text string) (nodes []ast.StmtNode, err error) {
	defer func() {
		if r := recover(); r != nil {
			nodes, err = nil, fmt.Errorf("the parser gave up on this statement: %v", r)
		}
	}()
	nodes, _, err = p.p.ParseSQL(text)
	return nodes, err
}

// parseSelectIntoVars understands SELECT ... INTO @vars (which TiDB's
// grammar lacks: it knows only INTO OUTFILE) by parsing the statement
// without the INTO clause, found by its tokens (intoVarsClause); the
// original text is what runs.
func (p *Parser) parseSelectIntoVars(sql string) *Statement {
	start, end, names, ok := intoVarsClause(sql, p.mode)
	if !ok {
		return nil
	}
	// The clause becomes spaces, so that offsets into the parsed text (a
	// prepared statement's ? markers) are offsets into sql.
	nodes, err := p.parseSQL(sql[:start] + strings.Repeat(" ", end-start) + sql[end:])
	if err != nil || len(nodes) != 1 {
		return nil
	}
	if _, ok := nodes[0].(*ast.SelectStmt); !ok {
		return nil
	}
	st := Classify(nodes[0], sql)
	for _, name := range names {
		st.IntoVars = append(st.IntoVars, name)
		if !slices.Contains(st.AssignedUserVars, name) {
			st.AssignedUserVars = append(st.AssignedUserVars, name)
		}
	}
	rest := strings.TrimSpace(sql[skipSpace(sql, end):])
	st.IntoAtEnd = rest == "" || rest == ";"
	st.ReadOnly = false
	st.IntoUserVars = true
	return st
}

// work matches BEGIN WORK, COMMIT WORK and ROLLBACK WORK (with what may
// follow, such as AND NO CHAIN), which MariaDB accepts and TiDB's grammar
// does not.
var work = regexp.MustCompile(`(?is)^(\s*(?:BEGIN|COMMIT|ROLLBACK))\s+WORK\b(.*)$`)

// parseWork understands the statement without WORK; the original text is
// what runs.
func (p *Parser) parseWork(sql string) *Statement {
	m := work.FindStringSubmatch(sql)
	if m == nil {
		return nil
	}
	nodes, err := p.parseSQL(m[1] + m[2])
	if err != nil || len(nodes) != 1 {
		return nil
	}
	switch nodes[0].(type) {
	case *ast.BeginStmt, *ast.CommitStmt, *ast.RollbackStmt:
		return Classify(nodes[0], sql)
	}
	return nil
}

// explainExtended matches MariaDB's EXPLAIN EXTENDED … and EXPLAIN
// PARTITIONS … (DESCRIBE and DESC too), which TiDB's grammar does not
// know. A leading comment is left to the full parser (no match).
var explainExtended = regexp.MustCompile(`(?is)^\s*(?:EXPLAIN|DESCRIBE|DESC)\s+(EXTENDED|PARTITIONS)\b`)

// parseExplainExtended understands the statement without the word; the
// original text is what runs, so MariaDB still answers with its filtered
// or partitions column and its Note 1003. Found running MariaDB's
// mysqltest files through the proxy, where such statements with a
// qualified column (t1.a) were refused as unparsable passthrough text.
func (p *Parser) parseExplainExtended(sql string) *Statement {
	m := explainExtended.FindStringSubmatchIndex(sql)
	if m == nil {
		return nil
	}
	// The word becomes spaces, so that offsets into the parsed text (a
	// prepared statement's ? markers) are offsets into sql.
	nodes, err := p.parseSQL(sql[:m[2]] + strings.Repeat(" ", m[3]-m[2]) + sql[m[3]:])
	if err != nil || len(nodes) != 1 {
		return nil
	}
	e, ok := nodes[0].(*ast.ExplainStmt)
	if !ok || isShow(e.Stmt) || e.Analyze || e.Format != "" && !strings.EqualFold(e.Format, "row") {
		return nil
	}
	st := Classify(e, sql)
	st.ExplainExtended = true
	return st
}

// analyzeStatement finds MariaDB's ANALYZE [FORMAT=…] before a statement
// (not ANALYZE TABLE, which TiDB's grammar reads itself).
// Only reads: ANALYZE of a write runs the write, which must be routed
// and tracked as one (it stays unparsed, as before).
var analyzeStatement = regexp.MustCompile(`(?is)^\s*(ANALYZE)\s+(?:FORMAT\s*=\s*\w+\s+)?(?:(?:SELECT|WITH)\b|\()`)

// parseAnalyzeStatement understands ANALYZE stmt as EXPLAIN ANALYZE stmt:
// the word is replaced by EXPLAIN (as long, so that offsets into the
// parsed text are offsets into sql), and the EXPLAIN marked as analyzing.
func (p *Parser) parseAnalyzeStatement(sql string) *Statement {
	m := analyzeStatement.FindStringSubmatchIndex(sql)
	if m == nil {
		return nil
	}
	nodes, err := p.parseSQL(sql[:m[2]] + "EXPLAIN" + sql[m[3]:])
	if err != nil || len(nodes) != 1 {
		return nil
	}
	e, ok := nodes[0].(*ast.ExplainStmt)
	if !ok || isShow(e.Stmt) || e.Analyze {
		return nil
	}
	switch e.Stmt.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
	default:
		return nil
	}
	e.Analyze = true
	st := Classify(e, sql)
	st.AnalyzeStatement = true
	return st
}

// consistentSnapshot finds WITH CONSISTENT SNAPSHOT in a BEGIN's text
// (which holds no string literal to be fooled by).
var consistentSnapshot = regexp.MustCompile(`(?i)\bWITH\s+CONSISTENT\s+SNAPSHOT\b`)

// Classify works out what routing needs from a parsed statement.
func Classify(n ast.StmtNode, sql string) *Statement {
	s := &Statement{Node: n, SQL: sql}
	switch n := n.(type) {
	case *ast.SelectStmt:
		s.Kind = KindSelect
		s.ReadOnly = true
		if n.LockInfo != nil && n.LockInfo.LockType != ast.SelectLockNone {
			s.Locking = true
		}
		if n.SelectIntoOpt != nil {
			s.ReadOnly = false // writes a file on the server
		}
		if n.SelectStmtOpts != nil && n.SelectStmtOpts.CalcFoundRows {
			s.CalcFoundRows = true
		}
	case *ast.SetOprStmt:
		s.Kind = KindSelect
		s.ReadOnly = true
	case *ast.ShowStmt:
		s.Kind = KindShow
		s.ReadOnly = true
		s.ShowSchema = n.DBName
		if n.Tp == ast.ShowWarnings || n.Tp == ast.ShowErrors {
			// The diagnostics of the previous statement live in its
			// connection.
			s.UsesPrevResult, s.ReadsDiagnostics = true, true
		}
	case *ast.SetStmt:
		s.Kind = KindSet
	case *ast.UseStmt:
		s.Kind = KindUse
	case *ast.BeginStmt:
		s.Kind = KindBegin
		s.ReadOnlyTxn = n.ReadOnly
		s.ConsistentSnapshot = consistentSnapshot.MatchString(sql)
	case *ast.CommitStmt:
		s.Kind = KindCommit
	case *ast.RollbackStmt:
		s.Kind = KindRollback
		if n.SavepointName != "" {
			s.Kind = KindOther // ROLLBACK TO SAVEPOINT keeps the transaction open
		}
	case *ast.InsertStmt:
		s.Kind = KindInsert
	case *ast.UpdateStmt:
		s.Kind = KindUpdate
	case *ast.DeleteStmt:
		s.Kind = KindDelete
	case *ast.ExplainStmt:
		s.Kind = KindExplain
		switch n.Stmt.(type) {
		case *ast.SelectStmt, *ast.ShowStmt: // EXPLAIN SELECT, DESCRIBE t
			s.ReadOnly = !n.Analyze
		}
	case ast.DDLNode:
		s.Kind = KindDDL
	case *ast.PrepareStmt, *ast.ExecuteStmt, *ast.DeallocateStmt, *ast.CallStmt:
		// SQL-level prepared statements live in the connection, and what
		// EXECUTE or a procedure changes (autocommit, variables, an open
		// transaction) is invisible to the parser: the session keeps the
		// connection, which is reset before anyone else gets it.
		s.HoldsConnState = true
	}
	v := &visitor{stmt: s, seen: map[Table]bool{}}
	n.Accept(v)
	if s.UsesLastInsertID || s.UsesPrevResult || s.HoldsConnState || s.Locking || len(s.AssignedUserVars) > 0 {
		s.ReadOnly = false
	}
	return s
}

// prevResultFuncs read what the previous statement left in its connection.
var prevResultFuncs = map[string]bool{"found_rows": true, "row_count": true}

// diagnosticVars describe the previous statement of the connection.
var diagnosticVars = map[string]bool{"warning_count": true, "error_count": true}

// connStateFuncs create or read state that outlives the statement in one
// backend connection.
var connStateFuncs = map[string]bool{
	"get_lock": true, "release_lock": true, "release_all_locks": true, "is_used_lock": true, "is_free_lock": true,
	"nextval": true, "lastval": true, "setval": true,
}

type visitor struct {
	stmt *Statement
	seen map[Table]bool
	// scopes holds the common table expressions each statement or
	// subquery being visited defines: a name is a CTE only inside the
	// query whose WITH defines it (elsewhere it is a table, which the
	// statement reads and which decides where it goes), and, without
	// RECURSIVE, only after its own definition: MariaDB reads the name in
	// its own or an earlier CTE's query as the table (With_element's
	// barrier), as in WITH t AS (SELECT * FROM t WHERE …) SELECT * FROM t.
	scopes []map[string]bool
}

// withOf is the WITH clause of a node that can have one.
func withOf(n ast.Node) (*ast.WithClause, bool) {
	switch n := n.(type) {
	case *ast.SelectStmt:
		return n.With, true
	case *ast.SetOprStmt:
		return n.With, true
	case *ast.SetOprSelectList:
		return n.With, true
	case *ast.UpdateStmt:
		return n.With, true
	case *ast.DeleteStmt:
		return n.With, true
	}
	return nil, false
}

func (v *visitor) isCTE(name string) bool {
	for _, s := range v.scopes {
		if s[name] {
			return true
		}
	}
	return false
}

func (v *visitor) Enter(n ast.Node) (ast.Node, bool) {
	if with, ok := withOf(n); ok {
		names := map[string]bool{}
		if with != nil && with.IsRecursive {
			for _, cte := range with.CTEs {
				names[strings.ToLower(cte.Name.L)] = true
			}
		} // else each name joins once its definition is visited (Leave)
		v.scopes = append(v.scopes, names)
	}
	switch n := n.(type) {
	case *ast.TableName:
		t := Table{Schema: n.Schema.O, Name: n.Name.O}
		if t.Schema == "" && v.isCTE(n.Name.L) {
			break
		}
		if !v.seen[t] {
			v.seen[t] = true
			v.stmt.Tables = append(v.stmt.Tables, t)
		}
	case *ast.FuncCallExpr:
		name := n.FnName.L
		if name == "connection_id" {
			v.stmt.UsesConnectionID = true
		}
		if name == "last_insert_id" {
			v.stmt.UsesLastInsertID = true
		} else if prevResultFuncs[name] {
			v.stmt.UsesPrevResult = true
		} else if connStateFuncs[name] {
			v.stmt.HoldsConnState = true
		}
	case *ast.VariableExpr:
		if n.IsSystem && diagnosticVars[strings.ToLower(n.Name)] {
			v.stmt.UsesPrevResult, v.stmt.ReadsDiagnostics = true, true
		}
		if n.IsSystem && !n.IsGlobal && strings.EqualFold(n.Name, "in_transaction") {
			v.stmt.ReadsInTransaction = true
		}
		if !n.IsSystem && n.Value != nil {
			name := strings.ToLower(n.Name)
			if !slices.Contains(v.stmt.AssignedUserVars, name) {
				v.stmt.AssignedUserVars = append(v.stmt.AssignedUserVars, name)
			}
		}
	}
	return n, false
}

func (v *visitor) Leave(n ast.Node) (ast.Node, bool) {
	if _, ok := withOf(n); ok {
		v.scopes = v.scopes[:len(v.scopes)-1]
	}
	if cte, ok := n.(*ast.CommonTableExpression); ok && len(v.scopes) > 0 {
		// The WITH's own statement is the innermost scope again: the
		// CTE's query (and any scope of its own) has been left.
		v.scopes[len(v.scopes)-1][strings.ToLower(cte.Name.L)] = true
	}
	return n, true
}
