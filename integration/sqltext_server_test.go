package integration

import (
	"context"
	"database/sql"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/shardgate/shardgate/parser"
)

// The SQL-text module (parser/sqltext.go) checked against a real server:
// whatever bytes parser.StringLiteral renders, in whatever character set
// and sql_mode, MariaDB reads back exactly those bytes. The parser package
// checks the same with a model of the server's lexer (serverRead in
// sqltext_test.go); this checks the model.
//
// Each literal is also given to the proxy's own lexer check and parser and
// rendered again by RestoreIn, which is how values reach a sharded table's
// physical statement: that text must read back the same too.

// literalModes are the sql_mode combinations that change how literals read.
var literalModes = []matrixMode{{"plain", false, false}, {"nbe", true, false}, {"ansi", false, true}, {"nbe+ansi", true, true}}

// literalChecker sends SELECT HEX(…) of rendered literals to one server
// connection, switching its character set and sql_mode as needed.
type literalChecker struct {
	mu   sync.Mutex
	conn *sql.Conn
	cur  string // "charset/sql_mode" the connection is in
	prs  *parser.Parser
}

func newLiteralChecker(t testing.TB) *literalChecker {
	db := direct(t, refServer, "")
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &literalChecker{conn: c, prs: parser.New()}
}

// check renders every value in cs and mode and fails t unless the server
// reads each back unchanged, both as rendered and after the proxy's parser
// has read and restored the statement.
func (lc *literalChecker) check(t testing.TB, vals [][]byte, cs string, mode matrixMode) {
	t.Helper()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	ctx := context.Background()
	if key := cs + "/" + mode.sqlMode(); lc.cur != key {
		for _, q := range []string{"SET NAMES " + cs, "SET sql_mode = '" + mode.sqlMode() + "'"} {
			if _, err := lc.conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		lc.cur = key
	}
	m := parser.TextMode{Charset: cs, NoBackslashEscapes: mode.nbe, AnsiQuotes: mode.ansi}
	lc.prs.SetMode(m)
	exprs := make([]string, len(vals))
	for i, v := range vals {
		exprs[i] = "HEX(" + parser.StringLiteral(v, m) + ")"
	}
	q := "SELECT " + strings.Join(exprs, ", ")
	// The proxy's own output must pass its own lexer check: otherwise a
	// bound value would get the statement refused.
	if err := parser.CheckLexable(q, m); err != nil {
		t.Fatalf("%s %s: the proxy refuses its own rendering: %v\n%q", cs, mode.name, err, q)
	}
	lc.compare(t, q, vals, cs, mode, "rendered")
	stmts, err := lc.prs.Parse(q)
	if err != nil {
		t.Fatalf("%s %s: the proxy cannot parse its own rendering: %v\n%q", cs, mode.name, err, q)
	}
	restored, err := parser.RestoreIn(stmts[0].Node, m)
	if err != nil {
		t.Fatalf("%s %s: RestoreIn: %v", cs, mode.name, err)
	}
	lc.compare(t, restored, vals, cs, mode, "restored")
}

// compare runs q and checks column i is HEX(vals[i]).
func (lc *literalChecker) compare(t testing.TB, q string, vals [][]byte, cs string, mode matrixMode, what string) {
	t.Helper()
	got := make([]string, len(vals))
	ptrs := make([]any, len(vals))
	for i := range got {
		ptrs[i] = &got[i]
	}
	if err := lc.conn.QueryRowContext(context.Background(), q).Scan(ptrs...); err != nil {
		t.Fatalf("%s %s (%s): %v\n%q", cs, mode.name, what, err, q)
	}
	for i, v := range vals {
		if want := strings.ToUpper(hex.EncodeToString(v)); got[i] != want {
			t.Fatalf("%s %s (%s): %x rendered as %q reads back as %s; the statement was\n%q", cs, mode.name, what, v, parser.StringLiteral(v, parser.TextMode{Charset: cs, NoBackslashEscapes: mode.nbe, AnsiQuotes: mode.ansi}), got[i], q)
		}
	}
}

// FuzzSQLTextAgainstServer renders fuzzed bytes with parser.StringLiteral
// and checks them against the ref server. `go test` runs only the seed
// corpus (the cluster must be up, like for every integration test);
// `go test -fuzz FuzzSQLTextAgainstServer -fuzztime 60s ./integration/`
// explores further, always for a bounded time.
func FuzzSQLTextAgainstServer(f *testing.F) {
	for _, nv := range matrixValues() {
		for csi := range matrixCharsets {
			f.Add(nv.v, uint8(csi), uint8(csi%len(literalModes)))
		}
	}
	lc := newLiteralChecker(f)
	f.Fuzz(func(t *testing.T, v []byte, csi, mi uint8) {
		if len(v) > 4096 {
			return // the server's literal handling is not what is tested by size
		}
		lc.check(t, [][]byte{v}, matrixCharsets[int(csi)%len(matrixCharsets)], literalModes[int(mi)%len(literalModes)])
	})
}

// TestSQLTextAgainstServer is the fuzz target's bounded random loop for
// ordinary runs: 2,000 random values per character set and sql_mode,
// biased towards the bytes quoting is about. SHARDGATE_SQLTEXT_SEED fixes
// the seed, which every run prints.
func TestSQLTextAgainstServer(t *testing.T) {
	seed := rand.Uint64()
	if s, ok := os.LookupEnv("SHARDGATE_SQLTEXT_SEED"); ok {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SHARDGATE_SQLTEXT_SEED=%q: want an unsigned integer: %v", s, err)
		}
		seed = v
	}
	perCombo := int(envInt(t, "SHARDGATE_SQLTEXT_VALUES", 2000, 1))
	t.Logf("seed %d, %d values per character set and mode (rerun with SHARDGATE_SQLTEXT_SEED=%d)", seed, perCombo, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5c27))
	lc := newLiteralChecker(t)
	const batch = 100 // literals per SELECT: one round trip checks many
	for _, cs := range matrixCharsets {
		for _, mode := range literalModes {
			t.Run(cs+"/"+mode.name, func(t *testing.T) {
				for done := 0; done < perCombo; done += batch {
					vals := make([][]byte, min(batch, perCombo-done))
					for i := range vals {
						vals[i] = randomValue(rng)
					}
					lc.check(t, vals, cs, mode)
				}
			})
		}
	}
}

// interestingBytes are the bytes SQL quoting and the multibyte character
// sets are about: quotes, backslash, NUL, backtick, and lead bytes of gbk,
// big5, sjis/cp932 and UTF-8.
var interestingBytes = []byte{'\'', '"', '\\', '`', 0, '\n', '\r', 0x1a, '%', '_', 0x81, 0x83, 0xa1, 0xb3, 0xe0, 0xe4, 0xf9, 0xfc, 0xfe, 0xff, 0xc3, 0x80, 0x40, 0x7f}

// randomValue is up to 24 bytes, each a random byte or, more often, one of
// interestingBytes, so that lead bytes land before backslashes and quotes.
func randomValue(rng *rand.Rand) []byte {
	v := make([]byte, rng.IntN(25))
	for i := range v {
		if rng.IntN(3) == 0 {
			v[i] = byte(rng.IntN(256))
		} else {
			v[i] = interestingBytes[rng.IntN(len(interestingBytes))]
		}
	}
	return v
}
