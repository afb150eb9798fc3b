package engine

import (
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

func numbered(n int) []vals {
	var out []vals
	for i := 1; i <= n; i++ {
		out = append(out, row(i, fmt.Sprint("r", i)))
	}
	return out
}

func TestLimit(t *testing.T) {
	tests := []struct {
		offset, count int64
		rows          int
		want          []int
	}{
		{0, 2, 5, []int{1, 2}},
		{2, 2, 5, []int{3, 4}},
		{4, 5, 5, []int{5}},
		{0, 0, 5, nil},
		{10, 3, 5, nil},
		{0, 10, 5, []int{1, 2, 3, 4, 5}},
		{0, 3, 0, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit %d offset %d of %d", tt.count, tt.offset, tt.rows), func(t *testing.T) {
			vc := newCursor(t).on("q", rs(nameCols, numbered(tt.rows)...))
			l := &Limit{Input: &Route{Cluster: "c1", SQL: "q"}, Offset: tt.offset, Count: tt.count}
			w := &recWriter{}
			got := wantComplete(t, vc, w, l.Execute(vc, w))
			var want []vals
			for _, i := range tt.want {
				want = append(want, row(i, fmt.Sprint("r", i)))
			}
			wantRows(t, got.rows, want...)
			// The rest of the shard's result is read and the
			// connection given back clean.
			wantClean(t, vc, "q")
		})
	}
}

// Inputs not read when the limit is reached are read to their end, not
// abandoned: the statement succeeded.
func TestLimitOverConcat(t *testing.T) {
	vc := newCursor(t)
	vc.conc = 2
	l := &Limit{Input: &Concat{Routes: routes(vc, rs(nameCols, numbered(3)...), rs(nameCols, numbered(3)...), rs(nameCols, numbered(3)...))}, Count: 2}
	w := &recWriter{}
	got := wantComplete(t, vc, w, l.Execute(vc, w))
	wantRows(t, got.rows, row(1, "r1"), row(2, "r2"))
	checkFates(t, vc, []string{"clean", "clean", "none"})
}

func TestLimitErrors(t *testing.T) {
	t.Run("server error before the limit", func(t *testing.T) {
		vc := newCursor(t)
		l := &Limit{Input: &Concat{Routes: routes(vc, rs(nameCols, numbered(3)...).failAfter(1, mysql.ER_QUERY_INTERRUPTED, "killed"), rs(nameCols, numbered(3)...))}, Count: 3}
		w := &recWriter{}
		err := l.Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_QUERY_INTERRUPTED)
		checkFates(t, vc, []string{"server", "abandoned"})
	})
	t.Run("broken before the limit", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(nameCols, numbered(5)...).breakAfter(2))
		l := &Limit{Input: &Route{Cluster: "c1", SQL: "q"}, Offset: 1, Count: 3}
		w := &recWriter{}
		err := l.Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_UNKNOWN_ERROR)
		wantBrokenRelease(t, vc, "q")
	})
}
