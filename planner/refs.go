package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/tabledef"
	"github.com/shardgate/shardgate/wire"
)

// A statement names its sharded tables in places: the FROM of the
// statement itself, of its subqueries and derived tables, each time under
// its own alias. Rendering gives every place of one logical table the
// same physical table, which is what one server would do only when that
// physical table holds every row each place can reach. shardedPlaces
// finds the places and what pins each; pinnedTogether decides when the
// whole statement may run on one physical table per logical one.

// place is one mention of a sharded table.
type place struct {
	table int // index into the statement's sharded tables
	alias string
	// name qualifies its columns: the alias, else the table's name (lower
	// case).
	name string
	// top: in the FROM of the statement itself (not of a subquery or
	// derived table).
	top bool
	// where is the WHERE of the statement or SELECT whose FROM holds it.
	// An unqualified name of its shard column there means this table (or
	// is ambiguous, which the server refuses): the column is its own, and
	// a name resolves in the innermost SELECT that has it.
	where ast.ExprNode
	// sel is the SELECT whose FROM holds it (nil at the top of an UPDATE
	// or DELETE); in, when that SELECT is the subquery of `x.col IN
	// (SELECT …)`, is x.col.
	sel *ast.SelectStmt
	in  *ast.ColumnName
	// shadows are the table names the subqueries around it give (its own
	// included).
	shadows map[string]bool
	// outerJoin: that FROM has a LEFT or RIGHT JOIN, whose inner side's
	// NULL-extended rows satisfy an IS NULL in the WHERE.
	outerJoin bool
	// cte: not a mention but a common table expression of the table's
	// name, which the statement's own (unqualified) mentions may mean
	// instead of the table; rendering would rename them all.
	cte bool
}

// shardedPlaces lists every mention of the sharded tables in n.
func shardedPlaces(n ast.Node, sharded []tableRef, db string) []place {
	v := &placeFinder{sharded: sharded, db: db, root: n}
	n.Accept(v)
	return v.out
}

type placeFinder struct {
	sharded []tableRef
	db      string
	root    ast.Node
	// scopes are the statements whose FROM is being walked, innermost last.
	scopes []scope
	out    []place
	// inOf maps the subquery of `col IN (SELECT …)` to col.
	inOf map[*ast.SelectStmt]*ast.ColumnName
	// filters are the IN subqueries that are conjuncts of a WHERE, where
	// only their being true counts: elsewhere (a select list, under NOT,
	// IS NULL) a NULL among the subquery's values, on any shard, makes a
	// row's IN NULL rather than false, which its own shard cannot see.
	filters map[*ast.PatternInExpr]bool
}

// markFilters records the IN subqueries among where's conjuncts.
func (v *placeFinder) markFilters(where ast.ExprNode) {
	if where == nil {
		return
	}
	for _, e := range conjuncts(where) {
		if in, ok := e.(*ast.PatternInExpr); ok {
			if v.filters == nil {
				v.filters = map[*ast.PatternInExpr]bool{}
			}
			v.filters[in] = true
		}
	}
}

type scope struct {
	node  ast.Node
	where ast.ExprNode
	// names are the names its FROM gives tables (aliases, else table
	// names), lower case.
	names map[string]bool
	// outerJoin: its FROM has a LEFT or RIGHT JOIN.
	outerJoin bool
}

// hasOuterJoin reports a LEFT or RIGHT JOIN in a FROM.
func hasOuterJoin(rs ast.ResultSetNode) bool {
	j, ok := rs.(*ast.Join)
	if !ok {
		return false
	}
	return j.Tp == ast.LeftJoin || j.Tp == ast.RightJoin || hasOuterJoin(j.Left) || (j.Right != nil && hasOuterJoin(j.Right))
}

