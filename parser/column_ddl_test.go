package parser

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// TestColumnDDL: a result column's definition read back as the SQL type
// of a column that holds its values (lengths as MariaDB reports them for
// that type).
func TestColumnDDL(t *testing.T) {
	for _, c := range []struct {
		col  wire.Column
		want string
	}{
		{wire.Column{Type: mysql.MYSQL_TYPE_LONG, Length: 11, Charset: 63}, "INT(11)"},
		{wire.Column{Type: mysql.MYSQL_TYPE_LONGLONG, Length: 20, Charset: 63, Flags: mysql.UNSIGNED_FLAG | mysql.NOT_NULL_FLAG}, "BIGINT(20) UNSIGNED NOT NULL"},
		{wire.Column{Type: mysql.MYSQL_TYPE_TINY, Length: 3, Charset: 63, Flags: mysql.UNSIGNED_FLAG | mysql.ZEROFILL_FLAG}, "TINYINT(3) UNSIGNED ZEROFILL"},
		// DECIMAL(10,2): 10 digits, a point, a sign.
		{wire.Column{Type: mysql.MYSQL_TYPE_NEWDECIMAL, Length: 12, Decimals: 2, Charset: 63}, "DECIMAL(10,2)"},
		{wire.Column{Type: mysql.MYSQL_TYPE_NEWDECIMAL, Length: 33, Decimals: 0, Charset: 63}, "DECIMAL(32,0)"},
		{wire.Column{Type: mysql.MYSQL_TYPE_NEWDECIMAL, Length: 5, Decimals: 2, Charset: 63, Flags: mysql.UNSIGNED_FLAG}, "DECIMAL(4,2) UNSIGNED"},
		{wire.Column{Type: mysql.MYSQL_TYPE_DOUBLE, Length: 22, Decimals: 31, Charset: 63}, "DOUBLE"},
		{wire.Column{Type: mysql.MYSQL_TYPE_DATETIME, Length: 26, Decimals: 6, Charset: 63}, "DATETIME(6)"},
		{wire.Column{Type: mysql.MYSQL_TYPE_DATETIME, Length: 19, Charset: 63}, "DATETIME"},
		{wire.Column{Type: mysql.MYSQL_TYPE_TIMESTAMP, Length: 19, Charset: 63, Flags: mysql.NOT_NULL_FLAG}, "TIMESTAMP NULL DEFAULT NULL"},
		{wire.Column{Type: mysql.MYSQL_TYPE_DATE, Length: 10, Charset: 63}, "DATE"},
		{wire.Column{Type: mysql.MYSQL_TYPE_TIME, Length: 13, Decimals: 3, Charset: 63}, "TIME(3)"},
		{wire.Column{Type: mysql.MYSQL_TYPE_YEAR, Length: 4, Charset: 63}, "YEAR"},
		{wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Length: 200, Charset: 45}, "VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"},
		{wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Length: 30, Charset: 33}, "VARCHAR(10) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci"},
		{wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Length: 20, Charset: 28}, "VARCHAR(10) CHARACTER SET gbk COLLATE gbk_chinese_ci"},
		{wire.Column{Type: mysql.MYSQL_TYPE_STRING, Length: 8, Charset: 8}, "CHAR(8) CHARACTER SET latin1 COLLATE latin1_swedish_ci"},
		{wire.Column{Type: mysql.MYSQL_TYPE_STRING, Length: 4, Charset: 63}, "BINARY(4)"},
		{wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Length: 16, Charset: 63}, "VARBINARY(16)"},
		{wire.Column{Type: mysql.MYSQL_TYPE_BLOB, Length: 65535, Charset: 63}, "BLOB"},
		{wire.Column{Type: mysql.MYSQL_TYPE_BLOB, Length: 4294967295, Charset: 46}, "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"},
		{wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Length: 262140, Charset: 45}, "MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"},
		{wire.Column{Type: mysql.MYSQL_TYPE_BIT, Length: 5, Charset: 63}, "BIT(5)"},
		{wire.Column{Type: mysql.MYSQL_TYPE_NULL, Charset: 63}, "BINARY(0)"},
	} {
		got, err := ColumnDDL(c.col)
		if err != nil || got != c.want {
			t.Errorf("%+v: %q %v, want %q", c.col, got, err, c.want)
		}
	}
	for _, c := range []wire.Column{
		{Type: mysql.MYSQL_TYPE_GEOMETRY, Charset: 63},
		// ENUM and SET: as VARCHARs they would order and compare as text,
		// not by their members' positions (review3).
		{Type: mysql.MYSQL_TYPE_STRING, Length: 24, Charset: 45, Flags: mysql.ENUM_FLAG},
		{Type: mysql.MYSQL_TYPE_STRING, Length: 12, Charset: 45, Flags: mysql.SET_FLAG},
		{Type: mysql.MYSQL_TYPE_ENUM, Length: 4, Charset: 8},
	} {
		if ddl, err := ColumnDDL(c); err == nil {
			t.Errorf("%+v was given a definition: %s", c, ddl)
		}
	}
}

