package protocol

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/wire"
)

func TestDecodeParam(t *testing.T) {
	le64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	cases := []struct {
		name string
		typ  uint16
		data []byte
		want string
	}{
		{"tiny", uint16(mysql.MYSQL_TYPE_TINY), []byte{0xff}, "-1"},
		{"tiny unsigned", uint16(mysql.MYSQL_TYPE_TINY) | 0x8000, []byte{0xff}, "255"},
		{"short", uint16(mysql.MYSQL_TYPE_SHORT), []byte{0xfe, 0xff}, "-2"},
		{"long", uint16(mysql.MYSQL_TYPE_LONG), []byte{1, 0, 0, 0}, "1"},
		{"longlong unsigned", uint16(mysql.MYSQL_TYPE_LONGLONG) | 0x8000, le64(math.MaxUint64), "18446744073709551615"},
		{"double", uint16(mysql.MYSQL_TYPE_DOUBLE), le64(math.Float64bits(3.25)), "3.25e0"},
		{"string", uint16(mysql.MYSQL_TYPE_VAR_STRING), append([]byte{6}, "it's\\x"...), `'it''s\\x'`},
		{"binary", uint16(mysql.MYSQL_TYPE_BLOB), []byte{2, 0xff, 0x00}, "X'ff00'"},
		{"decimal", uint16(mysql.MYSQL_TYPE_NEWDECIMAL), append([]byte{6}, "-12.50"...), "-12.50"},
		{"datetime", uint16(mysql.MYSQL_TYPE_DATETIME), []byte{11, 0xea, 0x07, 11, 24, 10, 59, 59, 0x40, 0xe2, 0x01, 0}, "'2026-11-24 10:59:59.123456'"},
		{"date", uint16(mysql.MYSQL_TYPE_DATE), []byte{4, 0xea, 0x07, 11, 24}, "'2026-11-24'"},
		{"time", uint16(mysql.MYSQL_TYPE_TIME), []byte{8, 1, 1, 0, 0, 0, 1, 30, 1}, "'-25:30:01'"},
		{"time with microseconds", uint16(mysql.MYSQL_TYPE_TIME), []byte{12, 0, 0, 0, 0, 0, 2, 3, 4, 5, 0, 0, 0}, "'02:03:04.000005'"},
		{"datetime without time", uint16(mysql.MYSQL_TYPE_DATETIME), []byte{4, 0xea, 0x07, 11, 24}, "'2026-11-24 00:00:00'"},
		{"date sent with a time", uint16(mysql.MYSQL_TYPE_DATE), []byte{7, 0xea, 0x07, 11, 24, 1, 2, 3}, "'2026-11-24'"},
		{"zero date", uint16(mysql.MYSQL_TYPE_DATE), []byte{0}, "'0000-00-00'"},
	}
	for _, c := range cases {
		got, rest, err := decodeParam(c.typ, c.data, parser.TextMode{})
		if err != nil || got != c.want || len(rest) != 0 {
			t.Errorf("%s: %q %v (rest %d), want %q", c.name, got, err, len(rest), c.want)
		}
	}
	for _, bad := range []struct {
		typ  uint16
		data []byte
	}{
		{uint16(mysql.MYSQL_TYPE_LONGLONG), []byte{1, 2}},
		{uint16(mysql.MYSQL_TYPE_DATETIME), []byte{5, 1, 2, 3, 4, 5}}, // no such length
		{uint16(mysql.MYSQL_TYPE_TIME), []byte{8, 1, 2}},              // truncated
	} {
		if _, _, err := decodeParam(bad.typ, bad.data, parser.TextMode{}); err == nil {
			t.Errorf("malformed %x accepted", bad.data)
		}
	}
}

// bind renders values for the session's mode: the attacks of issue 12
// (gbk trailing 0x5C, NO_BACKSLASH_ESCAPES) come out as one harmless literal.
func TestBindTextMode(t *testing.T) {
	str := uint16(mysql.MYSQL_TYPE_VAR_STRING)
	cases := []struct {
		name  string
		m     parser.TextMode
		value string
		want  string
	}{
		{"plain", parser.TextMode{}, `a'\b`, `'a''\\b'`},
		{"no backslash escapes", parser.TextMode{NoBackslashEscapes: true}, `a'\b`, `'a''\b'`},
		{"no backslash escapes attack", parser.TextMode{NoBackslashEscapes: true}, `\', 0x41) -- `, `'\'', 0x41) -- '`},
		{"gbk trailing backslash", parser.TextMode{Charset: "gbk"}, "\xe4\xb8\x81\\' UNION SELECT pw FROM secret.creds -- ",
			"_gbk X'e4b8815c2720554e494f4e2053454c4543542070772046524f4d207365637265742e6372656473202d2d20'"},
		{"sjis", parser.TextMode{Charset: "sjis"}, "\x95\\", "_sjis X'955c'"},
	}
	for _, c := range cases {
		st := &preparedStmt{prep: &router.Prepared{Offsets: []int{0}}}
		p := []byte{0, 0, 0, 0, 0, 0, 1} // flags, iterations, NULL bitmap, new types
		p = binary.LittleEndian.AppendUint16(p, str)
		p = wire.AppendTextValue(p, []byte(c.value), false)
		lits, _, err := st.bind(p, c.m, nil)
		if err != nil || len(lits) != 1 || lits[0] != c.want {
			t.Errorf("%s: %q %v, want %q", c.name, lits, err, c.want)
		}
	}
}

func TestBinaryRows(t *testing.T) {
	cols := []wire.Column{
		{Type: mysql.MYSQL_TYPE_LONG}, {Type: mysql.MYSQL_TYPE_VAR_STRING}, {Type: mysql.MYSQL_TYPE_DATETIME},
		{Type: mysql.MYSQL_TYPE_TIME}, {Type: mysql.MYSQL_TYPE_DOUBLE}, {Type: mysql.MYSQL_TYPE_LONGLONG, Flags: mysql.UNSIGNED_FLAG},
	}
	b := &binaryWriter{cols: cols}
	var text []byte
	for i, v := range []string{"-5", "hé", "2026-11-24 10:59:59", "-25:30:01", "1.5", "18446744073709551615"} {
		if i == 1 {
			text = wire.AppendTextValue(text, nil, true) // NULL
			continue
		}
		text = wire.AppendTextValue(text, []byte(v), false)
	}
	row, err := b.encodeRow(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x00, 0x08} // header, NULL bitmap (column 1 → bit 3)
	want = binary.LittleEndian.AppendUint32(want, uint32(0xfffffffb))
	want = append(want, 7, 0xea, 0x07, 11, 24, 10, 59, 59)
	want = append(want, 8, 1, 1, 0, 0, 0, 1, 30, 1)
	want = binary.LittleEndian.AppendUint64(want, math.Float64bits(1.5))
	want = binary.LittleEndian.AppendUint64(want, math.MaxUint64)
	if !bytes.Equal(row, want) {
		t.Fatalf("binary row\n got %x\nwant %x", row, want)
	}
}
