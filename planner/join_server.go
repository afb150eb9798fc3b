package planner

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/tabledef"
	"github.com/shardgate/shardgate/wire"
)

// Joins in the proxy whose rest the server evaluates. The proxy pairs the
// rows of tables no server holds together (joinChain), but evaluates
// over the joined rows only what its own evaluator gets exactly right:
// numbers, NULL tests, aggregates of one table's columns. A select item,
// condition, GROUP BY, HAVING or ORDER BY that mixes the tables' columns
// in any other way (TPC-H Q14's SUM(CASE WHEN p_type LIKE 'PROMO%' THEN
// l_extendedprice*(1-l_discount) …), Q19's OR of conditions on strings of
// both tables) is left to MariaDB: the joined rows, only the columns the
// statement reads, are copied into a temporary table on one cluster
// (engine.Materialize, as derived tables over shards are), created from
// the tables' definitions (their types, character sets and collations),
// and the statement runs there over it, its tables replaced by the
// temporary table and its WHERE by the conditions the join did not
// already apply.

// MaxJoinedRows is how many joined rows the proxy copies into a temporary
// table for the server to finish the statement over; they are also
// reserved from the statement's memory limit.
const MaxJoinedRows = MaxDerivedRows

// joinedTemp names the temporary table of joined rows: with spaces, not a
// name a client writes by chance.
const joinedTemp = "shardgate joined rows"

