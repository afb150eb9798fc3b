package planner

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// Statements whose subqueries must not run first, or must run first and
// come back as MariaDB would answer them (found by the second adversarial
// review).
func TestSubqueriesFirstReview(t *testing.T) {
	pl := newGoldenPlannerFrom(t, goldenRules("merges"))
	f := Facts{DB: "shop", Defs: goldenDefs}
	marker := &engine.Collected{Columns: []wire.Column{{Name: "n", Type: mysql.MYSQL_TYPE_VAR_STRING, Charset: 45}}, Rows: [][]*string{{ptr("__shardgate_subquery_1__")}}}
	float := &engine.Collected{Columns: []wire.Column{{Name: "f", Type: mysql.MYSQL_TYPE_FLOAT, Charset: 63, Decimals: 31}}, Rows: [][]*string{{ptr("0.1")}}}
	runSubqueryCases(t, pl, f, []subqueryCase{
		// The CTE's query sits where only a subquery node fits: taken
		// for a scalar subquery, its marker panicked the session.
		{name: "a subquery naming the statement's CTE: left alone",
			sql: "WITH v AS (SELECT id FROM products WHERE hot = 1) SELECT id FROM comments WHERE product_id IN (SELECT id FROM v)"},
		{name: "a subquery inside a CTE's query runs first",
			sql:     "WITH c AS (SELECT id, product_id FROM comments WHERE product_id IN (SELECT id FROM products)) SELECT id FROM c",
			subs:    []string{"SELECT `id` FROM `products`"},
			answers: []*engine.Collected{intAnswer("5")},
			want:    "WITH `c` AS (SELECT `id`,`product_id` FROM `comments` WHERE (`product_id` IN (5))) SELECT `id` FROM `c`"},
		{name: "a subquery defining its own CTE runs first",
			sql:     "SELECT id FROM comments WHERE product_id IN (WITH h AS (SELECT id FROM products WHERE hot = 1) SELECT id FROM h)",
			subs:    []string{"WITH `h` AS (SELECT `id` FROM `products` WHERE `hot`=1) SELECT `id` FROM `h`"},
			answers: []*engine.Collected{intAnswer("5")},
			want:    "SELECT `id` FROM `comments` WHERE (`product_id` IN (5))"},
		// MariaDB answers a row comparison; as a scalar it was 1241.
		{name: "a row compared with a row subquery: left alone",
			sql: "SELECT id FROM comments WHERE (product_id, id) = (SELECT id, id FROM products WHERE hot = 1)"},
		// MariaDB refuses LIMIT in an IN subquery (1235).
		{name: "IN over a subquery with LIMIT: left alone",
			sql: "SELECT id FROM comments WHERE product_id IN (SELECT id FROM products LIMIT 2)"},
		{name: "NOT IN over a UNION with LIMIT: left alone",
			sql: "SELECT id FROM comments WHERE product_id NOT IN (SELECT id FROM products UNION SELECT id FROM regions LIMIT 2)"},
		{name: "a scalar subquery with LIMIT runs first",
			sql:     "SELECT id FROM comments WHERE product_id = (SELECT id FROM products ORDER BY id LIMIT 1)",
			subs:    []string{"SELECT `id` FROM `products` ORDER BY `id` LIMIT 1"},
			answers: []*engine.Collected{intAnswer("4")},
			want:    "SELECT `id` FROM `comments` WHERE `product_id`=(4)"},
		{name: "ORDER BY a subquery: left alone (its integer would be a position)",
			sql: "SELECT id, product_id FROM comments ORDER BY (SELECT COUNT(*) FROM products), id"},
		{name: "GROUP BY a subquery: left alone",
			sql: "SELECT COUNT(*) FROM comments GROUP BY (SELECT MIN(id) FROM products)"},
		{name: "ORDER BY an expression with a subquery runs it first",
			sql:     "SELECT id FROM comments ORDER BY id + (SELECT COUNT(*) FROM products)",
			subs:    []string{"SELECT COUNT(1) FROM `products`"},
			answers: []*engine.Collected{intAnswer("2")},
			want:    "SELECT `id` FROM `comments` ORDER BY `id`+(2)"},
		// Checked on ref: the rewritten statement's COUNT(*) came back
		// named COUNT(1).
		{name: "computed columns keep their names",
			sql:     "SELECT COUNT(*), MAX(id) + 1, id FROM comments WHERE product_id IN (SELECT id FROM products)",
			subs:    []string{"SELECT `id` FROM `products`"},
			answers: []*engine.Collected{intAnswer("3")},
			want:    "SELECT COUNT(1) AS `COUNT(*)`,MAX(`id`)+1 AS `MAX(id) + 1`,`id` FROM `comments` WHERE (`product_id` IN (3))"},
		// A value holding the next marker's spelling stays a value.
		{name: "a value spelled like another subquery's marker",
			sql:     "SELECT id FROM comments WHERE body IN (SELECT name FROM products) AND EXISTS (SELECT 1 FROM regions)",
			subs:    []string{"SELECT `name` FROM `products`", "SELECT 1 FROM `regions`"},
			answers: []*engine.Collected{marker, intAnswer("1")},
			want:    "SELECT `id` FROM `comments` WHERE (`body` IN ('__shardgate_subquery_1__')) AND 1"},
		{name: "FLOAT values: refused",
			sql:     "SELECT id FROM comments WHERE score IN (SELECT weight FROM products)",
			subs:    []string{"SELECT `weight` FROM `products`"},
			answers: []*engine.Collected{float},
			code:    mysql.ER_NOT_SUPPORTED_YET},
	})
}

