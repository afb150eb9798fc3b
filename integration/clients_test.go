package integration

import (
	"bytes"
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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
			ref, _ := sql.Open("mysql", "app:app@tcp("+refServer+")/shop?parseTime=true")
			defer ref.Close()
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
			if _, err := db.Exec("DROP TABLE IF EXISTS ps_types"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec("CREATE TABLE ps_types (id INT PRIMARY KEY, t DATETIME(6), d DATE, tm TIME, b BLOB, dec10 DECIMAL(10,3), f DOUBLE, u BIGINT UNSIGNED, s VARCHAR(20), i8 TINYINT)"); err != nil {
				t.Fatal(err)
			}
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
			tx.Rollback()
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
	cols, _ := rows.Columns()
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
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for _, v := range vals {
				set = append(set, v.String)
			}
		}
		sets = append(sets, set)
		if !rows.NextResultSet() {
			break
		}
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
	for _, mode := range []string{"text", "prepared"} {
		params := []string{"maxAllowedPacket=268435456"}
		if mode == "text" {
			params = append(params, "interpolateParams=true")
		}
		db := p.open(t, "shop", params...)
		db.SetMaxOpenConns(2)
		if _, err := db.Exec("CREATE TABLE IF NOT EXISTS big_values (id INT PRIMARY KEY, v LONGBLOB)"); err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1<<24 - 1, 1 << 24, 1<<24 + 1, 32 << 20} {
			value := make([]byte, size)
			rand.Read(value)
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
// also when the pooled connection served another character set before.
func TestCharsets(t *testing.T) {
	p := startProxy(t, "pool: {max_open: 2, max_idle: 2}\n")
	db := p.open(t, "shop")
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS cs_t (id INT PRIMARY KEY, u VARCHAR(20) CHARACTER SET utf8mb4, l VARCHAR(20) CHARACTER SET latin1, b VARBINARY(20))"); err != nil {
		t.Fatal(err)
	}
	db.Exec("DELETE FROM cs_t")
	if _, err := db.Exec("INSERT INTO cs_t VALUES (1, '🚀 Zoë 中', 'Café', X'00FF7F80')"); err != nil {
		t.Fatal(err)
	}
	latin1 := p.open(t, "shop", "charset=latin1")
	for i := 0; i < 10; i++ {
		var u string
		var b []byte
		if err := db.QueryRow("/* shardgate:primary */ SELECT u, b FROM cs_t WHERE id = 1").Scan(&u, &b); err != nil || u != "🚀 Zoë 中" || !bytes.Equal(b, []byte{0, 0xff, 0x7f, 0x80}) {
			t.Fatalf("utf8mb4 round %d: %q %x %v", i, u, b, err)
		}
		var l []byte
		if err := latin1.QueryRow("/* shardgate:primary */ SELECT l FROM cs_t WHERE id = 1").Scan(&l); err != nil || !bytes.Equal(l, []byte("Caf\xe9")) {
			t.Fatalf("latin1 round %d: %x %v", i, l, err)
		}
	}
}

// writeCert makes a self-signed certificate for 127.0.0.1.
func writeCert(t *testing.T) (certFile, keyFile string) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	return certFile, keyFile
}

func TestTLS(t *testing.T) {
	cert, key := writeCert(t)
	p := startProxy(t, fmt.Sprintf("tls: {cert: %s, key: %s, require: true}\n", cert, key))
	out, err := exec.Command("mariadb", "--no-defaults", "--ssl", "-h127.0.0.1", "-P"+p.port(), "-uapp", "-papp", "-N", "-B", "-e", `\s`, "shop").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Cipher in use is") {
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
// package comes from the npm registry into a temporary directory.
func TestNodeMysql2(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	dir := filepath.Join(os.TempDir(), "shardgate-node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mysql2")); err != nil {
		if out, err := exec.Command("npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", dir, "mysql2@3").CombinedOutput(); err != nil {
			t.Fatalf("npm install mysql2: %v\n%s", err, out)
		}
	}
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
	out, err := exec.Command("node", "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var ids string
	var n int
	var sum string
	fmt.Sscan(string(out), &ids, &n, &sum)
	want := rowsOf(t, e.ref, "SELECT id FROM items WHERE product_id = 4 AND qty > 2 ORDER BY id LIMIT 3", true)
	var refN int
	var refSum string
	e.ref.QueryRow("SELECT COUNT(*), SUM(price) FROM items WHERE qty > 5").Scan(&refN, &refSum)
	if ids != "["+strings.Join(want, ",")+"]" || n != refN || sum != refSum {
		t.Fatalf("mysql2 printed %q; want %v %d %s", out, want, refN, refSum)
	}
}

// Many prepare/execute/close cycles with connections coming and going leave
// no prepared statements behind on the backends.
func TestPreparedStatementChurn(t *testing.T) {
	p := startProxy(t, "")
	// 16 × 6,250 = 100,000 cycles by default; `make test` also runs it once
	// without the race detector with SHARDGATE_PS_CYCLES=1000000.
	const workers = 16
	cycles := 100000 / workers
	if n, err := strconv.Atoi(os.Getenv("SHARDGATE_PS_CYCLES")); err == nil && n > 0 {
		cycles = n / workers
	}
	stmtCount := func() int {
		total := 0
		for _, addr := range []string{mainPrimary, "127.0.0.1:3311", "127.0.0.1:3312"} {
			var name string
			var n int
			direct(t, addr, "").QueryRow("SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'").Scan(&name, &n)
			total += n
		}
		return total
	}
	var wg sync.WaitGroup
	var peak int
	var mu sync.Mutex
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var db *sql.DB
			for i := 0; i < cycles; i++ {
				if i%500 == 0 { // churn: a new connection now and then
					if db != nil {
						db.Close()
					}
					db, _ = sql.Open("mysql", p.dsn("shop"))
					db.SetMaxOpenConns(1)
				}
				st, err := db.Prepare("SELECT ? + ?")
				if err != nil {
					errs <- err
					return
				}
				var sum int
				if err := st.QueryRow(i, w).Scan(&sum); err != nil || sum != i+w {
					errs <- fmt.Errorf("execute: %d %v", sum, err)
					return
				}
				st.Close()
				if i%5000 == 0 && w == 0 {
					n := stmtCount()
					mu.Lock()
					peak = max(peak, n)
					mu.Unlock()
				}
			}
			db.Close()
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	after := stmtCount()
	t.Logf("%d prepare/execute/close cycles; backends' Prepared_stmt_count peaked at %d, %d after", workers*cycles, peak, after)
	if peak > 16 || after > 2 {
		t.Fatalf("prepared statements pile up on the backends: peak %d, after %d", peak, after)
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
