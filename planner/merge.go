package planner

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/tabledef"
	"github.com/shardgate/shardgate/wire"
)

// MergeSpec says how the sorted streams of several shards become the one
// result a single MySQL would return. Shards are asked for helper columns
// appended after the client's columns ("hidden": never sent on); positions
// in SortKey and AggSpec are offsets among those hidden columns.
type MergeSpec struct {
	Hidden int
	// Keys order every shard's stream; the proxy merges k ways by them.
	Keys []engine.SortKey
	// Group: rows with equal keys are one group (GROUP BY).
	Group bool
	// Distinct: rows with equal keys collapse into one (SELECT DISTINCT).
	Distinct bool
	// Aggs are merged from per-shard partial values.
	Aggs []engine.AggSpec
	// Having is evaluated by the proxy on merged groups.
	Having ast.ExprNode
	// Final is an ORDER BY the shard streams cannot give (e.g. by an
	// aggregate): merged rows are sorted in memory.
	Final []FinalKey
	// Offset and Count are the client's LIMIT (Count < 0: none).
	Offset, Count int64
	// DistinctAgg is COUNT(DISTINCT x) or SUM(DISTINCT x), the only field:
	// shards return their distinct values of x (hidden 0 and weight 1).
	DistinctAgg string
	// GroupKeys, when not 0, is how many of Keys are GROUP BY keys: the
	// next is the argument of the statement's DISTINCT aggregates, which
	// the shards group by too (engine.OrderedAggregate.GroupKeys).
	GroupKeys int
	// DistinctKey: no GROUP BY, and Keys[0] is the one argument of the
	// DISTINCT aggregates (engine.OrderedAggregate.DistinctKey).
	DistinctKey bool
	// Rollup: GROUP BY … WITH ROLLUP, whose super-aggregate rows the proxy
	// makes (the shards group without it); KeyFields[k] are the select
	// fields showing group key k, NULL in those rows.
	Rollup    bool
	KeyFields [][]int
	// Project are the select fields that are expressions over aggregates
	// (SUM(a)/COUNT(*)): the proxy computes them over the merged values.
	Project []int
	// WindowFuncs are window functions the proxy computes over the rows
	// merged by Keys: the first WindowPartition of them are the windows'
	// PARTITION BY, the rest their ORDER BY (see windowMergeSpec).
	// WindowSort is the client's ORDER BY over the computed rows.
	WindowFuncs     []engine.WindowFunc
	WindowPartition int
	WindowSort      []engine.MemorySortKey
	// WindowStage is each window function's stage: 0 computes over the
	// merged order (Keys), k over the rows sorted in memory by
	// WindowStages[k-1] (windows of another PARTITION BY or ORDER BY).
	WindowStage  []int
	WindowStages []engine.WindowStage

	fields   []*ast.SelectField // the client's select list, for HAVING and ORDER BY
	aggIndex map[string]int     // restored text of an aggregate → Aggs index
	groupKey map[string]int     // restored text of a group expression → Keys index
}

// FinalKey is one ORDER BY item evaluated on merged rows.
type FinalKey struct {
	Expr ast.ExprNode
	Desc bool
}

func restoreText(n ast.Node) string {
	s, _ := parser.RestoreIn(n, parser.TextMode{})
	return strings.ToLower(s)
}

func literalInt(e ast.ExprNode) (int64, bool) {
	if e == nil {
		return 0, true
	}
	v, null, ok := parser.Literal(e)
	if !ok || null {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n >= 0
}

// containsAggregate reports an aggregate of this SELECT's own: one inside
// a subquery aggregates the subquery's rows.
func containsAggregate(n ast.Node) bool {
	found := false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		switch x.(type) {
		case *ast.AggregateFuncExpr:
			found = true
		case *ast.SubqueryExpr:
			return false
		}
		return !found
	}})
	return found
}

