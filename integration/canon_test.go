package integration

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/collate"
)

// Canonical shard keys (issue 15 items 1 and 2), differentially: the same
// statements run through the proxy on sharded tables and on the ref
// server on plain tables, then every row is read back through the proxy
// with WHERE key = <every spelling> and compared with ref's answer. A key
// routed by its literal text instead of its value puts '02' where
// WHERE k = 2 never looks, and the answers differ.

// canonEnv is a database of sharded tables ck (INT key), cs (a
// utf8mb4_general_ci VARCHAR key) and ch (hourly, then by INT user_id),
// and the same tables unsharded on ref.
type canonEnv struct {
	db  string
	p   *proxy
	ref *sql.DB
}

const canonTables = `
ck: (id INT PRIMARY KEY, k INT NULL, v VARCHAR(20))
cs: (id INT PRIMARY KEY, name VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, v INT)
ch: (id INT PRIMARY KEY, at DATETIME NULL, user_id INT)`

func newCanonEnv(t *testing.T) *canonEnv {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	e := &canonEnv{db: "txn_canon" + hex.EncodeToString(b)}
	for _, addr := range []string{"127.0.0.1:3310", "127.0.0.1:3320", "127.0.0.1:3330", refServer} {
		root := direct(t, addr, "")
		if _, err := root.Exec("CREATE DATABASE " + e.db + " CHARACTER SET utf8mb4"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { root.Exec("DROP DATABASE IF EXISTS " + e.db) })
	}
	e.ref = direct(t, refServer, e.db)
	e.p = startProxyRules(t, fmt.Sprintf(`
users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
  %s:
    cluster: main
    tables:
      ck: {shard: {by: hash, column: k, tables: 4, clusters: [s0, s1]}}
      cs: {shard: {by: hash, column: name, tables: 4, clusters: [s0, s1]}}
      ch:
        shard: {by: hour, column: at, clusters: [s0, s1], then: {by: hash, column: user_id, tables: 2}}
        buckets: {past: 876000h}
`, e.db))
	admin := e.p.open(t, e.db)
	for _, line := range strings.Split(strings.TrimSpace(canonTables), "\n") {
		name, cols, _ := strings.Cut(line, ": ")
		for _, db := range []*sql.DB{admin, e.ref} {
			if _, err := db.Exec("CREATE TABLE " + name + " " + cols); err != nil {
				t.Fatalf("CREATE TABLE %s: %v", name, err)
			}
		}
	}
	return e
}

// canonSide is one session on each side, set up alike.
type canonSide struct {
	proxy, ref *sql.Conn
}

func (e *canonEnv) sessions(t *testing.T, setup ...string) canonSide {
	t.Helper()
	// Fresh pools on both sides: a pooled connection would carry the
	// previous session's SET NAMES and sql_mode.
	s := canonSide{proxy: pin(t, e.p.open(t, e.db)), ref: pin(t, direct(t, refServer, e.db))}
	for _, q := range setup {
		s.exec(t, q)
	}
	return s
}

// exec runs a statement on both sides; both must succeed or both fail
// with the same code.
func (s canonSide) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	_, errP := s.proxy.ExecContext(ctx, q, args...)
	_, errR := s.ref.ExecContext(ctx, q, args...)
	if (errP == nil) != (errR == nil) {
		t.Fatalf("%q %v: proxy: %v, ref: %v", q, args, errP, errR)
	}
	if errP != nil {
		cp, _, _ := mysqlErr(t, errP)
		cr, _, _ := mysqlErr(t, errR)
		if cp != cr {
			t.Fatalf("%q %v: proxy error %v, ref error %v", q, args, errP, errR)
		}
	}
}

func canonRows(t *testing.T, c *sql.Conn, q string, args ...any) string {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%q %v: %v", q, args, err)
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
		var r []string
		for _, v := range vals {
			if v.Valid {
				r = append(r, fmt.Sprintf("%q", v.String))
			} else {
				r = append(r, "NULL")
			}
		}
		out = append(out, strings.Join(r, ","))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%q: %v", q, err)
	}
	return strings.Join(out, " | ")
}

