package engine

import (
	"strconv"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// windowInput is sorted as a MergeSort by the window's keys returns it:
// partition (h0, weight h1: 'a' and 'A' are one partition, NULL first),
// then order (h2, weight h3: ties, NULL first). h4 is the argument, h5 a
// default for LEAD. Its ids, in order: 7 1 2 3 4 5 6 8.
func windowInput(fn []any) ([]any, []vals) {
	c := append([]any{"id", tLong}, fn...)
	c = append(c, "h0", tString, "h1", tString, "h2", tLong, "h3", tString, "h4", tDecimal, 2, "h5", tDecimal, 2)
	r := func(id int, part, order, arg any) vals {
		w := any(NULL)
		if p, ok := part.(string); ok && p != NULL {
			w = ci(p)
		}
		return row(id, "shard value", part, w, order, order, arg, "-1.00")
	}
	return c, []vals{
		r(7, NULL, 5, "3.00"),
		r(1, "a", 1, "1.50"),
		r(2, "A", 1, NULL),
		r(3, "a", 2, "2.25"),
		r(4, "b", NULL, "4.00"),
		r(5, "b", NULL, "1.00"),
		r(6, "b", 3, NULL),
		r(8, "c", 1, NULL),
	}
}

var (
	windowPartition = []SortKey{{Value: 0, Weight: 1}}
	windowOrder     = []SortKey{{Value: 2, Weight: 3}}
)

func TestWindowFunctions(t *testing.T) {
	long := []any{"f", tLong}
	dec := func(scale int) []any { return []any{"f", tDecimal, scale} }
	tests := []struct {
		name string
		fn   WindowFunc
		col  []any
		// want is the function's value for ids 7 1 2 3 4 5 6 8.
		want string
	}{
		{"row_number restarts per partition", WindowFunc{Kind: WinRowNumber, Arg: -1}, long, "1 1 2 3 1 2 3 1"},
		{"rank skips after ties", WindowFunc{Kind: WinRank, Arg: -1}, long, "1 1 1 3 1 1 3 1"},
		{"dense_rank does not skip", WindowFunc{Kind: WinDenseRank, Arg: -1}, long, "1 1 1 2 1 1 2 1"},
		{"rank without an ORDER BY of its own: all peers", WindowFunc{Kind: WinRank, Arg: -1, Unordered: true}, long, "1 1 1 1 1 1 1 1"},
		{"lag", WindowFunc{Kind: WinLag, Arg: 4, Offset: 1, Default: -1}, dec(2), "NULL NULL 1.50 NULL NULL 4.00 1.00 NULL"},
		{"lag 2", WindowFunc{Kind: WinLag, Arg: 4, Offset: 2, Default: -1}, dec(2), "NULL NULL NULL 1.50 NULL NULL 4.00 NULL"},
		{"lag 0 is the row's own", WindowFunc{Kind: WinLag, Arg: 4, Offset: 0, Default: -1}, dec(2), "3.00 1.50 NULL 2.25 4.00 1.00 NULL NULL"},
		{"lag with a default", WindowFunc{Kind: WinLag, Arg: 4, Offset: 1, Default: 5}, dec(2), "-1.00 -1.00 1.50 NULL -1.00 4.00 1.00 -1.00"},
		{"lead", WindowFunc{Kind: WinLead, Arg: 4, Offset: 1, Default: -1}, dec(2), "NULL NULL 2.25 NULL 1.00 NULL NULL NULL"},
		{"lead 2 with a default", WindowFunc{Kind: WinLead, Arg: 4, Offset: 2, Default: 5}, dec(2), "-1.00 2.25 -1.00 -1.00 NULL -1.00 -1.00 -1.00"},
		{"sum through the last peer", WindowFunc{Kind: WinSum, Arg: 4, Frame: FramePeers}, dec(2), "3.00 1.50 1.50 3.75 5.00 5.00 5.00 NULL"},
		{"sum through the row", WindowFunc{Kind: WinSum, Arg: 4, Frame: FrameRows}, dec(2), "3.00 1.50 1.50 3.75 4.00 5.00 5.00 NULL"},
		{"sum over the partition", WindowFunc{Kind: WinSum, Arg: 4, Frame: FramePartition}, dec(2), "3.00 3.75 3.75 3.75 5.00 5.00 5.00 NULL"},
		{"sum in the column's scale", WindowFunc{Kind: WinSum, Arg: 4, Frame: FramePeers}, dec(4), "3.0000 1.5000 1.5000 3.7500 5.0000 5.0000 5.0000 NULL"},
		{"count of values", WindowFunc{Kind: WinCount, Arg: 4, Frame: FramePeers}, long, "1 1 1 2 2 2 2 0"},
		{"count of rows", WindowFunc{Kind: WinCount, Arg: -1, Frame: FramePeers}, long, "1 2 2 3 2 2 3 1"},
		{"count of rows through the row", WindowFunc{Kind: WinCount, Arg: -1, Frame: FrameRows}, long, "1 1 2 3 1 2 3 1"},
		{"avg", WindowFunc{Kind: WinAvg, Arg: 4, Frame: FramePeers}, dec(6), "3.000000 1.500000 1.500000 1.875000 2.500000 2.500000 2.500000 NULL"},
		{"avg as a double", WindowFunc{Kind: WinAvg, Arg: 4, Frame: FramePartition}, []any{"f", tDouble, 31}, "3 1.875 1.875 1.875 2.5 2.5 2.5 NULL"},
		{"min", WindowFunc{Kind: WinMin, Arg: 4, ArgWeight: 4, Frame: FramePeers}, dec(2), "3.00 1.50 1.50 1.50 1.00 1.00 1.00 NULL"},
		{"max through the row", WindowFunc{Kind: WinMax, Arg: 4, ArgWeight: 4, Frame: FrameRows}, dec(2), "3.00 1.50 1.50 2.25 4.00 4.00 4.00 NULL"},
		{"sum of the row and 1 before", WindowFunc{Kind: WinSum, Arg: 4, Frame: FrameSliding, Preceding: 1}, dec(2), "3.00 1.50 1.50 2.25 4.00 5.00 1.00 NULL"},
		{"sum of the row and 2 before", WindowFunc{Kind: WinSum, Arg: 4, Frame: FrameSliding, Preceding: 2}, dec(2), "3.00 1.50 1.50 3.75 4.00 5.00 5.00 NULL"},
		{"sum of doubles sliding", WindowFunc{Kind: WinSum, Arg: 4, Frame: FrameSliding, Preceding: 1}, []any{"f", tDouble, 31}, "3 1.5 1.5 2.25 4 5 1 NULL"},
		{"count of rows sliding", WindowFunc{Kind: WinCount, Arg: -1, Frame: FrameSliding, Preceding: 1}, long, "1 1 2 2 1 2 2 1"},
		{"count of values sliding", WindowFunc{Kind: WinCount, Arg: 4, Frame: FrameSliding, Preceding: 1}, long, "1 1 1 1 1 2 1 0"},
		{"avg sliding", WindowFunc{Kind: WinAvg, Arg: 4, Frame: FrameSliding, Preceding: 1}, dec(6), "3.000000 1.500000 1.500000 2.250000 4.000000 2.500000 1.000000 NULL"},
		{"min sliding", WindowFunc{Kind: WinMin, Arg: 4, ArgWeight: 4, Frame: FrameSliding, Preceding: 1}, dec(2), "3.00 1.50 1.50 2.25 4.00 1.00 1.00 NULL"},
		{"first_value", WindowFunc{Kind: WinFirstValue, Arg: 4, Frame: FramePeers}, dec(2), "3.00 1.50 1.50 1.50 4.00 4.00 4.00 NULL"},
		{"last_value through the last peer", WindowFunc{Kind: WinLastValue, Arg: 4, Frame: FramePeers}, dec(2), "3.00 NULL NULL 2.25 1.00 1.00 NULL NULL"},
		{"last_value through the row", WindowFunc{Kind: WinLastValue, Arg: 4, Frame: FrameRows}, dec(2), "3.00 1.50 NULL 2.25 4.00 1.00 NULL NULL"},
		{"last_value over the partition", WindowFunc{Kind: WinLastValue, Arg: 4, Frame: FramePartition}, dec(2), "3.00 2.25 2.25 2.25 NULL NULL NULL NULL"},
		{"nth_value 2 through the row", WindowFunc{Kind: WinNthValue, Arg: 4, Offset: 2, Frame: FrameRows}, dec(2), "NULL NULL NULL NULL NULL 1.00 1.00 NULL"},
		{"nth_value 2 through the last peer", WindowFunc{Kind: WinNthValue, Arg: 4, Offset: 2, Frame: FramePeers}, dec(2), "NULL NULL NULL NULL 1.00 1.00 1.00 NULL"},
		{"nth_value 3 over the partition", WindowFunc{Kind: WinNthValue, Arg: 4, Offset: 3, Frame: FramePartition}, dec(2), "NULL 2.25 2.25 2.25 NULL NULL NULL NULL"},
		{"first_value of a moving frame", WindowFunc{Kind: WinFirstValue, Arg: 4, Frame: FrameSliding, Preceding: 1}, dec(2), "3.00 1.50 1.50 NULL 4.00 4.00 1.00 NULL"},
		{"percent_rank", WindowFunc{Kind: WinPercentRank, Arg: -1}, []any{"f", tDouble, 10}, "0 0 0 1 0 0 1 0"},
		{"cume_dist rounded to the column's decimals", WindowFunc{Kind: WinCumeDist, Arg: -1}, []any{"f", tDouble, 10}, "1 0.6666666667 0.6666666667 1 0.6666666667 0.6666666667 1 1"},
		{"cume_dist without trailing zeros", WindowFunc{Kind: WinCumeDist, Arg: -1}, []any{"f", tDouble, 3}, "1 0.667 0.667 1 0.667 0.667 1 1"},
		{"cume_dist without an ORDER BY of its own", WindowFunc{Kind: WinCumeDist, Arg: -1, Unordered: true}, []any{"f", tDouble, 10}, "1 1 1 1 1 1 1 1"},
		{"ntile 2: the first buckets one row larger", WindowFunc{Kind: WinNtile, Arg: -1, Offset: 2}, long, "1 1 1 2 1 1 2 1"},
		{"ntile beyond the rows", WindowFunc{Kind: WinNtile, Arg: -1, Offset: 5}, long, "1 1 2 3 1 2 3 1"},
		{"max of the row alone", WindowFunc{Kind: WinMax, Arg: 4, ArgWeight: 4, Frame: FrameSliding, Preceding: 0}, dec(2), "3.00 1.50 NULL 2.25 4.00 1.00 NULL NULL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, in := windowInput(tt.col)
			vc := newCursor(t).on("q", rs(cols(c...), in...))
			fn := tt.fn
			fn.Field, fn.Text = 1, tt.name
			w := &Window{Input: &Route{Cluster: "c1", SQL: "q"}, Partition: windowPartition, Order: windowOrder, Funcs: []WindowFunc{fn}, Hidden: 6}
			rw := &recWriter{}
			got := wantComplete(t, vc, rw, w.Execute(vc, rw))
			var ids, vs []string
			for _, r := range got.rows {
				ids = append(ids, r[0])
				v := r[1]
				if v == NULL {
					v = "NULL"
				}
				vs = append(vs, v)
				if len(r) != 8 {
					t.Errorf("row %v: %d columns, want 8 (helpers are Trim's to drop)", r, len(r))
				}
			}
			if s := strings.Join(ids, " "); s != "7 1 2 3 4 5 6 8" {
				t.Errorf("ids %q: rows must leave in input order", s)
			}
			if s := strings.Join(vs, " "); s != tt.want {
				t.Errorf("values %q, want %q", s, tt.want)
			}
			wantClean(t, vc, "q")
			if held := vc.mem.Used(); held != 0 {
				t.Errorf("%d bytes still held after the statement", held)
			}
		})
	}
}

