package engine

import "fmt"

// Trim drops the helper columns the shards were asked for (sort keys and
// their weight strings, partial aggregates) before rows reach the client.
type Trim struct {
	Input  RowSource
	Hidden int
}

func (t *Trim) Inputs() []Primitive { return []Primitive{t.Input} }
func (t *Trim) Describe() string    { return fmt.Sprintf("Trim %d helper columns", t.Hidden) }
func (t *Trim) mergeSummary() string {
	if t.Hidden == 0 {
		return ""
	}
	return fmt.Sprintf("drop %d helper columns", t.Hidden)
}
func (t *Trim) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, t) }

func (t *Trim) Open(vc Cursor) (Rows, error) {
	in, err := openInput(vc, t.Input)
	if err != nil {
		return nil, err
	}
	header := in.header
	if len(header) < t.Hidden {
		err := fmt.Errorf("a shard returned %d columns, fewer than the %d helper columns asked", len(header), t.Hidden)
		in.Close(err)
		return nil, err
	}
	return &trimRows{Rows: in, header: header[:len(header)-t.Hidden], width: len(header)}, nil
}

type trimRows struct {
	Rows
	header [][]byte
	width  int
}

func (tr *trimRows) Header() ([][]byte, error) { return tr.header, nil }

func (tr *trimRows) Next() (*Row, error) {
	r, err := tr.Rows.Next()
	if err != nil || r == nil {
		return r, err
	}
	if len(tr.header) == tr.width {
		return r, nil
	}
	if err := r.values(tr.width); err != nil {
		return nil, err
	}
	return &Row{Vals: r.Vals[:len(tr.header)], Nulls: r.Nulls[:len(tr.header)], Src: r.Src, raw: r.raw}, nil
}
