package engine

import (
	"math/big"
	"strconv"

	"github.com/shardgate/shardgate/wire"
)

// DistinctAggregate computes a lone COUNT(DISTINCT x) or SUM(DISTINCT x)
// from the shards' distinct values of x, merged in order (helper 0 is the
// value, helper 1 its weight string). Its column definition comes from
// Meta, the statement as written run with LIMIT 0 on one shard. The output
// row keeps the two helper columns (NULL) so that Trim drops them.
type DistinctAggregate struct {
	Input RowSource
	Kind  string // AggCount or AggSum
	Meta  *Route
}

func (d *DistinctAggregate) Inputs() []Primitive { return []Primitive{d.Input} }
func (d *DistinctAggregate) Describe() string {
	return "DistinctAggregate " + d.Kind + " (column from " + d.Meta.Cluster + ": " + d.Meta.SQL + ")"
}
func (d *DistinctAggregate) mergeSummary() string {
	return "merge distinct values for " + d.Kind
}
func (d *DistinctAggregate) Execute(vc Cursor, w ResultWriter) error {
	return writeRows(vc, w, d)
}

func (d *DistinctAggregate) Open(vc Cursor) (Rows, error) {
	meta, err := d.readMeta(vc)
	if err != nil {
		return nil, err
	}
	in, err := openInput(vc, d.Input)
	if err != nil {
		return nil, err
	}
	header, cols := in.header, in.cols
	if len(cols) < 2 {
		err := wire.Errorf(1105, "shardgate: a shard returned fewer columns than asked")
		in.Close(err)
		return nil, err
	}
	metaCol, _ := wire.ParseColumn(meta[0])
	float := kindOf(cols[0].Type) == kindFloat
	var last *Row
	var count int64
	sum := new(big.Rat)
	sumF := 0.0
	cmp := newComparer([]SortKey{{Value: 0, Weight: 1}}, cols, 2)
	err = in.each(func(r *Row) error {
		if r.Nulls[0] || (last != nil && cmp.compare(last, r) == 0) {
			return nil
		}
		last = r
		count++
		if float {
			f, _ := strconv.ParseFloat(string(r.Vals[0]), 64)
			sumF += f
		} else {
			sum.Add(sum, ratOf(r.Vals[0]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var v []byte
	switch {
	case d.Kind == AggCount:
		v = []byte(strconv.FormatInt(count, 10))
	case count == 0:
		v = nil
	case float:
		v = formatFloat(sumF)
	default:
		v = []byte(sum.FloatString(int(metaCol.Decimals)))
	}
	out := append([][]byte{meta[0]}, header[len(header)-2:]...)
	return &sliceRows{header: out, rows: []*Row{NewRow(v, nil, nil)}}, nil
}

// readMeta reads the column definitions of the statement as written.
func (d *DistinctAggregate) readMeta(vc Cursor) ([][]byte, error) {
	rows, err := d.Meta.Open(vc)
	if err != nil {
		return nil, err
	}
	h, err := rows.Header()
	if err == nil && len(h) == 0 {
		err = wire.Errorf(1105, "shardgate: no column definition for the aggregate")
	}
	rows.Close(err)
	if err != nil {
		return nil, shardError(err)
	}
	return h, nil
}
