package engine

import (
	"sort"
	"strings"
	"unsafe"

	"github.com/shardgate/shardgate/memory"
)

// MemorySortKey is one ORDER BY item of an in-memory sort: either a group
// key (compared like the merge does, by collation) or an expression.
type MemorySortKey struct {
	Key  *SortKey
	Expr Expr
	Desc bool
	// Text is the item as written, for EXPLAIN.
	Text string
}

// MemorySort sorts its whole input in memory, for an ORDER BY the merged
// stream does not give (by an aggregate, say). Every row it holds is
// reserved from the statement's memory account first (what the row really
// takes in the heap, see Row.Memory, and the slice holding them); when the
// account refuses, the statement fails with 1038 rather than exhaust the
// proxy's memory. Rows are given back as they go out to the client.
type MemorySort struct {
	Input  RowSource
	Keys   []MemorySortKey
	Hidden int
	// What the sort is for, in its refusal ("": an ORDER BY).
	What string
}

func (m *MemorySort) Inputs() []Primitive { return []Primitive{m.Input} }

func (m *MemorySort) Describe() string { return "MemorySort by " + m.keyText() }

func (m *MemorySort) mergeSummary() string { return "sort in memory by " + m.keyText() }

func (m *MemorySort) keyText() string {
	ks := make([]string, len(m.Keys))
	for i, k := range m.Keys {
		ks[i] = k.Text
		if k.Desc {
			ks[i] += " desc"
		}
	}
	return strings.Join(ks, ", ")
}

func (m *MemorySort) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, m) }

func (m *MemorySort) Open(vc Cursor) (Rows, error) {
	in, err := openInput(vc, m.Input)
	if err != nil {
		return nil, err
	}
	header, cols, env := in.header, in.cols, in.env(m.Hidden)
	keys := make([]keyCmp, len(m.Keys))
	for i, k := range m.Keys {
		if k.Key != nil {
			keys[i] = newComparer([]SortKey{*k.Key}, cols, m.Hidden)[0]
			keys[i].desc = false
		}
	}
	acct := vc.Memory()
	var rows []*Row
	var held int64
	err = in.each(func(r *Row) error {
		need := r.Memory()
		if len(rows) == cap(rows) {
			// Grown by hand, so that the new array is reserved before
			// it exists; the old one is given back once copied.
			bigger := make([]*Row, len(rows), max(64, 2*cap(rows)))
			need += memory.Slice(cap(bigger), int64(unsafe.Sizeof(r)), true)
			if err := acct.Grow(need); err != nil {
				return sortMemoryError(m.What, err)
			}
			copy(bigger, rows)
			old := memory.Slice(cap(rows), int64(unsafe.Sizeof(r)), true)
			acct.Shrink(old)
			held += need - old
			rows = bigger
		} else if err := acct.Grow(need); err != nil {
			return sortMemoryError(m.What, err)
		} else {
			held += need
		}
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		acct.Shrink(held)
		return nil, err
	}
	// An expression key the proxy cannot compare (two strings, see
	// compareOperands) fails the statement instead of sorting by bytes.
	// Keys are computed as the sort compares rows, holding nothing more
	// than the rows (which the account covers).
	var failed error
	sort.SliceStable(rows, func(i, j int) bool {
		for n, k := range m.Keys {
			var c int
			if k.Key != nil {
				c = keys[n].cmp(rows[i], rows[j])
			} else {
				a, b := k.Expr.eval(rows[i], env), k.Expr.eval(rows[j], env)
				var err error
				switch {
				case a.bad != nil:
					err = a.bad
				case b.bad != nil:
					err = b.bad
				default:
					c, err = compareNullsFirst(a, b)
				}
				if err != nil && failed == nil {
					failed = err
				}
			}
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	if failed != nil {
		acct.Shrink(held)
		return nil, failed
	}
	return &sliceRows{header: header, rows: rows, acct: acct, held: held}, nil
}

// compareNullsFirst orders operands with NULL lowest.
func compareNullsFirst(a, b value) (int, error) {
	switch {
	case a.null && b.null:
		return 0, nil
	case a.null:
		return -1, nil
	case b.null:
		return 1, nil
	}
	return compareOperands(a, b)
}

// sliceRows serves rows held in memory. With acct, held is what the rows
// (and their slice) hold of it: each row is given back as it goes out,
// the rest at Close.
type sliceRows struct {
	header [][]byte
	rows   []*Row
	acct   *memory.Account
	held   int64
}

func (s *sliceRows) Header() ([][]byte, error) { return s.header, nil }
func (s *sliceRows) Next() (*Row, error) {
	if len(s.rows) == 0 {
		return nil, nil
	}
	r := s.rows[0]
	s.rows[0] = nil
	s.rows = s.rows[1:]
	if s.acct != nil {
		n := min(r.Memory(), s.held)
		s.acct.Shrink(n)
		s.held -= n
	}
	return r, nil
}
func (s *sliceRows) Close(error) {
	s.rows = nil
	s.acct.Shrink(s.held)
	s.held = 0
}
