package parser

// Executable comments. MariaDB runs the text of /*! … */, /*!NNNNN … */,
// /*M! … */ and /*M!NNNNNN … */ as SQL, while TiDB's parser, which the proxy
// uses, reads some of them as plain comments (/*M!) and others as code
// whatever their version (/*!99999, and /*T!, which MariaDB ignores). Any
// such disagreement lets a client hide SQL from the proxy (a UNION into an
// undeclared schema, an OR 1=1 in a DELETE) or make the proxy run SQL the
// server would have ignored. ExpandExecutableComments therefore rewrites a
// statement into the text MariaDB's lexer actually reads, before anything
// parses it, and that rewritten text is also what goes to the backends: the
// proxy and the server then read the same SQL by construction.
//
// The rules follow Lex_input_stream::lex_one_token (MY_LEX_LONG_COMMENT,
// MY_LEX_END_LONG_COMMENT) and consume_comment in MariaDB's sql/sql_lex.cc,
// checked against a 10.11 server:
//   - "/*!" or "/*M!" ("M" upper case only) opens an executable comment. When
//     five digits follow, they (and a sixth digit, if there is one) are a
//     version: MMmmpp. The content runs when version <= the server's, except
//     that a /*! comment (not /*M!) with a MySQL 5.7+ version, 50700-99999,
//     never runs. No space is needed after the digits; further digits
//     belong to the content. With fewer than five digits the comment always
//     runs, digits included.
//   - A comment that runs is lexed as ordinary SQL: strings, quoted names,
//     other comments inside it are themselves, and the first "*/" at token
//     level ends it (there is no nesting: a second /*! inside does not need a
//     second "*/"). A ";" inside it is a syntax error.
//   - A comment that does not run is skipped to its "*/", allowing one
//     level of /* … */ inside it. A plain /* comment ends at the first "*/".
//   - Markers are token boundaries; "/*+" is a plain comment in 10.11 (no
//     optimizer hints), and so is "/*T!".
//   - Strings end as the server's lexer ends them: backslash escapes unless
//     NO_BACKSLASH_ESCAPES, doubled quotes, "…" a name under ANSI_QUOTES, and
//     in gbk, big5, sjis and cp932 a two-byte character whose second byte is
//     0x5C or 0x60 is one character, not an escape or a quote.
//   - An unterminated comment of any kind is a syntax error (1064).

