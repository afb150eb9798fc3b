package parser

import (
	"bufio"
	"errors"
	"io"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// LoadFormat is how LOAD DATA reads its file: the statement's FIELDS and
// LINES options with MariaDB's defaults.
type LoadFormat struct {
	FieldTerm   string // TERMINATED BY, default "\t"
	Enclosed    int    // ENCLOSED BY's byte, -1 when none
	OptEnclosed bool   // OPTIONALLY (reading treats both alike)
	Escape      int    // ESCAPED BY's byte, -1 when none; default '\\'
	LineStart   string // LINES STARTING BY, default ""
	LineTerm    string // LINES TERMINATED BY, default "\n"
	IgnoreLines uint64
	// Charset is the file's character set (CHARACTER SET clause), "" when
	// the statement has none. Multibyte characters of sjis, cp932, gbk
	// and big5 may hold bytes equal to a terminator or escape: they are
	// read whole.
	Charset string
}

// LoadFormatOf reads a LOAD DATA statement's options. MariaDB's defaults
// apply to what the statement leaves out.
func LoadFormatOf(n *ast.LoadDataStmt) (LoadFormat, error) {
	f := LoadFormat{FieldTerm: "\t", Enclosed: -1, Escape: '\\', LineTerm: "\n"}
	if fi := n.FieldsInfo; fi != nil {
		if fi.Terminated != nil {
			f.FieldTerm = *fi.Terminated
		}
		if fi.Enclosed != nil && *fi.Enclosed != "" {
			f.Enclosed = int((*fi.Enclosed)[0])
		}
		f.OptEnclosed = fi.OptEnclosed
		if fi.Escaped != nil {
			if *fi.Escaped == "" {
				f.Escape = -1
			} else {
				f.Escape = int((*fi.Escaped)[0])
			}
		}
		if fi.DefinedNullBy != nil {
			return f, errors.New("FIELDS DEFINED NULL BY is not MariaDB syntax")
		}
	}
	if li := n.LinesInfo; li != nil {
		if li.Starting != nil {
			f.LineStart = *li.Starting
		}
		if li.Terminated != nil {
			f.LineTerm = *li.Terminated
		}
	}
	if n.IgnoreLines != nil {
		f.IgnoreLines = *n.IgnoreLines
	}
	if n.Charset != nil {
		f.Charset = strings.ToLower(*n.Charset)
	}
	if f.FieldTerm == "" && f.Enclosed < 0 {
		return f, errors.New("fixed-width rows (FIELDS TERMINATED BY '' with no ENCLOSED BY) are not supported by shardgate")
	}
	if f.LineTerm == "" {
		// MariaDB then ends lines with the field terminator.
		f.LineTerm = f.FieldTerm
	}
	return f, nil
}

// LoadRow is one line of a LOAD DATA file: its fields (nil at Null[i]
// for NULL), and what MariaDB warns about: Cut when the line held more
// than it read (1262), which the caller decides by the column count.
type LoadRow struct {
	Fields [][]byte
	Null   []bool
	// Cut: characters followed the last field read (only with maxFields).
	Cut bool
}

// LoadReader reads a LOAD DATA file row by row, as MariaDB's READ_INFO
// does, holding at most one row (and a small read buffer).
type LoadReader struct {
	f       LoadFormat
	r       *bufio.Reader
	pushed  []byte // bytes given back, read again first (last = next)
	eof     bool
	eol     bool // the current line's terminator was read
	started bool
	// maxRow bounds one row's bytes: a file with no line terminator
	// cannot make the reader hold it whole.
	maxRow int
	size   int
	mb     func(b byte) bool // lead byte of a two-byte character
	// err is the first failure of the underlying reader (not io.EOF): a
	// file that stops because its source failed is not a shorter file.
	err error
}

// ErrRowTooLong: a row is longer than the reader's bound.
var ErrRowTooLong = errors.New("a row of the file is longer than the proxy's limit for one row")

// NewLoadReader reads rows of format f from r; no row may exceed maxRow
// bytes (0: no bound).
func NewLoadReader(r io.Reader, f LoadFormat, maxRow int) *LoadReader {
	lr := &LoadReader{f: f, r: bufio.NewReaderSize(r, 64<<10), maxRow: maxRow}
	switch f.Charset {
	case "sjis", "cp932":
		lr.mb = func(b byte) bool { return (b >= 0x81 && b <= 0x9f) || (b >= 0xe0 && b <= 0xfc) }
	case "gbk", "big5":
		lr.mb = func(b byte) bool { return b >= 0x81 && b <= 0xfe }
	}
	return lr
}

const eofByte = -1

func (lr *LoadReader) get() int {
	if n := len(lr.pushed); n > 0 {
		c := lr.pushed[n-1]
		lr.pushed = lr.pushed[:n-1]
		return int(c)
	}
	c, err := lr.r.ReadByte()
	if err != nil {
		if err != io.EOF && lr.err == nil {
			lr.err = err
		}
		return eofByte
	}
	return int(c)
}

func (lr *LoadReader) push(c int) {
	if c != eofByte {
		lr.pushed = append(lr.pushed, byte(c))
	}
}

// terminator reports whether the bytes after c (which equals term[0])
// complete term; if not, they are given back.
func (lr *LoadReader) terminator(term string) bool {
	for i := 1; i < len(term); i++ {
		c := lr.get()
		if c != int(term[i]) {
			lr.push(c)
			for j := i - 1; j >= 1; j-- {
				lr.push(int(term[j]))
			}
			return false
		}
	}
	return true
}

// skipIgnored skips IGNORE n LINES, as MariaDB's next_line does (an
// escaped line terminator is data).
func (lr *LoadReader) skipIgnored() error {
	for ; lr.f.IgnoreLines > 0; lr.f.IgnoreLines-- {
		if !lr.nextLine() {
			return nil
		}
	}
	return nil
}

// nextLineCut skips the rest of the current line; more is false at the
// end of the file, cut reports whether anything was skipped.
func (lr *LoadReader) nextLineCut() (more, cut bool) {
	if lr.eol {
		lr.eol = false
		return true, false
	}
	for {
		c := lr.get()
		switch {
		case c == eofByte:
			lr.eof = true
			return false, cut
		case c == lr.f.Escape:
			cut = true
			if lr.get() == eofByte {
				lr.eof = true
				return false, cut
			}
			continue
		case c == int(lr.f.LineTerm[0]) && lr.terminator(lr.f.LineTerm):
			return true, cut
		}
		cut = true
	}
}

// nextLine skips the rest of the current line; false at the end of the
// file.
func (lr *LoadReader) nextLine() bool {
	more, _ := lr.nextLineCut()
	return more
}

// findStart skips to just after the next LINES STARTING BY prefix
// (across lines, as MariaDB does); false at the end of the file.
func (lr *LoadReader) findStart() bool {
	p := lr.f.LineStart
	for {
		c := lr.get()
		if c == eofByte {
			lr.eof = true
			return false
		}
		if c != int(p[0]) {
			continue
		}
		if lr.terminator(p) {
			return true
		}
	}
}

// Next reads the next row, at most maxFields fields of it (0: all); the
// rest of the line is skipped (Cut). It returns io.EOF after the last.
func (lr *LoadReader) Next(maxFields int) (*LoadRow, error) {
	if !lr.started {
		lr.started = true
		if err := lr.skipIgnored(); err != nil {
			return nil, err
		}
	}
	if lr.err != nil {
		return nil, lr.err
	}
	if lr.eof {
		return nil, io.EOF
	}
	if lr.f.LineStart != "" && !lr.findStart() {
		if lr.err != nil {
			return nil, lr.err
		}
		return nil, io.EOF
	}
	lr.size = 0
	row, err := lr.row(maxFields)
	if lr.err != nil {
		return nil, lr.err
	}
	return row, err
}

func (lr *LoadReader) row(maxFields int) (*LoadRow, error) {
	row := &LoadRow{}
	for maxFields <= 0 || len(row.Fields) < maxFields {
		v, null, ok, err := lr.field()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		row.Fields = append(row.Fields, v)
		row.Null = append(row.Null, null)
		if lr.eol || lr.eof {
			break
		}
	}
	if len(row.Fields) == 0 {
		return nil, io.EOF
	}
	if !lr.eol && !lr.eof {
		_, row.Cut = lr.nextLineCut()
	}
	lr.eol = false
	return row, nil
}

func (lr *LoadReader) grow(n int) error {
	lr.size += n
	if lr.maxRow > 0 && lr.size > lr.maxRow {
		return ErrRowTooLong
	}
	return nil
}

func unescape(c byte) (byte, bool) {
	switch c {
	case 'n':
		return '\n', false
	case 't':
		return '\t', false
	case 'r':
		return '\r', false
	case 'b':
		return '\b', false
	case '0':
		return 0, false
	case 'Z':
		return 0x1a, false
	case 'N':
		return 'N', true
	}
	return c, false
}

// field reads one field as MariaDB's READ_INFO::read_field does. ok is
// false when the line (or file) ended before a field started.
func (lr *LoadReader) field() (v []byte, null, ok bool, err error) {
	if lr.eof {
		return nil, false, false, nil
	}
	f := lr.f
	c := lr.get()
	if c == eofByte {
		lr.eof = true
		return nil, false, false, nil
	}
	enclosed := -2 // never equal to a byte or eofByte
	if f.Enclosed >= 0 && c == f.Enclosed {
		enclosed = f.Enclosed
	} else {
		lr.push(c)
	}
	var out []byte
	foundNull := false
	lineTerm, fieldTerm := int(f.LineTerm[0]), -2
	if f.FieldTerm != "" {
		fieldTerm = int(f.FieldTerm[0])
	}
	for {
		c := lr.get()
		if c == eofByte {
			lr.eof = true
			if enclosed >= 0 {
				// An enclosure that never closed is text, as the server
				// keeps it.
				out = append([]byte{byte(enclosed)}, out...)
			}
			break
		}
		if err := lr.grow(1); err != nil {
			return nil, false, false, err
		}
		if c == f.Escape {
			d := lr.get()
			if d == eofByte {
				out = append(out, byte(c))
				lr.eof = true
				break
			}
			// With the escape equal to the enclosure, it only doubles
			// itself, as quotes in SQL do.
			if f.Escape != f.Enclosed || d == f.Escape {
				b, n := unescape(byte(d))
				foundNull = foundNull || n
				out = append(out, b)
				continue
			}
			lr.push(d)
			c = f.Escape
		}
		if enclosed < 0 && c == lineTerm && lr.terminator(f.LineTerm) {
			lr.eol = true
			break
		}
		if c == enclosed {
			d := lr.get()
			if d == enclosed {
				out = append(out, byte(d))
				continue
			}
			if d == eofByte {
				lr.eof = true
				break
			}
			if d == lineTerm && lr.terminator(f.LineTerm) {
				lr.eol = true
				break
			}
			if d == fieldTerm && lr.terminator(f.FieldTerm) {
				return out, len(out) == 1 && foundNull, true, nil
			}
			// Not the end: the enclosure is text.
			lr.push(d)
		} else if enclosed < 0 && c == fieldTerm && lr.terminator(f.FieldTerm) {
			return out, lr.isNull(out, foundNull, false), true, nil
		}
		if lr.mb != nil && lr.mb(byte(c)) {
			d := lr.get()
			if d == eofByte {
				out = append(out, byte(c))
				continue
			}
			out = append(out, byte(c), byte(d))
			continue
		}
		out = append(out, byte(c))
	}
	return out, lr.isNull(out, foundNull, enclosed >= 0), true, nil
}

// isNull: \N alone, or (with ENCLOSED BY set) the unenclosed word NULL.
func (lr *LoadReader) isNull(v []byte, foundNull, enclosed bool) bool {
	if len(v) == 1 && foundNull {
		return true
	}
	return !enclosed && lr.f.Enclosed >= 0 && string(v) == "NULL"
}

// LiteralIn renders v, bytes in character set cs, as a string constant
// that a session in mode m reads back as exactly those characters: the
// session's own quoting when cs is its character set (or v is ASCII),
// else a hex literal with cs's introducer.
func LiteralIn(v []byte, cs string, m TextMode) string {
	cs = strings.ToLower(cs)
	if cs == "utf8" {
		cs = "utf8mb3"
	}
	if cs == "" || cs == m.charset() || (isASCII(v) && charsetInfo(m.charset()).kind != kindWide) {
		return StringLiteral(v, m)
	}
	if !isCharsetName(cs) {
		return BytesLiteral(v)
	}
	return hexLiteral(v, cs, charsetInfo(cs))
}
