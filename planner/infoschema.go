package planner

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

// information_schema as one MariaDB holding every logical table would
// answer it. The tables that describe databases' objects are gathered
// from the clusters: each table is described by the cluster that holds it
// (a sharded table by the physical table that stands for it, renamed to
// the logical name; a global table by its copy on the schema's default
// cluster), physical tables never appear, and the rows become common table
// expressions of literal rows ahead of the client's statement, which one
// backend then evaluates whole: WHERE, joins, aggregates and ORDER BY see
// every cluster's tables at once.

// ISAccess is how the proxy answers one information_schema table.
type ISAccess int

const (
	// ISRefused tables tell about other schemas, other sessions or the
	// backend account (INNODB_*, *_PRIVILEGES, PROFILING, …): refused.
	ISRefused ISAccess = iota
	// ISGathered tables describe databases' objects: gathered from every
	// cluster, in logical terms.
	ISGathered
	// ISServerWide tables describe the server software alone (character
	// sets, engines, variables): the backend answers them as they are.
	ISServerWide
	// ISProxy tables are the proxy's own (PROCESSLIST: its sessions).
	ISProxy
)

// isSpec says how the rows of a gathered table are placed and renamed.
type isSpec struct {
	// schemaCol holds the database a row belongs to.
	schemaCol string
	// tableCol names the table a row describes; "" for rows about a
	// database as a whole (SCHEMATA, ROUTINES, EVENTS).
	tableCol string
	// refs are other columns naming a table (with the column naming its
	// database): renamed when they name a physical table.
	refs [][2]string
	// derived are names made from the table's own (constraint names such
	// as comments_0_ibfk_1): a physical prefix becomes the logical name.
	derived []string
	// sums: a sharded table's row adds up TABLE_ROWS, DATA_LENGTH,
	// INDEX_LENGTH and DATA_FREE over all its physical tables, keyed also
	// by the key columns (a partition's name).
	sums bool
	key  []string
}

var gatheredTables = map[string]isSpec{
	"SCHEMATA":   {schemaCol: "SCHEMA_NAME"},
	"TABLES":     {schemaCol: "TABLE_SCHEMA", tableCol: "TABLE_NAME", sums: true},
	"COLUMNS":    {schemaCol: "TABLE_SCHEMA", tableCol: "TABLE_NAME"},
	"STATISTICS": {schemaCol: "TABLE_SCHEMA", tableCol: "TABLE_NAME"},
	"KEY_COLUMN_USAGE": {schemaCol: "TABLE_SCHEMA", tableCol: "TABLE_NAME",
		refs: [][2]string{{"REFERENCED_TABLE_SCHEMA", "REFERENCED_TABLE_NAME"}}, derived: []string{"CONSTRAINT_NAME"}},
	"TABLE_CONSTRAINTS": {schemaCol: "TABLE_SCHEMA", tableCol: "TABLE_NAME", derived: []string{"CONSTRAINT_NAME"}},
	"REFERENTIAL_CONSTRAINTS": {schemaCol: "CONSTRAINT_SCHEMA", tableCol: "TABLE_NAME",
		refs: [][2]string{{"UNIQUE_CONSTRAINT_SCHEMA", "REFERENCED_TABLE_NAME"}}, derived: []string{"CONSTRAINT_NAME"}},
	"CHECK_CONSTRAINTS": {schemaCol: "CONSTRAINT_SCHEMA", tableCol: "TABLE_NAME", derived: []string{"CONSTRAINT_NAME"}},
	"PARTITIONS":        {schemaCol: "TABLE_SCHEMA", tableCol: "TABLE_NAME", sums: true, key: []string{"PARTITION_NAME", "SUBPARTITION_NAME"}},
	"VIEWS":             {schemaCol: "TABLE_SCHEMA", tableCol: "TABLE_NAME"},
	"TRIGGERS":          {schemaCol: "TRIGGER_SCHEMA", tableCol: "EVENT_OBJECT_TABLE"},
	"ROUTINES":          {schemaCol: "ROUTINE_SCHEMA"},
	"PARAMETERS":        {schemaCol: "SPECIFIC_SCHEMA"},
	"EVENTS":            {schemaCol: "EVENT_SCHEMA"},
}

