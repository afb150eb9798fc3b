package parser

// SQL text: the one place where the proxy produces SQL from values and
// names. Everything that quotes an identifier, renders a value as a literal
// or turns an AST back into text goes through here, so that the escaping
// rules that keep client data from becoming SQL live in one file.
//
// The danger this file guards against: a server reads a quoted string with
// the rules of the connection's sql_mode and character_set_client. Under
// NO_BACKSLASH_ESCAPES a backslash is an ordinary character, so `\'` does not
// escape the quote; in gbk, big5, sjis, cp932 and gb18030 the byte 0x5C can
// be the second byte of a two-byte character, so a byte-wise `\` escape is
// swallowed by the character before it. A rendering that ignores either
// lets a value close its string and continue as SQL.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/charset"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/shardgate/shardgate/wire"
)

// TextMode is how the session's server reads SQL text: from its sql_mode
// (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) and character_set_client. Charset ""
// means utf8mb4, the proxy's default.
type TextMode struct {
	NoBackslashEscapes bool
	AnsiQuotes         bool
	Charset            string
}

// charset is the normalised client character set name.
func (m TextMode) charset() string {
	cs := strings.ToLower(m.Charset)
	switch cs {
	case "":
		return "utf8mb4"
	case "utf8":
		return "utf8mb3"
	}
	return cs
}

// QuoteIdent quotes a name with backticks, doubling any backtick inside.
// Backticks quote names under every sql_mode (ANSI_QUOTES adds double
// quotes, it does not take backticks away). The doubling is byte-wise, which
// is exact for ASCII and UTF-8 names, the only names the proxy itself
// produces; names taken from client SQL are rendered by RestoreIn, which
// knows the session's character set.
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// QuoteString renders a string constant for the proxy's own statements to
// backends (GTIDs, schema names, variable values): the result means the same
// text whatever the connection's sql_mode and character set.
//
// Printable ASCII without `\` and `'` is written as plain '...': every
// character set a client may choose reads those bytes as themselves, and no
// escaping is involved. Anything else is written as _utf8mb4 X'…' (or
// _binary X'…' when s is not UTF-8): a hex literal has no quote or backslash
// for any sql_mode or character set to misread, and the utf8mb4 introducer
// keeps it a character string (compared with the column's collation as a
// quoted literal would be) rather than a binary string. utf8mb4 because
// strings in the proxy are Go strings, which are UTF-8 by convention, and
// because TiDB's parser, which reads the proxy's statements too, accepts that
// introducer.
func QuoteString(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '\\' || c == '\'' {
			plain = false
			break
		}
	}
	switch {
	case plain:
		return "'" + s + "'"
	case utf8.ValidString(s):
		return "_utf8mb4 X'" + hex.EncodeToString([]byte(s)) + "'"
	default:
		return "_binary X'" + hex.EncodeToString([]byte(s)) + "'"
	}
}

// BytesLiteral renders bytes as a hex literal, X'…' (X” when empty): a
// binary string no character set or sql_mode can alter.
func BytesLiteral(b []byte) string {
	out := make([]byte, 0, 3+2*len(b))
	out = append(out, "X'"...)
	out = hex.AppendEncode(out, b)
	return string(append(out, '\''))
}

