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
)

// TestTwoInstancesReloaded: N+1. Two proxy instances serve one cluster
// from one rules file; the file gains a sharded table with a sequence and
// an hourly table, both instances reload it, and then each writes half the
// rows: both answer every read identically (the other's new buckets and
// rows included, once bucket_recheck_interval has passed) and the
// sequence's ids from both are distinct.
func TestTwoInstancesReloaded(t *testing.T) {
	db := databaseOnPrimaries(t, "txn_twoinst")
	base := fmt.Sprintf(`users: [{name: app, password: app, admin: true}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
bucket_recheck_interval: 200ms
schemas:
  %s:
    cluster: main
    tables:
      notes: {cluster: s1}
transactions: {log_schema: %s}
`, db, testLogSchema)
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	var proxies []*proxy
	for range 2 {
		r, err := rules.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		proxies = append(proxies, startProxyParsed(t, r, nil))
	}
	a, b := proxies[0].open(t, db), proxies[1].open(t, db)
	a.SetMaxOpenConns(1)
	b.SetMaxOpenConns(1)
	grown := strings.Replace(base, "      notes: {cluster: s1}\n", `      notes: {cluster: s1}
      likes:
        shard: {by: hash, column: user_id, tables: 4, clusters: [s0, s1]}
        sequence: {column: id, cache: 7}
      visits:
        shard: {by: hour, column: at, clusters: [s0, s1]}
`, 1)
	if err := os.WriteFile(file, []byte(grown), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec("RELOAD SHARDGATE RULES"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec("RELOAD SHARDGATE RULES"); err != nil {
		t.Fatal(err)
	}
	for _, ddl := range []string{
		"CREATE TABLE likes (id BIGINT PRIMARY KEY, user_id INT NOT NULL)",
		"CREATE TABLE visits (id INT NOT NULL, at DATETIME NOT NULL, PRIMARY KEY (id, at))",
	} {
		if _, err := a.Exec(ddl); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().Truncate(time.Hour)
	for i := 0; i < 40; i++ {
		d := a
		if i%2 == 1 {
			d = b
		}
		if _, err := d.Exec("INSERT INTO likes (user_id) VALUES (?), (?)", i, i+100); err != nil {
			t.Fatal(err)
		}
		// Hours the other instance has not seen: its buckets are new.
		at := now.Add(-time.Duration(i) * time.Hour).Format("2006-01-02 15:04:05")
		if _, err := d.Exec("INSERT INTO visits VALUES (?, ?)", i, at); err != nil {
			t.Fatal(err)
		}
	}
	// An instance looks for buckets it does not know at most once per
	// bucket_recheck_interval per table: the other's new hours are seen
	// within it (README: N+1), not at once.
	time.Sleep(300 * time.Millisecond)
	for _, q := range []string{
		"SELECT COUNT(*), MIN(id) > 0 FROM likes",
		"SELECT COUNT(DISTINCT id) FROM likes",
		"SELECT COUNT(*), MIN(at), MAX(at) FROM visits",
		"SELECT id FROM visits ORDER BY at",
		"SELECT user_id FROM likes ORDER BY user_id",
	} {
		// Each instance reads on the primaries (in a transaction): what the
		// other wrote a moment ago, whatever the replicas' delay.
		ra, rb := readInTxn(t, a, q), readInTxn(t, b, q)
		if ra != rb {
			t.Errorf("%s:\n  instance a: %s\n  instance b: %s", q, ra, rb)
		}
	}
	if got := readInTxn(t, a, "SELECT COUNT(*) FROM likes") + " " + readInTxn(t, a, "SELECT COUNT(DISTINCT id) FROM likes"); got != "'80' '80'" {
		t.Fatalf("likes: rows and distinct ids %s, want 80 and 80", got)
	}
}

// readInTxn runs q inside a transaction (on the primaries) and returns its
// rows as text.
func readInTxn(t *testing.T, d *sql.DB, q string) string {
	t.Helper()
	tx, err := d.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	r := resultOf(rows)
	if r.err != nil {
		t.Fatalf("%s: %v", q, r.err)
	}
	return strings.Join(r.rows, "; ")
}
