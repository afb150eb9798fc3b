package planner

import (
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/tabledef"
	"github.com/shardgate/shardgate/wire"
)

// NullIndex is the hash table that holds rows whose shard key is NULL:
// <table>_0 (and sub-table 0 of an hourly bucket). A NULL hour lives in
// the zero date's bucket. Both are fixed, so INSERT … NULL and WHERE key
// IS NULL meet.
const NullIndex = 0

// keys reads one sharded table's shard-key literals for one session.
type keys struct {
	table *shard.Table
	name  string // schema.table, for errors
	cols  []tabledef.Column
	// known: cols is the table's definition. legacy: the session has no
	// definitions at all (Facts.Defs nil), keys are hashed as written.
	known, legacy bool
	conn          string
	// roundFrac: the session's sql_mode has TIME_ROUND_FRACTIONAL.
	roundFrac bool
}

func (pl *Planner) keysFor(f Facts, schema string, t *shard.Table) keys {
	k := keys{table: t, name: schema + "." + t.Name, conn: f.Text.Charset, legacy: f.Defs == nil, roundFrac: f.TimeRoundFractional}
	if k.conn == "" {
		k.conn = "utf8mb4"
	}
	if f.Defs != nil {
		k.cols, k.known = f.Defs.Columns(schema, t.Name)
	}
	return k
}

// column is the definition of a shard column, or nil.
func (k keys) column(name string) *tabledef.Column {
	if i := tabledef.Index(k.cols, name); i >= 0 {
		return &k.cols[i]
	}
	return nil
}

// legacyKey is the key of a literal as written (before definitions).
func legacyKey(v parser.Value) (string, bool) {
	switch v.Kind {
	case parser.ValInt, parser.ValDecimal, parser.ValFloat, parser.ValString:
		return v.Text, true
	}
	return "", false
}

// readIndexes lists the hash indexes (among n) a WHERE condition on col
// can reach; all is true when it cannot be narrowed (a value the proxy
// cannot read for certain: the read scatters).
func (k keys) readIndexes(col string, c parser.Cond, n int) (idx []int, all bool) {
	def := k.column(col)
	if def == nil && !k.legacy {
		return nil, true
	}
	// At most n distinct indexes: a short list is searched, a long one
	// (an IN list over many tables) kept in a set.
	var seen map[int]bool
	if len(c.Values) > 16 {
		seen = map[int]bool{}
	}
	add := func(i int) {
		switch {
		case seen != nil && seen[i], seen == nil && slices.Contains(idx, i):
		default:
			if seen != nil {
				seen[i] = true
			}
			idx = append(idx, i)
		}
	}
	if c.Null {
		add(NullIndex)
	}
	for _, v := range c.Values {
		var key string
		if def == nil {
			s, ok := legacyKey(v)
			if !ok {
				return nil, true
			}
			key = s
		} else {
			s, state, _ := keyOf(def, v, k.conn, false)
			switch state {
			case keyNone:
				continue
			case keyUnknown:
				return nil, true
			}
			key = s
		}
		add(shard.Index(key, n))
	}
	sort.Ints(idx)
	return idx, false
}

// writeKey is the canonical key of a value an INSERT gives shard column
// col, or a clear error when the proxy cannot know where MariaDB would
// put it. null reports a NULL key (which routes to NullIndex).
func (k keys) writeKey(col string, v parser.Value, ignore bool) (key string, null bool, err error) {
	def := k.column(col)
	if v.Kind == parser.ValNull {
		if def != nil && !def.Nullable {
			if !ignore {
				return "", false, wire.Errorf(mysql.ER_BAD_NULL_ERROR, "Column '%s' cannot be null", def.Name)
			}
			// INSERT IGNORE stores the type's implicit default instead.
			v = implicitDefault(def)
		} else if def != nil || k.legacy {
			return "", true, nil
		}
	}
	if def == nil {
		if k.legacy {
			if s, ok := legacyKey(v); ok {
				return s, false, nil
			}
		}
		why := "its definition could not be read from the backends"
		if k.known {
			why = errNoSuchColumn
		}
		return "", false, notSupported("cannot route the row: shard column %s of %s cannot be read as MariaDB would (%s); nothing was written", col, k.name, why)
	}
	s, state, why := keyOf(def, v, k.conn, true)
	if k.roundFrac && (def.DataType == "datetime" || def.DataType == "timestamp") && v.Kind != parser.ValNull && !shard.IsZeroDatetime(v.Text) {
		s, state, why = timeKey(def, v, true, true)
	}
	if state != keyOK {
		return "", false, notSupported("cannot route the row: the value given for shard column %s of %s (%s) cannot be converted for certain (%s); nothing was written", col, k.name, def.ColumnType, why)
	}
	return s, false, nil
}

