// Package tabledef holds what the proxy knows of tables' definitions:
// each column's name, position, type, character set and collation,
// nullability, default and auto_increment, as the backends describe them.
// The planner needs them to read a shard-key literal the way MariaDB
// compares it (an INT key '02' is 2; a utf8mb4_general_ci key 'Abc' is
// 'abc') and to learn the column order of an INSERT without a column list;
// sequences, INSERT … SELECT and LOAD DATA need the same.
//
// The API is one interface and one value type:
//
//	defs.Columns(schema, table) ([]tabledef.Column, bool)
//
// gives a logical table's columns in order (ok false: not known). Names
// are logical: for a sharded table, the definition is its first physical
// table's (hourly tables: the template's). The router fills a Cache per
// routing snapshot from information_schema.COLUMNS before it plans a
// statement that needs a definition it does not hold (router/tabledefs.go),
// and forgets a table's definition after DDL on it through the proxy, so
// the next statement reads it again. The planner only reads (Facts.Defs):
// it never touches a backend. Schema and table names are matched case
// sensitively for the schema and case-insensitively for the table.
package tabledef

import (
	"strings"
	"sync"
	"time"
)

// Column is one column as information_schema.COLUMNS describes it.
type Column struct {
	Name string
	// DataType is COLUMNS.DATA_TYPE in lower case: "int", "bigint",
	// "varchar", "datetime", …
	DataType string
	// ColumnType is COLUMNS.COLUMN_TYPE: "int(10) unsigned", "char(8)",
	// "enum('a','b')".
	ColumnType string
	Unsigned   bool
	// Charset and Collation are empty for columns that hold no text.
	Charset, Collation string
	// CharLength is CHARACTER_MAXIMUM_LENGTH (0 when not text), and
	// Precision, Scale and FSP the numeric and fractional-seconds sizes.
	CharLength            int64
	Precision, Scale, FSP int
	Nullable              bool
	Default               *string // COLUMN_DEFAULT as MariaDB writes it (NULL is "NULL"); nil: no default
	AutoIncrement         bool
	Generated             bool // a virtual or stored generated column: INSERT may not give it
}

// Source gives table definitions.
type Source interface {
	// Columns lists a table's columns in their order; ok is false when
	// the definition is not known.
	Columns(schema, table string) ([]Column, bool)
}

// Cache is a Source the router fills. It is safe for concurrent use.
type Cache struct {
	mu     sync.RWMutex
	defs   map[string][]Column
	gen    map[string]uint64    // bumped by Forget, so a fetch that raced a DDL is not stored
	failed map[string]time.Time // when reading a definition last failed
}

// NewCache is an empty cache.
func NewCache() *Cache {
	return &Cache{defs: map[string][]Column{}, gen: map[string]uint64{}, failed: map[string]time.Time{}}
}

// Failed records that reading a table's definition failed at now.
func (c *Cache) Failed(schema, table string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failed) > 4096 {
		clear(c.failed) // bounded: failures are only a hint
	}
	c.failed[key(schema, table)] = now
}

// FailedWithin reports a failed read of the table's definition less than
// d before now: statements do not each ask the backends again while
// a cluster is down or a table is missing.
func (c *Cache) FailedWithin(schema, table string, now time.Time, d time.Duration) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	at, ok := c.failed[key(schema, table)]
	return ok && now.Sub(at) < d
}

func key(schema, table string) string { return schema + "\x00" + strings.ToLower(table) }

// Columns implements Source.
func (c *Cache) Columns(schema, table string) ([]Column, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	cols, ok := c.defs[key(schema, table)]
	return cols, ok
}

// Generation is the table's generation, to pass to Put after fetching.
func (c *Cache) Generation(schema, table string) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen[key(schema, table)]
}

// Put stores a definition read when the table's generation was gen; a
// Forget since then (DDL ran while it was read) discards it.
func (c *Cache) Put(schema, table string, gen uint64, cols []Column) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key(schema, table)
	if c.gen[k] == gen {
		c.defs[k] = cols
		delete(c.failed, k)
	}
}

// Forget drops a table's definition (after DDL on it).
func (c *Cache) Forget(schema, table string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key(schema, table)
	delete(c.defs, k)
	delete(c.failed, k)
	c.gen[k]++
}

// Index is the position of a column by name (case-insensitive), or -1.
func Index(cols []Column, name string) int {
	for i, c := range cols {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}