// serverWideTables describe the server software, never a database's
// objects, another session or an account. FILES is empty on MariaDB
// (InnoDB does not fill it) and mariadb-dump reads it.
var serverWideTables = map[string]bool{
	"CHARACTER_SETS": true, "COLLATIONS": true, "COLLATION_CHARACTER_SET_APPLICABILITY": true,
	"ENGINES": true, "PLUGINS": true, "ALL_PLUGINS": true, "KEYWORDS": true, "SQL_FUNCTIONS": true,
	"SPATIAL_REF_SYS": true, "SYSTEM_VARIABLES": true, "GLOBAL_VARIABLES": true, "SESSION_VARIABLES": true,
	"GLOBAL_STATUS": true, "SESSION_STATUS": true, "KEY_CACHES": true, "FILES": true,
}

// InfoSchemaAccess says how the proxy answers information_schema.name.
// Tables it does not know are refused: a server version may add tables,
// and only those shown harmless pass.
func InfoSchemaAccess(name string) ISAccess {
	upper := strings.ToUpper(name)
	switch {
	case upper == "PROCESSLIST":
		return ISProxy
	case serverWideTables[upper]:
		return ISServerWide
	}
	if _, ok := gatheredTables[upper]; ok {
		return ISGathered
	}
	return ISRefused
}

// Limits of a gathered answer: every row becomes SQL text that one
// backend must accept (MariaDB's default max_allowed_packet is 16 MiB).
const (
	maxInfoSchemaRows  = 20000
	maxInfoSchemaBytes = 8 << 20
)

// InfoSchemaQuery is a SELECT over information_schema as the proxy answers
// it: Gathers are read from the clusters, then SQL builds the statement
// that Cluster runs.
type InfoSchemaQuery struct {
	Gathers []Gather
	// Cluster runs the final statement: the current schema's default
	// cluster (its DATABASE() is the session's).
	Cluster string
	// Tables are the gathered tables the statement reads, upper-case.
	Tables []string
}

// Gather is one information_schema table read on one cluster.
type Gather struct {
	Cluster, Table, SQL string
}

// Answer is what a Gather read.
type Answer struct {
	Gather
	Columns []wire.Column
	Rows    [][]*string
}

// InfoSchema plans a SELECT that reads gathered information_schema
// tables: nil when it reads none. n is the statement's tree with its
// values (a prepared statement's as executed), only read here. visible are
// the databases the session may see described (its declared schemas,
// information_schema, its system_schemas); nothing about any other is
// gathered.
func (pl *Planner) InfoSchema(st *parser.Statement, n ast.Node, db string, visible []string) *InfoSchemaQuery {
	var tables []string
	seen := map[string]bool{}
	for _, t := range st.Tables {
		schema := t.Schema
		if schema == "" {
			schema = db
		}
		upper := strings.ToUpper(t.Name)
		if strings.EqualFold(schema, "information_schema") && InfoSchemaAccess(upper) == ISGathered && !seen[upper] {
			seen[upper] = true
			tables = append(tables, upper)
		}
	}
	if len(tables) == 0 {
		return nil
	}
	sort.Strings(tables)
	q := &InfoSchemaQuery{Tables: tables, Cluster: pl.rules.DefaultSchema().Cluster}
	if s := pl.rules.Schemas[db]; s != nil {
		q.Cluster = s.Cluster
	}
	filters := pushdown(n, db, seen)
	defaultCluster := pl.rules.DefaultSchema().Cluster
	// Which databases each cluster describes, clusters in a fixed order.
	var order []string
	onCluster := map[string][]string{}
	add := func(c, schema string) {
		if _, ok := onCluster[c]; !ok {
			order = append(order, c)
		}
		onCluster[c] = append(onCluster[c], schema)
	}
	for _, schema := range visible {
		if _, declared := pl.rules.Schemas[schema]; !declared {
			add(defaultCluster, schema)
			continue
		}
		for _, c := range pl.SchemaClusters(schema) {
			add(c, schema)
		}
	}
	for _, table := range tables {
		spec := gatheredTables[table]
		f := filters[table]
		for _, c := range order {
			schemas := onCluster[c]
			if spec.tableCol == "" {
				// Rows about a database: only its default cluster's count.
				var own []string
				for _, s := range schemas {
					if pl.describer(s, "") == c {
						own = append(own, s)
					}
				}
				schemas = own
			}
			if f != nil && f.schemas != nil {
				schemas = keepFold(schemas, f.schemas)
			}
			if len(schemas) == 0 {
				continue
			}
			if sql := pl.gatherSQL(table, spec, c, schemas, f); sql != "" {
				q.Gathers = append(q.Gathers, Gather{Cluster: c, Table: table, SQL: sql})
			}
		}
	}
	return q
}

