package engine

import (
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// Grouped: k, count, sum (2 decimals), avg (6 decimals), min (string),
// max (int); helpers: k and its weight, count, sum, avg's sum and count,
// min and its weight, max and its weight.
var groupCols = cols("k", tString, "cnt", tLong, "s", tDecimal, 2, "a", tDecimal, 6, "mn", tString, "mx", tInt,
	"h0", tString, "h1", tString, "h2", tLong, "h3", tDecimal, 2, "h4", tDecimal, 2, "h5", tLong, "h6", tString, "h7", tString, "h8", tInt, "h9", tString)

var groupAggs = []AggSpec{
	{Kind: AggCount, Visible: 1, H: []int{2}, Text: "count(*)"},
	{Kind: AggSum, Visible: 2, H: []int{3}, Text: "sum(x)"},
	{Kind: AggAvg, Visible: 3, H: []int{4, 5}, Text: "avg(x)"},
	{Kind: AggMin, Visible: 4, H: []int{6, 7}, Text: "min(s)"},
	{Kind: AggMax, Visible: 5, H: []int{8, 9}, Text: "max(n)"},
}

// grow is one shard's partial group.
func grow(k, cnt, sum, avgSum, avgCnt, mn, mx string) vals {
	w := func(s string) string {
		if s == NULL {
			return NULL
		}
		return ci(s)
	}
	return row(k, cnt, sum, "0.000001", mn, mx, k, ci(k), cnt, sum, avgSum, avgCnt, mn, w(mn), mx, mx)
}

func TestOrderedAggregateGrouped(t *testing.T) {
	tests := []struct {
		name   string
		inputs [][]vals
		want   []vals
	}{
		{name: "groups merged across shards",
			inputs: [][]vals{
				{grow("apple", "2", "1.50", "3.00", "2", "pear", "9"), grow("banana", "1", NULL, NULL, "0", NULL, NULL)},
				{grow("Apple", "3", "2.25", "7.00", "1", "Fig", "10"), grow("cherry", "4", "0.10", "1.00", "3", "kiwi", "-1")},
			},
			want: []vals{
				row("apple", "5", "3.75", "3.333333", "Fig", "10"),
				row("banana", "1", NULL, NULL, NULL, NULL),
				row("cherry", "4", "0.10", "0.333333", "kiwi", "-1"),
			}},
		{name: "equal weights: first min kept, group shows its first row",
			inputs: [][]vals{
				{grow("Zebra", "1", "1", "1", "1", "pear", "2")},
				{grow("ZEBRA", "1", "2", "2", "1", "PEAR", "2")},
				{grow("zebra", "1", "3", "3", "1", "Pear", "3")},
			},
			want: []vals{row("Zebra", "3", "6.00", "2.000000", "pear", "3")}},
		{name: "a group on one shard only",
			inputs: [][]vals{{grow("a", "1", "1.00", "1", "1", "x", "1")}, {}},
			want:   []vals{row("a", "1", "1.00", "1.000000", "x", "1")}},
		// The best value comes from the second shard's row and is copied:
		// an empty string must stay one, not become NULL.
		{name: "empty-string min from another row",
			inputs: [][]vals{
				{grow("a", "1", "1", "1", "1", "pear", "1")},
				{grow("a", "1", "1", "1", "1", "", "2")},
			},
			want: []vals{row("a", "2", "2.00", "1.000000", "", "2")}},
		{name: "empty inputs", inputs: [][]vals{{}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			var rsps []*resp
			for _, in := range tt.inputs {
				rsps = append(rsps, rs(groupCols, in...))
			}
			keys := []SortKey{{Value: 0, Weight: 1}}
			agg := &OrderedAggregate{Input: &MergeSort{Routes: routes(vc, rsps...), Keys: keys, Hidden: 10, Purpose: MergeForGroups},
				Group: true, Keys: keys, Aggs: groupAggs, Hidden: 10}
			w := &recWriter{}
			got := wantComplete(t, vc, w, (&Trim{Input: agg, Hidden: 10}).Execute(vc, w))
			wantRows(t, got.rows, tt.want...)
			for i := range tt.inputs {
				wantClean(t, vc, sqlOf(i))
			}
		})
	}
}

// HAVING and ORDER BY read merged values from the first helper column.
func TestOrderedAggregateHelperHoldsMergedValue(t *testing.T) {
	vc := newCursor(t)
	keys := []SortKey{{Value: 0, Weight: 1}}
	agg := &OrderedAggregate{Input: &MergeSort{Routes: routes(vc,
		rs(groupCols, grow("a", "2", "1.50", "3", "2", "q", "1")),
		rs(groupCols, grow("a", "3", "2.25", "7", "1", "p", "2"))), Keys: keys, Hidden: 10},
		Group: true, Keys: keys, Aggs: groupAggs, Hidden: 10}
	w := &recWriter{}
	got := wantComplete(t, vc, w, agg.Execute(vc, w))
	if len(got.rows) != 1 {
		t.Fatalf("rows %v", got.rows)
	}
	r := got.rows[0]
	// The second shard's min comes first by weight: its weight comes with
	// it (an ORDER BY MIN(…) sorts by it). The AVG as MariaDB computes
	// with it: to 9 decimals, truncated (avgOperand).
	for i, want := range map[int]string{8: "5", 9: "3.75", 10: "3.333333333", 12: "p", 13: ci("p"), 14: "2"} {
		if r[i] != want {
			t.Errorf("helper column %s = %q, want the merged %q", groupCols[i].Name, r[i], want)
		}
	}
}

func TestOrderedAggregateSingleGroup(t *testing.T) {
	// count, sum, avg over doubles: visible, then helpers count, sum, avg
	// sum and count.
	dbl := cols("cnt", tLong, "s", tDouble, "a", tDouble, "h0", tLong, "h1", tDouble, "h2", tDouble, "h3", tLong)
	dblAggs := []AggSpec{
		{Kind: AggCount, Visible: 0, H: []int{0}},
		{Kind: AggSum, Visible: 1, H: []int{1}},
		{Kind: AggAvg, Visible: 2, H: []int{2, 3}},
	}
	part := func(cnt, sum, avgSum, avgCnt string) vals { return row(cnt, sum, "9", cnt, sum, avgSum, avgCnt) }
	// Decimal sum of integers: AVG's scale comes from the shard's column.
	dec := cols("s", tDecimal, 0, "a", tDecimal, 4, "h0", tDecimal, 0, "h1", tDecimal, 0, "h2", tLong)
	decAggs := []AggSpec{{Kind: AggSum, Visible: 0, H: []int{0}}, {Kind: AggAvg, Visible: 1, H: []int{1, 2}}}
	dpart := func(sum, avgCnt string) vals { return row(sum, "0", sum, sum, avgCnt) }
	tests := []struct {
		name string
		h    int
		aggs []AggSpec
		in   []vals
		want vals
	}{
		{name: "float sum and avg", aggs: dblAggs, h: 4,
			in:   []vals{part("2", "0.1", "1.5", "1"), part("0", NULL, NULL, "0"), part("3", "0.2", "4.5", "2")},
			want: row("5", "0.30000000000000004", "2")},
		{name: "float sum in exponent form", aggs: dblAggs, h: 4,
			in:   []vals{part("1", "5e20", "5e20", "1"), part("1", "5e20", "5e20", "1")},
			want: row("2", "1e21", "5e20")},
		{name: "no rows anywhere", aggs: dblAggs, h: 4,
			in:   []vals{part("0", NULL, NULL, "0"), part("0", NULL, NULL, "0")},
			want: row("0", NULL, NULL)},
		{name: "decimal avg of integers", aggs: decAggs, h: 3,
			in:   []vals{dpart("10", "3"), dpart("5", "1")},
			want: row("15", "3.7500")},
		{name: "decimal avg rounds half up", aggs: decAggs, h: 3,
			in:   []vals{dpart("1", "19999"), dpart(NULL, "1")},
			want: row("1", "0.0001")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			header := dbl
			if tt.h == 3 {
				header = dec
			}
			var rsps []*resp
			for _, r := range tt.in {
				rsps = append(rsps, rs(header, r))
			}
			agg := &OrderedAggregate{Input: &MergeSort{Routes: routes(vc, rsps...), Hidden: tt.h}, Aggs: tt.aggs, Hidden: tt.h}
			w := &recWriter{}
			got := wantComplete(t, vc, w, (&Trim{Input: agg, Hidden: tt.h}).Execute(vc, w))
			wantRows(t, got.rows, tt.want)
		})
	}
}

