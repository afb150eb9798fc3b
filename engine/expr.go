package engine

import (
	"bytes"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// Expr is an expression evaluated by the proxy on merged rows (HAVING and
// ORDER BY over aggregates). The planner compiles it from the statement,
// with every operand resolved to a column of the row.
type Expr interface {
	eval(r *Row, env *evalEnv) value
}

// evalEnv is what evaluation needs to know about the rows' columns.
type evalEnv struct {
	kinds []valueKind
	base  int // first helper column
}

// Col reads a column: Index counts from the first column, or from the
// first helper column when Helper is set (a negative Index then counts
// back into the select fields: -1 is the last, wherever a SELECT * ends).
// Numeric forces a number (merged COUNT, SUM and AVG values).
type Col struct {
	Index   int
	Helper  bool
	Numeric bool
}

// Lit is a constant: NULL, a number or a string. Float marks an
// approximate number (1.5e0): arithmetic with it is done in doubles.
type Lit struct {
	Null  bool
	Num   *big.Rat
	Str   []byte
	Float bool
}

// Unary is NOT (Op "not") or unary minus (Op "-").
type Unary struct {
	Op string
	X  Expr
}

// IsNull is X IS [NOT] NULL.
type IsNull struct {
	X   Expr
	Not bool
}

// Binary is a logical, comparison or arithmetic operator: and, or, xor,
// =, <>, <, <=, >, >=, +, -, *, /.
type Binary struct {
	Op   string
	L, R Expr
}

// value is an operand: NULL, an exact number (integer or decimal), a
// double (flt, in f) or a string.
type value struct {
	null bool
	num  *big.Rat
	flt  bool
	f    float64
	str  []byte
	// bad is why the value cannot be computed here (two strings compared:
	// MariaDB compares them by collation, which the proxy does not); it
	// carries through every operation to the primitive evaluating it.
	bad error
	// temporal: str is a DATE, DATETIME or TIMESTAMP (kindTemporal) or a
	// TIME (kindTime) value, whose number is its digits (20240105).
	temporal valueKind
	// real, when hasReal, is the double an exact num stands for where it
	// meets a double (Avg): not num converted.
	real    float64
	hasReal bool
}

func numValue(r *big.Rat) value { return value{num: r} }

func floatValue(f float64) value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return value{null: true} // MariaDB gives NULL where a double overflows
	}
	return value{flt: true, f: f}
}

// isNumber: the operand is a number, exact or not.
func (v value) isNumber() bool { return v.num != nil || v.flt }

// float is the operand as a double.
func (v value) float() float64 {
	if v.flt {
		return v.f
	}
	if v.hasReal {
		return v.real
	}
	f, _ := v.number().Float64()
	return f
}

func boolValue(b bool) value {
	if b {
		return numValue(big.NewRat(1, 1))
	}
	return numValue(new(big.Rat))
}

// truth is the value as a condition; ok is false for NULL.
func (v value) truth() (t, ok bool) {
	if v.null {
		return false, false
	}
	return v.number().Sign() != 0, true
}

func (v value) number() *big.Rat {
	if v.num != nil {
		return v.num
	}
	if v.flt {
		return new(big.Rat).SetFloat64(v.f)
	}
	if v.temporal != kindString {
		return temporalNumber(v.str)
	}
	return stringNumber(v.str)
}

// temporalNumber is a temporal value in a numeric context, as MariaDB
// reads it: its digits, the fraction kept (DATE 2024-01-05 is 20240105,
// TIME -10:11:12.5 is -101112.5).
func temporalNumber(b []byte) *big.Rat {
	var digits []byte
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == '.':
			digits = append(digits, b[i:]...)
			return ratOf(digits)
		case c == '-' && i == 0:
			digits = append(digits, c) // a negative TIME
		}
	}
	return ratOf(digits)
}

