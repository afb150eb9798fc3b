package parser

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	cases := []struct {
		sql  string
		nbe  bool
		want []string
	}{
		{"SELECT 0; xyzzy;", false, []string{"SELECT 0", "xyzzy"}},
		{"SELECT ';'; SELECT 2", false, []string{"SELECT ';'", "SELECT 2"}},
		{`SELECT 'a\';b'; SELECT 2`, false, []string{`SELECT 'a\';b'`, "SELECT 2"}},
		// Under NO_BACKSLASH_ESCAPES the backslash ends nothing: the quote
		// after it closes the string.
		{`SELECT 'a\'; SELECT 2`, true, []string{`SELECT 'a\'`, "SELECT 2"}},
		{"SELECT 'it''s;'; SELECT 2", false, []string{"SELECT 'it''s;'", "SELECT 2"}},
		{"SELECT `a;b` FROM t; SELECT \"x;y\"", false, []string{"SELECT `a;b` FROM t", "SELECT \"x;y\""}},
		{"SELECT 1 -- c; d\n; SELECT 2", false, []string{"SELECT 1 -- c; d", "SELECT 2"}},
		{"SELECT 1 # c; d\n; SELECT 2", false, []string{"SELECT 1 # c; d", "SELECT 2"}},
		{"SELECT 1 /* ; */; SELECT 2", false, []string{"SELECT 1 /* ; */", "SELECT 2"}},
		{"SELECT 5--1; SELECT 2", false, []string{"SELECT 5--1", "SELECT 2"}},
		{" ; ;", false, nil},
		{"SELECT 'unterminated; SELECT 2", false, []string{"SELECT 'unterminated; SELECT 2"}},
	}
	for _, c := range cases {
		if got := Split(c.sql, TextMode{NoBackslashEscapes: c.nbe}); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q, nbe=%v) = %q, want %q", c.sql, c.nbe, got, c.want)
		}
	}
}
