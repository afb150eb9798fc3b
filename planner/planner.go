package planner

import (
	"fmt"
	"sort"
	"strings"

	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

// draft is a plan as the planning functions work it out: backend steps and
// how their answers combine. build turns it into the engine's tree.
type draft struct {
	// Read plans may run on replicas; write plans run on primaries.
	Read  bool
	Steps []step
	Merge merge
	// Ensure lists hourly buckets whose tables must exist before the steps
	// run (they are created LIKE the template table).
	Ensure []engine.BucketNeed
	// Logical maps physical table names back to logical ones, for the
	// table names in column metadata and SHOW CREATE TABLE.
	Logical map[string]string
	// ShowCreate marks SHOW CREATE TABLE of a sharded table.
	ShowCreate bool
	// Spec says how to merge a cross-shard ORDER BY, LIMIT, DISTINCT,
	// GROUP BY or aggregate.
	Spec *MergeSpec
	// MetaSQL, when set, runs first on one shard for the column definitions
	// of a result the proxy computes (COUNT(DISTINCT x)).
	MetaSQL string
	// Forget lists hourly tables a DROP removes.
	Forget []engine.TableName
}

// step is one SQL text for one cluster.
type step struct {
	Cluster string
	Tables  []string // physical tables touched, for the printed plan
	SQL     string
}

// merge says how the answers of several steps become one.
type merge int

const (
	// mergeNone: a single step whose answer streams through.
	mergeNone merge = iota
	// mergeConcat: rows of every step under one header.
	mergeConcat
	// mergeSumAffected: one OK packet with affected rows summed.
	mergeSumAffected
	// mergeAllSucceed: every copy must succeed (global-table writes, DDL).
	mergeAllSucceed
	// mergeSpecified: sorted, grouped or aggregated as draft.Spec says.
	mergeSpecified
)

// BucketSet knows which hourly buckets exist for a table.
type BucketSet interface {
	Buckets(schema, table string) []string
}

// Planner turns statements into plans. It touches no backend: hourly
// buckets come from a BucketSet and the clock from now.
type Planner struct {
	rules   *rules.Rules
	sharded map[string]map[string]*shard.Table // schema → lower-case table → rule
	buckets BucketSet
	now     func() time.Time
}

func New(r *rules.Rules, buckets BucketSet, now func() time.Time) *Planner {
	pl := &Planner{rules: r, sharded: map[string]map[string]*shard.Table{}, buckets: buckets, now: now}
	for sname, s := range r.Schemas {
		pl.sharded[sname] = map[string]*shard.Table{}
		for tname, t := range s.Tables {
			if t.Shard != nil {
				pl.sharded[sname][strings.ToLower(tname)] = shard.Compile(tname, t.Shard)
			}
		}
	}
	return pl
}

// tableRef is one table a statement names, resolved against the rules.
type tableRef struct {
	schema, name string // name as written
	rule         *rules.Table
	sharded      *shard.Table
}

func (r tableRef) qualified() string { return r.schema + "." + r.name }

func notSupported(format string, args ...any) error {
	return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: "+format, args...)
}

// schemaClusters lists the clusters a schema uses, its default first.
func schemaClusters(s *rules.Schema) []string {
	seen := map[string]bool{s.Cluster: true}
	out := []string{s.Cluster}
	var more []string
	for _, t := range s.Tables {
		cs := t.Shard.ClustersOrNil()
		if t.Cluster != "" {
			cs = append(cs, t.Cluster)
		}
		for _, c := range cs {
			if !seen[c] {
				seen[c] = true
				more = append(more, c)
			}
		}
	}
	sort.Strings(more)
	return append(out, more...)
}

// plan routes a statement. db is the session's current database.
func (pl *Planner) plan(st *parser.Statement, db string) (*draft, error) {
	refs, fixed, err := pl.resolve(st, db)
	if err != nil {
		return nil, err
	}
	var sharded, globals []tableRef
	for _, r := range refs {
		switch {
		case r.sharded != nil:
			sharded = append(sharded, r)
		case r.rule != nil && r.rule.Global:
			globals = append(globals, r)
		}
	}
	read := st.ReadOnly || st.Kind == parser.KindSelect || st.Kind == parser.KindShow
	switch {
	case len(sharded) == 0 && len(globals) == 0:
		return pl.single(st, db, fixed, read)
	case len(sharded) == 0:
		return pl.global(st, db, globals, fixed, read)
	}
	if len(fixed) > 0 {
		return nil, notSupported("%s is sharded but %s lives only on cluster %s: the tables are not co-located", sharded[0].qualified(), fixed[0].qualified(), pl.clusterOf(fixed[0]))
	}
	switch n := st.Node.(type) {
	case *ast.SelectStmt:
		return pl.selectPlan(st, n, db, sharded)
	case *ast.InsertStmt:
		return pl.insertPlan(st, n, db, sharded)
	case *ast.UpdateStmt:
		return pl.updateDeletePlan(st, db, sharded, n.Where, n.Order != nil || n.Limit != nil, n.MultipleTable, n.List)
	case *ast.DeleteStmt:
		return pl.updateDeletePlan(st, db, sharded, n.Where, n.Order != nil || n.Limit != nil, n.IsMultiTable, nil)
	case *ast.ShowStmt:
		return pl.showPlan(st, n, db, sharded)
	case *ast.ExplainStmt:
		if show, ok := n.Stmt.(*ast.ShowStmt); ok { // DESCRIBE t
			return pl.showPlan(st, show, db, sharded)
		}
	case ast.DDLNode:
		return pl.ddlPlan(st, db, sharded)
	case *ast.SetOprStmt:
		return nil, notSupported("UNION over sharded table %s is not supported by this version", sharded[0].qualified())
	}
	return nil, notSupported("this kind of statement on sharded table %s is not supported by this version", sharded[0].qualified())
}

// resolve looks every named table up in the rules. fixed lists tables that
// live on exactly one cluster (no rule, or a cluster rule).
func (pl *Planner) resolve(st *parser.Statement, db string) (refs, fixed []tableRef, err error) {
	add := func(schema, name string) error {
		if schema == "" {
			schema = db
		}
		if schema == "" || systemSchemas[strings.ToLower(schema)] {
			return nil
		}
		s, ok := pl.rules.Schemas[schema]
		if !ok {
			return wire.Errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", schema)
		}
		r := tableRef{schema: schema, name: name}
		if name != "" {
			r.rule = s.Table(name)
			r.sharded = pl.sharded[schema][strings.ToLower(name)]
		}
		refs = append(refs, r)
		if r.rule == nil || r.rule.Cluster != "" {
			fixed = append(fixed, r)
		}
		return nil
	}
	for _, t := range st.Tables {
		if err := add(t.Schema, t.Name); err != nil {
			return nil, nil, err
		}
	}
	if st.ShowSchema != "" {
		if err := add(st.ShowSchema, ""); err != nil {
			return nil, nil, err
		}
	}
	return refs, fixed, nil
}

func (pl *Planner) clusterOf(r tableRef) string {
	if r.rule != nil && r.rule.Cluster != "" {
		return r.rule.Cluster
	}
	return pl.rules.Schemas[r.schema].Cluster
}

// single routes a statement whose tables all live on one cluster.
func (pl *Planner) single(st *parser.Statement, db string, fixed []tableRef, read bool) (*draft, error) {
	cluster := ""
	var by tableRef
	for _, r := range fixed {
		c := pl.clusterOf(r)
		if cluster != "" && c != cluster {
			name := r.qualified()
			if r.name == "" {
				name = "database " + r.schema
			}
			return nil, notSupported("statement spans clusters: %s lives on %s but %s lives on %s", by.qualified(), cluster, name, c)
		}
		cluster, by = c, r
	}
	if cluster == "" {
		s := pl.rules.Schemas[db]
		if s == nil {
			s = pl.rules.DefaultSchema()
		}
		cluster = s.Cluster
	}
	return &draft{Read: read, Steps: []step{{Cluster: cluster, SQL: st.SQL}}}, nil
}

// global routes statements on global tables: reads to one copy, writes to
// every copy.
func (pl *Planner) global(st *parser.Statement, db string, globals, fixed []tableRef, read bool) (*draft, error) {
	if read {
		p, err := pl.single(st, db, fixed, true)
		if err == nil && len(fixed) == 0 {
			p.Steps[0].Cluster = pl.rules.Schemas[globals[0].schema].Cluster
		}
		return p, err
	}
	if len(fixed) > 0 {
		return nil, notSupported("a write to global table %s that also names %s (on cluster %s only) cannot run on every copy", globals[0].qualified(), fixed[0].qualified(), pl.clusterOf(fixed[0]))
	}
	p := &draft{Merge: mergeAllSucceed}
	for _, c := range schemaClusters(pl.rules.Schemas[globals[0].schema]) {
		p.Steps = append(p.Steps, step{Cluster: c, SQL: st.SQL})
	}
	return p, nil
}

// matcher accepts column references that belong to ref: qualified by its
// alias or name, or unqualified when ref is the only sharded table.
func matcher(alias, name string, only bool) parser.ColumnMatcher {
	return func(c *ast.ColumnName) bool {
		switch {
		case c.Table.L == "":
			return only
		case alias != "":
			return c.Table.L == strings.ToLower(alias)
		default:
			return c.Table.L == strings.ToLower(name)
		}
	}
}

// targets prunes one sharded table by the conditions on its columns. For
// reads, hourly buckets that do not exist are skipped; when nothing is left
// the template table stands in, so the answer still has its columns.
func (pl *Planner) targets(schema string, t *shard.Table, conds parser.Conds) ([]shard.Target, error) {
	if t.By == "hash" {
		c, ok := conds[t.Column]
		if !ok || !c.Exact {
			return t.AllHashTargets(), nil
		}
		var out []shard.Target
		seen := map[int]bool{}
		for _, v := range c.Values {
			i := shard.Index(v, t.Count)
			if !seen[i] {
				seen[i] = true
				out = append(out, t.HashTarget(i))
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
		if len(out) == 0 {
			out = []shard.Target{t.HashTarget(0)} // no value can match: any one table answers "no rows"
		}
		return out, nil
	}
	buckets, err := pl.pruneBuckets(schema, t, conds[t.Column])
	if err != nil {
		return nil, err
	}
	var subs []int
	if c, ok := conds[t.SubColumn]; ok && c.Exact && t.SubCount > 0 {
		seen := map[int]bool{}
		for _, v := range c.Values {
			if i := shard.Index(v, t.SubCount); !seen[i] {
				seen[i] = true
				subs = append(subs, i)
			}
		}
		sort.Ints(subs)
		if len(subs) == 0 {
			subs = []int{0}
		}
	}
	var out []shard.Target
	for _, b := range buckets {
		out = append(out, t.BucketTargets(b, subs)...)
	}
	if len(out) == 0 {
		out = []shard.Target{{Cluster: t.Clusters[0], Table: t.TemplateTable()}}
	}
	return out, nil
}

// pruneBuckets picks the existing buckets an hour column's conditions allow.
func (pl *Planner) pruneBuckets(schema string, t *shard.Table, c parser.Cond) ([]string, error) {
	known := pl.buckets.Buckets(schema, t.Name)
	allowed := map[string]bool{}
	if c.Exact {
		for _, v := range c.Values {
			b, err := shard.Bucket(v)
			if err != nil {
				return nil, notSupported("column %s of %s: %v", t.Column, t.Name, err)
			}
			allowed[b] = true
		}
	}
	var out []string
	for _, b := range known {
		if c.Exact && !allowed[b] {
			continue
		}
		in := true
		for _, r := range c.Ranges {
			ok, err := bucketInRange(b, r)
			if err != nil {
				return nil, notSupported("column %s of %s: %v", t.Column, t.Name, err)
			}
			in = in && ok
		}
		if in {
			out = append(out, b)
		}
	}
	return out, nil
}

// bucketInRange reports whether any DATETIME of hour bucket b can satisfy r.
func bucketInRange(b string, r parser.Range) (bool, error) {
	if r.Lo != "" {
		lo, err := shard.Bucket(r.Lo)
		if err != nil {
			return false, err
		}
		if b < lo {
			return false, nil
		}
	}
	if r.Hi != "" {
		t, err := shard.ParseDatetime(r.Hi)
		if err != nil {
			return false, err
		}
		hi := t.Format("2006010215")
		if r.HiExcl && t.Equal(t.Truncate(time.Hour)) {
			// col < 11:00:00 excludes the 11 o'clock bucket entirely.
			hi = t.Add(-time.Hour).Format("2006010215")
		}
		if b > hi {
			return false, nil
		}
	}
	return true, nil
}

// keepColumnNames names every computed select field by its text as written,
// since MySQL names result columns that way and the SQL sent to a shard is
// re-rendered (COUNT(*) would come back as COUNT(1), a + b as a+b).
func keepColumnNames(sel *ast.SelectStmt) {
	if sel.Fields == nil {
		return
	}
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil || f.AsName.O != "" || f.Expr == nil {
			continue
		}
		if _, plain := f.Expr.(*ast.ColumnNameExpr); plain {
			continue
		}
		// MySQL limits aliases to 256 characters; longer names stay as the
		// server derives them.
		if text := strings.TrimSpace(f.Text()); text != "" && len(text) <= 256 {
			f.AsName = ast.NewCIStr(text)
		}
	}
}

func isLoneDistinctAggregate(sel *ast.SelectStmt) bool {
	if len(sel.Fields.Fields) != 1 || sel.GroupBy != nil {
		return false
	}
	a, ok := sel.Fields.Fields[0].Expr.(*ast.AggregateFuncExpr)
	return ok && a.Distinct
}

// sourceAliases maps each table reference in FROM clauses to its alias.
func sourceAliases(n ast.Node) map[*ast.TableName]string {
	out := map[*ast.TableName]string{}
	n.Accept(&visitFn{fn: func(n ast.Node) bool {
		if ts, ok := n.(*ast.TableSource); ok {
			if tn, ok := ts.Source.(*ast.TableName); ok {
				out[tn] = ts.AsName.O
			}
		}
		return true
	}})
	return out
}

type visitFn struct{ fn func(ast.Node) bool }

func (v *visitFn) Enter(n ast.Node) (ast.Node, bool) { return n, !v.fn(n) }
func (v *visitFn) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// aliasOf finds the alias of a sharded table in a statement.
func aliasOf(n ast.Node, ref tableRef) string {
	for tn, alias := range sourceAliases(n) {
		if strings.EqualFold(tn.Name.O, ref.name) {
			return alias
		}
	}
	return ""
}

// hasSubquery reports subqueries and derived tables.
func hasSubquery(n ast.Node) bool {
	found := false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		switch x := x.(type) {
		case *ast.SubqueryExpr:
			found = true
		case *ast.TableSource:
			if _, ok := x.Source.(*ast.TableName); !ok {
				if _, join := x.Source.(*ast.Join); !join {
					found = true
				}
			}
		}
		return !found
	}})
	return found
}

