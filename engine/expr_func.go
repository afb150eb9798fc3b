package engine

import (
	"math"
	"math/big"
)

// Func is one of the functions the proxy evaluates over merged aggregates
// (the forms reports write around them): round, truncate, abs, ceil,
// floor, ifnull, coalesce, nullif, if. The planner checks the name and
// the number of arguments (FuncNames).
type Func struct {
	Name string
	Args []Expr
}

// FuncNames are the functions Func evaluates, with the numbers of
// arguments each takes (-1: one or more).
var FuncNames = map[string][]int{
	"round": {1, 2}, "truncate": {2}, "abs": {1}, "ceil": {1}, "ceiling": {1}, "floor": {1},
	"ifnull": {2}, "coalesce": {-1}, "nullif": {2}, "if": {3},
}

// Case is CASE [Operand] WHEN … THEN … [ELSE …] END; without Operand
// each WHEN is a condition, with it each is compared with it (=).
type Case struct {
	Operand Expr
	Whens   []Expr
	Thens   []Expr
	Else    Expr
}

func (c Case) eval(r *Row, env *evalEnv) value {
	var op value
	if c.Operand != nil {
		if op = c.Operand.eval(r, env); op.bad != nil {
			return op
		}
	}
	for i, w := range c.Whens {
		v := w.eval(r, env)
		if v.bad != nil {
			return v
		}
		if c.Operand != nil {
			if op.null || v.null {
				continue
			}
			if d, err := compareOperands(op, v); err != nil {
				return value{bad: err}
			} else if d != 0 {
				continue
			}
		} else if t, ok := v.truth(); !ok || !t {
			continue
		}
		return c.Thens[i].eval(r, env)
	}
	if c.Else == nil {
		return value{null: true}
	}
	return c.Else.eval(r, env)
}

func (f Func) eval(r *Row, env *evalEnv) value {
	arg := func(i int) value { return f.Args[i].eval(r, env) }
	switch f.Name {
	case "ifnull":
		if v := arg(0); !v.null || v.bad != nil {
			return v
		}
		return arg(1)
	case "coalesce":
		for i := range f.Args {
			if v := arg(i); !v.null || v.bad != nil {
				return v
			}
		}
		return value{null: true}
	case "nullif":
		a, b := arg(0), arg(1)
		if a.bad != nil {
			return a
		}
		if b.bad != nil {
			return b
		}
		if !a.null && !b.null {
			if d, err := compareOperands(a, b); err != nil {
				return value{bad: err}
			} else if d == 0 {
				return value{null: true}
			}
		}
		return a
	case "if":
		c := arg(0)
		if c.bad != nil {
			return c
		}
		if t, ok := c.truth(); ok && t {
			return arg(1)
		}
		return arg(2)
	}
	x := arg(0)
	if x.null || x.bad != nil {
		return x
	}
	if !x.isNumber() {
		x = numValue(x.number())
	}
	switch f.Name {
	case "abs":
		if x.flt {
			return floatValue(math.Abs(x.f))
		}
		return numValue(new(big.Rat).Abs(x.num))
	case "ceil", "ceiling", "floor":
		if x.flt {
			if f.Name == "floor" {
				return floatValue(math.Floor(x.f))
			}
			return floatValue(math.Ceil(x.f))
		}
		n := floorOf(x.num)
		if f.Name != "floor" && !x.num.IsInt() {
			n.Add(n, big.NewInt(1))
		}
		return numValue(new(big.Rat).SetInt(n))
	case "round", "truncate":
		d := int64(0)
		if len(f.Args) > 1 {
			dv := arg(1)
			if dv.null || dv.bad != nil {
				return dv
			}
			d = roundedInt(dv.number())
		}
		return roundTo(x, d, f.Name == "truncate")
	}
	return value{null: true}
}

// floorOf is the largest integer not above r.
func floorOf(r *big.Rat) *big.Int {
	// Div is Euclidean: with a positive denominator, the floor.
	return new(big.Int).Div(r.Num(), r.Denom())
}

// roundedInt is r rounded half away from zero, clamped to ±1000 (beyond
// that every ROUND of a value MariaDB holds gives the same result).
func roundedInt(r *big.Rat) int64 {
	n := halfAway(r)
	switch {
	case n.Cmp(big.NewInt(1000)) > 0:
		return 1000
	case n.Cmp(big.NewInt(-1000)) < 0:
		return -1000
	}
	return n.Int64()
}

// halfAway is r rounded to an integer, halves away from zero (MariaDB's
// rounding of exact values).
func halfAway(r *big.Rat) *big.Int {
	twice := new(big.Rat).Mul(r, big.NewRat(2, 1))
	n := truncated(twice) // 2r toward zero
	// round(r) = trunc((2r + sign) / 2) toward zero
	if r.Sign() >= 0 {
		n.Add(n, big.NewInt(1))
	} else {
		n.Sub(n, big.NewInt(1))
	}
	return n.Quo(n, big.NewInt(2))
}

// roundTo is ROUND(x, d) or TRUNCATE(x, d). Exact values round halves away
// from zero; doubles round halves to even, as MariaDB's rint does.
func roundTo(x value, d int64, truncate bool) value {
	if x.flt {
		scale := math.Pow(10, math.Abs(float64(d)))
		if d < 0 && math.IsInf(scale, 0) {
			return floatValue(0) // as MariaDB's my_double_round (0 * Inf is NaN)
		}
		v := x.f
		if d >= 0 {
			v *= scale
		} else {
			v /= scale
		}
		if math.IsInf(v, 0) {
			return x
		}
		if truncate {
			v = math.Trunc(v)
		} else {
			v = math.RoundToEven(v)
		}
		if d >= 0 {
			return floatValue(v / scale)
		}
		return floatValue(v * scale)
	}
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(absInt(d)), nil))
	v := new(big.Rat).Set(x.num)
	if d >= 0 {
		v.Mul(v, scale)
	} else {
		v.Quo(v, scale)
	}
	var n *big.Int
	if truncate {
		n = truncated(v)
	} else {
		n = halfAway(v)
	}
	v.SetInt(n)
	if d >= 0 {
		return numValue(v.Quo(v, scale))
	}
	return numValue(v.Mul(v, scale))
}

func absInt(d int64) int64 {
	if d < 0 {
		return -d
	}
	return d
}
