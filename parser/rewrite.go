package parser

import (
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/shardgate/shardgate/wire"
)

// Renamer renders one statement several times, each time with logical table
// names replaced by physical ones: in table references and in column names
// qualified by the table name.
type Renamer struct {
	stmt   ast.Node
	tables map[string][]*ast.TableName  // by lower-case logical name
	cols   map[string][]*ast.ColumnName // qualified by that name
	// aliases are the table references aliased by the table's own name
	// (`items AS items`): the alias is renamed with the table, as the
	// columns qualified by it are.
	aliases map[string][]*ast.TableSource
}

// NewRenamer finds the references to the logical tables names (lower case)
// of schema; db is the session's database for unqualified names.
func NewRenamer(stmt ast.Node, schema, db string, names []string) *Renamer {
	r := &Renamer{stmt: stmt, tables: map[string][]*ast.TableName{}, cols: map[string][]*ast.ColumnName{}, aliases: map[string][]*ast.TableSource{}}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	inSchema := func(s string) bool {
		if s == "" {
			return strings.EqualFold(db, schema)
		}
		return strings.EqualFold(s, schema)
	}
	shadowed := map[string]bool{}
	stmt.Accept(&collector{fn: func(n ast.Node) {
		switch n := n.(type) {
		case *ast.TableName:
			if want[n.Name.L] && inSchema(n.Schema.O) {
				r.tables[n.Name.L] = append(r.tables[n.Name.L], n)
			}
		case *ast.ColumnName:
			if want[n.Table.L] && inSchema(n.Schema.O) {
				r.cols[n.Table.L] = append(r.cols[n.Table.L], n)
			}
		case *ast.TableSource:
			t, ok := n.Source.(*ast.TableName)
			switch {
			case ok && want[t.Name.L] && n.AsName.L == t.Name.L && inSchema(t.Schema.O):
				r.aliases[t.Name.L] = append(r.aliases[t.Name.L], n)
			case want[n.AsName.L]:
				// Another table (of another schema, or a derived table)
				// goes by the name: columns qualified by it are its own.
				shadowed[n.AsName.L] = true
			}
		}
	}})
	for name := range shadowed {
		var keep []*ast.ColumnName
		for _, c := range r.cols[name] {
			if c.Schema.O != "" {
				keep = append(keep, c)
			}
		}
		r.cols[name] = keep
	}
	return r
}

type collector struct{ fn func(ast.Node) }

func (c *collector) Enter(n ast.Node) (ast.Node, bool) { c.fn(n); return n, false }
func (c *collector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// Placeholders parses a statement to be prepared and returns the byte
// offsets of its ? markers, in order. It refuses several statements.
func (p *Parser) Placeholders(sql string) ([]int, error) {
	stmts, swap, err := p.parse(sql)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, errMultiPrepare
	}
	var offsets []int
	stmts[0].Node.Accept(&collector{fn: func(n ast.Node) {
		if m, ok := n.(*driver.ParamMarkerExpr); ok {
			at := m.Offset
			if swap != nil {
				at = swap.toOriginal(at) // the parser read other text
			}
			offsets = append(offsets, at)
		}
	}})
	sort.Ints(offsets)
	return offsets, nil
}

var errMultiPrepare = wire.Errorf(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax: a prepared statement holds one statement")

// Interpolate replaces the ? at offsets with SQL literals.
func Interpolate(sql string, offsets []int, literals []string) string {
	var b strings.Builder
	// One allocation of the exact size: the text may be as large as
	// max_allowed_packet, and growing by doubling would hold twice that.
	b.Grow(InterpolatedLen(sql, offsets, literals))
	prev := 0
	for i, off := range offsets {
		b.WriteString(sql[prev:off])
		b.WriteString(literals[i])
		prev = off + 1
	}
	b.WriteString(sql[prev:])
	return b.String()
}

// InterpolatedLen is the length of Interpolate's text.
func InterpolatedLen(sql string, offsets []int, literals []string) int {
	n := len(sql) - len(offsets)
	for _, l := range literals {
		n += len(l)
	}
	return n
}
