package xa

import (
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// TestXIDFits: every gtrid and bqual stays within XA's 64 bytes whatever
// the instance and cluster names, reads back its instance and epoch, and
// renders as hex literals only.
func TestXIDFits(t *testing.T) {
	epoch := time.Date(2059, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, inst := range []string{"db1:3307", "a", strings.Repeat("x", 36), strings.Repeat("x", 37), strings.Repeat("é", 60), "it's; DROP", ""} {
		tok := Token(inst)
		g := gtrid(tok, epoch, ^uint64(0))
		if len(g) > maxXIDPart {
			t.Errorf("instance %q: gtrid %q is %d bytes", inst, g, len(g))
		}
		gotTok, gotEpoch, ok := parseGtrid(g)
		if !ok || gotTok != tok || gotEpoch != epoch {
			t.Errorf("instance %q: parse %q: %q %d %v", inst, g, gotTok, gotEpoch, ok)
		}
		if strings.ContainsAny(tok, ":'; ") {
			t.Errorf("instance %q: token %q", inst, tok)
		}
	}
	if Token("db1.example:3307") != "db1.example_3307~"+Token("db1.example:3307")[17:] || Token("a:1") == Token("a_1") {
		t.Errorf("tokens: %q %q %q", Token("db1.example:3307"), Token("a:1"), Token("a_1"))
	}
	if Token("plain-name_1.x") != "plain-name_1.x" {
		t.Error("a plain name is its own token")
	}
	for _, cl := range []string{"s0", strings.Repeat("c", 64), strings.Repeat("c", 65)} {
		if b := bqual(cl); len(b) > maxXIDPart || (len(cl) <= 64 && b != cl) {
			t.Errorf("cluster %q: bqual %q", cl, b)
		}
	}
	if bqual(strings.Repeat("c", 65)) == bqual(strings.Repeat("c", 66)) {
		t.Error("long cluster names share a bqual")
	}
	if got := (XID{"sg:a:1:1", "s0"}).SQL(); got != "X'73673a613a313a31',X'7330',21319" {
		t.Errorf("SQL %s", got)
	}
	for _, bad := range []string{"sg:a:1", "xx:a:1:1", "sg::1:1", "sg:a:zz!:1", "sg:a:1:-"} {
		if _, _, ok := parseGtrid(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestCommitLocal: best_effort commits branches one after another; a
// failure reports what committed before it and rolls back the rest.
func TestCommitLocal(t *testing.T) {
	cases := []struct {
		name   string
		fail   string // cluster whose COMMIT fails
		f      fault
		code   uint16
		text   []string
		rolled []string // clusters that got ROLLBACK
	}{
		{"all commit", "", fault{}, 0, nil, nil},
		{"first refuses", "s0", fault{server: xaErr(mysql.ER_LOCK_DEADLOCK, "Deadlock")}, mysql.ER_LOCK_DEADLOCK, []string{"Deadlock"}, []string{"s0", "s1", "s2"}},
		{"second refuses", "s1", fault{server: xaErr(mysql.ER_LOCK_DEADLOCK, "Deadlock")}, mysql.ER_UNKNOWN_ERROR,
			[]string{"COMMIT failed on primary s1: 1213: Deadlock", "committed before it on s0", "rolled back"}, []string{"s1", "s2"}},
		{"second breaks", "s1", fault{breakBefore: true}, mysql.ER_UNKNOWN_ERROR, []string{"may or may not have committed", "committed before it on s0"}, []string{"s2"}},
		{"first breaks", "s0", fault{breakBefore: true}, mysql.ER_UNKNOWN_ERROR, []string{"outcome unknown"}, []string{"s1", "s2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld("s0", "s1", "s2")
			c := New(testConfig(), w)
			var bs []Branch
			for _, cl := range []string{"s0", "s1", "s2"} {
				conn, _ := w.Get(cl)
				bs = append(bs, Branch{Cluster: cl, Server: "primary " + cl, Conn: conn, Drop: conn.(*fakeConn).close})
			}
			if tc.fail != "" {
				w.inject(tc.fail, "COMMIT", tc.f)
			}
			_, err := c.CommitLocal(bs)
			if codeOf(err) != tc.code {
				t.Fatalf("%v, want code %d", err, tc.code)
			}
			for _, s := range tc.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%v: want %q", err, s)
				}
			}
			var rolled []string
			for _, s := range w.statemts {
				if strings.HasSuffix(s, ": ROLLBACK") {
					rolled = append(rolled, strings.TrimSuffix(s, ": ROLLBACK"))
				}
			}
			if strings.Join(rolled, ",") != strings.Join(tc.rolled, ",") {
				t.Errorf("rolled back on %v, want %v", rolled, tc.rolled)
			}
		})
	}
}
