package planner

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
)

// Plan plans a statement for a session described by f. It
// reads no backend and returns an immutable plan.
func (pl *Planner) Plan(st *parser.Statement, f Facts) (*engine.Plan, error) {
	d, err := pl.plan(st, f)
	if err != nil {
		return nil, err
	}
	root, err := build(d, st)
	if err != nil {
		return nil, err
	}
	return &engine.Plan{Read: d.Read, Root: root, Effects: effectsOf(st, d)}, nil
}

// build turns a draft into the engine's tree of primitives.
func build(d *draft, st *parser.Statement) (engine.Primitive, error) {
	if d.Root != nil {
		return d.Root, nil
	}
	routes := make([]*engine.Route, len(d.Steps))
	for i, s := range d.Steps {
		routes[i] = &engine.Route{Cluster: s.Cluster, Tables: s.Tables, SQL: s.SQL, Replica: st.ReadOnly, Logical: d.Logical}
	}
	var root engine.Primitive
	switch {
	case d.ShowCreate:
		root = &engine.ShowCreate{Input: routes[0]}
	case d.Spec != nil:
		var meta *engine.Route
		if d.MetaSQL != "" {
			meta = &engine.Route{Cluster: d.Steps[0].Cluster, SQL: d.MetaSQL, Replica: st.ReadOnly, Logical: d.Logical}
		}
		r, err := buildMerge(d.Spec, routes, meta)
		if err != nil {
			return nil, err
		}
		root = r
	case d.Merge == mergeAllSucceed || d.Merge == mergeSumAffected || d.Merge == mergeBatched:
		// A sequenced INSERT is not batched: SequenceIDs reads each step's
		// OK packet on its own connection (and may query right after it),
		// which one batch per cluster would not give it.
		root = &engine.Fanout{Routes: routes, AllSucceed: d.Merge == mergeAllSucceed, Global: d.Global, Batched: d.Merge == mergeBatched && d.Seq == nil}
	case len(routes) > 1:
		root = &engine.Concat{Routes: routes}
	default:
		root = routes[0]
	}
	if len(d.Ensure) > 0 {
		root = &engine.EnsureBuckets{Needs: d.Ensure, Input: root}
	}
	if d.Seq != nil {
		seq := *d.Seq
		seq.Input = root
		root = &seq
	}
	return root, nil
}

// buildMerge stacks the primitives a merge spec asks for over the routes.
func buildMerge(m *MergeSpec, routes []*engine.Route, meta *engine.Route) (engine.RowSource, error) {
	purpose := engine.MergeForSort
	switch {
	case m.Group:
		purpose = engine.MergeForGroups
	case m.Distinct:
		purpose = engine.MergeForDistinct
	}
	var node engine.RowSource = &engine.MergeSort{Routes: routes, Keys: m.Keys, Hidden: m.Hidden, Purpose: purpose}
	switch {
	case m.DistinctAgg != "":
		node = &engine.DistinctAggregate{Input: node, Kind: m.DistinctAgg, Meta: meta}
	case m.Group || len(m.Aggs) > 0:
		node = &engine.OrderedAggregate{Input: node, Group: m.Group, Keys: m.Keys, Aggs: m.Aggs, Hidden: m.Hidden, GroupKeys: m.GroupKeys}
	case m.Distinct:
		node = &engine.Distinct{Input: node, Keys: m.Keys, Hidden: m.Hidden}
	}
	if m.Having != nil {
		text, _ := parser.RestoreIn(m.Having, parser.TextMode{})
		node = &engine.Filter{Input: node, Expr: m.compile(m.Having), Hidden: m.Hidden, Text: text}
	}
	if len(m.Final) > 0 {
		keys := make([]engine.MemorySortKey, len(m.Final))
		for i, f := range m.Final {
			text, _ := parser.RestoreIn(f.Expr, parser.TextMode{})
			keys[i] = engine.MemorySortKey{Desc: f.Desc, Text: text}
			if idx, ok := m.groupKey[restoreText(f.Expr)]; ok {
				k := m.Keys[idx]
				keys[i].Key = &k
			} else {
				keys[i].Expr = m.compile(f.Expr)
			}
		}
		node = &engine.MemorySort{Input: node, Keys: keys, Hidden: m.Hidden}
	}
	if m.Count >= 0 {
		node = &engine.Limit{Input: node, Offset: m.Offset, Count: m.Count}
	}
	if m.Hidden > 0 {
		node = &engine.Trim{Input: node, Hidden: m.Hidden}
	}
	return node, nil
}