// mergeSpec rewrites a SELECT that spans several shards into what each shard
// must run, and returns how the proxy merges their answers. localGroups:
// every group of its GROUP BY lives in one physical table (see
// groupsLocal), so the shards' groups are complete and only their order
// and LIMIT are merged.
func mergeSpec(sel *ast.SelectStmt, table string, localGroups bool, columns columnsOf) (*MergeSpec, error) {
	m := &MergeSpec{Count: -1, aggIndex: map[string]int{}, groupKey: map[string]int{}}
	refuse := func(what string) error {
		return notSupported("%s over sharded table %s across several shards is not supported by this version", what, table)
	}
	if sel.Limit != nil {
		count, ok1 := literalInt(sel.Limit.Count)
		offset, ok2 := literalInt(sel.Limit.Offset)
		if !ok1 || !ok2 {
			return nil, refuse("a LIMIT that is not a constant")
		}
		m.Count, m.Offset = count, offset
	}
	m.fields = sel.Fields.Fields
	wildcard := false
	for _, f := range m.fields {
		wildcard = wildcard || f.WildCard != nil
	}
	hidden := func(expr ast.ExprNode) int {
		sel.Fields.Fields = append(sel.Fields.Fields, &ast.SelectField{Expr: expr, AsName: ast.NewCIStr(fmt.Sprintf("__sg_%d", m.Hidden))})
		m.Hidden++
		return m.Hidden - 1
	}
	weight := func(expr ast.ExprNode) int {
		return hidden(weightOf(expr))
	}
	resolve := m.fieldOf
	// distinctArg is the one argument of the statement's DISTINCT
	// aggregates (GROUP BY only), distinctAt its value and weight helpers.
	var distinctArg ast.ExprNode
	var distinctAt [2]int
	// subGroups are what the shards also group by for GROUP_CONCAT: each
	// of their rows is then one element of a group (see concatAgg).
	var subGroups []ast.ExprNode
	addAgg := func(a *ast.AggregateFuncExpr, visible int) error {
		text := restoreText(a)
		if _, ok := m.aggIndex[text]; ok && visible < 0 {
			return nil
		}
		spec := engine.AggSpec{Kind: strings.ToLower(a.F), Visible: visible, Text: text}
		if spec.Kind == ast.AggFuncGroupConcat {
			sub, err := m.concatAgg(&spec, a, hidden, weight)
			if err != nil {
				return refuse(err.Error())
			}
			subGroups = append(subGroups, sub...)
			m.aggIndex[text] = len(m.Aggs)
			if visible >= 0 {
				// The shards' own column computes over no rows: its
				// definition is MariaDB's (VARCHAR or TEXT/BLOB by
				// group_concat_max_len, the arguments' character set),
				// and no shard cuts a value of an element repeated, nor
				// warns about it. (Inside an expression: concatsEmptied.)
				m.fields[visible].Expr = emptyConcat(a)
				m.aggIndex[restoreText(m.fields[visible].Expr)] = len(m.Aggs)
			}
			m.Aggs = append(m.Aggs, spec)
			return nil
		}
		if a.Distinct && spec.Kind != ast.AggFuncMin && spec.Kind != ast.AggFuncMax {
			kind, ok := map[string]string{ast.AggFuncCount: engine.AggCountDistinct, ast.AggFuncSum: engine.AggSumDistinct, ast.AggFuncAvg: engine.AggAvgDistinct}[spec.Kind]
			if !ok || distinctArg == nil || len(a.Args) != 1 || restoreText(a.Args[0]) != restoreText(distinctArg) {
				return refuse(strings.ToUpper(spec.Kind) + "(DISTINCT ...) together with other fields or GROUP BY, unless under GROUP BY with one argument for every DISTINCT aggregate")
			}
			// H[0] is a slot of its own for the merged value (HAVING and
			// ORDER BY read it there); H[1] and H[2] are the argument's.
			slot := hidden(ast.NewValueExpr(int64(0), "", ""))
			spec.Kind, spec.H = kind, []int{slot, distinctAt[0], distinctAt[1]}
			m.aggIndex[text] = len(m.Aggs)
			m.Aggs = append(m.Aggs, spec)
			return nil
		}
		switch spec.Kind {
		case ast.AggFuncCount, ast.AggFuncSum:
			spec.H = []int{hidden(&ast.AggregateFuncExpr{F: a.F, Args: a.Args})}
		case ast.AggFuncMin, ast.AggFuncMax:
			part := &ast.AggregateFuncExpr{F: a.F, Args: a.Args}
			spec.H = []int{hidden(part), weight(part)}
		case ast.AggFuncAvg:
			spec.H = []int{hidden(&ast.AggregateFuncExpr{F: ast.AggFuncSum, Args: a.Args}), hidden(&ast.AggregateFuncExpr{F: ast.AggFuncCount, Args: a.Args})}
		case ast.AggFuncBitAnd, ast.AggFuncBitOr, ast.AggFuncBitXor:
			spec.Kind = strings.ToLower(a.F)
			spec.H = []int{hidden(&ast.AggregateFuncExpr{F: a.F, Args: a.Args})}
		case ast.AggFuncStddevPop, ast.AggFuncStddevSamp, ast.AggFuncVarPop, ast.AggFuncVarSamp:
			// Count, sum and population variance per shard (see
			// engine.AggStdPop); the first helper is the aggregate itself,
			// a slot with MariaDB's column definition for the merged value.
			varPop := &ast.BinaryOperationExpr{Op: opcode.Plus, L: &ast.AggregateFuncExpr{F: ast.AggFuncVarPop, Args: a.Args}, R: floatZero()}
			spec.H = []int{hidden(&ast.AggregateFuncExpr{F: a.F, Args: a.Args}), hidden(&ast.AggregateFuncExpr{F: ast.AggFuncCount, Args: a.Args}),
				hidden(&ast.AggregateFuncExpr{F: ast.AggFuncSum, Args: a.Args}), hidden(varPop)}
		default:
			return refuse(strings.ToUpper(spec.Kind) + "()")
		}
		m.aggIndex[text] = len(m.Aggs)
		m.Aggs = append(m.Aggs, spec)
		return nil
	}
	aggsIn := func(n ast.Node) error {
		var err error
		n.Accept(&visitFn{fn: func(x ast.Node) bool {
			if a, ok := x.(*ast.AggregateFuncExpr); ok && err == nil {
				err = addAgg(a, -1)
				return false
			}
			return err == nil
		}})
		return err
	}

	// sortedRows merges final rows in the ORDER BY's order, each shard
	// asked for the first LIMIT+OFFSET of its own.
	var sortErr error // an ORDER BY MariaDB refuses (see unalias)
	sortedRows := func() {
		if sel.OrderBy != nil {
			for _, item := range sel.OrderBy.Items {
				expr, field := resolve(item.Expr)
				if field < 0 {
					// The shards compute the key in their select list,
					// where a select alias means nothing (1054): an alias
					// inside an ORDER BY expression (n + 1) is its field's
					// expression, as MariaDB reads it there.
					var err error
					if expr, err = m.unalias(expr, columns); err != nil && sortErr == nil {
						sortErr = err
					}
				}
				m.Keys = append(m.Keys, engine.SortKey{Value: hidden(expr), Weight: weight(expr), Desc: item.Desc})
			}
		}
		if m.Count >= 0 {
			sel.Limit = &ast.Limit{Count: ast.NewValueExpr(uint64(m.Count+m.Offset), "", "")}
		}
	}
	grouped := sel.GroupBy != nil || hasAggregate(sel) || (sel.Having != nil && containsAggregate(sel.Having.Expr))
	switch {
	case grouped && localGroups && !sel.Distinct:
		// Each shard computes whole groups (aggregates of any kind,
		// expressions over them, HAVING): the rows are final, merged in
		// the ORDER BY's order, or without one in the GROUP BY's, the
		// order MariaDB returns groups in. (DISTINCT would need rows of
		// several shards compared: the general path below refuses it.)
		if sel.OrderBy == nil {
			// In the GROUP BY a name is the table's column; in the ORDER BY
			// made of it, a select alias of that name (MIN(qty) AS
			// product_id) would order the groups instead.
			for _, item := range sel.GroupBy.Items {
				c, ok := item.Expr.(*ast.ColumnNameExpr)
				if !ok || c.Name.Table.L != "" {
					continue
				}
				for _, f := range m.fields {
					same, isCol := f.Expr.(*ast.ColumnNameExpr)
					if f.AsName.L == c.Name.Name.L && (!isCol || same.Name.Name.L != c.Name.Name.L) {
						return nil, refuse("GROUP BY a column named like another field's alias, without ORDER BY,")
					}
				}
			}
			sel.OrderBy = &ast.OrderByClause{Items: sel.GroupBy.Items}
		}
		sortedRows()
		if sortErr != nil {
			return nil, sortErr
		}
	case grouped:
		if wildcard {
			return nil, refuse("SELECT * with aggregates")
		}
		if sel.Distinct {
			return nil, refuse("SELECT DISTINCT with aggregates")
		}
		// A lone COUNT(DISTINCT x) or SUM(DISTINCT x) merges the shards'
		// distinct values.
		if a, ok := m.fields[0].Expr.(*ast.AggregateFuncExpr); ok && a.Distinct && len(m.fields) == 1 && sel.GroupBy == nil && sel.Having == nil && len(a.Args) == 1 {
			kind := strings.ToLower(a.F)
			if kind != ast.AggFuncCount && kind != ast.AggFuncSum {
				return nil, refuse(strings.ToUpper(kind) + "(DISTINCT ...)")
			}
			m.DistinctAgg = kind
			arg := a.Args[0]
			sel.Fields.Fields = nil
			hidden(arg)
			weight(arg)
			sel.Distinct = true
			sel.OrderBy = &ast.OrderByClause{Items: []*ast.ByItem{{Expr: arg}}}
			sel.Limit = nil
			m.Keys = []engine.SortKey{{Value: 0, Weight: 1}}
			m.Distinct = true
			return m, nil
		}
		if sel.GroupBy == nil || !sel.GroupBy.Rollup {
			if x := distinctArgument(sel); x != nil {
				distinctArg = x
				distinctAt = [2]int{hidden(x), weight(x)}
			}
		}
		for i, f := range m.fields {
			if a, ok := f.Expr.(*ast.AggregateFuncExpr); ok {
				if err := addAgg(a, i); err != nil {
					return nil, err
				}
				continue
			}
			if containsAggregate(f.Expr) {
				m.Project = append(m.Project, i) // checked once the group keys are known
				continue
			}
			if sel.GroupBy == nil {
				if _, _, isConst := parser.Literal(f.Expr); !isConst {
					return nil, refuse("a column beside aggregates without GROUP BY")
				}
			}
		}
		var shardOrder []*ast.ByItem
		// shadowed are GROUP BY names that are columns and also another
		// field's alias: what HAVING means by them MariaDB leaves
		// ambiguous (its warning 1052).
		var shadowed []string
		if sel.GroupBy != nil {
			if sel.GroupBy.Rollup {
				if sel.OrderBy != nil {
					return nil, wire.Errorf(mysql.ER_WRONG_USAGE, "Incorrect usage of CUBE/ROLLUP and ORDER BY")
				}
				// The shards group without it; the proxy adds the
				// super-aggregate rows as the merged groups go by.
				m.Rollup = true
				sel.GroupBy.Rollup = false
			}
			m.Group = true
			for _, item := range sel.GroupBy.Items {
				expr, _ := resolve(item.Expr)
				if c, ok := item.Expr.(*ast.ColumnNameExpr); ok && expr != item.Expr {
					// In GROUP BY a name is first the tables' column, as
					// the shards read it (find_order_in_list): an alias
					// only where they have no such column (or, the
					// tables' columns unknown, as before: an alias).
					if isColumn, _ := columns(c.Name.Name.L); isColumn {
						expr = item.Expr
						shadowed = append(shadowed, c.Name.Name.L)
					}
				}
				if containsAggregate(expr) {
					return nil, refuse("GROUP BY an aggregate")
				}
				if m.Rollup {
					var shown []int
					for i, f := range m.fields {
						if f.WildCard == nil && restoreText(f.Expr) == restoreText(expr) {
							shown = append(shown, i)
						}
					}
					m.KeyFields = append(m.KeyFields, shown)
				}
				m.groupKey[restoreText(expr)] = len(m.Keys)
				m.Keys = append(m.Keys, engine.SortKey{Value: hidden(expr), Weight: weight(expr), Desc: item.Desc})
				shardOrder = append(shardOrder, &ast.ByItem{Expr: expr, Desc: item.Desc})
			}
			if distinctArg != nil {
				// Shards group by the argument too: each of its values
				// once per group and shard, sorted after the group keys.
				m.GroupKeys = len(m.Keys)
				m.Keys = append(m.Keys, engine.SortKey{Value: distinctAt[0], Weight: distinctAt[1]})
				shardOrder = append(shardOrder, &ast.ByItem{Expr: distinctArg})
				sel.GroupBy.Items = append(sel.GroupBy.Items, &ast.ByItem{Expr: distinctArg})
			}
		}
		if sel.GroupBy == nil && distinctArg != nil && len(subGroups) > 0 {
			return nil, refuse("COUNT/SUM/AVG(DISTINCT ...) beside GROUP_CONCAT without GROUP BY")
		}
		if sel.GroupBy == nil && distinctArg != nil {
			// COUNT/SUM/AVG(DISTINCT x) beside other aggregates, without
			// GROUP BY: the shards group by x, each value once per shard
			// and sorted, and the proxy merges the one group, counting
			// each value once. Over no rows at all the proxy makes the one
			// row (engine.OrderedAggregate), its constants computed by
			// Project.
			m.DistinctKey = true
			m.Keys = []engine.SortKey{{Value: distinctAt[0], Weight: distinctAt[1]}}
			shardOrder = []*ast.ByItem{{Expr: distinctArg}}
			sel.GroupBy = &ast.GroupByClause{Items: []*ast.ByItem{{Expr: distinctArg}}}
			if err := m.projectConstants(); err != nil {
				return nil, err
			}
		}
		if m.Rollup {
			// A field of its own beside the keys and aggregates would keep
			// a value in the super-aggregate rows, where MariaDB computes
			// it over the NULL keys.
			for i, f := range m.fields {
				if _, agg := f.Expr.(*ast.AggregateFuncExpr); agg || slices.Contains(m.Project, i) || m.showsKey(i) {
					continue
				}
				if _, _, isConst := parser.Literal(f.Expr); !isConst {
					return nil, refuse("WITH ROLLUP and a field that is neither a GROUP BY expression nor over aggregates (" + f.Text() + ")")
				}
			}
		}
		for _, i := range m.Project {
			if err := m.checkComputable(m.fields[i].Expr, true); err != nil {
				return nil, err
			}
			if err := aggsIn(m.fields[i].Expr); err != nil {
				return nil, err
			}
			m.fields[i].Expr = m.concatsEmptied(m.fields[i].Expr)
		}
		streamable := true
		if sel.Having != nil && namesAny(sel.Having.Expr, shadowed) {
			return nil, refuse("HAVING naming both a select alias and a GROUP BY column (" + strings.Join(shadowed, ", ") + ")")
		}
		if sel.Having != nil {
			// Conditions on the group keys alone stay on the shards: a
			// group passes there exactly when it passes merged (its keys
			// are equal everywhere), and the server compares strings by
			// their collation. Not under ROLLUP, whose super-aggregate rows
			// count the groups HAVING drops after.
			var onShards, merged []ast.ExprNode
			for _, c := range conjuncts(sel.Having.Expr) {
				if !m.Rollup && !containsAggregate(c) && m.onlyGroupKeys(c) {
					onShards = append(onShards, c)
				} else {
					merged = append(merged, c)
				}
			}
			sel.Having = nil
			if len(onShards) > 0 {
				sel.Having = &ast.HavingClause{Expr: andAll(onShards)}
			}
			if len(merged) > 0 {
				expr := andAll(merged)
				if err := m.checkEvaluable(expr); err != nil {
					return nil, err
				}
				if err := aggsIn(expr); err != nil {
					return nil, err
				}
				m.Having = expr
				streamable = false
			}
		}
		if sel.OrderBy != nil {
			same := m.Group && len(sel.OrderBy.Items) <= len(m.Keys)
			for i, item := range sel.OrderBy.Items {
				expr, _ := resolve(item.Expr)
				if err := m.checkEvaluable(expr); err != nil {
					return nil, err
				}
				if err := aggsIn(expr); err != nil {
					return nil, err
				}
				m.Final = append(m.Final, FinalKey{Expr: expr, Desc: item.Desc})
				if same {
					k, ok := m.groupKey[restoreText(expr)]
					same = ok && k == i && m.Keys[i].Desc == item.Desc
				}
			}
			if same {
				m.Final = nil // the merged stream is already in this order
			} else {
				streamable = false
			}
		}
		if len(subGroups) > 0 {
			// GROUP_CONCAT (in a field, an expression, HAVING or ORDER BY):
			// the shards group by its elements too. Under WITH ROLLUP the
			// proxy holds a run's elements (the grand total's: all of
			// them); beside COUNT/SUM/AVG(DISTINCT x) the shards still sort
			// by the keys and x, so equal values of x stay neighbours and
			// count once.
			if sel.GroupBy == nil {
				// One group of every row: the shards' rows are its
				// elements, and over no rows the proxy makes the one row
				// (engine.OrderedAggregate), its constants computed by
				// Project.
				sel.GroupBy = &ast.GroupByClause{}
				if err := m.projectConstants(); err != nil {
					return nil, err
				}
			}
			for _, e := range subGroups {
				sel.GroupBy.Items = append(sel.GroupBy.Items, &ast.ByItem{Expr: e})
			}
		}
		sel.OrderBy = nil
		if len(shardOrder) > 0 {
			sel.OrderBy = &ast.OrderByClause{Items: shardOrder}
		}
		sel.Limit = nil
		if streamable && m.Group && m.Count >= 0 && m.GroupKeys == 0 && !m.Rollup && len(subGroups) == 0 {
			// In key order the first N groups overall are among each
			// shard's first N. (Not when a shard's rows are elements of
			// groups, GROUP_CONCAT's: N rows may be fewer groups.)
			sel.Limit = &ast.Limit{Count: ast.NewValueExpr(uint64(m.Count+m.Offset), "", "")}
		}
	case sel.Distinct:
		if wildcard {
			return nil, refuse("SELECT DISTINCT *")
		}
		if hasWindow(sel) {
			// Rows are compared by each field's weight string, and
			// MariaDB takes no window function inside WEIGHT_STRING (4015).
			return nil, refuse("SELECT DISTINCT with window functions")
		}
		used := map[int]bool{}
		var order []*ast.ByItem
		if sel.OrderBy != nil {
			for _, item := range sel.OrderBy.Items {
				expr, field := resolve(item.Expr)
				if field < 0 {
					for i, f := range m.fields {
						if restoreText(f.Expr) == restoreText(expr) {
							field = i
						}
					}
				}
				if field < 0 {
					return nil, refuse("SELECT DISTINCT ordered by something not selected")
				}
				used[field] = true
				m.Keys = append(m.Keys, engine.SortKey{Value: hidden(expr), Weight: weight(expr), Desc: item.Desc})
				order = append(order, &ast.ByItem{Expr: expr, Desc: item.Desc})
			}
		}
		for i, f := range m.fields {
			if !used[i] {
				m.Keys = append(m.Keys, engine.SortKey{Value: hidden(f.Expr), Weight: weight(f.Expr)})
				order = append(order, &ast.ByItem{Expr: f.Expr})
			}
		}
		m.Distinct = true
		sel.OrderBy = &ast.OrderByClause{Items: order}
		if m.Count >= 0 {
			sel.Limit = &ast.Limit{Count: ast.NewValueExpr(uint64(m.Count+m.Offset), "", "")}
		}
	default:
		sortedRows()
		if sortErr != nil {
			return nil, sortErr
		}
	}
	if grouped && sel.GroupBy != nil {
		groupHelpers(sel, len(m.fields), resolve, columns)
	}
	return m, nil
}

