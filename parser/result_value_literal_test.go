package parser

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// A subquery's value written in its place must compare as the value did:
// a YEAR is a number to MariaDB (year_col IN (SELECT y …) compares 2024
// with 2024), where the binary string X'32303234' its charset would make
// it compares as 842019380 and matches nothing.
func TestResultValueLiteral(t *testing.T) {
	v := func(s string) *string { return &s }
	cases := []struct {
		col  wire.Column
		v    *string
		m    TextMode
		want string
	}{
		{wire.Column{Type: mysql.MYSQL_TYPE_YEAR, Charset: 63, Flags: mysql.UNSIGNED_FLAG | mysql.ZEROFILL_FLAG}, v("2024"), TextMode{}, "2024"},
		{wire.Column{Type: mysql.MYSQL_TYPE_YEAR, Charset: 63}, nil, TextMode{}, "NULL"},
		{wire.Column{Type: mysql.MYSQL_TYPE_LONGLONG, Charset: 63}, v("-3"), TextMode{}, "-3"},
		{wire.Column{Type: mysql.MYSQL_TYPE_DATE, Charset: 63}, v("2026-11-24"), TextMode{}, "'2026-11-24'"},
		{wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Charset: 45}, v(`a\'b`), TextMode{NoBackslashEscapes: true}, `'a\''b'`},
		{wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Charset: 45}, v(`a\'b`), TextMode{}, `'a\\''b'`},
		{wire.Column{Type: mysql.MYSQL_TYPE_VAR_STRING, Charset: 63}, v("ab"), TextMode{}, "X'6162'"},
	}
	for _, c := range cases {
		if got := ResultValueLiteral(c.col, c.v, c.m); got != c.want {
			t.Errorf("ResultValueLiteral(%d, %v) = %s, want %s", c.col.Type, c.v, got, c.want)
		}
	}
}
