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
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/charset"

	"github.com/shardgate/shardgate/wire"
)

// TextMode is how the session's server reads SQL text: from its sql_mode
// (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) and character_set_client. Charset ""
// means utf8mb4, the proxy's default.
type TextMode struct {
	NoBackslashEscapes bool
	AnsiQuotes         bool
	// Modes that change only how statements parse.
	PipesAsConcat, IgnoreSpace, HighNotPrecedence, RealAsFloat bool
	Charset                                                    string
}

// ParseKey identifies how a statement text parses under m, for caches of
// parsed statements: equal keys, equal parses.
func (m TextMode) ParseKey() string {
	i := 0
	for bit, on := range []bool{m.NoBackslashEscapes, m.AnsiQuotes, m.PipesAsConcat, m.IgnoreSpace, m.HighNotPrecedence, m.RealAsFloat} {
		if on {
			i |= 1 << bit
		}
	}
	return parseKeys[i]
}

// parseKeys are the 64 ParseKeys, written once: every statement asks.
var parseKeys = func() (keys [64]string) {
	for i := range keys {
		b := []byte("......")
		for bit := range b {
			if i&(1<<bit) != 0 {
				b[bit] = '1'
			}
		}
		keys[i] = string(b)
	}
	return keys
}()

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

// TypedValueLiteral is ColumnValueLiteral keeping the type of temporal and
// unsigned values too: a DATETIME or TIMESTAMP as TIMESTAMP'…', a DATE as
// DATE'…', a TIME as TIME'…' (ColumnValueLiteral would give a binary
// string), an unsigned integer as CAST(n AS UNSIGNED). The
// proxy uses it where rows it read are given back to a server as rows
// (information_schema answers), whose columns must keep their types.
func TypedValueLiteral(col wire.Column, v *string) string {
	if v == nil {
		return "NULL"
	}
	keyword := ""
	switch col.Type {
	case mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_TIMESTAMP, mysql.MYSQL_TYPE_DATETIME2, mysql.MYSQL_TYPE_TIMESTAMP2:
		keyword = "TIMESTAMP"
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_NEWDATE:
		keyword = "DATE"
	case mysql.MYSQL_TYPE_TIME, mysql.MYSQL_TYPE_TIME2:
		keyword = "TIME"
	}
	if keyword != "" && isTemporal(*v) && !strings.HasPrefix(*v, "0000-00-00") {
		return keyword + "'" + *v + "'"
	}
	if col.Flags&mysql.UNSIGNED_FLAG != 0 && *v != "" && isDigits(*v) {
		switch col.Type {
		case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_INT24:
			// A bare literal is signed, and in a union with an unsigned
			// column makes the column DECIMAL.
			return "CAST(" + *v + " AS UNSIGNED)"
		}
	}
	return ColumnValueLiteral(col, v)
}

// ResultValueLiteral is SQL text for a value the proxy read from a result
// (column col) and writes into a statement in the place of the subquery
// that produced it: numbers as they came; temporal values as quoted
// strings, which MariaDB compares with a column as it would the
// subquery's value, and which a shard key's canonical form reads; strings
// in the session's character set as the session itself would write them
// (StringLiteral: a literal of the connection's collation, so a column's
// collation decides the comparison, as it does against the subquery's
// column); other strings as ColumnValueLiteral writes them.
func ResultValueLiteral(col wire.Column, v *string, m TextMode) string {
	if v == nil {
		return "NULL"
	}
	switch col.Type {
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_NEWDATE, mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_TIMESTAMP,
		mysql.MYSQL_TYPE_DATETIME2, mysql.MYSQL_TYPE_TIMESTAMP2, mysql.MYSQL_TYPE_TIME, mysql.MYSQL_TYPE_TIME2:
		if isTemporal(*v) {
			return "'" + *v + "'"
		}
	case mysql.MYSQL_TYPE_STRING, mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_BLOB,
		mysql.MYSQL_TYPE_TINY_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB, mysql.MYSQL_TYPE_LONG_BLOB:
		if col.Charset != 63 && charsetOfCollation(col.Charset) == m.charset() {
			return StringLiteral([]byte(*v), m)
		}
	case mysql.MYSQL_TYPE_YEAR:
		// A number to MariaDB (2024 = year_col); as the binary string its
		// type's charset would make it, X'32303234' compares as 842019380.
		if *v != "" && isDigits(*v) {
			return *v
		}
	}
	return ColumnValueLiteral(col, v)
}

// isTemporal accepts what a server writes for a temporal column: digits,
// '-', ':', '.' and spaces, nothing that could end a quoted string. (Zero
// dates, which a temporal literal may refuse under sql_mode, are left to
// ColumnValueLiteral.)
func isTemporal(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == '-' || c == ':' || c == '.' || c == ' ') {
			return false
		}
	}
	return true
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

// CollationOfID names a collation id as a column definition carries it
// (the collation the value is sent in) and its character set as MariaDB
// spells it; ok is false for ids the parser does not know.
func CollationOfID(id uint16) (name, cs string, ok bool) {
	coll, err := charset.GetCollationByID(int(id))
	if err != nil {
		return "", "", false
	}
	cs = coll.CharsetName
	if cs == "utf8" {
		cs = "utf8mb3"
	}
	return strings.ToLower(coll.Name), cs, true
}