// columnsGrouped: every column expr reads is itself a GROUP BY item.
func columnsGrouped(expr ast.ExprNode, keys, items map[string]bool) bool {
	all := true
	expr.Accept(&visitFn{fn: func(x ast.Node) bool {
		if c, ok := x.(*ast.ColumnNameExpr); ok {
			t := restoreText(c)
			all = all && (keys[t] || items[t])
		}
		return all
	}})
	return all
}

// groupHelpers adds to a shard's GROUP BY, by their aliases, the helper
// fields (after the visible ones) that are a group key or its
// weight (weightOf). Under ONLY_FULL_GROUP_BY MariaDB takes a field that is
// not itself tied to a GROUP BY item for a use of the columns inside it:
// with GROUP BY c, c an alias of LEFT(note, 2), the helpers LEFT(note, 2)
// and WEIGHT_STRING(LEFT(note, 2)) read as note, not grouped (1055),
// where the client's statement is valid. A function of
// a group key splits no group, so the rows are the same in every mode.
func groupHelpers(sel *ast.SelectStmt, visible int, resolve func(ast.ExprNode) (ast.ExprNode, int), columns columnsOf) {
	keys := map[string]bool{}  // what the shards group by, as text
	items := map[string]bool{} // the GROUP BY's items, as text
	for _, item := range sel.GroupBy.Items {
		items[restoreText(item.Expr)] = true
		expr, _ := resolve(item.Expr)
		if c, ok := item.Expr.(*ast.ColumnNameExpr); ok && expr != item.Expr {
			// A name is first the tables' column (see mergeSpec).
			if isColumn, _ := columns(c.Name.Name.L); isColumn {
				expr = item.Expr
			}
		}
		keys[restoreText(expr)] = true
	}
	for _, f := range sel.Fields.Fields[visible:] {
		base := f.Expr
		if arg, ok := weightArg(base); ok {
			base = arg
		}
		text := restoreText(f.Expr)
		if !keys[restoreText(base)] || containsAggregate(base) {
			continue
		}
		if _, _, isConst := parser.Literal(base); isConst || columnsGrouped(base, keys, items) {
			continue // MariaDB accepts it as it is: the plan stays as before
		}
		items[text] = true
		// By its alias: MariaDB ties a GROUP BY expression to the first
		// field equal to it only, and the helper is another field.
		sel.GroupBy.Items = append(sel.GroupBy.Items, &ast.ByItem{Expr: &ast.ColumnNameExpr{Name: &ast.ColumnName{Name: f.AsName}}})
	}
}

