package planner

import (
	"regexp"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/shard"
)

// What the session's logical answers (SHOW TABLES, information_schema,
// COM_FIELD_LIST, prepared-statement metadata) need to know about where
// tables live. Like planning, none of it touches a backend.

// Rules are the rules the planner was built from.
func (pl *Planner) Rules() *rules.Rules { return pl.rules }

// Now is the planner's clock.
func (pl *Planner) Now() string { return pl.now().Format("2006010215") }

// ShardedTables lists a schema's sharded tables by lower-case name.
func (pl *Planner) ShardedTables(schema string) map[string]*shard.Table { return pl.sharded[schema] }

// SchemaClusters lists the clusters a schema uses, its default first.
func (pl *Planner) SchemaClusters(schema string) []string {
	return schemaClusters(pl.rules.Schemas[schema])
}

// FirstTable is the physical table that answers for a sharded table's
// definition.
func FirstTable(t *shard.Table) shard.Target { return firstTable(t) }

// PhysicalFor maps a table name (COM_FIELD_LIST) to the cluster and the
// physical table that describe it.
func (pl *Planner) PhysicalFor(db, table string) (cluster, physical string) {
	schema, ok := pl.rules.Schemas[db]
	if !ok {
		return pl.rules.DefaultSchema().Cluster, table
	}
	if t := pl.sharded[db][strings.ToLower(table)]; t != nil {
		target := firstTable(t)
		return target.Cluster, target.Table
	}
	if t := schema.Table(table); t != nil && t.Cluster != "" {
		return t.Cluster, table
	}
	return schema.Cluster, table
}

// MetadataSQL is a statement as one backend can prepare it: sharded tables
// renamed to the physical table that stands for them.
func (pl *Planner) MetadataSQL(st *parser.Statement, f Facts) (cluster, sql string, err error) {
	refs, _, err := pl.resolve(st, f.DB)
	if err != nil {
		return "", "", err
	}
	phys := map[string]string{}
	schema := ""
	for _, r := range refs {
		if r.sharded != nil {
			t := firstTable(r.sharded)
			phys[strings.ToLower(r.name)] = t.Table
			cluster, schema = t.Cluster, r.schema
		}
	}
	if len(phys) == 0 {
		d, err := pl.plan(st, f)
		if err != nil {
			return "", "", err
		}
		return d.Steps[0].Cluster, st.SQL, nil
	}
	names := make([]string, 0, len(phys))
	for n := range phys {
		names = append(names, n)
	}
	sql, err = parser.NewRenamer(st.Node, schema, f.DB, names).RenderIn(phys, f.Text)
	return cluster, sql, err
}

// PhysicalNamePattern matches the physical tables of a schema's sharded
// tables: name_<index>, name_<YYYYMMDDHH>[_<index>] and name_template.
func (pl *Planner) PhysicalNamePattern(schema string) *regexp.Regexp {
	var alts []string
	for name := range pl.sharded[schema] {
		alts = append(alts, regexp.QuoteMeta(name))
	}
	if len(alts) == 0 {
		return nil
	}
	return regexp.MustCompile(`^(` + strings.Join(alts, "|") + `)_(\d+|\d{10}_\d+|template)$`)
}

// DescribedBy says whether cluster describes table of schema in
// information_schema answers, and under which name. first marks the first
// cluster asked, which alone describes schemas the rules do not know.
func (pl *Planner) DescribedBy(schema, table, cluster string, first bool) (string, bool) {
	sch, ok := pl.rules.Schemas[schema]
	if !ok {
		return table, first
	}
	lower := strings.ToLower(table)
	for name, t := range pl.sharded[schema] {
		if f := firstTable(t); lower == strings.ToLower(f.Table) {
			return t.Name, cluster == f.Cluster
		}
		if p := pl.PhysicalNamePattern(schema); p != nil && p.MatchString(lower) && strings.HasPrefix(lower, name+"_") {
			return table, false
		}
	}
	if t := sch.Table(table); t != nil {
		switch {
		case t.Cluster != "":
			return table, cluster == t.Cluster
		case t.Global:
			return table, cluster == sch.Cluster
		}
	}
	return table, cluster == sch.Cluster
}

// InfoSchemaSQL renders a SELECT on information_schema for every cluster:
// string constants naming a sharded table (WHERE TABLE_NAME = 'comments')
// become the physical table that describes it, and with helpers the
// table's schema and name are appended as two columns the session uses to
// map rows back and then drops. It returns the SQL and the number of
// helper columns.
//
// Every information_schema table it reads is limited to the schemas in
// visible (TABLE_SCHEMA IN (…), ANDed to the WHERE clause), so that neither
// rows nor counts, sums or DISTINCT lists say anything about other
// databases on the same servers.
func (pl *Planner) InfoSchemaSQL(st *parser.Statement, m parser.TextMode, visible []string) (string, int) {
	sel := st.Node.(*ast.SelectStmt)
	limitSchemas(sel, "information_schema", visible)
	helpers := 0
	if sel.GroupBy == nil && !hasAggregate(sel) && !sel.Distinct {
		keepColumnNames(sel)
		for _, c := range []string{"TABLE_SCHEMA", "TABLE_NAME"} {
			sel.Fields.Fields = append(sel.Fields.Fields, &ast.SelectField{
				Expr:   &ast.ColumnNameExpr{Name: &ast.ColumnName{Name: ast.NewCIStr(c)}},
				AsName: ast.NewCIStr("__sg_" + strings.ToLower(c)),
			})
		}
		helpers = 2
	}
	first := map[string]string{}
	for _, tables := range pl.sharded {
		for name, t := range tables {
			first[name] = firstTable(t).Table
		}
	}
	st.Node.Accept(&visitFn{fn: func(n ast.Node) bool {
		if v, ok := n.(*driver.ValueExpr); ok {
			if s, ok := v.GetValue().(string); ok {
				if phys, ok := first[strings.ToLower(s)]; ok {
					v.SetString(phys)
				}
			}
		}
		return true
	}})
	keepColumnNames(sel)
	sql, err := parser.RestoreIn(st.Node, m)
	if err != nil {
		// Never the unlimited original: a statement that cannot be
		// rendered again answers nothing.
		return "SELECT 1 FROM DUAL WHERE FALSE", 0
	}
	return sql, helpers
}

