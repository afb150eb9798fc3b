package router

import (
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
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
	if !ok {
		return s.run(snap, st, w, obs) // information_schema, mysql, …
	}
	if show.Where != nil {
		// A WHERE filter over the columns SHOW shows: evaluated by a
		// server over information_schema.TABLES as the proxy answers it.
		cols := "TABLE_NAME AS " + parser.QuoteIdent("Tables_in_"+schemaName)
		if show.Full {
			cols += ", TABLE_TYPE AS `Table_type`"
		}
		return s.showOverTables(snap, cols, schemaName, show, "1", w, obs)
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
	types := map[string]string{}
	for _, row := range res.Rows {
		if row[0] == nil || snap.Planner.IsReservedName(schemaName, *row[0]) {
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
	snap := s.snapshot()
	var text string
	p, err := s.plan(snap, stmts[0])
	if notSupportedYet(err) {
		if first, ferr := s.explainSubqueriesFirst(snap, stmts[0]); ferr != nil || first != "" {
			text, err = first, ferr
		} else if first, ferr := s.explainDerivedFirst(snap, stmts[0]); ferr != nil || first != "" {
			text, err = first, ferr
		}
	}
	if err != nil {
		return err
	}
	if text == "" {
		text = p.String() + "primitives:\n" + p.Tree()
	}
	cols := []wire.Column{{Name: "plan", OrgName: "plan", Charset: 45, Length: 65535, Type: mysql.MYSQL_TYPE_VAR_STRING}}
	var rows [][][]byte
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		rows = append(rows, [][]byte{[]byte(line)})
	}
	return engine.WriteTable(w, cols, rows, s.Status())
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
