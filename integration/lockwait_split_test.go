package integration

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSplitWriteLockWaitBoundedOnEveryBranch: an autocommit write whose
// plan spreads it over two clusters runs with innodb_lock_wait_timeout
// bounded by transactions.lock_wait_timeout on every branch, the first
// included. Before, the first branch started with the session's own
// timeout (50 s): blocked on both clusters, the write waited that long
// although a cycle of waits across two servers is seen by neither.
func TestSplitWriteLockWaitBoundedOnEveryBranch(t *testing.T) {
	db := databaseOnPrimaries(t, "txn_lockwait")
	rulesYAML := strings.Replace(loadRules(db, "xa"), "transactions: {log_schema:", "transactions: {lock_wait_timeout: 1s, log_schema:", 1)
	px := startProxyRules(t, rulesYAML).open(t, db)
	if _, err := px.Exec("CREATE TABLE items " + loadItemsDDL); err != nil {
		t.Fatal(err)
	}
	if _, err := px.Exec(insertBatch("items", 1, 40, 1, time.Time{})); err != nil {
		t.Fatal(err)
	}
	// One existing row on each cluster, and the physical table it is in.
	type row struct {
		id    int
		table string
	}
	found := map[string]row{}
	for _, cluster := range []string{"s0", "s1"} {
		d := direct(t, primaries[cluster], db)
		for n := 0; n < 64 && found[cluster].table == ""; n++ {
			var id int
			err := d.QueryRow(fmt.Sprintf("SELECT id FROM items_%d ORDER BY id LIMIT 1", n)).Scan(&id)
			if err == sql.ErrNoRows || (err != nil && strings.Contains(err.Error(), "1146")) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			found[cluster] = row{id, fmt.Sprintf("items_%d", n)}
		}
		if found[cluster].table == "" {
			t.Fatalf("no row of items on %s", cluster)
		}
	}
	for _, tc := range []struct{ name, sql string }{
		{"batched INSERT", fmt.Sprintf("INSERT INTO items (id, k, body, amount) VALUES (%d, 1, 'x', 1), (%d, 1, 'y', 1)", found["s0"].id, found["s1"].id)},
		{"UPDATE on two clusters", fmt.Sprintf("UPDATE items SET k = k + 100 WHERE id IN (%d, %d)", found["s0"].id, found["s1"].id)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Both rows locked by transactions on the shards themselves.
			for _, cluster := range []string{"s0", "s1"} {
				lock, err := direct(t, primaries[cluster], db).Begin()
				if err != nil {
					t.Fatal(err)
				}
				defer lock.Rollback()
				if _, err := lock.Exec(fmt.Sprintf("SELECT * FROM %s WHERE id = %d FOR UPDATE", found[cluster].table, found[cluster].id)); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			_, err := px.Exec(tc.sql)
			took := time.Since(start)
			if code, _, msg := mysqlErr(t, err); code != 1205 {
				t.Fatalf("%s: error %d %s, want 1205", tc.sql, code, msg)
			}
			// 1 s on each branch; the session's default would be 50 s.
			if took > 20*time.Second {
				t.Fatalf("%s: waited %v for the locks", tc.sql, took)
			}
		})
	}
	var sum int
	if err := px.QueryRow("SELECT SUM(k) FROM items").Scan(&sum); err != nil {
		t.Fatal(err)
	}
	want := 0
	for id := 1; id < 41; id++ {
		want += id % 97
	}
	if sum != want {
		t.Fatalf("SUM(k) = %d after the refused writes, want %d", sum, want)
	}
}
