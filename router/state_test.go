package router

import (
	"testing"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/parser"
)

func TestStateTextMode(t *testing.T) {
	cases := []struct {
		sqlMode string
		want    parser.TextMode
	}{
		{"STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION", parser.TextMode{}},
		{"NO_BACKSLASH_ESCAPES", parser.TextMode{NoBackslashEscapes: true}},
		// MariaDB reads ANSI back expanded; the short form counts too.
		{"REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI", parser.TextMode{AnsiQuotes: true, PipesAsConcat: true, IgnoreSpace: true, RealAsFloat: true}},
		{"ansi", parser.TextMode{AnsiQuotes: true, PipesAsConcat: true, IgnoreSpace: true, RealAsFloat: true}},
		{"HIGH_NOT_PRECEDENCE", parser.TextMode{HighNotPrecedence: true}},
		{"NO_BACKSLASH_ESCAPESX", parser.TextMode{}}, // whole flags only
	}
	for _, c := range cases {
		st := newState("shop", backend.DefaultNames)
		st.sqlMode = c.sqlMode
		c.want.Charset = "utf8mb4"
		if got := st.textMode(); got != c.want {
			t.Errorf("%q: %+v, want %+v", c.sqlMode, got, c.want)
		}
	}
}

func TestStateCharsetAndReset(t *testing.T) {
	st := newState("shop", "'gbk' COLLATE 'gbk_chinese_ci'")
	if st.textMode().Charset != "gbk" || st.vars["names"] == "" {
		t.Fatalf("handshake charset: %q, vars %v", st.textMode().Charset, st.vars)
	}
	st.vars["@x"] = "1"
	st.vars["names"] = "'latin1' COLLATE 'latin1_swedish_ci'"
	st.charset, st.sqlMode, st.lastInsertID, st.waitTimeout = "latin1", "ANSI_QUOTES", 7, 5
	st.reset()
	if st.db != "shop" || st.vars["@x"] != "" || st.vars["names"] != "'gbk' COLLATE 'gbk_chinese_ci'" ||
		st.charset != "gbk" || st.sqlMode != "" || st.lastInsertID != 0 || st.waitTimeout != 0 {
		t.Fatalf("after reset: %+v", st)
	}
	if f := st.facts(); f.DB != "shop" || f.Text.Charset != "gbk" {
		t.Fatalf("facts: %+v", f)
	}
}
