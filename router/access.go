package router

import (
	"net"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// What a user may do: the schemas of its rules entry, no writes when it is
// read_only, the proxy's administrative statements only when it is admin.
// The errors are the ones MariaDB gives an account lacking the privilege.

// CheckDB is the check of the database a client names in its handshake.
func (rt *Router) CheckDB(u *rules.User, host, db string) error {
	if err := dbAccess(u, host, db); err != nil {
		return err
	}
	if !rt.HasSchema(db) && !rules.IsServerSchema(db) {
		return wire.Errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", db)
	}
	return nil
}

// dbAccess refuses a database outside the user's schemas: 1044, whether
// or not the database exists, so that a restricted user learns nothing
// about the others. information_schema is every user's; mysql,
// performance_schema and sys only those whose system_schemas lists them.
func dbAccess(u *rules.User, host, db string) error {
	switch {
	case rules.IsServerSchema(db):
		// mysql, performance_schema, sys: only where system_schemas
		// lists them, whatever schemas says.
		if u.MayReadServerSchema(db) {
			return nil
		}
	case u == nil || u.AllSchemas() || db == "" || u.MaySee(db) || strings.EqualFold(db, "information_schema"):
		return nil
	}
	return dbDenied(u, host, db)
}

// dbDenied is MariaDB's answer to an account without privileges on db.
func dbDenied(u *rules.User, host, db string) error {
	return wire.Errorf(mysql.ER_DBACCESS_DENIED_ERROR, "Access denied for user '%s'@'%s' to database '%s'", u.Name, host, db)
}

// host is the client's address without its port, as errors name it.
func (s *Session) host() string {
	if h, _, err := net.SplitHostPort(s.client.Host); err == nil {
		return h
	}
	return s.client.Host
}

// restricted reports whether the session's user has limits that
// statements must be checked against.
func (s *Session) restricted() bool {
	u := s.client.Account
	return u != nil && (!u.AllSchemas() || u.ReadOnly)
}

// isAdmin reports whether the session may run administrative statements.
// A session without an account (the proxy's own, tests) may.
func (s *Session) isAdmin() bool { return s.client.Account == nil || s.client.Account.Admin }

func (s *Session) needAdmin(privilege string) error {
	if s.isAdmin() {
		return nil
	}
	return wire.Errorf(mysql.ER_SPECIFIC_ACCESS_DENIED_ERROR, "Access denied; you need (at least one of) the %s privilege(s) for this operation", privilege)
}

// authorize checks a parsed statement against the session's user before
// it is planned or prepared: every schema it names, and for read_only
// users whether it writes.
func (s *Session) authorize(st *parser.Statement) error {
	if err := s.serverSchemas(st); err != nil {
		return err
	}
	u := s.client.Account
	if !s.restricted() {
		return nil
	}
	if st.Unparsed != nil {
		if u.ReadOnly {
			// What the proxy cannot parse it cannot show to be a read.
			return s.readOnlyRefusal()
		}
		return nil // passthrough keeps it inside the current database
	}
	if err := s.scope(st); err != nil {
		return err
	}
	switch n := st.Node.(type) {
	case *ast.CreateDatabaseStmt, *ast.DropDatabaseStmt, *ast.AlterDatabaseStmt:
		name := databaseName(n)
		if u.ReadOnly || !u.MaySee(name) {
			// MariaDB answers a missing CREATE/DROP privilege on a
			// database with 1044 too.
			return dbDenied(u, s.host(), name)
		}
	case *ast.CallStmt:
		db := n.Procedure.Schema.O
		if db == "" {
			db = s.state.db
		}
		if err := dbAccess(u, s.host(), db); err != nil {
			return err
		}
		if u.ReadOnly {
			// A procedure may write, with the backend user's rights.
			return wire.Errorf(mysql.ER_PROCACCESS_DENIED_ERROR, "execute command denied to user '%s'@'%s' for routine '%s.%s'", u.Name, s.host(), db, n.Procedure.FnName.O)
		}
	case *ast.PrepareStmt:
		// SQL-level PREPARE: the text is checked as if it ran now, so
		// EXECUTE runs only what passed.
		if n.SQLVar != nil {
			return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: PREPARE ... FROM a variable cannot be checked against user '%s''s schemas and rights; give the statement text", u.Name)
		}
		inner, err := s.rt.parse(n.SQLText, s.state.textMode())
		if err != nil {
			return err
		}
		for _, ist := range inner {
			if err := s.authorize(ist); err != nil {
				return err
			}
		}
	}
	if u.ReadOnly {
		return s.readOnlyCheck(st)
	}
	return nil
}

// serverSchemas refuses a statement that uses the servers' own schemas
// (mysql, performance_schema, sys) unless the user's system_schemas lists
// them, and then only to read: they hold the backends' accounts and
// password hashes and every client's statements, which are not the
// application's data. The answer is the one MariaDB gives an account
// without the privilege: 1142 naming the command and the table, 1044 for
// the database itself.
func (s *Session) serverSchemas(st *parser.Statement) error {
	u := s.client.Account
	if u == nil || st.Node == nil {
		return nil
	}
	for _, t := range st.Tables {
		schema := s.schemaOf(t)
		if !rules.IsServerSchema(schema) {
			continue
		}
		command := commandOf(st)
		if command == "SELECT" && u.MayReadServerSchema(schema) {
			continue
		}
		return s.tableDenied(command, schema, t.Name)
	}
	if rules.IsServerSchema(st.ShowSchema) && !u.MayReadServerSchema(st.ShowSchema) {
		return dbDenied(u, s.host(), st.ShowSchema)
	}
	switch n := st.Node.(type) {
	case *ast.CreateDatabaseStmt, *ast.DropDatabaseStmt, *ast.AlterDatabaseStmt:
		if name := databaseName(n); rules.IsServerSchema(name) {
			return dbDenied(u, s.host(), name)
		}
	case *ast.CallStmt:
		if rules.IsServerSchema(n.Procedure.Schema.O) {
			return wire.Errorf(mysql.ER_PROCACCESS_DENIED_ERROR, "execute command denied to user '%s'@'%s' for routine '%s.%s'", u.Name, s.host(), n.Procedure.Schema.O, n.Procedure.FnName.O)
		}
	}
	return nil
}

// commandOf names a statement's privilege as MariaDB's 1142 does.
func commandOf(st *parser.Statement) string {
	switch n := st.Node.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt, *ast.ShowStmt, *ast.ExplainStmt:
		return "SELECT"
	case *ast.InsertStmt:
		return "INSERT" // REPLACE too: MariaDB names INSERT first
	case *ast.UpdateStmt:
		return "UPDATE"
	case *ast.DeleteStmt:
		return "DELETE"
	case ast.DDLNode:
		return ddlCommand(n)
	}
	// Anything else (LOCK TABLES, LOAD DATA, HANDLER …) is not a plain
	// read: named by its kind, and refused even where reading is allowed.
	return strings.ToUpper(st.Kind.String())
}

