package integration

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/shard"
)

// Issue 12's acceptance for injection-proof SQL text: arbitrary bytes go in
// through the proxy and come out of the backends unchanged, in every client
// character set, sql_mode, protocol and kind of table, and no value ever
// adds, moves or changes a row. Refusals are part of the contract: in gbk,
// big5, sjis and cp932 with backslash escapes on, text whose characters end
// in 0x5C cannot be read the same byte-wise and character-wise, and the
// proxy refuses it with 1235 (parser/lexcheck.go). The test predicts each
// refusal independently (serverCharLen below follows MariaDB's strings/
// ctype-*.c, not the proxy's code) and fails on a refusal it did not
// predict as much as on a value that was stored wrong.

// matrixCharsets are the client character sets of the matrix.
var matrixCharsets = []string{"utf8mb4", "latin1", "gbk", "big5", "sjis", "cp932", "euckr", "gb2312", "binary"}

// matrixMode is one combination of the sql_mode flags that change how a
// server reads string literals and quotes. STRICT_TRANS_TABLES is always
// on, so a value the server cannot store is an error, never a silent
// truncation the test might mistake for success.
type matrixMode struct {
	name      string
	nbe, ansi bool
}

func (m matrixMode) sqlMode() string {
	s := "STRICT_TRANS_TABLES"
	if m.nbe {
		s += ",NO_BACKSLASH_ESCAPES"
	}
	if m.ansi {
		s += ",ANSI_QUOTES"
	}
	return s
}

var matrixModes = []matrixMode{{"plain", false, false}, {"nbe", true, false}, {"ansi", false, true}, {"nbe+ansi", true, true}}

var matrixProtocols = []string{"text", "prepared", "interpolated"}

// matrixKinds: one table of each kind, each with an int key k and the value
// in a binary column (so any bytes are storable and no character set
// conversion happens on the way to the disk).
var matrixKinds = []string{"unsharded", "sharded", "global"}

const matrixShards = 4

// matrixTables maps a kind to its logical table.
var matrixTables = map[string]string{"unsharded": "bm_plain", "sharded": "bm_shard", "global": "bm_global"}

type namedValue struct {
	name string
	v    []byte
}

