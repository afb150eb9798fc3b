package parser

import (
	"reflect"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		sql      string
		kind     Kind
		readOnly bool
		tables   []Table
	}{
		{"SELECT * FROM t WHERE id = 1", KindSelect, true, []Table{{"", "t"}}},
		{"select a from shop.t1 join t2 on t1.id = t2.id", KindSelect, true, []Table{{"shop", "t1"}, {"", "t2"}}},
		{"SELECT 1 UNION SELECT id FROM u", KindSelect, true, []Table{{"", "u"}}},
		{"WITH c AS (SELECT * FROM t) SELECT * FROM c", KindSelect, true, []Table{{"", "t"}}},
		// A CTE's name is one only inside the query whose WITH defines it:
		// elsewhere the same name is a table the statement reads (and which
		// decides where it goes).
		{"SELECT (WITH orders AS (SELECT 1 AS a) SELECT a FROM orders), o.id FROM orders o", KindSelect, true, []Table{{"", "orders"}}},
		{"SELECT * FROM t WHERE id IN (WITH c AS (SELECT 1) SELECT * FROM c) AND EXISTS (SELECT 1 FROM c)", KindSelect, true, []Table{{"", "t"}, {"", "c"}}},
		{"WITH c AS (SELECT 1 AS a) SELECT * FROM c WHERE a IN (SELECT a FROM c)", KindSelect, true, nil},
		{"WITH RECURSIVE c AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM c WHERE n < 3) SELECT * FROM c", KindSelect, true, nil},
		{"WITH c AS (SELECT 1) SELECT * FROM shop.c", KindSelect, true, []Table{{"shop", "c"}}},
		// Without RECURSIVE a CTE's name is one only after its definition:
		// inside it, and in earlier CTEs, the name is the table.
		{"WITH comments AS (SELECT * FROM comments WHERE product_id = 1) SELECT * FROM comments", KindSelect, true, []Table{{"", "comments"}}},
		{"WITH a AS (SELECT * FROM b), b AS (SELECT * FROM a) SELECT * FROM b", KindSelect, true, []Table{{"", "b"}}},
		{"WITH RECURSIVE t AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t", KindSelect, true, nil},
		{"SELECT * FROM t FOR UPDATE", KindSelect, false, []Table{{"", "t"}}},
		{"SELECT * FROM t LOCK IN SHARE MODE", KindSelect, false, []Table{{"", "t"}}},
		{"SELECT LAST_INSERT_ID()", KindSelect, false, nil},
		{"SELECT last_insert_id() AS id", KindSelect, false, nil},
		{"SELECT FOUND_ROWS()", KindSelect, false, nil},
		{"SELECT GET_LOCK('a', 1)", KindSelect, false, nil},
		{"SELECT @x := 1", KindSelect, false, nil},
		{"SELECT @x", KindSelect, true, nil},
		{"SELECT id FROM t INTO OUTFILE '/tmp/x'", KindSelect, false, []Table{{"", "t"}}},
		{"SHOW TABLES", KindShow, true, nil},
		{"INSERT INTO t VALUES (1)", KindInsert, false, []Table{{"", "t"}}},
		{"REPLACE INTO t VALUES (1)", KindInsert, false, []Table{{"", "t"}}},
		{"UPDATE t SET a = 1", KindUpdate, false, []Table{{"", "t"}}},
		{"DELETE FROM t", KindDelete, false, []Table{{"", "t"}}},
		{"CREATE TABLE t (id INT)", KindDDL, false, []Table{{"", "t"}}},
		{"BEGIN", KindBegin, false, nil},
		{"COMMIT", KindCommit, false, nil},
		{"ROLLBACK", KindRollback, false, nil},
		{"SET NAMES utf8mb4", KindSet, false, nil},
		{"USE shop", KindUse, false, nil},
		{"EXPLAIN SELECT * FROM t", KindExplain, true, []Table{{"", "t"}}},
		{"DO SLEEP(1)", KindOther, false, nil},
	}
	p := New()
	for _, c := range cases {
		stmts, err := p.Parse(c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		s := stmts[0]
		if s.Kind != c.kind || s.ReadOnly != c.readOnly || !reflect.DeepEqual(s.Tables, c.tables) {
			t.Errorf("%s: kind %s readOnly %v tables %v; want %s %v %v", c.sql, s.Kind, s.ReadOnly, s.Tables, c.kind, c.readOnly, c.tables)
		}
	}
	if st, _ := p.Parse("START TRANSACTION READ ONLY"); !st[0].ReadOnlyTxn {
		t.Error("READ ONLY transaction not seen")
	}
	into, err := p.Parse("SELECT id, v INTO @a, @`B` FROM t WHERE id = 1")
	if err != nil {
		t.Fatal(err)
	}
	if st := into[0]; st.ReadOnly || !st.IntoUserVars || !reflect.DeepEqual(st.AssignedUserVars, []string{"a", "b"}) || !reflect.DeepEqual(st.Tables, []Table{{"", "t"}}) || st.SQL != "SELECT id, v INTO @a, @`B` FROM t WHERE id = 1" {
		t.Errorf("SELECT INTO @vars: %+v", st)
	}
	if _, err := p.Parse("SELEC 1"); err == nil {
		t.Error("syntax error accepted")
	}
}

