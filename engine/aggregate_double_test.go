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

// AVG of exact numbers merged over shards, in expressions: the sum over
// the count truncated to 9 decimals (the AVG's scale and 4 more, rounded
// up to a multiple of 9), and where it meets a double that quotient under
// GROUP BY, the sum over the count in doubles without (as ref gives:
// AVG(x) over 1.00, 0.00, 0.00 is 0.333333333 and 0.3333333333333333).
// Its column shows 0.333333.
func TestOrderedAggregateAvgInExpressions(t *testing.T) {
	// Visible: k, avg, e; helpers: 0 k, 1 its weight, 2 avg's sum, 3 its
	// count.
	avg := Avg{Value: 2, Real: 3}
	for _, tt := range []struct {
		name     string
		group    bool
		expr     Expr
		typ      byte
		decimals int
		want     string
	}{
		{"with a double, grouped", true, bin("-", avg, Lit{Num: new(big.Rat), Float: true}), tDouble, notFixedDec, "0.333333333"},
		{"with a double, one group", false, bin("-", avg, Lit{Num: new(big.Rat), Float: true}), tDouble, notFixedDec, "0.3333333333333333"},
		{"compared with a double", true, bin(">", avg, Lit{Num: big.NewRat(3333333, 10000000), Float: true}), tLong, 0, "1"},
		{"exact, rounded only when shown", true, bin("*", avg, num(3)), tDecimal, 6, "1.000000"},
		{"exact, to 9 decimals", false, bin("*", avg, num(1000000000)), tDecimal, 4, "333333333.0000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := cols("k", tString, "a", tDecimal, 6, "e", tt.typ, tt.decimals, "h0", tString, "h1", tString, "h2", tDecimal, 2, "h3", tLong)
			part := func(sum, count string) vals { return row("a", "0", "0", "a", ci("a"), sum, count) }
			vc := newCursor(t)
			keys := []SortKey{{Value: 0, Weight: 1}}
			in := &MergeSort{Routes: routes(vc, rs(c, part("1.00", "2")), rs(c, part("0.00", "1"))), Keys: keys, Hidden: 4, Purpose: MergeForGroups}
			agg := &OrderedAggregate{Input: in, Group: tt.group, Keys: keys, Hidden: 4,
				Aggs: []AggSpec{{Kind: AggAvg, Visible: 1, H: []int{2, 3}}}}
			if !tt.group {
				agg.Keys, in.Keys = nil, nil
			}
			p := &Project{Input: agg, Hidden: 4, Fields: []ProjectField{{Index: 2, Expr: tt.expr, Text: "e"}}}
			w := &recWriter{}
			got := wantComplete(t, vc, w, (&Trim{Input: p, Hidden: 4}).Execute(vc, w))
			wantRows(t, got.rows, row("a", "0.333333", tt.want))
		})
	}
}
