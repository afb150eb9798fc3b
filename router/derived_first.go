package router

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/wire"
)

// derivedFirst plans a SELECT the planner refused because of derived
// tables over shards (planner.DerivedFirst): each runs first as a
// statement of its own, in this session (its transaction included), and
// the plan copies their rows into temporary tables on the cluster of the
// rest of the statement, which then runs there. done releases what the
// rows hold of the statement's memory limit (after the plan ran). nil
// plan: the planner's refusal stands.
func (s *Session) derivedFirst(snap *Snapshot, st *parser.Statement, obs *observation) (p *engine.Plan, done func(), err error) {
	done = func() {}
	rw, err := s.derivedRewrite(snap, st)
	if rw == nil || err != nil {
		return nil, done, err
	}
	var held []*cursor
	done = func() {
		for _, vc := range held {
			vc.mem.Close()
		}
	}
	m := &engine.Materialize{Cluster: rw.Cluster, Replica: st.ReadOnly, Logical: map[string]string{}}
	var effects engine.Effects
	for i, d := range rw.Tables {
		sp, err := s.derivedPlan(snap, d.SQL, obs, true)
		if sp == nil || err != nil {
			return nil, done, err
		}
		if i == 0 {
			effects = sp.Effects
		}
		vc := s.cursor(snap, sp, obs)
		held = append(held, vc)
		rows, err := engine.Collect(vc, sp.Root.(engine.RowSource), planner.MaxDerivedRows, "the rows of a derived table over shards, copied for the statement around it",
			func() error { return rw.TooMany(i) })
		if err != nil {
			return nil, done, err
		}
		m.Tables = append(m.Tables, engine.TempTable{Name: parser.QuoteIdent(rw.Schema) + "." + parser.QuoteIdent(d.Temp), Rows: rows, Sources: d.Columns})
		m.Logical[d.Temp] = d.Alias
	}
	// The statement around the derived tables assigns the user
	// variables (SELECT @r := @r + 1 … FROM (…) d): read back from the
	// connection it runs on.
	effects.AssignedUserVars = st.AssignedUserVars
	m.SQL = rw.SQL()
	return &engine.Plan{Read: true, Root: m, Effects: effects}, done, nil
}

// derivedRewrite is st's rewrite, from a tree of its own (st's may be a
// prepared statement's, shared).
func (s *Session) derivedRewrite(snap *Snapshot, st *parser.Statement) (*planner.DerivedRewrite, error) {
	fresh, f, ok := s.rewritable(snap, st)
	if !ok {
		return nil, nil
	}
	rw, err := snap.Planner.DerivedFirst(fresh.Node, f)
	if rw != nil {
		rw.KeepHint(st.SQL)
	}
	return rw, err
}

// derivedPlan plans a derived table's SELECT: a read whose rows the proxy
// can take (with runFirst, its own subqueries may run first: not for
// EXPLAIN, which runs nothing). nil: it cannot.
func (s *Session) derivedPlan(snap *Snapshot, sql string, obs *observation, runFirst bool) (*engine.Plan, error) {
	sub, err := s.parseFresh(sql)
	if err != nil {
		return nil, err
	}
	p, err := s.plan(snap, sub)
	if notSupportedYet(err) && runFirst {
		inner, innerErr := s.subqueriesFirst(snap, sub, obs, 1)
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
	if _, ok := p.Root.(engine.RowSource); !ok || !p.Read {
		return nil, nil
	}
	return p, nil
}

// explainDerivedFirst is EXPLAIN SHARDGATE of a statement whose derived
// tables run first: each one's plan, then the statement on the temporary
// tables ("" when it has none).
func (s *Session) explainDerivedFirst(snap *Snapshot, st *parser.Statement) (string, error) {
	rw, err := s.derivedRewrite(snap, st)
	if rw == nil || err != nil {
		return "", err
	}
	var b strings.Builder
	for i, d := range rw.Tables {
		p, err := s.derivedPlan(snap, d.SQL, nil, false)
		if err != nil {
			return "", err
		}
		if p == nil {
			return "", nil
		}
		fmt.Fprintf(&b, "derived table %d (%s), run first and copied into temporary table %s on %s: %s\n%sprimitives:\n%s",
			i, d.Alias, d.Temp, rw.Cluster, d.SQL, p.String(), p.Tree())
	}
	fmt.Fprintf(&b, "then on %s: %s\n", rw.Cluster, rw.SQL())
	return b.String(), nil
}

// intoVarsFirst plans a SELECT … INTO @vars whose plan lost the clause
// (the proxy's parser reads the statement without it, and a plan over
// sharded tables writes the statement from that tree): the SELECT becomes
// a derived table over shards (run first, its rows copied into a
// temporary table), and `SELECT * INTO @vars FROM (…)` over it runs on
// the temporary table's connection, where the server assigns the
// variables as one server would (1172 for more than one row, warning 1329
// for none); the session reads them back from that connection. nil plan:
// the statement keeps its plan.
func (s *Session) intoVarsFirst(snap *Snapshot, st *parser.Statement, p *engine.Plan, obs *observation) (*engine.Plan, func(), error) {
	none := func() {}
	if !st.IntoUserVars || len(st.IntoVars) == 0 {
		return nil, none, nil
	}
	if r, ok := p.Root.(*engine.Route); ok && r.SQL == st.SQL {
		return nil, none, nil // the statement's own text, clause included
	}
	fresh, err := s.parseFresh(st.SQL)
	if err != nil {
		return nil, none, err
	}
	inner, err := parser.RestoreIn(fresh.Node, s.state.textMode())
	if err != nil {
		return nil, none, err
	}
	wrapped, err := s.parseFresh("SELECT * FROM (" + inner + ") AS `shardgate into`")
	if err != nil {
		return nil, none, err
	}
	dp, done, err := s.derivedFirst(snap, wrapped, obs)
	if dp == nil || err != nil {
		done()
		if err == nil && s.namesSharded(snap, st) {
			// A shape derived tables over shards do not take (a locking
			// read): the plan would answer rows, never the variables.
			err = wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: SELECT … INTO @variables over sharded tables is answered through a temporary table, which this statement cannot use (a locking read?)")
		}
		// No sharded table in it: the plan stands.
		return nil, none, err
	}
	m := dp.Root.(*engine.Materialize)
	vars := make([]string, len(st.IntoVars))
	for i, v := range st.IntoVars {
		vars[i] = "@" + parser.QuoteIdent(v)
	}
	if st.IntoAtEnd && !s.executing {
		// Where the client wrote it: the server's warning 1287 (INTO at
		// the end is deprecated) is the client's statement's (a prepared
		// statement had it at COM_STMT_PREPARE).
		m.SQL = "SELECT * FROM (" + m.SQL + ") AS `shardgate into` INTO " + strings.Join(vars, ", ")
	} else {
		m.SQL = "SELECT * INTO " + strings.Join(vars, ", ") + " FROM (" + m.SQL + ") AS `shardgate into`"
	}
	// It assigns variables: on the primary, as any such statement.
	m.Replica = false
	dp.Effects.AssignedUserVars = st.AssignedUserVars
	return dp, done, nil
}

// namesSharded: st names a table the rules shard.
func (s *Session) namesSharded(snap *Snapshot, st *parser.Statement) bool {
	for _, t := range st.Tables {
		schema := t.Schema
		if schema == "" {
			schema = s.state.db
		}
		if sc := snap.Rules.Schemas[schema]; sc != nil {
			if rt := sc.Table(t.Name); rt != nil && rt.Shard != nil {
				return true
			}
		}
	}
	return false
}
