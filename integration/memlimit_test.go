package integration

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Issue 13 item 3: one memory budget for the whole proxy. Under
// memory_limit: 64M (a connection and a statement get 16 MiB each), heavy
// GROUP BY … ORDER BY COUNT(*) merges fail with 1038 and clients parking
// long data with 1041 (1153 for one parameter past max_allowed_packet),
// other clients keep working, every connection stays usable, and the
// proxy's peak RSS stays within memory_limit + 64 MiB.

const memLimit = 64 << 20

// vmHWMKB is a process's peak resident set size (VmHWM) in KiB.
func vmHWMKB(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			n, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return n
		}
	}
	return 0
}

// psClient speaks the binary protocol on a raw socket: prepare, long data,
// execute, reset, ping, a text query.
type psClient struct {
	t *testing.T
	c net.Conn
}

func (p *psClient) send(payload []byte) error {
	h := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), 0}
	p.c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	_, err := p.c.Write(append(h, payload...))
	return err
}

func (p *psClient) read() ([]byte, error) {
	p.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	var h [4]byte
	if _, err := io.ReadFull(p.c, h[:]); err != nil {
		return nil, err
	}
	b := make([]byte, int(h[0])|int(h[1])<<8|int(h[2])<<16)
	_, err := io.ReadFull(p.c, b)
	return b, err
}

// answer reads a whole response: an ERR (returned as *mysql.MySQLError),
// an OK, or a result set, whose rows it returns.
func (p *psClient) answer() ([][]byte, error) {
	first, err := p.read()
	switch {
	case err != nil:
		return nil, err
	case first[0] == 0xff:
		return nil, &mysql.MySQLError{Number: binary.LittleEndian.Uint16(first[1:]), Message: string(first[9:])}
	case first[0] == 0x00:
		return nil, nil
	}
	var rows [][]byte
	for eofs := 0; eofs < 2; {
		pkt, err := p.read()
		if err != nil {
			return nil, err
		}
		switch {
		case pkt[0] == 0xfe && len(pkt) < 9:
			eofs++
		case pkt[0] == 0xff:
			return nil, &mysql.MySQLError{Number: binary.LittleEndian.Uint16(pkt[1:]), Message: string(pkt[9:])}
		case eofs == 1:
			rows = append(rows, pkt)
		}
	}
	return rows, nil
}

// prepare prepares a one-parameter statement and returns its id.
func (p *psClient) prepare(sql string) uint32 {
	p.t.Helper()
	id, _, _ := p.prepareDefs(sql)
	return id
}

// prepareDefs prepares a statement and returns its id and the parameter
// and column definitions of the answer, as the client reads them.
func (p *psClient) prepareDefs(sql string) (id uint32, params, columns [][]byte) {
	p.t.Helper()
	if err := p.send(append([]byte{0x16}, sql...)); err != nil {
		p.t.Fatal(err)
	}
	ok, err := p.read()
	if err != nil || ok[0] != 0 {
		p.t.Fatalf("prepare %q: %q %v", sql, ok, err)
	}
	id = binary.LittleEndian.Uint32(ok[1:])
	ncols, nparams := binary.LittleEndian.Uint16(ok[5:]), binary.LittleEndian.Uint16(ok[7:])
	read := func(n uint16) [][]byte {
		var defs [][]byte
		for i := 0; n > 0 && i <= int(n); i++ { // the definitions and their EOF
			pkt, err := p.read()
			if err != nil {
				p.t.Fatal(err)
			}
			if i < int(n) {
				defs = append(defs, pkt)
			}
		}
		return defs
	}
	params = read(nparams)
	return id, params, read(ncols)
}

// longData sends size bytes of long data for parameter param in chunks.
func (p *psClient) longData(id uint32, param uint16, size, chunk int) error {
	data := bytes.Repeat([]byte{'v'}, chunk)
	for sent := 0; sent < size; sent += chunk {
		pkt := binary.LittleEndian.AppendUint32([]byte{0x18}, id)
		pkt = binary.LittleEndian.AppendUint16(pkt, param)
		if err := p.send(append(pkt, data[:min(chunk, size-sent)]...)); err != nil {
			return err
		}
	}
	return nil
}

// ping waits for COM_PING's OK: commands run in order, so everything sent
// before it has been handled.
func (p *psClient) ping() error {
	if err := p.send([]byte{0x0e}); err != nil {
		return err
	}
	_, err := p.answer()
	return err
}