// same runs a read on both sides and compares the answers; it returns
// the number of rows, so callers can insist on reads that find rows.
func (s canonSide) same(t *testing.T, q string, args ...any) int {
	t.Helper()
	got, want := canonRows(t, s.proxy, q, args...), canonRows(t, s.ref, q, args...)
	if got != want {
		t.Errorf("%q %v:\nproxy: %s\nref:   %s", q, args, got, want)
	}
	if want == "" {
		return 0
	}
	return strings.Count(want, " | ") + 1
}

// intSpellings are ways to write the integer n in a WHERE clause.
func intSpellings(n int) []string {
	return []string{
		fmt.Sprint(n), fmt.Sprintf("'%d'", n), fmt.Sprintf("'0%d'", n), fmt.Sprintf("' %d'", n), fmt.Sprintf("'%d '", n),
		fmt.Sprintf("%d.0", n), fmt.Sprintf("'%d.0'", n), fmt.Sprintf("%de0", n), fmt.Sprintf("0x%02X", n), fmt.Sprintf("'%dabc'", n),
	}
}

// TestCanonKeys writes rows with keys in many spellings, in text and
// prepared statements, inside and outside a transaction, under
// NO_BACKSLASH_ESCAPES/ANSI_QUOTES and gbk and latin1 connections, and
// reads every key back in every spelling.
func TestCanonKeys(t *testing.T) {
	e := newCanonEnv(t)
	gbk := func(s string) string { b, _ := collate.Encode("gbk", []rune(s)); return string(b) }
	latin1 := func(s string) string { b, _ := collate.Encode("latin1", []rune(s)); return string(b) }
	modes := []struct {
		name  string
		setup []string
		// enc writes the statement's text in the session's character set.
		enc   func(string) string
		txn   bool
		more  []string // statements of this mode only
		reads []string // and their reads
	}{
		{name: "default", setup: []string{"SET sql_mode = ''"}, enc: func(s string) string { return s }},
		{name: "transaction", setup: []string{"SET sql_mode = ''"}, enc: func(s string) string { return s }, txn: true},
		{name: "ansi", setup: []string{"SET sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'"}, enc: func(s string) string { return s },
			more: []string{`INSERT INTO cs (id, name, v) VALUES (%d, 'a\b', 1)`}},
		{name: "gbk", setup: []string{"SET sql_mode = ''", "SET NAMES gbk"}, enc: gbk,
			more: []string{"INSERT INTO cs (id, name, v) VALUES (%d, '中文', 1)"}},
		{name: "latin1", setup: []string{"SET sql_mode = ''", "SET NAMES latin1"}, enc: latin1},
		// MariaDB rounds 10:59:59.6 up to 11:00:00 in a DATETIME: the
		// row belongs in the 11 o'clock bucket.
		{name: "round", setup: []string{"SET sql_mode = 'TIME_ROUND_FRACTIONAL'"}, enc: func(s string) string { return s },
			more:  []string{"INSERT INTO ch (id, at, user_id) VALUES (%d, '2026-11-27 10:59:59.6', 7)"},
			reads: []string{"SELECT id FROM ch WHERE at = '2026-11-27 11:00:00' ORDER BY id", "SELECT id FROM ch WHERE at >= '2026-11-27 11:00:00' ORDER BY id"}},
	}
	for mi, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := e.sessions(t, m.setup...)
			base := (mi + 1) * 100
			if m.txn {
				s.exec(t, "BEGIN")
			}
			for _, q := range []string{
				"INSERT INTO ck (id, k, v) VALUES (%[1]d+1, '02', 'a'), (%[1]d+2, ' 3', 'b'), (%[1]d+3, '4 ', 'c'), (%[1]d+4, 5.0, 'd'), (%[1]d+5, 0x06, 'e'), (%[1]d+6, '7abc', 'f'), (%[1]d+7, 8.5, 'g'), (%[1]d+8, NULL, 'h')",
				"INSERT INTO ck VALUES (%[1]d+9, '010', 'i')",
				"INSERT INTO ck SET id = %[1]d+10, k = '11', v = 'j'",
				"INSERT INTO cs (id, name, v) VALUES (%[1]d+1, 'Abc', 1), (%[1]d+2, 'abc ', 2), (%[1]d+3, 'ÀBC', 3), (%[1]d+4, 'Straße', 4), (%[1]d+5, 'x''y', 5), (%[1]d+6, NULL, 6)",
				"INSERT INTO cs VALUES (%[1]d+7, 'ABC', 7)",
				"INSERT INTO ch (id, at, user_id) VALUES (%[1]d+1, '2026-11-27 12', 7), (%[1]d+2, '2026/11/27 10:00:00', '07'), (%[1]d+3, 20261127103000, 7.0), (%[1]d+4, '2026-11-27 10:30:00.000', 8), (%[1]d+5, NULL, 9), (%[1]d+6, '0000-00-00 00:00:00', 10)",
				"INSERT INTO ch VALUES (%[1]d+7, '2026-11-27T12:00', ' 7')",
			} {
				s.exec(t, m.enc(strings.ReplaceAll(fmt.Sprintf(q, base), fmt.Sprintf("%d+", base), fmt.Sprintf("%d+", base))))
			}
			for _, q := range m.more {
				s.exec(t, m.enc(fmt.Sprintf(q, base+50)))
			}
			// Prepared statements (server-side: go-sql-driver without
			// interpolateParams): the proxy binds the values as
			// literals and routes by them.
			if m.name != "gbk" && m.name != "latin1" { // Go strings are UTF-8: the driver would send them as they are
				for i, args := range [][]any{{"012", "p"}, {13.0, "q"}, {nil, "r"}, {int64(14), "s"}, {" 15 ", "t"}} {
					s.exec(t, "INSERT INTO ck (id, k, v) VALUES (?, ?, ?)", append([]any{base + 20 + i}, args...)...)
				}
				s.exec(t, "INSERT INTO ck VALUES (?, ?, ?)", base+30, "016", "u")
				s.exec(t, "INSERT INTO cs (id, name, v) VALUES (?, ?, ?)", base+20, "aBc", 20)
				s.exec(t, "INSERT INTO ch (id, at, user_id) VALUES (?, ?, ?)", base+20, "2026-11-27 11", "011")
			}
			if m.txn {
				s.exec(t, "COMMIT")
			}
			s.same(t, "SELECT * FROM ck ORDER BY id")
			s.same(t, "SELECT * FROM cs ORDER BY id")
			s.same(t, "SELECT * FROM ch ORDER BY id")
			found := 0
			for n := 2; n <= 16; n++ {
				for _, sp := range intSpellings(n) {
					found += s.same(t, "SELECT id FROM ck WHERE k = "+sp+" ORDER BY id")
				}
				found += s.same(t, "SELECT id FROM ck WHERE k = ? ORDER BY id", fmt.Sprintf("0%d", n))
				found += s.same(t, "SELECT id FROM ck WHERE k = ? ORDER BY id", float64(n))
			}
			for _, q := range []string{
				"SELECT id FROM ck WHERE k IS NULL ORDER BY id",
				"SELECT id FROM ck WHERE k <=> NULL ORDER BY id",
				"SELECT id FROM ck WHERE k IN ('02', 3.0, ' 4', NULL) ORDER BY id",
				"SELECT id FROM ck WHERE k = 8.5",
				"SELECT id FROM cs WHERE name = 'abc' ORDER BY id",
				"SELECT id FROM cs WHERE name = 'ABC   ' ORDER BY id",
				"SELECT id FROM cs WHERE name = 'àbc' ORDER BY id",
				"SELECT id FROM cs WHERE name IN ('STRASE', 'x''y') ORDER BY id",
				"SELECT id FROM cs WHERE name IS NULL ORDER BY id",
				"SELECT id FROM ch WHERE at = '2026-11-27 12:00:00' ORDER BY id",
				"SELECT id FROM ch WHERE at = 20261127120000 ORDER BY id",
				"SELECT id FROM ch WHERE at = '2026/11/27 10' AND user_id = '07' ORDER BY id",
				"SELECT id FROM ch WHERE at IN ('2026-11-27 10:30', '2026-11-27 11') ORDER BY id",
				"SELECT id FROM ch WHERE at IS NULL ORDER BY id",
				"SELECT id FROM ch WHERE at = 0 ORDER BY id",
				"SELECT id FROM ch WHERE user_id = 7.0 ORDER BY id",
			} {
				found += s.same(t, m.enc(q))
			}
			found += s.same(t, "SELECT id FROM cs WHERE name = ? ORDER BY id", "ÀBC ")
			for _, q := range m.reads {
				if n := s.same(t, q); n == 0 {
					t.Errorf("%s: no rows", q)
				}
			}
			for _, q := range m.more {
				if strings.Contains(q, "cs") {
					name := strings.Split(q, "'")[1]
					found += s.same(t, m.enc("SELECT id FROM cs WHERE name = '"+name+"' ORDER BY id"))
				}
			}
			if found < 100 {
				t.Errorf("the reads found %d rows in all: the test no longer reads what it wrote", found)
			}
		})
	}
	// A second client, on a fresh connection, reads every row by key.
	syncReplicas(t)
	s := e.sessions(t)
	// Rows an INSERT … SELECT writes are routed by the same keys: from
	// the INT-keyed table into the string-keyed one, so every row is
	// routed again by its new key.
	s.exec(t, "INSERT INTO cs (id, name, v) SELECT id + 1000, CONCAT('Ab', 'C', IF(k IS NULL, '', ' ')), k FROM ck WHERE id < 200")
	if n := s.same(t, "SELECT id FROM cs WHERE name = 'abc' AND id > 1000 ORDER BY id"); n < 5 {
		t.Errorf("rows copied by INSERT … SELECT read by key: %d, want at least 5", n)
	}
	for _, q := range []string{"SELECT id FROM ck WHERE k = '3' ORDER BY id", "SELECT id FROM cs WHERE name = 'ABC' ORDER BY id", "SELECT id FROM ch WHERE at = '2026-11-27 12' AND user_id = 7 ORDER BY id"} {
		if n := s.same(t, q); n < len(modes) {
			t.Errorf("%s: %d rows, want one per mode", q, n)
		}
	}
}

