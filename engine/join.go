package engine

import (
	"bytes"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/collate"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// LookupJoin joins two tables that no server holds together (sharded by
// different rules, or living on different clusters), as a batched lookup:
// the driving side (Outer, a plan of its own) streams its rows; their
// join-key values are collected a batch at a time, and the other side
// (Inner) is asked only for rows whose lookup column is IN the batch's
// values, rendered as literals into its SQL in place of Marker; the proxy
// then pairs the rows of the batch by their keys, compared as MariaDB
// compares them (numbers by value, strings by their collation's weights),
// and emits each pair. NULL keys never match. With Left, a driving row
// that pairs with nothing comes out once with the inner columns NULL, as
// in a LEFT JOIN.
//
// The batch's driving rows are reserved from the statement's memory
// account; inner rows stream through. Inside a transaction (every read on
// the session's one connection per cluster), or when a pool the driving
// stream reads from could not lend the inner side another connection at
// once, the driving side is read whole first (within the account) and
// closed before the first lookup: a statement must never wait for a
// connection it holds itself.
type LookupJoin struct {
	Outer RowSource
	// Inner are the inner side's statements, one per physical table it may
	// read (per cluster for a table that is not sharded), each holding
	// Marker once (in a UNION ALL of one cluster's, once per part).
	Inner []*Route
	// Marker is the literal the batch's values replace.
	Marker string
	// Router, when set, says which of Inner can hold rows of a lookup
	// value (the inner table is sharded by the lookup column): each value
	// goes only there. nil: every batch goes to every inner route.
	Router KeyRouter
	// OuterKeys and InnerKeys are the key columns of each equality, by
	// position in each side's columns; Lookup is the equality whose
	// values fill the IN list.
	OuterKeys, InnerKeys []int
	Lookup               int
	Left                 bool
	// Fields are the joined row's columns, each taken from one side.
	Fields []JoinField
	// Collations, when not "", is the collation each equality's strings
	// compare by (the columns', from their definitions): a result's
	// column definition names the collation of the character set the
	// values are sent in (latin1_swedish_ci after SET NAMES latin1), not
	// the column's.
	Collations []string
	// BatchKeys is the most distinct lookup values one inner query gets
	// (0: DefaultJoinBatch); a batch also ends at BatchRows driving rows.
	BatchKeys, BatchRows int
	// Mode renders the values as the session's server reads text.
	Mode parser.TextMode
	// On is the join condition as written, for EXPLAIN.
	On string
	// Meta are statements run once, before the join, whose column
	// definitions replace those of the joined columns MetaFields lists
	// (column i of Meta[k] for field MetaFields[k][i]): an aggregate over
	// the joined rows is computed from each row's own value, and its
	// definition (SUM's wider DECIMAL, COUNT's BIGINT) comes from the
	// aggregate itself, run over no rows on the side it reads.
	Meta       []*Route
	MetaFields [][]int
	// EmptyRow: when no rows join, one row of NULLs comes out (the input
	// of an aggregate without GROUP BY, which answers one row even over
	// no rows: COUNT 0, the others NULL).
	EmptyRow bool
}

// JoinField is one column of a joined row.
type JoinField struct {
	Inner bool
	Index int
}

// KeyRouter places lookup values on the inner side's routes.
type KeyRouter interface {
	// RouteKey returns the index in Inner of the only route that can hold
	// rows whose lookup column equals v (as col, the driving side's
	// column, gives it); -1 when none can (the value cannot match); all
	// when the value cannot be placed for certain.
	RouteKey(v []byte, col wire.Column) (route int, all bool)
	String() string
}

// SpareConns is a cursor that can tell whether the servers it reads from
// could lend more connections at once (a hint, not a reservation; see
// backend.Pool.Spare).
type SpareConns interface {
	// Spare: every server a read of each cluster may go to could lend n
	// connections at once.
	Spare(need map[string]int) bool
}

// Join batch bounds: an IN list of a few hundred values keeps each inner
// statement small and its index lookups cheap, and the driving rows a
// batch holds bounded.
const (
	DefaultJoinBatch     = 500
	DefaultJoinBatchRows = 4096
)

func (j *LookupJoin) Inputs() []Primitive {
	return append(append([]Primitive{j.Outer}, routePrimitives(j.Inner)...), routePrimitives(j.Meta)...)
}

func (j *LookupJoin) kind() string {
	if j.Left {
		return "left"
	}
	return "inner"
}

func (j *LookupJoin) Describe() string {
	router := ""
	if j.Router != nil {
		router = ", values routed to " + j.Router.String()
	}
	return fmt.Sprintf("LookupJoin %s on %s: driving side streams, the other side is read by IN lists of up to %d keys%s", j.kind(), j.On, j.batchKeys(), router)
}

func (j *LookupJoin) mergeSummary() string {
	return fmt.Sprintf("%s join on %s in the proxy (lookup by IN lists of up to %d keys)", j.kind(), j.On, j.batchKeys())
}

func (j *LookupJoin) batchKeys() int {
	if j.BatchKeys > 0 {
		return j.BatchKeys
	}
	return DefaultJoinBatch
}

func (j *LookupJoin) batchRows() int {
	if j.BatchRows > 0 {
		return j.BatchRows
	}
	return DefaultJoinBatchRows
}

func (j *LookupJoin) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, j) }

