package router

import (
	"errors"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
)

// The plan cache by statement shape.
//
// Applications that write their values into the text (most ORMs, PHP,
// JDBC's default, go-sql-driver's interpolateParams) send a new text with
// every statement, so a cache keyed by the whole text misses and every
// statement is parsed and planned again. Statements that differ only in
// their literals have one shape (parser.LiteralShape). For a statement the
// proxy only routes — one cluster, the text sent as the client wrote it,
// no table whose rows are placed by a value — nothing the proxy decides
// depends on the values: the tables, the cluster, primary or replica, the
// statement's effects on the session all come from names and structure.
// Such a plan is kept per shape and reused for every text of that shape
// with the text put in its place, without parsing or planning.
//
// Two kinds of plan are kept. A plan that sends the statement's own text
// to one cluster, over tables no rule places by value (Snapshot.cacheable,
// verbatimRoute), is reused with the new text in its place. A point plan
// of a hash-sharded table — one physical table chosen by an integer
// literal on the shard column — is kept as a planner.PointTemplate, into
// which a new text's literals are bound (the key routed by the planner's
// own pruning). What qualifies is checked before (shapeable: a statement
// that uses none of the session state the proxy carries between
// statements, and no INSERT) and after, on the plan the planner made
// (remember). The parsed statement of the first text stands for the
// others in the checks on the way (access, switches, diagnostics): those
// read names and structure, which the shape keeps.
//
// The cache belongs to a snapshot (a reload starts a new one), is cleared
// by DDL run through the proxy, and is bypassed while the session holds
// temporary tables (a temporary table may hide a table of the same name).

// shapeCache is the bounded map from shape key to plan.
type shapeCache struct {
	lru *lru.Cache[string, *shapeEntry] // nil: off
}

// shapeCounts are the cache's hits and misses since the proxy started
// (over every snapshot), for the metrics and SHOW SHARDGATE STATUS.
type shapeCounts struct {
	hits, misses atomic.Uint64
}

// shapeEntry is a shape's parsed statement and plan, shared by sessions:
// neither is changed after it is stored. An entry without a statement
// says the shape's plans are not kept: its texts are parsed and planned,
// without trying again to keep them.
type shapeEntry struct {
	st   *parser.Statement
	plan *engine.Plan
	// point, for a statement pinned to one table of a hash-sharded table
	// by an integer literal, binds a text's literals into its plan.
	point *planner.PointTemplate
}

func newShapeCache(size int) *shapeCache {
	c := &shapeCache{}
	if size > 0 {
		c.lru, _ = lru.New[string, *shapeEntry](size) // size > 0: no error
	}
	return c
}

// shapeUse carries a statement through statement() and run() to plan(),
// which either answers it from the cache (entry set) or stores its plan
// (key set).
type shapeUse struct {
	st    *parser.Statement
	entry *shapeEntry
	key   string
	// text is the query text the key and s.lits were read from.
	text string
	// For a hit: the statement, plan and route bound to the text, in
	// this one allocation.
	bound parser.Statement
	plan  engine.Plan
	route engine.Route
}

// shapeKey is the cache key of sql for this session, "" when the text has
// no shape the cache can use or the cache is off. The database and the way
// the session's server reads text are part of it.
func (s *Session) shapeKey(snap *Snapshot, sql string) string {
	if snap.shapes.lru == nil || s.txn.tempTables() {
		return ""
	}
	m := s.state.textMode()
	key, lits, ok := parser.LiteralShapeKey(sql, m, s.lits[:0], s.state.db, "\x00", m.ParseKey(), m.Charset, "\x00")
	s.lits = lits
	if !ok {
		return ""
	}
	return key
}

// lookupShape returns the statement to run for sql when its shape has a
// plan: the shape's parsed statement with sql as its text.
func (s *Session) lookupShape(snap *Snapshot, key, sql string) (st *parser.Statement, known bool) {
	e, ok := snap.shapes.lru.Get(key)
	if !ok || e.st == nil {
		s.rt.shapeCounts.misses.Add(1)
		return nil, ok
	}
	u := &shapeUse{entry: e, bound: *e.st}
	u.bound.SQL = sql
	u.st = &u.bound
	if e.point != nil {
		// The literals' texts, bound into the template's plan now: a key
		// the template cannot route sends the text to the parser.
		s.litTexts = s.litTexts[:0]
		for _, l := range s.lits {
			s.litTexts = append(s.litTexts, sql[l.Start:l.End])
		}
		f := s.state.facts()
		f.Defs = snap.Defs
		if !snap.Planner.Bind(e.point, s.litTexts, f, &u.plan, &u.route) {
			s.rt.shapeCounts.misses.Add(1)
			return nil, true
		}
	}
	s.rt.shapeCounts.hits.Add(1)
	s.shape = u
	return u.st, true
}

