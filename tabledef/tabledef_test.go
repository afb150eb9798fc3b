package tabledef

import (
	"testing"
	"time"
)

// TestCache: a definition read before a DDL forgot the table is not
// stored (it may predate the DDL); names are case-insensitive for tables;
// failed reads are remembered for a while and cleared by a stored one.
func TestCache(t *testing.T) {
	c := NewCache()
	cols := []Column{{Name: "id", DataType: "int"}, {Name: "K", DataType: "varchar"}}
	if _, ok := c.Columns("shop", "t"); ok {
		t.Fatal("an empty cache knows t")
	}
	gen := c.Generation("shop", "t")
	c.Put("shop", "t", gen, cols)
	if got, ok := c.Columns("shop", "T"); !ok || len(got) != 2 {
		t.Fatalf("Columns(shop, T) = %v, %v", got, ok)
	}
	if _, ok := c.Columns("SHOP", "t"); ok {
		t.Error("schema names matched case-insensitively")
	}
	if Index(cols, "k") != 1 || Index(cols, "x") != -1 {
		t.Error("Index does not find columns case-insensitively")
	}
	stale := c.Generation("shop", "t")
	c.Forget("shop", "t") // DDL ran while a read was under way
	c.Put("shop", "t", stale, cols)
	if _, ok := c.Columns("shop", "t"); ok {
		t.Error("a definition read before the DDL was stored after it")
	}
	now := time.Now()
	c.Failed("shop", "u", now)
	if !c.FailedWithin("shop", "u", now.Add(500*time.Millisecond), time.Second) {
		t.Error("a failure half a second old is forgotten")
	}
	if c.FailedWithin("shop", "u", now.Add(2*time.Second), time.Second) {
		t.Error("a failure two seconds old still counts")
	}
	c.Put("shop", "u", c.Generation("shop", "u"), cols)
	if c.FailedWithin("shop", "u", now, time.Second) {
		t.Error("a stored definition leaves its failure in place")
	}
	var nilCache *Cache
	if _, ok := nilCache.Columns("shop", "t"); ok {
		t.Error("a nil cache knows a table")
	}
}
