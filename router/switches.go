package router

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// Kill switches (README: Operating shardgate). An operator sets them with
// admin SQL while the proxy runs; they belong to the router, not to a
// snapshot, so they outlive reloads until cleared.

// Kinds of switch.
const (
	// SwitchReadOnly: writes to a schema or table get 1290.
	SwitchReadOnly = "read_only"
	// SwitchOffline: every statement on a schema or table gets 1105.
	SwitchOffline = "offline"
	// SwitchDrain: no new statement goes to a backend server; running
	// ones and sessions' held connections finish.
	SwitchDrain = "drain"
	// SwitchBackendOffline: drain, and the server's pooled connections
	// are forgotten (idle ones closed now, busy ones when they return).
	SwitchBackendOffline = "backend_offline"
	// SwitchReadsToPrimary: a cluster's reads go to its primary.
	SwitchReadsToPrimary = "reads_to_primary"
	// SwitchBlock: statements whose fingerprint (parser.Fingerprint) is
	// the target, or starts with it, get 1105.
	SwitchBlock = "block"
)

// Switch is one switch in force.
type Switch struct {
	ID   int
	Kind string
	// Target is a schema, schema.table, backend address, cluster or
	// fingerprint, by kind.
	Target string
	// Prefix: a block matches fingerprints that start with Target.
	Prefix bool
	Reason string
	SetBy  string
	SetAt  time.Time
	// hits counts the statements it refused or sent elsewhere.
	hits *atomic.Int64
}

// Hits is how many statements the switch refused or sent elsewhere.
func (sw Switch) Hits() int64 { return sw.hits.Load() }

// switchboard holds the switches in force. Statements read an immutable
// list (one atomic load, nothing more when it is empty); setting and
// clearing copy it.
type switchboard struct {
	mu   sync.Mutex
	next int
	list atomic.Pointer[[]Switch]
}

func (b *switchboard) current() []Switch {
	if l := b.list.Load(); l != nil {
		return *l
	}
	return nil
}

func (b *switchboard) add(sw Switch) Switch {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	sw.ID, sw.SetAt, sw.hits = b.next, time.Now(), new(atomic.Int64)
	l := append(slices.Clone(b.current()), sw)
	b.list.Store(&l)
	return sw
}

// clear removes switch id (0: every switch) and returns what it removed.
func (b *switchboard) clear(id int) []Switch {
	b.mu.Lock()
	defer b.mu.Unlock()
	var kept, gone []Switch
	for _, sw := range b.current() {
		if id == 0 || sw.ID == id {
			gone = append(gone, sw)
		} else {
			kept = append(kept, sw)
		}
	}
	b.list.Store(&kept)
	return gone
}

// Switches lists the switches in force, oldest first.
func (rt *Router) Switches() []Switch { return rt.switches.current() }

// applyBackendSwitches marks every backend of snap that a drain or
// backend_offline switch names (after a switch changes, and for the new
// pools a reload makes).
func (rt *Router) applyBackendSwitches(snap *Snapshot) {
	list := rt.switches.current()
	for _, c := range snap.Clusters {
		for _, b := range c.Backends() {
			reason, hits := "", (*atomic.Int64)(nil)
			for _, sw := range list {
				if (sw.Kind == SwitchDrain || sw.Kind == SwitchBackendOffline) && sw.Target == b.Addr {
					reason, hits = fmt.Sprintf("%s by switch %d%s", sw.Kind, sw.ID, because(sw)), sw.hits
				}
			}
			b.SetDrain(reason, hits)
		}
	}
}

// readsToPrimary reports whether a switch sends cluster's reads to its
// primary, counting the statement as its hit.
func (rt *Router) readsToPrimary(cluster string) bool {
	for _, sw := range rt.switches.current() {
		if sw.Kind == SwitchReadsToPrimary && sw.Target == cluster {
			sw.hits.Add(1)
			return true
		}
	}
	return false
}