func (j *LookupJoin) Open(vc Cursor) (Rows, error) {
	whole := vc.Sequential()
	if !whole {
		// The driving stream holds a connection per route while the
		// lookups borrow theirs: where both read one cluster, its servers
		// must lend one more at once.
		outer, inner := map[string]int{}, map[string]bool{}
		walk(j.Outer, func(n Primitive) {
			if r, ok := n.(*Route); ok {
				outer[r.Cluster]++
			}
		})
		for _, r := range j.Inner {
			inner[r.Cluster] = true
		}
		need := map[string]int{}
		for c, n := range outer {
			if inner[c] {
				need[c] = n + 1
			}
		}
		if len(need) > 0 {
			s, ok := vc.(SpareConns)
			whole = !ok || !s.Spare(need)
		}
	}
	// The definitions first, before any stream holds a connection.
	metaDefs, err := readMetaDefs(vc, j.Meta, j.MetaFields)
	if err != nil {
		return nil, err
	}
	in, err := openInput(vc, j.Outer)
	if err != nil {
		return nil, err
	}
	jr := &joinRows{j: j, vc: vc, acct: vc.Memory(), outer: in, metaDefs: metaDefs}
	if whole {
		if err := jr.readWhole(); err != nil {
			jr.Close(err)
			return nil, err
		}
	}
	if err := jr.nextBatch(); err != nil {
		jr.Close(err)
		return nil, err
	}
	return jr, nil
}

// readMetaDefs runs a join's Meta statements and returns the column
// definitions they give the joined columns (by joined column).
func readMetaDefs(vc Cursor, meta []*Route, fields [][]int) (map[int][]byte, error) {
	defs := map[int][]byte{}
	for k, m := range meta {
		in, err := openInput(vc, m)
		if err != nil {
			return nil, err
		}
		if err := in.each(func(*Row) error { return nil }); err != nil {
			return nil, err
		}
		for i, f := range fields[k] {
			if i < len(in.header) {
				defs[f] = in.header[i]
			}
		}
	}
	return defs, nil
}

// joinRows is an open join: the current batch of driving rows and the
// inner rows being paired with them.
type joinRows struct {
	j     *LookupJoin
	vc    Cursor
	acct  *memory.Account
	outer *input
	// held: the driving side read whole (its stream closed); next is the
	// next held row to batch.
	held      []*Row
	heldBytes int64
	// peeked is a driving row read for a batch that was full: the first
	// of the next.
	peeked    *Row
	whole     bool
	outerDone bool

	header     [][]byte
	innerCols  []wire.Column
	keyFns     []keyFn
	batch      []*Row
	batchBytes int64
	byKey      map[string][]int
	matched    []bool
	inner      Rows
	// pending are joined rows made from the last inner row, not yet out.
	pending []*Row
	// unmatched is the next batch row to check for a LEFT JOIN's
	// NULL-extended row, once the batch's inner rows are all read.
	unmatched int
	done      bool
	// metaDefs replace joined columns' definitions (LookupJoin.Meta);
	// emitted counts rows out, for EmptyRow.
	metaDefs map[int][]byte
	emitted  int
}

func (jr *joinRows) memoryError(err error) error {
	what := "the driving rows of a join in the proxy"
	avoid := "narrow the join with conditions on its tables"
	if jr.whole {
		what = "the driving side of a join in the proxy, read whole first (inside a transaction, or when a pool has no connection to spare)"
	}
	return MemoryError(mysql.ER_OUT_OF_RESOURCES, what, avoid, err)
}