// fieldOf turns an ORDER BY / GROUP BY / PARTITION BY item that names a
// select field by position or alias into that field's expression and
// index (-1, and e itself, for anything else).
func (m *MergeSpec) fieldOf(e ast.ExprNode) (ast.ExprNode, int) {
	switch x := e.(type) {
	case *ast.PositionExpr:
		if x.N >= 1 && x.N <= len(m.fields) && m.fields[x.N-1].WildCard == nil {
			return m.fields[x.N-1].Expr, x.N - 1
		}
	case *ast.ColumnNameExpr:
		if x.Name.Table.L == "" {
			for i, f := range m.fields {
				if f.AsName.L != "" && f.AsName.L == x.Name.Name.L {
					return f.Expr, i
				}
			}
		}
	}
	return e, -1
}

// andAll joins conditions with AND, each in parentheses.
func andAll(es []ast.ExprNode) ast.ExprNode {
	out := es[0]
	for _, e := range es[1:] {
		out = &ast.BinaryOperationExpr{Op: opcode.LogicAnd, L: &ast.ParenthesesExpr{Expr: out}, R: &ast.ParenthesesExpr{Expr: e}}
	}
	return out
}

// onlyGroupKeys: every column e reads is a GROUP BY expression (named as
// written there or by its select alias), and it holds no subquery.
func (m *MergeSpec) onlyGroupKeys(e ast.ExprNode) bool {
	ok := true
	e.Accept(&visitFn{fn: func(x ast.Node) bool {
		if !ok {
			return false
		}
		switch n := x.(type) {
		case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr, *ast.WindowFuncExpr, *ast.VariableExpr:
			ok = false
		case ast.ExprNode:
			if _, isKey := m.groupKey[restoreText(n)]; isKey {
				return false
			}
			if c, isCol := n.(*ast.ColumnNameExpr); isCol {
				ok = c.Name.Table.L == "" && m.aliasOfKey(c.Name.Name.L)
				return false
			}
		}
		return ok
	}})
	return ok
}

