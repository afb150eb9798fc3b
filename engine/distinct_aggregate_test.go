package engine

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

func TestDistinctAggregate(t *testing.T) {
	strCols := cols("h0", tString, "h1", tString)
	decCols := cols("h0", tDecimal, 1, "h1", tString)
	dblCols := cols("h0", tDouble, "h1", tString)
	sv := func(s string) vals {
		if s == NULL {
			return row(NULL, NULL)
		}
		return row(s, ci(s))
	}
	countMeta := cols("COUNT(DISTINCT x)", tLong)
	sumMeta := cols("SUM(DISTINCT x)", tDecimal, 3)
	dblMeta := cols("SUM(DISTINCT x)", tDouble)
	tests := []struct {
		name   string
		kind   string
		meta   []any
		header []any
		inputs [][]string
		want   string
	}{
		{name: "count by collation, NULL not counted", kind: AggCount, meta: []any{countMeta[0]}, header: []any{strCols[0], strCols[1]},
			inputs: [][]string{{NULL, "apple", "banana"}, {NULL, "Apple", "cherry"}}, want: "3"},
		{name: "count of nothing", kind: AggCount, meta: []any{countMeta[0]}, header: []any{strCols[0], strCols[1]},
			inputs: [][]string{{}, {NULL}}, want: "0"},
		{name: "decimal sum at the statement's scale", kind: AggSum, meta: []any{sumMeta[0]}, header: []any{decCols[0], decCols[1]},
			inputs: [][]string{{"-1", "1.5", "2"}, {"1.50", "2.0", "3"}}, want: "5.500"},
		{name: "sum of nothing is NULL", kind: AggSum, meta: []any{sumMeta[0]}, header: []any{decCols[0], decCols[1]},
			inputs: [][]string{{NULL}, {}}, want: NULL},
		{name: "float sum", kind: AggSum, meta: []any{dblMeta[0]}, header: []any{dblCols[0], dblCols[1]},
			inputs: [][]string{{"0.1"}, {"0.1", "0.2"}}, want: "0.30000000000000004"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			header := cols(tt.header...)
			var rsps []*resp
			for _, in := range tt.inputs {
				var rows []vals
				for _, v := range in {
					rows = append(rows, sv(v))
				}
				rsps = append(rsps, rs(header, rows...))
			}
			vc.on("meta", rs(cols(tt.meta...)))
			keys := []SortKey{{Value: 0, Weight: 1}}
			d := &DistinctAggregate{Input: &MergeSort{Routes: routes(vc, rsps...), Keys: keys, Hidden: 2, Purpose: MergeForDistinct},
				Kind: tt.kind, Meta: &Route{Cluster: "c0", SQL: "meta", Replica: true}}
			w := &recWriter{}
			got := wantComplete(t, vc, w, (&Trim{Input: d, Hidden: 2}).Execute(vc, w))
			if len(got.cols) != 1 || got.cols[0] != cols(tt.meta...)[0] {
				t.Errorf("columns %+v, want the statement's own %+v", got.cols, cols(tt.meta...))
			}
			wantRows(t, got.rows, row(tt.want))
			wantClean(t, vc, "meta")
			for i := range tt.inputs {
				wantClean(t, vc, sqlOf(i))
			}
		})
	}
}

func TestDistinctAggregateErrors(t *testing.T) {
	header := cols("h0", tString, "h1", tString)
	meta := cols("COUNT(DISTINCT x)", tLong)
	keys := []SortKey{{Value: 0, Weight: 1}}
	t.Run("meta fails", func(t *testing.T) {
		vc := newCursor(t)
		vc.on("meta", srvErr(mysql.ER_NO_SUCH_TABLE, "gone"))
		d := &DistinctAggregate{Input: &MergeSort{Routes: routes(vc, rs(header, row("a", "A"))), Keys: keys, Hidden: 2},
			Kind: AggCount, Meta: &Route{Cluster: "c0", SQL: "meta"}}
		w := &recWriter{}
		err := d.Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_NO_SUCH_TABLE)
		wantServerRelease(t, vc, "meta")
		checkFates(t, vc, []string{"none"})
	})
	t.Run("meta broken", func(t *testing.T) {
		vc := newCursor(t)
		vc.on("meta", broken(false))
		d := &DistinctAggregate{Input: &MergeSort{Routes: routes(vc, rs(header, row("a", "A"))), Keys: keys, Hidden: 2},
			Kind: AggCount, Meta: &Route{Cluster: "c0", SQL: "meta"}}
		w := &recWriter{}
		err := d.Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_UNKNOWN_ERROR)
		wantBrokenRelease(t, vc, "meta")
	})
	t.Run("input fails mid-stream", func(t *testing.T) {
		vc := newCursor(t)
		vc.on("meta", rs(meta))
		d := &DistinctAggregate{Input: &MergeSort{Routes: routes(vc,
			rs(header, row("a", "A"), row("c", "C"), row("e", "E")),
			rs(header, row("b", "B"), row("d", "D")).failAfter(1, mysql.ER_QUERY_INTERRUPTED, "killed")), Keys: keys, Hidden: 2},
			Kind: AggCount, Meta: &Route{Cluster: "c0", SQL: "meta"}}
		w := &recWriter{}
		err := d.Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_QUERY_INTERRUPTED)
		if len(w.packets) != 0 {
			t.Errorf("client got %d packets", len(w.packets))
		}
		wantClean(t, vc, "meta")
		checkFates(t, vc, []string{"abandoned", "server"})
	})
}
