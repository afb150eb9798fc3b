package parser

import "testing"

// The Renamer writes a logical table's physical name wherever the
// statement names the table: in table references, in columns qualified
// by its name, and in an alias equal to its name (`items AS items`),
// whose qualified columns would otherwise name a table the physical
// statement does not have.
func TestRenamer(t *testing.T) {
	for _, c := range []struct{ sql, want string }{
		{"SELECT items.id FROM items WHERE items.qty > 1",
			"SELECT `items_3`.`id` FROM `items_3` WHERE `items_3`.`qty`>1"},
		{"SELECT items.id FROM items AS items WHERE items.product_id IN (4, 9)",
			"SELECT `items_3`.`id` FROM `items_3` AS `items_3` WHERE `items_3`.`product_id` IN (4,9)"},
		{"SELECT i.id FROM items AS i WHERE i.qty > 1",
			"SELECT `i`.`id` FROM `items_3` AS `i` WHERE `i`.`qty`>1"},
		{"SELECT Items.id FROM shop.items AS ITEMS JOIN other o ON o.id = Items.id",
			"SELECT `items_3`.`id` FROM `shop`.`items_3` AS `items_3` JOIN `other` AS `o` ON `o`.`id`=`items_3`.`id`"},
		// Another schema's table of the same name is not this one.
		{"SELECT items.id FROM elsewhere.items AS items",
			"SELECT `items`.`id` FROM `elsewhere`.`items` AS `items`"},
	} {
		stmts, err := New().Parse(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		r := NewRenamer(stmts[0].Node, "shop", "shop", []string{"items"})
		for round := 0; round < 2; round++ { // rendering leaves the tree as it was
			got, err := r.RenderIn(map[string]string{"items": "items_3"}, TextMode{})
			if err != nil || got != c.want {
				t.Errorf("%s (round %d):\n got %s (%v)\nwant %s", c.sql, round, got, err, c.want)
			}
		}
	}
}
