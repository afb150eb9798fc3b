package engine

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// fakeInner serves the inner side of a LookupJoin: statements "innerN IN
// (…)" answer the rows of table whose first column is among the values,
// compared as the server would (fold: the collation's equality; nil:
// exact text). It records every statement it answered.
type fakeInner struct {
	cols  []wire.Column
	table []vals
	fold  func(string) string
	sent  []string
}

func (f *fakeInner) serve(sql string) *resp {
	if !strings.HasPrefix(sql, "inner") && !strings.HasPrefix(sql, "(inner") {
		return nil
	}
	f.sent = append(f.sent, sql)
	var out []vals
	for _, part := range strings.Split(sql, " UNION ALL ") {
		_, list, _ := strings.Cut(part, " IN (")
		list = strings.TrimSuffix(strings.TrimSuffix(list, ")"), ")")
		want := map[string]bool{}
		for _, lit := range strings.Split(list, ",") {
			if lit == "NULL" {
				continue
			}
			lit = strings.TrimPrefix(lit, "_latin1 ")
			if h, ok := strings.CutPrefix(lit, "X'"); ok {
				b, _ := hex.DecodeString(strings.TrimSuffix(h, "'"))
				lit = string(b)
			}
			lit = strings.Trim(lit, "'")
			want[f.norm(lit)] = true
		}
		for _, r := range f.table {
			if r[0] != nil && want[f.norm(string(r[0]))] {
				out = append(out, r)
			}
		}
	}
	return rs(f.cols, out...)
}

func (f *fakeInner) norm(s string) string {
	if f.fold == nil {
		return s
	}
	return f.fold(s)
}

// latin1Fold is ciFold of latin1 text.
func latin1Fold(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return ciFold(strings.NewReplacer("ï", "i").Replace(string(r)))
}

// ciFold is utf8mb4_general_ci's equality for the test's strings.
func ciFold(s string) string {
	return strings.NewReplacer("é", "e", "É", "e", "ü", "u", "Ü", "u").Replace(strings.ToLower(strings.TrimRight(s, " ")))
}

