package planner

import (
	"sort"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/tabledef"
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
	// ShowCreate marks SHOW CREATE TABLE or SHOW INDEX of a sharded table.
	ShowCreate bool
	// Spec says how to merge a cross-shard ORDER BY, LIMIT, DISTINCT,
	// GROUP BY or aggregate.
	Spec *MergeSpec
	// MetaSQL, when set, runs first on one shard for the column definitions
	// of a result the proxy computes (COUNT(DISTINCT x)).
	MetaSQL string
	// Forget lists hourly tables a DROP removes.
	Forget []engine.TableName
	// Global: the steps write the same thing to every copy of a global
	// table (a failure leaves the copies different).
	Global bool
	// Root, when set, is the plan's primitive, built by the planning
	// function itself (INSERT … SELECT that streams, a shard-key UPDATE
	// that moves rows); Steps are then empty.
	Root engine.Primitive
	// Seq reports the insert id of an INSERT whose rows got values from
	// a sequence (its Input is set by build).
	Seq *engine.SequenceIDs
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
	// mergeBatched: as mergeSumAffected, each cluster's steps sent as one
	// batch and the clusters at once (split INSERTs).
	mergeBatched
	// mergeSpecified: sorted, grouped or aggregated as draft.Spec says.
	mergeSpecified
)

// Facts are what planning needs to know about the session: its current
// database and how its server reads SQL text (sql_mode, character set),
// which every rendered statement must follow.
type Facts struct {
	DB   string
	Text parser.TextMode
	// NoZeroDate: the session's sql_mode makes MariaDB refuse to store the
	// zero date (NO_ZERO_DATE in strict mode), so a row that gives it to an
	// hourly table's hour column is refused as the server would refuse it.
	NoZeroDate bool
	// TimeRoundFractional: the session's sql_mode has
	// TIME_ROUND_FRACTIONAL, so MariaDB rounds the fractional seconds a
	// DATETIME column cannot hold instead of truncating them (which can
	// move a written value into the next hour).
	TimeRoundFractional bool
	// Defs gives tables' definitions (column types and collations, for
	// reading shard-key literals as MariaDB does; column order, for an
	// INSERT without a column list). nil: no definitions at all, and keys
	// are hashed as written (tools and tests that predate them); a
	// sharded table Defs does not know has its reads scattered and its
	// writes refused. See DefsNeeded.
	Defs tabledef.Source

	// TempTables: the session holds temporary tables, any of which may
	// hide a table of the same name, whose definition (read on another
	// connection) is then not the one a statement writes.
	TempTables bool

	// NoAutoValueOnZero: sql_mode NO_AUTO_VALUE_ON_ZERO, in which 0 given
	// for a sequence column is a value, not a request for one.
	NoAutoValueOnZero bool

	// seqValues are the values a sequence gave an INSERT's rows
	// (PlanSequenced); sequenced says they were asked for.
	seqValues []int64
	sequenced bool

	// TimeZone is the session's time_zone as the literal its value was
	// recorded as ('+05:30', _utf8mb4 X'…'), "" when the session never set
	// it: NOW() as an hourly table's hour is read on that clock. It is
	// decoded only when a statement needs it.
	TimeZone string
}

// BucketSet knows which hourly buckets exist for a table.
type BucketSet interface {
	// Buckets lists a table's buckets in order.
	Buckets(schema, table string) []string
	Has(schema, table, bucket string) bool
}

// Planner turns statements into plans. It touches no backend: hourly
// buckets come from a BucketSet and the clock from now.
type Planner struct {
	rules   *rules.Rules
	sharded map[string]map[string]*shard.Table // schema → lower-case table → rule
	buckets BucketSet
	now     func() time.Time
	// hourly: some table is sharded by hour (else no statement has
	// bucket misses to look for).
	hourly bool
	// zones tells the clock of a session's time_zone (timefuncs.go).
	zones ZoneSource
}

