package integration

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/rules"
)

// review4Proxy starts a proxy on reloadRulesYAML's rules for a fresh
// database (items sharded over s0/s1, orders on s1, the rest on main) and
// makes the unsharded table notes and an admin and an app connection.
func review4Proxy(t *testing.T, prefix string) (db string, admin, app *sql.Conn) {
	t.Helper()
	db = databaseOnPrimaries(t, prefix)
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte(reloadRulesYAML(db, "127.0.0.1:3311", "", "16")), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := rules.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyParsed(t, r, nil)
	conn := func() *sql.Conn {
		c, err := p.open(t, db).Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	admin, app = conn(), conn()
	for _, stmt := range []string{
		"CREATE TABLE notes (id INT PRIMARY KEY)",
		"INSERT INTO notes VALUES (1)",
	} {
		if _, err := app.ExecContext(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	// A procedure that writes notes, made on main's primary directly.
	if _, err := direct(t, primaries["main"], db).Exec("CREATE PROCEDURE addnote(n INT) INSERT INTO notes VALUES (n)"); err != nil {
		t.Fatal(err)
	}
	return db, admin, app
}

func review4Code(err error) uint16 {
	if me, ok := err.(*mysql.MySQLError); ok {
		return me.Number
	}
	return 0
}

// TestReview4SwitchBypass: statement forms that reach a switched schema
// or a blocked fingerprint without naming it in a way the switch check
// saw: SQL-level PREPARE/EXECUTE (prepared before or after the switch),
// CALL of a procedure in the schema, a database qualifier on a blocked
// statement. Each must be refused and leave notes unchanged.
func TestReview4SwitchBypass(t *testing.T) {
	ctx := context.Background()
	db, admin, app := review4Proxy(t, "txn_review4sw")
	set := func(stmt string) {
		t.Helper()
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	count := func() int {
		t.Helper()
		var n int
		if err := direct(t, primaries["main"], db).QueryRow("SELECT COUNT(*) FROM notes").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// refused runs the statements in order on app; one of them must fail
	// with code, and notes must keep its rows.
	refused := func(name string, code uint16, stmts ...string) {
		t.Helper()
		before := count()
		var got uint16
		for _, stmt := range stmts {
			if _, err := app.ExecContext(ctx, stmt); err != nil {
				got = review4Code(err)
				if got == 0 {
					t.Fatalf("%s: %s: %v", name, stmt, err)
				}
				break
			}
		}
		if got != code {
			t.Errorf("%s: error %d, want %d", name, got, code)
		}
		if after := count(); after != before {
			t.Errorf("%s: notes went from %d to %d rows through the switch", name, before, after)
		}
		app.ExecContext(ctx, "DEALLOCATE PREPARE s")
	}

	// Prepared before any switch: EXECUTE must meet the switch set since.
	if _, err := app.ExecContext(ctx, "PREPARE early FROM 'INSERT INTO notes VALUES (7)'"); err != nil {
		t.Fatal(err)
	}
	set("SHARDGATE READ_ONLY " + db)
	refused("PREPARE/EXECUTE under read_only", 1290, "PREPARE s FROM 'INSERT INTO notes VALUES (2)'", "EXECUTE s")
	refused("EXECUTE of a statement prepared before read_only", 1290, "EXECUTE early")
	refused("CALL under read_only", 1290, "CALL addnote(3)")
	refused("qualified CALL under read_only", 1290, "CALL "+db+".addnote(3)")
	// Reads still pass, prepared at SQL level too.
	for _, stmt := range []string{"PREPARE r FROM 'SELECT COUNT(*) FROM notes'", "EXECUTE r", "DEALLOCATE PREPARE r"} {
		if _, err := app.ExecContext(ctx, stmt); err != nil {
			t.Errorf("%s under read_only: %v", stmt, err)
		}
	}
	set("SHARDGATE CLEAR ALL")

	set("SHARDGATE OFFLINE " + db)
	refused("CALL under offline", 1105, "CALL addnote(4)")
	refused("PREPARE/EXECUTE under offline", 1105, "PREPARE s FROM 'INSERT INTO notes VALUES (4)'", "EXECUTE s")
	set("SHARDGATE CLEAR ALL")

	set("SHARDGATE BLOCK 'DELETE FROM notes WHERE id = 1'")
	refused("blocked statement by PREPARE/EXECUTE", 1105, "PREPARE s FROM 'DELETE FROM notes WHERE id = 1'", "EXECUTE s")
	refused("blocked statement, backquoted and upper case", 1105, "DELETE FROM `NOTES` WHERE ID = 1")
	refused("blocked statement with the current database's qualifier", 1105, "DELETE FROM "+db+".notes WHERE id = 1")
	set("SHARDGATE CLEAR ALL")
	if _, err := app.ExecContext(ctx, "EXECUTE early"); err != nil {
		t.Errorf("EXECUTE after the switches were cleared: %v", err)
	}
}

// TestReview4ExecuteImmediate: MariaDB's EXECUTE IMMEDIATE 'text' runs
// text the proxy sees only as a string literal. From a database the user
// may use, it must not reach another database: one the user may not see,
// one switched read_only, or a table the proxy routes.
func TestReview4ExecuteImmediate(t *testing.T) {
	ctx := context.Background()
	a, b := uniqueName("txn_review4a"), uniqueName("txn_review4b")
	for _, db := range []string{a, b} {
		if _, err := direct(t, primaries["main"], "").Exec("CREATE DATABASE " + db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { direct(t, primaries["main"], "").Exec("DROP DATABASE IF EXISTS " + db) })
		if _, err := direct(t, primaries["main"], db).Exec("CREATE TABLE notes (id INT PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "rules.yaml")
	yaml := "users:\n  - {name: app, password: app, admin: true}\n  - {name: aonly, password: apw, schemas: [" + a + "]}\n" +
		"backend: {user: app, password: app}\nclusters:\n  main: {primary: 127.0.0.1:3310}\n" +
		"schemas:\n  " + a + ": {cluster: main}\n  " + b + ": {cluster: main}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := rules.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyParsed(t, r, nil)
	count := func() int {
		t.Helper()
		var n int
		if err := direct(t, primaries["main"], b).QueryRow("SELECT COUNT(*) FROM notes").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	open := func(user string) *sql.Conn {
		d, err := sql.Open("mysql", user+"@tcp("+p.addr+")/"+a)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		c, err := d.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	admin, app, aonly := open("app:app"), open("app:app"), open("aonly:apw")
	for _, tc := range []struct {
		name string
		conn *sql.Conn
		stmt string
	}{
		{"user limited to " + a, aonly, "EXECUTE IMMEDIATE 'INSERT INTO " + b + ".notes VALUES (1)'"},
		{"user limited to " + a + ", text from CONCAT", aonly, "EXECUTE IMMEDIATE CONCAT('INSERT INTO ', '" + b + "', '.notes VALUES (2)')"},
		{"user limited to " + a + ", PREPARE from an expression", aonly, "PREPARE s FROM CONCAT('INSERT INTO ', '" + b + "', '.notes VALUES (4)')\nEXECUTE s"},
		{b + " read_only", app, "EXECUTE IMMEDIATE 'INSERT INTO " + b + ".notes VALUES (3)'"},
		{b + " read_only, PREPARE from a variable", app, "SET @q = 'INSERT INTO " + b + ".notes VALUES (5)'\nPREPARE s FROM @q\nEXECUTE s"},
	} {
		if tc.name == b+" read_only" {
			if _, err := admin.ExecContext(ctx, "SHARDGATE READ_ONLY "+b); err != nil {
				t.Fatal(err)
			}
		}
		before := count()
		var err error
		for _, stmt := range strings.Split(tc.stmt, "\n") {
			if _, err = tc.conn.ExecContext(ctx, stmt); err != nil {
				break
			}
		}
		if err == nil {
			t.Errorf("%s: %s ran", tc.name, tc.stmt)
		}
		if after := count(); after != before {
			t.Errorf("%s: %s wrote %s.notes (%d rows, was %d)", tc.name, tc.stmt, b, after, before)
		}
	}
}

// TestReview4MultiStatementQPS: max_qps counts every statement of a
// multi-statement query, as MariaDB counts them; one query of many
// statements is not one statement's worth.
func TestReview4MultiStatementQPS(t *testing.T) {
	db := uniqueName("txn_review4q")
	if _, err := direct(t, primaries["main"], "").Exec("CREATE DATABASE " + db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct(t, primaries["main"], "").Exec("DROP DATABASE IF EXISTS " + db) })
	file := filepath.Join(t.TempDir(), "rules.yaml")
	yaml := "users:\n  - {name: app, password: app, admin: true}\n  - {name: lim, password: lpw, max_qps: 5}\n" +
		"backend: {user: app, password: app}\nclusters:\n  main: {primary: 127.0.0.1:3310}\n" +
		"schemas:\n  " + db + ": {cluster: main}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := rules.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyParsed(t, r, nil)
	d, err := sql.Open("mysql", "lim:lpw@tcp("+p.addr+")/"+db+"?multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The bucket holds one statement (a tenth of 5/s); 40 statements in
	// one query are 8 seconds' worth.
	_, err = d.Exec(strings.Repeat("DO 1;", 39) + "DO 1")
	if code := review4Code(err); code != 1226 {
		t.Errorf("40 statements in one query under max_qps 5: error %v, want 1226", err)
	}
}

// TestReview4ReloadLongTransaction: a transaction open across a reload
// that replaces every pool finishes on the snapshot it began with, even
// when it reaches a further cluster after the old pools' drain grace
// (shutdown_timeout) has passed; its statements must not fail for it.
func TestReview4ReloadLongTransaction(t *testing.T) {
	ctx := context.Background()
	db := databaseOnPrimaries(t, "txn_review4r")
	file := filepath.Join(t.TempDir(), "rules.yaml")
	write := func(pool string) {
		if err := os.WriteFile(file, []byte(reloadRulesYAML(db, "127.0.0.1:3311", "", pool)+"shutdown_timeout: 500ms\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("16")
	r, err := rules.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyParsed(t, r, nil)
	d := p.open(t, db)
	for _, stmt := range []string{
		"CREATE TABLE items (id BIGINT PRIMARY KEY, n INT NOT NULL)",
		"CREATE TABLE notes (id INT PRIMARY KEY)",
	} {
		if _, err := d.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	c, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "INSERT INTO notes VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	write("17") // every pool replaced
	if _, err := d.Exec("RELOAD SHARDGATE RULES"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // past the old pools' grace
	_, err1 := c.ExecContext(ctx, "INSERT INTO items (id, n) VALUES (1, 1), (2, 2), (3, 3), (4, 4)")
	_, err2 := c.ExecContext(ctx, "COMMIT")
	var notes, items int
	direct(t, primaries["main"], db).QueryRow("SELECT COUNT(*) FROM notes").Scan(&notes)
	d.QueryRow("SELECT COUNT(*) FROM items").Scan(&items)
	if err1 != nil || err2 != nil {
		t.Errorf("a transaction open across a reload: INSERT %v, COMMIT %v (notes %d rows, items %d)", err1, err2, notes, items)
	}
	if err1 == nil && err2 == nil && (notes != 1 || items != 4) {
		t.Errorf("a transaction open across a reload committed, leaving notes %d rows, items %d", notes, items)
	}
}

// TestReview4SlowMultiStatement: a slow multi-statement query is logged
// as the statements it ran together, not as its last one: "DO SLEEP(1);
// SELECT 1" logged as "SELECT 1" for a second sends the operator to block
// the wrong statement.
func TestReview4SlowMultiStatement(t *testing.T) {
	db := uniqueName("txn_review4s")
	if _, err := direct(t, primaries["main"], "").Exec("CREATE DATABASE " + db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct(t, primaries["main"], "").Exec("DROP DATABASE IF EXISTS " + db) })
	logFile := filepath.Join(t.TempDir(), "slow.log")
	yaml := "users:\n  - {name: app, password: app, admin: true}\nbackend: {user: app, password: app}\n" +
		"clusters:\n  main: {primary: 127.0.0.1:3310}\nschemas:\n  " + db + ": {cluster: main}\n" +
		"slow_log: {file: " + logFile + ", time: 300ms}\n"
	r, err := rules.Parse("slow.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyParsed(t, r, nil)
	d := p.open(t, db, "multiStatements=true")
	if _, err := d.Exec("DO SLEEP(0.5); SELECT 1"); err != nil {
		t.Fatal(err)
	}
	// The proxy writes the line after the last answer went out.
	var data []byte
	for deadline := time.Now().Add(5 * time.Second); len(data) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, _ = os.ReadFile(logFile)
	}
	if !strings.Contains(string(data), "SLEEP") {
		t.Errorf("the slow log does not name the statement that slept: %s", data)
	}
}
