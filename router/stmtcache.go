package router

import (
	"sync"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
)

// stmtCache keeps parsed statements by database and text, for statements
// whose routing the text alone decides and that nothing rewrites: plain
// SELECT/INSERT/UPDATE/DELETE on tables without a sharding or global rule.
// Parsing is most of the proxy's own work on a point select; entries are
// shared read-only, so a hit costs a map lookup.
type stmtCache struct {
	mu sync.RWMutex
	m  map[string]*parser.Statement
}

const stmtCacheSize = 8192

func (c *stmtCache) get(key string) *parser.Statement {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[key]
}

func (c *stmtCache) put(key string, st *parser.Statement) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= stmtCacheSize {
		c.m = map[string]*parser.Statement{} // bounded: start over
	}
	c.m[key] = st
}

// cacheable reports a statement the proxy only routes, never rewrites.
func (snap *Snapshot) cacheable(st *parser.Statement, db string) bool {
	switch st.Kind {
	case parser.KindSelect, parser.KindInsert, parser.KindUpdate, parser.KindDelete:
	default:
		return false
	}
	if len(st.Tables) == 0 || st.ShowSchema != "" || st.UsesConnectionID || st.ReadsInTransaction {
		return false
	}
	for _, t := range st.Tables {
		schema := t.Schema
		if schema == "" {
			schema = db
		}
		s, ok := snap.Rules.Schemas[schema]
		if !ok || planner.IsSystemSchema(schema) {
			return false
		}
		if r := s.Table(t.Name); r != nil && (r.Shard != nil || r.Global) {
			return false
		}
	}
	return true
}
