package planner

import (
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/tabledef"
	"github.com/shardgate/shardgate/wire"
)

// Global sequences (README: Global sequences). A sharded table with a
// sequence gets its column's values from the proxy, not from each
// physical table's AUTO_INCREMENT. Planning takes two calls, because the
// values come from outside the planner (the session's sequence
// allocator) and decide where rows go when the column is the shard key:
// SequenceNeed says which rows need a value, and PlanSequenced plans the
// statement with the values written into it. The plan is then plain data
// again: literal values and a SequenceIDs node that reports the insert id.

// SequenceNeed is what an INSERT asks of a table's sequence.
type SequenceNeed struct {
	// Key names the sequence: schema.table, the table in lower case.
	Key    string
	Column string
	Start  int64
	Cache  int64
	// Slots has one entry per row, in order.
	Slots []SequenceSlot
}

// SequenceSlot is one row: it needs a value (Explicit false), or gives
// its own, whose Value is known when it is a literal integer.
type SequenceSlot struct {
	Explicit bool
	Value    int64
}

// SequenceNeed returns what st needs from a sequence, or nil when it is
// not an INSERT or REPLACE into a sharded table with one.
func (pl *Planner) SequenceNeed(st *parser.Statement, f Facts) (*SequenceNeed, error) {
	n, ok := st.Node.(*ast.InsertStmt)
	if !ok || n.Select != nil {
		return nil, nil
	}
	refs, _, err := pl.resolve(st, f.DB)
	if err != nil || len(refs) != 1 || refs[0].sharded == nil || refs[0].rule == nil || refs[0].rule.Sequence == nil {
		return nil, nil // planning proper answers (or refuses) these
	}
	r := refs[0]
	q := r.rule.Sequence
	need := &SequenceNeed{Key: r.schema + "." + strings.ToLower(r.name), Column: q.Column, Start: q.Start, Cache: q.Cache}
	idx := seqColumn(n, q.Column)
	if len(n.Columns) == 0 && !(len(n.Lists) > 0 && len(n.Lists[0]) == 0) {
		// Without a column list the rows give every column in the
		// table's order (VALUES () gives none: every row needs a value).
		k := pl.keysFor(f, r.schema, r.sharded)
		if k.legacy || !k.known {
			return nil, notSupported("INSERT without a column list into sharded table %s needs the table's definition, which could not be read from the backends; give the column list", r.qualified())
		}
		idx = tabledef.Index(k.cols, q.Column)
		if idx < 0 {
			return nil, wire.Errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%s' in 'field list'", q.Column)
		}
	}
	for _, row := range n.Lists {
		need.Slots = append(need.Slots, slotOf(row, idx, f.NoAutoValueOnZero))
	}
	return need, nil
}

// seqColumn is the position of the sequence column in the INSERT's
// column list, -1 when the list leaves it out.
func seqColumn(n *ast.InsertStmt, col string) int {
	for i, c := range n.Columns {
		if strings.EqualFold(c.Name.O, col) {
			return i
		}
	}
	return -1
}

// slotOf decides, as MariaDB does for AUTO_INCREMENT, whether a row gets
// a value: when it gives none, DEFAULT, NULL, or 0 (unless sql_mode has
// NO_AUTO_VALUE_ON_ZERO, which makes 0 an ordinary value).
func slotOf(row []ast.ExprNode, idx int, noAutoOnZero bool) SequenceSlot {
	if idx < 0 || idx >= len(row) {
		return SequenceSlot{}
	}
	if _, ok := row[idx].(*ast.DefaultExpr); ok {
		return SequenceSlot{}
	}
	text, null, ok := parser.Literal(row[idx])
	switch {
	case !ok:
		// An expression: its value is the server's to compute. It is
		// written as given, and does not move the sequence.
		return SequenceSlot{Explicit: true}
	case null:
		return SequenceSlot{}
	}
	v, isInt := engine.IntegerValue(text)
	if isInt && v == 0 && !noAutoOnZero {
		return SequenceSlot{}
	}
	if !isInt {
		return SequenceSlot{Explicit: true}
	}
	return SequenceSlot{Explicit: true, Value: v}
}

