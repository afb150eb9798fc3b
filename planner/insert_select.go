package planner

import (
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

// insertSelectPlan plans INSERT … SELECT (or REPLACE … SELECT) where a
// sharded table is the target or among the sources. When every source row
// provably lives in the physical table its copy goes to (pushDown), each
// physical table runs the statement on itself; otherwise the source SELECT
// is planned as a read of its own and its rows are streamed into the
// target, routed per row (engine.InsertSelect).
func (pl *Planner) insertSelectPlan(st *parser.Statement, n *ast.InsertStmt, f Facts) (*draft, error) {
	target, err := pl.insertTarget(n, f)
	if err != nil {
		return nil, err
	}
	if target.rule != nil && target.rule.Global {
		return nil, notSupported("INSERT ... SELECT into global table %s from a sharded table is not supported: write the rows with INSERT ... VALUES", target.qualified())
	}
	seq := target.rule != nil && target.rule.Sequence != nil && target.sharded != nil
	if seq && (n.IgnoreErr || len(n.OnDuplicate) > 0) {
		// A skipped or updating row would leave its generated value unused,
		// and the insert id would have to say which rows were inserted;
		// the proxy does not tell that for streamed rows (yet).
		return nil, notSupported("INSERT IGNORE or ON DUPLICATE KEY UPDATE ... SELECT into %s, whose column %s comes from a sequence, is not supported: write the rows with INSERT ... VALUES", target.qualified(), target.rule.Sequence.Column)
	}
	t := target.sharded
	keyIdx, subIdx, seqIdx := -1, -1, -1
	if t != nil {
		if len(n.Columns) == 0 {
			return nil, notSupported("INSERT into sharded table %s needs a column list: each row is routed by its %s value", target.qualified(), t.Column)
		}
		if seq {
			seqIdx = seqColumn(n, target.rule.Sequence.Column)
		}
		for i, c := range n.Columns {
			switch c.Name.L {
			case t.Column:
				keyIdx = i
			case t.SubColumn:
				subIdx = i
			}
		}
		if seq && seqIdx < 0 {
			// The column list leaves the sequenced column out: its value is
			// appended to every row, and routes it when it is a shard key.
			switch strings.ToLower(target.rule.Sequence.Column) {
			case t.Column:
				keyIdx = len(n.Columns)
			case t.SubColumn:
				subIdx = len(n.Columns)
			}
		}
		missing := func(col string) error {
			return wire.Errorf(mysql.ER_NO_DEFAULT_FOR_FIELD, "shardgate: INSERT into sharded table %s must give shard column %s", target.qualified(), col)
		}
		if keyIdx < 0 {
			return nil, missing(t.Column)
		}
		if t.SubColumn != "" && subIdx < 0 {
			return nil, missing(t.SubColumn)
		}
		for _, a := range n.OnDuplicate {
			if c := a.Column.Name.L; c == t.Column || (c != "" && c == t.SubColumn) {
				if !keepsShardKey(a, c) {
					return nil, notSupported("ON DUPLICATE KEY UPDATE of shard column %s of %s is supported only as %s = %s or %s = VALUES(%s): another value would move the row to another table", c, target.qualified(), c, c, c, c)
				}
			}
		}
		// With a sequence, rows are never copied on the servers: their
		// AUTO_INCREMENT would fill the sequenced column.
		if !seq {
			if d, ok, err := pl.pushDownInsertSelect(st, n, f, target, keyIdx, subIdx); ok || err != nil {
				return d, err
			}
		}
	}
	odku := ""
	if len(n.OnDuplicate) > 0 {
		// Streamed rows become INSERT … VALUES, where a name in an
		// assignment means the target's column, while in INSERT … SELECT
		// it may mean the SELECT's: only assignments that name no column
		// but through VALUES(col) (the upsert idiom) mean the same in both.
		parts := make([]string, len(n.OnDuplicate))
		for i, a := range n.OnDuplicate {
			if namesColumn(a.Expr) {
				var from []string
				for _, tb := range st.Tables {
					s := tb.Schema
					if s == "" {
						s = f.DB
					}
					if q := s + "." + tb.Name; q != target.qualified() {
						from = append(from, q)
					}
				}
				return nil, notSupported("INSERT INTO %s ... SELECT ... ON DUPLICATE KEY UPDATE from %s is supported where source and target rows may live on different servers only with assignments that name columns through VALUES(col): %s names a column, which could be the source's", target.qualified(), strings.Join(from, ", "), a.Column.Name.O)
			}
			text, err := parser.RestoreIn(a, f.Text)
			if err != nil {
				return nil, err
			}
			parts[i] = text
		}
		odku = " ON DUPLICATE KEY UPDATE " + strings.Join(parts, ",")
	}
	srcText, err := parser.RestoreIn(n.Select, f.Text)
	if err != nil {
		return nil, err
	}
	// The source is planned from its own parse tree, as the client's
	// SELECT would be: planning rewrites trees it renders.
	p := parser.New()
	p.SetMode(f.Text)
	stmts, err := p.Parse(srcText)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 || stmts[0].Kind != parser.KindSelect {
		return nil, notSupported("this INSERT ... SELECT source is not supported")
	}
	src := stmts[0]
	sd, err := pl.plan(src, f)
	if err != nil {
		return nil, err
	}
	root, err := build(sd, src)
	if err != nil {
		return nil, err
	}
	rs, ok := root.(engine.RowSource)
	if !ok {
		return nil, notSupported("this INSERT ... SELECT source is not supported")
	}
	verb := "INSERT INTO "
	switch {
	case n.IsReplace:
		verb = "REPLACE INTO "
	case n.IgnoreErr:
		verb = "INSERT IGNORE INTO "
	}
	cols := ""
	if len(n.Columns) > 0 {
		names := make([]string, len(n.Columns))
		for i, c := range n.Columns {
			names[i] = parser.QuoteIdent(c.Name.O)
		}
		if seq && seqIdx < 0 {
			names = append(names, parser.QuoteIdent(target.rule.Sequence.Column))
		}
		cols = " (" + strings.Join(names, ",") + ")"
	}
	is := &engine.InsertSelect{Source: rs, Schema: target.schema, Verb: verb, Columns: cols,
		Width: len(n.Columns), Key: keyIdx, Sub: subIdx, Ignore: n.IgnoreErr, Replace: n.IsReplace, OnDuplicate: odku,
		SourceLocks: src.Locking}
	if seq {
		q := target.rule.Sequence
		is.Sequence = &engine.SequenceFill{Key: target.schema + "." + strings.ToLower(target.name), Column: q.Column,
			Start: q.Start, Cache: q.Cache, Index: seqIdx, NoAutoOnZero: f.NoAutoValueOnZero}
	}
	if t != nil {
		colName := func(i int) string {
			if i == len(n.Columns) {
				return target.rule.Sequence.Column
			}
			return n.Columns[i].Name.O
		}
		subName := ""
		if subIdx >= 0 {
			subName = colName(subIdx)
		}
		is.Router = pl.newRowRouter(target, f, colName(keyIdx), subName, n.IgnoreErr)
	} else {
		is.Router = fixedRouter{target: shard.Target{Cluster: pl.clusterOf(target), Table: target.name}, name: target.qualified()}
		if len(n.Columns) == 0 {
			is.Width = -1
		}
	}
	return &draft{Root: is}, nil
}

// insertTarget resolves the table an INSERT writes.
func (pl *Planner) insertTarget(n *ast.InsertStmt, f Facts) (tableRef, error) {
	var tn *ast.TableName
	if n.Table != nil && n.Table.TableRefs != nil {
		if ts, ok := n.Table.TableRefs.Left.(*ast.TableSource); ok {
			tn, _ = ts.Source.(*ast.TableName)
		}
	}
	if tn == nil {
		return tableRef{}, notSupported("this INSERT target is not supported")
	}
	schema := tn.Schema.O
	if schema == "" {
		schema = f.DB
	}
	s := pl.rules.Schemas[schema]
	if s == nil {
		return tableRef{}, wire.Errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", schema)
	}
	return tableRef{schema: schema, name: tn.Name.O, rule: s.Table(tn.Name.O), sharded: pl.sharded[schema][tn.Name.L]}, nil
}

// keepsShardKey: an ON DUPLICATE KEY UPDATE assignment of the shard column
// that cannot move the row: col = col, or col = VALUES(col) (the row
// being inserted has that key, and it was routed to this very table by
// it).
func keepsShardKey(a *ast.Assignment, col string) bool {
	switch e := a.Expr.(type) {
	case *ast.ColumnNameExpr:
		return e.Name.Name.L == col
	case *ast.ValuesExpr:
		return e.Column != nil && e.Column.Name.Name.L == col
	}
	return false
}

// pushDownInsertSelect runs INSERT … SELECT on each physical table by
// itself when that is provably what one server would do: the source is
// the target table itself (a hash-sharded table), read alone, row by row
// (no join, grouping, aggregate, DISTINCT, LIMIT, subquery or window),
// and the SELECT gives the target's shard column the source row's own
// shard column unchanged, so every row it reads from table i goes to
// table i. Different tables with the same rule are not pushed down: the
// hash of a key depends on its column's type, which the rules do not
// say, so two tables' equal values are not provably in the same place.
func (pl *Planner) pushDownInsertSelect(st *parser.Statement, n *ast.InsertStmt, f Facts, target tableRef, keyIdx, subIdx int) (*draft, bool, error) {
	t := target.sharded
	sel, ok := n.Select.(*ast.SelectStmt)
	if !ok || t.By != "hash" || sel.From == nil || sel.From.TableRefs == nil || sel.From.TableRefs.Right != nil {
		return nil, false, nil
	}
	ts, ok := sel.From.TableRefs.Left.(*ast.TableSource)
	if !ok {
		return nil, false, nil
	}
	tn, ok := ts.Source.(*ast.TableName)
	if !ok {
		return nil, false, nil
	}
	schema := tn.Schema.O
	if schema == "" {
		schema = f.DB
	}
	if schema != target.schema || !strings.EqualFold(tn.Name.O, target.name) {
		return nil, false, nil
	}
	if sel.GroupBy != nil || sel.Having != nil || sel.Limit != nil || sel.Distinct || len(sel.WindowSpecs) > 0 ||
		sel.SelectIntoOpt != nil || sel.Fields == nil || len(sel.Fields.Fields) != len(n.Columns) || hasSubquery(sel) || hasAggregateOrWindow(sel) {
		return nil, false, nil
	}
	qual := strings.ToLower(tn.Name.O)
	if ts.AsName.O != "" {
		qual = ts.AsName.L
	}
	f0 := sel.Fields.Fields[keyIdx]
	c, ok := f0.Expr.(*ast.ColumnNameExpr)
	if f0.WildCard != nil || !ok || c.Name.Name.L != t.Column || (c.Name.Table.L != "" && c.Name.Table.L != qual) ||
		(c.Name.Schema.L != "" && c.Name.Schema.O != schema) {
		return nil, false, nil
	}
	r := tableRef{schema: target.schema, name: target.name, rule: target.rule, sharded: t}
	targets, err := pl.targets(r.schema, t, parser.ExtractConds(sel.Where, matcher(ts.AsName.O, tn.Name.O, true)), f)
	if err != nil {
		return nil, true, err
	}
	names := []string{strings.ToLower(target.name)}
	rn := parser.NewRenamer(n, target.schema, f.DB, names)
	d := &draft{}
	for _, tg := range targets {
		sql, err := rn.RenderIn(map[string]string{names[0]: tg.Table}, f.Text)
		if err != nil {
			return nil, true, err
		}
		d.Steps = append(d.Steps, step{Cluster: tg.Cluster, Tables: []string{tg.Table}, SQL: sql})
	}
	if len(d.Steps) > 1 {
		d.Merge = mergeSumAffected
	}
	return d, true, nil
}

// hasAggregateOrWindow reports aggregate and window functions.
func hasAggregateOrWindow(n ast.Node) bool {
	found := false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		switch x.(type) {
		case *ast.AggregateFuncExpr, *ast.WindowFuncExpr:
			found = true
		}
		return !found
	}})
	return found
}