// scope refuses a statement that names a database outside the user's
// schemas.
func (s *Session) scope(st *parser.Statement) error {
	u := s.client.Account
	if u == nil || u.AllSchemas() {
		return nil
	}
	for _, t := range st.Tables {
		if err := dbAccess(u, s.host(), s.schemaOf(t)); err != nil {
			return err
		}
	}
	return dbAccess(u, s.host(), st.ShowSchema)
}

func databaseName(n ast.Node) string {
	switch n := n.(type) {
	case *ast.CreateDatabaseStmt:
		return n.Name.O
	case *ast.DropDatabaseStmt:
		return n.Name.O
	case *ast.AlterDatabaseStmt:
		return n.Name.O
	}
	return ""
}

// schemaOf is the database a table reference means.
func (s *Session) schemaOf(t parser.Table) string {
	if t.Schema != "" {
		return t.Schema
	}
	return s.state.db
}

// readOnlyCheck refuses the writes of a read_only user as MariaDB refuses
// a user without the privilege: 1142 naming the command and the table.
// Writes that name no table get 1290, the read-only server's answer.
func (s *Session) readOnlyCheck(st *parser.Statement) error {
	w := writeOf(st)
	switch {
	case !w.writes:
		return nil
	case w.command != "" && w.table != "":
		return s.tableDenied(w.command, w.schema, w.table)
	}
	return s.readOnlyRefusal()
}