// execute runs statement id with its n parameters sent as long data and
// returns the integer (INT or BIGINT) the statement's one row holds.
func (p *psClient) execute(id uint32, n int) (uint64, error) {
	pkt := binary.LittleEndian.AppendUint32([]byte{0x17}, id)
	pkt = append(pkt, 0, 1, 0, 0, 0)            // flags, iterations
	pkt = append(pkt, make([]byte, (n+7)/8)...) // NULL bitmap
	pkt = append(pkt, 1)                        // new types
	for range n {
		pkt = append(pkt, 0xfc, 0) // MYSQL_TYPE_BLOB
	}
	if err := p.send(pkt); err != nil {
		return 0, err
	}
	rows, err := p.answer()
	if err != nil {
		return 0, err
	}
	// A binary row: header, NULL bitmap, the value.
	switch {
	case len(rows) == 1 && len(rows[0]) == 10:
		return binary.LittleEndian.Uint64(rows[0][2:]), nil
	case len(rows) == 1 && len(rows[0]) == 6:
		return uint64(binary.LittleEndian.Uint32(rows[0][2:])), nil
	}
	return 0, fmt.Errorf("execute: rows %q", rows)
}

func (p *psClient) reset(id uint32) error {
	if err := p.send(binary.LittleEndian.AppendUint32([]byte{0x1a}, id)); err != nil {
		return err
	}
	_, err := p.answer()
	return err
}

// selectOne checks the connection still answers a query.
func (p *psClient) selectOne() error {
	if err := p.send(append([]byte{0x03}, "SELECT 1"...)); err != nil {
		return err
	}
	rows, err := p.answer()
	if err == nil && (len(rows) != 1 || string(rows[0]) != "\x011") {
		err = fmt.Errorf("SELECT 1 answered %q", rows)
	}
	return err
}

// codeOf is the MySQL error code of err, 0 for none, -1 for another error.
func codeOf(err error) int {
	var me *mysql.MySQLError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &me):
		return int(me.Number)
	}
	return -1
}

