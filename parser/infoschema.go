package parser

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/wire"
)

// CTE is a common table expression the proxy puts ahead of a statement:
// Name is how the statement refers to it, Body the query that defines it
// (SQL text the proxy produced itself, already safe for the session).
type CTE struct {
	Name, Body string
}

// WithTables renders a SELECT (or UNION …) with every reference to a table
// of schema whose upper-case name is a CTE's name — qualified with schema,
// or unqualified while db is schema — read from that CTE instead, for mode
// m. The CTEs come first in the statement's WITH list, ahead of its own
// expressions.
//
// A renamed reference keeps the name as written as its alias, so columns
// qualified with it (TABLES.TABLE_NAME) still resolve; columns qualified
// with the schema as well (information_schema.TABLES.TABLE_NAME) lose the
// schema. n is changed: pass a tree nobody else reads (parsed anew, never
// a cached statement's).
func WithTables(n ast.StmtNode, schema, db string, ctes []CTE, m TextMode) (string, error) {
	var with **ast.WithClause
	switch x := n.(type) {
	case *ast.SelectStmt:
		with = &x.With
	case *ast.SetOprStmt:
		with = &x.With
	default:
		return "", fmt.Errorf("WithTables: %T is not a SELECT", n)
	}
	names := map[string]bool{}
	for _, c := range ctes {
		names[c.Name] = true
	}
	r := &tableRenamer{schema: schema, db: db, names: names, own: map[string]bool{}}
	n.Accept(r)
	for name := range r.own {
		if names[strings.ToUpper(name)] {
			return "", wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: the statement's common table expression %s has the name of an information_schema table the proxy answers itself; rename it", name)
		}
	}

	own := ""
	recursive := false
	if *with != nil {
		recursive = (*with).IsRecursive
		text, err := RestoreIn(*with, m)
		if err != nil {
			return "", err
		}
		prefix := "WITH "
		if recursive {
			prefix += "RECURSIVE "
		}
		if !strings.HasPrefix(text, prefix) {
			return "", fmt.Errorf("WithTables: WITH clause rendered as %q", text)
		}
		own = strings.TrimSpace(text[len(prefix):])
		*with = nil
	}
	body, err := RestoreIn(n, m)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("WITH ")
	if recursive {
		b.WriteString("RECURSIVE ")
	}
	for i, c := range ctes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(QuoteIdent(c.Name) + " AS (" + c.Body + ")")
	}
	if own != "" {
		b.WriteString(", " + own)
	}
	b.WriteString(" " + body)
	return b.String(), nil
}

// tableRenamer points references to schema's tables in names at the CTEs
// of the same names.
type tableRenamer struct {
	schema, db string
	names      map[string]bool
	// own are the statement's own CTE names: unqualified, they mean those.
	own map[string]bool
}

func (r *tableRenamer) meant(tn *ast.TableName) (string, bool) {
	schema := tn.Schema.O
	if schema == "" {
		if r.own[tn.Name.L] {
			return "", false
		}
		schema = r.db
	}
	upper := strings.ToUpper(tn.Name.O)
	return upper, strings.EqualFold(schema, r.schema) && r.names[upper]
}

func (r *tableRenamer) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.WithClause:
		for _, cte := range x.CTEs {
			r.own[cte.Name.L] = true
		}
	case *ast.TableSource:
		if tn, ok := x.Source.(*ast.TableName); ok {
			if upper, ok := r.meant(tn); ok {
				if x.AsName.O == "" {
					x.AsName = tn.Name
				}
				tn.Schema, tn.Name = ast.NewCIStr(""), ast.NewCIStr(upper)
			}
		}
	case *ast.ColumnName:
		if x.Schema.O != "" && strings.EqualFold(x.Schema.O, r.schema) && r.names[strings.ToUpper(x.Table.O)] {
			x.Schema = ast.NewCIStr("")
		}
	}
	return n, false
}

func (r *tableRenamer) Leave(n ast.Node) (ast.Node, bool) { return n, true }
