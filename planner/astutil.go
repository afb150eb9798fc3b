package planner

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// keepColumnNames names every computed select field by its text as written,
// since MySQL names result columns that way and the SQL sent to a shard is
// re-rendered (COUNT(*) would come back as COUNT(1), a + b as a+b).
func keepColumnNames(sel *ast.SelectStmt) {
	if sel.Fields == nil {
		return
	}
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil || f.AsName.O != "" || f.Expr == nil {
			continue
		}
		if _, plain := f.Expr.(*ast.ColumnNameExpr); plain {
			continue
		}
		if isStringConst(f.Expr) {
			// MariaDB names the column by the string's value ('k' is k),
			// as the shard does from the constant re-rendered.
			continue
		}
		// MySQL limits aliases to 256 characters; longer names stay as the
		// server derives them.
		if text := strings.TrimSpace(f.Text()); text != "" && len(text) <= 256 {
			f.AsName = ast.NewCIStr(text)
		}
	}
}

func isLoneDistinctAggregate(sel *ast.SelectStmt) bool {
	if len(sel.Fields.Fields) != 1 || sel.GroupBy != nil {
		return false
	}
	a, ok := sel.Fields.Fields[0].Expr.(*ast.AggregateFuncExpr)
	return ok && a.Distinct && !strings.EqualFold(a.F, ast.AggFuncGroupConcat)
}

type visitFn struct{ fn func(ast.Node) bool }

func (v *visitFn) Enter(n ast.Node) (ast.Node, bool) { return n, !v.fn(n) }
func (v *visitFn) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// aliasOf finds the alias of a sharded table in a statement: of its first
// mention, in statement order, so that a plan does not depend on map order
// when the table is named twice (a self-join on the shard key).
func aliasOf(n ast.Node, ref tableRef) string {
	alias, found := "", false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		if ts, ok := x.(*ast.TableSource); ok && !found {
			if tn, ok := ts.Source.(*ast.TableName); ok && strings.EqualFold(tn.Name.O, ref.name) {
				alias, found = ts.AsName.O, true
			}
		}
		return !found
	}})
	return alias
}

// hasSubquery reports subqueries and derived tables.
func hasSubquery(n ast.Node) bool {
	found := false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		switch x := x.(type) {
		case *ast.SubqueryExpr:
			found = true
		case *ast.TableSource:
			if _, ok := x.Source.(*ast.TableName); !ok {
				if _, join := x.Source.(*ast.Join); !join {
					found = true
				}
			}
		}
		return !found
	}})
	return found
}

func hasWindow(n ast.Node) bool {
	found := false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		if _, ok := x.(*ast.WindowFuncExpr); ok {
			found = true
		}
		return !found
	}})
	return found
}

func hasAggregate(n *ast.SelectStmt) bool {
	found := false
	for _, f := range n.Fields.Fields {
		if f.Expr == nil {
			continue
		}
		found = found || containsAggregate(f.Expr)
	}
	return found
}
