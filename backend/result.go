package backend

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/wire"
)

// Result is a small result set read whole, for the proxy's own queries.
type Result struct {
	Columns []wire.Column
	Rows    [][]*string
}

// Query runs a statement and reads its whole result. Use it only for the
// proxy's own small queries; client results are streamed with Stream.
func (c *Conn) Query(sql string) (*Result, wire.OK, error) {
	return c.QueryBounded(sql, nil)
}

// QueryBounded is Query for a result that may be large: grow, when not
// nil, is asked for the memory of every row before it is kept (what
// ResultRowMemory says). When grow fails the result is abandoned
// mid-stream: the error is a *SinkError wrapping grow's, and the
// connection must be dropped.
func (c *Conn) QueryBounded(sql string, grow func(int64) error) (*Result, wire.OK, error) {
	if err := c.Send(mysql.COM_QUERY, []byte(sql)); err != nil {
		return nil, wire.OK{}, err
	}
	var res Result
	ncols := -1
	sink := func(p []byte) error {
		switch {
		case len(p) == 0 || p[0] == wire.HeaderERR:
		case ncols < 0:
			if p[0] == wire.HeaderOK {
				return nil // no result set
			}
			n, _, _, _ := wire.LenEncInt(p)
			ncols = int(n)
			res.Columns = make([]wire.Column, 0, ncols)
		case len(res.Columns) < ncols:
			col, _ := wire.ParseColumn(p)
			res.Columns = append(res.Columns, col)
		case wire.IsEOF(p):
		default:
			vals, nulls, ok := wire.ParseTextRow(p, ncols)
			if !ok {
				return errors.New("malformed row")
			}
			if grow != nil {
				n := ResultRowMemory(vals, nulls)
				if len(res.Rows) == cap(res.Rows) {
					// The array of rows doubles, by hand so that what is
					// reserved is what is allocated; the old array is
					// garbage once copied.
					size := max(16, 2*cap(res.Rows))
					n += memory.Slice(size, rowHeader, true) - memory.Slice(cap(res.Rows), rowHeader, true)
					if err := grow(n); err != nil {
						return err
					}
					res.Rows = append(make([][]*string, 0, size), res.Rows...)
				} else if err := grow(n); err != nil {
					return err
				}
			}
			row := make([]*string, len(vals))
			for i, v := range vals {
				if !nulls[i] {
					s := string(v)
					row[i] = &s
				}
			}
			res.Rows = append(res.Rows, row)
		}
		return nil
	}
	out, err := c.Stream(SinkFunc(sink), nil)
	if err != nil {
		return nil, out.OK, err
	}
	if out.Err != nil {
		return nil, out.OK, out.Err
	}
	return &res, out.OK, nil
}

// rowHeader is the size of one entry of Result.Rows (a slice header).
const rowHeader = int64(unsafe.Sizeof([]*string(nil)))

// ResultRowMemory is what one row of a Result takes in the heap: the
// array of value pointers, and for each value a string and its box.
func ResultRowMemory(vals [][]byte, nulls []bool) int64 {
	n := memory.Slice(len(vals), 8, true)
	for i, v := range vals {
		if !nulls[i] {
			n += memory.Alloc(int64(unsafe.Sizeof("")), true) + memory.Bytes(len(v))
		}
	}
	return n
}

// Exec runs a statement that returns no rows the caller needs.
func (c *Conn) Exec(sql string) (wire.OK, error) {
	_, ok, err := c.Query(sql)
	return ok, err
}