func sortedStrRows(rows [][]string) string {
	var out []string
	for _, r := range rows {
		out = append(out, "("+strings.Join(r, ", ")+")")
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestLookupJoin(t *testing.T) {
	outerCols := cols("id", tLong, "k", tLong)
	innerCols := cols("k", tLong, "v")
	outerRows := []vals{row(1, 10), row(2, 20), row(3, NULL), row(4, 10), row(5, 30), row(6, 20)}
	innerRows := []vals{row(10, "a"), row(10, "b"), row(20, "c"), row(NULL, "n"), row(40, "d")}
	sCols := func(coll uint16) []wire.Column {
		c := cols("name")
		c[0].Charset = coll
		return c
	}
	fields := []JoinField{{Index: 0}, {Inner: true, Index: 1}}
	tests := []struct {
		name       string
		outerCols  []wire.Column
		outer      []vals
		inner      *fakeInner
		left       bool
		batch      int
		seq        bool
		fields     []JoinField
		innerRoute int // inner routes (default 1)
		router     KeyRouter
		memory     int64
		colls      []string
		// want: rows in any order; sent: inner statements in order.
		want []vals
		sent []string
		err  uint16
	}{
		{name: "inner join: duplicate keys both sides, NULL never matches",
			want: []vals{row(1, "a"), row(1, "b"), row(4, "a"), row(4, "b"), row(2, "c"), row(6, "c")},
			sent: []string{"inner0 IN (NULL)", "inner0 IN (10,20,30)"}},
		{name: "left join: unmatched and NULL-key rows extended with NULL", left: true,
			want: []vals{row(1, "a"), row(1, "b"), row(4, "a"), row(4, "b"), row(2, "c"), row(6, "c"), row(3, NULL), row(5, NULL)}},
		{name: "batches of two keys", batch: 2,
			want: []vals{row(1, "a"), row(1, "b"), row(4, "a"), row(4, "b"), row(2, "c"), row(6, "c")},
			sent: []string{"inner0 IN (NULL)", "inner0 IN (10,20)", "inner0 IN (30,20)"}},
		{name: "batches of one key, left", batch: 1, left: true,
			want: []vals{row(1, "a"), row(1, "b"), row(4, "a"), row(4, "b"), row(2, "c"), row(6, "c"), row(3, NULL), row(5, NULL)},
			sent: []string{"inner0 IN (NULL)", "inner0 IN (10)", "inner0 IN (20)", "inner0 IN (10)", "inner0 IN (30)", "inner0 IN (20)"}},
		{name: "inside a transaction: the driving side is read whole first", seq: true,
			want: []vals{row(1, "a"), row(1, "b"), row(4, "a"), row(4, "b"), row(2, "c"), row(6, "c")}},
		{name: "empty driving side: the header still comes from the inner side", outer: []vals{},
			sent: []string{"inner0 IN (NULL)"}},
		{name: "empty driving side, left", outer: []vals{}, left: true},
		{name: "only NULL keys, left: no lookup", outer: []vals{row(1, NULL)}, left: true,
			want: []vals{row(1, NULL)}, sent: []string{"inner0 IN (NULL)"}},
		{name: "values routed to the inner tables that hold them", innerRoute: 2, router: modRouter{},
			want: []vals{row(1, "a"), row(1, "b"), row(4, "a"), row(4, "b"), row(2, "c"), row(6, "c")},
			sent: []string{"inner0 IN (NULL)", "inner0 IN (20)", "inner1 IN (10,30)"}},
		{name: "a value no table can hold is not sent", innerRoute: 2, router: modRouter{none: "30"},
			want: []vals{row(1, "a"), row(1, "b"), row(4, "a"), row(4, "b"), row(2, "c"), row(6, "c")},
			sent: []string{"inner0 IN (NULL)", "inner0 IN (20)", "inner1 IN (10)"}},
		{name: "strings paired by collation weights (case, accents, trailing spaces)",
			outerCols: append(cols("id", tLong), sCols(45)...),
			outer:     []vals{row(1, "ABC"), row(2, "élan"), row(3, "Über "), row(4, "x")},
			inner:     &fakeInner{cols: append(sCols(45), cols("v")...), table: []vals{row("abc", "p"), row("Elan", "q"), row("uber", "r"), row("y", "s")}, fold: ciFold},
			want:      []vals{row(1, "p"), row(2, "q"), row(3, "r")}},
		{name: "latin1 results of utf8mb4_general_ci columns: the columns' collation, not latin1_swedish_ci (where Ü is Y)",
			outerCols: append(cols("id", tLong), sCols(8)...),
			outer:     []vals{row(1, "\xdcn\xefcode"), row(2, "y")},
			inner:     &fakeInner{cols: append(sCols(8), cols("v")...), table: []vals{row("unicode", "p"), row("\xfc", "q")}, fold: latin1Fold},
			colls:     []string{"utf8mb4_general_ci"},
			want:      []vals{row(1, "p")}},
		{name: "binary strings paired by bytes",
			outerCols: append(cols("id", tLong), sCols(63)...),
			outer:     []vals{row(1, "ABC"), row(2, "abc")},
			inner:     &fakeInner{cols: append(sCols(63), cols("v")...), table: []vals{row("abc", "p")}},
			want:      []vals{row(2, "p")}},
		{name: "strings of different collations are refused",
			outerCols: append(cols("id", tLong), sCols(45)...),
			outer:     []vals{row(1, "a")},
			inner:     &fakeInner{cols: append(sCols(224), cols("v")...)},
			err:       mysql.ER_NOT_SUPPORTED_YET},
		{name: "numbers by value: decimal 10.0 meets integer 10",
			outerCols: cols("id", tLong, "k", tDecimal, 1),
			outer:     []vals{row(1, "10.0"), row(2, "20.5")},
			inner:     &fakeInner{cols: innerCols, table: []vals{row(10, "a")}, fold: func(s string) string { return strings.TrimSuffix(s, ".0") }},
			want:      []vals{row(1, "a")}},
		{name: "the batch's rows are held in the statement's memory account", memory: 1 << 10,
			outer: func() []vals {
				var out []vals
				for i := 0; i < 200; i++ {
					out = append(out, row(i, i))
				}
				return out
			}(),
			err: mysql.ER_OUT_OF_RESOURCES},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.seq = tt.seq
			if tt.memory > 0 {
				vc.withMemory(tt.memory)
			}
			oc, orows := outerCols, outerRows
			if tt.outerCols != nil {
				oc = tt.outerCols
			}
			if tt.outer != nil {
				orows = tt.outer
			}
			inner := tt.inner
			if inner == nil {
				inner = &fakeInner{cols: innerCols, table: innerRows}
			}
			vc.onPrefix = inner.serve
			vc.on("outer", rs(oc, orows...))
			n := max(1, tt.innerRoute)
			var in []*Route
			for i := 0; i < n; i++ {
				in = append(in, &Route{Cluster: fmt.Sprintf("i%d", i), SQL: fmt.Sprintf("inner%d IN (@K@)", i), Replica: true})
			}
			f := tt.fields
			if f == nil {
				f = fields
			}
			j := &LookupJoin{Outer: &Route{Cluster: "o", SQL: "outer", Replica: true}, Inner: in, Marker: "@K@", Router: tt.router,
				OuterKeys: []int{1}, InnerKeys: []int{0}, Left: tt.left, Fields: f, BatchKeys: tt.batch, Collations: tt.colls}
			w := &recWriter{}
			err := j.Execute(vc, w)
			if tt.err != 0 {
				wantFailed(t, vc, w, err)
				wantCode(t, err, tt.err)
				return
			}
			got := wantComplete(t, vc, w, err)
			if sortedStrRows(got.rows) != sortedStrRows(strRows(tt.want...)) {
				t.Errorf("rows:\n got  %s\n want %s", sortedStrRows(got.rows), sortedStrRows(strRows(tt.want...)))
			}
			if names := fmt.Sprint(colNames(got.cols)); names != fmt.Sprintf("[%s %s]", oc[0].Name, inner.cols[1].Name) {
				t.Errorf("columns %s", names)
			}
			if tt.left && got.cols[1].Flags&mysql.NOT_NULL_FLAG != 0 {
				t.Error("a LEFT JOIN's inner column is NOT NULL")
			}
			if tt.sent != nil {
				sent := inner.sent
				if fmt.Sprint(sent) != fmt.Sprint(tt.sent) {
					t.Errorf("inner statements:\n got  %q\n want %q", sent, tt.sent)
				}
			}
			if vc.mem.Used() != 0 {
				t.Errorf("%d bytes still reserved after the statement", vc.mem.Used())
			}
			if tt.seq && vc.peak != 1 {
				t.Errorf("inside a transaction %d connections were open at once, want 1", vc.peak)
			}
		})
	}
}

