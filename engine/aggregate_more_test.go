package engine

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// BIT_AND/OR/XOR: each shard's partial combined; a shard with no rows
// sends the operation's identity (BIT_AND all ones), and so does the
// merge of no rows at all.
func TestOrderedAggregateBits(t *testing.T) {
	// Visible and, or, xor; helpers: their partials.
	c := cols("a", tLong, "o", tLong, "x", tLong, "h0", tLong, "h1", tLong, "h2", tLong)
	aggs := []AggSpec{{Kind: AggBitAnd, Visible: 0, H: []int{0}}, {Kind: AggBitOr, Visible: 1, H: []int{1}}, {Kind: AggBitXor, Visible: 2, H: []int{2}}}
	part := func(and, or, xor string) vals { return row(and, or, xor, and, or, xor) }
	const all = "18446744073709551615"
	tests := []struct {
		name string
		in   []vals
		want vals
	}{
		{name: "two shards", in: []vals{part("12", "12", "12"), part("10", "10", "10")}, want: row("8", "14", "6")},
		{name: "an empty shard is the identity", in: []vals{part("12", "13", "7"), part(all, "0", "0"), part("4", "1", "1")}, want: row("4", "13", "6")},
		{name: "every shard empty", in: []vals{part(all, "0", "0"), part(all, "0", "0")}, want: row(all, "0", "0")},
		{name: "high bit kept", in: []vals{part(all, "9223372036854775808", "9223372036854775808"), part("9223372036854775809", "1", "9223372036854775808")},
			want: row("9223372036854775809", "9223372036854775809", "0")},
		// Shards grouping by GROUP_CONCAT elements return no row over no
		// rows: the one row of empty aggregates is made.
		{name: "no rows at all", in: nil, want: row(all, "0", "0")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			rsps := []*resp{rs(c)}
			for _, r := range tt.in {
				rsps = append(rsps, rs(c, r))
			}
			agg := &OrderedAggregate{Input: &MergeSort{Routes: routes(vc, rsps...), Hidden: 3}, Aggs: aggs, Hidden: 3}
			w := &recWriter{}
			got := wantComplete(t, vc, w, (&Trim{Input: agg, Hidden: 3}).Execute(vc, w))
			wantRows(t, got.rows, tt.want)
		})
	}
}

