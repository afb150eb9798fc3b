package engine

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// Materialize runs a statement on one cluster after copying rows the proxy
// already holds into temporary tables there, on the very connection the
// statement then runs on (temporary tables live in one connection): the
// derived tables over shards of planner.DerivedFirst, each read and merged
// first. The temporary tables are dropped before the connection goes back.
type Materialize struct {
	Cluster string
	Replica bool
	Tables  []TempTable
	// SQL is the statement, reading the temporary tables.
	SQL string
	// Logical names the temporary tables in the answer's column
	// definitions as the statement did (the derived tables' aliases).
	Logical map[string]string
	// BatchBytes: an INSERT is sent once its text reaches this size (0:
	// DefaultBatchBytes).
	BatchBytes int
	// Origins, by the temporary tables' column names, are the tables and
	// columns the answer's column definitions name instead (the joined
	// rows' columns come from several tables).
	Origins map[string]ColumnOrigin
	// What names the copied rows in refusals ("": a derived table over
	// shards).
	What string
}

func (m *Materialize) what() string {
	if m.What != "" {
		return m.What
	}
	return "a derived table over shards"
}

// ColumnOrigin is the table (as the statement named it), the table's own
// name and the column a column of a temporary table was copied from.
type ColumnOrigin struct{ Table, OrgTable, Name string }

// TempTable is one temporary table and the rows it gets.
type TempTable struct {
	// Name is the table, quoted and qualified.
	Name string
	Rows *Collected
	// Source, when Rows is nil, gives the rows when the plan runs: read
	// whole first (planner.joinViaServer: the rows of a join in the proxy
	// whose select list or conditions read several tables), at most
	// MaxRows of them, reserved from the statement's memory account as
	// What (a refusal names the budget and the need); one row more is
	// refused with TooMany (1235).
	Source  RowSource
	MaxRows int
	What    string
	TooMany string
	// Create, when set, is the table's CREATE TEMPORARY TABLE, written by
	// the planner from the tables' definitions (exact types and
	// collations); otherwise it is made from the rows' column
	// definitions.
	Create string
	// Sources are what the planner knows of the columns beyond the rows'
	// metadata (their collations, ENUM/SET types), one per column; nil:
	// nothing (parser.DerivedColumnDDL).
	Sources []parser.ColumnSource
}

func (m *Materialize) Inputs() []Primitive {
	out := make([]Primitive, 0, 2*len(m.Tables)+1)
	for _, t := range m.Tables {
		if t.Source != nil {
			out = append(out, t.Source)
			create := t.Create
			if create == "" {
				create = fmt.Sprintf("CREATE TEMPORARY TABLE %s (…)", t.Name)
			}
			out = append(out, &Route{Cluster: m.Cluster, SQL: fmt.Sprintf("%s; INSERT INTO %s VALUES … (the rows above, at most %d)", create, t.Name, t.MaxRows)})
			continue
		}
		out = append(out, &Route{Cluster: m.Cluster, SQL: fmt.Sprintf("CREATE TEMPORARY TABLE %s (…); INSERT INTO %s VALUES … (%d rows)", t.Name, t.Name, len(t.Rows.Rows))})
	}
	return append(out, &Route{Cluster: m.Cluster, SQL: m.SQL})
}

func (m *Materialize) Describe() string {
	return fmt.Sprintf("Materialize %s: %d table(s) of rows the proxy holds copied into temporary tables, then the statement", m.Cluster, len(m.Tables))
}

func (m *Materialize) mergeSummary() string {
	for _, t := range m.Tables {
		if t.Source != nil {
			return fmt.Sprintf("rows copied into temporary tables on %s, the statement run there", m.Cluster)
		}
	}
	return ""
}

