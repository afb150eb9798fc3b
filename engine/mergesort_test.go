package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// ci is a case-insensitive weight string, as WEIGHT_STRING gives under a
// _ci collation.
func ci(s string) string { return strings.ToUpper(s) }

// keyed is a row labelled for tracing: label, key value, key weight.
func keyed(label, v string) vals {
	if v == NULL {
		return row(label, NULL, NULL)
	}
	return row(label, v, ci(v))
}

// keyCols: a visible label, then the key's value and weight as helpers.
func keyCols(t byte) []any { return []any{"label", tString, "h0", t, "h1", tString} }

func TestMergeSortOrder(t *testing.T) {
	tests := []struct {
		name   string
		cols   []any
		hidden int
		keys   []SortKey
		inputs [][]vals
		want   []string // labels in order
	}{
		{name: "collation by weight string", cols: keyCols(tString), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1}},
			inputs: [][]vals{{keyed("apple0", "apple"), keyed("Zebra0", "Zebra")}, {keyed("Apple1", "Apple"), keyed("banana1", "banana")}},
			want:   []string{"apple0", "Apple1", "banana1", "Zebra0"}},
		{name: "collation descending", cols: keyCols(tString), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1, Desc: true}},
			inputs: [][]vals{{keyed("Zebra0", "Zebra"), keyed("apple0", "apple")}, {keyed("banana1", "banana"), keyed("Apple1", "Apple")}},
			want:   []string{"Zebra0", "banana1", "apple0", "Apple1"}},
		{name: "nulls first ascending", cols: keyCols(tLong), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1}},
			inputs: [][]vals{{keyed("n0", NULL), keyed("5", "5")}, {keyed("n1", NULL), keyed("3", "3"), keyed("10", "10")}},
			want:   []string{"n0", "n1", "3", "5", "10"}},
		{name: "nulls last descending", cols: keyCols(tLong), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1, Desc: true}},
			inputs: [][]vals{{keyed("5", "5"), keyed("n0", NULL)}, {keyed("10", "10"), keyed("3", "3"), keyed("n1", NULL)}},
			want:   []string{"10", "5", "3", "n0", "n1"}},
		{name: "integers numerically", cols: keyCols(tLong), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1}},
			inputs: [][]vals{{keyed("-20", "-20"), keyed("9", "9"), keyed("10", "10")}, {keyed("-3", "-3"), keyed("2", "2"), keyed("100", "100"), keyed("max", "18446744073709551615")}},
			want:   []string{"-20", "-3", "2", "9", "10", "100", "max"}},
		{name: "decimals numerically", cols: keyCols(tDecimal), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1}},
			inputs: [][]vals{{keyed("-1.5", "-1.5"), keyed("2.50", "2.50"), keyed("10.0", "10.0")}, {keyed("-1", "-1"), keyed("2.5", "2.5"), keyed("3", "3")}},
			want:   []string{"-1.5", "-1", "2.50", "2.5", "3", "10.0"}},
		{name: "doubles numerically", cols: keyCols(tDouble), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1}},
			inputs: [][]vals{{keyed("-1e3", "-1e3"), keyed("999.5", "999.5")}, {keyed("2", "2"), keyed("1e3", "1e3")}},
			want:   []string{"-1e3", "2", "999.5", "1e3"}},
		{name: "times by duration", cols: keyCols(tTime), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1}},
			inputs: [][]vals{{keyed("-01:00:00", "-01:00:00"), keyed("100:00:00", "100:00:00")}, {keyed("00:30:00", "00:30:00"), keyed("09:00:00.5", "09:00:00.5")}},
			want:   []string{"-01:00:00", "00:30:00", "09:00:00.5", "100:00:00"}},
		{name: "datetimes", cols: keyCols(tDate), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1}},
			inputs: [][]vals{{keyed("a", "2024-01-02 00:00:00"), keyed("c", "2024-12-01 00:00:00")}, {keyed("b", "2024-02-01 00:00:00")}},
			want:   []string{"a", "b", "c"}},
		{name: "ties keep input order", cols: keyCols(tString), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1}},
			inputs: [][]vals{{keyed("a1", "k"), keyed("a2", "K")}, {keyed("b1", "k"), keyed("b2", "l")}, {keyed("c0", "j"), keyed("c1", "k")}},
			want:   []string{"c0", "a1", "a2", "b1", "c1", "b2"}},
		{name: "no keys: input order", cols: keyCols(tString), hidden: 2,
			inputs: [][]vals{{keyed("a1", "z"), keyed("a2", "a")}, {keyed("b1", "a")}},
			want:   []string{"a1", "a2", "b1"}},
		{name: "two keys, desc then asc", cols: []any{"label", tString, "h0", tString, "h1", tString, "h2", tInt, "h3", tString}, hidden: 4,
			keys: []SortKey{{Value: 0, Weight: 1, Desc: true}, {Value: 2, Weight: 3}},
			inputs: [][]vals{
				{row("b10", "b", "B", "10", "x"), row("a9", "a", "A", "9", "x")},
				{row("B2", "B", "B", "2", "x"), row("b11", "b", "B", "11", "x"), row("A10", "A", "A", "10", "x")},
			},
			want: []string{"B2", "b10", "b11", "a9", "A10"}},
		{name: "empty inputs", cols: keyCols(tString), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1}},
			inputs: [][]vals{{}, {}, {}}},
		{name: "some empty", cols: keyCols(tString), hidden: 2, keys: []SortKey{{Value: 0, Weight: 1}},
			inputs: [][]vals{{}, {keyed("b", "b")}, {}, {keyed("a", "a")}},
			want:   []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.conc = 1 // a merge runs every input at once regardless
			header := cols(tt.cols...)
			var rsps []*resp
			byLabel := map[string]vals{}
			for _, in := range tt.inputs {
				rsps = append(rsps, rs(header, in...))
				for _, r := range in {
					byLabel[string(r[0])] = r
				}
			}
			m := &MergeSort{Routes: routes(vc, rsps...), Keys: tt.keys, Hidden: tt.hidden}
			w := &recWriter{}
			got := wantComplete(t, vc, w, m.Execute(vc, w))
			var want []vals
			for _, l := range tt.want {
				want = append(want, byLabel[l])
			}
			// Rows keep every column, helpers too (Trim drops those).
			wantRows(t, got.rows, want...)
			if len(got.cols) != len(header) {
				t.Errorf("%d columns, want %d", len(got.cols), len(header))
			}
			if vc.peak != len(tt.inputs) {
				t.Errorf("peak of %d connections, want every input at once (%d)", vc.peak, len(tt.inputs))
			}
			for i := range tt.inputs {
				wantClean(t, vc, sqlOf(i))
			}
		})
	}
}

