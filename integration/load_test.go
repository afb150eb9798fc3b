package integration

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// loadFile writes rows lines of CSV for items (id, k, body, amount) and
// events (id, created_at, body): quotes, commas, escapes, NULLs, UTF-8,
// CRLF line ends.
func loadFile(t testing.TB, dir, name string, rows int, base time.Time) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "header line, ignored\r\n")
	for id := 0; id < rows; id++ {
		body := fmt.Sprintf(`"item, ""%d"" é\\N\\t"`, id)
		switch id % 7 {
		case 3:
			body = `\N`
		case 5:
			body = fmt.Sprintf("plain%d", id)
		}
		if strings.HasPrefix(name, "events") {
			fmt.Fprintf(w, "%d,%s,%s\r\n", id, base.Add(time.Duration(id%25)*time.Hour).Format("2006-01-02 15:04:05"), body)
		} else {
			fmt.Fprintf(w, "%d,%d,%s,%d.%02d\r\n", id, id%97, body, id%1000, id%100)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

const loadCSV = "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\r\\n' IGNORE 1 LINES"

// loadChecksum is a table's row count and an order-independent checksum
// of its rows.
func loadChecksum(t testing.TB, db *sql.DB, table, cols string) string {
	t.Helper()
	var n int64
	var sum sql.NullString
	scan(t, db, fmt.Sprintf("SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', %s, ISNULL(body)))) FROM %s", cols, table), &n, &sum)
	return fmt.Sprintf("%d rows, checksum %s", n, sum.String)
}

// LOAD DATA LOCAL of a generated file (LOAD_ROWS rows, default 10,000)
// into a hash-sharded table, an hourly table and a plain table through
// the proxy, and into plain tables on ref: the same rows arrive (count and
// checksum read through the proxy and on ref); the proxy's heap grows by
// less than 64 MB whatever the file's size.
func TestLoadDataDifferential(t *testing.T) {
	rows := int(envInt(t, "LOAD_ROWS", 10000, 1))
	db := uniqueName("txn_load")
	p, px, ref := loadSchema(t, db)
	dir := t.TempDir()
	base := time.Now().UTC().Truncate(time.Hour).Add(-100 * 24 * time.Hour)
	items := loadFile(t, dir, "items.csv", rows, base)
	events := loadFile(t, dir, "events.csv", rows, base)
	mysql.RegisterLocalFile(items)
	mysql.RegisterLocalFile(events)
	defer mysql.DeregisterLocalFile(items)
	defer mysql.DeregisterLocalFile(events)
	for _, d := range []*sql.DB{px, ref} {
		if _, err := d.Exec("CREATE TABLE plain " + loadItemsDDL); err != nil {
			t.Fatal(err)
		}
	}

	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.HeapInuse
	rssBefore := procStatusKB(t, "VmRSS")
	go func() {
		defer close(done)
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	loads := []struct{ table, file, cols string }{
		{"items", items, "(id, k, body, amount)"},
		{"events", events, "(id, created_at, body)"},
		{"plain", items, "(id, k, body, amount)"},
	}
	for _, l := range loads {
		stmt := fmt.Sprintf("LOAD DATA LOCAL INFILE '%s' INTO TABLE %s %s %s", l.file, l.table, loadCSV, l.cols)
		start := time.Now()
		pres, err := px.Exec(stmt)
		if err != nil {
			t.Fatalf("proxy: %s: %v", l.table, err)
		}
		took := time.Since(start)
		start = time.Now()
		rres, err := ref.Exec(stmt)
		if err != nil {
			t.Fatalf("ref: %s: %v", l.table, err)
		}
		refTook := time.Since(start)
		pn, _ := pres.RowsAffected()
		rn, _ := rres.RowsAffected()
		if pn != rn || pn != int64(rows) {
			t.Errorf("%s: proxy affected %d rows, ref %d, want %d", l.table, pn, rn, rows)
		}
		t.Logf("%s: %d rows in %v through the proxy (%.0f rows/s), %v into one server (%.0f rows/s)", l.table, rows, took.Round(time.Millisecond), float64(rows)/took.Seconds(),
			refTook.Round(time.Millisecond), float64(rows)/refTook.Seconds())
	}
	close(stop)
	<-done
	growth := float64(peak.Load()-min(before, peak.Load())) / (1 << 20)
	t.Logf("proxy heap in use: %.1f MB before, peak growth %.1f MB; process RSS %.1f MB before, peak %.1f MB (the test process holds the proxy, the driver and the checks)",
		float64(before)/(1<<20), growth, float64(rssBefore)/1024, float64(procStatusKB(t, "VmHWM"))/1024)
	if growth > 64 {
		t.Errorf("the proxy's heap grew by %.1f MB while loading, want < 64 MB", growth)
	}
	syncReplicas(t)
	for _, l := range []struct{ table, cols string }{{"items", "id, k, body, amount"}, {"events", "id, created_at, body"}, {"plain", "id, k, body, amount"}} {
		got, want := loadChecksum(t, px, l.table, l.cols), loadChecksum(t, ref, l.table, l.cols)
		if got != want {
			t.Errorf("%s: proxy %s, ref %s", l.table, got, want)
		}
	}
	_ = p
}

// REPLACE and the default (IGNORE, as LOCAL implies) on rows that exist,
// inside a client transaction and in autocommit, with SET and user
// variables: the table ends as on ref, and affected rows agree.
func TestLoadDataReplaceIgnoreSet(t *testing.T) {
	db := uniqueName("txn_load")
	_, px, ref := loadSchema(t, db)
	dir := t.TempDir()
	path := filepath.Join(dir, "dup.tsv")
	if err := os.WriteFile(path, []byte("1\tone\t7\n2\ttwo\t8\n3\tthree\n1\tuno\t9\t99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mysql.RegisterLocalFile(path)
	defer mysql.DeregisterLocalFile(path)
	for _, d := range []*sql.DB{px, ref} {
		if _, err := d.Exec("INSERT INTO items (id, k, body, amount) VALUES (2, 0, 'old', 0)"); err != nil {
			t.Fatal(err)
		}
	}
	steps := []string{
		"LOAD DATA LOCAL INFILE '%s' INTO TABLE items (id, body, @k) SET k = @k * 10, amount = 1.5",
		// Row 3 has no @k: k = NULL + 1 into NOT NULL k, 1048 on both
		// (REPLACE does not imply IGNORE), and nothing of it stays.
		"LOAD DATA LOCAL INFILE '%s' REPLACE INTO TABLE items (id, body, @k) SET k = @k + 1",
		"LOAD DATA LOCAL INFILE '%s' REPLACE INTO TABLE items (id, body, @k) SET k = COALESCE(@k, 0) + 1",
	}
	for _, inTxn := range []bool{false, true} {
		for _, s := range steps {
			stmt := fmt.Sprintf(s, path)
			var got [2]string
			for i, d := range []*sql.DB{px, ref} {
				ctx := context.Background()
				c, err := d.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if inTxn {
					c.ExecContext(ctx, "BEGIN")
				}
				res, err := c.ExecContext(ctx, stmt)
				if err != nil {
					code, _, _ := mysqlErr(t, err)
					got[i] = fmt.Sprintf("error %d", code)
				} else {
					n, _ := res.RowsAffected()
					got[i] = fmt.Sprintf("%d affected", n)
				}
				if inTxn {
					if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
						t.Fatal(err)
					}
				}
				c.Close()
			}
			if got[0] != got[1] {
				t.Errorf("%s (transaction %v): proxy %s, ref %s", stmt, inTxn, got[0], got[1])
			}
		}
	}
	syncReplicas(t)
	rowsOf := func(d *sql.DB) string {
		rs, err := d.Query("SELECT CONCAT_WS(':', id, k, body, amount) FROM items ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			var s string
			rs.Scan(&s)
			out = append(out, s)
		}
		return strings.Join(out, " ")
	}
	if a, b := rowsOf(px), rowsOf(ref); a != b {
		t.Errorf("proxy %s, ref %s", a, b)
	}
}

// procStatusKB reads a kB figure of /proc/self/status (VmRSS, VmHWM).
func procStatusKB(t testing.TB, key string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb
		}
	}
	return 0
}

// What is refused: LOAD DATA without LOCAL and SELECT … INTO OUTFILE
// (the backend's disk) get MariaDB's answer to a user without FILE, with
// the reason; a client that did not enable local files gets 4166, as
// from MariaDB (the mariadb client with --local-infile=0).
func TestLoadDataRefusals(t *testing.T) {
	db := uniqueName("txn_load")
	p, px, ref := loadSchema(t, db)
	for _, q := range []string{
		"LOAD DATA INFILE '/etc/passwd' INTO TABLE items",
		"LOAD DATA INFILE '/etc/passwd' INTO TABLE plain_missing",
		"SELECT * FROM items INTO OUTFILE '/tmp/sg-out'",
		"SELECT 1 INTO DUMPFILE '/tmp/sg-out'",
	} {
		_, err := px.Exec(q)
		code, _, msg := mysqlErr(t, err)
		if code != 1045 || !strings.Contains(msg, "shardgate: ") {
			t.Errorf("%s: proxy %d %s, want 1045 with the reason", q, code, msg)
		}
		if _, err := ref.Exec(q); err == nil {
			t.Errorf("%s: ref accepted it", q)
		}
	}
	for _, target := range []struct{ name, port string }{{"proxy", p.port()}, {"ref", "3340"}} {
		cmd := exec.Command("mariadb", "--no-defaults", "-h127.0.0.1", "-P"+target.port, "-uapp", "-papp", "--local-infile=0", db,
			"-e", "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE items")
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "4166") {
			t.Errorf("%s without local infile: %s", target.name, out)
		}
	}
	// The info string, through the mariadb client, as ref prints it: a
	// row with a field too many (1262) and one lacking body (1261).
	path := filepath.Join(t.TempDir(), "info.tsv")
	hour := time.Now().UTC().Truncate(time.Hour).Format("2006-01-02 15:04:05")
	os.WriteFile(path, []byte("100\t"+hour+"\ta\n101\t"+hour+"\tb\tc\n102\t"+hour+"\n"), 0o644)
	var infos []string
	for _, port := range []string{p.port(), "3340"} {
		cmd := exec.Command("mariadb", "--no-defaults", "-h127.0.0.1", "-P"+port, "-uapp", "-papp", "--local-infile=1", "-vvv", db,
			"-e", "LOAD DATA LOCAL INFILE '"+path+"' INTO TABLE events (id, created_at, body)")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "Records:") {
				infos = append(infos, line)
			}
		}
	}
	if len(infos) != 2 || infos[0] != infos[1] {
		t.Errorf("info strings (proxy, ref): %q", infos)
	}
}