// gatherSQL reads one information_schema table on one cluster: the rows
// of schemas, and of the tables the statement can use ("" when none can
// match). Which rows are kept
// and how they are named is decided afterwards, row by row (placeRow); the
// conditions here only spare the server work: physical tables are read
// only where they describe their logical table (all of them where their
// sizes add up), and a statement's TABLE_NAME = '…' narrows the read.
func (pl *Planner) gatherSQL(table string, spec isSpec, cluster string, schemas []string, f *isFilter) string {
	quoted := make([]string, len(schemas))
	for i, s := range schemas {
		quoted[i] = parser.QuoteString(s)
	}
	where := []string{parser.QuoteIdent(spec.schemaCol) + " IN (" + strings.Join(quoted, ", ") + ")"}
	if spec.tableCol != "" {
		col := parser.QuoteIdent(spec.tableCol)
		var logical, first []string
		for _, s := range schemas {
			for _, t := range pl.sharded[s] {
				logical = append(logical, regexp.QuoteMeta(strings.ToLower(t.Name)))
				if ft := firstTable(t); ft.Cluster == cluster {
					first = append(first, ft.Table)
				}
			}
		}
		sort.Strings(logical)
		sort.Strings(first)
		physical := ""
		if len(logical) > 0 {
			physical = `^(` + strings.Join(dedupe(logical), "|") + `)_([0-9]+|[0-9]{10}_[0-9]+|template)$`
		}
		switch {
		case f != nil && f.names != nil:
			// The names asked for, the physical tables standing for
			// them, and all physical tables of those whose sizes add up.
			var names, sumOf []string
			for _, n := range f.names {
				for _, s := range schemas {
					t := pl.sharded[s][strings.ToLower(n)]
					if t == nil {
						if pl.describer(s, n) == cluster {
							names = append(names, n)
						}
						continue
					}
					if ft := firstTable(t); ft.Cluster == cluster {
						names = append(names, ft.Table)
					}
					if spec.sums && slices.Contains(t.Clusters, cluster) {
						sumOf = append(sumOf, regexp.QuoteMeta(strings.ToLower(t.Name)))
					}
				}
			}
			if len(names) == 0 && len(sumOf) == 0 {
				return "" // this cluster describes none of them
			}
			var conds []string
			if len(names) > 0 {
				conds = append(conds, col+" IN ("+quoteAll(dedupe(names))+")")
			}
			if len(sumOf) > 0 {
				conds = append(conds, col+" REGEXP "+parser.QuoteString(`^(`+strings.Join(dedupe(sumOf), "|")+`)_([0-9]+|[0-9]{10}_[0-9]+|template)$`))
			}
			cond := conds[0]
			if len(conds) > 1 {
				cond = "(" + strings.Join(conds, " OR ") + ")"
			}
			where = append(where, cond)
		case physical != "" && !spec.sums:
			cond := col + " NOT REGEXP " + parser.QuoteString(physical)
			if len(first) > 0 {
				cond = "(" + cond + " OR " + col + " IN (" + quoteAll(first) + "))"
			}
			where = append(where, cond)
		}
	}
	return "SELECT * FROM information_schema." + parser.QuoteIdent(table) + " WHERE " + strings.Join(where, " AND ")
}

func quoteAll(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = parser.QuoteString(n)
	}
	return strings.Join(out, ", ")
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// describer is the cluster that describes a table of schema that is not
// sharded: where the rules put it, else the schema's default cluster
// (global tables included). Undeclared schemas: the default schema's.
func (pl *Planner) describer(schema, table string) string {
	sch, ok := pl.rules.Schemas[schema]
	if !ok {
		return pl.rules.DefaultSchema().Cluster
	}
	if r := sch.Table(table); r != nil && r.Cluster != "" {
		return r.Cluster
	}
	return sch.Cluster
}

