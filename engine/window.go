package engine

import (
	"math/big"
	"strconv"
	"strings"
	"unsafe"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/wire"
)

// Window functions the proxy computes over rows merged from several
// shards.
const (
	WinRowNumber = "row_number"
	WinRank      = "rank"
	WinDenseRank = "dense_rank"
	WinLag       = "lag"
	WinLead      = "lead"
	WinSum       = "sum"
	WinCount     = "count"
	WinAvg       = "avg"
	WinMin       = "min"
	WinMax       = "max"
	// The argument of the frame's first, last or Offset-th row.
	WinFirstValue = "first_value"
	WinLastValue  = "last_value"
	WinNthValue   = "nth_value"
	// Read the partition's size: known at its end.
	WinPercentRank = "percent_rank"
	WinCumeDist    = "cume_dist"
	WinNtile       = "ntile"
)

// WindowFrame is which rows of its partition an aggregate window function
// (SUM, COUNT, AVG, MIN, MAX) or FIRST_VALUE, LAST_VALUE, NTH_VALUE reads
// for a row.
type WindowFrame int

const (
	// FramePeers: from the partition's first row through the row's last
	// peer (equal on the ORDER BY keys); MySQL's default frame with an
	// ORDER BY (RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), and
	// the whole partition without one (every row is then a peer).
	FramePeers WindowFrame = iota
	// FrameRows: from the partition's first row through the row itself
	// (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW).
	FrameRows
	// FramePartition: the whole partition (… AND UNBOUNDED FOLLOWING).
	FramePartition
	// FrameSliding: the row and the Preceding rows before it in its
	// partition (ROWS BETWEEN n PRECEDING AND CURRENT ROW).
	FrameSliding
)

// WindowFunc is one window function of the select list.
type WindowFunc struct {
	Kind string
	// Field is the select field showing the value: counted from the first
	// column, or with FromEnd back from the first helper column (1 is
	// the last select field), for fields after a SELECT *.
	Field   int
	FromEnd bool
	// Arg is the helper column holding the argument (-1: none, as for
	// ROW_NUMBER, or COUNT(*)); ArgWeight its weight string (MIN, MAX).
	Arg, ArgWeight int
	// Default is the helper column holding LAG/LEAD's default (-1: NULL).
	Default int
	// Offset is LAG/LEAD's distance in rows, NTH_VALUE's row (from 1),
	// NTILE's number of buckets.
	Offset int64
	Frame  WindowFrame
	// Preceding is FrameSliding's number of rows before the row.
	Preceding int64
	// Unordered: the function's window has no ORDER BY (others' have):
	// every row of the partition is its peer.
	Unordered bool
	// Sorted: the statement's ORDER BY sorts by the value of LAG, LEAD,
	// MIN or MAX, which is then also written with its weight string (for
	// the argument's collation) into the helper columns Slot and Slot+1
	// (ArgWeight is the argument's weight string, for LAG and LEAD too).
	Sorted bool
	Slot   int
	// Text is the function as written, for EXPLAIN.
	Text string
}

// WindowStage is the sort order of windows computed after others, over
// the rows sorted again (planner: windows of several PARTITION BY or
// ORDER BY in one statement).
type WindowStage struct {
	Partition, Order []SortKey
	// Text are the keys as written, for EXPLAIN.
	Text []string
}

// Window computes window functions over its input, which is sorted by
// Partition then Order (a MergeSort of shards' streams sorted alike): rows
// equal on Partition form a partition, rows of a partition equal on Order
// are peers. Each shard computed the same functions over its own rows, so
// the column definitions are MariaDB's; the values are replaced with those
// over all the rows. Rows leave in input order as soon as their values are
// known: only rows still waiting are held (a peer group for the default
// frame, LEAD's next rows, a whole partition for a frame to its end or
// for PERCENT_RANK, CUME_DIST and NTILE), reserved from the statement's
// memory account, with LAG's and moving frames' last arguments.
type Window struct {
	Input     RowSource
	Partition []SortKey
	Order     []SortKey
	Funcs     []WindowFunc
	Hidden    int
}

func (w *Window) Inputs() []Primitive { return []Primitive{w.Input} }

