package planner

import (
	"errors"
	"fmt"
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
// proxy pairs the rows. See README "Scatter-gather" for what is answered
// and what is refused.

// joinKeysMarker stands for the IN list of a lookup's values in the inner
// side's statements.
const joinKeysMarker = "__shardgate_join_keys__"

// joinField is one column of the joined row: a position in a side's
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
}

// add appends an item to the side's select list and returns its position.
func (s *joinSide) add(item string) int {
	s.fields = append(s.fields, item)
	return len(s.fields) - 1
}

// joinShape is the two tables of a join the proxy may evaluate: nil when
// the statement is not one (the planner's refusal then stands).
func joinShape(n *ast.SelectStmt) (left, right *ast.TableSource, j *ast.Join) {
	if n.From == nil || n.From.TableRefs == nil {
		return nil, nil, nil
	}
	j = n.From.TableRefs
	first := j.Left
	if inner, ok := first.(*ast.Join); ok && inner.Right == nil {
		// FROM a, b: the first table comes wrapped in a join of its own.
		first = inner.Left
	}
	l, ok1 := first.(*ast.TableSource)
	r, ok2 := j.Right.(*ast.TableSource)
	if !ok1 || !ok2 {
		return nil, nil, nil
	}
	if _, ok := l.Source.(*ast.TableName); !ok {
		return nil, nil, nil
	}
	if _, ok := r.Source.(*ast.TableName); !ok {
		return nil, nil, nil
	}
	return l, r, j
}

// joinPlan plans a two-table SELECT as a join in the proxy. nil, nil: the
// statement is not such a join.
func (pl *Planner) joinPlan(st *parser.Statement, f Facts) (*draft, error) {
	d, _, err := pl.joinPlanMeta(st, f)
	return d, err
}

// JoinMeta describes the result of a statement joined in the proxy for
// COM_STMT_PREPARE, which no one server can prepare: each part is a
// statement one server prepares (a side's own, or its aggregates over no
// rows), and each column of the result is a column of a part.
type JoinMeta struct {
	Parts   []MetaPart
	Columns []MetaColumn
}

// MetaPart is a statement for one cluster's primary.
type MetaPart struct{ Cluster, SQL string }

// MetaColumn is column Index of part Part; Nullable: the column of a
// LEFT JOIN's joined side, NULL in extended rows.
type MetaColumn struct {
	Part, Index int
	Nullable    bool
}

