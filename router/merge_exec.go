package router

import (
	"bytes"
	"container/heap"
	"errors"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// maxSortBytes bounds the rows an in-memory ORDER BY over merged groups may
// hold; beyond it the statement fails instead of exhausting memory.
const maxSortBytes = 256 << 20

// mergeRow is one row from a shard, split into values.
type mergeRow struct {
	vals  [][]byte
	nulls []bool
	shard int
	size  int
}

// valueKind is how values of a column compare.
type valueKind int

const (
	kindString valueKind = iota
	kindInt
	kindDecimal
	kindFloat
	kindTemporal
	kindTime
)

func kindOf(t byte) valueKind {
	switch t {
	case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_YEAR, mysql.MYSQL_TYPE_BIT:
		return kindInt
	case mysql.MYSQL_TYPE_DECIMAL, mysql.MYSQL_TYPE_NEWDECIMAL:
		return kindDecimal
	case mysql.MYSQL_TYPE_FLOAT, mysql.MYSQL_TYPE_DOUBLE:
		return kindFloat
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_TIMESTAMP, mysql.MYSQL_TYPE_NEWDATE,
		mysql.MYSQL_TYPE_DATETIME2, mysql.MYSQL_TYPE_TIMESTAMP2:
		return kindTemporal
	case mysql.MYSQL_TYPE_TIME, mysql.MYSQL_TYPE_TIME2:
		return kindTime
	}
	return kindString
}

func ratOf(b []byte) *big.Rat {
	r, ok := new(big.Rat).SetString(string(b))
	if !ok {
		return new(big.Rat)
	}
	return r
}

func timeSeconds(b []byte) *big.Rat {
	s := string(b)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	parts := strings.SplitN(s, ":", 3)
	total := new(big.Rat)
	mult := []int64{3600, 60, 1}
	for i, p := range parts {
		v := ratOf([]byte(p))
		total.Add(total, v.Mul(v, big.NewRat(mult[i], 1)))
	}
	if neg {
		total.Neg(total)
	}
	return total
}

// compareValues orders two non-NULL values of one kind; w1, w2 are their
// weight strings (used for strings).
func compareValues(kind valueKind, v1, w1, v2, w2 []byte) int {
	switch kind {
	case kindString:
		return bytes.Compare(w1, w2)
	case kindInt:
		a, errA := strconv.ParseInt(string(v1), 10, 64)
		b, errB := strconv.ParseInt(string(v2), 10, 64)
		if errA == nil && errB == nil {
			switch {
			case a < b:
				return -1
			case a > b:
				return 1
			}
			return 0
		}
		return ratOf(v1).Cmp(ratOf(v2))
	case kindDecimal:
		return ratOf(v1).Cmp(ratOf(v2))
	case kindFloat:
		a, _ := strconv.ParseFloat(string(v1), 64)
		b, _ := strconv.ParseFloat(string(v2), 64)
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	case kindTime:
		return timeSeconds(v1).Cmp(timeSeconds(v2))
	}
	return bytes.Compare(v1, v2)
}

// keyCmp compares rows on one sort key. NULL is lower than any value, as
// in MySQL: first in ascending order, last in descending.
type keyCmp struct {
	v, w int
	kind valueKind
	desc bool
}

func (k keyCmp) cmp(a, b *mergeRow) int {
	c := 0
	switch an, bn := a.nulls[k.v], b.nulls[k.v]; {
	case an && bn:
	case an:
		c = -1
	case bn:
		c = 1
	default:
		c = compareValues(k.kind, a.vals[k.v], a.vals[k.w], b.vals[k.v], b.vals[k.w])
	}
	if k.desc {
		return -c
	}
	return c
}

// aggState accumulates one aggregate of one group.
type aggState struct {
	count    int64
	sum      *big.Rat
	sumF     float64
	any      bool
	best     []byte
	bestW    []byte
	bestNull bool
}

// merger turns shard rows into the client's rows.
type merger struct {
	spec    *MergeSpec
	cols    []wire.Column // every column a shard returns
	visible int
	keys    []keyCmp
	aggKind []valueKind // kind of each aggregate's first helper
}

func newMerger(spec *MergeSpec, header [][]byte) (*merger, error) {
	m := &merger{spec: spec}
	for _, def := range header {
		c, ok := wire.ParseColumn(def)
		if !ok {
			return nil, errors.New("malformed column definition from a shard")
		}
		m.cols = append(m.cols, c)
	}
	m.visible = len(m.cols) - spec.Hidden
	if m.visible < 0 {
		return nil, errors.New("a shard returned fewer columns than asked")
	}
	for _, k := range spec.Keys {
		v, w := m.visible+k.Value, m.visible+k.Weight
		m.keys = append(m.keys, keyCmp{v: v, w: w, kind: kindOf(m.cols[v].Type), desc: k.Desc})
	}
	for _, a := range spec.Aggs {
		m.aggKind = append(m.aggKind, kindOf(m.cols[m.visible+a.H[0]].Type))
	}
	return m, nil
}

func (m *merger) compare(a, b *mergeRow) int {
	for _, k := range m.keys {
		if c := k.cmp(a, b); c != 0 {
			return c
		}
	}
	return 0
}

func (m *merger) parse(raw []byte, shard int) (*mergeRow, error) {
	vals, nulls, ok := wire.ParseTextRow(raw, len(m.cols))
	if !ok {
		return nil, errors.New("malformed row from a shard")
	}
	return &mergeRow{vals: vals, nulls: nulls, shard: shard, size: len(raw) + 48*len(vals)}, nil
}

// group is a merged group: its first row (for non-aggregate columns) and
// the aggregate states.
type group struct {
	first *mergeRow
	aggs  []aggState
}

func (m *merger) newGroup(r *mergeRow) *group {
	g := &group{first: r, aggs: make([]aggState, len(m.spec.Aggs))}
	m.add(g, r)
	return g
}

// add merges one shard's partial aggregates into the group.
func (m *merger) add(g *group, r *mergeRow) {
	for i, a := range m.spec.Aggs {
		st := &g.aggs[i]
		h := m.visible + a.H[0]
		switch a.Kind {
		case ast.AggFuncCount:
			n, _ := strconv.ParseInt(string(r.vals[h]), 10, 64)
			st.count += n
		case ast.AggFuncSum, ast.AggFuncAvg:
			if !r.nulls[h] {
				st.any = true
				if m.aggKind[i] == kindFloat {
					f, _ := strconv.ParseFloat(string(r.vals[h]), 64)
					st.sumF += f
				} else {
					if st.sum == nil {
						st.sum = new(big.Rat)
					}
					st.sum.Add(st.sum, ratOf(r.vals[h]))
				}
			}
			if a.Kind == ast.AggFuncAvg {
				n, _ := strconv.ParseInt(string(r.vals[m.visible+a.H[1]]), 10, 64)
				st.count += n
			}
		case ast.AggFuncMin, ast.AggFuncMax:
			if r.nulls[h] {
				continue
			}
			w := r.vals[m.visible+a.H[1]]
			if st.any {
				c := compareValues(m.aggKind[i], r.vals[h], w, st.best, st.bestW)
				if (a.Kind == ast.AggFuncMin && c >= 0) || (a.Kind == ast.AggFuncMax && c <= 0) {
					continue
				}
			}
			st.any, st.best, st.bestW = true, r.vals[h], w
		}
	}
}

// aggText is the text MySQL shows for a merged aggregate, nil for NULL.
func (m *merger) aggText(i int, g *group) []byte {
	a, st := m.spec.Aggs[i], g.aggs[i]
	var col wire.Column
	if a.Visible >= 0 {
		col = m.cols[a.Visible]
	} else {
		col = m.cols[m.visible+a.H[0]]
	}
	switch a.Kind {
	case ast.AggFuncCount:
		return []byte(strconv.FormatInt(st.count, 10))
	case ast.AggFuncMin, ast.AggFuncMax:
		if !st.any {
			return nil
		}
		return st.best
	case ast.AggFuncSum:
		if !st.any {
			return nil
		}
		if m.aggKind[i] == kindFloat {
			return formatFloat(st.sumF)
		}
		return []byte(st.sum.FloatString(int(col.Decimals)))
	case ast.AggFuncAvg:
		if !st.any || st.count == 0 {
			return nil
		}
		if m.aggKind[i] == kindFloat || kindOf(col.Type) == kindFloat {
			sum := st.sumF
			if st.sum != nil {
				sum, _ = st.sum.Float64()
			}
			return formatFloat(sum / float64(st.count))
		}
		avg := new(big.Rat).Quo(st.sum, big.NewRat(st.count, 1))
		return []byte(avg.FloatString(int(col.Decimals)))
	}
	return nil
}

// formatFloat writes a double the way MariaDB prints one.
func formatFloat(f float64) []byte {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		mant, exp := s[:i], s[i+1:]
		exp = strings.TrimPrefix(exp, "+")
		neg := strings.HasPrefix(exp, "-")
		exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
		if neg {
			exp = "-" + exp
		}
		s = mant + "e" + exp
	}
	return []byte(s)
}