// A read the client sent to the primary reads its subqueries there too,
// and is itself still sent there once rewritten.
func TestSubqueriesFirstKeepHint(t *testing.T) {
	pl := newGoldenPlannerFrom(t, goldenRules("merges"))
	f := Facts{DB: "shop", Defs: goldenDefs}
	sql := "/* shardgate:primary */ SELECT id FROM comments WHERE product_id IN (SELECT id FROM products WHERE hot = 1)"
	stmts, err := parser.New().Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := pl.SubqueriesFirst(stmts[0].Node, f)
	if err != nil || rw == nil {
		t.Fatalf("%v %v", rw, err)
	}
	rw.KeepHint(stmts[0].SQL)
	p, err := pl.Plan(rw.Subs[0].Stmt, f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Effects.Hint != "primary" {
		t.Errorf("the subquery's hint is %q, want primary", p.Effects.Hint)
	}
	got, err := rw.SQL([]*engine.Collected{intAnswer("3")})
	if err != nil {
		t.Fatal(err)
	}
	again, err := parser.New().Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if p, err = pl.Plan(again[0], f); err != nil {
		t.Fatal(err)
	}
	if p.Effects.Hint != "primary" {
		t.Errorf("the rewritten statement's hint is %q, want primary (%s)", p.Effects.Hint, got)
	}
}

// A subquery failing alone with 1054 for a column no table around it has
// is misspelt, not correlated: MariaDB's own 1054 is the answer, where
// one the statement's tables may have is refused as a correlation.
func TestSubqueriesFirstOuterMayHave(t *testing.T) {
	pl := newGoldenPlannerFrom(t, goldenRules("merges"))
	stmts, err := parser.New().Parse("SELECT id FROM comments WHERE product_id IN (SELECT idd FROM products)")
	if err != nil {
		t.Fatal(err)
	}
	rw, err := pl.SubqueriesFirst(stmts[0].Node, Facts{DB: "shop", Defs: goldenDefs})
	if err != nil || rw == nil {
		t.Fatalf("%v %v", rw, err)
	}
	if rw.OuterMayHave("idd") {
		t.Error("comments has no column idd, yet it may be a correlation")
	}
	if !rw.OuterMayHave("product_id") || !rw.OuterMayHave("BODY") {
		t.Error("comments' own columns are not taken for correlations")
	}
	// SubqueriesFirst rewrites the tree it is given: a fresh one.
	if stmts, err = parser.New().Parse("SELECT id FROM comments WHERE product_id IN (SELECT idd FROM products)"); err != nil {
		t.Fatal(err)
	}
	rw, err = pl.SubqueriesFirst(stmts[0].Node, Facts{DB: "shop"})
	if err != nil || rw == nil {
		t.Fatalf("%v %v", rw, err)
	}
	if !rw.OuterMayHave("idd") {
		t.Error("without definitions any column may be the statement's")
	}
}
