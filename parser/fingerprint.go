package parser

import (
	"strings"

	tidb "github.com/pingcap/tidb/pkg/parser"
)

// Fingerprint is a statement's text with its literals replaced by ? (a list
// of values by "..."), comments dropped, keywords and identifiers in lower
// case and spaces normalised, by the TiDB parser's own normaliser: the
// statements an application sends with different values share one
// fingerprint. Operators' switches (SHARDGATE BLOCK) match it; a statement
// the lexer cannot read is its own text, trimmed and lower-cased.
func Fingerprint(sql string) string {
	fp := strings.TrimSpace(tidb.Normalize(sql, "ON"))
	if fp == "" {
		return strings.ToLower(strings.TrimSpace(sql))
	}
	return fp
}

// FingerprintIn is Fingerprint of a statement a client wrote under m. The
// normaliser reads text as the default sql_mode does, so the quotes are
// first rewritten the way that mode reads them: under NO_BACKSLASH_ESCAPES
// a backslash in a string is doubled ('a\' is a whole string there), and
// under ANSI_QUOTES "…" becomes the name `…`. Otherwise a client could
// change its fingerprint, and get past a block, by changing its sql_mode.
func FingerprintIn(sql string, m TextMode) string {
	if m.NoBackslashEscapes || m.AnsiQuotes {
		sql = defaultQuoting(sql, m)
	}
	return Fingerprint(sql)
}

// defaultQuoting writes sql's strings and quoted names as the default
// sql_mode reads them; comments and the rest are copied.
func defaultQuoting(sql string, m TextMode) string {
	var b strings.Builder
	b.Grow(len(sql) + 8)
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == '`':
			end := min(skipQuoted(sql, i, '`', false)+1, len(sql))
			b.WriteString(sql[i:end])
			i = end - 1
		case c == '\'' || (c == '"' && !m.AnsiQuotes):
			end := min(skipQuoted(sql, i, c, !m.NoBackslashEscapes)+1, len(sql))
			s := sql[i:end]
			if m.NoBackslashEscapes {
				s = strings.ReplaceAll(s, `\`, `\\`)
			}
			b.WriteString(s)
			i = end - 1
		case c == '"': // a name under ANSI_QUOTES
			end := skipQuoted(sql, i, '"', false)
			name := strings.ReplaceAll(sql[i+1:min(end, len(sql))], `""`, `"`)
			b.WriteString("`" + strings.ReplaceAll(name, "`", "``") + "`")
			i = min(end, len(sql)-1)
		case c == '#' || (c == '-' && strings.HasPrefix(sql[i:], "--") && (i+2 == len(sql) || sql[i+2] <= ' ')):
			end := len(sql)
			if nl := strings.IndexByte(sql[i:], '\n'); nl >= 0 {
				end = i + nl
			}
			b.WriteString(sql[i:end])
			i = end - 1
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			end := len(sql)
			if e := strings.Index(sql[i+2:], "*/"); e >= 0 {
				end = i + 2 + e + 2
			}
			b.WriteString(sql[i:end])
			i = end - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