// modRouter places integer keys on route k/10 % 2 (none: a value it
// says no table holds).
type modRouter struct{ none string }

func (modRouter) String() string { return "mod" }

func (m modRouter) RouteKey(v []byte, col wire.Column) (int, bool) {
	if string(v) == m.none {
		return -1, false
	}
	var n int
	fmt.Sscan(string(v), &n)
	return n / 10 % 2, false
}

// The driving stream stays open while lookups run on other clusters;
// where both read one cluster and the cursor cannot tell that its servers
// have a connection to spare, the driving side is read whole first.
func TestLookupJoinStreamsOnlyWithSpareConnections(t *testing.T) {
	for _, tc := range []struct {
		name         string
		innerCluster string
		peak         int
	}{
		{"other cluster: streams", "i0", 2},
		{"same cluster, no spare known: whole first", "o", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc := newCursor(t)
			inner := &fakeInner{cols: cols("k", tLong, "v"), table: []vals{row(10, "a")}}
			vc.onPrefix = inner.serve
			vc.on("outer", rs(cols("id", tLong, "k", tLong), row(1, 10), row(2, 20)))
			j := &LookupJoin{Outer: &Route{Cluster: "o", SQL: "outer", Replica: true},
				Inner: []*Route{{Cluster: tc.innerCluster, SQL: "inner0 IN (@K@)", Replica: true}}, Marker: "@K@",
				OuterKeys: []int{1}, InnerKeys: []int{0}, Fields: []JoinField{{Index: 0}, {Inner: true, Index: 1}}, BatchKeys: 1}
			w := &recWriter{}
			got := wantComplete(t, vc, w, j.Execute(vc, w))
			wantRows(t, got.rows, row(1, "a"))
			if vc.peak != tc.peak {
				t.Errorf("%d connections open at once, want %d", vc.peak, tc.peak)
			}
		})
	}
}

