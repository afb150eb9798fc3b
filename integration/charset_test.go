package integration

import (
	"context"
	"strings"
	"testing"
)

// TestCharsetsTheParserLacks: SET NAMES with a character set TiDB's parser
// used not to know (big5, sjis, cp932, euckr) is the session's character
// set on every cluster, not only on the connection that ran it; and text in
// a character set whose characters can end in an ASCII byte is refused
// where a byte-wise reading would differ from the server's.
func TestCharsetsTheParserLacks(t *testing.T) {
	e := newTxnEnv(t, "")
	ctx := context.Background()
	for _, cs := range []string{"big5", "sjis", "cp932", "euckr"} {
		c := e.session(t)
		mustExec(t, c, "SET NAMES "+cs)
		// One statement on each kind of table: main (unsharded), s1
		// (business split), s0/s1 (sharded), each on its own pooled
		// connection that must have been given the session's charset.
		for _, q := range []string{
			"SELECT @@character_set_client, COUNT(*) FROM notes",
			"SELECT @@character_set_client, COUNT(*) FROM orders",
			"SELECT @@character_set_client, COUNT(*) FROM comments WHERE product_id = 2",
			"SELECT @@character_set_client, COUNT(*) FROM comments WHERE product_id = 3",
		} {
			var got string
			var n int
			if err := c.QueryRowContext(ctx, q).Scan(&got, &n); err != nil || got != cs {
				t.Fatalf("SET NAMES %s, then %s: character_set_client %q, %v", cs, q, got, err)
			}
		}
	}

	// Text in big5 round-trips through a split insert when no character
	// ends in an ASCII byte that matters: 一 is A4 40 ('@' as second
	// byte, harmless inside a string).
	c := e.session(t)
	mustExec(t, c, "SET NAMES big5")
	mustExec(t, c, "INSERT INTO comments (id, product_id, body) VALUES (1, 2, '\xa4\x40'), (2, 3, 'x\xa4\x40')")
	for id, want := range map[int]string{1: "一", 2: "x一"} {
		var body string
		for _, db := range []string{"s0", "s1"} {
			for _, tbl := range []string{"comments_0", "comments_1", "comments_2", "comments_3"} {
				_ = e.direct[db].QueryRow("SELECT body FROM "+tbl+" WHERE id = ?", id).Scan(&body)
			}
		}
		if body != want {
			t.Fatalf("row %d stored as %q, want %q", id, body, want)
		}
	}

	// 許 is B3 5C in big5: a byte-wise reader sees a backslash escaping the
	// closing quote, the server sees one character. Each of these is
	// refused with 1235 and nothing runs.
	for _, q := range []string{
		"SELECT '\xb3\x5c'",
		"SELECT body FROM notes WHERE body = '\xb3\x5c' UNION SELECT user FROM mysql.user -- '",
		"INSERT INTO comments (id, product_id, body) VALUES (3, 2, '\xb3\x5c'), (4, 4242, 'y') -- ')",
		"SELECT 1 AS `\xb3\x60`",
	} {
		_, err := c.ExecContext(ctx, q)
		if err == nil {
			t.Fatalf("%q ran in big5", q)
		}
		if code, _, msg := mysqlErr(t, err); code != 1235 {
			t.Fatalf("%q: %d %s, want 1235", q, code, msg)
		}
	}
	if n := e.count(t, "comments", "id IN (3, 4)"); n != 0 {
		t.Fatalf("a refused insert stored %d rows", n)
	}
	// The same character as a converted hex literal is fine (the refusal
	// says so), and the session goes on.
	mustExec(t, c, "INSERT INTO comments (id, product_id, body) VALUES (5, 2, CONVERT(X'B35C' USING big5))")
	var body string
	if err := c.QueryRowContext(ctx, "SELECT HEX(CONVERT(body USING big5)) FROM comments WHERE product_id = 2 AND id = 5").Scan(&body); err != nil || body != "B35C" {
		t.Fatalf("hex literal in big5: %q %v", body, err)
	}
	// Under NO_BACKSLASH_ESCAPES a backslash is no escape in either
	// reading: the same text is unambiguous and runs.
	mustExec(t, c, "SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
	var v string
	if err := c.QueryRowContext(ctx, "SELECT HEX('\xb3\x5c')").Scan(&v); err != nil || v != "B35C" {
		t.Fatalf("NO_BACKSLASH_ESCAPES big5 literal: %q %v", v, err)
	}
}

// TestPreparedValuesInEscapeUnsafeCharsets: values bound to server-side
// prepared statements under big5/sjis/cp932/gbk keep every byte, on every
// kind of table, even where their characters end in 0x5C or 0x60 and even
// when they carry an injection attempt.
func TestPreparedValuesInEscapeUnsafeCharsets(t *testing.T) {
	e := newTxnEnv(t, "")
	ctx := context.Background()
	values := map[string]string{
		"big5":  "\xb3\x5c' OR 1=1 -- ",
		"sjis":  "\x83\x5c'),(99,9,'x')#",
		"cp932": "\x83\x5c\x83\x60",
		"gbk":   "\xe4\xb8\x81\\' OR 1=1 #",
	}
	id := 100
	for cs, v := range values {
		c := e.session(t)
		mustExec(t, c, "SET NAMES "+cs)
		for _, table := range []string{"notes", "comments"} {
			id++
			var q string
			var args []any
			if table == "notes" {
				q, args = "INSERT INTO notes (id, body) VALUES (?, ?)", []any{id, v}
			} else {
				q, args = "INSERT INTO comments (id, product_id, body) VALUES (?, ?, ?)", []any{id, 9, v}
			}
			stmt, err := c.PrepareContext(ctx, q)
			if err != nil {
				t.Fatalf("%s: prepare %s: %v", cs, q, err)
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				t.Fatalf("%s: %s with %q: %v", cs, q, v, err)
			}
			stmt.Close()
			var got []byte
			sel := "SELECT CONVERT(body USING " + cs + ") FROM " + table + " WHERE id = ?"
			if table == "comments" {
				sel += " AND product_id = 9"
			}
			stmt, err = c.PrepareContext(ctx, sel)
			if err != nil {
				t.Fatal(err)
			}
			if err := stmt.QueryRowContext(ctx, id).Scan(&got); err != nil || string(got) != v {
				t.Fatalf("%s: %s read back %q, %v; want %q", cs, table, got, err, v)
			}
			stmt.Close()
		}
	}
	if n := e.count(t, "comments", "id = 99"); n != 0 {
		t.Fatalf("an injected row was stored (%d)", n)
	}
}

// TestTextModeChangesInOneQuery: SQL cannot be hidden behind a change of
// sql_mode or character set that takes effect in the middle of what the
// proxy has already read (a later statement of the same query, or the rest
// of a SET STATEMENT … FOR).
func TestTextModeChangesInOneQuery(t *testing.T) {
	e := newTxnEnv(t, "")
	ctx := context.Background()
	db := e.p.open(t, e.db, "multiStatements=true")
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// No change of mode: every statement runs.
	mustExec(t, c, "SET NAMES utf8mb4; INSERT INTO notes VALUES (1, 'a'); INSERT INTO notes VALUES (2, 'b')")
	if n := e.count(t, "notes", "id IN (1, 2)"); n != 2 {
		t.Fatalf("%d rows after a multi-statement query that keeps the mode", n)
	}
	for _, q := range []string{
		// Read by the proxy with backslash escapes, by the server without.
		"SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT 'a\\' UNION SELECT user FROM mysql.user -- '",
		// Read by the proxy in utf8mb4, by the server in big5 (B3 5C is
		// one character there).
		"SET NAMES big5; SELECT '\xb3\\' UNION SELECT user FROM mysql.user -- '",
	} {
		_, err := c.ExecContext(ctx, q)
		if err == nil {
			t.Fatalf("%q ran", q)
		}
		if code, _, msg := mysqlErr(t, err); code != 1235 || !strings.Contains(msg, "new query") {
			t.Fatalf("%q: %d %s", q, code, msg)
		}
		mustExec(t, c, "SET NAMES utf8mb4, sql_mode = DEFAULT")
	}
	// SET STATEMENT … FOR: the rest is read in the statement's own mode.
	for _, q := range []string{
		"SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR SELECT 'a\\' UNION SELECT user FROM mysql.user -- '",
		"SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR SELECT 'a\\' UNION SELECT body FROM comments -- '",
		"SET STATEMENT sql_mode = 'ANSI_QUOTES' FOR SELECT \"a\" FROM comments",
	} {
		_, err := c.ExecContext(ctx, q)
		if err == nil {
			t.Fatalf("%q ran", q)
		}
		if code, _, msg := mysqlErr(t, err); code != 1235 {
			t.Fatalf("%q: %d %s", q, code, msg)
		}
	}
	// A harmless SET STATEMENT still runs.
	var v int
	if err := c.QueryRowContext(ctx, "SET STATEMENT max_statement_time = 10 FOR SELECT COUNT(*) FROM notes").Scan(&v); err != nil || v != 2 {
		t.Fatalf("SET STATEMENT … FOR SELECT: %d %v", v, err)
	}
}

// TestOracleModeRefused: under sql_mode=ORACLE MariaDB reads another
// grammar; the proxy refuses every statement but SET, naming the mode, and
// the session leaves the mode with SET.
func TestOracleModeRefused(t *testing.T) {
	e := newTxnEnv(t, "")
	ctx := context.Background()
	c := e.session(t)
	mustExec(t, c, "SET sql_mode = 'ORACLE'")
	for _, q := range []string{"SELECT 1", "SELECT body FROM notes", "INSERT INTO notes VALUES (1, 'a')", "BEGIN NOT ATOMIC SELECT 1; END"} {
		_, err := c.ExecContext(ctx, q)
		if err == nil {
			t.Fatalf("%q ran under sql_mode=ORACLE", q)
		}
		if code, _, msg := mysqlErr(t, err); code != 1235 || !strings.Contains(msg, "ORACLE") {
			t.Fatalf("%q: %d %s", q, code, msg)
		}
	}
	mustExec(t, c, "SET sql_mode = DEFAULT")
	var n int
	if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes").Scan(&n); err != nil || n != 0 {
		t.Fatalf("after leaving ORACLE mode: %d %v", n, err)
	}
}
