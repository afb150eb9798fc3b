package engine

import "fmt"

// Limit skips Offset rows and returns at most Count (the client's LIMIT;
// each shard was asked for Offset+Count). It stops reading its input once
// Count rows are out.
type Limit struct {
	Input         RowSource
	Offset, Count int64
}

func (l *Limit) Inputs() []Primitive { return []Primitive{l.Input} }
func (l *Limit) Describe() string {
	return fmt.Sprintf("Limit %d offset %d", l.Count, l.Offset)
}
func (l *Limit) mergeSummary() string {
	return fmt.Sprintf("limit %d offset %d", l.Count, l.Offset)
}
func (l *Limit) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, l) }

func (l *Limit) Open(vc Cursor) (Rows, error) {
	in, err := l.Input.Open(vc)
	if err != nil {
		return nil, err
	}
	return &limitRows{Rows: in, l: l}, nil
}

type limitRows struct {
	Rows
	l                *Limit
	skipped, written int64
}

func (lr *limitRows) Next() (*Row, error) {
	for lr.written < lr.l.Count {
		r, err := lr.Rows.Next()
		if err != nil || r == nil {
			return r, err
		}
		if lr.skipped < lr.l.Offset {
			lr.skipped++
			continue
		}
		lr.written++
		return r, nil
	}
	return nil, nil
}
