package integration

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/rules"
)

// TestSwitches: the operator's kill switches, set and cleared by admin SQL
// while clients stay connected, each checked on a sharded table, a table
// on another cluster and the schema's own, with the text and prepared
// protocols and inside a transaction; they outlive a reload; only admin
// users set them.
func TestSwitches(t *testing.T) {
	db := databaseOnPrimaries(t, "txn_switch")
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte(reloadRulesYAML(db, "127.0.0.1:3311", "", "64")), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := rules.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyParsed(t, r, nil)
	admin := p.open(t, db)
	admin.SetMaxOpenConns(1)
	app := p.open(t, db) // a client connected before the switches are set
	app.SetMaxOpenConns(1)
	for _, stmt := range []string{
		"CREATE TABLE items (id BIGINT PRIMARY KEY, n INT NOT NULL)",
		"CREATE TABLE orders (id BIGINT PRIMARY KEY, item BIGINT NOT NULL)",
		"CREATE TABLE notes (id INT PRIMARY KEY)",
		"INSERT INTO items VALUES (1, 1), (2, 2), (3, 3), (4, 4)",
		"INSERT INTO orders VALUES (1, 1)",
		"INSERT INTO notes VALUES (1)",
	} {
		if _, err := app.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	set := func(stmt string) {
		t.Helper()
		if _, err := admin.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	// expect runs stmt on app (text, then prepared) and checks the code
	// (0: success) and that the message names want.
	expect := func(stmt string, code uint16, want string) {
		t.Helper()
		for _, prepared := range []bool{false, true} {
			var err error
			if prepared {
				var st *sql.Stmt
				if st, err = app.Prepare(stmt); err == nil {
					_, err = st.Exec()
					st.Close()
				}
			} else {
				_, err = app.Exec(stmt)
			}
			if code == 0 {
				if err != nil {
					t.Errorf("%s (prepared %v): %v", stmt, prepared, err)
				}
				continue
			}
			got, _, msg := mysqlErr(t, err)
			if got != code || !strings.Contains(msg, want) {
				t.Errorf("%s (prepared %v): %d %q, want %d naming %q", stmt, prepared, got, msg, code, want)
			}
		}
	}

	// read_only on a sharded table: its writes refused, with the reason,
	// in and out of a transaction; its reads and other tables' writes go on.
	set("SHARDGATE READ_ONLY " + db + ".items REASON 'moving to new disks'")
	expect("INSERT INTO items VALUES (10, 10)", 1290, "table "+db+".items is read_only by switch 1: moving to new disks")
	expect("UPDATE items SET n = n + 1 WHERE id = 1", 1290, "read_only")
	expect("SELECT n FROM items WHERE id = 1", 0, "")
	expect("UPDATE orders SET item = 2 WHERE id = 1", 0, "")
	tx, err := app.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO orders VALUES (2, 2)"); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := mysqlErr(t, resultErr(tx.Exec("INSERT INTO items VALUES (11, 11)"))); code != 1290 {
		t.Fatalf("a write to the read_only table inside a transaction: %d", code)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("the transaction after the refused statement: %v", err)
	}
	// offline on a table on another cluster, and on the schema's own.
	set("SHARDGATE OFFLINE `" + db + "`.`orders`")
	expect("SELECT * FROM orders", 1105, "table "+db+".orders is offline by switch 2")
	expect("SELECT COUNT(*) FROM items i JOIN orders o ON o.item = i.id", 1105, "offline")
	expect("SELECT * FROM notes", 0, "")
	// A blocked statement, by its fingerprint (any values), and a prefix.
	set("SHARDGATE BLOCK 'SELECT n FROM items WHERE id = 1' REASON 'runaway report'")
	expect("select n from items where id=3", 1105, "statement blocked by switch 3: runaway report")
	expect("SELECT n FROM items WHERE id IN (3)", 0, "")
	set("SHARDGATE BLOCK PREFIX 'DELETE FROM notes'")
	expect("DELETE FROM notes WHERE id = 7", 1105, "blocked by switch 4")
	expect("DELETE FROM orders WHERE id = 7", 1105, "offline") // still offline
	var id int
	if err := app.QueryRow("SELECT n FROM items WHERE id = ?", 2).Scan(&id); err == nil {
		t.Fatal("the blocked statement ran through a prepared statement's placeholder")
	}

	// Reads of s0 to its primary while its replica is drained, and of s1
	// by a reads_to_primary switch: the replicas serve none of them.
	set("SHARDGATE DRAIN BACKEND '127.0.0.1:3321' REASON 'kernel upgrade'")
	set("SHARDGATE READS_TO_PRIMARY s1")
	reads := func(addr string) int64 {
		for _, b := range p.router.BackendStats() {
			if b.Addr == addr {
				return b.Reads
			}
		}
		t.Fatalf("no backend %s", addr)
		return 0
	}
	r0, r1, p0 := reads("127.0.0.1:3321"), reads("127.0.0.1:3331"), reads("127.0.0.1:3320")
	for i := 0; i < 20; i++ {
		if err := app.QueryRow("SELECT COUNT(*) FROM items").Scan(&id); err != nil || id != 4 {
			t.Fatalf("a scatter read with s0's replica drained: %d, %v", id, err)
		}
	}
	if reads("127.0.0.1:3321") != r0 || reads("127.0.0.1:3331") != r1 || reads("127.0.0.1:3320") < p0+20 {
		t.Fatalf("reads on the drained replica %d → %d, on s1's replica %d → %d, on s0's primary %d → %d",
			r0, reads("127.0.0.1:3321"), r1, reads("127.0.0.1:3331"), p0, reads("127.0.0.1:3320"))
	}
	// A drained primary takes no writes, with the reason.
	set("SHARDGATE DRAIN BACKEND '127.0.0.1:3310' REASON 'failover drill'")
	expect("INSERT INTO notes VALUES (2)", 1105, "takes no new statements (drain by switch 7: failover drill)")

	// The switches outlive a reload (a replica added to main).
	if err := os.WriteFile(file, []byte(reloadRulesYAML(db, "127.0.0.1:3311, 127.0.0.1:3312", "", "64")), 0o644); err != nil {
		t.Fatal(err)
	}
	set("RELOAD SHARDGATE RULES")
	expect("INSERT INTO notes VALUES (2)", 1105, "drain by switch 7")
	expect("INSERT INTO items VALUES (10, 10)", 1290, "read_only by switch 1")

	// SHOW SHARDGATE SWITCHES, with the statements each one refused.
	rows := queryMaps(t, admin, "SHOW SHARDGATE SWITCHES")
	if len(rows) != 7 {
		t.Fatalf("SHOW SHARDGATE SWITCHES: %d switches, want 7: %v", len(rows), rows)
	}
	for i, kind := range []string{"read_only", "offline", "block", "block", "drain", "reads_to_primary", "drain"} {
		if rows[i]["kind"] != kind || rows[i]["hits"] == "0" {
			t.Errorf("switch %d: kind %s (want %s), hits %s", i+1, rows[i]["kind"], kind, rows[i]["hits"])
		}
	}
	if rows[0]["reason"] != "moving to new disks" || !strings.HasPrefix(rows[0]["set_by"], "app@") || rows[2]["target"] != "select `n` from `items` where `id` = ?" {
		t.Errorf("switch rows: %v", rows[:3])
	}
	// Only admin users.
	nopass, err := sql.Open("mysql", "nopass:@tcp("+p.addr+")/"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer nopass.Close()
	for _, stmt := range []string{"SHARDGATE CLEAR ALL", "SHARDGATE READ_ONLY " + db, "SHOW SHARDGATE SWITCHES"} {
		if code, _, msg := mysqlErr(t, execOrQuery(nopass, stmt)); code != 1227 {
			t.Errorf("%s by a user who is not admin: %d %s, want 1227", stmt, code, msg)
		}
	}
	// Cleared one by one, then all: everything runs again.
	set("SHARDGATE CLEAR 7")
	expect("REPLACE INTO notes VALUES (2)", 0, "")
	if _, err := admin.Exec("SHARDGATE CLEAR 7"); err == nil {
		t.Fatal("a switch cleared twice")
	}
	set("SHARDGATE CLEAR ALL")
	expect("REPLACE INTO items VALUES (10, 10)", 0, "")
	expect("DELETE FROM notes WHERE id = 2", 0, "")
	expect("SELECT * FROM orders", 0, "")
	if got := queryMaps(t, admin, "SHOW SHARDGATE SWITCHES"); len(got) != 0 {
		t.Fatalf("switches after CLEAR ALL: %v", got)
	}
	// Bad targets are refused, nothing set.
	for _, tc := range []struct {
		stmt string
		code uint16
	}{
		{"SHARDGATE READ_ONLY nosuchdb.items", 1049},
		{"SHARDGATE DRAIN BACKEND '127.0.0.1:9'", 1210},
		{"SHARDGATE READS_TO_PRIMARY nosuch", 1210},
		{"SHARDGATE DRAIN everything", 1064},
	} {
		if code, _, msg := mysqlErr(t, resultErr(admin.Exec(tc.stmt))); code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.stmt, code, msg, tc.code)
		}
	}
}

func resultErr(_ sql.Result, err error) error { return err }

// queryMaps runs a query and returns its rows as maps of column to text.
func queryMaps(t *testing.T, d *sql.DB, q string) []map[string]string {
	t.Helper()
	rows, err := d.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []map[string]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for i, c := range cols {
			m[c] = vals[i].String
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
