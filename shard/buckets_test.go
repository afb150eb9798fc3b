package shard

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// The zero date in the spellings MariaDB reads as '0000-00-00 00:00:00'
// goes to one fixed bucket; values that only look alike do not.
func TestZeroDateBucket(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // "" : not a value shardgate places
	}{
		{"0000-00-00 00:00:00", ZeroBucket},
		{"0000-00-00", ZeroBucket},
		{"0000-00-00 00:00", ZeroBucket},
		{"0000-00-00 00:00:00.000000", ZeroBucket},
		{"0000-00-00T00:00:00", ZeroBucket},
		{" 0000-00-00 00:00:00 ", ZeroBucket},
		{"0", ZeroBucket},
		{"00000000", ZeroBucket},
		{"00000000000000", ZeroBucket},
		{"0000-00-00 00:00:01", ""}, // a zero date with a time: refused as before
		{"0000-01-01 00:00:00", "0000010100"},
		{"00", ""},
		{"0.5", ""},
	} {
		got, err := Bucket(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("Bucket(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Bucket(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	p := &Table{Name: "payments", By: "hour", Clusters: []string{"s0", "s1", "s2"}, SubCount: 2}
	if !IsBucket(ZeroBucket) || p.BucketCluster(ZeroBucket) != "s0" {
		t.Errorf("zero bucket: IsBucket %v, cluster %s; want true, s0", IsBucket(ZeroBucket), p.BucketCluster(ZeroBucket))
	}
	if got := p.BucketTargets(ZeroBucket, nil); len(got) != 2 || got[1] != (Target{"s0", "payments_0000000000_1"}) {
		t.Errorf("zero bucket targets %v", got)
	}
}

// LastBucket is the upper end of a range on an hour column.
func TestLastBucket(t *testing.T) {
	for _, c := range []struct {
		v    string
		excl bool
		want string
		ok   bool
	}{
		{"2026-11-24 11:00:00", false, "2026112411", true},
		{"2026-11-24 11:00:00", true, "2026112410", true}, // < 11:00 cannot reach 11
		{"2026-11-24 11:00:01", true, "2026112411", true},
		{"0000-00-00 00:00:00", false, ZeroBucket, true},
		{"0000-00-00 00:00:00", true, "", false}, // < the zero date: nothing
	} {
		got, ok, err := LastBucket(c.v, c.excl)
		if err != nil || ok != c.ok || (ok && got != c.want) {
			t.Errorf("LastBucket(%q, %v) = %q, %v, %v; want %q, %v", c.v, c.excl, got, ok, err, c.want, c.ok)
		}
	}
}

func TestBucketWindow(t *testing.T) {
	tbl := &Table{Name: "payments", By: "hour", Clusters: []string{"s0"}, Past: 8760 * time.Hour, Future: 48 * time.Hour}
	now := time.Date(2026, 11, 27, 23, 30, 0, 0, time.UTC)
	first, last := tbl.Window(now)
	if first != "2025112723" || last != "2026112923" {
		t.Fatalf("window %s … %s, want 2025112723 … 2026112923", first, last)
	}
	for _, c := range []struct {
		bucket string
		in     bool
	}{
		{"2026112723", true},
		{"2025112723", true},  // exactly a year back, the hour of now-past
		{"2025112722", false}, // one more
		{"2026112923", true},
		{"2026113000", false},
		{"1000010100", false},
		{"9999123123", false},
		{ZeroBucket, true}, // one fixed bucket, exempt
	} {
		if got := tbl.InWindow(c.bucket, now); got != c.in {
			t.Errorf("InWindow(%s) = %v, want %v", c.bucket, got, c.in)
		}
	}
	// A zero window accepts the current hour only.
	zero := &Table{Name: "x", By: "hour", Clusters: []string{"s0"}}
	if !zero.InWindow("2026112723", now) || zero.InWindow("2026112800", now) || zero.InWindow("2026112722", now) {
		t.Error("zero window: want the current hour only")
	}
}

// Claim shares a look among statements: within every of a look's start the
// same key shares it, after that a new look is made; every = 0 always
// makes one.
func TestBucketRegistryClaim(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	const every = time.Second
	type step struct {
		keys    []string
		at      time.Duration
		every   time.Duration
		claimed []string // keys the new look covers; nil: no new look
		shared  int
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"first look is made", []step{
			{keys: []string{"a"}, every: every, claimed: []string{"a"}},
		}},
		{"within the interval shared", []step{
			{keys: []string{"a"}, every: every, claimed: []string{"a"}},
			{keys: []string{"a"}, at: 999 * time.Millisecond, every: every, shared: 1},
		}},
		{"after the interval a new look", []step{
			{keys: []string{"a"}, every: every, claimed: []string{"a"}},
			{keys: []string{"a"}, at: time.Second, every: every, claimed: []string{"a"}},
		}},
		{"every 0 always looks", []step{
			{keys: []string{"a"}, every: every, claimed: []string{"a"}},
			{keys: []string{"a"}, every: 0, claimed: []string{"a"}},
		}},
		{"only the keys not looked at are claimed", []step{
			{keys: []string{"a", "b"}, every: every, claimed: []string{"a", "b"}},
			{keys: []string{"b", "c", "a"}, at: time.Millisecond, every: every, claimed: []string{"c"}, shared: 1},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewBucketRegistry()
			for i, s := range c.steps {
				run, claimed, shared := r.Claim(s.keys, t0.Add(s.at), s.every)
				if (run != nil) != (s.claimed != nil) || !slices.Equal(claimed, s.claimed) || len(shared) != s.shared {
					t.Fatalf("step %d: run %v, claimed %v, %d shared; want claimed %v, %d shared", i, run != nil, claimed, len(shared), s.claimed, s.shared)
				}
				if run != nil {
					run.Finish(nil)
				}
			}
		})
	}
}

// A statement that shares a running look waits for it and learns what it
// found.
func TestBucketCheckWait(t *testing.T) {
	r := NewBucketRegistry()
	now := time.Now()
	run, _, _ := r.Claim([]string{"shop.t"}, now, time.Second)
	_, _, shared := r.Claim([]string{"shop.t"}, now, time.Second)
	if run == nil || len(shared) != 1 || shared[0] != run {
		t.Fatal("the second claim does not share the running look")
	}
	var got []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		got = shared[0].Wait()
	}()
	run.Finish([]string{"s1"})
	wg.Wait()
	if !slices.Equal(got, []string{"s1"}) {
		t.Fatalf("waiter got %v, want [s1]", got)
	}
}

