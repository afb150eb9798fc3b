package parser

import (
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/charset"
	tidbmysql "github.com/pingcap/tidb/pkg/parser/mysql"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/shardgate/shardgate/wire"
)

// Introducers. TiDB's grammar accepts a character set introducer only for
// utf8, utf8mb3, utf8mb4, ascii, latin1 and binary, but the proxy itself
// writes _gbk X'…', _big5 X'…' (see StringLiteral) for values that cannot be
// quoted safely in the session's character set, and clients may write them
// too. So the parser reads such a literal as _binary (the same bytes; TiDB
// does not convert introduced literals) and the literal's character set is
// put back on the parsed value afterwards, which makes it render as written.
// The statement's text, which is what runs, is not changed.

// tidbIntroducer reports a character set TiDB's grammar accepts as an
// introducer.
func tidbIntroducer(cs string) bool {
	switch cs {
	case "utf8", "utf8mb3", "utf8mb4", "ascii", "latin1", "binary":
		return true
	}
	return false
}

// introducerSwap is the text given to TiDB's parser for one with other
// introducers: each `_cs` became `_binary`.
type introducerSwap struct {
	text    string
	charset string // the one character set swapped
	hex     bool   // 0x… numbers were given to the parser as b'…'
	// edits are the swapped places, in order: at offset at of the original
	// text, grow more bytes of parser text.
	edits []introducerEdit
}

type introducerEdit struct{ at, grow int }

