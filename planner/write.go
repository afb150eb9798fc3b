package planner

import (
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

func (pl *Planner) insertPlan(st *parser.Statement, n *ast.InsertStmt, f Facts, sharded []tableRef) (*draft, error) {
	r := sharded[0]
	t := r.sharded
	if len(sharded) > 1 || n.Select != nil {
		names := make([]string, len(sharded))
		for i, s := range sharded {
			names[i] = s.qualified()
		}
		return nil, notSupported("INSERT ... SELECT with sharded table %s is not supported: source and target rows may live on different servers", strings.Join(names, " and "))
	}
	if len(n.Columns) == 0 {
		return nil, notSupported("INSERT into sharded table %s needs a column list: each row is routed by its %s value", r.qualified(), t.Column)
	}
	keyIdx, subIdx := -1, -1
	for i, c := range n.Columns {
		switch c.Name.L {
		case t.Column:
			keyIdx = i
		case t.SubColumn:
			subIdx = i
		}
	}
	missing := func(col string) error {
		return wire.Errorf(mysql.ER_NO_DEFAULT_FOR_FIELD, "shardgate: INSERT into sharded table %s must give shard column %s", r.qualified(), col)
	}
	if keyIdx < 0 {
		return nil, missing(t.Column)
	}
	if t.SubColumn != "" && subIdx < 0 {
		return nil, missing(t.SubColumn)
	}
	for _, a := range n.OnDuplicate {
		if c := a.Column.Name.L; c == t.Column || (c != "" && c == t.SubColumn) {
			return nil, notSupported("ON DUPLICATE KEY UPDATE of shard column %s of %s would move the row to another table", c, r.qualified())
		}
	}
	// NOW() is the statement's start for every row, as in MariaDB.
	stmtNow := pl.now()
	keyOf := func(row []ast.ExprNode, i int, col string) (string, error) {
		if i >= len(row) {
			return "", missing(col)
		}
		if t.By == "hour" && col == t.Column {
			// Evaluated once, here, so that the row's value and its
			// bucket agree (timefuncs.go).
			now, ok, err := pl.nowLiteral(row[i], f, stmtNow)
			if err != nil {
				return "", err
			}
			if ok {
				row[i] = ast.NewValueExpr(now, "", "")
				return now, nil
			}
		}
		v, null, ok := parser.Literal(row[i])
		switch {
		case !ok:
			return "", notSupported("shard column %s of %s must be given as a constant, not an expression", col, r.qualified())
		case null:
			return "", wire.Errorf(mysql.ER_BAD_NULL_ERROR, "shardgate: shard column %s of %s cannot be NULL", col, r.qualified())
		}
		return v, nil
	}
	var order []shard.Target
	groups := map[shard.Target][][]ast.ExprNode{}
	var ensure []engine.BucketNeed
	seenBucket := map[string]bool{}
	now := stmtNow
	for rowNum, row := range n.Lists {
		v, err := keyOf(row, keyIdx, t.Column)
		if err != nil {
			return nil, err
		}
		var target shard.Target
		if t.By == "hash" {
			target = t.HashTarget(shard.Index(v, t.Count))
		} else {
			bucket, err := shard.Bucket(v)
			if err != nil {
				return nil, notSupported("column %s of %s: %v", t.Column, r.qualified(), err)
			}
			// Both refusals come before any bucket is created: the whole
			// statement fails, as on one server.
			if bucket == shard.ZeroBucket && f.NoZeroDate && !n.IgnoreErr {
				return nil, wire.Errorf(mysql.ER_TRUNCATED_WRONG_VALUE, "Incorrect datetime value: '%s' for column `%s`.`%s`.`%s` at row %d",
					v, r.schema, r.name, n.Columns[keyIdx].Name.O, rowNum+1)
			}
			if !t.InWindow(bucket, now) {
				first, last := t.Window(now)
				return nil, wire.Errorf(mysql.ER_NO_PARTITION_FOR_GIVEN_VALUE, "Table has no partition for value %s (shardgate: %s accepts hours %s to %s, see buckets: in the rules)",
					bucket, r.qualified(), first, last)
			}
			var subs []int
			if t.SubColumn != "" {
				sv, err := keyOf(row, subIdx, t.SubColumn)
				if err != nil {
					return nil, err
				}
				subs = []int{shard.Index(sv, t.SubCount)}
			}
			target = t.BucketTargets(bucket, subs)[0]
			if !seenBucket[bucket] {
				seenBucket[bucket] = true
				ensure = append(ensure, engine.BucketNeed{Schema: r.schema, Table: t, Bucket: bucket})
			}
		}
		if _, ok := groups[target]; !ok {
			order = append(order, target)
		}
		groups[target] = append(groups[target], row)
	}
	sets := [][]shard.Target{order}
	all := n.Lists
	defer func() { n.Lists = all }()
	names := []string{strings.ToLower(r.name)}
	rn := parser.NewRenamer(n, r.schema, f.DB, names)
	p := &draft{Ensure: ensure}
	for _, target := range sets[0] {
		n.Lists = groups[target]
		sql, err := rn.RenderIn(map[string]string{names[0]: target.Table}, f.Text)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, step{Cluster: target.Cluster, Tables: []string{target.Table}, SQL: sql})
	}
	if len(p.Steps) > 1 {
		p.Merge = mergeSumAffected
	}
	return p, nil
}

