package router

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// LOAD DATA [LOCAL] INFILE and SELECT … INTO OUTFILE/DUMPFILE.
//
// The proxy never reads or writes a file of its own, and never lets a
// backend read or write one of its disk: LOAD DATA without LOCAL and
// SELECT … INTO OUTFILE/DUMPFILE are refused as MariaDB refuses a user
// without the FILE privilege. LOAD DATA LOCAL asks the client for the
// file (0xFB packet). Into a table of one cluster, the backend's request
// is relayed to the client and the file's packets to the backend. Into a
// sharded table, the proxy reads the rows itself (parser.LoadReader) and
// writes them as multi-row INSERTs (REPLACE with REPLACE; IGNORE
// otherwise, since LOCAL implies IGNORE in MariaDB: the server cannot stop
// a client mid-file), planned like any INSERT, so each row goes where an
// INSERT of it would, in batches of loadBatchBytes; into a global table,
// the same INSERTs write every copy.

// erLoadInfileDisabled is MariaDB's ER_LOAD_INFILE_CAPABILITY_DISABLED
// (4166): LOAD DATA LOCAL from a client that did not enable local files.
const erLoadInfileDisabled = 4166

// loadBatchBytes bounds the text of one INSERT the rows become; the
// statement's memory account is charged a multiple of it while it runs.
const (
	loadBatchBytes = 1 << 20
	loadBatchRows  = 5000
	// loadMemFactor: the INSERT text, its parsed form and the per-table
	// statements rendered from it, per byte of text.
	loadMemFactor = 8
)

// loadSavepoint marks the start of a load inside a transaction, which a
// failed load rolls back to; like statementSavepoint, not a name a client
// writes unquoted.
var loadSavepoint = parser.QuoteIdent("shardgate load")

// AllowLocalInfile records whether the client set CLIENT_LOCAL_FILES.
func (s *Session) AllowLocalInfile(on bool) { s.localInfile = on }

// fileClient is the client's connection as LOAD DATA LOCAL needs it: the
// proxy writes the file request and reads the file's packets.
type fileClient interface {
	ResultWriter
	ReadPacket() ([]byte, error)
}

// fileDenied is MariaDB's answer to a user without the FILE privilege,
// with the proxy's reason.
func (s *Session) fileDenied(why string) error {
	return wire.Errorf(mysql.ER_ACCESS_DENIED_ERROR, "Access denied for user '%s'@'%s' (using password: YES); shardgate: %s", s.client.User, s.host(), why)
}

// outfile refuses SELECT … INTO OUTFILE/DUMPFILE: the file would be
// written on a backend server's disk.
func (s *Session) outfile(st *parser.Statement) error {
	var into *ast.SelectIntoOption
	switch n := st.Node.(type) {
	case *ast.SelectStmt:
		into = n.SelectIntoOpt
	case *ast.SetOprStmt:
		if n.SelectList != nil {
			for _, sel := range n.SelectList.Selects {
				if ss, ok := sel.(*ast.SelectStmt); ok && ss.SelectIntoOpt != nil {
					into = ss.SelectIntoOpt
				}
			}
		}
	}
	if into == nil || into.Tp == ast.SelectIntoVars {
		return nil
	}
	return s.fileDenied("SELECT ... INTO OUTFILE/DUMPFILE would write the file on a backend server's disk; read the rows and write the file on the client")
}

// fileText matches unparsed statements that would make a backend read or
// write a file (LOAD XML, LOAD DATA forms the parser lacks, INTO
// OUTFILE/DUMPFILE): such text is not passed through.
var fileText = regexp.MustCompile(`(?is)^\s*LOAD\s|\bINTO\s+(OUTFILE|DUMPFILE)\b`)

