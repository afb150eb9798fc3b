package planner

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// What a statement's own conditions say about the information_schema rows
// it can use, so that only those are gathered (see gatherSQL).

// isFilter narrows what is gathered of one table: the databases and the
// table names a statement can use, nil for any.
type isFilter struct {
	schemas, names []string
}

// pushdown finds, for each gathered table a statement reads, what its
// WHERE clauses limit the rows to: TABLE_SCHEMA = 'x' (or = DATABASE(), or
// IN ('x', …)) and TABLE_NAME likewise, as conjuncts of the WHERE clause
// of the SELECT whose FROM names the table. A table read anywhere without
// such limits is gathered whole; the statement still applies every
// condition itself, so this only spares reading what cannot match.
func pushdown(n ast.Node, db string, tables map[string]bool) map[string]*isFilter {
	out := map[string]*isFilter{}
	whole := map[string]bool{}
	var stack []*ast.SelectStmt
	n.Accept(&enterLeave{
		enter: func(x ast.Node) {
			switch x := x.(type) {
			case *ast.SelectStmt:
				stack = append(stack, x)
			case *ast.TableSource:
				tn, ok := x.Source.(*ast.TableName)
				if !ok {
					return
				}
				schema := tn.Schema.O
				if schema == "" {
					schema = db
				}
				upper := strings.ToUpper(tn.Name.O)
				if !strings.EqualFold(schema, "information_schema") || !tables[upper] {
					return
				}
				var f *isFilter
				if len(stack) > 0 {
					f = refFilter(stack[len(stack)-1], x, tn, gatheredTables[upper], db)
				}
				if f == nil {
					whole[upper] = true
					return
				}
				have := out[upper]
				if have == nil {
					out[upper] = f
					return
				}
				have.schemas = unionOrAny(have.schemas, f.schemas)
				have.names = unionOrAny(have.names, f.names)
			}
		},
		leave: func(x ast.Node) {
			if _, ok := x.(*ast.SelectStmt); ok && len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		},
	})
	for t := range whole {
		delete(out, t)
	}
	return out
}

// unionOrAny is a ∪ b, where nil (any) absorbs everything.
func unionOrAny(a, b []string) []string {
	if a == nil || b == nil {
		return nil
	}
	return dedupe(append(append([]string(nil), a...), b...))
}

// refFilter reads the limits sel's WHERE clause puts on one of its table
// references: nil when there are none.
func refFilter(sel *ast.SelectStmt, ts *ast.TableSource, tn *ast.TableName, spec isSpec, db string) *isFilter {
	if sel.Where == nil || sel.From == nil {
		return nil
	}
	alias := ts.AsName.O
	if alias == "" {
		alias = tn.Name.O
	}
	alone := countSources(sel.From.TableRefs) == 1
	ours := func(c *ast.ColumnName) bool {
		if c.Table.O == "" {
			return alone
		}
		return strings.EqualFold(c.Table.O, alias) && (c.Schema.O == "" || strings.EqualFold(c.Schema.O, "information_schema"))
	}
	f := &isFilter{}
	found := false
	for _, e := range conjuncts(sel.Where) {
		col, values, ok := equality(e, db)
		if !ok || !ours(col) {
			continue
		}
		switch {
		case strings.EqualFold(col.Name.O, spec.schemaCol):
			f.schemas, found = intersectOr(f.schemas, values), true
		case spec.tableCol != "" && strings.EqualFold(col.Name.O, spec.tableCol):
			f.names, found = intersectOr(f.names, values), true
		}
	}
	if !found {
		return nil
	}
	return f
}

// intersectOr is a ∩ b (case-insensitive), b when a is nil (not yet
// limited); never nil once limited, so an empty result stays "nothing".
func intersectOr(a, b []string) []string {
	if a == nil {
		return b
	}
	if out := keepFold(a, b); out != nil {
		return out
	}
	return []string{}
}

// conjuncts splits e at its top-level ANDs.
func conjuncts(e ast.ExprNode) []ast.ExprNode {
	switch x := e.(type) {
	case *ast.ParenthesesExpr:
		return conjuncts(x.Expr)
	case *ast.BinaryOperationExpr:
		if x.Op == opcode.LogicAnd {
			return append(conjuncts(x.L), conjuncts(x.R)...)
		}
	}
	return []ast.ExprNode{e}
}

// equality reads column = 'text', 'text' = column, column = DATABASE()
// and column IN ('a', 'b'): the column and the strings it may equal.
func equality(e ast.ExprNode, db string) (*ast.ColumnName, []string, bool) {
	value := func(v ast.ExprNode) (string, bool) {
		switch x := v.(type) {
		case *driver.ValueExpr:
			s, ok := x.GetValue().(string)
			return s, ok
		case *ast.FuncCallExpr:
			if (x.FnName.L == "database" || x.FnName.L == "schema") && len(x.Args) == 0 && db != "" {
				return db, true
			}
		}
		return "", false
	}
	switch x := e.(type) {
	case *ast.BinaryOperationExpr:
		if x.Op != opcode.EQ {
			return nil, nil, false
		}
		if c, ok := x.L.(*ast.ColumnNameExpr); ok {
			if v, ok := value(x.R); ok {
				return c.Name, []string{v}, true
			}
		}
		if c, ok := x.R.(*ast.ColumnNameExpr); ok {
			if v, ok := value(x.L); ok {
				return c.Name, []string{v}, true
			}
		}
	case *ast.PatternInExpr:
		c, ok := x.Expr.(*ast.ColumnNameExpr)
		if !ok || x.Not || x.Sel != nil {
			return nil, nil, false
		}
		var values []string
		for _, item := range x.List {
			v, ok := value(item)
			if !ok {
				return nil, nil, false
			}
			values = append(values, v)
		}
		return c.Name, values, true
	}
	return nil, nil, false
}

// countSources counts the table references of a FROM clause, derived
// tables included, without looking inside them.
func countSources(j *ast.Join) int {
	if j == nil {
		return 0
	}
	count := func(r ast.ResultSetNode) int {
		switch x := r.(type) {
		case *ast.Join:
			return countSources(x)
		case *ast.TableSource:
			if inner, ok := x.Source.(*ast.Join); ok {
				return countSources(inner)
			}
			return 1
		case nil:
			return 0
		}
		return 1
	}
	return count(j.Left) + count(j.Right)
}

// enterLeave is a visitor with both hooks.
type enterLeave struct {
	enter, leave func(ast.Node)
}

func (v *enterLeave) Enter(n ast.Node) (ast.Node, bool) { v.enter(n); return n, false }
func (v *enterLeave) Leave(n ast.Node) (ast.Node, bool) { v.leave(n); return n, true }

// keepFold keeps the names that equal one of want, ignoring case (as
// information_schema compares them).
func keepFold(names []string, want []string) []string {
	var out []string
	for _, n := range names {
		for _, w := range want {
			if strings.EqualFold(n, w) {
				out = append(out, n)
				break
			}
		}
	}
	return out
}
