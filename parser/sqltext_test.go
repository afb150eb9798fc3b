package parser

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/wire"
)

// serverRead reads one literal the way MariaDB's lexer does for a
// connection in character set cs: multibyte characters are taken whole
// (my_ismbchar), then quotes and backslash escapes are interpreted. It
// returns the value and what follows the literal. Written apart from the
// code under test so that a wrong assumption there shows up here.
func serverRead(lit, cs string, noBackslash bool) (value []byte, rest string, ok bool) {
	s := lit
	if strings.HasPrefix(s, "_") {
		sp := strings.IndexByte(s, ' ')
		if sp < 0 {
			return nil, "", false
		}
		s = s[sp+1:]
	}
	if strings.HasPrefix(s, "X'") {
		end := strings.IndexByte(s[2:], '\'')
		if end < 0 {
			return nil, "", false
		}
		v, err := hex.DecodeString(s[2 : 2+end])
		return v, s[3+end:], err == nil
	}
	if !strings.HasPrefix(s, "'") {
		return nil, "", false
	}
	mb := func(i int) int { // length of a multibyte character at s[i], or 0
		if i+1 >= len(s) {
			return 0
		}
		c, d := s[i], s[i+1]
		switch cs {
		case "gbk":
			if c >= 0x81 && c <= 0xfe && (d >= 0x40 && d <= 0x7e || d >= 0x80 && d <= 0xfe) {
				return 2
			}
		case "big5":
			if c >= 0xa1 && c <= 0xf9 && (d >= 0x40 && d <= 0x7e || d >= 0xa1 && d <= 0xfe) {
				return 2
			}
		case "sjis", "cp932":
			if (c >= 0x81 && c <= 0x9f || c >= 0xe0 && c <= 0xfc) && (d >= 0x40 && d <= 0x7e || d >= 0x80 && d <= 0xfc) {
				return 2
			}
		}
		return 0
	}
	for i := 1; i < len(s); {
		if n := mb(i); n > 0 {
			value = append(value, s[i:i+n]...)
			i += n
			continue
		}
		c := s[i]
		switch {
		case c == '\'' && i+1 < len(s) && s[i+1] == '\'':
			value = append(value, '\'')
			i += 2
		case c == '\'':
			return value, s[i+1:], true
		case c == '\\' && !noBackslash && i+1 < len(s):
			e := s[i+1]
			if mb(i+1) > 0 { // an escaped multibyte character stays whole
				value = append(value, s[i+1:i+1+mb(i+1)]...)
				i += 1 + mb(i+1)
				continue
			}
			switch e {
			case '0':
				e = 0
			case 'n':
				e = '\n'
			case 'r':
				e = '\r'
			case 'Z':
				e = 0x1a
			case 't':
				e = '\t'
			}
			value = append(value, e)
			i += 2
		default:
			value = append(value, c)
			i++
		}
	}
	return nil, "", false
}

// The attacks of issue 12 items 1 and 2, and the bytes around them.
var attackValues = []string{
	"\xe4\xb8\x81\\' UNION SELECT pw FROM secret.creds -- ",
	"\\' UNION SELECT pw FROM secret.creds -- ",
	"a\\' UNION SELECT pw FROM secret.creds -- '",
	"\\', 0x41) -- ",
	`C:\temp\new`,
	"\x95\\",                    // sjis 表: 0x5C is its second byte
	"\x95\\'; DROP TABLE t; --", // ... followed by a quote
	"\xbf\\'",                   // gbk lead + 0x5C + quote
	"\xa4\\' OR 1=1 -- ",        // big5
	"'", "''", "\\", "\\\\", "\x00\n\r\x1a\t", "",
	"caf\xc3\xa9", "\xff\xfe", "\xe4",
	"\xe4'", "\x81'\x81\\",
}

var textModes = func() []TextMode {
	var ms []TextMode
	for _, cs := range []string{"", "utf8mb4", "utf8", "latin1", "gbk", "big5", "sjis", "cp932", "euckr", "gb2312", "binary", "ujis", "gb18030", "nosuch", "utf16"} {
		for _, nbe := range []bool{false, true} {
			ms = append(ms, TextMode{NoBackslashEscapes: nbe, Charset: cs})
		}
	}
	return ms
}()