// Several functions at once, one of them after SELECT * (FromEnd), each
// filled in its own column.
func TestWindowSeveralFunctions(t *testing.T) {
	c, in := windowInput([]any{"f", tLong, "g", tDecimal, 2})
	for i := range in {
		in[i] = append(in[i][:2], append(vals{[]byte("shard value")}, in[i][2:]...)...)
	}
	vc := newCursor(t).on("q", rs(cols(c...), in...))
	w := &Window{Input: &Route{Cluster: "c1", SQL: "q"}, Partition: windowPartition, Order: windowOrder, Hidden: 6, Funcs: []WindowFunc{
		{Kind: WinRowNumber, Field: 1, Arg: -1},
		{Kind: WinSum, Field: 1, FromEnd: true, Arg: 4},
	}}
	rw := &recWriter{}
	got := wantComplete(t, vc, rw, w.Execute(vc, rw))
	var out []string
	for _, r := range got.rows {
		out = append(out, r[0]+":"+r[1]+":"+r[2])
	}
	want := "7:1:3.00 1:1:1.50 2:2:1.50 3:3:3.75 4:1:5.00 5:2:5.00 6:3:5.00 8:1:" + NULL
	if s := strings.Join(out, " "); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
}

// Rows leave as soon as their values are known: numbering a million-row
// partition holds a row at a time, while a frame to the partition's end
// holds the partition and is refused by a small budget (1038).
func TestWindowMemory(t *testing.T) {
	c := cols("id", tLong, "f", tLong, "h0", tLong, "h1", tString, "h2", tLong, "h3", tString, "h4", tLong)
	var in []vals
	for i := 1; i <= 2000; i++ {
		in = append(in, row(i, 0, 1, "1", i, strconv.Itoa(i), i))
	}
	for _, tt := range []struct {
		name string
		fn   WindowFunc
		ok   bool
	}{
		{"row_number streams", WindowFunc{Kind: WinRowNumber, Field: 1, Arg: -1}, true},
		{"lag streams", WindowFunc{Kind: WinLag, Field: 1, Arg: 4, Offset: 3, Default: -1}, true},
		{"running sum streams", WindowFunc{Kind: WinSum, Field: 1, Arg: 4, Frame: FrameRows}, true},
		{"sliding sum streams", WindowFunc{Kind: WinSum, Field: 1, Arg: 4, Frame: FrameSliding, Preceding: 5}, true},
		{"whole partition is held", WindowFunc{Kind: WinSum, Field: 1, Arg: 4, Frame: FramePartition}, false},
		{"ntile holds the partition", WindowFunc{Kind: WinNtile, Field: 1, Arg: -1, Offset: 3}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t).withMemory(64<<10).on("q", rs(c, in...))
			w := &Window{Input: &Route{Cluster: "c1", SQL: "q"}, Partition: []SortKey{{Value: 0, Weight: 1}}, Order: []SortKey{{Value: 2, Weight: 3}}, Funcs: []WindowFunc{tt.fn}, Hidden: 5}
			rw := &recWriter{}
			err := w.Execute(vc, rw)
			if tt.ok {
				got := wantComplete(t, vc, rw, err)
				if len(got.rows) != 2000 {
					t.Fatalf("%d rows", len(got.rows))
				}
			} else {
				wantFailed(t, vc, rw, err)
				wantCode(t, err, mysql.ER_OUT_OF_SORTMEMORY, "window functions")
			}
			if held := vc.mem.Used(); held != 0 {
				t.Errorf("%d bytes still held after the statement", held)
			}
		})
	}
}

