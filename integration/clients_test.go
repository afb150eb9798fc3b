package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Prepared statements through go-sql-driver (server-side prepare, its
// default when a query has arguments) and with interpolateParams: every
// type round-trips, prepared statements route by their values, merge like
// queries, and work inside transactions.
func TestPreparedStatements(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	for _, mode := range []string{"server-side", "interpolateParams"} {
		t.Run(mode, func(t *testing.T) {
			params := []string{"parseTime=true"}
			if mode == "interpolateParams" {
				params = append(params, "interpolateParams=true")
			}
			db := e.p.open(t, "shop", params...)
			ref := direct(t, refServer, "shop?parseTime=true")
			queries := []struct {
				q    string
				args []any
			}{
				{"SELECT id, name, price, qty, created, score FROM items WHERE product_id = ? ORDER BY id", []any{4}},
				{"SELECT id, name FROM items WHERE product_id IN (?, ?) AND qty > ? ORDER BY name, id", []any{9, "31", 2}},
				{"SELECT product_id, COUNT(*), AVG(price), MAX(created) FROM items WHERE qty > ? GROUP BY product_id ORDER BY COUNT(*) DESC, product_id LIMIT ?", []any{5, 4}},
				{"SELECT COUNT(DISTINCT qty) FROM items WHERE price < ?", []any{500.5}},
				{"SELECT id FROM items WHERE name = ? ORDER BY id", []any{"über"}},
				{"SELECT id FROM items WHERE created > ? ORDER BY id LIMIT 5", []any{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}},
			}
			for _, c := range queries {
				got, want := rowsOfArgs(t, db, c.q, c.args), rowsOfArgs(t, ref, c.q, c.args)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("%s %v: proxy %v, ref %v", c.q, c.args, head(got), head(want))
				}
			}
			freshTable(t, db, "ps_types", "(id INT PRIMARY KEY, t DATETIME(6), d DATE, tm TIME, b BLOB, dec10 DECIMAL(10,3), f DOUBLE, u BIGINT UNSIGNED, s VARCHAR(20), i8 TINYINT)")
			at := time.Date(2026, 11, 24, 10, 59, 59, 123456000, time.UTC)
			blob := []byte{0, 0xff, 'a', '\'', '\\', 0x1a, '"'}
			if _, err := db.Exec("INSERT INTO ps_types VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 1, at, "2026-11-24", "-25:30:01", blob, "12.345", 3.25, uint64(18446744073709551615), "Ünïcødé 🚀", -7); err != nil {
				t.Fatal(err)
			}
			var gotAt, gotD time.Time
			var tm, dec, s string
			var b []byte
			var f float64
			var u uint64
			var i8 int8
			row := db.QueryRow("/* shardgate:primary */ SELECT t, d, tm, b, dec10, f, u, s, i8 FROM ps_types WHERE id = ?", 1)
			if err := row.Scan(&gotAt, &gotD, &tm, &b, &dec, &f, &u, &s, &i8); err != nil {
				t.Fatal(err)
			}
			if !gotAt.Equal(at) || gotD.Format("2006-01-02") != "2026-11-24" || tm != "-25:30:01" || !bytes.Equal(b, blob) || dec != "12.345" || f != 3.25 || u != 18446744073709551615 || s != "Ünïcødé 🚀" || i8 != -7 {
				t.Fatalf("round trip: %v %v %q %v %q %v %v %q %v", gotAt, gotD, tm, b, dec, f, u, s, i8)
			}
			// Inside a transaction a prepared statement stays on its connection.
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec("UPDATE ps_types SET s = ? WHERE id = ?", "in-tx", 1); err != nil {
				t.Fatal(err)
			}
			if err := tx.QueryRow("SELECT s FROM ps_types WHERE id = ?", 1).Scan(&s); err != nil || s != "in-tx" {
				t.Fatalf("read inside the transaction: %q %v", s, err)
			}
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func rowsOfArgs(t *testing.T, db *sql.DB, q string, args []any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			parts = append(parts, fmt.Sprintf("%v/%s", v.Valid, v.String))
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// Several statements in one COM_QUERY: every result comes back, SET and USE
// inside keep the session right, and the first error ends the query.
func TestMultiStatements(t *testing.T) {
	p := startProxy(t, "")
	db := p.open(t, "shop", "multiStatements=true")
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(t.Context(), "SET @m = 41; SELECT @m + 1; USE shop; SELECT DATABASE(), @m")
	if err != nil {
		t.Fatal(err)
	}
	var sets [][]string
	for {
		var set []string
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				set = append(set, v.String)
			}
		}
		sets = append(sets, set)
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if fmt.Sprint(sets) != "[[42] [shop 41]]" {
		t.Fatalf("results %v", sets)
	}
	var m int
	if err := conn.QueryRowContext(t.Context(), "SELECT @m").Scan(&m); err != nil || m != 41 {
		t.Fatalf("@m after the multi-statement: %d %v", m, err)
	}
	if _, err := conn.ExecContext(t.Context(), "SELECT 1; SELECT nosuch_column FROM nosuch_table; SELECT 3"); err == nil {
		t.Fatal("an error in the middle was not reported")
	}
	if err := conn.QueryRowContext(t.Context(), "SELECT 7").Scan(&m); err != nil || m != 7 {
		t.Fatalf("connection after the failed multi-statement: %v", err)
	}
	single := p.open(t, "shop")
	if _, err := single.Exec("SELECT 1; SELECT 2"); err == nil {
		t.Fatal("several statements accepted without CLIENT_MULTI_STATEMENTS")
	} else if code, _, _ := mysqlErr(t, err); code != 1064 {
		t.Fatalf("want 1064, got %v", err)
	}
}

// Values of 16 MB − 1, 16 MB, 16 MB + 1 and 32 MB cross split packets in
// both directions byte for byte, as text and as prepared statements.
func TestLargeValues(t *testing.T) {
	p := startProxy(t, "max_allowed_packet: 268435456\n")
	freshTable(t, p.open(t, "shop"), "big_values", "(id INT PRIMARY KEY, v LONGBLOB)")
	for _, mode := range []string{"text", "prepared"} {
		params := []string{"maxAllowedPacket=268435456"}
		if mode == "text" {
			params = append(params, "interpolateParams=true")
		}
		db := p.open(t, "shop", params...)
		db.SetMaxOpenConns(2)
		// Around the 16 MiB packet boundary as text (the statement's own
		// bytes move the value's place in the packets), and past two
		// packets as a bound parameter (COM_STMT_SEND_LONG_DATA's path
		// is the driver's choice; the value crosses the boundary both
		// ways). Each 16 MiB costs seconds under -race.
		sizes := []int{1<<24 - 1, 1 << 24, 1<<24 + 1}
		if mode == "prepared" {
			sizes = []int{1 << 24, 32 << 20}
		}
		for _, size := range sizes {
			value := make([]byte, size)
			if _, err := rand.Read(value); err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256(value)
			if _, err := db.Exec("REPLACE INTO big_values (id, v) VALUES (?, ?)", size, value); err != nil {
				t.Fatalf("%s %d bytes: %v", mode, size, err)
			}
			var serverSum string
			var got []byte
			if err := db.QueryRow("/* shardgate:primary */ SELECT SHA2(v, 256), v FROM big_values WHERE id = ?", size).Scan(&serverSum, &got); err != nil {
				t.Fatalf("%s %d bytes: %v", mode, size, err)
			}
			if serverSum != fmt.Sprintf("%x", want) || sha256.Sum256(got) != want {
				t.Fatalf("%s %d bytes: value changed on the way (server %s)", mode, size, serverSum)
			}
		}
	}
}

// Character sets: 4-byte UTF-8, latin1 and binary round-trip byte for byte,
// also when the backend connection served another character set just
// before. The pool has one connection per server and the two clients
// alternate on it (checked by the backend thread id, @@pseudo_thread_id), so each statement finds the
// other client's character set on the connection: without the proxy
// setting the session's own, the latin1 client would read UTF-8 bytes.
func TestCharsets(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 1, max_idle: 1}\n")
	db := p.open(t, "shop")
	db.SetMaxOpenConns(1)
	freshTable(t, db, "cs_t", "(id INT PRIMARY KEY, u VARCHAR(20) CHARACTER SET utf8mb4, l VARCHAR(20) CHARACTER SET latin1, b VARBINARY(20))")
	if _, err := db.Exec("INSERT INTO cs_t VALUES (1, '🚀 Zoë 中', 'Café', X'00FF7F80')"); err != nil {
		t.Fatal(err)
	}
	latin1 := p.open(t, "shop", "charset=latin1")
	latin1.SetMaxOpenConns(1)
	for i := 0; i < 10; i++ {
		var u string
		var b []byte
		var utfConn, latinConn int64
		if err := db.QueryRow("/* shardgate:primary */ SELECT u, b, @@pseudo_thread_id FROM cs_t WHERE id = 1").Scan(&u, &b, &utfConn); err != nil || u != "🚀 Zoë 中" || !bytes.Equal(b, []byte{0, 0xff, 0x7f, 0x80}) {
			t.Fatalf("utf8mb4 round %d: %q %x %v", i, u, b, err)
		}
		var l []byte
		if err := latin1.QueryRow("/* shardgate:primary */ SELECT l, @@pseudo_thread_id FROM cs_t WHERE id = 1").Scan(&l, &latinConn); err != nil || !bytes.Equal(l, []byte("Caf\xe9")) {
			t.Fatalf("latin1 round %d: %x %v", i, l, err)
		}
		if utfConn != latinConn {
			t.Fatalf("round %d: the clients ran on backend connections %d and %d; the test needs them to share one", i, utfConn, latinConn)
		}
	}
}

// writeCert makes a self-signed certificate for 127.0.0.1.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for file, block := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile:  {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

func TestTLS(t *testing.T) {
	cert, key := writeCert(t)
	p := startProxy(t, fmt.Sprintf("tls: {cert: %s, key: %s, require: true}\n", cert, key))
	out, err := runCmd(t, time.Minute, "mariadb", "--no-defaults", "--ssl", "-h127.0.0.1", "-P"+p.port(), "-uapp", "-papp", "-N", "-B", "-e", `\s`, "shop")
	if err != nil || !strings.Contains(out, "Cipher in use is") {
		t.Fatalf("mariadb --ssl: %v\n%s", err, out)
	}
	db := p.open(t, "shop", "tls=skip-verify")
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("go-sql-driver over TLS (caching_sha2_password): %v", err)
	}
	plain := p.open(t, "shop")
	if err := plain.Ping(); err == nil {
		t.Fatal("a client without TLS was let in although tls.require is set")
	}
}

// Node's mysql2 with execute() (server-side prepared statements). The
// package, one pinned version, is installed by scripts/deps.sh into
// .deps/node; the test never downloads anything.
func TestNodeMysql2(t *testing.T) {
	dir, err := filepath.Abs("../.deps/node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mysql2", "package.json")); err != nil {
		t.Fatalf("mysql2 is not installed in %s: run scripts/deps.sh (%v)", dir, err)
	}
	e := newShardEnv(t)
	loadItems(t, e)
	script := fmt.Sprintf(`
const mysql = require(%q);
(async () => {
  const c = await mysql.createConnection({host: '127.0.0.1', port: %s, user: 'app', password: 'app', database: 'shop'});
  const [rows] = await c.execute('SELECT id, name FROM items WHERE product_id = ? AND qty > ? ORDER BY id LIMIT 3', [4, 2]);
  const [agg] = await c.execute('SELECT COUNT(*) AS n, SUM(price) AS s FROM items WHERE qty > ?', [5]);
  console.log(JSON.stringify(rows.map(r => r.id)) + ' ' + agg[0].n + ' ' + agg[0].s);
  await c.end();
})().catch(e => { console.error(e); process.exit(1); });
`, filepath.Join(dir, "node_modules", "mysql2", "promise"), e.p.port())
	out, err := runCmd(t, time.Minute, "node", "-e", script)
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var ids string
	var n int
	var sum string
	if _, err := fmt.Sscan(out, &ids, &n, &sum); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	want := rowsOf(t, e.ref, "SELECT id FROM items WHERE product_id = 4 AND qty > 2 ORDER BY id LIMIT 3", true)
	var refN int
	var refSum string
	scan(t, e.ref, "SELECT COUNT(*), SUM(price) FROM items WHERE qty > 5", &refN, &refSum)
	if ids != "["+strings.Join(want, ",")+"]" || n != refN || sum != refSum {
		t.Fatalf("mysql2 printed %q; want %v %d %s", out, want, refN, refSum)
	}
}

// proxyStmtCap is the proxy's limit of prepared statements per client
// (maxStmtsPerConn in protocol/stmt.go), MySQL's max_prepared_stmt_count
// default.
const proxyStmtCap = 16382

// heapInUse is the live heap after a collection: the in-process proxy's
// memory is part of it. Two collections: the first only moves sync.Pool
// contents to the victim cache.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// Backends never hold a client's prepared statements (the proxy closes
// them at once), so what can leak is the proxy's own per-client statement
// map. On one connection kept for the whole test: more prepare/execute/close
// cycles than the per-client cap (a closed statement left in the map would
// make a PREPARE fail once the cap is reached); then exactly the cap of open
// statements fits and one more is refused with 1461, which shows the map
// was empty and is bounded; and the proxy's heap is back where it was once
// they are closed. SHARDGATE_PS_CYCLES sets the cycles (`make soak` runs
// 1,000,000).
func TestPreparedStatementChurn(t *testing.T) {
	cycles := int(envInt(t, "SHARDGATE_PS_CYCLES", proxyStmtCap+100, proxyStmtCap+1))
	p := startProxy(t, "")
	db := p.open(t, "shop")
	c := pin(t, db)
	ctx := context.Background()
	var one int
	scan(t, c, "SELECT 1", &one) // the connection and its pools exist before the baseline
	before := heapInUse()
	start := time.Now()
	for i := 0; i < cycles; i++ {
		st, err := c.PrepareContext(ctx, "SELECT ? + ?")
		if err != nil {
			t.Fatalf("cycle %d: PREPARE: %v (closed statements still count against the cap of %d?)", i, err, proxyStmtCap)
		}
		var sum int
		if err := st.QueryRowContext(ctx, i, 1).Scan(&sum); err != nil || sum != i+1 {
			t.Fatalf("cycle %d: EXECUTE returned %d, %v", i, sum, err)
		}
		if err := st.Close(); err != nil {
			t.Fatalf("cycle %d: CLOSE: %v", i, err)
		}
	}
	t.Logf("%d prepare/execute/close cycles on one connection in %s", cycles, time.Since(start).Round(time.Millisecond))
	afterChurn := heapInUse()

	held := make([]*sql.Stmt, 0, proxyStmtCap)
	closeHeld := func() {
		for _, st := range held {
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		}
		held = nil // nor may the test itself keep them
	}
	defer closeHeld()
	for len(held) < proxyStmtCap {
		st, err := c.PrepareContext(ctx, "SELECT ? * 2")
		if err != nil {
			t.Fatalf("only %d statements could be held open after the churn, want %d: %v", len(held), proxyStmtCap, err)
		}
		held = append(held, st)
	}
	if _, err := c.PrepareContext(ctx, "SELECT ? * 2"); err == nil {
		t.Fatalf("statement %d was accepted: no per-client cap", proxyStmtCap+1)
	} else if code, _, _ := mysqlErr(t, err); code != 1461 {
		t.Fatalf("statement %d: want 1461, got %v", proxyStmtCap+1, err)
	}
	var doubled int
	if err := held[len(held)-1].QueryRowContext(ctx, 21).Scan(&doubled); err != nil || doubled != 42 {
		t.Fatalf("a held statement after the refusal: %d %v", doubled, err)
	}
	// Closing one frees its slot.
	if err := held[0].Close(); err != nil {
		t.Fatal(err)
	}
	var err error
	if held[0], err = c.PrepareContext(ctx, "SELECT ? * 2"); err != nil {
		t.Fatalf("PREPARE after closing one of %d: %v", proxyStmtCap, err)
	}
	closeHeld()
	scan(t, c, "SELECT 1", &one) // the closes have been read by the proxy
	after := heapInUse()
	t.Logf("heap: %d KB before, %d KB after the churn, %d KB after %d statements were held and closed", before>>10, afterChurn>>10, after>>10, proxyStmtCap)
	// The map's buckets stay allocated (Go maps do not shrink): about
	// 0.7 MB at the cap, bounded by it. Statements kept anywhere after
	// their close would add more than the remaining slack.
	if grown := after - before; grown > 2<<20 {
		t.Fatalf("heap grew by %d KB over the test with every statement closed", grown>>10)
	}
}

// What drivers, ORMs and GUI clients ask on connect answers in terms of the
// proxy and of logical tables.
func TestDriverProbes(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	var packet int64
	var comment string
	if err := e.proxy.QueryRow("SELECT @@max_allowed_packet, @@version_comment").Scan(&packet, &comment); err != nil || packet != 64<<20 {
		t.Fatalf("@@max_allowed_packet = %d (%v), want the proxy's 64 MB", packet, err)
	}
	r := query(e.proxy, "SELECT @@max_allowed_packet, @@version_comment")
	if strings.Join(r.cols, ",") != "@@max_allowed_packet,@@version_comment" {
		t.Fatalf("column names %v", r.cols)
	}
	tables := rowsOf(t, e.proxy, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'", false)
	joined := "," + strings.Join(tables, ",") + ","
	if !strings.Contains(joined, ",items,") || strings.Contains(joined, "items_") {
		t.Fatalf("information_schema.TABLES: %v", tables)
	}
	cols := rowsOf(t, e.proxy, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'items' ORDER BY ORDINAL_POSITION", true)
	if strings.Join(cols, ",") != "id,product_id,name,price,qty,created,score" {
		t.Fatalf("information_schema.COLUMNS for items: %v", cols)
	}
	full := rowsOf(t, e.proxy, "SHOW FULL COLUMNS FROM items", true)
	if len(full) != 7 {
		t.Fatalf("SHOW FULL COLUMNS: %v", full)
	}
	vars := rowsOf(t, e.proxy, "SHOW VARIABLES LIKE 'character_set_client'", true)
	if len(vars) != 1 || !strings.HasPrefix(vars[0], "character_set_client|") {
		t.Fatalf("SHOW VARIABLES: %v", vars)
	}
}
