package engine

import (
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// Windows of two ORDER BYs (planner/build.go buildWindow): the first
// computed over the input's order, the second over the rows, their first
// values written, sorted again in memory; the sort's refusal names what
// it is for and statement_memory_limit.
func TestWindowStages(t *testing.T) {
	c := cols("id", tLong, "rn_a", tLong, "rn_b", tLong, "h0", tLong, "h1", tString, "h2", tLong, "h3", tString)
	var in []vals
	// Sorted by h0 (a = id); h2 (b = id % 3) in another order, with ties.
	for id := 1; id <= 6; id++ {
		b := id % 3
		in = append(in, row(id, 0, 0, id, fmt.Sprint(id), b, fmt.Sprint(b)))
	}
	plan := func(what string) RowSource {
		var node RowSource = &Route{Cluster: "s0", SQL: "rows", Replica: true}
		node = &Window{Input: node, Order: []SortKey{{Value: 0, Weight: 1}}, Funcs: []WindowFunc{{Kind: WinRowNumber, Field: 1, Arg: -1}}, Hidden: 4}
		node = &MemorySort{Input: node, Keys: []MemorySortKey{{Key: &SortKey{Value: 2, Weight: 3}, Desc: true}, {Key: &SortKey{Value: 0, Weight: 1}}}, Hidden: 4, What: what}
		node = &Window{Input: node, Order: []SortKey{{Value: 2, Weight: 3, Desc: true}}, Funcs: []WindowFunc{{Kind: WinRank, Field: 2, Arg: -1}}, Hidden: 4}
		return &Trim{Input: node, Hidden: 4}
	}
	vc := newCursor(t)
	vc.on("rows", rs(c, in...))
	w := &recWriter{}
	got := wantComplete(t, vc, w, plan("windows of another ORDER BY").Execute(vc, w))
	// Out in b's order, descending: ROW_NUMBER over a kept, RANK over b.
	wantRows(t, got.rows, row(2, 2, 1), row(5, 5, 1), row(1, 1, 3), row(4, 4, 3), row(3, 3, 5), row(6, 6, 5))

	vc = newCursor(t).withMemory(600)
	vc.on("rows", rs(c, in...))
	w = &recWriter{}
	err := plan("window functions of another PARTITION BY or ORDER BY").Execute(vc, w)
	wantFailed(t, vc, w, err)
	wantCode(t, err, mysql.ER_OUT_OF_SORTMEMORY, "window functions of another PARTITION BY or ORDER BY", "statement_memory_limit")
}
