package engine

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

var sortCols = cols("name", tString, "n", tLong, "h0", tString, "h1", tString)

func srow(name, n string) vals { return row(name, n, name, ci(name)) }

var sortInput = []vals{srow("b", "10"), srow("a", "9"), srow("A", NULL), srow("Zed", "10"), srow("c", "-1")}

func TestMemorySort(t *testing.T) {
	byName := &SortKey{Value: 0, Weight: 1}
	nExpr := Col{Index: 1}
	tests := []struct {
		name string
		keys []MemorySortKey
		want string // names in order, joined
	}{
		{"expression ascending, NULL first, numeric", []MemorySortKey{{Expr: nExpr}}, "A c a b Zed"},
		{"expression descending, NULL last, ties in input order", []MemorySortKey{{Expr: nExpr, Desc: true}}, "b Zed a c A"},
		{"group key by weight string", []MemorySortKey{{Key: byName}}, "a A b c Zed"},
		{"group key descending", []MemorySortKey{{Key: byName, Desc: true}}, "Zed c b a A"},
		{"the item's direction, not the merge key's", []MemorySortKey{{Key: &SortKey{Value: 0, Weight: 1, Desc: true}}}, "a A b c Zed"},
		{"two keys", []MemorySortKey{{Expr: nExpr, Desc: true}, {Key: byName, Desc: true}}, "Zed b a c A"},
		{"computed expression", []MemorySortKey{{Expr: Binary{Op: "*", L: nExpr, R: num(-1)}}}, "A b Zed a c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t).on("q", rs(sortCols, sortInput...))
			m := &MemorySort{Input: &Route{Cluster: "c1", SQL: "q"}, Keys: tt.keys, Hidden: 2}
			w := &recWriter{}
			got := wantComplete(t, vc, w, m.Execute(vc, w))
			var names []string
			for _, r := range got.rows {
				names = append(names, r[0])
				if len(r) != 4 {
					t.Errorf("row %v lost columns", r)
				}
			}
			if s := joinSp(names); s != tt.want {
				t.Errorf("order %q, want %q", s, tt.want)
			}
			wantClean(t, vc, "q")
		})
	}
}

func joinSp(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

func TestMemorySortEmptyAndErrors(t *testing.T) {
	keys := []MemorySortKey{{Expr: Col{Index: 1}}}
	t.Run("empty", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(sortCols))
		w := &recWriter{}
		got := wantComplete(t, vc, w, (&MemorySort{Input: &Route{Cluster: "c1", SQL: "q"}, Keys: keys, Hidden: 2}).Execute(vc, w))
		wantRows(t, got.rows)
	})
	t.Run("too much memory", func(t *testing.T) {
		vc := newCursor(t).withMemory(300)
		in := &MergeSort{Routes: routes(vc, rs(sortCols, sortInput...), rs(sortCols, sortInput...)), Hidden: 2}
		w := &recWriter{}
		err := (&MemorySort{Input: in, Keys: keys, Hidden: 2}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_OUT_OF_SORTMEMORY)
		if len(w.packets) != 0 {
			t.Errorf("client got %d packets", len(w.packets))
		}
		checkFates(t, vc, []string{"abandoned", "abandoned"})
	})
	t.Run("server error mid-stream", func(t *testing.T) {
		vc := newCursor(t)
		in := &MergeSort{Routes: routes(vc, rs(sortCols, sortInput...), rs(sortCols, sortInput...).failAfter(3, mysql.ER_QUERY_INTERRUPTED, "killed")), Hidden: 2}
		w := &recWriter{}
		err := (&MemorySort{Input: in, Keys: keys, Hidden: 2}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_QUERY_INTERRUPTED)
		if len(w.packets) != 0 {
			t.Errorf("client got %d packets", len(w.packets))
		}
		checkFates(t, vc, []string{"clean", "server"})
	})
	t.Run("broken", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(sortCols, sortInput...).breakAfter(2))
		w := &recWriter{}
		err := (&MemorySort{Input: &Route{Cluster: "c1", SQL: "q"}, Keys: keys, Hidden: 2}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantBrokenRelease(t, vc, "q")
	})
}

// Strings in an ORDER BY expression would need their collation: refused,
// with every reserved byte given back.
func TestMemorySortRefusesStringExpressions(t *testing.T) {
	vc := newCursor(t).on("q", rs(sortCols, sortInput...))
	w := &recWriter{}
	m := &MemorySort{Input: &Route{Cluster: "c1", SQL: "q"}, Keys: []MemorySortKey{{Expr: Col{Index: 0}}}, Hidden: 2}
	wantCode(t, m.Execute(vc, w), mysql.ER_NOT_SUPPORTED_YET, "does not compare by collation")
	vc.checkReleased(t)
}

// Doubles sort as numbers (computed as doubles, not as text).
func TestMemorySortDoubles(t *testing.T) {
	c := cols("x", tDouble, notFixedDec)
	vc := newCursor(t).on("q", rs(c, row("2.5"), row("-1e3"), row(NULL), row("10"), row("9.75")))
	w := &recWriter{}
	m := &MemorySort{Input: &Route{Cluster: "c1", SQL: "q"}, Keys: []MemorySortKey{{Expr: Binary{Op: "*", L: Col{Index: 0}, R: num(2)}}}}
	got := wantComplete(t, vc, w, m.Execute(vc, w))
	wantRows(t, got.rows, row(NULL), row("-1e3"), row("2.5"), row("9.75"), row("10"))
}
