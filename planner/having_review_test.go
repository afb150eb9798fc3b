package planner

import (
	"testing"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
)

// HAVING over a select field the proxy computes (SUM(a)/COUNT(*)) compares
// the expression's value, as MariaDB's HAVING does, not the field as the
// row holds it, rounded to its column's scale (0.6667 > 0.66667 where
// MariaDB's 0.666666667 is not).
func TestHavingRecomputesProjectedField(t *testing.T) {
	pl := newGoldenPlannerFrom(t, goldenRules("merges"))
	for _, sql := range []string{
		"SELECT user_id, SUM(score)/COUNT(*) FROM comments GROUP BY user_id HAVING SUM(score)/COUNT(*) > 0.66667",
		"SELECT user_id, SUM(score)/COUNT(*) AS r FROM comments GROUP BY user_id HAVING r > 0.66667",
	} {
		stmts, err := parser.New().Parse(sql)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pl.Plan(stmts[0], Facts{DB: "shop", Defs: goldenDefs})
		if err != nil {
			t.Fatal(err)
		}
		var filter *engine.Filter
		var find func(engine.Primitive)
		find = func(n engine.Primitive) {
			if f, ok := n.(*engine.Filter); ok {
				filter = f
			}
			for _, in := range n.Inputs() {
				find(in)
			}
		}
		find(p.Root)
		if filter == nil {
			t.Fatalf("%s: no Filter in\n%s", sql, p.Tree())
		}
		cmp, ok := filter.Expr.(engine.Binary)
		if !ok {
			t.Fatalf("%s: HAVING compiled to %#v", sql, filter.Expr)
		}
		if col, isCol := cmp.L.(engine.Col); isCol && !col.Helper {
			t.Errorf("%s: HAVING reads select field %d as the row holds it, rounded", sql, col.Index)
		}
	}
}
