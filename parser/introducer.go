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
	if !strings.Contains(sql, "_") {
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
	if swap.charset == "" {
		return nil, nil
	}
	if hasBinary {
		return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a statement may not mix introducers _binary and _%s", swap.charset)
	}
	b.WriteString(sql[copied:])
	swap.text = b.String()
	return &swap, nil
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
