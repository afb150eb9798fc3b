package engine

import (
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

func TestRetype(t *testing.T) {
	header := cols("id", tLong, "s", tString, "n", tLong)
	in := []vals{row(1, "7", "x"), row(2, "7", NULL)}
	count := wire.Column{Name: "COUNT(*)", Charset: 63, Length: 21, Type: mysql.MYSQL_TYPE_LONGLONG, Flags: mysql.BINARY_FLAG}
	for _, tc := range []struct {
		name  string
		index int
		want  int // the column replaced
	}{
		{"from the first column", 1, 1},
		{"from the last column", -1, 2},
		{"the first", 0, 0},
		{"the last, counted from the first", 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc := newCursor(t).on("q", rs(header, in...))
			w := &recWriter{}
			p := &Retype{Input: &Route{Cluster: "c1", SQL: "q"}, Columns: []RetypedColumn{{Index: tc.index, Def: count}}}
			got := wantComplete(t, vc, w, p.Execute(vc, w))
			wantRows(t, got.rows, in...)
			for i, c := range got.cols {
				want := header[i]
				if i == tc.want {
					want = count
					want.Name = header[i].Name // the input's name stays
				}
				if c != want {
					t.Errorf("column %d: %+v, want %+v", i, c, want)
				}
			}
			wantClean(t, vc, "q")
		})
	}
	t.Run("no such column", func(t *testing.T) {
		for _, index := range []int{3, -4} {
			vc := newCursor(t).on("q", rs(header, in...))
			w := &recWriter{}
			err := (&Retype{Input: &Route{Cluster: "c1", SQL: "q"}, Columns: []RetypedColumn{{Index: index, Def: count}}}).Execute(vc, w)
			wantFailed(t, vc, w, err)
			wantAbandoned(t, vc, "q")
		}
	})
	t.Run("server error mid-stream", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(header, in...).failAfter(1, mysql.ER_QUERY_INTERRUPTED, "killed"))
		w := &recWriter{}
		err := (&Retype{Input: &Route{Cluster: "c1", SQL: "q"}, Columns: []RetypedColumn{{Index: 1, Def: count}}}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_QUERY_INTERRUPTED)
		wantServerRelease(t, vc, "q")
	})
	if got := fmt.Sprint((&Retype{Columns: []RetypedColumn{{Index: 1}, {Index: -1}}}).Describe()); got != "Retype columns 1, -1 as their subqueries'" {
		t.Errorf("Describe %q", got)
	}
}
