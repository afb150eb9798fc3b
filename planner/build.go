package planner

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
)

// Plan plans a statement for a session described by f. It
// reads no backend and returns an immutable plan.
func (pl *Planner) Plan(st *parser.Statement, f Facts) (*engine.Plan, error) {
	d, err := pl.plan(st, f)
	if err != nil && isNotSupported(err) {
		// Tables no server holds together: a two-table join may still be
		// evaluated in the proxy (join.go), else the refusal stands.
		if jd, jerr := pl.joinPlan(st, f); jd != nil || jerr != nil {
			d, err = jd, jerr
		}
	}
	if err != nil {
		return nil, err
	}
	root, err := build(d, st)
	if err != nil {
		return nil, err
	}
	eff := effectsOf(st, d)
	if eff.SetsInsertID && st.Kind == parser.KindInsert && pl.givesAutoIncrement(st, f) {
		eff.SetsInsertID = false
	}
	return &engine.Plan{Read: d.Read, Root: root, Effects: eff}, nil
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
	if len(m.WindowFuncs) > 0 {
		return buildWindow(m, routes), nil
	}
	purpose := engine.MergeForSort
	switch {
	case m.Group:
		purpose = engine.MergeForGroups
	case m.Distinct:
		purpose = engine.MergeForDistinct
	}
	return stackMerge(m, &engine.MergeSort{Routes: routes, Keys: m.Keys, Hidden: m.Hidden, Purpose: purpose}, meta), nil
}