func (v *placeFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.SelectStmt:
		sc := scope{node: x, where: x.Where}
		if x.From != nil {
			sc.names = sourceNames(x.From.TableRefs)
			sc.outerJoin = hasOuterJoin(x.From.TableRefs)
		}
		v.scopes = append(v.scopes, sc)
		v.markFilters(x.Where)
	case *ast.UpdateStmt:
		v.scopes = append(v.scopes, scope{node: x, where: x.Where, outerJoin: x.TableRefs != nil && hasOuterJoin(x.TableRefs.TableRefs)})
		v.markFilters(x.Where)
	case *ast.DeleteStmt:
		v.scopes = append(v.scopes, scope{node: x, where: x.Where, outerJoin: x.TableRefs != nil && hasOuterJoin(x.TableRefs.TableRefs)})
		v.markFilters(x.Where)
	case *ast.WithClause:
		for _, cte := range x.CTEs {
			for i, r := range v.sharded {
				if strings.EqualFold(r.name, cte.Name.O) {
					v.out = append(v.out, place{table: i, name: cte.Name.L, cte: true})
				}
			}
		}
	case *ast.PatternInExpr:
		// NOT IN is left out: a NULL among the subquery's values (on any
		// shard) makes it NULL for every row, which no one shard sees.
		// So is an IN that is not a filter (see filters).
		if sq, ok := x.Sel.(*ast.SubqueryExpr); ok && !x.Not && v.filters[x] {
			if sel, ok := sq.Query.(*ast.SelectStmt); ok {
				if c, ok := x.Expr.(*ast.ColumnNameExpr); ok {
					if v.inOf == nil {
						v.inOf = map[*ast.SelectStmt]*ast.ColumnName{}
					}
					v.inOf[sel] = c.Name
				}
			}
		}
	case *ast.TableSource:
		tn, ok := x.Source.(*ast.TableName)
		if !ok || len(v.scopes) == 0 {
			break
		}
		schema := tn.Schema.O
		if schema == "" {
			schema = v.db
		}
		for i, r := range v.sharded {
			if strings.EqualFold(r.schema, schema) && strings.EqualFold(r.name, tn.Name.O) {
				s := v.scopes[len(v.scopes)-1]
				name := x.AsName.L
				if name == "" {
					name = tn.Name.L
				}
				pl := place{table: i, alias: x.AsName.O, name: name, top: s.node == v.root, where: s.where, outerJoin: s.outerJoin}
				if sel, ok := s.node.(*ast.SelectStmt); ok {
					pl.sel, pl.in = sel, v.inOf[sel]
				}
				// Names the scopes between it and the statement give: an
				// outer name given again there means an inner table.
				for _, sc := range v.scopes[1:] {
					for n := range sc.names {
						if pl.shadows == nil {
							pl.shadows = map[string]bool{}
						}
						pl.shadows[n] = true
					}
				}
				v.out = append(v.out, pl)
			}
		}
	}
	return n, false
}

func (v *placeFinder) Leave(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.SelectStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		v.scopes = v.scopes[:len(v.scopes)-1]
	}
	return n, true
}

// simplePlaces: every sharded table is named in the statement's own FROM
// only, and once, or several times joined on equal shard columns
// (comments a JOIN comments b ON a.product_id = b.product_id: each
// physical table joined with itself holds every pair), which the
// planner's pruning and co-location rules are made for.
//
// co, when not nil, also accepts a subquery correlated on the shard key of
// another table of the statement's FROM sharded by the same hash rule
// (coPlaced.correlated).
func simplePlaces(n ast.Node, places []place, sharded []tableRef, co *coPlaced) bool {
	first := map[int]place{}
	for _, p := range places {
		if p.cte {
			return false
		}
		if !p.top {
			if !correlatedOnKey(p, places, sharded[p.table].sharded.Column, sharded[p.table].sharded.SubColumn) && !co.correlated(p, places) {
				return false
			}
			continue
		}
		if f, seen := first[p.table]; seen {
			// An hourly table's rows of one hour are hashed again by its
			// second-level column: equal times alone are several tables.
			t := sharded[p.table].sharded
			if !joinedOn(n, f.alias, p.alias, t.Column) || (t.SubColumn != "" && !joinedOn(n, f.alias, p.alias, t.SubColumn)) {
				return false
			}
			continue
		}
		first[p.table] = p
	}
	return true
}

// correlatedOnKey reports a mention in a subquery that only reaches rows
// whose shard key equals the key of the statement's row (a top mention of
// the same table): the subquery's WHERE has inner.col = outer.col among
// its conjuncts (EXISTS, NOT EXISTS, scalar subqueries), or the subquery
// is `outer.col IN (SELECT inner.col FROM … WHERE …)` without grouping or
// LIMIT. Every row it can reach then lives in the outer row's physical
// table, so each physical table answers for its own rows. A hash rule's
// second-level column (hourly tables) must be correlated too.
func correlatedOnKey(p place, places []place, col, sub string) bool {
	if p.sel == nil {
		return false
	}
	outer := map[string]bool{}
	for _, q := range places {
		if q.top && q.table == p.table {
			outer[q.name] = true
		}
	}
	for n := range outer {
		if p.shadows[n] {
			return false // the name means an inner table there
		}
	}
	return correlatedColumn(p, outer, col) && (sub == "" || correlatedColumn(p, outer, sub))
}

func correlatedColumn(p place, outer map[string]bool, col string) bool {
	return correlatedWith(p, outer, col, col, false, false)
}