// rowRole is what placeRow decides for one gathered row.
type rowRole int

const (
	rowDrop     rowRole = iota
	rowDescribe         // the row describes the (logical) table
	rowAdd              // a further physical table: only its sizes count
)

// placeRow decides a row that cluster gave about table of schema (table
// "" for rows about the database itself): dropped, describing the table
// under its logical name, or adding a physical table's sizes to it.
func (pl *Planner) placeRow(schema, table, cluster string) (logical string, role rowRole) {
	describeIf := func(ok bool) rowRole {
		if ok {
			return rowDescribe
		}
		return rowDrop
	}
	sch, declared := pl.rules.Schemas[schema]
	if !declared {
		// information_schema itself and the servers' own schemas: one
		// cluster describes them.
		return table, describeIf(cluster == pl.rules.DefaultSchema().Cluster)
	}
	if table == "" {
		return "", describeIf(cluster == sch.Cluster)
	}
	lower := strings.ToLower(table)
	if pl.sharded[schema][lower] != nil {
		return table, rowDrop // only its physical tables describe a sharded table
	}
	if t, target, reserved := pl.physical(schema, lower); reserved {
		if t == nil || target.Cluster != cluster {
			return table, rowDrop // named like a physical table, but not one
		}
		if target == firstTable(t) {
			return t.Name, rowDescribe
		}
		return t.Name, rowAdd
	}
	// Unruled and global tables: the schema's default cluster (which has a
	// copy of every global table).
	return table, describeIf(cluster == pl.describer(schema, table))
}

// physical recognises the names reserved for a schema's sharded tables:
// name_<n>, name_<YYYYMMDDHH>[_<n>] and name_template. reserved is true
// for every such name; t and target are set only when the name is one of
// t's physical tables as the rules place it (an index within the table
// count, an hour bucket, a template of an hourly rule), target saying
// where it lives (for a template, the cluster of the first one: each
// cluster has its own, all the same).
func (pl *Planner) physical(schema, lower string) (t *shard.Table, target shard.Target, reserved bool) {
	for name, rule := range pl.sharded[schema] {
		rest, ok := strings.CutPrefix(lower, name+"_")
		if !ok || !reservedSuffix.MatchString(rest) {
			continue
		}
		reserved = true
		if rest == "template" {
			if rule.By == "hour" {
				return rule, firstTable(rule), true
			}
			continue
		}
		bucket, sub, hasSub := strings.Cut(rest, "_")
		switch {
		case rule.By == "hash" && !hasSub:
			if i, err := strconv.Atoi(rest); err == nil && i < rule.Count && strconv.Itoa(i) == rest {
				return rule, rule.HashTarget(i), true
			}
		case rule.By == "hour" && shard.IsBucket(bucket) && hasSub == (rule.SubCount > 0):
			if !hasSub {
				return rule, shard.Target{Cluster: rule.BucketCluster(bucket), Table: lower}, true
			}
			if j, err := strconv.Atoi(sub); err == nil && j < rule.SubCount && strconv.Itoa(j) == sub {
				return rule, shard.Target{Cluster: rule.BucketCluster(bucket), Table: lower}, true
			}
		}
	}
	return nil, shard.Target{}, reserved
}

var reservedSuffix = regexp.MustCompile(`^([0-9]+|[0-9]{10}_[0-9]+|template)$`)

// IsReservedName reports a table name of schema reserved for the physical
// tables of its sharded tables (comments_3, payments_2026112710_1,
// payments_template, and any other name of those forms): clients never
// reach such a table, as one server holding the logical tables would have
// none.
func (pl *Planner) IsReservedName(schema, table string) bool {
	_, _, reserved := pl.physical(schema, strings.ToLower(table))
	return reserved
}