// TestCanonDefinitionRefresh: the column order of an INSERT without a
// column list follows DDL through the proxy, and DDL made behind its
// back is noticed when the column count stops matching.
func TestCanonDefinitionRefresh(t *testing.T) {
	e := newCanonEnv(t)
	s := e.sessions(t)
	s.exec(t, "INSERT INTO ck VALUES (1, 2, 'a')")
	s.exec(t, "ALTER TABLE ck ADD COLUMN w INT FIRST")
	s.exec(t, "INSERT INTO ck VALUES (7, 2, '3', 'b')")
	s.exec(t, "INSERT INTO ck VALUES (2, 3, 'c')") // 1136 on both
	// Same column count, another order: only forgetting the definition
	// after the ALTER routes this row by k.
	s.exec(t, "ALTER TABLE ck MODIFY COLUMN k INT NULL FIRST")
	s.exec(t, "INSERT INTO ck VALUES (5, 8, 9, 'e')")
	if n := s.same(t, "SELECT * FROM ck WHERE k = 5"); n != 1 {
		t.Errorf("the row written after ALTER … FIRST is read %d times by its key, want 1", n)
	}
	s.exec(t, "ALTER TABLE ck MODIFY COLUMN k INT NULL AFTER id")
	s.exec(t, "INSERT INTO ck VALUES (NULL, 6, 6, 'f')") // the proxy holds the definition (w, id, k, v) again
	// Behind the proxy's back: every physical table loses w.
	for _, tb := range []struct{ addr, name string }{{"127.0.0.1:3320", "ck_0"}, {"127.0.0.1:3330", "ck_1"}, {"127.0.0.1:3320", "ck_2"}, {"127.0.0.1:3330", "ck_3"}} {
		if _, err := direct(t, tb.addr, e.db).Exec("ALTER TABLE " + tb.name + " DROP COLUMN w"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.ref.Exec("ALTER TABLE ck DROP COLUMN w"); err != nil {
		t.Fatal(err)
	}
	s.exec(t, "INSERT INTO ck VALUES (3, '04', 'd')")
	syncReplicas(t)
	if n := s.same(t, "SELECT * FROM ck WHERE k = 4"); n != 1 {
		t.Errorf("the row written after the definition changed behind the proxy is read %d times, want 1", n)
	}
	s.same(t, "SELECT * FROM ck WHERE k = '3' ORDER BY id")
	s.same(t, "SELECT * FROM ck ORDER BY id")
}

// TestCanonCollationsMatchServer checks package collate against the
// server: random strings from characters that fold, pad, expand and lie
// beyond the BMP are grouped by the server (GROUP BY on a column of the
// collation) and by their keys; the groups must be the same.
func TestCanonCollationsMatchServer(t *testing.T) {
	ref := direct(t, refServer, "")
	db := uniqueName("txn_canoncoll")
	if _, err := ref.Exec("CREATE DATABASE " + db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Exec("DROP DATABASE IF EXISTS " + db) })
	pool := []rune("aAàÀáäÄåÅbBsSßtTuUüÜyYzZ 0\u00a0\t-_.中文一丁€😀😁ǅǆǄ\u0000\u200bıİ")
	r := mrand.New(mrand.NewPCG(15, 2))
	for _, coll := range []string{"utf8mb4_general_ci", "utf8mb4_unicode_ci", "utf8mb4_bin", "utf8mb4_general_nopad_ci", "latin1_swedish_ci", "gbk_chinese_ci"} {
		c, ok := collate.Lookup(coll)
		if !ok {
			t.Fatalf("%s: unknown", coll)
		}
		cs := strings.SplitN(coll, "_", 2)[0]
		table := db + ".c_" + strings.ReplaceAll(coll, "_", "")
		if _, err := ref.Exec(fmt.Sprintf("CREATE TABLE %s (id INT PRIMARY KEY, s VARCHAR(8) CHARACTER SET %s COLLATE %s)", table, cs, coll)); err != nil {
			t.Fatal(err)
		}
		var strs []string
		byKey := map[string][]int{}
		for len(strs) < 300 {
			n := r.IntN(4)
			rs := make([]rune, n)
			for i := range rs {
				rs[i] = pool[r.IntN(len(pool))]
			}
			key, ok := c.Key(rs)
			if !ok {
				continue // a character the set cannot hold
			}
			byKey[string(key)] = append(byKey[string(key)], len(strs))
			strs = append(strs, string(rs))
		}
		var values []string
		var args []any
		for i, s := range strs {
			values = append(values, "(?, ?)")
			args = append(args, i, s)
		}
		if _, err := ref.Exec("INSERT INTO "+table+" VALUES "+strings.Join(values, ","), args...); err != nil {
			t.Fatal(err)
		}
		// Equal pairs by the server's = (a join), not GROUP BY: MariaDB
		// 10.11's GROUP BY on a NOPAD collation splits equal empty
		// strings into two groups.
		rows, err := ref.Query("SELECT a.id, b.id FROM " + table + " a JOIN " + table + " b ON a.s = b.s AND a.id < b.id ORDER BY a.id, b.id")
		if err != nil {
			t.Fatal(err)
		}
		var server []string
		for rows.Next() {
			var a, b int
			rows.Scan(&a, &b)
			server = append(server, fmt.Sprintf("%d=%d", a, b))
		}
		rows.Close()
		var ours []string
		for _, ids := range byKey {
			for i, a := range ids {
				for _, b := range ids[i+1:] {
					ours = append(ours, fmt.Sprintf("%d=%d", a, b))
				}
			}
		}
		sort.Strings(server)
		sort.Strings(ours)
		if strings.Join(server, " ") != strings.Join(ours, " ") {
			t.Errorf("%s: of %d strings the server holds %d pairs equal, collate %d:\nserver: %v\nours:   %v", coll, len(strs), len(server), len(ours), server, ours)
		} else if len(server) < 100 {
			t.Errorf("%s: only %d equal pairs: the strings no longer test folding", coll, len(server))
		}
	}
}
