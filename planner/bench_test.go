package planner

import (
	"testing"
	"time"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
)

func benchPlan(b *testing.B, sql string) {
	r, err := rules.Load("../testdata/rules.plan.yaml")
	if err != nil {
		b.Fatal(err)
	}
	pl := New(r, fixedBuckets{}, time.Now)
	p := parser.New()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		stmts, err := p.Parse(sql)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pl.Plan(stmts[0], Facts{DB: "shop"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePlanPointSelect is the proxy's own work for a point select
// on a sharded table: parse, resolve, prune and render.
func BenchmarkParsePlanPointSelect(b *testing.B) {
	benchPlan(b, "SELECT c FROM comments WHERE product_id = 4242")
}

// BenchmarkParsePlanUnsharded is the same for a table without a rule, where
// the statement text goes through unchanged.
func BenchmarkParsePlanUnsharded(b *testing.B) {
	benchPlan(b, "SELECT c FROM sbtest1 WHERE id = 4242")
}

// BenchmarkBindPointSelect is the plan cache's work for a point select on
// a sharded table whose shape it knows (router/shapecache.go): the text's
// literals bound into the template, the key routed, the text written —
// against BenchmarkParsePlanPointSelect's parse and plan of the same.
func BenchmarkBindPointSelect(b *testing.B) {
	r, err := rules.Load("../testdata/rules.plan.yaml")
	if err != nil {
		b.Fatal(err)
	}
	pl := New(r, fixedBuckets{}, time.Now)
	p := parser.New()
	f := Facts{DB: "shop", Defs: goldenDefs}
	const sql = "SELECT c FROM comments WHERE product_id = 4242"
	stmts, err := p.Parse(sql)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := pl.Plan(stmts[0], f)
	if err != nil {
		b.Fatal(err)
	}
	_, lits, _ := parser.LiteralShapeKey(sql, parser.TextMode{}, nil)
	tmpl := pl.MakePointTemplate(stmts[0], f, plan, lits, func(s string) (*parser.Statement, error) {
		st, err := p.Parse(s)
		if err != nil {
			return nil, err
		}
		return st[0], nil
	})
	if tmpl == nil {
		b.Fatal("no template")
	}
	texts := []string{"4242"}
	var bound engine.Plan
	var route engine.Route
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !pl.Bind(tmpl, texts, f, &bound, &route) {
			b.Fatal("does not bind")
		}
	}
}
