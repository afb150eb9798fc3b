package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/slowlog"
)

// TestSlowLog: a SLEEP(1) over slow_log.time is written to the file as one
// JSON line (user, fingerprint, duration, route, tables) and counted in
// SHOW SHARDGATE SLOW; a fast statement is not; SHARDGATE SLOW_QUERY_TIME
// lowers the threshold at runtime; prepared statements and a sharded
// table's pinned read are caught alike.
func TestSlowLog(t *testing.T) {
	db := databaseOnPrimaries(t, "txn_slow")
	logFile := filepath.Join(t.TempDir(), "slow.log")
	yaml := reloadRulesYAML(db, "127.0.0.1:3311", "", "64") + "slow_log: {file: " + logFile + ", time: 800ms}\n"
	r, err := rules.Parse("slow.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyParsed(t, r, nil)
	app := p.open(t, db)
	app.SetMaxOpenConns(1)
	for _, stmt := range []string{
		"CREATE TABLE items (id BIGINT PRIMARY KEY, n INT NOT NULL)",
		"INSERT INTO items VALUES (1, 1), (2, 2)",
		"SELECT SLEEP(1)",
		"SELECT 1",
		"SELECT SLEEP(0.5)", // under 800ms
	} {
		if _, err := app.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	var x int
	if err := app.QueryRow("SELECT SLEEP(?) FROM items WHERE id = ?", 0.9, 2).Scan(&x); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec("SHARDGATE SLOW_QUERY_TIME 0.2"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec("SELECT SLEEP(0.3)"); err != nil {
		t.Fatal(err)
	}
	rows := queryMaps(t, app, "SHOW SHARDGATE SLOW")
	counts := map[string]string{}
	for _, r := range rows {
		counts[r["fingerprint"]] = r["count"]
	}
	if len(rows) != 2 || counts["select `sleep` ( ? )"] != "2" || counts["select `sleep` ( ? ) from `items` where `id` = ?"] != "1" {
		t.Fatalf("SHOW SHARDGATE SLOW: %v", rows)
	}
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []slowlog.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e slowlog.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		lines = append(lines, e)
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines in the slow log, want 3: %+v", len(lines), lines)
	}
	first, pinned := lines[0], lines[1]
	if first.Statement != "SELECT SLEEP(1)" || first.DurationMS < 1000 || first.User != "app" || first.Schema != db || first.Kind != "select" || first.Rows != 1 {
		t.Errorf("first line: %+v", first)
	}
	if !strings.Contains(pinned.Statement, "FROM items WHERE id") || pinned.Route != "replica" || len(pinned.Tables) != 1 || pinned.Tables[0] != db+".items" ||
		pinned.Rows != 1 || len(pinned.Clusters) != 1 || (pinned.Clusters[0] != "s0" && pinned.Clusters[0] != "s1") {
		t.Errorf("the prepared read of a sharded table: %+v", pinned)
	}
	if lines[2].DurationMS < 300 || lines[2].DurationMS > 800 {
		t.Errorf("the statement caught under the lowered threshold: %+v", lines[2])
	}
}