// SUM and AVG of what is not a number are refused before any row: the
// proxy does not read dates or strings as numbers as MariaDB does.
func TestWindowSumOfText(t *testing.T) {
	c := cols("id", tLong, "f", tDouble, "h0", tDate)
	vc := newCursor(t).on("q", rs(c, row(1, "x", "2026-01-01 00:00:00")))
	w := &Window{Input: &Route{Cluster: "c1", SQL: "q"}, Funcs: []WindowFunc{{Kind: WinSum, Field: 1, Arg: 0, Text: "SUM(created) OVER ()"}}, Hidden: 1}
	rw := &recWriter{}
	err := w.Execute(vc, rw)
	wantFailed(t, vc, rw, err)
	wantCode(t, err, mysql.ER_NOT_SUPPORTED_YET, "SUM(created) OVER ()")
}

func TestWindowDescribe(t *testing.T) {
	w := &Window{Input: &Route{Cluster: "c1", SQL: "q"}, Partition: windowPartition, Order: []SortKey{{Value: 2, Weight: 3, Desc: true}},
		Funcs: []WindowFunc{{Kind: WinRank, Text: "RANK() OVER w"}, {Kind: WinSum, Text: "SUM(x) OVER w"}}}
	if got, want := w.Describe(), "Window RANK() OVER w, SUM(x) OVER w partition by h0 asc order by h2 desc"; got != want {
		t.Errorf("Describe %q, want %q", got, want)
	}
	if got, want := w.mergeSummary(), "compute windows RANK() OVER w, SUM(x) OVER w"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

// Sorted: LAG's and MAX's values are also written, with their weight
// strings, into their helper slots, where a MemorySort compares them by
// collation.
func TestWindowSortedSlots(t *testing.T) {
	c := cols("id", tLong, "l", tString, "m", tString, "h0", tLong, "h1", tString, "h2", tString, "h3", tString, "h4", tString, "h5", tString, "h6", tString, "h7", tString)
	r := func(id int, name string) vals {
		return row(id, "x", "x", id, strconv.Itoa(id), name, ci(name), "slot", "slot", "slot", "slot")
	}
	vc := newCursor(t).on("q", rs(c, r(1, "b"), r(2, "a"), r(3, "C")))
	w := &Window{Input: &Route{Cluster: "c1", SQL: "q"}, Order: []SortKey{{Value: 0, Weight: 1}}, Hidden: 8, Funcs: []WindowFunc{
		{Kind: WinLag, Field: 1, Arg: 2, ArgWeight: 3, Offset: 1, Default: -1, Sorted: true, Slot: 4},
		{Kind: WinMax, Field: 2, Arg: 2, ArgWeight: 3, Sorted: true, Slot: 6},
	}}
	sorted := &MemorySort{Input: w, Hidden: 8, Keys: []MemorySortKey{{Key: &SortKey{Value: 4, Weight: 5}, Desc: true}, {Key: &SortKey{Value: 6, Weight: 7}}}}
	rw := &recWriter{}
	got := wantComplete(t, vc, rw, sorted.Execute(vc, rw))
	var out []string
	for _, r := range got.rows {
		out = append(out, strings.Join([]string{r[0], r[1], r[2], r[7], r[8], r[9], r[10]}, ":"))
	}
	// LAG: NULL, b, a; MAX by weight: b, b, C. Sorted by LAG descending
	// (NULL last), then MAX.
	want := "2:b:b:b:B:b:B 3:a:C:a:A:C:C 1:" + NULL + ":b:" + NULL + ":" + NULL + ":b:B"
	if s := strings.Join(out, " "); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
}

// A shard that returns fewer columns than the helpers asked fails the
// statement; it never panics.
func TestWindowShortRow(t *testing.T) {
	vc := newCursor(t).on("q", rs(cols("id", tLong), row(1)))
	w := &Window{Input: &Route{Cluster: "c1", SQL: "q"}, Order: []SortKey{{Value: 0, Weight: 1}}, Funcs: []WindowFunc{{Kind: WinRowNumber, Field: 0, Arg: -1}}, Hidden: 2}
	rw := &recWriter{}
	err := w.Execute(vc, rw)
	wantFailed(t, vc, rw, err)
	wantCode(t, err, mysql.ER_UNKNOWN_ERROR, "fewer columns")
}

// A select field after SELECT * is read back from the first helper
// column (Col with a negative helper index), as the planner sorts by a
// window function's value there.
func TestColCountsBackFromHelpers(t *testing.T) {
	env := &evalEnv{kinds: []valueKind{kindInt, kindInt, kindInt, kindString}, base: 3}
	r := &Row{Vals: [][]byte{[]byte("1"), []byte("2"), []byte("3"), []byte("h")}, Nulls: make([]bool, 4)}
	if v := (Col{Index: -1, Helper: true}).eval(r, env); v.null || v.number().String() != "3/1" {
		t.Errorf("Col{-1, helper} = %+v, want the last select field, 3", v)
	}
	if v := (Col{Index: -4, Helper: true}).eval(r, env); !v.null {
		t.Errorf("Col{-4, helper} = %+v, want NULL (no such column), not a panic", v)
	}
}