func hasWindow(n ast.Node) bool {
	found := false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		if _, ok := x.(*ast.WindowFuncExpr); ok {
			found = true
		}
		return !found
	}})
	return found
}

func hasAggregate(n *ast.SelectStmt) bool {
	found := false
	for _, f := range n.Fields.Fields {
		if f.Expr == nil {
			continue
		}
		f.Expr.Accept(&visitFn{fn: func(x ast.Node) bool {
			if _, ok := x.(*ast.AggregateFuncExpr); ok {
				found = true
			}
			return !found
		}})
	}
	return found
}

// render builds one step per target set: index-aligned physical names for
// every sharded table of the statement.
func render(st *parser.Statement, db string, sharded []tableRef, sets [][]shard.Target) ([]step, map[string]string, error) {
	if sel, ok := st.Node.(*ast.SelectStmt); ok {
		keepColumnNames(sel)
	}
	names := make([]string, len(sharded))
	for i, r := range sharded {
		names[i] = strings.ToLower(r.name)
	}
	rn := parser.NewRenamer(st.Node, sharded[0].schema, db, names)
	logical := map[string]string{}
	steps := make([]step, 0, len(sets[0]))
	for i := range sets[0] {
		phys := map[string]string{}
		var tables []string
		for j, r := range sharded {
			t := sets[j][i]
			phys[strings.ToLower(r.name)] = t.Table
			tables = append(tables, t.Table)
			logical[t.Table] = r.sharded.Name
		}
		sql, err := rn.Render(phys)
		if err != nil {
			return nil, nil, err
		}
		steps = append(steps, step{Cluster: sets[0][i].Cluster, Tables: tables, SQL: sql})
	}
	return steps, logical, nil
}