// output is one finished row: visible values (nil = NULL) plus what HAVING
// and ORDER BY need.
type output struct {
	vals   [][]byte
	nulls  []bool
	row    *mergeRow
	aggs   [][]byte // merged aggregate texts, by Aggs index
	aggNul []bool
	size   int
}

func (m *merger) finishGroup(g *group) *output {
	o := &output{row: g.first, vals: make([][]byte, m.visible), nulls: make([]bool, m.visible), size: g.first.size}
	copy(o.vals, g.first.vals[:m.visible])
	copy(o.nulls, g.first.nulls[:m.visible])
	for i, a := range m.spec.Aggs {
		v := m.aggText(i, g)
		o.aggs = append(o.aggs, v)
		o.aggNul = append(o.aggNul, v == nil)
		if a.Visible >= 0 {
			o.vals[a.Visible], o.nulls[a.Visible] = v, v == nil
		}
	}
	return o
}

func (m *merger) plainOutput(r *mergeRow) *output {
	return &output{row: r, vals: r.vals[:m.visible], nulls: r.nulls[:m.visible], size: r.size}
}

// value is a HAVING/ORDER BY operand.
type value struct {
	null bool
	num  *big.Rat
	str  []byte
}

func numValue(r *big.Rat) value { return value{num: r} }

