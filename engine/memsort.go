package engine

import (
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
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
// stream does not give (by an aggregate, say). It holds at most MaxBytes
// of rows; beyond that the statement fails with 1038 rather than exhaust
// the proxy's memory.
type MemorySort struct {
	Input    RowSource
	Keys     []MemorySortKey
	Hidden   int
	MaxBytes int
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
	var rows []*Row
	size := 0
	err = in.each(func(r *Row) error {
		if size += r.Size; size > m.MaxBytes {
			return wire.Errorf(mysql.ER_OUT_OF_SORTMEMORY,
				"shardgate: ORDER BY over rows merged from several shards needs more than %d MB of proxy memory; add a shard-key condition or order by the GROUP BY columns", m.MaxBytes>>20)
		}
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(rows, func(i, j int) bool {
		for n, k := range m.Keys {
			var c int
			if k.Key != nil {
				c = keys[n].cmp(rows[i], rows[j])
			} else {
				c = compareNullsFirst(k.Expr.eval(rows[i], env), k.Expr.eval(rows[j], env))
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
	return &sliceRows{header: header, rows: rows}, nil
}

// compareNullsFirst orders operands with NULL lowest.
func compareNullsFirst(a, b value) int {
	switch {
	case a.null && b.null:
		return 0
	case a.null:
		return -1
	case b.null:
		return 1
	case a.num != nil && b.num != nil:
		return a.num.Cmp(b.num)
	}
	return compareBytes(a.str, b.str)
}

// sliceRows serves rows held in memory.
type sliceRows struct {
	header [][]byte
	rows   []*Row
}

func (s *sliceRows) Header() ([][]byte, error) { return s.header, nil }
func (s *sliceRows) Next() (*Row, error) {
	if len(s.rows) == 0 {
		return nil, nil
	}
	r := s.rows[0]
	s.rows[0] = nil
	s.rows = s.rows[1:]
	return r, nil
}
func (s *sliceRows) Close(error) { s.rows = nil }
