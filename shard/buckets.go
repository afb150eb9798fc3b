package shard

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// BucketRegistry remembers which hourly buckets exist, per schema and
// table: those found on the backends and those created since. Other proxy
// instances create and drop buckets too, so what it knows is refreshed by
// looking at the backends (BucketCheck); it also keeps when each such look
// last happened, so that statements share looks instead of each making
// one. It is safe for concurrent use.
type BucketRegistry struct {
	mu     sync.Mutex
	m      map[string]map[string]bool // schema.table → bucket set
	checks map[string]*BucketCheck    // CheckKey → the latest look
	// gen counts the Forgets of a table: a look that began before one
	// must not bring back the buckets of the dropped table.
	gen map[string]uint64
}

// maxChecks bounds the looks remembered; older finished ones are dropped
// first.
const maxChecks = 4096

// NewBucketRegistry returns an empty registry.
func NewBucketRegistry() *BucketRegistry {
	return &BucketRegistry{m: map[string]map[string]bool{}, checks: map[string]*BucketCheck{}, gen: map[string]uint64{}}
}

func bucketKey(schema, table string) string { return schema + "." + strings.ToLower(table) }

// Buckets lists a table's buckets in order.
func (r *BucketRegistry) Buckets(schema, table string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for b := range r.m[bucketKey(schema, table)] {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

// Has reports whether a bucket is known to exist.
func (r *BucketRegistry) Has(schema, table, bucket string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[bucketKey(schema, table)][bucket]
}

// Add records a bucket.
func (r *BucketRegistry) Add(schema, table, bucket string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(bucketKey(schema, table), []string{bucket})
}

// Generation identifies the table's current incarnation for AddAll and
// ForgetGone: it changes when the table is dropped (Forget).
func (r *BucketRegistry) Generation(schema, table string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen[bucketKey(schema, table)]
}

// AddAll records buckets found on the backends by a look that began at
// generation gen, and returns those that were not known. Nothing is
// recorded when the table was dropped since.
func (r *BucketRegistry) AddAll(schema, table string, gen uint64, buckets []string) (added []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := bucketKey(schema, table)
	if r.gen[k] != gen {
		return nil
	}
	return r.add(k, buckets)
}

func (r *BucketRegistry) add(k string, buckets []string) (added []string) {
	if r.m[k] == nil {
		r.m[k] = map[string]bool{}
	}
	for _, b := range buckets {
		if !r.m[k][b] {
			r.m[k][b] = true
			added = append(added, b)
		}
	}
	return added
}

// ForgetGone forgets the buckets that were known before a listing of every
// cluster of a table began (before) and that the listing did not find
// (found): another instance dropped them. Buckets learnt while the listing
// ran stay, since they were created after it looked.
func (r *BucketRegistry) ForgetGone(schema, table string, gen uint64, before, found []string) {
	present := make(map[string]bool, len(found))
	for _, b := range found {
		present[b] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := bucketKey(schema, table)
	if r.gen[k] != gen {
		return
	}
	set := r.m[k]
	for _, b := range before {
		if !present[b] {
			delete(set, b)
		}
	}
}

// Forget drops every bucket of a table (after DROP TABLE).
func (r *BucketRegistry) Forget(schema, table string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := bucketKey(schema, table)
	delete(r.m, k)
	r.gen[k]++
}

// BucketCheck is one look at the backends for buckets of a table, shared
// by every statement that needs the same look while it runs or shortly
// after it started.
type BucketCheck struct {
	started time.Time
	done    chan struct{}
	// found, set before done is closed, lists the clusters on which the
	// check found buckets this instance did not know.
	found []string
}

// Wait blocks until the check has finished and returns the clusters on
// which it found buckets this instance did not know: their replicas may
// not have those tables yet.
func (c *BucketCheck) Wait() []string {
	<-c.done
	return c.found
}

// Finish publishes the check's outcome to those waiting for it.
func (c *BucketCheck) Finish(found []string) {
	c.found = found
	close(c.done)
}

func (c *BucketCheck) finished() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// TableCheckKey names a look at every bucket of a table.
func TableCheckKey(schema, table string) string { return bucketKey(schema, table) }

// HourCheckKey names a look at one hour's bucket of a table.
func HourCheckKey(schema, table, bucket string) string {
	return bucketKey(schema, table) + "#" + bucket
}

// Claim decides who looks for what. A key whose latest look started less
// than every ago (running or finished) shares it: that look is among
// shared. The other keys, claimed, are given one new check, run, which the
// caller performs for them and then Finishes; run is nil when every key is
// shared. every = 0 always gives a new check.
func (r *BucketRegistry) Claim(keys []string, now time.Time, every time.Duration) (run *BucketCheck, claimed []string, shared []*BucketCheck) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[*BucketCheck]bool{}
	for _, k := range keys {
		if c := r.checks[k]; c != nil && now.Sub(c.started) < every {
			if !seen[c] {
				seen[c] = true
				shared = append(shared, c)
			}
			continue
		}
		if run == nil {
			run = &BucketCheck{started: now, done: make(chan struct{})}
		}
		r.checks[k] = run
		claimed = append(claimed, k)
	}
	if len(r.checks) > maxChecks {
		for k, c := range r.checks {
			if c.finished() && now.Sub(c.started) >= every {
				delete(r.checks, k)
			}
		}
	}
	return run, claimed, shared
}

// Remove forgets one bucket of a table (removed by the retention job).
func (r *BucketRegistry) Remove(schema, table, bucket string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := bucketKey(schema, table)
	delete(r.m[k], bucket)
	r.gen[k]++
}