func boolValue(b bool) value {
	if b {
		return numValue(big.NewRat(1, 1))
	}
	return numValue(new(big.Rat))
}

func (v value) truth() (bool, bool) {
	if v.null {
		return false, false
	}
	if v.num != nil {
		return v.num.Sign() != 0, true
	}
	return ratOf(v.str).Sign() != 0, true
}

func (m *merger) cellValue(col int, text []byte, null bool) value {
	if null {
		return value{null: true}
	}
	switch kindOf(m.cols[col].Type) {
	case kindInt, kindDecimal, kindFloat:
		return numValue(ratOf(text))
	}
	return value{str: text}
}

// eval computes an expression on a merged row (checked by checkEvaluable).
func (m *merger) eval(e ast.ExprNode, o *output) value {
	if _, isAgg := e.(*ast.AggregateFuncExpr); !isAgg {
		// A select field or a group key is read from the row.
		text := restoreText(e)
		for i, f := range m.spec.fields {
			if i < m.visible && f.WildCard == nil && restoreText(f.Expr) == text {
				if _, agg := f.Expr.(*ast.AggregateFuncExpr); !agg {
					return m.cellValue(i, o.vals[i], o.nulls[i])
				}
			}
		}
		if k, ok := m.spec.groupKey[text]; ok {
			kc := m.keys[k]
			return m.cellValue(kc.v, o.row.vals[kc.v], o.row.nulls[kc.v])
		}
	}
	switch x := e.(type) {
	case *ast.ParenthesesExpr:
		return m.eval(x.Expr, o)
	case *ast.AggregateFuncExpr:
		i, ok := m.spec.aggIndex[restoreText(x)]
		if !ok {
			return value{null: true}
		}
		if o.aggNul[i] {
			return value{null: true}
		}
		col := m.visible + m.spec.Aggs[i].H[0]
		if v := m.spec.Aggs[i].Visible; v >= 0 {
			col = v
		}
		if m.spec.Aggs[i].Kind == ast.AggFuncCount || m.spec.Aggs[i].Kind == ast.AggFuncAvg || m.spec.Aggs[i].Kind == ast.AggFuncSum {
			return numValue(ratOf(o.aggs[i]))
		}
		return m.cellValue(col, o.aggs[i], false)
	case *ast.PositionExpr:
		if x.N >= 1 && x.N <= m.visible {
			return m.cellValue(x.N-1, o.vals[x.N-1], o.nulls[x.N-1])
		}
	case *ast.ColumnNameExpr:
		for i, f := range m.spec.fields {
			if i >= m.visible {
				break
			}
			if f.AsName.L == x.Name.Name.L && x.Name.Table.L == "" {
				return m.cellValue(i, o.vals[i], o.nulls[i])
			}
		}
		for i, f := range m.spec.fields {
			if c, ok := f.Expr.(*ast.ColumnNameExpr); ok && c.Name.Name.L == x.Name.Name.L && i < m.visible && f.AsName.L == "" {
				return m.cellValue(i, o.vals[i], o.nulls[i])
			}
		}
		if k, ok := m.spec.groupKey[restoreText(x)]; ok {
			kc := m.keys[k]
			return m.cellValue(kc.v, o.row.vals[kc.v], o.row.nulls[kc.v])
		}
		return value{null: true}
	case *ast.IsNullExpr:
		v := m.eval(x.Expr, o)
		return boolValue(v.null != x.Not)
	case *ast.UnaryOperationExpr:
		v := m.eval(x.V, o)
		if v.null {
			return v
		}
		if x.Op == opcode.Minus {
			n := v.num
			if n == nil {
				n = ratOf(v.str)
			}
			return numValue(new(big.Rat).Neg(n))
		}
		t, _ := v.truth()
		return boolValue(!t)
	case *ast.BinaryOperationExpr:
		return m.evalBinary(x, o)
	}
	if ve, ok := e.(*driver.ValueExpr); ok {
		switch v := ve.GetValue().(type) {
		case nil:
			return value{null: true}
		case string:
			return value{str: []byte(v)}
		}
		if text, _, ok := parser.Literal(e); ok {
			return numValue(ratOf([]byte(text)))
		}
	}
	return value{null: true}
}