func TestWorkKeyword(t *testing.T) {
	p := New()
	for sql, want := range map[string]Kind{
		"BEGIN WORK":                   KindBegin,
		"commit work":                  KindCommit,
		"ROLLBACK WORK":                KindRollback,
		"ROLLBACK WORK TO SAVEPOINT s": KindOther,
	} {
		stmts, err := p.Parse(sql)
		if err != nil {
			t.Errorf("%s: %v", sql, err)
			continue
		}
		if stmts[0].Kind != want || stmts[0].SQL != sql {
			t.Errorf("%s: kind %v, text %q", sql, stmts[0].Kind, stmts[0].SQL)
		}
	}
}

// TestExplainExtended: MariaDB's EXPLAIN EXTENDED/PARTITIONS parse as the
// EXPLAIN without the word, the text kept as sent; the word's place keeps
// the offsets of what follows (a prepared statement's ? markers).
func TestExplainExtended(t *testing.T) {
	p := New()
	for _, c := range []struct {
		sql string
		ok  bool
	}{
		{"EXPLAIN EXTENDED SELECT t1.a FROM t1 WHERE t1.a = ?", true},
		{"explain partitions select * from t", true},
		{"DESCRIBE EXTENDED SELECT 1", true},
		{"EXPLAIN EXTENDED UPDATE t SET a = 1", true},
		{"DESC EXTENDED t", false},            // not MariaDB's: DESCRIBE t has no EXTENDED
		{"EXPLAIN EXTENDEDX SELECT 1", false}, // not the word
		{"EXPLAIN EXTENDED ANALYZE SELECT 1", false},
	} {
		stmts, err := p.Parse(c.sql)
		if !c.ok {
			if err == nil && stmts[0].ExplainExtended {
				t.Errorf("%s: taken as EXPLAIN EXTENDED", c.sql)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if st := stmts[0]; st.Kind != KindExplain || !st.ExplainExtended || st.SQL != c.sql {
			t.Errorf("%s: kind %v, extended %v, text %q", c.sql, st.Kind, st.ExplainExtended, st.SQL)
		}
	}
	marks, err := p.Placeholders("EXPLAIN EXTENDED SELECT a FROM t WHERE b = ?")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{len("EXPLAIN EXTENDED SELECT a FROM t WHERE b = ")}; !reflect.DeepEqual(marks, want) {
		t.Errorf("? at %v, want %v", marks, want)
	}
}

// TestParseInMode: the same text parses as the server reads it in the
// session's sql_mode.
func TestParseInMode(t *testing.T) {
	p := New()
	cases := []struct {
		sql  string
		mode TextMode
		ok   bool
	}{
		{`SELECT 'a\'`, TextMode{}, false},                        // the backslash escapes the quote
		{`SELECT 'a\'`, TextMode{NoBackslashEscapes: true}, true}, // it does not
		{`SELECT "id" FROM t`, TextMode{AnsiQuotes: true}, true},
	}
	for _, c := range cases {
		p.SetMode(c.mode)
		_, err := p.Parse(c.sql)
		if (err == nil) != c.ok {
			t.Errorf("%s in %+v: %v", c.sql, c.mode, err)
		}
	}
	p.SetMode(TextMode{AnsiQuotes: true})
	stmts, err := p.Parse(`SELECT * FROM t WHERE "product_id" = 9`)
	if err != nil {
		t.Fatal(err)
	}
	conds := ExtractConds(stmts[0].Node.(*ast.SelectStmt).Where, func(*ast.ColumnName) bool { return true })
	if c, ok := conds["product_id"]; !ok || !c.Exact {
		t.Errorf("under ANSI_QUOTES \"product_id\" is a column: %v", conds)
	}
}

func TestLeadingKeyword(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"XA START 'x'", "XA"},
		{"  /* c */ xa recover", "XA"},
		{"-- c\n# d\n\tXa commit 'x'", "XA"},
		{"/*c*//*d*/SELECT 1", "SELECT"},
		{"'XA' START", ""},
		{"", ""},
		{"/* unterminated", ""},
	} {
		if got := LeadingKeyword(tc.sql, TextMode{}); got != tc.want {
			t.Errorf("LeadingKeyword(%q) = %q, want %q", tc.sql, got, tc.want)
		}
	}
}
