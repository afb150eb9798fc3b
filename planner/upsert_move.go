package planner

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
)

// INSERT … ON DUPLICATE KEY UPDATE whose update assigns the shard column
// something other than itself or VALUES(itself): the updated row may
// belong in another table, so it runs as engine.UpsertMove, row by row.

// checkUpsertMove refuses what UpsertMove cannot run as one server would,
// before any sequence value is taken.
func (pl *Planner) checkUpsertMove(n *ast.InsertStmt, r tableRef) error {
	if r.rule != nil && r.rule.Sequence != nil {
		return notSupported("ON DUPLICATE KEY UPDATE that changes shard column %s of %s, whose column %s comes from a sequence, is not supported: the insert id of a moved row is not known", r.sharded.Column, r.qualified(), r.rule.Sequence.Column)
	}
	if n.IgnoreErr {
		// IGNORE would turn the duplicate-key error that tells an update
		// from an insert into a warning.
		return notSupported("INSERT IGNORE … ON DUPLICATE KEY UPDATE that changes shard column %s of %s is not supported", r.sharded.Column, r.qualified())
	}
	for _, a := range n.OnDuplicate {
		if hasSubquery(a.Expr) {
			return notSupported("ON DUPLICATE KEY UPDATE that changes shard column %s of %s with a subquery is not supported", r.sharded.Column, r.qualified())
		}
		if a.Column.Table.L != "" && a.Column.Table.L != strings.ToLower(r.name) {
			return notSupported("this ON DUPLICATE KEY UPDATE of sharded table %s is not supported", r.qualified())
		}
	}
	for _, row := range n.Lists {
		for _, v := range row {
			// A row's value moves into the UPDATE (VALUES(c)), where a
			// column would name the existing row's instead of the new one's.
			if namesColumnOrSubquery(v) {
				return notSupported("ON DUPLICATE KEY UPDATE that changes shard column %s of %s, with a value that names a column or holds a subquery, is not supported", r.sharded.Column, r.qualified())
			}
		}
	}
	return nil
}

// upsertMove writes each row's statements: the row alone as an INSERT,
// its values by column, and the client's assignments as an UPDATE with
// VALUES(c) replaced by the row's value for c (DEFAULT(c) when the row
// leaves c out, as VALUES(c) reads then).
func (pl *Planner) upsertMove(n *ast.InsertStmt, r tableRef, f Facts, colNames []string, targets []shard.Target) (*engine.UpsertMove, error) {
	t := r.sharded
	um := &engine.UpsertMove{Schema: r.schema, Table: r.qualified(), Key: t.Column, Sub: t.SubColumn,
		Router: pl.newRowRouter(r, f, t.Column, t.SubColumn, false)}
	names := []string{strings.ToLower(r.name)}
	lists, dup := n.Lists, n.OnDuplicate
	defer func() { n.Lists, n.OnDuplicate = lists, dup }()
	for i, row := range lists {
		tg := targets[i]
		phys := map[string]string{names[0]: tg.Table}
		n.Lists, n.OnDuplicate = [][]ast.ExprNode{row}, nil
		insRn := parser.NewRenamer(n, r.schema, f.DB, names)
		ins, err := insRn.RenderIn(phys, f.Text)
		if err != nil {
			return nil, err
		}
		// The same row into the table's empty copy, where the server
		// computes the key's values as it stores them (engine.UpsertMove).
		probe, err := insRn.RenderIn(map[string]string{names[0]: engine.UpsertProbeTable(tg.Table)}, f.Text)
		if err != nil {
			return nil, err
		}
		upd := &ast.UpdateStmt{TableRefs: n.Table, List: dup}
		// VALUES(c) is the value the row would have stored in c: read
		// from the probe, where the server stored it (converted, cut,
		// generated, defaulted) as it would in the table.
		probeTable := engine.UpsertProbeTable(tg.Table)
		undo := replaceValues(upd, func(c string) ast.ExprNode { return probeValue(r.schema, probeTable, c) })
		rn := parser.NewRenamer(upd, r.schema, f.DB, names)
		u, err := rn.RenderIn(phys, f.Text)
		var uc string
		if err == nil {
			uc, err = rn.RenderIn(map[string]string{names[0]: engine.MoveTempTable(tg.Table)}, f.Text)
		}
		undo()
		if err != nil {
			return nil, err
		}
		um.Rows = append(um.Rows, engine.UpsertRow{Cluster: tg.Cluster, Table: tg.Table, Insert: ins, ProbeInsert: probe, Update: u, UpdateCopy: uc})
	}
	return um, nil
}

// probeValue is (SELECT c FROM schema.probe): the one row's value for c.
func probeValue(schema, probe, c string) ast.ExprNode {
	return &ast.SubqueryExpr{Query: &ast.SelectStmt{
		Kind:           ast.SelectStmtKindSelect,
		SelectStmtOpts: &ast.SelectStmtOpts{SQLCache: true},
		Fields:         &ast.FieldList{Fields: []*ast.SelectField{{Expr: &ast.ColumnNameExpr{Name: &ast.ColumnName{Name: ast.NewCIStr(c)}}}}},
		From:           &ast.TableRefsClause{TableRefs: &ast.Join{Left: &ast.TableSource{Source: &ast.TableName{Schema: ast.NewCIStr(schema), Name: ast.NewCIStr(probe)}}}},
	}}
}

// replaceValues replaces every VALUES(c) in n by value(c), and returns
// what puts the originals back.
func replaceValues(n ast.Node, value func(c string) ast.ExprNode) (undo func()) {
	swapped := map[ast.Node]ast.Node{} // replacement → original
	n.Accept(&leaveFn{fn: func(x ast.Node) ast.Node {
		v, ok := x.(*ast.ValuesExpr)
		if !ok || v.Column == nil {
			return x
		}
		repl := value(v.Column.Name.Name.O)
		// A node of the row may stand in more than one place: wrap it, so
		// that each place has its own replacement to find again.
		w := &ast.ParenthesesExpr{Expr: repl}
		swapped[w] = x
		return w
	}})
	return func() {
		n.Accept(&enterFn{fn: func(x ast.Node) (ast.Node, bool) {
			if orig, ok := swapped[x]; ok {
				return orig, true
			}
			return x, false
		}})
	}
}

// namesColumnOrSubquery: e names a column or holds a subquery.
func namesColumnOrSubquery(e ast.Node) bool {
	found := false
	e.Accept(&visitFn{fn: func(x ast.Node) bool {
		switch x.(type) {
		case *ast.ColumnNameExpr, *ast.SubqueryExpr:
			found = true
		}
		return !found
	}})
	return found
}

// leaveFn replaces each node by what fn returns for it, children first.
type leaveFn struct{ fn func(ast.Node) ast.Node }

func (v *leaveFn) Enter(n ast.Node) (ast.Node, bool) { return n, false }
func (v *leaveFn) Leave(n ast.Node) (ast.Node, bool) { return v.fn(n), true }

// enterFn replaces a node by what fn returns, skipping its children when
// fn says so.
type enterFn struct {
	fn func(ast.Node) (ast.Node, bool)
}

func (v *enterFn) Enter(n ast.Node) (ast.Node, bool) { return v.fn(n) }
func (v *enterFn) Leave(n ast.Node) (ast.Node, bool) { return n, true }