// correlatedWith reports inner.col = outer.outerCol among the conjuncts
// of p's WHERE, or p's SELECT being `outer.outerCol IN (SELECT inner.col
// …)` (see correlatedOnKey). bare: an unqualified outerCol in the WHERE
// is the outer table's (the caller made sure no table in between has the
// column); bareIn: so is an unqualified IN column (p's SELECT is a
// subquery of the statement itself, whose FROM has the outer table).
func correlatedWith(p place, outer map[string]bool, col, outerCol string, bare, bareIn bool) bool {
	inner := p.name
	isInner := func(c *ast.ColumnName) bool { return c.Name.L == col && (c.Table.L == "" || c.Table.L == inner) }
	isOuter := func(c *ast.ColumnName) bool {
		return c.Name.L == outerCol && (outer[c.Table.L] || bare && c.Table.L == "" && c.Schema.L == "")
	}
	if p.where != nil {
		for _, e := range conjuncts(p.where) {
			op, ok := e.(*ast.BinaryOperationExpr)
			if !ok || op.Op != opcode.EQ {
				continue
			}
			l, lok := op.L.(*ast.ColumnNameExpr)
			r, rok := op.R.(*ast.ColumnNameExpr)
			if lok && rok && ((isInner(l.Name) && isOuter(r.Name)) || (isOuter(l.Name) && isInner(r.Name))) {
				return true
			}
		}
	}
	// The IN's column is the outer statement's: unqualified, a name like
	// the outer table's shard column is that table's (as in
	// joinedOnShardColumns).
	if p.in != nil && (isOuter(p.in) || bareIn && p.in.Table.L == "" && p.in.Schema.L == "" && p.in.Name.L == outerCol) {
		s := p.sel
		if s.GroupBy == nil && s.Having == nil && s.Limit == nil && !hasAggregate(s) && s.Fields != nil && len(s.Fields.Fields) == 1 {
			if c, ok := s.Fields.Fields[0].Expr.(*ast.ColumnNameExpr); ok && isInner(c.Name) {
				return true
			}
		}
	}
	return false
}

// coPlaced accepts subqueries correlated on the shard key of another
// table: in `FROM orders WHERE EXISTS (SELECT * FROM lineitem WHERE
// l_orderkey = o_orderkey)`, with both tables hash-sharded by one rule
// (the same number of tables on the same clusters, keys of one class), an
// order's lines live in the physical table of the same number as the
// order, so each pair of tables answers for its own orders, as the join
// of the two on their keys does (colocated).
type coPlaced struct {
	pl      *Planner
	f       Facts
	sharded []tableRef
}

// sameRule: sharded tables i and j place equal keys in tables of the same
// number on the same cluster.
func (c *coPlaced) sameRule(i, j int) bool {
	a, b := c.sharded[i], c.sharded[j]
	ta, tb := a.sharded, b.sharded
	if ta.By != "hash" || tb.By != "hash" || ta.SubColumn != "" || tb.SubColumn != "" || ta.Count != tb.Count || strings.Join(ta.Clusters, ",") != strings.Join(tb.Clusters, ",") {
		return false
	}
	ka, kb := c.pl.keysFor(c.f, a.schema, ta).column(ta.Column), c.pl.keysFor(c.f, b.schema, tb).column(tb.Column)
	return ka != nil && kb != nil && keyClass(ka) == keyClass(kb)
}

// correlated reports a mention p in a subquery whose WHERE holds
// inner.key = outer.key (or that is `outer.key IN (SELECT inner.key …)`)
// with outer a mention in the statement's own FROM of a table of p's
// rule. TPC-H writes the outer column unqualified (o_orderkey): it is the
// outer table's when the subquery is the statement's own and no table of
// its FROM has a column of that name (by their definitions).
func (c *coPlaced) correlated(p place, places []place) bool {
	if c == nil || p.sel == nil {
		return false
	}
	direct := true // p's SELECT is a subquery of the statement itself
	own := map[string]bool{}
	if p.sel.From != nil {
		own = sourceNames(p.sel.From.TableRefs)
	}
	for n := range p.shadows {
		if !own[n] {
			direct = false
		}
	}
	for _, q := range places {
		if !q.top || q.table == p.table || p.shadows[q.name] || !c.sameRule(p.table, q.table) {
			continue
		}
		outerCol := strings.ToLower(c.sharded[q.table].sharded.Column)
		col := strings.ToLower(c.sharded[p.table].sharded.Column)
		bare := direct && col != outerCol && c.lacks(p.sel, outerCol)
		if correlatedWith(p, map[string]bool{q.name: true}, col, outerCol, bare, direct) {
			return true
		}
	}
	return false
}