// StringLiteral renders a value a client supplied (a prepared-statement
// parameter: bytes in the session's character set) so that the server reads
// back exactly those bytes as one string, in every character set MariaDB
// supports and under any sql_mode. Whatever the bytes, the result can never
// end the string early.
//
// Plain quoting (” doubling, and backslash escapes unless
// NO_BACKSLASH_ESCAPES) is used only where it is provably safe, because it is
// cheaper to produce and to read and keeps the session's collation:
//   - ASCII values, in any ASCII-compatible character set: no byte can start
//     a multibyte character, so the server sees each quote and backslash as
//     the character the escaping assumed;
//   - in character sets whose multibyte characters consist only of bytes
//     0x80 and above or letters (utf8mb3/4, euckr, gb2312, ujis, eucjpms)
//     and in single-byte ones, a value valid in that set: 0x5C and 0x27 are
//     always characters of their own there;
//   - in gbk, big5, sjis, cp932 and gb18030, a valid value in which no 0x5C
//     (or 0x27) directly follows a byte of 0x80 or above: such a pair is the
//     only place where the server's reading of the escape could differ from
//     the byte-wise one. 0x27 is never a second byte in these sets.
//
// Everything else is a hex literal with the session character set's
// introducer (_gbk X'…': the same string, with no quote or backslash to
// misread), or X'…' when the bytes are not valid in that character set (or
// the set is one the proxy does not know), as the server would otherwise
// have to convert or reject them.
//
// Note that TiDB's parser, which reads bound statements whose routing
// depends on their values, accepts introducers only for utf8, utf8mb3,
// utf8mb4, ascii, latin1 and binary: such a statement with a hex literal in
// another character set is refused with 1064 until the parser learns the
// other introducers. That is a refusal, never a misreading.
func StringLiteral(v []byte, m TextMode) string {
	cs := m.charset()
	info := charsetInfo(cs)
	if info.kind != kindWide && isASCII(v) {
		return quotePlain(v, m.NoBackslashEscapes)
	}
	switch info.kind {
	case kindSafe:
		if info.valid(v) {
			return quotePlain(v, m.NoBackslashEscapes)
		}
	case kindEscapeUnsafe:
		if info.valid(v) && !ambiguousEscape(v, m.NoBackslashEscapes) {
			return quotePlain(v, m.NoBackslashEscapes)
		}
	}
	return hexLiteral(v, cs, info)
}

// hexLiteral renders v as a hex literal of character set cs.
func hexLiteral(v []byte, cs string, info csInfo) string {
	if cs == "binary" || info.valid == nil || !info.valid(v) || !isCharsetName(cs) {
		return BytesLiteral(v)
	}
	return "_" + cs + " " + BytesLiteral(v)
}

