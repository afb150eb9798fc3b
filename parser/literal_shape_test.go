package parser

import (
	"strings"
	"testing"
)

func TestLiteralShape(t *testing.T) {
	ansi := TextMode{AnsiQuotes: true}
	nbe := TextMode{NoBackslashEscapes: true}
	cases := []struct {
		name string
		m    TextMode
		a, b string
		same bool
	}{
		{"integers", TextMode{}, "SELECT c FROM t WHERE id = 1", "SELECT c FROM t WHERE id = 98765", true},
		{"strings", TextMode{}, "SELECT c FROM t WHERE s = 'a'", "SELECT c FROM t WHERE s = 'it''s \\' x'", true},
		{"decimals", TextMode{}, "SELECT c FROM t WHERE d = 1.5", "SELECT c FROM t WHERE d = 22.75", true},
		{"integer vs decimal", TextMode{}, "SELECT c FROM t WHERE d = 1", "SELECT c FROM t WHERE d = 1.0", false},
		{"integer vs string", TextMode{}, "SELECT c FROM t WHERE d = 1", "SELECT c FROM t WHERE d = '1'", false},
		{"names differ", TextMode{}, "SELECT c FROM t1 WHERE id = 1", "SELECT c FROM t2 WHERE id = 1", false},
		{"quoted names differ", TextMode{}, "SELECT c FROM `t1` WHERE id = 1", "SELECT c FROM `t2` WHERE id = 1", false},
		{"case is kept", TextMode{}, "SELECT c FROM t WHERE id = 1", "select c FROM t WHERE id = 1", false},
		{"spaces are kept", TextMode{}, "SELECT c FROM t WHERE id = 1", "SELECT c FROM t WHERE id=1", false},
		{"comments are kept", TextMode{}, "SELECT c FROM t /* a */ WHERE id = 1", "SELECT c FROM t /* b */ WHERE id = 1", false},
		{"hex words are kept", TextMode{}, "SELECT c FROM t WHERE b = 0x01", "SELECT c FROM t WHERE b = 0x02", false},
		{"user variables by quoted name", TextMode{}, "SELECT @'a' FROM t", "SELECT @'b' FROM t", false},
		{"introducer kept, string not", TextMode{}, "SELECT _latin1'x' FROM t", "SELECT _latin1'yy' FROM t", true},
		{"ANSI_QUOTES: a name", ansi, `SELECT "a" FROM t`, `SELECT "b" FROM t`, false},
		{"default: a string", TextMode{}, `SELECT "a" FROM t`, `SELECT "b" FROM t`, true},
		// Under NO_BACKSLASH_ESCAPES 'a\' ends at its second quote: the
		// rest is SQL, whose name must count.
		{"NO_BACKSLASH_ESCAPES", nbe, `SELECT 'a\' FROM t1 -- '`, `SELECT 'a\' FROM t2 -- '`, false},
		{"backslash escapes by default", TextMode{}, `SELECT c FROM t WHERE s = 'a\' OR 1=1 -- '`, `SELECT c FROM t WHERE s = 'b\' OR 1=1 -- '`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sa, oka := LiteralShape(c.a, c.m)
			sb, okb := LiteralShape(c.b, c.m)
			if !oka || !okb {
				t.Fatalf("no shape: %q %v, %q %v", c.a, oka, c.b, okb)
			}
			if (sa == sb) != c.same {
				t.Errorf("same shape = %v, want %v:\n%q\n%q", sa == sb, c.same, sa, sb)
			}
			if c.same && FingerprintIn(c.a, c.m) != FingerprintIn(c.b, c.m) {
				// An independent lexer (TiDB's normaliser) must agree that
				// only literals differ.
				t.Errorf("one shape, two fingerprints: %q / %q", FingerprintIn(c.a, c.m), FingerprintIn(c.b, c.m))
			}
		})
	}
}

// TestLiteralShapeGivesUp lists the texts the scan does not read as
// shapes: each could be read two ways, or uses the marks' byte.
func TestLiteralShapeGivesUp(t *testing.T) {
	for _, c := range []struct {
		sql string
		m   TextMode
	}{
		{"SELECT c FROM t WHERE id = ?", TextMode{}},
		{"SELECT .5 FROM t", TextMode{}},
		{"SELECT 1.5e3 FROM t", TextMode{}},
		{"SELECT 1. FROM t", TextMode{}},
		{"SELECT 'open FROM t", TextMode{}},
		{"SELECT c FROM t /* open", TextMode{}},
		{"SELECT c FROM t /*!50000 WHERE 1 */", TextMode{}},
		{"SELECT c FROM t WHERE s = 'x'", TextMode{Charset: "gbk"}},
		{"SELECT c FROM t WHERE s = 'x'", TextMode{Charset: "sjis"}},
		{"SELECT c FROM t\x00", TextMode{}},
	} {
		if shape, ok := LiteralShape(c.sql, c.m); ok {
			t.Errorf("%q: shape %q, want none", c.sql, shape)
		}
	}
}

func TestAtTopLevel(t *testing.T) {
	sql := "SELECT `a 5` , 'x' AS `CONCAT('y')`, 7 /* 8 */ FROM t WHERE id = 9 -- 10"
	at := func(s string) int { return strings.Index(sql, s) }
	for _, c := range []struct {
		offsets []int
		want    bool
	}{
		{[]int{at("7"), at("9")}, true},
		{[]int{at("'x'")}, true},
		{[]int{at("5")}, false},   // inside a quoted name
		{[]int{at("'y'")}, false}, // a string inside a quoted name
		{[]int{at("8")}, false},   // inside a comment
		{[]int{at("10")}, false},  // inside a line comment
		{[]int{at("x'")}, false},  // inside a string
		{[]int{at("9"), at("10")}, false},
		{[]int{len(sql)}, true},
	} {
		if got := AtTopLevel(sql, c.offsets, TextMode{}); got != c.want {
			t.Errorf("offsets %v: %v, want %v", c.offsets, got, c.want)
		}
	}
	// Under ANSI_QUOTES "…" is a name.
	ansi := `SELECT "a 1" FROM t WHERE id = 2`
	if AtTopLevel(ansi, []int{strings.Index(ansi, "1")}, TextMode{AnsiQuotes: true}) {
		t.Error(`ANSI_QUOTES: inside "…" counted as top level`)
	}
}