func TestMergeSortErrors(t *testing.T) {
	header := cols(keyCols(tLong)...)
	in := func(ks ...int) *resp {
		var rows []vals
		for _, k := range ks {
			rows = append(rows, keyed(fmt.Sprint(k), fmt.Sprint(k)))
		}
		return rs(header, rows...)
	}
	tests := []struct {
		name       string
		resps      []*resp
		seq        bool
		hidden     int
		failAt     int
		err        uint16
		clientGone bool
		fates      []string
		rows       int // rows the client got before the error
	}{
		{name: "server error mid-stream", resps: []*resp{in(1, 4, 7), in(2, 5, 8).failAfter(2, mysql.ER_QUERY_INTERRUPTED, "killed"), in(3, 6, 9)},
			err: mysql.ER_QUERY_INTERRUPTED, fates: []string{"abandoned", "server", "abandoned"}, rows: 4},
		{name: "server error after one input finished", resps: []*resp{in(1), in(2, 5, 8).failAfter(2, mysql.ER_QUERY_INTERRUPTED, "killed")},
			err: mysql.ER_QUERY_INTERRUPTED, fates: []string{"clean", "server"}, rows: 2},
		{name: "broken mid-stream", resps: []*resp{in(1, 4, 7), in(2, 5, 8).breakAfter(1)},
			err: mysql.ER_UNKNOWN_ERROR, fates: []string{"abandoned", "broken"}, rows: 1},
		{name: "server error at a header", resps: []*resp{in(1, 4), srvErr(mysql.ER_NO_SUCH_TABLE, "gone"), in(3)},
			err: mysql.ER_NO_SUCH_TABLE, fates: []string{"abandoned", "server", "abandoned"}},
		{name: "server error at the first row", resps: []*resp{in(1, 4), in(2).failAfter(0, mysql.ER_QUERY_INTERRUPTED, "killed"), in(3)},
			err: mysql.ER_QUERY_INTERRUPTED, fates: []string{"abandoned", "server", "abandoned"}},
		{name: "broken at send", resps: []*resp{in(1), in(2), broken(true)},
			err: mysql.ER_CONNECT_TO_FOREIGN_DATA_SOURCE, fates: []string{"abandoned", "abandoned", "broken"}},
		{name: "client gone", resps: []*resp{in(1, 3, 5), in(2, 4, 6)}, failAt: 7,
			clientGone: true, fates: []string{"abandoned", "abandoned"}},
		{name: "fewer columns than helpers", resps: []*resp{in(1), in(2)}, hidden: 4,
			err: mysql.ER_UNKNOWN_ERROR, fates: []string{"abandoned", "abandoned"}},
		{name: "sequential: server error in the second input", seq: true, resps: []*resp{in(1, 3), in(2).failAfter(0, mysql.ER_QUERY_INTERRUPTED, "killed")},
			err: mysql.ER_QUERY_INTERRUPTED, fates: []string{"clean", "server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.seq = tt.seq
			hidden := 2
			if tt.hidden != 0 {
				hidden = tt.hidden
			}
			m := &MergeSort{Routes: routes(vc, tt.resps...), Keys: []SortKey{{Value: 0, Weight: 1}}, Hidden: hidden}
			w := &recWriter{failAt: tt.failAt}
			err := m.Execute(vc, w)
			wantFailed(t, vc, w, err)
			if tt.clientGone {
				if Classify(err) != FaultClient {
					t.Errorf("error %v, want the client's", err)
				}
			} else {
				wantCode(t, err, tt.err)
			}
			checkFates(t, vc, tt.fates)
			if got := decode(t, w.packets); len(got.rows) != tt.rows && !tt.clientGone {
				t.Errorf("client got %d rows before the error, want %d", len(got.rows), tt.rows)
			}
		})
	}
}

