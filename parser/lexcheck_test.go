package parser

import (
	"testing"
)

func TestCheckLexable(t *testing.T) {
	const (
		big5Xu   = "\xb3\x5c" // 許: second byte is a backslash
		sjisSo   = "\x83\x5c" // ソ: second byte is a backslash
		gbkTick  = "\x81\x60" // second byte is a backtick
		gbkPipe  = "\x81\x7c" // second byte is '|'
		gbkPlain = "\xc4\xe3" // 你: both bytes above 0x7F
	)
	tests := []struct {
		name    string
		sql     string
		mode    TextMode
		refused bool
	}{
		{"utf8mb4 never", "SELECT '" + big5Xu + "'", TextMode{Charset: "utf8mb4"}, false},
		{"latin1 never", "SELECT '" + big5Xu + "'", TextMode{Charset: "latin1"}, false},
		{"euckr has no ASCII trail bytes", "SELECT '\xb0\x5c'", TextMode{Charset: "euckr"}, false},
		{"big5 backslash trail in a string", "SELECT '" + big5Xu + "' OR 1=1 -- '", TextMode{Charset: "big5"}, true},
		{"sjis backslash trail in a string", "INSERT INTO t VALUES ('" + sjisSo + "')", TextMode{Charset: "sjis"}, true},
		{"cp932 like sjis", "SELECT \"" + sjisSo + "\"", TextMode{Charset: "cp932"}, true},
		{"gbk backslash trail, double quotes", "SELECT \"\x81\x5c\"", TextMode{Charset: "gbk"}, true},
		{"no backslash escapes: a trail backslash is harmless in a string", "SELECT '" + big5Xu + "'", TextMode{Charset: "big5", NoBackslashEscapes: true}, false},
		{"no backslash escapes still guards names", "SELECT 1 AS `" + gbkTick + "`", TextMode{Charset: "gbk", NoBackslashEscapes: true}, true},
		{"backtick trail inside a quoted name", "SELECT `a" + gbkTick + "b` FROM t", TextMode{Charset: "gbk"}, true},
		{"backtick trail inside a string is harmless", "SELECT '" + gbkTick + "'", TextMode{Charset: "gbk"}, false},
		{"operator trail outside quotes", "SELECT a" + gbkPipe + "b FROM t", TextMode{Charset: "gbk"}, true},
		{"letter trail outside quotes", "SELECT a\x81\x41b FROM t", TextMode{Charset: "gbk"}, false},
		{"plain multibyte text", "SELECT '" + gbkPlain + "', `" + gbkPlain + "` FROM t WHERE c = '" + gbkPlain + "'", TextMode{Charset: "gbk"}, false},
		{"in a comment", "SELECT 1 /* " + big5Xu + " */", TextMode{Charset: "big5"}, false},
		{"in a line comment", "SELECT 1 -- " + big5Xu + "\n", TextMode{Charset: "big5"}, false},
		{"in an executable comment's string", "SELECT 1 /*! , '" + big5Xu + "' */", TextMode{Charset: "big5"}, true},
		{"escaped lead byte: the trail is read alone in both readings", "SELECT '\\\xb3\\\\'", TextMode{Charset: "big5"}, false},
		{"ANSI_QUOTES name: a backslash trail is harmless", "SELECT \"" + big5Xu + "\" FROM t", TextMode{Charset: "big5", AnsiQuotes: true}, false},
		{"after a doubled quote", "SELECT 'it''s " + big5Xu + "'", TextMode{Charset: "big5"}, true},
		{"gb18030 four-byte characters have digits only", "SELECT '\x81\x30\x81\x30'", TextMode{Charset: "gb18030"}, false},
		{"truncated lead byte at the end", "SELECT 1 \xb3", TextMode{Charset: "big5"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLexable(tc.sql, tc.mode)
			if (err != nil) != tc.refused {
				t.Fatalf("CheckLexable(%q, %+v) = %v, want refused=%v", tc.sql, tc.mode, err, tc.refused)
			}
		})
	}
}

// FuzzCheckLexable: no input panics, and text in a character set without
// ASCII trailing bytes is never refused.
func FuzzCheckLexable(f *testing.F) {
	f.Add("SELECT '\xb3\x5c'", "big5")
	f.Add("SELECT `\x81\x60`", "gbk")
	f.Fuzz(func(t *testing.T, sql, cs string) {
		_ = CheckLexable(sql, TextMode{Charset: cs})
		if err := CheckLexable(sql, TextMode{Charset: "utf8mb4"}); err != nil {
			t.Fatalf("utf8mb4 text refused: %v", err)
		}
	})
}
