package planner

import (
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/shard"
)

// What the session's logical answers (SHOW TABLES, information_schema,
// COM_FIELD_LIST, prepared-statement metadata) need to know about where
// tables live. Like planning, none of it touches a backend.

// Rules are the rules the planner was built from.
func (pl *Planner) Rules() *rules.Rules { return pl.rules }

// Clock is the planner's clock: what hourly buckets' windows and NOW()
// for an hour column are read from.
func (pl *Planner) Clock() time.Time { return pl.now() }

// ShardedTables lists a schema's sharded tables by lower-case name.
func (pl *Planner) ShardedTables(schema string) map[string]*shard.Table { return pl.sharded[schema] }

// SchemaClusters lists the clusters a schema uses, its default first.
func (pl *Planner) SchemaClusters(schema string) []string {
	return schemaClusters(pl.rules.Schemas[schema])
}

// FirstTable is the physical table that answers for a sharded table's
// definition.
func FirstTable(t *shard.Table) shard.Target { return firstTable(t) }

// PhysicalFor maps a table name (COM_FIELD_LIST) to the cluster and the
// physical table that describe it.
func (pl *Planner) PhysicalFor(db, table string) (cluster, physical string) {
	schema, ok := pl.rules.Schemas[db]
	if !ok {
		return pl.rules.DefaultSchema().Cluster, table
	}
	if t := pl.sharded[db][strings.ToLower(table)]; t != nil {
		target := firstTable(t)
		return target.Cluster, target.Table
	}
	if t := schema.Table(table); t != nil && t.Cluster != "" {
		return t.Cluster, table
	}
	return schema.Cluster, table
}

// MetadataSQL is a statement as one backend can prepare it: sharded tables
// renamed to the physical table that stands for them.
func (pl *Planner) MetadataSQL(st *parser.Statement, f Facts) (cluster, sql string, err error) {
	return pl.metadataSQL(st, f, 0)
}

func (pl *Planner) metadataSQL(st *parser.Statement, f Facts, depth int) (cluster, sql string, err error) {
	refs, _, err := pl.resolve(st, f.DB)
	if err != nil {
		return "", "", err
	}
	if depth < 3 && pl.spansClusters(refs) {
		// Tables on several clusters: a statement whose subqueries run
		// first (SubqueriesFirst) is described without them, on the
		// cluster of its own tables.
		p := parser.New()
		p.SetMode(f.Text)
		if fresh, perr := p.Parse(st.SQL); perr == nil && len(fresh) == 1 {
			if rw, rerr := pl.SubqueriesFirst(fresh[0].Node, f); rerr == nil && rw != nil {
				if without, perr := p.Parse(rw.MetadataText()); perr == nil && len(without) == 1 {
					return pl.metadataSQL(without[0], f, depth+1)
				}
			}
		}
	}
	if c, sql, ok := pl.insertSelectMetadata(st, refs); ok {
		return c, sql, nil
	}
	phys := map[string]string{}
	schema := ""
	for _, r := range refs {
		if r.sharded != nil {
			t := firstTable(r.sharded)
			phys[strings.ToLower(r.name)] = t.Table
			cluster, schema = t.Cluster, r.schema
		}
	}
	if len(phys) == 0 {
		d, err := pl.plan(st, f)
		if err != nil {
			return "", "", err
		}
		return d.Steps[0].Cluster, st.SQL, nil
	}
	if pl.spansClusters(refs) {
		// No one server holds every table named: the first physical
		// table's cluster would answer 1146 for the others, claiming that
		// a table which exists does not (TPC-H's lineitem ⋈ part, with
		// part on another cluster). The plan says whether the statement
		// can run at all; its refusal is the one EXECUTE would give, and
		// the one the same text gets as a query. (A statement that does
		// plan across clusters, such as a join the proxy would run,
		// still needs a description of its own: the first cluster lacks
		// the other tables. TestTPCH's prepared runs will say so.)
		if _, err := pl.plan(st, f); err != nil {
			return "", "", err
		}
	}
	names := make([]string, 0, len(phys))
	for n := range phys {
		names = append(names, n)
	}
	sql, err = parser.NewRenamer(st.Node, schema, f.DB, names).RenderIn(phys, f.Text)
	return cluster, sql, err
}

// spansClusters: the statement names tables that no one cluster holds
// together (a sharded table's first physical table stands for it; global
// tables are everywhere).
func (pl *Planner) spansClusters(refs []tableRef) bool {
	seen := ""
	for _, r := range refs {
		c := ""
		switch {
		case r.sharded != nil:
			c = firstTable(r.sharded).Cluster
		case r.rule != nil && r.rule.Global:
			continue
		default:
			c = pl.clusterOf(r)
		}
		if seen != "" && c != seen {
			return true
		}
		seen = c
	}
	return false
}

// MaxAllowedPacketSQL rewrites SELECT @@max_allowed_packet (alone or with
// other fields, no FROM) to answer the proxy's own limit: clients size
// their packets by it, and the proxy's limit is what applies. ok is false
// when the statement does not ask for it.
func MaxAllowedPacketSQL(st *parser.Statement, limit int, m parser.TextMode) (string, bool) {
	sel, ok := st.Node.(*ast.SelectStmt)
	if !ok || sel.From != nil || sel.Fields == nil {
		return "", false
	}
	is := func(f *ast.SelectField) bool {
		v, ok := f.Expr.(*ast.VariableExpr)
		return ok && v.IsSystem && !v.IsGlobal && strings.EqualFold(v.Name, "max_allowed_packet")
	}
	changed := false
	for _, f := range sel.Fields.Fields {
		if is(f) {
			if f.AsName.O == "" {
				f.AsName = ast.NewCIStr(f.Text())
			}
			changed = true
		}
	}
	if !changed {
		return "", false
	}
	keepColumnNames(sel) // the other fields keep their names too
	for _, f := range sel.Fields.Fields {
		if is(f) {
			f.Expr = ast.NewValueExpr(uint64(limit), "", "")
		}
	}
	sql, err := parser.RestoreIn(sel, m)
	return sql, err == nil
}
