package planner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/tabledef"
)

// TestDerivedColumns: each column of a derived table over shards is
// matched to what the definitions tell: a plain text/ENUM/SET column its
// definition, an expression the collations of the columns it may return,
// and nothing (nil) where fields and result columns cannot be matched.
func TestDerivedColumns(t *testing.T) {
	pl := newGoldenPlannerFrom(t, goldenRules("merges"))
	defs := tabledef.NewCache()
	defs.Put("shop", "comments", defs.Generation("shop", "comments"), []tabledef.Column{
		{Name: "id", DataType: "bigint", ColumnType: "bigint(20)"},
		{Name: "product_id", DataType: "int", ColumnType: "int(11)"},
		{Name: "body", DataType: "varchar", ColumnType: "varchar(10)", Charset: "utf8mb4", Collation: "utf8mb4_bin"},
		{Name: "e", DataType: "enum", ColumnType: "enum('z','a')", Charset: "utf8mb4", Collation: "utf8mb4_general_ci"},
		{Name: "l", DataType: "varchar", ColumnType: "varchar(5)", Charset: "latin1", Collation: "latin1_swedish_ci"},
	})
	f := Facts{DB: "shop", Defs: defs}
	show := func(cs []parser.ColumnSource) string {
		if cs == nil {
			return "nil"
		}
		var out []string
		for _, c := range cs {
			switch {
			case c.Type != "":
				out = append(out, c.Type+" "+c.Collation)
			case len(c.Collations) > 0:
				out = append(out, fmt.Sprintf("%s derives=%v", strings.Join(c.Collations, "+"), c.Derives))
			default:
				out = append(out, "-")
			}
		}
		return strings.Join(out, " | ")
	}
	for _, c := range []struct{ sql, want string }{
		{"SELECT COUNT(*) FROM (SELECT body, e AS x, id FROM comments) d",
			"varchar(10) utf8mb4_bin | enum('z','a') utf8mb4_general_ci | -"},
		{"SELECT COUNT(*) FROM (SELECT c.body FROM comments c) d", "varchar(10) utf8mb4_bin"},
		{"SELECT COUNT(*) FROM (SELECT * FROM comments) d",
			"- | - | varchar(10) utf8mb4_bin | enum('z','a') utf8mb4_general_ci | varchar(5) latin1_swedish_ci"},
		{"SELECT COUNT(*) FROM (SELECT UPPER(body), CONCAT(body, 'x', id), MAX(l) FROM comments GROUP BY id) d",
			"utf8mb4_bin derives=true | utf8mb4_bin derives=true | latin1_swedish_ci derives=true"},
		// Only the values IF and CASE may return count.
		{"SELECT COUNT(*) FROM (SELECT IF(body = 'a', 'y', 'n'), CASE WHEN l = 'a' THEN body END FROM comments) d",
			"- | utf8mb4_bin derives=true"},
		{"SELECT COUNT(*) FROM (SELECT CONCAT(body, l), body COLLATE utf8mb4_general_ci, CONVERT(body USING latin1), CAST(body AS CHAR) FROM comments) d",
			"utf8mb4_bin+latin1_swedish_ci derives=true | utf8mb4_general_ci derives=true | convert derives=false | -"},
		// Not matched one for one.
		{"SELECT COUNT(*) FROM (SELECT body FROM comments UNION ALL SELECT body FROM comments) d", "nil"},
		{"SELECT COUNT(*) FROM (SELECT * FROM comments a JOIN comments b USING (id)) d", "nil"},
		// A column of a table whose definition is not known.
		{"SELECT COUNT(*) FROM (SELECT body FROM comments, reviews) d", "-"},
		{"SELECT COUNT(*) FROM (SELECT c.body FROM comments c, reviews r) d", "varchar(10) utf8mb4_bin"},
	} {
		stmts, err := parser.New().Parse(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		rw, err := pl.DerivedFirst(stmts[0].Node, f)
		if err != nil || rw == nil || len(rw.Tables) != 1 {
			t.Fatalf("%s: %v %v", c.sql, rw, err)
		}
		if got := show(rw.Tables[0].Columns); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.sql, got, c.want)
		}
	}
}