import (
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// DefaultServerVersion is the version executable comments are compared with
// while the proxy knows no backend's version yet: 10.11.0, the oldest
// server of the series the proxy is built for, so a comment is never run
// for a feature the backends may lack.
const DefaultServerVersion = 101100

// ExpandExecutableComments returns sql as a MariaDB server of version
// serverVersion (major*10000 + minor*100 + patch, e.g. 101119) lexes it in
// mode m: the markers and closing "*/" of executable comments that run are
// replaced by a space (so the content is plain SQL), executable comments
// that do not run and /*T! comments are replaced by a space, and "--" that is
// not a comment is written "- -" so that no parser can take it for one. The
// result contains no executable comment; expanding it again changes nothing.
// Text without "/*" or "--" is returned as it is. An executable comment
// without its "*/", or a ";" inside one, is the server's syntax error 1064;
// so is any unterminated /* comment.
func ExpandExecutableComments(sql string, m TextMode, serverVersion int) (string, error) {
	if !strings.Contains(sql, "/*") && !strings.Contains(sql, "--") {
		return sql, nil
	}
	x := expander{sql: sql, m: m, version: serverVersion, mbLen: mbCharLen(m.charset())}
	return x.run()
}

type expander struct {
	sql     string
	m       TextMode
	version int
	mbLen   func(s string, i int) int
	out     strings.Builder
	// done is how much of sql has been copied to out, or replaced.
	done int
	// inExec: the lexer is inside an executable comment that runs; the next
	// "*/" at token level ends it.
	inExec bool
	// execStart is where that comment began, for the error message.
	execStart int
}

// replace writes text in place of sql[from:to]; everything before from is
// copied unchanged first.
func (x *expander) replace(from, to int, text string) {
	if x.out.Len() == 0 {
		x.out.Grow(len(x.sql))
	}
	x.out.WriteString(x.sql[x.done:from])
	x.out.WriteString(text)
	x.done = to
}

func (x *expander) run() (string, error) {
	s := x.sql
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c >= 0x80 && x.mbLen != nil:
			// A two-byte character may end in 0x5C or 0x60: it is part of
			// a name, never a backslash or a backtick.
			i += x.mbLen(s, i)
		case c == '\'' || (c == '"' && !x.m.AnsiQuotes):
			i = x.skipString(i, c, !x.m.NoBackslashEscapes)
		case c == '`' || c == '"':
			i = x.skipString(i, c, false)
		case c == '#':
			i = lineEnd(s, i)
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			if i+2 == len(s) || s[i+2] <= ' ' || s[i+2] == 0x7f || (s[i+2] == 0xa0 && x.m.charset() == "latin1") {
				// The server's comment: "--" and a space or control
				// character of the session's character set (latin1's
				// no-break space counts). TiDB's lexer wants a space proper
				// after it, so one is inserted before another control.
				if i+2 < len(s) && !isTiDBSpace(s[i+2]) {
					x.replace(i, i+2, "-- ")
				}
				i = lineEnd(s, i)
				break
			}
			// Two minus signs, not a comment for the server; written apart
			// so that no parser can read them as one (TiDB takes "--"
			// before a non-ASCII space for a comment).
			x.replace(i, i+1, "- ")
			i++
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			var err error
			if i, err = x.comment(i); err != nil {
				return "", err
			}
		case c == '*' && x.inExec && i+1 < len(s) && s[i+1] == '/':
			x.replace(i, i+2, " ")
			x.inExec = false
			i += 2
		case c == ';' && x.inExec:
			return "", syntaxError(s, i+1)
		default:
			i++
		}
	}
	if x.inExec {
		return "", syntaxError(s, x.execStart)
	}
	if x.out.Len() == 0 && x.done == 0 {
		return s, nil
	}
	x.out.WriteString(s[x.done:])
	return x.out.String(), nil
}

// comment handles the comment that opens at i ("/*") and returns where the
// scan goes on.
func (x *expander) comment(i int) (int, error) {
	s := x.sql
	rest := s[i+2:]
	maria := strings.HasPrefix(rest, "M!")
	if !maria && !strings.HasPrefix(rest, "!") {
		// Plain comment: to the first "*/", no nesting.
		end := strings.Index(rest, "*/")
		if end < 0 {
			return 0, syntaxError(s, i)
		}
		next := i + 2 + end + 2
		if strings.HasPrefix(rest, "T!") {
			// MariaDB ignores it; TiDB would read its content as code.
			x.replace(i, next, " ")
		}
		return next, nil
	}
	body := i + 3
	if maria {
		body = i + 4
	}
	run := true
	if n := versionDigits(s[body:]); n > 0 {
		v := 0
		for _, d := range s[body : body+n] {
			v = v*10 + int(d-'0')
		}
		body += n
		run = v <= x.version && (v < 50700 || v > 99999 || maria)
	}
	if run {
		if !x.inExec {
			x.execStart = i
		}
		x.inExec = true
		x.replace(i, body, " ")
		return body, nil
	}
	// Not for this server: skipped, with one level of /* … */ allowed
	// inside. An enclosing executable comment stays open.
	next, ok := skipVersionedComment(s, body)
	if !ok {
		return 0, syntaxError(s, i)
	}
	x.replace(i, next, " ")
	return next, nil
}

