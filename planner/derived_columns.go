package planner

import (
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/tabledef"
)

// derivedColumns is what the table definitions tell of each column of a
// derived table beyond the result metadata the engine copies it by (see
// parser.ColumnSource): a plain reference to a text, ENUM or SET column
// keeps that column's type and collation in the temporary table, an
// expression the collations of the text columns it returns. nil when the
// fields cannot be matched one for one to the result's columns (a UNION,
// a * over a table whose definition is not known, a join with USING).
func derivedColumns(src ast.Node, f Facts) []parser.ColumnSource {
	sel, ok := src.(*ast.SelectStmt)
	if !ok || f.Defs == nil || sel.Fields == nil {
		return nil
	}
	type table struct {
		name  string // the alias, or the table's name, lower case
		cols  []tabledef.Column
		known bool
	}
	var tables []table
	merged := false // a join with USING or NATURAL: * lists columns otherwise
	var walk func(r ast.ResultSetNode)
	walk = func(r ast.ResultSetNode) {
		switch x := r.(type) {
		case *ast.Join:
			merged = merged || x.Using != nil || x.NaturalJoin
			walk(x.Left)
			if x.Right != nil {
				walk(x.Right)
			}
		case *ast.TableSource:
			switch s := x.Source.(type) {
			case *ast.TableName:
				schema := s.Schema.O
				if schema == "" {
					schema = f.DB
				}
				cols, known := f.Defs.Columns(schema, s.Name.O)
				name := s.Name.L
				if x.AsName.L != "" {
					name = x.AsName.L
				}
				tables = append(tables, table{name: name, cols: cols, known: known})
			case *ast.Join:
				walk(s)
			default:
				// A derived table of its own: its columns are not known.
				tables = append(tables, table{name: x.AsName.L})
			}
		}
	}
	if sel.From != nil {
		walk(sel.From.TableRefs)
	}
	// lookup finds the definition of the column c names (nil: not known
	// for sure).
	lookup := func(c *ast.ColumnName) *tabledef.Column {
		var found *tabledef.Column
		for i := range tables {
			t := &tables[i]
			if c.Table.L != "" && c.Table.L != t.name {
				continue
			}
			if !t.known {
				return nil // it may be this table's
			}
			if j := tabledef.Index(t.cols, c.Name.O); j >= 0 {
				if found != nil {
					return nil // ambiguous: the server refuses it
				}
				found = &t.cols[j]
			}
		}
		return found
	}
	var out []parser.ColumnSource
	for _, fld := range sel.Fields.Fields {
		if w := fld.WildCard; w != nil {
			if merged {
				return nil
			}
			for _, t := range tables {
				if w.Table.L != "" && w.Table.L != t.name {
					continue
				}
				if !t.known {
					return nil
				}
				for j := range t.cols {
					out = append(out, plainSource(&t.cols[j]))
				}
			}
			continue
		}
		if c, ok := fld.Expr.(*ast.ColumnNameExpr); ok {
			if def := lookup(c.Name); def != nil {
				out = append(out, plainSource(def))
				continue
			}
			out = append(out, parser.ColumnSource{})
			continue
		}
		colls, derives := valueCollations(fld.Expr, lookup)
		out = append(out, parser.ColumnSource{Collations: colls, Derives: derives})
	}
	return out
}

// plainSource is a column's definition as a derived table's column that
// names it: its type and collation when it holds text, ENUM or SET; its
// type when it is a DOUBLE or FLOAT with fixed decimals.
func plainSource(c *tabledef.Column) parser.ColumnSource {
	switch c.DataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		if c.Collation != "" && c.Charset != "" {
			return parser.ColumnSource{Type: c.ColumnType, Charset: c.Charset, Collation: c.Collation}
		}
	case "double", "float", "real":
		if strings.Contains(c.ColumnType, ",") {
			return parser.ColumnSource{Type: strings.ToLower(c.ColumnType)}
		}
	}
	return parser.ColumnSource{}
}

// keepCollation are the functions whose text result has the collation of
// their text arguments (MariaDB's collation aggregation: a column's beats
// a literal's or a number's).
var keepCollation = map[string]bool{
	"upper": true, "lower": true, "ucase": true, "lcase": true, "left": true, "right": true,
	"substring": true, "substr": true, "mid": true, "trim": true, "ltrim": true, "rtrim": true,
	"concat": true, "concat_ws": true, "replace": true, "reverse": true, "lpad": true, "rpad": true,
	"repeat": true, "insert": true, "substring_index": true, "coalesce": true, "ifnull": true,
	"nullif": true, "if": true, "elt": true, "greatest": true, "least": true,
}

// valueCollations are the collations of the text columns whose values
// expression e may return (not those it only compares: IF's condition,
// CASE's WHEN), each once; derives is false when e's collation need not
// be theirs (CONVERT … USING names another character set: the collation
// "convert" stands for it, which no column has, so the engine refuses).
func valueCollations(e ast.ExprNode, lookup func(*ast.ColumnName) *tabledef.Column) (colls []string, derives bool) {
	derives = true
	add := func(x ast.ExprNode) {
		c, d := valueCollations(x, lookup)
		derives = derives && d
		for _, cl := range c {
			if !slices.Contains(colls, cl) {
				colls = append(colls, cl)
			}
		}
	}
	switch x := e.(type) {
	case *ast.ColumnNameExpr:
		if def := lookup(x.Name); def != nil && def.Collation != "" {
			return []string{strings.ToLower(def.Collation)}, true
		}
	case *ast.ParenthesesExpr:
		add(x.Expr)
	case *ast.SetCollationExpr:
		return []string{strings.ToLower(x.Collate)}, true
	case *ast.FuncCallExpr:
		name := x.FnName.L
		switch {
		case name == "convert":
			return []string{"convert"}, false
		case keepCollation[name]:
			args := x.Args
			switch name {
			case "if", "elt":
				if len(args) > 0 {
					args = args[1:]
				}
			}
			for _, a := range args {
				add(a)
			}
		}
		// Other functions return numbers, or text in the connection's
		// collation: a literal's, which the result metadata gives.
	case *ast.CaseExpr:
		for _, w := range x.WhenClauses {
			add(w.Result)
		}
		if x.ElseClause != nil {
			add(x.ElseClause)
		}
	case *ast.AggregateFuncExpr:
		switch strings.ToLower(x.F) {
		case ast.AggFuncMax, ast.AggFuncMin:
			for _, a := range x.Args {
				add(a)
			}
		case ast.AggFuncGroupConcat:
			// The last argument is the separator.
			for i, a := range x.Args {
				if i < len(x.Args)-1 {
					add(a)
				}
			}
		}
	}
	return colls, derives
}
