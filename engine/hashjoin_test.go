package engine

import (
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

func TestHashJoin(t *testing.T) {
	outerCols := cols("id", tLong, "k", tLong)
	innerCols := cols("k", tLong, "v")
	outerRows := []vals{row(1, 10), row(2, 20), row(3, NULL), row(4, 10), row(5, 30), row(6, 20)}
	innerRows := []vals{row(10, "a"), row(10, "b"), row(20, "c"), row(NULL, "n"), row(40, "d")}
	str := func(coll uint16, name string) wire.Column {
		c := cols(name)[0]
		c.Charset = coll
		return c
	}
	many := func(n int) []vals {
		var out []vals
		for i := 0; i < n; i++ {
			out = append(out, row(i, i))
		}
		return out
	}
	tests := []struct {
		name                 string
		outerCols, innerCols []wire.Column
		outer, inner         []vals
		left, buildOuter     bool
		seq                  bool
		colls                []string
		raw                  bool
		memory               int64
		// want: the rows in order (ordered) or in any order.
		want    []vals
		ordered bool
		err     uint16
	}{
		{name: "inner, other side held: duplicate keys both sides, NULL never matches; driving order kept",
			ordered: true,
			want:    []vals{row(1, "a"), row(1, "b"), row(2, "c"), row(4, "a"), row(4, "b"), row(6, "c")}},
		{name: "left, other side held: unmatched and NULL-key driving rows once, NULL-extended, in driving order",
			left: true, ordered: true,
			want: []vals{row(1, "a"), row(1, "b"), row(2, "c"), row(3, NULL), row(4, "a"), row(4, "b"), row(5, NULL), row(6, "c")}},
		{name: "inner, driving side held", buildOuter: true,
			want: []vals{row(1, "a"), row(1, "b"), row(4, "a"), row(4, "b"), row(2, "c"), row(6, "c")}},
		{name: "left, driving side held: its unmatched rows come out after the probe, once each", buildOuter: true, left: true,
			want: []vals{row(1, "a"), row(1, "b"), row(4, "a"), row(4, "b"), row(2, "c"), row(6, "c"), row(3, NULL), row(5, NULL)}},
		{name: "inside a transaction: one connection at a time", seq: true, left: true,
			want: []vals{row(1, "a"), row(1, "b"), row(4, "a"), row(4, "b"), row(2, "c"), row(6, "c"), row(3, NULL), row(5, NULL)}},
		{name: "empty other side, left: every driving row extended", inner: []vals{}, left: true,
			want: []vals{row(1, NULL), row(2, NULL), row(3, NULL), row(4, NULL), row(5, NULL), row(6, NULL)}},
		{name: "empty driving side, driving side held", outer: []vals{}, buildOuter: true, left: true},
		{name: "strings by the columns' collation: 'a' = 'A ' under a _ci PAD SPACE collation",
			outerCols: append(cols("id", tLong), str(45, "name")),
			outer:     []vals{row(1, "a"), row(2, "élan"), row(3, "b"), row(4, NULL)},
			innerCols: []wire.Column{str(45, "name"), str(45, "v")},
			inner:     []vals{row("A ", "p"), row("ELAN", "q"), row("B", "r"), row("b  ", "s"), row(NULL, "n")},
			want:      []vals{row(1, "p"), row(2, "q"), row(3, "r"), row(3, "s")}},
		{name: "a binary collation keeps case apart",
			outerCols: append(cols("id", tLong), str(46, "name")),
			outer:     []vals{row(1, "a"), row(2, "A")},
			innerCols: []wire.Column{str(46, "name"), str(46, "v")},
			inner:     []vals{row("A", "p")},
			colls:     []string{"utf8mb4_bin"},
			want:      []vals{row(2, "p")}},
		{name: "raw keys: the columns' own bytes (CAST AS BINARY) compared by their collation",
			outerCols: append(cols("id", tLong), str(63, "name")),
			outer:     []vals{row(1, "ÉLAN"), row(2, "über"), row(3, "x")},
			innerCols: []wire.Column{str(63, "name"), str(45, "v")},
			inner:     []vals{row("élan ", "p"), row("UBER", "q")},
			colls:     []string{"utf8mb4_general_ci"}, raw: true,
			want: []vals{row(1, "p"), row(2, "q")}},
		{name: "the same binary columns without raw keys compare by bytes",
			outerCols: append(cols("id", tLong), str(63, "name")),
			outer:     []vals{row(1, "ÉLAN"), row(2, "élan ")},
			innerCols: []wire.Column{str(63, "name"), str(45, "v")},
			inner:     []vals{row("élan ", "p")},
			want:      []vals{row(2, "p")}},
		{name: "numbers given as strings compare as numbers (doubles)",
			outerCols: cols("id", tLong, "k", tLong),
			outer:     []vals{row(1, 10), row(2, 7)},
			innerCols: []wire.Column{str(45, "k"), str(45, "v")},
			inner:     []vals{row("10", "a"), row("10.0", "b"), row("1e1", "c"), row(" 10", "d"), row("7", "e"), row("8", "f")},
			want:      []vals{row(1, "a"), row(1, "b"), row(1, "c"), row(1, "d"), row(2, "e")}},
		{name: "decimal 10.0 meets integer 10",
			outerCols: cols("id", tLong, "k", tDecimal, 1),
			outer:     []vals{row(1, "10.0"), row(2, "20.5")},
			want:      []vals{row(1, "a"), row(1, "b")}},
		{name: "columns of two collations are refused",
			outerCols: append(cols("id", tLong), str(45, "name")),
			outer:     []vals{row(1, "a")},
			innerCols: []wire.Column{str(224, "name"), str(45, "v")},
			inner:     []vals{row("a", "p")},
			err:       mysql.ER_NOT_SUPPORTED_YET},
		{name: "the held side exceeds statement_memory_limit", memory: 4 << 10, inner: many(300),
			innerCols: cols("k", tLong, "v", tLong), err: mysql.ER_OUT_OF_RESOURCES},
		{name: "the held driving side exceeds statement_memory_limit", memory: 4 << 10, outer: many(300), buildOuter: true,
			err: mysql.ER_OUT_OF_RESOURCES},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.seq = tt.seq
			if tt.memory > 0 {
				vc.withMemory(tt.memory)
			}
			oc, orows, ic, irows := outerCols, outerRows, innerCols, innerRows
			if tt.outerCols != nil {
				oc = tt.outerCols
			}
			if tt.outer != nil {
				orows = tt.outer
			}
			if tt.innerCols != nil {
				ic = tt.innerCols
			}
			if tt.inner != nil {
				irows = tt.inner
			}
			vc.on("outer", rs(oc, orows...))
			vc.on("inner", rs(ic, irows...))
			j := &HashJoin{Outer: &Route{Cluster: "o", SQL: "outer", Replica: true}, Inner: &Route{Cluster: "o", SQL: "inner", Replica: true},
				BuildOuter: tt.buildOuter, OuterKeys: []int{1}, InnerKeys: []int{0}, Left: tt.left,
				Fields: []JoinField{{Index: 0}, {Inner: true, Index: 1}}, Collations: tt.colls, RawKeys: []bool{tt.raw}, On: "o.k = i.k"}
			w := &recWriter{}
			err := j.Execute(vc, w)
			if tt.err != 0 {
				wantFailed(t, vc, w, err)
				if tt.err == mysql.ER_OUT_OF_RESOURCES {
					wantCode(t, err, tt.err, "hash join", "statement_memory_limit", "needs at least")
				} else {
					wantCode(t, err, tt.err)
				}
				if vc.mem.Used() != 0 {
					t.Errorf("%d bytes still reserved after the refusal", vc.mem.Used())
				}
				return
			}
			got := wantComplete(t, vc, w, err)
			if tt.ordered {
				wantRows(t, got.rows, tt.want...)
			} else if sortedStrRows(got.rows) != sortedStrRows(strRows(tt.want...)) {
				t.Errorf("rows:\n got  %s\n want %s", sortedStrRows(got.rows), sortedStrRows(strRows(tt.want...)))
			}
			if names := fmt.Sprint(colNames(got.cols)); names != fmt.Sprintf("[%s %s]", oc[0].Name, ic[1].Name) {
				t.Errorf("columns %s", names)
			}
			if tt.left && got.cols[1].Flags&mysql.NOT_NULL_FLAG != 0 {
				t.Error("a LEFT JOIN's other column is NOT NULL")
			}
			if vc.peak != 1 {
				t.Errorf("%d connections open at once, want 1 (the held side is closed before the other opens)", vc.peak)
			}
			if vc.mem.Used() != 0 {
				t.Errorf("%d bytes still reserved after the statement", vc.mem.Used())
			}
			wantClean(t, vc, "outer")
			wantClean(t, vc, "inner")
		})
	}
}

