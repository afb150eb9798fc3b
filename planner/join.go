package planner

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
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

// Joins evaluated in the proxy. A SELECT joining two tables that no
// server holds together — sharded tables of different rules or joined on
// other columns than their shard keys, a sharded table and a table of
// another cluster, tables of two clusters — is answered by an
// engine.LookupJoin: each table is read by a statement of its own (with
// the conditions that concern only it), one side drives and the other is
// looked up by IN lists of the driving rows' join-key values, and the
// proxy pairs the rows; or, where the lookups would not prune
// (hashJoinPays), by an engine.HashJoin that reads each side once. See
// README "Scatter-gather" for what is answered and what is refused.

// joinKeysMarker stands for the IN list of a lookup's values in the inner
// side's statements.
const joinKeysMarker = "__shardgate_join_keys__"

// maxJoinTables bounds the tables of one join in the proxy: each adds a
// level of lookups and its batch of held rows.
const maxJoinTables = 8

// joinField is one column of the joined row: a position in a table's
// select list.
type joinField struct{ Side, Index int }

// joinSide is one table of a join planned in the proxy.
type joinSide struct {
	ref    tableRef
	ts     *ast.TableSource
	qual   string // lower-case name the statement's columns qualify it by
	cols   []tabledef.Column
	known  bool // cols are known
	conds  []ast.ExprNode
	fields []string // its statement's select list
	// left: the table is the joined (inner) side of a LEFT JOIN (or the
	// left table of a RIGHT JOIN): NULL in extended rows.
	left bool
}

// add appends an item to the side's select list and returns its position.
func (s *joinSide) add(item string) int {
	s.fields = append(s.fields, item)
	return len(s.fields) - 1
}

// joinTables flattens a FROM of tables joined one after another (a JOIN
// b ON … LEFT JOIN c ON …; a, b, c): the tables in order and the join
// that brought each in (nil for the first). ok is false for any other
// shape (derived tables, a join nested on the right).
func joinTables(rs ast.ResultSetNode) (tables []*ast.TableSource, joins []*ast.Join, ok bool) {
	switch x := rs.(type) {
	case *ast.TableSource:
		if _, isName := x.Source.(*ast.TableName); !isName {
			return nil, nil, false
		}
		return []*ast.TableSource{x}, []*ast.Join{nil}, true
	case *ast.Join:
		if x.Right == nil {
			return joinTables(x.Left)
		}
		if tables, joins, ok = joinTables(x.Left); !ok {
			return nil, nil, false
		}
		r, isSource := x.Right.(*ast.TableSource)
		if !isSource {
			return nil, nil, false
		}
		if _, isName := r.Source.(*ast.TableName); !isName {
			return nil, nil, false
		}
		return append(tables, r), append(joins, x), true
	}
	return nil, nil, false
}

// joinShape: n reads two or more tables joined one after another.
func joinShape(n *ast.SelectStmt) bool {
	if n.From == nil || n.From.TableRefs == nil {
		return false
	}
	tables, _, ok := joinTables(n.From.TableRefs)
	return ok && len(tables) >= 2
}

// joinPlan plans a SELECT over tables joined one after another as a join
// in the proxy. nil, nil: the statement is not such a join.
func (pl *Planner) joinPlan(st *parser.Statement, f Facts) (*draft, error) {
	d, _, err := pl.joinPlanMeta(st, f, false)
	return d, err
}

// JoinMeta describes the result of a statement joined in the proxy for
// COM_STMT_PREPARE, which no one server can prepare: each part is a
// statement one server prepares (a table's own, or its aggregates over no
// rows), and each column of the result is a column of a part.
type JoinMeta struct {
	Parts   []MetaPart
	Columns []MetaColumn
}

// MetaPart is a statement for one cluster's primary. Setup runs on the
// same connection before it is prepared (the temporary table a join's
// rows go into, joinViaServer), Teardown after.
type MetaPart struct {
	Cluster, SQL    string
	Setup, Teardown []string
}

// MetaColumn is column Index of part Part; Nullable: the column of a
// LEFT JOIN's joined side, NULL in extended rows.
type MetaColumn struct {
	Part, Index int
	Nullable    bool
}

// JoinMetadata is the prepared metadata of a statement the proxy joins
// itself; nil when the statement is not one (MetadataSQL then serves), or
// the join's refusal.
func (pl *Planner) JoinMetadata(st *parser.Statement, f Facts) (*JoinMeta, error) {
	if n, ok := st.Node.(*ast.SelectStmt); !ok || !joinShape(n) {
		return nil, nil
	}
	if _, err := pl.plan(st, f); err == nil || !isNotSupported(err) {
		return nil, nil
	}
	// The join's refusal, as executing the statement would give it.
	_, meta, err := pl.joinPlanMeta(st, f, true)
	return meta, err
}

// metaPart makes a logical statement one server can prepare.
func (pl *Planner) metaPart(p *parser.Parser, sql string, f Facts) (MetaPart, error) {
	st, err := parseSide(p, sql)
	if err != nil {
		return MetaPart{}, err
	}
	cluster, physical, err := pl.metadataSQL(st, f, 3)
	return MetaPart{Cluster: cluster, SQL: physical}, err
}

// joinEq is an equality between a column of table a and one of table b;
// on is the LEFT-joined table whose ON holds it (-1: a WHERE's or an
// inner join's).
type joinEq struct {
	a, b   int
	ca, cb *ast.ColumnName
	text   string
	on     int
	node   ast.ExprNode
}

// joinKey is one equality as the lookup of table t uses it: t's column
// col equals column fromCol of the earlier table from.
type joinKey struct {
	col, fromCol string
	from         int
	idx, fromIdx int // their positions in each table's select list
	text         string
}

// errDefsUnknown: a column cannot be placed without a table's definition.
var errDefsUnknown = errors.New("definitions unknown")

// joinPlanMeta plans the join and describes its result; forMeta: only the
// description is wanted, at COM_STMT_PREPARE, where LIMIT ? has no value
// yet (it limits rows, not columns).
func (pl *Planner) joinPlanMeta(st *parser.Statement, f Facts, forMeta bool) (*draft, *JoinMeta, error) {
	d, meta, err := pl.joinPlanDefs(st, f, forMeta, false)
	if err != nil && isNotSupported(err) {
		// What the proxy does not evaluate itself (a select item or
		// condition over several tables, strings compared by collation)
		// the server evaluates over the joined rows (join_server.go);
		// when it cannot either, the first refusal stands.
		if sd, smeta, serr := pl.joinPlanDefs(st, f, forMeta, true); serr == nil && sd != nil {
			d, meta, err = sd, smeta, nil
		}
	}
	if errors.Is(err, errDefsUnknown) {
		return nil, nil, nil
	}
	return d, meta, err
}