func TestMemoryBudget(t *testing.T) {
	const groups = 200000 // per physical table; every group is on all four
	table := uniqueName("memsales")
	ports := freePorts(t, 1)
	rulesYAML := baseRules + "      " + table + ":\n        shard: {by: hash, column: id, tables: 4, clusters: [s0, s1]}\n" +
		"memory_limit: 64M\nmax_allowed_packet: 8388608\nadmin_listen: " + ports[0] + "\n"
	p := startBinaryProxy(t, rulesYAML, 0)
	pid := p.cmd.Process.Pid
	db := openDSN(t, "app:app@tcp("+p.addr+")/shop")
	// The table is made and dropped on a pool of its own: the test closes
	// db to see the budget empty again, before the cleanup drops it.
	freshTable(t, openDSN(t, "app:app@tcp("+p.addr+")/shop"), table, "(id BIGINT PRIMARY KEY, product_id BIGINT NOT NULL, qty INT NOT NULL)")
	// Filled on the shards directly, fast: every physical table holds
	// every product once, so each group is merged from four tables. The
	// ids do not follow the hash rule; the test reads whole tables only.
	for i, primary := range []string{"127.0.0.1:3320", "127.0.0.1:3330", "127.0.0.1:3320", "127.0.0.1:3330"} {
		shard := direct(t, primary, "shop")
		q := fmt.Sprintf("INSERT INTO %s_%d SELECT seq*4+%d, seq, 1 FROM seq_0_to_%d", table, i, i, groups-1)
		if _, err := shard.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	syncReplicas(t)
	scrape := func() string {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + ports[0] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	start := time.Now()
	baseKB := vmHWMKB(pid)

	// Another client reads all along and must never fail: a merged read
	// over every shard that holds nothing in memory (the budget may be
	// full of the others' sorts and long data meanwhile).
	stop := make(chan struct{})
	var bystander sync.WaitGroup
	var bystanderReads atomic.Int64
	var bystanderErr atomic.Value
	other := openDSN(t, "app:app@tcp("+p.addr+")/shop")
	bystander.Add(1)
	go func() {
		defer bystander.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var n int
			q := fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE product_id = %d", table, i%groups)
			if err := other.QueryRow(q).Scan(&n); err != nil || n != 4 {
				bystanderErr.Store(fmt.Sprintf("%s: %d, %v", q, n, err))
				return
			}
			bystanderReads.Add(1)
		}
	}()

	heavy := "SELECT product_id, COUNT(*) FROM " + table + " GROUP BY product_id ORDER BY COUNT(*) DESC, product_id LIMIT 3"
	medium := "SELECT product_id, COUNT(*) FROM " + table + " WHERE product_id < 20000 GROUP BY product_id ORDER BY COUNT(*) DESC, product_id LIMIT 3"
	merge := func(conn *sql.Conn, q string) error {
		rows, err := conn.QueryContext(t.Context(), q)
		if err != nil {
			return err
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var id, n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			got = append(got, fmt.Sprintf("%d:%d", id, n))
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if s := strings.Join(got, " "); s != "0:4 1:4 2:4" {
			return fmt.Errorf("%s answered %q", q, s)
		}
		return nil
	}

	t.Run("one heavy merge", func(t *testing.T) {
		// 200,000 merged groups take about 55 MiB to sort (275 bytes
		// each): past the statement's 16 MiB share.
		err := merge(pin(t, db), heavy)
		if codeOf(err) != 1038 || !strings.Contains(err.Error(), "statement_memory_limit (16 MiB)") {
			t.Fatalf("%s: %v, want 1038 naming statement_memory_limit", heavy, err)
		}
	})

	t.Run("8 concurrent heavy merges", func(t *testing.T) {
		// Each is past its 16 MiB share, or finds the budget taken by the
		// others first.
		conns := make([]*sql.Conn, 8)
		for i := range conns {
			conns[i] = pin(t, db)
		}
		errs := make([]error, len(conns))
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = merge(c, heavy) }()
		}
		wg.Wait()
		for i, err := range errs {
			var me *mysql.MySQLError
			if !errors.As(err, &me) || me.Number != 1038 || string(me.SQLState[:]) != "HY001" ||
				!(strings.Contains(me.Message, "statement_memory_limit (16 MiB)") || strings.Contains(me.Message, "memory_limit (64 MiB) is in use")) {
				t.Errorf("heavy merge %d: %v, want 1038 (HY001) naming the limit", i, err)
			}
			// The connection is still usable.
			var one int
			if err := conns[i].QueryRowContext(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Errorf("connection %d after its 1038: %v", i, err)
			}
		}
	})

	t.Run("medium merges", func(t *testing.T) {
		// 20,000 groups fit one statement's share; eight at once may not
		// fit the budget: each sorts or gets 1038 naming memory_limit.
		conns := make([]*sql.Conn, 8)
		for i := range conns {
			conns[i] = pin(t, db)
		}
		errs := make([]error, len(conns))
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = merge(c, medium) }()
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case codeOf(err) != 1038 || !strings.Contains(err.Error(), "memory_limit (64 MiB) is in use"):
				t.Errorf("medium merge %d: %v, want its rows or 1038 naming memory_limit", i, err)
			}
		}
		if ok == 0 {
			t.Errorf("none of 8 merges of 20,000 groups sorted within a 64 MiB budget: %v", errs)
		}
	})

	t.Run("budget held by parked long data", func(t *testing.T) {
		// Seven clients park 6 MiB of long data each, in 8 MiB buffers:
		// 56 of the 64 MiB. A merge of 45,000 groups (about 13 MiB, within
		// its statement's share) then gets 1038 naming memory_limit, and
		// sorts once the long data is given back.
		var parked []*psClient
		var ids []uint32
		for range 7 {
			c := &psClient{t: t, c: rawLogin(t, p.addr)}
			id := c.prepare("SELECT LENGTH(?)")
			if err := c.longData(id, 0, 6<<20, 256<<10); err != nil {
				t.Fatal(err)
			}
			if err := c.ping(); err != nil {
				t.Fatal(err)
			}
			parked, ids = append(parked, c), append(ids, id)
		}
		conn := pin(t, db)
		wide := "SELECT product_id, COUNT(*) FROM " + table + " WHERE product_id < 45000 GROUP BY product_id ORDER BY COUNT(*) DESC, product_id LIMIT 3"
		err := merge(conn, wide)
		if codeOf(err) != 1038 || !strings.Contains(err.Error(), "memory_limit (64 MiB) is in use") {
			t.Fatalf("a 13 MiB sort beside 56 MiB of parked long data: %v, want 1038 naming memory_limit", err)
		}
		for i, c := range parked {
			if err := c.reset(ids[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := merge(conn, wide); err != nil {
			t.Fatalf("the same sort with the long data given back: %v", err)
		}
	})

	t.Run("30 clients parking long data", func(t *testing.T) {
		const clients, size = 30, 4 << 20
		cs := make([]*psClient, clients)
		ids := make([]uint32, clients)
		for i := range cs {
			cs[i] = &psClient{t: t, c: rawLogin(t, p.addr)}
			ids[i] = cs[i].prepare("SELECT LENGTH(?)")
		}
		// All park at once; a ping each says its long data was handled.
		var wg sync.WaitGroup
		parkErrs := make([]error, clients)
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if parkErrs[i] = c.longData(ids[i], 0, size, 512<<10); parkErrs[i] == nil {
					parkErrs[i] = c.ping()
				}
			}()
		}
		wg.Wait()
		for i, err := range parkErrs {
			if err != nil {
				t.Fatalf("client %d parking: %v", i, err)
			}
		}
		// 120 MiB asked of a 64 MiB budget: the EXECUTEs answer the length
		// or 1041, one after another so that what each gives back is
		// there for the next.
		got, refused := 0, 0
		for i, c := range cs {
			n, err := c.execute(ids[i], 1)
			switch {
			case err == nil && n == size:
				got++
			case codeOf(err) == 1041 && strings.Contains(err.Error(), "memory_limit (64 MiB) is in use"):
				refused++
			default:
				t.Errorf("client %d: EXECUTE answered %d, %v; want %d or 1041 naming memory_limit", i, n, err, size)
			}
			if err := c.selectOne(); err != nil {
				t.Errorf("client %d after its EXECUTE: %v", i, err)
			}
		}
		t.Logf("30 clients × 4 MiB of long data: %d executed, %d refused with 1041", got, refused)
		if got == 0 || refused == 0 {
			t.Errorf("%d executed, %d refused: want both (120 MiB of long data, 64 MiB budget)", got, refused)
		}
		// After the round everything was given back: one client alone
		// parks and executes.
		if err := cs[0].longData(ids[0], 0, size, 512<<10); err != nil {
			t.Fatal(err)
		}
		if n, err := cs[0].execute(ids[0], 1); err != nil || n != size {
			t.Errorf("one client alone after the round: %d, %v", n, err)
		}
	})

	t.Run("one client's limits", func(t *testing.T) {
		c := &psClient{t: t, c: rawLogin(t, p.addr)}
		// One parameter past max_allowed_packet (8 MiB): 1153.
		id := c.prepare("SELECT LENGTH(?)")
		if err := c.longData(id, 0, 9<<20, 1<<20); err != nil {
			t.Fatal(err)
		}
		if _, err := c.execute(id, 1); codeOf(err) != 1153 || !strings.Contains(err.Error(), "max_allowed_packet") {
			t.Errorf("9 MiB parameter: %v, want 1153", err)
		}
		// Three parameters of 6 MiB: past the connection's 16 MiB.
		id3 := c.prepare("SELECT LENGTH(?) + LENGTH(?) + LENGTH(?)")
		for param := range 3 {
			if err := c.longData(id3, uint16(param), 6<<20, 1<<20); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.execute(id3, 3); codeOf(err) != 1041 || !strings.Contains(err.Error(), "connection_memory_limit (16 MiB") {
			t.Errorf("18 MiB of long data on one connection: %v, want 1041 naming connection_memory_limit", err)
		}
		// A packet bigger than the connection's share: read past, 1041,
		// and the connection goes on.
		big := append([]byte{0x03}, "SELECT '"...)
		big = append(append(big, bytes.Repeat([]byte{'x'}, 7<<20)...), '\'')
		if err := c.longData(id3, 0, 6<<20, 1<<20); err != nil { // an 8 MiB buffer
			t.Fatal(err)
		}
		if err := c.longData(id3, 1, 2<<20, 1<<20); err != nil { // 2 MiB more
			t.Fatal(err)
		}
		if err := c.send(big); err != nil {
			t.Fatal(err)
		}
		if _, err := c.answer(); codeOf(err) != 1041 || !strings.Contains(err.Error(), "a packet of 7 MiB") {
			t.Errorf("a 7 MiB query beside 10 MiB of long data: %v, want 1041", err)
		}
		if err := c.reset(id3); err != nil {
			t.Fatal(err)
		}
		if err := c.selectOne(); err != nil {
			t.Errorf("after the refusals: %v", err)
		}
	})

	close(stop)
	bystander.Wait()
	if e := bystanderErr.Load(); e != nil {
		t.Errorf("another client's read failed meanwhile: %v", e)
	}
	peakKB := vmHWMKB(pid)
	t.Logf("proxy peak RSS %d MiB (%d MiB before the load), memory_limit 64 MiB; %d reads by another client all succeeded; %s",
		peakKB>>10, baseKB>>10, bystanderReads.Load(), time.Since(start).Round(time.Millisecond))
	if peakKB<<10 > memLimit+64<<20 {
		t.Errorf("peak RSS %d MiB, want at most memory_limit + 64 MiB = 128 MiB", peakKB>>10)
	}
	// Every client gone, the budget is empty again; each limit refused.
	db.Close()
	var body string
	eventually(t, 10*time.Second, "the budget back at zero", func() bool {
		body = scrape()
		return metricValue(t, body, "shardgate_memory_reserved_bytes") == 0
	})
	for _, limit := range []string{"memory_limit", "connection_memory_limit", "statement_memory_limit"} {
		if n := metricValue(t, body, "shardgate_memory_refusals_total", `limit="`+limit+`"`); n < 1 {
			t.Errorf("refusals by %s: %v", limit, n)
		}
	}
	if peak := metricValue(t, body, "shardgate_memory_reserved_peak_bytes"); peak > memLimit || peak < memLimit/2 {
		t.Errorf("peak reserved %v, want within (32 MiB, 64 MiB]", peak)
	}
	p.mustRun(t)
}
