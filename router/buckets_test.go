package router

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/shard"
)

// MariaDB refuses to store the zero date only with NO_ZERO_DATE in strict
// mode (checked against a MariaDB 10.11 server: without strict mode it is
// stored with warning 1264).
func TestStateRefusesZeroDate(t *testing.T) {
	for _, c := range []struct {
		sqlMode string
		want    bool
	}{
		{"", false}, // the server's default: MariaDB's has no NO_ZERO_DATE
		{"STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION", false},
		{"NO_ZERO_DATE", false},
		{"STRICT_TRANS_TABLES,NO_ZERO_DATE", true},
		{"STRICT_ALL_TABLES,NO_ZERO_DATE", true},
		{"no_zero_date,strict_trans_tables", true},
		{"STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,TRADITIONAL,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION", true},
		{"STRICT_TRANS_TABLES,NO_ZERO_IN_DATE", false},
	} {
		st := newState("shop", backend.DefaultNames)
		st.sqlMode = c.sqlMode
		if got := st.facts().NoZeroDate; got != c.want {
			t.Errorf("%q: NoZeroDate %v, want %v", c.sqlMode, got, c.want)
		}
	}
}

func TestCompleteBuckets(t *testing.T) {
	split := &shard.Table{Name: "Payments", By: "hour", Clusters: []string{"s0", "s1"}, SubCount: 2}
	plain := &shard.Table{Name: "audit", By: "hour", Clusters: []string{"s0", "s1"}}
	for _, c := range []struct {
		name    string
		t       *shard.Table
		cluster string
		tables  []string
		want    []string
	}{
		{"every sub-table", split, "s0", []string{"payments_2026112710_0", "payments_2026112710_1", "payments_template"}, []string{"2026112710"}},
		{"half created", split, "s0", []string{"payments_2026112710_0"}, nil},
		{"names in another case", split, "s0", []string{"PAYMENTS_2026112710_0", "Payments_2026112710_1"}, []string{"2026112710"}},
		{"another cluster's hour", split, "s1", []string{"payments_2026112710_0", "payments_2026112710_1"}, nil},
		{"zero date", split, "s0", []string{"payments_0000000000_0", "payments_0000000000_1"}, []string{shard.ZeroBucket}},
		{"not buckets", split, "s0", []string{"payments_2026113210_0", "payments_2026112710_2", "payments_2026112710_01", "payments_2026112710_x", "payments_old"}, nil},
		{"plain", plain, "s1", []string{"audit_2026112711", "audit_2026112711_0", "audit_2026112709", "audit_template"}, []string{"2026112709", "2026112711"}},
	} {
		if got := completeBuckets(c.t, c.cluster, c.tables); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if got := likePrefix("a_b%c!_"); got != "a!_b!%c!!!_%" {
		t.Errorf("likePrefix %q", got)
	}
}

// fakeBackends holds the buckets that exist "on the backends" and counts
// the listings the looker makes.
type fakeBackends struct {
	mu      sync.Mutex
	exist   map[string]bool // bucket → exists
	down    map[string]bool // cluster → unreachable
	lists   []string        // "cluster:hours" per listing, "*" for every bucket
	release chan struct{}   // when set, a listing waits for it
}

func (f *fakeBackends) list(t *shard.Table) func(cluster, schema string, tb *shard.Table, hours []string) ([]string, error) {
	return func(cluster, schema string, tb *shard.Table, hours []string) ([]string, error) {
		if f.release != nil {
			<-f.release
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		what := "*"
		if hours != nil {
			what = strings.Join(hours, ",")
		}
		f.lists = append(f.lists, cluster+":"+what)
		if f.down[cluster] {
			return nil, errors.New("unreachable")
		}
		var out []string
		for b := range f.exist {
			if tb.BucketCluster(b) == cluster && (hours == nil || slices.Contains(hours, b)) {
				out = append(out, b)
			}
		}
		sort.Strings(out)
		return out, nil
	}
}

func (f *fakeBackends) takeLists() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.lists
	f.lists = nil
	return out
}

// The looker asks the backends only when a statement misses, at most once
// per interval per hour (exact values) or per table (ranges), always for
// DDL, and learns buckets another instance created or dropped.
func TestLookForMisses(t *testing.T) {
	tbl := &shard.Table{Name: "audit", By: "hour", Clusters: []string{"s0", "s1"}}
	point := func(b ...string) engine.BucketMiss { return engine.BucketMiss{Schema: "shop", Table: tbl, Buckets: b} }
	whole := engine.BucketMiss{Schema: "shop", Table: tbl}
	fresh := engine.BucketMiss{Schema: "shop", Table: tbl, Fresh: true}
	many := make([]string, maxHourLook+1)
	for i := range many {
		many[i] = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour).Format("2006010215")
	}
	type step struct {
		at     time.Duration // since the start
		create []string      // buckets another instance creates first
		drop   []string      // buckets another instance drops first
		down   []string      // clusters unreachable for this step
		miss   engine.BucketMiss
		lists  []string // listings made
		found  []string // clusters with new buckets
		known  []string // what the registry knows after
	}
	// 2026112710 lives on s0 (even hours since 1970 on s0), 2026112711 on s1.
	cases := []struct {
		name  string
		known []string
		steps []step
	}{
		{"another instance's bucket is found by a point read", nil, []step{
			{create: []string{"2026112711"}, miss: point("2026112711"), lists: []string{"s1:2026112711"}, found: []string{"s1"}, known: []string{"2026112711"}},
		}},
		{"an hour that does not exist is asked once per interval", nil, []step{
			{miss: point("2026112711"), lists: []string{"s1:2026112711"}},
			{at: 500 * time.Millisecond, create: []string{"2026112711"}, miss: point("2026112711")},
			{at: time.Second, miss: point("2026112711"), lists: []string{"s1:2026112711"}, found: []string{"s1"}, known: []string{"2026112711"}},
		}},
		{"hours are asked for separately, on their clusters", nil, []step{
			{miss: point("2026112711"), lists: []string{"s1:2026112711"}},
			{create: []string{"2026112710"}, miss: point("2026112710", "2026112711"), lists: []string{"s0:2026112710"}, found: []string{"s0"}, known: []string{"2026112710"}},
		}},
		{"a range lists every cluster once per interval", []string{"2026112710"}, []step{
			{create: []string{"2026112711"}, miss: whole, lists: []string{"s0:*", "s1:*"}, found: []string{"s1"}, known: []string{"2026112710", "2026112711"}},
			// Shared: no listing, and what the shared look found is still
			// news (a replica may not have it yet).
			{at: 999 * time.Millisecond, create: []string{"2026112712"}, miss: whole, found: []string{"s1"}, known: []string{"2026112710", "2026112711"}},
			// A point read is not held back by the range's look.
			{at: 999 * time.Millisecond, miss: point("2026112712"), lists: []string{"s0:2026112712"}, found: []string{"s0"}, known: []string{"2026112710", "2026112711", "2026112712"}},
		}},
		{"too many hours list the table", nil, []step{
			{create: []string{many[3]}, miss: point(many...), lists: []string{"s0:*", "s1:*"}, found: []string{"s1"}, known: []string{many[3]}},
		}},
		{"DDL always looks, and a dropped bucket is forgotten", []string{"2026112710", "2026112711"}, []step{
			{drop: []string{"2026112711"}, miss: fresh, lists: []string{"s0:*", "s1:*"}, known: []string{"2026112710"}},
			{miss: fresh, lists: []string{"s0:*", "s1:*"}, known: []string{"2026112710"}},
		}},
		{"an unreachable cluster forgets nothing", []string{"2026112710", "2026112711"}, []step{
			{drop: []string{"2026112710", "2026112711"}, down: []string{"s1"}, miss: fresh, lists: []string{"s0:*", "s1:*"}, known: []string{"2026112710", "2026112711"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeBackends{exist: map[string]bool{}, down: map[string]bool{}}
			reg := shard.NewBucketRegistry()
			for _, b := range c.known {
				f.exist[b] = true
				reg.Add("shop", "audit", b)
			}
			start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
			var now time.Time
			l := &bucketLooker{reg: reg, list: f.list(tbl), every: time.Second, now: func() time.Time { return now }, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			for i, s := range c.steps {
				now = start.Add(s.at)
				for _, b := range s.create {
					f.exist[b] = true
				}
				for _, b := range s.drop {
					delete(f.exist, b)
				}
				f.down = map[string]bool{}
				for _, cl := range s.down {
					f.down[cl] = true
				}
				found := l.lookForMisses([]engine.BucketMiss{s.miss})
				if lists := f.takeLists(); !slices.Equal(lists, s.lists) || !slices.Equal(found, s.found) {
					t.Fatalf("step %d: listed %v, found on %v; want %v, %v", i, lists, found, s.lists, s.found)
				}
				if s.known != nil || len(c.known) == 0 {
					if got := reg.Buckets("shop", "audit"); !slices.Equal(got, s.known) {
						t.Fatalf("step %d: knows %v, want %v", i, got, s.known)
					}
				}
			}
		})
	}
}

// Statements that miss the same hour at once share one listing, and each
// learns what it found.
func TestLookForMissesShared(t *testing.T) {
	tbl := &shard.Table{Name: "audit", By: "hour", Clusters: []string{"s0", "s1"}}
	f := &fakeBackends{exist: map[string]bool{"2026112711": true}, release: make(chan struct{})}
	l := &bucketLooker{reg: shard.NewBucketRegistry(), list: f.list(tbl), every: time.Second, now: time.Now, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	const n = 8
	results := make([][]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = l.lookForMisses([]engine.BucketMiss{{Schema: "shop", Table: tbl, Buckets: []string{"2026112711"}}})
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all claim or wait
	close(f.release)
	wg.Wait()
	if lists := f.takeLists(); len(lists) != 1 {
		t.Fatalf("%d listings, want 1: %v", len(lists), lists)
	}
	for i, r := range results {
		if !slices.Equal(r, []string{"s1"}) {
			t.Errorf("statement %d learnt %v, want [s1]", i, r)
		}
	}
}