// compile resolves an expression checked by checkEvaluable to columns of
// the merged rows: select fields by position, group keys and aggregates by
// their helper columns (where OrderedAggregate leaves merged values).
func (m *MergeSpec) compile(e ast.ExprNode) engine.Expr {
	visible := len(m.fields)
	if _, isAgg := e.(*ast.AggregateFuncExpr); !isAgg {
		text := restoreText(e)
		for i, f := range m.fields {
			if f.WildCard == nil && restoreText(f.Expr) == text {
				if _, agg := f.Expr.(*ast.AggregateFuncExpr); !agg {
					return engine.Col{Index: i}
				}
			}
		}
		if k, ok := m.groupKey[text]; ok {
			return engine.Col{Index: m.Keys[k].Value, Helper: true}
		}
	}
	null := engine.Lit{Null: true}
	switch x := e.(type) {
	case *ast.ParenthesesExpr:
		return m.compile(x.Expr)
	case *ast.AggregateFuncExpr:
		i, ok := m.aggIndex[restoreText(x)]
		if !ok {
			return null
		}
		a := m.Aggs[i]
		numeric := a.Kind == engine.AggCount || a.Kind == engine.AggAvg || a.Kind == engine.AggSum
		return engine.Col{Index: a.H[0], Helper: true, Numeric: numeric}
	case *ast.PositionExpr:
		if x.N >= 1 && x.N <= visible {
			return engine.Col{Index: x.N - 1}
		}
		return null
	case *ast.ColumnNameExpr:
		if x.Name.Table.L == "" {
			for i, f := range m.fields {
				if f.AsName.L == x.Name.Name.L {
					return engine.Col{Index: i}
				}
			}
		}
		for i, f := range m.fields {
			if c, ok := f.Expr.(*ast.ColumnNameExpr); ok && c.Name.Name.L == x.Name.Name.L && f.AsName.L == "" {
				return engine.Col{Index: i}
			}
		}
		if k, ok := m.groupKey[restoreText(x)]; ok {
			return engine.Col{Index: m.Keys[k].Value, Helper: true}
		}
		return null
	case *ast.IsNullExpr:
		return engine.IsNull{X: m.compile(x.Expr), Not: x.Not}
	case *ast.UnaryOperationExpr:
		if x.Op == opcode.Minus {
			return engine.Unary{Op: "-", X: m.compile(x.V)}
		}
		return engine.Unary{Op: "not", X: m.compile(x.V)}
	case *ast.BinaryOperationExpr:
		op, ok := binaryOps[x.Op]
		if !ok {
			return null
		}
		return engine.Binary{Op: op, L: m.compile(x.L), R: m.compile(x.R)}
	}
	text, isNull, ok := parser.Literal(e)
	switch {
	case !ok || isNull:
		return null
	case isStringConst(e):
		return engine.Lit{Str: []byte(text)}
	}
	return engine.Lit{Num: ratOf(text)}
}

var binaryOps = map[opcode.Op]string{
	opcode.LogicAnd: "and", opcode.LogicOr: "or", opcode.LogicXor: "xor",
	opcode.EQ: "=", opcode.NE: "<>", opcode.LT: "<", opcode.LE: "<=", opcode.GT: ">", opcode.GE: ">=",
	opcode.Plus: "+", opcode.Minus: "-", opcode.Mul: "*", opcode.Div: "/",
}

// effectsOf lists what a statement leaves in the session.
func effectsOf(st *parser.Statement, d *draft) engine.Effects {
	e := engine.Effects{
		CountsAsRead:     st.Kind == parser.KindSelect || st.Kind == parser.KindShow || st.Kind == parser.KindExplain,
		SetsInsertID:     st.Kind == parser.KindInsert || st.Kind == parser.KindUpdate || st.UsesLastInsertID,
		UsesLastInsertID: st.UsesLastInsertID,
		UsesPrevResult:   st.UsesPrevResult,
		NamesNoTable:     len(st.Tables) == 0 && st.ShowSchema == "",
		HoldsConnState:   st.HoldsConnState,
		CalcFoundRows:    st.CalcFoundRows,
		AssignedUserVars: st.AssignedUserVars,
		ForgetBuckets:    d.Forget,
		Hint:             routingHint(st.SQL),
	}
	switch n := st.Node.(type) {
	case *ast.CreateTableStmt:
		e.TempTable = n.TemporaryKeyword != ast.TemporaryNone
	case *ast.LockTablesStmt:
		e.LockTables = true
	case *ast.UnlockTablesStmt:
		e.UnlockTables = true
	}
	return e
}

// routingHint reads a leading comment MySQL ignores that forces the
// server, e.g. /* shardgate:primary */ SELECT ...
func routingHint(sql string) string {
	sql = strings.TrimLeft(sql, " \t\r\n")
	if !strings.HasPrefix(sql, "/*") || strings.HasPrefix(sql, "/*!") || strings.HasPrefix(sql, "/*+") {
		return ""
	}
	end := strings.Index(sql, "*/")
	if end < 0 {
		return ""
	}
	switch strings.TrimSpace(sql[2:end]) {
	case "shardgate:primary":
		return "primary"
	case "shardgate:replica":
		return "replica"
	}
	return ""
}
