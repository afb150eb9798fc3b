package router

import (
	"regexp"
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// showTables answers SHOW [FULL] TABLES with logical tables: what the
// schema's default cluster holds, minus physical shards, plus every table
// the rules name.
func (s *Session) showTables(st *parser.Statement, show *ast.ShowStmt, w ResultWriter) error {
	schemaName := show.DBName
	if schemaName == "" {
		schemaName = s.db
	}
	if schemaName == "" {
		return wire.Errorf(mysql.ER_NO_DB_ERROR, "No database selected")
	}
	schema, ok := s.rt.Rules.Schemas[schemaName]
	if !ok || show.Where != nil {
		return s.run(st, w) // information_schema, or a WHERE filter over what MySQL returns
	}
	listing := &parser.Statement{Kind: parser.KindShow, ReadOnly: true, SQL: "SHOW FULL TABLES FROM " + quoteName(schemaName)}
	h, err := s.acquire(listing, s.rt.Clusters[schema.Cluster])
	if err != nil {
		return err
	}
	res, _, err := h.conn.Query(listing.SQL)
	if err != nil {
		if _, isServer := err.(*mysql.MyError); !isServer {
			return s.fail(h, err)
		}
		s.settle(h)
		return err
	}
	s.settle(h)

	physical := s.rt.physicalNamePattern(schemaName)
	types := map[string]string{}
	for _, row := range res.Rows {
		if row[0] == nil || (physical != nil && physical.MatchString(strings.ToLower(*row[0]))) {
			continue
		}
		typ := "BASE TABLE"
		if len(row) > 1 && row[1] != nil {
			typ = *row[1]
		}
		types[*row[0]] = typ
	}
	for name := range schema.Tables {
		if _, ok := types[name]; !ok {
			types[name] = "BASE TABLE"
		}
	}
	var pattern string
	if show.Pattern != nil {
		if v, ok := show.Pattern.Pattern.(ast.ValueExpr); ok {
			pattern = v.GetString()
		}
	}
	names := make([]string, 0, len(types))
	for name := range types {
		if show.Pattern == nil || likeMatch(strings.ToLower(pattern), strings.ToLower(name)) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	title := "Tables_in_" + schemaName
	if show.Pattern != nil {
		title += " (" + pattern + ")"
	}
	cols := []wire.Column{{Schema: "information_schema", Table: "TABLE_NAMES", OrgTable: "TABLE_NAMES", Name: title, OrgName: "TABLE_NAME",
		Charset: 33, Length: 192, Type: mysql.MYSQL_TYPE_VAR_STRING, Flags: mysql.NOT_NULL_FLAG}}
	if show.Full {
		cols = append(cols, wire.Column{Schema: "information_schema", Table: "TABLE_NAMES", OrgTable: "TABLE_NAMES", Name: "Table_type", OrgName: "TABLE_TYPE",
			Charset: 33, Length: 192, Type: mysql.MYSQL_TYPE_VAR_STRING, Flags: mysql.NOT_NULL_FLAG})
	}
	rows := make([][][]byte, len(names))
	for i, n := range names {
		rows[i] = [][]byte{[]byte(n)}
		if show.Full {
			rows[i] = append(rows[i], []byte(types[n]))
		}
	}
	return s.writeRows(w, cols, rows)
}

// physicalNamePattern matches the physical tables of a schema's sharded
// tables: name_<index>, name_<YYYYMMDDHH>[_<index>] and name_template.
func (rt *Router) physicalNamePattern(schema string) *regexp.Regexp {
	var alts []string
	for name := range rt.planner.sharded[schema] {
		alts = append(alts, regexp.QuoteMeta(name))
	}
	if len(alts) == 0 {
		return nil
	}
	return regexp.MustCompile(`^(` + strings.Join(alts, "|") + `)_(\d+|\d{10}_\d+|template)$`)
}

func quoteName(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// explainShardgate answers EXPLAIN SHARDGATE <statement> with its plan.
func (s *Session) explainShardgate(sql string, w ResultWriter) error {
	stmts, err := s.rt.parse(sql)
	if err != nil {
		return err
	}
	if len(stmts) != 1 {
		return notSupported("EXPLAIN SHARDGATE takes one statement")
	}
	p, err := s.rt.planner.plan(stmts[0], s.db)
	if err != nil {
		return err
	}
	cols := []wire.Column{{Name: "plan", OrgName: "plan", Charset: 45, Length: 65535, Type: mysql.MYSQL_TYPE_VAR_STRING}}
	var rows [][][]byte
	for _, line := range strings.Split(strings.TrimRight(p.String(), "\n"), "\n") {
		rows = append(rows, [][]byte{[]byte(line)})
	}
	return s.writeRows(w, cols, rows)
}

// physicalFor maps a table name of COM_FIELD_LIST to the cluster and
// physical table that describe it.
func (rt *Router) physicalFor(db, table string) (cluster, physical string, err error) {
	schema, ok := rt.Rules.Schemas[db]
	if !ok {
		return rt.Rules.DefaultSchema().Cluster, table, nil
	}
	if t := rt.planner.sharded[db][strings.ToLower(table)]; t != nil {
		target := firstTable(t)
		return target.Cluster, target.Table, nil
	}
	if t := schema.Table(table); t != nil && t.Cluster != "" {
		return t.Cluster, table, nil
	}
	return schema.Cluster, table, nil
}

// isInfoSchemaTables reports a statement that reads only
// information_schema.TABLES / COLUMNS / STATISTICS.
func isInfoSchemaTables(st *parser.Statement) bool {
	if st.Kind != parser.KindSelect || len(st.Tables) == 0 {
		return false
	}
	for _, t := range st.Tables {
		if !strings.EqualFold(t.Schema, "information_schema") {
			return false
		}
		switch strings.ToUpper(t.Name) {
		case "TABLES", "COLUMNS", "STATISTICS":
		default:
			return false
		}
	}
	return true
}

// infoSchema answers information_schema.TABLES/COLUMNS/STATISTICS in terms
// of logical tables: the statement runs on every cluster, each table is
// described by the cluster that holds it (a sharded table by its first
// physical table, renamed), and physical shards are left out. Rows are
// concatenated cluster by cluster, so an ORDER BY holds within a cluster
// only, and aggregates count per cluster.
func (s *Session) infoSchema(st *parser.Statement, w ResultWriter) error {
	clusters := map[string]bool{}
	var order []string
	for _, name := range s.rt.Rules.SchemaOrder {
		for _, c := range schemaClusters(s.rt.Rules.Schemas[name]) {
			if !clusters[c] {
				clusters[c] = true
				order = append(order, c)
			}
		}
	}
	// Every row carries its table's schema and name, in two helper columns
	// appended here and dropped before the client sees the rows.
	sel := st.Node.(*ast.SelectStmt)
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
	sql := s.rt.physicalLiterals(st, helpers > 0)
	var cols []wire.Column
	var rows [][][]byte
	schemaCol, nameCol := -1, -1
	for i, cname := range order {
		h, err := s.acquire(st, s.rt.Clusters[cname])
		if err != nil {
			return err
		}
		res, _, err := h.conn.Query(sql)
		if err != nil {
			if _, isServer := err.(*mysql.MyError); !isServer {
				return s.fail(h, err)
			}
			s.settle(h)
			return err
		}
		s.settle(h)
		if i == 0 {
			cols = res.Columns[:len(res.Columns)-helpers]
			if helpers == 0 {
				// Aggregated: nothing to map table by table; one cluster's answer.
				return s.writeRows(w, cols, toRows(res.Rows))
			}
			schemaCol, nameCol = len(cols), len(cols)+1
		}
		for _, r := range res.Rows {
			schema := s.db
			if schemaCol >= 0 && r[schemaCol] != nil {
				schema = *r[schemaCol]
			}
			if r[nameCol] == nil {
				continue
			}
			name, keep := s.rt.describedBy(schema, *r[nameCol], cname, i == 0)
			if !keep {
				continue
			}
			row := toRows([][]*string{r})[0][:len(cols)]
			for j, c := range cols {
				if strings.EqualFold(c.OrgName, "TABLE_NAME") && row[j] != nil {
					row[j] = []byte(name)
				}
			}
			rows = append(rows, row)
		}
	}
	return s.writeRows(w, cols, rows)
}

// physicalLiterals rewrites string constants naming a sharded table (as in
// WHERE TABLE_NAME = 'comments') to the physical table that describes it.
func (rt *Router) physicalLiterals(st *parser.Statement, render bool) string {
	first := map[string]string{}
	for _, tables := range rt.planner.sharded {
		for name, t := range tables {
			first[name] = firstTable(t).Table
		}
	}
	changed := false
	st.Node.Accept(&visitFn{fn: func(n ast.Node) bool {
		if v, ok := n.(*driver.ValueExpr); ok {
			if s, ok := v.GetValue().(string); ok {
				if phys, ok := first[strings.ToLower(s)]; ok {
					v.SetString(phys)
					changed = true
				}
			}
		}
		return true
	}})
	if !changed && !render {
		return st.SQL
	}
	if sel, ok := st.Node.(*ast.SelectStmt); ok {
		keepColumnNames(sel)
	}
	sql, err := parser.Restore(st.Node)
	if err != nil {
		return st.SQL
	}
	return sql
}

// describedBy says whether cluster describes table of schema, and under
// which name. first marks the first cluster asked, which alone describes
// schemas the rules do not know.
func (rt *Router) describedBy(schema, table, cluster string, first bool) (string, bool) {
	sch, ok := rt.Rules.Schemas[schema]
	if !ok {
		return table, first
	}
	lower := strings.ToLower(table)
	for name, t := range rt.planner.sharded[schema] {
		if f := firstTable(t); lower == strings.ToLower(f.Table) {
			return t.Name, cluster == f.Cluster
		}
		if p := rt.physicalNamePattern(schema); p != nil && p.MatchString(lower) && strings.HasPrefix(lower, name+"_") {
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

func toRows(in [][]*string) [][][]byte {
	out := make([][][]byte, len(in))
	for i, r := range in {
		out[i] = make([][]byte, len(r))
		for j, v := range r {
			if v != nil {
				out[i][j] = []byte(*v)
			}
		}
	}
	return out
}

// proxyVariables answers @@max_allowed_packet with the proxy's own limit:
// clients size their packets by it, and the proxy's limit is what applies.
func (s *Session) proxyVariables(st *parser.Statement) *parser.Statement {
	sel, ok := st.Node.(*ast.SelectStmt)
	if !ok || sel.From != nil || sel.Fields == nil {
		return nil
	}
	changed := false
	for _, f := range sel.Fields.Fields {
		v, ok := f.Expr.(*ast.VariableExpr)
		if !ok || !v.IsSystem || v.IsGlobal || !strings.EqualFold(v.Name, "max_allowed_packet") {
			continue
		}
		if f.AsName.O == "" {
			f.AsName = ast.NewCIStr(f.Text())
		}
		changed = true
	}
	if !changed {
		return nil
	}
	keepColumnNames(sel) // the other fields keep their names too
	for _, f := range sel.Fields.Fields {
		if v, ok := f.Expr.(*ast.VariableExpr); ok && v.IsSystem && !v.IsGlobal && strings.EqualFold(v.Name, "max_allowed_packet") {
			f.Expr = ast.NewValueExpr(uint64(s.rt.Rules.MaxAllowedPacket), "", "")
		}
	}
	sql, err := parser.Restore(sel)
	if err != nil {
		return nil
	}
	out := *st
	out.SQL = sql
	return &out
}