func (pl *Planner) selectPlan(st *parser.Statement, n *ast.SelectStmt, db string, sharded []tableRef) (*draft, error) {
	if hasWindow(n) {
		return nil, notSupported("window functions over sharded table %s are not supported by this version", sharded[0].qualified())
	}
	var sets [][]shard.Target
	if len(sharded) == 1 {
		r := sharded[0]
		conds := parser.ExtractConds(n.Where, matcher(aliasOf(n, r), r.name, true))
		ts, err := pl.targets(r.schema, r.sharded, conds)
		if err != nil {
			return nil, err
		}
		sets = [][]shard.Target{ts}
	} else {
		var err error
		if sets, err = pl.colocated(n, sharded); err != nil {
			return nil, err
		}
	}
	var spec *MergeSpec
	var metaSQL string
	if len(sets[0]) > 1 {
		if hasSubquery(n) {
			return nil, notSupported("subqueries and derived tables over sharded table %s across several shards are not supported by this version", sharded[0].qualified())
		}
		if n.GroupBy != nil || n.Having != nil || hasAggregate(n) || n.OrderBy != nil || n.Limit != nil || n.Distinct {
			keepColumnNames(n) // before helper columns are added
			if isLoneDistinctAggregate(n) {
				// Its column definition comes from one shard running the
				// statement as written, with LIMIT 0.
				limit := n.Limit
				n.Limit = &ast.Limit{Count: ast.NewValueExpr(uint64(0), "", "")}
				first := make([][]shard.Target, len(sets))
				for j := range sets {
					first[j] = sets[j][:1]
				}
				meta, _, err := render(st, db, sharded, first)
				n.Limit = limit
				if err != nil {
					return nil, err
				}
				metaSQL = meta[0].SQL
			}
			var err error
			if spec, err = mergeSpec(n, sharded[0].qualified()); err != nil {
				return nil, err
			}
		}
	}
	steps, logical, err := render(st, db, sharded, sets)
	if err != nil {
		return nil, err
	}
	if !st.Locking { // FOR UPDATE is not allowed inside a UNION
		steps = unionByCluster(steps, spec)
	}
	// Locking reads and reads that set variables run on primaries.
	p := &draft{Read: st.ReadOnly, Steps: steps, Logical: logical, Spec: spec, MetaSQL: metaSQL}
	switch {
	case spec != nil:
		p.Merge = mergeSpecified
	case len(steps) > 1:
		p.Merge = mergeConcat
	}
	return p, nil
}

