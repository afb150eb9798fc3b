package planner

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/tabledef"
	"github.com/shardgate/shardgate/wire"
)

// Uncorrelated subqueries run first. A SELECT the planner cannot route
// whole because a subquery reads tables elsewhere (`WHERE user_id IN
// (SELECT id FROM users WHERE vip)` with comments sharded and users on
// another cluster, or a subquery over a sharded table beside an unsharded
// one) is answered in two steps, as MariaDB itself evaluates such a
// subquery once: the session runs each subquery as a statement of its own
// (in its transaction, if it has one), and the statement is planned again
// with the values in the subquery's place, where they also prune shards.
// Planning takes two calls because the values come from the backends:
// SubqueriesFirst says what to run, SubqueryRewrite.SQL writes the
// statement with the answers.
//
// Only subqueries whose every qualified column names one of their own
// tables are run first; a name they leave unqualified is one of their own
// tables' columns whenever the subquery runs alone at all (MariaDB binds a
// name to the innermost table that has it), and a subquery that fails
// with 1054 alone is one correlated through such a name, which stays
// refused. Subqueries in the select list (whose text names the column),
// `= ANY`/`ALL` comparisons, row subqueries and locking reads are left as
// they are.

// MaxSubqueryRows is how many rows a subquery run first may return: their
// values are written into the statement in its place.
const MaxSubqueryRows = 10000

// SubqueryKind is how a subquery run first is used.
type SubqueryKind int

const (
	SubqueryIn     SubqueryKind = iota // x [NOT] IN (SELECT …)
	SubqueryExists                     // [NOT] EXISTS (SELECT …)
	SubqueryScalar                     // (SELECT …) as a value
)

// FirstSubquery is one subquery the session runs before the statement
// holding it.
type FirstSubquery struct {
	// Stmt is the subquery as a statement of its own.
	Stmt *parser.Statement
	Kind SubqueryKind
	not  bool   // NOT IN, NOT EXISTS
	x    string // IN's left operand, as SQL text
	// params counts the subquery's ? placeholders (a prepared statement's).
	params int
	// column, for a subquery that is a whole field of the statement's
	// select list, is that field's place among the result's columns:
	// from the first when it is 0 or more, from the last when negative
	// (-1 the last one). Its value is written there as a literal, whose
	// column definition the server describes, so the result's definition
	// is set back to the subquery's (see SelectListColumns). noColumn
	// for every other subquery.
	column int
}

// noColumn: the subquery is not a whole field of the select list.
const noColumn = math.MinInt

// SubqueryRewrite is a statement with its subqueries taken out.
type SubqueryRewrite struct {
	Subs []FirstSubquery
	text string // the statement, each subquery a marker literal
	mode parser.TextMode
	hint string // the statement's routing hint comment, see KeepHint
	// outer are the tables the statement names outside the subqueries,
	// with the definitions known of them (see OuterMayHave).
	outer []*ast.TableName
	db    string
	defs  tabledef.Source
}

// OuterMayHave reports whether a table the statement names around its
// subqueries may have column name: a subquery that fails alone with 1054
// for it may then be correlated through it. false only when every such
// table's columns are known and none has it: the 1054 is the statement's
// own, as MariaDB gives it (a misspelt column, not a correlation).
func (r *SubqueryRewrite) OuterMayHave(name string) bool {
	if r.defs == nil {
		return true
	}
	for _, t := range r.outer {
		schema := t.Schema.O
		if schema == "" {
			schema = r.db
		}
		cols, ok := r.defs.Columns(schema, t.Name.O)
		if !ok || tabledef.Index(cols, name) >= 0 {
			return true
		}
	}
	return false
}

// KeepHint gives the subqueries and the rewritten statement the routing
// hint sql, the statement's text, starts with (/* shardgate:primary */):
// they are texts of the proxy's own, without the client's comments, and
// a read the client sent to the primary (to see its own writes) must not
// read a replica for its subqueries or itself.
func (r *SubqueryRewrite) KeepHint(sql string) {
	h := routingHint(sql)
	if h == "" {
		return
	}
	r.hint = "/* shardgate:" + h + " */ "
	for i, s := range r.Subs {
		st := *s.Stmt
		st.SQL = r.hint + st.SQL
		r.Subs[i].Stmt = &st
	}
}

// subqueryMarker stands for subquery i in the rewritten text.
func subqueryMarker(i int) string { return fmt.Sprintf("__shardgate_subquery_%d__", i) }