// cutFile gives some rows, then closes the client's socket, so the proxy
// never gets the file's end (a driver whose reader fails sends the end
// of the file: that is a complete, shorter file, as for MariaDB).
type cutFile struct {
	data []byte
	conn *atomic.Pointer[net.Conn]
}

func (b *cutFile) Read(p []byte) (int, error) {
	if len(b.data) > 0 {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	(*b.conn.Load()).Close()
	return 0, io.ErrUnexpectedEOF
}

// A client that goes away in the middle of its file: nothing of the load
// stays (it ran as one transaction), and the proxy serves the next
// client; a reader handler that completes works through
// RegisterReaderHandler.
func TestLoadDataBrokenStream(t *testing.T) {
	db := uniqueName("txn_load")
	p, px, _ := loadSchema(t, db)
	var rows strings.Builder
	for i := 0; i < 6000; i++ {
		fmt.Fprintf(&rows, "%d\t%d\tbody\n", i, i)
	}
	var conn atomic.Pointer[net.Conn]
	mysql.RegisterDialContext("sgcut", func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Store(&c)
		}
		return c, err
	})
	cut, err := sql.Open("mysql", "app:app@sgcut("+p.addr+")/"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Close()
	mysql.RegisterReaderHandler("sgbroken", func() io.Reader { return &cutFile{data: []byte(rows.String()), conn: &conn} })
	defer mysql.DeregisterReaderHandler("sgbroken")
	if _, err := cut.Exec("LOAD DATA LOCAL INFILE 'Reader::sgbroken' INTO TABLE items (id, k, body)"); err == nil {
		t.Fatal("a load whose client went away succeeded")
	}
	var n int
	// The proxy ends the load when it reads the closed socket, after the
	// batches before it: wait until no other session runs a statement.
	eventually(t, 30*time.Second, "the broken load's session ends", func() bool {
		scan(t, px, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID()", &n)
		return n == 0
	})
	scan(t, px, "SELECT COUNT(*) FROM items", &n)
	if n != 0 {
		t.Fatalf("%d rows of the broken load stayed", n)
	}
	mysql.RegisterReaderHandler("sgok", func() io.Reader { return strings.NewReader(rows.String()) })
	defer mysql.DeregisterReaderHandler("sgok")
	res, err := px.Exec("LOAD DATA LOCAL INFILE 'Reader::sgok' INTO TABLE items (id, k, body)")
	if err != nil {
		t.Fatal(err)
	}
	scan(t, px, "SELECT COUNT(*) FROM items", &n)
	if a, _ := res.RowsAffected(); a != 6000 || n != 6000 {
		t.Errorf("affected %d, %d rows; want 6000", a, n)
	}
}

// Files in other character sets, read as the statement's CHARACTER SET
// says, whatever the session's own (SET NAMES): latin1 é, and gbk
// characters whose second byte is 0x5C (the escape) or 0x7C (the field
// terminator here). Proxy and ref store the same characters.
func TestLoadDataCharsets(t *testing.T) {
	db := uniqueName("txn_load")
	_, px, ref := loadSchema(t, db)
	dir := t.TempDir()
	files := []struct {
		name, data, opts string
	}{
		{"latin1.txt", "1|caf\xe9|\n2|\xe9t\xe9|\n", "CHARACTER SET latin1"},
		{"gbk.txt", "3|\x81\x5c|\n4|a\x81\x7cb|\n", "CHARACTER SET gbk"},
		{"utf8.txt", "5|日本\\|語|\n6|\\N|\n", "CHARACTER SET utf8mb4"},
	}
	for _, names := range []string{"utf8mb4", "latin1"} {
		for _, d := range []*sql.DB{px, ref} {
			if _, err := d.Exec("DELETE FROM items WHERE id < 100"); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range files {
			path := filepath.Join(dir, f.name)
			if err := os.WriteFile(path, []byte(f.data), 0o644); err != nil {
				t.Fatal(err)
			}
			mysql.RegisterLocalFile(path)
			stmt := fmt.Sprintf("LOAD DATA LOCAL INFILE '%s' INTO TABLE items %s FIELDS TERMINATED BY '|' (id, body) SET k = 0", path, f.opts)
			for i, d := range []*sql.DB{px, ref} {
				c, err := d.Conn(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.ExecContext(context.Background(), "SET NAMES "+names); err != nil {
					t.Fatal(err)
				}
				if _, err := c.ExecContext(context.Background(), stmt); err != nil {
					t.Fatalf("%d, names %s: %s: %v", i, names, stmt, err)
				}
				c.ExecContext(context.Background(), "SET NAMES utf8mb4")
				c.Close()
			}
			mysql.DeregisterLocalFile(path)
		}
		syncReplicas(t)
		rowsOf := func(d *sql.DB) string {
			rs, err := d.Query("SELECT id, HEX(body) FROM items WHERE id < 100 ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			var out []string
			for rs.Next() {
				var id int
				var h sql.NullString
				rs.Scan(&id, &h)
				out = append(out, fmt.Sprintf("%d:%s", id, h.String))
			}
			return strings.Join(out, " ")
		}
		if a, b := rowsOf(px), rowsOf(ref); a != b || a == "" {
			t.Errorf("names %s: proxy %s, ref %s", names, a, b)
		}
	}
}

// Two clients load into the same sharded table at once (disjoint ids):
// every row arrives, as on ref.
func TestLoadDataTwoClients(t *testing.T) {
	db := uniqueName("txn_load")
	_, px, _ := loadSchema(t, db)
	dir := t.TempDir()
	var paths [2]string
	for c := range paths {
		var b strings.Builder
		for i := 0; i < 2500; i++ {
			fmt.Fprintf(&b, "%d\t%d\tclient %d\n", c*2500+i, i, c)
		}
		paths[c] = filepath.Join(dir, fmt.Sprintf("c%d.tsv", c))
		os.WriteFile(paths[c], []byte(b.String()), 0o644)
		mysql.RegisterLocalFile(paths[c])
		defer mysql.DeregisterLocalFile(paths[c])
	}
	errs := make(chan error, 2)
	for c := range paths {
		go func() {
			_, err := px.Exec(fmt.Sprintf("LOAD DATA LOCAL INFILE '%s' INTO TABLE items (id, k, body)", paths[c]))
			errs <- err
		}()
	}
	for range paths {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n, clients int
	scan(t, px, "SELECT COUNT(*) FROM items", &n)
	scan(t, px, "SELECT COUNT(DISTINCT body) FROM items", &clients)
	if n != 5000 || clients != 2 {
		t.Errorf("%d rows from %d clients, want 5000 from 2", n, clients)
	}
}

// go-sql-driver's allowAllFiles (no registration) reads any file the
// client names; a prepared LOAD DATA (binary protocol) loads at EXECUTE,
// as on ref.
func TestLoadDataAllowAllFilesAndPrepare(t *testing.T) {
	db := uniqueName("txn_load")
	p, _, ref := loadSchema(t, db)
	path := filepath.Join(t.TempDir(), "any.tsv")
	os.WriteFile(path, []byte("1\t1\tone\n2\t2\ttwo\n"), 0o644)
	px := p.open(t, db, "allowAllFiles=true")
	res, err := px.Exec("LOAD DATA LOCAL INFILE '" + path + "' INTO TABLE items (id, k, body)")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Errorf("affected %d, want 2", n)
	}
	// MariaDB prepares LOAD DATA and runs its file exchange at EXECUTE:
	// so does the proxy (a second file, ids 3 and 4).
	path2 := filepath.Join(t.TempDir(), "prepared.tsv")
	os.WriteFile(path2, []byte("3\t3\tthree\n4\t4\tfour\n"), 0o644)
	ref2, err := sql.Open("mysql", "app:app@tcp("+refServer+")/"+db+"?allowAllFiles=true")
	if err != nil {
		t.Fatal(err)
	}
	defer ref2.Close()
	for i, d := range []*sql.DB{px, ref2} {
		stmt, err := d.Prepare("LOAD DATA LOCAL INFILE '" + path2 + "' INTO TABLE items (id, k, body)")
		if err != nil {
			t.Fatalf("%d: prepare: %v", i, err)
		}
		res, err := stmt.Exec()
		if err != nil {
			t.Fatalf("%d: execute: %v", i, err)
		}
		if n, _ := res.RowsAffected(); n != 2 {
			t.Errorf("%d: prepared load affected %d, want 2", i, n)
		}
		stmt.Close()
	}
	var n int
	scan(t, px, "SELECT COUNT(*) FROM items", &n)
	if n != 4 {
		t.Errorf("%d rows through the proxy, want 4", n)
	}
	_ = ref
}

// TestLoadDataGlobalTable: LOAD DATA LOCAL into a global table writes
// every copy (main, s0, s1) with the same rows, as its INSERTs would; a
// REPLACE load changes every copy alike; a load whose file breaks
// mid-way leaves every copy as it was.
func TestLoadDataGlobalTable(t *testing.T) {
	e := newTxnEnvTables(t, "      regions: {global: true}\n", "")
	for cluster := range primaries {
		if _, err := e.direct[cluster].Exec("CREATE TABLE regions (id INT PRIMARY KEY, k INT, body VARCHAR(40))"); err != nil {
			t.Fatal(err)
		}
	}
	px := e.p.open(t, e.db)
	copies := func() []string {
		var out []string
		for _, cluster := range []string{"main", "s0", "s1"} {
			out = append(out, cluster+": "+loadChecksum(t, e.direct[cluster], "regions", "id, k, body"))
		}
		return out
	}
	write := func(name string, rows int, k int) string {
		var b strings.Builder
		for id := 1; id <= rows; id++ {
			fmt.Fprintf(&b, "%d\t%d\tregion %d\n", id, k, id)
		}
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		mysql.RegisterLocalFile(path)
		return path
	}
	res, err := px.Exec("LOAD DATA LOCAL INFILE '" + write("g1.tsv", 3000, 1) + "' INTO TABLE regions (id, k, body)")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 3000 {
		t.Fatalf("loaded %d rows, want 3000", n)
	}
	got := copies()
	for _, c := range got[1:] {
		if strings.SplitN(c, ": ", 2)[1] != strings.SplitN(got[0], ": ", 2)[1] || !strings.Contains(c, "3000 rows") {
			t.Fatalf("copies differ after the load: %v", got)
		}
	}
	// REPLACE: every copy's rows 1..1000 get k = 2.
	if _, err := px.Exec("LOAD DATA LOCAL INFILE '" + write("g2.tsv", 1000, 2) + "' REPLACE INTO TABLE regions (id, k, body)"); err != nil {
		t.Fatal(err)
	}
	for cluster, db := range e.direct {
		var n int
		scan(t, db, "SELECT COUNT(*) FROM regions WHERE k = 2", &n)
		if n != 1000 {
			t.Fatalf("%s: %d rows replaced, want 1000", cluster, n)
		}
	}
	before := copies()
	// A file cut mid-way (the client's connection dies): nothing of it
	// stays on any copy.
	var rows strings.Builder
	for id := 5001; id <= 25000; id++ {
		fmt.Fprintf(&rows, "%d\t3\tcut %d\n", id, id)
	}
	var conn atomic.Pointer[net.Conn]
	mysql.RegisterDialContext("sgglobalcut", func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Store(&c)
		}
		return c, err
	})
	cut, err := sql.Open("mysql", "app:app@sgglobalcut("+e.p.addr+")/"+e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Close()
	mysql.RegisterReaderHandler("sgglobalcut", func() io.Reader { return &cutFile{data: []byte(rows.String()), conn: &conn} })
	defer mysql.DeregisterReaderHandler("sgglobalcut")
	if _, err := cut.Exec("LOAD DATA LOCAL INFILE 'Reader::sgglobalcut' INTO TABLE regions (id, k, body)"); err == nil {
		t.Fatal("a load whose client went away succeeded")
	}
	// The proxy ends the load when it reads the closed socket: wait until
	// no statement runs in the database on any primary, then compare.
	eventually(t, 30*time.Second, "the broken load's statements end", func() bool {
		for _, db := range e.direct {
			var n int
			scan(t, db, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID() AND DB = DATABASE()", &n)
			if n > 0 {
				return false
			}
		}
		return true
	})
	if after := copies(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the cut load changed the copies: %v, before %v", after, before)
	}
}
