package parser

import "testing"

func TestFingerprint(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"SELECT * FROM comments WHERE id = 5", "select  *  from Comments where ID=7 -- a comment"},
		{"SELECT * FROM t WHERE a IN (1, 2, 3)", "select * from t where a in (4,5)"},
		{"INSERT INTO t VALUES (1,'a'),(2,'b')", "insert into t values (3, 'c')"},
		{"SELECT 'it''s' FROM t /* x */", "SELECT \"other\" FROM t"},
		{"DELETE FROM users WHERE id = ?", "DELETE FROM users WHERE id = 12"},
	} {
		if fa, fb := Fingerprint(tc.a), Fingerprint(tc.b); fa != fb {
			t.Errorf("%q → %q but %q → %q", tc.a, fa, tc.b, fb)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"SELECT * FROM comments WHERE id = 5", "SELECT * FROM comments WHERE product_id = 5"},
		{"DELETE FROM users WHERE id = 1", "DELETE FROM users"},
		{"SELECT 1 FROM t", "SELECT 1 FROM t2"},
	} {
		if fa, fb := Fingerprint(tc.a), Fingerprint(tc.b); fa == fb {
			t.Errorf("%q and %q share the fingerprint %q", tc.a, tc.b, fa)
		}
	}
	if got, want := Fingerprint("SELECT * FROM comments WHERE id = 5"), "select * from `comments` where `id` = ?"; got != want {
		t.Errorf("fingerprint %q, want %q", got, want)
	}
}

// TestFingerprintIn: the same statement written under NO_BACKSLASH_ESCAPES
// or ANSI_QUOTES has the default mode's fingerprint, so changing sql_mode
// does not get past a block.
func TestFingerprintIn(t *testing.T) {
	for _, tc := range []struct {
		m        TextMode
		sql, def string
	}{
		{TextMode{NoBackslashEscapes: true}, `DELETE FROM logs WHERE note = 'a\'`, `DELETE FROM logs WHERE note = 'b'`},
		{TextMode{NoBackslashEscapes: true}, `SELECT 'x\' AS c, id FROM t -- it's`, `SELECT 'y' AS c, id FROM t`},
		{TextMode{AnsiQuotes: true}, `SELECT "id" FROM "logs" WHERE "note" = 'a'`, "SELECT `id` FROM `logs` WHERE `note` = 'b'"},
		{TextMode{AnsiQuotes: true, NoBackslashEscapes: true}, `UPDATE "t" SET c = 'a\' /* x's */`, "UPDATE `t` SET c = 'z'"},
		{TextMode{}, `DELETE FROM logs WHERE note = 'a\'' OR 1`, `DELETE FROM logs WHERE note = 'b' OR 1`},
	} {
		if got, want := FingerprintIn(tc.sql, tc.m), Fingerprint(tc.def); got != want {
			t.Errorf("%q under %+v: %q, want %q", tc.sql, tc.m, got, want)
		}
	}
}
