package parser

import (
	"regexp"
	"strings"
)

// Split cuts a multi-statement query into its statements at the semicolons
// that are not inside a quoted string, a quoted name or a comment, the way
// the server's lexer sees them in mode m (backslash escapes only without
// NO_BACKSLASH_ESCAPES). Empty pieces are dropped; each piece keeps its
// text as written (without the semicolon). A stored-program definition
// (CREATE PROCEDURE ... BEGIN ...; ...; END) runs to the end of the text:
// its body's semicolons do not end it.
func Split(sql string, m TextMode) []string {
	var out []string
	start := 0
	emit := func(end int) {
		if piece := strings.TrimSpace(sql[start:end]); piece != "" {
			out = append(out, piece)
		}
	}
	for i := 0; i < len(sql); i++ {
		if end, ok := skipNonCode(sql, i, m); ok {
			i = end
			continue
		}
		switch sql[i] {
		case ';':
			emit(i)
			start = i + 1
			if IsStoredProgram(sql[start:]) {
				emit(len(sql))
				return out
			}
		}
	}
	if start < len(sql) {
		emit(len(sql))
	}
	return out
}

// skipNonCode reports whether a quoted string or name or a comment starts
// at sql[i], and if so the index of its last byte (or the end of the text).
func skipNonCode(sql string, i int, m TextMode) (int, bool) {
	switch c := sql[i]; {
	case c == '\'' || c == '"' || c == '`':
		return skipQuoted(sql, i, c, c != '`' && !(c == '"' && m.AnsiQuotes) && !m.NoBackslashEscapes), true
	case c == '#' || (c == '-' && strings.HasPrefix(sql[i:], "--") && (i+2 == len(sql) || sql[i+2] <= ' ')):
		if nl := strings.IndexByte(sql[i:], '\n'); nl >= 0 {
			return i + nl, true
		}
		return len(sql), true
	case c == '/' && strings.HasPrefix(sql[i:], "/*"):
		if end := strings.Index(sql[i+2:], "*/"); end >= 0 {
			return i + end + 3, true
		}
		return len(sql), true
	}
	return i, false
}

// skipQuoted returns the index of the quote closing the one at i (or the
// end of the text): a doubled quote stands for itself, and so does a
// backslash-escaped one when backslash escapes are on.
func skipQuoted(sql string, i int, q byte, backslash bool) int {
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j
		}
	}
	return len(sql)
}

// storedProgram matches the start of a statement whose body holds
// statements of its own, separated by semicolons that do not end it:
// CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT and BEGIN NOT ATOMIC blocks.
var storedProgram = regexp.MustCompile(`(?is)^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*\S+\s+)?(?:AGGREGATE\s+)?(?:PROCEDURE|FUNCTION|TRIGGER|EVENT)\b|BEGIN\s+NOT\s+ATOMIC\b)`)

// IsStoredProgram reports a text that must not be split at its semicolons.
func IsStoredProgram(sql string) bool { return storedProgram.MatchString(sql) }

// LeadingKeyword is the first word of sql after whitespace and comments,
// upper-cased ("" when there is none): what kind of statement the server
// will see, for statements the parser cannot read.
func LeadingKeyword(sql string, m TextMode) string {
	i := 0
	for i < len(sql) {
		if c := sql[i]; c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
			i++
			continue
		}
		if c := sql[i]; c == '\'' || c == '"' || c == '`' {
			return "" // a quoted word is no keyword
		}
		j, skipped := skipNonCode(sql, i, m)
		if !skipped {
			break
		}
		i = j + 1 // j is the comment's last byte
	}
	i = min(i, len(sql))
	j := i
	for j < len(sql) && (sql[j] == '_' || sql[j] >= 'a' && sql[j] <= 'z' || sql[j] >= 'A' && sql[j] <= 'Z') {
		j++
	}
	return strings.ToUpper(sql[i:j])
}
