package parser

import "strings"

// Name is an identifier as a statement writes it: one part (t), or a
// dotted path (s.t, t.c, s.t.c).
type Name []string

// Names scans a statement the parser cannot read for every identifier it
// may name, the way the server's lexer splits it in mode m: words and
// backquoted names, joined by dots into paths. String constants and
// comments are skipped, except executable comments (/*! ... */ and /*M!
// ... */), whose text the server runs. Keywords come out as names too;
// callers compare against names they know.
func Names(sql string, m TextMode) []Name {
	var out []Name
	var cur Name
	dot := false // the last token was a dot following a name
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, dot = nil, false
	}
	add := func(part string) {
		if len(cur) > 0 && !dot {
			flush()
		}
		cur, dot = append(cur, part), false
	}
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == '`':
			end := skipQuoted(sql, i, '`', false)
			add(strings.ReplaceAll(sql[i+1:min(end, len(sql))], "``", "`"))
			i = end
		case c == '\'' || (c == '"' && !m.AnsiQuotes):
			flush()
			i = skipQuoted(sql, i, c, !m.NoBackslashEscapes)
		case c == '"':
			end := skipQuoted(sql, i, '"', false)
			add(strings.ReplaceAll(sql[i+1:min(end, len(sql))], `""`, `"`))
			i = end
		case c == '#' || (c == '-' && strings.HasPrefix(sql[i:], "--") && (i+2 == len(sql) || sql[i+2] <= ' ')):
			flush()
			if nl := strings.IndexByte(sql[i:], '\n'); nl >= 0 {
				i += nl
			} else {
				i = len(sql)
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			flush()
			if strings.HasPrefix(sql[i:], "/*!") || strings.HasPrefix(sql[i:], "/*M!") {
				// Executable: skip the marker and version digits, scan on.
				i += 2
				for i+1 < len(sql) && (sql[i+1] == '!' || sql[i+1] == 'M' || (sql[i+1] >= '0' && sql[i+1] <= '9')) {
					i++
				}
				continue
			}
			if end := strings.Index(sql[i+2:], "*/"); end >= 0 {
				i += end + 3
			} else {
				i = len(sql)
			}
		case c == '*' && strings.HasPrefix(sql[i:], "*/"):
			flush() // the end of an executable comment
			i++
		case c == '.':
			if len(cur) > 0 {
				dot = true
			}
		case isWordByte(c):
			j := i
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			word := sql[i:j]
			if word[0] >= '0' && word[0] <= '9' && isDigits(word) {
				flush() // a number, not a name
			} else {
				add(word)
			}
			i = j - 1
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			// A path may have spaces around its dots (s . t); the next
			// word ends the name unless a dot comes first.
		default:
			flush()
		}
	}
	flush()
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