// lacks: every table of sel's FROM is a table whose definition is known
// and has no column named col.
func (c *coPlaced) lacks(sel *ast.SelectStmt, col string) bool {
	if sel.From == nil || c.f.Defs == nil {
		return false
	}
	tables, _, ok := joinTables(sel.From.TableRefs)
	if !ok {
		return false
	}
	for _, ts := range tables {
		tn := ts.Source.(*ast.TableName)
		schema := tn.Schema.O
		if schema == "" {
			schema = c.f.DB
		}
		name := tn.Name.O
		if t := c.pl.sharded[schema][tn.Name.L]; t != nil {
			name = t.Name
		}
		cols, known := c.f.Defs.Columns(schema, name)
		if !known || tabledef.Index(cols, col) >= 0 {
			return false
		}
	}
	return true
}

// joinedOn reports a.col = b.col (by alias) as one of the conjuncts of the
// statement's WHERE or of a join's ON: every pair of rows the statement
// combines then has equal keys, in one physical table.
func joinedOn(n ast.Node, a, b, col string) bool {
	if a == "" || b == "" || strings.EqualFold(a, b) {
		return false
	}
	a, b = strings.ToLower(a), strings.ToLower(b)
	var conds []ast.ExprNode
	switch x := n.(type) {
	case *ast.SelectStmt:
		conds = append(conds, x.Where)
		if x.From != nil {
			conds = append(conds, onConditions(x.From.TableRefs, a, b)...)
			if usingJoins(x.From.TableRefs, a, b, col) {
				return true
			}
		}
	default:
		return false
	}
	for _, c := range conds {
		if c == nil {
			continue
		}
		for _, e := range conjuncts(c) {
			op, ok := e.(*ast.BinaryOperationExpr)
			if !ok || op.Op != opcode.EQ {
				continue
			}
			l, lok := op.L.(*ast.ColumnNameExpr)
			r, rok := op.R.(*ast.ColumnNameExpr)
			if !lok || !rok || l.Name.Name.L != col || r.Name.Name.L != col {
				continue
			}
			ta, tb := l.Name.Table.L, r.Name.Table.L
			if (ta == a && tb == b) || (ta == b && tb == a) {
				return true
			}
		}
	}
	return false
}

// usingJoins reports a join between mentions a and b (one on each side)
// by USING (…col…) or NATURAL (the same table: every column, col among
// them).
func usingJoins(rs ast.ResultSetNode, a, b, col string) bool {
	j, ok := rs.(*ast.Join)
	if !ok || j.Right == nil {
		return false
	}
	if usingJoins(j.Left, a, b, col) || usingJoins(j.Right, a, b, col) {
		return true
	}
	by := j.NaturalJoin
	for _, c := range j.Using {
		by = by || c.Name.L == col
	}
	if !by {
		return false
	}
	l, r := sourceNames(j.Left), sourceNames(j.Right)
	return (l[a] && r[b]) || (l[b] && r[a])
}

// sourceNames lists the names (aliases, or table names) a FROM subtree
// exposes, lower case.
func sourceNames(rs ast.ResultSetNode) map[string]bool {
	out := map[string]bool{}
	var walk func(rs ast.ResultSetNode)
	walk = func(rs ast.ResultSetNode) {
		switch x := rs.(type) {
		case *ast.Join:
			walk(x.Left)
			if x.Right != nil {
				walk(x.Right)
			}
		case *ast.TableSource:
			if x.AsName.L != "" {
				out[x.AsName.L] = true
			} else if tn, ok := x.Source.(*ast.TableName); ok {
				out[tn.Name.L] = true
			}
		}
	}
	walk(rs)
	return out
}

// onConditions lists the ON conditions of a FROM's joins that hold for
// every pair of rows of mentions a and b it gives: an inner join's (it
// keeps only the rows that satisfy it), an outer join's only when a and b
// are on opposite sides. Otherwise an outer join's ON only picks the rows
// its inner side adds: in `a LEFT JOIN b ON a.id = b.id LEFT JOIN l ON
// a.k = b.k` a and b are paired by id alone, across physical tables.
func onConditions(rs ast.ResultSetNode, a, b string) []ast.ExprNode {
	j, ok := rs.(*ast.Join)
	if !ok {
		return nil
	}
	out := onConditions(j.Left, a, b)
	if j.Right != nil {
		out = append(out, onConditions(j.Right, a, b)...)
	}
	if j.On != nil {
		opposite := false
		if j.Right != nil {
			l, r := sourceNames(j.Left), sourceNames(j.Right)
			opposite = (l[a] && r[b]) || (l[b] && r[a])
		}
		if j.Tp == ast.CrossJoin || opposite {
			out = append(out, j.On.Expr)
		}
	}
	return out
}

