package planner

import (
	"sort"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

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