// rememberShape marks st, parsed from a text of the shape key names, as a
// statement whose plan the cache keeps if it turns out to only route st.
func (s *Session) rememberShape(snap *Snapshot, key, sql string, st *parser.Statement) {
	if key != "" && shapeable(st) {
		s.shape = &shapeUse{st: st, key: key, text: sql}
	}
}

// shapeable reports a statement whose plan may be kept for its shape: one
// that reads or writes rows and uses none of the session state the proxy
// carries between statements. Which plans are kept is decided on the
// plan (remember).
func shapeable(st *parser.Statement) bool {
	switch st.Kind {
	case parser.KindSelect, parser.KindUpdate, parser.KindDelete:
	default:
		// Not INSERT/REPLACE: whether one sets LAST_INSERT_ID() depends
		// on its values (an explicit id does not, 0 or NULL does).
		return false
	}
	return st.Unparsed == nil && len(st.Tables) > 0 && st.ShowSchema == "" &&
		!st.UsesConnectionID && !st.ReadsInTransaction &&
		!st.UsesLastInsertID && !st.UsesPrevResult && !st.ReadsDiagnostics &&
		!st.HoldsConnState && !st.CalcFoundRows && len(st.AssignedUserVars) == 0 &&
		!st.IntoUserVars && !st.ExplainExtended
}

// planFromShape is plan()'s answer for st from the cache, nil when st is
// not the statement the cache was asked about. A plan made for a
// statement the cache was told to keep is stored (remember).
func (s *Session) planFromShape(st *parser.Statement) *engine.Plan {
	u := s.shape
	if u == nil || u.st != st || u.entry == nil {
		return nil
	}
	if u.entry.point != nil {
		return &u.plan // bound by lookupShape
	}
	u.plan = *u.entry.plan
	u.route = *u.plan.Root.(*engine.Route)
	u.route.SQL = st.SQL
	u.plan.Root = &u.route
	return &u.plan
}

// remember stores p for st's shape when p routes st as written to one
// cluster, over tables no rule places by value, or when p is a point plan
// of a hash-sharded table (planner.PointTemplate).
func (s *Session) remember(snap *Snapshot, st *parser.Statement, f planner.Facts, p *engine.Plan) {
	u := s.shape
	if u == nil || u.st != st || u.key == "" || s.txn.tempTables() {
		return
	}
	if verbatimRoute(p, st) && snap.cacheable(st, s.state.db) {
		snap.shapes.lru.Add(u.key, &shapeEntry{st: st, plan: p})
		return
	}
	if r, ok := p.Root.(*engine.Route); !ok || len(r.Tables) != 1 || st.SQL != u.text {
		snap.shapes.lru.Add(u.key, &shapeEntry{}) // not kept; not tried again
		return
	}
	m := s.state.textMode()
	reparse := func(text string) (*parser.Statement, error) {
		stmts, err := s.rt.parse(text, m)
		if err != nil || len(stmts) != 1 {
			return nil, errors.New("not one statement")
		}
		return stmts[0], nil
	}
	e := &shapeEntry{}
	if t := snap.Planner.MakePointTemplate(st, f, p, s.lits, reparse); t != nil {
		e = &shapeEntry{st: st, plan: p, point: t}
	}
	snap.shapes.lru.Add(u.key, e)
}

// verbatimRoute reports a plan that sends st's own text to one cluster.
func verbatimRoute(p *engine.Plan, st *parser.Statement) bool {
	r, ok := p.Root.(*engine.Route)
	return ok && r.SQL == st.SQL
}

// forgetShapes empties the cache after DDL run through the proxy. The
// plans kept route by names alone, which no DDL changes; emptying is cheap
// and leaves nothing to argue about after a schema change.
func (snap *Snapshot) forgetShapes() {
	if snap.shapes.lru != nil {
		snap.shapes.lru.Purge()
	}
}

// PlanCacheStats reports the plan cache's hits and misses since the proxy
// started and the plans it holds now (not the shapes it holds as "not
// kept").
func (rt *Router) PlanCacheStats() (hits, misses uint64, plans int) {
	if l := rt.Snapshot().shapes.lru; l != nil {
		for _, e := range l.Values() {
			if e.st != nil {
				plans++
			}
		}
	}
	return rt.shapeCounts.hits.Load(), rt.shapeCounts.misses.Load(), plans
}