// aliasOfKey: name is the alias of a select field that is a GROUP BY
// expression.
func (m *MergeSpec) aliasOfKey(name string) bool {
	for _, f := range m.fields {
		if f.WildCard == nil && f.AsName.L == name {
			_, isKey := m.groupKey[restoreText(f.Expr)]
			return isKey
		}
	}
	return false
}

// namesAny: e names one of names unqualified.
func namesAny(e ast.ExprNode, names []string) bool {
	found := false
	e.Accept(&visitFn{fn: func(x ast.Node) bool {
		if c, ok := x.(*ast.ColumnNameExpr); ok && c.Name.Table.L == "" && slices.Contains(names, c.Name.Name.L) {
			found = true
		}
		return !found
	}})
	return found
}

// showsKey: select field i is a GROUP BY expression.
func (m *MergeSpec) showsKey(i int) bool {
	for _, fs := range m.KeyFields {
		if slices.Contains(fs, i) {
			return true
		}
	}
	return false
}

// unalias replaces, in an ORDER BY expression, every unqualified name of a
// select field's alias with that field's expression, where MariaDB reads
// it so: inside an expression a name is first a column of the FROM
// clause's tables (Item_field::fix_fields looks in the select list only
// when the tables lack it), so an alias that is also a known column's
// name stays (with a table of unknown columns, a global one, the name is
// taken for the alias, as it is most likely meant). A field with a window
// function or an aggregate is taken as it is: the shards compute the key
// beside the same field, over the same rows.
func (m *MergeSpec) unalias(e ast.ExprNode, columns columnsOf) (ast.ExprNode, error) {
	v := &aliasSwap{fields: m.fields, columns: columns}
	out, _ := e.Accept(v)
	return out.(ast.ExprNode), v.err
}