// SubqueriesFirst takes the subqueries that can run first out of n, a
// SELECT's tree of its own (it is rewritten in place). nil: it has none.
func (pl *Planner) SubqueriesFirst(n ast.StmtNode, f Facts) (*SubqueryRewrite, error) {
	switch x := n.(type) {
	case *ast.SelectStmt:
		if x.LockInfo != nil && x.LockInfo.LockType != ast.SelectLockNone {
			return nil, nil
		}
	case *ast.SetOprStmt:
	default:
		return nil, nil
	}
	if locks(n) {
		return nil, nil
	}
	// The statement is written again from its tree, which would name its
	// computed columns anew (COUNT(*) as COUNT(1)): they keep the names
	// MariaDB gives them, their text as written.
	switch x := n.(type) {
	case *ast.SelectStmt:
		keepColumnNames(x)
	case *ast.SetOprStmt:
		if x.SelectList != nil {
			for _, part := range x.SelectList.Selects {
				if sel, ok := part.(*ast.SelectStmt); ok {
					keepColumnNames(sel)
				}
			}
		}
	}
	v := &subqueryFinder{f: f, replace: map[ast.Node]ast.ExprNode{}, ctes: cteNames(n), cteBodies: map[*ast.SubqueryExpr]bool{}}
	if sel, ok := n.(*ast.SelectStmt); ok {
		v.fieldColumns = fieldSubqueries(sel)
	}
	out, _ := n.Accept(v)
	if v.err != nil || len(v.subs) == 0 {
		return nil, v.err
	}
	text, err := parser.RestoreIn(out, f.Text)
	if err != nil {
		return nil, err
	}
	for i := range v.subs {
		// The client's own text could hold a marker's spelling: then the
		// rewrite is not done (the planner's refusal stands).
		if strings.Count(text, parser.StringLiteral([]byte(subqueryMarker(i)), f.Text)) != 1 {
			return nil, nil
		}
	}
	return &SubqueryRewrite{Subs: v.subs, text: text, mode: f.Text, outer: v.outer, db: f.DB, defs: f.Defs}, nil
}

// fieldSubqueries finds the uncorrelated-looking scalar subqueries that
// are whole fields of a SELECT's own select list ((SELECT MAX(level) FROM
// users) AS top), with the place of each field's column in the result:
// counted from the first column when no wildcard comes before it, from
// the last when none comes after, and not at all when wildcards lie on
// both sides (their width is the tables'). A field needs the name the
// server gives it kept as an alias (keepColumnNames): written again, the
// literal in its place would be named otherwise. A subquery inside an
// expression (`(SELECT …) + 1`) stays in place: the literal's type would
// decide the expression's, where the subquery's does on one server.
func fieldSubqueries(sel *ast.SelectStmt) map[*ast.SubqueryExpr]int {
	if sel.Fields == nil {
		return nil
	}
	fields := sel.Fields.Fields
	wildcardBefore := make([]bool, len(fields)+1)
	for i, f := range fields {
		wildcardBefore[i+1] = wildcardBefore[i] || f.WildCard != nil
	}
	out := map[*ast.SubqueryExpr]int{}
	for i, f := range fields {
		if f.WildCard != nil || f.AsName.O == "" {
			continue
		}
		sub, ok := unparen(f.Expr).(*ast.SubqueryExpr)
		if !ok {
			continue
		}
		switch {
		case !wildcardBefore[i]:
			out[sub] = i
		case !wildcardAfter(fields, i):
			out[sub] = i - len(fields) // -1 for the last field
		}
	}
	return out
}

// wildcardAfter: a field after fields[i] is a wildcard.
func wildcardAfter(fields []*ast.SelectField, i int) bool {
	for _, f := range fields[i+1:] {
		if f.WildCard != nil {
			return true
		}
	}
	return false
}

// unparen strips the parentheses around e.
func unparen(e ast.ExprNode) ast.ExprNode {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// locks reports a locking read anywhere in n: the rows a subquery reads
// under FOR UPDATE or LOCK IN SHARE MODE are locked by MariaDB, which a
// read run first would not do.
func locks(n ast.Node) bool {
	found := false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		if s, ok := x.(*ast.SelectStmt); ok && s.LockInfo != nil && s.LockInfo.LockType != ast.SelectLockNone {
			found = true
		}
		return !found
	}})
	return found
}

