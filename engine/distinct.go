package engine

// Distinct collapses neighbouring rows equal on Keys: its input is sorted
// by every selected column, so duplicates from different shards meet.
type Distinct struct {
	Input  RowSource
	Keys   []SortKey
	Hidden int
}

func (d *Distinct) Inputs() []Primitive                     { return []Primitive{d.Input} }
func (d *Distinct) Describe() string                        { return "Distinct by " + describeKeys(d.Keys) }
func (d *Distinct) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, d) }

func (d *Distinct) Open(vc Cursor) (Rows, error) {
	in, err := openInput(vc, d.Input)
	if err != nil {
		return nil, err
	}
	return &distinctRows{Rows: in, cmp: newComparer(d.Keys, in.cols, d.Hidden), width: len(in.cols)}, nil
}

type distinctRows struct {
	Rows
	cmp   comparer
	width int
	last  *Row
}

func (dr *distinctRows) Next() (*Row, error) {
	for {
		r, err := dr.Rows.Next()
		if err != nil || r == nil {
			return r, err
		}
		if err := r.values(dr.width); err != nil {
			return nil, err
		}
		if dr.last != nil && dr.cmp.compare(dr.last, r) == 0 {
			continue
		}
		dr.last = r
		return r, nil
	}
}