// joinViaServer plans the join's rows into a temporary table and the
// statement over it.
func (pl *Planner) joinViaServer(jp *joinParts) (*draft, *JoinMeta, error) {
	n, f, sides := jp.n, jp.f, jp.sides
	refuse := func(format string, args ...any) (*draft, *JoinMeta, error) {
		return nil, nil, notSupported("join in the proxy: "+format, args...)
	}
	if n.Limit != nil && !jp.forMeta {
		if _, ok := literalInt(n.Limit.Count); !ok {
			return refuse("LIMIT must be given as numbers")
		}
		if _, ok := literalInt(n.Limit.Offset); !ok {
			return refuse("LIMIT must be given as numbers")
		}
	}
	// * and t.* are the tables' columns in FROM order, named as they are.
	var fields []*ast.SelectField
	for _, sf := range n.Fields.Fields {
		if sf.WildCard == nil {
			fields = append(fields, sf)
			continue
		}
		for _, s := range sides {
			if sf.WildCard.Table.L != "" && sf.WildCard.Table.L != s.qual {
				continue
			}
			if !s.known {
				return nil, nil, errDefsUnknown
			}
			for _, c := range s.cols {
				fields = append(fields, &ast.SelectField{
					Expr:   &ast.ColumnNameExpr{Name: &ast.ColumnName{Table: ast.NewCIStr(s.qual), Name: ast.NewCIStr(c.Name)}},
					AsName: ast.NewCIStr(c.Name),
				})
			}
		}
	}
	n.Fields.Fields = fields
	// The columns the rest of the statement reads, each once.
	type need struct {
		side int
		col  tabledef.Column
		refs []*ast.ColumnName
		temp string
	}
	var needs []*need
	byKey := map[string]*need{}
	var colErr error
	resolve := func(c *ast.ColumnName) (int, int, error) {
		if c.Table.L != "" {
			i, err := jp.sideOf(c)
			if err != nil || i < 0 {
				return -1, -1, err
			}
			s := sides[i]
			if !s.known {
				return -1, -1, errDefsUnknown
			}
			k := tabledef.Index(s.cols, c.Name.O)
			if k < 0 {
				return -1, -1, wire.Errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%s' in 'field list'", c.OrigColName())
			}
			return i, k, nil
		}
		side, col := -1, -1
		for i, s := range sides {
			if !s.known {
				return -1, -1, errDefsUnknown
			}
			if k := tabledef.Index(s.cols, c.Name.O); k >= 0 {
				if side >= 0 {
					return -1, -1, wire.Errorf(mysql.ER_NON_UNIQ_ERROR, "Column '%s' in field list is ambiguous", c.Name.O)
				}
				side, col = i, k
			}
		}
		// No table has it: a select alias (ORDER BY, HAVING), left as is.
		return side, col, nil
	}
	// The names the select list gives its columns: an unqualified ORDER
	// BY name is one of them before it is a table's column (as MariaDB
	// resolves it; GROUP BY and HAVING look at the tables first).
	selectNames := map[string]bool{}
	for _, sf := range n.Fields.Fields {
		if sf.AsName.L != "" {
			selectNames[sf.AsName.L] = true
		} else if c, ok := sf.Expr.(*ast.ColumnNameExpr); ok {
			selectNames[c.Name.Name.L] = true
		}
	}
	collectIn := func(e ast.Node, aliasFirst bool) {
		if e == nil || colErr != nil {
			return
		}
		e.Accept(&visitFn{fn: func(x ast.Node) bool {
			cn, ok := x.(*ast.ColumnNameExpr)
			if !ok || colErr != nil {
				return colErr == nil
			}
			if aliasFirst && cn.Name.Table.L == "" && selectNames[cn.Name.Name.L] {
				return true
			}
			side, k, err := resolve(cn.Name)
			if err != nil {
				colErr = err
				return false
			}
			if side < 0 {
				return true
			}
			key := sides[side].qual + "\x00" + strings.ToLower(sides[side].cols[k].Name)
			nd := byKey[key]
			if nd == nil {
				nd = &need{side: side, col: sides[side].cols[k]}
				byKey[key] = nd
				needs = append(needs, nd)
			}
			nd.refs = append(nd.refs, cn.Name)
			return true
		}})
	}
	collect := func(e ast.Node) { collectIn(e, false) }
	for _, sf := range n.Fields.Fields {
		collect(sf.Expr)
	}
	var where ast.ExprNode
	if len(jp.residual) > 0 {
		where = andAll(jp.residual)
		collect(where)
	}
	if n.GroupBy != nil {
		for _, it := range n.GroupBy.Items {
			collect(it.Expr)
		}
	}
	if n.Having != nil {
		collect(n.Having.Expr)
	}
	if n.OrderBy != nil {
		for _, it := range n.OrderBy.Items {
			collectIn(it.Expr, true)
		}
	}
	if colErr != nil {
		return nil, nil, colErr
	}
	// Each column keeps its own name in the temporary table, so the
	// statement reads as written (an ORDER BY name that is a select alias
	// and a column resolves as on one server); names two tables share
	// are told apart by the table's name.
	count := map[string]int{}
	for _, nd := range needs {
		count[strings.ToLower(nd.col.Name)]++
	}
	for i, nd := range needs {
		nd.temp = nd.col.Name
		if count[strings.ToLower(nd.col.Name)] > 1 {
			nd.temp = sides[nd.side].qual + "." + nd.col.Name
			if utf8.RuneCountInString(nd.temp) > 64 {
				nd.temp = "shardgate column " + strconv.Itoa(i)
			}
		}
	}
	// The temporary table lives on the cluster of the first table that
	// lives on one cluster only, else the first table's schema's.
	cluster, schema := "", ""
	for _, s := range sides {
		if s.ref.sharded == nil && (s.ref.rule == nil || !s.ref.rule.Global) {
			cluster, schema = pl.clusterOf(s.ref), s.ref.schema
			break
		}
	}
	if cluster == "" {
		schema = sides[0].ref.schema
		cluster = pl.rules.Schemas[schema].Cluster
	}
	temp := parser.QuoteIdent(schema) + "." + parser.QuoteIdent(joinedTemp)
	var ddl []string
	var joined []joinField
	origins := map[string]engine.ColumnOrigin{}
	// WITH ROLLUP's super-aggregate rows hold NULL in the GROUP BY
	// columns: MariaDB describes those columns as nullable whatever the
	// table says, and so they are created.
	rolledUp := map[*need]bool{}
	if n.GroupBy != nil && n.GroupBy.Rollup {
		for _, it := range n.GroupBy.Items {
			it.Expr.Accept(&visitFn{fn: func(x ast.Node) bool {
				if cn, ok := x.(*ast.ColumnNameExpr); ok {
					for _, nd := range needs {
						for _, r := range nd.refs {
							if r == cn.Name {
								rolledUp[nd] = true
							}
						}
					}
				}
				return true
			}})
		}
	}
	for _, nd := range needs {
		s := sides[nd.side]
		def, err := tempColumnDDL(nd.col, s.left || rolledUp[nd])
		if err != nil {
			return refuse("the rows of %s joined with the other tables are copied into a temporary table for the server to evaluate the statement over, and %v", s.ref.qualified(), err)
		}
		ddl = append(ddl, parser.QuoteIdent(nd.temp)+" "+def)
		item := parser.QuoteIdent(s.qual) + "." + parser.QuoteIdent(nd.col.Name)
		joined = append(joined, joinField{Side: nd.side, Index: s.add(item)})
		origins[nd.temp] = engine.ColumnOrigin{Table: s.ts.AsName.O, OrgTable: s.ref.name, Name: nd.col.Name}
		if origins[nd.temp].Table == "" {
			origins[nd.temp] = engine.ColumnOrigin{Table: s.ref.name, OrgTable: s.ref.name, Name: nd.col.Name}
		}
	}
	if len(needs) == 0 {
		// COUNT(*) alone: the rows still count.
		ddl = append(ddl, "`shardgate row` TINYINT")
		s := sides[jp.order[0]]
		joined = append(joined, joinField{Side: jp.order[0], Index: s.add("1")})
	}
	create := "CREATE TEMPORARY TABLE " + temp + " (" + strings.Join(ddl, ", ") + ")"
	join, _, _, err := pl.joinChain(jp, joined)
	if err != nil {
		return nil, nil, err
	}
	// The statement over the joined rows: the conditions the join did not
	// apply, everything else as written, the columns renamed. Plain
	// columns of the select list keep the name they were written with.
	for _, sf := range n.Fields.Fields {
		if c, ok := sf.Expr.(*ast.ColumnNameExpr); ok && sf.AsName.O == "" {
			sf.AsName = ast.NewCIStr(c.Name.Name.O)
		}
	}
	for _, nd := range needs {
		for _, r := range nd.refs {
			r.Schema, r.Table, r.Name = ast.CIStr{}, ast.CIStr{}, ast.NewCIStr(nd.temp)
		}
	}
	n.From = &ast.TableRefsClause{TableRefs: &ast.Join{Left: &ast.TableSource{Source: &ast.TableName{Schema: ast.NewCIStr(schema), Name: ast.NewCIStr(joinedTemp)}}}}
	n.Where = where
	sql, err := parser.RestoreIn(n, f.Text)
	if err != nil {
		return nil, nil, err
	}
	m := &engine.Materialize{
		Cluster: cluster, Replica: jp.st.ReadOnly, SQL: sql, Origins: origins,
		What: "the rows of a join in the proxy",
		Tables: []engine.TempTable{{
			Name: temp, Source: join, MaxRows: MaxJoinedRows, Create: create,
			What:    "the joined rows copied for the server to evaluate the statement over",
			TooMany: "shardgate: join in the proxy: the join returns more than " + strconv.Itoa(MaxJoinedRows) + " rows, the most the proxy copies into a temporary table for the server to evaluate the rest of the statement over; narrow it",
		}},
	}
	meta := &JoinMeta{Parts: []MetaPart{{Cluster: cluster, SQL: sql, Setup: []string{create}, Teardown: []string{"DROP TEMPORARY TABLE IF EXISTS " + temp}}}}
	for i := range n.Fields.Fields {
		meta.Columns = append(meta.Columns, MetaColumn{Part: 0, Index: i})
	}
	return &draft{Read: jp.st.ReadOnly, Root: m}, meta, nil
}

