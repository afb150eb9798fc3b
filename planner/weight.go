package planner

import (
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
)

// Rows from several shards are compared by a hidden column holding each
// sort, group or distinct key's weight. MariaDB's WEIGHT_STRING keeps a
// VARCHAR's trailing spaces ('a ' weighs 0x00410020 under
// utf8mb4_general_ci, 'a' 0x0041) although =, GROUP BY, DISTINCT and ORDER
// BY ignore them under a PAD SPACE collation (every collation but the NO
// PAD ones and binary strings), so the weight is taken of the value with
// its trailing spaces removed there; NO PAD collations and binary strings
// keep them, as their comparisons do. COLLATION() is a constant for the
// expression, so the server picks one branch once.

// weightOf is the weight expression of expr.
func weightOf(expr ast.ExprNode) ast.ExprNode {
	call := func(name string, args ...ast.ExprNode) ast.ExprNode {
		return &ast.FuncCallExpr{FnName: ast.NewCIStr(name), Args: args}
	}
	noPad := &ast.BinaryOperationExpr{Op: opcode.LogicOr,
		L: &ast.BinaryOperationExpr{Op: opcode.EQ, L: call("COLLATION", expr), R: ast.NewValueExpr("binary", "", "")},
		R: &ast.PatternLikeOrIlikeExpr{Expr: call("COLLATION", expr), Pattern: ast.NewValueExpr("%nopad%", "", ""), Escape: '\\', IsLike: true},
	}
	return call("IF", noPad, call("WEIGHT_STRING", expr), call("WEIGHT_STRING", call("RTRIM", expr)))
}

// weightText is weightOf for an expression already rendered as SQL text.
func weightText(t string) string {
	return "IF(COLLATION(" + t + ") = 'binary' OR COLLATION(" + t + ") LIKE '%nopad%', WEIGHT_STRING(" + t + "), WEIGHT_STRING(RTRIM(" + t + ")))"
}

// weightArg is the expression e is the weight of (weightOf's, or a plain
// WEIGHT_STRING's), when it is one.
func weightArg(e ast.ExprNode) (ast.ExprNode, bool) {
	f, ok := e.(*ast.FuncCallExpr)
	if !ok {
		return nil, false
	}
	if f.FnName.L == "if" && len(f.Args) == 3 {
		f, ok = f.Args[1].(*ast.FuncCallExpr)
		if !ok {
			return nil, false
		}
	}
	if f.FnName.L == "weight_string" && len(f.Args) == 1 {
		return f.Args[0], true
	}
	return nil, false
}