func (w *Window) Describe() string {
	s := "Window " + w.funcText()
	if len(w.Partition) > 0 {
		s += " partition by " + describeKeys(w.Partition)
	}
	if len(w.Order) > 0 {
		s += " order by " + describeKeys(w.Order)
	}
	return s
}

func (w *Window) mergeSummary() string { return "compute windows " + w.funcText() }

func (w *Window) funcText() string {
	parts := make([]string, len(w.Funcs))
	for i, f := range w.Funcs {
		parts[i] = f.Text
	}
	return strings.Join(parts, ", ")
}

func (w *Window) Execute(vc Cursor, rw ResultWriter) error { return writeRows(vc, rw, w) }

func (w *Window) Open(vc Cursor) (Rows, error) {
	in, err := openInput(vc, w.Input)
	if err != nil {
		return nil, err
	}
	cols := in.cols
	base := len(cols) - w.Hidden
	if base < 0 {
		// Every helper offset the planner gave is below Hidden.
		err := wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: a shard returned fewer columns than asked")
		in.Close(err)
		return nil, err
	}
	wr := &windowRows{w: w, in: in, cols: cols, base: base, acct: vc.Memory(),
		partition: newComparer(w.Partition, cols, w.Hidden), order: newComparer(w.Order, cols, w.Hidden)}
	for _, f := range w.Funcs {
		field := f.Field
		if f.FromEnd {
			field = base - f.Field
		}
		kind := kindString
		if f.Arg >= 0 {
			kind = kindOf(cols[base+f.Arg].Type)
		}
		if field < 0 || field >= base || (f.Sorted && base+f.Slot+1 >= len(cols)) {
			err := wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: a shard returned fewer columns than asked")
			in.Close(err)
			return nil, err
		}
		if (f.Kind == WinSum || f.Kind == WinAvg) && kind != kindInt && kind != kindDecimal && kind != kindFloat {
			// MariaDB reads a date or a string as a number here (with
			// warnings for what is not one); the proxy does not.
			err := wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: %s over a value that is not a number, on rows merged from several shards, is not supported", f.Text)
			in.Close(err)
			return nil, err
		}
		wr.fields = append(wr.fields, field)
		wr.kinds = append(wr.kinds, kind)
	}
	return wr, nil
}

// pendingRow is a row whose window values are not all known yet.
type pendingRow struct {
	row *Row
	// vals are the computed values, one per function (nil: NULL), and
	// their weight strings (Sorted); set marks those known.
	vals, weights [][]byte
	set           []bool
	left          int // values not yet known
	pos           int64
	// rank is the row's RANK, peerEnd the rows of its partition through
	// its last peer (known when the peer group ends).
	rank, peerEnd int64
	mem           int64 // reserved from the account
}

type windowRows struct {
	w      *Window
	in     *input
	cols   []wire.Column
	base   int
	fields []int       // absolute column of each function's field
	kinds  []valueKind // kind of each function's argument
	acct   *memory.Account

	partition, order comparer

	queue []*pendingRow // rows not yet returned, in input order
	prev  *Row          // the previous input row
	done  bool

	// The current partition: rows seen (pos of the next), rank values,
	// the queue index of the current peer group's first row, aggregate
	// states and LAG's past arguments.
	pos       int64
	rank      int64
	dense     int64
	peerStart int
	states    []winState
	lagPast   [][]lagValue
	lagMem    int64
	// frames are FrameSliding's arguments in the frame, oldest first
	// (their memory counted in lagMem).
	frames [][]lagValue
}

// lagValue is one past argument LAG may read, with its weight string.
type lagValue struct {
	v, w []byte
	null bool
}

func (wr *windowRows) Header() ([][]byte, error) { return wr.in.header, nil }

func (wr *windowRows) Close(err error) {
	for _, p := range wr.queue {
		wr.acct.Shrink(p.mem)
	}
	wr.queue = nil
	wr.acct.Shrink(wr.lagMem)
	wr.lagMem = 0
	wr.in.Close(err)
}

func (wr *windowRows) Next() (*Row, error) {
	for {
		if len(wr.queue) > 0 && wr.queue[0].left == 0 {
			return wr.emit(), nil
		}
		if wr.done {
			return nil, nil
		}
		r, err := wr.in.Next()
		if err != nil {
			return nil, err
		}
		if r == nil {
			wr.done = true
			wr.endPartition()
			continue
		}
		if err := r.values(len(wr.cols)); err != nil {
			return nil, err
		}
		if err := wr.add(r); err != nil {
			return nil, err
		}
	}
}