// Every value, in every mode, reads back as exactly itself and nothing
// follows it: no value can end its string.
func TestStringLiteralCannotBeInjected(t *testing.T) {
	values := append([]string{}, attackValues...)
	for c := 0; c < 256; c++ {
		values = append(values, string([]byte{byte(c)}), string([]byte{byte(c), '\\', '\''}), string([]byte{byte(c), '\''}))
	}
	for _, m := range textModes {
		for _, v := range values {
			lit := StringLiteral([]byte(v), m)
			cs := m.charset()
			got, rest, ok := serverRead(lit, cs, m.NoBackslashEscapes)
			if !ok || rest != "" || !bytes.Equal(got, []byte(v)) {
				t.Errorf("%+v %q: rendered %q, server reads %q then %q", m, v, lit, got, rest)
			}
		}
	}
}

func TestStringLiteralForms(t *testing.T) {
	cases := []struct {
		v    string
		m    TextMode
		want string
	}{
		{"it's", TextMode{}, `'it''s'`},
		{`a\b`, TextMode{}, `'a\\b'`},
		{`a\b`, TextMode{NoBackslashEscapes: true}, `'a\b'`},
		{`C:\temp\new`, TextMode{NoBackslashEscapes: true}, `'C:\temp\new'`},
		{"x\ny", TextMode{}, `'x\ny'`},
		{"café", TextMode{}, "'café'"},                                      // valid UTF-8 stays readable
		{"caf\xe9", TextMode{}, "X'636166e9'"},                              // not UTF-8: bytes as they are
		{"caf\xe9", TextMode{Charset: "latin1"}, "'caf\xe9'"},               // every byte is a latin1 character
		{"\xb6\xa1", TextMode{Charset: "gbk"}, "'\xb6\xa1'"},                // 丁 in gbk: no 0x5C inside: quoting is safe
		{"\xe4\xb8\x81\\'", TextMode{Charset: "gbk"}, "_gbk X'e4b8815c27'"}, // 0x81 0x5C is one gbk character
		{"\x95\\", TextMode{Charset: "sjis"}, "_sjis X'955c'"},              // 表
		{"\x95\\", TextMode{Charset: "sjis", NoBackslashEscapes: true}, "'\x95\\'"},
		{"\xff", TextMode{Charset: "gbk"}, "X'ff'"}, // not gbk
		{"\xe4", TextMode{Charset: "nosuch"}, "X'e4'"},
		{"abc", TextMode{Charset: "nosuch"}, "'abc'"},
		{"abc", TextMode{Charset: "utf16"}, "X'616263'"},
		{"é", TextMode{Charset: "x' OR 1=1 -- "}, "X'c3a9'"}, // a hostile charset name is not written out
		{"", TextMode{Charset: "gbk"}, "''"},
	}
	for _, c := range cases {
		if got := StringLiteral([]byte(c.v), c.m); got != c.want {
			t.Errorf("StringLiteral(%q, %+v) = %q, want %q", c.v, c.m, got, c.want)
		}
	}
}

func TestQuoting(t *testing.T) {
	cases := []struct{ got, want string }{
		{QuoteIdent("t"), "`t`"},
		{QuoteIdent("a`b"), "`a``b`"},
		{QuoteIdent(""), "``"},
		{QuoteString("0-1-42"), "'0-1-42'"},
		{QuoteString("shop"), "'shop'"},
		{QuoteString("it's"), "_utf8mb4 X'69742773'"},
		{QuoteString(`a\b`), "_utf8mb4 X'615c62'"},
		{QuoteString("é"), "_utf8mb4 X'c3a9'"},
		{QuoteString("\xff"), "_binary X'ff'"},
		{QuoteString(""), "''"},
		{BytesLiteral(nil), "X''"},
		{BytesLiteral([]byte{0, 0xab}), "X'00ab'"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: %q, want %q", i, c.got, c.want)
		}
	}
}

func TestColumnValueLiteral(t *testing.T) {
	s := func(v string) *string { return &v }
	cases := []struct {
		col  wire.Column
		v    *string
		want string
	}{
		{wire.Column{Type: 3}, nil, "NULL"},
		{wire.Column{Type: 3}, s("-42"), "-42"},
		{wire.Column{Type: 246}, s("3.14"), "3.14"},
		{wire.Column{Type: 5}, s("1e+30"), "1e+30"},
		{wire.Column{Type: 3}, s("1; DROP"), "'1; DROP'"},
		{wire.Column{Type: 253, Charset: 63}, s("\x00\xff"), "X'00ff'"},
		{wire.Column{Type: 253, Charset: 45}, s("it's"), "_utf8mb4 X'69742773'"},
		{wire.Column{Type: 253, Charset: 33}, s("a"), "_utf8mb3 X'61'"},
		{wire.Column{Type: 253, Charset: 8}, s("\xe9"), "_latin1 X'e9'"},
		{wire.Column{Type: 253, Charset: 60000}, s("a'b"), "_utf8mb4 X'612762'"},
	}
	for _, c := range cases {
		if got := ColumnValueLiteral(c.col, c.v); got != c.want {
			t.Errorf("%+v: %q, want %q", c.col, got, c.want)
		}
	}
}