// stringNumber is a string in a numeric context, as MariaDB reads it: the
// longest number it starts with, after spaces ('12abc' is 12, 'abc' 0).
func stringNumber(b []byte) *big.Rat {
	s := strings.TrimLeft(string(b), " \t\n\r")
	end, digits := 0, false
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for ; end < len(s) && s[end] >= '0' && s[end] <= '9'; end++ {
		digits = true
	}
	if end < len(s) && s[end] == '.' {
		for end++; end < len(s) && s[end] >= '0' && s[end] <= '9'; end++ {
			digits = true
		}
	}
	if !digits {
		return new(big.Rat)
	}
	if e := end; e < len(s) && (s[e] == 'e' || s[e] == 'E') {
		e++
		if e < len(s) && (s[e] == '-' || s[e] == '+') {
			e++
		}
		if e < len(s) && s[e] >= '0' && s[e] <= '9' {
			for end = e; end < len(s) && s[end] >= '0' && s[end] <= '9'; end++ {
			}
		}
	}
	return ratOf([]byte(strings.TrimSuffix(s[:end], ".")))
}

func (c Col) eval(r *Row, env *evalEnv) value {
	i := c.Index
	if c.Helper {
		i += env.base
	}
	if i < 0 || i >= len(r.Vals) || r.Nulls[i] {
		return value{null: true}
	}
	switch env.kinds[i] {
	case kindFloat:
		f, _ := strconv.ParseFloat(string(r.Vals[i]), 64)
		return floatValue(f)
	case kindInt, kindDecimal:
		return numValue(ratOf(r.Vals[i]))
	}
	if c.Numeric {
		return numValue(ratOf(r.Vals[i]))
	}
	switch env.kinds[i] {
	case kindTemporal, kindTime:
		return value{str: r.Vals[i], temporal: env.kinds[i]}
	}
	return value{str: r.Vals[i]}
}

// Avg reads a merged AVG of exact numbers (integers, decimals) as MariaDB
// computes with it (aggRows.avgOperand): Value is the helper with its
// exact value, Real the helper with the double it is where it meets a
// double (AVG(price) - SUM(score)).
type Avg struct {
	Value, Real int
}

func (a Avg) eval(r *Row, env *evalEnv) value {
	v := Col{Index: a.Value, Helper: true, Numeric: true}.eval(r, env)
	if v.null || v.flt {
		return v
	}
	if i := env.base + a.Real; i >= 0 && i < len(r.Vals) && !r.Nulls[i] {
		if f, err := strconv.ParseFloat(string(r.Vals[i]), 64); err == nil {
			v.real, v.hasReal = f, true
		}
	}
	return v
}

func (l Lit) eval(*Row, *evalEnv) value {
	if l.Null {
		return value{null: true}
	}
	if l.Num != nil {
		if l.Float {
			f, _ := l.Num.Float64()
			return floatValue(f)
		}
		return numValue(l.Num)
	}
	return value{str: l.Str}
}

func (u Unary) eval(r *Row, env *evalEnv) value {
	v := u.X.eval(r, env)
	if v.null || v.bad != nil {
		return v
	}
	if u.Op == "-" {
		if v.flt {
			return floatValue(-v.f)
		}
		return numValue(new(big.Rat).Neg(v.number()))
	}
	t, _ := v.truth()
	return boolValue(!t)
}

func (n IsNull) eval(r *Row, env *evalEnv) value {
	v := n.X.eval(r, env)
	if v.bad != nil {
		return v
	}
	return boolValue(v.null != n.Not)
}

func (b Binary) eval(r *Row, env *evalEnv) value {
	l, rv := b.L.eval(r, env), b.R.eval(r, env)
	if l.bad != nil {
		return l
	}
	if rv.bad != nil {
		return rv
	}
	switch b.Op {
	case "and", "or", "xor":
		lt, lok := l.truth()
		rt, rok := rv.truth()
		switch b.Op {
		case "and":
			if (lok && !lt) || (rok && !rt) {
				return boolValue(false)
			}
			if !lok || !rok {
				return value{null: true}
			}
			return boolValue(true)
		case "or":
			if (lok && lt) || (rok && rt) {
				return boolValue(true)
			}
			if !lok || !rok {
				return value{null: true}
			}
			return boolValue(false)
		}
		if !lok || !rok {
			return value{null: true}
		}
		return boolValue(lt != rt)
	}
	if l.null || rv.null {
		return value{null: true}
	}
	if arith, ok := arithmetic(b.Op, l, rv); ok {
		return arith
	}
	c, err := compareOperands(l, rv)
	if err != nil {
		return value{bad: err}
	}
	switch b.Op {
	case "=":
		return boolValue(c == 0)
	case "<>":
		return boolValue(c != 0)
	case "<":
		return boolValue(c < 0)
	case "<=":
		return boolValue(c <= 0)
	case ">":
		return boolValue(c > 0)
	case ">=":
		return boolValue(c >= 0)
	}
	return value{null: true}
}