// emit returns the queue's first row with its computed values.
func (wr *windowRows) emit() *Row {
	p := wr.queue[0]
	wr.queue[0] = nil
	wr.queue = wr.queue[1:]
	wr.peerStart--
	wr.acct.Shrink(p.mem)
	r := p.row
	out := &Row{Vals: append([][]byte(nil), r.Vals...), Nulls: append([]bool(nil), r.Nulls...), Src: r.Src, raw: r.raw}
	for i, f := range wr.fields {
		out.Vals[f], out.Nulls[f] = p.vals[i], p.vals[i] == nil
		if fn := wr.w.Funcs[i]; fn.Sorted {
			h := wr.base + fn.Slot
			out.Vals[h], out.Nulls[h] = p.vals[i], p.vals[i] == nil
			out.Vals[h+1], out.Nulls[h+1] = p.weights[i], p.vals[i] == nil
		}
	}
	return out
}

// add takes the next input row: it may end the partition or the peer
// group before it, and gives the functions it can their values.
func (wr *windowRows) add(r *Row) error {
	newPartition := wr.prev == nil || wr.partition.compare(wr.prev, r) != 0
	newPeers := newPartition || wr.order.compare(wr.prev, r) != 0
	if newPartition {
		wr.endPartition()
		wr.pos, wr.rank, wr.dense = 0, 0, 0
		wr.states = make([]winState, len(wr.w.Funcs))
		wr.lagPast = make([][]lagValue, len(wr.w.Funcs))
		wr.frames = make([][]lagValue, len(wr.w.Funcs))
		wr.acct.Shrink(wr.lagMem)
		wr.lagMem = 0
	} else if newPeers {
		wr.endPeers()
	}
	wr.prev = r
	if newPeers {
		wr.rank = wr.pos + 1
		wr.dense++
		wr.peerStart = len(wr.queue)
	}
	n := len(wr.w.Funcs)
	p := &pendingRow{row: r, vals: make([][]byte, n), weights: make([][]byte, n), set: make([]bool, n), left: n, pos: wr.pos, rank: wr.rank}
	p.mem = r.Memory() + 2*memory.Slice(n, int64(unsafe.Sizeof([]byte(nil))), true) + memory.Bytes(n) +
		memory.Alloc(int64(unsafe.Sizeof(pendingRow{})), true) + int64(unsafe.Sizeof(p))
	if err := wr.acct.Grow(p.mem); err != nil {
		return windowMemoryError(err)
	}
	wr.queue = append(wr.queue, p)
	wr.pos++
	for i, f := range wr.w.Funcs {
		switch f.Kind {
		case WinRowNumber:
			wr.set(p, i, []byte(strconv.FormatInt(wr.pos, 10)))
		case WinRank, WinDenseRank:
			rank := wr.rank
			switch {
			case f.Unordered:
				rank = 1
			case f.Kind == WinDenseRank:
				rank = wr.dense
			}
			wr.set(p, i, []byte(strconv.FormatInt(rank, 10)))
		case WinLag:
			if err := wr.lag(p, i, f, r); err != nil {
				return err
			}
		case WinPercentRank, WinCumeDist, WinNtile:
			// At the partition's end.
		case WinLead:
			// This row is LEAD's value for the row Offset before it.
			if back := int64(len(wr.queue)-1) - f.Offset; back >= 0 && p.pos-f.Offset >= 0 {
				wr.setW(wr.queue[back], i, wr.copyArg(r, f.Arg), wr.copyArg(r, f.ArgWeight))
			}
		default:
			if f.Frame == FrameSliding {
				if err := wr.slide(i, f, r); err != nil {
					return err
				}
			} else {
				wr.accumulate(i, f, wr.argOf(r, f))
			}
			if f.Frame == FrameRows || f.Frame == FrameSliding {
				wr.setW(p, i, wr.aggText(i), wr.aggWeight(i))
			}
		}
	}
	return nil
}

