package planner

import (
	"strings"
	"testing"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/tabledef"
)

// TestKeyOf reads literals by column type, as MariaDB 10.11 compares
// (reads) and stores (writes) them; the expectations were checked on the
// ref server (SELECT col = literal, INSERT then SELECT).
func TestKeyOf(t *testing.T) {
	intCol := &tabledef.Column{Name: "k", DataType: "int", ColumnType: "int(11)"}
	tiny := &tabledef.Column{Name: "k", DataType: "tinyint", ColumnType: "tinyint(4)"}
	ubig := &tabledef.Column{Name: "k", DataType: "bigint", ColumnType: "bigint(20) unsigned", Unsigned: true}
	dt := &tabledef.Column{Name: "k", DataType: "datetime", ColumnType: "datetime"}
	dt3 := &tabledef.Column{Name: "k", DataType: "datetime", ColumnType: "datetime(3)", FSP: 3}
	date := &tabledef.Column{Name: "k", DataType: "date", ColumnType: "date"}
	ci := &tabledef.Column{Name: "k", DataType: "varchar", ColumnType: "varchar(8)", Charset: "utf8mb4", Collation: "utf8mb4_general_ci", CharLength: 8}
	bin := &tabledef.Column{Name: "k", DataType: "varchar", ColumnType: "varchar(8)", Charset: "utf8mb4", Collation: "utf8mb4_bin", CharLength: 8}
	vbin := &tabledef.Column{Name: "k", DataType: "varbinary", ColumnType: "varbinary(8)", CharLength: 8}
	bin4 := &tabledef.Column{Name: "k", DataType: "binary", ColumnType: "binary(4)", CharLength: 4}
	dec := &tabledef.Column{Name: "k", DataType: "decimal", ColumnType: "decimal(10,2)", Precision: 10, Scale: 2}

	i := func(s string) parser.Value { return parser.Value{Kind: parser.ValInt, Text: s} }
	d := func(s string) parser.Value { return parser.Value{Kind: parser.ValDecimal, Text: s} }
	fl := func(s string) parser.Value { return parser.Value{Kind: parser.ValFloat, Text: s} }
	str := func(s string) parser.Value { return parser.Value{Kind: parser.ValString, Text: s} }
	hex := func(s string) parser.Value { return parser.Value{Kind: parser.ValHex, Text: s} }
	latin1 := func(s string) parser.Value { return parser.Value{Kind: parser.ValString, Text: s, Charset: "latin1"} }

	abc := func() string { k, _, _ := keyOf(ci, str("abc"), "utf8mb4", false); return k }()
	cases := []struct {
		name  string
		col   *tabledef.Column
		v     parser.Value
		conn  string
		write bool
		want  string
		state keyState
	}{
		{"int", intCol, i("2"), "", false, "2", keyOK},
		{"int string", intCol, str("2"), "", false, "2", keyOK},
		{"int leading zero", intCol, str("02"), "", false, "2", keyOK},
		{"int leading space", intCol, str(" 2"), "", false, "2", keyOK},
		{"int trailing space", intCol, str("2 "), "", false, "2", keyOK},
		{"int newline", intCol, str("\n2"), "", false, "2", keyOK},
		{"int plus", intCol, str("+2"), "", false, "2", keyOK},
		{"int garbage", intCol, str("2abc"), "", false, "2", keyOK},
		{"int exponent string", intCol, str("2e0"), "", false, "2", keyOK},
		{"int 2.0", intCol, d("2.0"), "", false, "2", keyOK},
		{"int 2e0", intCol, fl("2"), "", false, "2", keyOK},
		{"int '2.0'", intCol, str("2.0"), "", false, "2", keyOK},
		{"int 2.5 never equal", intCol, d("2.5"), "", false, "", keyNone},
		{"int '2.5' never equal", intCol, str("2.5"), "", false, "", keyNone},
		{"int empty string is 0", intCol, str(""), "", false, "0", keyOK},
		{"int 'abc' is 0", intCol, str("abc"), "", false, "0", keyOK},
		{"int negative", intCol, i("-7"), "", false, "-7", keyOK},
		{"int -0.0", intCol, d("-0.0"), "", false, "0", keyOK},
		{"int out of range read", intCol, i("4294967296"), "", false, "", keyNone},
		{"tinyint out of range read", tiny, str("300"), "", false, "", keyNone},
		{"0x02 is a number", intCol, hex("\x02"), "", false, "2", keyOK},
		{"X'02' is a string", intCol, parser.Value{Kind: parser.ValString, Text: "\x02", Charset: "binary"}, "", false, "0", keyOK},
		{"double beyond 2^53", ubig, str("18446744073709551615.5"), "", false, "", keyUnknown},
		{"unsigned max", ubig, i("18446744073709551615"), "", false, "18446744073709551615", keyOK},
		{"unsigned negative read", ubig, i("-1"), "", false, "", keyNone},

		{"store '2.5' rounds half up", intCol, str("2.5"), "", true, "3", keyOK},
		{"store 2.5 rounds half up", intCol, d("2.5"), "", true, "3", keyOK},
		{"store 2.5e0 rounds half even", intCol, fl("2.5"), "", true, "2", keyOK},
		{"store 3.5e0 rounds half even", intCol, fl("3.5"), "", true, "4", keyOK},
		{"store -2.5", intCol, d("-2.5"), "", true, "-3", keyOK},
		{"store -2.5e0", intCol, fl("-2.5"), "", true, "-2", keyOK},
		{"store '-0.5'", tiny, str("-0.5"), "", true, "-1", keyOK},
		{"store '1e1'", intCol, str("1e1"), "", true, "10", keyOK},
		{"store '  7.5xyz'", tiny, str("  7.5xyz"), "", true, "8", keyOK},
		{"store 0x41", tiny, hex("A"), "", true, "65", keyOK},
		{"store '0x10'", tiny, str("0x10"), "", true, "0", keyOK},
		{"store 300 clipped", tiny, i("300"), "", true, "127", keyOK},
		{"store -300 clipped", tiny, i("-300"), "", true, "-128", keyOK},
		{"store unsigned -5 clipped", ubig, i("-5"), "", true, "0", keyOK},

		{"datetime", dt, str("2026-11-27 10:30:00"), "", false, "2026-11-27 10:30:00", keyOK},
		{"datetime slashes", dt, str("2026/11/27 10:30:00"), "", false, "2026-11-27 10:30:00", keyOK},
		{"datetime number", dt, i("20261127103000"), "", false, "2026-11-27 10:30:00", keyOK},
		{"datetime hour only", dt, str("2026-11-27 10"), "", false, "2026-11-27 10:00:00", keyOK},
		{"datetime .000", dt, str("2026-11-27 10:30:00.000"), "", false, "2026-11-27 10:30:00", keyOK},
		{"datetime fraction read", dt, str("2026-11-27 10:30:00.5"), "", false, "", keyUnknown},
		{"datetime fraction stored truncated", dt, str("2026-11-27 10:30:00.9"), "", true, "2026-11-27 10:30:00", keyOK},
		{"datetime(3)", dt3, str("2026-11-27 10:30:00.5"), "", false, "2026-11-27 10:30:00.500", keyOK},
		{"zero date", dt, i("0"), "", true, "0000-00-00 00:00:00", keyOK},
		{"date", date, str("2026/11/27"), "", true, "2026-11-27", keyOK},
		{"not a date", dt, str("yesterday"), "", true, "", keyUnknown},

		{"ci", ci, str("ABC "), "", false, abc, keyOK},
		{"ci latin1 introducer", ci, latin1("\xc0BC"), "", false, abc, keyOK},
		{"ci gbk connection", ci, str("abc"), "gbk", false, abc, keyOK},
		{"ci number read", ci, i("2"), "", false, "", keyUnknown},
		{"ci too long read", ci, str("abcdefghi"), "", false, "", keyNone},
		{"ci too long stored truncated", ci, str("abcdefghi"), "", true, func() string { k, _, _ := keyOf(ci, str("abcdefgh"), "utf8mb4", true); return k }(), keyOK},
		{"bin keeps case", bin, str("Abc "), "", false, "Abc", keyOK},
		{"varbinary", vbin, str("Abc "), "", false, "Abc ", keyOK},
		{"binary(4) stored padded", bin4, str("ab"), "", true, "ab\x00\x00", keyOK},
		{"binary(4) short read", bin4, str("ab"), "", false, "", keyNone},
		{"a megabyte of digits", intCol, str(strings.Repeat("9", 1<<20)), "", true, "", keyUnknown},
		{"leading zeros do not count", intCol, str(strings.Repeat("0", 1<<20) + "7"), "", true, "7", keyOK},
		{"decimal", dec, d("2.5"), "", false, "2.50", keyOK},
		{"decimal int", dec, i("2"), "", false, "2.00", keyOK},
		{"decimal string", dec, str(" 2.5 "), "", false, "2.50", keyOK},
		{"decimal more digits read", dec, d("2.505"), "", false, "", keyNone},
		{"decimal more digits stored rounded", dec, d("2.505"), "", true, "2.51", keyOK},
		{"decimal negative rounded", dec, str("-2.505"), "", true, "-2.51", keyOK},
		{"decimal out of range clipped", dec, i("123456789012"), "", true, "99999999.99", keyOK},
		{"decimal out of range read", dec, i("123456789012"), "", false, "", keyNone},
		{"decimal double read", dec, fl("2.5"), "", false, "", keyUnknown},
		{"decimal -0", dec, d("-0.00"), "", false, "0.00", keyOK},
	}
	for _, c := range cases {
		conn := c.conn
		if conn == "" {
			conn = "utf8mb4"
		}
		got, state, why := keyOf(c.col, c.v, conn, c.write)
		if state != c.state || (state == keyOK && got != c.want) {
			t.Errorf("%s: keyOf(%s, %q, write=%v) = %q, %v (%s); want %q, %v", c.name, c.col.ColumnType, c.v.Text, c.write, got, state, why, c.want, c.state)
		}
	}
}