// arithmetic applies +, -, *, /, div or % to two non-NULL operands; ok
// is false for other operators. As in MariaDB, a double operand makes the
// operation one of doubles; otherwise it is exact (the result is rounded
// to the column's scale only when written). Division by zero is NULL.
func arithmetic(op string, l, r value) (value, bool) {
	if l.flt || r.flt {
		a, b := l.float(), r.float()
		switch op {
		case "+":
			return floatValue(a + b), true
		case "-":
			return floatValue(a - b), true
		case "*":
			return floatValue(a * b), true
		case "/":
			if b == 0 {
				return value{null: true}, true
			}
			return floatValue(a / b), true
		case "div":
			if b == 0 {
				return value{null: true}, true
			}
			return numValue(new(big.Rat).SetFloat64(math.Trunc(a / b))), true
		case "%":
			if b == 0 {
				return value{null: true}, true
			}
			return floatValue(math.Mod(a, b)), true
		}
		return value{}, false
	}
	a, b := l.number(), r.number()
	switch op {
	case "+":
		return numValue(new(big.Rat).Add(a, b)), true
	case "-":
		return numValue(new(big.Rat).Sub(a, b)), true
	case "*":
		return numValue(new(big.Rat).Mul(a, b)), true
	case "/", "div", "%":
		if b.Sign() == 0 {
			return value{null: true}, true
		}
		q := new(big.Rat).Quo(a, b)
		switch op {
		case "div":
			return numValue(new(big.Rat).SetInt(truncated(q))), true
		case "%":
			// The remainder has the dividend's sign: a - b*trunc(a/b).
			whole := new(big.Rat).SetInt(truncated(q))
			return numValue(new(big.Rat).Sub(a, whole.Mul(whole, b))), true
		}
		return numValue(q), true
	}
	return value{}, false
}

// truncated is r rounded toward zero.
func truncated(r *big.Rat) *big.Int {
	return new(big.Int).Quo(r.Num(), r.Denom())
}

// compareOperands compares two non-NULL operands: as numbers when either
// is one (a string read as a number, as MariaDB does). Two strings are
// compared only where their bytes order them as MariaDB would: dates and
// times written alike ('2026-02-01 10:00:00' and '2026-03-05 00:00:00');
// any other pair would need the column's collation ('apple' = 'APPLE'
// under a case-insensitive one), and is refused.
func compareOperands(a, b value) (int, error) {
	if !a.isNumber() && !b.isNumber() {
		if !sameTemporalLayout(a.str, b.str) {
			return 0, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: comparing the strings %q and %q on rows merged from several shards is not supported: the proxy does not compare by collation", a.str, b.str)
		}
		return bytes.Compare(a.str, b.str), nil
	}
	if a.flt || b.flt {
		x, y := a.float(), b.float()
		switch {
		case x < y:
			return -1, nil
		case x > y:
			return 1, nil
		}
		return 0, nil
	}
	return a.number().Cmp(b.number()), nil
}

// sameTemporalLayout: a and b are dates or date-times written alike
// (YYYY-MM-DD, then the same time and fraction layout), whose byte order
// is their order in time.
func sameTemporalLayout(a, b []byte) bool {
	if len(a) != len(b) || len(a) < 10 {
		return false
	}
	for i := range a {
		da, db := a[i] >= '0' && a[i] <= '9', b[i] >= '0' && b[i] <= '9'
		if da != db || (!da && a[i] != b[i]) {
			return false
		}
		if !da && !strings.ContainsRune("-: .", rune(a[i])) {
			return false
		}
	}
	return a[4] == '-' && a[7] == '-'
}
