package integration

import (
	"context"
	"fmt"
	"testing"
)

// TestFoundRowsPinTakesNoWrites: SELECT SQL_CALC_FOUND_ROWS runs on a
// replica, whose connection the session keeps for a FOUND_ROWS() right
// after. A write instead must still go to the primary: it went to the
// kept replica connection (1290 from a read_only replica; a replica
// without read_only would have taken the row). Unsharded and sharded
// tables, text and prepared; FOUND_ROWS() right after the SELECT still
// counts its rows.
func TestFoundRowsPinTakesNoWrites(t *testing.T) {
	e := newTxnEnv(t, "")
	for i := 0; i < 5; i++ {
		if _, err := e.direct["main"].Exec(fmt.Sprintf("INSERT INTO notes VALUES (%d, 'n')", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.p.open(t, e.db).Exec("INSERT INTO comments (id, product_id, body) VALUES (1, 3, 'c'), (2, 3, 'c')"); err != nil {
		t.Fatal(err)
	}
	syncReplicas(t)
	ctx := context.Background()
	for _, mode := range []string{"interpolateParams=true", ""} {
		c := pin(t, e.p.open(t, e.db, mode))
		cases := []struct {
			table, sel, ins string
			id              int
		}{
			{"notes", "SELECT SQL_CALC_FOUND_ROWS id FROM notes ORDER BY id LIMIT 2", "INSERT INTO notes VALUES (?, 'after')", 100},
			{"comments", "SELECT SQL_CALC_FOUND_ROWS id FROM comments WHERE product_id = 3 ORDER BY id LIMIT 1", "INSERT INTO comments (id, product_id, body) VALUES (?, 3, 'after')", 100},
		}
		for _, tc := range cases {
			id := tc.id
			if mode == "" {
				id++
			}
			var got int
			scan(t, c, tc.sel, &got)
			if _, err := c.ExecContext(ctx, tc.ins, id); err != nil {
				t.Fatalf("%s (%s): the write after SQL_CALC_FOUND_ROWS: %v", tc.table, mode, err)
			}
			if n := e.count(t, tc.table, fmt.Sprintf("id = %d", id)); n != 1 {
				t.Fatalf("%s (%s): %d rows on the primaries after an acknowledged write", tc.table, mode, n)
			}
		}
		var n int
		scan(t, c, "SELECT SQL_CALC_FOUND_ROWS id FROM notes ORDER BY id LIMIT 2", &n)
		scan(t, c, "SELECT FOUND_ROWS()", &n)
		if want := 5 + 1 + map[string]int{"interpolateParams=true": 0, "": 1}[mode]; n != want {
			t.Fatalf("FOUND_ROWS() = %d, want %d", n, want)
		}
	}
}
