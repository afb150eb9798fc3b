package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
)

// windowMergeSpec rewrites a SELECT whose window functions span several
// shards (their windows are not PARTITION BY the shard key): each shard
// returns its rows sorted by the windows' PARTITION BY and ORDER BY keys,
// with those keys (and their weight strings) and the functions' arguments
// in helper columns; the proxy merges the streams in that order and
// computes the functions over all the rows (engine.Window), then sorts
// by the client's ORDER BY in memory and applies its LIMIT. Each shard
// still computes the functions over its own rows: MariaDB's column
// definitions (a SUM's DECIMAL scale, an AVG's) come from there, and the
// values are replaced. Windows of one PARTITION BY and ORDER BY share one
// sort order; windows of others are computed after, each group over the
// rows sorted again in memory (MergeSpec.WindowStages); frames may differ
// among the aggregates, within what engine.WindowFrame covers. localGroups: the
// statement groups by the shard key (see groupsLocal), so each shard
// returns whole groups, after their HAVING, and the windows run over them
// as over rows.
func windowMergeSpec(sel *ast.SelectStmt, table string, localGroups bool, columns columnsOf) (*MergeSpec, error) {
	m := &MergeSpec{Count: -1, aggIndex: map[string]int{}, groupKey: map[string]int{}}
	refuse := func(format string, args ...any) error {
		return notSupported("window functions over sharded table %s across several shards (not PARTITION BY its shard key) with %s are not supported by this version",
			table, fmt.Sprintf(format, args...))
	}
	switch {
	case sel.Distinct:
		// Rows are compared by each field's weight string, and MariaDB
		// takes no window function inside WEIGHT_STRING (4015).
		return nil, refuse("SELECT DISTINCT")
	case sel.Having != nil && !localGroups:
		return nil, refuse("HAVING")
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
	hidden := func(expr ast.ExprNode) int {
		sel.Fields.Fields = append(sel.Fields.Fields, &ast.SelectField{Expr: expr, AsName: ast.NewCIStr(fmt.Sprintf("__sg_%d", m.Hidden))})
		m.Hidden++
		return m.Hidden - 1
	}
	weight := func(expr ast.ExprNode) int {
		return hidden(weightOf(expr))
	}
	named := map[string]*ast.WindowSpec{}
	for i := range sel.WindowSpecs {
		named[sel.WindowSpecs[i].Name.L] = &sel.WindowSpecs[i]
	}
	firstWild, lastWild := -1, -1
	for i, f := range m.fields {
		if f.WildCard != nil {
			if firstWild < 0 {
				firstWild = i
			}
			lastWild = i
		}
	}

	// Windows of one PARTITION BY and one ORDER BY (or none: unordered)
	// share a stage: one sort order of the rows serves them all. The
	// first stage's order is the one the shards sort by; each further
	// stage sorts the rows, their earlier windows computed, again in
	// memory by its own keys (see buildWindow).
	type stage struct {
		partition           *ast.PartitionByClause
		order               *ast.OrderByClause
		partText, orderText string
	}
	var stages []*stage
	var unordered []bool
	var stageOf []int
	windowField := map[int]int{} // select field → its WindowFuncs index + 1
	for i, f := range m.fields {
		if f.WildCard != nil {
			continue
		}
		w, ok := f.Expr.(*ast.WindowFuncExpr)
		if !ok {
			if hasWindow(f.Expr) {
				return nil, refuse("a window function inside an expression or subquery (%s)", f.Text())
			}
			continue
		}
		text, _ := parser.RestoreIn(w, parser.TextMode{})
		wf := engine.WindowFunc{Kind: strings.ToLower(w.Name), Field: i, Arg: -1, ArgWeight: -1, Default: -1, Text: text}
		switch {
		case firstWild < 0 || i < firstWild:
		case i > lastWild:
			wf.Field, wf.FromEnd = len(m.fields)-i, true
		default:
			return nil, refuse("a window function between two * fields")
		}
		if w.Distinct || w.IgnoreNull || w.FromLast {
			return nil, refuse("%s", text)
		}
		p, o, frame := resolveWindow(&w.Spec, named)
		if o != nil && len(o.Items) == 0 {
			o = nil
		}
		pt, ot := windowKeyText(p, nil), windowKeyText(nil, o)
		si := -1
		for k, sg := range stages {
			// A window without ORDER BY joins any stage of its
			// PARTITION BY: its frames span the whole partition (or run
			// in the order the rows come in, which MariaDB leaves open
			// too).
			if sg.partText == pt && (o == nil || sg.order == nil || sg.orderText == ot) {
				si = k
				break
			}
		}
		switch {
		case si < 0:
			stages = append(stages, &stage{partition: p, order: o, partText: pt, orderText: ot})
			si = len(stages) - 1
		case o != nil && stages[si].order == nil:
			stages[si].order, stages[si].orderText = o, ot
		}
		unordered = append(unordered, o == nil)
		stageOf = append(stageOf, si)
		switch wf.Kind {
		case engine.WinRowNumber, engine.WinRank, engine.WinDenseRank, engine.WinPercentRank, engine.WinCumeDist:
		case engine.WinNtile:
			n, ok := int64(0), len(w.Args) == 1
			if ok {
				n, ok = literalInt(w.Args[0])
			}
			if !ok || n < 1 {
				return nil, refuse("an NTILE bucket count that is not a constant from 1")
			}
			wf.Offset = n
		case engine.WinLag, engine.WinLead:
			if len(w.Args) < 1 || len(w.Args) > 3 {
				return nil, refuse("%s", text)
			}
			wf.Arg, wf.Offset = hidden(w.Args[0]), 1
			if len(w.Args) > 1 {
				n, ok := literalInt(w.Args[1])
				if !ok {
					return nil, refuse("a %s offset that is not a constant", strings.ToUpper(wf.Kind))
				}
				wf.Offset = n
			}
			if len(w.Args) > 2 {
				wf.Default = hidden(w.Args[2])
			}
		case engine.WinSum, engine.WinCount, engine.WinAvg, engine.WinMin, engine.WinMax,
			engine.WinFirstValue, engine.WinLastValue, engine.WinNthValue:
			args := 1
			if wf.Kind == engine.WinNthValue {
				args = 2
			}
			if len(w.Args) != args {
				return nil, refuse("%s", text)
			}
			if args == 2 {
				n, ok := literalInt(w.Args[1])
				if !ok || n < 1 {
					return nil, refuse("an NTH_VALUE row that is not a constant from 1")
				}
				wf.Offset = n
			}
			if _, isNull, isConst := parser.Literal(w.Args[0]); !(wf.Kind == engine.WinCount && isConst && !isNull) {
				// COUNT(*) (COUNT(1) in the tree) counts every row.
				wf.Arg = hidden(w.Args[0])
			}
			if wf.Kind == engine.WinMin || wf.Kind == engine.WinMax {
				wf.ArgWeight = weight(w.Args[0])
			}
			var ok bool
			if wf.Frame, wf.Preceding, ok = windowFrame(frame); !ok {
				return nil, refuse("the frame of %s", text)
			}
		default:
			return nil, refuse("%s", strings.ToUpper(w.Name)+"()")
		}
		m.WindowFuncs = append(m.WindowFuncs, wf)
		windowField[i] = len(m.WindowFuncs)
	}
	if len(m.WindowFuncs) == 0 {
		return nil, refuse("a window function outside the select list")
	}
	for i := range m.WindowFuncs {
		wf := &m.WindowFuncs[i]
		if !unordered[i] || stages[stageOf[i]].order == nil {
			continue
		}
		// Without an ORDER BY of its own every row of the partition is
		// a peer: the default frame is the whole partition.
		if wf.Frame == engine.FramePeers {
			wf.Frame = engine.FramePartition
		}
		wf.Unordered = true
	}

	byField := m.fieldOf
	// The shards sort by the helper columns' aliases: in a statement's
	// ORDER BY a name is first a select alias, which the window's column
	// of the same name would not be.
	var shardOrder []*ast.ByItem
	key := func(e ast.ExprNode, desc bool) engine.SortKey {
		return engine.SortKey{Value: hidden(e), Weight: weight(e), Desc: desc}
	}
	// MariaDB resolves a window's keys as it does GROUP BY (PARTITION BY:
	// a name is the tables' column first) and ORDER BY (a select alias
	// or position first; inside an expression the tables' column first):
	// the helper columns the shards compute must read the same.
	m.WindowStage = stageOf
	for si, sg := range stages {
		var ws engine.WindowStage
		if sg.partition != nil {
			for _, item := range sg.partition.Items {
				expr, field := byField(item.Expr)
				if c, ok := item.Expr.(*ast.ColumnNameExpr); ok && field >= 0 {
					if isColumn, _ := columns(c.Name.Name.L); isColumn {
						expr, field = item.Expr, -1
					}
				}
				if field >= 0 && hasWindow(expr) {
					return nil, refuse("a window over a window function")
				}
				ws.Partition = append(ws.Partition, key(expr, false))
				ws.Text = append(ws.Text, restoreText(item.Expr))
			}
		}
		if sg.order != nil {
			for _, item := range sg.order.Items {
				expr, field := byField(item.Expr)
				if field < 0 {
					var err error
					if expr, err = m.unalias(expr, columns); err != nil {
						return nil, err
					}
				}
				if hasWindow(expr) {
					return nil, refuse("a window over a window function")
				}
				ws.Order = append(ws.Order, key(expr, item.Desc))
				ws.Text = append(ws.Text, restoreText(item.Expr))
			}
		}
		if si > 0 {
			m.WindowStages = append(m.WindowStages, ws)
			continue
		}
		// The first stage's keys are the order the shards sort by, by
		// the helper columns' aliases: in a statement's ORDER BY a name
		// is first a select alias, which the window's column of the
		// same name would not be.
		m.Keys = append(append(m.Keys, ws.Partition...), ws.Order...)
		m.WindowPartition = len(ws.Partition)
		for _, k := range m.Keys {
			shardOrder = append(shardOrder, &ast.ByItem{Expr: &ast.ColumnNameExpr{Name: &ast.ColumnName{Name: ast.NewCIStr(fmt.Sprintf("__sg_%d", k.Value))}}, Desc: k.Desc})
		}
	}

	// The client's ORDER BY sorts the computed rows in memory: a window
	// field by its computed value, anything else by helper columns the
	// shards compute (value and weight string, for its collation).
	if sel.OrderBy != nil {
		for _, item := range sel.OrderBy.Items {
			expr, field := byField(item.Expr)
			text, _ := parser.RestoreIn(item.Expr, parser.TextMode{})
			switch {
			case field >= 0 && windowField[field] > 0:
				wf := &m.WindowFuncs[windowField[field]-1]
				switch wf.Kind {
				case engine.WinLag, engine.WinLead, engine.WinMin, engine.WinMax, engine.WinFirstValue, engine.WinLastValue, engine.WinNthValue:
					// Its value is the argument's (a string, compared by
					// collation): the proxy writes it and its weight
					// string where the shards computed the argument's.
					if wf.Default >= 0 {
						return nil, refuse("an ORDER BY over %s with a default", wf.Text)
					}
					if !wf.Sorted {
						arg := m.fields[field].Expr.(*ast.WindowFuncExpr).Args[0]
						wf.Sorted, wf.Slot = true, hidden(arg)
						w := weight(arg)
						if wf.ArgWeight < 0 {
							// The shards' weight of the argument, read
							// before the proxy writes the slot.
							wf.ArgWeight = w
						}
					}
					k := engine.SortKey{Value: wf.Slot, Weight: wf.Slot + 1}
					m.WindowSort = append(m.WindowSort, engine.MemorySortKey{Key: &k, Desc: item.Desc, Text: text})
					continue
				}
				col := engine.Col{Index: field}
				if wf.FromEnd {
					// Counted back from the first helper column.
					col = engine.Col{Index: -wf.Field, Helper: true}
				}
				m.WindowSort = append(m.WindowSort, engine.MemorySortKey{Expr: col, Desc: item.Desc, Text: text})
				continue
			case hasWindow(expr):
				return nil, refuse("an ORDER BY over window functions (%s)", text)
			case field < 0:
				var err error
				if expr, err = m.unalias(expr, columns); err != nil {
					return nil, err
				}
			}
			k := engine.SortKey{Value: hidden(expr), Weight: weight(expr)}
			m.WindowSort = append(m.WindowSort, engine.MemorySortKey{Key: &k, Desc: item.Desc, Text: text})
		}
	}
	sel.OrderBy = nil
	if len(shardOrder) > 0 {
		sel.OrderBy = &ast.OrderByClause{Items: shardOrder}
	}
	sel.Limit = nil
	return m, nil
}

// resolveWindow finds a window's PARTITION BY, ORDER BY and frame, through
// the named windows it refers to (OVER w, OVER (w ORDER BY …)).
func resolveWindow(s *ast.WindowSpec, named map[string]*ast.WindowSpec) (*ast.PartitionByClause, *ast.OrderByClause, *ast.FrameClause) {
	p, o, f := s.PartitionBy, s.OrderBy, s.Frame
	seen := map[*ast.WindowSpec]bool{s: true}
	for cur := s; ; {
		ref := cur.Ref.L
		if ref == "" && cur.OnlyAlias {
			ref = cur.Name.L
		}
		next := named[ref]
		if ref == "" || next == nil || seen[next] {
			return p, o, f
		}
		seen[next] = true
		cur = next
		if p == nil {
			p = cur.PartitionBy
		}
		if o == nil {
			o = cur.OrderBy
		}
		if f == nil {
			f = cur.Frame
		}
	}
}

// windowKeyText identifies a window's sort order.
func windowKeyText(p *ast.PartitionByClause, o *ast.OrderByClause) string {
	var b strings.Builder
	b.WriteString("partition:")
	if p != nil {
		for _, item := range p.Items {
			b.WriteString(restoreText(item.Expr) + ",")
		}
	}
	b.WriteString(" order:")
	if o != nil {
		for _, item := range o.Items {
			b.WriteString(restoreText(item.Expr))
			if item.Desc {
				b.WriteString(" desc")
			}
			b.WriteString(",")
		}
	}
	return b.String()
}

// windowFrame reads an aggregate's frame: the default one, one that
// starts at the partition's first row and ends at the current row (ROWS:
// the row itself, RANGE: its last peer) or at the partition's end, or
// ROWS from n rows back to the current row (and n).
func windowFrame(f *ast.FrameClause) (engine.WindowFrame, int64, bool) {
	if f == nil {
		return engine.FramePeers, 0, true
	}
	start, end := f.Extent.Start, f.Extent.End
	if f.Type == ast.Rows && end.Type == ast.CurrentRow && !start.UnBounded {
		// ROWS BETWEEN n PRECEDING AND CURRENT ROW (n constant; CURRENT
		// ROW is n = 0).
		switch start.Type {
		case ast.CurrentRow:
			return engine.FrameSliding, 0, true
		case ast.Preceding:
			if n, ok := literalInt(start.Expr); ok && start.Expr != nil && start.Unit == ast.TimeUnitInvalid {
				return engine.FrameSliding, n, true
			}
		}
		return 0, 0, false
	}
	if start.Type != ast.Preceding || !start.UnBounded {
		return 0, 0, false
	}
	switch {
	case end.Type == ast.Following && end.UnBounded:
		return engine.FramePartition, 0, true
	case end.Type == ast.CurrentRow && f.Type == ast.Rows:
		return engine.FrameRows, 0, true
	case end.Type == ast.CurrentRow && f.Type == ast.Ranges:
		return engine.FramePeers, 0, true
	}
	return 0, 0, false
}
