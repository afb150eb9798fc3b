package parser

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/shardgate/shardgate/wire"
)

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
	if e, ok := n.(*ast.ExplainStmt); ok && e.Stmt != nil && !isShow(e.Stmt) && !e.Analyze && !e.Explore && e.PlanDigest == "" {
		// TiDB writes EXPLAIN FORMAT = 'row' …, which MariaDB refuses
		// (1791): MariaDB's forms are EXPLAIN … and EXPLAIN FORMAT=JSON ….
		inner, err := RestoreIn(e.Stmt, m)
		if err != nil {
			return "", err
		}
		switch strings.ToLower(e.Format) {
		case "", "row", "traditional":
			return "EXPLAIN " + inner, nil
		}
		return "EXPLAIN FORMAT=" + strings.ToUpper(e.Format) + " " + inner, nil
	}
	var b strings.Builder
	flags := format.DefaultRestoreFlags | format.RestoreStringWithoutDefaultCharset
	if err := n.Restore(format.NewRestoreCtx(flags, &b)); err != nil {
		return "", err
	}
	return requote(b.String(), m)
}

// isShow: DESCRIBE t parses as EXPLAIN of SHOW COLUMNS, which TiDB
// writes back as DESC t.
func isShow(n ast.StmtNode) bool {
	_, ok := n.(*ast.ShowStmt)
	return ok
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
		a *ast.TableSource
		v ast.CIStr
	}
	var undo []saved
	for logical, phys := range physical {
		name := ast.NewCIStr(phys)
		for _, t := range r.tables[logical] {
			undo = append(undo, saved{t: t, v: t.Name})
			t.Name = name
		}
		for _, a := range r.aliases[logical] {
			undo = append(undo, saved{a: a, v: a.AsName})
			a.AsName = name
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
		switch {
		case u.t != nil:
			u.t.Name = u.v
		case u.a != nil:
			u.a.AsName = u.v
		default:
			u.c.Table = u.v
		}
	}
	return sql, err
}
