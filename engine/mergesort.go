package engine

import (
	"container/heap"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// MergePurpose says what a k-way merge's order serves, for EXPLAIN.
type MergePurpose int

const (
	MergeForSort MergePurpose = iota
	MergeForGroups
	MergeForDistinct
	MergeForWindow
)

// MergeSort merges inputs that each return rows sorted by Keys into one
// sorted stream, holding one row per input. All inputs run at once, except
// when the session's steps must run one by one (a transaction): then each
// input is read whole in turn, its rows reserved from the statement's
// memory account.
type MergeSort struct {
	Routes []*Route
	Keys   []SortKey
	// Hidden is the number of helper columns at the end of every row.
	Hidden  int
	Purpose MergePurpose
}

func (m *MergeSort) Inputs() []Primitive { return routePrimitives(m.Routes) }

func (m *MergeSort) Describe() string {
	return "MergeSort by " + describeKeys(m.Keys)
}

func (m *MergeSort) mergeSummary() string {
	if len(m.Keys) == 0 {
		return ""
	}
	verb := "merge-sort by "
	switch m.Purpose {
	case MergeForGroups:
		verb = "merge groups by "
	case MergeForDistinct:
		verb = "merge distinct by "
	case MergeForWindow:
		verb = "merge window partitions by "
	}
	return verb + describeKeys(m.Keys)
}

func (m *MergeSort) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, m) }

func (m *MergeSort) Open(vc Cursor) (Rows, error) {
	ms := &mergeRows{}
	if vc.Sequential() && len(m.Routes) > 1 {
		// The session's one connection per cluster cannot stream several
		// results at once (a transaction): each input is read whole, one
		// after another, then merged.
		if err := ms.buffer(vc, m.Routes); err != nil {
			return nil, err
		}
	} else {
		for i, r := range m.Routes {
			rr, err := r.open(vc, i)
			if err != nil {
				ms.Close(err)
				return nil, err
			}
			ms.inputs = append(ms.inputs, rr)
		}
		// Every input's header first: the merge needs a row from each.
		for _, in := range ms.inputs {
			h, err := in.(*routeRows).Header()
			if err != nil {
				ms.Close(err)
				return nil, err
			}
			if ms.header == nil {
				ms.header = h
			}
		}
	}
	cols, err := columnsOf(ms.header)
	if err != nil {
		ms.Close(err)
		return nil, err
	}
	if len(cols) < m.Hidden {
		err := wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: a shard returned fewer columns than asked")
		ms.Close(err)
		return nil, err
	}
	ms.heap.cmp = newComparer(m.Keys, cols, m.Hidden)
	ms.width = len(cols)
	for _, in := range ms.inputs {
		if err := ms.pull(in); err != nil {
			ms.Close(err)
			return nil, err
		}
	}
	heap.Init(&ms.heap)
	return ms, nil
}

type mergeRows struct {
	inputs []mergeInput
	header [][]byte
	width  int
	heap   rowHeap
}

// mergeInput is one sorted input of a merge: a backend's result as it
// streams in, or one read whole beforehand.
type mergeInput interface {
	Next() (*Row, error)
	Close(err error)
}

// buffer reads every route's whole result, one route after another, into
// memory reserved from the statement's account (a refusal is 1038, as for
// an in-memory sort).
func (ms *mergeRows) buffer(vc Cursor, routes []*Route) error {
	acct := vc.Memory()
	for i, r := range routes {
		rr, err := r.open(vc, i)
		if err != nil {
			ms.Close(err)
			return err
		}
		h, err := rr.Header()
		if err != nil {
			rr.Close(err)
			ms.Close(err)
			return err
		}
		if ms.header == nil {
			ms.header = h
		}
		in := &sliceRows{header: h, acct: acct}
		ms.inputs = append(ms.inputs, in)
		for {
			row, err := rr.Next()
			if err != nil {
				rr.Close(err)
				ms.Close(err)
				return err
			}
			if row == nil {
				break
			}
			need := row.Memory()
			if err := acct.Grow(need); err != nil {
				err = MemoryError(mysql.ER_OUT_OF_SORTMEMORY, "a read merged from several shards inside a transaction",
					"add a shard-key condition or a LIMIT", err)
				rr.Close(err)
				ms.Close(err)
				return err
			}
			in.held += need
			in.rows = append(in.rows, row)
		}
		rr.Close(nil)
	}
	return nil
}

// pull reads the next row of one input into the heap.
func (ms *mergeRows) pull(in mergeInput) error {
	r, err := in.Next()
	if err != nil || r == nil {
		return err
	}
	if err := r.values(ms.width); err != nil {
		return err
	}
	ms.heap.rows = append(ms.heap.rows, r)
	return nil
}

func (ms *mergeRows) Header() ([][]byte, error) { return ms.header, nil }

func (ms *mergeRows) Next() (*Row, error) {
	h := &ms.heap
	if h.Len() == 0 {
		return nil, nil
	}
	top := h.rows[0]
	nr, err := ms.inputs[top.Src].Next()
	if err != nil {
		return nil, err
	}
	if nr != nil {
		if err := nr.values(ms.width); err != nil {
			return nil, err
		}
		h.rows[0] = nr
		heap.Fix(h, 0)
	} else {
		heap.Pop(h)
	}
	return top, nil
}

func (ms *mergeRows) Close(err error) {
	for _, in := range ms.inputs {
		in.Close(err)
	}
}

// rowHeap orders the inputs' current rows; ties keep input order.
type rowHeap struct {
	rows []*Row
	cmp  comparer
}

func (h *rowHeap) Len() int { return len(h.rows) }
func (h *rowHeap) Less(i, j int) bool {
	if c := h.cmp.compare(h.rows[i], h.rows[j]); c != 0 {
		return c < 0
	}
	return h.rows[i].Src < h.rows[j].Src
}
func (h *rowHeap) Swap(i, j int) { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *rowHeap) Push(x any)    { h.rows = append(h.rows, x.(*Row)) }
func (h *rowHeap) Pop() any {
	r := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return r
}
