package planner

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
)

// PointTemplate is the plan of a statement on one hash-sharded table
// pinned to one physical table by an integer literal on the shard column
// (`SELECT … WHERE id = 42`, `UPDATE … WHERE id = 42`), as a function of
// the statement's literals: the plan cache by shape (router) binds a new
// text's literals into it instead of parsing and planning the text.
//
// It is made from the physical statement the planner writes for a probe:
// the statement with every literal replaced by a sentinel of its kind,
// which the written text then shows where each literal goes (and where
// the physical table's name goes). Binding writes each literal of the new
// text as the client wrote it (the server reads it in the same session)
// and the table its key hashes to, found by the planner's own pruning.
// Before it is kept, the template bound to the statement it was made from
// must give exactly the text the planner wrote for that statement.
type PointTemplate struct {
	schema  string
	table   *shard.Table
	column  string
	keySlot int
	// pieces are the physical statement's text between substitutions;
	// subs[i] is what goes after pieces[i]: a literal's index, or
	// tableSub for the physical table's name.
	pieces []string
	subs   []int
	// routes are the statement's route to each physical table, their SQL
	// left empty, by hash index.
	routes []engine.Route
	plan   engine.Plan
}

const tableSub = -1

// MakePointTemplate returns st's point template, or nil when its plan p
// is not of that kind. lits are the literals of st's text (in order, as
// parser.LiteralShapeKey finds them); reparse parses a text as the session
// does.
func (pl *Planner) MakePointTemplate(st *parser.Statement, f Facts, p *engine.Plan, lits []parser.TextLiteral, reparse func(string) (*parser.Statement, error)) *PointTemplate {
	route, ok := p.Root.(*engine.Route)
	if !ok || len(lits) == 0 || len(lits) > 999 || len(st.Tables) != 1 || len(route.Tables) != 1 {
		return nil
	}
	switch n := st.Node.(type) {
	case *ast.SelectStmt:
	case *ast.DeleteStmt:
		if n.IsMultiTable {
			return nil
		}
	case *ast.UpdateStmt:
		if n.MultipleTable {
			return nil
		}
	default:
		return nil
	}
	refs, _, err := pl.resolve(st, f.DB)
	if err != nil || len(refs) != 1 || refs[0].sharded == nil || refs[0].sharded.By != "hash" {
		return nil
	}
	ref := refs[0]
	t := ref.sharded
	if u, ok := st.Node.(*ast.UpdateStmt); ok {
		for _, a := range u.List {
			if strings.EqualFold(a.Column.Name.O, t.Column) {
				return nil // whether the row moves depends on the values
			}
		}
	}
	// The probe: every literal a sentinel of its kind, all of one width
	// so that none is part of another.
	text := st.SQL
	sentinels := make([]string, len(lits))
	var probe strings.Builder
	last := 0
	for i, l := range lits {
		if l.End > len(text) {
			return nil
		}
		switch l.Kind {
		case parser.LiteralInt:
			sentinels[i] = fmt.Sprintf("8%018d", 700000000000000000+i)
		case parser.LiteralDecimal:
			sentinels[i] = fmt.Sprintf("6%018d.25", 700000000000000000+i)
		case parser.LiteralString:
			sentinels[i] = fmt.Sprintf("'sgslot%03dz'", i)
		default:
			return nil
		}
		if strings.Contains(text, strings.Trim(sentinels[i], "'")) {
			return nil
		}
		probe.WriteString(text[last:l.Start])
		probe.WriteString(sentinels[i])
		last = l.End
	}
	probe.WriteString(text[last:])
	pst, err := reparse(probe.String())
	if err != nil {
		return nil
	}
	pp, err := pl.Plan(pst, f)
	if err != nil {
		return nil
	}
	proute, ok := pp.Root.(*engine.Route)
	if !ok || len(proute.Tables) != 1 {
		return nil
	}
	// The key: the one value the probe's WHERE pins the shard column to
	// must be an integer sentinel.
	cond, ok := whereConds(pst, ref)[t.Column]
	if !ok || !cond.Exact || cond.Null || len(cond.Values) != 1 || cond.Values[0].Kind != parser.ValInt {
		return nil
	}
	keySlot := -1
	for i, s := range sentinels {
		if lits[i].Kind == parser.LiteralInt && cond.Values[0].Text == s {
			keySlot = i
		}
	}
	if keySlot < 0 {
		return nil
	}
	tmpl := &PointTemplate{schema: ref.schema, table: t, column: t.Column, keySlot: keySlot, plan: *pp}
	offsets := tmpl.split(proute.SQL, sentinels, "`"+proute.Tables[0]+"`")
	if !parser.AtTopLevel(proute.SQL, offsets, f.Text) {
		// A literal the planner wrote inside a quoted name (a column's
		// alias) or a comment: a client's text there could close the
		// quote. Such statements are planned each time.
		return nil
	}
	// Bound to st's own literals, the template must write what the
	// planner wrote for st.
	litText := make([]string, len(lits))
	for i, l := range lits {
		litText[i] = text[l.Start:l.End]
	}
	if tmpl.fill(litText, route.Tables[0]) != route.SQL {
		return nil
	}
	// Reads name the logical table in their column definitions; writes
	// have none.
	logical, named := proute.Logical[proute.Tables[0]]
	if len(proute.Logical) > 1 || len(proute.Logical) == 1 && !named {
		return nil
	}
	for _, target := range t.AllHashTargets() {
		r := *proute
		r.Cluster, r.Tables, r.SQL, r.Logical = target.Cluster, []string{target.Table}, "", nil
		if named {
			r.Logical = map[string]string{target.Table: logical}
		}
		tmpl.routes = append(tmpl.routes, r)
	}
	// Every other part of the plan (effects, read) is the statement's.
	tmpl.plan = *p
	return tmpl
}

