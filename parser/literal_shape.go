package parser

import "strings"

// LiteralShape is a statement's text with each literal replaced by a mark
// of its kind (integer, decimal, string), everything else — names,
// keywords, operators, comments, spaces — kept byte for byte. Texts an
// application sends with different values have one shape; texts with one
// shape parse into the same tree but for the literals' values, so anything
// the proxy decides from a statement's names and structure alone (not from
// its values) may be decided once per shape.
//
// The scan reads quotes and comments as the server does under m
// (NO_BACKSLASH_ESCAPES, ANSI_QUOTES). It gives up (ok false) wherever a
// byte-wise reading of the text could be unsure: a character set other
// than the UTF-8 and single-byte ones, a ? (a placeholder has no place in
// a query), a number written with an exponent or starting with a point,
// an unterminated quote or comment.
//
// Unlike Fingerprint (TiDB's normaliser, for operators' switches and the
// slow log: case and spaces folded, lists collapsed), nothing is folded
// here, so a shape never stands for two different statements.
func LiteralShape(sql string, m TextMode) (shape string, ok bool) {
	key, _, ok := LiteralShapeKey(sql, m, nil)
	return key, ok
}

// TextLiteral is where a literal sits in a statement's text, and its kind.
type TextLiteral struct {
	Start, End int
	Kind       LiteralKind
}

// LiteralKind is the kind of literal a shape marks.
type LiteralKind byte

const (
	LiteralInt     LiteralKind = 'i' // digits
	LiteralDecimal LiteralKind = 'd' // digits.digits
	LiteralString  LiteralKind = 's' // a quoted string, quotes included
)

// LiteralShapeKey is the prefixes followed by sql's LiteralShape, built in
// one string (a cache key), and the literals appended to lits in the
// order of the text.
func LiteralShapeKey(sql string, m TextMode, lits []TextLiteral, prefix ...string) (key string, _ []TextLiteral, ok bool) {
	switch m.charset() {
	case "utf8mb4", "utf8mb3", "latin1", "ascii", "binary":
	default:
		return "", lits, false
	}
	n := len(sql)
	for _, p := range prefix {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range prefix {
		b.WriteString(p)
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case (c == '\'' || c == '"') && i > 0 && sql[i-1] == '@':
			// @'name' is a user variable, not a string.
			end := skipQuoted(sql, i, c, !m.NoBackslashEscapes)
			if end >= len(sql) {
				return "", lits, false
			}
			b.WriteString(sql[i : end+1])
			i = end + 1
		case c == '\'' || c == '"' && !m.AnsiQuotes:
			end := skipQuoted(sql, i, c, !m.NoBackslashEscapes)
			if end >= len(sql) {
				return "", lits, false
			}
			b.WriteString("\x00s")
			lits = append(lits, TextLiteral{i, end + 1, LiteralString})
			i = end + 1
		case c == '`' || c == '"':
			end := skipQuoted(sql, i, c, false)
			if end >= len(sql) {
				return "", lits, false
			}
			b.WriteString(sql[i : end+1])
			i = end + 1
		case c == '#' || c == '-' && strings.HasPrefix(sql[i:], "--") && (i+2 == len(sql) || sql[i+2] <= ' '):
			end := len(sql)
			if nl := strings.IndexByte(sql[i:], '\n'); nl >= 0 {
				end = i + nl
			}
			b.WriteString(sql[i:end])
			i = end
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			e := strings.Index(sql[i+2:], "*/")
			if e < 0 || strings.HasPrefix(sql[i:], "/*!") || strings.HasPrefix(sql[i:], "/*M!") {
				// Executable comments are expanded before this; one
				// left is not read here.
				return "", lits, false
			}
			end := i + 2 + e + 2
			b.WriteString(sql[i:end])
			i = end
		case c == '?' || c == 0:
			return "", lits, false // a placeholder, or a byte the marks use
		case c == '.' && i+1 < len(sql) && isDigit(sql[i+1]):
			return "", lits, false // .5, or a name after a qualifier that starts with a digit
		case isWordByte(c) || c >= 0x80:
			j := i
			for j < len(sql) && (isWordByte(sql[j]) || sql[j] >= 0x80) {
				j++
			}
			word := sql[i:j]
			if !isDigits(word) {
				// A name or keyword; also 0x1F, 1e5, 12abc: kept as
				// written (a new shape for every value, never a wrong one).
				b.WriteString(word)
				i = j
				continue
			}
			if j < len(sql) && sql[j] == '.' {
				k := j + 1
				for k < len(sql) && isDigit(sql[k]) {
					k++
				}
				if k == j+1 || k < len(sql) && (isWordByte(sql[k]) || sql[k] >= 0x80 || sql[k] == '.') {
					return "", lits, false // 1., 1.5e3, 1.5.6
				}
				b.WriteString("\x00d")
				lits = append(lits, TextLiteral{i, k, LiteralDecimal})
				i = k
				continue
			}
			b.WriteString("\x00i")
			lits = append(lits, TextLiteral{i, j, LiteralInt})
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), lits, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// AtTopLevel reports whether each of the offsets of sql (ascending) is
// outside every string, quoted name and comment as a server reads the text
// under m: text written there is read as SQL of its own, never as part of
// a quoted name (where a client's literal could close the quote).
func AtTopLevel(sql string, offsets []int, m TextMode) bool {
	k := 0
	for i := 0; i <= len(sql) && k < len(offsets); {
		for k < len(offsets) && offsets[k] == i {
			k++
		}
		if k < len(offsets) && offsets[k] < i {
			return false // inside the token just skipped
		}
		if i == len(sql) {
			break
		}
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(sql, i, c, c != '`' && !(c == '"' && m.AnsiQuotes) && !m.NoBackslashEscapes) + 1
		case c == '#' || c == '-' && strings.HasPrefix(sql[i:], "--") && (i+2 == len(sql) || sql[i+2] <= ' '):
			end := len(sql)
			if nl := strings.IndexByte(sql[i:], '\n'); nl >= 0 {
				end = i + nl
			}
			i = end
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			end := len(sql)
			if e := strings.Index(sql[i+2:], "*/"); e >= 0 {
				end = i + 2 + e + 2
			}
			i = end
		default:
			i++
		}
	}
	return k == len(offsets)
}
