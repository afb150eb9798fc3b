package integration

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardgate/shardgate/rules"
)

// reloadRulesYAML is the reload test's rules: items sharded over s0 and
// s1, orders on s1, the rest on main; extra is appended to schema db's
// tables and pool to the pool block.
func reloadRulesYAML(db, mainReplicas, extraTables, pool string) string {
	return fmt.Sprintf(`users:
  - {name: app, password: app, admin: true}
  - {name: nopass, password: ""}
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [%s]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
pool: {max_open: %s}
schemas:
  %s:
    cluster: main
    transactions: xa
    tables:
      items: {shard: {by: hash, column: id, tables: 8, clusters: [s0, s1]}}
      orders: {cluster: s1}%s
transactions: {log_schema: %s}
`, mainReplicas, pool, db, extraTables, testLogSchema)
}

// TestReloadRules: RELOAD SHARDGATE RULES and ROLLBACK SHARDGATE RULES
// under 32 clients writing and reading (plain statements, prepared ones
// and transactions across clusters) with no client error; a reload that
// adds a table, one that adds a replica, one that replaces every pool, a
// rollback; an invalid file, a resharding change and a restart-only
// change refused with the running version kept; SHOW SHARDGATE RULES; a
// user who is not admin refused.
func TestReloadRules(t *testing.T) {
	db := databaseOnPrimaries(t, "txn_reload")
	file := filepath.Join(t.TempDir(), "rules.yaml")
	write := func(yaml string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v1 := reloadRulesYAML(db, "127.0.0.1:3311", "", "64")
	write(v1)
	r, err := rules.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyParsed(t, r, nil)
	admin := p.open(t, db)
	admin.SetMaxOpenConns(1)
	for _, ddl := range []string{
		"CREATE TABLE items (id BIGINT PRIMARY KEY, n INT NOT NULL)",
		"CREATE TABLE orders (id BIGINT PRIMARY KEY, item BIGINT NOT NULL)",
	} {
		if _, err := admin.Exec(ddl); err != nil {
			t.Fatal(err)
		}
	}
	// The clients are other sessions: nothing makes their reads on the
	// replicas wait for the admin's CREATE TABLEs.
	waitTablesOnReplicas(t, db)

	// The load: each client inserts its own items (one at a time, and
	// two with an order in a transaction over s0, s1 and main's s1
	// table), reads them back on the replicas and the primary, and
	// counts; every error is the test's failure.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var ops, inserted atomic.Int64
	errs := make(chan error, 64)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	for c := 0; c < 32; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := sql.Open("mysql", p.dsn(db))
			if err != nil {
				fail(err)
				return
			}
			defer d.Close()
			d.SetMaxOpenConns(1)
			sel, err := d.Prepare("SELECT n FROM items WHERE id = ?")
			if err != nil {
				fail(err)
				return
			}
			defer sel.Close()
			for i := 0; !stop.Load(); i++ {
				id := int64(c)*1_000_000 + int64(i)*3
				if _, err := d.Exec("INSERT INTO items (id, n) VALUES (?, ?)", id, i); err != nil {
					fail(fmt.Errorf("client %d: insert %d: %w", c, id, err))
					return
				}
				var n int
				if err := sel.QueryRow(id).Scan(&n); err != nil || n != i {
					fail(fmt.Errorf("client %d: item %d read back %d, %v", c, id, n, err))
					return
				}
				tx, err := d.Begin()
				if err == nil {
					_, err = tx.Exec("INSERT INTO items (id, n) VALUES (?, ?), (?, ?)", id+1, i, id+2, i)
				}
				if err == nil {
					_, err = tx.Exec("INSERT INTO orders (id, item) VALUES (?, ?)", id, id+1)
				}
				if err == nil {
					err = tx.Commit()
				} else if tx != nil {
					tx.Rollback()
				}
				if err != nil {
					fail(fmt.Errorf("client %d: transaction %d: %w", c, id, err))
					return
				}
				inserted.Add(3)
				var count int
				if err := d.QueryRow("SELECT COUNT(*) FROM items WHERE id BETWEEN ? AND ?", id, id+2).Scan(&count); err != nil || count != 3 {
					fail(fmt.Errorf("client %d: %d items of 3 around %d, %v", c, count, id, err))
					return
				}
				ops.Add(5)
			}
		}()
	}
	pause := func() {
		// Long enough for every client to have run statements on the
		// version in force.
		start := ops.Load()
		for deadline := time.Now().Add(10 * time.Second); ops.Load() < start+200 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
	}
	reload := func(yaml string) string {
		t.Helper()
		write(yaml)
		if _, err := admin.Exec("RELOAD SHARDGATE RULES"); err != nil {
			t.Fatalf("RELOAD SHARDGATE RULES: %v", err)
		}
		pause()
		return running(t, admin)
	}
	pause()
	v2 := reloadRulesYAML(db, "127.0.0.1:3311, 127.0.0.1:3312", `
      extras: {shard: {by: hash, column: id, tables: 4, clusters: [s0, s1]}}`, "64")
	// A session that holds a temporary table (on main, which the first
	// reload changes) keeps it, and its connection, across every reload.
	keeper := p.open(t, db)
	keeper.SetMaxOpenConns(1)
	if _, err := keeper.Exec("CREATE TEMPORARY TABLE kept (a INT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := keeper.Exec("INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	before := p.router.Snapshot().Clusters
	if got := reload(v2); got != "2" {
		t.Fatalf("running version %s after the first reload", got)
	}
	// Unchanged servers keep their pools (no connection dropped, no
	// health check started over); main, with a replica more, gets new ones.
	after := p.router.Snapshot().Clusters
	if after["s0"] != before["s0"] || after["s1"] != before["s1"] || after["main"] == before["main"] || len(after["main"].Replicas) != 2 {
		t.Fatalf("clusters kept across the reload: s0 %v, s1 %v, main %v", after["s0"] == before["s0"], after["s1"] == before["s1"], after["main"] == before["main"])
	}
	if got := reload(strings.Replace(v2, "max_open: 64", "max_open: 48", 1)); got != "3" {
		t.Fatalf("running version %s after the second reload", got)
	}
	if _, err := admin.Exec("ROLLBACK SHARDGATE RULES TO 2"); err != nil {
		t.Fatalf("ROLLBACK SHARDGATE RULES TO 2: %v", err)
	}
	pause()

	// Refused reloads: the file as written and the reason in the error,
	// version 4 still serving.
	for _, tc := range []struct{ name, yaml, want string }{
		{"invalid YAML", v2 + "schemas: [\n", "rules.yaml"},
		{"unknown key", strings.Replace(v2, "pool: {max_open: 64}", "pool: {max_opn: 64}", 1), "max_opn"},
		{"resharding", strings.Replace(v2, "tables: 8", "tables: 16", 1), "resharding"},
		{"a removed table rule", strings.Replace(v2, "orders: {cluster: s1}", "", 1), "orders"},
		{"restart only", "listen: 127.0.0.1:3999\n" + v2, "restart"},
	} {
		write(tc.yaml)
		_, err := admin.Exec("RELOAD SHARDGATE RULES")
		if code, _, msg := mysqlErr(t, err); code != 1105 || !strings.Contains(msg, tc.want) || !strings.Contains(msg, "version 4 keeps serving") {
			t.Errorf("%s: RELOAD answered %d %q, want 1105 naming %q and version 4", tc.name, code, msg, tc.want)
		}
	}
	pause()
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d statements by 32 clients across 3 reloads and 5 refused ones", ops.Load())

	if got := running(t, admin); got != "4" {
		t.Fatalf("running version %s after the refused reloads, want 4", got)
	}
	rows := showRulesRows(t, admin)
	if len(rows) != 4 {
		t.Fatalf("SHOW SHARDGATE RULES: %d versions, want 4: %v", len(rows), rows)
	}
	for i, want := range []string{"start", "RELOAD SHARDGATE RULES by app@", "RELOAD SHARDGATE RULES by app@", "(back to version 2)"} {
		if !strings.Contains(rows[i]["source"], want) {
			t.Errorf("version %d: source %q, want %q in it", i+1, rows[i]["source"], want)
		}
	}
	if rows[1]["sha256"] != rows[3]["sha256"] || rows[1]["sha256"] == rows[0]["sha256"] || len(rows[0]["sha256"]) != 64 {
		t.Errorf("digests: %s %s %s %s", rows[0]["sha256"], rows[1]["sha256"], rows[2]["sha256"], rows[3]["sha256"])
	}
	if !strings.Contains(rows[1]["changes"], "table "+db+".extras added") || !strings.Contains(rows[1]["changes"], "cluster main: replicas") {
		t.Errorf("version 2's changes: %q", rows[1]["changes"])
	}

	var a int
	if err := keeper.QueryRow("SELECT a FROM kept").Scan(&a); err != nil || a != 7 {
		t.Fatalf("the temporary table after the reloads: %d, %v", a, err)
	}

	// The table version 2 added is sharded: its rows are on s0 and s1.
	if _, err := admin.Exec("CREATE TABLE extras (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("INSERT INTO extras VALUES (1), (2), (3), (4), (5), (6), (7), (8)"); err != nil {
		t.Fatal(err)
	}
	physical := 0
	for _, c := range []string{"s0", "s1"} {
		for n := 0; n < 4; n++ {
			var k int
			if err := direct(t, primaries[c], db).QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM extras_%d", n)).Scan(&k); err == nil {
				physical += k
			}
		}
	}
	if physical != 8 {
		t.Fatalf("%d rows of extras in its physical tables on s0 and s1, want 8", physical)
	}
	var count int64
	if err := admin.QueryRow("SELECT COUNT(*) FROM items").Scan(&count); err != nil || count != inserted.Load() {
		t.Fatalf("items: %d rows through the proxy, %d inserted, %v", count, inserted.Load(), err)
	}

	// Only admin users reload, roll back or list versions.
	nopass, err := sql.Open("mysql", "nopass:@tcp("+p.addr+")/"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer nopass.Close()
	for _, stmt := range []string{"RELOAD SHARDGATE RULES", "ROLLBACK SHARDGATE RULES", "SHOW SHARDGATE RULES"} {
		if code, _, msg := mysqlErr(t, execOrQuery(nopass, stmt)); code != 1227 {
			t.Errorf("%s by a user who is not admin: %d %s, want 1227", stmt, code, msg)
		}
	}
	if got := running(t, admin); got != "4" {
		t.Fatalf("running version %s after the refused statements", got)
	}
}

