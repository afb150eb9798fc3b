package integration

import (
	"fmt"
	"strings"
	"testing"
)

// TestReadYourWritesAfterMultiStepWrites: with the default consistency
// (session), a read right after a write that went to several tables on
// several clusters (a split INSERT, a fan-out UPDATE, a global-table
// INSERT) sees it, although reads go to replicas: the session waits on
// every cluster the write touched.
func TestReadYourWritesAfterMultiStepWrites(t *testing.T) {
	// regions is a global table: a copy on main, s0 and s1.
	e := newTxnEnvTables(t, "      regions: {global: true}\n", "")
	for cluster := range primaries {
		if _, err := e.direct[cluster].Exec("CREATE TABLE regions (id INT PRIMARY KEY, name VARCHAR(20))"); err != nil {
			t.Fatal(err)
		}
	}
	db := e.p.open(t, e.db)
	db.SetMaxOpenConns(1) // one session
	// Each round is a chance for a replica to lag behind the write just
	// acknowledged; 600 rounds of three kinds of write (a minute of
	// -race time was 2,000) still put 1,800 reads right behind them.
	const rounds = 600
	stale := map[string]int{}
	for i := 0; i < rounds; i++ {
		// Products i*4 .. i*4+3 hash to tables on both s0 and s1.
		var rows []string
		for k := 0; k < 4; k++ {
			rows = append(rows, fmt.Sprintf("(%d, %d, 'new')", i*4+k, i*4+k))
		}
		if _, err := db.Exec("INSERT INTO comments (id, product_id, body) VALUES " + strings.Join(rows, ", ")); err != nil {
			t.Fatal(err)
		}
		in := fmt.Sprintf("(%d, %d, %d, %d)", i*4, i*4+1, i*4+2, i*4+3)
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM comments WHERE product_id IN " + in).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			stale["split insert"]++
		}
		if _, err := db.Exec("UPDATE comments SET body = 'updated' WHERE product_id IN " + in); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("SELECT COUNT(*) FROM comments WHERE body = 'updated' AND product_id IN " + in).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			stale["fan-out update"]++
		}
		if _, err := db.Exec(fmt.Sprintf("INSERT INTO regions VALUES (%d, 'r')", i)); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM regions WHERE id = %d", i)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			stale["global insert"]++
		}
	}
	if len(stale) > 0 {
		t.Fatalf("stale reads out of %d after each kind of write: %v", rounds, stale)
	}
}