func (m *merger) evalBinary(x *ast.BinaryOperationExpr, o *output) value {
	l, r := m.eval(x.L, o), m.eval(x.R, o)
	switch x.Op {
	case opcode.LogicAnd:
		lt, lok := l.truth()
		rt, rok := r.truth()
		if (lok && !lt) || (rok && !rt) {
			return boolValue(false)
		}
		if !lok || !rok {
			return value{null: true}
		}
		return boolValue(true)
	case opcode.LogicOr:
		lt, lok := l.truth()
		rt, rok := r.truth()
		if (lok && lt) || (rok && rt) {
			return boolValue(true)
		}
		if !lok || !rok {
			return value{null: true}
		}
		return boolValue(false)
	case opcode.LogicXor:
		lt, lok := l.truth()
		rt, rok := r.truth()
		if !lok || !rok {
			return value{null: true}
		}
		return boolValue(lt != rt)
	}
	if l.null || r.null {
		return value{null: true}
	}
	num := func(v value) *big.Rat {
		if v.num != nil {
			return v.num
		}
		return ratOf(v.str)
	}
	switch x.Op {
	case opcode.Plus:
		return numValue(new(big.Rat).Add(num(l), num(r)))
	case opcode.Minus:
		return numValue(new(big.Rat).Sub(num(l), num(r)))
	case opcode.Mul:
		return numValue(new(big.Rat).Mul(num(l), num(r)))
	case opcode.Div:
		if num(r).Sign() == 0 {
			return value{null: true}
		}
		return numValue(new(big.Rat).Quo(num(l), num(r)))
	}
	var c int
	if l.num == nil && r.num == nil {
		c = bytes.Compare(l.str, r.str)
	} else {
		c = num(l).Cmp(num(r))
	}
	switch x.Op {
	case opcode.EQ:
		return boolValue(c == 0)
	case opcode.NE:
		return boolValue(c != 0)
	case opcode.LT:
		return boolValue(c < 0)
	case opcode.LE:
		return boolValue(c <= 0)
	case opcode.GT:
		return boolValue(c > 0)
	case opcode.GE:
		return boolValue(c >= 0)
	}
	return value{null: true}
}

