package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gmclient "github.com/go-mysql-org/go-mysql/client"
	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/metrics"
	"github.com/shardgate/shardgate/protocol"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
)

// Users as the rules declare them, attacked through the proxy: schemas a
// user may not reach, writes by a read_only user, logins from hosts a user
// may not come from, administrative statements of a non-admin, password
// guessing, a hashed password. Only loopback addresses are used: a client
// picks its source address (127.0.0.1, .2, .3) with a dialer of its own.

var registerDialers sync.Once

// fromHost is the go-sql-driver network name that connects from ip.
func fromHost(ip string) string {
	registerDialers.Do(func() {
		for _, last := range []string{"1", "2", "3"} {
			local := &net.TCPAddr{IP: net.ParseIP("127.0.0." + last)}
			mysql.RegisterDialContext("from127_0_0_"+last, func(ctx context.Context, addr string) (net.Conn, error) {
				d := net.Dialer{LocalAddr: local, Timeout: 10 * time.Second}
				return d.DialContext(ctx, "tcp", addr)
			})
		}
	})
	return "from" + strings.ReplaceAll(ip, ".", "_")
}

// usersProxy is a proxy with metrics and a log the test can read.
type usersProxy struct {
	*proxy
	metrics *metrics.Metrics
	mu      sync.Mutex
	log     bytes.Buffer
}

func (p *usersProxy) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