// unionByCluster joins the steps of a read that go to one cluster into one
// UNION ALL, so a statement holds one backend connection per cluster, not
// one per physical table: a scatter over 8 tables then cannot starve a pool
// (many statements each holding part of what they need), and costs one
// round trip per cluster. When the merge needs sorted streams, the union is
// ordered by the same keys, so each cluster's stream stays sorted; groups,
// distinct rows and partial aggregates of several tables on one cluster
// arrive as neighbouring rows, which the merge combines like rows of
// different clusters.
func unionByCluster(steps []step, spec *MergeSpec) []step {
	if len(steps) < 2 {
		return steps
	}
	var order []string
	byCluster := map[string][]step{}
	for _, s := range steps {
		if _, ok := byCluster[s.Cluster]; !ok {
			order = append(order, s.Cluster)
		}
		byCluster[s.Cluster] = append(byCluster[s.Cluster], s)
	}
	if len(order) == len(steps) {
		return steps
	}
	var suffix string
	if spec != nil && len(spec.Keys) > 0 {
		var keys []string
		for _, k := range spec.Keys {
			key := fmt.Sprintf("`__sg_%d`", k.Value)
			if k.Desc {
				key += " DESC"
			}
			keys = append(keys, key)
		}
		suffix = " ORDER BY " + strings.Join(keys, ",")
	}
	out := make([]step, 0, len(order))
	for _, c := range order {
		group := byCluster[c]
		if len(group) == 1 {
			out = append(out, group[0])
			continue
		}
		parts := make([]string, len(group))
		var tables []string
		for i, s := range group {
			parts[i] = "(" + s.SQL + ")"
			tables = append(tables, s.Tables...)
		}
		out = append(out, step{Cluster: c, Tables: tables, SQL: strings.Join(parts, " UNION ALL ") + suffix})
	}
	return out
}

