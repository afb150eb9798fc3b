package router

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/wire"
)

// information_schema in logical terms (planner/infoschema.go decides what
// is gathered and how rows are placed; this runs it).

// infoSchemaAccess refuses the information_schema tables no client may
// read through the proxy (they tell about other schemas, other sessions
// or the backend account: 1142, as MariaDB answers a missing privilege),
// and statements other than SELECT over the tables the proxy answers
// itself. SHOW (SHOW COLUMNS FROM information_schema.X …) describes only
// the tables' structure and passes.
func (s *Session) infoSchemaAccess(st *parser.Statement) error {
	if st.Node == nil || st.Kind == parser.KindShow {
		return nil
	}
	if p, ok := st.Node.(*ast.PrepareStmt); ok && p.SQLVar == nil {
		// SQL-level PREPARE: its EXECUTE runs on a backend as it is, where
		// information_schema is the server's own.
		inner, err := s.rt.parse(p.SQLText, s.state.textMode())
		if err != nil {
			return nil // the server will refuse it too
		}
		for _, ist := range inner {
			for _, t := range ist.Tables {
				if strings.EqualFold(s.schemaOf(t), "information_schema") && planner.InfoSchemaAccess(t.Name) != planner.ISServerWide {
					return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: PREPARE of a statement that reads information_schema.%s is not supported (the proxy answers that table itself); send the statement, or prepare it with the binary protocol", t.Name)
				}
			}
		}
		return nil
	}
	for _, t := range st.Tables {
		if !strings.EqualFold(s.schemaOf(t), "information_schema") {
			continue
		}
		switch planner.InfoSchemaAccess(t.Name) {
		case planner.ISRefused:
			if s.client.Account != nil {
				return s.tableDenied(commandOf(st), "information_schema", t.Name)
			}
		case planner.ISGathered, planner.ISProxy:
			if st.Kind != parser.KindSelect {
				return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: information_schema.%s is answered by the proxy, for SELECT statements only", t.Name)
			}
		}
	}
	return nil
}

