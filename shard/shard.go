// Package shard maps shard-key values to physical tables: murmur3 hashing,
// hourly buckets, placement of tables on clusters, and pruning of the tables
// a statement's predicates can reach.
package shard

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spaolacci/murmur3"

	"github.com/shardgate/shardgate/rules"
)

// Target is one physical table on one cluster.
type Target struct {
	Cluster string
	Table   string
}

func (t Target) String() string { return t.Cluster + "." + t.Table }

// Table is a compiled sharding rule for one logical table.
type Table struct {
	Name string
	// By is "hash" or "hour".
	By       string
	Column   string
	Count    int // hash: number of tables
	Clusters []string
	// Sub splits each hourly bucket by hash (hour rules only; may be nil).
	SubColumn string
	SubCount  int
}

// Compile turns a validated rule into a Table.
func Compile(name string, r *rules.ShardRule) *Table {
	t := &Table{Name: name, By: r.By, Column: strings.ToLower(r.Column), Count: r.Tables, Clusters: r.Clusters}
	if r.Then != nil {
		t.SubColumn, t.SubCount = strings.ToLower(r.Then.Column), r.Then.Tables
	}
	return t
}

// Hash is murmur3 (x86, 32-bit, seed 0) of a value's canonical text, so the
// integer 42 and the string '42' land together.
func Hash(canonical string) uint32 {
	// The streaming hasher, not murmur3.Sum32: Sum32's pointer arithmetic
	// trips the race detector's checkptr, and results are identical.
	h := murmur3.New32()
	h.Write([]byte(canonical))
	return h.Sum32()
}

// Index is the table index of a value among n tables.
func Index(canonical string, n int) int { return int(Hash(canonical) % uint32(n)) }

// HashTarget is table index i of a hash-sharded table. Indexes are placed on
// the rule's clusters round robin: index i lives on clusters[i % len].
func (t *Table) HashTarget(i int) Target {
	return Target{Cluster: t.Clusters[i%len(t.Clusters)], Table: fmt.Sprintf("%s_%d", t.Name, i)}
}

// AllHashTargets lists every table of a hash-sharded table, in index order.
func (t *Table) AllHashTargets() []Target {
	out := make([]Target, t.Count)
	for i := range out {
		out[i] = t.HashTarget(i)
	}
	return out
}

// BucketCluster places an hourly bucket: hours are counted from 1970-01-01
// 00 (as written, no time zone) and dealt to the rule's clusters round robin,
// so consecutive hours alternate between clusters.
func (t *Table) BucketCluster(bucket string) string {
	h, _ := bucketHours(bucket)
	n := int64(len(t.Clusters))
	return t.Clusters[int(((h%n)+n)%n)]
}

// BucketTargets lists the physical tables of one hourly bucket, restricted to
// sub-table indexes subs (nil means all).
func (t *Table) BucketTargets(bucket string, subs []int) []Target {
	cluster := t.BucketCluster(bucket)
	if t.SubCount == 0 {
		return []Target{{Cluster: cluster, Table: t.Name + "_" + bucket}}
	}
	if subs == nil {
		subs = allIndexes(t.SubCount)
	}
	out := make([]Target, 0, len(subs))
	for _, j := range subs {
		out = append(out, Target{Cluster: cluster, Table: fmt.Sprintf("%s_%s_%d", t.Name, bucket, j)})
	}
	return out
}

// TemplateTable is the empty table each bucket's tables are created LIKE; it
// exists on every cluster of the rule.
func (t *Table) TemplateTable() string { return t.Name + "_template" }

func allIndexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// datetime layouts accepted for hour-sharded values, as MySQL writes them.
var layouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05",
	"2006-01-02",
	"20060102150405",
	"20060102",
}

// ParseDatetime reads a DATETIME literal as written, without time zones.
func ParseDatetime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a DATETIME value shardgate can place in an hourly bucket", s)
}

// Bucket is the YYYYMMDDHH bucket of a DATETIME value.
func Bucket(datetime string) (string, error) {
	t, err := ParseDatetime(datetime)
	if err != nil {
		return "", err
	}
	return t.Format("2006010215"), nil
}

func bucketHours(bucket string) (int64, error) {
	t, err := time.Parse("2006010215", bucket)
	if err != nil {
		return 0, err
	}
	return t.Unix() / 3600, nil
}

// IsBucket reports whether s is a YYYYMMDDHH bucket name.
func IsBucket(s string) bool {
	if len(s) != 10 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return false
	}
	_, err = bucketHours(s)
	return err == nil
}

// NextBucket is the bucket one hour after b.
func NextBucket(b string, hours int) string {
	t, _ := time.Parse("2006010215", b)
	return t.Add(time.Duration(hours) * time.Hour).Format("2006010215")
}

// SortTargets orders targets by cluster then table, for stable plans.
func SortTargets(ts []Target) {
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].Cluster != ts[j].Cluster {
			return ts[i].Cluster < ts[j].Cluster
		}
		return ts[i].Table < ts[j].Table
	})
}
