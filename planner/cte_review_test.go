package planner

import (
	"strings"
	"testing"

	"github.com/shardgate/shardgate/parser"
)

// A CTE named like the sharded table it filters reads that table in its
// own query (MariaDB sees no CTE of that name there without RECURSIVE):
// the statement reads the sharded table and is never sent whole to the
// unsharded cluster, where the table is not.
func TestCTEShadowingItsTable(t *testing.T) {
	pl := newGoldenPlannerFrom(t, goldenRules("merges"))
	stmts, err := parser.New().Parse("WITH comments AS (SELECT * FROM comments WHERE product_id = 1) SELECT * FROM comments")
	if err != nil {
		t.Fatal(err)
	}
	p, err := pl.Plan(stmts[0], Facts{DB: "shop", Defs: goldenDefs})
	if err == nil && strings.Contains(p.String(), "main:") {
		t.Errorf("sent to the unsharded cluster:\n%s", p.String())
	}
}