// columnsOf says whether name is a column of the tables a SELECT reads in
// its FROM clause, as far as their definitions are known; known is false
// when a table's are not.
type columnsOf func(name string) (isColumn, known bool)

// fromColumns is columnsOf for sel's FROM clause, from f's definitions
// (the router loads those of sharded tables): a table Defs lacks (a CTE's
// name included) or a derived table makes the answer unknown.
func fromColumns(sel *ast.SelectStmt, f Facts) columnsOf {
	var lists [][]tabledef.Column
	known := f.Defs != nil
	if sel.From != nil && f.Defs != nil {
		sel.From.Accept(&visitFn{fn: func(x ast.Node) bool {
			ts, ok := x.(*ast.TableSource)
			if !ok {
				return true
			}
			t, ok := ts.Source.(*ast.TableName)
			if !ok {
				known = false // a derived table: its columns are its own
				return false
			}
			schema := t.Schema.O
			if schema == "" {
				schema = f.DB
			}
			cols, ok := f.Defs.Columns(schema, t.Name.O)
			known = known && ok
			lists = append(lists, cols)
			return false
		}})
	}
	return func(name string) (bool, bool) {
		for _, cols := range lists {
			if tabledef.Index(cols, name) >= 0 {
				return true, true
			}
		}
		return false, known
	}
}

type aliasSwap struct {
	fields  []*ast.SelectField
	columns columnsOf
	err     error
}

func (v *aliasSwap) Enter(n ast.Node) (ast.Node, bool) {
	_, sub := n.(*ast.SubqueryExpr)
	return n, sub // a subquery's names are its own
}

func (v *aliasSwap) Leave(n ast.Node) (ast.Node, bool) {
	c, ok := n.(*ast.ColumnNameExpr)
	if !ok || c.Name.Table.L != "" {
		return n, true
	}
	if isColumn, _ := v.columns(c.Name.Name.L); isColumn {
		return n, true
	}
	for _, f := range v.fields {
		if f.WildCard == nil && f.AsName.L != "" && f.AsName.L == c.Name.Name.L {
			if containsAggregate(f.Expr) && v.err == nil {
				// MariaDB takes no alias of an aggregate inside an ORDER BY
				// expression (checked on ref: ORDER BY n + 1 with n =
				// COUNT(*) is 1247).
				v.err = wire.Errorf(mysql.ER_ILLEGAL_REFERENCE, "Reference '%s' not supported (reference to group function)", c.Name.Name.O)
			}
			// In parentheses: the tree renders as written, and p * 2 with
			// p = a + 1 must not become a + 1 * 2.
			return &ast.ParenthesesExpr{Expr: f.Expr}, true
		}
	}
	return n, true
}