// stackMerge stacks what a merge spec asks for over node, rows in the
// spec's key order (merged shard streams, or joined rows sorted in
// memory).
func stackMerge(m *MergeSpec, node engine.RowSource, meta *engine.Route) engine.RowSource {
	switch {
	case m.DistinctAgg != "":
		node = &engine.DistinctAggregate{Input: node, Kind: m.DistinctAgg, Meta: meta}
	case m.Group || len(m.Aggs) > 0:
		node = &engine.OrderedAggregate{Input: node, Group: m.Group, Keys: m.Keys, Aggs: m.Aggs, Hidden: m.Hidden, GroupKeys: m.GroupKeys,
			DistinctKey: m.DistinctKey, Rollup: m.Rollup, KeyFields: m.KeyFields}
	case m.Distinct:
		node = &engine.Distinct{Input: node, Keys: m.Keys, Hidden: m.Hidden}
	}
	if len(m.Project) > 0 {
		p := &engine.Project{Input: node, Hidden: m.Hidden}
		for _, i := range m.Project {
			text, _ := parser.RestoreIn(m.fields[i].Expr, parser.TextMode{})
			p.Fields = append(p.Fields, engine.ProjectField{Index: i, Expr: m.compileIn(m.fields[i].Expr, true), Text: text})
		}
		node = p
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
			} else if k, ok := m.minMaxKey(f.Expr); ok {
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
	return node
}

// buildWindow stacks the primitives of window functions computed by the
// proxy: the shards' streams merged in the windows' order, the functions
// computed over them, then the client's ORDER BY and LIMIT.
func buildWindow(m *MergeSpec, routes []*engine.Route) engine.RowSource {
	funcs := func(stage int) []engine.WindowFunc {
		var out []engine.WindowFunc
		for i, f := range m.WindowFuncs {
			if i >= len(m.WindowStage) || m.WindowStage[i] == stage {
				out = append(out, f)
			}
		}
		return out
	}
	var node engine.RowSource = &engine.MergeSort{Routes: routes, Keys: m.Keys, Hidden: m.Hidden, Purpose: engine.MergeForWindow}
	node = &engine.Window{Input: node, Partition: m.Keys[:m.WindowPartition], Order: m.Keys[m.WindowPartition:], Funcs: funcs(0), Hidden: m.Hidden}
	// Windows of another PARTITION BY or ORDER BY: the rows, with the
	// values computed so far, sorted again in memory by their keys.
	for k, st := range m.WindowStages {
		keys := make([]engine.MemorySortKey, 0, len(st.Partition)+len(st.Order))
		for i, sk := range append(append([]engine.SortKey(nil), st.Partition...), st.Order...) {
			sk := sk
			keys = append(keys, engine.MemorySortKey{Key: &sk, Desc: sk.Desc, Text: st.Text[i]})
		}
		node = &engine.MemorySort{Input: node, Keys: keys, Hidden: m.Hidden, What: "window functions of another PARTITION BY or ORDER BY (all rows sorted again)"}
		node = &engine.Window{Input: node, Partition: st.Partition, Order: st.Order, Funcs: funcs(k + 1), Hidden: m.Hidden}
	}
	if len(m.WindowSort) > 0 {
		node = &engine.MemorySort{Input: node, Keys: m.WindowSort, Hidden: m.Hidden}
	}
	if m.Count >= 0 {
		node = &engine.Limit{Input: node, Offset: m.Offset, Count: m.Count}
	}
	return &engine.Trim{Input: node, Hidden: m.Hidden}
}

// minMaxKey: e is (an alias or position of) a MIN or MAX whose merged
// value and weight string OrderedAggregate leaves in its helpers, so it
// sorts by its column's collation.
func (m *MergeSpec) minMaxKey(e ast.ExprNode) (engine.SortKey, bool) {
	if c, ok := e.(*ast.ColumnNameExpr); ok && c.Name.Table.L == "" {
		for _, f := range m.fields {
			if f.AsName.L == c.Name.Name.L {
				e = f.Expr
			}
		}
	}
	a, ok := e.(*ast.AggregateFuncExpr)
	if !ok {
		return engine.SortKey{}, false
	}
	i, ok := m.aggIndex[restoreText(a)]
	if !ok || (m.Aggs[i].Kind != engine.AggMin && m.Aggs[i].Kind != engine.AggMax) || len(m.Aggs[i].H) < 2 {
		return engine.SortKey{}, false
	}
	return engine.SortKey{Value: m.Aggs[i].H[0], Weight: m.Aggs[i].H[1]}, true
}

// compile resolves an expression checked by checkEvaluable to columns of
// the merged rows: select fields by position, group keys and aggregates by
// their helper columns (where OrderedAggregate leaves merged values).
func (m *MergeSpec) compile(e ast.ExprNode) engine.Expr { return m.compileIn(e, false) }

// compileIn compiles e; projecting: e is (a part of) a select field's own
// expression (checkComputable), where a name is a table's column, never a
// select alias or another field.
func (m *MergeSpec) compileIn(e ast.ExprNode, projecting bool) engine.Expr {
	compile := func(x ast.ExprNode) engine.Expr { return m.compileIn(x, projecting) }
	visible := len(m.fields)
	if _, isAgg := e.(*ast.AggregateFuncExpr); !isAgg {
		text := restoreText(e)
		for i, f := range m.fields {
			if !projecting && f.WildCard == nil && restoreText(f.Expr) == text {
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
		return compile(x.Expr)
	case *ast.AggregateFuncExpr:
		i, ok := m.aggIndex[restoreText(x)]
		if !ok {
			return null
		}
		a := m.Aggs[i]
		if a.Kind == engine.AggAvg {
			return engine.Avg{Value: a.H[0], Real: a.H[1]}
		}
		numeric := a.Kind == engine.AggCount || a.Kind == engine.AggSum
		return engine.Col{Index: a.H[0], Helper: true, Numeric: numeric}
	case *ast.PositionExpr:
		if x.N >= 1 && x.N <= visible && !projecting {
			return engine.Col{Index: x.N - 1}
		}
		return null
	case *ast.ColumnNameExpr:
		if projecting {
			return null // checkComputable let only group keys through
		}
		if x.Name.Table.L == "" {
			for i, f := range m.fields {
				if f.AsName.L == x.Name.Name.L {
					if a, ok := f.Expr.(*ast.AggregateFuncExpr); ok && m.isStat(a) {
						// The merged double at full precision, as MariaDB
						// compares it, not the digits the column shows.
						return compile(a)
					}
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
		return engine.IsNull{X: compile(x.Expr), Not: x.Not}
	case *ast.UnaryOperationExpr:
		if x.Op == opcode.Minus {
			return engine.Unary{Op: "-", X: compile(x.V)}
		}
		return engine.Unary{Op: "not", X: compile(x.V)}
	case *ast.BinaryOperationExpr:
		op, ok := binaryOps[x.Op]
		if !ok {
			return null
		}
		return engine.Binary{Op: op, L: compile(x.L), R: compile(x.R)}
	case *ast.FuncCallExpr:
		f := engine.Func{Name: x.FnName.L}
		for _, a := range x.Args {
			f.Args = append(f.Args, compile(a))
		}
		return f
	case *ast.CaseExpr:
		c := engine.Case{}
		if x.Value != nil {
			c.Operand = compile(x.Value)
		}
		for _, w := range x.WhenClauses {
			c.Whens = append(c.Whens, compile(w.Expr))
			c.Thens = append(c.Thens, compile(w.Result))
		}
		if x.ElseClause != nil {
			c.Else = compile(x.ElseClause)
		}
		return c
	}
	text, isNull, ok := parser.Literal(e)
	switch {
	case !ok || isNull:
		return null
	case isStringConst(e):
		return engine.Lit{Str: []byte(text)}
	}
	return engine.Lit{Num: ratOf(text), Float: isFloatConst(e)}
}

var binaryOps = map[opcode.Op]string{
	opcode.LogicAnd: "and", opcode.LogicOr: "or", opcode.LogicXor: "xor",
	opcode.EQ: "=", opcode.NE: "<>", opcode.LT: "<", opcode.LE: "<=", opcode.GT: ">", opcode.GE: ">=",
	opcode.Plus: "+", opcode.Minus: "-", opcode.Mul: "*", opcode.Div: "/", opcode.IntDiv: "div", opcode.Mod: "%",
}

// isFloatConst reports an approximate-number constant (1.5e0).
func isFloatConst(e ast.ExprNode) bool {
	v, ok := e.(*driver.ValueExpr)
	if !ok {
		return false
	}
	switch v.GetValue().(type) {
	case float64, float32:
		return true
	}
	return false
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

// isStat: a is a STD/VARIANCE aggregate the proxy merges.
func (m *MergeSpec) isStat(a *ast.AggregateFuncExpr) bool {
	i, ok := m.aggIndex[restoreText(a)]
	if !ok {
		return false
	}
	switch m.Aggs[i].Kind {
	case engine.AggStdPop, engine.AggStdSamp, engine.AggVarPop, engine.AggVarSamp:
		return true
	}
	return false
}
