package parser

import "testing"

// TestHexNumbersKeepTheirMeaning: 0x… is a number in a numeric context
// and X'…' a string; TiDB's parser reads both as X'…', so 0x… reaches it
// as b'…' (which MariaDB reads exactly as 0x…) and statements the proxy
// renders keep the client's meaning. Strings, names, introduced literals
// and literals with a leading zero byte are left alone.
func TestHexNumbersKeepTheirMeaning(t *testing.T) {
	p := New()
	for _, c := range []struct{ in, want string }{
		{"SELECT * FROM t WHERE k = 0x0A", "SELECT * FROM `t` WHERE `k`=b'1010'"},
		{"SELECT * FROM t WHERE k = X'0A'", "SELECT * FROM `t` WHERE `k`=x'0a'"},
		{"SELECT * FROM t WHERE k = 0x123", "SELECT * FROM `t` WHERE `k`=b'100100011'"},
		{"SELECT * FROM t WHERE k = 0x0001", "SELECT * FROM `t` WHERE `k`=x'0001'"},
		{"SELECT * FROM t WHERE k = '0x0A'", "SELECT * FROM `t` WHERE `k`='0x0A'"},
		{"SELECT * FROM t WHERE k = _latin1 0x41", "SELECT * FROM `t` WHERE `k`=_LATIN1 x'41'"},
		{"SELECT 0x0a AS `0x0b` FROM t", "SELECT b'1010' AS `0x0b` FROM `t`"},
		{"INSERT INTO t (a, b) VALUES (0xFF, 'x'), (0x1, 0x0a0b)", "INSERT INTO `t` (`a`,`b`) VALUES (b'11111111','x'),(b'1',b'101000001011')"},
	} {
		stmts, err := p.Parse(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if stmts[0].SQL != c.in {
			t.Errorf("%s: the statement's text became %q", c.in, stmts[0].SQL)
		}
		got, err := RestoreIn(stmts[0].Node, TextMode{})
		if err != nil || got != c.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", c.in, got, err, c.want)
		}
	}
}
