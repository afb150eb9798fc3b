package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
)

// Derived tables over shards, materialized. A SELECT whose FROM holds a
// derived table reading sharded tables across several shards, and whose
// other tables all live on one cluster, is answered in two steps: each
// such derived table runs first as a statement of its own (merged over
// its shards by the engine, exactly), its rows are copied into a
// temporary table on that cluster, and the statement runs there with the
// temporary table in the derived table's place. MariaDB itself then
// evaluates everything around the derived table (joins, WHERE, GROUP BY,
// functions, collations), which the proxy's own evaluator could only
// approximate.
//
// Planning takes two calls because the rows come from the backends:
// DerivedFirst says what to run, DerivedRewrite.SQL is the statement to
// run on the temporary tables.

// MaxDerivedRows is how many rows a derived table run first may return;
// they are also reserved from the statement's memory limit.
const MaxDerivedRows = 100_000

// DerivedTable is one derived table the session runs first.
type DerivedTable struct {
	// SQL is its SELECT as a statement of its own.
	SQL string
	// Alias is its name in the statement; Temp the temporary table's
	// (unquoted), in DerivedRewrite.Schema.
	Alias, Temp string
	// Columns are what the table definitions tell of its columns beyond
	// the result metadata, one per column (nil: nothing).
	Columns []parser.ColumnSource
	// what names a sharded table read first beside a derived table
	// ("": a derived table).
	what string
}

// DerivedRewrite is a statement whose derived tables over shards become
// temporary tables on Cluster.
type DerivedRewrite struct {
	Tables []DerivedTable
	// Cluster runs the statement; Schema holds the temporary tables (a
	// database that exists there).
	Cluster, Schema string
	text            string
}

// derivedTemp names derived table i's temporary table: with spaces, not a
// name a client writes by chance (see engine.MoveTempTable).
func derivedTemp(i int) string { return fmt.Sprintf("shardgate derived %d", i) }

// IsDerivedTemp reports a temporary table name DerivedFirst gives.
func IsDerivedTemp(name string) bool { return strings.HasPrefix(name, "shardgate derived ") }

