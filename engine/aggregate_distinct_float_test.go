package engine

import (
	"math/big"
	"testing"
)

// SUM(DISTINCT x) of a double merged over shards is a double in the
// expressions over it, as on one server: SUM(DISTINCT x) - 0.3 over 0.1
// and 0.2 is 0.30000000000000004 - 0.3 in doubles (5.55e-17), not the
// exact difference of the printed sum (4e-17). The slot the shards fill
// with an integer 0 must not make the merged double an exact number.
func TestOrderedAggregateDistinctDoubleInExpressions(t *testing.T) {
	// Visible: k, e (SUM(DISTINCT x) - 0.3, a double); helpers: 0 k, 1 its
	// weight, 2 x, 3 its weight, 4 the slot of SUM(DISTINCT x).
	c := cols("k", tString, "e", tDouble, notFixedDec,
		"h0", tString, "h1", tString, "h2", tDouble, notFixedDec, "h3", tString, "h4", tLong)
	part := func(x, weight string) vals { return row("a", "0", "a", ci("a"), x, weight, "0") }
	keys := []SortKey{{Value: 0, Weight: 1}, {Value: 2, Weight: 3}}
	for _, tt := range []struct {
		kind, want string
	}{
		{AggSumDistinct, "5.551115123125783e-17"},
		// AVG(DISTINCT x) * 2 - 0.3: (0.30000000000000004 / 2) * 2 - 0.3.
		{AggAvgDistinct, "5.551115123125783e-17"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			vc := newCursor(t)
			in := &MergeSort{Routes: routes(vc,
				rs(c, part("0.1", "1"), part("0.2", "2")),
				rs(c, part("0.1", "1"))), Keys: keys, Hidden: 5, Purpose: MergeForGroups}
			agg := &OrderedAggregate{Input: in, Group: true, Keys: keys, Hidden: 5, GroupKeys: 1,
				Aggs: []AggSpec{{Kind: tt.kind, Visible: -1, H: []int{4, 2, 3}}}}
			var x Expr = Col{Index: 4, Helper: true}
			if tt.kind == AggAvgDistinct {
				x = bin("*", x, num(2))
			}
			p := &Project{Input: agg, Hidden: 5, Fields: []ProjectField{{Index: 1, Expr: bin("-", x, Lit{Num: big.NewRat(3, 10)}), Text: "e"}}}
			w := &recWriter{}
			got := wantComplete(t, vc, w, (&Trim{Input: p, Hidden: 5}).Execute(vc, w))
			wantRows(t, got.rows, row("a", tt.want))
			if len(got.cols) != 2 {
				t.Errorf("columns %v: the helpers were not trimmed", got.cols)
			}
		})
	}
}