func (p *usersProxy) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *usersProxy) scrape(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	p.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func startUsersProxy(t *testing.T, rulesYAML string) *usersProxy {
	t.Helper()
	r, err := rules.Parse("users-rules.yaml", []byte(rulesYAML))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &usersProxy{}
	rt := router.New(r, nil)
	up.metrics = metrics.New(rt.BackendStats)
	rt.Metrics = up.metrics
	rt.Start()
	srv, err := protocol.NewServer(r, rt, slog.New(slog.NewTextHandler(up, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	up.proxy = &proxy{addr: ln.Addr().String(), srv: srv, router: rt}
	t.Cleanup(func() {
		srv.Shutdown(t.Context())
		rt.Close()
	})
	return up
}

// usersEnv has two schemas of its own: X (notes unsharded on main, posts
// hash-sharded over s0 and s1) and Y (notes on main).
type usersEnv struct {
	x, y string
	p    *usersProxy
}

func userHash(pw string) string {
	s1 := sha1.Sum([]byte(pw))
	s2 := sha1.Sum(s1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(s2[:]))
}

// newUsersEnv starts a proxy whose users: entries users writes, given the
// two schemas' names.
func newUsersEnv(t *testing.T, users func(x, y string) string, extra string) *usersEnv {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	e := &usersEnv{x: "usr_x" + hex.EncodeToString(b), y: "usr_y" + hex.EncodeToString(b)}
	for _, db := range []string{e.x, e.y} {
		for cluster, addr := range primaries {
			if db == e.y && cluster != "main" {
				continue
			}
			root := direct(t, addr, "")
			if _, err := root.Exec("CREATE DATABASE " + db); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { root.Exec("DROP DATABASE IF EXISTS " + db) })
		}
		if _, err := direct(t, mainPrimary, db).Exec("CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(20))"); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range []string{"s0", "s1"} {
		if _, err := direct(t, primaries[c], e.x).Exec(fmt.Sprintf("CREATE TABLE posts_%d (id INT PRIMARY KEY, pid INT, body VARCHAR(20))", i)); err != nil {
			t.Fatal(err)
		}
	}
	e.p = startUsersProxy(t, fmt.Sprintf(`
users:
%s
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
  %s:
    cluster: main
    tables:
      posts:
        shard: {by: hash, column: pid, tables: 2, clusters: [s0, s1]}
  %s:
    cluster: main
%s`, users(e.x, e.y), e.x, e.y, extra))
	syncReplicas(t)
	return e
}

// open connects as user from host (127.0.0.x) to database db.
func (e *usersEnv) open(t *testing.T, host, user, pw, db string, params ...string) *sql.DB {
	t.Helper()
	dsn := fmt.Sprintf("%s:%s@%s(%s)/%s", user, pw, fromHost(host), e.p.addr, db)
	if len(params) > 0 {
		dsn += "?" + strings.Join(params, "&")
	}
	d, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// login makes one new connection and reports its error (nil: logged in).
func (e *usersEnv) login(t *testing.T, host, user, pw, db string) error {
	t.Helper()
	d := e.open(t, host, user, pw, db)
	defer d.Close()
	return d.Ping()
}

// wantErr fails unless err is MySQL error code whose message contains msg.
func wantErr(t *testing.T, what string, err error, code uint16, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want error %d", what, code)
	}
	got, _, text := mysqlErr(t, err)
	if got != code || !strings.Contains(text, msg) {
		t.Fatalf("%s: %v, want error %d containing %q", what, err, code, msg)
	}
}

// A user restricted to one schema reaches nothing else: not by USE,
// COM_INIT_DB, the handshake's database, qualified names in text or
// prepared statements, SHOW TABLES FROM or SQL-level PREPARE; SHOW
// DATABASES lists only its schema. A user with every schema reaches both.
func TestUsersSchemas(t *testing.T) {
	e := newUsersEnv(t, func(x, y string) string {
		return "  - {name: app, password: app}\n  - {name: xonly, password: xpw, schemas: [" + x + "]}\n"
	}, "")
	if _, err := direct(t, mainPrimary, e.y).Exec("INSERT INTO notes VALUES (1, 'secret')"); err != nil {
		t.Fatal(err)
	}
	syncReplicas(t)
	denied := fmt.Sprintf("Access denied for user 'xonly'@'127.0.0.1' to database '%s'", e.y)

	xonly := e.open(t, "127.0.0.1", "xonly", "xpw", e.x)
	xonly.SetMaxOpenConns(1)
	prepared := e.open(t, "127.0.0.1", "xonly", "xpw", e.x) // server-side prepared statements
	inlined := e.open(t, "127.0.0.1", "xonly", "xpw", e.x, "interpolateParams=true")
	var n int
	scan(t, xonly, "SELECT COUNT(*) FROM notes", &n) // its own schema works
	for _, q := range []string{
		"USE " + e.y,
		"SELECT body FROM " + e.y + ".notes",
		"SELECT n.body FROM notes JOIN " + e.y + ".notes n USING (id)",
		"SELECT body FROM notes WHERE id IN (SELECT id FROM " + e.y + ".notes)",
		"INSERT INTO notes SELECT * FROM " + e.y + ".notes",
		"UPDATE " + e.y + ".notes SET body = 'x'",
		"DELETE FROM " + e.y + ".notes",
		"CREATE TABLE " + e.y + ".evil (id INT)",
		"SHOW TABLES FROM " + e.y,
		"SHOW COLUMNS FROM notes FROM " + e.y,
		"PREPARE s FROM 'SELECT body FROM " + e.y + ".notes'",
		"CREATE DATABASE " + e.y + "_new",
	} {
		_, err := xonly.Exec(q)
		if strings.HasPrefix(q, "CREATE DATABASE") {
			wantErr(t, q, err, 1044, "Access denied for user 'xonly'@'127.0.0.1' to database '"+e.y+"_new'")
			continue
		}
		wantErr(t, q, err, 1044, denied)
	}
	// LOAD DATA LOCAL into the other schema: refused before the file is
	// asked for, nothing written there.
	path := filepath.Join(t.TempDir(), "load.tsv")
	if err := os.WriteFile(path, []byte("900\tloaded\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mysql.RegisterLocalFile(path)
	defer mysql.DeregisterLocalFile(path)
	for _, table := range []string{e.y + ".notes", "nosuchdb.notes"} {
		_, err := xonly.Exec("LOAD DATA LOCAL INFILE '" + path + "' INTO TABLE " + table)
		wantErr(t, "LOAD DATA into "+table, err, 1044, "to database '"+strings.Split(table, ".")[0]+"'")
	}
	scan(t, direct(t, mainPrimary, e.y), "SELECT COUNT(*) FROM notes WHERE id = 900", &n)
	if n != 0 {
		t.Fatalf("LOAD DATA into %s.notes wrote %d rows", e.y, n)
	}
	// Undeclared databases are refused the same way: nothing tells a
	// restricted user which exist.
	_, err := xonly.Exec("USE nosuchdb")
	wantErr(t, "USE nosuchdb", err, 1044, "to database 'nosuchdb'")
	for name, db := range map[string]*sql.DB{"prepared": prepared, "interpolated": inlined} {
		var body string
		err := db.QueryRow("SELECT body FROM "+e.y+".notes WHERE id = ?", 1).Scan(&body)
		wantErr(t, name+" SELECT", err, 1044, denied)
	}
	// The handshake's database, and COM_INIT_DB.
	wantErr(t, "handshake database", e.login(t, "127.0.0.1", "xonly", "xpw", e.y), 1044, denied)
	c, err := gmclient.Connect(e.p.addr, "xonly", "xpw", e.x)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.UseDB(e.y)
	if err == nil || !strings.Contains(err.Error(), "1044") {
		t.Fatalf("COM_INIT_DB %s: %v, want 1044", e.y, err)
	}
	// SHOW DATABASES lists what the user may reach.
	list := func(db *sql.DB) string {
		rows, err := db.Query("SHOW DATABASES")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var s string
			rows.Scan(&s)
			names = append(names, s)
		}
		return strings.Join(names, ",")
	}
	if got := list(xonly); got != "information_schema,"+e.x {
		t.Fatalf("xonly: SHOW DATABASES = %s", got)
	}
	app := e.open(t, "127.0.0.1", "app", "app", e.x)
	if got := list(app); !strings.Contains(got, e.x) || !strings.Contains(got, e.y) {
		t.Fatalf("app: SHOW DATABASES = %s", got)
	}
	var body string
	scan(t, app, "SELECT body FROM "+e.y+".notes", &body)
	if body != "secret" {
		t.Fatalf("app reads %q", body)
	}
}

// A read_only user reads, and every kind of write, on an unsharded and a
// sharded table, as text and as a prepared statement, is refused with the
// 1142 MariaDB gives a user without the privilege; nothing is stored.
func TestUsersReadOnly(t *testing.T) {
	e := newUsersEnv(t, func(x, y string) string {
		return "  - {name: app, password: app}\n  - {name: reader, password: rpw, read_only: true}\n"
	}, "")
	app := e.open(t, "127.0.0.1", "app", "app", e.x)
	for _, q := range []string{"INSERT INTO notes VALUES (1, 'a')", "INSERT INTO posts (id, pid, body) VALUES (1, 7, 'a')"} {
		if _, err := app.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	syncReplicas(t)
	reader := e.open(t, "127.0.0.1", "reader", "rpw", e.x)
	prepared := e.open(t, "127.0.0.1", "reader", "rpw", e.x)
	var n int
	scan(t, reader, "SELECT COUNT(*) FROM notes", &n)
	scan(t, reader, "SELECT COUNT(*) FROM posts WHERE pid = 7", &n)
	if n != 1 {
		t.Fatalf("reader sees %d posts", n)
	}
	denied := func(cmd, table string) string {
		return fmt.Sprintf("%s command denied to user 'reader'@'127.0.0.1' for table `%s`.`%s`", cmd, e.x, table)
	}
	cases := []struct{ q, cmd, table string }{
		{"INSERT INTO notes VALUES (2, 'b')", "INSERT", "notes"},
		{"REPLACE INTO notes VALUES (1, 'b')", "INSERT", "notes"},
		{"UPDATE notes SET body = 'b'", "UPDATE", "notes"},
		{"DELETE FROM notes", "DELETE", "notes"},
		{"INSERT INTO posts (id, pid, body) VALUES (2, 8, 'b')", "INSERT", "posts"},
		{"UPDATE posts SET body = 'b' WHERE pid = 7", "UPDATE", "posts"},
		{"DELETE FROM posts WHERE pid = 7", "DELETE", "posts"},
		{"CREATE TABLE evil (id INT)", "CREATE", "evil"},
		{"DROP TABLE notes", "DROP", "notes"},
		{"TRUNCATE TABLE posts", "DROP", "posts"},
		{"ALTER TABLE notes ADD COLUMN x INT", "ALTER", "notes"},
		{"CREATE INDEX i ON posts (body)", "INDEX", "posts"},
		{"PREPARE s FROM 'DELETE FROM notes'", "DELETE", "notes"},
	}
	for _, c := range cases {
		_, err := reader.Exec(c.q)
		wantErr(t, c.q, err, 1142, denied(c.cmd, c.table))
	}
	for _, c := range []struct{ q, cmd, table string }{
		{"INSERT INTO notes VALUES (?, ?)", "INSERT", "notes"},
		{"UPDATE notes SET body = ? WHERE id = ?", "UPDATE", "notes"},
		{"INSERT INTO posts (id, pid, body) VALUES (?, 9, ?)", "INSERT", "posts"},
		{"DELETE FROM posts WHERE pid = ? OR id = ?", "DELETE", "posts"},
	} {
		_, err := prepared.Exec(c.q, 3, "c")
		wantErr(t, "prepared "+c.q, err, 1142, denied(c.cmd, c.table))
	}
	_, err := reader.Exec("CREATE DATABASE usr_evil")
	wantErr(t, "CREATE DATABASE", err, 1044, "to database 'usr_evil'")
	_, err = reader.Exec("CALL p()")
	wantErr(t, "CALL", err, 1370, "execute command denied to user 'reader'")
	// Nothing changed.
	var notes, posts int
	scan(t, app, "SELECT COUNT(*) FROM notes WHERE body = 'a'", &notes)
	scan(t, app, "SELECT COUNT(*) FROM posts WHERE body = 'a'", &posts)
	if notes != 1 || posts != 1 {
		t.Fatalf("after the refused writes: %d notes, %d posts", notes, posts)
	}
	// app, not read_only, writes.
	if _, err := app.Exec("UPDATE notes SET body = 'z' WHERE id > 0"); err != nil {
		t.Fatal(err)
	}
}

// Administrative statements are for admin users: SHOW SHARDGATE BACKENDS
// and FLUSH HOSTS from any other user get 1227.
func TestUsersAdmin(t *testing.T) {
	e := newUsersEnv(t, func(x, y string) string {
		return "  - {name: ops, password: ops, admin: true}\n  - {name: app, password: app}\n"
	}, "")
	app := e.open(t, "127.0.0.1", "app", "app", e.x)
	_, err := app.Exec("SHOW SHARDGATE BACKENDS")
	wantErr(t, "SHOW SHARDGATE BACKENDS", err, 1227, "Access denied; you need (at least one of) the SUPER privilege(s) for this operation")
	_, err = app.Exec("FLUSH HOSTS")
	wantErr(t, "FLUSH HOSTS", err, 1227, "the RELOAD privilege(s)")
	ops := e.open(t, "127.0.0.1", "ops", "ops", e.x)
	rows, err := ops.Query("SHOW SHARDGATE BACKENDS")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if n != 7 {
		t.Fatalf("SHOW SHARDGATE BACKENDS: %d rows", n)
	}
}

// Hosts: a user may log in only from its hosts; from elsewhere it does not
// exist (1045, even with the right password). A host no user may come from
// is refused before the greeting (1130).
func TestLoginHosts(t *testing.T) {
	e := newUsersEnv(t, func(x, y string) string {
		return "  - {name: app, password: app, hosts: [127.0.0.1, 127.0.0.3]}\n  - {name: two, password: two, hosts: [127.0.0.2]}\n  - {name: net, password: net, hosts: [127.0.0.0/30]}\n"
	}, "")
	if err := e.login(t, "127.0.0.2", "two", "two", e.x); err != nil {
		t.Fatalf("two from 127.0.0.2: %v", err)
	}
	wantErr(t, "two from 127.0.0.1", e.login(t, "127.0.0.1", "two", "two", e.x), 1045, "Access denied for user 'two'@'127.0.0.1' (using password: YES)")
	wantErr(t, "app from 127.0.0.2", e.login(t, "127.0.0.2", "app", "app", e.x), 1045, "Access denied for user 'app'@'127.0.0.2'")
	if err := e.login(t, "127.0.0.3", "net", "net", e.x); err != nil {
		t.Fatalf("net from 127.0.0.3: %v", err)
	}

	only := newUsersEnv(t, func(x, y string) string {
		return "  - {name: two, password: two, hosts: ['127.0.0.2']}\n"
	}, "")
	wantErr(t, "from 127.0.0.1, no user's host", only.login(t, "127.0.0.1", "two", "two", only.x), 1130, "Host '127.0.0.1' is not allowed to connect to this MariaDB server")
	if err := only.login(t, "127.0.0.2", "two", "two", only.x); err != nil {
		t.Fatalf("two from 127.0.0.2: %v", err)
	}
}

// Password guessing: after max_connect_errors (100) consecutive failures
// the host is blocked (1129), even with the right password, until an admin
// runs FLUSH HOSTS; another host is not blocked. The block is logged once
// and shows in the metrics.
func TestLoginFailuresBlockHost(t *testing.T) {
	e := newUsersEnv(t, func(x, y string) string {
		return "  - {name: ops, password: ops, admin: true}\n  - {name: app, password: app}\n"
	}, "")
	// 100 wrong passwords, 20 at a time (each waits login_failure_delay).
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	sem := make(chan struct{}, 20)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			d, _ := sql.Open("mysql", fmt.Sprintf("app:guess%d@%s(%s)/", i, fromHost("127.0.0.1"), e.p.addr))
			defer d.Close()
			errs <- d.Ping()
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		wantErr(t, "wrong password", err, 1045, "Access denied for user 'app'@'127.0.0.1' (using password: YES)")
	}
	blocked := "Host '127.0.0.1' is blocked because of many connection errors; unblock with 'mariadb-admin flush-hosts'"
	wantErr(t, "101st wrong password", e.login(t, "127.0.0.1", "app", "nope", e.x), 1129, blocked)
	wantErr(t, "right password from the blocked host", e.login(t, "127.0.0.1", "app", "app", e.x), 1129, blocked)
	if err := e.login(t, "127.0.0.3", "app", "app", e.x); err != nil {
		t.Fatalf("from 127.0.0.3: %v", err)
	}
	if got := strings.Count(e.p.logText(), "client host blocked"); got != 1 {
		t.Fatalf("block logged %d times:\n%s", got, e.p.logText())
	}
	if !strings.Contains(e.p.logText(), "host=127.0.0.1") {
		t.Fatalf("log does not name the host:\n%s", e.p.logText())
	}
	m := e.p.scrape(t)
	if metricValue(t, m, "shardgate_blocked_hosts") != 1 || metricValue(t, m, "shardgate_hosts_blocked_total") != 1 || metricValue(t, m, "shardgate_login_failures_total") != 100 {
		t.Fatalf("metrics:\n%s", m)
	}
	// A non-admin cannot unblock; an admin from another host can.
	app := e.open(t, "127.0.0.3", "app", "app", e.x)
	_, err := app.Exec("FLUSH HOSTS")
	wantErr(t, "FLUSH HOSTS by app", err, 1227, "RELOAD")
	wantErr(t, "still blocked", e.login(t, "127.0.0.1", "app", "app", e.x), 1129, blocked)
	ops := e.open(t, "127.0.0.3", "ops", "ops", e.x)
	if _, err := ops.Exec("FLUSH HOSTS"); err != nil {
		t.Fatal(err)
	}
	if err := e.login(t, "127.0.0.1", "app", "app", e.x); err != nil {
		t.Fatalf("after FLUSH HOSTS: %v", err)
	}
	if got := metricValue(t, e.p.scrape(t), "shardgate_blocked_hosts"); got != 0 {
		t.Fatalf("blocked hosts after FLUSH HOSTS: %v", got)
	}
}

// A successful login resets the host's count (failures must be
// consecutive); connect_errors_timeout lifts a block by itself.
func TestLoginFailuresReset(t *testing.T) {
	e := newUsersEnv(t, func(x, y string) string {
		return "  - {name: app, password: app}\n"
	}, "max_connect_errors: 3\nconnect_errors_timeout: 1s\nlogin_failure_delay: 1ms\n")
	for i := 0; i < 3; i++ {
		for j := 0; j < 2; j++ {
			wantErr(t, "wrong password", e.login(t, "127.0.0.1", "app", "nope", e.x), 1045, "Access denied")
		}
		if err := e.login(t, "127.0.0.1", "app", "app", e.x); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	for j := 0; j < 3; j++ {
		wantErr(t, "wrong password", e.login(t, "127.0.0.1", "app", "nope", e.x), 1045, "Access denied")
	}
	wantErr(t, "blocked", e.login(t, "127.0.0.1", "app", "app", e.x), 1129, "is blocked")
	eventually(t, 5*time.Second, "block lifted after connect_errors_timeout", func() bool {
		return e.login(t, "127.0.0.1", "app", "app", e.x) == nil
	})
}

// A failing login waits login_failure_delay in its own goroutine: another
// client's login meanwhile is not held up.
func TestLoginFailureDelay(t *testing.T) {
	e := newUsersEnv(t, func(x, y string) string {
		return "  - {name: app, password: app}\n"
	}, "login_failure_delay: 2s\n")
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		d, _ := sql.Open("mysql", fmt.Sprintf("app:nope@%s(%s)/", fromHost("127.0.0.2"), e.p.addr))
		d.Ping()
		d.Close()
		done <- time.Since(start)
	}()
	time.Sleep(200 * time.Millisecond) // the failing login is waiting now
	start := time.Now()
	if err := e.login(t, "127.0.0.1", "app", "app", e.x); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("a good login took %s while another one failed", took)
	}
	if took := <-done; took < 2*time.Second {
		t.Fatalf("the failing login was answered after %s, before login_failure_delay", took)
	}
}

// A user whose password the rules hold only as mysql_native_password's
// stored hash logs in with the clear text (go-sql-driver offers
// caching_sha2_password first and is switched to mysql_native_password),
// and not with the hash itself.
func TestLoginHashedPassword(t *testing.T) {
	e := newUsersEnv(t, func(x, y string) string {
		return fmt.Sprintf("  - {name: hashed, password: %q}\n", userHash("s3cret pw"))
	}, "")
	if err := e.login(t, "127.0.0.1", "hashed", "s3cret pw", e.x); err != nil {
		t.Fatalf("clear text against the stored hash: %v", err)
	}
	wantErr(t, "wrong password", e.login(t, "127.0.0.1", "hashed", "s3cret", e.x), 1045, "Access denied for user 'hashed'")
	wantErr(t, "the hash as password", e.login(t, "127.0.0.1", "hashed", userHash("s3cret pw"), e.x), 1045, "Access denied")
	// The mariadb command-line client too.
	out, err := runCmd(t, time.Minute, "mariadb", "--no-defaults", "-h127.0.0.1", "-P"+e.p.port(), "-uhashed", "-ps3cret pw", "-N", "-e", "SELECT 1", e.x)
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("mariadb: %v: %s", err, out)
	}
}

// max_connections bounds a user's concurrent connections (1226).
func TestUsersMaxConnections(t *testing.T) {
	e := newUsersEnv(t, func(x, y string) string {
		return "  - {name: app, password: app}\n  - {name: few, password: few, max_connections: 2}\n"
	}, "")
	few := e.open(t, "127.0.0.1", "few", "few", e.x)
	few.SetMaxIdleConns(0) // closing a connection closes it at the proxy
	c1, c2 := pin(t, few), pin(t, few)
	_ = c2
	wantErr(t, "third connection", e.login(t, "127.0.0.1", "few", "few", e.x), 1226, "User 'few' has exceeded the 'max_user_connections' resource (current value: 2)")
	if err := e.login(t, "127.0.0.1", "app", "app", e.x); err != nil {
		t.Fatalf("another user: %v", err)
	}
	c1.Close()
	eventually(t, 5*time.Second, "a slot after closing one connection", func() bool {
		return e.login(t, "127.0.0.1", "few", "few", e.x) == nil
	})
}

// At start the proxy warns when its backend user can read mysql.*: not
// with the recommended grant (app), but with a user granted SELECT on *.*.
func TestBackendGrantsWarning(t *testing.T) {
	needLocalCluster(t)
	check := func(user string) (bool, string) {
		r, err := rules.Parse("grants.yaml", []byte(fmt.Sprintf(`users: [{name: app, password: app}]
backend: {user: %s, password: pw}
clusters: {main: {primary: 127.0.0.1:3310}}
schemas: {shop: {cluster: main}}
`, user)))
		if err != nil {
			t.Fatal(err)
		}
		rt := router.New(r, nil)
		defer rt.Close()
		var buf bytes.Buffer
		warned := rt.CheckBackendGrants(slog.New(slog.NewTextHandler(&buf, nil)))
		return warned, buf.String()
	}
	rootSQL(t, "main-p", "CREATE USER IF NOT EXISTS 'sg_wide'@'%' IDENTIFIED BY 'pw'; ALTER USER 'sg_wide'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON *.* TO 'sg_wide'@'%'")
	defer rootSQL(t, "main-p", "DROP USER IF EXISTS 'sg_wide'@'%'")
	if warned, log := check("sg_wide"); !warned || !strings.Contains(log, "can read mysql.*") {
		t.Fatalf("SELECT on *.*: warned %v, log %q", warned, log)
	}
	rootSQL(t, "main-p", "CREATE USER IF NOT EXISTS 'sg_narrow'@'%' IDENTIFIED BY 'pw'; ALTER USER 'sg_narrow'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON `shop`.* TO 'sg_narrow'@'%'")
	defer rootSQL(t, "main-p", "DROP USER IF EXISTS 'sg_narrow'@'%'")
	if warned, log := check("sg_narrow"); warned || log != "" {
		t.Fatalf("SELECT on shop.*: warned %v, log %q", warned, log)
	}
}

// The servers' own schemas (mysql, performance_schema, sys) are no user's
// by default, whatever its schemas say: every way of naming them is
// refused by the proxy with MariaDB's answer, naming the client's account;
// system_schemas lets a user read (never write) the ones it lists; and
// information_schema names only the schemas the user may reach.
func TestUsersServerSchemas(t *testing.T) {
	e := newUsersEnv(t, func(x, y string) string {
		return "  - {name: app, password: app}\n  - {name: auditor, password: apw, system_schemas: [mysql]}\n"
	}, "")
	app := e.open(t, "127.0.0.1", "app", "app", e.x)
	for _, tc := range []struct {
		sql  string
		code uint16
		msg  string
	}{
		{"SELECT user, password FROM mysql.user", 1142, "SELECT command denied to user 'app'@'127.0.0.1' for table `mysql`.`user`"},
		{"SELECT * FROM notes JOIN mysql.global_priv", 1142, "`mysql`.`global_priv`"},
		{"SELECT (SELECT COUNT(*) FROM mysql.user)", 1142, "`mysql`.`user`"},
		{"SELECT 1 FROM notes WHERE 1 = 0 UNION SELECT user FROM mysql.user", 1142, "`mysql`.`user`"},
		{"SELECT 1 /*M! UNION SELECT user FROM mysql.user */", 1142, "`mysql`.`user`"},
		{"INSERT INTO mysql.global_priv VALUES ('%', 'evil', '{}')", 1142, "INSERT command denied to user 'app'"},
		{"CREATE TABLE mysql.x (a INT)", 1142, "CREATE command denied to user 'app'"},
		{"SELECT * FROM performance_schema.threads", 1142, "`performance_schema`.`threads`"},
		{"SELECT * FROM sys.version", 1142, "`sys`.`version`"},
		{"SHOW TABLES FROM mysql", 1044, "to database 'mysql'"},
		{"USE mysql", 1044, "to database 'mysql'"},
		{"DROP DATABASE sys", 1044, "to database 'sys'"},
	} {
		_, err := app.Exec(tc.sql)
		wantErr(t, tc.sql, err, tc.code, tc.msg)
	}
	// Prepared, too.
	if _, err := app.Prepare("SELECT user FROM mysql.user WHERE user = ?"); err == nil {
		t.Fatal("a prepared statement on mysql.user was accepted")
	} else {
		wantErr(t, "prepare on mysql.user", err, 1142, "`mysql`.`user`")
	}
	// The handshake's database.
	wantErr(t, "log in to mysql", e.login(t, "127.0.0.1", "app", "app", "mysql"), 1044, "to database 'mysql'")

	// information_schema names only this test's declared schemas (no
	// mysql, no other test's databases on the same servers).
	rows, err := app.Query("SELECT DISTINCT TABLE_SCHEMA FROM information_schema.TABLES WHERE TABLE_SCHEMA <> 'information_schema'")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, s)
		if s != e.x && s != e.y {
			t.Errorf("information_schema.TABLES names schema %q (declared: %s, %s)", s, e.x, e.y)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 {
		t.Fatal("information_schema.TABLES named no schema at all")
	}
	// The other tables that describe databases' objects too, however the
	// table is named.
	for _, q := range []string{
		"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA",
		"SELECT DISTINCT s.SCHEMA_NAME FROM information_schema.SCHEMATA AS s",
		"SELECT DISTINCT ROUTINE_SCHEMA FROM information_schema.ROUTINES",
		"SELECT DISTINCT TABLE_SCHEMA FROM information_schema.VIEWS",
		"SELECT COUNT(*), MIN(SCHEMA_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ('" + e.x + "', '" + e.y + "', 'information_schema')",
	} {
		rows, err := app.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var v any
			var extra sql.RawBytes
			dest := []any{&v}
			if strings.HasPrefix(q, "SELECT COUNT") {
				dest = append(dest, &extra)
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				got = string(b)
			}
			if strings.HasPrefix(q, "SELECT COUNT") {
				if got != "0" {
					t.Errorf("%s: %s other schemas counted", q, got)
				}
			} else if got != e.x && got != e.y && got != "information_schema" {
				t.Errorf("%s names schema %q", q, got)
			}
		}
		rows.Close()
	}
	isConn, err := app.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer isConn.Close()
	if _, err := isConn.ExecContext(context.Background(), "USE information_schema"); err != nil {
		t.Fatal(err)
	}
	var others int
	if err := isConn.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM SCHEMATA WHERE SCHEMA_NAME NOT IN ('"+e.x+"', '"+e.y+"', 'information_schema')").Scan(&others); err != nil || others != 0 {
		t.Fatalf("USE information_schema; SCHEMATA: %d other schemas, %v", others, err)
	}

	// system_schemas: [mysql] lets the auditor's reads past the proxy (the
	// backend user's own grants still apply: the recommended grant gives
	// it nothing on mysql.*, so the server may refuse, naming its own
	// account) but never its writes.
	auditor := e.open(t, "127.0.0.1", "auditor", "apw", e.x)
	if _, err := auditor.Exec("SELECT COUNT(*) FROM mysql.user"); err != nil {
		if _, _, msg := mysqlErr(t, err); strings.Contains(msg, "'auditor'@") {
			t.Fatalf("the proxy refused a read system_schemas allows: %v", err)
		}
	}
	_, err = auditor.Exec("DELETE FROM mysql.user WHERE user = 'x'")
	wantErr(t, "auditor DELETE", err, 1142, "DELETE command denied to user 'auditor'@'127.0.0.1' for table `mysql`.`user`")
	_, err = auditor.Exec("SELECT * FROM performance_schema.threads")
	wantErr(t, "auditor on performance_schema", err, 1142, "`performance_schema`.`threads`")
}

// mysqlSecretSHA2 is caching_sha2_password's stored form of "secret" as
// MySQL printed it (its manual's SHOW CREATE USER example, hex form).
const mysqlSecretSHA2 = "0x244124303035240C7745603626313D613C4C10633E0A104B1E14135A544A7871567245614F4872344643546336546F624F6C7861326932752F45622F4F473273597557627139"

// A user whose password the rules hold only as caching_sha2_password's
// stored form logs in through full authentication: go-sql-driver without
// TLS asks for the proxy's RSA public key and sends the password encrypted;
// the mariadb client over TLS sends it in clear inside TLS. Without TLS the
// Debian mariadb client (Connector/C built without RSA) sends the password
// in clear on the open connection, which the proxy refuses as MySQL does.
// Wrong passwords are 1045 either way.
func TestLoginSHA2StoredHash(t *testing.T) {
	cert, key := writeCert(t)
	e := newUsersEnv(t, func(x, y string) string {
		return fmt.Sprintf("  - {name: sha2, password: %q}\n", mysqlSecretSHA2)
	}, fmt.Sprintf("tls: {cert: %s, key: %s}\n", cert, key))
	if err := e.login(t, "127.0.0.1", "sha2", "secret", e.x); err != nil {
		t.Fatalf("go-sql-driver, RSA-encrypted password: %v", err)
	}
	var one int
	if err := e.open(t, "127.0.0.1", "sha2", "secret", e.x).QueryRow("SELECT COUNT(*) FROM notes").Scan(&one); err != nil {
		t.Fatalf("query after the login: %v", err)
	}
	wantErr(t, "wrong password", e.login(t, "127.0.0.1", "sha2", "Secret", e.x), 1045, "Access denied for user 'sha2'")
	wantErr(t, "the hash as password", e.login(t, "127.0.0.1", "sha2", mysqlSecretSHA2, e.x), 1045, "Access denied")
	mariadb := func(pw string, args ...string) (string, error) {
		return runCmd(t, time.Minute, "mariadb", append([]string{"--no-defaults", "-h127.0.0.1", "-P" + e.p.port(), "-usha2", "-p" + pw, "-N", "-e", "SELECT 7", e.x}, args...)...)
	}
	if out, err := mariadb("secret", "--ssl"); err != nil || strings.TrimSpace(out) != "7" {
		t.Fatalf("mariadb --ssl: %v: %s", err, out)
	}
	// Without TLS the client asks for the proxy's RSA key and sends the
	// password encrypted with it (Connector/C does so on its own).
	if out, err := mariadb("secret", "--skip-ssl"); err != nil || strings.TrimSpace(out) != "7" {
		t.Fatalf("mariadb --skip-ssl (RSA): %v: %s", err, out)
	}
	for _, c := range []struct {
		what, pw string
		args     []string
	}{
		{"mariadb --ssl, wrong password", "secreT", []string{"--ssl"}},
		{"mariadb --skip-ssl, wrong password", "secreT", []string{"--skip-ssl"}},
	} {
		if out, err := mariadb(c.pw, c.args...); err == nil || !strings.Contains(out, "ERROR 1045 (28000): Access denied for user 'sha2'") {
			t.Fatalf("%s: %v: %s", c.what, err, out)
		}
	}
}