// swapIntroducers returns nil when sql holds no introducer TiDB refuses.
// Where the parsed values could not be told apart afterwards (a statement
// with introducers of two such character sets, or with one of them and
// _binary) it refuses the statement.
func swapIntroducers(sql string, m TextMode) (*introducerSwap, error) {
	if !strings.Contains(sql, "_") && !strings.Contains(sql, "0x") {
		return nil, nil
	}
	var (
		swap      introducerSwap
		b         strings.Builder
		copied    int
		hasBinary bool
	)
	for i := 0; i < len(sql); i++ {
		if end, ok := skipNonCode(sql, i, m); ok {
			i = end
			continue
		}
		switch c := sql[i]; {
		case c == '0' && i+2 < len(sql) && sql[i+1] == 'x' && (i == 0 || !isIdentByte(sql[i-1])) && !afterIntroducer(sql, i):
			// 0x0A: TiDB reads it as X'0A' and writes it back so, but
			// MariaDB reads 0x0A as a number in a numeric context (an
			// INT column = 0x0A is 10) and X'0A' as a string (= 0). The
			// parser is given b'00001010', which MariaDB reads exactly as
			// 0x0A and TiDB keeps apart from X'…' and writes back as it is.
			j := i + 2
			for j < len(sql) && isHexDigit(sql[j]) {
				j++
			}
			if j == i+2 || (j < len(sql) && isIdentByte(sql[j])) {
				i = j - 1
				continue // 0xg…: a name, not a number
			}
			if h := sql[i+2 : j]; strings.HasPrefix(h, "00") || (len(h)%2 == 1 && h[0] == '0') {
				// TiDB writes b'…' without leading zero bits, which
				// would drop a leading zero byte (0x0001 is two bytes in
				// a string context). Such a literal is left to be read
				// as X'…', a string, by the parser and the server alike.
				i = j - 1
				continue
			}
			bits := hexToBits(sql[i+2 : j])
			b.WriteString(sql[copied:i])
			b.WriteString(bits)
			copied = j
			swap.edits = append(swap.edits, introducerEdit{at: i, grow: len(bits) - (j - i)})
			swap.hex = true
			i = j - 1
		case c == '_' && (i == 0 || !isIdentByte(sql[i-1])):
			j := i + 1
			for j < len(sql) && isIdentByte(sql[j]) {
				j++
			}
			name := strings.ToLower(sql[i+1 : j])
			if !introducesLiteral(sql, j) {
				i = j - 1
				continue
			}
			if name == "binary" {
				hasBinary = true
			}
			if tidbIntroducer(name) {
				i = j - 1
				continue
			}
			if _, err := charset.GetCharsetInfo(name); err != nil {
				i = j - 1
				continue // not a character set: the parser says what it is
			}
			if swap.charset != "" && swap.charset != name {
				return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a statement may use introducers of one character set other than utf8mb4, latin1, ascii and binary; it has _%s and _%s", swap.charset, name)
			}
			swap.charset = name
			b.WriteString(sql[copied:i])
			b.WriteString("_binary")
			copied = j
			swap.edits = append(swap.edits, introducerEdit{at: i, grow: len("_binary") - (j - i)})
			i = j - 1
		}
	}
	if swap.charset == "" && !swap.hex {
		return nil, nil
	}
	if hasBinary {
		return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a statement may not mix introducers _binary and _%s", swap.charset)
	}
	b.WriteString(sql[copied:])
	swap.text = b.String()
	return &swap, nil
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// hexToBits writes hex digits as the bit literal of the same value and
// length (0x123 is 0x0123: both are two bytes).
func hexToBits(h string) string {
	var b strings.Builder
	b.WriteString("b'")
	if len(h)%2 == 1 {
		b.WriteString("0000")
	}
	for i := 0; i < len(h); i++ {
		var v byte
		switch c := h[i]; {
		case c <= '9':
			v = c - '0'
		case c >= 'a':
			v = c - 'a' + 10
		default:
			v = c - 'A' + 10
		}
		for k := 3; k >= 0; k-- {
			b.WriteByte('0' + (v>>k)&1)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// afterIntroducer reports a _charset introducer just before sql[i]
// (_latin1 0x41 is a string of that character set, left as it is).
func afterIntroducer(sql string, i int) bool {
	j := i
	for j > 0 && (sql[j-1] == ' ' || sql[j-1] == '\t' || sql[j-1] == '\n' || sql[j-1] == '\r') {
		j--
	}
	k := j
	for k > 0 && isIdentByte(sql[k-1]) {
		k--
	}
	return k < j && sql[k] == '_' && (k == 0 || !isIdentByte(sql[k-1]))
}

// introducesLiteral reports whether a string, hex or bit literal starts at
// sql[j] (after spaces): what makes a preceding _name an introducer.
func introducesLiteral(sql string, j int) bool {
	for j < len(sql) && (sql[j] == ' ' || sql[j] == '\t' || sql[j] == '\n' || sql[j] == '\r') {
		j++
	}
	if j >= len(sql) {
		return false
	}
	switch sql[j] {
	case '\'', '"':
		return true
	case 'x', 'X', 'b', 'B':
		return j+1 < len(sql) && sql[j+1] == '\''
	case '0':
		return j+1 < len(sql) && (sql[j+1] == 'x' || sql[j+1] == 'b')
	}
	return false
}

// original returns the original text of a statement the parser read as
// text (a piece of the parser text).
func (s *introducerSwap) original(sql, text string) string {
	at := strings.Index(s.text, text)
	if at < 0 {
		return text
	}
	return sql[s.toOriginal(at):s.toOriginal(at+len(text))]
}

// toOriginal maps an offset of the parser text that is not inside a swapped
// introducer to the original text.
func (s *introducerSwap) toOriginal(p int) int {
	grown := 0
	for _, e := range s.edits {
		if e.at+grown >= p {
			break
		}
		grown += e.grow
	}
	return p - grown
}

// restoreCharset gives every value the parser read as _binary the swapped
// character set back.
func (s *introducerSwap) restoreCharset(n ast.Node) {
	if s.charset == "" {
		return // only 0x… numbers were swapped
	}
	collation, err := charset.GetDefaultCollation(s.charset)
	if err != nil {
		return
	}
	n.Accept(&charsetRestorer{cs: s.charset, collation: collation})
}

type charsetRestorer struct{ cs, collation string }

func (r *charsetRestorer) Enter(n ast.Node) (ast.Node, bool) {
	if v, ok := n.(*driver.ValueExpr); ok && v.Type.GetFlag()&tidbmysql.UnderScoreCharsetFlag != 0 && v.Type.GetCharset() == charset.CharsetBin {
		v.Type.SetCharset(r.cs)
		v.Type.SetCollate(r.collation)
		v.Type.DelFlag(tidbmysql.BinaryFlag)
	}
	return n, false
}

func (r *charsetRestorer) Leave(n ast.Node) (ast.Node, bool) { return n, true }