// checkSwitches refuses a statement a switch forbids: a blocked
// fingerprint, any statement on an offline schema or table, a write to a
// read_only one. Text the proxy forwards unparsed in a switched schema is
// refused: it cannot be shown to stay clear of the switched tables.
func (s *Session) checkSwitches(st *parser.Statement) error {
	list := s.rt.switches.current()
	if len(list) == 0 {
		return nil
	}
	// SQL-level PREPARE and EXECUTE run another statement's text: that
	// text meets the switches, at PREPARE and again at every EXECUTE
	// (a switch set between them counts).
	switch n := st.Node.(type) {
	case *ast.PrepareStmt:
		if err := s.checkPrepared(list, n.Name, s.sqlPreparedText(n)); err != nil {
			return err
		}
	case *ast.ExecuteStmt:
		if inner, ok := s.state.sqlPrepared[strings.ToLower(n.Name)]; ok {
			if err := s.checkPrepared(list, n.Name, inner); err != nil {
				return err
			}
		}
	}
	fingerprint := ""
	for _, sw := range list {
		switch sw.Kind {
		case SwitchBlock:
			if fingerprint == "" {
				fingerprint = parser.FingerprintIn(st.SQL, s.state.textMode())
			}
			if s.blocks(sw, fingerprint) {
				sw.hits.Add(1)
				return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: statement blocked by switch %d%s", sw.ID, because(sw))
			}
		case SwitchReadOnly, SwitchOffline:
			what, hit := s.touches(st, sw.Target)
			if !hit {
				continue
			}
			if sw.Kind == SwitchOffline {
				sw.hits.Add(1)
				return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: %s is offline by switch %d%s", what, sw.ID, because(sw))
			}
			if _, call := st.Node.(*ast.CallStmt); call || st.Unparsed != nil || writeOf(st).writes && s.writesTo(st, sw.Target) {
				sw.hits.Add(1)
				return wire.Errorf(mysql.ER_OPTION_PREVENTS_STATEMENT,
					"The MariaDB server is running with the --read-only option so it cannot execute this statement (shardgate: %s is read_only by switch %d%s)", what, sw.ID, because(sw))
			}
		}
	}
	return nil
}

// blocks reports whether block switch sw matches a statement of
// fingerprint fp. The current database's qualifier is dropped from both
// first: DELETE FROM shop.t and DELETE FROM t are one statement in a
// session whose database is shop, whichever of them the operator blocked.
func (s *Session) blocks(sw Switch, fp string) bool {
	match := func(fp, target string) bool {
		// A prefix ends where one of the fingerprint's tokens does
		// (update audit is not a prefix of update auditors).
		return fp == target || sw.Prefix && strings.HasPrefix(fp, target) && (len(fp) == len(target) || fp[len(target)] == ' ')
	}
	if match(fp, sw.Target) {
		return true
	}
	// The normaliser writes names lower case, quoted unless they are
	// keywords, and only as the client quoted those (logs, `logs`):
	// compared without the quotes, and without the current database's
	// qualifier (`shop` . t).
	unquoted := func(x string) string {
		x = strings.ReplaceAll(x, "`", "")
		if s.state.db != "" {
			x = dbQualifier(strings.ToLower(s.state.db)).ReplaceAllString(x, "$1")
		}
		return x
	}
	return match(unquoted(fp), unquoted(sw.Target))
}