func (pl *Planner) updateDeletePlan(st *parser.Statement, f Facts, sharded []tableRef, where ast.ExprNode, orderOrLimit, multi bool, set []*ast.Assignment) (*draft, error) {
	r := sharded[0]
	t := r.sharded
	verb := "DELETE"
	if set != nil {
		verb = "UPDATE"
	}
	if multi || len(sharded) > 1 {
		return nil, notSupported("multi-table %s with sharded table %s is not supported by this version", verb, r.qualified())
	}
	for _, a := range set {
		if c := a.Column.Name.L; c == t.Column || (c != "" && c == t.SubColumn) {
			return nil, notSupported("UPDATE of shard column %s of %s would move the row to another table", c, r.qualified())
		}
	}
	if where == nil && !r.rule.AllowFullTableWrites {
		return nil, wire.Errorf(mysql.ER_UPDATE_WITHOUT_KEY_IN_SAFE_MODE,
			"shardgate: %s without WHERE on sharded table %s would touch every shard; set allow_full_table_writes: true on the table to allow it", verb, r.qualified())
	}
	targets, err := pl.targets(r.schema, t, whereConds(st, r))
	if err != nil {
		return nil, err
	}
	if len(targets) > 1 && orderOrLimit {
		return nil, notSupported("%s with ORDER BY or LIMIT on sharded table %s across several shards is not supported", verb, r.qualified())
	}
	steps, _, err := render(st, f, sharded, [][]shard.Target{targets})
	if err != nil {
		return nil, err
	}
	p := &draft{Steps: steps}
	if len(steps) > 1 {
		p.Merge = mergeSumAffected
	}
	return p, nil
}

// firstTable is the physical table that answers for the logical definition.
func firstTable(t *shard.Table) shard.Target {
	if t.By == "hash" {
		return t.HashTarget(0)
	}
	return shard.Target{Cluster: t.Clusters[0], Table: t.TemplateTable()}
}

func (pl *Planner) showPlan(st *parser.Statement, n *ast.ShowStmt, f Facts, sharded []tableRef) (*draft, error) {
	switch n.Tp {
	case ast.ShowCreateTable, ast.ShowColumns, ast.ShowIndex:
	default:
		return nil, notSupported("this SHOW statement on sharded table %s is not supported by this version", sharded[0].qualified())
	}
	target := firstTable(sharded[0].sharded)
	steps, logical, err := render(st, f, sharded[:1], [][]shard.Target{{target}})
	if err != nil {
		return nil, err
	}
	// SHOW CREATE TABLE and SHOW INDEX name the table in their rows too
	// (SHOW INDEX's Table column): those rows are renamed as well.
	return &draft{Read: true, Steps: steps, Logical: logical, ShowCreate: n.Tp == ast.ShowCreateTable || n.Tp == ast.ShowIndex}, nil
}

// allPhysical lists every physical table of a sharded table, the hourly
// template tables included.
func (pl *Planner) allPhysical(schema string, t *shard.Table) []shard.Target {
	if t.By == "hash" {
		return t.AllHashTargets()
	}
	var out []shard.Target
	for _, c := range t.Clusters {
		out = append(out, shard.Target{Cluster: c, Table: t.TemplateTable()})
	}
	for _, b := range pl.buckets.Buckets(schema, t.Name) {
		out = append(out, t.BucketTargets(b, nil)...)
	}
	return out
}

func (pl *Planner) ddlPlan(st *parser.Statement, f Facts, sharded []tableRef) (*draft, error) {
	r := sharded[0]
	if len(sharded) > 1 {
		return nil, notSupported("one DDL statement for several sharded tables (%s, %s) is not supported; run one per table", r.qualified(), sharded[1].qualified())
	}
	var forget []engine.TableName
	var targets []shard.Target
	switch n := st.Node.(type) {
	case *ast.CreateTableStmt:
		if n.ReferTable != nil || n.Select != nil {
			return nil, notSupported("CREATE TABLE ... LIKE or ... SELECT for sharded table %s is not supported", r.qualified())
		}
		if r.sharded.By == "hash" {
			targets = r.sharded.AllHashTargets()
		} else {
			// Hourly tables start as one template per cluster; buckets are
			// created LIKE it as rows arrive.
			for _, c := range r.sharded.Clusters {
				targets = append(targets, shard.Target{Cluster: c, Table: r.sharded.TemplateTable()})
			}
		}
	case *ast.DropTableStmt:
		if len(n.Tables) > 1 {
			return nil, notSupported("DROP TABLE of several tables including sharded table %s is not supported; drop it alone", r.qualified())
		}
		targets = pl.allPhysical(r.schema, r.sharded)
		if r.sharded.By == "hour" {
			// Its buckets are gone with it: later writes create them again.
			forget = []engine.TableName{{Schema: r.schema, Table: r.sharded.Name}}
		}
	case *ast.AlterTableStmt:
		targets = pl.allPhysical(r.schema, r.sharded)
		if r.sharded.By == "hour" && keysOnlyAlter(n) {
			// No bucket yet: nothing to do, as for a table without rows.
			targets = withoutTemplate(r.sharded, targets)
		}
	case *ast.TruncateTableStmt, *ast.CreateIndexStmt, *ast.DropIndexStmt:
		targets = pl.allPhysical(r.schema, r.sharded)
	default:
		return nil, notSupported("this DDL on sharded table %s is not supported by this version", r.qualified())
	}
	steps, _, err := render(st, f, sharded, [][]shard.Target{targets})
	if err != nil {
		return nil, err
	}
	return &draft{Steps: steps, Merge: mergeAllSucceed, Forget: forget}, nil
}