func isASCII(v []byte) bool {
	for _, c := range v {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// isCharsetName guards the introducer: a character set name that came from
// the session must not carry SQL of its own.
func isCharsetName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ambiguousEscape reports a byte the server might read differently from the
// byte-wise escaping: a 0x5C (when backslash escapes are on) or 0x27 right
// after a byte that can start a multibyte character.
func ambiguousEscape(v []byte, noBackslash bool) bool {
	for i := 1; i < len(v); i++ {
		if v[i-1] >= 0x80 && (v[i] == '\'' || v[i] == '\\' && !noBackslash) {
			return true
		}
	}
	return false
}

// quotePlain quotes bytes with ” doubling and, unless noBackslash, the
// backslash escapes the server understands. Only for values StringLiteral
// has found safe to quote byte by byte.
func quotePlain(v []byte, noBackslash bool) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('\'')
	for _, c := range v {
		switch {
		case c == '\'':
			b.WriteString("''")
		case noBackslash:
			b.WriteByte(c)
		case c == '\\':
			b.WriteString(`\\`)
		case c == 0:
			b.WriteString(`\0`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// Character sets as the escaping sees them.
type csKind int

const (
	// kindUnknown: a name the proxy does not know; values that are not
	// ASCII become X'…'.
	kindUnknown csKind = iota
	// kindSafe: no multibyte character holds a byte 0x5C, 0x27 or 0x60.
	kindSafe
	// kindEscapeUnsafe: 0x5C (and 0x60) can be the second byte of a
	// character.
	kindEscapeUnsafe
	// kindWide: not ASCII-compatible (ucs2, utf16, utf32): never a client
	// character set, but if named, only hex is safe.
	kindWide
)

type csInfo struct {
	kind csKind
	// valid reports whether bytes are well formed in the set, after
	// MariaDB's rules for lead and trail bytes (strings/ctype-*.c).
	valid func([]byte) bool
}

func charsetInfo(cs string) csInfo {
	switch cs {
	case "utf8mb4":
		return csInfo{kindSafe, utf8.Valid}
	case "utf8mb3":
		return csInfo{kindSafe, validUTF8MB3}
	case "binary", "latin1", "latin2", "latin5", "latin7", "ascii", "armscii8", "cp1250", "cp1251",
		"cp1256", "cp1257", "cp850", "cp852", "cp866", "dec8", "geostd8", "greek", "hebrew", "hp8",
		"keybcs2", "koi8r", "koi8u", "macce", "macroman", "swe7", "tis620":
		return csInfo{kindSafe, func([]byte) bool { return true }}
	case "euckr":
		return csInfo{kindSafe, validDouble(in(0x81, 0xfe), func(c byte) bool {
			return in(0x41, 0x5a)(c) || in(0x61, 0x7a)(c) || in(0x81, 0xfe)(c)
		})}
	case "gb2312":
		return csInfo{kindSafe, validDouble(in(0xa1, 0xf7), in(0xa1, 0xfe))}
	case "ujis", "eucjpms":
		return csInfo{kindSafe, validEUCJP}
	case "gbk":
		return csInfo{kindEscapeUnsafe, validDouble(in(0x81, 0xfe), func(c byte) bool { return in(0x40, 0x7e)(c) || in(0x80, 0xfe)(c) })}
	case "big5":
		return csInfo{kindEscapeUnsafe, validDouble(in(0xa1, 0xf9), func(c byte) bool { return in(0x40, 0x7e)(c) || in(0xa1, 0xfe)(c) })}
	case "sjis", "cp932":
		return csInfo{kindEscapeUnsafe, validSJIS}
	case "gb18030":
		return csInfo{kindEscapeUnsafe, validGB18030}
	case "ucs2", "utf16", "utf16le", "utf32":
		return csInfo{kind: kindWide}
	}
	return csInfo{kind: kindUnknown}
}

func in(lo, hi byte) func(byte) bool { return func(c byte) bool { return c >= lo && c <= hi } }

func validUTF8MB3(v []byte) bool {
	if !utf8.Valid(v) {
		return false
	}
	for _, c := range v {
		if c >= 0xf0 { // a four-byte sequence
			return false
		}
	}
	return true
}

// validDouble checks a set of ASCII plus two-byte characters.
func validDouble(lead, trail func(byte) bool) func([]byte) bool {
	return func(v []byte) bool {
		for i := 0; i < len(v); i++ {
			switch c := v[i]; {
			case c < 0x80:
			case lead(c) && i+1 < len(v) && trail(v[i+1]):
				i++
			default:
				return false
			}
		}
		return true
	}
}

func validSJIS(v []byte) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x80, c >= 0xa1 && c <= 0xdf: // ASCII, half-width katakana
		case (in(0x81, 0x9f)(c) || in(0xe0, 0xfc)(c)) && i+1 < len(v) && (in(0x40, 0x7e)(v[i+1]) || in(0x80, 0xfc)(v[i+1])):
			i++
		default:
			return false
		}
	}
	return true
}

func validEUCJP(v []byte) bool {
	hi := in(0xa1, 0xfe)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x80:
		case c == 0x8e && i+1 < len(v) && in(0xa1, 0xdf)(v[i+1]):
			i++
		case c == 0x8f && i+2 < len(v) && hi(v[i+1]) && hi(v[i+2]):
			i += 2
		case hi(c) && i+1 < len(v) && hi(v[i+1]):
			i++
		default:
			return false
		}
	}
	return true
}

func validGB18030(v []byte) bool {
	lead, digit := in(0x81, 0xfe), in(0x30, 0x39)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x80:
		case lead(c) && i+3 < len(v) && digit(v[i+1]) && lead(v[i+2]) && digit(v[i+3]):
			i += 3
		case lead(c) && i+1 < len(v) && (in(0x40, 0x7e)(v[i+1]) || in(0x80, 0xfe)(v[i+1])):
			i++
		default:
			return false
		}
	}
	return true
}