// JoinMetadata is the prepared metadata of a statement the proxy joins
// itself; nil when the statement is not one (MetadataSQL then serves).
func (pl *Planner) JoinMetadata(st *parser.Statement, f Facts) (*JoinMeta, error) {
	if n, ok := st.Node.(*ast.SelectStmt); !ok {
		return nil, nil
	} else if l, _, _ := joinShape(n); l == nil {
		return nil, nil
	}
	if _, err := pl.plan(st, f); err == nil || !isNotSupported(err) {
		return nil, nil
	}
	_, meta, err := pl.joinPlanMeta(st, f)
	if err != nil || meta == nil {
		return nil, nil // the statement's own refusal comes at execution
	}
	return meta, nil
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

func (pl *Planner) joinPlanMeta(st *parser.Statement, f Facts) (*draft, *JoinMeta, error) {
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
	if !ok {
		return nil, nil, nil
	}
	lts, rts, j := joinShape(n)
	if lts == nil || n.With != nil || hasSubquery(n) || fresh[0].IntoUserVars {
		return nil, nil, nil
	}
	refuse := func(format string, args ...any) (*draft, *JoinMeta, error) {
		return nil, nil, notSupported("join in the proxy: "+format, args...)
	}
	switch {
	case j.NaturalJoin || j.StraightJoin || len(j.Using) > 0:
		return refuse("NATURAL JOIN, STRAIGHT_JOIN and USING are not supported; write the join condition with ON")
	case j.Tp != ast.CrossJoin && j.Tp != ast.LeftJoin && j.Tp != ast.RightJoin:
		return refuse("only inner, LEFT and RIGHT joins are supported")
	case n.LockInfo != nil && n.LockInfo.LockType != ast.SelectLockNone:
		return refuse("locking reads (FOR UPDATE, LOCK IN SHARE MODE) are not supported")
	case hasWindow(n):
		return refuse("window functions are not supported")
	case n.GroupBy != nil && n.GroupBy.Rollup:
		return refuse("WITH ROLLUP is not supported")
	case n.SelectStmtOpts != nil && n.SelectStmtOpts.CalcFoundRows:
		return refuse("SQL_CALC_FOUND_ROWS is not supported")
	}
	keepColumnNames(n)
	sides := [2]*joinSide{}
	for i, ts := range []*ast.TableSource{lts, rts} {
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
		sides[i] = side
	}
	if sides[0].qual == sides[1].qual {
		return nil, nil, wire.Errorf(mysql.ER_NONUNIQ_TABLE, "Not unique table/alias: '%s'", sides[1].ts.AsName.O)
	}
	// preserved is the LEFT JOIN's preserved side (-1: an inner join).
	preserved := -1
	switch j.Tp {
	case ast.LeftJoin:
		preserved = 0
	case ast.RightJoin:
		preserved = 1
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
				if resolveErr == nil {
					resolveErr = notSupported("join in the proxy: column %s must be qualified with its table (the definition of %s is not known)", c.Name.O, s.ref.qualified())
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
			resolveErr = wire.Errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%s' in 'field list'", c.Name.O)
		}
		return found
	}
	// mask says which sides an expression reads (bit i: side i).
	mask := func(e ast.Node) int {
		m := 0
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
	text := func(e ast.Node) (string, error) { return parser.RestoreIn(e, f.Text) }
	type keyPair struct{ col [2]*ast.ColumnName }
	var keys []keyPair
	keyOf := func(e ast.ExprNode) (keyPair, bool) {
		b, ok := e.(*ast.BinaryOperationExpr)
		if !ok || b.Op != opcode.EQ {
			return keyPair{}, false
		}
		l, ok1 := b.L.(*ast.ColumnNameExpr)
		r, ok2 := b.R.(*ast.ColumnNameExpr)
		if !ok1 || !ok2 {
			return keyPair{}, false
		}
		sl, sr := sideOf(l.Name), sideOf(r.Name)
		if sl < 0 || sr < 0 || sl == sr {
			return keyPair{}, false
		}
		var k keyPair
		k.col[sl], k.col[sr] = l.Name, r.Name
		return k, true
	}
	var on ast.ExprNode
	if j.On != nil {
		on = j.On.Expr
	}
	var onText []string
	for _, c := range conjuncts(on) {
		if c == nil {
			continue
		}
		m := mask(c)
		if resolveErr != nil {
			return nil, nil, resolveErr
		}
		if m == 3 {
			k, ok := keyOf(c)
			if !ok {
				t, _ := text(c)
				return refuse("the condition %s reads both tables but is not an equality of a column of each", t)
			}
			keys = append(keys, k)
			t, _ := text(c)
			onText = append(onText, t)
			continue
		}
		if preserved >= 0 && m != 1<<(1-preserved) {
			t, _ := text(c)
			return refuse("the ON condition %s of an outer join must read only the joined (not the preserved) table, or be an equality between the tables", t)
		}
		if m == 0 {
			sides[0].conds = append(sides[0].conds, c)
			sides[1].conds = append(sides[1].conds, c)
			continue
		}
		sides[m>>1].conds = append(sides[m>>1].conds, c)
	}
	for _, c := range conjuncts(n.Where) {
		if c == nil {
			continue
		}
		m := mask(c)
		if resolveErr != nil {
			return nil, nil, resolveErr
		}
		switch {
		case m == 3 && preserved < 0:
			k, ok := keyOf(c)
			if !ok {
				t, _ := text(c)
				return refuse("the condition %s reads both tables but is not an equality of a column of each", t)
			}
			keys = append(keys, k)
			t, _ := text(c)
			onText = append(onText, t)
		case preserved >= 0 && m&(1<<(1-preserved)) != 0:
			t, _ := text(c)
			return refuse("the WHERE condition %s reads the joined table of an outer join (it sees the NULL-extended rows)", t)
		case m == 0 && preserved >= 0:
			sides[preserved].conds = append(sides[preserved].conds, c)
		case m == 0:
			sides[0].conds = append(sides[0].conds, c)
			sides[1].conds = append(sides[1].conds, c)
		default:
			sides[m>>1].conds = append(sides[m>>1].conds, c)
		}
	}
	if len(keys) == 0 {
		return refuse("%s and %s are joined on no equality between their columns", sides[0].ref.qualified(), sides[1].ref.qualified())
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
	// Aggregates shown: their definitions come from each side running
	// the aggregate over no rows (engine.LookupJoin.Meta).
	var metaItems [2][]string
	var metaFields [2][]int
	// The select list: each item computed by the side it reads.
	var fields []joinField
	var outText []string // each visible field's side expression, for ORDER BY
	var outSide []int
	colText := func(s *joinSide, name string) string {
		return parser.QuoteIdent(s.qual) + "." + parser.QuoteIdent(name)
	}
	for fi, sf := range n.Fields.Fields {
		if spec != nil && sf.WildCard == nil {
			m := mask(sf.Expr)
			if resolveErr != nil {
				return nil, nil, resolveErr
			}
			t, err := text(sf.Expr)
			if err != nil {
				return nil, nil, err
			}
			side := m >> 1
			if m == 3 {
				return refuse("the select item %s reads both tables", t)
			}
			name := ""
			if sf.AsName.O != "" {
				name = " AS " + parser.QuoteIdent(sf.AsName.O)
			}
			switch {
			case fi < visibleFields && containsAggregate(sf.Expr):
				// Its value is the merge's; its definition the side's.
				metaItems[side] = append(metaItems[side], t+name)
				metaFields[side] = append(metaFields[side], len(fields))
				fields = append(fields, joinField{Side: 0, Index: sides[0].add("NULL" + name)})
			case fi >= visibleFields:
				row, err := oneRowPartial(sf.Expr, text)
				if err != nil {
					return nil, nil, err
				}
				fields = append(fields, joinField{Side: side, Index: sides[side].add(row + name)})
			default:
				fields = append(fields, joinField{Side: side, Index: sides[side].add(t + name)})
			}
			outText, outSide = append(outText, t), append(outSide, side)
			continue
		}
		if sf.WildCard != nil {
			for i, s := range sides {
				if sf.WildCard.Table.L != "" && sf.WildCard.Table.L != s.qual {
					continue
				}
				if !s.known {
					return refuse("%s.* needs the definition of %s, which is not known", s.qual, s.ref.qualified())
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
		if m == 3 {
			t, _ := text(sf.Expr)
			return refuse("the select item %s reads both tables", t)
		}
		side := 0
		if m == 2 {
			side = 1
		}
		t, err := text(sf.Expr)
		if err != nil {
			return nil, nil, err
		}
		item := t
		if sf.AsName.O != "" {
			item += " AS " + parser.QuoteIdent(sf.AsName.O)
		}
		fields = append(fields, joinField{Side: side, Index: sides[side].add(item)})
		outText, outSide = append(outText, t), append(outSide, side)
	}
	visible := len(fields)
	// ORDER BY: each item's value and weight come from its side as helper
	// columns; the proxy sorts the joined rows in memory.
	var sortKeys []engine.MemorySortKey
	var order []*ast.ByItem
	if spec == nil {
		order = orderItems(n)
	}
	for _, item := range order {
		e := item.Expr
		side, t := -1, ""
		if pos, ok := literalPosition(e); ok {
			if pos < 1 || pos > visible {
				return nil, nil, wire.Errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%d' in 'order clause'", pos)
			}
			side, t = outSide[pos-1], outText[pos-1]
		} else if c, ok := e.(*ast.ColumnNameExpr); ok && c.Name.Table.L == "" {
			for i, sf := range n.Fields.Fields {
				if sf.WildCard == nil && sf.AsName.L != "" && sf.AsName.L == c.Name.Name.L {
					side, t = outSide[i], outText[i]
					break
				}
			}
		}
		if side < 0 {
			m := mask(e)
			if resolveErr != nil {
				return nil, nil, resolveErr
			}
			if m == 3 {
				s, _ := text(e)
				return refuse("the ORDER BY item %s reads both tables", s)
			}
			side = m >> 1
			var err error
			if t, err = text(e); err != nil {
				return nil, nil, err
			}
		}
		v := sides[side].add(t)
		w := sides[side].add("WEIGHT_STRING(" + t + ")")
		k := len(fields) - visible
		fields = append(fields, joinField{Side: side, Index: v}, joinField{Side: side, Index: w})
		st, _ := parser.RestoreIn(e, parser.TextMode{})
		sortKeys = append(sortKeys, engine.MemorySortKey{Key: &engine.SortKey{Value: k, Weight: k + 1}, Desc: item.Desc, Text: st})
	}
	hidden := len(fields) - visible
	// Which side drives: a LEFT JOIN's preserved side; else the side
	// pinned to fewer tables, then the one with conditions.
	drive := preserved
	if drive < 0 {
		s0, err := pl.sideScore(sides[0], f)
		if err != nil {
			return nil, nil, err
		}
		s1, err := pl.sideScore(sides[1], f)
		if err != nil {
			return nil, nil, err
		}
		drive = 0
		if s1 < s0 {
			drive = 1
		}
	}
	outer, inner := sides[drive], sides[1-drive]
	// Key columns go last in each side's list.
	lookup := 0
	var outerKeys, innerKeys []int
	for i, k := range keys {
		outerKeys = append(outerKeys, outer.add(colText(outer, k.col[drive].Name.O)))
		innerKeys = append(innerKeys, inner.add(colText(inner, k.col[1-drive].Name.O)))
		if inner.ref.sharded != nil && strings.EqualFold(k.col[1-drive].Name.O, inner.ref.sharded.Column) {
			lookup = i
		}
	}
	outerSQL, err := pl.sideSQL(outer, "", f)
	if err != nil {
		return nil, nil, err
	}
	outerSt, err := parseSide(p, outerSQL)
	if err != nil {
		return nil, nil, err
	}
	outerSt.ReadOnly = st.ReadOnly
	op, err := pl.Plan(outerSt, f)
	if err != nil {
		return nil, nil, err
	}
	outerSrc, ok := op.Root.(engine.RowSource)
	if !ok {
		return refuse("the statement of %s does not return rows", outer.ref.qualified())
	}
	marker := parser.StringLiteral([]byte(joinKeysMarker), f.Text)
	in := colText(inner, keys[lookup].col[1-drive].Name.O) + " IN (" + marker + ")"
	routes, router, err := pl.innerRoutes(p, inner, in, keys[lookup].col[1-drive].Name.O, marker, st.ReadOnly, f)
	if err != nil {
		return nil, nil, err
	}
	out := make([]engine.JoinField, len(fields))
	for i, fd := range fields {
		out[i] = engine.JoinField{Inner: fd.Side != drive, Index: fd.Index}
	}
	// What COM_STMT_PREPARE answers: each side prepared on its own.
	meta := &JoinMeta{}
	nVisible := visible
	if spec != nil {
		nVisible = visibleFields
	}
	for _, side := range []*joinSide{outer, inner} {
		sql, err := pl.sideSQL(side, "", f)
		if err != nil {
			return nil, nil, err
		}
		part, err := pl.metaPart(p, sql, f)
		if err != nil {
			return nil, nil, err
		}
		meta.Parts = append(meta.Parts, part)
	}
	for i := 0; i < nVisible; i++ {
		c := MetaColumn{Index: fields[i].Index}
		if fields[i].Side != drive {
			c.Part, c.Nullable = 1, preserved >= 0
		}
		meta.Columns = append(meta.Columns, c)
	}
	join := &engine.LookupJoin{
		Outer: outerSrc, Inner: routes, Marker: marker, Router: router,
		OuterKeys: outerKeys, InnerKeys: innerKeys, Lookup: lookup, Left: preserved >= 0,
		Fields: out, Mode: f.Text, On: strings.Join(onText, " AND "),
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
			join.Meta, join.MetaFields = append(join.Meta, r), append(join.MetaFields, metaFields[i])
			part := MetaPart{Cluster: r.Cluster, SQL: r.SQL}
			for k, field := range metaFields[i] {
				meta.Columns[field] = MetaColumn{Part: len(meta.Parts), Index: k}
			}
			meta.Parts = append(meta.Parts, part)
		}
		// An aggregate without GROUP BY answers one row over no rows.
		join.EmptyRow = !spec.Group && !spec.Distinct
		var node engine.RowSource = join
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
	var root engine.RowSource = join
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
// with conditions of its own, 2 read whole.
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
		return 1, nil
	}
	return 2, nil
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
	if t.By == "hash" && strings.EqualFold(lookupCol, t.Column) && k.column(t.Column) != nil {
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
		if x.FnName.L == "weight_string" && len(x.Args) == 1 {
			if a, ok := x.Args[0].(*ast.AggregateFuncExpr); ok {
				inner, err := oneRowPartial(a, text)
				if err != nil {
					return "", err
				}
				return "WEIGHT_STRING(" + inner + ")", nil
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