// lag gives p the argument of the row Offset before it, and keeps p's
// argument for the rows after it.
func (wr *windowRows) lag(p *pendingRow, i int, f WindowFunc, r *Row) error {
	past := wr.lagPast[i]
	if int64(len(past)) >= f.Offset && f.Offset > 0 {
		v := past[int64(len(past))-f.Offset]
		if v.null {
			wr.set(p, i, nil)
		} else {
			wr.setW(p, i, v.v, v.w)
		}
	} else if f.Offset == 0 {
		wr.setW(p, i, wr.copyArg(r, f.Arg), wr.copyArg(r, f.ArgWeight))
	} else {
		wr.set(p, i, wr.copyArg(r, f.Default))
	}
	if f.Offset == 0 {
		return nil
	}
	v := lagValue{null: r.Nulls[wr.base+f.Arg]}
	if !v.null {
		v.v, v.w = wr.copyArg(r, f.Arg), wr.copyArg(r, f.ArgWeight)
	}
	need := memory.Bytes(cap(v.v)) + memory.Bytes(cap(v.w)) + int64(unsafe.Sizeof(v))
	if err := wr.acct.Grow(need); err != nil {
		return windowMemoryError(err)
	}
	wr.lagMem += need
	past = append(past, v)
	if int64(len(past)) > f.Offset {
		old := past[0]
		gone := memory.Bytes(cap(old.v)) + memory.Bytes(cap(old.w)) + int64(unsafe.Sizeof(old))
		wr.acct.Shrink(gone)
		wr.lagMem -= gone
		past[0] = lagValue{}
		past = past[1:]
	}
	wr.lagPast[i] = past
	return nil
}

// copyArg is the value of helper column h of r, copied (nil: NULL, or no
// such helper): a held row must not keep another row's packet alive.
func (wr *windowRows) copyArg(r *Row, h int) []byte {
	if h < 0 || r.Nulls[wr.base+h] {
		return nil
	}
	v := r.Vals[wr.base+h]
	return append(make([]byte, 0, len(v)), v...)
}

func (wr *windowRows) set(p *pendingRow, i int, v []byte) { wr.setW(p, i, v, nil) }

// setW gives p function i's value v, whose weight string is w (Sorted).
func (wr *windowRows) setW(p *pendingRow, i int, v, w []byte) {
	if p.set[i] {
		return
	}
	p.vals[i], p.weights[i], p.set[i] = v, w, true
	p.left--
}

// argOf is r's argument of f, and its weight string for MIN and MAX
// (not copied). A function without one (COUNT(*)) reads as a value.
func (wr *windowRows) argOf(r *Row, f WindowFunc) lagValue {
	if f.Arg < 0 {
		return lagValue{}
	}
	h := wr.base + f.Arg
	a := lagValue{v: r.Vals[h], null: r.Nulls[h]}
	if f.ArgWeight >= 0 {
		a.w = r.Vals[wr.base+f.ArgWeight]
	}
	return a
}

// winState is a function's state over the rows of its frame so far: an
// aggregate's, or the rows FIRST_VALUE, LAST_VALUE and NTH_VALUE read
// (rows counts them, NULL arguments included).
type winState struct {
	aggState
	rows             int64
	first, nth, last lagValue
}

// accumulate adds an argument to function i's state.
func (wr *windowRows) accumulate(i int, f WindowFunc, a lagValue) {
	st := &wr.states[i]
	if f.valueOfRow() {
		// Copied: a held value must not keep its row's packet alive.
		// Not appended to nil: an empty string would come out NULL.
		a.v, a.w = append(make([]byte, 0, len(a.v)), a.v...), append(make([]byte, 0, len(a.w)), a.w...)
		st.rows++
		if st.rows == 1 {
			st.first = a
		}
		if st.rows == f.Offset {
			st.nth = a
		}
		st.last = a
		return
	}
	if a.null {
		return
	}
	switch f.Kind {
	case WinCount:
		st.count++
	case WinSum, WinAvg:
		st.any = true
		st.count++
		st.addSum(wr.kinds[i], a.v)
	case WinMin, WinMax:
		if st.any {
			c := compareValues(wr.kinds[i], a.v, a.w, st.best, st.bestW)
			if (f.Kind == WinMin && c >= 0) || (f.Kind == WinMax && c <= 0) {
				return
			}
		}
		st.any = true
		st.best = append(make([]byte, 0, len(a.v)), a.v...)
		st.bestW = append(make([]byte, 0, len(a.w)), a.w...)
	}
}

