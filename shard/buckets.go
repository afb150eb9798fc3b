package shard

import (
	"sort"
	"strings"
	"sync"
)

// BucketRegistry remembers which hourly buckets exist, per schema and
// table: those discovered on the backends at start and those created
// since. It is safe for concurrent use.
type BucketRegistry struct {
	mu sync.Mutex
	m  map[string]map[string]bool // schema.table → bucket set
}

// NewBucketRegistry returns an empty registry.
func NewBucketRegistry() *BucketRegistry {
	return &BucketRegistry{m: map[string]map[string]bool{}}
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
	k := bucketKey(schema, table)
	if r.m[k] == nil {
		r.m[k] = map[string]bool{}
	}
	r.m[k][bucket] = true
}

// Forget drops every bucket of a table (after DROP TABLE).
func (r *BucketRegistry) Forget(schema, table string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, bucketKey(schema, table))
}
