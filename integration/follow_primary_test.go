package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/rules"
)

// TestFollowPrimary: a cluster whose configured primary is not writable
// (s1's replica: read_only, replicating) and whose listed replica is
// (ref: read_only off, replicating from nowhere), as after a promotion the
// rules file does not know yet. Writes first get the server's 1290; within
// two health checks the proxy follows the writable server, writes land
// there, and a reload of the unchanged file keeps following it. Nothing
// of the shared cluster's topology changes.
func TestFollowPrimary(t *testing.T) {
	db := uniqueName("txn_follow")
	for _, addr := range []string{primaries["s1"], refServer} {
		d := direct(t, addr, "")
		for _, stmt := range []string{"CREATE DATABASE " + db, "CREATE TABLE " + db + ".t (id INT PRIMARY KEY)"} {
			if _, err := d.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { direct(t, addr, "").Exec("DROP DATABASE IF EXISTS " + db) })
	}
	replica := direct(t, "127.0.0.1:3331", "")
	eventually(t, 10*time.Second, "the table on s1's replica", func() bool {
		var n int
		scan(t, replica, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='"+db+"'", &n)
		return n == 1
	})
	yaml := fmt.Sprintf(`users: [{name: app, password: app, admin: true}]
backend: {user: app, password: app}
clusters:
  x: {primary: 127.0.0.1:3331, replicas: [%s]}
health_interval: 200ms
schemas:
  %s: {cluster: x, transactions: single}
`, refServer, db)
	file := filepath.Join(t.TempDir(), "rules.yaml")
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
	// Before the proxy follows: the read-only server refuses the write.
	if _, err := app.Exec("INSERT INTO t VALUES (1)"); err != nil {
		if code, _, _ := mysqlErr(t, err); code != 1290 {
			t.Fatalf("a write to the read-only primary: %v", err)
		}
	} else if len(queryMaps(t, app, "SHOW SHARDGATE RULES")) == 1 {
		t.Fatal("a write succeeded on a read-only primary")
	}
	eventually(t, 10*time.Second, "the proxy following the writable server", func() bool {
		for _, row := range queryMaps(t, app, "SHOW SHARDGATE BACKENDS") {
			if row["role"] == "primary" {
				return row["address"] == refServer
			}
		}
		return false
	})
	rows := queryMaps(t, app, "SHOW SHARDGATE RULES")
	if last := rows[len(rows)-1]; !strings.Contains(last["source"], "primary of x followed: "+refServer+" is writable, 127.0.0.1:3331 is not") {
		t.Fatalf("the version that followed: %v", last)
	}
	if _, err := app.Exec("INSERT INTO t VALUES (2)"); err != nil {
		t.Fatalf("a write after the proxy followed: %v", err)
	}
	var n int
	scan(t, direct(t, refServer, db), "SELECT COUNT(*) FROM t WHERE id = 2", &n)
	if n != 1 {
		t.Fatal("the write did not land on the new primary")
	}
	// The file still names the former primary: a reload keeps following.
	if _, err := app.Exec("RELOAD SHARDGATE RULES"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec("INSERT INTO t VALUES (3)"); err != nil {
		t.Fatalf("a write after reloading the stale file: %v", err)
	}
	scan(t, direct(t, refServer, db), "SELECT COUNT(*) FROM t WHERE id = 3", &n)
	if n != 1 {
		t.Fatal("after the reload the write did not land on the followed primary")
	}
}