// colocated plans a join of hash-sharded tables that share a rule and are
// joined on their shard columns: table i of one meets table i of the other.
func (pl *Planner) colocated(n *ast.SelectStmt, sharded []tableRef) ([][]shard.Target, error) {
	first := sharded[0].sharded
	for _, r := range sharded[1:] {
		t := r.sharded
		if first.By != "hash" || t.By != "hash" || t.Count != first.Count || strings.Join(t.Clusters, ",") != strings.Join(first.Clusters, ",") {
			return nil, notSupported("join of sharded tables %s and %s: they do not share a sharding rule, so rows may live on different servers", sharded[0].qualified(), r.qualified())
		}
		if !joinedOnShardColumns(n, sharded[0], r) {
			return nil, notSupported("join of sharded tables %s and %s is not on equal shard columns (%s = %s), so rows may live on different servers", sharded[0].qualified(), r.qualified(), first.Column, t.Column)
		}
	}
	// Conditions on any of the joined shard columns prune all of them.
	indexes := map[int]bool{}
	constrained := false
	for _, r := range sharded {
		conds := parser.ExtractConds(n.Where, matcher(aliasOf(n, r), r.name, false))
		if c, ok := conds[r.sharded.Column]; ok && c.Exact {
			set := map[int]bool{}
			for _, v := range c.Values {
				set[shard.Index(v, first.Count)] = true
			}
			if constrained {
				for i := range indexes {
					if !set[i] {
						delete(indexes, i)
					}
				}
			} else {
				indexes, constrained = set, true
			}
		}
	}
	var list []int
	if constrained {
		for i := range indexes {
			list = append(list, i)
		}
		sort.Ints(list)
		if len(list) == 0 {
			list = []int{0}
		}
	} else {
		for i := 0; i < first.Count; i++ {
			list = append(list, i)
		}
	}
	sets := make([][]shard.Target, len(sharded))
	for j, r := range sharded {
		for _, i := range list {
			sets[j] = append(sets[j], r.sharded.HashTarget(i))
		}
	}
	return sets, nil
}