// viaServer: the joined rows go into a temporary table and the server
// evaluates the rest of the statement over them (joinViaServer).
func (pl *Planner) joinPlanDefs(st *parser.Statement, f Facts, forMeta, viaServer bool) (*draft, *JoinMeta, error) {
	if _, ok := st.Node.(*ast.SelectStmt); !ok || strings.Contains(st.SQL, joinKeysMarker) {
		return nil, nil, nil
	}
	p := parser.New()
	p.SetMode(f.Text)
	fresh, err := p.Parse(st.SQL)
	if err != nil || len(fresh) != 1 {
		return nil, nil, nil
	}
	n, ok := fresh[0].Node.(*ast.SelectStmt)
	if !ok || n.From == nil || n.From.TableRefs == nil || n.With != nil || hasSubquery(n) || fresh[0].IntoUserVars {
		return nil, nil, nil
	}
	tss, joins, ok := joinTables(n.From.TableRefs)
	if !ok || len(tss) < 2 {
		return nil, nil, nil
	}
	if forMeta {
		n.Limit = nil
	}
	refuse := func(format string, args ...any) (*draft, *JoinMeta, error) {
		return nil, nil, notSupported("join in the proxy: "+format, args...)
	}
	for k, j := range joins[1:] {
		switch {
		case j.NaturalJoin || j.StraightJoin || len(j.Using) > 0:
			return refuse("NATURAL JOIN, STRAIGHT_JOIN and USING are not supported; write the join condition with ON")
		case j.Tp == ast.RightJoin && k > 0:
			// a JOIN b RIGHT JOIN c: the NULL-extended side is a join
			// of its own. (a RIGHT JOIN b … is b LEFT JOIN a ….)
			return refuse("a RIGHT JOIN after the first join is not supported; write it as a LEFT JOIN")
		case j.Tp != ast.CrossJoin && j.Tp != ast.LeftJoin && j.Tp != ast.RightJoin:
			return refuse("only inner, LEFT and RIGHT joins are supported")
		}
	}
	switch {
	case len(tss) > maxJoinTables:
		return refuse("at most %d tables are joined in the proxy", maxJoinTables)
	case n.LockInfo != nil && n.LockInfo.LockType != ast.SelectLockNone:
		return refuse("locking reads (FOR UPDATE, LOCK IN SHARE MODE) are not supported")
	case hasWindow(n) && !viaServer:
		// The server evaluates them over the joined rows (join_server.go).
		return refuse("window functions are not supported")
	case n.GroupBy != nil && n.GroupBy.Rollup && !viaServer:
		return refuse("WITH ROLLUP is not supported")
	case n.SelectStmtOpts != nil && n.SelectStmtOpts.CalcFoundRows:
		return refuse("SQL_CALC_FOUND_ROWS is not supported")
	}
	keepColumnNames(n)
	sides := make([]*joinSide, len(tss))
	for i, ts := range tss {
		tn := ts.Source.(*ast.TableName)
		schema := tn.Schema.O
		if schema == "" {
			schema = f.DB
		}
		s := pl.rules.Schemas[schema]
		if s == nil {
			return nil, nil, nil
		}
		ref := tableRef{schema: schema, name: tn.Name.O, rule: s.Table(tn.Name.O), sharded: pl.sharded[schema][tn.Name.L]}
		side := &joinSide{ref: ref, ts: ts, qual: ts.AsName.L}
		if side.qual == "" {
			side.qual = tn.Name.L
		}
		if f.Defs != nil {
			name := tn.Name.O
			if ref.sharded != nil {
				name = ref.sharded.Name
			}
			side.cols, side.known = f.Defs.Columns(schema, name)
		}
		for _, other := range sides[:i] {
			if other.qual == side.qual {
				return nil, nil, wire.Errorf(mysql.ER_NONUNIQ_TABLE, "Not unique table/alias: '%s'", ts.AsName.O)
			}
		}
		sides[i] = side
	}
	// The LEFT-joined tables (a RIGHT JOIN's left table); the order of
	// FROM, but a RIGHT JOIN's preserved table first.
	fromOrder := make([]int, len(sides))
	for i := range fromOrder {
		fromOrder[i] = i
	}
	leftOf := make([]int, len(joins)) // the table each join's ON is the outer join condition of (-1: inner)
	anyLeft := false
	for k, j := range joins {
		leftOf[k] = -1
		switch {
		case j == nil:
		case j.Tp == ast.LeftJoin:
			leftOf[k], sides[k].left, anyLeft = k, true, true
		case j.Tp == ast.RightJoin:
			// Only the first join (see above): b LEFT JOIN a, then the
			// rest in FROM's order.
			leftOf[k], sides[0].left, anyLeft = 0, true, true
			fromOrder[0], fromOrder[1] = 1, 0
		}
	}
	var resolveErr error
	sideOf := func(c *ast.ColumnName) int {
		for i, s := range sides {
			if c.Table.L == "" {
				continue
			}
			if c.Schema.L != "" && !strings.EqualFold(c.Schema.O, s.ref.schema) {
				continue
			}
			if c.Table.L == s.qual || (c.Schema.L != "" && c.Table.L == strings.ToLower(s.ref.name)) {
				return i
			}
		}
		if c.Table.L != "" {
			if resolveErr == nil {
				resolveErr = wire.Errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%s' in 'field list'", c.OrigColName())
			}
			return -1
		}
		found := -1
		for i, s := range sides {
			if !s.known {
				// Not known (a table that does not exist, most likely):
				// the planner's own answer stands.
				if resolveErr == nil {
					resolveErr = errDefsUnknown
				}
				return -1
			}
			if tabledef.Index(s.cols, c.Name.O) >= 0 {
				if found >= 0 {
					if resolveErr == nil {
						resolveErr = wire.Errorf(mysql.ER_NON_UNIQ_ERROR, "Column '%s' in field list is ambiguous", c.Name.O)
					}
					return -1
				}
				found = i
			}
		}
		if found < 0 && resolveErr == nil {
			// No definition has it: stale definitions, or a select alias;
			// the planner's own answer stands.
			resolveErr = errDefsUnknown
		}
		return found
	}
	// mask says which tables an expression reads (bit i: table i).
	mask := func(e ast.Node) uint64 {
		var m uint64
		e.Accept(&visitFn{fn: func(x ast.Node) bool {
			if c, ok := x.(*ast.ColumnNameExpr); ok {
				if i := sideOf(c.Name); i >= 0 {
					m |= 1 << i
				}
			}
			return true
		}})
		return m
	}
	only := func(m uint64) int { // the one table of m, -1 for none or several
		if bits.OnesCount64(m) != 1 {
			return -1
		}
		return bits.TrailingZeros64(m)
	}
	text := func(e ast.Node) (string, error) { return parser.RestoreIn(e, f.Text) }
	keyOf := func(e ast.ExprNode) (joinEq, bool) {
		b, ok := e.(*ast.BinaryOperationExpr)
		if !ok || b.Op != opcode.EQ {
			return joinEq{}, false
		}
		l, ok1 := b.L.(*ast.ColumnNameExpr)
		r, ok2 := b.R.(*ast.ColumnNameExpr)
		if !ok1 || !ok2 {
			return joinEq{}, false
		}
		sl, sr := sideOf(l.Name), sideOf(r.Name)
		if sl < 0 || sr < 0 || sl == sr {
			return joinEq{}, false
		}
		t, _ := text(e)
		return joinEq{a: sl, b: sr, ca: l.Name, cb: r.Name, text: t, on: -1, node: e}, true
	}
	// An outer join whose joined table a WHERE condition cannot let
	// through NULL (a comparison of one of its columns, col IS NOT NULL)
	// is an inner join, as MariaDB simplifies it: its columns keep NOT
	// NULL, and its conditions go to its statement.
	for _, c := range conjuncts(n.Where) {
		if c == nil {
			continue
		}
		t := nullRejected(c, sideOf)
		if resolveErr != nil {
			return nil, nil, resolveErr
		}
		if t < 0 || !sides[t].left {
			continue
		}
		sides[t].left = false
		for k := range leftOf {
			if leftOf[k] == t {
				leftOf[k] = -1
			}
		}
	}
	anyLeft = false
	for _, sd := range sides {
		anyLeft = anyLeft || sd.left
	}
	if !anyLeft {
		fromOrder = fromOrderIdx(len(sides))
	}
	var eqs []joinEq
	// residual are conditions of the WHERE (or an inner join's ON) that
	// no table's statement can check and that are no join key: the proxy
	// evaluates them on the joined rows (a WHERE applies after all joins;
	// an inner join's ON is one more WHERE).
	var residual []ast.ExprNode
	// place files one AND-ed condition: of a LEFT JOIN's ON (outer: the
	// joined table), or of the WHERE or an inner join's ON (outer -1).
	var place func(c ast.ExprNode, outer int) error
	place = func(c ast.ExprNode, outer int) error {
		m := mask(c)
		if resolveErr != nil {
			return resolveErr
		}
		t, _ := text(c)
		if outer >= 0 {
			if m == 1<<outer {
				sides[outer].conds = append(sides[outer].conds, c)
				return nil
			}
			if eq, ok := keyOf(c); ok && (eq.a == outer || eq.b == outer) {
				eq.on = outer
				eqs = append(eqs, eq)
				return nil
			}
			return notSupported("join in the proxy: the ON condition %s of an outer join must read only the joined (not the preserved) table, or be an equality between a column of each", t)
		}
		switch bits.OnesCount64(m) {
		case 0:
			for _, s := range sides {
				if !s.left {
					s.conds = append(s.conds, c)
				}
			}
		case 1:
			i := only(m)
			if sides[i].left {
				// It sees the NULL-extended rows: checked on them.
				residual = append(residual, c)
				return nil
			}
			sides[i].conds = append(sides[i].conds, c)
		default:
			eq, ok := keyOf(c)
			if !ok {
				residual = append(residual, c)
				// An OR of conjunctions implies what every branch holds
				// (TPC-H Q19's p_partkey = l_partkey, a join key) and,
				// per table, the OR of each branch's conditions on it
				// alone: read with the table, they narrow its rows; the
				// OR itself is still checked on the joined rows.
				common, per := impliedByOr(c, mask)
				if resolveErr != nil {
					return resolveErr
				}
				for t, e := range per {
					if !sides[t].left {
						sides[t].conds = append(sides[t].conds, e)
					}
				}
				for _, e := range common {
					if err := place(e, -1); err != nil {
						return err
					}
				}
				return nil
			}
			eqs = append(eqs, eq)
		}
		return nil
	}
	for k, j := range joins {
		if j == nil || j.On == nil {
			continue
		}
		for _, c := range conjuncts(j.On.Expr) {
			if err := place(c, leftOf[k]); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, c := range conjuncts(n.Where) {
		if c == nil {
			continue
		}
		if err := place(c, -1); err != nil {
			return nil, nil, err
		}
	}
	// The order tables are joined in: with outer joins, FROM's; else the
	// table pinned to fewest physical tables (then the one with
	// conditions) drives, and each next table is the best one joined by
	// an equality to those before it.
	scores := make([]int, len(sides))
	for i, s := range sides {
		sc, err := pl.sideScore(s, f)
		if err != nil {
			return nil, nil, err
		}
		scores[i] = sc
	}
	order := fromOrder
	if !anyLeft {
		order = nil
		in := make([]bool, len(sides))
		connected := func(t int) bool {
			for _, eq := range eqs {
				if (eq.a == t && in[eq.b]) || (eq.b == t && in[eq.a]) {
					return true
				}
			}
			return false
		}
		for len(order) < len(sides) {
			best := -1
			for t := range sides {
				if in[t] || (len(order) > 0 && !connected(t)) {
					continue
				}
				if best < 0 || scores[t] < scores[best] {
					best = t
				}
			}
			if best < 0 {
				for t := range sides {
					if !in[t] {
						return refuse("%s is joined on no equality with the other tables", sides[t].ref.qualified())
					}
				}
			}
			in[best] = true
			order = append(order, best)
		}
	}
	posOf := make([]int, len(sides))
	for pos, t := range order {
		posOf[t] = pos
	}
	keys := make([][]joinKey, len(sides))
	for _, eq := range eqs {
		later, earlier, lc, ec := eq.a, eq.b, eq.ca, eq.cb
		if posOf[eq.b] > posOf[eq.a] {
			later, earlier, lc, ec = eq.b, eq.a, eq.cb, eq.ca
		}
		if sides[later].left && eq.on != later {
			// A WHERE equality with an outer join's joined table: checked
			// on the joined rows, NULL-extended ones included.
			residual = append(residual, eq.node)
			continue
		}
		if eq.on >= 0 && eq.on != later {
			return refuse("the ON condition %s of an outer join compares its table with one joined after it", eq.text)
		}
		keys[later] = append(keys[later], joinKey{col: lc.Name.O, fromCol: ec.Name.O, from: earlier, text: eq.text})
	}
	for _, t := range order[1:] {
		if len(keys[t]) == 0 {
			return refuse("%s is joined on no equality with the tables before it", sides[t].ref.qualified())
		}
	}
	jp := &joinParts{p: p, st: st, n: n, f: f, sides: sides, order: order, posOf: posOf, scores: scores, keys: keys, residual: residual, forMeta: forMeta,
		sideOf: func(c *ast.ColumnName) (int, error) {
			i := sideOf(c)
			err := resolveErr
			resolveErr = nil
			return i, err
		}}
	if viaServer {
		return pl.joinViaServer(jp)
	}
	drive := order[0]
	colText := func(s *joinSide, name string) string {
		return parser.QuoteIdent(s.qual) + "." + parser.QuoteIdent(name)
	}
	// GROUP BY, aggregates and DISTINCT: the joined rows are merged as
	// shards' rows are (merge.go), each row its own partial (COUNT(x) is
	// x IS NOT NULL, SUM, MIN and MAX x itself), sorted by the keys in
	// memory first.
	var spec *MergeSpec
	if n.GroupBy != nil || n.Having != nil || hasAggregate(n) || n.Distinct {
		var err error
		if spec, err = mergeSpec(n, sides[0].ref.qualified()+" joined in the proxy with "+sides[1].ref.qualified(), false, fromColumns(n, f)); err != nil {
			return nil, nil, err
		}
		switch {
		case spec.DistinctAgg != "":
			return refuse("a lone COUNT(DISTINCT …) or SUM(DISTINCT …) is not supported; GROUP BY something, or count in a subquery")
		case n.Having != nil:
			return refuse("HAVING conditions on the GROUP BY columns alone are not supported; write them in the WHERE")
		}
	}
	visibleFields := len(n.Fields.Fields)
	if spec != nil {
		visibleFields = len(spec.fields)
	}
	// Aggregates shown: their definitions come from each table running
	// the aggregate over no rows (engine.LookupJoin.Meta).
	metaItems := make([][]string, len(sides))
	metaFields := make([][]int, len(sides))
	// The select list: each item computed by the table it reads.
	var fields []joinField
	var outText []string // each visible field's expression, for ORDER BY
	var outSide []int
	sideFor := func(m uint64, what string, e ast.Node) (int, error) {
		if m == 0 {
			return drive, nil
		}
		if i := only(m); i >= 0 {
			return i, nil
		}
		t, _ := text(e)
		return 0, notSupported("join in the proxy: the %s %s reads several tables", what, t)
	}
	for fi, sf := range n.Fields.Fields {
		if sf.WildCard != nil {
			for _, i := range fromOrderIdx(len(sides)) {
				s := sides[i]
				if sf.WildCard.Table.L != "" && sf.WildCard.Table.L != s.qual {
					continue
				}
				if !s.known {
					return nil, nil, nil // as for a column above
				}
				for _, c := range s.cols {
					t := colText(s, c.Name)
					fields = append(fields, joinField{Side: i, Index: s.add(t)})
					outText, outSide = append(outText, t), append(outSide, i)
				}
			}
			continue
		}
		m := mask(sf.Expr)
		if resolveErr != nil {
			return nil, nil, resolveErr
		}
		side, err := sideFor(m, "select item", sf.Expr)
		if err != nil {
			return nil, nil, err
		}
		t, err := text(sf.Expr)
		if err != nil {
			return nil, nil, err
		}
		name := ""
		if sf.AsName.O != "" {
			name = " AS " + parser.QuoteIdent(sf.AsName.O)
		}
		switch {
		case spec != nil && fi < visibleFields && containsAggregate(sf.Expr):
			// Its value is the merge's; its definition the table's.
			metaItems[side] = append(metaItems[side], t+name)
			metaFields[side] = append(metaFields[side], len(fields))
			fields = append(fields, joinField{Side: drive, Index: sides[drive].add("NULL" + name)})
		case spec != nil && fi >= visibleFields:
			row, err := oneRowPartial(sf.Expr, text)
			if err != nil {
				return nil, nil, err
			}
			fields = append(fields, joinField{Side: side, Index: sides[side].add(row + name)})
		default:
			fields = append(fields, joinField{Side: side, Index: sides[side].add(t + name)})
		}
		outText, outSide = append(outText, t), append(outSide, side)
	}
	visible := len(fields)
	if spec != nil {
		visible = visibleFields
	}
	// ORDER BY: each item's value and weight come from its table as
	// helper columns; the proxy sorts the joined rows in memory.
	var sortKeys []engine.MemorySortKey
	var orderBy []*ast.ByItem
	if spec == nil {
		orderBy = orderItems(n)
	}
	for _, item := range orderBy {
		e := item.Expr
		side, t := -1, ""
		if pos, ok := literalPosition(e); ok {
			if pos < 1 || pos > visible {
				return nil, nil, wire.Errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%d' in 'order clause'", pos)
			}
			side, t = outSide[pos-1], outText[pos-1]
		} else if c, ok := e.(*ast.ColumnNameExpr); ok && c.Name.Table.L == "" {
			// A name the select list gives a column (its alias, or a
			// plain column's own name: ORDER BY id after SELECT a.id,
			// when b has an id too) is that column, as MariaDB resolves
			// ORDER BY; two such columns are left to the tables (1052).
			matches := 0
			for i, sf := range n.Fields.Fields {
				name := sf.AsName.L
				if pc, plain := sf.Expr.(*ast.ColumnNameExpr); plain && name == "" {
					name = pc.Name.Name.L
				}
				if sf.WildCard == nil && name != "" && name == c.Name.Name.L && i < len(outSide) {
					if matches == 0 {
						side, t = outSide[i], outText[i]
					}
					matches++
				}
			}
			if matches > 1 {
				side, t = -1, ""
			}
		}
		if side < 0 {
			m := mask(e)
			if resolveErr != nil {
				return nil, nil, resolveErr
			}
			var err error
			if side, err = sideFor(m, "ORDER BY item", e); err != nil {
				return nil, nil, err
			}
			if t, err = text(e); err != nil {
				return nil, nil, err
			}
		}
		v := sides[side].add(t)
		w := sides[side].add(weightText(t))
		k := len(fields) - visible
		fields = append(fields, joinField{Side: side, Index: v}, joinField{Side: side, Index: w})
		st, _ := parser.RestoreIn(e, parser.TextMode{})
		sortKeys = append(sortKeys, engine.MemorySortKey{Key: &engine.SortKey{Value: k, Weight: k + 1}, Desc: item.Desc, Text: st})
	}
	hidden := len(fields) - visible
	// The residual conditions read their columns from the joined row, as
	// helper columns after all others (dropped once checked).
	var filter *engine.Filter
	filterCols := 0
	if len(residual) > 0 {
		cond := andAll(residual)
		shell := &MergeSpec{groupKey: map[string]int{}}
		var colErr error
		cond.Accept(&visitFn{fn: func(x ast.Node) bool {
			c, ok := x.(*ast.ColumnNameExpr)
			if !ok || colErr != nil {
				return colErr == nil
			}
			key := restoreText(c)
			if _, seen := shell.groupKey[key]; seen {
				return true
			}
			i := sideOf(c.Name)
			if i < 0 {
				colErr = resolveErr
				return false
			}
			t, _ := text(c)
			shell.groupKey[key] = len(shell.Keys)
			shell.Keys = append(shell.Keys, engine.SortKey{Value: hidden + filterCols})
			fields = append(fields, joinField{Side: i, Index: sides[i].add(t)})
			filterCols++
			return true
		}})
		if colErr != nil {
			return nil, nil, colErr
		}
		if err := residualEvaluable(cond, sides, sideOf); err != nil {
			return nil, nil, err
		}
		if err := shell.checkEvaluable(cond); err != nil {
			t, _ := text(cond)
			return refuse("the condition %s reads several tables (or an outer join's joined table) and is evaluated on the joined rows, but not by this version: %v", t, err)
		}
		t, _ := parser.RestoreIn(cond, parser.TextMode{})
		filter = &engine.Filter{Expr: shell.compile(cond), Hidden: hidden + filterCols, Text: t, Joined: true}
	}
	join, lastLookup, lastHash, err := pl.joinChain(jp, fields)
	if err != nil {
		return nil, nil, err
	}
	// The joined rows the rest reads: checked by the residual conditions.
	var joined engine.RowSource = join
	if filter != nil {
		filter.Input = join
		joined = &engine.Trim{Input: filter, Hidden: filterCols}
	}
	// What COM_STMT_PREPARE answers: each table prepared on its own.
	meta := &JoinMeta{}
	for _, t := range order {
		sql, err := pl.sideSQL(sides[t], "", f)
		if err != nil {
			return nil, nil, err
		}
		part, err := pl.metaPart(p, sql, f)
		if err != nil {
			return nil, nil, err
		}
		meta.Parts = append(meta.Parts, part)
	}
	for _, fd := range fields[:visible] {
		meta.Columns = append(meta.Columns, MetaColumn{Part: posOf[fd.Side], Index: fd.Index, Nullable: sides[fd.Side].left})
	}
	if spec != nil {
		for i, items := range metaItems {
			if len(items) == 0 {
				continue
			}
			r, err := pl.metaRoute(p, sides[i], items, st.ReadOnly, f)
			if err != nil {
				return nil, nil, err
			}
			if lastHash != nil {
				lastHash.Meta, lastHash.MetaFields = append(lastHash.Meta, r), append(lastHash.MetaFields, metaFields[i])
			} else {
				lastLookup.Meta, lastLookup.MetaFields = append(lastLookup.Meta, r), append(lastLookup.MetaFields, metaFields[i])
			}
			for k, field := range metaFields[i] {
				meta.Columns[field] = MetaColumn{Part: len(meta.Parts), Index: k}
			}
			meta.Parts = append(meta.Parts, MetaPart{Cluster: r.Cluster, SQL: r.SQL})
		}
		// An aggregate without GROUP BY answers one row over no rows.
		if lastHash != nil {
			lastHash.EmptyRow = !spec.Group && !spec.Distinct
		} else {
			lastLookup.EmptyRow = !spec.Group && !spec.Distinct
		}
		var node engine.RowSource = joined
		if len(spec.Keys) > 0 {
			keys := make([]engine.MemorySortKey, len(spec.Keys))
			for i, k := range spec.Keys {
				k := k
				keys[i] = engine.MemorySortKey{Key: &k, Desc: k.Desc, Text: fmt.Sprintf("key %d", i+1)}
			}
			node = &engine.MemorySort{Input: node, Keys: keys, Hidden: spec.Hidden}
		}
		return &draft{Read: st.ReadOnly, Root: stackMerge(spec, node, nil)}, meta, nil
	}
	var root engine.RowSource = joined
	if len(sortKeys) > 0 {
		root = &engine.MemorySort{Input: root, Keys: sortKeys, Hidden: hidden}
	}
	if n.Limit != nil {
		count, ok1 := literalInt(n.Limit.Count)
		offset, ok2 := literalInt(n.Limit.Offset)
		if !ok1 || !ok2 {
			return refuse("LIMIT must be given as numbers")
		}
		root = &engine.Limit{Input: root, Offset: offset, Count: count}
	}
	if hidden > 0 {
		root = &engine.Trim{Input: root, Hidden: hidden}
	}
	return &draft{Read: st.ReadOnly, Root: root}, meta, nil
}

// joinParts is a join in the proxy as planned up to its keys: the tables,
// the order they are joined in, the keys of each lookup and the
// conditions checked on the joined rows.
type joinParts struct {
	p        *parser.Parser
	st       *parser.Statement
	n        *ast.SelectStmt // the statement's own tree (fresh, changed freely)
	f        Facts
	sides    []*joinSide
	order    []int // tables in join order; posOf: each table's place in it
	posOf    []int
	scores   []int // sideScore of each table
	keys     [][]joinKey
	residual []ast.ExprNode
	forMeta  bool
	// sideOf resolves a column to its table (-1 with the error when it
	// cannot be placed).
	sideOf func(*ast.ColumnName) (int, error)
}

// joinChain is the join's plan: the first table's, then one join (lookup
// or hash) per further table (a joined row is the tables' columns in
// join order); the last join's row is fields, and meta statements and
// EmptyRow go to it (lastLookup or lastHash). It adds the key columns to
// each table's select list, last; the lookup column of a table is its
// shard column when one of its keys is.
func (pl *Planner) joinChain(jp *joinParts, fields []joinField) (join engine.RowSource, lastLookup *engine.LookupJoin, lastHash *engine.HashJoin, err error) {
	sides, order, keys, scores, f, p, st, posOf := jp.sides, jp.order, jp.keys, jp.scores, jp.f, jp.p, jp.st, jp.posOf
	drive := order[0]
	colText := func(s *joinSide, name string) string {
		return parser.QuoteIdent(s.qual) + "." + parser.QuoteIdent(name)
	}
	lookups := make([]int, len(sides))
	// hashed: the table is joined by a hash join (hashJoinPays). Its
	// string keys are read as the columns' own bytes (CAST … AS BINARY)
	// and compared by their collation in the proxy: a value the client's
	// character set cannot show (É under SET NAMES gbk) arrives as '?',
	// which would pair wrongly.
	hashed := make([]bool, len(sides))
	raw := make([][]bool, len(sides))
	for _, t := range order[1:] {
		s := sides[t]
		for i := range keys[t] {
			if s.ref.sharded != nil && strings.EqualFold(keys[t][i].col, s.ref.sharded.Column) {
				lookups[t] = i
			}
		}
		hashed[t] = hashJoinPays(s, scores[t], pl.lookupRoutable(s, keys[t][lookups[t]].col, f), sides[drive], scores[drive])
		for i := range keys[t] {
			k := &keys[t][i]
			kt, ft := colText(s, k.col), colText(sides[k.from], k.fromCol)
			r := false
			if hashed[t] {
				coll, err := keyCollation(s, k.col, sides[k.from], k.fromCol, k.text)
				if err != nil {
					return nil, nil, nil, err
				}
				if r = coll != "" && stringColumn(s, k.col) && stringColumn(sides[k.from], k.fromCol); r {
					kt, ft = "CAST("+kt+" AS BINARY)", "CAST("+ft+" AS BINARY)"
				}
			}
			raw[t] = append(raw[t], r)
			k.idx = s.add(kt)
			k.fromIdx = sides[k.from].add(ft)
		}
	}
	// The first table's plan, then one join (lookup or hash) per further
	// table; a joined row is the tables' columns in join order.
	firstSQL, err := pl.sideSQL(sides[drive], "", f)
	if err != nil {
		return nil, nil, nil, err
	}
	firstSt, err := parseSide(p, firstSQL)
	if err != nil {
		return nil, nil, nil, err
	}
	firstSt.ReadOnly = st.ReadOnly
	fp, err := pl.Plan(firstSt, f)
	if err != nil {
		return nil, nil, nil, err
	}
	src, ok := fp.Root.(engine.RowSource)
	if !ok {
		return nil, nil, nil, notSupported("join in the proxy: the statement of %s does not return rows", sides[drive].ref.qualified())
	}
	base := make([]int, len(order))
	for pos := 1; pos < len(order); pos++ {
		base[pos] = base[pos-1] + len(sides[order[pos-1]].fields)
	}
	marker := parser.StringLiteral([]byte(joinKeysMarker), f.Text)
	for pos := 1; pos < len(order); pos++ {
		t := order[pos]
		s := sides[t]
		lk := keys[t][lookups[t]]
		var outerKeys, innerKeys []int
		var colls, onText []string
		for _, k := range keys[t] {
			onText = append(onText, k.text)
			outerKeys = append(outerKeys, base[posOf[k.from]]+k.fromIdx)
			innerKeys = append(innerKeys, k.idx)
			coll, err := keyCollation(sides[t], k.col, sides[k.from], k.fromCol, k.text)
			if err != nil {
				return nil, nil, nil, err
			}
			colls = append(colls, coll)
		}
		var out []engine.JoinField
		if pos < len(order)-1 {
			for i := 0; i < base[pos]; i++ {
				out = append(out, engine.JoinField{Index: i})
			}
			for i := range s.fields {
				out = append(out, engine.JoinField{Inner: true, Index: i})
			}
		} else {
			for _, fd := range fields {
				if fd.Side == t {
					out = append(out, engine.JoinField{Inner: true, Index: fd.Index})
				} else {
					out = append(out, engine.JoinField{Index: base[posOf[fd.Side]] + fd.Index})
				}
			}
		}
		on := strings.Join(onText, " AND ")
		lastLookup, lastHash = nil, nil
		if hashed[t] {
			whole, err := pl.sidePlan(p, s, st.ReadOnly, f)
			if err != nil {
				return nil, nil, nil, err
			}
			// Cost rule: the side expected smaller is held (filtered <
			// full; both sharded, neither pinned); the driving side
			// counts as its first table.
			lastHash = &engine.HashJoin{
				Outer: src, Inner: whole, BuildOuter: scores[drive] < scores[t],
				OuterKeys: outerKeys, InnerKeys: innerKeys, RawKeys: raw[t], Left: s.left, Collations: colls, Fields: out, On: on,
			}
			join = lastHash
		} else {
			in := colText(s, lk.col) + " IN (" + marker + ")"
			routes, router, err := pl.innerRoutes(p, s, in, lk.col, marker, st.ReadOnly, f)
			if err != nil {
				return nil, nil, nil, err
			}
			lastLookup = &engine.LookupJoin{
				Outer: src, Inner: routes, Marker: marker, Router: router,
				OuterKeys: outerKeys, InnerKeys: innerKeys, Lookup: lookups[t], Left: s.left, Collations: colls,
				Fields: out, Mode: f.Text, On: on,
			}
			join = lastLookup
		}
		src = join
	}
	return join, lastLookup, lastHash, nil
}

// fromOrderIdx is 0 … n-1: * shows the tables' columns in FROM order.
func fromOrderIdx(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// orderItems are the statement's ORDER BY items (none: nil).
func orderItems(n *ast.SelectStmt) []*ast.ByItem {
	if n.OrderBy == nil {
		return nil
	}
	return n.OrderBy.Items
}

// literalPosition reads ORDER BY 2.
func literalPosition(e ast.ExprNode) (int, bool) {
	if p, ok := e.(*ast.PositionExpr); ok {
		return p.N, p.P == nil
	}
	v, null, ok := parser.Literal(e)
	if !ok || null {
		return 0, false
	}
	pos, err := strconv.Atoi(v)
	if err != nil || strconv.Itoa(pos) != v {
		return 0, false
	}
	return pos, true
}

func parseSide(p *parser.Parser, sql string) (*parser.Statement, error) {
	stmts, err := p.Parse(sql)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, errors.New("shardgate: a join side's statement is not one statement")
	}
	return stmts[0], nil
}

// sideSQL writes a side's statement: its select list, its table as the
// client named it, its own conditions and extra.
func (pl *Planner) sideSQL(s *joinSide, extra string, f Facts) (string, error) {
	from, err := parser.RestoreIn(s.ts, f.Text)
	if err != nil {
		return "", err
	}
	var conds []string
	for _, c := range s.conds {
		t, err := parser.RestoreIn(c, f.Text)
		if err != nil {
			return "", err
		}
		conds = append(conds, "("+t+")")
	}
	if extra != "" {
		conds = append(conds, extra)
	}
	items := strings.Join(s.fields, ",")
	if items == "" {
		items = "1" // (for sideScore, before the key columns are added)
	}
	sql := "SELECT " + items + " FROM " + from
	if len(conds) > 0 {
		sql += " WHERE " + strings.Join(conds, " AND ")
	}
	return sql, nil
}

// sideScore orders sides for driving: 0 pinned to one physical table, 1
// with conditions of its own on one cluster (one statement), 2 sharded
// with conditions of its own (a statement per physical table, none
// pruned by an index on the lookup column of the other side), 3 read
// whole. TPC-H query 19: part, filtered by brand, container and size,
// drives; lineitem is looked up by l_partkey (indexed) instead of
// scanned for its ship modes.
func (pl *Planner) sideScore(s *joinSide, f Facts) (int, error) {
	if s.ref.sharded != nil {
		sql, err := pl.sideSQL(s, "", f)
		if err != nil {
			return 0, err
		}
		p := parser.New()
		p.SetMode(f.Text)
		st, err := parseSide(p, sql)
		if err != nil {
			return 0, err
		}
		ts, err := pl.targets(s.ref.schema, s.ref.sharded, whereConds(st, s.ref), f)
		if err != nil {
			return 0, err
		}
		if len(ts) == 1 {
			return 0, nil
		}
	}
	if len(s.conds) > 0 {
		if s.ref.sharded != nil {
			return 2, nil
		}
		return 1, nil
	}
	return 3, nil
}

// hashJoinPays: a table is better read once, whole, by a hash join than
// looked up by IN lists. A lookup pays where it prunes: when the looked-up
// table's join column is its hash shard key (each value goes to one
// physical table), when its own conditions leave one physical table, when
// it is not sharded (one indexed statement per batch), or when the driving
// table is one table — pinned to one physical table, or not sharded (a
// dimension table, most often): few rows, few batches, each IN list
// reading only the rows that join. Otherwise (a sharded driving table
// read on several physical tables) every batch would go to every
// physical table of it, each read once per batch; a hash join reads each
// once.
func hashJoinPays(s *joinSide, score int, routable bool, drive *joinSide, driveScore int) bool {
	return s.ref.sharded != nil && !routable && score > 0 && drive.ref.sharded != nil && driveScore > 0
}

// lookupRoutable: lookups of s by col go each to the one physical table
// holding the value (s is hash-sharded by col, its key's type known).
func (pl *Planner) lookupRoutable(s *joinSide, col string, f Facts) bool {
	t := s.ref.sharded
	return t != nil && t.By == "hash" && strings.EqualFold(col, t.Column) && pl.keysFor(f, s.ref.schema, t).column(t.Column) != nil
}

// stringColumn: the side's column is known to hold text.
func stringColumn(s *joinSide, col string) bool {
	i := tabledef.Index(s.cols, col)
	if !s.known || i < 0 {
		return false
	}
	switch strings.ToLower(s.cols[i].DataType) {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		return true
	}
	return false
}

// sidePlan is the plan reading a side whole (its own conditions only),
// as the statement would read it alone.
func (pl *Planner) sidePlan(p *parser.Parser, s *joinSide, read bool, f Facts) (engine.RowSource, error) {
	sql, err := pl.sideSQL(s, "", f)
	if err != nil {
		return nil, err
	}
	st, err := parseSide(p, sql)
	if err != nil {
		return nil, err
	}
	st.ReadOnly = read
	plan, err := pl.Plan(st, f)
	if err != nil {
		return nil, err
	}
	src, ok := plan.Root.(engine.RowSource)
	if !ok {
		return nil, notSupported("join in the proxy: the statement of %s does not return rows", s.ref.qualified())
	}
	return src, nil
}

// innerRoutes are the inner side's statements, one per physical table it
// may read, each with in (the lookup column IN the marker) among its
// conditions; router places values when the lookup column is the
// table's hash shard key.
func (pl *Planner) innerRoutes(p *parser.Parser, s *joinSide, in, lookupCol, marker string, read bool, f Facts) ([]*engine.Route, engine.KeyRouter, error) {
	sql, err := pl.sideSQL(s, in, f)
	if err != nil {
		return nil, nil, err
	}
	st, err := parseSide(p, sql)
	if err != nil {
		return nil, nil, err
	}
	if s.ref.sharded == nil {
		cluster := pl.clusterOf(s.ref)
		if s.ref.rule != nil && s.ref.rule.Global {
			cluster = pl.rules.Schemas[s.ref.schema].Cluster
		}
		return []*engine.Route{{Cluster: cluster, SQL: sql, Replica: read}}, nil, nil
	}
	// The tables the side's own conditions leave (not the marker's).
	plain, err := pl.sideSQL(s, "", f)
	if err != nil {
		return nil, nil, err
	}
	pst, err := parseSide(p, plain)
	if err != nil {
		return nil, nil, err
	}
	t := s.ref.sharded
	targets, err := pl.targets(s.ref.schema, t, whereConds(pst, s.ref), f)
	if err != nil {
		return nil, nil, err
	}
	steps, logical, err := render(st, f, []tableRef{s.ref}, [][]shard.Target{targets})
	if err != nil {
		return nil, nil, err
	}
	routes := make([]*engine.Route, len(steps))
	for i, step := range steps {
		if strings.Count(step.SQL, marker) != 1 {
			return nil, nil, notSupported("join in the proxy: the lookup statement of %s could not be written", s.ref.qualified())
		}
		routes[i] = &engine.Route{Cluster: step.Cluster, Tables: step.Tables, SQL: step.SQL, Replica: read, Logical: logical}
	}
	var router engine.KeyRouter
	k := pl.keysFor(f, s.ref.schema, t)
	if pl.lookupRoutable(s, lookupCol, f) {
		pos := map[int]int{}
		for i, tg := range targets {
			for idx := 0; idx < t.Count; idx++ {
				if t.HashTarget(idx) == tg {
					pos[idx] = i
				}
			}
		}
		router = &joinKeyRouter{keys: k, t: t, name: s.ref.qualified(), pos: pos}
	}
	return routes, router, nil
}

// joinKeyRouter places lookup values on the physical tables of a table
// hash-sharded by the lookup column, reading them as the planner reads a
// WHERE's literals (planner/canon.go).
type joinKeyRouter struct {
	keys keys
	t    *shard.Table
	name string
	pos  map[int]int // hash index → route
}

func (r *joinKeyRouter) String() string {
	return fmt.Sprintf("%s by hash(%s)", r.name, r.t.Column)
}

func (r *joinKeyRouter) RouteKey(v []byte, col wire.Column) (int, bool) {
	val := parser.Value{Kind: parser.ValString, Text: string(v)}
	switch col.Type {
	case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_YEAR:
		val.Kind = parser.ValInt
	case mysql.MYSQL_TYPE_DECIMAL, mysql.MYSQL_TYPE_NEWDECIMAL:
		val.Kind = parser.ValDecimal
	case mysql.MYSQL_TYPE_FLOAT, mysql.MYSQL_TYPE_DOUBLE:
		return 0, true
	}
	idx, all := r.keys.readIndexes(r.t.Column, parser.Cond{Exact: true, Values: []parser.Value{val}}, r.t.Count)
	if all || len(idx) != 1 {
		return 0, true
	}
	p, ok := r.pos[idx[0]]
	if !ok {
		return -1, false // the side's own conditions left that table out
	}
	return p, false
}

// isNotSupported: err is a 1235 refusal.
func isNotSupported(err error) bool {
	var me *mysql.MyError
	return errors.As(err, &me) && me.Code == mysql.ER_NOT_SUPPORTED_YET
}

// oneRowPartial writes a merge helper column (merge.go) for one joined
// row: the partial aggregate a shard would return for a group of that
// row alone.
func oneRowPartial(e ast.ExprNode, text func(ast.Node) (string, error)) (string, error) {
	switch x := e.(type) {
	case *ast.AggregateFuncExpr:
		if len(x.Args) != 1 || x.Distinct {
			t, _ := text(x)
			return "", notSupported("join in the proxy: the aggregate %s is not supported", t)
		}
		arg, err := text(x.Args[0])
		if err != nil {
			return "", err
		}
		switch strings.ToLower(x.F) {
		case ast.AggFuncCount:
			return "(" + arg + ") IS NOT NULL", nil
		case ast.AggFuncSum, ast.AggFuncMin, ast.AggFuncMax:
			return arg, nil
		}
		t, _ := text(x)
		return "", notSupported("join in the proxy: the aggregate %s is not supported", t)
	case *ast.FuncCallExpr:
		if arg, ok := weightArg(x); ok {
			if a, ok := arg.(*ast.AggregateFuncExpr); ok {
				inner, err := oneRowPartial(a, text)
				if err != nil {
					return "", err
				}
				return weightText(inner), nil
			}
		}
	}
	return text(e)
}

// metaRoute is a side's statement of aggregates over no rows, whose
// column definitions are those of the aggregates over the joined rows.
func (pl *Planner) metaRoute(p *parser.Parser, s *joinSide, items []string, read bool, f Facts) (*engine.Route, error) {
	from, err := parser.RestoreIn(s.ts, f.Text)
	if err != nil {
		return nil, err
	}
	sql := "SELECT " + strings.Join(items, ",") + " FROM " + from + " WHERE 1=0"
	if s.ref.sharded == nil {
		cluster := pl.clusterOf(s.ref)
		if s.ref.rule != nil && s.ref.rule.Global {
			cluster = pl.rules.Schemas[s.ref.schema].Cluster
		}
		return &engine.Route{Cluster: cluster, SQL: sql, Replica: read}, nil
	}
	st, err := parseSide(p, sql)
	if err != nil {
		return nil, err
	}
	steps, logical, err := render(st, f, []tableRef{s.ref}, [][]shard.Target{{firstTable(s.ref.sharded)}})
	if err != nil {
		return nil, err
	}
	return &engine.Route{Cluster: steps[0].Cluster, Tables: steps[0].Tables, SQL: steps[0].SQL, Replica: read, Logical: logical}, nil
}

// keyCollation is the collation an equality of two string columns
// compares by, from the tables' definitions ("" when a definition is not
// known, or a column holds no text: the engine reads the result's column
// definitions). Columns of two collations are refused: MariaDB either
// refuses the comparison (1267) or converts one side, which the proxy
// does not follow.
func keyCollation(a *joinSide, ac string, b *joinSide, bc, text string) (string, error) {
	ia, ib := tabledef.Index(a.cols, ac), tabledef.Index(b.cols, bc)
	if !a.known || !b.known || ia < 0 || ib < 0 {
		return "", nil
	}
	ca, cb := strings.ToLower(a.cols[ia].Collation), strings.ToLower(b.cols[ib].Collation)
	switch {
	case ca == "" || cb == "":
		return "", nil
	case ca != cb:
		return "", notSupported("join in the proxy: the join condition %s compares columns of different collations (%s, %s)", text, ca, cb)
	}
	return ca, nil
}

// residualEvaluable refuses a condition checked on the joined rows that
// compares text or dates: the proxy's evaluator compares numbers, and a
// string's comparison depends on its collation. A column of any type may
// be tested with IS [NOT] NULL; other columns must be numbers, by the
// tables' definitions.
func residualEvaluable(cond ast.ExprNode, sides []*joinSide, sideOf func(*ast.ColumnName) int) error {
	underIsNull := map[*ast.ColumnNameExpr]bool{}
	cond.Accept(&visitFn{fn: func(x ast.Node) bool {
		if n, ok := x.(*ast.IsNullExpr); ok {
			if c, ok := n.Expr.(*ast.ColumnNameExpr); ok {
				underIsNull[c] = true
			}
		}
		return true
	}})
	var bad *ast.ColumnNameExpr
	cond.Accept(&visitFn{fn: func(x ast.Node) bool {
		c, ok := x.(*ast.ColumnNameExpr)
		if !ok || underIsNull[c] || bad != nil {
			return bad == nil
		}
		s := sides[sideOf(c.Name)]
		i := tabledef.Index(s.cols, c.Name.Name.O)
		if !s.known || i < 0 || !numericType(s.cols[i].DataType) {
			bad = c
		}
		return bad == nil
	}})
	if bad != nil {
		t, _ := parser.RestoreIn(bad, parser.TextMode{})
		c, _ := parser.RestoreIn(cond, parser.TextMode{})
		return notSupported("join in the proxy: the condition %s is evaluated on the joined rows, where the proxy compares only numbers and tests columns for NULL; %s is not known to be a number", c, t)
	}
	return nil
}

func numericType(dataType string) bool {
	switch strings.ToLower(dataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric", "float", "double", "real":
		return true
	}
	return false
}

// nullRejected is the table whose NULL-extended rows the condition c
// never lets through (-1: none known): a comparison with one of its
// columns, or its column IS NOT NULL.
func nullRejected(c ast.ExprNode, sideOf func(*ast.ColumnName) int) int {
	col := func(e ast.ExprNode) int {
		if p, ok := e.(*ast.ParenthesesExpr); ok {
			e = p.Expr
		}
		if c, ok := e.(*ast.ColumnNameExpr); ok {
			return sideOf(c.Name)
		}
		return -1
	}
	switch x := c.(type) {
	case *ast.ParenthesesExpr:
		return nullRejected(x.Expr, sideOf)
	case *ast.IsNullExpr:
		if x.Not {
			return col(x.Expr)
		}
	case *ast.BinaryOperationExpr:
		switch x.Op {
		case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE:
			if t := col(x.L); t >= 0 {
				return t
			}
			return col(x.R)
		}
	}
	return -1
}
