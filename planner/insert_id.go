package planner

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
)

// LAST_INSERT_ID() after an INSERT changes only when the server generated
// an AUTO_INCREMENT value; the OK packet's insert id, though, is also the
// last row's explicit value when none was generated (MariaDB's
// mysql_insert_id()), which the session must then not take for
// LAST_INSERT_ID() (main/auto_increment.test: an INSERT of -1 made it
// 18446744073709551615). Telling the two apart needs the table's
// AUTO_INCREMENT column: its definition is read for INSERT … VALUES into
// any table (valuesTarget), once, and kept.

// valuesTarget is the table an INSERT … VALUES writes, when the proxy may
// need its definition to know its AUTO_INCREMENT column.
func (pl *Planner) valuesTarget(st *parser.Statement, f Facts) (schema, table string, ok bool) {
	n, isInsert := st.Node.(*ast.InsertStmt)
	if !isInsert || f.TempTables || n.Select != nil || len(n.Lists) == 0 || st.UsesLastInsertID || n.Table == nil || n.Table.TableRefs == nil {
		return "", "", false
	}
	ts, isSource := n.Table.TableRefs.Left.(*ast.TableSource)
	if !isSource {
		return "", "", false
	}
	tn, isName := ts.Source.(*ast.TableName)
	if !isName {
		return "", "", false
	}
	schema = tn.Schema.O
	if schema == "" {
		schema = f.DB
	}
	if pl.rules.Schemas[schema] == nil {
		return "", "", false
	}
	return schema, tn.Name.O, true
}

// givesAutoIncrement: every row of an INSERT … VALUES gives the table's
// AUTO_INCREMENT column a value the server keeps (a non-zero integer
// literal; 0 too under NO_AUTO_VALUE_ON_ZERO), so no value is generated
// and LAST_INSERT_ID() stays. Anything unknown (no definition, no
// AUTO_INCREMENT column, an expression, a string, DEFAULT) answers false:
// the OK packet's insert id is taken, as before.
func (pl *Planner) givesAutoIncrement(st *parser.Statement, f Facts) bool {
	schema, table, ok := pl.valuesTarget(st, f)
	if !ok || f.Defs == nil {
		return false
	}
	cols, known := f.Defs.Columns(schema, table)
	if !known {
		return false
	}
	auto := ""
	var all []string
	for _, c := range cols {
		all = append(all, strings.ToLower(c.Name))
		if c.AutoIncrement {
			auto = strings.ToLower(c.Name)
		}
	}
	if auto == "" {
		return false
	}
	n := st.Node.(*ast.InsertStmt)
	names := all
	if len(n.Columns) > 0 {
		names = names[:0:0]
		for _, c := range n.Columns {
			names = append(names, c.Name.L)
		}
	}
	at := -1
	for i, c := range names {
		if c == auto {
			at = i
		}
	}
	if at < 0 {
		return false
	}
	for _, row := range n.Lists {
		if at >= len(row) {
			return false
		}
		v, literal := parser.LiteralValue(row[at])
		if !literal || v.Kind != parser.ValInt {
			return false
		}
		if strings.TrimLeft(strings.TrimPrefix(v.Text, "-"), "0") == "" && !f.NoAutoValueOnZero {
			return false // 0 asks for a value
		}
	}
	return true
}

// InsertIDDependsOnValues: whether a prepared INSERT's effect on
// LAST_INSERT_ID() depends on the values bound at EXECUTE (a ? stands
// where the AUTO_INCREMENT column's value is, or the table's definition is
// not known): such a statement must be planned again with its values.
func (pl *Planner) InsertIDDependsOnValues(st *parser.Statement, f Facts) bool {
	schema, table, ok := pl.valuesTarget(st, f)
	if !ok {
		return false
	}
	if f.Defs == nil {
		return true
	}
	cols, known := f.Defs.Columns(schema, table)
	if !known {
		return true
	}
	auto, at := "", -1
	for i, c := range cols {
		if c.AutoIncrement {
			auto, at = strings.ToLower(c.Name), i
		}
	}
	if auto == "" {
		return false
	}
	n := st.Node.(*ast.InsertStmt)
	if len(n.Columns) > 0 {
		at = -1
		for i, c := range n.Columns {
			if c.Name.L == auto {
				at = i
			}
		}
	}
	if at < 0 {
		return false
	}
	for _, row := range n.Lists {
		if at < len(row) && hasParamMarker(row[at]) {
			return true
		}
	}
	return false
}

func hasParamMarker(e ast.Node) bool {
	found := false
	e.Accept(&visitFn{fn: func(x ast.Node) bool {
		if _, ok := x.(ast.ParamMarkerExpr); ok {
			found = true
		}
		return !found
	}})
	return found
}