// loadData runs a LOAD DATA statement.
func (s *Session) loadData(snap *Snapshot, st *parser.Statement, n *ast.LoadDataStmt, w ResultWriter, obs *observation) error {
	if n.FileLocRef != ast.FileLocClient {
		return s.fileDenied("LOAD DATA INFILE without LOCAL would read the file on a backend server's disk; use LOAD DATA LOCAL INFILE")
	}
	if !s.localInfile {
		return wire.Errorf(erLoadInfileDisabled, "The used command is not allowed because the MariaDB server or client has disabled the local infile capability")
	}
	fc, ok := w.(fileClient)
	if !ok {
		// Inside a multi-statement query, or a caller with no client.
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: LOAD DATA LOCAL INFILE must be a query of its own")
	}
	schema := n.Table.Schema.O
	if schema == "" {
		schema = s.state.db
	}
	sc := snap.Rules.Schemas[schema]
	var rule *rules.Table
	if sc != nil {
		rule = sc.Table(n.Table.Name.O)
	}
	if rule != nil && (rule.Shard != nil || rule.Global) {
		// A global table's rows go to every copy, as its INSERTs do.
		return s.loadSharded(snap, st, n, schema, fc, obs)
	}
	return s.loadRelayed(snap, st, fc, obs)
}

// loadRelayed runs LOAD DATA LOCAL on the one cluster holding the table:
// the backend's file request goes to the client and the client's file to
// the backend, packet by packet.
func (s *Session) loadRelayed(snap *Snapshot, st *parser.Statement, fc fileClient, obs *observation) error {
	p, err := s.plan(snap, st)
	if err != nil {
		return err
	}
	route, ok := p.Root.(*engine.Route)
	if !ok {
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: this LOAD DATA cannot run on one server")
	}
	vc := s.cursor(snap, p, obs)
	defer vc.mem.Close()
	c, err := vc.Conn(route.Cluster, false)
	if err != nil {
		return err
	}
	h := c.(*held)
	out, err := h.Conn.RelayLocalFile(route.SQL, fc)
	if err != nil {
		return vc.Lost(c, err)
	}
	if out.Err == nil {
		vc.Succeeded(out.OK)
	}
	vc.Release(c, &out, nil)
	return fc.Flush()
}

// clientFile reads the file a client sends after the 0xFB request: its
// packets up to the empty one.
type clientFile struct {
	c    fileClient
	cur  []byte
	done bool
	err  error // the client's connection failed
}

func (f *clientFile) Read(p []byte) (int, error) {
	for len(f.cur) == 0 {
		if f.done {
			return 0, io.EOF
		}
		if f.err != nil {
			return 0, f.err
		}
		pkt, err := f.c.ReadPacket()
		if err != nil {
			f.err = &ClientGoneError{Err: err}
			return 0, f.err
		}
		if len(pkt) == 0 {
			f.done = true
			return 0, io.EOF
		}
		f.cur = pkt
	}
	n := copy(p, f.cur)
	f.cur = f.cur[n:]
	return n, nil
}

// drain reads the rest of the file, so that the client, which sends it
// whole whatever the server answers, is ready for the answer.
func (f *clientFile) drain() error {
	for !f.done && f.err == nil {
		f.cur = nil
		var b [1]byte
		f.Read(b[:])
	}
	return f.err
}

// loadTarget is what a field of the file becomes.
type loadTarget struct {
	column  string // a column of the table
	userVar string // or a user variable, for SET
}

// capture keeps the answer of one of the load's own statements.
type capture struct {
	ok  wire.OK
	err error
}

func (c *capture) WritePacket(p []byte) error {
	switch {
	case len(p) > 0 && p[0] == wire.HeaderERR:
		c.err = wire.ParseError(p)
	case len(p) > 0 && p[0] == wire.HeaderOK:
		c.ok, _ = wire.ParseOK(p)
	}
	return nil
}

func (c *capture) Flush() error { return nil }

