package parser

import (
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// WithConnectionID returns the statement with every CONNECTION_ID() call
// replaced by id, rendered for mode m. The statement is parsed again, so a
// cached statement is never changed.
func (p *Parser) WithConnectionID(st *Statement, id uint64, m TextMode) (*Statement, error) {
	stmts, err := p.Parse(st.SQL)
	if err != nil {
		return nil, err
	}
	n := stmts[0].Node
	if sel, ok := n.(*ast.SelectStmt); ok && sel.Fields != nil {
		// The result column keeps the name MySQL gives it: its text.
		for _, f := range sel.Fields.Fields {
			if f.Expr != nil && f.AsName.O == "" && callsConnectionID(f.Expr) {
				f.AsName = ast.NewCIStr(f.Text())
			}
		}
	}
	n.Accept(&connIDReplacer{id: id})
	sql, err := RestoreIn(n, m)
	if err != nil {
		return nil, err
	}
	out := Classify(n, sql)
	out.AssignedUserVars = st.AssignedUserVars // SELECT ... INTO @v, read without the INTO
	return out, nil
}

func callsConnectionID(e ast.Node) bool {
	found := false
	e.Accept(&collector{fn: func(n ast.Node) {
		if f, ok := n.(*ast.FuncCallExpr); ok && f.FnName.L == "connection_id" {
			found = true
		}
	}})
	return found
}

type connIDReplacer struct{ id uint64 }

func (r *connIDReplacer) Enter(n ast.Node) (ast.Node, bool) { return n, false }

func (r *connIDReplacer) Leave(n ast.Node) (ast.Node, bool) {
	if f, ok := n.(*ast.FuncCallExpr); ok && f.FnName.L == "connection_id" {
		return ast.NewValueExpr(r.id, "", ""), true
	}
	return n, true
}