// pinnedTogether returns, per sharded table, the one physical table every
// place of it is pinned to by the WHERE of its own SELECT, when all of
// them are on one cluster: the statement then runs whole on that server,
// which holds every row each place can reach. ok is false otherwise.
func (pl *Planner) pinnedTogether(places []place, sharded []tableRef, f Facts) (sets [][]shard.Target, ok bool, err error) {
	pinned := make([]*shard.Target, len(sharded))
	cluster := ""
	for _, p := range places {
		if p.cte {
			return nil, false, nil
		}
		r := sharded[p.table]
		conds := parser.ExtractConds(p.where, matcher(p.alias, r.name, true))
		if p.outerJoin && (conds[r.sharded.Column].Null || (r.sharded.SubColumn != "" && conds[r.sharded.SubColumn].Null)) {
			// `a LEFT JOIN b ON … WHERE b.key IS NULL` keeps the rows of a
			// that no row of b joins, in any physical table of b.
			return nil, false, nil
		}
		ts, err := pl.targets(r.schema, r.sharded, conds, f)
		if err != nil {
			return nil, false, err
		}
		if len(ts) != 1 {
			return nil, false, nil
		}
		t := ts[0]
		if prev := pinned[p.table]; prev != nil && *prev != t {
			return nil, false, nil
		}
		if cluster != "" && t.Cluster != cluster {
			return nil, false, nil
		}
		pinned[p.table], cluster = &t, t.Cluster
	}
	for _, t := range pinned {
		if t == nil {
			return nil, false, nil
		}
		sets = append(sets, []shard.Target{*t})
	}
	return sets, true, nil
}

// placesRefusal explains a statement whose places cannot be planned.
func placesRefusal(sharded []tableRef) error {
	names := make([]string, len(sharded))
	for i, r := range sharded {
		names[i] = r.qualified()
	}
	return notSupported("%s is named more than once or inside a subquery or derived table, and not every mention is pinned to one physical table (on one server) by its shard key in the WHERE of its own SELECT: one server holding all the rows could answer it, the shards cannot yet", strings.Join(names, ", "))
}

// unionPlan runs a UNION (INTERSECT, EXCEPT) whole on one server when
// every mention of a sharded table in it is pinned there; merging the
// parts of one over several shards is not done yet.
func (pl *Planner) unionPlan(st *parser.Statement, f Facts, sharded []tableRef) (*draft, error) {
	sets, ok, err := pl.pinnedTogether(shardedPlaces(st.Node, sharded, f.DB), sharded, f)
	if err != nil {
		return nil, err
	}
	if !ok {
		if d, ok, err := pl.unionAllPlan(st, f); ok || err != nil {
			return d, err
		}
		return nil, notSupported("this UNION over sharded table %s (INTERSECT, EXCEPT, WITH, a part in parentheses, or an ALL union after a DISTINCT one) is supported only when every SELECT in it is pinned to one physical table (on one server) by its shard key", sharded[0].qualified())
	}
	steps, logical, err := render(st, f, sharded, sets)
	if err != nil {
		return nil, err
	}
	return &draft{Read: st.ReadOnly, Steps: steps, Logical: logical}, nil
}

// groupsLocal reports a GROUP BY whose every group lives in one physical
// table: it groups by the table's shard columns themselves (each, as a
// column of the one sharded table), so rows of a group share their keys,
// and keys route a row. Equal keys are one canonical key only where the
// column's definition is known (a string key is hashed by its collation's
// weight string, as GROUP BY compares it); WITH ROLLUP adds rows over
// several groups.
func (pl *Planner) groupsLocal(n *ast.SelectStmt, sharded []tableRef, f Facts) bool {
	if n.GroupBy == nil || n.GroupBy.Rollup {
		return false
	}
	alias, t, ok := pl.oneKeyedTable(n, sharded, f)
	return ok && listsShardColumns(n.GroupBy.Items, alias, t)
}

// oneKeyedTable is the statement's one sharded table, with the name its
// columns are qualified by, when its definition is known (so that equal
// values of its shard columns are one canonical key).
func (pl *Planner) oneKeyedTable(n *ast.SelectStmt, sharded []tableRef, f Facts) (string, *shard.Table, bool) {
	if len(sharded) != 1 {
		return "", nil, false
	}
	r := sharded[0]
	if k := pl.keysFor(f, r.schema, r.sharded); !k.known || k.legacy {
		return "", nil, false
	}
	alias := strings.ToLower(aliasOf(n, r))
	if alias == "" {
		alias = strings.ToLower(r.name)
	}
	if n.From != nil && nullSupplied(n.From.TableRefs, alias) {
		// Rows the outer join adds have NULL for its columns, from every
		// physical table: a group or partition of NULL spans them all.
		return "", nil, false
	}
	return alias, r.sharded, true
}