// Inside a transaction (the session's steps run one by one) a merge reads
// each input whole in turn, never two at once, and merges them.
func TestMergeSortSequentialBuffers(t *testing.T) {
	header := cols(keyCols(tLong)...)
	vc := newCursor(t)
	vc.seq = true
	m := &MergeSort{Routes: routes(vc,
		rs(header, keyed("1", "1"), keyed("4", "4")),
		rs(header, keyed("2", "2"), keyed("3", "3"), keyed("5", "5"))), Keys: []SortKey{{Value: 0, Weight: 1}}, Hidden: 2}
	w := &recWriter{}
	got := wantComplete(t, vc, w, m.Execute(vc, w))
	wantRows(t, got.rows, keyed("1", "1"), keyed("2", "2"), keyed("3", "3"), keyed("4", "4"), keyed("5", "5"))
	if vc.peak != 1 {
		t.Errorf("peak of %d connections at once, want 1", vc.peak)
	}
	if used := vc.mem.Used(); used != 0 {
		t.Errorf("%d bytes still reserved after the merge", used)
	}

	// The rows are reserved from the statement's account: past it, 1038
	// and nothing left reserved.
	vc = newCursor(t).withMemory(300)
	vc.seq = true
	var many []vals
	for i := 0; i < 20; i++ {
		many = append(many, keyed(fmt.Sprint(i), fmt.Sprint(i)))
	}
	m = &MergeSort{Routes: routes(vc, rs(header, keyed("1", "1")), rs(header, many...)), Keys: []SortKey{{Value: 0, Weight: 1}}, Hidden: 2}
	w = &recWriter{}
	err := m.Execute(vc, w)
	wantFailed(t, vc, w, err)
	wantCode(t, err, mysql.ER_OUT_OF_SORTMEMORY)
	if used := vc.mem.Used(); used != 0 {
		t.Errorf("%d bytes still reserved after the refusal", used)
	}
}

// Inside a transaction a merge of one input runs on the session's
// connection.
func TestMergeSortSequentialOneInput(t *testing.T) {
	vc := newCursor(t)
	vc.seq = true
	m := &MergeSort{Routes: routes(vc, rs(cols(keyCols(tLong)...), keyed("1", "1"), keyed("2", "2"))), Keys: []SortKey{{Value: 0, Weight: 1}}, Hidden: 2}
	w := &recWriter{}
	got := wantComplete(t, vc, w, m.Execute(vc, w))
	wantRows(t, got.rows, keyed("1", "1"), keyed("2", "2"))
}

// BenchmarkKWayMerge merges 16 inputs of 1000 rows each, keyed by a
// string (weight string) and an integer.
func BenchmarkKWayMerge(b *testing.B) {
	const inputs, perInput = 16, 1000
	header := cols("name", tString, "n", tLong, "h0", tString, "h1", tString, "h2", tLong, "h3", tString)
	var rsps []*resp
	for i := 0; i < inputs; i++ {
		var rows []vals
		for j := 0; j < perInput; j++ {
			name := fmt.Sprintf("name%05d", j*inputs+i)
			n := fmt.Sprint(j % 7)
			rows = append(rows, row(name, n, name, ci(name), n, n))
		}
		rsps = append(rsps, rs(header, rows...))
	}
	keys := []SortKey{{Value: 0, Weight: 1}, {Value: 2, Weight: 3}}
	b.ReportAllocs()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		vc := newCursor(b)
		m := &MergeSort{Routes: routes(vc, rsps...), Keys: keys, Hidden: 4}
		w := &countWriter{}
		if err := m.Execute(vc, w); err != nil {
			b.Fatal(err)
		}
		if w.n != inputs*perInput+header0(len(header)) {
			b.Fatalf("%d packets", w.n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*inputs*perInput), "ns/row")
}

// header0 is the number of packets around the rows of a result.
func header0(ncols int) int { return 1 + ncols + 1 + 1 }

// countWriter counts packets without keeping them.
type countWriter struct{ n int }

func (w *countWriter) WritePacket([]byte) error { w.n++; return nil }
func (w *countWriter) Flush() error             { return nil }