// fixedRouter sends every row to one table: the target of INSERT …
// SELECT is a table without a rule, whose rows come from sharded ones.
type fixedRouter struct {
	target shard.Target
	name   string
}

func (r fixedRouter) RouteRow(key, sub *string, rowNum int) (shard.Target, *engine.BucketNeed, error) {
	return r.target, nil, nil
}

func (r fixedRouter) String() string { return r.name + " on " + r.target.Cluster }

// insertSelectMetadata is what a backend prepares for an INSERT … SELECT
// whose tables live on different clusters (ok false otherwise): no server
// holds them all, so one prepares a statement with as many parameters and,
// like every INSERT, no result columns. The statement itself is checked
// when it runs.
func (pl *Planner) insertSelectMetadata(st *parser.Statement, refs []tableRef) (cluster, sql string, ok bool) {
	n, isInsert := st.Node.(*ast.InsertStmt)
	if !isInsert || n.Select == nil {
		return "", "", false
	}
	clusters := map[string]bool{}
	for _, r := range refs {
		switch {
		case r.name == "":
		case r.sharded != nil:
			clusters[firstTable(r.sharded).Cluster] = true
		default:
			clusters[pl.clusterOf(r)] = true
		}
	}
	if len(clusters) < 2 {
		return "", "", false
	}
	params := 0
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		if _, ok := x.(ast.ParamMarkerExpr); ok {
			params++
		}
		return true
	}})
	sql = "DO 0"
	if params > 0 {
		sql = "DO " + strings.TrimSuffix(strings.Repeat("?,", params), ",")
	}
	for c := range clusters {
		if cluster == "" || c < cluster {
			cluster = c
		}
	}
	return cluster, sql, true
}

// namesColumn reports a column named outside VALUES(col), or a subquery.
func namesColumn(e ast.ExprNode) bool {
	found := false
	e.Accept(&columnFinder{found: &found})
	return found
}

type columnFinder struct{ found *bool }

func (c *columnFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.ValuesExpr:
		return n, true // VALUES(col) is the inserted row's value
	case *ast.ColumnNameExpr, *ast.SubqueryExpr:
		*c.found = true
		return n, true
	}
	return n, false
}

func (c *columnFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }
