package router

import (
	"sort"
	"strings"
	"unsafe"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// Statements the session answers in logical terms: the client sees
// logical databases and tables, never physical shards.

// showDatabases answers SHOW DATABASES with the logical schemas.
func (s *Session) showDatabases(snap *Snapshot, show *ast.ShowStmt, w ResultWriter) error {
	title := "Database"
	pattern, filtered := likePattern(show)
	if filtered {
		title += " (" + pattern + ")"
	}
	var rows [][][]byte
	for _, name := range snap.schemaNames() {
		if dbAccess(s.client.Account, "", name) != nil {
			continue // only the user's schemas
		}
		if !filtered || likeMatch(strings.ToLower(pattern), strings.ToLower(name)) {
			rows = append(rows, [][]byte{[]byte(name)})
		}
	}
	cols := []wire.Column{nameColumn("SCHEMATA", title, "SCHEMA_NAME")}
	return engine.WriteTable(w, cols, rows, s.Status())
}

func nameColumn(table, name, orgName string) wire.Column {
	return wire.Column{Schema: "information_schema", Table: table, OrgTable: table, Name: name, OrgName: orgName,
		Charset: 33, Length: 192, Type: mysql.MYSQL_TYPE_VAR_STRING, Flags: mysql.NOT_NULL_FLAG}
}

// likePattern is SHOW ... LIKE 'pattern'.
func likePattern(show *ast.ShowStmt) (string, bool) {
	if show.Pattern == nil {
		return "", false
	}
	if v, ok := show.Pattern.Pattern.(ast.ValueExpr); ok {
		return v.GetString(), true
	}
	return "", true
}

// showTables answers SHOW [FULL] TABLES with logical tables: what the
// schema's default cluster holds, minus physical shards, plus every table
// the rules name.
func (s *Session) showTables(snap *Snapshot, st *parser.Statement, show *ast.ShowStmt, w ResultWriter, obs *observation) error {
	schemaName := show.DBName
	if schemaName == "" {
		schemaName = s.state.db
	}
	if schemaName == "" {
		return wire.Errorf(mysql.ER_NO_DB_ERROR, "No database selected")
	}
	schema, ok := snap.Rules.Schemas[schemaName]
	if !ok || show.Where != nil {
		return s.run(snap, st, w, obs) // information_schema, or a WHERE filter over what MySQL returns
	}
	// The list is read whole (to leave physical shards out): reserved from
	// a statement account of the session's memory.
	mem := s.rt.mem.Statement(s.mem)
	defer mem.Close()
	res, err := s.queryBounded(snap, schema.Cluster, "SHOW FULL TABLES FROM "+parser.QuoteIdent(schemaName), mem,
		"the table list of "+schemaName+" (SHOW TABLES reads it whole to leave physical shards out)", "")
	if err != nil {
		return err
	}
	physical := snap.Planner.PhysicalNamePattern(schemaName)
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
	pattern, filtered := likePattern(show)
	names := make([]string, 0, len(types))
	for name := range types {
		if !filtered || likeMatch(strings.ToLower(pattern), strings.ToLower(name)) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	title := "Tables_in_" + schemaName
	if filtered {
		title += " (" + pattern + ")"
	}
	cols := []wire.Column{nameColumn("TABLE_NAMES", title, "TABLE_NAME")}
	if show.Full {
		cols = append(cols, nameColumn("TABLE_NAMES", "Table_type", "TABLE_TYPE"))
	}
	rows := make([][][]byte, len(names))
	for i, n := range names {
		rows[i] = [][]byte{[]byte(n)}
		if show.Full {
			rows[i] = append(rows[i], []byte(types[n]))
		}
	}
	return engine.WriteTable(w, cols, rows, s.Status())
}

// explainShardgate answers EXPLAIN SHARDGATE <statement> with its plan.
func (s *Session) explainShardgate(sql string, w ResultWriter) error {
	stmts, err := s.rt.parse(sql, s.state.textMode())
	if err != nil {
		return err
	}
	if len(stmts) != 1 {
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: EXPLAIN SHARDGATE takes one statement")
	}
	// Explaining shows clusters and physical tables: only of the schemas
	// the user may reach.
	if err := s.scope(stmts[0]); err != nil {
		return err
	}
	p, err := s.snapshot().Planner.Plan(stmts[0], s.state.facts())
	if err != nil {
		return err
	}
	cols := []wire.Column{{Name: "plan", OrgName: "plan", Charset: 45, Length: 65535, Type: mysql.MYSQL_TYPE_VAR_STRING}}
	var rows [][][]byte
	text := p.String() + "primitives:\n" + p.Tree()
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		rows = append(rows, [][]byte{[]byte(line)})
	}
	return engine.WriteTable(w, cols, rows, s.Status())
}

// isInfoSchemaTables reports a statement that reads only
// information_schema.TABLES / COLUMNS / STATISTICS.
func isInfoSchemaTables(st *parser.Statement) bool {
	if st.Kind != parser.KindSelect || len(st.Tables) == 0 {
		return false
	}
	if _, ok := st.Node.(*ast.SelectStmt); !ok {
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
func (s *Session) infoSchema(snap *Snapshot, st *parser.Statement, w ResultWriter) error {
	clusters := map[string]bool{}
	var order []string
	for _, name := range snap.Rules.SchemaOrder {
		for _, c := range snap.Planner.SchemaClusters(name) {
			if !clusters[c] {
				clusters[c] = true
				order = append(order, c)
			}
		}
	}
	sql, helpers := snap.Planner.InfoSchemaSQL(st, s.state.textMode(), s.visibleSchemas(snap))
	var cols []wire.Column
	var rows [][][]byte
	schemaCol, nameCol := -1, -1
	// Every cluster's answer is read whole and the rows kept until all
	// have come: reserved from a statement account of the session's
	// memory. A cluster's answer is given back once its rows are copied.
	mem := s.rt.mem.Statement(s.mem)
	defer mem.Close()
	what, avoid := "information_schema rows gathered from every cluster", "add a WHERE condition on TABLE_SCHEMA or TABLE_NAME"
	for i, cname := range order {
		held := mem.Used()
		res, err := s.queryBounded(snap, cname, sql, mem, what, avoid)
		if err != nil {
			return err
		}
		answer := mem.Used() - held
		if i == 0 {
			cols = res.Columns[:len(res.Columns)-helpers]
			if helpers == 0 {
				// Aggregated: nothing to map table by table; one cluster's answer.
				return engine.WriteTable(w, cols, toRows(res.Rows), s.Status())
			}
			schemaCol, nameCol = len(cols), len(cols)+1
		}
		for _, r := range res.Rows {
			schema := s.state.db
			if r[schemaCol] != nil {
				schema = *r[schemaCol]
			}
			if r[nameCol] == nil || !s.mayList(snap, schema) {
				continue
			}
			name, keep := snap.Planner.DescribedBy(schema, *r[nameCol], cname, i == 0)
			if !keep {
				continue
			}
			row := toRows([][]*string{r})[0][:len(cols)]
			for j, c := range cols {
				if strings.EqualFold(c.OrgName, "TABLE_NAME") && row[j] != nil {
					row[j] = []byte(name)
				}
			}
			if err := mem.Grow(tableRowMemory(row)); err != nil {
				return engine.MemoryError(mysql.ER_OUT_OF_RESOURCES, what, avoid, err)
			}
			rows = append(rows, row)
		}
		mem.Shrink(answer)
	}
	return engine.WriteTable(w, cols, rows, s.Status())
}

// tableRowMemory is what a row built for engine.WriteTable takes: the
// array of values and each value.
func tableRowMemory(row [][]byte) int64 {
	n := memory.Slice(cap(row), int64(unsafe.Sizeof([]byte(nil))), true) + int64(unsafe.Sizeof(row))
	for _, v := range row[:cap(row)] {
		n += memory.Bytes(cap(v))
	}
	return n
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

// proxyVariables answers @@max_allowed_packet with the proxy's own limit.
func proxyVariables(snap *Snapshot, st *parser.Statement, m parser.TextMode) *parser.Statement {
	sql, ok := planner.MaxAllowedPacketSQL(st, snap.Rules.MaxAllowedPacket, m)
	if !ok {
		return nil
	}
	out := *st
	out.SQL = sql
	return &out
}

// likeMatch implements SQL LIKE with % and _ (and backslash escapes).
func likeMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if likeMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '_':
		return s != "" && likeMatch(pattern[1:], s[1:])
	case '\\':
		if len(pattern) > 1 {
			return s != "" && s[0] == pattern[1] && likeMatch(pattern[2:], s[1:])
		}
	}
	return s != "" && s[0] == pattern[0] && likeMatch(pattern[1:], s[1:])
}

// mayList reports whether information_schema rows about schema are the
// client's to see: a schema the rules declare and its user may reach, or a
// server schema its system_schemas lists. Databases the backends hold for
// other purposes are not named at all.
func (s *Session) mayList(snap *Snapshot, schema string) bool {
	if dbAccess(s.client.Account, "", schema) != nil {
		return false
	}
	_, declared := snap.Rules.Schemas[schema]
	return declared || rules.IsServerSchema(schema) || strings.EqualFold(schema, "information_schema")
}

// visibleSchemas lists the databases information_schema may describe to
// the session (see mayList).
func (s *Session) visibleSchemas(snap *Snapshot) []string {
	var visible []string
	for _, name := range append(append([]string{"information_schema"}, snap.Rules.SchemaOrder...), "mysql", "performance_schema", "sys") {
		if s.mayList(snap, name) {
			visible = append(visible, name)
		}
	}
	return visible
}

// namesInfoSchema reports a statement that names an information_schema
// table (qualified, or unqualified in database information_schema).
func (s *Session) namesInfoSchema(st *parser.Statement) bool {
	for _, t := range st.Tables {
		if strings.EqualFold(s.schemaOf(t), "information_schema") {
			return true
		}
	}
	return false
}
