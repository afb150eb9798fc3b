package parser

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// References to the named information_schema tables read the CTEs put
// first; everything else stays as written.
func TestWithTables(t *testing.T) {
	ctes := []CTE{{"TABLES", "SELECT 1"}, {"COLUMNS", "SELECT 2"}}
	const head = "WITH `TABLES` AS (SELECT 1), `COLUMNS` AS (SELECT 2) "
	cases := []struct {
		sql, db string
		mode    TextMode
		want    string
	}{
		// The alias as written keeps qualified columns resolving; the
		// schema leaves fully qualified ones.
		{"SELECT information_schema.tables.table_name, c.COLUMN_NAME FROM information_schema.tables JOIN information_schema.COLUMNS c USING (TABLE_NAME)", "shop", TextMode{},
			head + "SELECT `tables`.`table_name`,`c`.`COLUMN_NAME` FROM `TABLES` AS `tables` JOIN `COLUMNS` AS `c` USING (`TABLE_NAME`)"},
		// Unqualified names are information_schema's only while it is the
		// current database, and never the statement's own CTEs.
		{"SELECT * FROM TABLES", "information_schema", TextMode{}, head + "SELECT * FROM `TABLES` AS `TABLES`"},
		{"SELECT * FROM TABLES", "shop", TextMode{}, head + "SELECT * FROM `TABLES`"},
		{"WITH cols AS (SELECT 3) SELECT * FROM cols, COLUMNS x", "information_schema", TextMode{},
			"WITH `TABLES` AS (SELECT 1), `COLUMNS` AS (SELECT 2), `cols` AS (SELECT 3) SELECT * FROM (`cols`) JOIN `COLUMNS` AS `x`"},
		// The statement's own WITH list follows, RECURSIVE kept.
		{"WITH RECURSIVE n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n, information_schema.TABLES", "", TextMode{},
			"WITH RECURSIVE `TABLES` AS (SELECT 1), `COLUMNS` AS (SELECT 2), `n` AS (SELECT 1 AS `i` UNION ALL SELECT `i`+1 FROM `n` WHERE `i`<3) SELECT `i` FROM (`n`) JOIN `TABLES` AS `TABLES`"},
		// Subqueries and unions are rewritten too; strings follow the mode.
		{"SELECT 'a\\'b' FROM information_schema.TABLES WHERE TABLE_NAME IN (SELECT TABLE_NAME FROM information_schema.COLUMNS) UNION SELECT 1", "", TextMode{},
			head + "SELECT 'a''b' FROM `TABLES` AS `TABLES` WHERE `TABLE_NAME` IN (SELECT `TABLE_NAME` FROM `COLUMNS` AS `COLUMNS`) UNION SELECT 1"},
		{"SELECT 'a\\' FROM information_schema.TABLES", "", TextMode{NoBackslashEscapes: true},
			head + "SELECT 'a\\' FROM `TABLES` AS `TABLES`"},
		// Other information_schema tables stay the server's.
		{"SELECT * FROM information_schema.TABLES t JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION", "", TextMode{},
			head + "SELECT * FROM `TABLES` AS `t` JOIN `information_schema`.`COLLATIONS` AS `c` ON `c`.`COLLATION_NAME`=`t`.`TABLE_COLLATION`"},
	}
	// A CTE of the statement's own with the name of one of them would be
	// ambiguous: refused.
	stmts, err := New().Parse("WITH Columns AS (SELECT 3) SELECT * FROM Columns, information_schema.COLUMNS x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WithTables(stmts[0].Node, "information_schema", "", ctes, TextMode{}); err == nil {
		t.Fatal("a CTE named like a gathered table was accepted")
	}
	for _, c := range cases {
		p := New()
		p.SetMode(c.mode)
		stmts, err := p.Parse(c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		got, err := WithTables(stmts[0].Node, "information_schema", c.db, ctes, c.mode)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		if got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.sql, got, c.want)
		}
	}
}

func TestTypedValueLiteral(t *testing.T) {
	str := wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Charset: 33}
	v := func(s string) *string { return &s }
	cases := []struct {
		col  wire.Column
		v    *string
		want string
	}{
		{str, nil, "NULL"},
		{str, v("it's"), "_utf8mb3 X'69742773'"},
		{wire.Column{Type: mysql.MYSQL_TYPE_DATETIME, Charset: 63}, v("2026-11-24 10:00:00"), "TIMESTAMP'2026-11-24 10:00:00'"},
		{wire.Column{Type: mysql.MYSQL_TYPE_DATETIME, Charset: 63}, v("0000-00-00 00:00:00"), "X'303030302d30302d30302030303a30303a3030'"},
		{wire.Column{Type: mysql.MYSQL_TYPE_DATETIME, Charset: 63}, v("2026' OR 1"), "X'3230323627204f522031'"},
		{wire.Column{Type: mysql.MYSQL_TYPE_DATE, Charset: 63}, v("2026-11-24"), "DATE'2026-11-24'"},
		{wire.Column{Type: mysql.MYSQL_TYPE_TIME, Charset: 63}, v("10:00:00.5"), "TIME'10:00:00.5'"},
		{wire.Column{Type: mysql.MYSQL_TYPE_LONGLONG, Charset: 63, Flags: mysql.UNSIGNED_FLAG}, v("18446744073709551615"), "CAST(18446744073709551615 AS UNSIGNED)"},
		{wire.Column{Type: mysql.MYSQL_TYPE_LONGLONG, Charset: 63}, v("-3"), "-3"},
	}
	for _, c := range cases {
		if got := TypedValueLiteral(c.col, c.v); got != c.want {
			t.Errorf("TypedValueLiteral(%v, %v) = %s, want %s", c.col.Type, c.v, got, c.want)
		}
	}
}