// ColumnValueLiteral is SQL text that recreates a value the server returned
// in a text-protocol row described by col: NULL, numbers as they came,
// binary strings as X'…', other strings as _charset X'…' in the column's
// character set (so no character set conversion or sql_mode can alter
// them). The proxy uses it to replay values it read back (variables after
// SET), whatever the session's mode.
func ColumnValueLiteral(col wire.Column, v *string) string {
	if v == nil {
		return "NULL"
	}
	switch col.Type {
	case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONGLONG,
		mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_DECIMAL, mysql.MYSQL_TYPE_NEWDECIMAL,
		mysql.MYSQL_TYPE_FLOAT, mysql.MYSQL_TYPE_DOUBLE:
		// A server writes numbers in plain decimal notation; anything
		// else (it should not happen) is quoted rather than trusted.
		if isNumber(*v) {
			return *v
		}
		return QuoteString(*v)
	}
	if col.Charset == 63 { // binary
		return BytesLiteral([]byte(*v))
	}
	if cs := charsetOfCollation(col.Charset); isCharsetName(cs) {
		return "_" + cs + " " + BytesLiteral([]byte(*v))
	}
	return QuoteString(*v)
}

// isNumber accepts what a server writes for a numeric column: digits with an
// optional sign, point and exponent, or inf/nan spellings are refused.
func isNumber(s string) bool {
	if s == "" {
		return false
	}
	digits := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = true
		case c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E':
		default:
			return false
		}
	}
	return digits
}

// charsetOfCollation names the character set of a collation id, as MariaDB
// spells it (utf8mb3, not utf8); "" when unknown.
func charsetOfCollation(id uint16) string {
	coll, err := charset.GetCollationByID(int(id))
	if err != nil {
		return ""
	}
	if coll.CharsetName == "utf8" {
		return "utf8mb3"
	}
	return coll.CharsetName
}

// RestoreIn renders a statement as SQL text for a session in mode m.
//
// TiDB writes string values byte-wise (” doubling, and `\\` when asked),
// which is right only where StringLiteral would quote the same value
// plainly. So the statement is restored with ” doubling alone, and every
// quoted string of the result is rendered again from its bytes as
// StringLiteral would (backslash escapes only without NO_BACKSLASH_ESCAPES;
// a hex literal where quoting is unsafe in the session's character set).
// Names stay in backticks, which every sql_mode accepts (ANSI_QUOTES only
// adds double quotes); a name that cannot be quoted safely in the session's
// character set is refused.
func RestoreIn(n ast.Node, m TextMode) (string, error) {
	var b strings.Builder
	flags := format.DefaultRestoreFlags | format.RestoreStringWithoutDefaultCharset
	if err := n.Restore(format.NewRestoreCtx(flags, &b)); err != nil {
		return "", err
	}
	return requote(b.String(), m)
}

// requote walks text restored by TiDB (strings in '…' with only ”
// doubling, names in `…`) and renders each string again for mode m.
func requote(sql string, m TextMode) (string, error) {
	cs := m.charset()
	info := charsetInfo(cs)
	var out strings.Builder
	out.Grow(len(sql) + 16)
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' && isHexOrBitPrefix(sql, i):
			// x'..' or b'..' written by TiDB: digits only.
			end := strings.IndexByte(sql[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("restored SQL has an unterminated literal")
			}
			out.WriteString(sql[i : i+end+2])
			i += end + 2
		case c == '\'':
			body, next, err := scanQuoted(sql, i, '\'')
			if err != nil {
				return "", err
			}
			out.WriteString(renderRestored(body, m, hasIntroducer(sql, i)))
			i = next
		case c == '`' || c == '"':
			body, next, err := scanQuoted(sql, i, c)
			if err != nil {
				return "", err
			}
			if info.kind != kindSafe && !isASCII(body) && (info.kind != kindEscapeUnsafe || ambiguousQuote(body, c)) {
				return "", wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: the name %s cannot be quoted safely in character set %s", sql[i:next], cs)
			}
			out.WriteString(sql[i:next])
			i = next
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return "", fmt.Errorf("restored SQL has an unterminated comment")
			}
			out.WriteString(sql[i : i+end+4])
			i += end + 4
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.String(), nil
}