// dbQualifier matches db's qualifier in a fingerprint without quotes.
func dbQualifier(db string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[\s(,])` + regexp.QuoteMeta(db) + ` \. `)
}

// sqlPreparedText parses the text of a SQL-level PREPARE; nil when it is
// not known (PREPARE … FROM @variable) or does not parse.
func (s *Session) sqlPreparedText(n *ast.PrepareStmt) []*parser.Statement {
	if n.SQLVar != nil {
		return nil
	}
	inner, err := s.rt.parse(n.SQLText, s.state.textMode())
	if err != nil || len(inner) == 0 {
		return nil
	}
	return inner
}

// notePrepared remembers what a SQL-level PREPARE prepared, and forgets
// what DEALLOCATE drops, so that EXECUTE meets the switches in force when
// it runs. A PREPARE that fails on the server drops the old statement of
// that name there too, so it is remembered before it runs.
func (s *Session) notePrepared(st *parser.Statement) {
	switch n := st.Node.(type) {
	case *ast.PrepareStmt:
		if s.state.sqlPrepared == nil {
			s.state.sqlPrepared = map[string][]*parser.Statement{}
		}
		s.state.sqlPrepared[strings.ToLower(n.Name)] = s.sqlPreparedText(n)
	case *ast.DeallocateStmt:
		delete(s.state.sqlPrepared, strings.ToLower(n.Name))
	}
}

// checkPrepared applies the switches to the statements a SQL-level
// prepared statement runs. Text the proxy cannot read (from a variable)
// cannot be shown to stay clear of a schema or a blocked fingerprint.
func (s *Session) checkPrepared(list []Switch, name string, inner []*parser.Statement) error {
	if inner == nil {
		for _, sw := range list {
			switch sw.Kind {
			case SwitchBlock, SwitchReadOnly, SwitchOffline:
				sw.hits.Add(1)
				return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: prepared statement %s was prepared from a variable or from text the proxy cannot read, so it cannot be checked against switch %d (%s %s)%s", name, sw.ID, sw.Kind, sw.Target, because(sw))
			}
		}
		return nil
	}
	for _, ist := range inner {
		if err := s.checkSwitches(ist); err != nil {
			return err
		}
	}
	return nil
}

func because(sw Switch) string {
	if sw.Reason == "" {
		return ""
	}
	return ": " + sw.Reason
}

// touches reports whether st reaches target (schema or schema.table) and
// names it for the refusal.
func (s *Session) touches(st *parser.Statement, target string) (string, bool) {
	schema, table, _ := strings.Cut(target, ".")
	if st.Unparsed != nil {
		// Forwarded to the current database as written: it may reach any
		// of its tables.
		what := "database " + schema
		if table != "" {
			what = "table " + target + " (this statement of database " + schema + " cannot be parsed, so it may reach it)"
		}
		return what, strings.EqualFold(s.state.db, schema)
	}
	switch n := st.Node.(type) {
	case *ast.CreateDatabaseStmt, *ast.DropDatabaseStmt, *ast.AlterDatabaseStmt:
		if strings.EqualFold(databaseName(n), schema) {
			return "database " + schema, true
		}
	case *ast.CallStmt:
		// A procedure of the schema may reach any of its tables.
		db := n.Procedure.Schema.O
		if db == "" {
			db = s.state.db
		}
		if strings.EqualFold(db, schema) {
			if table != "" {
				return "table " + target + " (procedure " + db + "." + n.Procedure.FnName.O + " may reach it)", true
			}
			return "database " + schema, true
		}
	}
	for _, t := range st.Tables {
		if strings.EqualFold(s.schemaOf(t), schema) && (table == "" || strings.EqualFold(t.Name, table)) {
			if table == "" {
				return "database " + schema, true
			}
			return "table " + target, true
		}
	}
	return "", false
}

// Admin statements that set and clear switches; TiDB's grammar does not
// know them (admin.go recognises them before parsing).
var (
	switchStmt = regexp.MustCompile(`(?is)^\s*SHARDGATE\s+(READ_ONLY|OFFLINE|DRAIN\s+BACKEND|OFFLINE\s+BACKEND|READS_TO_PRIMARY|BLOCK\s+PREFIX|BLOCK)\s+` +
		`('(?:[^'\\]|''|\\.)*'|` + "`[^`]+`(?:\\.`[^`]+`)?" + `|[\w$.:]+)` +
		`(?:\s+REASON\s+('(?:[^'\\]|''|\\.)*'))?\s*;?\s*$`)
	clearStmt = regexp.MustCompile(`(?is)^\s*SHARDGATE\s+CLEAR\s+(\d{1,9}|ALL)\s*;?\s*$`)
)

// unquote reads a target or reason as written: a '…' string (with ”
// and backslash escapes), `schema`.`table`, or a bare word.
func unquote(s string) string {
	switch {
	case strings.HasPrefix(s, "'"):
		s = s[1 : len(s)-1]
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			switch {
			case s[i] == '\\' && i+1 < len(s):
				i++
				b.WriteByte(s[i])
			case s[i] == '\'' && i+1 < len(s) && s[i+1] == '\'':
				i++
				b.WriteByte('\'')
			default:
				b.WriteByte(s[i])
			}
		}
		return b.String()
	case strings.HasPrefix(s, "`"):
		return strings.ReplaceAll(s, "`", "")
	}
	return s
}