// STD and VARIANCE from each shard's count, sum and population variance:
// equal to the two-pass formula over all values within 1e-12, whatever
// the split (empty shards, one value, a large offset that would cancel
// in a sum of squares), NULL where MariaDB gives NULL.
func TestOrderedAggregateStats(t *testing.T) {
	// Visible std_pop (4 fixed decimals, as STD of an integer), var_samp
	// (every digit); helpers per aggregate: slot, count, sum, var_pop.
	mk := func(sumType byte, sumDec int) []any {
		return []any{"sd", tDouble, 4, "vs", tDouble, 31,
			"h0", tDouble, 4, "h1", tLong, "h2", sumType, sumDec, "h3", tDouble, 31,
			"h4", tDouble, 31, "h5", tLong, "h6", sumType, sumDec, "h7", tDouble, 31}
	}
	aggs := []AggSpec{
		{Kind: AggStdPop, Visible: 0, H: []int{0, 1, 2, 3}},
		{Kind: AggVarSamp, Visible: 1, H: []int{4, 5, 6, 7}},
	}
	// part is one shard's partials over xs, as MariaDB prints them.
	part := func(exact bool, xs []float64) vals {
		n, sum := len(xs), 0.0
		for _, x := range xs {
			sum += x
		}
		cnt, s, vp := strconv.Itoa(n), NULL, NULL
		if n > 0 {
			mean, m2 := sum/float64(n), 0.0
			for _, x := range xs {
				m2 += (x - mean) * (x - mean)
			}
			vp = string(formatFloat(m2 / float64(n)))
			s = string(formatFloat(sum))
			if exact {
				s = strconv.FormatFloat(sum, 'f', 2, 64)
			}
		}
		return row("0", "0", "0", cnt, s, vp, "0", cnt, s, vp)
	}
	tests := []struct {
		name  string
		exact bool // decimals (an exact SUM); otherwise doubles
		parts [][]float64
	}{
		{name: "decimals over three shards, one empty", exact: true, parts: [][]float64{{1.5, 2.25, 3}, {}, {10.75, -4}}},
		{name: "doubles", parts: [][]float64{{0.1, 0.2}, {0.3}, {1e-3, 7.25, 100}}},
		{name: "doubles with a large offset", parts: [][]float64{{1e9 + 1, 1e9 + 2}, {1e9 + 3}, {1e9 + 4, 1e9 + 6}}},
		{name: "decimals with a large offset", exact: true, parts: [][]float64{{1e9 + 0.25, 1e9 + 0.5}, {1e9 + 0.75}}},
		{name: "one value: sample NULL", exact: true, parts: [][]float64{{}, {42}}},
		{name: "no values: NULL", parts: [][]float64{{}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sumType, sumDec := byte(tDouble), 31
			if tt.exact {
				sumType, sumDec = tDecimal, 2
			}
			c := cols(mk(sumType, sumDec)...)
			vc := newCursor(t)
			var rsps []*resp
			var all []float64
			for _, p := range tt.parts {
				rsps = append(rsps, rs(c, part(tt.exact, p)))
				all = append(all, p...)
			}
			agg := &OrderedAggregate{Input: &MergeSort{Routes: routes(vc, rsps...), Hidden: 8}, Aggs: aggs, Hidden: 8}
			w := &recWriter{}
			got := wantComplete(t, vc, w, agg.Execute(vc, w))
			if len(got.rows) != 1 {
				t.Fatalf("rows %v", got.rows)
			}
			r := got.rows[0]
			n := float64(len(all))
			mean, m2 := 0.0, 0.0
			for _, x := range all {
				mean += x / n
			}
			for _, x := range all {
				m2 += (x - mean) * (x - mean)
			}
			if len(all) == 0 {
				if r[0] != NULL || r[1] != NULL || r[2] != NULL {
					t.Errorf("no values: %v, want NULLs", r)
				}
				return
			}
			if want := strconv.FormatFloat(math.Sqrt(m2/n), 'f', 4, 64); r[0] != want {
				t.Errorf("STD %s, want %s (4 decimals, the column's)", r[0], want)
			}
			slot, _ := strconv.ParseFloat(r[2], 64)
			if want := math.Sqrt(m2 / n); math.Abs(slot-want) > 1e-12*want {
				t.Errorf("STD slot %s (HAVING reads it), want %v at full precision", r[2], want)
			}
			if len(all) == 1 {
				if r[1] != NULL {
					t.Errorf("VAR_SAMP of one value %s, want NULL", r[1])
				}
				return
			}
			vs, _ := strconv.ParseFloat(r[1], 64)
			if want := m2 / (n - 1); math.Abs(vs-want) > 1e-12*want {
				t.Errorf("VAR_SAMP %s, want %v", r[1], want)
			}
		})
	}
}

// gcCols: visible k and the GROUP_CONCAT; helpers 0 k, 1 its weight, 2
// slot, 3 max len, 4 character_set_results, 5 count, 6 elem, 7 raw, 8 elem
// and separator, 9 raw too, 10 charset, 11 order key, 12 its weight, 13
// distinct key, 14 its weight.
var gcCols = cols("k", tString, "gc", tString, "h0", tString, "h1", tString, "h2", tString, "h3", tLong, "h4", tString, "h5", tLong,
	"h6", tString, "h7", tString, "h8", tString, "h9", tString, "h10", tString, "h11", tInt, "h12", tString, "h13", tString, "h14", tString)

// gcPart is one shard's row for one element: key k, the element as the
// client reads it (text, in results) and as the server holds it (raw, in
// utf8mb4), how many rows gave it, its order key.
type gcPart struct {
	k, text, raw string
	count, order int
}

