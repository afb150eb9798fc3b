package engine

import (
	"errors"
	"unsafe"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/wire"
)

// Row is one text-protocol row. Rows from a backend arrive as packets and
// are split into values only when a primitive needs them.
type Row struct {
	Vals  [][]byte
	Nulls []bool
	// Src is the input the row came from: rows equal on every sort key
	// keep input order.
	Src int
	// raw is the packet the row came in; values split from it alias it.
	raw []byte
}

// NewRow makes a row from values (nil values are NULL).
func NewRow(vals ...[]byte) *Row {
	r := &Row{Vals: vals, Nulls: make([]bool, len(vals))}
	for i, v := range vals {
		r.Nulls[i] = v == nil
	}
	return r
}

// textRow makes a row from values read as text (nil: NULL).
func textRow(vals []*string) *Row {
	row := &Row{Vals: make([][]byte, len(vals)), Nulls: make([]bool, len(vals))}
	for i, v := range vals {
		if v == nil {
			row.Nulls[i] = true
		} else {
			row.Vals[i] = []byte(*v)
		}
	}
	return row
}

// rawRow wraps a packet (copied: the connection reuses its buffer).
func rawRow(p []byte, src int) *Row {
	return &Row{raw: append([]byte(nil), p...), Src: src}
}

// Memory is what the row keeps alive in the heap, as the allocator counts
// it: the Row itself, its packet, the arrays of values and NULL flags,
// and every value that is not a part of the packet. A buffer holding rows
// reserves this much per row (TestRowMemoryMatchesHeap checks it against
// the heap's growth).
func (r *Row) Memory() int64 {
	n := memory.Alloc(int64(unsafe.Sizeof(Row{})), true)
	n += memory.Slice(cap(r.Vals), int64(unsafe.Sizeof([]byte(nil))), true)
	n += memory.Bytes(cap(r.Nulls))
	n += memory.Bytes(cap(r.raw))
	for _, v := range r.Vals {
		if cap(v) > 0 && !within(v, r.raw) {
			n += memory.Bytes(cap(v))
		}
	}
	return n
}

// within reports whether v lies in buf's backing array (a value split
// from the packet, which costs nothing of its own).
func within(v, buf []byte) bool {
	if cap(v) == 0 || cap(buf) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return p >= base && p < base+uintptr(cap(buf))
}

// values splits the packet into n values, once: a row already split (or
// built from values) keeps its own.
func (r *Row) values(n int) error {
	if r.Vals != nil || r.raw == nil {
		if len(r.Vals) != n {
			return errors.New("row has the wrong number of values")
		}
		return nil
	}
	vals, nulls, ok := wire.ParseTextRow(r.raw, n)
	if !ok {
		return errors.New("malformed row from a backend")
	}
	r.Vals, r.Nulls = vals, nulls
	return nil
}

// packet encodes the first n values (the whole packet when unchanged).
func (r *Row) packet(buf []byte, n int) []byte {
	if r.Vals == nil && r.raw != nil {
		return r.raw
	}
	buf = buf[:0]
	for i := 0; i < n; i++ {
		buf = wire.AppendTextValue(buf, r.Vals[i], r.Nulls[i])
	}
	return buf
}

// Rows is an open result set.
type Rows interface {
	// Header is the column definition packets.
	Header() ([][]byte, error)
	// Next returns the next row, nil at the end.
	Next() (*Row, error)
	// Close releases the inputs. With err (the statement failed, or the
	// reader stopped early because of a failure) they are abandoned.
	Close(err error)
}

// columnsOf parses column definitions.
func columnsOf(header [][]byte) ([]wire.Column, error) {
	cols := make([]wire.Column, len(header))
	for i, def := range header {
		c, ok := wire.ParseColumn(def)
		if !ok {
			return nil, errors.New("malformed column definition from a backend")
		}
		cols[i] = c
	}
	return cols, nil
}

// writeRows is the root execution of every row source: header, rows, the
// final EOF with the session's status.
func writeRows(vc Cursor, w ResultWriter, src RowSource) error {
	rows, err := src.Open(vc)
	if err != nil {
		return err
	}
	if err := copyRows(rows, w); err != nil {
		rows.Close(err)
		return err
	}
	// Before the inputs are released: the session decides whether to keep
	// a connection by what the statement leaves in it.
	vc.Succeeded(wire.OK{})
	rows.Close(nil)
	if err := w.WritePacket(wire.AppendEOF(nil, vc.WarningCount(), vc.Status())); err != nil {
		return clientGone(err)
	}
	return w.Flush()
}