// checkEvaluable refuses HAVING and ORDER BY expressions the proxy cannot
// evaluate on merged rows. Expressions that are a GROUP BY key or a select
// field without aggregates are read from the row, whatever they contain.
func (m *MergeSpec) checkEvaluable(e ast.ExprNode) error { return m.checkComputable(e, false) }

// checkComputable refuses expressions the proxy cannot evaluate on merged
// rows (engine.Expr: arithmetic, comparisons, logic, IS NULL, CASE and the
// functions of engine.FuncNames over aggregates, group keys and
// constants). A select field's expression (projecting) may name only
// GROUP BY keys: a column MariaDB would take from any row of the group is
// not one the merged row holds; and its string constants are ASCII, which
// every connection character set writes alike.
func (m *MergeSpec) checkComputable(e ast.ExprNode, projecting bool) error {
	var bad ast.Node
	e.Accept(&visitFn{fn: func(x ast.Node) bool {
		if expr, ok := x.(ast.ExprNode); ok && m.isLeaf(expr, projecting) {
			return false
		}
		switch x := x.(type) {
		case *ast.AggregateFuncExpr:
			return false // its arguments run on the shards
		case *ast.BinaryOperationExpr:
			if _, ok := binaryOps[x.Op]; !ok {
				bad = x
			}
		case *ast.UnaryOperationExpr:
			if x.Op != opcode.Not && x.Op != opcode.Minus && x.Op != opcode.Not2 {
				bad = x
			}
		case *ast.FuncCallExpr:
			if !funcArgsFit(x.FnName.L, len(x.Args)) {
				bad = x
			}
		case *ast.CaseExpr, *ast.WhenClause:
		case *ast.ColumnNameExpr, *ast.ColumnName, *ast.PositionExpr:
			if projecting {
				bad = x
			}
		case *ast.ParenthesesExpr, *ast.IsNullExpr:
		default:
			if e, ok := x.(ast.ExprNode); !ok {
				bad = x
			} else if text, _, ok := parser.Literal(e); !ok || (projecting && isStringConst(e) && !isASCII(text)) {
				bad = x
			}
		}
		return bad == nil
	}})
	if bad != nil {
		text, _ := parser.RestoreIn(bad, parser.TextMode{})
		return notSupported("evaluating %q on rows merged from several shards is not supported by this version", text)
	}
	return nil
}

// funcArgsFit: the proxy evaluates the function name with n arguments.
func funcArgsFit(name string, n int) bool {
	for _, want := range engine.FuncNames[name] {
		if want == n || (want < 0 && n > 0) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isLeaf: e is a GROUP BY key or, outside a select field's own expression
// (projecting), the expression of a select field without aggregates:
// the merged row holds its value.
func (m *MergeSpec) isLeaf(e ast.ExprNode, projecting bool) bool {
	text := restoreText(e)
	if _, ok := m.groupKey[text]; ok {
		return true
	}
	if projecting {
		return false
	}
	for _, f := range m.fields {
		if f.Expr != nil && f.WildCard == nil && !containsAggregate(f.Expr) && restoreText(f.Expr) == text {
			return true
		}
	}
	return false
}

func ratOf(text string) *big.Rat {
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return new(big.Rat)
	}
	return r
}

// isStringConst reports a string constant (compared as text, not number).
func isStringConst(e ast.ExprNode) bool {
	v, ok := e.(*driver.ValueExpr)
	if !ok {
		return false
	}
	_, isString := v.GetValue().(string)
	return isString
}

// distinctArgument is the one argument every COUNT/SUM/AVG(DISTINCT …)
// of the SELECT (fields, HAVING, ORDER BY) shares, nil when there is none
// or they differ.
func distinctArgument(sel *ast.SelectStmt) ast.ExprNode {
	var arg ast.ExprNode
	same := true
	visit := func(n ast.Node) {
		n.Accept(&visitFn{fn: func(x ast.Node) bool {
			switch a := x.(type) {
			case *ast.SubqueryExpr:
				return false
			case *ast.AggregateFuncExpr:
				k := strings.ToLower(a.F)
				if !a.Distinct || k == ast.AggFuncMin || k == ast.AggFuncMax || k == ast.AggFuncGroupConcat {
					return true // GROUP_CONCAT's DISTINCT is the proxy's (concatAgg)
				}
				if len(a.Args) != 1 {
					same = false
				} else if arg == nil {
					arg = a.Args[0]
				} else if restoreText(arg) != restoreText(a.Args[0]) {
					same = false
				}
			}
			return true
		}})
	}
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil {
			visit(f.Expr)
		}
	}
	if sel.Having != nil {
		visit(sel.Having.Expr)
	}
	if sel.OrderBy != nil {
		for _, item := range sel.OrderBy.Items {
			visit(item.Expr)
		}
	}
	if !same {
		return nil
	}
	return arg
}

// floatZero is 0e0, a double: added to a double aggregate it makes MariaDB
// print every digit (VAR_POP of an integer is printed with 4 decimals).
func floatZero() ast.ExprNode {
	return ast.NewValueExpr(float64(0), "", "")
}