// infoSchema answers a SELECT that reads information_schema tables the
// proxy answers (gathered from every cluster, or its own PROCESSLIST):
// the rows are gathered, and the whole statement runs on one server over
// them. answered is false for statements that read none of those tables.
func (s *Session) infoSchema(snap *Snapshot, st *parser.Statement, w ResultWriter, obs *observation) (answered bool, err error) {
	proxy, gathered := false, false
	for _, t := range st.Tables {
		if !strings.EqualFold(s.schemaOf(t), "information_schema") {
			continue
		}
		switch planner.InfoSchemaAccess(t.Name) {
		case planner.ISProxy:
			proxy = true
		case planner.ISGathered:
			gathered = true
		}
	}
	if !proxy && !gathered {
		return false, nil
	}
	for _, t := range st.Tables {
		if !strings.EqualFold(s.schemaOf(t), "information_schema") {
			return true, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: information_schema tables the proxy answers cannot be combined with other tables (%s) in one statement", t.Name)
		}
	}
	if sel, ok := st.Node.(*ast.SelectStmt); ok && sel.SelectIntoOpt != nil {
		return true, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: SELECT … INTO over information_schema tables the proxy answers is not supported; read the rows instead")
	}
	// A tree of its own, with the values bound into a prepared statement,
	// to read and rewrite: st's may be shared (prepared statements reuse
	// the tree parsed at PREPARE).
	prs := s.rt.parser(s.state.textMode())
	fresh, err := prs.Parse(st.SQL)
	s.rt.parsers.Put(prs)
	if err != nil {
		return true, err
	}
	if len(fresh) != 1 {
		return true, wire.Errorf(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax near '%s'", st.SQL)
	}
	n := fresh[0].Node
	if st.IntoUserVars {
		uniqueFieldNames(n)
	}
	q := snap.Planner.InfoSchema(st, n, s.state.db, s.visibleSchemas(snap))
	var answers []planner.Answer
	if q != nil {
		// Every answer is held until the statement is built: reserved
		// from a statement account of the session's memory.
		mem := s.rt.mem.Statement(s.mem)
		defer mem.Close()
		for _, g := range q.Gathers {
			res, err := s.queryBounded(snap, g.Cluster, g.SQL, mem, "information_schema rows gathered from the clusters", "add a WHERE condition on TABLE_SCHEMA or TABLE_NAME")
			if err != nil {
				return true, err
			}
			answers = append(answers, planner.Answer{Gather: g, Columns: res.Columns, Rows: res.Rows})
		}
	}
	var extra []parser.CTE
	if proxy {
		extra = append(extra, parser.CTE{Name: "PROCESSLIST", Body: s.processListBody()})
	}
	sql, err := snap.Planner.InfoSchemaSQL(q, answers, n, s.state.db, extra, s.state.textMode())
	if err != nil {
		return true, err
	}
	cluster := snap.Rules.DefaultSchema().Cluster
	if q != nil {
		cluster = q.Cluster
	} else if schema := snap.Rules.Schemas[s.state.db]; schema != nil {
		cluster = schema.Cluster
	}
	eff := engine.Effects{CountsAsRead: true}
	if st.IntoUserVars {
		// The statement was read without its INTO @vars (see
		// parser.parseSelectIntoVars): the server sets them from the
		// statement written from the tree, as a derived table (INTO after
		// the whole statement is deprecated, warning 1287), and the
		// session reads them back from its connection.
		vars := make([]string, len(st.IntoVars))
		for i, v := range st.IntoVars {
			vars[i] = "@" + parser.QuoteIdent(v)
		}
		sql = "SELECT * INTO " + strings.Join(vars, ", ") + " FROM (" + sql + ") AS `shardgate into`"
		eff.AssignedUserVars = st.AssignedUserVars
	}
	p := &engine.Plan{Read: true, Root: &engine.Route{Cluster: cluster, SQL: sql, Replica: true}, Effects: eff}
	return true, s.execute(s.cursor(snap, p, obs), w)
}

// tableStatusColumns are SHOW TABLE STATUS's columns as information_schema
// .TABLES holds them.
const tableStatusColumns = "TABLE_NAME AS `Name`, ENGINE AS `Engine`, VERSION AS `Version`, ROW_FORMAT AS `Row_format`, " +
	"TABLE_ROWS AS `Rows`, AVG_ROW_LENGTH AS `Avg_row_length`, DATA_LENGTH AS `Data_length`, " +
	"MAX_DATA_LENGTH AS `Max_data_length`, INDEX_LENGTH AS `Index_length`, DATA_FREE AS `Data_free`, " +
	"AUTO_INCREMENT AS `Auto_increment`, CREATE_TIME AS `Create_time`, UPDATE_TIME AS `Update_time`, " +
	"CHECK_TIME AS `Check_time`, TABLE_COLLATION AS `Collation`, CHECKSUM AS `Checksum`, " +
	"CREATE_OPTIONS AS `Create_options`, TABLE_COMMENT AS `Comment`, MAX_INDEX_LENGTH AS `Max_index_length`, " +
	"TEMPORARY AS `Temporary`"

// showTableStatus answers SHOW TABLE STATUS [FROM db] [LIKE … | WHERE …]
// of a declared schema from information_schema.TABLES as the proxy
// answers it: logical tables, a sharded table's sizes summed over its
// physical tables.
func (s *Session) showTableStatus(snap *Snapshot, st *parser.Statement, show *ast.ShowStmt, w ResultWriter, obs *observation) error {
	schemaName := show.DBName
	if schemaName == "" {
		schemaName = s.state.db
	}
	if schemaName == "" {
		return wire.Errorf(mysql.ER_NO_DB_ERROR, "No database selected")
	}
	if _, ok := snap.Rules.Schemas[schemaName]; !ok {
		return s.run(snap, st, w, obs)
	}
	return s.showOverTables(snap, tableStatusColumns, schemaName, show, "`Name`", w, obs)
}

// showOverTables answers a SHOW of schemaName's tables as a SELECT of cols
// from information_schema.TABLES, with the SHOW's LIKE applied to the
// table name or its WHERE to the columns it shows, ordered by orderBy.
func (s *Session) showOverTables(snap *Snapshot, cols, schemaName string, show *ast.ShowStmt, orderBy string, w ResultWriter, obs *observation) error {
	m := s.state.textMode()
	inner := "SELECT " + cols + " FROM information_schema.`TABLES` WHERE TABLE_SCHEMA = " + parser.QuoteString(schemaName)
	if show.Pattern != nil {
		pattern, err := parser.RestoreIn(show.Pattern.Pattern, m)
		if err != nil {
			return err
		}
		inner += " AND TABLE_NAME LIKE " + pattern
	}
	sql := "SELECT * FROM (" + inner + ") AS `t`"
	if show.Where != nil {
		where, err := parser.RestoreIn(show.Where, m)
		if err != nil {
			return err
		}
		sql += " WHERE " + where
	}
	sql += " ORDER BY " + orderBy
	stmts, err := s.rt.parse(sql, m)
	if err != nil {
		return err
	}
	if len(stmts) != 1 {
		return wire.Errorf(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax near '%s'", sql)
	}
	_, err = s.infoSchema(snap, stmts[0], w, obs)
	return err
}

// uniqueFieldNames gives the fields of a SELECT … INTO @vars that repeat
// an earlier field's name (SELECT a, a INTO @x, @y) names of their own:
// the proxy reads the statement as a derived table (see infoSchema),
// whose columns must differ (1060), where one server only assigns them.
// A field's name is its alias, its column's name, or its text.
func uniqueFieldNames(n ast.Node) {
	sel, _ := n.(*ast.SelectStmt)
	if u, ok := n.(*ast.SetOprStmt); ok && u.SelectList != nil && len(u.SelectList.Selects) > 0 {
		sel, _ = u.SelectList.Selects[0].(*ast.SelectStmt)
	}
	if sel == nil || sel.Fields == nil {
		return
	}
	seen := map[string]bool{}
	for i, f := range sel.Fields.Fields {
		if f.WildCard != nil {
			continue
		}
		name := f.AsName.L
		if name == "" {
			if c, ok := f.Expr.(*ast.ColumnNameExpr); ok {
				name = c.Name.Name.L
			} else {
				name = strings.ToLower(f.Text())
			}
		}
		if seen[name] {
			f.AsName = ast.NewCIStr(fmt.Sprintf("shardgate into %d", i))
		}
		seen[name] = true
	}
}