// split cuts sql at every sentinel and at every occurrence of the quoted
// physical table name, and returns where in sql each cut is.
func (t *PointTemplate) split(sql string, sentinels []string, table string) (offsets []int) {
	done := 0
	for len(sql) > 0 {
		at, sub, width := len(sql), 0, 0
		if i := strings.Index(sql, table); i >= 0 {
			at, sub, width = i, tableSub, len(table)
		}
		for j, s := range sentinels {
			if i := strings.Index(sql, s); i >= 0 && i < at {
				at, sub, width = i, j, len(s)
			}
		}
		if width == 0 {
			break
		}
		t.pieces = append(t.pieces, sql[:at])
		t.subs = append(t.subs, sub)
		offsets = append(offsets, done+at)
		sql = sql[at+width:]
		done += at + width
	}
	t.pieces = append(t.pieces, sql)
	return offsets
}

// fill writes the template with the literals' texts and the table.
func (t *PointTemplate) fill(lits []string, table string) string {
	var b strings.Builder
	n := len(table) + 2
	for _, p := range t.pieces {
		n += len(p)
	}
	for _, l := range lits {
		n += len(l)
	}
	b.Grow(n)
	for i, p := range t.pieces {
		b.WriteString(p)
		if i == len(t.subs) {
			break
		}
		if t.subs[i] == tableSub {
			b.WriteByte('`')
			b.WriteString(table)
			b.WriteByte('`')
		} else {
			b.WriteString(lits[t.subs[i]])
		}
	}
	return b.String()
}

// Bind is the plan of the statement of the template's shape whose
// literals have the texts lits; ok is false when the key is not an
// integer the template can route (the caller plans the text instead).
// plan and route are filled in, for the caller to own.
func (pl *Planner) Bind(t *PointTemplate, lits []string, f Facts, plan *engine.Plan, route *engine.Route) bool {
	if len(lits) <= t.keySlot {
		return false
	}
	// As LiteralValue reads the integer TiDB's parser makes of it.
	u, err := strconv.ParseUint(lits[t.keySlot], 10, 64)
	if err != nil {
		return false
	}
	key := parser.Value{Kind: parser.ValInt}
	if u <= math.MaxInt64 {
		key.Text = strconv.FormatInt(int64(u), 10)
	} else {
		key.Text = strconv.FormatUint(u, 10)
	}
	k := pl.keysFor(f, t.schema, t.table)
	idx, all := k.readIndexes(t.column, parser.Cond{Exact: true, Values: []parser.Value{key}}, t.table.Count)
	if all || len(idx) != 1 || idx[0] < 0 || idx[0] >= len(t.routes) {
		return false
	}
	*route = t.routes[idx[0]]
	route.SQL = t.fill(lits, route.Tables[0])
	*plan = t.plan
	plan.Root = route
	return true
}

// Describe prints the template (EXPLAIN-like, for tests).
func (t *PointTemplate) Describe() string {
	var b strings.Builder
	for i, p := range t.pieces {
		b.WriteString(p)
		if i < len(t.subs) {
			if t.subs[i] == tableSub {
				b.WriteString("<table>")
			} else {
				fmt.Fprintf(&b, "<%d>", t.subs[i])
			}
		}
	}
	return fmt.Sprintf("%s.%s by %s (literal %d): %s", t.schema, t.table.Name, t.column, t.keySlot, b.String())
}