// readWhole reads the driving side to its end and closes it.
func (jr *joinRows) readWhole() error {
	jr.whole = true
	in := jr.outer
	jr.outer = &input{header: in.header, cols: in.cols}
	return in.each(func(r *Row) error {
		m := r.Memory()
		if err := jr.acct.Grow(m); err != nil {
			return jr.memoryError(err)
		}
		jr.heldBytes += m
		jr.held = append(jr.held, r)
		return nil
	})
}

// nextOuter is the next driving row, nil at the end.
func (jr *joinRows) nextOuter() (*Row, error) {
	if jr.outerDone {
		return nil, nil
	}
	if jr.whole {
		if len(jr.held) == 0 {
			jr.outerDone = true
			return nil, nil
		}
		r := jr.held[0]
		jr.held[0] = nil
		jr.held = jr.held[1:]
		// Its reservation moves to the batch.
		m := r.Memory()
		jr.heldBytes -= m
		jr.batchBytes += m
		return r, nil
	}
	r, err := jr.outer.Next()
	if err == nil && r != nil {
		err = r.values(len(jr.outer.cols))
		if err == nil {
			m := r.Memory()
			if err = jr.acct.Grow(m); err != nil {
				err = jr.memoryError(err)
			} else {
				jr.batchBytes += m
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if r == nil {
		jr.outerDone = true
		jr.outer.Close(nil)
		jr.outer.Rows = nil
	}
	return r, nil
}

// nextBatch reads the next batch of driving rows and opens the inner
// query for their keys. At the end of the driving side it sets done
// (after a first, empty, lookup when the inner header is still unknown).
func (jr *joinRows) nextBatch() error {
	j := jr.j
	// The batch's rows are given back; a row peeked for this batch keeps
	// its reservation.
	var kept int64
	if jr.peeked != nil {
		kept = jr.peeked.Memory()
	}
	jr.acct.Shrink(jr.batchBytes - kept)
	jr.batchBytes = kept
	jr.batch, jr.matched, jr.unmatched = jr.batch[:0], nil, 0
	jr.byKey = map[string][]int{}
	if jr.keyFns == nil {
		// Before the first batch: the inner side's header gives the
		// types the keys compare by (a lookup of no value).
		if err := jr.openInner(nil); err != nil {
			return err
		}
		h, err := jr.inner.Header()
		if err != nil {
			return err
		}
		if err := jr.setHeader(h); err != nil {
			return err
		}
		jr.inner.Close(nil)
		jr.inner = nil
	}
	// Lookup values by their key under the comparison, each sent once.
	values := map[string][]byte{}
	var order []string
	for len(jr.batch) < j.batchRows() {
		r := jr.peeked
		jr.peeked = nil
		if r == nil {
			var err error
			if r, err = jr.nextOuter(); err != nil {
				return err
			}
		}
		if r == nil {
			break
		}
		k, ok := jr.outerKey(r)
		var v []byte
		var lk string
		if ok {
			v = r.Vals[j.OuterKeys[j.Lookup]]
			lk = jr.keyFns[j.Lookup].key(v, true)
			if _, seen := values[lk]; !seen && len(values) == j.batchKeys() {
				// A new value when the batch has all it takes: the row
				// waits for the next batch (rows of values already in
				// this one, and NULL keys, still join it).
				jr.peeked = r
				break
			}
		}
		jr.batch = append(jr.batch, r)
		if ok {
			jr.byKey[k] = append(jr.byKey[k], len(jr.batch)-1)
			if _, seen := values[lk]; !seen {
				values[lk] = v
				order = append(order, lk)
			}
		}
	}
	if len(jr.batch) == 0 {
		jr.done = true
		return nil
	}
	jr.matched = make([]bool, len(jr.batch))
	if len(order) == 0 {
		return nil // no key can match: a LEFT JOIN's rows all come out extended
	}
	vals := make([][]byte, len(order))
	for i, k := range order {
		vals[i] = values[k]
	}
	return jr.openInner(vals)
}

// openInner runs the inner side for vals (nil: none, for the header).
func (jr *joinRows) openInner(vals [][]byte) error {
	j := jr.j
	col := jr.outer.cols[j.OuterKeys[j.Lookup]]
	per := make([][]string, len(j.Inner))
	if vals == nil {
		per[0] = []string{"NULL"}
	}
	for _, v := range vals {
		s := string(v)
		lit := parser.ResultValueLiteral(col, &s, j.Mode)
		if j.Router == nil {
			for i := range per {
				per[i] = append(per[i], lit)
			}
			continue
		}
		route, all := j.Router.RouteKey(v, col)
		switch {
		case all:
			for i := range per {
				per[i] = append(per[i], lit)
			}
		case route >= 0 && route < len(per):
			per[route] = append(per[route], lit)
		}
	}
	// One statement per cluster, its tables' parts joined by UNION ALL:
	// a lookup holds one connection per cluster.
	var routes []*Route
	var parts [][]string
	byCluster := map[string]int{}
	for i, lits := range per {
		if len(lits) == 0 {
			continue
		}
		r := j.Inner[i]
		sql := strings.ReplaceAll(r.SQL, j.Marker, strings.Join(lits, ","))
		k, ok := byCluster[r.Cluster]
		if !ok {
			k = len(routes)
			byCluster[r.Cluster] = k
			routes = append(routes, &Route{Cluster: r.Cluster, Replica: r.Replica, Logical: r.Logical})
			parts = append(parts, nil)
		}
		routes[k].Tables = append(routes[k].Tables, r.Tables...)
		parts[k] = append(parts[k], sql)
	}
	if len(routes) == 0 {
		// Every value is one no inner table can hold.
		return nil
	}
	for k, r := range routes {
		if len(parts[k]) == 1 {
			r.SQL = parts[k][0]
			continue
		}
		r.SQL = "(" + strings.Join(parts[k], ") UNION ALL (") + ")"
	}
	rows, err := (&Concat{Routes: routes}).Open(jr.vc)
	if err != nil {
		return err
	}
	jr.inner = rows
	return nil
}

// setHeader makes the joined header and the key comparisons from the
// inner side's column definitions.
func (jr *joinRows) setHeader(innerHeader [][]byte) error {
	j := jr.j
	cols, err := columnsOf(innerHeader)
	if err != nil {
		return err
	}
	jr.innerCols = cols
	jr.header, jr.keyFns, err = joinedColumns(joinSpec{Fields: j.Fields, Left: j.Left, OuterKeys: j.OuterKeys, InnerKeys: j.InnerKeys, Collations: j.Collations},
		jr.outer.header, jr.outer.cols, innerHeader, cols, jr.metaDefs)
	return err
}

// joinSpec is what a join in the proxy (LookupJoin, HashJoin) pairs and
// emits.
type joinSpec struct {
	Fields               []JoinField
	Left                 bool
	OuterKeys, InnerKeys []int
	Collations           []string
	RawKeys              []bool
}

// joinedColumns makes a join's header from both sides' column
// definitions (a LEFT JOIN's inner columns lose NOT NULL; metaDefs
// replace some) and the comparison of each key equality.
func joinedColumns(j joinSpec, outerHeader [][]byte, outerCols []wire.Column, innerHeader [][]byte, cols []wire.Column, metaDefs map[int][]byte) ([][]byte, []keyFn, error) {
	for _, f := range j.Fields {
		n := len(outerCols)
		if f.Inner {
			n = len(cols)
		}
		if f.Index >= n {
			return nil, nil, fmt.Errorf("a side of a join returned %d columns, fewer than the plan needs", n)
		}
	}
	for i := range j.OuterKeys {
		if j.OuterKeys[i] >= len(outerCols) || j.InnerKeys[i] >= len(cols) {
			return nil, nil, fmt.Errorf("a side of a join returned fewer columns than its keys need")
		}
	}
	header := make([][]byte, len(j.Fields))
	for i, f := range j.Fields {
		if f.Inner {
			header[i] = innerHeader[f.Index]
			if j.Left && cols[f.Index].Flags&mysql.NOT_NULL_FLAG != 0 {
				// A LEFT JOIN's inner columns are NULL in extended rows.
				c := cols[f.Index]
				c.Flags &^= mysql.NOT_NULL_FLAG
				header[i] = wire.AppendColumn(nil, c)
			}
		} else {
			header[i] = outerHeader[f.Index]
		}
	}
	for i, def := range metaDefs {
		if i < len(header) {
			header[i] = def
		}
	}
	keyFns := make([]keyFn, len(j.OuterKeys))
	for i := range j.OuterKeys {
		coll := ""
		if i < len(j.Collations) {
			coll = j.Collations[i]
		}
		var kf keyFn
		var err error
		if i < len(j.RawKeys) && j.RawKeys[i] {
			kf, err = rawKeyFn(coll)
		} else {
			kf, err = joinKeyFn(outerCols[j.OuterKeys[i]], cols[j.InnerKeys[i]], coll)
		}
		if err != nil {
			return nil, nil, err
		}
		keyFns[i] = kf
	}
	return header, keyFns, nil
}

func (jr *joinRows) outerKey(r *Row) (string, bool) {
	return jr.rowKey(r, jr.j.OuterKeys, true)
}

// rowKey is the row's composite key; false when a key value is NULL
// (or cannot equal anything).
func (jr *joinRows) rowKey(r *Row, idx []int, outer bool) (string, bool) {
	return compositeKey(jr.keyFns, r, idx, outer)
}

// compositeKey is r's key of columns idx under the comparisons fns: rows
// MariaDB holds equal on every equality have the same key; false when a
// key value is NULL (NULL never equals anything).
func compositeKey(fns []keyFn, r *Row, idx []int, outer bool) (string, bool) {
	var b strings.Builder
	for i, c := range idx {
		if r.Nulls[c] {
			return "", false
		}
		k := fns[i].key(r.Vals[c], outer)
		b.WriteString(strconv.Itoa(len(k)))
		b.WriteByte(':')
		b.WriteString(k)
	}
	return b.String(), true
}

func (jr *joinRows) Header() ([][]byte, error) { return jr.header, nil }

func (jr *joinRows) Next() (*Row, error) {
	for {
		if len(jr.pending) > 0 {
			r := jr.pending[0]
			jr.pending = jr.pending[1:]
			jr.emitted++
			return r, nil
		}
		if jr.done {
			if jr.j.EmptyRow && jr.emitted == 0 {
				jr.emitted++
				n := len(jr.j.Fields)
				return &Row{Vals: make([][]byte, n), Nulls: slicesRepeatTrue(n)}, nil
			}
			return nil, nil
		}
		if jr.inner != nil {
			r, err := jr.inner.Next()
			if err == nil && r != nil {
				err = r.values(len(jr.innerCols))
			}
			if err != nil {
				return nil, err
			}
			if r != nil {
				if k, ok := jr.rowKey(r, jr.j.InnerKeys, false); ok {
					for _, i := range jr.byKey[k] {
						jr.matched[i] = true
						jr.pending = append(jr.pending, jr.joined(jr.batch[i], r))
					}
				}
				continue
			}
			jr.inner.Close(nil)
			jr.inner = nil
		}
		if jr.j.Left {
			for jr.unmatched < len(jr.batch) {
				i := jr.unmatched
				jr.unmatched++
				if !jr.matched[i] {
					jr.emitted++
					return jr.joined(jr.batch[i], nil), nil
				}
			}
		}
		if err := jr.nextBatch(); err != nil {
			return nil, err
		}
	}
}

// joined makes the output row of an outer row and an inner row (nil: the
// NULL-extended row of a LEFT JOIN).
func (jr *joinRows) joined(o, in *Row) *Row { return joinedRow(jr.j.Fields, o, in) }

func joinedRow(fields []JoinField, o, in *Row) *Row {
	r := &Row{Vals: make([][]byte, len(fields)), Nulls: make([]bool, len(fields))}
	for i, f := range fields {
		switch {
		case !f.Inner:
			r.Vals[i], r.Nulls[i] = o.Vals[f.Index], o.Nulls[f.Index]
		case in == nil:
			r.Nulls[i] = true
		default:
			r.Vals[i], r.Nulls[i] = in.Vals[f.Index], in.Nulls[f.Index]
		}
	}
	return r
}

func (jr *joinRows) Close(err error) {
	if jr.inner != nil {
		jr.inner.Close(err)
		jr.inner = nil
	}
	if jr.outer != nil && jr.outer.Rows != nil {
		jr.outer.Close(err)
		jr.outer.Rows = nil
	}
	jr.acct.Shrink(jr.batchBytes + jr.heldBytes)
	jr.batchBytes, jr.heldBytes = 0, 0
	jr.batch, jr.held, jr.pending, jr.peeked = nil, nil, nil, nil
}

// keyFn reads one key value as the comparison of its equality sees it:
// equal keys are values MariaDB holds equal.
type keyFn struct {
	// mode: how both sides compare.
	mode keyMode
	// coll compares strings; cs are the character sets the sides' values
	// arrive in.
	coll             *collate.Collation
	outerCS, innerCS string
}

type keyMode int

const (
	keyExact keyMode = iota // numbers of the same integer/decimal class, by value
	keyFloat                // as doubles (a float on either side, or a number beside a string)
	keyString
	keyBytes // binary strings
	keyTemporal
	keyTime
)

// joinKeyFn decides how the values of two key columns compare, as
// MariaDB compares a = b: numbers by value (as doubles when either is a
// float or a string), strings by the collation both columns share.
func joinKeyFn(o, i wire.Column, coll string) (keyFn, error) {
	ko, ki := kindOf(o.Type), kindOf(i.Type)
	num := func(k valueKind) bool { return k == kindInt || k == kindDecimal || k == kindFloat }
	switch {
	case num(ko) && num(ki):
		if ko == kindFloat || ki == kindFloat {
			return keyFn{mode: keyFloat}, nil
		}
		return keyFn{mode: keyExact}, nil
	case num(ko) || num(ki):
		return keyFn{mode: keyFloat}, nil
	case ko == kindTemporal && ki == kindTemporal:
		return keyFn{mode: keyTemporal}, nil
	case ko == kindTime && ki == kindTime:
		return keyFn{mode: keyTime}, nil
	case ko != kindString || ki != kindString:
		return keyFn{}, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a join in the proxy on columns of types %s and %s is not supported: compare values of one type", typeName(o.Type), typeName(i.Type))
	}
	if o.Charset == 63 || i.Charset == 63 {
		return keyFn{mode: keyBytes}, nil
	}
	on, ocs, ok1 := parser.CollationOfID(o.Charset)
	in, ics, ok2 := parser.CollationOfID(i.Charset)
	if !ok1 || !ok2 {
		return keyFn{}, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a join in the proxy on string columns of collation ids %d and %d is not supported", o.Charset, i.Charset)
	}
	if coll != "" {
		on, in = coll, coll
	}
	if on != in {
		return keyFn{}, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a join in the proxy on string columns of different collations (%s, %s) is not supported", on, in)
	}
	c, ok := collate.Lookup(on)
	if !ok {
		return keyFn{}, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a join in the proxy on string columns of collation %s is not supported (the proxy cannot compare by it)", on)
	}
	return keyFn{mode: keyString, coll: c, outerCS: ocs, innerCS: ics}, nil
}

// rawKeyFn compares strings sent as their columns' own bytes (CAST …
// AS BINARY) by the columns' collation, in its character set.
func rawKeyFn(coll string) (keyFn, error) {
	c, ok := collate.Lookup(coll)
	if !ok {
		return keyFn{}, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a join in the proxy on string columns of collation %s is not supported (the proxy cannot compare by it)", coll)
	}
	return keyFn{mode: keyString, coll: c, outerCS: c.Charset, innerCS: c.Charset}, nil
}

func typeName(t byte) string {
	switch kindOf(t) {
	case kindInt, kindDecimal, kindFloat:
		return "number"
	case kindTemporal:
		return "date/time"
	case kindTime:
		return "time"
	}
	return fmt.Sprintf("type %d", t)
}

// key is v's comparison key; outer says which side's character set v is
// in. A value the comparison cannot read gets a key of its own kind that
// equals only the same bytes.
func (k keyFn) key(v []byte, outer bool) string {
	switch k.mode {
	case keyExact:
		if r, ok := new(big.Rat).SetString(string(v)); ok {
			return r.RatString()
		}
	case keyFloat:
		return strconv.FormatFloat(ratFloat(stringNumber(v)), 'g', -1, 64)
	case keyString:
		cs := k.innerCS
		if outer {
			cs = k.outerCS
		}
		if key, ok := k.coll.KeyBytes(cs, v); ok {
			return "s" + string(key)
		}
	case keyBytes:
		return "b" + string(v)
	case keyTemporal:
		s := string(v)
		if len(s) == 10 {
			s += " 00:00:00"
		}
		if i := strings.IndexByte(s, '.'); i >= 0 {
			s = strings.TrimRight(s, "0")
			s = strings.TrimSuffix(s, ".")
		}
		return s
	case keyTime:
		return timeSeconds(v).RatString()
	}
	return "?" + string(bytes.Clone(v))
}

func ratFloat(r *big.Rat) float64 {
	f, _ := r.Float64()
	return f
}

func slicesRepeatTrue(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}