// tempColumnDDL is a column of the temporary table of joined rows as the
// table's definition has it (NULL allowed for an outer join's joined
// table, whose extended rows hold NULL).
func tempColumnDDL(c tabledef.Column, nullable bool) (string, error) {
	switch strings.ToLower(c.DataType) {
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return "", notSupported("its column %s is spatial, which cannot be copied", c.Name)
	case "timestamp":
		// NULL: no automatic default or update of the first TIMESTAMP.
		return c.ColumnType + " NULL DEFAULT NULL", nil
	}
	t := c.ColumnType
	if c.Collation != "" && c.Charset != "" {
		t += " CHARACTER SET " + c.Charset + " COLLATE " + c.Collation
	}
	if !c.Nullable && !nullable {
		t += " NOT NULL"
	}
	return t, nil
}

// impliedByOr reads an OR of conjunctions: the conjuncts every branch
// has (by their text), and for each table the OR of each branch's
// conjuncts on that table alone, when every branch has some (each branch
// that is true makes them true; NULLs included). mask says which tables
// an expression reads.
func impliedByOr(c ast.ExprNode, mask func(ast.Node) uint64) (common []ast.ExprNode, per map[int]ast.ExprNode) {
	var branches []ast.ExprNode
	var flatten func(e ast.ExprNode)
	flatten = func(e ast.ExprNode) {
		switch x := e.(type) {
		case *ast.ParenthesesExpr:
			flatten(x.Expr)
			return
		case *ast.BinaryOperationExpr:
			if x.Op == opcode.LogicOr {
				flatten(x.L)
				flatten(x.R)
				return
			}
		}
		branches = append(branches, e)
	}
	flatten(c)
	if len(branches) < 2 {
		return nil, nil
	}
	// a.k = b.k and b.k = a.k are one condition.
	text := func(e ast.Node) string {
		if b, ok := e.(*ast.BinaryOperationExpr); ok && b.Op == opcode.EQ {
			l, _ := parser.RestoreIn(b.L, parser.TextMode{})
			r, _ := parser.RestoreIn(b.R, parser.TextMode{})
			if r < l {
				l, r = r, l
			}
			return l + " = " + r
		}
		t, _ := parser.RestoreIn(e, parser.TextMode{})
		return t
	}
	conj := make([][]ast.ExprNode, len(branches))
	texts := make([]map[string]bool, len(branches))
	for i, b := range branches {
		conj[i] = conjuncts(b)
		texts[i] = map[string]bool{}
		for _, e := range conj[i] {
			texts[i][text(e)] = true
		}
	}
	for _, e := range conj[0] {
		t, all := text(e), true
		for i := 1; i < len(branches); i++ {
			all = all && texts[i][t]
		}
		if all {
			common = append(common, e)
		}
	}
	m := mask(c)
	for t := 0; m>>t != 0; t++ {
		if m&(1<<t) == 0 {
			continue
		}
		var or ast.ExprNode
		for i := range branches {
			var own []ast.ExprNode
			for _, e := range conj[i] {
				if mask(e) == 1<<t {
					own = append(own, e)
				}
			}
			if len(own) == 0 {
				or = nil
				break
			}
			b := &ast.ParenthesesExpr{Expr: andAll(own)}
			if or == nil {
				or = b
			} else {
				or = &ast.BinaryOperationExpr{Op: opcode.LogicOr, L: or, R: b}
			}
		}
		if or != nil {
			if per == nil {
				per = map[int]ast.ExprNode{}
			}
			per[t] = or
		}
	}
	return common, per
}