// matrixValues are the values every combination stores: every byte value,
// the characters SQL quoting is about, injection attempts written for each
// way a string can be ended early, invalid UTF-8, and the gbk/big5/sjis/
// cp932 characters whose second byte is 0x5C or 0x60.
func matrixValues() []namedValue {
	all := make([]byte, 256)
	rev := make([]byte, 256)
	for i := range all {
		all[i], rev[i] = byte(i), byte(255-i)
	}
	// Every possible lead byte before a backslash and a quote, and before
	// a backtick: each multibyte character set sees a different subset of
	// these as characters.
	var lead5c, lead60 []byte
	for b := 0x80; b <= 0xff; b++ {
		lead5c = append(lead5c, byte(b), 0x5c, 0x27)
		lead60 = append(lead60, byte(b), 0x60)
	}
	vals := []namedValue{
		{"empty", []byte{}},
		{"all256", all},
		{"all256-reversed", rev},
		{"quote", []byte(`'`)},
		{"quotes", []byte(`''''`)},
		{"backslash", []byte(`\`)},
		{"backslash-quote", []byte(`\'`)},
		{"double-quotes", []byte(`"\"`)},
		{"backtick", []byte("`")},
		{"nul", []byte{0}},
		{"nul-quote-backslash", []byte("\x00'\\\x00")},
		{"escape-sequences", []byte(`\0\n\Z\'\\\%\_`)},
		{"controls", []byte("\n\r\t\x1a\b")},
		{"inject-union", []byte(`' UNION SELECT 1 -- `)},
		{"inject-rows", []byte(`'),(99999,99999,'x')#`)},
		{"inject-nbe", []byte(`\', 0x41) -- `)},
		{"inject-dquote", []byte(`" OR "1"="1`)},
		{"invalid-utf8", []byte("\xff\xfe\xc3\x28\xe2\x82")},
		{"lone-lead", []byte("\xc3")},
		{"overlong", []byte("\xc0\xaf")},
		{"utf8", []byte("héllo 世界 😀")},
		{"gbk-815c", []byte("\x81\x5c")},
		{"gbk-815c-inject", []byte("\x81\x5c' OR 1=1 -- ")},
		{"gbk-ding-inject", []byte("\xe4\xb8\x81\\' OR 1=1 #")},
		{"big5-b35c", []byte("\xb3\x5c")},
		{"big5-b35c-inject", []byte("\xb3\x5c'),(99999,99999,'x')#")},
		{"sjis-835c", []byte("\x83\x5c")},
		{"sjis-8360", []byte("\x83\x60")},
		{"cp932-835c-8360-inject", []byte("\x83\x5c\x83\x60'#")},
		{"every-lead-5c-quote", lead5c},
		{"every-lead-60", lead60},
	}
	return vals
}

// serverCharLen is the length of the character at v[i] as MariaDB's lexer
// reads text in character set cs (my_ismbchar: a lead byte followed by a
// valid trailing byte); 1 for every single-byte character. Only the sets
// whose trailing bytes can be ASCII matter for quoting; in the others
// (utf8mb4, euckr, gb2312) a multibyte character has no byte below 0x80,
// so reading them byte by byte gives the same quotes and backslashes.
func serverCharLen(cs string, v []byte, i int) int {
	in := func(c byte, lo, hi byte) bool { return c >= lo && c <= hi }
	if i+1 >= len(v) {
		return 1
	}
	c, t := v[i], v[i+1]
	var ok bool
	switch cs {
	case "gbk":
		ok = in(c, 0x81, 0xfe) && (in(t, 0x40, 0x7e) || in(t, 0x80, 0xfe))
	case "big5":
		ok = in(c, 0xa1, 0xf9) && (in(t, 0x40, 0x7e) || in(t, 0xa1, 0xfe))
	case "sjis", "cp932":
		ok = (in(c, 0x81, 0x9f) || in(c, 0xe0, 0xfc)) && (in(t, 0x40, 0x7e) || in(t, 0x80, 0xfc))
	}
	if ok {
		return 2
	}
	return 1
}

// textLiteral writes v as the literal, quoted with q (' or "), that a
// careful client would write in character set cs: characters are copied
// whole, the quote is doubled and,
// with backslash escapes on, a backslash that is a character of its own is
// doubled. The server reads back exactly v from it. Nothing else is escaped
// (NUL and control bytes are legal inside a literal), so no escape can
// follow a lone lead byte and become its second byte.
func textLiteral(v []byte, cs string, nbe bool, q byte) string {
	out := []byte{q}
	for i := 0; i < len(v); {
		if n := serverCharLen(cs, v, i); n > 1 {
			out = append(out, v[i:i+n]...)
			i += n
			continue
		}
		switch c := v[i]; {
		case c == q:
			out = append(out, q, q)
		case c == '\\' && !nbe:
			out = append(out, '\\', '\\')
		default:
			out = append(out, c)
		}
		i++
	}
	return string(append(out, q))
}

// driverRendering is what go-sql-driver v1.10 writes for a []byte argument
// with interpolateParams=true (escapeBytesBackslash, or escapeBytesQuotes
// when the server's status says NO_BACKSLASH_ESCAPES): byte by byte, blind
// to the character set.
func driverRendering(v []byte, nbe bool) []byte {
	out := []byte{'\''}
	for _, c := range v {
		switch {
		case nbe && c == '\'':
			out = append(out, '\'', '\'')
		case nbe:
			out = append(out, c)
		case c == 0:
			out = append(out, '\\', '0')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == 0x1a:
			out = append(out, '\\', 'Z')
		case c == '\'' || c == '"' || c == '\\':
			out = append(out, '\\', c)
		default:
			out = append(out, c)
		}
	}
	return append(out, '\'')
}

// ambiguousLiteral reports whether the server, reading the quoted literal
// lit character by character in cs with backslash escapes on, meets a
// character whose second byte is a backslash: where a byte-wise reading
// sees an escape the server does not. That is the one case in which the
// proxy must refuse (parser/lexcheck.go), for any literal the test or the
// driver writes: quotes (' and ") are never a second byte in these sets.
func ambiguousLiteral(lit []byte, cs string, nbe bool) bool {
	if nbe {
		return false
	}
	for i := 1; i < len(lit)-1; {
		if n := serverCharLen(cs, lit, i); n > 1 {
			if lit[i+1] == '\\' {
				return true
			}
			i += n
			continue
		}
		if lit[i] == '\\' {
			i += 2
			continue
		}
		i++
	}
	return false
}

// matrixEnv is a txnEnv with the three matrix tables.
type matrixEnv struct {
	*txnEnv
}

func newMatrixEnv(t *testing.T) *matrixEnv {
	e := &matrixEnv{newTxnEnvTables(t, fmt.Sprintf("      bm_shard: {shard: {by: hash, column: k, tables: %d, clusters: [s0, s1]}}\n      bm_global: {global: true}\n", matrixShards), "")}
	create := func(cluster, table, col string) {
		q := "CREATE TABLE " + table + " (id INT PRIMARY KEY, k INT NOT NULL, v " + col + ")"
		if _, err := e.direct[cluster].Exec(q); err != nil {
			t.Fatalf("%s: %s: %v", cluster, q, err)
		}
	}
	create("main", "bm_plain", "VARBINARY(1024)")
	rule := e.shardRule()
	for i := 0; i < matrixShards; i++ {
		tg := rule.HashTarget(i)
		create(tg.Cluster, tg.Table, "BLOB")
	}
	for _, cluster := range []string{"main", "s0", "s1"} {
		create(cluster, "bm_global", "VARBINARY(1024)")
	}
	return e
}

func (e *matrixEnv) shardRule() *shard.Table {
	return &shard.Table{Name: "bm_shard", By: "hash", Column: "k", Count: matrixShards, Clusters: []string{"s0", "s1"}}
}

// physical lists where rows of a kind live: (cluster, table) pairs.
func (e *matrixEnv) physical(kind string) []shard.Target {
	switch kind {
	case "unsharded":
		return []shard.Target{{Cluster: "main", Table: "bm_plain"}}
	case "sharded":
		return e.shardRule().AllHashTargets()
	}
	return []shard.Target{{Cluster: "main", Table: "bm_global"}, {Cluster: "s0", Table: "bm_global"}, {Cluster: "s1", Table: "bm_global"}}
}

// storedRow is a row as a backend primary holds it.
type storedRow struct {
	at  shard.Target
	id  int
	k   int
	hex string
}

// rows reads, on the primaries, every row of a kind with id in [lo, hi]
// (all rows when hi < lo), the value as the server's HEX().
func (e *matrixEnv) rows(t *testing.T, kind string, lo, hi int) []storedRow {
	t.Helper()
	var out []storedRow
	for _, tg := range e.physical(kind) {
		q := "SELECT id, k, HEX(v) FROM " + tg.Table
		if hi >= lo {
			q += fmt.Sprintf(" WHERE id BETWEEN %d AND %d", lo, hi)
		}
		rs, err := e.direct[tg.Cluster].Query(q)
		if err != nil {
			t.Fatalf("%s: %s: %v", tg, q, err)
		}
		for rs.Next() {
			r := storedRow{at: tg}
			if err := rs.Scan(&r.id, &r.k, &r.hex); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// matrixTally counts outcomes per charset and protocol for the summary the
// test logs (and docs/sql-text.md records).
type matrixTally struct {
	mu      sync.Mutex
	stored  map[string]int
	refused map[string]int
	sent    map[string]int // rows stored, per kind: what the tables must hold at the end
}

func (ta *matrixTally) add(cs, proto, kind string, stored, refused int) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	ta.stored[cs+"/"+proto] += stored
	ta.refused[cs+"/"+proto] += refused
	ta.sent[kind] += stored
}

// TestBytesMatrix is issue 12's byte round-trip matrix: 9 character sets ×
// 4 sql_modes × 3 protocols × 3 kinds of table, each storing every value of
// matrixValues through the proxy and reading it back from the backend
// primaries.
func TestBytesMatrix(t *testing.T) {
	e := newMatrixEnv(t)
	values := matrixValues()
	tally := &matrixTally{stored: map[string]int{}, refused: map[string]int{}, sent: map[string]int{}}

	// go-sql-driver refuses interpolateParams only when the DSN names an
	// unsafe collation; with charset=gbk (SET NAMES) it interpolates byte
	// by byte, and the proxy must catch what that gets wrong.
	if db, err := sql.Open("mysql", e.p.dsn(e.db, "collation=gbk_chinese_ci", "interpolateParams=true")); err == nil {
		db.Close()
		t.Fatal("go-sql-driver accepted interpolateParams with collation gbk_chinese_ci")
	} else {
		t.Logf("go-sql-driver with collation=gbk_chinese_ci&interpolateParams=true: %v", err)
	}

	t.Run("matrix", func(t *testing.T) {
		for csi, cs := range matrixCharsets {
			t.Run(cs, func(t *testing.T) {
				t.Parallel()
				dbs := map[bool]*sql.DB{false: e.p.open(t, e.db), true: e.p.open(t, e.db, "interpolateParams=true")}
				for mi, mode := range matrixModes {
					for pi, proto := range matrixProtocols {
						conn := pin(t, dbs[proto == "interpolated"])
						mustExec(t, conn, "SET NAMES "+cs)
						mustExec(t, conn, "SET sql_mode = '"+mode.sqlMode()+"'")
						for ki, kind := range matrixKinds {
							combo := ((csi*len(matrixModes)+mi)*len(matrixProtocols)+pi)*len(matrixKinds) + ki
							t.Run(mode.name+"/"+proto+"/"+kind, func(t *testing.T) {
								e.runCombo(t, conn, tally, combo, cs, mode, proto, kind, values)
							})
						}
						conn.Close()
					}
				}
			})
		}
	})

	// No value added rows anywhere: each kind's tables hold exactly the
	// rows stored (every copy of the global table, each).
	for _, kind := range matrixKinds {
		want := tally.sent[kind]
		if kind == "global" {
			want *= 3
		}
		if got := len(e.rows(t, kind, 0, -1)); got != want {
			t.Errorf("%s tables hold %d rows, %d were stored", kind, got, want)
		}
	}

	var keys []string
	for k := range tally.stored {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %-22s stored %4d  refused %4d", k, tally.stored[k], tally.refused[k])
	}
	t.Logf("bytes matrix, %d values per combination:%s", len(values), b.String())
}

// runCombo stores every value through conn as one request each, then reads
// the combination's rows from the primaries and checks bytes, count and
// placement.
func (e *matrixEnv) runCombo(t *testing.T, conn *sql.Conn, tally *matrixTally, combo int, cs string, mode matrixMode, proto, kind string, values []namedValue) {
	ctx := context.Background()
	table := matrixTables[kind]
	base := combo * 100
	insert := "INSERT INTO " + table + " (id, k, v) VALUES (?, ?, ?)"
	var stmt *sql.Stmt
	if proto == "prepared" {
		var err error
		if stmt, err = conn.PrepareContext(ctx, insert); err != nil {
			t.Fatalf("prepare %s: %v", insert, err)
		}
		defer stmt.Close()
	}
	wide := cs == "gbk" || cs == "big5" || cs == "sjis" || cs == "cp932"
	want := map[int][]byte{}
	refused := 0
	for j, nv := range values {
		id := base + j
		var err error
		var expectRefusal bool
		var shown string
		switch proto {
		case "text":
			// Every other value in "…" where that is a string (not
			// under ANSI_QUOTES): the proxy reads both kinds of string.
			quote := byte('\'')
			if !mode.ansi && j%2 == 1 {
				quote = '"'
			}
			lit := textLiteral(nv.v, cs, mode.nbe, quote)
			expectRefusal = wide && ambiguousLiteral([]byte(lit), cs, mode.nbe)
			q := fmt.Sprintf("INSERT INTO %s (id, k, v) VALUES (%d, %d, %s)", table, id, id, lit)
			shown = lit
			_, err = conn.ExecContext(ctx, q)
		case "prepared":
			// Bound values are the proxy's to render: never refused.
			_, err = stmt.ExecContext(ctx, id, id, nv.v)
		case "interpolated":
			lit := driverRendering(nv.v, mode.nbe)
			expectRefusal = wide && ambiguousLiteral(lit, cs, mode.nbe)
			shown = string(lit)
			_, err = conn.ExecContext(ctx, insert, id, id, nv.v)
		}
		switch {
		case err == nil && expectRefusal:
			t.Errorf("%s (%x): ran, but the literal %q is read differently byte-wise and by the server: want 1235", nv.name, nv.v, shown)
			want[id] = nv.v // still check what it stored
		case err == nil:
			want[id] = nv.v
		case expectRefusal:
			var me *mysqldrv.MySQLError
			if !errors.As(err, &me) || me.Number != 1235 {
				t.Errorf("%s (%x): want refusal 1235, got %v", nv.name, nv.v, err)
			}
			refused++
		default:
			t.Errorf("%s (%x) as %q: %v", nv.name, nv.v, shown, err)
		}
	}

	// What the backends hold for this combination: exactly the values that
	// ran, each once, byte for byte, where the rules put it.
	copies := 1
	if kind == "global" {
		copies = 3
	}
	seen := map[int]int{}
	rule := e.shardRule()
	for _, r := range e.rows(t, kind, base, base+99) {
		v, ok := want[r.id]
		if !ok {
			t.Errorf("row id %d in %s: no value with that id was stored (k %d, %s)", r.id, r.at, r.k, r.hex)
			continue
		}
		seen[r.id]++
		name := values[r.id-base].name
		if got := strings.ToUpper(hex.EncodeToString(v)); r.hex != got {
			t.Errorf("%s in %s: stored %s, sent %s", name, r.at, r.hex, got)
		}
		if r.k != r.id {
			t.Errorf("%s in %s: k is %d, sent %d", name, r.at, r.k, r.id)
		}
		if kind == "sharded" {
			if tg := rule.HashTarget(shard.Index(strconv.Itoa(r.k), matrixShards)); tg != r.at {
				t.Errorf("%s (k %d) in %s, murmur3 says %s", name, r.k, r.at, tg)
			}
		}
	}
	for id := range want {
		if seen[id] != copies {
			t.Errorf("%s: %d rows stored, want %d", values[id-base].name, seen[id], copies)
		}
	}
	tally.add(cs, proto, kind, len(want), refused)
}

// rootQuery runs statements as the local root over a server's unix socket
// (what the app user may not: SET GLOBAL, mysql.general_log) and returns
// the output, tab-separated without headers.
func rootQuery(t *testing.T, server, stmt string) string {
	t.Helper()
	needLocalCluster(t)
	state := os.Getenv("SHARDGATE_STATE")
	if state == "" {
		state = "/tmp/shardgate-cluster"
	}
	out, err := runCmd(t, time.Minute, "mariadb", "--no-defaults", "-uroot", "--socket="+filepath.Join(state, server, "sock"), "-N", "-B", "-e", stmt)
	if err != nil {
		t.Fatalf("%s on %s: %v %s", stmt, server, err, out)
	}
	return strings.TrimSpace(out)
}

// TestBytesMatrixGeneralLog: the general log of the backend shows one
// statement per request. One sub-case of the matrix (gbk, backslash
// escapes on, server-side prepared, unsharded table: where a bound value is
// most easily split into two statements) runs with main's primary logging
// every statement to mysql.general_log; each value must reach it as
// exactly one INSERT.
func TestBytesMatrixGeneralLog(t *testing.T) {
	needLocalCluster(t)
	e := newMatrixEnv(t)
	old := strings.Fields(rootQuery(t, "main-p", "SELECT @@global.general_log, @@global.log_output"))
	if len(old) != 2 {
		t.Fatalf("general_log, log_output: %q", old)
	}
	rootQuery(t, "main-p", "SET GLOBAL log_output = 'TABLE'; TRUNCATE mysql.general_log; SET GLOBAL general_log = ON")
	t.Cleanup(func() {
		rootQuery(t, "main-p", fmt.Sprintf("SET GLOBAL general_log = %s; SET GLOBAL log_output = '%s'; TRUNCATE mysql.general_log", old[0], old[1]))
	})
	conn := pin(t, e.p.open(t, e.db))
	mustExec(t, conn, "SET NAMES gbk")
	values := matrixValues()
	stmt, err := conn.PrepareContext(context.Background(), "INSERT INTO bm_plain (id, k, v) VALUES (?, ?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for j, nv := range values {
		if _, err := stmt.Exec(j, j, nv.v); err != nil {
			t.Fatalf("%s: %v", nv.name, err)
		}
	}
	// The log was emptied just before, the shared lock keeps other test
	// runs off the cluster, and only this test writes bm_plain; the
	// proxy's own statements (session sync, health checks) are no INSERTs.
	n := rootQuery(t, "main-p", "SELECT COUNT(*) FROM mysql.general_log WHERE command_type = 'Query' AND argument LIKE 'INSERT%bm\\_plain%'")
	if n != strconv.Itoa(len(values)) {
		t.Fatalf("the general log holds %s INSERTs into bm_plain for %d requests", n, len(values))
	}
	if got := len(e.rows(t, "unsharded", 0, -1)); got != len(values) {
		t.Fatalf("%d rows for %d requests", got, len(values))
	}
}