func TestRestoreIn(t *testing.T) {
	cases := []struct {
		sql     string
		m       TextMode
		want    string
		errPart string
	}{
		{`SELECT 'C:\\temp\\new'`, TextMode{}, `SELECT 'C:\\temp\\new'`, ""},
		{`SELECT 'C:\\temp\\new'`, TextMode{NoBackslashEscapes: true}, `SELECT 'C:\temp\new'`, ""},
		{`SELECT 'it''s', "dq"`, TextMode{NoBackslashEscapes: true}, `SELECT 'it''s','dq'`, ""},
		{"SELECT * FROM `we``ird` WHERE a = 'x'", TextMode{}, "SELECT * FROM `we``ird` WHERE `a`='x'", ""},
		{`SELECT x'4142', b'01', _latin1'abc'`, TextMode{}, `SELECT x'4142',b'1',_LATIN1'abc'`, ""},
		{"SELECT 'a\nb'", TextMode{}, `SELECT 'a\nb'`, ""},
		{"SELECT '\xe4\xb8\x81\\\\'", TextMode{Charset: "gbk"}, "SELECT _gbk X'e4b8815c'", ""},
		{"SELECT '\xe4\xb8\x81\\\\'", TextMode{Charset: "gbk", NoBackslashEscapes: true}, "SELECT '\xe4\xb8\x81\\'", ""},
		{"SELECT _latin1'\xe9\\\\'", TextMode{Charset: "sjis"}, "SELECT _LATIN1 X'e95c'", ""},
		{"SELECT * FROM `é`", TextMode{Charset: "sjis"}, "SELECT * FROM `é`", ""},
		{"SELECT * FROM `é```", TextMode{Charset: "sjis"}, "", "cannot be quoted safely"},
		{"SELECT * FROM `é```", TextMode{}, "SELECT * FROM `é```", ""},
		{"SELECT * FROM `é`", TextMode{Charset: "nosuch"}, "", "cannot be quoted safely"},
	}
	p := New()
	for _, c := range cases {
		stmts, err := p.Parse(c.sql)
		if err != nil {
			t.Fatalf("%q: %v", c.sql, err)
		}
		got, err := RestoreIn(stmts[0].Node, c.m)
		if c.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), c.errPart) {
				t.Errorf("%q %+v: got %q, %v; want error %q", c.sql, c.m, got, err, c.errPart)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q %+v:\n got %q %v\nwant %q", c.sql, c.m, got, err, c.want)
		}
	}
}

// The values rendered by StringLiteral and RestoreIn for the default mode
// parse back, through the proxy's own parser, to the same bytes: a bound
// statement routes by the value the client sent.
func TestLiteralsParseBack(t *testing.T) {
	p := New()
	for _, v := range attackValues {
		for _, m := range []TextMode{{}, {Charset: "latin1"}, {Charset: "binary"}} {
			lit := StringLiteral([]byte(v), m)
			stmts, err := p.Parse("SELECT " + lit)
			if err != nil {
				t.Errorf("%q as %q: %v", v, lit, err)
				continue
			}
			again, err := RestoreIn(stmts[0].Node, m)
			if err != nil || again != "SELECT "+lit && !strings.HasPrefix(again, "SELECT x'") && !strings.HasPrefix(again, "SELECT _") {
				t.Errorf("%q: restored %q %v", v, again, err)
			}
		}
	}
}

// FuzzStringLiteral: no value, in any mode, reads back as anything but
// itself.
func FuzzStringLiteral(f *testing.F) {
	for _, v := range attackValues {
		f.Add([]byte(v), uint8(0))
	}
	f.Fuzz(func(t *testing.T, v []byte, mode uint8) {
		m := textModes[int(mode)%len(textModes)]
		lit := StringLiteral(v, m)
		got, rest, ok := serverRead(lit, m.charset(), m.NoBackslashEscapes)
		if !ok || rest != "" || !bytes.Equal(got, v) {
			t.Fatalf("%+v %q: rendered %q, server reads %q then %q", m, v, lit, got, rest)
		}
	})
}
