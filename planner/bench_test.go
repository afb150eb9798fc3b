package planner

import (
	"testing"
	"time"

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
