package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
)

// render builds one step per target set: index-aligned physical names for
// every sharded table of the statement.
func render(st *parser.Statement, f Facts, sharded []tableRef, sets [][]shard.Target) ([]step, map[string]string, error) {
	if sel, ok := st.Node.(*ast.SelectStmt); ok {
		keepColumnNames(sel)
	}
	names := make([]string, len(sharded))
	for i, r := range sharded {
		names[i] = strings.ToLower(r.name)
	}
	rn := parser.NewRenamer(st.Node, sharded[0].schema, f.DB, names)
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
		sql, err := rn.RenderIn(phys, f.Text)
		if err != nil {
			return nil, nil, err
		}
		steps = append(steps, step{Cluster: sets[0][i].Cluster, Tables: tables, SQL: sql})
	}
	return steps, logical, nil
}

func (pl *Planner) selectPlan(st *parser.Statement, n *ast.SelectStmt, f Facts, sharded []tableRef) (*draft, error) {
	var sets [][]shard.Target
	places := shardedPlaces(n, sharded, f.DB)
	if !simplePlaces(n, places, sharded, &coPlaced{pl: pl, f: f, sharded: sharded}) {
		// A table named twice, or inside a subquery or derived table:
		// only a statement pinned whole to one server is answered as one
		// server would.
		pinned, ok, err := pl.pinnedTogether(places, sharded, f)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, placesRefusal(sharded)
		}
		sets = pinned
	} else if len(sharded) == 1 {
		r := sharded[0]
		ts, err := pl.targets(r.schema, r.sharded, whereConds(st, r), f)
		if err != nil {
			return nil, err
		}
		sets = [][]shard.Target{ts}
	} else {
		var err error
		if sets, err = pl.colocated(n, sharded, places, f); err != nil {
			return nil, err
		}
	}
	var spec *MergeSpec
	var metaSQL string
	if len(sets[0]) > 1 && n.SelectStmtOpts != nil && n.SelectStmtOpts.CalcFoundRows {
		// Each shard would count its own rows, and FOUND_ROWS() would
		// then name one shard's count (MariaDB also refuses the option
		// inside the per-cluster UNION ALL, 1234).
		return nil, notSupported("SQL_CALC_FOUND_ROWS over sharded table %s across several shards is not supported: count with SELECT COUNT(*)", sharded[0].qualified())
	}
	if len(sets[0]) > 1 {
		grouped := n.GroupBy != nil || hasAggregate(n)
		// Windows not PARTITION BY the shard key (or over groups that
		// span shards) are computed by the proxy over the merged rows.
		localGroups := grouped && n.GroupBy != nil && pl.groupsLocal(n, sharded, f)
		windows := hasWindow(n) && (!pl.windowsLocal(n, sharded, f) || grouped && !localGroups)
		if windows && grouped && !localGroups {
			return nil, notSupported("window functions together with GROUP BY or aggregates over sharded table %s across several shards are supported only when the GROUP BY includes its shard key (each group then lives in one physical table)", sharded[0].qualified())
		}
		if n.From != nil && outerJoinRepeats(n.From.TableRefs, sharded, f.DB) {
			return nil, notSupported("an outer join whose preserved side reads no sharded table and whose other side reads sharded table %s across several shards is not supported: every shard would return the rows it does not join", sharded[0].qualified())
		}
		if hasSubquery(n) && !pl.subqueriesLocal(n, f.DB) {
			return nil, notSupported("subqueries and derived tables over sharded table %s across several shards are supported only when they read global tables or rows of the outer row's shard key (correlated on it, or `key IN (SELECT key …)`)", sharded[0].qualified())
		}
		if windows {
			keepColumnNames(n) // before helper columns are added
			var err error
			if spec, err = windowMergeSpec(n, sharded[0].qualified(), localGroups, fromColumns(n, f)); err != nil {
				return nil, err
			}
		} else if n.GroupBy != nil || n.Having != nil || hasAggregate(n) || n.OrderBy != nil || n.Limit != nil || n.Distinct {
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
				meta, _, err := render(st, f, sharded, first)
				n.Limit = limit
				if err != nil {
					return nil, err
				}
				metaSQL = meta[0].SQL
			}
			var err error
			if spec, err = mergeSpec(n, sharded[0].qualified(), pl.groupsLocal(n, sharded, f), fromColumns(n, f)); err != nil {
				return nil, err
			}
		}
	}
	if len(sets[0]) > 1 && !st.Locking && n.SelectStmtOpts != nil {
		// The steps of one cluster are joined by UNION ALL, where MariaDB
		// takes SQL_NO_CACHE only in the first SELECT (1234 elsewhere);
		// mariadb-dump sends it with every table. It only keeps the
		// answer out of the query cache (off by default), so it is left
		// out of the physical statements.
		n.SelectStmtOpts.SQLCache = true
	}
	steps, logical, err := render(st, f, sharded, sets)
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
// A table named only in subqueries correlated on the shard key of a table
// of its rule (simplePlaces, coPlaced) meets it table by table too.
func (pl *Planner) colocated(n *ast.SelectStmt, sharded []tableRef, places []place, f Facts) ([][]shard.Target, error) {
	top := map[int]bool{}
	for _, p := range places {
		if p.top {
			top[p.table] = true
		}
	}
	anchor := 0 // the first table of the statement's own FROM
	for anchor < len(sharded)-1 && !top[anchor] {
		anchor++
	}
	a := sharded[anchor]
	first := a.sharded
	for i, r := range sharded {
		if i == anchor {
			continue
		}
		t := r.sharded
		if first.By != "hash" || t.By != "hash" || t.Count != first.Count || strings.Join(t.Clusters, ",") != strings.Join(first.Clusters, ",") {
			return nil, notSupported("join of sharded tables %s and %s: they do not share a sharding rule, so rows may live on different servers", a.qualified(), r.qualified())
		}
		if top[i] && !joinedOnShardColumns(n, a, r) {
			return nil, notSupported("join of sharded tables %s and %s is not on equal shard columns (%s = %s), so rows may live on different servers", a.qualified(), r.qualified(), first.Column, t.Column)
		}
		if ka, kb := pl.keysFor(f, a.schema, first).column(first.Column), pl.keysFor(f, r.schema, t).column(t.Column); ka != nil && kb != nil && keyClass(ka) != keyClass(kb) {
			// Equal values of different types (INT 2, VARCHAR '2') have
			// different canonical keys, so they live in different tables.
			return nil, notSupported("join of sharded tables %s and %s: their shard columns %s (%s) and %s (%s) are keyed differently, so equal values may live on different servers", a.qualified(), r.qualified(), first.Column, ka.ColumnType, t.Column, kb.ColumnType)
		}
	}
	// Conditions on any of the joined shard columns prune all of them.
	indexes := map[int]bool{}
	constrained := false
	for _, r := range sharded {
		// An unqualified column named like the shard column is this
		// table's here too (see joinedOnShardColumns): o_orderkey = 7.
		qualified, col := matcher(aliasOf(n, r), r.name, false), r.sharded.Column
		conds := parser.ExtractConds(n.Where, func(c *ast.ColumnName) bool {
			return qualified(c) || c.Table.L == "" && c.Name.L == col
		})
		if c, ok := conds[r.sharded.Column]; ok && c.Exact {
			idx, all := pl.keysFor(f, r.schema, r.sharded).readIndexes(r.sharded.Column, c, first.Count)
			if all {
				continue
			}
			set := map[int]bool{}
			for _, i := range idx {
				set[i] = true
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
// among the conjuncts of the WHERE clause and of the ON clauses that hold
// for every pair of their rows (onConditions): under OR or NOT, in a
// subquery, or in an outer join's ON between other tables, the equality
// does not keep rows of different keys apart.
func joinedOnShardColumns(n *ast.SelectStmt, a, b tableRef) bool {
	aliasA, aliasB := strings.ToLower(aliasOf(n, a)), strings.ToLower(aliasOf(n, b))
	if aliasA == "" {
		aliasA = strings.ToLower(a.name)
	}
	if aliasB == "" {
		aliasB = strings.ToLower(b.name)
	}
	// An unqualified column named like a table's shard column is that
	// table's: the table has the column, so the name resolves to it or,
	// when another table of this FROM has one of that name too, the
	// server refuses it as ambiguous (1052). TPC-H writes its joins so:
	// o_orderkey = l_orderkey.
	is := func(e ast.ExprNode, alias, col string) bool {
		c, ok := e.(*ast.ColumnNameExpr)
		return ok && c.Name.Name.L == col && (c.Name.Table.L == alias || c.Name.Table.L == "" && c.Name.Schema.L == "")
	}
	conds := []ast.ExprNode{n.Where}
	if n.From != nil {
		conds = append(conds, onConditions(n.From.TableRefs, aliasA, aliasB)...)
	}
	for _, c := range conds {
		if c == nil {
			continue
		}
		for _, x := range conjuncts(c) {
			if e, ok := x.(*ast.BinaryOperationExpr); ok && e.Op == opcode.EQ {
				if (is(e.L, aliasA, a.sharded.Column) && is(e.R, aliasB, b.sharded.Column)) ||
					(is(e.R, aliasA, a.sharded.Column) && is(e.L, aliasB, b.sharded.Column)) {
					return true
				}
			}
		}
	}
	return false
}

// systemSchemas live on every server; statements on them follow the session.
var systemSchemas = map[string]bool{"information_schema": true, "mysql": true, "performance_schema": true, "sys": true}

// IsSystemSchema reports a schema every server has (information_schema,
// mysql, performance_schema, sys).
func IsSystemSchema(name string) bool { return systemSchemas[strings.ToLower(name)] }
