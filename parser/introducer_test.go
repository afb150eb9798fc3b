package parser

import (
	"strings"
	"testing"
)

func TestIntroducersTiDBRefuses(t *testing.T) {
	tests := []struct {
		sql, mode string
		want      []string // in the rendered statement
		refused   bool
	}{
		{sql: "INSERT INTO t VALUES (1, _big5 X'B35C')", mode: "big5", want: []string{"_big5 X'B35C'"}},
		{sql: "SELECT * FROM t WHERE a = _gbk X'815C' AND b = _gbk'x'", mode: "gbk", want: []string{"_gbk X'815C'", "_gbk'x'"}},
		{sql: "SELECT _sjis 0x835C", mode: "sjis", want: []string{"_sjis X'835C'"}},
		{sql: "SELECT _latin1'a', _big5'b'", mode: "big5", want: []string{"_latin1'a'", "_big5'b'"}},
		{sql: "SELECT '_big5''x', `_big5` FROM t", mode: "big5", want: []string{"'_big5''x'", "`_big5`"}},
		{sql: "SELECT _big5 X'41', _sjis X'41'", mode: "big5", refused: true},
		{sql: "SELECT _big5 X'41', _binary X'41'", mode: "big5", refused: true},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			p := New()
			m := TextMode{Charset: tc.mode}
			p.SetMode(m)
			stmts, err := p.Parse(tc.sql)
			if tc.refused {
				if err == nil {
					t.Fatalf("parsed; want a refusal")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if stmts[0].SQL != tc.sql {
				t.Fatalf("statement text %q, want the original", stmts[0].SQL)
			}
			out, err := RestoreIn(stmts[0].Node, m)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.ToUpper(out), strings.ToUpper(w)) {
					t.Fatalf("rendered %q, want it to contain %q", out, w)
				}
			}
		})
	}
	// Placeholders are found where they are in the original text.
	p0 := New()
	p0.SetMode(TextMode{Charset: "big5"})
	sql := "INSERT INTO t VALUES (_big5 X'41', ?, _big5'x', ?)"
	offsets, err := p0.Placeholders(sql)
	if err != nil {
		t.Fatal(err)
	}
	if len(offsets) != 2 || sql[offsets[0]] != '?' || sql[offsets[1]] != '?' {
		t.Fatalf("placeholders at %v in %q", offsets, sql)
	}
	// Several statements: each keeps its own original text.
	p := New()
	p.SetMode(TextMode{Charset: "big5"})
	stmts, err := p.Parse("SELECT _big5 X'41'; SELECT 2, _big5'b'")
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 2 || stmts[0].SQL != "SELECT _big5 X'41';" || stmts[1].SQL != " SELECT 2, _big5'b'" {
		t.Fatalf("texts %q %q", stmts[0].SQL, stmts[1].SQL)
	}
}