func TestOrderedAggregateErrors(t *testing.T) {
	keys := []SortKey{{Value: 0, Weight: 1}}
	g := func(k string) vals { return grow(k, "1", "1", "1", "1", "x", "1") }
	tests := []struct {
		name  string
		resps []*resp
		err   uint16
		fates []string
	}{
		{name: "server error mid-stream", resps: []*resp{rs(groupCols, g("a"), g("c"), g("e")), rs(groupCols, g("b"), g("d")).failAfter(1, mysql.ER_QUERY_INTERRUPTED, "killed")},
			err: mysql.ER_QUERY_INTERRUPTED, fates: []string{"abandoned", "server"}},
		{name: "broken mid-stream", resps: []*resp{rs(groupCols, g("a"), g("c"), g("e")), rs(groupCols, g("b"), g("d")).breakAfter(1)},
			err: mysql.ER_UNKNOWN_ERROR, fates: []string{"abandoned", "broken"}},
		{name: "error in the last group", resps: []*resp{rs(groupCols, g("a")), rs(groupCols, g("a"), g("a")).failAfter(2, mysql.ER_QUERY_INTERRUPTED, "killed")},
			err: mysql.ER_QUERY_INTERRUPTED, fates: []string{"clean", "server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			agg := &OrderedAggregate{Input: &MergeSort{Routes: routes(vc, tt.resps...), Keys: keys, Hidden: 10},
				Group: true, Keys: keys, Aggs: groupAggs, Hidden: 10}
			w := &recWriter{}
			err := (&Trim{Input: agg, Hidden: 10}).Execute(vc, w)
			wantFailed(t, vc, w, err)
			wantCode(t, err, tt.err)
			checkFates(t, vc, tt.fates)
			// No group may reach the client with a partial value: the
			// group "a" of the last case is never written.
			got := decode(t, w.packets)
			for _, r := range got.rows {
				if r[0] == "a" && tt.name == "error in the last group" {
					t.Errorf("a group merged from a failed input reached the client: %v", r)
				}
			}
		})
	}
}