// versionDigits returns how many bytes of s are a comment's version
// number: 5, or 6 when a sixth digit follows; 0 when s does not start
// with five digits.
func versionDigits(s string) int {
	if len(s) < 5 {
		return 0
	}
	for k := 0; k < 5; k++ {
		if s[k] < '0' || s[k] > '9' {
			return 0
		}
	}
	if len(s) > 5 && s[5] >= '0' && s[5] <= '9' {
		return 6
	}
	return 5
}

// skipVersionedComment returns the index after the "*/" that ends a skipped
// versioned comment whose content starts at i. As in the server, a "/*"
// inside opens one nested comment, which its own "*/" closes.
func skipVersionedComment(s string, i int) (int, bool) {
	for i < len(s) {
		switch {
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return 0, false
			}
			i += 2 + end + 2
		case strings.HasPrefix(s[i:], "*/"):
			return i + 2, true
		default:
			i++
		}
	}
	return 0, false
}

// skipString returns the index after the quote that closes the string or
// quoted name opening at i, or the end of the text when it is not closed
// (the server then fails on the lone quote, or, for a name, reads it to the
// end). Two-byte characters of the session's character set are skipped
// whole, as the server's get_text and scan_ident_delimited do.
func (x *expander) skipString(i int, q byte, backslash bool) int {
	s := x.sql
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c >= 0x80 && x.mbLen != nil:
			j += x.mbLen(s, j) - 1
		case c == '\\' && backslash:
			j++
		case c == q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// lineEnd returns the index of the newline ending the line comment at i (or
// the end of the text).
func lineEnd(s string, i int) int {
	if nl := strings.IndexByte(s[i:], '\n'); nl >= 0 {
		return i + nl
	}
	return len(s)
}

// isTiDBSpace is what TiDB's lexer accepts after "--": unicode.IsSpace of
// the byte taken as a rune.
func isTiDBSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == 0x85 || c == 0xa0
}

// syntaxError is the server's 1064 for a statement it cannot lex, near the
// text from i.
func syntaxError(s string, i int) error {
	near := s[min(i, len(s)):]
	if len(near) > 80 {
		near = near[:80]
	}
	return wire.Errorf(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '%s' at line %d", near, 1+strings.Count(s[:min(i, len(s))], "\n"))
}

// mbCharLen returns, for the character sets whose two-byte characters may
// end in an ASCII byte (gbk, big5, sjis, cp932, gb18030), the length of the
// character at s[i] after MariaDB's ismbchar: 2 (or 4) for a well formed
// multibyte character, 1 otherwise. Other character sets need no such care
// (their multibyte characters hold no quote, backslash, backtick, "*", "/",
// "-" or ";"), and get nil.
func mbCharLen(cs string) func(s string, i int) int {
	two := func(lead, trail func(byte) bool) func(string, int) int {
		return func(s string, i int) int {
			if lead(s[i]) && i+1 < len(s) && trail(s[i+1]) {
				return 2
			}
			return 1
		}
	}
	switch cs {
	case "gbk":
		return two(in(0x81, 0xfe), func(c byte) bool { return in(0x40, 0x7e)(c) || in(0x80, 0xfe)(c) })
	case "big5":
		return two(in(0xa1, 0xf9), func(c byte) bool { return in(0x40, 0x7e)(c) || in(0xa1, 0xfe)(c) })
	case "sjis", "cp932":
		return two(func(c byte) bool { return in(0x81, 0x9f)(c) || in(0xe0, 0xfc)(c) },
			func(c byte) bool { return in(0x40, 0x7e)(c) || in(0x80, 0xfc)(c) })
	case "gb18030":
		lead, digit := in(0x81, 0xfe), in(0x30, 0x39)
		pair := two(lead, func(c byte) bool { return in(0x40, 0x7e)(c) || in(0x80, 0xfe)(c) })
		return func(s string, i int) int {
			if lead(s[i]) && i+3 < len(s) && digit(s[i+1]) && lead(s[i+2]) && digit(s[i+3]) {
				return 4
			}
			return pair(s, i)
		}
	}
	return nil
}