// loadSharded reads the client's file and writes its rows into sharded
// table schema.n.Table as batched INSERTs.
func (s *Session) loadSharded(snap *Snapshot, st *parser.Statement, n *ast.LoadDataStmt, schema string, fc fileClient, obs *observation) error {
	format0, err := parser.LoadFormatOf(n)
	if err != nil {
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: LOAD DATA: %v", err)
	}
	mode := s.state.textMode()
	var targets []loadTarget
	for _, c := range n.ColumnsAndUserVars {
		switch {
		case c.ColumnName != nil:
			targets = append(targets, loadTarget{column: c.ColumnName.Name.O})
		case c.UserVar != nil:
			targets = append(targets, loadTarget{userVar: strings.ToLower(c.UserVar.Name)})
		}
	}
	if len(targets) == 0 && len(n.ColumnAssignments) > 0 {
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: LOAD DATA into sharded table %s.%s with SET needs a column list", schema, n.Table.Name.O)
	}
	// SET expressions, rendered once with each user variable as a
	// placeholder replaced per row by the row's value.
	var setCols, setExprs []string
	for _, a := range n.ColumnAssignments {
		text, err := restoreWithVars(a.Expr, mode)
		if err != nil {
			return err
		}
		setCols = append(setCols, a.Column.Name.O)
		setExprs = append(setExprs, text)
	}
	verb := "INSERT IGNORE INTO "
	if n.OnDuplicate == ast.OnDuplicateKeyHandlingReplace {
		verb = "REPLACE INTO "
	}
	var head strings.Builder
	head.WriteString(verb + parser.QuoteIdent(schema) + "." + parser.QuoteIdent(n.Table.Name.O))
	if len(targets) > 0 {
		var names []string
		for _, t := range targets {
			if t.column != "" {
				names = append(names, parser.QuoteIdent(t.column))
			}
		}
		for _, c := range setCols {
			names = append(names, parser.QuoteIdent(c))
		}
		head.WriteString(" (" + strings.Join(names, ",") + ")")
	}
	head.WriteString(" VALUES ")
	charset := format0.Charset
	if charset == "" {
		charset = s.databaseCharset()
	}

	// The file request: 0xFB and the name as the statement gives it.
	if err := fc.WritePacket(append([]byte{wire.HeaderLocalInfile}, n.Path...)); err != nil {
		return &ClientGoneError{Err: err}
	}
	if err := fc.Flush(); err != nil {
		return &ClientGoneError{Err: err}
	}
	file := &clientFile{c: fc}
	maxRow := snap.Rules.MaxAllowedPacket
	reader := parser.NewLoadReader(file, format0, maxRow)

	// In autocommit, the load is one transaction, as on one server:
	// everything or nothing (xa), or one commit per cluster (best_effort).
	// A session already in a transaction loads inside it. With
	// transactions: single a transaction cannot span clusters: each batch
	// commits on its own.
	implicit, savepoint := false, false
	inTxn := s.Status()&mysql.SERVER_STATUS_IN_TRANS != 0 || s.txn.dist != nil || s.txn.pending != "" || s.txn.active()
	switch {
	case !inTxn && s.state.vars["autocommit"] != "0" && s.txnMode(snap) != rules.TxnSingle:
		if err := s.loadStatement("BEGIN", obs, nil); err != nil {
			file.drain()
			return err
		}
		implicit = true
	case inTxn || s.state.vars["autocommit"] == "0":
		// A failed statement is undone inside the transaction, which
		// stays open, as on one server: a savepoint before the first
		// batch.
		if err := s.loadStatement("SAVEPOINT "+loadSavepoint, obs, nil); err != nil {
			file.drain()
			return err
		}
		savepoint = true
	}
	// undo ends what the load started after a failure.
	undo := func() {
		switch {
		case implicit:
			s.loadStatement("ROLLBACK", obs, nil)
		case savepoint:
			if s.loadStatement("ROLLBACK TO SAVEPOINT "+loadSavepoint, obs, nil) == nil {
				s.loadStatement("RELEASE SAVEPOINT "+loadSavepoint, obs, nil)
			}
		}
	}
	fail := func(err error) error {
		if derr := file.drain(); derr != nil {
			err = derr
		}
		undo()
		return err
	}
	acct := s.rt.mem.Statement(s.mem)
	defer acct.Close()
	// A batch's text is bounded so that what it costs (loadMemFactor times
	// its text) takes at most a quarter of statement_memory_limit.
	batchBytes := min(loadBatchBytes, int(s.rt.mem.Share(memory.Statement)/loadMemFactor/4))
	batchBytes = max(batchBytes, 16<<10)

	var (
		records, warnings, affected uint64
		batch                       strings.Builder
		inBatch                     int
	)
	flush := func() error {
		if inBatch == 0 {
			return nil
		}
		need := int64(batch.Len()) * loadMemFactor
		if err := acct.Grow(need); err != nil {
			return err
		}
		defer acct.Shrink(need)
		var ok wire.OK
		if err := s.loadStatement(batch.String(), obs, &ok); err != nil {
			return err
		}
		affected += ok.AffectedRows
		warnings += uint64(ok.Warnings)
		batch.Reset()
		inBatch = 0
		return nil
	}
	maxFields := len(targets)
	userVals := map[string]string{}
	// Without IGNORE (REPLACE) in a strict sql_mode, a row with too few or
	// too many fields fails the statement, as on the server; otherwise it
	// is a warning.
	strict := false
	if n.OnDuplicate == ast.OnDuplicateKeyHandlingReplace {
		// The server's sql_mode unless the session set one.
		modes := strings.ToUpper(s.sessionValue("SELECT @@sql_mode", ""))
		strict = strings.Contains(modes, "STRICT_TRANS_TABLES") || strings.Contains(modes, "STRICT_ALL_TABLES")
	}
	for {
		row, err := reader.Next(maxFields)
		if err == io.EOF {
			break
		}
		if err != nil {
			var gone *ClientGoneError
			if errors.As(err, &gone) {
				undo()
				return err
			}
			return fail(wire.Errorf(mysql.ER_NET_PACKET_TOO_LARGE, "shardgate: LOAD DATA: %v (row %d)", err, records+1))
		}
		records++
		if inBatch == 0 {
			batch.WriteString(head.String())
		} else {
			batch.WriteByte(',')
		}
		rowStart := batch.Len()
		batch.WriteByte('(')
		first := true
		// endRow drops the row being written and sends the rows before it.
		endRow := func() error {
			text := batch.String()[:rowStart]
			batch.Reset()
			if inBatch > 0 {
				batch.WriteString(strings.TrimSuffix(text, ","))
			}
			return flush()
		}
		value := func(v string) {
			if !first {
				batch.WriteByte(',')
			}
			first = false
			batch.WriteString(v)
		}
		if len(targets) == 0 {
			for i, f := range row.Fields {
				if row.Null[i] {
					value("NULL")
				} else {
					value(parser.LiteralIn(f, charset, mode))
				}
			}
		} else {
			// A missing field of a column gets the column's default and
			// 1261; a missing user variable is NULL, silently (as
			// MariaDB's read_sep_field).
			missing := 0
			for _, t := range targets[min(len(row.Fields), len(targets)):] {
				if t.column != "" {
					missing++
				}
			}
			var rowErr error
			switch {
			case strict && missing > 0:
				rowErr = &mysql.MyError{Code: mysql.ER_WARN_TOO_FEW_RECORDS, State: "01000", Message: fmt.Sprintf("Row %d doesn't contain data for all columns", records)}
			case strict && row.Cut:
				rowErr = &mysql.MyError{Code: mysql.ER_WARN_TOO_MANY_RECORDS, State: "01000", Message: fmt.Sprintf("Row %d was truncated; it contained more data than there were input columns", records)}
			}
			if rowErr != nil {
				// The rows before it go first: their own error, if any,
				// is the one the server would report.
				if err := endRow(); err != nil {
					return fail(err)
				}
				return fail(rowErr)
			}
			warnings += uint64(missing)
			if row.Cut {
				warnings++ // 1262: the row had more fields than columns
			}
			for i, t := range targets {
				lit := "DEFAULT"
				if i < len(row.Fields) {
					if row.Null[i] {
						lit = "NULL"
					} else {
						lit = parser.LiteralIn(row.Fields[i], charset, mode)
					}
				}
				if t.userVar != "" {
					if lit == "DEFAULT" {
						lit = "NULL"
					}
					userVals[t.userVar] = lit
					continue
				}
				value(lit)
			}
			for _, e := range setExprs {
				value(substituteVars(e, userVals))
			}
		}
		batch.WriteByte(')')
		inBatch++
		if batch.Len() >= batchBytes || inBatch >= loadBatchRows {
			if err := flush(); err != nil {
				return fail(err)
			}
		}
	}
	if err := flush(); err != nil {
		return fail(err)
	}
	switch {
	case implicit:
		if err := s.loadStatement("COMMIT", obs, nil); err != nil {
			return err
		}
	case savepoint:
		if err := s.loadStatement("RELEASE SAVEPOINT "+loadSavepoint, obs, nil); err != nil {
			return err
		}
	}
	var deleted, skipped uint64
	if n.OnDuplicate == ast.OnDuplicateKeyHandlingReplace {
		if affected > records {
			deleted = affected - records
		}
	} else if records > affected {
		skipped = records - affected
	}
	ok := wire.OK{AffectedRows: affected, Warnings: uint16(min(warnings, 0xffff)),
		Info: fmt.Sprintf("Records: %d  Deleted: %d  Skipped: %d  Warnings: %d", records, deleted, skipped, warnings)}
	return s.writeOK(fc, ok)
}