// joinedOnShardColumns looks for a.col = b.col between the two shard columns
// in the ON clauses and the WHERE clause.
func joinedOnShardColumns(n *ast.SelectStmt, a, b tableRef) bool {
	aliasA, aliasB := strings.ToLower(aliasOf(n, a)), strings.ToLower(aliasOf(n, b))
	if aliasA == "" {
		aliasA = strings.ToLower(a.name)
	}
	if aliasB == "" {
		aliasB = strings.ToLower(b.name)
	}
	is := func(e ast.ExprNode, alias, col string) bool {
		c, ok := e.(*ast.ColumnNameExpr)
		return ok && c.Name.Table.L == alias && c.Name.Name.L == col
	}
	found := false
	n.Accept(&visitFn{fn: func(x ast.Node) bool {
		if e, ok := x.(*ast.BinaryOperationExpr); ok && e.Op.String() == "eq" {
			if (is(e.L, aliasA, a.sharded.Column) && is(e.R, aliasB, b.sharded.Column)) ||
				(is(e.R, aliasA, a.sharded.Column) && is(e.L, aliasB, b.sharded.Column)) {
				found = true
			}
		}
		return !found
	}})
	return found
}

// systemSchemas live on every server; statements on them follow the session.
var systemSchemas = map[string]bool{"information_schema": true, "mysql": true, "performance_schema": true, "sys": true}

// IsSystemSchema reports a schema every server has (information_schema,
// mysql, performance_schema, sys).
func IsSystemSchema(name string) bool { return systemSchemas[strings.ToLower(name)] }