// TestTimeRoundFractional: with TIME_ROUND_FRACTIONAL MariaDB rounds the
// fractional seconds a column cannot hold (checked on the ref server:
// '2026-11-27 10:59:59.6' is stored as 11:00:00 in a DATETIME), so the
// row's key and hour follow the rounded value; without it they are
// truncated.
func TestTimeRoundFractional(t *testing.T) {
	dt := &tabledef.Column{Name: "at", DataType: "datetime", ColumnType: "datetime", Nullable: true}
	v := parser.Value{Kind: parser.ValString, Text: "2026-11-27 10:59:59.6"}
	for _, c := range []struct {
		round      bool
		hour, text string
	}{{false, "2026112710", "2026-11-27 10:59:59"}, {true, "2026112711", "2026-11-27 11:00:00"}} {
		if h, err := storedHourOf(dt, v, c.round); err != nil || h != c.hour {
			t.Errorf("round=%v: hour %s, %v; want %s", c.round, h, err, c.hour)
		}
		k := keys{cols: []tabledef.Column{*dt}, known: true, conn: "utf8mb4", roundFrac: c.round}
		if key, _, err := k.writeKey("at", v, false); err != nil || key != c.text {
			t.Errorf("round=%v: key %q, %v; want %q", c.round, key, err, c.text)
		}
	}
}