func (p gcPart) vals(maxLen int, results, sep, rawSep string) vals {
	text, raw, ts, rs := p.text, p.raw, p.text+sep, p.raw+rawSep
	w := ci(p.text)
	if p.text == NULL {
		text, raw, ts, rs, w = NULL, NULL, NULL, NULL, NULL
	}
	return row(p.k, "", p.k, ci(p.k), "", strconv.Itoa(maxLen), results, strconv.Itoa(p.count), text, raw, ts, rs, "utf8mb4", strconv.Itoa(p.order), strconv.Itoa(p.order), p.text, w)
}

func TestOrderedAggregateGroupConcat(t *testing.T) {
	tests := []struct {
		name     string
		spec     ConcatSpec // positions filled in below
		maxLen   int
		results  string // "": the server does not convert
		sep, raw string // the separator as read and as held
		grouped  bool
		shards   [][]gcPart
		want     []vals
		warnings int
	}{
		{name: "ORDER BY DESC over shards, elements repeated by their count", spec: ConcatSpec{Order: []SortKey{{Value: 11, Weight: 12, Desc: true}}},
			maxLen: 1024, sep: "|", raw: "|", grouped: true,
			shards: [][]gcPart{{{"a", "x", "x", 2, 3}, {"a", "y", "y", 1, 1}, {"b", "q", "q", 1, 1}}, {{"a", "z", "z", 1, 2}, {"c", NULL, NULL, 3, 0}}},
			want:   []vals{row("a", "x|x|z|y"), row("b", "q"), row("c", NULL)}},
		{name: "DISTINCT by collation, sorted by it without ORDER BY", spec: ConcatSpec{Distinct: true, DistinctBy: []SortKey{{Value: 13, Weight: 14}}},
			maxLen: 1024, sep: ",", raw: ",", grouped: true,
			shards: [][]gcPart{{{"a", "b", "b", 5, 0}, {"a", "A", "A", 1, 0}}, {{"a", "a", "a", 1, 0}, {"a", "c", "c", 2, 0}, {"a", "", "", 1, 0}}},
			want:   []vals{row("a", ",A,b,c")}},
		{name: "DISTINCT with ORDER BY: the first by the ORDER BY stays", spec: ConcatSpec{Distinct: true, DistinctBy: []SortKey{{Value: 13, Weight: 14}}, Order: []SortKey{{Value: 11, Weight: 12}}},
			maxLen: 1024, sep: ",", raw: ",", grouped: true,
			shards: [][]gcPart{{{"a", "b", "b", 1, 5}, {"a", "A", "A", 1, 4}, {"a", "c", "c", 1, 1}}, {{"a", "a", "a", 1, 2}, {"a", "B", "B", 1, 3}}},
			want:   []vals{row("a", "c,a,B")}},
		{name: "cut at max len inside a character, warned once", spec: ConcatSpec{Order: []SortKey{{Value: 11, Weight: 12}}},
			maxLen: 6, sep: "·", raw: "·", grouped: true,
			shards:   [][]gcPart{{{"a", "ab", "ab", 1, 1}, {"a", "éé", "éé", 1, 2}}, {{"b", "ab", "ab", 1, 1}}},
			want:     []vals{row("a", "ab·é"), row("b", "ab")},
			warnings: 1},
		{name: "cut inside the separator", spec: ConcatSpec{Order: []SortKey{{Value: 11, Weight: 12}}},
			maxLen: 5, sep: "·", raw: "·", grouped: true,
			shards:   [][]gcPart{{{"a", "abcd", "abcd", 2, 1}}},
			want:     []vals{row("a", "abcd")},
			warnings: 1},
		// latin1 to the client, utf8mb4 on the server: é is one byte read,
		// two counted.
		{name: "cut counted in the server's character set", spec: ConcatSpec{Order: []SortKey{{Value: 11, Weight: 12}}},
			maxLen: 8, results: "latin1", sep: ",", raw: ",", grouped: true,
			shards:   [][]gcPart{{{"a", "\xe9lan", "élan", 1, 1}}, {{"a", "\xe9t\xe9", "été", 1, 2}}},
			want:     []vals{row("a", "\xe9lan,\xe9")},
			warnings: 1},
		{name: "no GROUP BY and no rows: one NULL", maxLen: 1024, sep: ",", raw: ",", want: []vals{row(NULL, NULL)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			spec.MaxLen, spec.Results, spec.Count, spec.Elem, spec.Raw, spec.ElemSep, spec.RawSep, spec.Charset = 3, 4, 5, 6, 7, 8, 9, 10
			aggs := []AggSpec{{Kind: AggGroupConcat, Visible: 1, H: []int{2}, Concat: &spec}}
			vc := newCursor(t)
			var rsps []*resp
			for _, shard := range tt.shards {
				var rows []vals
				for _, p := range shard {
					rows = append(rows, p.vals(tt.maxLen, tt.results, tt.sep, tt.raw))
				}
				rsps = append(rsps, rs(gcCols, rows...))
			}
			if len(rsps) == 0 {
				rsps = append(rsps, rs(gcCols))
			}
			if tt.results == "" {
				for _, r := range rsps {
					for _, v := range r.rows {
						v[2+4] = nil // @@character_set_results NULL
					}
				}
			}
			var keys []SortKey
			if tt.grouped {
				keys = []SortKey{{Value: 0, Weight: 1}}
			}
			agg := &OrderedAggregate{Input: &MergeSort{Routes: routes(vc, rsps...), Keys: keys, Hidden: 15, Purpose: MergeForGroups},
				Group: tt.grouped, Keys: keys, Aggs: aggs, Hidden: 15}
			w := &recWriter{}
			got := wantComplete(t, vc, w, (&Trim{Input: agg, Hidden: 15}).Execute(vc, w))
			wantRows(t, got.rows, tt.want...)
			if len(vc.warnings) != tt.warnings {
				t.Errorf("warnings %q, want %d", vc.warnings, tt.warnings)
			}
			// The final EOF counts them, as a server's does.
			if eof := w.packets[len(w.packets)-1]; eof[0] != 0xfe || int(binary.LittleEndian.Uint16(eof[1:3])) != tt.warnings {
				t.Errorf("final EOF %x, want %d warnings in it", eof, tt.warnings)
			}
			for _, m := range vc.warnings {
				if !strings.HasPrefix(m, "Warning 1260 Row ") || !strings.HasSuffix(m, " was cut by GROUP_CONCAT()") {
					t.Errorf("warning %q is not MariaDB's", m)
				}
			}
			if used := vc.mem.Used(); used != 0 {
				t.Errorf("%d bytes still reserved after the statement", used)
			}
		})
	}
}

