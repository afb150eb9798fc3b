package parser

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// Range bounds a column: Lo <= col (or <) and col <= Hi (or <). Empty bounds
// are open. Bounds are literal texts as written.
type Range struct {
	Lo, Hi string
	HiExcl bool
}

// Cond is what a WHERE clause says about one column. A column without a
// Cond is unconstrained.
type Cond struct {
	// Exact: the column can only take one of Values (canonical texts). An
	// exact Cond with no values means no row can match.
	Exact  bool
	Values []string
	// Ranges must all hold (from AND of comparisons).
	Ranges []Range
}

// Conds maps lower-case column names to what is known about them.
type Conds map[string]Cond

// ColumnMatcher says whether a column reference names a column of the table
// being pruned.
type ColumnMatcher func(c *ast.ColumnName) bool

// ExtractConds reads the shard-key facts from a WHERE clause: equalities, IN
// lists, OR of equalities on one column, BETWEEN and comparisons. Anything
// else constrains nothing, so pruning only ever keeps too many tables.
func ExtractConds(where ast.ExprNode, match ColumnMatcher) Conds {
	if where == nil {
		return Conds{}
	}
	switch e := where.(type) {
	case *ast.ParenthesesExpr:
		return ExtractConds(e.Expr, match)
	case *ast.BinaryOperationExpr:
		switch e.Op {
		case opcode.LogicAnd:
			return andConds(ExtractConds(e.L, match), ExtractConds(e.R, match))
		case opcode.LogicOr:
			return orConds(ExtractConds(e.L, match), ExtractConds(e.R, match))
		case opcode.EQ, opcode.GT, opcode.GE, opcode.LT, opcode.LE:
			return comparison(e, match)
		}
	case *ast.PatternInExpr:
		col, ok := columnOf(e.Expr, match)
		if !ok || e.Not || e.Sel != nil {
			return Conds{}
		}
		c := Cond{Exact: true}
		for _, item := range e.List {
			v, null, ok := Literal(item)
			if !ok {
				return Conds{}
			}
			if !null {
				c.Values = appendUnique(c.Values, v)
			}
		}
		return Conds{col: c}
	case *ast.BetweenExpr:
		col, ok := columnOf(e.Expr, match)
		lo, loNull, okLo := Literal(e.Left)
		hi, hiNull, okHi := Literal(e.Right)
		if !ok || e.Not || !okLo || !okHi || loNull || hiNull {
			return Conds{}
		}
		return Conds{col: Cond{Ranges: []Range{{Lo: lo, Hi: hi}}}}
	}
	return Conds{}
}

func comparison(e *ast.BinaryOperationExpr, match ColumnMatcher) Conds {
	op := e.Op
	col, ok := columnOf(e.L, match)
	valueExpr := e.R
	if !ok {
		if col, ok = columnOf(e.R, match); !ok {
			return Conds{}
		}
		valueExpr = e.L
		// 5 < col is col > 5.
		op = map[opcode.Op]opcode.Op{opcode.EQ: opcode.EQ, opcode.GT: opcode.LT, opcode.GE: opcode.LE, opcode.LT: opcode.GT, opcode.LE: opcode.GE}[op]
	}
	v, null, ok := Literal(valueExpr)
	if !ok {
		return Conds{}
	}
	if null {
		// col = NULL (or < NULL) is never true.
		return Conds{col: Cond{Exact: true}}
	}
	switch op {
	case opcode.EQ:
		return Conds{col: Cond{Exact: true, Values: []string{v}}}
	case opcode.GT, opcode.GE:
		return Conds{col: Cond{Ranges: []Range{{Lo: v}}}}
	default:
		return Conds{col: Cond{Ranges: []Range{{Hi: v, HiExcl: op == opcode.LT}}}}
	}
}

func andConds(a, b Conds) Conds {
	out := Conds{}
	for k, v := range a {
		out[k] = v
	}
	for k, bv := range b {
		av, ok := out[k]
		if !ok {
			out[k] = bv
			continue
		}
		merged := Cond{Ranges: append(append([]Range{}, av.Ranges...), bv.Ranges...)}
		switch {
		case av.Exact && bv.Exact:
			merged.Exact = true
			for _, v := range av.Values {
				for _, w := range bv.Values {
					if v == w {
						merged.Values = appendUnique(merged.Values, v)
					}
				}
			}
		case av.Exact:
			merged.Exact, merged.Values = true, av.Values
		case bv.Exact:
			merged.Exact, merged.Values = true, bv.Values
		}
		out[k] = merged
	}
	return out
}

func orConds(a, b Conds) Conds {
	// Only a column both sides pin to exact values stays bounded; OR of
	// ranges is left open, which keeps every table (never too few).
	out := Conds{}
	for k, av := range a {
		bv, ok := b[k]
		if ok && av.Exact && bv.Exact && len(av.Ranges) == 0 && len(bv.Ranges) == 0 {
			c := Cond{Exact: true, Values: append([]string{}, av.Values...)}
			for _, v := range bv.Values {
				c.Values = appendUnique(c.Values, v)
			}
			out[k] = c
		}
	}
	return out
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func columnOf(e ast.ExprNode, match ColumnMatcher) (string, bool) {
	if p, ok := e.(*ast.ParenthesesExpr); ok {
		return columnOf(p.Expr, match)
	}
	c, ok := e.(*ast.ColumnNameExpr)
	if !ok || !match(c.Name) {
		return "", false
	}
	return c.Name.Name.L, true
}

// Literal returns the canonical text of a constant: numbers as digits, strings
// as their content, so 42 and '42' are the same shard key. ok is false for
// anything that is not a plain constant.
func Literal(e ast.ExprNode) (text string, null, ok bool) {
	switch v := e.(type) {
	case *ast.ParenthesesExpr:
		return Literal(v.Expr)
	case *ast.UnaryOperationExpr:
		if v.Op != opcode.Minus {
			return "", false, false
		}
		t, null, ok := Literal(v.V)
		if !ok || null || strings.HasPrefix(t, "-") {
			return "", false, false
		}
		return "-" + t, false, true
	case *driver.ValueExpr:
		switch x := v.GetValue().(type) {
		case nil:
			return "", true, true
		case int64:
			return strconv.FormatInt(x, 10), false, true
		case uint64:
			return strconv.FormatUint(x, 10), false, true
		case string:
			return x, false, true
		case []byte:
			return string(x), false, true
		case *driver.MyDecimal:
			return x.String(), false, true
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), false, true
		default:
			return fmt.Sprint(x), false, true
		}
	}
	return "", false, false
}
