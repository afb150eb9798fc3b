package planner

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
)

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
func (pl *Planner) targets(schema string, t *shard.Table, conds parser.Conds, f Facts) ([]shard.Target, error) {
	k := pl.keysFor(f, schema, t)
	if t.By == "hash" {
		c, ok := conds[t.Column]
		if !ok || !c.Exact {
			return t.AllHashTargets(), nil
		}
		idx, all := k.readIndexes(t.Column, c, t.Count)
		if all {
			return t.AllHashTargets(), nil
		}
		var out []shard.Target
		for _, i := range idx {
			out = append(out, t.HashTarget(i))
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
		idx, all := k.readIndexes(t.SubColumn, c, t.SubCount)
		if !all {
			subs = idx
			if len(subs) == 0 {
				subs = []int{0}
			}
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

// whereConds is what a SELECT's, UPDATE's or DELETE's WHERE says about the
// columns of r: pruning and the bucket checks read conditions alike.
func whereConds(st *parser.Statement, r tableRef) parser.Conds {
	var where ast.ExprNode
	switch n := st.Node.(type) {
	case *ast.SelectStmt:
		where = n.Where
	case *ast.UpdateStmt:
		where = n.Where
	case *ast.DeleteStmt:
		where = n.Where
	}
	return parser.ExtractConds(where, matcher(aliasOf(st.Node, r), r.name, true))
}

// hourBounds reads the range conditions on an hour column as the first and
// last bucket they allow ("" when unbounded); ok is false when no bucket
// can match.
func hourBounds(c parser.Cond) (lo, hi string, ok bool, err error) {
	for _, r := range c.Ranges {
		if r.Lo != "" {
			b, err := shard.Bucket(r.Lo)
			if err != nil {
				return "", "", false, err
			}
			lo = max(lo, b)
		}
		if r.Hi != "" {
			b, any, err := shard.LastBucket(r.Hi, r.HiExcl)
			if err != nil || !any {
				return "", "", false, err
			}
			if hi == "" || b < hi {
				hi = b
			}
		}
	}
	return lo, hi, hi == "" || lo <= hi, nil
}

// pruneBuckets picks the existing buckets an hour column's conditions allow.
func (pl *Planner) pruneBuckets(schema string, t *shard.Table, c parser.Cond) ([]string, error) {
	lo, hi, ok, err := hourBounds(c)
	if err != nil {
		return nil, notSupported("column %s of %s: %v", t.Column, t.Name, err)
	}
	if !ok {
		return nil, nil
	}
	var out []string
	if c.Exact {
		exact, ok := exactBuckets(c)
		if !ok {
			// A value the proxy cannot place: every bucket the ranges
			// allow (never too few).
			return pl.rangeBuckets(schema, t, lo, hi), nil
		}
		seen := map[string]bool{}
		for _, b := range exact {
			if !seen[b] && b >= lo && (hi == "" || b <= hi) && pl.buckets.Has(schema, t.Name, b) {
				seen[b] = true
				out = append(out, b)
			}
		}
		sort.Strings(out)
		return out, nil
	}
	return pl.rangeBuckets(schema, t, lo, hi), nil
}

// rangeBuckets lists the known buckets from lo to hi ("" unbounded).
func (pl *Planner) rangeBuckets(schema string, t *shard.Table, lo, hi string) []string {
	var out []string
	for _, b := range pl.buckets.Buckets(schema, t.Name) {
		if b >= lo && (hi == "" || b <= hi) {
			out = append(out, b)
		}
	}
	return out
}

// exactBuckets are the buckets of an exact condition on an hour column:
// each value's, and the zero date's for IS NULL (where NULL hours live).
// ok is false when some value cannot be placed.
func exactBuckets(c parser.Cond) ([]string, bool) {
	var out []string
	if c.Null {
		out = append(out, shard.ZeroBucket)
	}
	for _, v := range c.Values {
		b, err := hourOf(v)
		if err != nil {
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}

// bucketMiss says whether a statement whose hour column meets c may reach
// buckets of t this instance does not know: hours named exactly that are
// not known, or any range. Hours outside the table's window are left out,
// since no instance creates their buckets, but the zero date's bucket is
// in every window. nil: every bucket the statement can reach is known.
func (pl *Planner) bucketMiss(schema string, t *shard.Table, c parser.Cond, now time.Time) (*engine.BucketMiss, error) {
	lo, hi, ok, err := hourBounds(c)
	if err != nil || !ok {
		return nil, err
	}
	if exact, ok := exactBuckets(c); c.Exact && ok {
		var unknown []string
		for _, b := range exact {
			if b >= lo && (hi == "" || b <= hi) && t.InWindow(b, now) && !pl.buckets.Has(schema, t.Name, b) && !slices.Contains(unknown, b) {
				unknown = append(unknown, b)
			}
		}
		if len(unknown) == 0 {
			return nil, nil
		}
		sort.Strings(unknown)
		return &engine.BucketMiss{Schema: schema, Table: t, Buckets: unknown}, nil
	}
	first, last := t.Window(now)
	reachesZero := lo <= shard.ZeroBucket
	reachesWindow := max(lo, first) <= last && (hi == "" || first <= hi)
	if !reachesZero && !reachesWindow {
		return nil, nil
	}
	return &engine.BucketMiss{Schema: schema, Table: t}, nil
}

// BucketMisses lists the hourly tables st may reach in buckets this proxy
// instance does not know to exist (see engine.BucketMiss), for the session
// to look for them on the backends before it plans. Like Plan it reads no
// backend. INSERT has none: it creates the buckets it needs with CREATE
// TABLE IF NOT EXISTS, which finds another instance's as well.
func (pl *Planner) BucketMisses(st *parser.Statement, f Facts) []engine.BucketMiss {
	if !pl.hourly {
		return nil
	}
	refs, _, err := pl.resolve(st, f.DB)
	if err != nil {
		return nil // planning reports it
	}
	now := pl.now()
	var out []engine.BucketMiss
	for _, r := range refs {
		t := r.sharded
		if t == nil || t.By != "hour" {
			continue
		}
		switch st.Node.(type) {
		case *ast.SelectStmt, *ast.UpdateStmt, *ast.DeleteStmt:
			// A condition planning cannot read is its error to report.
			if m, err := pl.bucketMiss(r.schema, t, whereConds(st, r)[t.Column], now); err == nil && m != nil {
				out = append(out, *m)
			}
		case *ast.CreateTableStmt:
			// Creates the templates only.
		case ast.DDLNode:
			out = append(out, engine.BucketMiss{Schema: r.schema, Table: t, Fresh: true})
		}
	}
	return out
}
