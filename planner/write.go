package planner

import (
	"strconv"
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
	k := pl.keysFor(f, r.schema, t)
	// The columns the rows' values are for: the statement's list, or
	// without one, every column of the table in order (from its
	// definition), as MariaDB reads INSERT INTO t VALUES (…).
	var colNames []string
	for _, c := range n.Columns {
		colNames = append(colNames, c.Name.O)
	}
	if len(n.Columns) == 0 {
		if k.legacy || !k.known {
			return nil, notSupported("INSERT without a column list into sharded table %s needs the table's definition, which could not be read from the backends; give the column list", r.qualified())
		}
		for _, c := range k.cols {
			colNames = append(colNames, c.Name)
		}
	}
	// Every row has a value for each column, or (without a column list)
	// every row is () and takes the defaults, as MariaDB checks.
	want := len(colNames)
	if len(n.Columns) == 0 && len(n.Lists) > 0 && len(n.Lists[0]) == 0 {
		want = 0
	}
	for i, row := range n.Lists {
		if len(row) != want {
			return nil, wire.Errorf(mysql.ER_WRONG_VALUE_COUNT_ON_ROW, "Column count doesn't match value count at row %d", i+1)
		}
	}
	if len(n.Columns) == 0 && want > 0 {
		// Written out from the definition, so what follows (the
		// sequence's values among them) sees the columns by name; the
		// physical tables have the same columns in the same order.
		for _, c := range colNames {
			n.Columns = append(n.Columns, &ast.ColumnName{Name: ast.NewCIStr(c)})
		}
		defer func() { n.Columns = nil }()
	}
	// An update that may give an existing row another shard key moves it
	// (engine.UpsertMove), row by row.
	moving := false
	for _, a := range n.OnDuplicate {
		if c := a.Column.Name.L; (c == t.Column || (c != "" && c == t.SubColumn)) && !keepsShardKey(a, c) {
			moving = true
		}
	}
	if moving {
		if err := pl.checkUpsertMove(n, r); err != nil {
			return nil, err
		}
	}
	// The sequence's values first: the column may be the shard key.
	restoreSeq, seqIDs, generated, err := pl.fillSequence(n, r, f)
	if err != nil {
		return nil, err
	}
	defer restoreSeq()
	if len(n.Columns) > 0 { // the sequence may have added its column
		colNames = colNames[:0]
		for _, c := range n.Columns {
			colNames = append(colNames, c.Name.O)
		}
	}
	keyIdx, subIdx := -1, -1
	for i, c := range colNames {
		switch strings.ToLower(c) {
		case t.Column:
			keyIdx = i
		case t.SubColumn:
			subIdx = i
		}
	}
	missing := func(col string) error {
		return wire.Errorf(mysql.ER_NO_DEFAULT_FOR_FIELD, "shardgate: INSERT into sharded table %s must give shard column %s", r.qualified(), col)
	}
	// A shard column the statement leaves out (or gives DEFAULT) takes
	// its default, when the definition has a constant one.
	defaultOf := func(col string) (parser.Value, bool) {
		def := k.column(col)
		if def == nil || def.Default == nil || def.AutoIncrement || def.Generated {
			return parser.Value{}, false
		}
		return defaultValue(*def.Default)
	}
	if keyIdx < 0 {
		if _, ok := defaultOf(t.Column); !ok {
			return nil, missing(t.Column)
		}
	}
	if t.SubColumn != "" && subIdx < 0 {
		if _, ok := defaultOf(t.SubColumn); !ok {
			return nil, missing(t.SubColumn)
		}
	}
	// NOW() is the statement's start for every row, as in MariaDB.
	stmtNow := pl.now()
	// valueAt is the literal a row gives column i (its default when the
	// row leaves it out or says DEFAULT).
	valueAt := func(row []ast.ExprNode, i int, col string) (parser.Value, error) {
		if i < 0 || i >= len(row) {
			if v, ok := defaultOf(col); ok {
				return v, nil
			}
			return parser.Value{}, missing(col)
		}
		if _, isDefault := row[i].(*ast.DefaultExpr); isDefault {
			if v, ok := defaultOf(col); ok {
				return v, nil
			}
			return parser.Value{}, notSupported("shard column %s of %s is given DEFAULT, which is not a constant the proxy can route by", col, r.qualified())
		}
		if t.By == "hour" && col == t.Column {
			// Evaluated once, here, so that the row's value and its
			// bucket agree (timefuncs.go).
			now, ok, err := pl.nowLiteral(row[i], f, stmtNow)
			if err != nil {
				return parser.Value{}, err
			}
			if ok {
				row[i] = ast.NewValueExpr(now, "", "")
				return parser.Value{Kind: parser.ValString, Text: now}, nil
			}
		}
		v, ok := parser.LiteralValue(row[i])
		if !ok {
			return parser.Value{}, notSupported("shard column %s of %s must be given as a constant, not an expression", col, r.qualified())
		}
		return v, nil
	}
	// hashIndex is the table index among count of the value a row gives
	// a hash column: its canonical key's, or NullIndex for NULL.
	hashIndex := func(row []ast.ExprNode, i int, col string, count int) (int, error) {
		v, err := valueAt(row, i, col)
		if err != nil {
			return 0, err
		}
		key, null, err := k.writeKey(col, v, n.IgnoreErr)
		if err != nil || null {
			return NullIndex, err
		}
		return shard.Index(key, count), nil
	}
	var order []shard.Target
	groups := map[shard.Target][][]ast.ExprNode{}
	firstGen := map[shard.Target]int64{} // a step's first generated value
	genOf := map[shard.Target][]int64{}  // a step's generated values
	var lastTarget shard.Target          // where the last row goes
	var rowTargets []shard.Target        // where each row goes
	var ensure []engine.BucketNeed
	seenBucket := map[string]bool{}
	now := stmtNow
	for rowNum, row := range n.Lists {
		var target shard.Target
		if t.By == "hash" {
			i, err := hashIndex(row, keyIdx, t.Column, t.Count)
			if err != nil {
				return nil, err
			}
			target = t.HashTarget(i)
		} else {
			hv, err := valueAt(row, keyIdx, t.Column)
			if err != nil {
				return nil, err
			}
			v := hv.Text
			var bucket string
			if hv.Kind == parser.ValNull {
				if def := k.column(t.Column); def != nil && !def.Nullable && !n.IgnoreErr {
					return nil, wire.Errorf(mysql.ER_BAD_NULL_ERROR, "Column '%s' cannot be null", def.Name)
				}
				// NULL hours (and, under INSERT IGNORE, the zero date a
				// NOT NULL column stores instead) live in the zero
				// date's bucket.
				bucket, v = shard.ZeroBucket, "NULL"
			} else if bucket, err = storedHourOf(k.column(t.Column), hv, k.roundFrac); err != nil {
				return nil, notSupported("column %s of %s: %v", t.Column, r.qualified(), err)
			}
			// Both refusals come before any bucket is created: the whole
			// statement fails, as on one server.
			if bucket == shard.ZeroBucket && v != "NULL" && f.NoZeroDate && !n.IgnoreErr {
				return nil, wire.Errorf(mysql.ER_TRUNCATED_WRONG_VALUE, "Incorrect datetime value: '%s' for column `%s`.`%s`.`%s` at row %d",
					v, r.schema, r.name, colNames[keyIdx], rowNum+1)
			}
			if !t.InWindow(bucket, now) {
				first, last := t.Window(now)
				return nil, wire.Errorf(mysql.ER_NO_PARTITION_FOR_GIVEN_VALUE, "Table has no partition for value %s (shardgate: %s accepts hours %s to %s, see buckets: in the rules)",
					bucket, r.qualified(), first, last)
			}
			var subs []int
			if t.SubColumn != "" {
				j, err := hashIndex(row, subIdx, t.SubColumn, t.SubCount)
				if err != nil {
					return nil, err
				}
				subs = []int{j}
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
		rowTargets = append(rowTargets, target)
		lastTarget = target
		if seqIDs != nil && generated[rowNum] > 0 {
			if firstGen[target] == 0 {
				firstGen[target] = generated[rowNum]
			}
			genOf[target] = append(genOf[target], generated[rowNum])
		}
	}
	if moving {
		um, err := pl.upsertMove(n, r, f, colNames, rowTargets)
		if err != nil {
			return nil, err
		}
		return &draft{Ensure: ensure, Root: um}, nil
	}
	sets := [][]shard.Target{order}
	all := n.Lists
	defer func() { n.Lists = all }()
	names := []string{strings.ToLower(r.name)}
	rn := parser.NewRenamer(n, r.schema, f.DB, names)
	p := &draft{Ensure: ensure, Seq: seqIDs}
	for _, target := range sets[0] {
		n.Lists = groups[target]
		if seqIDs != nil {
			seqIDs.Steps = append(seqIDs.Steps, engine.SeqStep{Cluster: target.Cluster, Rows: len(groups[target]), First: firstGen[target], Last: target == lastTarget,
				Check: seqCheck(seqIDs.Upsert, r.schema, target.Table, r.rule.Sequence.Column, genOf[target], len(groups[target]))})
		}
		sql, err := rn.RenderIn(map[string]string{names[0]: target.Table}, f.Text)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, step{Cluster: target.Cluster, Tables: []string{target.Table}, SQL: sql})
	}
	if len(p.Steps) > 1 {
		// The steps write disjoint rows: each cluster's go in one round
		// trip (a 100-row INSERT may reach a hundred tables).
		p.Merge = mergeBatched
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
	if set != nil {
		if n, ok := st.Node.(*ast.UpdateStmt); ok {
			if d, handled, err := pl.shardKeyUpdatePlan(st, n, f, r); handled || err != nil {
				return d, err
			}
		}
	}
	if places := shardedPlaces(st.Node, sharded, f.DB); !simplePlaces(st.Node, places, sharded, nil) {
		// Named again in a subquery (DELETE … WHERE id IN (SELECT … FROM
		// (SELECT … FROM t) x)): every mention must be pinned to the
		// table the write goes to.
		sets, ok, err := pl.pinnedTogether(places, sharded, f)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, placesRefusal(sharded)
		}
		steps, _, err := render(st, f, sharded, sets)
		if err != nil {
			return nil, err
		}
		return &draft{Steps: steps}, nil
	}
	if where == nil && !r.rule.AllowFullTableWrites && !pl.rules.Schemas[r.schema].AllowFullTableWrites {
		return nil, wire.Errorf(mysql.ER_UPDATE_WITHOUT_KEY_IN_SAFE_MODE,
			"shardgate: %s without WHERE on sharded table %s would touch every shard; set allow_full_table_writes: true on the table to allow it", verb, r.qualified())
	}
	targets, err := pl.targets(r.schema, t, whereConds(st, r), f)
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

// defaultValue reads information_schema's COLUMN_DEFAULT (MariaDB 10.2+
// writes an expression: 'text' quoted, numbers bare, NULL) as a literal;
// ok is false for expressions (CURRENT_TIMESTAMP(), …).
func defaultValue(d string) (parser.Value, bool) {
	switch {
	case d == "NULL":
		return parser.Value{Kind: parser.ValNull}, true
	case len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'':
		inner := d[1 : len(d)-1]
		if strings.ContainsAny(inner, "\\") {
			return parser.Value{}, false
		}
		return parser.Value{Kind: parser.ValString, Text: strings.ReplaceAll(inner, "''", "'"), Charset: "utf8mb4"}, true
	}
	if _, err := strconv.ParseInt(d, 10, 64); err == nil {
		return parser.Value{Kind: parser.ValInt, Text: d}, true
	}
	if _, err := strconv.ParseFloat(d, 64); err == nil && !strings.ContainsAny(d, "eEnNiI") {
		return parser.Value{Kind: parser.ValDecimal, Text: d}, true
	}
	return parser.Value{}, false
}

// fullTableWriteGuard refuses an UPDATE or DELETE of one table with
// neither WHERE nor LIMIT, which changes every row, unless the table's
// rule or its schema has allow_full_table_writes: true (as MariaDB's
// sql_safe_updates refuses it, with its code). Sharded tables are guarded
// by updateDeletePlan, which says why per shard.
func (pl *Planner) fullTableWriteGuard(st *parser.Statement, refs []tableRef) error {
	verb := ""
	switch n := st.Node.(type) {
	case *ast.UpdateStmt:
		if n.Where != nil || n.Limit != nil || n.MultipleTable {
			return nil
		}
		verb = "UPDATE"
	case *ast.DeleteStmt:
		if n.Where != nil || n.Limit != nil || n.IsMultiTable {
			return nil
		}
		verb = "DELETE"
	default:
		return nil
	}
	if len(refs) != 1 || refs[0].sharded != nil {
		return nil
	}
	r := refs[0]
	schema := pl.rules.Schemas[r.schema]
	if schema == nil || schema.AllowFullTableWrites || r.rule != nil && r.rule.AllowFullTableWrites {
		return nil
	}
	return wire.Errorf(mysql.ER_UPDATE_WITHOUT_KEY_IN_SAFE_MODE,
		"shardgate: %s without WHERE on table %s would change every row; set allow_full_table_writes: true on the table or its schema to allow it", verb, r.qualified())
}
