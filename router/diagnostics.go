package router

import (
	"errors"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// diagnostics are the warnings of a statement that ran on several
// backends: each backend connection knows only its own, so the proxy keeps
// their union for SHOW WARNINGS, SHOW COUNT(*) WARNINGS and
// @@warning_count of the next statement.
type diagnostics struct {
	count int // as the servers counted them (more than rows when one could not be read)
	rows  [][][]byte
}

// collect reads the warnings a step left on its connection.
func (d *diagnostics) collect(h *held, n uint16) {
	d.count += int(n)
	res, _, err := h.Query("SHOW WARNINGS")
	switch engine.Classify(err) {
	case engine.FaultNone:
		d.rows = append(d.rows, toRows(res.Rows)...)
	case engine.FaultBroken:
		h.Dirty = true // the reset on return fails and the pool drops it
	}
}

// failedWith is the diagnostics area a statement that failed with err
// leaves on a server: the error, counted as a warning too.
func failedWith(err error) *diagnostics {
	var me *mysql.MyError
	if !errors.As(err, &me) {
		return nil
	}
	return &diagnostics{count: 1, rows: [][][]byte{{[]byte("Error"), []byte(strconv.Itoa(int(me.Code))), []byte(me.Message)}}}
}

func (d *diagnostics) errors() int {
	n := 0
	for _, r := range d.rows {
		if len(r) > 0 && strings.EqualFold(string(r[0]), "Error") {
			n++
		}
	}
	return n
}

// answerDiagnostics answers a statement reading the previous statement's
// diagnostics from the union kept for a statement that ran on several
// backends. handled is false when the statement must run as usual.
func (s *Session) answerDiagnostics(st *parser.Statement, w ResultWriter) (handled bool, rewritten *parser.Statement, err error) {
	d := s.state.diag
	if d == nil {
		if s.reachedBackend {
			return false, nil, nil // the previous statement's connection has them
		}
		// Nothing has run yet: the diagnostics area is empty, as a
		// server's is at the start of a session (no connection to ask).
		d = &diagnostics{}
	}
	if show, ok := st.Node.(*ast.ShowStmt); ok {
		errorsOnly := show.Tp == ast.ShowErrors
		if show.CountWarningsOrErrors {
			n, name := d.count, "@@session.warning_count"
			if errorsOnly {
				n, name = d.errors(), "@@session.error_count"
			}
			cols := []wire.Column{{Name: name, Charset: 63, Length: 21, Type: mysql.MYSQL_TYPE_LONGLONG, Flags: mysql.UNSIGNED_FLAG}}
			return true, nil, engine.WriteTable(w, cols, [][][]byte{{[]byte(strconv.Itoa(n))}}, s.Status())
		}
		cols := []wire.Column{
			{Name: "Level", Charset: 33, Length: 21, Type: mysql.MYSQL_TYPE_VAR_STRING, Flags: mysql.NOT_NULL_FLAG},
			{Name: "Code", Charset: 63, Length: 4, Type: mysql.MYSQL_TYPE_LONG, Flags: mysql.NOT_NULL_FLAG | mysql.UNSIGNED_FLAG},
			{Name: "Message", Charset: 33, Length: 1536, Type: mysql.MYSQL_TYPE_VAR_STRING, Flags: mysql.NOT_NULL_FLAG},
		}
		var rows [][][]byte
		for _, r := range d.rows {
			if len(r) == 3 && (!errorsOnly || strings.EqualFold(string(r[0]), "Error")) {
				rows = append(rows, r)
			}
		}
		return true, nil, engine.WriteTable(w, cols, rows, s.Status())
	}
	warnings, errs := d.count, d.errors()
	prs := s.rt.parser(s.state.textMode())
	defer s.rt.parsers.Put(prs)
	out, err := prs.WithSessionValues(st, parser.SessionValues{ConnectionID: uint64(s.client.ID), WarningCount: &warnings, ErrorCount: &errs}, s.state.textMode())
	return false, out, err
}
