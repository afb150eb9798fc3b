package router

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/wire"
)

// maxSubqueryDepth bounds subqueries run first inside subqueries run first.
const maxSubqueryDepth = 3

// subqueriesFirst answers a SELECT the planner refused because of
// subqueries over tables it cannot read together with the rest: each
// uncorrelated one runs first, as a statement of its own in this session
// (its transaction included; see planner.SubqueriesFirst), and the
// statement comes back with their values in their place. nil, nil: there
// is nothing to run first, and the planner's refusal stands.
func (s *Session) subqueriesFirst(snap *Snapshot, st *parser.Statement, obs *observation, depth int) (*answeredFirst, error) {
	if st.Kind != parser.KindSelect || depth >= maxSubqueryDepth {
		return nil, nil
	}
	fresh, f, ok := s.rewritable(snap, st)
	if !ok {
		return nil, nil
	}
	rw, err := snap.Planner.SubqueriesFirst(fresh.Node, f)
	if rw == nil || err != nil {
		return nil, err
	}
	rw.KeepHint(st.SQL)
	answers := make([]*engine.Collected, len(rw.Subs))
	// The answers stay reserved until the statement is written with them.
	var held []*cursor
	defer func() {
		for _, vc := range held {
			vc.mem.Close()
		}
	}()
	for i, sub := range rw.Subs {
		p, err := s.plan(snap, sub.Stmt)
		if notSupportedYet(err) {
			inner, innerErr := s.subqueriesFirst(snap, sub.Stmt, obs, depth+1)
			switch {
			case innerErr != nil:
				return nil, innerErr
			case inner != nil:
				p, err = inner.plan(s, snap)
			}
		}
		if err != nil {
			return nil, err
		}
		src, ok := p.Root.(engine.RowSource)
		if !ok || !p.Read {
			return nil, nil
		}
		vc := s.cursor(snap, p, obs)
		answers[i], err = engine.Collect(vc, src, planner.MaxSubqueryRows, "the rows of a subquery run before the statement holding it",
			func() error { return rw.TooMany(i) })
		held = append(held, vc)
		var me *mysql.MyError
		if errors.As(err, &me) && me.Code == mysql.ER_BAD_FIELD_ERROR {
			if name, ok := backend.UnknownColumn(err); ok && !rw.OuterMayHave(name) {
				return nil, err // no table of the statement has it: MariaDB's 1054 too
			}
			return nil, rw.Correlated(i, err)
		}
		if err != nil {
			return nil, err
		}
	}
	sql, err := rw.SQL(answers)
	if err != nil {
		return nil, err
	}
	columns, err := rw.SelectListColumns(answers)
	if err != nil {
		return nil, err
	}
	rewritten, err := s.parseFresh(sql)
	if err != nil {
		return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: the statement with its subqueries' values in their place did not parse again (%v)", err)
	}
	return &answeredFirst{st: rewritten, columns: columns}, nil
}

// answeredFirst is a statement whose subqueries ran first: the statement
// with their values in their place, and the column definitions its
// select-list subqueries' columns take back from them.
type answeredFirst struct {
	st      *parser.Statement
	columns []engine.RetypedColumn
}

// plan plans the rewritten statement, its select-list subqueries'
// columns described as theirs (retyped).
func (a *answeredFirst) plan(s *Session, snap *Snapshot) (*engine.Plan, error) {
	p, err := s.plan(snap, a.st)
	if err != nil {
		return nil, err
	}
	return retyped(p, a.columns)
}

// retyped is p answering columns' definitions in place of its own
// (engine.Retype): select-list subqueries that ran first are described as
// the subqueries, not as the literals that stand for them.
func retyped(p *engine.Plan, columns []engine.RetypedColumn) (*engine.Plan, error) {
	if len(columns) == 0 {
		return p, nil
	}
	src, ok := p.Root.(engine.RowSource)
	if !ok {
		return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a statement with subqueries in its select list that ran first does not answer rows the proxy can describe")
	}
	out := *p
	out.Root = &engine.Retype{Input: src, Columns: columns}
	return &out, nil
}

// rewritable gives a SELECT a tree of its own to rewrite (st's may be
// shared: a prepared statement's, parsed at PREPARE) and the session's
// facts to plan it with. Not SELECT … INTO @vars: written again from its
// tree, the statement would lose the clause and answer rows instead of
// setting them.
func (s *Session) rewritable(snap *Snapshot, st *parser.Statement) (*parser.Statement, planner.Facts, bool) {
	if st.Kind != parser.KindSelect || st.IntoUserVars {
		return nil, planner.Facts{}, false
	}
	fresh, err := s.parseFresh(st.SQL)
	if err != nil || fresh.IntoUserVars {
		return nil, planner.Facts{}, false
	}
	f := s.state.facts()
	f.Defs = snap.Defs
	return fresh, f, true
}

// parseFresh parses a text holding one statement, in the session's mode,
// into a tree of its own.
func (s *Session) parseFresh(sql string) (*parser.Statement, error) {
	stmts, err := s.rt.parse(sql, s.state.textMode())
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, wire.Errorf(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax near '%s'", sql)
	}
	return stmts[0], nil
}

// notSupportedYet: err is the planner's 1235 refusal.
func notSupportedYet(err error) bool {
	if err == nil {
		return false
	}
	var me *mysql.MyError
	return errors.As(err, &me) && me.Code == mysql.ER_NOT_SUPPORTED_YET
}

// explainSubqueriesFirst is EXPLAIN SHARDGATE of a statement whose
// subqueries run first: each subquery's plan, then the statement as it is
// planned again once their values are known ("" when it has none).
func (s *Session) explainSubqueriesFirst(snap *Snapshot, st *parser.Statement) (string, error) {
	fresh, f, ok := s.rewritable(snap, st)
	if !ok {
		return "", nil
	}
	rw, err := snap.Planner.SubqueriesFirst(fresh.Node, f)
	if rw == nil || err != nil {
		return "", err
	}
	var b strings.Builder
	for i, sub := range rw.Subs {
		p, err := s.plan(snap, sub.Stmt)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "subquery %d, run first: %s\n%sprimitives:\n%s", i, sub.Stmt.SQL, p.String(), p.Tree())
	}
	fmt.Fprintf(&b, "then, with their values in their place: %s\n", rw.Template())
	return b.String(), nil
}
