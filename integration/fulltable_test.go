package integration

import (
	"strings"
	"testing"
)

// TestFullTableWritesGuarded: UPDATE or DELETE with neither WHERE nor LIMIT
// is refused with 1175 on tables without a shard rule (the schema's own, a
// table on another cluster; sharded ones were already), text and
// prepared, in and out of a transaction, unless the schema or the table
// allows it; with WHERE or LIMIT it runs.
func TestFullTableWritesGuarded(t *testing.T) {
	p := startProxy(t, "")
	db := p.open(t, "shop")
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{
		"DROP TABLE IF EXISTS fullguard",
		"CREATE TABLE fullguard (id INT PRIMARY KEY, v INT)",
		"INSERT INTO fullguard VALUES (1, 1), (2, 2)",
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS fullguard") })
	for _, stmt := range []string{"UPDATE fullguard SET v = 0", "DELETE FROM fullguard", "update `fullguard` set v = v + 1"} {
		for _, prepared := range []bool{false, true} {
			var err error
			if prepared {
				if st, perr := db.Prepare(stmt); perr != nil {
					err = perr
				} else {
					_, err = st.Exec()
					st.Close()
				}
			} else {
				_, err = db.Exec(stmt)
			}
			if code, _, msg := mysqlErr(t, err); code != 1175 || !strings.Contains(msg, "shop.fullguard") {
				t.Errorf("%s (prepared %v): %d %s", stmt, prepared, code, msg)
			}
		}
	}
	// A business table on another cluster: refused before any server
	// sees it (nothing of the other tests' rows is at risk).
	if code, _, msg := mysqlErr(t, resultErr(db.Exec("DELETE FROM orders"))); code != 1175 || !strings.Contains(msg, "shop.orders") {
		t.Errorf("DELETE FROM orders (on s1): %d %s", code, msg)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("DELETE FROM fullguard"); err == nil {
		t.Fatal("DELETE without WHERE ran inside a transaction")
	}
	if _, err := tx.Exec("UPDATE fullguard SET v = 5 WHERE id = 1"); err != nil {
		t.Fatalf("the transaction after the refusal: %v", err)
	}
	tx.Rollback()
	for _, stmt := range []string{"UPDATE fullguard SET v = 3 WHERE id > 0", "DELETE FROM fullguard LIMIT 1"} {
		if _, err := db.Exec(stmt); err != nil {
			t.Errorf("%s: %v", stmt, err)
		}
	}
	// A schema that allows them.
	q := startProxyRules(t, strings.Replace(baseRules, "  shop:\n    cluster: main\n", "  shop:\n    cluster: main\n    allow_full_table_writes: true\n", 1))
	qdb := q.open(t, "shop")
	if _, err := qdb.Exec("UPDATE fullguard SET v = 9"); err != nil {
		t.Fatalf("allow_full_table_writes on the schema: %v", err)
	}
}