// loadStatement runs one of the load's own statements through the
// session, as if the client had sent it; ok, when not nil, gets its OK.
func (s *Session) loadStatement(sql string, obs *observation, ok *wire.OK) error {
	stmts, err := s.rt.parse(sql, s.state.textMode())
	if err != nil {
		return err
	}
	if len(stmts) != 1 {
		return wire.Errorf(mysql.ER_PARSE_ERROR, "shardgate: LOAD DATA built %d statements", len(stmts))
	}
	c := &capture{}
	if err := s.statement(stmts[0], c, obs); err != nil {
		return err
	}
	if c.err != nil {
		return c.err
	}
	if ok != nil {
		*ok = c.ok
	}
	return nil
}

// databaseCharset is character_set_database, the character set MariaDB
// reads a LOAD DATA file in when the statement names none (utf8mb4 when
// it cannot be learnt).
func (s *Session) databaseCharset() string {
	return strings.ToLower(s.sessionValue("SELECT @@character_set_database", "utf8mb4"))
}

// sessionValue runs a one-value SELECT through the session (on a backend
// connection carrying the session's variables); def when that fails.
func (s *Session) sessionValue(sql, def string) string {
	stmts, err := s.rt.parse(sql, s.state.textMode())
	if err != nil || len(stmts) != 1 {
		return def
	}
	r := &rowCapture{}
	if err := s.statement(stmts[0], r, &observation{}); err != nil || r.value == "" {
		return def
	}
	return r.value
}

