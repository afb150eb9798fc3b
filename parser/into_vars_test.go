package parser

import (
	"strings"
	"testing"
)

// The INTO @vars clause is found by tokens: INTO inside strings, comments
// and quoted names is not the clause, whatever the sql_mode.
func TestIntoVarsClause(t *testing.T) {
	ansi := TextMode{AnsiQuotes: true}
	nbe := TextMode{NoBackslashEscapes: true}
	cases := []struct {
		sql    string
		m      TextMode
		clause string // "" : none
		names  string
	}{
		{"SELECT a FROM t INTO @x", TextMode{}, "INTO @x", "x"},
		{"SELECT a, b INTO @X, @y FROM t", TextMode{}, "INTO @X, @y", "x,y"},
		{"SELECT 'x INTO @a' AS s FROM t INTO @b", TextMode{}, "INTO @b", "b"},
		{"SELECT \"INTO @a\" FROM t INTO @b", TextMode{}, "INTO @b", "b"},
		{"SELECT \"INTO @a\" FROM t INTO @b", ansi, "INTO @b", "b"},
		{"SELECT 'it\\'s INTO @a' FROM t INTO @b", TextMode{}, "INTO @b", "b"},
		// Without backslash escapes 'a\' ends at the second quote.
		{"SELECT 'a\\' INTO @a FROM t", nbe, "INTO @a", "a"},
		{"SELECT 'a\\' INTO @a' FROM t", TextMode{}, "", ""},
		{"SELECT /* INTO @a */ 1 FROM t INTO @b", TextMode{}, "INTO @b", "b"},
		{"SELECT 1 # INTO @a\nFROM t INTO @b", TextMode{}, "INTO @b", "b"},
		{"SELECT 1 -- INTO @a\nFROM t INTO @b", TextMode{}, "INTO @b", "b"},
		{"SELECT 1 AS `INTO @a` FROM t INTO @b", TextMode{}, "INTO @b", "b"},
		{"SELECT 1 FROM t INTO /* c */ @`my ``v`, @'q''r', @\"s\"", TextMode{}, "INTO /* c */ @`my ``v`, @'q''r', @\"s\"", "my `v,q'r,s"},
		{"SELECT 1 /*! INTO @a */", TextMode{}, "INTO @a", "a"},
		{"SELECT 1 FROM t INTO OUTFILE '/tmp/x'", TextMode{}, "", ""},
		{"INSERT INTO t SELECT @a", TextMode{}, "", ""},
		{"SELECT 1 INTO @@x", TextMode{}, "", ""},
		{"SELECT 1 FROM t WHERE a = 'INTO @x'", TextMode{}, "", ""},
		{"SELECT 1 FROM t.INTO @x", TextMode{}, "", ""},
	}
	for _, c := range cases {
		start, end, names, ok := intoVarsClause(c.sql, c.m)
		got := ""
		if ok {
			got = c.sql[start:end]
		}
		if got != c.clause || strings.Join(names, ",") != c.names {
			t.Errorf("%q: clause %q names %q, want %q %q", c.sql, got, names, c.clause, c.names)
		}
	}
	// Never panics on cut text.
	for _, c := range cases {
		for i := range c.sql {
			intoVarsClause(c.sql[:i], c.m)
		}
	}
}
