package planner

import (
	"strings"
	"testing"

	"github.com/shardgate/shardgate/parser"
)

// Inside an ORDER BY expression MariaDB reads a name as a column of the
// FROM clause's tables first, and as a select alias only when they have
// no such column (Item_field::fix_fields): the shards must be sent the
// column, not the aliased field's expression.
func TestUnaliasShadowedByColumn(t *testing.T) {
	pl := newGoldenPlannerFrom(t, goldenRules("merges"))
	tests := []struct {
		name, sql string
		noDefs    bool
		want      string // in every shard's SQL
		not       string
	}{
		{name: "an alias that is no column is its field's expression",
			sql: "SELECT id, product_id * 2 AS p FROM comments ORDER BY p + 1, id LIMIT 5", want: "(`product_id`*2)+1 AS `__sg_0`"},
		{name: "an alias named like a column is the column",
			sql: "SELECT id, -product_id AS product_id FROM comments ORDER BY product_id + 0, id LIMIT 5", want: "`product_id`+0 AS `__sg_0`", not: "(-`product_id`)+0"},
		// In GROUP BY too the table's column wins (find_order_in_list):
		// the shards group by it, and so must the merge.
		{name: "GROUP BY an alias named like a column groups by the column",
			sql: "SELECT body AS id, COUNT(*) FROM comments GROUP BY id", want: "`id` AS `__sg_1`", not: "`body` AS `__sg_1`"},
		{name: "GROUP BY an alias that is no column groups by its field",
			sql: "SELECT body AS b, COUNT(*) FROM comments GROUP BY b", want: "`body` AS `__sg_1`"},
		{name: "the tables' columns unknown: the alias, as before",
			sql: "SELECT id, product_id * 2 AS p FROM comments ORDER BY p + 1, id LIMIT 5", noDefs: true, want: "(`product_id`*2)+1 AS `__sg_0`"},
	}
	// HAVING naming such a name: the shards would read it as the alias
	// (their partial SUM), MariaDB warns it ambiguous: refused.
	stmts, err := parser.New().Parse("SELECT SUM(product_id) AS id, COUNT(*) FROM comments GROUP BY id HAVING id > 5")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Plan(stmts[0], Facts{DB: "shop", Defs: goldenDefs}); err == nil || !strings.Contains(err.Error(), "HAVING naming both") {
		t.Errorf("HAVING on a name both an alias and the GROUP BY column: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stmts, err := parser.New().Parse(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			f := Facts{DB: "shop", Defs: goldenDefs}
			if tt.noDefs {
				f.Defs = nil
			}
			p, err := pl.Plan(stmts[0], f)
			if err != nil {
				t.Fatal(err)
			}
			text := p.String()
			if !strings.Contains(text, tt.want) || (tt.not != "" && strings.Contains(text, tt.not)) {
				t.Errorf("plan:\n%s\nwant %s", text, tt.want)
			}
		})
	}
}