func TestOrderedAggregateDescribe(t *testing.T) {
	a := &OrderedAggregate{Group: true, Keys: []SortKey{{Value: 0, Weight: 1}}, Aggs: groupAggs[:2], Input: &Route{}}
	if got, want := a.Describe(), "OrderedAggregate count(*), sum(x) by h0 asc"; got != want {
		t.Errorf("Describe %q, want %q", got, want)
	}
	if got, want := a.mergeSummary(), "count(*) from h[2]; sum(x) from h[3]"; got != want {
		t.Errorf("mergeSummary %q, want %q", got, want)
	}
}

// TestOrderedAggregateDistinct: shards group by (k, x) and sort by it;
// within a group of k, a value of x (by its weight: 'A' and 'a' are one)
// is counted once whichever shards send it; NULL is not counted; the
// plain aggregates add up every (k, x) partial. The merged DISTINCT
// values land in slots of their own (HAVING reads them there).
func TestOrderedAggregateDistinct(t *testing.T) {
	// Visible: k, count(distinct x), sum(distinct n), count(*); helpers:
	// 0 k, 1 k weight, 2 x, 3 x weight, 4 count partial, 5 slot for
	// count(distinct x), 6 n, 7 n weight, 8 slot for sum(distinct n).
	c := cols("k", tString, "cd", tLong, "sd", tDecimal, 0, "cnt", tLong,
		"h0", tString, "h1", tString, "h2", tString, "h3", tString, "h4", tLong, "h5", tLong, "h6", tInt, "h7", tString, "h8", tLong)
	aggs := []AggSpec{
		{Kind: AggCountDistinct, Visible: 1, H: []int{5, 2, 3}},
		{Kind: AggCount, Visible: 3, H: []int{4}},
	}
	part := func(k, x, cnt string) vals {
		xw := NULL
		if x != NULL {
			xw = ci(x)
		}
		return row(k, "1", "0", cnt, k, ci(k), x, xw, cnt, "0", "0", "0", "0")
	}
	vc := newCursor(t)
	keys := []SortKey{{Value: 0, Weight: 1}, {Value: 2, Weight: 3}}
	in := &MergeSort{Routes: routes(vc,
		rs(c, part("a", NULL, "1"), part("a", "x", "2"), part("a", "y", "1"), part("b", "z", "4")),
		rs(c, part("A", "X", "3"), part("a", "z", "1"), part("c", NULL, "2"))), Keys: keys, Hidden: 9, Purpose: MergeForGroups}
	agg := &OrderedAggregate{Input: in, Group: true, Keys: keys, Aggs: aggs, Hidden: 9, GroupKeys: 1}
	w := &recWriter{}
	got := wantComplete(t, vc, w, agg.Execute(vc, w))
	// a: x (twice, as x and X), y, z → 3 distinct, 1+2+1+3+1 = 8 rows.
	want := [][]string{{"a", "3", "8"}, {"b", "1", "4"}, {"c", "0", "2"}}
	if len(got.rows) != len(want) {
		t.Fatalf("rows %v", got.rows)
	}
	for i, r := range got.rows {
		if r[0] != want[i][0] || r[1] != want[i][1] || r[3] != want[i][2] || r[4+5] != want[i][1] {
			t.Errorf("group %d: %v, want k %s, count(distinct) %s (also in its slot), count %s", i, r, want[i][0], want[i][1], want[i][2])
		}
	}
}

