package router

import (
	"container/heap"
	"fmt"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// BenchmarkParsePlanPointSelect is the proxy's own work for a point select
// on a sharded table: parse, resolve, prune and render.
func BenchmarkParsePlanPointSelect(b *testing.B) {
	r, err := rules.Load("../testdata/rules.plan.yaml")
	if err != nil {
		b.Fatal(err)
	}
	rt := New(r)
	pl := newPlanner(r, fixedBuckets{}, time.Now)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		stmts, err := rt.parse("SELECT c FROM comments WHERE product_id = 4242")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pl.plan(stmts[0], "shop"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePlanUnsharded is the same for a table without a rule, where
// the statement text goes through unchanged.
func BenchmarkParsePlanUnsharded(b *testing.B) {
	r, err := rules.Load("../testdata/rules.plan.yaml")
	if err != nil {
		b.Fatal(err)
	}
	rt := New(r)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		stmts, err := rt.parse("SELECT c FROM sbtest1 WHERE id = 4242")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rt.planner.plan(stmts[0], "shop"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKWayMerge merges 16 sorted shard streams of rows keyed by a
// string (compared by weight string) and an integer.
func BenchmarkKWayMerge(b *testing.B) {
	spec := &MergeSpec{Hidden: 4, Keys: []SortKey{{Value: 0, Weight: 1}, {Value: 2, Weight: 3}}, Count: -1}
	var header [][]byte
	for i, t := range []byte{mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_BLOB} {
		header = append(header, wire.AppendColumn(nil, wire.Column{Name: fmt.Sprint("c", i), Type: t, Charset: 45}))
	}
	m, err := newMerger(spec, header)
	if err != nil {
		b.Fatal(err)
	}
	const shards, perShard = 16, 1000
	streams := make([][]*mergeRow, shards)
	for s := range streams {
		for i := 0; i < perShard; i++ {
			k := fmt.Sprintf("key%06d", i*shards+s)
			var row []byte
			for _, v := range []string{k, fmt.Sprint(i), k, k, fmt.Sprint(i), fmt.Sprint(i)} {
				row = wire.AppendTextValue(row, []byte(v), false)
			}
			r, _ := m.parse(row, s)
			streams[s] = append(streams[s], r)
		}
	}
	b.ResetTimer()
	b.ReportAllocs()
	for n := 0; n < b.N; n++ {
		pos := make([]int, shards)
		h := &rowHeap{m: m}
		for s := range streams {
			h.rows = append(h.rows, streams[s][0])
			pos[s] = 1
		}
		heap.Init(h)
		out := 0
		for h.Len() > 0 {
			r := h.rows[0]
			if pos[r.shard] < perShard {
				h.rows[0] = streams[r.shard][pos[r.shard]]
				pos[r.shard]++
				heap.Fix(h, 0)
			} else {
				heap.Pop(h)
			}
			out++
		}
		if out != shards*perShard {
			b.Fatal(out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*shards*perShard), "ns/row")
}