// A group's elements, and the value joined from them, are held within
// the statement's memory: past it the statement fails with 1041 naming
// what needed the memory, and everything reserved is given back.
func TestOrderedAggregateGroupConcatMemory(t *testing.T) {
	spec := ConcatSpec{MaxLen: 3, Results: 4, Count: 5, Elem: 6, Raw: 7, ElemSep: 8, RawSep: 9, Charset: 10}
	aggs := []AggSpec{{Kind: AggGroupConcat, Visible: 1, H: []int{2}, Concat: &spec}}
	many := func() []vals { // 2,000 elements of 100 bytes
		var rows []vals
		for i := range 2000 {
			s := strings.Repeat("x", 100) + strconv.Itoa(i)
			rows = append(rows, gcPart{"a", s, s, 1, i}.vals(1<<20, "utf8mb4", ",", ","))
		}
		return rows
	}
	s := strings.Repeat("y", 1000)
	tests := []struct {
		name string
		rows []vals
	}{
		{name: "the elements", rows: many()},
		// One element of 1,000 bytes from 1,000 rows: the value would be
		// 1 MB.
		{name: "the value", rows: []vals{gcPart{"a", s, s, 1000, 1}.vals(1<<20, "utf8mb4", ",", ",")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t).withMemory(64 << 10)
			keys := []SortKey{{Value: 0, Weight: 1}}
			agg := &OrderedAggregate{Input: &MergeSort{Routes: routes(vc, rs(gcCols, tt.rows...)), Keys: keys, Hidden: 15, Purpose: MergeForGroups},
				Group: true, Keys: keys, Aggs: aggs, Hidden: 15}
			w := &recWriter{}
			err := (&Trim{Input: agg, Hidden: 15}).Execute(vc, w)
			wantFailed(t, vc, w, err)
			wantCode(t, err, mysql.ER_OUT_OF_RESOURCES, "GROUP_CONCAT")
			if used := vc.mem.Used(); used != 0 {
				t.Errorf("%d bytes still reserved after the statement failed", used)
			}
		})
	}
}