// cteNames lists the names of the common table expressions n defines
// anywhere: a subquery naming one reads the CTE of the statement around
// it, which it would not find run alone (or would find a table of that
// name instead).
func cteNames(n ast.Node) map[string]bool {
	names := map[string]bool{}
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		if c, ok := x.(*ast.CommonTableExpression); ok {
			names[c.Name.L] = true
		}
		return true
	}})
	return names
}

// subqueryFinder replaces the subqueries that can run first with markers.
type subqueryFinder struct {
	f      Facts
	fields int // depth inside select fields
	// fieldColumns are the subqueries that are whole fields of the
	// statement's select list, with their columns (fieldSubqueries).
	fieldColumns map[*ast.SubqueryExpr]int
	subs         []FirstSubquery
	replace      map[ast.Node]ast.ExprNode
	err          error
	// ctes are the statement's CTE names; cteBodies the queries that
	// define them, which are no subqueries of their own (their node's
	// place in the tree takes nothing but a subquery).
	ctes      map[string]bool
	cteBodies map[*ast.SubqueryExpr]bool
	outer     []*ast.TableName // named outside the subqueries taken out
}

func (v *subqueryFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.SelectField:
		v.fields++
	case *ast.TableName:
		v.outer = append(v.outer, x)
	case *ast.CommonTableExpression:
		v.cteBodies[x.Query] = true
	case *ast.ByItem:
		if _, sub := x.Expr.(*ast.SubqueryExpr); sub {
			// ORDER BY (SELECT 2 …) orders by a constant; ORDER BY (2), its
			// value in its place, by the second column (MariaDB reads a
			// parenthesized integer there as a position), and GROUP BY
			// alike.
			return n, true
		}
	case *ast.BinaryOperationExpr:
		if isRow(x.L) || isRow(x.R) {
			// A row compared with a row subquery: the subquery is no
			// scalar value.
			return n, true
		}
	case *ast.PatternInExpr:
		if sub, ok := x.Sel.(*ast.SubqueryExpr); ok {
			// MariaDB refuses LIMIT in an IN subquery (1235): run first,
			// its rows would be an answer where MariaDB gives none.
			if !isRow(x.Expr) && !hasLimit(sub.Query) {
				v.consider(x, sub, FirstSubquery{Kind: SubqueryIn, not: x.Not, column: noColumn}, x.Expr)
			}
			return n, true
		}
	case *ast.ExistsSubqueryExpr:
		if sub, ok := x.Sel.(*ast.SubqueryExpr); ok {
			v.consider(x, sub, FirstSubquery{Kind: SubqueryExists, not: x.Not, column: noColumn}, nil)
		}
		return n, true
	case *ast.CompareSubqueryExpr:
		return n, true
	case *ast.SubqueryExpr:
		if v.cteBodies[x] {
			return n, false // a CTE's query: its own subqueries may run first
		}
		fs := FirstSubquery{Kind: SubqueryScalar, column: noColumn}
		if col, ok := v.fieldColumns[x]; ok && v.fields == 1 {
			fs.column = col
		}
		v.consider(x, x, fs, nil)
		return n, true
	}
	return n, false
}

// isRow: e is a row constructor, (a, b) or ROW(a, b).
func isRow(e ast.ExprNode) bool {
	_, ok := e.(*ast.RowExpr)
	return ok
}

// hasLimit: a subquery's own query has a LIMIT.
func hasLimit(q ast.ResultSetNode) bool {
	switch x := q.(type) {
	case *ast.SelectStmt:
		return x.Limit != nil
	case *ast.SetOprStmt:
		return x.Limit != nil
	}
	return false
}

func (v *subqueryFinder) Leave(n ast.Node) (ast.Node, bool) {
	if _, ok := n.(*ast.SelectField); ok {
		v.fields--
	}
	if m, ok := v.replace[n]; ok {
		return m, true
	}
	return n, true
}

// consider takes sub out of the statement when it can run first: node is
// what its marker replaces, x the left operand of IN.
func (v *subqueryFinder) consider(node ast.Node, sub *ast.SubqueryExpr, fs FirstSubquery, x ast.ExprNode) {
	if (v.fields > 0 && fs.column == noColumn) || v.err != nil || !runsAlone(sub.Query, v.f.DB, v.ctes) {
		return
	}
	text, err := parser.RestoreIn(sub.Query, v.f.Text)
	if err != nil {
		v.err = err
		return
	}
	if x != nil {
		if fs.x, err = parser.RestoreIn(x, v.f.Text); err != nil {
			v.err = err
			return
		}
	}
	stmt, ok := sub.Query.(ast.StmtNode)
	if !ok {
		return
	}
	fs.Stmt = parser.Classify(stmt, text)
	sub.Query.Accept(&visitFn{fn: func(x ast.Node) bool {
		if _, ok := x.(ast.ParamMarkerExpr); ok {
			fs.params++
		}
		return true
	}})
	v.replace[node] = ast.NewValueExpr(subqueryMarker(len(v.subs)), "", "")
	v.subs = append(v.subs, fs)
}