// finalCompare orders merged rows for an in-memory ORDER BY.
func (m *merger) finalCompare(a, b *output) int {
	for _, k := range m.spec.Final {
		expr := k.Expr
		var c int
		if idx, ok := m.spec.groupKey[restoreText(expr)]; ok {
			kc := m.keys[idx]
			kc.desc = false
			c = kc.cmp(a.row, b.row)
		} else {
			va, vb := m.eval(expr, a), m.eval(expr, b)
			switch {
			case va.null && vb.null:
			case va.null:
				c = -1
			case vb.null:
				c = 1
			case va.num != nil && vb.num != nil:
				c = va.num.Cmp(vb.num)
			default:
				c = bytes.Compare(va.str, vb.str)
			}
		}
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// rowHeap orders shard heads for the k-way merge.
type rowHeap struct {
	rows []*mergeRow
	m    *merger
}

func (h *rowHeap) Len() int { return len(h.rows) }
func (h *rowHeap) Less(i, j int) bool {
	if c := h.m.compare(h.rows[i], h.rows[j]); c != 0 {
		return c < 0
	}
	return h.rows[i].shard < h.rows[j].shard
}
func (h *rowHeap) Swap(i, j int) { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *rowHeap) Push(x any)    { h.rows = append(h.rows, x.(*mergeRow)) }
func (h *rowHeap) Pop() any {
	r := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return r
}

// scatterMerge runs a read on every shard at once and merges the sorted,
// grouped or aggregated streams as MergeSpec says, holding one row per shard
// (plus, for an ORDER BY the streams cannot give, the merged rows).
func (s *Session) scatterMerge(st *parser.Statement, p *Plan, w ResultWriter) error {
	if s.pinned != nil || s.txnPending != "" {
		return notSupported("a merged read over several shards inside a transaction is not supported by this version")
	}
	spec := p.Spec
	held := make([]*held, len(p.Steps))
	for i, step := range p.Steps {
		h, err := s.stepConn(st, step)
		if err != nil {
			for _, h := range held[:i] {
				h.backend.Discard(h.conn)
			}
			return err
		}
		held[i] = h
		h.backend.Reads.Add(1)
	}
	stop := make(chan struct{})
	chans := make([]chan scatterRow, len(p.Steps))
	done := make(chan struct{}, len(p.Steps))
	for i := range p.Steps {
		chans[i] = make(chan scatterRow, 64)
		go func(i int) {
			readShard(held[i].conn, p.Steps[i].SQL, i, chans[i], stop)
			close(chans[i])
			done <- struct{}{}
		}(i)
	}
	failed := false
	abort := func() {
		if failed {
			return
		}
		failed = true
		close(stop)
		for _, h := range held {
			go h.backend.Kill(h.conn.ThreadID)
			h.conn.Close()
		}
	}
	finish := func(err error) error {
		if err != nil {
			abort()
		}
		for range p.Steps {
			<-done
		}
		for _, h := range held {
			if failed {
				h.backend.Discard(h.conn)
			} else {
				h.backend.Put(h.conn)
			}
		}
		return err
	}
	ex := &mergeRun{s: s, p: p, w: w, chans: chans}
	err := ex.run(spec)
	return finish(err)
}

// mergeRun is one execution of a merged read.
type mergeRun struct {
	s        *Session
	p        *Plan
	w        ResultWriter
	chans    []chan scatterRow
	m        *merger
	skipped  int64
	written  int64
	sortBuf  []*output
	sortSize int
	buf      []byte
}

func (x *mergeRun) next(shard int) (*mergeRow, error) {
	r, ok := <-x.chans[shard]
	switch {
	case !ok:
		return nil, errors.New("shard stream ended early")
	case r.err != nil:
		return nil, r.err
	case r.done:
		return nil, nil
	}
	return x.m.parse(r.row, shard)
}

func (x *mergeRun) run(spec *MergeSpec) error {
	// Every shard's header first: the k-way merge needs a row from each.
	var header [][]byte
	for i := range x.chans {
		r, ok := <-x.chans[i]
		if !ok || r.err != nil {
			return shardError(r.err)
		}
		if header == nil {
			header = r.header
		}
	}
	m, err := newMerger(spec, header)
	if err != nil {
		return err
	}
	x.m = m
	cols := header[:m.visible]
	if spec.DistinctAgg != "" {
		return x.distinctAggregate()
	}
	if err := writeHeader(x.w, cols, x.p.columnRewriter()); err != nil {
		return err
	}
	h := &rowHeap{m: m}
	for i := range x.chans {
		r, err := x.next(i)
		if err != nil {
			return shardError(err)
		}
		if r != nil {
			h.rows = append(h.rows, r)
		}
	}
	heap.Init(h)
	aggregating := spec.Group || len(spec.Aggs) > 0
	var cur *group
	var last *mergeRow
	for h.Len() > 0 && !x.full() {
		r := h.rows[0]
		if nr, err := x.next(r.shard); err != nil {
			return shardError(err)
		} else if nr != nil {
			h.rows[0] = nr
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
		switch {
		case aggregating:
			if cur != nil && (!spec.Group || m.compare(cur.first, r) == 0) {
				m.add(cur, r)
				continue
			}
			if cur != nil {
				if err := x.emit(m.finishGroup(cur)); err != nil {
					return err
				}
			}
			cur = m.newGroup(r)
		case spec.Distinct:
			if last != nil && m.compare(last, r) == 0 {
				continue
			}
			last = r
			if err := x.emit(m.plainOutput(r)); err != nil {
				return err
			}
		default:
			if err := x.emit(m.plainOutput(r)); err != nil {
				return err
			}
		}
	}
	if cur != nil && !x.full() {
		if err := x.emit(m.finishGroup(cur)); err != nil {
			return err
		}
	}
	// Rows a LIMIT made unnecessary: each shard's stream is bounded by its
	// own LIMIT, so reading it to the end keeps the connection reusable.
	for i := range x.chans {
		for r := range x.chans[i] {
			if r.err != nil {
				return shardError(r.err)
			}
		}
	}
	if len(spec.Final) > 0 {
		sort.SliceStable(x.sortBuf, func(i, j int) bool { return m.finalCompare(x.sortBuf[i], x.sortBuf[j]) < 0 })
		for _, o := range x.sortBuf {
			if x.full() {
				break
			}
			if err := x.write(o); err != nil {
				return err
			}
		}
	}
	if err := x.w.WritePacket(wire.AppendEOF(nil, 0, x.s.Status())); err != nil {
		return &ClientGoneError{Err: err}
	}
	return x.w.Flush()
}

func shardError(err error) error {
	if err == nil {
		err = errors.New("shard stream ended early")
	}
	var me *mysql.MyError
	if errors.As(err, &me) {
		return me
	}
	return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: a shard failed during a merged read: %v", err)
}

// full reports that LIMIT has been satisfied (only when rows go straight out).
func (x *mergeRun) full() bool {
	return len(x.m.spec.Final) == 0 && x.m.spec.Count >= 0 && x.written >= x.m.spec.Count
}

// emit applies HAVING, then either buffers for the final sort or writes.
func (x *mergeRun) emit(o *output) error {
	spec := x.m.spec
	if spec.Having != nil {
		if t, ok := x.m.eval(spec.Having, o).truth(); !ok || !t {
			return nil
		}
	}
	if len(spec.Final) > 0 {
		x.sortSize += o.size
		if x.sortSize > maxSortBytes {
			return wire.Errorf(mysql.ER_OUT_OF_SORTMEMORY,
				"shardgate: ORDER BY over rows merged from several shards needs more than %d MB of proxy memory; add a shard-key condition or order by the GROUP BY columns", maxSortBytes>>20)
		}
		x.sortBuf = append(x.sortBuf, o)
		return nil
	}
	return x.write(o)
}

// write applies OFFSET and LIMIT and sends the visible values.
func (x *mergeRun) write(o *output) error {
	spec := x.m.spec
	if x.skipped < spec.Offset {
		x.skipped++
		return nil
	}
	if spec.Count >= 0 && x.written >= spec.Count {
		return nil
	}
	x.written++
	x.buf = x.buf[:0]
	for i := range o.vals {
		x.buf = wire.AppendTextValue(x.buf, o.vals[i], o.nulls[i])
	}
	if err := x.w.WritePacket(x.buf); err != nil {
		return &ClientGoneError{Err: err}
	}
	return nil
}

// distinctAggregate merges the shards' sorted distinct values of x into
// COUNT(DISTINCT x) or SUM(DISTINCT x).
func (x *mergeRun) distinctAggregate() error {
	m := x.m
	var meta wire.Column
	if def, ok := wire.ParseColumn(x.p.Meta[0]); ok {
		meta = def
	}
	h := &rowHeap{m: m}
	for i := range x.chans {
		r, err := x.next(i)
		if err != nil {
			return shardError(err)
		}
		if r != nil {
			h.rows = append(h.rows, r)
		}
	}
	heap.Init(h)
	var last *mergeRow
	var count int64
	sum := new(big.Rat)
	sumF := 0.0
	float := kindOf(m.cols[0].Type) == kindFloat
	for h.Len() > 0 {
		r := h.rows[0]
		if nr, err := x.next(r.shard); err != nil {
			return shardError(err)
		} else if nr != nil {
			h.rows[0] = nr
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
		if r.nulls[0] || (last != nil && m.compare(last, r) == 0) {
			continue
		}
		last = r
		count++
		if float {
			f, _ := strconv.ParseFloat(string(r.vals[0]), 64)
			sumF += f
		} else {
			sum.Add(sum, ratOf(r.vals[0]))
		}
	}
	var v []byte
	switch {
	case x.m.spec.DistinctAgg == ast.AggFuncCount:
		v = []byte(strconv.FormatInt(count, 10))
	case count == 0:
		v = nil
	case float:
		v = formatFloat(sumF)
	default:
		v = []byte(sum.FloatString(int(meta.Decimals)))
	}
	if err := writeHeader(x.w, x.p.Meta, x.p.columnRewriter()); err != nil {
		return err
	}
	if x.m.spec.Count != 0 && x.m.spec.Offset == 0 {
		if err := x.w.WritePacket(wire.AppendTextValue(nil, v, v == nil)); err != nil {
			return &ClientGoneError{Err: err}
		}
	}
	if err := x.w.WritePacket(wire.AppendEOF(nil, 0, x.s.Status())); err != nil {
		return &ClientGoneError{Err: err}
	}
	return x.w.Flush()
}
