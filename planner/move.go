package planner

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
)

// shardKeyUpdatePlan plans an UPDATE whose SET assigns a shard column of
// its (single, sharded) table. handled is false when no assignment does.
//
// Where the rows provably stay in the physical tables they are in, it is
// a plain UPDATE: every shard-column assignment is the column itself
// (SET product_id = product_id), or the statement reaches one physical
// table and the new key values, known exactly (a constant, or the column
// itself where WHERE pins it to one value), route rows to that same table
// (SET product_id = 7 WHERE product_id = 7). Otherwise the rows move
// (engine.MoveRows): the server computes the new rows by running the
// client's SET on them, and the proxy, reading them back, moves those
// whose new key belongs elsewhere.
func (pl *Planner) shardKeyUpdatePlan(st *parser.Statement, n *ast.UpdateStmt, f Facts, r tableRef) (*draft, bool, error) {
	t := r.sharded
	isKey := func(c string) bool { return c == t.Column || (t.SubColumn != "" && c == t.SubColumn) }
	touches, noop := false, true
	newVals := map[string]*string{}
	alias := aliasOf(st.Node, r)
	for _, a := range n.List {
		c := a.Column.Name.L
		if !isKey(c) {
			continue
		}
		touches = true
		if cn, ok := a.Expr.(*ast.ColumnNameExpr); ok && cn.Name.Name.L == c && sameTable(cn.Name, alias, r.name) {
			continue
		}
		noop = false
		if v, null, ok := parser.Literal(a.Expr); ok && !null {
			newVals[c] = &v
		} else {
			newVals[c] = nil
		}
	}
	if !touches {
		return nil, false, nil
	}
	if n.MultipleTable {
		return nil, true, notSupported("multi-table UPDATE of shard column of %s is not supported by this version", r.qualified())
	}
	conds := whereConds(st, r)
	targets, err := pl.targets(r.schema, t, conds, f)
	if err != nil {
		return nil, true, err
	}
	if noop || pl.staysInPlace(t, targets, conds, newVals) {
		return nil, false, nil // a plain UPDATE
	}
	if len(targets) > 1 && (n.Order != nil || n.Limit != nil) {
		return nil, true, notSupported("UPDATE with ORDER BY or LIMIT on sharded table %s across several shards is not supported", r.qualified())
	}
	if hasSubquery(n) {
		return nil, true, notSupported("UPDATE of shard column %s of %s with a subquery is not supported: the rows would move between tables", t.Column, r.qualified())
	}
	for _, a := range n.List {
		if a.Column.Table.L != "" && !sameTable(a.Column, alias, r.name) {
			return nil, true, notSupported("this UPDATE of sharded table %s is not supported", r.qualified())
		}
	}
	names := []string{strings.ToLower(r.name)}
	// The rows are found by the client's WHERE (and ORDER BY/LIMIT), read
	// FOR UPDATE; the client's SET then runs on exactly those rows.
	sel := &ast.SelectStmt{
		Kind:           ast.SelectStmtKindSelect,
		SelectStmtOpts: &ast.SelectStmtOpts{SQLCache: true},
		Fields:         &ast.FieldList{Fields: []*ast.SelectField{{WildCard: &ast.WildCardField{}}}},
		From:           n.TableRefs,
		Where:          n.Where,
		OrderBy:        n.Order,
		Limit:          n.Limit,
		LockInfo:       &ast.SelectLockInfo{LockType: ast.SelectLockForUpdate},
	}
	upd := &ast.UpdateStmt{TableRefs: n.TableRefs, List: n.List, Priority: n.Priority, IgnoreErr: n.IgnoreErr}
	del := &ast.DeleteStmt{TableRefs: n.TableRefs, Where: n.Where, Order: n.Order, Limit: n.Limit}
	selRn := parser.NewRenamer(sel, r.schema, f.DB, names)
	updRn := parser.NewRenamer(upd, r.schema, f.DB, names)
	delRn := parser.NewRenamer(del, r.schema, f.DB, names)
	mv := &engine.MoveRows{Schema: r.schema, Table: r.qualified(), Key: t.Column, Sub: t.SubColumn, Ignore: n.IgnoreErr,
		Router: pl.newRowRouter(r, f, t.Column, t.SubColumn, n.IgnoreErr), Limited: n.Order != nil || n.Limit != nil}
	for _, tg := range targets {
		phys := map[string]string{names[0]: tg.Table}
		s, err := selRn.RenderIn(phys, f.Text)
		if err != nil {
			return nil, true, err
		}
		rest, ok := strings.CutPrefix(s, "SELECT * ")
		if !ok {
			return nil, true, notSupported("this UPDATE of sharded table %s is not supported", r.qualified())
		}
		u, err := updRn.RenderIn(phys, f.Text)
		if err != nil {
			return nil, true, err
		}
		// The same UPDATE on the table's temporary copy, and the client's
		// WHERE as a DELETE, for tables whose primary key holds the shard
		// key (engine.MoveRows.copyMove).
		uc, err := updRn.RenderIn(map[string]string{names[0]: engine.MoveTempTable(tg.Table)}, f.Text)
		if err != nil {
			return nil, true, err
		}
		d, err := delRn.RenderIn(phys, f.Text)
		if err != nil {
			return nil, true, err
		}
		mv.Tables = append(mv.Tables, engine.MoveTable{Cluster: tg.Cluster, Table: tg.Table, FindRest: rest, Update: u, UpdateCopy: uc, Delete: d})
	}
	return &draft{Root: mv}, true, nil
}

// sameTable: a column reference names the updated table (or names none).
func sameTable(c *ast.ColumnName, alias, name string) bool {
	switch {
	case c.Table.L == "":
		return true
	case alias != "":
		return c.Table.L == strings.ToLower(alias)
	}
	return c.Table.L == strings.ToLower(name)
}

// staysInPlace: the UPDATE reaches one physical table, and the new shard
// key of every row it updates is known exactly and routes to that table.
// newVals holds the assigned shard columns: the constant's text, or nil
// when it is computed.
func (pl *Planner) staysInPlace(t *shard.Table, targets []shard.Target, conds parser.Conds, newVals map[string]*string) bool {
	if len(targets) != 1 {
		return false
	}
	value := func(col string) (*string, bool) {
		if v, assigned := newVals[col]; assigned {
			return v, v != nil
		}
		// Not assigned: the row keeps its value, known when WHERE pins it.
		// Only an integer literal is its own canonical key; any other
		// spelling ('02') counts as unknown, so the row is moved (never
		// left in the wrong table).
		if c, ok := conds[col]; ok && c.Exact && !c.Null && len(c.Values) == 1 && c.Values[0].Kind == parser.ValInt {
			return &c.Values[0].Text, true
		}
		return nil, false
	}
	key, ok := value(t.Column)
	if !ok {
		return false
	}
	var sub *string
	if t.SubColumn != "" {
		if sub, ok = value(t.SubColumn); !ok {
			return false
		}
	}
	router := &rowRouter{t: t, now: pl.now()}
	tg, _, err := router.RouteRow(key, sub, 1)
	return err == nil && tg == targets[0]
}