// runsAlone reports a subquery that means the same run as a statement of
// its own: it reads tables (none of the servers' own schemas), names no
// CTE of the statement around it (ctes: every CTE name the statement
// defines) and every qualified column in it names one of its own tables
// or aliases.
func runsAlone(q ast.Node, db string, ctes map[string]bool) bool {
	own := map[string]bool{}
	defined := cteNames(q)
	tables := 0
	ok := true
	q.Accept(&visitFn{fn: func(x ast.Node) bool {
		switch t := x.(type) {
		case *ast.TableName:
			schema := t.Schema.O
			if schema == "" {
				schema = db
				if ctes[t.Name.L] && !defined[t.Name.L] {
					ok = false
				}
			}
			if IsSystemSchema(schema) {
				ok = false
			}
			own[t.Name.L] = true
			tables++
		case *ast.TableSource:
			if t.AsName.L != "" {
				own[t.AsName.L] = true
			}
		case *ast.CommonTableExpression:
			own[t.Name.L] = true
		}
		return ok
	}})
	if !ok || tables == 0 {
		return false
	}
	q.Accept(&visitFn{fn: func(x ast.Node) bool {
		if c, isCol := x.(*ast.ColumnNameExpr); isCol && c.Name.Table.L != "" && !own[c.Name.Table.L] {
			ok = false
		}
		return ok
	}})
	return ok
}

// Template is the statement with subquery i written as {i}, for EXPLAIN.
func (r *SubqueryRewrite) Template() string {
	places := make([]string, len(r.Subs))
	for i, s := range r.Subs {
		place := fmt.Sprintf("{subquery %d}", i)
		not := ""
		if s.not {
			not = "NOT "
		}
		switch s.Kind {
		case SubqueryIn:
			place = "(" + s.x + " " + not + "IN " + place + ")"
		case SubqueryExists:
			place = not + "EXISTS " + place
		}
		places[i] = place
	}
	return r.fill(places)
}

// fill writes the statement with places[i] in the place of subquery i's
// marker. The markers are found in the statement's own text first, then
// replaced in one pass: a value written for one subquery can hold another
// marker's spelling (a string the subquery returned), which must stay the
// value it is.
func (r *SubqueryRewrite) fill(places []string) string {
	type spot struct{ at, end, i int }
	spots := make([]spot, len(places))
	for i := range places {
		marker := parser.StringLiteral([]byte(subqueryMarker(i)), r.mode)
		at := strings.Index(r.text, marker) // exactly once: SubqueriesFirst checked
		spots[i] = spot{at, at + len(marker), i}
	}
	slices.SortFunc(spots, func(a, b spot) int { return a.at - b.at })
	var b strings.Builder
	last := 0
	for _, sp := range spots {
		b.WriteString(r.text[last:sp.at])
		b.WriteString(places[sp.i])
		last = sp.end
	}
	b.WriteString(r.text[last:])
	return b.String()
}

// TooMany is the refusal of subquery i returning more than MaxSubqueryRows.
func (r *SubqueryRewrite) TooMany(i int) error {
	return notSupported("a subquery over tables the statement cannot read together with the rest (%s) returns more than %d rows, the most the proxy writes into the statement in its place; narrow it or join the tables instead",
		r.Subs[i].Stmt.SQL, MaxSubqueryRows)
}

// Correlated is the refusal of subquery i that failed alone with 1054
// (ER_BAD_FIELD_ERROR): it names a column of the statement around it.
func (r *SubqueryRewrite) Correlated(i int, err error) error {
	return notSupported("the subquery %s names a column its own tables lack (%v): a subquery correlated with the statement around it, over tables the statement cannot read together with the rest, is not supported by this version",
		r.Subs[i].Stmt.SQL, err)
}

