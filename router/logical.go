package router

import (
	"regexp"
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

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