// rowCapture keeps the first column of a one-row answer.
type rowCapture struct {
	n     int
	cols  int
	value string
}

func (r *rowCapture) WritePacket(p []byte) error {
	r.n++
	switch {
	case r.n == 1:
		n, _, _, _ := wire.LenEncInt(p)
		r.cols = int(n)
	case wire.IsEOF(p) || (len(p) > 0 && p[0] == wire.HeaderERR):
	case r.n > r.cols+2 && r.value == "":
		vals, nulls, ok := wire.ParseTextRow(p, r.cols)
		if ok && len(vals) > 0 && !nulls[0] {
			r.value = string(vals[0])
		}
	}
	return nil
}

func (r *rowCapture) Flush() error { return nil }

var userVarRef = regexp.MustCompile("@`((?:[^`]|``)*)`")

// varPlaceholder stands for user variable name in a rendered SET
// expression: an identifier no statement of the proxy's otherwise holds.
func varPlaceholder(name string) string {
	return "`\x00shardgate_var_" + strings.ReplaceAll(name, "`", "``") + "\x00`"
}

// restoreWithVars renders a SET expression with its user variables as
// placeholders.
func restoreWithVars(e ast.ExprNode, m parser.TextMode) (string, error) {
	text, err := parser.RestoreIn(e, m)
	if err != nil {
		return "", err
	}
	// The restored text names user variables as @`name`.
	return userVarRef.ReplaceAllStringFunc(text, func(m string) string {
		name := strings.ReplaceAll(m[2:len(m)-1], "``", "`")
		return varPlaceholder(strings.ToLower(name))
	}), nil
}

// substituteVars puts the row's user variable values into a SET
// expression (NULL for a variable the row did not set).
func substituteVars(text string, vals map[string]string) string {
	for strings.Contains(text, "`\x00shardgate_var_") {
		i := strings.Index(text, "`\x00shardgate_var_")
		j := strings.Index(text[i+1:], "\x00`")
		if j < 0 {
			break
		}
		name := strings.ReplaceAll(text[i+len("`\x00shardgate_var_"):i+1+j], "``", "`")
		v, ok := vals[name]
		if !ok {
			v = "NULL"
		}
		text = text[:i] + v + text[i+1+j+2:]
	}
	return text
}