// DerivedFirst finds the derived tables of n (a SELECT's tree of its own,
// rewritten in place) that read sharded tables. nil: none, or the
// statement around them does not live on one cluster (the planner's
// refusal stands).
func (pl *Planner) DerivedFirst(n ast.StmtNode, f Facts) (*DerivedRewrite, error) {
	sel, ok := n.(*ast.SelectStmt)
	if !ok || sel.From == nil || sel.With != nil || locks(n) ||
		(sel.LockInfo != nil && sel.LockInfo.LockType != ast.SelectLockNone) {
		return nil, nil
	}
	keepColumnNames(sel)
	var sources []*ast.TableSource
	var walk func(r ast.ResultSetNode)
	walk = func(r ast.ResultSetNode) {
		switch x := r.(type) {
		case *ast.Join:
			walk(x.Left)
			if x.Right != nil {
				walk(x.Right)
			}
		case *ast.TableSource:
			switch src := x.Source.(type) {
			case *ast.SelectStmt, *ast.SetOprStmt:
				sources = append(sources, x)
			case *ast.Join:
				walk(src)
			}
		}
	}
	walk(sel.From.TableRefs)
	rw := &DerivedRewrite{}
	type swap struct {
		ts  *ast.TableSource
		src ast.ResultSetNode
		as  ast.CIStr
	}
	var swaps, wrapped []swap
	defer func() {
		// The tree as it was: derived tables first, then the tables
		// written as derived tables of their own.
		for _, s := range swaps {
			s.ts.Source = s.src
		}
		for _, s := range wrapped {
			s.ts.Source, s.ts.AsName = s.src, s.as
		}
	}()
	// A sharded table joined with a derived table over shards: no server
	// holds both, so its rows are read first too (narrowed by the WHERE's
	// conditions on it alone) and copied beside the derived table's.
	beside := map[*ast.TableSource]string{} // wrapped table -> what it is, for refusals
	for _, ts := range sources {
		if schema, err := pl.shardedSchema(ts.Source.(ast.StmtNode), f); err != nil || schema == "" {
			continue
		}
		for _, t := range pl.shardedBeside(sel, f) {
			wrapped = append(wrapped, swap{t.ts, t.ts.Source, t.ts.AsName})
			t.ts.Source, t.ts.AsName = t.sel, t.alias
			beside[t.ts] = t.what
			sources = append(sources, t.ts)
		}
		break
	}
	temps := map[string]bool{}
	firstSchema := "" // of the first sharded table a derived table reads
	for _, ts := range sources {
		if ts.AsName.O == "" {
			return nil, nil // MariaDB's 1248 (every derived table needs an alias)
		}
		src := ts.Source.(ast.StmtNode)
		if hasCTERef(src) {
			return nil, nil
		}
		schema, err := pl.shardedSchema(src, f)
		if err != nil {
			return nil, err
		}
		if schema == "" {
			continue // part of the statement around it
		}
		if firstSchema == "" {
			firstSchema = schema
		}
		for _, s := range derivedSelects(src) {
			keepColumnNames(s)
		}
		text, err := parser.RestoreIn(src, f.Text)
		if err != nil {
			return nil, err
		}
		temp := derivedTemp(len(rw.Tables))
		temps[strings.ToLower(temp)] = true
		rw.Tables = append(rw.Tables, DerivedTable{SQL: text, Alias: ts.AsName.O, Temp: temp, Columns: derivedColumns(src, f), what: beside[ts]})
		swaps = append(swaps, swap{ts: ts, src: ts.Source})
		ts.Source = &ast.TableName{Name: ast.NewCIStr(temp)}
	}
	if len(rw.Tables) == 0 {
		return nil, nil
	}
	// The rest of the statement: no sharded table, and one cluster.
	text, err := parser.RestoreIn(sel, f.Text)
	if err != nil {
		return nil, err
	}
	refs, _, err := pl.resolve(parser.Classify(sel, text), f.DB)
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		if r.name == "" || temps[strings.ToLower(r.name)] {
			continue
		}
		if r.sharded != nil {
			return nil, nil
		}
		if r.rule != nil && r.rule.Global {
			continue
		}
		c := pl.clusterOf(r)
		if rw.Cluster != "" && c != rw.Cluster {
			return nil, nil
		}
		if rw.Cluster == "" {
			rw.Cluster, rw.Schema = c, r.schema
		}
	}
	if rw.Cluster == "" {
		// Only derived tables (and global tables): the session's schema's
		// cluster, or without one the first sharded table's schema's.
		schema := f.DB
		if pl.rules.Schemas[schema] == nil {
			schema = firstSchema
		}
		rw.Cluster, rw.Schema = pl.rules.Schemas[schema].Cluster, schema
	}
	for i, s := range swaps {
		s.ts.Source = &ast.TableName{Schema: ast.NewCIStr(rw.Schema), Name: ast.NewCIStr(rw.Tables[i].Temp)}
	}
	if rw.text, err = parser.RestoreIn(sel, f.Text); err != nil {
		return nil, err
	}
	return rw, nil
}

// KeepHint gives the derived tables the routing comment the statement
// starts with (/* shardgate:primary */), so that they read where it says.
func (r *DerivedRewrite) KeepHint(sql string) {
	if h := routingHint(sql); h != "" {
		for i := range r.Tables {
			r.Tables[i].SQL = "/* shardgate:" + h + " */ " + r.Tables[i].SQL
		}
	}
}

// SQL is the statement with each derived table read from its temporary
// table.
func (r *DerivedRewrite) SQL() string { return r.text }

// TooMany is the refusal of derived table i returning more than
// MaxDerivedRows rows.
func (r *DerivedRewrite) TooMany(i int) error {
	if w := r.Tables[i].what; w != "" {
		return notSupported("%s, joined with a derived table over shards, is read first and copied beside it, and returns more than %d rows, the most the proxy copies; narrow it with conditions on it alone in the WHERE", w, MaxDerivedRows)
	}
	return notSupported("the derived table %s over shards returns more than %d rows, the most the proxy copies into a temporary table for the statement around it; narrow it", r.Tables[i].Alias, MaxDerivedRows)
}

// shardedSchema is the schema of the first sharded table statement n
// names ("" for none).
func (pl *Planner) shardedSchema(n ast.StmtNode, f Facts) (string, error) {
	refs, _, err := pl.resolve(parser.Classify(n, ""), f.DB)
	if err != nil {
		return "", err
	}
	for _, r := range refs {
		if r.sharded != nil {
			return r.schema, nil
		}
	}
	return "", nil
}

// derivedSelects are the SELECTs whose fields name a derived table's
// columns: the SELECT itself, or each part of a UNION.
func derivedSelects(n ast.Node) []*ast.SelectStmt {
	switch x := n.(type) {
	case *ast.SelectStmt:
		return []*ast.SelectStmt{x}
	case *ast.SetOprStmt:
		var out []*ast.SelectStmt
		if x.SelectList != nil {
			for _, part := range x.SelectList.Selects {
				out = append(out, derivedSelects(part)...)
			}
		}
		return out
	}
	return nil
}

