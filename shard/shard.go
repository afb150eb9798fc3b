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
	// Retain, when not 0, is how long buckets are kept (Expired); Archive
	// is "drop" or "rename".
	Retain  time.Duration
	Archive string
}

// Compile turns a validated rule into a Table; w is the table's bucket
// window (nil for hash rules).
func Compile(name string, r *rules.ShardRule, w *rules.BucketWindow) *Table {
	t := &Table{Name: name, By: r.By, Column: strings.ToLower(r.Column), Count: r.Tables, Clusters: r.Clusters}
	if r.Then != nil {
		t.SubColumn, t.SubCount = strings.ToLower(r.Then.Column), r.Then.Tables
	}
	if w != nil {
		t.Past, t.Future, t.Retain, t.Archive = w.Past, w.Future, w.Retain, w.Archive
		if t.Retain > 0 && t.Archive == "" {
			t.Archive = "drop"
		}
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

// ParseDatetime reads a DATETIME literal as written, without time zones
// (see ParseMariaDBDatetime for the forms).
func ParseDatetime(s string) (time.Time, error) {
	t, _, err := ParseMariaDBDatetime(s)
	return t, err
}

// ParseMariaDBDatetime reads a DATETIME value in the forms MariaDB
// accepts (its str_to_datetime and number_to_datetime): delimited,
// '2026-11-27 10:30:00', with any punctuation between parts
// ('2026/11/27 10.30.00'), a 'T' or spaces between date and time, the time
// cut short ('2026-11-27 12', '2026-11-27 10:30'), two-digit years (70-99
// are 19xx, 00-69 20xx), fractional seconds, and text after the value
// (which MariaDB ignores with a warning); or digits only, YYYYMMDDHHMMSS,
// YYMMDDHHMMSS, YYYYMMDD or YYMMDD, as a string or a number, with an
// optional fraction. frac is the number of fractional digits written.
// Dates with zero parts and impossible dates are errors.
func ParseMariaDBDatetime(s string) (t time.Time, frac int, err error) {
	bad := func() (time.Time, int, error) {
		return time.Time{}, 0, fmt.Errorf("%q is not a DATETIME value shardgate can place in an hourly bucket", s)
	}
	in := strings.TrimSpace(s)
	var parts [7]int // year, month, day, hour, minute, second, nanosecond
	if whole, f, ok := digitsOnly(in); ok {
		var layout []int // digits per part
		switch len(whole) {
		case 14:
			layout = []int{4, 2, 2, 2, 2, 2}
		case 12:
			layout = []int{2, 2, 2, 2, 2, 2}
		case 8:
			layout = []int{4, 2, 2}
		case 6:
			layout = []int{2, 2, 2}
		default:
			return bad()
		}
		if f != "" && len(layout) < 6 {
			return bad()
		}
		at := 0
		for i, n := range layout {
			parts[i], _ = strconv.Atoi(whole[at : at+n])
			at += n
		}
		if layout[0] == 2 {
			parts[0] = twoDigitYear(parts[0])
		}
		parts[6], frac = nanos(f)
	} else {
		i, n := 0, 0
		for n < 6 && i < len(in) {
			j := i
			for j < len(in) && in[j] >= '0' && in[j] <= '9' {
				j++
			}
			if j == i || j-i > 4 && n > 0 {
				break
			}
			v, _ := strconv.Atoi(in[i:j])
			if n == 0 {
				switch j - i {
				case 4:
				case 2:
					v = twoDigitYear(v)
				default:
					return bad()
				}
			} else if j-i > 2 {
				return bad()
			}
			parts[n] = v
			n++
			i = j
			// The separator: one punctuation character between the
			// parts of the date or of the time; spaces or a 'T' between
			// the two.
			k := i
			for k < len(in) && (in[k] == ' ' || in[k] == '\t') {
				k++
			}
			switch {
			case n == 3 && k > i:
			case n == 3 && k < len(in) && in[k] == 'T':
				k++
			case n != 3 && n != 6 && k == i && k < len(in) && isPunct(in[k]):
				k++
			case n == 6 && k == i && k < len(in) && in[k] == '.':
				// fraction below
			default:
				k = len(in) + 1 // no more parts
			}
			if k > len(in) {
				break
			}
			i = k
		}
		if n < 3 {
			return bad()
		}
		if n == 6 && i < len(in) && in[i] == '.' {
			j := i + 1
			for j < len(in) && in[j] >= '0' && in[j] <= '9' {
				j++
			}
			parts[6], frac = nanos(in[i+1 : j])
		}
	}
	y, mo, d, h, mi, sec := parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
	if mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return bad()
	}
	t = time.Date(y, time.Month(mo), d, h, mi, sec, parts[6], time.UTC)
	if t.Day() != d { // 2026-02-30
		return bad()
	}
	return t, frac, nil
}

// digitsOnly splits "20261127103000.5" into its whole and fractional
// digits; ok is false for anything but digits with an optional fraction.
func digitsOnly(s string) (whole, frac string, ok bool) {
	whole, frac, _ = strings.Cut(s, ".")
	if whole == "" {
		return "", "", false
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return "", "", false
			}
		}
	}
	return whole, frac, true
}

func twoDigitYear(y int) int {
	if y < 70 {
		return 2000 + y
	}
	return 1900 + y
}

// nanos reads fractional-second digits (MariaDB keeps six and truncates
// the rest; nine are kept here, which only matters below a microsecond).
func nanos(f string) (int, int) {
	digits := len(f)
	if len(f) > 9 {
		f = f[:9]
	}
	f += strings.Repeat("0", 9-len(f))
	n, _ := strconv.Atoi(f)
	return n, digits
}

func isPunct(c byte) bool {
	return c > ' ' && c < 0x7f && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z')
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

// Expired reports whether bucket's hour ended more than Retain before
// now (never without Retain, nor for the zero date's bucket). Hours are
// compared as written, on the proxy's wall clock, as Window does.
func (t *Table) Expired(bucket string, now time.Time) bool {
	if t.Retain <= 0 || bucket == ZeroBucket {
		return false
	}
	// The hour that holds now-Retain has not ended Retain ago; every
	// earlier one has.
	return bucket < now.Add(-t.Retain).Format(bucketLayout)
}