// nullSupplied reports the mention called name on the inner side of an
// outer join (the right of a LEFT JOIN, the left of a RIGHT JOIN).
func nullSupplied(rs ast.ResultSetNode, name string) bool {
	j, ok := rs.(*ast.Join)
	if !ok || j.Right == nil {
		return false
	}
	if (j.Tp == ast.LeftJoin && sourceNames(j.Right)[name]) || (j.Tp == ast.RightJoin && sourceNames(j.Left)[name]) {
		return true
	}
	return nullSupplied(j.Left, name) || nullSupplied(j.Right, name)
}

// listsShardColumns: items (GROUP BY, PARTITION BY) name every shard
// column of t, as plain columns of the table called alias.
func listsShardColumns(items []*ast.ByItem, alias string, t *shard.Table) bool {
	has := func(col string) bool {
		for _, item := range items {
			c, ok := item.Expr.(*ast.ColumnNameExpr)
			if ok && c.Name.Name.L == col && (c.Name.Table.L == "" || c.Name.Table.L == alias) {
				return true
			}
		}
		return false
	}
	return has(t.Column) && (t.SubColumn == "" || has(t.SubColumn))
}

// windowsLocal reports window functions whose every window partitions by
// the one sharded table's shard columns: each partition then lives in one
// physical table, and each shard computes the functions over whole
// partitions. Like groupsLocal, it needs the table's definition.
func (pl *Planner) windowsLocal(n *ast.SelectStmt, sharded []tableRef, f Facts) bool {
	alias, t, ok := pl.oneKeyedTable(n, sharded, f)
	if !ok {
		return false
	}
	named := map[string]*ast.WindowSpec{}
	for i := range n.WindowSpecs {
		named[n.WindowSpecs[i].Name.L] = &n.WindowSpecs[i]
	}
	// partition finds a window's PARTITION BY, through the named windows
	// it refers to.
	var partition func(s *ast.WindowSpec, depth int) *ast.PartitionByClause
	partition = func(s *ast.WindowSpec, depth int) *ast.PartitionByClause {
		if s.PartitionBy != nil || depth > len(named) {
			return s.PartitionBy
		}
		for _, ref := range []string{s.Ref.L, s.Name.L} {
			if w := named[ref]; ref != "" && w != nil && w != s {
				return partition(w, depth+1)
			}
		}
		return nil
	}
	local := true
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		w, ok := x.(*ast.WindowFuncExpr)
		if !ok {
			return local
		}
		p := partition(&w.Spec, 0)
		local = local && p != nil && listsShardColumns(p.Items, alias, t)
		return local
	}})
	return local
}

// subqueriesLocal reports subqueries and derived tables each shard can
// answer for its own rows: every table they read is a sharded table
// (whose mentions simplePlaces found correlated on the shard key) or a
// global one (the same rows on every server). Anything else (an
// unsharded table, information_schema) would be read once per shard.
func (pl *Planner) subqueriesLocal(n *ast.SelectStmt, db string) bool {
	ok := true
	depth := 0
	n.Accept(&enterLeave{
		enter: func(x ast.Node) {
			switch t := x.(type) {
			case *ast.SelectStmt, *ast.SetOprStmt:
				depth++
			case *ast.TableName:
				if depth <= 1 {
					return
				}
				schema := t.Schema.O
				if schema == "" {
					schema = db
				}
				if pl.sharded[schema][t.Name.L] != nil {
					return
				}
				s := pl.rules.Schemas[schema]
				if s == nil || s.Table(t.Name.O) == nil || !s.Table(t.Name.O).Global {
					ok = false
				}
			}
		},
		leave: func(x ast.Node) {
			switch x.(type) {
			case *ast.SelectStmt, *ast.SetOprStmt:
				depth--
			}
		},
	})
	return ok
}

