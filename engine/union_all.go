package engine

import (
	"errors"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// UnionAll is SELECT … UNION ALL SELECT … whose parts each run through
// their own plan (a part over shards merges as it would alone): their
// rows, part after part, under the first part's column definitions. The
// parts run one after another (one connection per cluster at a time). A
// part whose columns differ from the first's in type, decimals, sign or
// character set would be converted by one server to a common type,
// which the proxy does not do: the statement fails with 1235 when it
// meets such a part (after the earlier parts' rows, like any statement
// that fails while it streams).
type UnionAll struct {
	Parts []RowSource
}

func (u *UnionAll) Inputs() []Primitive {
	out := make([]Primitive, len(u.Parts))
	for i, p := range u.Parts {
		out[i] = p
	}
	return out
}

func (u *UnionAll) Describe() string     { return "UnionAll" }
func (u *UnionAll) mergeSummary() string { return "union all: parts one after another" }

func (u *UnionAll) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, u) }

func (u *UnionAll) Open(vc Cursor) (Rows, error) {
	if len(u.Parts) == 0 {
		return nil, errors.New("no parts")
	}
	ur := &unionRows{vc: vc, parts: u.Parts}
	if err := ur.advance(); err != nil {
		ur.Close(err)
		return nil, err
	}
	return ur, nil
}

type unionRows struct {
	vc     Cursor
	parts  []RowSource
	next   int
	cur    Rows
	header [][]byte
	cols   []wire.Column
}

func (ur *unionRows) advance() error {
	rows, err := ur.parts[ur.next].Open(ur.vc)
	if err != nil {
		return err
	}
	ur.cur, ur.next = rows, ur.next+1
	h, err := rows.Header()
	if err != nil {
		return err
	}
	cols, err := columnsOf(h)
	if err != nil {
		return err
	}
	if ur.header == nil {
		ur.header, ur.cols = h, cols
		return nil
	}
	if len(cols) != len(ur.cols) {
		return wire.Errorf(mysql.ER_WRONG_NUMBER_OF_COLUMNS_IN_SELECT, "The used SELECT statements have a different number of columns")
	}
	for i, c := range cols {
		f := ur.cols[i]
		if c.Type != f.Type || c.Decimals != f.Decimals || c.Charset != f.Charset || (c.Flags^f.Flags)&mysql.UNSIGNED_FLAG != 0 {
			return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: UNION ALL over shards whose SELECTs give column %d different types is not supported: one server would convert them to one type; cast them alike (CAST(… AS …))", i+1)
		}
	}
	return nil
}

func (ur *unionRows) Header() ([][]byte, error) { return ur.header, nil }

func (ur *unionRows) Next() (*Row, error) {
	for ur.cur != nil {
		r, err := ur.cur.Next()
		if err != nil || r != nil {
			return r, err
		}
		ur.cur.Close(nil)
		ur.cur = nil
		if ur.next < len(ur.parts) {
			if err := ur.advance(); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

func (ur *unionRows) Close(err error) {
	if ur.cur != nil {
		ur.cur.Close(err)
		ur.cur = nil
	}
}
