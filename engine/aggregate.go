package engine

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/shardgate/shardgate/wire"
)

// Aggregate kinds the proxy merges from per-shard partial values.
const (
	AggCount = "count"
	AggSum   = "sum"
	AggMin   = "min"
	AggMax   = "max"
	AggAvg   = "avg"
	// A DISTINCT aggregate's input rows are sorted by its argument within
	// each group (see OrderedAggregate.GroupKeys): H is [a slot for the
	// merged value, the argument's value, its weight].
	AggCountDistinct = "count_distinct"
	AggSumDistinct   = "sum_distinct"
	AggAvgDistinct   = "avg_distinct"
)

// AggSpec merges one aggregate. H are its helper columns (offsets from the
// first helper): count, sum, bit_*: [partial]; min, max: [partial, weight];
// avg: [sum, count]; the statistical ones see AggStdPop; group_concat
// [slot] and Concat. Visible is the client's column showing it, -1 when
// only HAVING or ORDER BY need it.
type AggSpec struct {
	Kind    string
	Visible int
	H       []int
	// Text is the aggregate as written, for EXPLAIN.
	Text string
	// Concat is where a GROUP_CONCAT's element helpers are.
	Concat *ConcatSpec
}

// input is the helper holding what the shards send for the aggregate:
// the partial value, or a DISTINCT aggregate's argument.
func (s AggSpec) input() int {
	switch s.Kind {
	case AggCountDistinct, AggSumDistinct, AggAvgDistinct:
		return 1
	case AggStdPop, AggStdSamp, AggVarPop, AggVarSamp:
		return 2 // the SUM: exact or a double
	}
	return 0
}

// OrderedAggregate merges partial aggregates. With Group, its input is
// sorted by the group keys and rows equal on them form one group; without,
// every row is one partial of a single group. Each output row is the
// group's first row with every aggregate's merged value written into its
// visible column and its first helper column (where HAVING and ORDER BY
// read it).
type OrderedAggregate struct {
	Input  RowSource
	Group  bool
	Keys   []SortKey
	Aggs   []AggSpec
	Hidden int
	// GroupKeys is how many of Keys make a group (0: all of them). The
	// key after them is a DISTINCT aggregate's argument: the shards group
	// by it too, so each of its values comes once per shard, and the
	// merged stream holds equal values next to each other within a group.
	GroupKeys int
	// DistinctKey, without Group: Keys[0] is the argument of the DISTINCT
	// aggregates of the one group; the shards group by it, so each value
	// comes once per shard and the merged stream holds equal values next
	// to each other.
	DistinctKey bool
	// Rollup adds WITH ROLLUP's super-aggregate rows: after the last group
	// of each run of groups equal on their first i keys (i from len(Keys)-1
	// down to 0), a row whose aggregates merge the whole run and whose keys
	// from the i-th on are NULL, in their helper columns and in the visible
	// columns KeyFields[k] lists for key k. Groups arrive in key order, so
	// the rows come where MariaDB puts them.
	Rollup    bool
	KeyFields [][]int
}

func (a *OrderedAggregate) Inputs() []Primitive { return []Primitive{a.Input} }

func (a *OrderedAggregate) Describe() string {
	var parts []string
	for _, s := range a.Aggs {
		parts = append(parts, s.Text)
	}
	if a.Group {
		rollup := ""
		if a.Rollup {
			rollup = " with rollup"
		}
		return "OrderedAggregate " + strings.Join(parts, ", ") + " by " + describeKeys(a.Keys) + rollup
	}
	return "OrderedAggregate " + strings.Join(parts, ", ")
}

func (a *OrderedAggregate) mergeSummary() string {
	var parts []string
	for _, s := range a.Aggs {
		parts = append(parts, fmt.Sprintf("%s from h%v", s.Text, s.H))
	}
	if a.Rollup {
		parts = append(parts, "with rollup")
	}
	return strings.Join(parts, "; ")
}

func (a *OrderedAggregate) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, a) }

