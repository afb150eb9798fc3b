package parser

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	tidbmysql "github.com/pingcap/tidb/pkg/parser/mysql"
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
	// Exact: the column can only take one of Values (or NULL, when Null
	// is set: col IS NULL). An exact Cond with no values and no Null
	// means no row can match. The values are literals as written: the
	// planner reads them by the column's type (planner/canon.go).
	Exact  bool
	Values []Value
	Null   bool
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
		case opcode.EQ, opcode.GT, opcode.GE, opcode.LT, opcode.LE, opcode.NullEQ:
			return comparison(e, match)
		}
	case *ast.PatternInExpr:
		col, ok := columnOf(e.Expr, match)
		if !ok || e.Not || e.Sel != nil {
			return Conds{}
		}
		c := Cond{Exact: true}
		for _, item := range e.List {
			v, ok := LiteralValue(item)
			if !ok {
				return Conds{}
			}
			if v.Kind != ValNull { // col IN (NULL) is never true
				c.Values = appendUnique(c.Values, v)
			}
		}
		return Conds{col: c}
	case *ast.IsNullExpr:
		col, ok := columnOf(e.Expr, match)
		if !ok || e.Not {
			return Conds{}
		}
		return Conds{col: Cond{Exact: true, Null: true}}
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
		op = map[opcode.Op]opcode.Op{opcode.EQ: opcode.EQ, opcode.NullEQ: opcode.NullEQ, opcode.GT: opcode.LT, opcode.GE: opcode.LE, opcode.LT: opcode.GT, opcode.LE: opcode.GE}[op]
	}
	val, ok := LiteralValue(valueExpr)
	if !ok {
		return Conds{}
	}
	if val.Kind == ValNull {
		// col <=> NULL is col IS NULL; col = NULL (or < NULL) is never
		// true.
		return Conds{col: Cond{Exact: true, Null: op == opcode.NullEQ}}
	}
	v := val.Text
	switch op {
	case opcode.EQ, opcode.NullEQ:
		return Conds{col: Cond{Exact: true, Values: []Value{val}}}
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
			// Either side alone bounds the column. Intersecting them
			// would need their values compared by the column's type (2
			// and '02' are one INT value), which the planner does, not
			// this; the side with fewer values keeps the fewest tables.
			merged.Exact, merged.Values, merged.Null = true, av.Values, av.Null
			if len(bv.Values)+btoi(bv.Null) < len(av.Values)+btoi(av.Null) {
				merged.Values, merged.Null = bv.Values, bv.Null
			}
		case av.Exact:
			merged.Exact, merged.Values, merged.Null = true, av.Values, av.Null
		case bv.Exact:
			merged.Exact, merged.Values, merged.Null = true, bv.Values, bv.Null
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
			c := Cond{Exact: true, Values: append([]Value{}, av.Values...), Null: av.Null || bv.Null}
			for _, v := range bv.Values {
				c.Values = appendUnique(c.Values, v)
			}
			out[k] = c
		}
	}
	return out
}

func appendUnique[T comparable](list []T, v T) []T {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
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

// ValueKind is what sort of constant a literal is, which decides how
// MariaDB converts it to a column's type.
type ValueKind int

const (
	ValNull ValueKind = iota
	// ValInt: an integer literal (Text: optional '-' and digits).
	ValInt
	// ValDecimal: a literal with a point (Text: "2.50", "-0.5").
	ValDecimal
	// ValFloat: a literal with an exponent (Text: Go's shortest form).
	ValFloat
	// ValString: a quoted string (Text: its bytes as sent).
	ValString
	// ValHex: a 0x… or b'…' literal, a number in a numeric context and
	// bytes in a string context (Text: its bytes). X'…' is a ValString
	// of character set binary.
	ValHex
)

// Value is a constant as written: its kind, its text, and for strings the
// character set of its introducer ("" when it has none, so it is in the
// connection's character set).
type Value struct {
	Kind    ValueKind
	Text    string
	Charset string
}

// LiteralValue reads a constant expression (also signed, parenthesised).
// ok is false for anything else.
func LiteralValue(e ast.ExprNode) (Value, bool) {
	switch v := e.(type) {
	case *ast.ParenthesesExpr:
		return LiteralValue(v.Expr)
	case *ast.UnaryOperationExpr:
		if v.Op != opcode.Minus {
			return Value{}, false
		}
		x, ok := LiteralValue(v.V)
		if !ok || strings.HasPrefix(x.Text, "-") {
			return Value{}, false
		}
		switch x.Kind {
		case ValInt, ValDecimal, ValFloat:
			x.Text = "-" + x.Text
			return x, true
		}
		return Value{}, false // -'2', -0x02: expressions, not literals
	case *driver.ValueExpr:
		switch x := v.GetValue().(type) {
		case nil:
			return Value{Kind: ValNull}, true
		case int64:
			return Value{Kind: ValInt, Text: strconv.FormatInt(x, 10)}, true
		case uint64:
			return Value{Kind: ValInt, Text: strconv.FormatUint(x, 10)}, true
		case *driver.MyDecimal:
			t := x.String()
			if strings.ContainsAny(t, ".eE") {
				return Value{Kind: ValDecimal, Text: t}, true
			}
			return Value{Kind: ValInt, Text: t}, true // beyond 64 bits
		case float64:
			return Value{Kind: ValFloat, Text: strconv.FormatFloat(x, 'g', -1, 64)}, true
		case string:
			return Value{Kind: ValString, Text: x, Charset: introducer(v)}, true
		case []byte:
			return Value{Kind: ValString, Text: string(x), Charset: introducer(v)}, true
		case driver.BinaryLiteral:
			if cs := introducer(v); cs != "" {
				// _gbk X'…': a string of that character set.
				return Value{Kind: ValString, Text: string(x), Charset: cs}, true
			}
			if v.Type.GetFlag()&tidbmysql.UnsignedFlag != 0 {
				// X'…' is a binary string (0x… reaches the parser as
				// b'…', see swapIntroducers).
				return Value{Kind: ValString, Text: string(x), Charset: "binary"}, true
			}
			return Value{Kind: ValHex, Text: string(x)}, true
		}
	}
	return Value{}, false
}

// introducer is the character set a literal's introducer names, or "".
func introducer(v *driver.ValueExpr) string {
	if v.Type.GetFlag()&tidbmysql.UnderScoreCharsetFlag == 0 {
		return ""
	}
	cs := strings.ToLower(v.Type.GetCharset())
	if cs == "utf8" {
		cs = "utf8mb3"
	}
	return cs
}
