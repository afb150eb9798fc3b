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
	}
	var swaps []swap
	defer func() {
		for _, s := range swaps {
			s.ts.Source = s.src
		}
	}()
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
		rw.Tables = append(rw.Tables, DerivedTable{SQL: text, Alias: ts.AsName.O, Temp: temp, Columns: derivedColumns(src, f)})
		swaps = append(swaps, swap{ts, ts.Source})
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