func (m *Materialize) Execute(vc Cursor, w ResultWriter) error {
	// Rows read when the plan runs are read whole before the connection
	// the statement runs on is taken: their reads may need a connection
	// to the same cluster (the session's one, in a transaction).
	tables := make([]TempTable, len(m.Tables))
	copy(tables, m.Tables)
	// Once copied (or on failure) the rows read here are not held any
	// more: their reservation goes back when the statement is done.
	var reserved int64
	defer func() {
		if acct := vc.Memory(); acct != nil && reserved > 0 {
			acct.Shrink(reserved)
		}
	}()
	for i := range tables {
		t := &tables[i]
		if t.Rows != nil || t.Source == nil {
			continue
		}
		rows, err := Collect(vc, t.Source, t.MaxRows, t.What, func() error {
			return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "%s", t.TooMany)
		})
		if err != nil {
			return err
		}
		t.Rows, reserved = rows, reserved+rows.Reserved
	}
	c, err := vc.Conn(m.Cluster, m.Replica)
	if err != nil {
		return err
	}
	created := 0
	// The derived tables' column names a table cannot have, by the names
	// the temporary tables give those columns instead.
	renamed := map[string]string{}
	// drop removes the tables created so far; ok: the connection may be
	// kept (a failed DROP, or a broken one, loses it).
	drop := func() bool {
		for _, t := range tables[:created] {
			if _, err := c.Exec("DROP TEMPORARY TABLE IF EXISTS " + t.Name); err != nil {
				return false
			}
		}
		return true
	}
	fail := func(err error) error {
		if Classify(err) == FaultServer && drop() {
			me, _ := err.(*mysql.MyError)
			vc.Release(c, &backend.Outcome{Err: me}, nil)
			if me != nil && me.Code == mysql.ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION {
				// A READ ONLY transaction (or session) creates and drops
				// no temporary table; the server's 1792 would read as if
				// the client's SELECT wrote.
				return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: %s is copied into a temporary table, which MariaDB does not create in a READ ONLY transaction; run the statement in a read-write one", m.what())
			}
			return err
		}
		return vc.Lost(c, err)
	}
	for _, t := range tables {
		if _, err := c.Exec("DROP TEMPORARY TABLE IF EXISTS " + t.Name); err != nil {
			return fail(err)
		}
		create, err := t.Create, error(nil)
		if create == "" {
			create, err = createTemp(t, renamed)
		}
		if err != nil {
			// The tables created so far hold this client's rows: they go
			// before the connection does (or it is not kept).
			refusal := wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: %s cannot be copied: %v", m.what(), err)
			if !drop() {
				vc.Release(c, nil, fmt.Errorf("shardgate: temporary tables not dropped"))
				return refusal
			}
			vc.Release(c, nil, nil)
			return refusal
		}
		if _, err := c.Exec(create); err != nil {
			return fail(err)
		}
		created++
		if err := m.insert(c, t); err != nil {
			return fail(err)
		}
	}
	cw := &eofWriter{countingWriter: countingWriter{ResultWriter: w}}
	var out backend.Outcome
	if err = c.SendQuery(m.SQL); err == nil {
		out, err = c.Stream(cw, m.rewriter(renamed))
	}
	if err != nil {
		if cw.packets > 0 && Classify(err) == FaultBroken {
			err = backend.Partial(err)
		}
		return vc.Lost(c, err)
	}
	if out.Err == nil {
		vc.Succeeded(out.OK)
	}
	// The DROP below is the connection's last statement: what the
	// client's statement left for the next one to read is taken first
	// (its warnings, or its error) and given back after.
	warnings := cw.warnings
	if !cw.rows {
		warnings = out.OK.Warnings // SELECT … INTO @vars: an OK packet
	}
	if err := m.keepDiagnostics(vc, c, out, warnings); err != nil {
		return vc.Lost(c, err)
	}
	if !drop() {
		// The answer is complete; the connection, holding tables it could
		// not drop, is not kept.
		vc.Release(c, &out, fmt.Errorf("shardgate: temporary tables not dropped"))
		return w.Flush()
	}
	// ROW_COUNT() reads -1 after a SELECT's rows (and after an error), 0
	// after the DROP: a SHOW sets it back to -1 and keeps FOUND_ROWS()
	// (the SELECT's) as it is. (After SELECT … INTO @vars one server's
	// ROW_COUNT() counts the rows: the DROP's 0 stands, README.)
	if cw.rows || out.Err != nil {
		if _, _, err := c.Query("SHOW WARNINGS LIMIT 0"); err != nil {
			vc.Release(c, &out, err)
			return w.Flush()
		}
	}
	vc.Release(c, &out, nil)
	return w.Flush()
}

// isTemp: name is one of the temporary tables' (unquoted, unqualified).
func (m *Materialize) isTemp(name string) bool {
	for _, t := range m.Tables {
		if strings.HasSuffix(t.Name, "."+parser.QuoteIdent(name)) || t.Name == parser.QuoteIdent(name) {
			return true
		}
	}
	return false
}

// keepDiagnostics reads the warnings (and the error) the statement left on
// c into the statement's diagnostics, which the session keeps for SHOW
// WARNINGS, SHOW COUNT(*) WARNINGS and @@warning_count (a Materialize is
// never a single route's statement: the session does not send those to
// the connection). warnings is the count the statement's EOF gave. An
// error is one that broke c.
func (m *Materialize) keepDiagnostics(vc Cursor, c Conn, out backend.Outcome, warnings uint16) error {
	if warnings == 0 && out.Err == nil {
		return nil
	}
	res, _, err := c.Query("SHOW WARNINGS")
	switch Classify(err) {
	case FaultNone:
	case FaultServer:
		res = nil
	default:
		return err
	}
	read := 0
	if res != nil {
		for _, r := range res.Rows {
			if len(r) != 3 || r[0] == nil || r[1] == nil || r[2] == nil {
				continue
			}
			code, _ := strconv.Atoi(*r[1])
			vc.Warn(*r[0], uint16(code), *r[2])
			read++
		}
	}
	if read == 0 && out.Err != nil {
		vc.Warn("Error", out.Err.Code, out.Err.Message)
	}
	return nil
}