// The held side's rows are reserved while the join is open: a budget that
// holds the streamed side alone is not enough for the held one.
func TestHashJoinHoldsOnlyTheBuildSide(t *testing.T) {
	var big []vals
	for i := 0; i < 300; i++ {
		big = append(big, row(i, i))
	}
	for _, buildOuter := range []bool{false, true} {
		t.Run(fmt.Sprint("buildOuter=", buildOuter), func(t *testing.T) {
			vc := newCursor(t).withMemory(8 << 10)
			outer, inner := big, []vals{row(5, 5)}
			if buildOuter {
				// The big side streams, the small one is held.
				outer, inner = []vals{row(5, 5)}, big
			}
			vc.on("outer", rs(cols("id", tLong, "k", tLong), outer...))
			vc.on("inner", rs(cols("k", tLong, "v", tLong), inner...))
			j := &HashJoin{Outer: &Route{Cluster: "o", SQL: "outer"}, Inner: &Route{Cluster: "i", SQL: "inner"}, BuildOuter: buildOuter,
				OuterKeys: []int{1}, InnerKeys: []int{0}, Fields: []JoinField{{Index: 0}, {Inner: true, Index: 1}}}
			w := &recWriter{}
			got := wantComplete(t, vc, w, j.Execute(vc, w))
			wantRows(t, got.rows, row(5, 5))
		})
	}
}

// An aggregate over the joined rows: Meta's definitions, and one row of
// NULLs when nothing joins.
func TestHashJoinMetaAndEmptyRow(t *testing.T) {
	sumCol := cols("SUM(x)", tDecimal, 2)[0]
	vc := newCursor(t)
	vc.on("outer", rs(cols("id", tLong, "k", tLong), row(1, 99)))
	vc.on("inner", rs(cols("k", tLong, "v"), row(10, "a")))
	vc.on("meta", rs([]wire.Column{sumCol}, row(NULL)))
	j := &HashJoin{Outer: &Route{Cluster: "o", SQL: "outer"}, Inner: &Route{Cluster: "i", SQL: "inner"},
		OuterKeys: []int{1}, InnerKeys: []int{0}, Fields: []JoinField{{Index: 0}, {Inner: true, Index: 1}},
		Meta: []*Route{{Cluster: "o", SQL: "meta"}}, MetaFields: [][]int{{0}}, EmptyRow: true}
	w := &recWriter{}
	got := wantComplete(t, vc, w, j.Execute(vc, w))
	wantRows(t, got.rows, row(NULL, NULL))
	if c := got.cols[0]; c.Name != "SUM(x)" || c.Type != tDecimal {
		t.Errorf("column 0 is %+v, want the meta statement's", c)
	}
}
