package router

import (
	"errors"
	"log/slog"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
)

// This file words the session's events for the log: statements the proxy
// refused, and writes to several tables that did not succeed on all.

// refusalReason names why the proxy refused a statement itself (its own
// error, before any backend was reached), "" for errors that are not
// refusals: a backend that cannot be reached (1429), a full pool (1040)
// and lost connections (1105) are logged where they happen, as health
// transitions and pool exhaustion.
func refusalReason(code uint16) string {
	switch code {
	case backend.CodeNotSent, mysql.ER_CON_COUNT_ERROR, mysql.ER_UNKNOWN_ERROR:
		return ""
	case mysql.ER_DBACCESS_DENIED_ERROR, mysql.ER_TABLEACCESS_DENIED_ERROR, mysql.ER_SPECIFIC_ACCESS_DENIED_ERROR,
		mysql.ER_PROCACCESS_DENIED_ERROR, mysql.ER_KILL_DENIED_ERROR:
		return "access denied"
	case mysql.ER_NOT_SUPPORTED_YET:
		return "not supported"
	case mysql.ER_PARSE_ERROR:
		return "syntax error"
	case mysql.ER_UPDATE_WITHOUT_KEY_IN_SAFE_MODE:
		return "write without WHERE"
	case mysql.ER_NO_DEFAULT_FOR_FIELD, mysql.ER_BAD_NULL_ERROR:
		return "shard key missing"
	case mysql.ER_OPTION_PREVENTS_STATEMENT, mysql.ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION:
		return "read only"
	case mysql.ER_BAD_DB_ERROR:
		return "unknown database"
	case mysql.ER_OUT_OF_SORTMEMORY:
		return "out of sort memory"
	case mysql.ER_OUT_OF_RESOURCES:
		return "out of memory"
	}
	return "other"
}

// noteRefusal logs a command the proxy refused by itself, at most one line
// per reason per logs.Every (the count of the others goes with the next).
// A refusal of the memory budget is the proxy's own even when backends
// were reached first (a sort reads the shards before it runs out).
func (s *Session) noteRefusal(err error, obs *observation) {
	if err == nil {
		return // before the targets of errors.As, which escape
	}
	var me *mysql.MyError
	var mem *engine.MemoryRefusedError
	if (obs.contacted && !errors.As(err, &mem)) || !errors.As(err, &me) || s.rt.refusals == nil {
		return
	}
	reason := refusalReason(me.Code)
	if reason == "" {
		return
	}
	s.rt.Metrics.Refused(reason)
	s.rt.refusals.Log(slog.LevelInfo, reason, "statement refused", "reason", reason, "code", me.Code,
		"err", clip(me.Message, maxLoggedText), "user", s.client.User, "host", s.client.Host, "conn", s.client.ID)
}

// NoteMemoryRefusal logs a refusal of the memory budget the client-facing
// side answered for the session by itself (long data, a packet, binding an
// EXECUTE), as noteRefusal does for statements; other errors are not its.
func (s *Session) NoteMemoryRefusal(err error) {
	var mem *engine.MemoryRefusedError
	if errors.As(err, &mem) {
		s.noteRefusal(err, &observation{})
	}
}

// Bounds of what one record holds of a statement: its text, and the
// tables listed per outcome.
const (
	maxLoggedText   = 1024
	maxLoggedTables = 1000
)

// logPartialWrite logs a write to several tables that may have written
// some and not others: what became of every table, for the repair.
func (s *Session) logPartialWrite(sql string, oe *engine.OutcomeError) {
	args := []any{"code", oe.Err.Code, "global", oe.Global, "conn", s.client.ID, "user", s.client.User, "host", s.client.Host,
		"sql", clip(sql, maxLoggedText)}
	for _, g := range []struct {
		key   string
		state engine.StepState
	}{
		{"committed", engine.StepCommitted},
		{"in_transaction", engine.StepInTransaction},
		{"rolled_back", engine.StepRolledBack},
		{"failed", engine.StepFailed},
		{"unknown", engine.StepUnknown},
		{"not_sent", engine.StepNotSent},
	} {
		if l := oe.List(g.state, maxLoggedTables); len(l) > 0 {
			args = append(args, g.key, l)
		}
	}
	msg := "partial write: some tables took the statement and others did not or may not have; nothing was undone"
	if oe.Global {
		msg = "partial write: the copies of a global table may now differ; nothing was undone"
	}
	s.rt.Log.Warn(msg, args...)
}

// clip cuts text to at most n bytes, on a character boundary.
func clip(text string, n int) string {
	if len(text) <= n {
		return text
	}
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return text[:n] + "…"
}