// slide moves function i's frame (FrameSliding) to end at r: r's argument
// comes in, the one Preceding+1 rows back leaves. Sums and counts take
// the leaving value off (exactly, or as doubles as MariaDB does); MIN and
// MAX are found again among the frame's values.
func (wr *windowRows) slide(i int, f WindowFunc, r *Row) error {
	a := wr.argOf(r, f)
	if !a.null {
		a.v, a.w = append(make([]byte, 0, len(a.v)), a.v...), append(make([]byte, 0, len(a.w)), a.w...)
	}
	need := memory.Bytes(cap(a.v)) + memory.Bytes(cap(a.w)) + int64(unsafe.Sizeof(a))
	if err := wr.acct.Grow(need); err != nil {
		return windowMemoryError(err)
	}
	wr.lagMem += need
	frame := append(wr.frames[i], a)
	wr.accumulate(i, f, a)
	if int64(len(frame)) > f.Preceding+1 {
		old := frame[0]
		frame[0] = lagValue{}
		frame = frame[1:]
		gone := memory.Bytes(cap(old.v)) + memory.Bytes(cap(old.w)) + int64(unsafe.Sizeof(old))
		wr.acct.Shrink(gone)
		wr.lagMem -= gone
		st := &wr.states[i]
		switch {
		case old.null && !f.valueOfRow():
		case f.Kind == WinMin || f.Kind == WinMax || f.valueOfRow():
			*st = winState{}
			for _, x := range frame {
				wr.accumulate(i, f, x)
			}
		default:
			st.count--
			if f.Kind == WinSum || f.Kind == WinAvg {
				st.any = st.count > 0
				if wr.kinds[i] == kindFloat {
					x, _ := strconv.ParseFloat(string(old.v), 64)
					st.sumF -= x
				} else {
					st.sum.Sub(st.sum, ratOf(old.v))
				}
			}
		}
	}
	wr.frames[i] = frame
	return nil
}

// aggText is the text MariaDB shows for aggregate function i's state, in
// its field's column type (the shard's definition: a DECIMAL's scale, a
// double).
func (wr *windowRows) aggText(i int) []byte {
	f, st := wr.w.Funcs[i], &wr.states[i]
	col := wr.cols[wr.fields[i]]
	if f.valueOfRow() {
		if a, ok := wr.chosen(i); ok && !a.null {
			return a.v
		}
		return nil
	}
	switch f.Kind {
	case WinCount:
		return []byte(strconv.FormatInt(st.count, 10))
	case WinMin, WinMax:
		if !st.any {
			return nil
		}
		return st.best
	case WinSum:
		if !st.any {
			return nil
		}
		if wr.kinds[i] == kindFloat || kindOf(col.Type) == kindFloat {
			return formatFloat(st.floatSum())
		}
		return unsignedZero(st.sum.FloatString(int(col.Decimals)))
	case WinAvg:
		if !st.any {
			return nil
		}
		if wr.kinds[i] == kindFloat || kindOf(col.Type) == kindFloat {
			return formatFloat(st.floatSum() / float64(st.count))
		}
		avg := new(big.Rat).Quo(st.sum, big.NewRat(st.count, 1))
		return unsignedZero(avg.FloatString(int(col.Decimals)))
	}
	return nil
}

// floatSum is a SUM's value as a double.
func (st *aggState) floatSum() float64 {
	if st.sum != nil {
		f, _ := st.sum.Float64()
		return st.sumF + f
	}
	return st.sumF
}

// endPeers gives the current peer group's rows the values of the
// functions whose frame ends with the last peer.
func (wr *windowRows) endPeers() {
	for _, p := range wr.queue[max(wr.peerStart, 0):] {
		p.peerEnd = wr.pos
	}
	for i, f := range wr.w.Funcs {
		if !f.aggregate() || f.Frame != FramePeers {
			continue
		}
		v, w := wr.aggText(i), wr.aggWeight(i)
		for _, p := range wr.queue[max(wr.peerStart, 0):] {
			wr.setW(p, i, v, w)
		}
	}
}