// Sink receives the packets of a result as they arrive.
type Sink interface {
	WritePacket(p []byte) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(p []byte) error

func (f SinkFunc) WritePacket(p []byte) error { return f(p) }

// Outcome is how a forwarded response ended.
type Outcome struct {
	// Status is the server status of the last OK or EOF packet.
	Status uint16
	// OK is the last OK packet, for statements that return one.
	OK wire.OK
	// Err is the server's ERR packet, already forwarded to the sink.
	Err *mysql.MyError
	// Warnings is the warning count of a result read row by row.
	Warnings uint16
}

// SinkError reports that the sink (the client) failed, not the server.
type SinkError struct{ Err error }

func (e *SinkError) Error() string { return "client write failed: " + e.Err.Error() }
func (e *SinkError) Unwrap() error { return e.Err }

// Stream forwards the whole response to the command just sent, packet by
// packet, including every result of a multi-result response. It never holds
// more than one packet. A returned error means the connection is no longer
// usable (a *SinkError when the client side failed).
// columns, when not nil, may rewrite each column definition on its way.
func (c *Conn) Stream(dst Sink, columns func([]byte) []byte) (Outcome, error) {
	var out Outcome
	for {
		more, err := c.streamOne(dst, &out, columns)
		if err != nil || !more {
			return out, err
		}
	}
}

func (c *Conn) streamOne(dst Sink, out *Outcome, columns func([]byte) []byte) (more bool, err error) {
	p, err := c.ReadPacket()
	if err != nil {
		return false, err
	}
	if len(p) == 0 {
		return false, errors.New("empty packet from backend")
	}
	switch p[0] {
	case wire.HeaderOK:
		ok, good := wire.ParseOK(p)
		if !good {
			return false, errors.New("malformed OK packet from backend")
		}
		out.OK, out.Status = ok, ok.Status
		if err := dst.WritePacket(p); err != nil {
			return false, &SinkError{err}
		}
		return ok.Status&mysql.SERVER_MORE_RESULTS_EXISTS != 0, nil
	case wire.HeaderERR:
		out.Err = wire.ParseError(p)
		if err := dst.WritePacket(p); err != nil {
			return false, &SinkError{err}
		}
		return false, nil
	case wire.HeaderLocalInfile:
		return false, errors.New("backend asked for a local file; shardgate does not offer LOCAL INFILE")
	}
	// A result set: column count, column definitions, EOF, rows, EOF or ERR.
	if err := dst.WritePacket(p); err != nil {
		return false, &SinkError{err}
	}
	eofs := 0
	for rows := 0; ; rows++ {
		if rows&127 == 127 {
			c.armReadDeadline()
		}
		p, err := c.ReadPacket()
		if err != nil {
			return false, err
		}
		if eofs == 0 && columns != nil && !wire.IsEOF(p) {
			p = columns(p)
		}
		if err := dst.WritePacket(p); err != nil {
			return false, &SinkError{err}
		}
		switch {
		case len(p) > 0 && p[0] == wire.HeaderERR:
			out.Err = wire.ParseError(p)
			return false, nil
		case wire.IsEOF(p):
			eofs++
			if eofs == 2 {
				out.Status = wire.EOFStatus(p)
				return out.Status&mysql.SERVER_MORE_RESULTS_EXISTS != 0, nil
			}
		}
	}
}

// ReadHeader reads the start of a result set: the column definitions (copied)
// up to their EOF. A server error comes back as *mysql.MyError with the
// connection still usable.
func (c *Conn) ReadHeader() ([][]byte, error) {
	p, err := c.ReadPacket()
	if err != nil {
		return nil, err
	}
	switch {
	case len(p) == 0:
		return nil, errors.New("empty packet from backend")
	case p[0] == wire.HeaderERR:
		return nil, wire.ParseError(p)
	case p[0] == wire.HeaderOK:
		return nil, errors.New("statement returned no result set")
	}
	n, _, _, ok := wire.LenEncInt(p)
	if !ok {
		return nil, errors.New("malformed column count")
	}
	cols := make([][]byte, 0, n)
	for {
		p, err := c.ReadPacket()
		if err != nil {
			return nil, err
		}
		if wire.IsEOF(p) {
			if uint64(len(cols)) != n {
				return nil, fmt.Errorf("got %d column definitions, want %d", len(cols), n)
			}
			return cols, nil
		}
		cols = append(cols, append([]byte(nil), p...))
	}
}

// ReadRow reads the next row of a result set after ReadHeader. At the end it
// returns eof with the final status; a server error mid-result comes back as
// *mysql.MyError. The row is only valid until the next read.
func (c *Conn) ReadRow() (row []byte, eof bool, status uint16, err error) {
	if c.rowsRead++; c.rowsRead&127 == 0 {
		c.armReadDeadline()
	}
	p, err := c.ReadPacket()
	if err != nil {
		return nil, false, 0, err
	}
	switch {
	case len(p) > 0 && p[0] == wire.HeaderERR:
		return nil, false, 0, wire.ParseError(p)
	case wire.IsEOF(p):
		c.warnings = wire.EOFWarnings(p)
		return nil, true, wire.EOFStatus(p), nil
	}
	return p, false, 0, nil
}

// Warnings is the warning count the last result read with ReadRow ended
// with.
func (c *Conn) Warnings() uint16 { return c.warnings }

// Prepare asks the server for the parameter and result column definitions
// of sql (COM_STMT_PREPARE) in the connection's current database, and closes
// the server's statement at once (COM_STMT_CLOSE, which has no answer):
// backends hold no prepared statements for clients. The definitions are
// copies, in the server's encoding, ready to forward. A server error comes
// back as *mysql.MyError with the connection still usable; any other error
// means the connection must be discarded.
func (c *Conn) Prepare(sql string) (params, columns [][]byte, err error) {
	if err := c.Send(mysql.COM_STMT_PREPARE, []byte(sql)); err != nil {
		return nil, nil, err
	}
	first, err := c.ReadPacket()
	if err != nil {
		return nil, nil, err
	}
	if len(first) > 0 && first[0] == wire.HeaderERR {
		return nil, nil, wire.ParseError(first)
	}
	// OK: status 0, statement id (4), columns (2), parameters (2),
	// reserved (1), warnings (2).
	if len(first) < 12 || first[0] != wire.HeaderOK {
		return nil, nil, errors.New("malformed prepare response")
	}
	id := binary.LittleEndian.Uint32(first[1:]) // first is overwritten by the next reads
	ncols := int(binary.LittleEndian.Uint16(first[5:]))
	nparams := int(binary.LittleEndian.Uint16(first[7:]))
	if params, err = c.readDefinitions(nparams); err != nil {
		return nil, nil, err
	}
	if columns, err = c.readDefinitions(ncols); err != nil {
		return nil, nil, err
	}
	if err := c.Send(mysql.COM_STMT_CLOSE, binary.LittleEndian.AppendUint32(nil, id)); err != nil {
		return nil, nil, err
	}
	return params, columns, nil
}

// readDefinitions reads n column or parameter definitions and the EOF after
// them (none at all when n is 0).
func (c *Conn) readDefinitions(n int) ([][]byte, error) {
	if n == 0 {
		return nil, nil
	}
	defs := make([][]byte, 0, n)
	for {
		p, err := c.ReadPacket()
		if err != nil {
			return nil, err
		}
		switch {
		case wire.IsEOF(p):
			if len(defs) != n {
				return nil, fmt.Errorf("prepare response has %d definitions, announced %d", len(defs), n)
			}
			return defs, nil
		case len(p) > 0 && p[0] == wire.HeaderERR:
			// Not a *mysql.MyError: the server's statement may be left
			// open, so the connection is not to be reused.
			return nil, fmt.Errorf("error inside a prepare response: %v", wire.ParseError(p))
		case len(defs) == n:
			return nil, fmt.Errorf("prepare response has more definitions than the %d announced", n)
		}
		defs = append(defs, append([]byte(nil), p...))
	}
}
