package wire

import (
	"encoding/binary"
	"slices"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// Packet header bytes that open OK, EOF and ERR packets (go-mysql's names).
const (
	HeaderOK  = mysql.OK_HEADER
	HeaderEOF = mysql.EOF_HEADER
	HeaderERR = mysql.ERR_HEADER
	// HeaderLocalInfile opens a LOAD DATA LOCAL file request.
	HeaderLocalInfile = mysql.LocalInFile_HEADER
)

// IsEOF tells an EOF packet from a row that happens to start with 0xfe.
func IsEOF(p []byte) bool { return len(p) > 0 && len(p) < 9 && p[0] == HeaderEOF }

// OK is the content of an OK packet.
type OK struct {
	AffectedRows uint64
	InsertID     uint64
	Status       uint16
	Warnings     uint16
	Info         string
}

// AppendOK encodes an OK packet payload.
func AppendOK(b []byte, ok OK) []byte {
	b = append(b, HeaderOK)
	b = mysql.AppendLengthEncodedInteger(b, ok.AffectedRows)
	b = mysql.AppendLengthEncodedInteger(b, ok.InsertID)
	b = binary.LittleEndian.AppendUint16(b, ok.Status)
	b = binary.LittleEndian.AppendUint16(b, ok.Warnings)
	if ok.Info == "" {
		return b
	}
	// A length-encoded string, as MariaDB's net_send_ok writes it and
	// Connector/C reads it (2027 "malformed packet" otherwise), with or
	// without CLIENT_SESSION_TRACK.
	b = mysql.AppendLengthEncodedInteger(b, uint64(len(ok.Info)))
	return append(b, ok.Info...)
}

// ParseOK decodes an OK packet payload (protocol 4.1, no session tracking).
func ParseOK(p []byte) (OK, bool) {
	var ok OK
	if len(p) < 1 || p[0] != HeaderOK {
		return ok, false
	}
	pos := 1
	var n int
	var good bool
	if ok.AffectedRows, n, _, good = LenEncInt(p[pos:]); !good {
		return ok, false
	}
	pos += n
	if ok.InsertID, n, _, good = LenEncInt(p[pos:]); !good {
		return ok, false
	}
	pos += n
	if pos+4 > len(p) {
		return ok, false
	}
	ok.Status = binary.LittleEndian.Uint16(p[pos:])
	ok.Warnings = binary.LittleEndian.Uint16(p[pos+2:])
	rest := p[pos+4:]
	if n, m, _, good := LenEncInt(rest); good && uint64(len(rest)-m) >= n {
		ok.Info = string(rest[m : m+int(n)])
	}
	return ok, true
}

// AppendEOF encodes an EOF packet payload.
func AppendEOF(b []byte, warnings, status uint16) []byte {
	b = append(b, HeaderEOF)
	b = binary.LittleEndian.AppendUint16(b, warnings)
	return binary.LittleEndian.AppendUint16(b, status)
}

// EOFStatus returns the status flags of an EOF packet.
// EOFWarnings is the warning count of an EOF packet.
func EOFWarnings(p []byte) uint16 {
	if len(p) < 3 {
		return 0
	}
	return binary.LittleEndian.Uint16(p[1:])
}

func EOFStatus(p []byte) uint16 {
	if len(p) < 5 {
		return 0
	}
	return binary.LittleEndian.Uint16(p[3:])
}

// Column describes one column of a result the proxy builds itself.
type Column struct {
	Schema, Table, OrgTable, Name, OrgName string
	Charset                                uint16
	Length                                 uint32
	Type                                   byte
	Flags                                  uint16
	Decimals                               byte
}

// AppendColumn encodes a column definition (protocol 4.1).
func AppendColumn(b []byte, c Column) []byte {
	b = mysql.AppendLengthEncodedInteger(b, 3)
	b = append(b, "def"...)
	for _, s := range []string{c.Schema, c.Table, c.OrgTable, c.Name, c.OrgName} {
		b = mysql.AppendLengthEncodedInteger(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = append(b, 0x0c)
	b = binary.LittleEndian.AppendUint16(b, c.Charset)
	b = binary.LittleEndian.AppendUint32(b, c.Length)
	b = append(b, c.Type)
	b = binary.LittleEndian.AppendUint16(b, c.Flags)
	return append(b, c.Decimals, 0, 0)
}

// RenameColumnTables appends to dst the column definition def with its
// table and original table names replaced by their entries in names, the
// rest byte for byte; changed is false (and dst as given) when neither
// has an entry or def is malformed. Nothing is allocated but dst's growth
// (once, to the size needed): a rewritten result's every column passes
// here.
func RenameColumnTables(dst, def []byte, names map[string]string) (out []byte, changed bool) {
	pos := 0
	var at [5]int // where catalog, schema, table, org_table and name start
	var vals [4][]byte
	for i := range at {
		at[i] = pos
		if i == 4 {
			break
		}
		v, n, _, ok := LenEncString(def[pos:])
		if !ok {
			return dst, false
		}
		vals[i] = v
		pos += n
	}
	table, okT := names[string(vals[2])]
	orgTable, okO := names[string(vals[3])]
	if !okT && !okO {
		return dst, false
	}
	if !okT {
		table = string(vals[2])
	}
	if !okO {
		orgTable = string(vals[3])
	}
	dst = slices.Grow(dst, len(def)+len(table)+len(orgTable))
	dst = append(dst, def[:at[2]]...)
	dst = mysql.AppendLengthEncodedInteger(dst, uint64(len(table)))
	dst = append(dst, table...)
	dst = mysql.AppendLengthEncodedInteger(dst, uint64(len(orgTable)))
	dst = append(dst, orgTable...)
	return append(dst, def[at[4]:]...), true
}

// ParseColumn decodes a column definition; it returns false when malformed.
func ParseColumn(p []byte) (Column, bool) {
	var c Column
	pos := 0
	var fields [6]string
	for i := range fields {
		v, n, _, ok := LenEncString(p[pos:])
		if !ok {
			return c, false
		}
		fields[i] = string(v)
		pos += n
	}
	c.Schema, c.Table, c.OrgTable, c.Name, c.OrgName = fields[1], fields[2], fields[3], fields[4], fields[5]
	_, n, _, ok := LenEncInt(p[pos:])
	if !ok {
		return c, false
	}
	pos += n
	if pos+10 > len(p) {
		return c, false
	}
	c.Charset = binary.LittleEndian.Uint16(p[pos:])
	c.Length = binary.LittleEndian.Uint32(p[pos+2:])
	c.Type = p[pos+6]
	c.Flags = binary.LittleEndian.Uint16(p[pos+7:])
	c.Decimals = p[pos+9]
	return c, true
}

// AppendTextValue appends one value of a text-protocol row; nil is SQL NULL.
func AppendTextValue(b []byte, v []byte, null bool) []byte {
	if null {
		return append(b, 0xfb)
	}
	b = mysql.AppendLengthEncodedInteger(b, uint64(len(v)))
	return append(b, v...)
}

// ParseTextRow splits a text-protocol row into n values; nulls[i] marks NULL.
// The values alias p.
func ParseTextRow(p []byte, n int) (values [][]byte, nulls []bool, ok bool) {
	values = make([][]byte, n)
	nulls = make([]bool, n)
	pos := 0
	for i := 0; i < n; i++ {
		if pos >= len(p) {
			return nil, nil, false
		}
		if p[pos] == 0xfb {
			nulls[i] = true
			pos++
			continue
		}
		v, m, _, good := LenEncString(p[pos:])
		if !good {
			return nil, nil, false
		}
		values[i] = v
		pos += m
	}
	return values, nulls, pos == len(p)
}