func TestCutText(t *testing.T) {
	tests := []struct {
		text, raw         string
		budget            int
		internal, results string
		want              string
		ok                bool
	}{
		{"abc", "abc", 2, "utf8mb4", "", "ab", true},
		{"aé", "aé", 2, "utf8mb4", "", "a", true},
		{"aé", "aé", 3, "utf8mb4", "utf8mb4", "aé", true},
		{"a\xe9b", "aéb", 3, "utf8mb4", "latin1", "a\xe9", true},
		{"a\xe9b", "aéb", 2, "utf8mb4", "latin1", "a", true},
		{"a?b", "aØb", 3, "utf8mb4", "gbk", "a?", true},                       // Ø has no gbk code: '?', one character
		{"\xb0\xa1x", "\xe5\x95\x8ax", 3, "utf8mb4", "gbk", "\xb0\xa1", true}, // 啊: 3 bytes held, 2 read
		{"ab", "\x00a\x00b", 2, "ucs2", "utf8mb4", "", false},
	}
	for _, tt := range tests {
		got, ok := cutText([]byte(tt.text), []byte(tt.raw), tt.budget, tt.internal, tt.results)
		if ok != tt.ok || (ok && string(got) != tt.want) {
			t.Errorf("cutText(%q, %q, %d, %s, %s) = %q %v, want %q %v", tt.text, tt.raw, tt.budget, tt.internal, tt.results, got, ok, tt.want, tt.ok)
		}
	}
}

// WITH ROLLUP: a run's row joins the elements of all its groups (the
// grand total's all of them), sorted as the statement says; what the runs
// hold is given back when each ends.
func TestOrderedAggregateGroupConcatRollup(t *testing.T) {
	spec := ConcatSpec{MaxLen: 3, Results: 4, Count: 5, Elem: 6, Raw: 7, ElemSep: 8, RawSep: 9, Charset: 10, Order: []SortKey{{Value: 11, Weight: 12}}}
	aggs := []AggSpec{{Kind: AggGroupConcat, Visible: 1, H: []int{2}, Concat: &spec}}
	p := func(k, e string, order int) vals { return gcPart{k, e, e, 1, order}.vals(1024, "utf8mb4", ",", ",") }
	vc := newCursor(t)
	keys := []SortKey{{Value: 0, Weight: 1}}
	agg := &OrderedAggregate{Input: &MergeSort{Routes: routes(vc,
		rs(gcCols, p("a", "a3", 3), p("b", "b1", 1)),
		rs(gcCols, p("a", "a1", 1), p("c", "c2", 2))), Keys: keys, Hidden: 15, Purpose: MergeForGroups},
		Group: true, Keys: keys, Aggs: aggs, Hidden: 15, Rollup: true, KeyFields: [][]int{{0}}}
	w := &recWriter{}
	got := wantComplete(t, vc, w, (&Trim{Input: agg, Hidden: 15}).Execute(vc, w))
	wantRows(t, got.rows, row("a", "a1,a3"), row("b", "b1"), row("c", "c2"), row(NULL, "a1,b1,c2,a3"))
	if used := vc.mem.Used(); used != 0 {
		t.Errorf("%d bytes still reserved after the statement", used)
	}
}
