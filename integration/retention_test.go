package integration

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/shard"
)

// TestBucketRetention: buckets.retain removes exactly the buckets whose
// hour ended longer ago, dropped (archive: drop) or renamed (archive:
// rename) with their rows; SHOW SHARDGATE BUCKETS shows the dry run
// first; newer buckets, inside retain but outside the write window or
// inside it, stay and keep answering.
func TestBucketRetention(t *testing.T) {
	db := databaseOnPrimaries(t, "txn_retain")
	yaml := fmt.Sprintf(`users: [{name: app, password: app, admin: true}, {name: nopass, password: ""}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
bucket_refresh_interval: 1h
schemas:
  %s:
    cluster: main
    tables:
      events:
        shard: {by: hour, column: created_at, clusters: [s0, s1], then: {by: hash, column: id, tables: 2}}
        buckets: {past: 48h, future: 24h, retain: 72h}
      kept:
        shard: {by: hour, column: created_at, clusters: [s0, s1]}
        buckets: {past: 48h, future: 24h, retain: 72h, archive: rename}
transactions: {log_schema: %s}
`, db, testLogSchema)
	file := filepath.Join(t.TempDir(), "retain.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := rules.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyParsed(t, r, nil)
	app := p.open(t, db)
	app.SetMaxOpenConns(1)
	for _, ddl := range []string{
		"CREATE TABLE events (id INT NOT NULL, created_at DATETIME NOT NULL, PRIMARY KEY (id, created_at))",
		"CREATE TABLE kept (id INT NOT NULL, created_at DATETIME NOT NULL, PRIMARY KEY (id, created_at))",
	} {
		if _, err := app.Exec(ddl); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	hours := map[string]time.Duration{"expired1": 100 * time.Hour, "expired2": 80 * time.Hour, "retained": 60 * time.Hour}
	// Old buckets made on the shards directly (the write window refuses
	// them through the proxy), one row each.
	for _, table := range []string{"events", "kept"} {
		rule := r.Schemas[db].Tables[table]
		st := shard.Compile(table, rule.Shard, rule.Buckets)
		for _, ago := range hours {
			bucket := now.Add(-ago).Format("2006010215")
			for i, target := range st.BucketTargets(bucket, nil) {
				d := direct(t, primaries[target.Cluster], db)
				for _, stmt := range []string{
					fmt.Sprintf("CREATE TABLE %s LIKE %s", target.Table, st.TemplateTable()),
					fmt.Sprintf("INSERT INTO %s VALUES (%d, '%s')", target.Table, i+1, now.Add(-ago).Format("2006-01-02 15:04:05")),
				} {
					if _, err := d.Exec(stmt); err != nil {
						t.Fatalf("%s on %s: %v", stmt, target.Cluster, err)
					}
				}
			}
		}
		// And a row of the current hour, through the proxy.
		if _, err := app.Exec("INSERT INTO "+table+" VALUES (7, ?)", now.Format("2006-01-02 15:04:05")); err != nil {
			t.Fatal(err)
		}
	}
	// The proxy learns of buckets made behind its back at its next
	// refresh; a reload refreshes at once.
	if _, err := app.Exec("RELOAD SHARDGATE RULES"); err != nil {
		t.Fatal(err)
	}
	count := func(table string) int {
		t.Helper()
		var n int
		if err := app.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// events: 3 old buckets × 2 tables + 1; kept: 3 + 1.
	if e, k := count("events"), count("kept"); e != 7 || k != 4 {
		t.Fatalf("before the pass: events %d rows, kept %d", e, k)
	}
	expired := map[string]string{}
	for _, row := range queryMaps(t, app, "SHOW SHARDGATE BUCKETS") {
		expired[row["table"]] = row["expired"] + " " + row["retain"] + " " + row["archive"]
	}
	if expired["events"] != "2 72h0m0s drop" || expired["kept"] != "2 72h0m0s rename" {
		t.Fatalf("the dry run: %v", expired)
	}
	nopass, err := sql.Open("mysql", "nopass:@tcp("+p.addr+")/"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer nopass.Close()
	if code, _, _ := mysqlErr(t, resultErr(nopass.Exec("SHARDGATE EXPIRE BUCKETS"))); code != 1227 {
		t.Fatalf("a user who is not admin ran the pass: %d", code)
	}
	res, err := app.Exec("SHARDGATE EXPIRE BUCKETS")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 4 {
		t.Fatalf("%d buckets removed, want 4", n)
	}
	if e, k := count("events"), count("kept"); e != 3 || k != 2 {
		t.Fatalf("after the pass: events %d rows (want 3), kept %d (want 2)", e, k)
	}
	// On the shards: the expired tables gone or renamed with their rows,
	// the retained ones there.
	exists := func(cluster, table string) bool {
		var n int
		scan(t, direct(t, primaries[cluster], ""), "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='"+db+"' AND TABLE_NAME='"+table+"'", &n)
		return n == 1
	}
	for _, table := range []string{"events", "kept"} {
		rule := r.Schemas[db].Tables[table]
		st := shard.Compile(table, rule.Shard, rule.Buckets)
		for name, ago := range hours {
			for _, target := range st.BucketTargets(now.Add(-ago).Format("2006010215"), nil) {
				gone := strings.HasPrefix(name, "expired")
				if exists(target.Cluster, target.Table) == gone {
					t.Errorf("%s (%s): exists %v after the pass", target.Table, name, !gone)
				}
				if archived := exists(target.Cluster, "archived_"+target.Table); archived != (gone && table == "kept") {
					t.Errorf("archived_%s: exists %v", target.Table, archived)
				}
			}
		}
	}
	for _, row := range queryMaps(t, app, "SHOW SHARDGATE BUCKETS") {
		if row["expired"] != "0" {
			t.Errorf("after the pass: %v", row)
		}
	}
	// A second pass finds nothing.
	if res, err := app.Exec("SHARDGATE EXPIRE BUCKETS"); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 0 {
		t.Fatalf("the second pass removed %d", n)
	}
}