// InfoSchemaSQL builds the statement the query's cluster runs: n (the
// statement parsed anew, which this changes; db the session's database)
// reading the gathered answers, and the proxy's own tables in extra, as
// common table expressions, rendered for mode m. q may be nil when only
// extra is read. It fails with 1235 when the rows exceed the limits.
func (pl *Planner) InfoSchemaSQL(q *InfoSchemaQuery, answers []Answer, n ast.StmtNode, db string, extra []parser.CTE, m parser.TextMode) (string, error) {
	ctes := append([]parser.CTE(nil), extra...)
	total, size := 0, 0
	var tables []string
	if q != nil {
		tables = q.Tables
	}
	for _, table := range tables {
		var mine []Answer
		for _, a := range answers {
			if a.Table == table {
				mine = append(mine, a)
			}
		}
		cols, rows, err := pl.placeRows(table, mine)
		if err != nil {
			return "", err
		}
		total += len(rows)
		if total > maxInfoSchemaRows {
			return "", tooMuchInfoSchema(table)
		}
		body, err := materialise(table, cols, rows, maxInfoSchemaBytes-size)
		if err != nil {
			return "", err
		}
		size += len(body)
		ctes = append(ctes, parser.CTE{Name: table, Body: body})
	}
	switch x := n.(type) {
	case *ast.SelectStmt:
		keepColumnNames(x)
	case *ast.SetOprStmt:
		if x.SelectList != nil && len(x.SelectList.Selects) > 0 {
			if first, ok := x.SelectList.Selects[0].(*ast.SelectStmt); ok {
				keepColumnNames(first)
			}
		}
	}
	return parser.WithTables(n, "information_schema", db, ctes, m)
}

func tooMuchInfoSchema(table string) error {
	return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: this information_schema query needs more than %d rows (or %d MiB) gathered from the clusters, reached at %s; narrow it with TABLE_SCHEMA = '…' AND TABLE_NAME = '…'", maxInfoSchemaRows, maxInfoSchemaBytes>>20, table)
}