// SQL writes the statement with answers[i], subquery i's result, in its
// place. Errors are MariaDB's for the answer's shape: a subquery of
// several columns used as a value (1241), several rows for a scalar one
// (1242).
// MetadataText is the statement for COM_STMT_PREPARE to describe on one
// server: each subquery replaced with a NULL that keeps its ? placeholders
// (the server counts them; their descriptions are the same dummy ones),
// so that only the statement's own tables are named. A subquery that is
// a whole field of the select list is described as that NULL's column
// (type NULL): its type is only known once it has run (docs/reads.md).
func (r *SubqueryRewrite) MetadataText() string {
	places := make([]string, len(r.Subs))
	for i, s := range r.Subs {
		null := "NULL" + strings.Repeat(" AND ?", s.params)
		if s.Kind == SubqueryIn {
			places[i] = "(" + s.x + " IN (" + null + "))"
		} else {
			places[i] = "(" + null + ")"
		}
	}
	return r.hint + r.fill(places)
}

func (r *SubqueryRewrite) SQL(answers []*engine.Collected) (string, error) {
	places := make([]string, len(r.Subs))
	for i, s := range r.Subs {
		a := answers[i]
		if s.Kind != SubqueryExists && len(a.Columns) != 1 {
			return "", wire.Errorf(mysql.ER_OPERAND_COLUMNS, "Operand should contain 1 column(s)")
		}
		if s.Kind != SubqueryExists && s.column == noColumn && a.Columns[0].Type == mysql.MYSQL_TYPE_FLOAT && len(a.Rows) > 0 {
			// MariaDB prints a FLOAT with 6 significant digits, and the
			// printed 0.1 is not the stored 0.100000001490116…: written in
			// the subquery's place, float_col IN (0.1) matches nothing.
			return "", notSupported("a subquery over tables the statement cannot read together with the rest (%s) returns FLOAT values, whose printed digits are not the values MariaDB compares; CAST them to DOUBLE or DECIMAL", s.Stmt.SQL)
		}
		var value string
		switch s.Kind {
		case SubqueryExists:
			value = "0"
			if (len(a.Rows) > 0) != s.not {
				value = "1"
			}
		case SubqueryScalar:
			switch len(a.Rows) {
			case 0:
				value = "NULL"
			case 1:
				value = "(" + parser.ResultValueLiteral(a.Columns[0], a.Rows[0][0], r.mode) + ")"
			default:
				return "", wire.Errorf(mysql.ER_SUBQUERY_NO_1_ROW, "Subquery returns more than 1 row")
			}
		case SubqueryIn:
			if len(a.Rows) == 0 {
				// IN over no rows is false and NOT IN true, whatever the
				// left side (NULL included).
				value = "(0 = 1)"
				if s.not {
					value = "(1 = 1)"
				}
				break
			}
			var b strings.Builder
			b.WriteString("(" + s.x)
			if s.not {
				b.WriteString(" NOT")
			}
			b.WriteString(" IN (")
			for j, row := range a.Rows {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString(parser.ResultValueLiteral(a.Columns[0], row[0], r.mode))
			}
			b.WriteString("))")
			value = b.String()
		}
		places[i] = value
	}
	return r.hint + r.fill(places), nil
}

// SelectListColumns are the column definitions of the subqueries that are
// whole fields of the select list, for engine.Retype to put in place of
// the literals' that the server describes: the subquery's own column as
// MariaDB describes a scalar subquery's (subqueryColumn), named by the
// server's column (the field's alias). Those it cannot describe as
// MariaDB does are refused, before the statement runs.
func (r *SubqueryRewrite) SelectListColumns(answers []*engine.Collected) ([]engine.RetypedColumn, error) {
	var out []engine.RetypedColumn
	for i, s := range r.Subs {
		if s.column == noColumn || len(answers[i].Columns) != 1 {
			continue
		}
		c, ok := subqueryColumn(answers[i].Columns[0])
		if !ok {
			return nil, notSupported("the subquery %s in the select list returns a column of a type (%s) whose description as a subquery's this version does not reproduce; select it in a statement of its own",
				s.Stmt.SQL, typeName(answers[i].Columns[0]))
		}
		out = append(out, engine.RetypedColumn{Index: s.column, Def: c})
	}
	return out, nil
}