// scanQuoted reads the quoted text starting at sql[start] (a quote q, with
// q doubled inside) and returns its bytes and the index after it.
func scanQuoted(sql string, start int, q byte) ([]byte, int, error) {
	var body []byte
	for i := start + 1; i < len(sql); i++ {
		if sql[i] != q {
			body = append(body, sql[i])
			continue
		}
		if i+1 < len(sql) && sql[i+1] == q {
			body = append(body, q)
			i++
			continue
		}
		return body, i + 1, nil
	}
	return nil, 0, fmt.Errorf("restored SQL has an unterminated %c", q)
}

// ambiguousQuote reports a quote byte right after a byte that may start a
// multibyte character: the server might read the pair as one character.
func ambiguousQuote(body []byte, q byte) bool {
	for i := 1; i < len(body); i++ {
		if body[i-1] >= 0x80 && body[i] == q {
			return true
		}
	}
	return false
}

// isHexOrBitPrefix reports x'…' or b'…' (TiDB's hex and bit literals).
func isHexOrBitPrefix(sql string, i int) bool {
	if i == 0 {
		return false
	}
	switch sql[i-1] {
	case 'x', 'X', 'b', 'B':
	default:
		return false
	}
	return i == 1 || !isIdentByte(sql[i-2])
}

// hasIntroducer reports whether the quote at i follows a _charset
// introducer written by TiDB (`_LATIN1'…'`).
func hasIntroducer(sql string, i int) bool {
	j := i
	for j > 0 && isIdentByte(sql[j-1]) {
		j--
	}
	return j < i && sql[j] == '_' && (j == 0 || !isIdentByte(sql[j-1]))
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$'
}

// renderRestored renders the bytes of a string the statement held. After an
// introducer the hex form is the bare X'…' (the introducer already names the
// character set).
func renderRestored(v []byte, m TextMode, introduced bool) string {
	lit := StringLiteral(v, m)
	if lit[0] != '\'' && introduced {
		return " " + BytesLiteral(v)
	}
	return lit
}

// RenderIn returns the statement with each logical name in physical
// replaced, rendered for a session in mode m (see RestoreIn).
func (r *Renamer) RenderIn(physical map[string]string, m TextMode) (string, error) {
	type saved struct {
		t *ast.TableName
		c *ast.ColumnName
		v ast.CIStr
	}
	var undo []saved
	for logical, phys := range physical {
		name := ast.NewCIStr(phys)
		for _, t := range r.tables[logical] {
			undo = append(undo, saved{t: t, v: t.Name})
			t.Name = name
		}
		for _, c := range r.cols[logical] {
			undo = append(undo, saved{c: c, v: c.Table})
			c.Table = name
		}
	}
	sql, err := RestoreIn(r.stmt, m)
	// Newest first: a node shared by two places was saved twice.
	for i := len(undo) - 1; i >= 0; i-- {
		u := undo[i]
		if u.t != nil {
			u.t.Name = u.v
		} else {
			u.c.Table = u.v
		}
	}
	return sql, err
}

// FloatLiteral renders a FLOAT (bits 32) or DOUBLE (bits 64) parameter: the
// shortest decimal that reads back as the same value, with an exponent so
// the server takes it as a DOUBLE rather than a DECIMAL. SQL has no
// infinity or NaN; they become NULL, as MySQL stores them.
func FloatLiteral(f float64, bits int) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "NULL"
	}
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if strings.ContainsAny(s, "e") {
		return s
	}
	return s + "e0"
}

// DecimalLiteral returns the text of a DECIMAL parameter when it is a plain
// decimal number (digits, sign, point), to be written unquoted; ok is false
// for anything else, which the caller renders as a string.
func DecimalLiteral(v []byte) (string, bool) {
	if _, err := strconv.ParseFloat(string(v), 64); err != nil || bytes.ContainsAny(v, "xXeEnN_") {
		return "", false
	}
	return string(v), true
}