// concatAgg plans a GROUP_CONCAT over groups that span shards: the shards
// group by the element too (sub returns what to add to their GROUP BY) and
// return, per element, what engine.ConcatSpec lists.
func (m *MergeSpec) concatAgg(spec *engine.AggSpec, a *ast.AggregateFuncExpr, hidden func(ast.ExprNode) int, weight func(ast.ExprNode) int) (sub []ast.ExprNode, err error) {
	if len(a.Args) < 2 {
		return nil, fmt.Errorf("GROUP_CONCAT without arguments")
	}
	args, sep := a.Args[:len(a.Args)-1], a.Args[len(a.Args)-1]
	fn := func(name string, args ...ast.ExprNode) ast.ExprNode {
		return &ast.FuncCallExpr{FnName: ast.NewCIStr(name), Args: args}
	}
	sysVar := func(name string) ast.ExprNode {
		return &ast.VariableExpr{Name: name, IsGlobal: false, IsSystem: true}
	}
	c := &engine.ConcatSpec{Distinct: a.Distinct}
	spec.H = []int{hidden(ast.NewValueExpr("", "", ""))}
	elem := fn("CONCAT", args...)
	withSep := fn("CONCAT", append(slices.Clone(args), sep)...)
	c.MaxLen = hidden(sysVar("group_concat_max_len"))
	c.Results = hidden(sysVar("character_set_results"))
	c.Count = hidden(&ast.AggregateFuncExpr{F: ast.AggFuncCount, Args: []ast.ExprNode{ast.NewValueExpr(int64(1), "", "")}})
	binary := func(e ast.ExprNode) ast.ExprNode { return fn("CONVERT", e, ast.NewValueExpr("binary", "", "")) }
	c.Elem = hidden(elem)
	c.Raw = hidden(binary(elem))
	c.ElemSep = hidden(withSep)
	c.RawSep = hidden(binary(withSep))
	c.Charset = hidden(fn("CHARSET", elem))
	for _, arg := range args {
		if containsAggregate(arg) {
			return nil, fmt.Errorf("an aggregate inside GROUP_CONCAT")
		}
		sub = append(sub, arg)
		if a.Distinct {
			// Equal by the argument's collation (and type) is one element.
			c.DistinctBy = append(c.DistinctBy, engine.SortKey{Value: hidden(arg), Weight: weight(arg)})
		} else {
			// Every spelling is an element of its own ('a' and 'A'
			// under a case-insensitive collation): its bytes group too.
			sub = append(sub, fn("HEX", arg))
		}
	}
	if a.Order != nil {
		for _, item := range a.Order.Items {
			if _, ok := item.Expr.(*ast.PositionExpr); ok {
				return nil, fmt.Errorf("GROUP_CONCAT ordered by a position")
			}
			if containsAggregate(item.Expr) {
				return nil, fmt.Errorf("an aggregate inside GROUP_CONCAT")
			}
			sub = append(sub, item.Expr)
			c.Order = append(c.Order, engine.SortKey{Value: hidden(item.Expr), Weight: weight(item.Expr), Desc: item.Desc})
		}
	}
	spec.Concat = c
	return sub, nil
}

// concatsEmptied is e with every GROUP_CONCAT in it computed over no rows
// (emptyConcat) on the shards, whose column definition stays MariaDB's;
// the proxy computes e with the merged values (aggIndex knows both texts).
func (m *MergeSpec) concatsEmptied(e ast.ExprNode) ast.ExprNode {
	out, _ := e.Accept(&concatEmptier{m: m})
	return out.(ast.ExprNode)
}

type concatEmptier struct{ m *MergeSpec }

func (v *concatEmptier) Enter(n ast.Node) (ast.Node, bool) {
	_, sub := n.(*ast.SubqueryExpr)
	return n, sub
}

func (v *concatEmptier) Leave(n ast.Node) (ast.Node, bool) {
	a, ok := n.(*ast.AggregateFuncExpr)
	if !ok || !strings.EqualFold(a.F, ast.AggFuncGroupConcat) {
		return n, true
	}
	i, ok := v.m.aggIndex[restoreText(a)]
	if !ok {
		return n, true
	}
	out := emptyConcat(a)
	v.m.aggIndex[restoreText(out)] = i
	return out, true
}

// emptyConcat is a GROUP_CONCAT of a's arguments over no rows: the column
// definition of a, and NULL. It keeps a's DISTINCT and ORDER BY (nothing
// to sort, but two GROUP_CONCATs differing only there keep two texts).
func emptyConcat(a *ast.AggregateFuncExpr) ast.ExprNode {
	args := a.Args[:len(a.Args)-1]
	out := &ast.AggregateFuncExpr{F: a.F, Distinct: a.Distinct, Order: a.Order}
	for _, arg := range args {
		out.Args = append(out.Args, &ast.FuncCallExpr{FnName: ast.NewCIStr("IF"), Args: []ast.ExprNode{ast.NewValueExpr(int64(0), "", ""), arg, ast.NewValueExpr(nil, "", "")}})
	}
	out.Args = append(out.Args, a.Args[len(a.Args)-1])
	return out
}

// projectConstants has the proxy compute every field that is not over
// aggregates (a constant, without GROUP BY), for a merge whose one group
// may come from no shard row at all: the row the proxy makes then holds
// them (engine.OrderedAggregate).
func (m *MergeSpec) projectConstants() error {
	for i, f := range m.fields {
		if !containsAggregate(f.Expr) && !slices.Contains(m.Project, i) {
			if err := m.checkComputable(f.Expr, true); err != nil {
				return err
			}
			m.Project = append(m.Project, i)
		}
	}
	slices.Sort(m.Project)
	return nil
}