// TestDerivedColumnDDL: a derived table's column keeps the definition of
// the table column it is (collation, ENUM/SET members), an expression the
// one collation of the text columns it derives from; an expression whose
// collation cannot be known, and is not the result's, is refused.
func TestDerivedColumnDDL(t *testing.T) {
	utf8 := wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Length: 40, Charset: 45}
	utf8Bin := utf8
	utf8Bin.Flags = mysql.BINARY_FLAG
	latin := wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Length: 10, Charset: 8}
	notNull := utf8
	notNull.Flags = mysql.NOT_NULL_FLAG
	num := wire.Column{Type: mysql.MYSQL_TYPE_LONG, Length: 11, Charset: 63}
	dbl := wire.Column{Type: mysql.MYSQL_TYPE_DOUBLE, Length: 10, Decimals: 2, Charset: 63}
	fltNotNull := wire.Column{Type: mysql.MYSQL_TYPE_FLOAT, Length: 7, Decimals: 3, Charset: 63, Flags: mysql.NOT_NULL_FLAG}
	for _, c := range []struct {
		name string
		col  wire.Column
		src  ColumnSource
		want string // "": refused
	}{
		{"plain bin column", utf8, ColumnSource{Type: "varchar(10)", Charset: "utf8mb4", Collation: "utf8mb4_bin"}, "varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"},
		{"enum", utf8, ColumnSource{Type: "enum('z','a','it''s')", Charset: "utf8mb4", Collation: "utf8mb4_general_ci"}, "enum('z','a','it''s') CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"},
		{"set, not null", notNull, ColumnSource{Type: "set('y','b')", Charset: "latin1", Collation: "latin1_swedish_ci"}, "set('y','b') CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL"},
		{"enum member beyond ASCII", utf8, ColumnSource{Type: "enum('é')", Charset: "utf8mb4", Collation: "utf8mb4_general_ci"}, ""},
		{"latin1 client, utf8mb4 column", latin, ColumnSource{Type: "varchar(10)", Charset: "utf8mb4", Collation: "utf8mb4_general_ci"}, "varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"},
		{"nothing known", utf8, ColumnSource{}, "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"},
		{"nothing known, binary flag", utf8Bin, ColumnSource{}, "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"},
		{"expression of one column", utf8Bin, ColumnSource{Collations: []string{"utf8mb4_bin"}, Derives: true}, "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"},
		{"expression, latin1 client", latin, ColumnSource{Collations: []string{"utf8mb4_bin"}, Derives: true}, "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"},
		{"two collations", utf8, ColumnSource{Collations: []string{"utf8mb4_bin", "latin1_swedish_ci"}, Derives: true}, ""},
		{"two collations, both the result's", utf8, ColumnSource{Collations: []string{"utf8mb4_general_ci"}, Derives: false}, "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"},
		{"convert", utf8, ColumnSource{Collations: []string{"convert"}}, ""},
		{"a number", num, ColumnSource{Collations: []string{"utf8mb4_bin"}}, "INT(11)"},
		{"DOUBLE(10,2) column", dbl, ColumnSource{Type: "double(10,2)"}, "double(10,2)"},
		{"FLOAT(7,3) unsigned column, not null", fltNotNull, ColumnSource{Type: "float(7,3) unsigned"}, "float(7,3) unsigned NOT NULL"},
		{"DOUBLE expression: the result's type", dbl, ColumnSource{}, "DOUBLE"},
		{"not a type", dbl, ColumnSource{Type: "double(10,2); DROP TABLE t"}, "DOUBLE"},
	} {
		got, err := DerivedColumnDDL(c.col, c.src)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: %q, want a refusal", c.name, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
