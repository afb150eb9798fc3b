package integration

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func runCLI(t *testing.T, p *proxy, user, pass, db, sqlText string) (string, error) {
	t.Helper()
	args := []string{"--no-defaults", "--comments", "-h127.0.0.1", "-P" + p.port(), "-u" + user, "-p" + pass, "-N", "-B", "-e", sqlText}
	if db != "" {
		args = append(args, db)
	}
	return runCmd(t, time.Minute, "mariadb", args...)
}

// openDSN opens a go-sql-driver handle, closed when the test ends.
func openDSN(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMariadbCLI(t *testing.T) {
	p := startProxy(t, "")
	t.Cleanup(func() {
		if _, err := direct(t, mainPrimary, "shop").Exec("DROP TABLE IF EXISTS cli_t"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	out, err := runCLI(t, p, "app", "app", "shop", `
		DROP TABLE IF EXISTS cli_t;
		CREATE TABLE cli_t (id INT PRIMARY KEY, v VARCHAR(20));
		INSERT INTO cli_t VALUES (1, 'héllo'), (2, 'wörld');
		/* shardgate:primary */ SELECT id, v FROM cli_t ORDER BY id;
		USE shop;
		SELECT DATABASE();
		SHOW DATABASES;`)
	if err != nil {
		t.Fatalf("mariadb CLI failed: %v\n%s", err, out)
	}
	want := "1\théllo\n2\twörld\nshop\ninformation_schema\nshop\n"
	if out != want {
		t.Fatalf("CLI output\n%q\nwant\n%q", out, want)
	}
	// A client that starts with a plugin the proxy does not speak is asked
	// to switch to caching_sha2_password.
	switched, err := runCmd(t, time.Minute, "mariadb", "--no-defaults", "-h127.0.0.1", "-P"+p.port(), "-uapp", "-papp",
		"--default-auth=client_ed25519", "-N", "-B", "-e", "SELECT 'switched'")
	if err != nil || switched != "switched\n" {
		t.Fatalf("auth switch: %v %q", err, switched)
	}
	refusals := []struct {
		name, user, pass, db, sql string
		want                      []string
	}{
		{"wrong password", "app", "wrong", "shop", "SELECT 1", []string{"ERROR 1045 (28000)", "Access denied for user 'app'"}},
		{"unknown user", "nobody", "app", "", "SELECT 1", []string{"ERROR 1045"}},
		{"unknown database", "app", "app", "nosuchdb", "SELECT 1", []string{"ERROR 1049 (42000)", "Unknown database 'nosuchdb'"}},
		{"USE unknown database", "app", "app", "shop", "USE nosuchdb", []string{"ERROR 1049"}},
	}
	for _, c := range refusals {
		out, err := runCLI(t, p, c.user, c.pass, c.db, c.sql)
		if err == nil {
			t.Fatalf("%s: accepted: %s", c.name, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Fatalf("%s: %q lacks %q", c.name, out, w)
			}
		}
	}
}

func TestErrorsReachClient(t *testing.T) {
	p := startProxy(t, "")
	db := p.open(t, "shop")
	cases := []struct {
		sql   string
		code  uint16
		state string
		msg   string
	}{
		{"SELECT * FROM no_such_table", 1146, "42S02", "Table 'shop.no_such_table' doesn't exist"}, // from MariaDB, unchanged
		{"SELEC 1", 1064, "42000", "syntax"},
		{"SELECT 1; SELECT 2", 1064, "42000", "several statements in one query need CLIENT_MULTI_STATEMENTS"},
		{"SELECT JSON_ARRAYAGG(body) FROM comments GROUP BY user_id", 1235, "42000", "over sharded table shop.comments across several shards"},
		{"SELECT * FROM orders JOIN users ON users.id = orders.user_id", 1235, "42000", "spans clusters"},
		{"SELECT * FROM nosuchdb.t", 1049, "42000", "Unknown database 'nosuchdb'"},
	}
	for _, c := range cases {
		_, err := db.Exec(c.sql)
		if err == nil {
			t.Fatalf("%s: no error", c.sql)
		}
		code, state, msg := mysqlErr(t, err)
		if code != c.code || state != c.state || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: got %d %s %q, want %d %s containing %q", c.sql, code, state, msg, c.code, c.state, c.msg)
		}
	}
	// The connection stays usable after each error.
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatal(err)
	}
}

func TestGoDriverAuthPlugins(t *testing.T) {
	sha := startProxy(t, "")                                        // advertises caching_sha2_password
	native := startProxy(t, "auth_plugin: mysql_native_password\n") // advertises mysql_native_password
	for _, c := range []struct {
		name string
		db   *sql.DB
	}{
		{"caching_sha2 default DSN", sha.open(t, "shop")},
		{"native allowNativePasswords", native.open(t, "shop", "allowNativePasswords=true")},
	} {
		var v string
		if err := c.db.QueryRow("SELECT DATABASE()").Scan(&v); err != nil || v != "shop" {
			t.Fatalf("%s: %v %q", c.name, err, v)
		}
	}
	bad := openDSN(t, "app:nope@tcp("+sha.addr+")/shop")
	if err := bad.Ping(); err == nil {
		t.Fatal("wrong password accepted")
	} else if code, _, _ := mysqlErr(t, err); code != 1045 {
		t.Fatalf("wrong password: %v", err)
	}
	empty := openDSN(t, "nopass@tcp("+sha.addr+")/shop")
	if err := empty.Ping(); err != nil {
		t.Fatalf("empty password: %v", err)
	}
}

// Each goroutine has its own character set, sql_mode, time zone and user
// variable, and must only ever read back its own, although 50 sessions share
// a handful of backend connections.
func TestSessionStateIsolation(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 8, max_idle: 8}\n")
	db := p.open(t, "shop")
	db.SetMaxOpenConns(60)
	charsets := []string{"utf8mb4", "latin1", "utf8mb3", "ascii", "binary"}
	// Written in the order MariaDB prints them, so the read-back compares exactly.
	modes := []string{"ANSI_QUOTES", "STRICT_TRANS_TABLES", "PIPES_AS_CONCAT,NO_ZERO_DATE", "", "NO_ENGINE_SUBSTITUTION"}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx := context.Background()
			conn, err := db.Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			var cs, mode, tz string
			var uv int
			for i := 0; i < 200; i++ {
				if i%50 == 0 {
					cs, mode = charsets[(g+i)%len(charsets)], modes[(g+i/50)%len(modes)]
					tz = fmt.Sprintf("+%02d:%02d", g%13, (i/50)*15)
					uv = g*1000 + i
					for _, stmt := range []string{"SET NAMES " + cs, "SET sql_mode = '" + mode + "'", "SET time_zone = '" + tz + "'", fmt.Sprintf("SET @mine = %d", uv)} {
						if _, err := conn.ExecContext(ctx, stmt); err != nil {
							errs <- fmt.Errorf("g%d %s: %v", g, stmt, err)
							return
						}
					}
				}
				var gotCS, gotMode, gotTZ string
				var gotUV int
				if err := conn.QueryRowContext(ctx, "SELECT @@character_set_client, @@sql_mode, @@time_zone, @mine").Scan(&gotCS, &gotMode, &gotTZ, &gotUV); err != nil {
					errs <- fmt.Errorf("g%d i%d: %v", g, i, err)
					return
				}
				if gotCS != cs || gotMode != mode || gotTZ != tz || gotUV != uv {
					errs <- fmt.Errorf("g%d i%d: read %s/%s/%s/%d, set %s/%s/%s/%d", g, i, gotCS, gotMode, gotTZ, gotUV, cs, mode, tz, uv)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPyMySQL(t *testing.T) {
	p := startProxy(t, "")
	t.Cleanup(func() {
		if _, err := direct(t, mainPrimary, "shop").Exec("DROP TABLE IF EXISTS py_t"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	script := fmt.Sprintf(`
import pymysql
c = pymysql.connect(host="127.0.0.1", port=%s, user="app", password="app", database="shop", charset="utf8mb4")
cur = c.cursor()
cur.execute("DROP TABLE IF EXISTS py_t")
cur.execute("CREATE TABLE py_t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20))")
cur.execute("INSERT INTO py_t (name) VALUES (%%s)", ("Zoë",))
c.commit()
print(cur.lastrowid)
cur.execute("/* shardgate:primary */ SELECT name FROM py_t")
print(cur.fetchone()[0])
cur.execute("SELECT DATABASE()")
print(cur.fetchone()[0])
c.close()
`, p.port())
	// Debian's python, where python3-pymysql lives.
	out, err := runCmd(t, time.Minute, "/usr/bin/python3", "-c", script)
	if err != nil {
		t.Fatalf("PyMySQL: %v\n%s", err, out)
	}
	if got := out; got != "1\nZoë\nshop\n" {
		t.Fatalf("PyMySQL printed %q", got)
	}
}

// The pool bounds the proxy's connections to each server. Only this
// process's connections are counted (ownBackendConnections): other runs'
// clients may be on the same servers at the same time.
func TestPoolBoundsBackendConnections(t *testing.T) {
	const maxOpen = 6
	p := startProxy(t, fmt.Sprintf("pool: {max_open: %d, max_idle: %d}\n", maxOpen, maxOpen))
	observers := map[string]*sql.DB{}
	baseline := map[string]int{}
	for _, addr := range append([]string{mainPrimary}, mainReplicas...) {
		observers[addr] = direct(t, addr, "")
		observers[addr].SetMaxOpenConns(1)
		baseline[addr] = ownBackendConnections(t, observers[addr])
	}
	stop := make(chan struct{})
	peak := map[string]int{}
	var watchErr error
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			for addr, o := range observers {
				n, err := countOwnConnections(o)
				if err != nil {
					watchErr = err
					return
				}
				peak[addr] = max(peak[addr], n-baseline[addr])
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			db, err := sql.Open("mysql", p.dsn("shop"))
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			for j := 0; j < 10; j++ {
				q := "SELECT @@port"
				if j%3 == 0 {
					q = "/* shardgate:primary */ SELECT @@port"
				}
				var port int
				if err := db.QueryRow(q).Scan(&port); err != nil {
					errs <- err
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if watchErr != nil {
		t.Fatal(watchErr)
	}
	for addr, n := range peak {
		// The health checker keeps one more connection outside the pool,
		// and the transaction coordinator's recovery another (its own
		// pool, so that a commit decision never waits behind sessions).
		if n > maxOpen+2 {
			t.Errorf("%s: %d backend connections at peak, pool max_open is %d", addr, n, maxOpen)
		}
		t.Logf("%s: peak %d backend connections for 200 clients", addr, n)
	}
	if peak[mainPrimary] == 0 {
		t.Error("the watcher saw no proxy connections at all")
	}
}

// recordingDialer lets a test reach the raw socket under go-sql-driver.
type recordingDialer struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *recordingDialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

func (d *recordingDialer) last() net.Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conns[len(d.conns)-1]
}

func TestClientLeavesMidResult(t *testing.T) {
	p := startProxy(t, "")
	rd := &recordingDialer{}
	mysql.RegisterDialContext("rec_midresult", rd.dial)
	db := openDSN(t, "app:app@rec_midresult("+p.addr+")/shop")
	// The marker finds the query in PROCESSLIST; it is this run's own.
	marker := uniqueName("midresult_marker")
	rows, err := db.Query("/* shardgate:primary */ SELECT seq, REPEAT('x', 200), '" + marker + "' FROM seq_1_to_1000000")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000 && rows.Next(); i++ {
	}
	rd.last().Close() // the client vanishes without reading the rest
	rows.Close()
	primary := direct(t, mainPrimary, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := primary.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%" + marker + "%' AND ID <> CONNECTION_ID()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backend still runs the abandoned query after 5 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rawLogin logs in over a raw socket with mysql_native_password and returns
// the connection ready for commands.
func rawLogin(t *testing.T, addr string) net.Conn {
	t.Helper()
	rd := &recordingDialer{}
	name := fmt.Sprintf("rec_raw_%d", time.Now().UnixNano())
	mysql.RegisterDialContext(name, rd.dial)
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = "app", "app", name, addr, "shop"
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connector.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return rd.last()
}

func writeRaw(t *testing.T, c net.Conn, seq byte, payload []byte) {
	t.Helper()
	h := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), seq}
	if _, err := c.Write(append(h, payload...)); err != nil {
		t.Fatal(err)
	}
}

func readRaw(c net.Conn) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return nil, err
	}
	p := make([]byte, int(h[0])|int(h[1])<<8|int(h[2])<<16)
	_, err := io.ReadFull(c, p)
	return p, err
}

// expectClose reads what the proxy still sends: at most a few error
// packets, then the connection must be closed (EOF or reset). A read that
// times out means the proxy kept the socket open, which fails: silence is
// not a close.
func expectClose(t *testing.T, c net.Conn, what string) (errCodes []uint16) {
	t.Helper()
	for i := 0; ; i++ {
		p, err := readRaw(c)
		var ne net.Error
		switch {
		case err == nil && len(p) >= 3 && p[0] == 0xff && i < 3:
			errCodes = append(errCodes, binary.LittleEndian.Uint16(p[1:]))
			continue
		case err == nil:
			t.Fatalf("%s: the proxy answered %x instead of closing", what, p)
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("%s: connection still open (no close within the read timeout)", what)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
			return errCodes
		default:
			t.Fatalf("%s: %v", what, err)
		}
	}
}

func TestMalformedInput(t *testing.T) {
	p := startProxy(t, "max_allowed_packet: 1048576\n")
	healthy := p.open(t, "shop")
	check := func(what string) {
		var one int
		if err := healthy.QueryRow("SELECT 1").Scan(&one); err != nil {
			t.Fatalf("after %s the proxy stopped serving others: %v", what, err)
		}
	}
	check("start")

	t.Run("truncated handshake", func(t *testing.T) {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := readRaw(c); err != nil {
			t.Fatal(err)
		}
		writeRaw(t, c, 1, []byte{0x0d, 0xa2, 0, 0, 0, 0})
		expectClose(t, c, "truncated handshake")
		check("truncated handshake")
	})
	t.Run("random bytes", func(t *testing.T) {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := readRaw(c); err != nil {
			t.Fatal(err)
		}
		junk := make([]byte, 4096)
		for i := range junk {
			junk[i] = byte(i*7 + 13)
		}
		if _, err := c.Write(junk); err != nil {
			t.Fatal(err)
		}
		expectClose(t, c, "random bytes")
		check("random bytes")
	})
	t.Run("unknown command keeps the connection", func(t *testing.T) {
		c := rawLogin(t, p.addr)
		writeRaw(t, c, 0, []byte{0x99, 1, 2, 3})
		resp, err := readRaw(c)
		if err != nil || resp[0] != 0xff || binary.LittleEndian.Uint16(resp[1:]) != 1047 {
			t.Fatalf("unknown command: %x %v", resp, err)
		}
		writeRaw(t, c, 0, []byte{0x0e}) // COM_PING
		if resp, err := readRaw(c); err != nil || resp[0] != 0x00 {
			t.Fatalf("ping after unknown command: %x %v", resp, err)
		}
	})
	t.Run("packet beyond max_allowed_packet", func(t *testing.T) {
		c := rawLogin(t, p.addr)
		h := []byte{0xff, 0xff, 0x7f, 0, 0x03}
		if _, err := c.Write(h); err != nil { // announces 8 MB, sends one byte
			t.Fatal(err)
		}
		if codes := expectClose(t, c, "oversized packet"); len(codes) != 1 || codes[0] != 1153 {
			t.Fatalf("oversized packet: error codes %v before the close, want [1153]", codes)
		}
		check("oversized packet")
	})
}

// The binary: invalid rules refuse to start with file:line; SIGTERM lets a
// running statement finish and refuses new clients.
func TestBinaryRulesAndGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "shardgate")
	if out, err := runCmd(t, 5*time.Minute, "go", "build", "-o", bin, "../cmd/shardgate"); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(baseRules+"    typo_key: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, time.Minute, bin, "--rules", bad)
	if err == nil || !strings.Contains(out, "bad.yaml:") || !strings.Contains(out, `unknown key "typo_key"`) {
		t.Fatalf("invalid rules: %v %s", err, out)
	}

	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(baseRules), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePorts(t, 1)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--rules", good, "--listen", addr)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	db := openDSN(t, "app:app@tcp("+addr+")/shop")
	eventually(t, 10*time.Second, "the binary accepting clients", func() bool { return db.Ping() == nil })

	// A statement runs (it sleeps 3 s on a replica) when SIGTERM arrives:
	// it must finish, while new connections are refused at once.
	marker := uniqueName("shutdown_marker")
	done := make(chan error, 1)
	go func() {
		var v int
		done <- db.QueryRow("SELECT SLEEP(3) + 7, '"+marker+"'").Scan(&v, new(string))
	}()
	replicas := []*sql.DB{direct(t, mainReplicas[0], ""), direct(t, mainReplicas[1], "")}
	eventually(t, 10*time.Second, "the statement running on a replica", func() bool {
		for _, r := range replicas {
			var n int
			scan(t, r, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%"+marker+"%' AND ID <> CONNECTION_ID()", &n)
			if n > 0 {
				return true
			}
		}
		return false
	})
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "new connections refused after SIGTERM", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("running statement did not finish: %v", err)
		}
		if time.Since(signalled) < time.Second {
			t.Fatalf("the statement ended %s after SIGTERM, before its 3 s sleep could have", time.Since(signalled))
		}
	case <-time.After(time.Minute):
		t.Fatal("the running statement never answered")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, logs.String())
	}
}

// readResponse reads packets of one text response and returns them.
func readResponse(t *testing.T, c net.Conn) [][]byte {
	t.Helper()
	var pkts [][]byte
	eofs := 0
	for {
		p, err := readRaw(c)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
		if len(pkts) == 1 && (p[0] == 0x00 || p[0] == 0xff) {
			return pkts
		}
		if p[0] == 0xfe && len(p) < 9 {
			if eofs++; eofs == 2 {
				return pkts
			}
		}
	}
}

func TestFieldListAndResetConnection(t *testing.T) {
	p := startProxy(t, "")
	db := p.open(t, "shop")
	freshTable(t, db, "fl_t", "(id INT PRIMARY KEY, label VARCHAR(10))")
	waitOnReplicas(t, "fl_t") // COM_FIELD_LIST is a read: a replica answers it
	c := rawLogin(t, p.addr)

	writeRaw(t, c, 0, append([]byte{0x04}, "fl_t\x00"...)) // COM_FIELD_LIST
	var names []string
	for {
		pkt, err := readRaw(c)
		if err != nil {
			t.Fatal(err)
		}
		if pkt[0] == 0xff {
			t.Fatalf("COM_FIELD_LIST failed: %s", pkt[9:])
		}
		if pkt[0] == 0xfe && len(pkt) < 9 {
			break
		}
		names = append(names, string(pkt))
	}
	if len(names) != 2 || !strings.Contains(names[0], "id") || !strings.Contains(names[1], "label") {
		t.Fatalf("COM_FIELD_LIST columns: %q", names)
	}

	writeRaw(t, c, 0, append([]byte{0x03}, "SET @kept = 42"...))
	if r := readResponse(t, c); r[0][0] != 0x00 {
		t.Fatalf("SET: %x", r[0])
	}
	writeRaw(t, c, 0, append([]byte{0x03}, "SELECT @kept"...))
	if r := readResponse(t, c); string(r[3]) != "\x0242" {
		t.Fatalf("before reset @kept row %q", r[3])
	}
	writeRaw(t, c, 0, []byte{0x1f}) // COM_RESET_CONNECTION
	if r := readResponse(t, c); r[0][0] != 0x00 {
		t.Fatalf("reset: %x", r[0])
	}
	writeRaw(t, c, 0, append([]byte{0x03}, "SELECT @kept, DATABASE()"...))
	if r := readResponse(t, c); string(r[4]) != "\xfb\x04shop" {
		t.Fatalf("after reset row %q, want NULL and the database kept", r[4])
	}
}
