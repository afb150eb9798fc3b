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

// TestReplicaWithoutTheDatabaseYet: a database created on the primary
// directly (not through the proxy, which would wait for the replicas) is
// not on a lagging replica yet: a read in it goes to the primary instead
// of failing with 1049 (the go-sql-driver suite met this under load: its
// databases are made on the primary, and a read right after went to a
// replica). A database that exists nowhere is still 1049.
func TestReplicaWithoutTheDatabaseYet(t *testing.T) {
	for _, r := range []string{"main-r1", "main-r2"} {
		rootSQL(t, r, "STOP SLAVE SQL_THREAD")
	}
	t.Cleanup(func() {
		for _, r := range []string{"main-r1", "main-r2"} {
			rootSQL(t, r, "START SLAVE SQL_THREAD")
		}
		syncReplicas(t)
	})
	db := uniqueName("txn_lagdb")
	root := direct(t, primaries["main"], "")
	if _, err := root.Exec("CREATE DATABASE " + db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Exec("DROP DATABASE IF EXISTS " + db) })
	p := startProxyRules(t, fmt.Sprintf(`
users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
schemas:
  %s: {cluster: main}
  txn_lagdb_nowhere: {cluster: main}
`, db))
	for _, params := range []string{"interpolateParams=true", ""} {
		c := pin(t, p.open(t, db, params))
		var v string
		if err := c.QueryRowContext(context.Background(), "SELECT CAST(? AS DATE)", "2026-11-28").Scan(&v); err != nil || v != "2026-11-28" {
			t.Fatalf("%s: got %q, %v", params, v, err)
		}
		scan(t, c, "SELECT DATABASE()", &v)
		if v != db {
			t.Fatalf("%s: DATABASE() = %q", params, v)
		}
	}
	_, err := p.open(t, "txn_lagdb_nowhere").Exec("SELECT 1")
	if code, _, _ := mysqlErr(t, err); code != 1049 {
		t.Fatalf("a database that exists nowhere: %v, want 1049", err)
	}
}
