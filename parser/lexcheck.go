package parser

import (
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// CheckLexable refuses query text that the proxy's parser could read
// differently from the server.
//
// TiDB's lexer reads text byte by byte (as UTF-8). In gbk, big5, sjis,
// cp932 and gb18030 the second byte of a character can be an ASCII byte
// such as 0x5C (backslash) or 0x60 (backtick); the server, which reads
// those character sets character by character, sees the character where a
// byte-wise lexer sees a backslash escaping the quote after it, or the end
// of a quoted name, or an operator inside a name. The two readings then
// disagree about where a string ends, which is exactly how text smuggles
// SQL past a proxy. So the text is scanned the way MariaDB's lexer scans
// it, and it is refused when a character's trailing byte is one that would
// change a byte-wise reading at that place. Everywhere else the readings
// are the same: outside such characters both lexers see the same ASCII
// bytes, and a backslash skips exactly one following byte in both.
//
// Other character sets have no such characters (utf8mb3/4, euckr, gb2312,
// ujis use only bytes of 0x80 and above, or letters, after a lead byte).
func CheckLexable(sql string, m TextMode) error {
	cs := m.charset()
	width := mbCharLen(cs)
	if width == nil {
		return nil
	}
	state := lexNormal
	for i := 0; i < len(sql); {
		if n := width(sql, i); n > 1 {
			for _, t := range []byte(sql[i+1 : i+n]) {
				if t < 0x80 && significantIn(state, t, m) {
					return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET,
						"shardgate: this statement holds a %s character whose byte 0x%02X ('%c') a byte-wise reading would take for SQL; the proxy refuses it rather than misread it (write such a value as CONVERT(X'…' USING %s))",
						cs, t, t, cs)
				}
			}
			i += n
			continue
		}
		c := sql[i]
		switch state {
		case lexNormal:
			switch {
			case c == '\'':
				state = lexSingle
			case c == '"' && m.AnsiQuotes:
				state = lexAnsiName
			case c == '"':
				state = lexDouble
			case c == '`':
				state = lexBacktick
			case c == '#':
				state = lexLineComment
			case c == '-' && i+2 < len(sql) && sql[i+1] == '-' && (sql[i+2] == ' ' || sql[i+2] == '\t' || sql[i+2] == '\n' || sql[i+2] == '\r'):
				state = lexLineComment
			case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
				// An executable comment (/*! … */, /*M! … */) holds SQL
				// the server runs: its body is read as normal text. A
				// plain comment is read to its end.
				if i+2 < len(sql) && (sql[i+2] == '!' || sql[i+2] == 'M' && i+3 < len(sql) && sql[i+3] == '!') {
					i += 3
					continue
				}
				state = lexBlockComment
				i += 2
				continue
			}
		case lexSingle, lexDouble:
			quote := byte('\'')
			if state == lexDouble {
				quote = '"'
			}
			switch {
			case c == '\\' && !m.NoBackslashEscapes:
				i += 2 // the escaped byte, whatever it is, in both readings
				continue
			case c == quote:
				if i+1 < len(sql) && sql[i+1] == quote {
					i += 2
					continue
				}
				state = lexNormal
			}
		case lexBacktick:
			if c == '`' {
				state = lexNormal // a doubled `` reopens at once: same result
			}
		case lexAnsiName:
			if c == '"' {
				state = lexNormal
			}
		case lexLineComment:
			if c == '\n' {
				state = lexNormal
			}
		case lexBlockComment:
			if c == '*' && i+1 < len(sql) && sql[i+1] == '/' {
				state = lexNormal
				i += 2
				continue
			}
		}
		i++
	}
	return nil
}

type lexState int

const (
	lexNormal lexState = iota
	lexSingle
	lexDouble
	lexBacktick
	lexAnsiName // "…" under ANSI_QUOTES: a name, no backslash escapes
	lexLineComment
	lexBlockComment
)

// significantIn reports whether a byte-wise lexer in state s would read
// ASCII byte t as something other than an ordinary character of the token
// it is in.
func significantIn(s lexState, t byte, m TextMode) bool {
	switch s {
	case lexNormal:
		// The server reads a multibyte character outside quotes as part
		// of a name; a byte-wise reading sees an operator or a quote.
		return !(t >= 'a' && t <= 'z' || t >= 'A' && t <= 'Z' || t >= '0' && t <= '9' || t == '_' || t == '$')
	case lexSingle, lexDouble:
		return t == '\\' && !m.NoBackslashEscapes || t == '\'' || t == '"'
	case lexBacktick:
		return t == '`'
	case lexAnsiName:
		return t == '"'
	}
	// Comments end on '*/' or a newline, neither of which is ever a
	// trailing byte.
	return false
}