func (a *OrderedAggregate) Open(vc Cursor) (Rows, error) {
	in, err := openInput(vc, a.Input)
	if err != nil {
		return nil, err
	}
	cols, header := in.cols, in.header
	base := len(cols) - a.Hidden
	for _, s := range a.Aggs {
		// A DISTINCT aggregate's merged value goes to a slot the shards
		// fill with an integer 0. SUM and AVG (DISTINCT) of a double are
		// doubles: the slot takes the argument's definition (a hidden
		// column: the client never sees it), so the expressions over it
		// (fields, HAVING, ORDER BY) compute in doubles as MariaDB does,
		// not exactly.
		if (s.Kind == AggSumDistinct || s.Kind == AggAvgDistinct) && kindOf(cols[base+s.H[1]].Type) == kindFloat {
			if len(header) == len(in.header) && &header[0] == &in.header[0] {
				cols, header = append([]wire.Column(nil), cols...), append([][]byte(nil), header...)
			}
			cols[base+s.H[0]], header[base+s.H[0]] = cols[base+s.H[1]], header[base+s.H[1]]
		}
	}
	ar := &aggRows{spec: a, vc: vc, in: in, header: header, cols: cols, base: base}
	group := a.Keys
	if a.GroupKeys > 0 && a.GroupKeys < len(a.Keys) {
		group = a.Keys[:a.GroupKeys]
		ar.distinct = newComparer(a.Keys[a.GroupKeys:a.GroupKeys+1], cols, a.Hidden)
	}
	if a.DistinctKey && !a.Group && len(a.Keys) == 1 {
		group = nil
		ar.distinct = newComparer(a.Keys, cols, a.Hidden)
	}
	ar.cmp = newComparer(group, cols, a.Hidden)
	if a.Rollup {
		// levels[i] merges every group of a run equal on the first i keys.
		ar.levels = make([]rollupLevel, len(a.Keys))
	}
	for _, s := range a.Aggs {
		ar.kinds = append(ar.kinds, kindOf(cols[ar.base+s.H[s.input()]].Type))
		var cc concatCmp
		if s.Concat != nil {
			cc = concatCmp{order: newComparer(s.Concat.Order, cols, a.Hidden), distinct: newComparer(s.Concat.DistinctBy, cols, a.Hidden)}
		}
		ar.concatCmps = append(ar.concatCmps, cc)
	}
	return ar, nil
}

// aggState accumulates one aggregate of one group.
type aggState struct {
	count       int64
	sum         *big.Rat
	sumF        float64
	any         bool
	best, bestW []byte
	bits        uint64 // BIT_AND/OR/XOR
	// The statistical aggregates: M2 (Σ n_i·var_i, and for doubles the
	// spread between partials too), the running mean of doubles, and
	// Σ s_i²/n_i of exact values.
	m2, mean float64
	sq       *big.Rat
	elems    []*Row // GROUP_CONCAT's elements
	held     int64  // what they reserve
}

type aggRows struct {
	spec   *OrderedAggregate
	vc     Cursor
	in     Rows
	header [][]byte
	cols   []wire.Column
	base   int // first helper column
	cmp    comparer
	kinds  []valueKind // kind of each aggregate's first helper
	first  *Row        // first row of the group being merged
	states []aggState
	done   bool
	// distinct compares a DISTINCT aggregate's argument (nil: none);
	// prev is the group's previous row.
	distinct comparer
	prev     *Row
	// levels are WITH ROLLUP's runs being merged; pending the rows due
	// before the next group's (the finished group, then its runs' rows).
	levels  []rollupLevel
	pending []*Row
	// GROUP_CONCAT: comparers per aggregate; held is what the elements
	// of the group and of its WITH ROLLUP runs reserve, outHeld what the
	// values of the rows last made do (given back once they have gone
	// on); groups counts the rows made.
	concatCmps []concatCmp
	held       int64
	outHeld    int64
	groups     int
	emitted    bool // a row went out (without GROUP BY: one always does)
}

// rollupLevel is one run of groups equal on their first keys.
type rollupLevel struct {
	states []aggState
	last   *Row // the run's latest group's first row
}

func (ar *aggRows) Header() ([][]byte, error) { return ar.header, nil }

