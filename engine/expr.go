package engine

import (
	"bytes"
	"math/big"
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
// first helper column when Helper is set. Numeric forces a number (merged
// COUNT, SUM and AVG values).
type Col struct {
	Index   int
	Helper  bool
	Numeric bool
}

// Lit is a constant: NULL, a number or a string.
type Lit struct {
	Null bool
	Num  *big.Rat
	Str  []byte
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

// value is an operand.
type value struct {
	null bool
	num  *big.Rat
	str  []byte
}

func numValue(r *big.Rat) value { return value{num: r} }

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
	return ratOf(v.str)
}

func (c Col) eval(r *Row, env *evalEnv) value {
	i := c.Index
	if c.Helper {
		i += env.base
	}
	if i < 0 || i >= len(r.Vals) || r.Nulls[i] {
		return value{null: true}
	}
	if c.Numeric {
		return numValue(ratOf(r.Vals[i]))
	}
	switch env.kinds[i] {
	case kindInt, kindDecimal, kindFloat:
		return numValue(ratOf(r.Vals[i]))
	}
	return value{str: r.Vals[i]}
}

func (l Lit) eval(*Row, *evalEnv) value {
	if l.Null {
		return value{null: true}
	}
	if l.Num != nil {
		return numValue(l.Num)
	}
	return value{str: l.Str}
}

func (u Unary) eval(r *Row, env *evalEnv) value {
	v := u.X.eval(r, env)
	if v.null {
		return v
	}
	if u.Op == "-" {
		return numValue(new(big.Rat).Neg(v.number()))
	}
	t, _ := v.truth()
	return boolValue(!t)
}

func (n IsNull) eval(r *Row, env *evalEnv) value {
	return boolValue(n.X.eval(r, env).null != n.Not)
}

func (b Binary) eval(r *Row, env *evalEnv) value {
	l, rv := b.L.eval(r, env), b.R.eval(r, env)
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
	switch b.Op {
	case "+":
		return numValue(new(big.Rat).Add(l.number(), rv.number()))
	case "-":
		return numValue(new(big.Rat).Sub(l.number(), rv.number()))
	case "*":
		return numValue(new(big.Rat).Mul(l.number(), rv.number()))
	case "/":
		if rv.number().Sign() == 0 {
			return value{null: true}
		}
		return numValue(new(big.Rat).Quo(l.number(), rv.number()))
	}
	c := compareOperands(l, rv)
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

// compareOperands compares two non-NULL operands: as numbers when either
// is one, else as bytes.
func compareOperands(a, b value) int {
	if a.num == nil && b.num == nil {
		return bytes.Compare(a.str, b.str)
	}
	return a.number().Cmp(b.number())
}
