package router

import (
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// passthrough runs a statement the parser cannot read but MariaDB can
// (procedure bodies with SIGNAL, SET STATEMENT ... FOR, HANDLER, spatial
// types): unchanged, on the primary of the current schema's default
// cluster, when a scan of its names shows it stays inside that database
// and names no table the proxy must route. Its effect on the connection is
// unknown, so the session keeps the connection, which is reset before
// anyone else gets it. When the scan cannot show that, the statement is
// refused (1235) and the parser's error is kept in the message.
func (s *Session) passthrough(sql string, parseErr error, w ResultWriter, obs *observation) error {
	if err := s.checkSwitches(&parser.Statement{SQL: sql, Unparsed: parseErr}); err != nil {
		return err
	}
	snap := s.snapshot()
	schema := snap.Rules.Schemas[s.state.db]
	if schema == nil {
		return parseErr // no database: nothing bounds what it could reach
	}
	refuse := func(why string) error {
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: the proxy cannot parse this statement (%v) and cannot send it unchanged: %s", parseErr, why)
	}
	if parser.LeadingKeyword(sql, s.state.textMode()) == "XA" {
		// XA branches are the proxy's own (distributed transactions):
		// a client's prepared branch would outlive its connection holding
		// row locks, and one with the proxy's format would meet recovery.
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: XA statements are not accepted from clients; transactions that span clusters are distributed by the proxy (transactions: xa)")
	}
	if fileText.MatchString(sql) {
		// LOAD XML, LOAD DATA forms the parser lacks, INTO OUTFILE: the
		// backend would read or write a file the proxy cannot vet.
		return s.fileDenied("the proxy cannot parse this statement, which may read or write a file on a backend server's disk (LOAD, INTO OUTFILE/DUMPFILE)")
	}
	names := passthroughNames(sql, s.state.textMode())
	for _, name := range names {
		if len(name) == 1 && (strings.EqualFold(name[0], "EXECUTE") || strings.EqualFold(name[0], "PREPARE")) {
			// EXECUTE IMMEDIATE 'text', PREPARE s FROM CONCAT(…) (here
			// or in a procedure's body): the server runs SQL that is a
			// string to this scan, and may name any database.
			return refuse("it runs SQL text made at run time (EXECUTE IMMEDIATE, PREPARE … FROM an expression), which may name any database or table")
		}
	}
	for _, name := range names {
		table := name[0]
		if len(name) > 1 {
			if !strings.EqualFold(name[0], s.state.db) {
				return refuse("it names " + strings.Join(name, ".") + ", which may lie outside database " + s.state.db)
			}
			table = name[1]
		}
		if schema.Table(table) != nil || snap.Planner.IsReservedName(s.state.db, table) {
			return refuse("it names table " + table + ", which the proxy routes")
		}
	}
	if implicitCommitText.MatchString(sql) {
		done, err := s.commitImplicitly()
		if err != nil {
			return err
		}
		defer done()
	}
	obs.kind = "passthrough"
	p := &engine.Plan{
		Root:    &engine.Route{Cluster: schema.Cluster, SQL: sql},
		Effects: engine.Effects{HoldsConnState: true},
	}
	return s.execute(s.cursor(snap, p, obs), w)
}

// passthroughNames lists the names in sql as read in mode m and in the
// modes it could switch to for itself: SET STATEMENT sql_mode=… FOR …
// makes the server read the rest with or without backslash escapes and
// ANSI_QUOTES, where a string of one reading is SQL in another. A name
// found in any reading counts.
func passthroughNames(sql string, m parser.TextMode) []parser.Name {
	var out []parser.Name
	for _, nbe := range []bool{false, true} {
		for _, ansi := range []bool{false, true} {
			r := m
			r.NoBackslashEscapes, r.AnsiQuotes = nbe, ansi
			out = append(out, parser.Names(sql, r)...)
		}
	}
	return out
}
