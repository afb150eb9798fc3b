package parser

import "testing"

// TestRestoreExplain: EXPLAIN is written back in MariaDB's forms (TiDB's
// own restore writes FORMAT = 'row', which MariaDB refuses with 1791);
// DESCRIBE stays DESC.
func TestRestoreExplain(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"EXPLAIN SELECT a FROM t WHERE b = 1", "EXPLAIN SELECT `a` FROM `t` WHERE `b`=1"},
		{"explain format=json select 1", "EXPLAIN FORMAT=JSON SELECT 1"},
		{"EXPLAIN UPDATE t SET a = 'x'", "EXPLAIN UPDATE `t` SET `a`='x'"},
		{"DESCRIBE t", "DESC `t`"},
	} {
		stmts, err := New().Parse(tc.in)
		if err != nil || len(stmts) != 1 {
			t.Fatalf("%s: %v", tc.in, err)
		}
		got, err := RestoreIn(stmts[0].Node, TextMode{})
		if err != nil || got != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.in, got, err, tc.want)
		}
	}
}
