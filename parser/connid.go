package parser

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// SessionValues are values the proxy knows better than any one backend
// connection: the client's connection id, and whether a transaction is
// open while its BEGIN has not reached a backend yet.
type SessionValues struct {
	ConnectionID uint64
	// InTransaction, when set, answers @@in_transaction.
	InTransaction *int
	// WarningCount and ErrorCount, when set, answer @@warning_count and
	// @@error_count.
	WarningCount, ErrorCount *int
}

// WithSessionValues returns the statement with CONNECTION_ID() (and, when
// v says, @@in_transaction) replaced by the session's values, rendered for
// mode m. The statement is parsed again, so a cached statement is never
// changed.
func (p *Parser) WithSessionValues(st *Statement, v SessionValues, m TextMode) (*Statement, error) {
	stmts, err := p.Parse(st.SQL)
	if err != nil {
		return nil, err
	}
	n := stmts[0].Node
	r := &sessionValueReplacer{v: v}
	if sel, ok := n.(*ast.SelectStmt); ok && sel.Fields != nil {
		// The result column keeps the name MySQL gives it: its text.
		for _, f := range sel.Fields.Fields {
			if f.Expr != nil && f.AsName.O == "" && r.replaces(f.Expr) {
				f.AsName = ast.NewCIStr(f.Text())
			}
		}
	}
	n.Accept(r)
	sql, err := RestoreIn(n, m)
	if err != nil {
		return nil, err
	}
	out := Classify(n, sql)
	out.AssignedUserVars = st.AssignedUserVars // SELECT ... INTO @v, read without the INTO
	return out, nil
}

type sessionValueReplacer struct{ v SessionValues }

// value is what replaces n, nil when nothing does.
func (r *sessionValueReplacer) value(n ast.Node) ast.ExprNode {
	switch x := n.(type) {
	case *ast.FuncCallExpr:
		if x.FnName.L == "connection_id" {
			return ast.NewValueExpr(r.v.ConnectionID, "", "")
		}
	case *ast.VariableExpr:
		if !x.IsSystem || x.IsGlobal {
			return nil
		}
		for name, v := range map[string]*int{"in_transaction": r.v.InTransaction, "warning_count": r.v.WarningCount, "error_count": r.v.ErrorCount} {
			if v != nil && strings.EqualFold(x.Name, name) {
				return ast.NewValueExpr(int64(*v), "", "")
			}
		}
	}
	return nil
}

func (r *sessionValueReplacer) replaces(e ast.Node) bool {
	found := false
	e.Accept(&collector{fn: func(n ast.Node) { found = found || r.value(n) != nil }})
	return found
}

func (r *sessionValueReplacer) Enter(n ast.Node) (ast.Node, bool) { return n, false }

func (r *sessionValueReplacer) Leave(n ast.Node) (ast.Node, bool) {
	if v := r.value(n); v != nil {
		return v, true
	}
	return n, true
}