// StoredKey is the canonical key text MariaDB would store for v in column
// col (as INSERT routes a row by it): for helpers that route rows
// themselves (LOAD DATA, INSERT … SELECT through the proxy). conn is the
// character set of strings without an introducer. ok is false when the
// value cannot be converted for certain (why says why); a NULL value is
// not a key (rows with a NULL key go to NullIndex). The table index is
// shard.Index(key, n).
func StoredKey(col *tabledef.Column, v parser.Value, conn string) (key string, ok bool, why string) {
	k, state, why := keyOf(col, v, conn, true)
	return k, state == keyOK, why
}

// implicitDefault is the value MariaDB stores for NULL in a NOT NULL
// column under INSERT IGNORE.
func implicitDefault(c *tabledef.Column) parser.Value {
	switch c.DataType {
	case "datetime", "timestamp", "date":
		return parser.Value{Kind: parser.ValString, Text: "0000-00-00 00:00:00"}
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return parser.Value{Kind: parser.ValString, Text: "", Charset: "utf8mb4"}
	}
	return parser.Value{Kind: parser.ValInt, Text: "0"}
}

// DefsNeeded lists the sharded tables a statement routes by value whose
// definitions f.Defs does not hold, for the session to read them from the
// backends before it plans (as BucketMisses does for buckets). Like Plan
// it reads no backend.
func (pl *Planner) DefsNeeded(st *parser.Statement, f Facts) []DefNeed {
	if f.Defs == nil || len(st.Tables) == 0 {
		return nil
	}
	switch st.Node.(type) {
	case *ast.SelectStmt, *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt, *ast.SetOprStmt:
	default:
		return nil
	}
	refs, _, err := pl.resolve(st, f.DB)
	if err != nil {
		return nil
	}
	var out []DefNeed
	if schema, table, ok := pl.valuesTarget(st, f); ok && pl.sharded[schema][strings.ToLower(table)] == nil {
		// Its AUTO_INCREMENT column (insert_id.go).
		if _, known := f.Defs.Columns(schema, table); !known {
			need := pl.DefSource(schema, table)
			need.Optional = true
			out = append(out, need)
		}
	}
	// A SELECT over tables no server holds together may be joined in the
	// proxy (join.go), which resolves unqualified columns and * by the
	// definitions of every table, not only the sharded ones.
	// Only a plain join of tables (no subqueries) is one the proxy joins:
	// other statements over several clusters read no more definitions
	// (each read borrows a pooled connection).
	sel, isSelect := st.Node.(*ast.SelectStmt)
	joined := isSelect && joinShape(sel) && !hasSubquery(sel) && len(refs) >= 2 && pl.spansClusters(refs)
	for _, r := range refs {
		if r.sharded == nil {
			if joined && r.name != "" {
				if _, ok := f.Defs.Columns(r.schema, r.name); !ok {
					out = append(out, pl.DefSource(r.schema, r.name))
				}
			}
			continue
		}
		if _, ok := f.Defs.Columns(r.schema, r.sharded.Name); ok {
			continue
		}
		t := firstTable(r.sharded)
		out = append(out, DefNeed{Schema: r.schema, Table: r.sharded.Name, Cluster: t.Cluster, Physical: t.Table})
	}
	return out
}

// DefNeed is a logical table whose definition is read from Physical on
// Cluster (its first physical table, or an hourly table's template).
type DefNeed struct {
	Schema, Table     string
	Cluster, Physical string
	// Optional: the statement plans without it as before (an INSERT
	// target's AUTO_INCREMENT column, insert_id.go), so it is read only
	// when a connection is free at once.
	Optional bool
}

// DefSource is where a logical table's definition is read: sharded
// tables from their first physical table, others from the cluster that
// holds them. For helpers that need definitions of any table.
func (pl *Planner) DefSource(schema, table string) DefNeed {
	cluster, physical := pl.PhysicalFor(schema, table)
	return DefNeed{Schema: schema, Table: table, Cluster: cluster, Physical: physical}
}

// RefreshDefs lists the definitions to read again after planning failed
// with err, which may come from a definition that changed behind the
// proxy's back (DDL through another proxy instance or directly on the
// backends): a column-count mismatch of an INSERT without a column list,
// or a shard column the definition lacks. The session reads them and
// plans once more.
func (pl *Planner) RefreshDefs(st *parser.Statement, f Facts, err error) []DefNeed {
	var we *mysql.MyError
	if f.Defs == nil || !errors.As(err, &we) {
		return nil
	}
	if we.Code != mysql.ER_WRONG_VALUE_COUNT_ON_ROW && !strings.Contains(we.Message, errNoSuchColumn) {
		return nil
	}
	refs, _, rerr := pl.resolve(st, f.DB)
	if rerr != nil {
		return nil
	}
	var out []DefNeed
	for _, r := range refs {
		if r.sharded != nil {
			t := firstTable(r.sharded)
			out = append(out, DefNeed{Schema: r.schema, Table: r.sharded.Name, Cluster: t.Cluster, Physical: t.Table})
		}
	}
	return out
}

const errNoSuchColumn = "the table has no such column"