// eofWriter is a countingWriter that keeps the warning count of the last
// EOF packet written: a result's end.
type eofWriter struct {
	countingWriter
	warnings uint16
	rows     bool // an EOF went by: the answer is a result set
}

func (e *eofWriter) WritePacket(p []byte) error {
	if wire.IsEOF(p) {
		e.warnings, e.rows = wire.EOFWarnings(p), true
	}
	return e.countingWriter.WritePacket(p)
}

// CreateTemp is the CREATE TEMPORARY TABLE a Materialize makes for t
// (t.Rows holding at least its columns), and the columns it names
// otherwise (into renamed): for COM_STMT_PREPARE, which describes the
// statement over an empty such table.
func CreateTemp(t TempTable, renamed map[string]string) (string, error) {
	return createTemp(t, renamed)
}

// createTemp is the CREATE TEMPORARY TABLE for t's columns. A derived
// table's column may have a name no table column can (longer than 64
// characters: an expression's text; ending in a space): such a column is
// created under a name of the proxy's, added to renamed (no statement
// can name it: one server refuses such an identifier too), and the
// answer's column definitions give it its own name back.
func createTemp(t TempTable, renamed map[string]string) (string, error) {
	var b strings.Builder
	b.WriteString("CREATE TEMPORARY TABLE " + t.Name + " (")
	for i, col := range t.Rows.Columns {
		var src parser.ColumnSource
		if len(t.Sources) == len(t.Rows.Columns) {
			src = t.Sources[i]
		}
		ddl, err := parser.DerivedColumnDDL(col, src)
		if err != nil {
			return "", fmt.Errorf("column %s: %v", col.Name, err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		name := col.Name
		if utf8.RuneCountInString(name) > 64 || strings.HasSuffix(name, " ") {
			name = fmt.Sprintf("shardgate column %d.%d", len(renamed), i)
			renamed[name] = col.Name
		}
		b.WriteString(parser.QuoteIdent(name) + " " + ddl)
	}
	b.WriteString(")")
	return b.String(), nil
}

// insert copies t's rows in INSERTs of about BatchBytes each.
func (m *Materialize) insert(c Conn, t TempTable) error {
	limit := m.BatchBytes
	if limit <= 0 {
		limit = DefaultBatchBytes
	}
	// The rows are values a server gave (zero dates among them), whatever
	// the session's sql_mode would refuse; the literals read the same in
	// every mode.
	head := "SET STATEMENT sql_mode = '' FOR INSERT INTO " + t.Name + " VALUES "
	var b strings.Builder
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		_, err := c.Exec(b.String())
		b.Reset()
		return err
	}
	for _, r := range t.Rows.Rows {
		if b.Len() == 0 {
			b.WriteString(head)
		} else {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for i, v := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(parser.TypedValueLiteral(t.Rows.Columns[i], v))
		}
		b.WriteByte(')')
		if b.Len() >= limit {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// rewriter names the answer's columns as the statement did: the derived
// tables' aliases for the temporary tables, and the columns createTemp
// renamed by their own names.
func (m *Materialize) rewriter(renamed map[string]string) func([]byte) []byte {
	if len(m.Origins) > 0 {
		return func(def []byte) []byte {
			col, ok := wire.ParseColumn(def)
			if !ok {
				return def
			}
			o, ok := m.Origins[col.OrgName]
			if !ok || !m.isTemp(col.OrgTable) {
				return def
			}
			col.Table, col.OrgTable, col.OrgName = o.Table, o.OrgTable, o.Name
			return wire.AppendColumn(nil, col)
		}
	}
	return TempTableColumns(m.Logical, renamed)
}

// TempTableColumns names an answer's columns read from temporary tables
// as the statement did: the temporary tables by logical (their aliases),
// and the columns createTemp renamed (into renamed) by their own names.
// nil when there is nothing to rename. COM_STMT_PREPARE describes such a
// statement with it too, as its EXECUTE answers.
func TempTableColumns(logical, renamed map[string]string) func([]byte) []byte {
	tables := (&Route{Logical: logical}).rewriter()
	if len(renamed) == 0 {
		return tables
	}
	return func(def []byte) []byte {
		if tables != nil {
			def = tables(def)
		}
		col, ok := wire.ParseColumn(def)
		if !ok {
			return def
		}
		n, renamedName := renamed[col.Name]
		o, renamedOrg := renamed[col.OrgName]
		if !renamedName && !renamedOrg {
			return def
		}
		if renamedName {
			col.Name = n
		}
		if renamedOrg {
			col.OrgName = o
		}
		return wire.AppendColumn(nil, col)
	}
}