// An aggregate over the joined rows: Meta's column definitions replace the
// joined columns', and without GROUP BY one row of NULLs comes out when
// nothing joins (the aggregate's input over no rows).
func TestLookupJoinMetaAndEmptyRow(t *testing.T) {
	sumCol := cols("SUM(x)", tDecimal, 2)[0]
	sumCol.Length = 34
	for _, tc := range []struct {
		name  string
		outer []vals
		empty bool
		want  []vals
	}{
		{name: "rows join", outer: []vals{row(1, 10)}, empty: true, want: []vals{row(1, "a")}},
		{name: "nothing joins: one row of NULLs", outer: []vals{row(1, 99)}, empty: true, want: []vals{row(NULL, NULL)}},
		{name: "nothing joins, no EmptyRow: no rows", outer: []vals{row(1, 99)}},
		{name: "no driving rows: one row of NULLs", outer: []vals{}, empty: true, want: []vals{row(NULL, NULL)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc := newCursor(t)
			inner := &fakeInner{cols: cols("k", tLong, "v"), table: []vals{row(10, "a")}}
			vc.onPrefix = inner.serve
			vc.on("outer", rs(cols("id", tLong, "k", tLong), tc.outer...))
			vc.on("meta", rs([]wire.Column{sumCol}, row(NULL)))
			j := &LookupJoin{Outer: &Route{Cluster: "o", SQL: "outer", Replica: true},
				Inner: []*Route{{Cluster: "i0", SQL: "inner0 IN (@K@)", Replica: true}}, Marker: "@K@",
				OuterKeys: []int{1}, InnerKeys: []int{0}, Fields: []JoinField{{Index: 0}, {Inner: true, Index: 1}},
				Meta: []*Route{{Cluster: "o", SQL: "meta", Replica: true}}, MetaFields: [][]int{{0}}, EmptyRow: tc.empty}
			w := &recWriter{}
			got := wantComplete(t, vc, w, j.Execute(vc, w))
			wantRows(t, got.rows, tc.want...)
			if c := got.cols[0]; c.Name != "SUM(x)" || c.Type != tDecimal || c.Decimals != 2 {
				t.Errorf("column 0 is %+v, want the meta statement's SUM(x)", c)
			}
			if got.cols[1].Name != "v" {
				t.Errorf("column 1 is %q, want the inner side's v", got.cols[1].Name)
			}
			wantClean(t, vc, "meta")
		})
	}
}

// Three tables: a join is the driving side of the next, whose keys are
// columns of the rows joined so far; a LEFT level's NULL-extended rows
// carry NULL keys to the next level, where they match nothing.
func TestLookupJoinChain(t *testing.T) {
	for _, tc := range []struct {
		name         string
		left1, left2 bool
		seq          bool
		want         []vals
	}{
		{name: "inner, inner", want: []vals{row(1, "a", "A")}},
		{name: "left, inner: an extended row's NULL key drops it", left1: true, want: []vals{row(1, "a", "A")}},
		{name: "left, left", left1: true, left2: true, want: []vals{row(1, "a", "A"), row(2, "b", NULL), row(3, NULL, NULL)}},
		{name: "left, left inside a transaction", left1: true, left2: true, seq: true, want: []vals{row(1, "a", "A"), row(2, "b", NULL), row(3, NULL, NULL)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.seq = tc.seq
			// t1 (id, k1) → t2 (k1, v, k2) → t3 (k2, w)
			t2 := &fakeInner{cols: cols("k1", tLong, "v", "k2", tLong), table: []vals{row(10, "a", 100), row(20, "b", 200)}}
			t3 := &fakeInner{cols: cols("k2", tLong, "w"), table: []vals{row(100, "A")}}
			vc.onPrefix = func(sql string) *resp {
				if strings.Contains(sql, "inner2") {
					return t3.serve(strings.ReplaceAll(sql, "inner2", "inner0"))
				}
				return t2.serve(sql)
			}
			vc.on("outer", rs(cols("id", tLong, "k1", tLong), row(1, 10), row(2, 20), row(3, 30)))
			first := &LookupJoin{Outer: &Route{Cluster: "o", SQL: "outer", Replica: true},
				Inner: []*Route{{Cluster: "s", SQL: "inner0 IN (@K@)", Replica: true}}, Marker: "@K@",
				OuterKeys: []int{1}, InnerKeys: []int{0}, Left: tc.left1,
				// id, k1, then t2's k1, v, k2
				Fields: []JoinField{{Index: 0}, {Index: 1}, {Inner: true, Index: 0}, {Inner: true, Index: 1}, {Inner: true, Index: 2}}}
			second := &LookupJoin{Outer: first,
				Inner: []*Route{{Cluster: "s", SQL: "inner2 IN (@K@)", Replica: true}}, Marker: "@K@",
				OuterKeys: []int{4}, InnerKeys: []int{0}, Left: tc.left2,
				Fields: []JoinField{{Index: 0}, {Index: 3}, {Inner: true, Index: 1}}}
			w := &recWriter{}
			got := wantComplete(t, vc, w, second.Execute(vc, w))
			if sortedStrRows(got.rows) != sortedStrRows(strRows(tc.want...)) {
				t.Errorf("rows:\n got  %s\n want %s", sortedStrRows(got.rows), sortedStrRows(strRows(tc.want...)))
			}
			if tc.seq && vc.peak != 1 {
				t.Errorf("inside a transaction %d connections were open at once, want 1", vc.peak)
			}
			if vc.mem.Used() != 0 {
				t.Errorf("%d bytes still reserved", vc.mem.Used())
			}
		})
	}
}