func New(r *rules.Rules, buckets BucketSet, now func() time.Time) *Planner {
	pl := &Planner{rules: r, sharded: map[string]map[string]*shard.Table{}, buckets: buckets, now: now}
	for sname, s := range r.Schemas {
		pl.sharded[sname] = map[string]*shard.Table{}
		for tname, t := range s.Tables {
			if t.Shard != nil {
				pl.sharded[sname][strings.ToLower(tname)] = shard.Compile(tname, t.Shard, t.Buckets)
				pl.hourly = pl.hourly || t.Shard.By == "hour"
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

// plan routes a statement for the session described by f.
func (pl *Planner) plan(st *parser.Statement, f Facts) (*draft, error) {
	refs, fixed, err := pl.resolve(st, f.DB)
	if err != nil {
		return nil, err
	}
	if n, ok := st.Node.(*ast.LockTablesStmt); ok {
		return pl.lockPlan(st, n, f)
	}
	if err := pl.fullTableWriteGuard(st, refs); err != nil {
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
		return pl.single(st, f, fixed, read)
	case len(sharded) == 0:
		return pl.global(st, f, globals, fixed, read)
	}
	if n, ok := st.Node.(*ast.InsertStmt); ok && n.Select != nil {
		return pl.insertSelectPlan(st, n, f)
	}
	if len(fixed) > 0 {
		return nil, notSupported("%s is sharded but %s lives only on cluster %s: the tables are not co-located", sharded[0].qualified(), fixed[0].qualified(), pl.clusterOf(fixed[0]))
	}
	switch n := st.Node.(type) {
	case *ast.SelectStmt:
		return pl.selectPlan(st, n, f, sharded)
	case *ast.InsertStmt:
		return pl.insertPlan(st, n, f, sharded)
	case *ast.UpdateStmt:
		return pl.updateDeletePlan(st, f, sharded, n.Where, n.Order != nil || n.Limit != nil, n.MultipleTable, n.List)
	case *ast.DeleteStmt:
		return pl.updateDeletePlan(st, f, sharded, n.Where, n.Order != nil || n.Limit != nil, n.IsMultiTable, nil)
	case *ast.ShowStmt:
		return pl.showPlan(st, n, f, sharded)
	case *ast.ExplainStmt:
		if show, ok := n.Stmt.(*ast.ShowStmt); ok { // DESCRIBE t
			return pl.showPlan(st, show, f, sharded)
		}
		if st.ExplainExtended {
			// explainPlan writes each shard's statement from the node,
			// which has lost the word: the answer would lack MariaDB's
			// filtered/partitions column and its notes.
			return nil, notSupported("EXPLAIN EXTENDED and EXPLAIN PARTITIONS over sharded tables are not supported; use EXPLAIN")
		}
		return pl.explainPlan(st, n, f)
	case ast.DDLNode:
		return pl.ddlPlan(st, f, sharded)
	case *ast.SetOprStmt:
		return pl.unionPlan(st, f, sharded)
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
		if name != "" && pl.IsReservedName(schema, name) {
			// A physical table of a sharded table: one server holding
			// the logical tables has no such table.
			return wire.Errorf(mysql.ER_NO_SUCH_TABLE, "Table '%s.%s' doesn't exist", schema, name)
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
func (pl *Planner) single(st *parser.Statement, f Facts, fixed []tableRef, read bool) (*draft, error) {
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
		s := pl.rules.Schemas[f.DB]
		if s == nil {
			s = pl.rules.DefaultSchema()
		}
		cluster = s.Cluster
	}
	return &draft{Read: read, Steps: []step{{Cluster: cluster, SQL: st.SQL}}}, nil
}

// global routes statements on global tables: reads to one copy, writes to
// every copy.
func (pl *Planner) global(st *parser.Statement, f Facts, globals, fixed []tableRef, read bool) (*draft, error) {
	if read {
		p, err := pl.single(st, f, fixed, true)
		if err == nil && len(fixed) == 0 {
			p.Steps[0].Cluster = pl.rules.Schemas[globals[0].schema].Cluster
		}
		return p, err
	}
	if len(fixed) > 0 {
		return nil, notSupported("a write to global table %s that also names %s (on cluster %s only) cannot run on every copy", globals[0].qualified(), fixed[0].qualified(), pl.clusterOf(fixed[0]))
	}
	// Each copy is named by the tables written, for EXPLAIN and for the
	// per-copy outcome of a write that fails on some.
	var names []string
	seen := map[string]bool{}
	for _, g := range globals {
		if n := strings.ToLower(g.name); !seen[n] {
			seen[n] = true
			names = append(names, g.name)
		}
	}
	p := &draft{Merge: mergeAllSucceed, Global: true}
	for _, c := range schemaClusters(pl.rules.Schemas[globals[0].schema]) {
		p.Steps = append(p.Steps, step{Cluster: c, Tables: names, SQL: st.SQL})
	}
	return p, nil
}