// FuzzKeyOf: no literal makes reading a key panic, for any column type,
// read or written, in any client character set.
func FuzzKeyOf(f *testing.F) {
	for _, s := range []string{"2", " 2x", "2026-11-27 10", "20261127103000.5", "\xd2\xbb", "Abc ", "1e9999", "-", ".", "0000-00-00", "99-1-1 1:1:1.1234567890"} {
		f.Add(s, uint8(0))
	}
	cols := []*tabledef.Column{
		{DataType: "int", ColumnType: "int"}, {DataType: "bigint", Unsigned: true, ColumnType: "bigint unsigned"},
		{DataType: "decimal", Precision: 65, Scale: 30, ColumnType: "decimal(65,30)"},
		{DataType: "datetime", FSP: 6, ColumnType: "datetime(6)"}, {DataType: "date", ColumnType: "date"},
		{DataType: "varchar", Collation: "utf8mb4_unicode_ci", CharLength: 4, ColumnType: "varchar(4)"},
		{DataType: "char", Collation: "gbk_chinese_ci", CharLength: 2, ColumnType: "char(2)"},
		{DataType: "varchar", Collation: "latin1_bin", CharLength: 9, ColumnType: "varchar(9)"},
		{DataType: "binary", CharLength: 3, ColumnType: "binary(3)"},
	}
	kinds := []parser.ValueKind{parser.ValInt, parser.ValDecimal, parser.ValFloat, parser.ValString, parser.ValHex}
	f.Fuzz(func(t *testing.T, s string, pick uint8) {
		v := parser.Value{Kind: kinds[int(pick)%len(kinds)], Text: s}
		for _, c := range cols {
			for _, conn := range []string{"utf8mb4", "gbk", "latin1", "big5"} {
				keyOf(c, v, conn, false)
				keyOf(c, v, conn, true)
			}
		}
	})
}

// TestIntKey64MatchesBig: the int64 fast path gives every integer key the
// exact path gives, for every integer type at and around its bounds, read
// and written.
func TestIntKey64MatchesBig(t *testing.T) {
	values := []string{"0", "1", "7", "42", "127", "128", "-128", "-129", "255", "256", "32767", "32768", "-32768", "-32769",
		"65535", "65536", "8388607", "8388608", "-8388608", "-8388609", "16777215", "16777216", "2147483647", "2147483648",
		"-2147483648", "-2147483649", "4294967295", "4294967296", "9223372036854775807", "-9223372036854775808", "-1", "00042"}
	for _, typ := range []string{"tinyint", "smallint", "mediumint", "int", "integer", "bigint"} {
		for _, unsigned := range []bool{false, true} {
			col := &tabledef.Column{Name: "k", DataType: typ, Unsigned: unsigned}
			for _, text := range values {
				for _, write := range []bool{false, true} {
					v := parser.Value{Kind: parser.ValInt, Text: text}
					fk, fs, ok := intKey64(col, v, write)
					if !ok {
						t.Errorf("%s unsigned=%v %s: no fast path", typ, unsigned, text)
						continue
					}
					bk, bs, _ := intKeyBig(col, v, write)
					if fk != bk || fs != bs {
						t.Errorf("%s unsigned=%v %s write=%v: fast %q/%v, exact %q/%v", typ, unsigned, text, write, fk, fs, bk, bs)
					}
				}
			}
		}
	}
}
