package parser

import (
	"strings"
	"testing"
)

// Expected texts were checked against a MariaDB 10.11.19 server: the
// server's result of each input equals the result of the expansion.
func TestExpandExecutableComments(t *testing.T) {
	const v = 101119
	nbe := TextMode{NoBackslashEscapes: true}
	ansi := TextMode{AnsiQuotes: true}
	tests := []struct {
		name    string
		sql     string
		m       TextMode
		version int
		want    string
		err     bool
	}{
		{name: "no comment", sql: "SELECT 1", want: "SELECT 1"},
		{name: "plain comment kept", sql: "SELECT 1 /* , 2 */", want: "SELECT 1 /* , 2 */"},
		{name: "hint comment kept", sql: "/* shardgate:primary */ SELECT 1", want: "/* shardgate:primary */ SELECT 1"},
		{name: "optimizer hint stays a comment", sql: "SELECT /*+ NO_INDEX(t) */ 1", want: "SELECT /*+ NO_INDEX(t) */ 1"},
		{name: "bang", sql: "SELECT 1 /*! , 2 */", want: "SELECT 1   , 2  "},
		{name: "maria", sql: "SELECT 1 /*M! , 2 */", want: "SELECT 1   , 2  "},
		{name: "maria attack union", sql: "SELECT a FROM items WHERE 1=0 /*M! UNION SELECT pw FROM secret.creds */", want: "SELECT a FROM items WHERE 1=0   UNION SELECT pw FROM secret.creds  "},
		{name: "maria attack delete", sql: "DELETE FROM orders WHERE id=-1 /*M! OR 1=1 */", want: "DELETE FROM orders WHERE id=-1   OR 1=1  "},
		{name: "empty bang", sql: "SELECT 1 /*!*/, 2", want: "SELECT 1   , 2"},
		{name: "no space after version", sql: "/*!40101SET NAMES utf8 */", want: " SET NAMES utf8  "},
		{name: "version below", sql: "SELECT 1 /*!40101 , 2 */", want: "SELECT 1   , 2  "},
		{name: "version equal", sql: "SELECT 1 /*!101119 , 2 */", want: "SELECT 1   , 2  "},
		{name: "version above", sql: "SELECT 1 /*!101120 , 2 */", want: "SELECT 1  "},
		{name: "maria version equal", sql: "SELECT 1 /*M!101119 , 2 */", want: "SELECT 1   , 2  "},
		{name: "maria version above", sql: "SELECT 1 /*M!101120 , 2 */", want: "SELECT 1  "},
		{name: "mysql 5.7 version skipped", sql: "SELECT 1 /*!50700 , 2 */", want: "SELECT 1  "},
		{name: "mysql 8 version skipped", sql: "SELECT 1 /*!80016 , 2 */", want: "SELECT 1  "},
		{name: "version just below 5.7", sql: "SELECT 1 /*!50699,2*/", want: "SELECT 1  ,2 "},
		{name: "maria 5.7 version runs", sql: "SELECT 1 /*M!50700 , 2 */", want: "SELECT 1   , 2  "},
		{name: "zero version", sql: "SELECT 1 /*!00000 , 2 */", want: "SELECT 1   , 2  "},
		{name: "six digits above", sql: "SELECT 1 /*!123456, 2 */", want: "SELECT 1  "},
		{name: "seventh digit is content", sql: "SELECT 1 /*!1000001 */", want: "SELECT 1  1  "},
		{name: "four digits are content", sql: "SELECT 1 /*!1234 , 2 */", want: "SELECT 1  1234 , 2  "},
		{name: "lower case m is plain", sql: "SELECT 1 /*m! , 2 */", want: "SELECT 1 /*m! , 2 */"},
		{name: "older server", sql: "SELECT 1 /*!100500 , 2 */", version: 100400, want: "SELECT 1  "},
		{name: "mariadb-dump sandbox", sql: `/*M!999999\- enable the sandbox mode */`, want: " "},
		{name: "mariadb-dump header", sql: "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */", want: "  SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT  "},
		{name: "tidb T! is a plain comment", sql: "SELECT 1 /*T! , 2 */", want: "SELECT 1  "},
		{name: "tidb T! with features", sql: "DELETE FROM t WHERE id=1 /*T![auto_rand] OR 1=1 */", want: "DELETE FROM t WHERE id=1  "},

		// Nesting.
		{name: "plain comment inside", sql: "SELECT 1 /*!40101, 2 /* x */ , 3 */", want: "SELECT 1  , 2 /* x */ , 3  "},
		{name: "skipped allows one nested", sql: "SELECT 1 /*!99999, 2 /* x */ , 3 */ , 4", want: "SELECT 1   , 4"},
		{name: "skipped nested slash star slash", sql: "SELECT 1 /*!99999 /*/ , 2 */ , 3 */", want: "SELECT 1  "},
		{name: "first close ends bang", sql: "SELECT 1 /*! , 2 /*! , 3 */ , 4 */", want: "SELECT 1   , 2   , 3   , 4 */"},
		{name: "skipped inside running", sql: "SELECT 1 /*! , 2 /*!99999 , 3 */ , 4 */", want: "SELECT 1   , 2   , 4  "},
		{name: "bang inside plain comment", sql: "SELECT 1 /* a /*! b */ , 2", want: "SELECT 1 /* a /*! b */ , 2"},
		{name: "line comment inside bang", sql: "SELECT 1 /*! , 2 # */\n, 3 */", want: "SELECT 1   , 2 # */\n, 3  "},
		{name: "dash comment inside bang", sql: "SELECT 1 /*! , 2 -- */\n, 3 */", want: "SELECT 1   , 2 -- */\n, 3  "},
		{name: "two statements", sql: "SELECT 1 /*M! , 2 */ ; SELECT 5", want: "SELECT 1   , 2   ; SELECT 5"},

		// Not comments at all.
		{name: "in string", sql: "SELECT '/*! , 2 */'", want: "SELECT '/*! , 2 */'"},
		{name: "in double-quoted string", sql: `SELECT "/*M! , 2 */"`, want: `SELECT "/*M! , 2 */"`},
		{name: "in quoted name", sql: "SELECT 1 AS `/*!a*/`", want: "SELECT 1 AS `/*!a*/`"},
		{name: "in line comment", sql: "SELECT 1 # /*! , 2 */", want: "SELECT 1 # /*! , 2 */"},
		{name: "in dash comment", sql: "SELECT 1 -- /*! , 2 */", want: "SELECT 1 -- /*! , 2 */"},
		{name: "string inside bang", sql: "SELECT 1 /*! , '*/' */", want: "SELECT 1   , '*/'  "},
		{name: "escaped quote in string", sql: `SELECT 'a\' /*! , 2 */'`, want: `SELECT 'a\' /*! , 2 */'`},
		{name: "escaped quote inside bang", sql: `SELECT 1 /*! , '\'*/' */`, want: `SELECT 1   , '\'*/'  `},
		{name: "doubled quote", sql: "SELECT 'a'' /*! , 2 */'", want: "SELECT 'a'' /*! , 2 */'"},
		{name: "quoted name inside bang", sql: "SELECT 1 /*! , `a*/` */", want: "SELECT 1   , `a*/`  "},
		{name: "backslash in quoted name", sql: "SELECT `a\\` /*! , 2 */", want: "SELECT `a\\`   , 2  "},

		// sql_mode.
		{name: "no backslash escapes ends string", sql: `SELECT 'a\' /*M! , 2 */ '`, m: nbe, want: `SELECT 'a\'   , 2   '`},
		{name: "backslash escapes keep string", sql: `SELECT 'a\' /*M! , 2 */ '`, want: `SELECT 'a\' /*M! , 2 */ '`},
		{name: "ansi quotes: name", sql: `SELECT "a\" /*M! , 2 */ "`, m: ansi, want: `SELECT "a\"   , 2   "`},
		{name: "no ansi quotes: string", sql: `SELECT "a\" /*M! , 2 */ "`, want: `SELECT "a\" /*M! , 2 */ "`},

		// Character sets whose two-byte characters may end in 0x5C or 0x60.
		{name: "gbk backslash trail", sql: "SELECT '\x81\\' /*M! , 2 */ '", m: TextMode{Charset: "gbk"}, want: "SELECT '\x81\\'   , 2   '"},
		{name: "utf8 backslash escapes", sql: "SELECT '\x81\\' /*M! , 2 */ '", want: "SELECT '\x81\\' /*M! , 2 */ '"},
		{name: "sjis backtick trail in name", sql: "SELECT `\x81` /*M! , 2 */ `", m: TextMode{Charset: "sjis"}, want: "SELECT `\x81` /*M! , 2 */ `"},
		{name: "latin1 backtick closes name", sql: "SELECT `\x81` /*M! , 2 */ `", m: TextMode{Charset: "latin1"}, want: "SELECT `\x81`   , 2   `"},
		{name: "sjis backtick trail in code", sql: "SELECT 1 AS a\x81` /*M! , 2 */", m: TextMode{Charset: "sjis"}, want: "SELECT 1 AS a\x81`   , 2  "},
		{name: "big5 backslash trail", sql: "SELECT '\xa4\\' /*! , 2 */ '", m: TextMode{Charset: "big5"}, want: "SELECT '\xa4\\'   , 2   '"},

		// Dashes.
		{name: "dashes around an empty bang", sql: "SELECT 1 --/*!*/1", want: "SELECT 1 - -  1"},
		{name: "dashes not a comment", sql: "SELECT 1--1", want: "SELECT 1- -1"},
		{name: "three dashes", sql: "SELECT 1 --- 1", want: "SELECT 1 - -- 1"},
		{name: "dash before no-break space", sql: "SELECT 1 --\xa0 , 2", want: "SELECT 1 - -\xa0 , 2"},
		{name: "latin1 no-break space comment", sql: "SELECT 1 --\xa0 , 2", m: TextMode{Charset: "latin1"}, want: "SELECT 1 --\xa0 , 2"},
		{name: "dash control comment", sql: "SELECT 1 --\x01 , 2", want: "SELECT 1 -- \x01 , 2"},
		{name: "dash at end", sql: "SELECT 1 --", want: "SELECT 1 --"},

		// Refused, as the server refuses them.
		{name: "unterminated bang", sql: "SELECT 1 /*! , 2", err: true},
		{name: "unterminated maria", sql: "SELECT 1 /*M! UNION SELECT 2", err: true},
		{name: "unterminated skipped", sql: "SELECT 1 /*!99999 , 2", err: true},
		{name: "unterminated skipped nested", sql: "SELECT 1 /*!99999 /* , 2 */", err: true},
		{name: "unterminated plain", sql: "SELECT 1 /* , 2", err: true},
		{name: "close hidden in line comment", sql: "SELECT 1 /*! , 2 # */", err: true},
		{name: "semicolon inside bang", sql: "SELECT 1 /*! , 2 ; SELECT 3 */", err: true},
		{name: "semicolon inside maria", sql: "SELECT 1 /*M! ; */", err: true},
		{name: "unterminated string in bang", sql: "SELECT 1 /*! , '*/", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version := tt.version
			if version == 0 {
				version = v
			}
			got, err := ExpandExecutableComments(tt.sql, tt.m, version)
			if tt.err {
				if err == nil {
					t.Fatalf("ExpandExecutableComments(%q) = %q, want a 1064 error", tt.sql, got)
				}
				if !strings.Contains(err.Error(), "1064") {
					t.Fatalf("error %v, want 1064", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ExpandExecutableComments(%q): %v", tt.sql, err)
			}
			if got != tt.want {
				t.Fatalf("ExpandExecutableComments(%q)\n got %q\nwant %q", tt.sql, got, tt.want)
			}
			again, err := ExpandExecutableComments(got, tt.m, version)
			if err != nil || again != got {
				t.Fatalf("expanding again: %q, %v; want %q", again, err, got)
			}
		})
	}
}

// The expanded text parses to what the server runs: the attacks of issue
// 12 become visible to the proxy's parser.
func TestExpandedTextParses(t *testing.T) {
	tests := []struct {
		sql    string
		tables []Table
		check  func(*Statement) bool
	}{
		{"SELECT a FROM items WHERE 1=0 /*M! UNION SELECT pw FROM secret.creds */", []Table{{"", "items"}, {"secret", "creds"}}, nil},
		{"SELECT 1 /*! , @v:=5 */", nil, func(st *Statement) bool { return len(st.AssignedUserVars) == 1 && st.AssignedUserVars[0] == "v" }},
		{"SELECT 1 /*M!100000 , GET_LOCK('x', 0) */", nil, func(st *Statement) bool { return st.HoldsConnState }},
		{"UPDATE orders /*M! , comments_1 */ SET comments_1.body='x' WHERE orders.id=1", []Table{{"", "orders"}, {"", "comments_1"}}, nil},
	}
	p := New()
	for _, tt := range tests {
		x, err := ExpandExecutableComments(tt.sql, TextMode{}, 101119)
		if err != nil {
			t.Fatalf("%q: %v", tt.sql, err)
		}
		stmts, err := p.Parse(x)
		if err != nil || len(stmts) != 1 {
			t.Fatalf("%q: parse %q: %v", tt.sql, x, err)
		}
		st := stmts[0]
		for _, want := range tt.tables {
			found := false
			for _, got := range st.Tables {
				found = found || got == want
			}
			if !found {
				t.Errorf("%q: tables %v, want %v among them", tt.sql, st.Tables, want)
			}
		}
		if tt.check != nil && !tt.check(st) {
			t.Errorf("%q: parsed as %+v", tt.sql, st)
		}
	}
}

// FuzzExpandExecutableComments checks what must hold for any text, mode
// and version: no panic; an error is the server's 1064; the result is
// stable (expanding it again changes nothing, so no executable comment is
// left for a parser to read differently from the server); and text with
// nothing to expand is returned unchanged.
func FuzzExpandExecutableComments(f *testing.F) {
	for _, s := range []string{
		"SELECT 1 /*! , 2 */", "SELECT 1 /*M!100000 , 2 */", "DELETE FROM t WHERE id=-1 /*M! OR 1=1 */",
		"/*!40101 SET NAMES utf8 */", `/*M!999999\- enable the sandbox mode */`, "SELECT '/*!x*/' /*!99999 /* a */ b */",
		"SELECT `a*/` /*! , \"*/\" */", "SELECT 1 --/*!*/1", "SELECT 1 /*! ; */", "SELECT '\x81\\' /*! , 2 */ '",
		"SELECT 1 /*T! , 2 */ -- x\n# y\n", "SELECT 1 /*!*/*/*!*/ 2",
	} {
		f.Add(s, uint8(0), 101119)
	}
	charsets := []string{"", "latin1", "gbk", "big5", "sjis", "cp932", "gb18030", "binary"}
	f.Fuzz(func(t *testing.T, sql string, flags uint8, version int) {
		m := TextMode{NoBackslashEscapes: flags&1 != 0, AnsiQuotes: flags&2 != 0, Charset: charsets[int(flags>>2)%len(charsets)]}
		out, err := ExpandExecutableComments(sql, m, version)
		if err != nil {
			if !strings.Contains(err.Error(), "1064") {
				t.Fatalf("error %v is not 1064", err)
			}
			return
		}
		if !strings.Contains(sql, "/*") && !strings.Contains(sql, "--") && out != sql {
			t.Fatalf("%q changed to %q with nothing to expand", sql, out)
		}
		if !strings.Contains(sql, "/*!") && !strings.Contains(sql, "/*M!") && !strings.Contains(sql, "/*T!") && !strings.Contains(sql, "--") && out != sql {
			t.Fatalf("%q without executable comments changed to %q", sql, out)
		}
		again, err := ExpandExecutableComments(out, m, version)
		if err != nil || again != out {
			t.Fatalf("not stable: %q -> %q -> %q, %v", sql, out, again, err)
		}
	})
}