// copyRows writes the header and every row of rows.
func copyRows(rows Rows, w ResultWriter) error {
	header, err := rows.Header()
	if err != nil {
		return shardError(err)
	}
	if err := writeHeader(w, header); err != nil {
		return err
	}
	n := len(header)
	var buf []byte
	for {
		r, err := rows.Next()
		if err != nil {
			return shardError(err)
		}
		if r == nil {
			return nil
		}
		p := r.packet(buf, n)
		if err := w.WritePacket(p); err != nil {
			return clientGone(err)
		}
		if r.raw == nil || r.Vals != nil {
			buf = p[:0]
		}
	}
}

// writeHeader writes column definitions. Their EOF's status flags are
// informational; the final EOF carries the session's.
func writeHeader(w ResultWriter, cols [][]byte) error {
	if err := w.WritePacket(mysql.AppendLengthEncodedInteger(nil, uint64(len(cols)))); err != nil {
		return clientGone(err)
	}
	for _, c := range cols {
		if err := w.WritePacket(c); err != nil {
			return clientGone(err)
		}
	}
	if err := w.WritePacket(wire.AppendEOF(nil, 0, mysql.SERVER_STATUS_AUTOCOMMIT)); err != nil {
		return clientGone(err)
	}
	return nil
}

// WriteTable writes a result the proxy built itself; a nil value is NULL.
func WriteTable(w ResultWriter, cols []wire.Column, rows [][][]byte, status uint16) error {
	header := make([][]byte, len(cols))
	for i, c := range cols {
		header[i] = wire.AppendColumn(nil, c)
	}
	if err := w.WritePacket(mysql.AppendLengthEncodedInteger(nil, uint64(len(cols)))); err != nil {
		return clientGone(err)
	}
	for _, c := range header {
		if err := w.WritePacket(c); err != nil {
			return clientGone(err)
		}
	}
	if err := w.WritePacket(wire.AppendEOF(nil, 0, status)); err != nil {
		return clientGone(err)
	}
	var buf []byte
	for _, row := range rows {
		buf = buf[:0]
		for _, v := range row {
			buf = wire.AppendTextValue(buf, v, v == nil)
		}
		if err := w.WritePacket(buf); err != nil {
			return clientGone(err)
		}
	}
	if err := w.WritePacket(wire.AppendEOF(nil, 0, status)); err != nil {
		return clientGone(err)
	}
	return w.Flush()
}

// input is an opened row source with its column definitions.
type input struct {
	Rows
	header [][]byte
	cols   []wire.Column
}

// openInput opens src and reads its column definitions; on failure
// nothing stays open.
func openInput(vc Cursor, src RowSource) (*input, error) {
	rows, err := src.Open(vc)
	if err != nil {
		return nil, err
	}
	header, err := rows.Header()
	var cols []wire.Column
	if err == nil {
		cols, err = columnsOf(header)
	}
	if err != nil {
		rows.Close(err)
		return nil, err
	}
	return &input{Rows: rows, header: header, cols: cols}, nil
}

// env describes the input's columns for evaluating expressions, hidden
// being the number of helper columns at the end.
func (in *input) env(hidden int) *evalEnv {
	return &evalEnv{kinds: kindsOf(in.cols), base: len(in.cols) - hidden}
}

// routePrimitives lists routes as primitives, for Inputs.
func routePrimitives(routes []*Route) []Primitive {
	out := make([]Primitive, len(routes))
	for i, r := range routes {
		out[i] = r
	}
	return out
}

// each reads the input to its end, split into values, calling fn for every
// row, and closes it (abandoning it when a read or fn fails).
func (in *input) each(fn func(r *Row) error) error {
	for {
		r, err := in.Next()
		if err == nil && r == nil {
			in.Close(nil)
			return nil
		}
		if err == nil {
			err = r.values(len(in.cols))
		}
		if err == nil {
			err = fn(r)
		}
		if err != nil {
			in.Close(err)
			return err
		}
	}
}
