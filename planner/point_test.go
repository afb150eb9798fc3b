package planner

import (
	"fmt"
	"testing"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
)

// TestPointTemplates checks the property the plan cache's sharded entries
// rest on: a point template made from one statement, bound to the literals
// of another text of the same shape, gives exactly the plan the planner
// makes when it parses and plans that text — for every key (each of the
// table's physical tables is reached) and other literals changed too, under
// the sql_modes that change how text reads. Statements whose plan depends
// on their values otherwise get no template.
func TestPointTemplates(t *testing.T) {
	pl := newGoldenPlannerFrom(t, goldenRules("unsharded"))
	p := parser.New()
	modes := []parser.TextMode{{}, {AnsiQuotes: true, NoBackslashEscapes: true}}
	templated := []string{
		"SELECT body FROM comments WHERE product_id = %d",
		"SELECT id, body FROM comments WHERE product_id = %d AND id > 7 ORDER BY id LIMIT 3",
		"SELECT COUNT(*), MAX(id) FROM comments WHERE body LIKE 'a%%' AND product_id = %d",
		"SELECT body FROM comments c WHERE c.product_id = %d AND c.body <> 'it''s'",
		"SELECT body FROM comments WHERE product_id IN (%d) FOR UPDATE",
		"SELECT id, body FROM comments WHERE id * 2.5 > 1.5 AND id BETWEEN 3 AND 9 AND product_id = %d",
		"UPDATE comments SET body = 'x', id = id + 1 WHERE product_id = %d AND id = 4",
		"DELETE FROM comments WHERE product_id = %d AND id < 100",
		"SELECT `body` FROM `comments` WHERE `product_id` = %d",
	}
	refused := []string{
		"SELECT body FROM comments WHERE id = %d",                           // no key: every table
		"SELECT body FROM comments WHERE product_id IN (%d, 12)",            // two keys
		"UPDATE comments SET product_id = 5 WHERE product_id = %d",          // moves rows by value
		"SELECT body FROM comments WHERE product_id = '%d'",                 // a string key
		"INSERT INTO comments (id, product_id, body) VALUES (1, %d, 'x')",   // inserts are not kept
		"SELECT body FROM comments WHERE product_id = %d OR product_id = 3", // two keys
		"SELECT * FROM orders WHERE id = %d",                                // not sharded
		// A literal the planner writes into a column's alias too: a
		// client's text there could close the quoted name.
		"SELECT CONCAT(body, 'x') FROM comments WHERE product_id = %d",
		"SELECT id * 2.5, body FROM comments WHERE product_id = %d",
	}
	f := func(m parser.TextMode) Facts { return Facts{DB: "shop", Defs: goldenDefs, Text: m} }
	reparse := func(m parser.TextMode) func(string) (*parser.Statement, error) {
		return func(text string) (*parser.Statement, error) {
			p.SetMode(m)
			stmts, err := p.Parse(text)
			if err != nil {
				return nil, err
			}
			return stmts[0], nil
		}
	}
	makeTemplate := func(m parser.TextMode, sql string) (*PointTemplate, []parser.TextLiteral) {
		st, err := reparse(m)(sql)
		if err != nil {
			t.Fatalf("%q: %v", sql, err)
		}
		plan, err := pl.Plan(st, f(m))
		if err != nil {
			t.Fatalf("%q: %v", sql, err)
		}
		_, lits, ok := parser.LiteralShapeKey(sql, m, nil)
		if !ok {
			t.Fatalf("%q has no shape", sql)
		}
		return pl.MakePointTemplate(st, f(m), plan, lits, reparse(m)), lits
	}
	for _, m := range modes {
		for _, shape := range templated {
			tmpl, _ := makeTemplate(m, fmt.Sprintf(shape, 41))
			if tmpl == nil {
				t.Errorf("mode %+v: no template for %q", m, shape)
				continue
			}
			tables := map[string]bool{}
			for key := 0; key < 200; key++ {
				text := fmt.Sprintf(shape, key)
				st, err := reparse(m)(text)
				if err != nil {
					t.Fatal(err)
				}
				want, err := pl.Plan(st, f(m))
				if err != nil {
					t.Fatal(err)
				}
				_, lits, _ := parser.LiteralShapeKey(text, m, nil)
				texts := make([]string, len(lits))
				for i, l := range lits {
					texts[i] = text[l.Start:l.End]
				}
				var got engine.Plan
				var route engine.Route
				if !pl.Bind(tmpl, texts, f(m), &got, &route) {
					t.Fatalf("%q: the template does not bind", text)
				}
				wr := want.Root.(*engine.Route)
				if fmt.Sprint(*wr) != fmt.Sprint(route) || want.Read != got.Read || fmt.Sprint(want.Effects) != fmt.Sprint(got.Effects) {
					t.Fatalf("mode %+v, %q:\nbound   %+v %+v\nplanned %+v %+v", m, text, route, got.Effects, *wr, want.Effects)
				}
				tables[route.Tables[0]] = true
			}
			if len(tables) != 8 {
				t.Errorf("%q: 200 keys reached %d tables, want all 8", shape, len(tables))
			}
		}
		for _, shape := range refused {
			st, err := reparse(m)(fmt.Sprintf(shape, 41))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := pl.Plan(st, f(m))
			if err != nil {
				continue
			}
			_, lits, _ := parser.LiteralShapeKey(st.SQL, m, nil)
			if tmpl := pl.MakePointTemplate(st, f(m), plan, lits, reparse(m)); tmpl != nil {
				t.Errorf("mode %+v: %q got a template: %s", m, shape, tmpl.Describe())
			}
		}
	}
}