// endPartition gives the rows still waiting in the partition that ends
// their last values: aggregates over the whole partition or the last peer
// group, LEAD's default where no row follows far enough.
func (wr *windowRows) endPartition() {
	if wr.prev == nil {
		return
	}
	wr.endPeers()
	for i, f := range wr.w.Funcs {
		switch f.Kind {
		case WinPercentRank, WinCumeDist, WinNtile:
			for _, p := range wr.queue {
				wr.set(p, i, partitionValue(f, p, wr.pos, wr.cols[wr.fields[i]]))
			}
			continue
		}
		var v, w []byte
		switch {
		case f.aggregate() && f.Frame == FramePartition:
			v, w = wr.aggText(i), wr.aggWeight(i)
		case f.Kind == WinLead:
		default:
			continue
		}
		for _, p := range wr.queue {
			if f.Kind == WinLead && !p.set[i] {
				v = wr.copyArg(p.row, f.Default) // no weight: see Sorted
			}
			wr.setW(p, i, v, w)
		}
	}
}

// partitionValue is PERCENT_RANK's, CUME_DIST's or NTILE's value for p in
// a partition of rows rows, computed as MariaDB does (doubles divided,
// NTILE's first buckets one row larger), written as in column c.
func partitionValue(f WindowFunc, p *pendingRow, rows int64, c wire.Column) []byte {
	rank, peerEnd := p.rank, p.peerEnd
	if f.Unordered {
		rank, peerEnd = 1, rows // every row is a peer
	}
	switch f.Kind {
	case WinPercentRank:
		if rows <= 1 {
			return roundedDouble(0, c.Decimals)
		}
		return roundedDouble(float64(rank-1)/float64(rows-1), c.Decimals)
	case WinCumeDist:
		return roundedDouble(float64(peerEnd)/float64(rows), c.Decimals)
	}
	n := f.Offset
	if n < 1 {
		return nil
	}
	row := p.pos + 1
	quotient, remainder := rows/n, rows%n
	withExtra := (quotient + 1) * remainder
	if row <= withExtra {
		return []byte(strconv.FormatInt((row-1)/(quotient+1)+1, 10))
	}
	return []byte(strconv.FormatInt((row-withExtra-1)/quotient+remainder+1, 10))
}

// roundedDouble writes a double as MariaDB sends PERCENT_RANK's and
// CUME_DIST's (a DOUBLE column of 10 decimals): rounded to the column's
// decimals, without trailing zeros (checked on ref: 39/46 is
// 0.847826087, 1 is 1).
func roundedDouble(f float64, decimals byte) []byte {
	if decimals >= notFixedDec {
		return formatFloat(f)
	}
	s := strconv.FormatFloat(f, 'f', int(decimals), 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return unsignedZero(s)
}

func (f WindowFunc) aggregate() bool {
	switch f.Kind {
	case WinSum, WinCount, WinAvg, WinMin, WinMax:
		return true
	}
	return f.valueOfRow()
}

// valueOfRow: FIRST_VALUE, LAST_VALUE, NTH_VALUE, whose value is one
// row's argument (NULL or not).
func (f WindowFunc) valueOfRow() bool {
	return f.Kind == WinFirstValue || f.Kind == WinLastValue || f.Kind == WinNthValue
}

// chosen is the row FIRST_VALUE, LAST_VALUE or NTH_VALUE reads in
// function i's frame so far (ok false: none, NULL).
func (wr *windowRows) chosen(i int) (lagValue, bool) {
	f, st := wr.w.Funcs[i], &wr.states[i]
	switch f.Kind {
	case WinFirstValue:
		return st.first, st.rows > 0
	case WinLastValue:
		return st.last, st.rows > 0
	}
	return st.nth, f.Offset >= 1 && st.rows >= f.Offset
}

// aggWeight is the weight string of function i's value (MIN, MAX and the
// row value functions, for an ORDER BY of it; nil for the others).
func (wr *windowRows) aggWeight(i int) []byte {
	if wr.w.Funcs[i].valueOfRow() {
		if a, ok := wr.chosen(i); ok && !a.null {
			return a.w
		}
		return nil
	}
	return wr.states[i].bestW
}

// windowMemoryError is Window's refusal.
func windowMemoryError(err error) error {
	return MemoryError(mysql.ER_OUT_OF_SORTMEMORY, "window functions over rows merged from several shards (a peer group or partition held whole)",
		"add a shard-key condition, or PARTITION BY the shard key", err)
}