// unionAllPlan plans a UNION over shards (no WITH), each SELECT planned
// as the SELECT it is (merged over its own shards), their rows one part
// after another (engine.UnionAll). UNION (DISTINCT) and an ORDER BY or
// LIMIT on the whole union are done by the proxy over those rows: each
// part returns, after its own columns, the value and WEIGHT_STRING of
// every column the proxy compares (every column for DISTINCT, the ORDER
// BY's otherwise), which it sorts in memory (within the statement's memory
// budget), deduplicates and limits. ok is false for other unions.
func (pl *Planner) unionAllPlan(st *parser.Statement, f Facts) (*draft, bool, error) {
	u, isUnion := st.Node.(*ast.SetOprStmt)
	if !isUnion || u.With != nil || u.SelectList == nil ||
		u.SelectList.OrderBy != nil || u.SelectList.Limit != nil || u.SelectList.With != nil || len(u.SelectList.Selects) < 2 {
		return nil, false, nil
	}
	// MariaDB: a DISTINCT union overrides every ALL union to its left, so
	// with the last operator DISTINCT the whole result is distinct. With an
	// ALL union after a DISTINCT one, only a prefix is: not done here.
	distinct, lastAll := false, false
	for i, n := range u.SelectList.Selects {
		sel, ok := n.(*ast.SelectStmt)
		if !ok || sel.With != nil {
			return nil, false, nil
		}
		if i == 0 {
			continue
		}
		switch op := sel.AfterSetOperator; {
		case op == nil:
			return nil, false, nil
		case *op == ast.UnionAll:
			lastAll = true
		case *op == ast.Union:
			distinct, lastAll = true, false
		default:
			return nil, false, nil // INTERSECT, EXCEPT
		}
	}
	if distinct && lastAll {
		return nil, false, nil
	}
	first := u.SelectList.Selects[0].(*ast.SelectStmt)
	width := len(first.Fields.Fields)
	// compared lists the columns the proxy compares, in the order of their
	// helper columns; order is the union's ORDER BY over them.
	var compared []int
	if distinct {
		for i := 0; i < width; i++ {
			compared = append(compared, i)
		}
	}
	type orderItem struct {
		column int
		desc   bool
		text   string
	}
	var order []orderItem
	if u.OrderBy != nil {
		for _, item := range u.OrderBy.Items {
			c := unionColumn(first, item.Expr)
			if c < 0 {
				return nil, true, notSupported("ORDER BY %s on a UNION over sharded tables: order by a column's position or name", restoreText(item.Expr))
			}
			if !slices.Contains(compared, c) {
				compared = append(compared, c)
			}
			order = append(order, orderItem{column: c, desc: item.Desc, text: restoreText(item.Expr)})
		}
	}
	count, offset := int64(-1), int64(0)
	if u.Limit != nil {
		var ok1, ok2 bool
		count, ok1 = literalInt(u.Limit.Count)
		offset, ok2 = literalInt(u.Limit.Offset)
		if !ok1 || !ok2 {
			return nil, true, notSupported("a LIMIT that is not a constant on a UNION over sharded tables")
		}
	}
	var parts []engine.RowSource
	for _, n := range u.SelectList.Selects {
		sel := n.(*ast.SelectStmt)
		if sel.SelectStmtOpts != nil && sel.SelectStmtOpts.CalcFoundRows {
			// FOUND_ROWS() then counts the whole union's rows; planned
			// alone, a part would count its own.
			return nil, true, notSupported("SQL_CALC_FOUND_ROWS in a UNION over sharded tables is not supported unless every SELECT in it is pinned to one physical table (on one server): count with SELECT COUNT(*)")
		}
		if len(sel.Fields.Fields) != width && !hasWildcard(sel) && !hasWildcard(first) {
			return nil, true, wire.Errorf(mysql.ER_WRONG_NUMBER_OF_COLUMNS_IN_SELECT, "The used SELECT statements have a different number of columns")
		}
		// The part as a statement of its own: planning rewrites the tree
		// it renders, so each is parsed from its text.
		// Its fields keep the names the client wrote (COUNT(*), not the
		// COUNT(1) the restored text would give them).
		keepColumnNames(sel)
		saved := sel.Fields.Fields
		for k, c := range compared {
			field := sel.Fields.Fields[c]
			if field.WildCard != nil || containsAggregate(field.Expr) || hasWindow(field.Expr) {
				sel.Fields.Fields = saved
				what := "*"
				if field.WildCard == nil {
					what = field.Text()
				}
				return nil, true, notSupported("UNION (DISTINCT) or an ORDER BY on a UNION over sharded tables comparing a column that is *, an aggregate or a window function (%s)", what)
			}
			sel.Fields.Fields = append(sel.Fields.Fields,
				&ast.SelectField{Expr: field.Expr, AsName: ast.NewCIStr(fmt.Sprintf("__sgu_%d", 2*k))},
				&ast.SelectField{Expr: weightOf(field.Expr), AsName: ast.NewCIStr(fmt.Sprintf("__sgu_%d", 2*k+1))})
		}
		wasDistinct := sel.Distinct
		// Each part's own duplicates go first (a grouped part's rows are
		// distinct by its groups already, and DISTINCT beside GROUP BY is
		// not merged).
		sel.Distinct = sel.Distinct || (distinct && sel.GroupBy == nil && !hasAggregate(sel))
		op := sel.AfterSetOperator
		sel.AfterSetOperator = nil
		text, err := parser.RestoreIn(sel, f.Text)
		sel.AfterSetOperator, sel.Fields.Fields, sel.Distinct = op, saved, wasDistinct
		if err != nil {
			return nil, true, err
		}
		p := parser.New()
		p.SetMode(f.Text)
		stmts, err := p.Parse(text)
		if err != nil {
			return nil, true, err
		}
		if len(stmts) != 1 || stmts[0].Kind != parser.KindSelect {
			return nil, false, nil
		}
		d, err := pl.plan(stmts[0], f)
		if err != nil {
			return nil, true, err
		}
		root, err := build(d, stmts[0])
		if err != nil {
			return nil, true, err
		}
		rs, ok := root.(engine.RowSource)
		if !ok {
			return nil, false, nil
		}
		parts = append(parts, rs)
	}
	var node engine.RowSource = &engine.UnionAll{Parts: parts}
	hidden := 2 * len(compared)
	keyOf := func(c int) engine.SortKey {
		k := slices.Index(compared, c)
		return engine.SortKey{Value: 2 * k, Weight: 2*k + 1}
	}
	if distinct {
		var keys []engine.SortKey
		var mem []engine.MemorySortKey
		for c := 0; c < width; c++ {
			k := keyOf(c)
			keys = append(keys, k)
			mem = append(mem, engine.MemorySortKey{Key: &k, Text: fmt.Sprintf("column %d", c+1)})
		}
		node = &engine.Distinct{Input: &engine.MemorySort{Input: node, Keys: mem, Hidden: hidden}, Keys: keys, Hidden: hidden}
	}
	if len(order) > 0 {
		var mem []engine.MemorySortKey
		for _, o := range order {
			k := keyOf(o.column)
			mem = append(mem, engine.MemorySortKey{Key: &k, Desc: o.desc, Text: o.text})
		}
		node = &engine.MemorySort{Input: node, Keys: mem, Hidden: hidden}
	}
	if count >= 0 {
		node = &engine.Limit{Input: node, Offset: offset, Count: count}
	}
	if hidden > 0 {
		node = &engine.Trim{Input: node, Hidden: hidden}
	}
	return &draft{Read: st.ReadOnly, Root: node}, true, nil
}

