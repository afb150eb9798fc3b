package protocol

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// binaryWriter turns the text-protocol results a statement produces into
// the binary protocol COM_STMT_EXECUTE answers with: column definitions and
// OK/ERR/EOF packets pass through, each row is re-encoded by column type.
type binaryWriter struct {
	out   *wire.Conn
	state int // what the next packet is
	cols  []wire.Column
	want  int
	buf   []byte
}

const (
	bwFirst = iota
	bwColumns
	bwRows
)

func newBinaryWriter(out *wire.Conn) *binaryWriter { return &binaryWriter{out: out} }

func (b *binaryWriter) Flush() error { return b.out.Flush() }

// ReadPacket reads from the client: a prepared LOAD DATA LOCAL reads its
// file at EXECUTE, as on MariaDB.
func (b *binaryWriter) ReadPacket() ([]byte, error) { return b.out.ReadPacket() }

func (b *binaryWriter) WritePacket(p []byte) error {
	switch b.state {
	case bwFirst:
		if len(p) > 0 && (p[0] == wire.HeaderOK || p[0] == wire.HeaderERR || p[0] == wire.HeaderLocalInfile) {
			return b.out.WritePacket(p)
		}
		n, _, _, ok := wire.LenEncInt(p)
		if !ok {
			return errors.New("malformed column count")
		}
		b.want, b.cols, b.state = int(n), b.cols[:0], bwColumns
		return b.out.WritePacket(p)
	case bwColumns:
		if wire.IsEOF(p) {
			b.state = bwRows
			return b.out.WritePacket(p)
		}
		c, _ := wire.ParseColumn(p)
		b.cols = append(b.cols, c)
		return b.out.WritePacket(p)
	}
	switch {
	case len(p) > 0 && p[0] == wire.HeaderERR:
		b.state = bwFirst
		return b.out.WritePacket(p)
	case wire.IsEOF(p):
		b.state = bwFirst // a further result may follow
		return b.out.WritePacket(p)
	}
	row, err := b.encodeRow(p)
	if err != nil {
		return err
	}
	return b.out.WritePacket(row)
}

// encodeRow converts one text row into a binary row.
func (b *binaryWriter) encodeRow(p []byte) ([]byte, error) {
	vals, nulls, ok := wire.ParseTextRow(p, len(b.cols))
	if !ok {
		return nil, errors.New("malformed text row")
	}
	bitmap := (len(b.cols) + 7 + 2) / 8
	out := append(b.buf[:0], 0)
	start := len(out)
	out = append(out, make([]byte, bitmap)...)
	for i, c := range b.cols {
		if nulls[i] {
			out[start+(i+2)/8] |= 1 << ((i + 2) % 8)
			continue
		}
		out = appendBinaryValue(out, c, vals[i])
	}
	b.buf = out
	return out, nil
}

func appendBinaryValue(out []byte, c wire.Column, v []byte) []byte {
	unsigned := c.Flags&mysql.UNSIGNED_FLAG != 0
	intOf := func() uint64 {
		if unsigned {
			u, _ := strconv.ParseUint(string(v), 10, 64)
			return u
		}
		i, _ := strconv.ParseInt(string(v), 10, 64)
		return uint64(i)
	}
	switch c.Type {
	case mysql.MYSQL_TYPE_TINY:
		return append(out, byte(intOf()))
	case mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_YEAR:
		return binary.LittleEndian.AppendUint16(out, uint16(intOf()))
	case mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_INT24:
		return binary.LittleEndian.AppendUint32(out, uint32(intOf()))
	case mysql.MYSQL_TYPE_LONGLONG:
		return binary.LittleEndian.AppendUint64(out, intOf())
	case mysql.MYSQL_TYPE_FLOAT:
		f, _ := strconv.ParseFloat(string(v), 32)
		return binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(f)))
	case mysql.MYSQL_TYPE_DOUBLE:
		f, _ := strconv.ParseFloat(string(v), 64)
		return binary.LittleEndian.AppendUint64(out, math.Float64bits(f))
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_TIMESTAMP, mysql.MYSQL_TYPE_NEWDATE,
		mysql.MYSQL_TYPE_DATETIME2, mysql.MYSQL_TYPE_TIMESTAMP2:
		return appendBinaryDatetime(out, string(v))
	case mysql.MYSQL_TYPE_TIME, mysql.MYSQL_TYPE_TIME2:
		return appendBinaryTime(out, string(v))
	}
	out = mysql.AppendLengthEncodedInteger(out, uint64(len(v)))
	return append(out, v...)
}

// appendBinaryDatetime encodes 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]'.
func appendBinaryDatetime(out []byte, s string) []byte {
	num := func(t string) int { n, _ := strconv.Atoi(t); return n }
	date, clock, _ := strings.Cut(s, " ")
	dp := strings.Split(date, "-")
	if len(dp) != 3 {
		return append(out, 0)
	}
	y, mo, d := num(dp[0]), num(dp[1]), num(dp[2])
	var h, mi, sec, us int
	if clock != "" {
		hms, frac, _ := strings.Cut(clock, ".")
		tp := strings.Split(hms, ":")
		if len(tp) == 3 {
			h, mi, sec = num(tp[0]), num(tp[1]), num(tp[2])
		}
		if frac != "" {
			us = num((frac + "000000")[:6])
		}
	}
	switch {
	case us != 0:
		out = append(out, 11)
	case h != 0 || mi != 0 || sec != 0:
		out = append(out, 7)
	case y != 0 || mo != 0 || d != 0:
		out = append(out, 4)
	default:
		return append(out, 0)
	}
	out = binary.LittleEndian.AppendUint16(out, uint16(y))
	out = append(out, byte(mo), byte(d))
	if out[len(out)-5] == 4 {
		return out
	}
	out = append(out, byte(h), byte(mi), byte(sec))
	if us != 0 {
		out = binary.LittleEndian.AppendUint32(out, uint32(us))
	}
	return out
}

// appendBinaryTime encodes '[-]HHH:MM:SS[.ffffff]'.
func appendBinaryTime(out []byte, s string) []byte {
	num := func(t string) int { n, _ := strconv.Atoi(t); return n }
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	hms, frac, _ := strings.Cut(s, ".")
	tp := strings.Split(hms, ":")
	if len(tp) != 3 {
		return append(out, 0)
	}
	h, mi, sec := num(tp[0]), num(tp[1]), num(tp[2])
	us := 0
	if frac != "" {
		us = num((frac + "000000")[:6])
	}
	if h == 0 && mi == 0 && sec == 0 && us == 0 {
		return append(out, 0)
	}
	length := byte(8)
	if us != 0 {
		length = 12
	}
	sign := byte(0)
	if neg {
		sign = 1
	}
	out = append(out, length, sign)
	out = binary.LittleEndian.AppendUint32(out, uint32(h/24))
	out = append(out, byte(h%24), byte(mi), byte(sec))
	if us != 0 {
		out = binary.LittleEndian.AppendUint32(out, uint32(us))
	}
	return out
}
