package planner

import (
	"sort"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
)

// TestImpliedByOr: an OR of conjunctions implies the conjuncts every
// branch has, and per table the OR of each branch's conditions on that
// table alone, only when every branch has one (a branch without leaves
// the table's rows unconstrained).
func TestImpliedByOr(t *testing.T) {
	for _, c := range []struct {
		where  string
		common []string
		per    []string // "table: condition", sorted
	}{
		{
			where:  "(a.k = b.k AND a.x = 1 AND b.y = 'p') OR (a.k = b.k AND a.x = 2) OR (b.k = a.k AND a.x > 5 AND b.y LIKE 'q%')",
			common: []string{"`a`.`k`=`b`.`k`"}, // b.k = a.k is the same
			per:    []string{"0: (`a`.`x`=1) OR (`a`.`x`=2) OR (`a`.`x`>5)"},
		},
		{
			where:  "(a.k = b.k AND a.x = 1 AND b.y = 'p') OR (a.k = b.k AND b.y = 'q' AND a.x = 2)",
			common: []string{"`a`.`k`=`b`.`k`"},
			per:    []string{"0: (`a`.`x`=1) OR (`a`.`x`=2)", "1: (`b`.`y`='p') OR (`b`.`y`='q')"},
		},
		{
			where: "a.x = b.y OR a.x = 1",
		},
		{
			where: "a.x = 1 AND b.y = 2", // not an OR
		},
	} {
		p := parser.New()
		st, err := p.Parse("SELECT 1 FROM a, b WHERE " + c.where)
		if err != nil {
			t.Fatal(err)
		}
		where := st[0].Node.(*ast.SelectStmt).Where
		mask := func(e ast.Node) uint64 {
			var m uint64
			e.Accept(&visitFn{fn: func(x ast.Node) bool {
				if col, ok := x.(*ast.ColumnNameExpr); ok {
					m |= 1 << (col.Name.Table.L[0] - 'a')
				}
				return true
			}})
			return m
		}
		common, per := impliedByOr(where, mask)
		var gotCommon, gotPer []string
		for _, e := range common {
			s, _ := parser.RestoreIn(e, parser.TextMode{})
			gotCommon = append(gotCommon, s)
		}
		for tb, e := range per {
			s, _ := parser.RestoreIn(e, parser.TextMode{})
			gotPer = append(gotPer, string(rune('0'+tb))+": "+s)
		}
		sort.Strings(gotPer)
		if strings.Join(gotCommon, "|") != strings.Join(c.common, "|") || strings.Join(gotPer, "|") != strings.Join(c.per, "|") {
			t.Errorf("%s:\ncommon %q, want %q\nper table %q, want %q", c.where, gotCommon, c.common, gotPer, c.per)
		}
	}
}
