package engine

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/wire"
)

// groupShards is what the shards of GROUP BY k ORDER BY COUNT(*) return:
// each shard every group of n, with partial aggregates (groupCols).
func groupShards(shards, n int) [][]vals {
	out := make([][]vals, shards)
	for s := range out {
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("product-%07d", i)
			out[s] = append(out[s], grow(k, strconv.Itoa(1+i%7), "12.50", "25.00", "2", "name-"+strconv.Itoa(s), strconv.Itoa(i*s)))
		}
	}
	return out
}

// Row.Memory is what the heap really holds for a row, checked against
// runtime.MemStats: rows as they come from a backend and are split into
// values, and groups merged by OrderedAggregate (what MemorySort holds for
// GROUP BY … ORDER BY COUNT(*)), within 5% of the heap's growth (measured:
// exact for the first, 2.4% over for the second, whose one-byte aggregate
// texts the allocator packs tighter than their size class).
func TestRowMemoryMatchesHeap(t *testing.T) {
	const n = 20000
	keys := []SortKey{{Value: 0, Weight: 1}}
	for _, tc := range []struct {
		name string
		src  func(vc *fakeCursor) RowSource
	}{
		{"backend rows split into values", func(vc *fakeCursor) RowSource {
			return &MergeSort{Routes: routes(vc, rs(groupCols, groupShards(1, n)[0]...)), Keys: keys, Hidden: 10}
		}},
		{"groups merged from two shards", func(vc *fakeCursor) RowSource {
			in := groupShards(2, n)
			return &OrderedAggregate{Input: &MergeSort{Routes: routes(vc, rs(groupCols, in[0]...), rs(groupCols, in[1]...)), Keys: keys, Hidden: 10},
				Group: true, Keys: keys, Aggs: groupAggs, Hidden: 10}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc := newCursor(t)
			src := tc.src(vc)
			for _, q := range vc.responses {
				for _, r := range q {
					r.packets() // the canned answers exist before the measurement
				}
			}
			held := make([]*Row, 0, n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			rows, err := src.Open(vc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rows.Header(); err != nil {
				t.Fatal(err)
			}
			for {
				r, err := rows.Next()
				if err != nil {
					t.Fatal(err)
				}
				if r == nil {
					break
				}
				held = append(held, r)
			}
			rows.Close(nil)
			runtime.GC()
			runtime.ReadMemStats(&after)
			var accounted int64
			for _, r := range held {
				accounted += r.Memory()
			}
			grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("%d rows: heap grew %d bytes (%d a row), Row.Memory says %d (%d a row)", len(held), grown, grown/int64(len(held)), accounted, accounted/int64(len(held)))
			if d := grown - accounted; d > accounted*5/100 || d < -accounted*5/100 {
				t.Errorf("heap grew %d bytes for %d rows, accounted %d: off by %.1f%%", grown, len(held), accounted, 100*float64(d)/float64(accounted))
			}
			// The canned answers stay alive too: they were there before.
			runtime.KeepAlive(held)
			runtime.KeepAlive(vc)
		})
	}
}

// MemorySort reserves every row it holds from the statement's account:
// with exactly what it needs it sorts, with a byte less it fails with
// 1038 naming statement_memory_limit, the shards' queries abandoned; and
// it gives the rows back as they go out to the client.
func TestMemorySortAccounts(t *testing.T) {
	keys := []MemorySortKey{{Expr: Col{Index: 1}, Desc: true}}
	in := groupShards(2, 500)
	sorter := func(vc *fakeCursor) *MemorySort {
		k := []SortKey{{Value: 0, Weight: 1}}
		agg := &OrderedAggregate{Input: &MergeSort{Routes: routes(vc, rs(groupCols, in[0]...), rs(groupCols, in[1]...)), Keys: k, Hidden: 10},
			Group: true, Keys: k, Aggs: groupAggs, Hidden: 10}
		return &MemorySort{Input: agg, Keys: keys, Hidden: 10}
	}
	// What the sort needs: measured with a large budget.
	vc := newCursor(t)
	budget := memory.NewBudget(1<<30, 1<<30, 1<<30)
	vc.mem = budget.Statement(nil)
	w := &heldWriter{acct: vc.mem}
	wantComplete(t, vc, w.recWriter(), sorter(vc).Execute(vc, w))
	need := budget.Peak()
	if need < 500*300 {
		t.Fatalf("500 merged groups reserved %d bytes: too little to be their memory", need)
	}
	// Given back row by row: the account shrank with every row written.
	if len(w.used) != 500 || w.used[0] >= need || w.used[499] >= w.used[0] {
		t.Fatalf("account while writing rows: first %d, last %d of %d rows (reserved %d)", w.used[0], w.used[len(w.used)-1], len(w.used), need)
	}

	t.Run("exactly enough", func(t *testing.T) {
		vc := newCursor(t).withMemory(need)
		w := &recWriter{}
		got := wantComplete(t, vc, w, sorter(vc).Execute(vc, w))
		if len(got.rows) != 500 || got.rows[0][1] != "14" || got.rows[499][1] != "2" {
			t.Fatalf("%d rows, first %v", len(got.rows), got.rows[0])
		}
	})
	t.Run("a byte less", func(t *testing.T) {
		vc := newCursor(t).withMemory(need - 1)
		w := &recWriter{}
		err := sorter(vc).Execute(vc, w)
		wantFailed(t, vc, w, err)
		// The message names the limit and the need it met: at least what
		// the sort held plus the row it asked for, here the whole need.
		wantCode(t, err, mysql.ER_OUT_OF_SORTMEMORY, "statement_memory_limit ("+memory.Format(need-1)+")",
			"needs at least "+memory.Format(need)+" of proxy memory",
			"add a shard-key condition, or order by the GROUP BY columns, or raise statement_memory_limit")
		if len(w.packets) != 0 {
			t.Errorf("client got %d packets", len(w.packets))
		}
	})
	t.Run("the process budget held by others", func(t *testing.T) {
		vc := newCursor(t)
		budget := memory.NewBudget(need*2, need*2, need*2)
		other := budget.Connection()
		if err := other.Grow(need + need/2); err != nil {
			t.Fatal(err)
		}
		vc.mem = budget.Statement(budget.Connection())
		w := &recWriter{}
		err := sorter(vc).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_OUT_OF_SORTMEMORY, "the proxy's memory_limit ("+memory.Format(need*2)+") is in use", "retry later")
		if budget.Reserved() != other.Used() {
			t.Fatalf("after the refusal the budget holds %d, the other holder %d", budget.Reserved(), other.Used())
		}
		if budget.Refusals(memory.Process) != 1 {
			t.Fatalf("refusals counted: %d", budget.Refusals(memory.Process))
		}
	})
}

// heldWriter records how much the statement's account holds each time a
// row reaches the client.
type heldWriter struct {
	rec  recWriter
	acct *memory.Account
	used []int64
	rows bool
}

func (h *heldWriter) recWriter() *recWriter { return &h.rec }

func (h *heldWriter) WritePacket(p []byte) error {
	if wire.IsEOF(p) {
		h.rows = !h.rows // rows follow the header's EOF until the final one
	} else if h.rows {
		h.used = append(h.used, h.acct.Used())
	}
	return h.rec.WritePacket(p)
}

func (h *heldWriter) Flush() error { return h.rec.Flush() }