// placeRows merges one table's answers from every cluster: each row
// placed (placeRow) and renamed, a sharded table's sizes added up. The
// columns are those of the first answer; the others are read by name.
func (pl *Planner) placeRows(table string, answers []Answer) ([]wire.Column, [][]*string, error) {
	if len(answers) == 0 {
		return nil, nil, nil
	}
	spec := gatheredTables[table]
	cols := answers[0].Columns
	idx := func(name string) int {
		for i, c := range cols {
			if strings.EqualFold(c.Name, name) {
				return i
			}
		}
		return -1
	}
	schemaIdx, tableIdx := idx(spec.schemaCol), -1
	if spec.tableCol != "" {
		tableIdx = idx(spec.tableCol)
	}
	if schemaIdx < 0 || spec.tableCol != "" && tableIdx < 0 {
		return nil, nil, fmt.Errorf("shardgate: information_schema.%s has no column %s", table, spec.schemaCol)
	}
	type sized struct {
		row     int
		sharded bool
	}
	var out [][]*string
	byKey := map[string]*sized{}
	type addition struct {
		key string
		row []*string
	}
	var adds []addition
	keyOf := func(schema, logical string, row []*string) string {
		k := schema + "\x00" + strings.ToLower(logical)
		for _, c := range spec.key {
			if i := idx(c); i >= 0 && row[i] != nil {
				k += "\x00" + *row[i]
			} else {
				k += "\x00\x01"
			}
		}
		return k
	}
	for _, a := range answers {
		// The answer's columns in the first answer's order.
		order := make([]int, len(cols))
		for i, c := range cols {
			order[i] = -1
			for j, ac := range a.Columns {
				if strings.EqualFold(ac.Name, c.Name) {
					order[i] = j
					break
				}
			}
		}
		for _, raw := range a.Rows {
			row := make([]*string, len(cols))
			for i, j := range order {
				if j >= 0 && j < len(raw) {
					row[i] = raw[j]
				}
			}
			if row[schemaIdx] == nil {
				continue
			}
			schema, name := *row[schemaIdx], ""
			if tableIdx >= 0 {
				if row[tableIdx] == nil {
					continue
				}
				name = *row[tableIdx]
			}
			logical, role := pl.placeRow(schema, name, a.Cluster)
			switch role {
			case rowDrop:
				continue
			case rowAdd:
				if spec.sums {
					adds = append(adds, addition{keyOf(schema, logical, row), row})
				}
				continue
			}
			if logical != name {
				row[tableIdx] = &logical
				for _, c := range spec.derived {
					if i := idx(c); i >= 0 && row[i] != nil {
						if rest, ok := cutPrefixFold(*row[i], name+"_"); ok {
							v := logical + "_" + rest
							row[i] = &v
						}
					}
				}
			}
			for _, ref := range spec.refs {
				si, ti := idx(ref[0]), idx(ref[1])
				if ti < 0 || row[ti] == nil {
					continue
				}
				refSchema := schema
				if si >= 0 && row[si] != nil {
					refSchema = *row[si]
				}
				if t, _, ok := pl.physical(refSchema, strings.ToLower(*row[ti])); ok && t != nil {
					v := t.Name
					row[ti] = &v
				}
			}
			out = append(out, row)
			if spec.sums {
				byKey[keyOf(schema, logical, row)] = &sized{row: len(out) - 1, sharded: logical != name}
			}
		}
		if len(out) > maxInfoSchemaRows {
			return nil, nil, tooMuchInfoSchema(table)
		}
	}
	if spec.sums {
		for _, add := range adds {
			if s := byKey[add.key]; s != nil {
				addSizes(out[s.row], add.row, idx)
			}
		}
		for _, s := range byKey {
			if s.sharded {
				averageRowLength(out[s.row], idx)
			}
		}
	}
	return cols, out, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// addSizes adds a physical table's sizes to its logical table's row:
// rows, data, index and free space add up; the latest update time and
// the highest AUTO_INCREMENT stand for the whole.
func addSizes(dst, src []*string, idx func(string) int) {
	for _, c := range []string{"TABLE_ROWS", "DATA_LENGTH", "INDEX_LENGTH", "DATA_FREE"} {
		i := idx(c)
		if i < 0 || src[i] == nil {
			continue
		}
		add, err := strconv.ParseUint(*src[i], 10, 64)
		if err != nil {
			continue
		}
		var have uint64
		if dst[i] != nil {
			if have, err = strconv.ParseUint(*dst[i], 10, 64); err != nil {
				continue
			}
		}
		v := strconv.FormatUint(have+add, 10)
		dst[i] = &v
	}
	for _, c := range []string{"AUTO_INCREMENT", "UPDATE_TIME"} {
		i := idx(c)
		if i < 0 || src[i] == nil {
			continue
		}
		if dst[i] == nil || greater(*src[i], *dst[i]) {
			v := *src[i]
			dst[i] = &v
		}
	}
}

// greater compares numbers as numbers and times as text.
func greater(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA == nil && errB == nil {
		return x > y
	}
	return a > b
}

// averageRowLength is DATA_LENGTH / TABLE_ROWS of the summed sizes.
func averageRowLength(row []*string, idx func(string) int) {
	a, r, d := idx("AVG_ROW_LENGTH"), idx("TABLE_ROWS"), idx("DATA_LENGTH")
	if a < 0 || r < 0 || d < 0 || row[r] == nil || row[d] == nil || row[a] == nil {
		return
	}
	rows, err1 := strconv.ParseUint(*row[r], 10, 64)
	data, err2 := strconv.ParseUint(*row[d], 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	avg := uint64(0)
	if rows > 0 {
		avg = data / rows
	}
	v := strconv.FormatUint(avg, 10)
	row[a] = &v
}

// materialise is the body of the common table expression that stands for
// information_schema.table: its rows as literals, after a SELECT of the
// real table's columns that returns no row but gives the union their
// types and names. limit bounds the text's size.
func materialise(table string, cols []wire.Column, rows [][]*string, limit int) (string, error) {
	var b strings.Builder
	b.WriteString("(SELECT ")
	if len(cols) == 0 {
		b.WriteString("*")
	}
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(parser.QuoteIdent(c.Name))
	}
	b.WriteString(" FROM information_schema." + parser.QuoteIdent(table) + " LIMIT 0)")
	for i, row := range rows {
		if i == 0 {
			b.WriteString(" UNION ALL VALUES ")
		} else {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, v := range row {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(parser.TypedValueLiteral(cols[j], v))
		}
		b.WriteByte(')')
		if b.Len() > limit {
			return "", tooMuchInfoSchema(table)
		}
	}
	return b.String(), nil
}
