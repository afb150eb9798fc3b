package engine

import (
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/wire"
)

// Retype puts column definitions of the proxy's own in place of some of
// its input's: a scalar subquery of the select list that ran first is a
// literal in the statement the shards run, and the server describes the
// literal, where one server holding every table describes the subquery.
// Rows pass untouched; each replaced column keeps the input's name (the
// field's alias, which the server gave it).
type Retype struct {
	Input   RowSource
	Columns []RetypedColumn
}

// RetypedColumn is one replaced column definition.
type RetypedColumn struct {
	// Index counts from the first column when it is 0 or more, from the
	// last when negative (-1 is the last).
	Index int
	// Def is the definition put in place; its Name is the input's.
	Def wire.Column
}

func (r *Retype) Inputs() []Primitive { return []Primitive{r.Input} }
func (r *Retype) Describe() string {
	places := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		places[i] = fmt.Sprint(c.Index)
	}
	return "Retype columns " + strings.Join(places, ", ") + " as their subqueries'"
}
func (r *Retype) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, r) }

func (r *Retype) Open(vc Cursor) (Rows, error) {
	in, err := openInput(vc, r.Input)
	if err != nil {
		return nil, err
	}
	header := append([][]byte(nil), in.header...)
	for _, c := range r.Columns {
		i := c.Index
		if i < 0 {
			i += len(header)
		}
		if i < 0 || i >= len(header) {
			err := fmt.Errorf("a result of %d columns has no column %d to describe as a subquery's", len(header), c.Index)
			in.Close(err)
			return nil, err
		}
		def := c.Def
		def.Name = in.cols[i].Name
		header[i] = wire.AppendColumn(nil, def)
	}
	return &retypedRows{Rows: in, header: header}, nil
}

type retypedRows struct {
	Rows
	header [][]byte
}

func (r *retypedRows) Header() ([][]byte, error) { return r.header, nil }