func (ar *aggRows) Next() (*Row, error) {
	if ar.outHeld > 0 && len(ar.pending) == 0 {
		// The rows made together have gone on: their GROUP_CONCAT values
		// with them.
		ar.vc.Memory().Shrink(ar.outHeld)
		ar.outHeld = 0
	}
	for {
		if len(ar.pending) > 0 {
			out := ar.pending[0]
			ar.pending = ar.pending[1:]
			ar.emitted = true
			return out, nil
		}
		if ar.done {
			return nil, nil
		}
		r, err := ar.in.Next()
		if err != nil {
			return nil, err
		}
		if r == nil {
			ar.done = true
			if ar.first == nil && !ar.spec.Group && !ar.emitted {
				// Without GROUP BY an aggregate answers one row even over
				// no rows. The shards' rows are partials of sub-groups
				// (GROUP_CONCAT's elements) and there were none: the row
				// of empty aggregates, its other columns (constants,
				// computed on by Project) NULL.
				n := len(ar.cols)
				ar.first = &Row{Vals: make([][]byte, n), Nulls: make([]bool, n)}
				for i := range ar.first.Nulls {
					ar.first.Nulls[i] = true
				}
				ar.states = make([]aggState, len(ar.spec.Aggs))
			}
			if ar.first != nil {
				if err := ar.finishGroup(ar.states, ar.first, len(ar.spec.Keys)); err != nil {
					return nil, err
				}
				ar.first = nil
				if err := ar.endRuns(0); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := r.values(len(ar.cols)); err != nil {
			return nil, err
		}
		if ar.first != nil && (!ar.spec.Group || ar.cmp.compare(ar.first, r) == 0) {
			if err := ar.add(r); err != nil {
				return nil, err
			}
			continue
		}
		if ar.first != nil {
			if err := ar.finishGroup(ar.states, ar.first, len(ar.spec.Keys)); err != nil {
				return nil, err
			}
			if ar.levels != nil {
				// The runs that r does not continue end here, the
				// longest first.
				if err := ar.endRuns(ar.sharedKeys(ar.first, r) + 1); err != nil {
					return nil, err
				}
			}
		}
		ar.first, ar.prev = r, nil
		ar.states = make([]aggState, len(ar.spec.Aggs))
		if err := ar.add(r); err != nil {
			return nil, err
		}
	}
}

// finishGroup queues the row of a finished group and gives back what its
// GROUP_CONCAT elements held.
func (ar *aggRows) finishGroup(states []aggState, base *Row, keys int) error {
	ar.groups++
	out, err := ar.finish(states, base, keys)
	ar.release(states)
	if err != nil {
		return err
	}
	ar.pending = append(ar.pending, out)
	return nil
}

// sharedKeys is how many leading group keys a and b have equal.
func (ar *aggRows) sharedKeys(a, b *Row) int {
	for i, k := range ar.cmp {
		if k.cmp(a, b) != 0 {
			return i
		}
	}
	return len(ar.cmp)
}

// endRuns queues the super-aggregate rows of the runs of levels from
// len(levels)-1 down to from, and starts them again.
func (ar *aggRows) endRuns(from int) error {
	for i := len(ar.levels) - 1; i >= from; i-- {
		l := &ar.levels[i]
		if l.last == nil {
			continue
		}
		ar.groups++
		out, err := ar.finish(l.states, l.last, i)
		ar.release(l.states)
		if err != nil {
			return err
		}
		ar.pending = append(ar.pending, out)
		*l = rollupLevel{}
	}
	return nil
}

// release gives back what states' GROUP_CONCAT elements held.
func (ar *aggRows) release(states []aggState) {
	var n int64
	for i := range states {
		n += states[i].held
		states[i].held = 0
	}
	ar.vc.Memory().Shrink(n)
	ar.held -= n
}

func (ar *aggRows) Close(err error) {
	ar.vc.Memory().Shrink(ar.held + ar.outHeld)
	ar.held, ar.outHeld = 0, 0
	ar.in.Close(err)
}

// add merges one row's partial aggregates into the group, and into
// every WITH ROLLUP run.
func (ar *aggRows) add(r *Row) error {
	// A DISTINCT aggregate's argument is new when it differs from the
	// previous row's (by the argument's collation and type).
	newValue := ar.distinct != nil && (ar.prev == nil || ar.distinct.compare(ar.prev, r) != 0)
	ar.prev = r
	if err := ar.addTo(ar.states, r, newValue); err != nil {
		return err
	}
	for i := range ar.levels {
		l := &ar.levels[i]
		if l.states == nil {
			l.states = make([]aggState, len(ar.spec.Aggs))
		}
		l.last = ar.first
		if err := ar.addTo(l.states, r, newValue); err != nil {
			return err
		}
	}
	return nil
}

// addTo merges r's partial aggregates into states.
func (ar *aggRows) addTo(states []aggState, r *Row, newValue bool) error {
	for i, a := range ar.spec.Aggs {
		st := &states[i]
		h := ar.base + a.H[0]
		switch a.Kind {
		case AggCountDistinct, AggSumDistinct, AggAvgDistinct:
			h = ar.base + a.H[1]
			if !newValue || r.Nulls[h] {
				continue
			}
			st.count++
			st.any = true
			if a.Kind != AggCountDistinct {
				st.addSum(ar.kinds[i], r.Vals[h])
			}
		case AggCount:
			n, _ := strconv.ParseInt(string(r.Vals[h]), 10, 64)
			st.count += n
		case AggSum, AggAvg:
			if !r.Nulls[h] {
				st.any = true
				st.addSum(ar.kinds[i], r.Vals[h])
			}
			if a.Kind == AggAvg {
				n, _ := strconv.ParseInt(string(r.Vals[ar.base+a.H[1]]), 10, 64)
				st.count += n
			}
		case AggMin, AggMax:
			if r.Nulls[h] {
				continue
			}
			w := r.Vals[ar.base+a.H[1]]
			if st.any {
				c := compareValues(ar.kinds[i], r.Vals[h], w, st.best, st.bestW)
				if (a.Kind == AggMin && c >= 0) || (a.Kind == AggMax && c <= 0) {
					continue
				}
			}
			st.any, st.best, st.bestW = true, r.Vals[h], w
		case AggBitAnd, AggBitOr, AggBitXor:
			if !r.Nulls[h] {
				st.addBits(a.Kind, r.Vals[h])
			}
		case AggStdPop, AggStdSamp, AggVarPop, AggVarSamp:
			n, _ := strconv.ParseInt(string(r.Vals[ar.base+a.H[1]]), 10, 64)
			st.addStat(ar.kinds[i], n, r.Vals[ar.base+a.H[2]], r.Vals[ar.base+a.H[3]])
		case AggGroupConcat:
			if err := ar.holdElement(st, a, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// addSum adds a value to a SUM or AVG: as a double for floating-point
// columns, exactly otherwise.
func (st *aggState) addSum(kind valueKind, v []byte) {
	if kind == kindFloat {
		f, _ := strconv.ParseFloat(string(v), 64)
		st.sumF += f
		return
	}
	if st.sum == nil {
		st.sum = new(big.Rat)
	}
	st.sum.Add(st.sum, ratOf(v))
}

// finish makes an output row from states: a group's (keys, its number
// of keys) or a WITH ROLLUP run's (keys its leading ones), on base, the
// first row of its (last) group. Keys from the keys-th on are NULL.
func (ar *aggRows) finish(states []aggState, base *Row, keys int) (*Row, error) {
	g := base
	out := &Row{Vals: append([][]byte(nil), g.Vals...), Nulls: append([]bool(nil), g.Nulls...), Src: g.Src, raw: g.raw}
	for k := keys; k < len(ar.spec.Keys); k++ {
		key := ar.spec.Keys[k]
		for _, c := range []int{ar.base + key.Value, ar.base + key.Weight} {
			out.Vals[c], out.Nulls[c] = nil, true
		}
		if k < len(ar.spec.KeyFields) {
			for _, c := range ar.spec.KeyFields[k] {
				out.Vals[c], out.Nulls[c] = nil, true
			}
		}
	}
	for i, a := range ar.spec.Aggs {
		if isStatAgg(a.Kind) {
			// The slot gets the double at full precision (HAVING and ORDER
			// BY compare it, as MariaDB compares the double), the client's
			// column the digits its definition gives.
			f, ok := states[i].statValue(a.Kind, ar.kinds[i] != kindFloat)
			var v []byte
			if ok {
				v = formatFloat(f)
			}
			out.Vals[ar.base+a.H[0]], out.Nulls[ar.base+a.H[0]] = v, !ok
			if a.Visible >= 0 {
				if ok {
					v, _ = renderValue(floatValue(f), ar.cols[a.Visible], a.Text)
				}
				out.Vals[a.Visible], out.Nulls[a.Visible] = v, !ok
			}
			continue
		}
		var v []byte
		if a.Kind == AggGroupConcat {
			var err error
			if v, err = ar.concat(states, i); err != nil {
				return nil, err
			}
		} else {
			v = ar.text(states, i)
		}
		if v != nil && !within(v, g.raw) && (a.Kind == AggMin || a.Kind == AggMax) {
			// The best value came from another row of the group: a copy,
			// so that a group held in memory (MemorySort) does not keep
			// that whole row's packet alive too. Not append to nil: an
			// empty string would come out nil, which is NULL.
			v = append(make([]byte, 0, len(v)), v...)
		}
		out.Vals[ar.base+a.H[0]], out.Nulls[ar.base+a.H[0]] = v, v == nil
		if a.Kind == AggAvg && ar.kinds[i] != kindFloat && v != nil {
			exact, real := ar.avgOperand(states[i], a)
			out.Vals[ar.base+a.H[0]], out.Vals[ar.base+a.H[1]], out.Nulls[ar.base+a.H[1]] = exact, real, false
		}
		if (a.Kind == AggMin || a.Kind == AggMax) && len(a.H) > 1 {
			// The best value's weight beside it: an ORDER BY of the
			// aggregate sorts by it (by the column's collation).
			w := states[i].bestW
			if w != nil && !within(w, g.raw) {
				w = append(make([]byte, 0, len(w)), w...)
			}
			out.Vals[ar.base+a.H[1]], out.Nulls[ar.base+a.H[1]] = w, v == nil
		}
		if a.Visible >= 0 {
			out.Vals[a.Visible], out.Nulls[a.Visible] = v, v == nil
		}
	}
	return out, nil
}

// avgOperand is a merged AVG of exact numbers as the expressions over it
// read it (Avg), which is not the value its column shows: MariaDB divides
// the sum by the count to its scale and 4 more digits rounded up to a
// multiple of 9 (decimal_div works in 9-digit words), truncated, and
// computes with that (AVG(x) * 3 over 1, 0, 0 is 0.333333333 * 3, shown
// 1.0000); where it meets a double it reads that quotient as a double
// under GROUP BY (the grouped value is a field of its temporary table),
// and without GROUP BY the sum over the count in doubles
// (Item_sum_avg::val_real). exact replaces the value helper, real the
// count helper beside it (merged by now).
func (ar *aggRows) avgOperand(st aggState, a AggSpec) (exact, real []byte) {
	frac := (int(ar.cols[ar.base+a.H[0]].Decimals) + 4 + 8) / 9 * 9
	q := new(big.Rat).Quo(st.sum, big.NewRat(st.count, 1))
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(frac)), nil)
	t := new(big.Rat).SetFrac(truncated(new(big.Rat).Mul(q, new(big.Rat).SetInt(scale))), scale)
	f, _ := t.Float64()
	if !ar.spec.Group {
		sum, _ := st.sum.Float64()
		f = sum / float64(st.count)
	}
	return []byte(t.FloatString(frac)), formatFloat(f)
}

// text is the text MySQL shows for a merged aggregate, nil for NULL.
func (ar *aggRows) text(states []aggState, i int) []byte {
	a, st := ar.spec.Aggs[i], states[i]
	col := ar.cols[ar.base+a.H[a.input()]]
	if a.Visible >= 0 {
		col = ar.cols[a.Visible]
	} else if a.Kind == AggAvg || a.Kind == AggAvgDistinct {
		// Only HAVING or ORDER BY read it: with the scale MySQL gives AVG
		// (its argument's and 4 more), not the argument's own.
		col.Decimals = min(col.Decimals+4, 30)
	}
	switch a.Kind {
	case AggCount, AggCountDistinct:
		return []byte(strconv.FormatInt(st.count, 10))
	case AggMin, AggMax:
		if !st.any {
			return nil
		}
		return st.best
	case AggSum, AggSumDistinct:
		if !st.any {
			return nil
		}
		if ar.kinds[i] == kindFloat {
			return formatFloat(st.sumF)
		}
		return []byte(st.sum.FloatString(int(col.Decimals)))
	case AggBitAnd, AggBitOr, AggBitXor:
		return st.bitsText(a.Kind)
	case AggAvg, AggAvgDistinct:
		if !st.any || st.count == 0 {
			return nil
		}
		if ar.kinds[i] == kindFloat || kindOf(col.Type) == kindFloat {
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