// The number of looks remembered stays bounded.
func TestBucketRegistryChecksBounded(t *testing.T) {
	r := NewBucketRegistry()
	now := time.Now()
	for i := 0; i < 3*maxChecks; i++ {
		run, _, _ := r.Claim([]string{HourCheckKey("shop", "t", time.Unix(int64(i)*3600, 0).UTC().Format(bucketLayout))}, now.Add(time.Duration(i)*time.Second), time.Second)
		run.Finish(nil)
	}
	if n := len(r.checks); n > maxChecks+1 {
		t.Fatalf("%d looks remembered, want at most %d", n, maxChecks+1)
	}
}

// ForgetGone drops what a complete listing no longer finds, but not what
// was learnt while it ran.
func TestBucketRegistryForgetGone(t *testing.T) {
	r := NewBucketRegistry()
	gen := r.Generation("shop", "t")
	r.AddAll("shop", "t", gen, []string{"2026112700", "2026112701", "2026112702"})
	before := r.Buckets("shop", "t")
	r.Add("shop", "t", "2026112703") // created by this instance during the listing
	if added := r.AddAll("shop", "t", gen, []string{"2026112701", "2026112704"}); !slices.Equal(added, []string{"2026112704"}) {
		t.Fatalf("added %v, want [2026112704]", added)
	}
	r.ForgetGone("shop", "t", gen, before, []string{"2026112701", "2026112704"})
	if got := r.Buckets("shop", "T"); !slices.Equal(got, []string{"2026112701", "2026112703", "2026112704"}) {
		t.Fatalf("buckets %v", got)
	}
}

// A look that began before the table was dropped through this instance
// does not bring its buckets back, nor forget those of the new table.
func TestBucketRegistryDropDuringLook(t *testing.T) {
	r := NewBucketRegistry()
	r.Add("shop", "t", "2026112700")
	gen := r.Generation("shop", "t")
	before := r.Buckets("shop", "t")
	r.Forget("shop", "t")            // DROP TABLE
	r.Add("shop", "t", "2026112705") // the new table's first row
	if added := r.AddAll("shop", "t", gen, []string{"2026112700"}); added != nil {
		t.Fatalf("a stale look added %v", added)
	}
	r.ForgetGone("shop", "t", gen, append(before, "2026112705"), nil)
	if got := r.Buckets("shop", "t"); !slices.Equal(got, []string{"2026112705"}) {
		t.Fatalf("buckets %v, want [2026112705]", got)
	}
}