// setSwitch answers SHARDGATE READ_ONLY | OFFLINE | DRAIN BACKEND |
// OFFLINE BACKEND | READS_TO_PRIMARY | BLOCK [PREFIX] target [REASON '…'].
func (s *Session) setSwitch(m []string, w ResultWriter) error {
	if err := s.needAdmin("SUPER"); err != nil {
		return err
	}
	verb := strings.Join(strings.Fields(strings.ToUpper(m[1])), " ")
	sw := Switch{Target: unquote(m[2]), Reason: unquote(m[3]), SetBy: s.who()}
	snap := s.rt.Snapshot()
	switch verb {
	case "READ_ONLY", "OFFLINE":
		sw.Kind = map[string]string{"READ_ONLY": SwitchReadOnly, "OFFLINE": SwitchOffline}[verb]
		schema, _, _ := strings.Cut(sw.Target, ".")
		if snap.Rules.Schemas[schema] == nil {
			return wire.Errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", schema)
		}
	case "DRAIN BACKEND", "OFFLINE BACKEND":
		sw.Kind = SwitchDrain
		if verb == "OFFLINE BACKEND" {
			sw.Kind = SwitchBackendOffline
		}
		if !snap.hasBackend(sw.Target) {
			return wire.Errorf(mysql.ER_WRONG_ARGUMENTS, "shardgate: no backend server %s in the rules (SHOW SHARDGATE BACKENDS lists them)", sw.Target)
		}
	case "READS_TO_PRIMARY":
		sw.Kind = SwitchReadsToPrimary
		if snap.Clusters[sw.Target] == nil {
			return wire.Errorf(mysql.ER_WRONG_ARGUMENTS, "shardgate: no cluster %s in the rules", sw.Target)
		}
	default: // BLOCK, BLOCK PREFIX
		sw.Kind, sw.Prefix = SwitchBlock, verb == "BLOCK PREFIX"
		// A statement or a fingerprint, read the same way as the
		// statements it is compared with.
		if len(parser.Names(sw.Target, s.state.textMode())) == 0 {
			// An empty prefix would block every statement of every client.
			return wire.Errorf(mysql.ER_WRONG_ARGUMENTS, "shardgate: SHARDGATE %s needs a statement to block", verb)
		}
		sw.Target = parser.FingerprintIn(sw.Target, s.state.textMode())
	}
	// Under the reload lock: a reload building its snapshot meanwhile
	// either lists this switch or is the snapshot marked here.
	s.rt.reloadMu.Lock()
	sw = s.rt.switches.add(sw)
	snap = s.rt.Snapshot()
	s.rt.applyBackendSwitches(snap)
	s.rt.reloadMu.Unlock()
	if sw.Kind == SwitchBackendOffline {
		for _, c := range snap.Clusters {
			for _, b := range c.Backends() {
				if b.Addr == sw.Target {
					b.Purge()
				}
			}
		}
	}
	s.rt.Log.Warn("switch set", "id", sw.ID, "kind", sw.Kind, "target", sw.Target, "prefix", sw.Prefix, "reason", sw.Reason, "by", sw.SetBy)
	return s.writeOK(w, wire.OK{Info: fmt.Sprintf("switch %d set: %s %s", sw.ID, sw.Kind, sw.Target)})
}

// clearSwitch answers SHARDGATE CLEAR n | ALL.
func (s *Session) clearSwitch(which string, w ResultWriter) error {
	if err := s.needAdmin("SUPER"); err != nil {
		return err
	}
	id := 0
	if !strings.EqualFold(which, "ALL") {
		id, _ = strconv.Atoi(which)
	}
	s.rt.reloadMu.Lock() // as in setSwitch
	gone := s.rt.switches.clear(id)
	s.rt.applyBackendSwitches(s.rt.Snapshot())
	s.rt.reloadMu.Unlock()
	if id != 0 && len(gone) == 0 {
		return wire.Errorf(mysql.ER_WRONG_ARGUMENTS, "shardgate: there is no switch %d (SHOW SHARDGATE SWITCHES lists them)", id)
	}
	for _, sw := range gone {
		s.rt.Log.Warn("switch cleared", "id", sw.ID, "kind", sw.Kind, "target", sw.Target, "hits", sw.Hits(), "by", s.who())
	}
	return s.writeOK(w, wire.OK{AffectedRows: uint64(len(gone))})
}

