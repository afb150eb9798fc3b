package engine

import (
	"math/big"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

var filterCols = cols("name", tString, "n", tLong, "s", tString, "h0", tLong)

var havingRows = []vals{
	row("a", "1", "10", "7"),
	row("b", NULL, "9", "8"),
	row("c", "0", "x", NULL),
	row(NULL, "5", NULL, "9"),
}

func num(n int64) Lit  { return Lit{Num: big.NewRat(n, 1)} }
func str(s string) Lit { return Lit{Str: []byte(s)} }

var litNull = Lit{Null: true}

func bin(op string, l, r Expr) Binary { return Binary{Op: op, L: l, R: r} }

var (
	fName = Col{Index: 0}
	fN    = Col{Index: 1}
	fS    = Col{Index: 2}
	fH0   = Col{Index: 0, Helper: true}
)

func TestFilter(t *testing.T) {
	tests := []struct {
		name string
		expr Expr
		want string // names of the rows kept, in order; "d" is the NULL-named row
	}{
		{"comparison, NULL is not true", bin(">", fN, num(0)), "ad"},
		{"not: NULL stays NULL", Unary{Op: "not", X: bin(">", fN, num(0))}, "c"},
		{"is null", IsNull{X: fN}, "b"},
		{"is not null", IsNull{X: fN, Not: true}, "acd"},
		{"null literal is null", IsNull{X: litNull}, "abcd"},
		{"NULL and false is false", Unary{Op: "not", X: bin("and", litNull, bin("=", fN, num(0)))}, "ad"},
		{"NULL and true is NULL", bin("and", litNull, bin(">=", fN, num(0))), ""},
		{"NULL or true is true", bin("or", litNull, bin(">", fN, num(0))), "ad"},
		{"NULL or false is NULL", Unary{Op: "not", X: bin("or", litNull, bin("<", fN, num(0)))}, ""},
		{"true and true", bin("and", bin(">", fN, num(0)), bin("=", fH0, num(7))), "a"},
		{"false or true", bin("or", bin("=", fN, num(5)), bin("=", fN, num(0))), "cd"},
		{"xor", bin("xor", bin(">", fN, num(0)), bin(">", fH0, num(7))), "a"},
		{"xor with NULL is NULL", bin("xor", litNull, bin(">", fN, num(0))), ""},
		{"arithmetic", bin(">=", bin("-", bin("*", fN, num(2)), num(1)), num(1)), "ad"},
		{"addition", bin("=", bin("+", fN, fH0), num(14)), "d"},
		{"division", bin("=", bin("/", fH0, fN), num(7)), "a"},
		{"division by zero is NULL", IsNull{X: bin("/", fN, num(0))}, "abcd"},
		{"unary minus", bin("<", Unary{Op: "-", X: fN}, num(-1)), "d"},
		{"<> and <=", bin("and", bin("<>", fN, num(1)), bin("<=", fH0, num(8))), ""},
		{"date-times written alike compare as bytes", bin(">", str("2026-03-05 10:00:00"), str("2026-02-01 00:00:00")), "abcd"},
		{"numeric column against a string", bin("=", fN, str("1")), "a"},
		{"Numeric forces a number", bin(">", Col{Index: 2, Numeric: true}, str("9")), "a"},
		{"a non-numeric string is 0", bin("=", Col{Index: 2, Numeric: true}, num(0)), "c"},
		{"helper column", bin(">", fH0, num(7)), "bd"},
		{"a column value is true when non-zero", fN, "ad"},
		{"out of range column is NULL", IsNull{X: Col{Index: 9}}, "abcd"},
	}
	label := map[string]string{"a": "a", "b": "b", "c": "c", NULL: "d"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t).on("q", rs(filterCols, havingRows...))
			f := &Filter{Input: &Route{Cluster: "c1", SQL: "q"}, Expr: tt.expr, Hidden: 1, Text: "x"}
			w := &recWriter{}
			got := wantComplete(t, vc, w, f.Execute(vc, w))
			kept := ""
			for _, r := range got.rows {
				kept += label[r[0]]
				if len(r) != 4 {
					t.Errorf("row %v lost columns", r)
				}
			}
			if kept != tt.want {
				t.Errorf("kept %q, want %q", kept, tt.want)
			}
			wantClean(t, vc, "q")
		})
	}
}

// Two strings are compared by collation in MariaDB ('a' = 'A' under a
// case-insensitive one), which the proxy does not do: refused, not
// answered by bytes. Dates written alike are the exception (above).
func TestFilterRefusesStringComparisons(t *testing.T) {
	for _, e := range []Expr{
		bin(">", fName, str("b")),
		bin("=", fName, str("a")),
		bin(">", fS, str("9")),
		bin("=", str("2026-02-01"), str("2026-02-01 00:00:00")),
		IsNull{X: Func{Name: "nullif", Args: []Expr{fName, str("a")}}},
		Case{Operand: fName, Whens: []Expr{str("a")}, Thens: []Expr{num(1)}},
		Unary{Op: "not", X: bin("or", bin(">", fN, num(0)), bin("<", fName, str("b")))},
	} {
		vc := newCursor(t).on("q", rs(filterCols, havingRows...))
		w := &recWriter{}
		err := (&Filter{Input: &Route{Cluster: "c1", SQL: "q"}, Expr: e, Hidden: 1, Text: "x"}).Execute(vc, w)
		wantCode(t, err, mysql.ER_NOT_SUPPORTED_YET, "does not compare by collation")
		vc.checkReleased(t)
	}
}

func TestFilterEmptyAndErrors(t *testing.T) {
	keep := bin(">", fN, num(0))
	t.Run("empty", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(filterCols))
		w := &recWriter{}
		got := wantComplete(t, vc, w, (&Filter{Input: &Route{Cluster: "c1", SQL: "q"}, Expr: keep, Hidden: 1}).Execute(vc, w))
		wantRows(t, got.rows)
	})
	t.Run("server error mid-stream", func(t *testing.T) {
		vc := newCursor(t)
		in := &MergeSort{Routes: routes(vc, rs(filterCols, havingRows...).failAfter(2, mysql.ER_QUERY_INTERRUPTED, "killed"), rs(filterCols, havingRows...)), Hidden: 1}
		w := &recWriter{}
		err := (&Filter{Input: in, Expr: keep, Hidden: 1}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_QUERY_INTERRUPTED)
		checkFates(t, vc, []string{"server", "abandoned"})
	})
	t.Run("server error at header", func(t *testing.T) {
		vc := newCursor(t).on("q", srvErr(mysql.ER_NO_SUCH_TABLE, "gone"))
		w := &recWriter{}
		err := (&Filter{Input: &Route{Cluster: "c1", SQL: "q"}, Expr: keep, Hidden: 1}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_NO_SUCH_TABLE)
		wantServerRelease(t, vc, "q")
	})
	t.Run("broken", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(filterCols, havingRows...).breakAfter(3))
		w := &recWriter{}
		err := (&Filter{Input: &Route{Cluster: "c1", SQL: "q"}, Expr: keep, Hidden: 1}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_UNKNOWN_ERROR)
		wantBrokenRelease(t, vc, "q")
	})
}