// write is what writeOf says of a statement.
type write struct {
	writes bool
	// command is the privilege MariaDB would name refusing it, and
	// schema.table the table it would name ("" when it names none).
	command, schema, table string
}

// writeOf says whether a parsed statement may change data or schema: what
// a read_only user, or a table an operator made read_only, may not run.
// What it cannot tell is a write.
func writeOf(st *parser.Statement) write {
	switch n := st.Node.(type) {
	case *ast.SelectStmt:
		// SELECT ... INTO OUTFILE writes a file.
		return write{writes: n.SelectIntoOpt != nil}
	case *ast.ExplainStmt:
		if n.Analyze {
			// EXPLAIN ANALYZE runs the statement.
			return writeOf(parser.Classify(n.Stmt, st.SQL))
		}
		return write{}
	case *ast.UnlockTablesStmt:
		return write{}
	case *ast.LockTablesStmt:
		for _, l := range n.TableLocks {
			if l.Type != ast.TableLockRead && l.Type != ast.TableLockReadLocal {
				return write{true, "LOCK TABLES", l.Table.Schema.O, l.Table.Name.O}
			}
		}
		return write{}
	case *ast.LoadDataStmt:
		return write{true, "INSERT", n.Table.Schema.O, n.Table.Name.O}
	case *ast.SavepointStmt, *ast.ReleaseSavepointStmt, *ast.DoStmt, *ast.KillStmt,
		*ast.ExecuteStmt, *ast.DeallocateStmt, *ast.PrepareStmt, *ast.FlushStmt:
		// EXECUTE runs what PREPARE checked; FLUSH needs RELOAD, which
		// the backend user should not have.
		return write{}
	}
	command := ""
	switch st.Kind {
	case parser.KindSelect, parser.KindShow, parser.KindSet, parser.KindUse, parser.KindBegin,
		parser.KindCommit, parser.KindRollback:
		return write{}
	case parser.KindInsert:
		command = "INSERT"
	case parser.KindUpdate:
		command = "UPDATE"
	case parser.KindDelete:
		command = "DELETE"
	case parser.KindDDL:
		command = ddlCommand(st.Node)
	default:
		return write{writes: true}
	}
	if len(st.Tables) == 0 {
		return write{writes: true}
	}
	t := st.Tables[0]
	return write{true, command, t.Schema, t.Name}
}

// ddlCommand is the privilege MariaDB names when it refuses a DDL
// statement.
func ddlCommand(n ast.StmtNode) string {
	switch n.(type) {
	case *ast.CreateTableStmt, *ast.CreateSequenceStmt:
		return "CREATE"
	case *ast.CreateViewStmt:
		return "CREATE VIEW"
	case *ast.DropTableStmt, *ast.TruncateTableStmt, *ast.DropSequenceStmt:
		return "DROP"
	case *ast.CreateIndexStmt, *ast.DropIndexStmt:
		return "INDEX"
	}
	return "ALTER" // ALTER TABLE, RENAME TABLE
}

func (s *Session) tableDenied(command, schema, table string) error {
	if schema == "" {
		schema = s.state.db
	}
	return wire.Errorf(mysql.ER_TABLEACCESS_DENIED_ERROR, "%s command denied to user '%s'@'%s' for table `%s`.`%s`", command, s.client.Account.Name, s.host(), schema, table)
}

func (s *Session) readOnlyRefusal() error {
	return wire.Errorf(mysql.ER_OPTION_PREVENTS_STATEMENT, "The MariaDB server is running with the --read-only option so it cannot execute this statement (shardgate: user '%s' is read_only)", s.client.Account.Name)
}