// PlanSequenced plans an INSERT that SequenceNeed asked values for:
// values[i] is row i's value (ignored for rows that gave their own).
func (pl *Planner) PlanSequenced(st *parser.Statement, f Facts, values []int64) (*engine.Plan, error) {
	f.seqValues = values
	f.sequenced = true
	return pl.Plan(st, f)
}

// fillSequence writes the sequence's values into the rows that need one,
// adding the column when the list leaves it out, and returns how to put
// the statement back (the parsed statement stays the client's text), the
// node that reports the insert id, and each row's generated value (0: the
// row gave its own). A statement planned without
// values (Plan instead of PlanSequenced) that needs some is refused: the
// proxy never lets a backend's AUTO_INCREMENT fill a sequenced column.
func (pl *Planner) fillSequence(n *ast.InsertStmt, r tableRef, f Facts) (restore func(), ids *engine.SequenceIDs, gen []int64, err error) {
	restore = func() {}
	q := r.rule.Sequence
	if q == nil {
		return restore, nil, nil, nil
	}
	if len(n.Columns) == 0 && !(len(n.Lists) > 0 && len(n.Lists[0]) == 0) {
		// insertPlan writes the list out from the definition first; only
		// VALUES () (every column its default) comes here without one.
		return restore, nil, nil, notSupported("INSERT into %s, whose column %s comes from a sequence, needs a column list", r.qualified(), q.Column)
	}
	idx := seqColumn(n, q.Column)
	// ON DUPLICATE KEY UPDATE and IGNORE may leave a row not inserted.
	ids = &engine.SequenceIDs{Column: r.qualified() + "." + q.Column, Upsert: len(n.OnDuplicate) > 0 || n.IgnoreErr}
	gen = make([]int64, len(n.Lists))
	cols, lists := n.Columns, n.Lists
	newLists := make([][]ast.ExprNode, len(lists))
	fill := idx
	if idx < 0 {
		n.Columns = append(append([]*ast.ColumnName(nil), cols...), &ast.ColumnName{Name: ast.NewCIStr(q.Column)})
		fill = len(cols)
	}
	for i, row := range lists {
		if len(row) != len(cols) {
			// As the server answers it; the row would not fit the list.
			n.Columns = cols
			return restore, nil, nil, wire.Errorf(mysql.ER_WRONG_VALUE_COUNT_ON_ROW, "Column count doesn't match value count at row %d", i+1)
		}
		slot := slotOf(row, idx, f.NoAutoValueOnZero)
		nr := append([]ast.ExprNode(nil), row...)
		if idx < 0 {
			nr = append(nr, nil)
		}
		if !slot.Explicit {
			if !f.sequenced || i >= len(f.seqValues) || f.seqValues[i] <= 0 {
				n.Columns = cols
				return restore, nil, nil, notSupported("INSERT into %s needs values from the sequence of %s", r.qualified(), q.Column)
			}
			v := f.seqValues[i]
			nr[fill] = ast.NewValueExpr(v, "", "")
			if ids.Count == 0 {
				ids.First = v
			}
			ids.Count++
			gen[i] = v
		} else if idx < 0 {
			nr[fill] = &ast.DefaultExpr{}
		}
		newLists[i] = nr
	}
	n.Lists = newLists
	return func() { n.Columns, n.Lists = cols, lists }, ids, gen, nil
}

// seqCheck is the read that tells which generated values of an upsert's
// (or INSERT IGNORE's) step went into inserted rows, when its answer says
// only that some rows were duplicates: a generated value is new, so a row holding it was
// inserted by this statement. Only upserts' steps of several rows with
// generated values need it.
func seqCheck(upsert bool, schema, table, column string, values []int64, rows int) string {
	if !upsert || len(values) == 0 || rows < 2 {
		return ""
	}
	list := make([]string, len(values))
	for i, v := range values {
		list[i] = strconv.FormatInt(v, 10)
	}
	col := parser.QuoteIdent(column)
	return "SELECT MIN(" + col + ") FROM " + parser.QuoteIdent(schema) + "." + parser.QuoteIdent(table) +
		" WHERE " + col + " IN (" + strings.Join(list, ",") + ")"
}