func hasWildcard(sel *ast.SelectStmt) bool {
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil {
			return true
		}
	}
	return false
}

// unionColumn is the column of a union's result an ORDER BY item names:
// by position, or by the name the first SELECT gives it (an alias, or a
// plain column's name); -1 for anything else.
func unionColumn(first *ast.SelectStmt, e ast.ExprNode) int {
	switch x := e.(type) {
	case *ast.PositionExpr:
		if x.N >= 1 && x.N <= len(first.Fields.Fields) {
			return x.N - 1
		}
	case *ast.ColumnNameExpr:
		if x.Name.Table.L != "" {
			return -1
		}
		for i, f := range first.Fields.Fields {
			name := f.AsName.L
			if c, ok := f.Expr.(*ast.ColumnNameExpr); ok && name == "" {
				name = c.Name.Name.L
			}
			if name == x.Name.Name.L {
				return i
			}
		}
	}
	return -1
}

// outerJoinRepeats reports an outer join whose inner side reads a sharded
// table while its preserved side reads none (a global table, a derived
// table of one): each shard returns the preserved rows its own tables do
// not join, so a row joined on one shard also comes back NULL-extended
// from every other.
func outerJoinRepeats(rs ast.ResultSetNode, sharded []tableRef, db string) bool {
	j, ok := rs.(*ast.Join)
	if !ok || j.Right == nil {
		return false
	}
	if outerJoinRepeats(j.Left, sharded, db) || outerJoinRepeats(j.Right, sharded, db) {
		return true
	}
	switch j.Tp {
	case ast.LeftJoin:
		return readsSharded(j.Right, sharded, db) && !readsSharded(j.Left, sharded, db)
	case ast.RightJoin:
		return readsSharded(j.Left, sharded, db) && !readsSharded(j.Right, sharded, db)
	}
	return false
}

// readsSharded reports a mention of one of the sharded tables in n.
func readsSharded(n ast.Node, sharded []tableRef, db string) bool {
	found := false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		if tn, ok := x.(*ast.TableName); ok {
			schema := tn.Schema.O
			if schema == "" {
				schema = db
			}
			for _, r := range sharded {
				if strings.EqualFold(r.schema, schema) && strings.EqualFold(r.name, tn.Name.O) {
					found = true
				}
			}
		}
		return !found
	}})
	return found
}