// subqueryColumn is how MariaDB describes a scalar subquery whose one
// column is c: no schema, table or original names; the type, character
// set, length and decimals of c, except that character types always say
// 39 decimals (NOT_FIXED_DEC); of c's flags only UNSIGNED, and BINARY for
// every column of the binary character set (numbers and temporal types
// included). Types where MariaDB's description differs in ways not
// written down here (ENUM and SET become VARCHAR, TEXT lengths grow,
// JSON becomes LONGBLOB, ZEROFILL is dropped while its padding may stay,
// a BIT's text is its number's digits) are not described: false.
func subqueryColumn(c wire.Column) (wire.Column, bool) {
	switch c.Type {
	case mysql.MYSQL_TYPE_TINY_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB, mysql.MYSQL_TYPE_LONG_BLOB, mysql.MYSQL_TYPE_BLOB,
		mysql.MYSQL_TYPE_JSON, mysql.MYSQL_TYPE_GEOMETRY, mysql.MYSQL_TYPE_ENUM, mysql.MYSQL_TYPE_SET, mysql.MYSQL_TYPE_NULL,
		mysql.MYSQL_TYPE_BIT:
		return wire.Column{}, false
	}
	if c.Flags&(mysql.ENUM_FLAG|mysql.SET_FLAG) != 0 || (c.Flags&mysql.ZEROFILL_FLAG != 0 && c.Type != mysql.MYSQL_TYPE_YEAR) {
		return wire.Column{}, false
	}
	out := wire.Column{Charset: c.Charset, Length: c.Length, Type: c.Type, Decimals: c.Decimals, Flags: c.Flags & mysql.UNSIGNED_FLAG}
	if c.Charset == 63 {
		out.Flags |= mysql.BINARY_FLAG
	}
	switch c.Type {
	case mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_STRING:
		out.Decimals = 39
	}
	return out, true
}

// typeName names a column's type for a refusal.
func typeName(c wire.Column) string {
	switch {
	case c.Flags&mysql.ENUM_FLAG != 0:
		return "ENUM"
	case c.Flags&mysql.SET_FLAG != 0:
		return "SET"
	case c.Flags&mysql.ZEROFILL_FLAG != 0:
		return "ZEROFILL"
	}
	switch c.Type {
	case mysql.MYSQL_TYPE_TINY_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB, mysql.MYSQL_TYPE_LONG_BLOB, mysql.MYSQL_TYPE_BLOB:
		if c.Charset == 63 {
			return "BLOB"
		}
		return "TEXT"
	case mysql.MYSQL_TYPE_JSON:
		return "JSON"
	case mysql.MYSQL_TYPE_GEOMETRY:
		return "GEOMETRY"
	case mysql.MYSQL_TYPE_NULL:
		return "NULL"
	case mysql.MYSQL_TYPE_BIT:
		return "BIT"
	}
	return fmt.Sprintf("MYSQL_TYPE %d", c.Type)
}

// FieldSubquery is a subquery that is a whole field of a statement's
// select list and runs first: COM_STMT_PREPARE describes its column by
// the subquery's own description (SubqueryColumn), where the statement
// prepared without it (MetadataText) says NULL.
type FieldSubquery struct {
	// Column is the field's place among the result's columns, as
	// engine.RetypedColumn.Index counts it.
	Column int
	Stmt   *parser.Statement
}

// FieldSubqueries lists the select-list subqueries of st that run first:
// none unless the statement cannot be planned as it is (it then runs its
// subqueries first, and is described without them).
func (pl *Planner) FieldSubqueries(st *parser.Statement, f Facts) []FieldSubquery {
	// Most statements have no subquery for a field: they are not planned
	// again to find out.
	sel, ok := st.Node.(*ast.SelectStmt)
	if !ok || sel.Fields == nil || !slices.ContainsFunc(sel.Fields.Fields, func(fld *ast.SelectField) bool {
		_, sub := unparen(fld.Expr).(*ast.SubqueryExpr)
		return fld.Expr != nil && sub
	}) {
		return nil
	}
	if _, err := pl.plan(st, f); err == nil || !isNotSupported(err) {
		return nil
	}
	p := parser.New()
	p.SetMode(f.Text)
	fresh, err := p.Parse(st.SQL)
	if err != nil || len(fresh) != 1 {
		return nil
	}
	rw, err := pl.SubqueriesFirst(fresh[0].Node, f)
	if err != nil || rw == nil {
		return nil
	}
	var out []FieldSubquery
	for _, s := range rw.Subs {
		if s.column != noColumn {
			out = append(out, FieldSubquery{Column: s.column, Stmt: s.Stmt})
		}
	}
	return out
}

// SubqueryColumn is subqueryColumn for COM_STMT_PREPARE's description.
func SubqueryColumn(c wire.Column) (wire.Column, bool) { return subqueryColumn(c) }
