package engine

import (
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// Collected is a whole result the proxy reads for itself: its column
// definitions and rows as text values (nil: NULL).
type Collected struct {
	Columns []wire.Column
	Rows    [][]*string
	// Reserved is what Collect reserved for the rows from the cursor's
	// memory account (a caller done with them before the statement ends
	// gives it back).
	Reserved int64
}

// Collect runs src as a statement of its own and keeps its answer, for a
// read whose result the proxy uses itself rather than sends on (a
// subquery run before the statement holding it). The rows are reserved
// from the cursor's memory account, as what is described by what, and
// never more than maxRows: one more is tooMany's error. On success they
// stay reserved until the caller closes the account (the statement the
// answer goes into); on failure they are given back.
func Collect(vc Cursor, src RowSource, maxRows int, what string, tooMany func() error) (*Collected, error) {
	in, err := openInput(vc, src)
	if err != nil {
		return nil, shardError(err)
	}
	out := &Collected{Columns: in.cols}
	acct := vc.Memory()
	var reserved int64
	for {
		r, err := in.Next()
		if err == nil && r != nil {
			err = r.values(len(in.cols))
		}
		if err != nil {
			in.Close(err)
			if acct != nil {
				acct.Shrink(reserved)
			}
			return nil, shardError(err)
		}
		if r == nil {
			break
		}
		if len(out.Rows) == maxRows {
			err = tooMany()
		}
		row := make([]*string, len(r.Vals))
		size := int64(len(row)) * 24
		for i, v := range r.Vals {
			if !r.Nulls[i] {
				s := string(v)
				row[i] = &s
				size += int64(len(s)) + 16
			}
		}
		if err == nil && acct != nil {
			if err = acct.Grow(size); err != nil {
				err = MemoryError(mysql.ER_OUT_OF_RESOURCES, what, "", err)
			} else {
				reserved += size
			}
		}
		if err != nil {
			in.Close(err)
			if acct != nil {
				acct.Shrink(reserved)
			}
			return nil, err
		}
		out.Rows = append(out.Rows, row)
	}
	// Before the inputs are released, as writeRows does: the session
	// decides whether to keep a connection by how the statement ended.
	vc.Succeeded(wire.OK{})
	in.Close(nil)
	out.Reserved = reserved
	return out, nil
}