func (snap *Snapshot) hasBackend(addr string) bool {
	for _, c := range snap.Clusters {
		for _, b := range c.Backends() {
			if b.Addr == addr {
				return true
			}
		}
	}
	return false
}

// writesTo reports whether a write changes target (schema or
// schema.table): for INSERT/REPLACE, LOAD DATA and single- and
// multi-table UPDATE/DELETE the tables written are known, and a table the
// statement only reads (INSERT INTO archive SELECT … FROM frozen) is not
// one of them; for anything else every table named counts.
func (s *Session) writesTo(st *parser.Statement, target string) bool {
	written, ok := writtenTables(st.Node)
	if !ok {
		return true
	}
	schema, table, _ := strings.Cut(target, ".")
	for _, t := range written {
		db := t.Schema.O
		if db == "" {
			db = s.state.db
		}
		if strings.EqualFold(db, schema) && (table == "" || strings.EqualFold(t.Name.O, table)) {
			return true
		}
	}
	return false
}

// writtenTables lists the tables a write changes, when they are known
// from the statement alone.
func writtenTables(node ast.StmtNode) ([]*ast.TableName, bool) {
	switch n := node.(type) {
	case *ast.InsertStmt:
		if n.Table == nil || n.Table.TableRefs == nil {
			return nil, false
		}
		if ts, ok := n.Table.TableRefs.Left.(*ast.TableSource); ok && n.Table.TableRefs.Right == nil {
			if tn, ok := ts.Source.(*ast.TableName); ok {
				return []*ast.TableName{tn}, true
			}
		}
	case *ast.LoadDataStmt:
		if n.Table != nil {
			return []*ast.TableName{n.Table}, true
		}
	case *ast.UpdateStmt:
		if n.TableRefs == nil || n.TableRefs.TableRefs == nil {
			return nil, false
		}
		names := tableAliases(n.TableRefs.TableRefs)
		var out []*ast.TableName
		for _, a := range n.List {
			if a.Column == nil {
				return nil, false
			}
			if a.Column.Table.L == "" {
				if len(names) != 1 {
					return nil, false // which table's column: the server knows
				}
				for _, tn := range names {
					out = append(out, tn)
				}
				continue
			}
			tn := names[strings.ToLower(a.Column.Table.O)]
			if tn == nil {
				return nil, false
			}
			out = append(out, tn)
		}
		return out, len(out) > 0
	case *ast.DeleteStmt:
		if n.TableRefs == nil || n.TableRefs.TableRefs == nil {
			return nil, false
		}
		names := tableAliases(n.TableRefs.TableRefs)
		if !n.IsMultiTable {
			if len(names) != 1 {
				return nil, false
			}
			for _, tn := range names {
				return []*ast.TableName{tn}, true
			}
		}
		if n.Tables == nil {
			return nil, false
		}
		var out []*ast.TableName
		for _, t := range n.Tables.Tables {
			tn := names[strings.ToLower(t.Name.O)]
			if tn == nil {
				return nil, false
			}
			out = append(out, tn)
		}
		return out, len(out) > 0
	}
	return nil, false
}

// tableAliases maps the names a join's tables go by (alias, else name;
// lower case) to the tables. A name that is not a table (a derived
// table) is left out.
func tableAliases(j *ast.Join) map[string]*ast.TableName {
	out := map[string]*ast.TableName{}
	var walk func(n ast.ResultSetNode)
	walk = func(n ast.ResultSetNode) {
		switch x := n.(type) {
		case *ast.Join:
			if x.Left != nil {
				walk(x.Left)
			}
			if x.Right != nil {
				walk(x.Right)
			}
		case *ast.TableSource:
			if tn, ok := x.Source.(*ast.TableName); ok {
				name := x.AsName.L
				if name == "" {
					name = tn.Name.L
				}
				out[name] = tn
			}
		}
	}
	walk(j)
	return out
}
