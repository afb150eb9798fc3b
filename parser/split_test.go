package parser

import (
	"reflect"
	"testing"
)

func TestIsStoredProgram(t *testing.T) {
	for sql, want := range map[string]bool{
		"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END":                     true,
		"create definer=`app`@`%` function f() returns int return 1":             true,
		"CREATE OR REPLACE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @a = 1": true,
		"BEGIN NOT ATOMIC SELECT 1; END":                                         true,
		"SELECT 1; SELECT 2":                                                     false,
		"CREATE TABLE procedure_log (id INT)":                                    false,
	} {
		if got := IsStoredProgram(sql); got != want {
			t.Errorf("IsStoredProgram(%q) = %v", sql, got)
		}
	}
}

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
		{"DROP PROCEDURE IF EXISTS p; CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END", false,
			[]string{"DROP PROCEDURE IF EXISTS p", "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END"}},
		{"SELECT 'unterminated; SELECT 2", false, []string{"SELECT 'unterminated; SELECT 2"}},
	}
	for _, c := range cases {
		if got := Split(c.sql, TextMode{NoBackslashEscapes: c.nbe}); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q, nbe=%v) = %q, want %q", c.sql, c.nbe, got, c.want)
		}
	}
}