func execOrQuery(d *sql.DB, stmt string) error {
	if strings.HasPrefix(stmt, "SHOW") {
		rows, err := d.Query(stmt)
		if err == nil {
			rows.Close()
		}
		return err
	}
	_, err := d.Exec(stmt)
	return err
}

// showRulesRows is SHOW SHARDGATE RULES as one map per version.
func showRulesRows(t *testing.T, d *sql.DB) []map[string]string {
	t.Helper()
	return queryMaps(t, d, "SHOW SHARDGATE RULES")
}

// running is the version SHOW SHARDGATE RULES marks as running.
func running(t *testing.T, d *sql.DB) string {
	t.Helper()
	for _, r := range showRulesRows(t, d) {
		if r["running"] == "yes" {
			return r["version"]
		}
	}
	t.Fatal("SHOW SHARDGATE RULES marks no version as running")
	return ""
}

// waitTablesOnReplicas waits until every replica of main, s0 and s1 has
// the tables of database db its primary has.
func waitTablesOnReplicas(t *testing.T, db string) {
	t.Helper()
	count := func(addr string) int {
		var n int
		scan(t, direct(t, addr, ""), "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='"+db+"'", &n)
		return n
	}
	for primary, replicas := range map[string][]string{
		"127.0.0.1:3310": {"127.0.0.1:3311", "127.0.0.1:3312"},
		"127.0.0.1:3320": {"127.0.0.1:3321"},
		"127.0.0.1:3330": {"127.0.0.1:3331"},
	} {
		want := count(primary)
		for _, r := range replicas {
			eventually(t, 10*time.Second, db+"'s tables on replica "+r, func() bool { return count(r) == want })
		}
	}
}
