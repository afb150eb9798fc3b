package engine

import (
	"math/big"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// Merged rows as OrderedAggregate leaves them: the client's columns (a
// group key and the column Project computes, whatever the shard put
// there), then helpers: h0 a merged SUM (decimal, scale 2), h1 a COUNT,
// h2 a double.
var mergedRows = []vals{
	row("a", "shard value", "10.50", "4", "1.5"),
	row("b", "shard value", NULL, "0", NULL),
	row("c", "shard value", "-10.50", "4", "-2.5"),
}

func fn(name string, args ...Expr) Func { return Func{Name: name, Args: args} }

func dec(s string) Lit {
	r, _ := new(big.Rat).SetString(s)
	return Lit{Num: r}
}

var (
	pSum   = Col{Index: 0, Helper: true, Numeric: true}
	pCount = Col{Index: 1, Helper: true, Numeric: true}
	pDbl   = Col{Index: 2, Helper: true}
	pAvg   = bin("/", pSum, pCount)
)

func TestProject(t *testing.T) {
	tests := []struct {
		name     string
		expr     Expr
		typ      byte
		decimals int
		want     [3]string // the computed column of rows a, b, c
	}{
		{"division written at the column's scale", pAvg, tDecimal, 6, [3]string{"2.625000", NULL, "-2.625000"}},
		{"ROUND of an exact value: halves away from zero", fn("round", pAvg, num(2)), tDecimal, 2, [3]string{"2.63", NULL, "-2.63"}},
		{"ROUND without places", fn("round", pAvg), tDecimal, 0, [3]string{"3", NULL, "-3"}},
		{"ROUND to tens", fn("round", pSum, num(-1)), tDecimal, 0, [3]string{"10", NULL, "-10"}},
		{"ROUND of a double: halves to even", fn("round", bin("+", pDbl, Lit{Num: big.NewRat(1, 1), Float: true})), tDouble, 0, [3]string{"2", NULL, "-2"}},
		{"ROUND with NULL places is NULL", fn("round", pSum, litNull), tDecimal, 2, [3]string{NULL, NULL, NULL}},
		{"TRUNCATE toward zero", fn("truncate", pAvg, num(1)), tDecimal, 1, [3]string{"2.6", NULL, "-2.6"}},
		{"CEIL", fn("ceil", pAvg), tLong, 0, [3]string{"3", NULL, "-2"}},
		{"FLOOR", fn("floor", pAvg), tLong, 0, [3]string{"2", NULL, "-3"}},
		{"ABS", fn("abs", bin("-", num(0), pSum)), tDecimal, 2, [3]string{"10.50", NULL, "10.50"}},
		{"DIV", bin("div", pSum, num(4)), tLong, 0, [3]string{"2", NULL, "-2"}},
		{"% keeps the dividend's sign", bin("%", pSum, num(4)), tDecimal, 2, [3]string{"2.50", NULL, "-2.50"}},
		{"division by zero is NULL", bin("/", pSum, bin("-", pCount, pCount)), tDecimal, 6, [3]string{NULL, NULL, NULL}},
		{"IFNULL", fn("ifnull", pSum, num(0)), tDecimal, 2, [3]string{"10.50", "0.00", "-10.50"}},
		{"COALESCE", fn("coalesce", litNull, pSum, num(7)), tDecimal, 2, [3]string{"10.50", "7.00", "-10.50"}},
		{"NULLIF", fn("nullif", pCount, num(0)), tLong, 0, [3]string{"4", NULL, "4"}},
		{"IF", fn("if", bin(">", pCount, num(1)), str("many"), str("few")), tString, 0, [3]string{"many", "few", "many"}},
		{"searched CASE, NULL condition falls through", Case{Whens: []Expr{bin(">", pSum, num(0)), bin("<", pSum, num(0))}, Thens: []Expr{str("pos"), str("neg")}, Else: str("none")}, tString, 0, [3]string{"pos", "none", "neg"}},
		{"simple CASE without ELSE", Case{Operand: pCount, Whens: []Expr{num(4)}, Thens: []Expr{str("four")}}, tString, 0, [3]string{"four", NULL, "four"}},
		{"doubles stay doubles", bin("*", pDbl, num(3)), tDouble, notFixedDec, [3]string{"4.5", NULL, "-7.5"}},
		{"a double of fixed scale", bin("*", pDbl, num(3)), tDouble, 2, [3]string{"4.50", NULL, "-7.50"}},
		{"an exact value in an integer column", bin("*", pSum, num(2)), tLong, 0, [3]string{"21", NULL, "-21"}},
		{"an integer in a text column", fn("if", bin(">", pCount, num(1)), pCount, str("none")), tString, 0, [3]string{"4", "none", "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cols("k", tString, "e", tt.typ, tt.decimals, "h0", tDecimal, 2, "h1", tLong, "h2", tDouble, notFixedDec)
			vc := newCursor(t).on("q", rs(c, mergedRows...))
			p := &Project{Input: &Route{Cluster: "c1", SQL: "q"}, Fields: []ProjectField{{Index: 1, Expr: tt.expr, Text: "x"}}, Hidden: 3}
			w := &recWriter{}
			got := wantComplete(t, vc, w, p.Execute(vc, w))
			if len(got.rows) != 3 {
				t.Fatalf("%d rows, want 3", len(got.rows))
			}
			for i, r := range got.rows {
				if r[1] != tt.want[i] {
					t.Errorf("row %s: %q, want %q", r[0], r[1], tt.want[i])
				}
				if want := mergedRows[i][2]; (want == nil && r[2] != NULL) || (want != nil && r[2] != string(want)) {
					t.Errorf("row %s: helper changed to %q", r[0], r[2])
				}
			}
		})
	}
}

// A fraction MariaDB typed as text has no scale the proxy knows: refused,
// not guessed.
func TestProjectFractionInTextColumn(t *testing.T) {
	c := cols("k", tString, "e", tString, "h0", tDecimal, 2, "h1", tLong, "h2", tDouble, notFixedDec)
	vc := newCursor(t).on("q", rs(c, mergedRows...))
	p := &Project{Input: &Route{Cluster: "c1", SQL: "q"}, Fields: []ProjectField{{Index: 1, Expr: fn("if", bin(">", pCount, num(1)), pAvg, str("none")), Text: "IF(…)"}}, Hidden: 3}
	w := &recWriter{}
	wantCode(t, p.Execute(vc, w), mysql.ER_NOT_SUPPORTED_YET, "fractional number in a text column")
}

// Two computed fields see the merged row, not each other's results.
func TestProjectFieldsIndependent(t *testing.T) {
	c := cols("k", tString, "e", tDecimal, 2, "f", tDecimal, 2, "h0", tDecimal, 2, "h1", tLong, "h2", tDouble, notFixedDec)
	rows := []vals{row("a", "1.00", "2.00", "10.50", "4", "1.5")}
	vc := newCursor(t).on("q", rs(c, rows...))
	p := &Project{Input: &Route{Cluster: "c1", SQL: "q"}, Hidden: 3, Fields: []ProjectField{
		{Index: 1, Expr: bin("+", Col{Index: 2}, pSum), Text: "f + sum"},
		{Index: 2, Expr: bin("*", Col{Index: 1}, num(2)), Text: "e * 2"},
	}}
	w := &recWriter{}
	got := wantComplete(t, vc, w, p.Execute(vc, w))
	if r := got.rows[0]; r[1] != "12.50" || r[2] != "2.00" {
		t.Errorf("got %q, %q; want 12.50 (2.00 + 10.50) and 2.00 (1.00 × 2, the shard's value)", r[1], r[2])
	}
}
