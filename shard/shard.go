// Package shard maps shard-key values to physical tables: murmur3 hashing,
// hourly buckets, placement of tables on clusters, and pruning of the tables
// a statement's predicates can reach.
package shard

import (
	"fmt"
	"regexp"
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
	// Past and Future bound the hours an hourly table accepts rows for,
	// relative to the proxy's clock (see Window).
	Past, Future time.Duration
}

// Compile turns a validated rule into a Table; w is the table's bucket
// window (nil for hash rules).
func Compile(name string, r *rules.ShardRule, w *rules.BucketWindow) *Table {
	t := &Table{Name: name, By: r.By, Column: strings.ToLower(r.Column), Count: r.Tables, Clusters: r.Clusters}
	if r.Then != nil {
		t.SubColumn, t.SubCount = strings.ToLower(r.Then.Column), r.Then.Tables
	}
	if w != nil {
		t.Past, t.Future = w.Past, w.Future
	}
	return t
}

// Window is the first and last hour bucket an hourly table accepts rows
// for at now: the hours of now-Past and now+Future on the proxy's wall
// clock (buckets are hours as written, without time zones).
func (t *Table) Window(now time.Time) (first, last string) {
	return now.Add(-t.Past).Format(bucketLayout), now.Add(t.Future).Format(bucketLayout)
}

// InWindow reports whether rows of bucket may be written at now. The zero
// date's bucket is always accepted: it is one fixed bucket, not a new one
// per hour.
func (t *Table) InWindow(bucket string, now time.Time) bool {
	if bucket == ZeroBucket {
		return true
	}
	first, last := t.Window(now)
	return first <= bucket && bucket <= last
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
	if bucket == ZeroBucket {
		return t.Clusters[0]
	}
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

// bucketLayout formats a time as its YYYYMMDDHH bucket.
const bucketLayout = "2006010215"

// ZeroBucket holds the rows whose hour column is MariaDB's zero date,
// '0000-00-00 00:00:00', which a server stores unless its sql_mode forbids
// it (NO_ZERO_DATE in strict mode). It is one fixed bucket, on the rule's
// first cluster, outside every window; it sorts before every real hour, as
// the zero date compares before every date.
const ZeroBucket = "0000000000"

// zeroDatetime matches the spellings of the zero DATETIME that MariaDB
// reads as '0000-00-00 00:00:00': the forms of layouts with every digit
// zero, and the number 0.
var zeroDatetime = regexp.MustCompile(`^(0000-00-00([ T]00:00(:00(\.0{1,9})?)?)?|0|00000000|00000000000000)$`)

// IsZeroDatetime reports MariaDB's zero date in one of its spellings.
func IsZeroDatetime(s string) bool { return zeroDatetime.MatchString(strings.TrimSpace(s)) }

// Bucket is the YYYYMMDDHH bucket of a DATETIME value; the zero date's is
// ZeroBucket.
func Bucket(datetime string) (string, error) {
	if IsZeroDatetime(datetime) {
		return ZeroBucket, nil
	}
	t, err := ParseDatetime(datetime)
	if err != nil {
		return "", err
	}
	return t.Format(bucketLayout), nil
}

// LastBucket is the last bucket a value v can be at or below: v's own, or
// the one before when v is the very start of an hour and the bound
// excludes it (col < '11:00:00' cannot reach the 11 o'clock bucket). ok is
// false when no bucket can (col < the zero date).
func LastBucket(v string, excl bool) (b string, ok bool, err error) {
	if IsZeroDatetime(v) {
		return ZeroBucket, !excl, nil
	}
	t, err := ParseDatetime(v)
	if err != nil {
		return "", false, err
	}
	if excl && t.Equal(t.Truncate(time.Hour)) {
		t = t.Add(-time.Hour)
	}
	return t.Format(bucketLayout), true, nil
}

func bucketHours(bucket string) (int64, error) {
	t, err := time.Parse(bucketLayout, bucket)
	if err != nil {
		return 0, err
	}
	return t.Unix() / 3600, nil
}

// IsBucket reports whether s is a YYYYMMDDHH bucket name, or ZeroBucket.
func IsBucket(s string) bool {
	if s == ZeroBucket {
		return true
	}
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
