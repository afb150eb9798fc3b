package engine

import (
	"math"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// SequenceSlot is one row's claim on a global sequence: it needs a value
// (Explicit false), or gives its own, Value when that is an integer.
type SequenceSlot struct {
	Explicit bool
	Value    int64
}

// SequenceFill fills a sharded table's sequenced column in rows that a
// primitive writes from a stream (INSERT … SELECT), as a plan of INSERT …
// VALUES has them filled before it runs: a row that leaves the column
// out, or gives NULL or 0 (unless NoAutoOnZero), gets the sequence's next
// value; an explicit integer moves the sequence past it.
type SequenceFill struct {
	// Key names the sequence (schema.table, the table in lower case);
	// Column is the sequenced column, for messages.
	Key, Column  string
	Start, Cache int64
	// Index is the column's position in the source's rows; -1: the
	// INSERT's column list leaves it out, and its value is appended to
	// every row (the rendered column list names it last).
	Index        int
	NoAutoOnZero bool
}

// describe is how EXPLAIN SHARDGATE names the fill ("" for none).
func (f *SequenceFill) describe() string {
	if f == nil {
		return ""
	}
	return "; column " + f.Column + " from sequence " + f.Key
}

// fill returns r with the sequenced column filled (a new row when a value
// is written or appended; r itself is not changed, its buffers may be
// the source's), and the generated value (0: the row gave its own).
func (f *SequenceFill) fill(vc Cursor, r *Row) (*Row, int64, error) {
	slot := SequenceSlot{}
	if f.Index >= 0 {
		if f.Index >= len(r.Vals) {
			return nil, 0, wire.Errorf(mysql.ER_WRONG_VALUE_COUNT_ON_ROW, "Column count doesn't match value count at row 1")
		}
		if !r.Nulls[f.Index] {
			v, isInt := IntegerValue(string(r.Vals[f.Index]))
			if !isInt || v != 0 || f.NoAutoOnZero {
				slot = SequenceSlot{Explicit: true, Value: v}
			}
		}
	}
	vals, err := vc.AssignSequence(f.Key, f.Start, f.Cache, []SequenceSlot{slot})
	if err != nil {
		return nil, 0, err
	}
	if slot.Explicit {
		return r, 0, nil
	}
	v := vals[0]
	text := []byte(strconv.FormatInt(v, 10))
	out := &Row{Vals: append([][]byte(nil), r.Vals...), Nulls: append([]bool(nil), r.Nulls...)}
	if f.Index < 0 {
		out.Vals = append(out.Vals, text)
		out.Nulls = append(out.Nulls, false)
	} else {
		out.Vals[f.Index], out.Nulls[f.Index] = text, false
	}
	return out, v, nil
}

// IntegerValue reads a value as MariaDB stores it in an integer column
// ('42', 42.0, ' 7'; a decimal rounded as the server rounds it). ok
// false: not a number, written as given, and the sequence does not move.
func IntegerValue(text string) (int64, bool) {
	s := strings.TrimSpace(text)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) >= 1<<62 {
		return 0, false
	}
	return int64(math.Round(f)), true
}
