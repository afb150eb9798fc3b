package router

import "github.com/go-mysql-org/go-mysql/mysql"

// rowCounter passes a command's answer to the client and counts, for the
// slow log, the rows of its result sets and the rows its OK packets say
// were affected. It reads only packet headers: a result's column count,
// its column definitions, then rows until the terminating EOF/OK packet
// (0xFE, shorter than 9 bytes; a row starting with 0xFE is at least 9).
// With CLIENT_DEPRECATE_EOF an empty result's terminator is taken for the
// column definitions' EOF: its count, 0, is right either way.
type rowCounter struct {
	w ResultWriter
	// state: 0 before a result's header, 1 in its column definitions, 2
	// in its rows.
	state  int
	cols   uint64
	colEOF bool
	// here counts the current result's rows.
	here     uint64
	rows     uint64
	affected uint64
}

func (c *rowCounter) WritePacket(p []byte) error {
	if len(p) > 0 {
		switch c.state {
		case 0:
			switch p[0] {
			case mysql.OK_HEADER:
				n, _, _ := mysql.LengthEncodedInt(p[1:])
				c.affected += n
			case mysql.ERR_HEADER, mysql.LocalInFile_HEADER:
			default:
				c.cols, _, _ = mysql.LengthEncodedInt(p)
				c.state, c.colEOF, c.here = 1, false, 0
				if c.cols == 0 {
					c.state = 2
				}
			}
		case 1:
			if c.cols--; c.cols == 0 {
				c.state = 2
			}
		case 2:
			switch {
			case p[0] == mysql.EOF_HEADER && len(p) < 9 && c.here == 0 && !c.colEOF:
				c.colEOF = true
			case p[0] == mysql.EOF_HEADER && len(p) < 9, p[0] == mysql.ERR_HEADER:
				c.state = 0
			default:
				c.rows++
				c.here++
			}
		}
	}
	return c.w.WritePacket(p)
}

func (c *rowCounter) Flush() error { return c.w.Flush() }

// countRows wraps w in a rowCounter that keeps what the client side can do
// beyond writing (reading a LOAD DATA LOCAL file).
func countRows(w ResultWriter) (ResultWriter, *rowCounter) {
	return new(command).countRows(w)
}

// countRows is countRows with the counter in c, reset.
func (c *command) countRows(w ResultWriter) (ResultWriter, *rowCounter) {
	c.rc = rowCounter{w: w}
	if fc, ok := w.(fileClient); ok {
		c.frc = fileRowCounter{&c.rc, fc}
		return &c.frc, &c.rc
	}
	return &c.rc, &c.rc
}

type fileRowCounter struct {
	*rowCounter
	fc fileClient
}

func (f fileRowCounter) ReadPacket() ([]byte, error) { return f.fc.ReadPacket() }