// hasCTERef: n has a WITH of its own (kept simple: such derived tables are
// left to the planner's refusal).
func hasCTERef(n ast.Node) bool {
	found := false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		if w, ok := x.(*ast.WithClause); ok && w != nil {
			found = true
		}
		return !found
	}})
	return found
}

// besideTable is a sharded table of a FROM that also holds a derived
// table over shards, and the derived table that reads it in its place.
type besideTable struct {
	ts    *ast.TableSource
	alias ast.CIStr       // the derived table's: the table's alias or name
	sel   *ast.SelectStmt // SELECT * FROM table AS alias [WHERE its own conditions]
	what  string
}

// shardedBeside finds the sharded tables of sel's FROM (outside
// subqueries) and writes each as a derived table of its own rows:
// `ritems i` becomes `(SELECT * FROM ritems AS i WHERE …) AS i`, where
// the WHERE holds the conjuncts of sel's WHERE that read only i's
// columns (qualified) with nothing but operators and literals, when i is
// not the NULL-extended side of an outer join (a WHERE condition on such
// a table also sees its NULL rows). The conditions stay in sel's WHERE
// too. Tables whose definition is not known are not wrapped (the
// statement's refusal stands).
func (pl *Planner) shardedBeside(sel *ast.SelectStmt, f Facts) []besideTable {
	var out []besideTable
	var walk func(r ast.ResultSetNode, nullable bool)
	walk = func(r ast.ResultSetNode, nullable bool) {
		switch x := r.(type) {
		case *ast.Join:
			walk(x.Left, nullable || x.Tp == ast.RightJoin)
			if x.Right != nil {
				walk(x.Right, nullable || x.Tp == ast.LeftJoin)
			}
		case *ast.TableSource:
			switch src := x.Source.(type) {
			case *ast.Join:
				walk(src, nullable)
			case *ast.TableName:
				schema := src.Schema.O
				if schema == "" {
					schema = f.DB
				}
				if pl.sharded[schema][src.Name.L] == nil || f.Defs == nil {
					return
				}
				if _, known := f.Defs.Columns(schema, pl.sharded[schema][src.Name.L].Name); !known {
					return
				}
				// The inner SELECT names the table as the statement does: by
				// its alias, or by its name alone (an alias equal to the
				// name would keep the planner from renaming the columns
				// qualified by it to the physical table's).
				alias := x.AsName
				if alias.O == "" {
					alias = src.Name
				}
				inner := &ast.SelectStmt{
					SelectStmtOpts: &ast.SelectStmtOpts{SQLCache: true},
					Kind:           ast.SelectStmtKindSelect,
					Fields:         &ast.FieldList{Fields: []*ast.SelectField{{WildCard: &ast.WildCardField{}}}},
					From: &ast.TableRefsClause{TableRefs: &ast.Join{Left: &ast.TableSource{
						Source: &ast.TableName{Schema: src.Schema, Name: src.Name}, AsName: x.AsName}}},
				}
				if !nullable {
					var own []ast.ExprNode
					for _, c := range conjuncts(sel.Where) {
						if c != nil && readsOnly(c, alias.L) {
							own = append(own, c)
						}
					}
					if len(own) > 0 {
						inner.Where = andAll(own)
					}
				}
				out = append(out, besideTable{alias: alias, ts: x, sel: inner, what: "the sharded table " + schema + "." + src.Name.O + " (" + alias.O + ")"})
			}
		}
	}
	walk(sel.From.TableRefs, false)
	return out
}

// readsOnly: e is built of literals, operators and columns qualified by
// alias alone, so that it means the same inside that table's own SELECT.
func readsOnly(e ast.ExprNode, alias string) bool {
	ok, cols := true, 0
	e.Accept(&visitFn{fn: func(x ast.Node) bool {
		switch t := x.(type) {
		case *ast.ColumnNameExpr:
			cols++
			ok = t.Name.Table.L == alias && t.Name.Schema.L == ""
		case *ast.ColumnName, ast.ValueExpr, *ast.BinaryOperationExpr, *ast.UnaryOperationExpr, *ast.ParenthesesExpr,
			*ast.IsNullExpr, *ast.IsTruthExpr, *ast.BetweenExpr, *ast.PatternInExpr, *ast.PatternLikeOrIlikeExpr:
		default:
			ok = false
		}
		return ok
	}})
	return ok && cols > 0
}
