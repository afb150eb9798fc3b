package engine

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// What the second adversarial review found Project writing differently
// from MariaDB over the same merged values.
func TestProjectReview(t *testing.T) {
	temporal := cols("k", tString, "e", tLong, "h0", mysql.MYSQL_TYPE_DATE, "h1", mysql.MYSQL_TYPE_DATE, "h2", tTime, "h3", tString)
	rows := []vals{row("a", "x", "2024-01-05", "2024-01-01", "-10:11:12.5", "12abc")}
	tests := []struct {
		name string
		c    []wire.Column
		rows []vals
		col  wire.Column
		expr Expr
		want string
		code uint16
	}{
		// MAX(d) - MIN(d) of a DATE: MariaDB subtracts 20240101 from
		// 20240105; read as text the dates were 0 and 0.
		{name: "dates in arithmetic are their digits", c: temporal, rows: rows, col: wire.Column{Type: tLong},
			expr: bin("-", Col{Index: 0, Helper: true}, Col{Index: 1, Helper: true}), want: "4"},
		{name: "a date compared with a number", c: temporal, rows: rows, col: wire.Column{Type: tInt},
			expr: bin(">", Col{Index: 0, Helper: true}, num(20240101)), want: "1"},
		{name: "a negative TIME with a fraction", c: temporal, rows: rows, col: wire.Column{Type: tDecimal, Decimals: 1},
			expr: bin("+", Col{Index: 2, Helper: true}, num(0)), want: "-101112.5"},
		{name: "a string's leading number", c: temporal, rows: rows, col: wire.Column{Type: tDouble, Decimals: notFixedDec},
			expr: bin("+", Col{Index: 3, Helper: true}, num(1)), want: "13"},
		// COUNT(*) * 5e18 over two shards of one row each: each shard's
		// product fits a BIGINT, the merged one does not (MariaDB: 1690).
		{name: "a BIGINT out of range is 1690", c: mergedCols, rows: []vals{row("a", "x", "1", "2", "1")}, col: wire.Column{Type: tLong},
			expr: bin("*", Col{Index: 1, Helper: true, Numeric: true}, dec("5000000000000000000")), code: mysql.ER_DATA_OUT_OF_RANGE},
		{name: "a negative BIGINT UNSIGNED is 1690", c: mergedCols, rows: []vals{row("a", "x", "1", "2", "1")}, col: wire.Column{Type: tLong, Flags: mysql.UNSIGNED_FLAG},
			expr: bin("-", num(1), Col{Index: 1, Helper: true, Numeric: true}), code: mysql.ER_DATA_OUT_OF_RANGE},
		{name: "the largest BIGINT UNSIGNED is written", c: mergedCols, rows: []vals{row("a", "x", "1", "2", "1")}, col: wire.Column{Type: tLong, Flags: mysql.UNSIGNED_FLAG},
			expr: bin("+", dec("18446744073709551613"), Col{Index: 1, Helper: true, Numeric: true}), want: "18446744073709551615"},
		// MariaDB writes a negative zero without its sign (checked on ref:
		// ROUND(-0.001e0, 2) is 0.00, ROUND(-0.4e0) 0).
		{name: "a double rounded to -0.00 is 0.00", c: mergedCols, rows: []vals{row("a", "x", "1", "2", "-0.001")}, col: wire.Column{Type: tDouble, Decimals: 2},
			expr: fn("round", Col{Index: 2, Helper: true}, num(2)), want: "0.00"},
		{name: "a decimal rounded to -0.0000 is 0.0000", c: mergedCols, rows: []vals{row("a", "x", "-0.01", "1000", "1")}, col: wire.Column{Type: tDecimal, Decimals: 4},
			expr: bin("/", Col{Index: 0, Helper: true, Numeric: true}, Col{Index: 1, Helper: true, Numeric: true}), want: "0.0000"},
		// my_double_round: 10^400 is infinite, and the result 0.
		{name: "ROUND of a double to -400 places is 0", c: mergedCols, rows: []vals{row("a", "x", "1", "2", "1.5")}, col: wire.Column{Type: tDouble, Decimals: notFixedDec},
			expr: fn("round", Col{Index: 2, Helper: true}, num(-400)), want: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := append([]wire.Column(nil), tt.c...)
			tt.col.Name = "e"
			c[1] = tt.col
			vc := newCursor(t).on("q", rs(c, tt.rows...))
			p := &Project{Input: &Route{Cluster: "c1", SQL: "q"}, Fields: []ProjectField{{Index: 1, Expr: tt.expr, Text: "x"}}, Hidden: len(c) - 2}
			w := &recWriter{}
			err := p.Execute(vc, w)
			if tt.code != 0 {
				wantCode(t, err, tt.code, "out of range")
				return
			}
			got := wantComplete(t, vc, w, err)
			if got.rows[0][1] != tt.want {
				t.Errorf("%q, want %q", got.rows[0][1], tt.want)
			}
		})
	}
}

var mergedCols = cols("k", tString, "e", tString, "h0", tDecimal, 2, "h1", tLong, "h2", tDouble, notFixedDec)