// WITH ROLLUP: after each run of groups equal on their leading keys, a row
// merging the run with the other keys NULL (helpers and visible columns),
// from the shards' partial rows (a group split over two shards counts
// once in each run).
func TestOrderedAggregateRollup(t *testing.T) {
	// Visible k1, k2, count, sum, avg; helpers k1, its weight, k2, its
	// weight, count, sum, avg's sum and count.
	c := cols("k1", tString, "k2", tString, "cnt", tLong, "s", tDecimal, 2, "a", tDecimal, 6,
		"h0", tString, "h1", tString, "h2", tString, "h3", tString, "h4", tLong, "h5", tDecimal, 2, "h6", tDecimal, 2, "h7", tLong)
	part := func(k1, k2, cnt, sum string) vals {
		return row(k1, k2, cnt, sum, "0", k1, ci(k1), k2, ci(k2), cnt, sum, sum, cnt)
	}
	aggs := []AggSpec{
		{Kind: AggCount, Visible: 2, H: []int{4}},
		{Kind: AggSum, Visible: 3, H: []int{5}},
		{Kind: AggAvg, Visible: 4, H: []int{6, 7}},
	}
	keys := []SortKey{{Value: 0, Weight: 1}, {Value: 2, Weight: 3}}
	vc := newCursor(t)
	merge := &MergeSort{Routes: routes(vc,
		rs(c, part("a", "x", "1", "10.00"), part("a", "y", "1", "1.00"), part("b", "x", "2", "3.00")),
		rs(c, part("A", "x", "2", "5.00"), part("c", "z", "1", "0.50"))), Keys: keys, Hidden: 8, Purpose: MergeForGroups}
	agg := &OrderedAggregate{Input: merge, Group: true, Keys: keys, Aggs: aggs, Hidden: 8, Rollup: true, KeyFields: [][]int{{0}, {1}}}
	w := &recWriter{}
	got := wantComplete(t, vc, w, (&Trim{Input: agg, Hidden: 8}).Execute(vc, w))
	wantRows(t, got.rows,
		row("a", "x", "3", "15.00", "5.000000"),
		row("a", "y", "1", "1.00", "1.000000"),
		row("a", NULL, "4", "16.00", "4.000000"),
		row("b", "x", "2", "3.00", "1.500000"),
		row("b", NULL, "2", "3.00", "1.500000"),
		row("c", "z", "1", "0.50", "0.500000"),
		row("c", NULL, "1", "0.50", "0.500000"),
		row(NULL, NULL, "7", "19.50", "2.785714"),
	)
	if !strings.Contains(agg.Describe(), "with rollup") {
		t.Errorf("Describe %q does not say WITH ROLLUP", agg.Describe())
	}
}