// infoSchemaColumns names, for the information_schema tables that describe
// objects of a database, the column holding the database's name.
var infoSchemaColumns = map[string]string{
	"SCHEMATA": "SCHEMA_NAME", "TABLES": "TABLE_SCHEMA", "COLUMNS": "TABLE_SCHEMA",
	"STATISTICS": "TABLE_SCHEMA", "VIEWS": "TABLE_SCHEMA", "TABLE_CONSTRAINTS": "TABLE_SCHEMA",
	"KEY_COLUMN_USAGE": "TABLE_SCHEMA", "PARTITIONS": "TABLE_SCHEMA", "COLUMN_PRIVILEGES": "TABLE_SCHEMA",
	"TABLE_PRIVILEGES": "TABLE_SCHEMA", "SCHEMA_PRIVILEGES": "TABLE_SCHEMA", "TRIGGERS": "TRIGGER_SCHEMA",
	"ROUTINES": "ROUTINE_SCHEMA", "PARAMETERS": "SPECIFIC_SCHEMA", "EVENTS": "EVENT_SCHEMA",
	"REFERENTIAL_CONSTRAINTS": "CONSTRAINT_SCHEMA", "CHECK_CONSTRAINTS": "CONSTRAINT_SCHEMA",
}

// LimitInfoSchemaSQL renders a SELECT over information_schema tables that
// describe databases' objects (SCHEMATA, VIEWS, ROUTINES, TRIGGERS, …)
// with each limited to the databases in visible, as InfoSchemaSQL does
// for TABLES, COLUMNS and STATISTICS. ok is false when the statement reads
// no such table; a statement that cannot be rendered again answers nothing.
func LimitInfoSchemaSQL(st *parser.Statement, f Facts, visible []string) (sql string, ok bool) {
	sel, isSelect := st.Node.(*ast.SelectStmt)
	if !isSelect || !limitSchemas(sel, f.DB, visible) {
		return "", false
	}
	sql, err := parser.RestoreIn(st.Node, f.Text)
	if err != nil {
		return "SELECT 1 FROM DUAL WHERE FALSE", true
	}
	return sql, true
}

// limitSchemas ANDs "<table>.<schema column> IN (visible…)" to sel's WHERE
// clause for each information_schema table in its FROM clause that
// describes databases' objects (named as information_schema.X, or X while
// db is information_schema), and reports whether it found one.
func limitSchemas(sel *ast.SelectStmt, db string, visible []string) bool {
	if sel.From == nil {
		return false
	}
	found := false
	var list []ast.ExprNode
	for _, v := range visible {
		list = append(list, ast.NewValueExpr(v, "", ""))
	}
	if len(list) == 0 {
		list = append(list, ast.NewValueExpr(nil, "", "")) // IN (NULL): no row
	}
	sel.From.TableRefs.Accept(&visitFn{fn: func(n ast.Node) bool {
		ts, ok := n.(*ast.TableSource)
		if !ok {
			return true
		}
		tn, ok := ts.Source.(*ast.TableName)
		schema := tn.Schema.O
		if schema == "" {
			schema = db
		}
		if !ok || !strings.EqualFold(schema, "information_schema") {
			return true
		}
		column, ok := infoSchemaColumns[strings.ToUpper(tn.Name.O)]
		if !ok {
			return true
		}
		found = true
		ref := ts.AsName
		if ref.O == "" {
			ref = tn.Name
		}
		pred := &ast.PatternInExpr{
			Expr: &ast.ColumnNameExpr{Name: &ast.ColumnName{Table: ref, Name: ast.NewCIStr(column)}},
			List: list,
		}
		if sel.Where == nil {
			sel.Where = pred
		} else {
			sel.Where = &ast.BinaryOperationExpr{Op: opcode.LogicAnd, L: &ast.ParenthesesExpr{Expr: sel.Where}, R: pred}
		}
		return false
	}})
	return found
}

// MaxAllowedPacketSQL rewrites SELECT @@max_allowed_packet (alone or with
// other fields, no FROM) to answer the proxy's own limit: clients size
// their packets by it, and the proxy's limit is what applies. ok is false
// when the statement does not ask for it.
func MaxAllowedPacketSQL(st *parser.Statement, limit int, m parser.TextMode) (string, bool) {
	sel, ok := st.Node.(*ast.SelectStmt)
	if !ok || sel.From != nil || sel.Fields == nil {
		return "", false
	}
	is := func(f *ast.SelectField) bool {
		v, ok := f.Expr.(*ast.VariableExpr)
		return ok && v.IsSystem && !v.IsGlobal && strings.EqualFold(v.Name, "max_allowed_packet")
	}
	changed := false
	for _, f := range sel.Fields.Fields {
		if is(f) {
			if f.AsName.O == "" {
				f.AsName = ast.NewCIStr(f.Text())
			}
			changed = true
		}
	}
	if !changed {
		return "", false
	}
	keepColumnNames(sel) // the other fields keep their names too
	for _, f := range sel.Fields.Fields {
		if is(f) {
			f.Expr = ast.NewValueExpr(uint64(limit), "", "")
		}
	}
	sql, err := parser.RestoreIn(sel, m)
	return sql, err == nil
}
