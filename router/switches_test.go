package router

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
)

// switchSession is a router over schemas shop and other (no server
// reached), a session in shop, and a parser of its statements.
func switchSession(t *testing.T) (*Router, *Session, func(string) *parser.Statement) {
	t.Helper()
	r, err := rules.Parse("r.yaml", []byte(`users: [{name: app}]
backend: {user: app}
clusters: {main: {primary: 127.0.0.1:1}}
schemas: {shop: {cluster: main}, other: {cluster: main}}
`))
	if err != nil {
		t.Fatal(err)
	}
	rt := New(r, nil)
	s := rt.NewSession("shop", 0, false)
	return rt, s, func(sql string) *parser.Statement {
		t.Helper()
		sts, err := rt.parse(sql, s.state.textMode())
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return sts[0]
	}
}

// TestCheckSwitches: what each switch refuses, parsed statements and text
// the proxy would forward unparsed (which cannot be shown to stay clear of
// a switched table of its database, so it is refused).
func TestCheckSwitches(t *testing.T) {
	rt, s, parse := switchSession(t)
	unparsed := &parser.Statement{SQL: "SOME STATEMENT THE PARSER DOES NOT KNOW", Unparsed: errors.New("syntax")}
	rt.switches.add(Switch{Kind: SwitchReadOnly, Target: "shop.items", Reason: "r1"})
	rt.switches.add(Switch{Kind: SwitchOffline, Target: "other"})
	rt.switches.add(Switch{Kind: SwitchBlock, Target: parser.Fingerprint("DELETE FROM logs WHERE id = 1")})
	rt.switches.add(Switch{Kind: SwitchBlock, Prefix: true, Target: parser.Fingerprint("UPDATE audit")})
	for _, tc := range []struct {
		st   *parser.Statement
		code uint16
		want string
	}{
		{parse("SELECT * FROM items"), 0, ""},
		{parse("INSERT INTO items VALUES (1)"), mysql.ER_OPTION_PREVENTS_STATEMENT, "table shop.items is read_only by switch 1: r1"},
		{parse("DELETE i FROM items i JOIN notes n ON n.id = i.id"), mysql.ER_OPTION_PREVENTS_STATEMENT, "read_only"},
		{parse("SELECT * FROM items INTO OUTFILE '/tmp/x'"), mysql.ER_OPTION_PREVENTS_STATEMENT, "read_only"},
		{parse("ALTER TABLE items ADD COLUMN c INT"), mysql.ER_OPTION_PREVENTS_STATEMENT, "read_only"},
		{parse("INSERT INTO notes VALUES (1)"), 0, ""},
		{parse("SELECT * FROM other.t"), mysql.ER_UNKNOWN_ERROR, "database other is offline by switch 2"},
		{parse("DROP DATABASE other"), mysql.ER_UNKNOWN_ERROR, "offline"},
		{parse("delete from logs where id=99"), mysql.ER_UNKNOWN_ERROR, "statement blocked by switch 3"},
		{parse("DELETE FROM logs WHERE id > 99"), 0, ""},
		{parse("UPDATE audit SET a = 1 WHERE b = 2"), mysql.ER_UNKNOWN_ERROR, "blocked by switch 4"},
		{parse("UPDATE auditors SET a = 1"), 0, ""},
		{unparsed, mysql.ER_OPTION_PREVENTS_STATEMENT, "table shop.items (this statement of database shop cannot be parsed, so it may reach it) is read_only by switch 1"},
	} {
		err := s.checkSwitches(tc.st)
		var me *mysql.MyError
		switch {
		case tc.code == 0 && err != nil:
			t.Errorf("%s: %v", tc.st.SQL, err)
		case tc.code != 0 && (!errors.As(err, &me) || me.Code != tc.code || !strings.Contains(me.Message, tc.want)):
			t.Errorf("%s: %v, want %d naming %q", tc.st.SQL, err, tc.code, tc.want)
		}
	}
	var hits []int64
	for _, sw := range rt.Switches() {
		hits = append(hits, sw.Hits())
	}
	if hits[0] != 5 || hits[1] != 2 || hits[2] != 1 || hits[3] != 1 {
		t.Errorf("hits %v, want [5 2 1 1]", hits)
	}
	// Cleared, nothing is refused.
	if gone := rt.switches.clear(0); len(gone) != 4 {
		t.Fatalf("CLEAR ALL removed %d", len(gone))
	}
	if err := s.checkSwitches(unparsed); err != nil {
		t.Fatal(err)
	}
}

// TestMetricTable: the tables a client names reach the metrics' labels
// only when the rules name them.
func TestMetricTable(t *testing.T) {
	r, err := rules.Parse("r.yaml", []byte(`users: [{name: app}]
backend: {user: app}
clusters: {main: {primary: 127.0.0.1:1}, s1: {primary: 127.0.0.1:2}}
schemas: {shop: {cluster: main, tables: {Orders: {cluster: s1}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	snap := New(r, nil).Snapshot()
	for _, tc := range []struct{ schema, table, want string }{
		{"shop", "Orders", "shop.orders"},
		{"shop", "whatever_a_client_names", "shop.(other)"},
		{"nosuch", "t", "(other)"},
	} {
		if got := metricTable(snap, tc.schema, tc.table); got != tc.want {
			t.Errorf("%s.%s: %q, want %q", tc.schema, tc.table, got, tc.want)
		}
	}
}

// TestBlockUnderSQLModes: a client cannot get past a block by writing the
// statement under NO_BACKSLASH_ESCAPES or ANSI_QUOTES, where the default
// mode's reading would give it another fingerprint.
func TestBlockUnderSQLModes(t *testing.T) {
	rt, s, parse := switchSession(t)
	rt.switches.add(Switch{Kind: SwitchBlock, Target: parser.Fingerprint("DELETE FROM logs WHERE note = 'b'")})
	for _, tc := range []struct{ mode, sql string }{
		{"NO_BACKSLASH_ESCAPES", `DELETE FROM logs WHERE note = 'a\'`},
		{"ANSI_QUOTES", `DELETE FROM "logs" WHERE "note" = 'a'`},
	} {
		s.state.sqlMode = tc.mode
		if err := s.checkSwitches(parse(tc.sql)); err == nil {
			t.Errorf("%s under %s got past the block", tc.sql, tc.mode)
		}
	}
}
