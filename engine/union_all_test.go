package engine

import (
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// TestUnionAll: the parts' rows one part after another under the first
// part's columns; a part whose columns differ in type, or in number,
// fails the statement.
func TestUnionAll(t *testing.T) {
	parts := func() *UnionAll {
		return &UnionAll{Parts: []RowSource{&Route{Cluster: "c0", SQL: "p1"}, &Route{Cluster: "c1", SQL: "p2"}}}
	}
	t.Run("concatenated", func(t *testing.T) {
		vc := newCursor(t)
		vc.on("p1", rs(cols("id", tLong, "name", tString), row(1, "a"), row(2, NULL)))
		vc.on("p2", rs(cols("x", tLong, "y", tString), row(3, "c")))
		w := &recWriter{}
		if err := parts().Execute(vc, w); err != nil {
			t.Fatal(err)
		}
		vc.checkReleased(t)
		r := decode(t, w.packets)
		if len(r.cols) != 2 || r.cols[0].Name != "id" || fmt.Sprint(r.rows) != "[[1 a] [2 <NULL>] [3 c]]" || !r.complete {
			t.Errorf("columns %v rows %v complete %v", r.cols, r.rows, r.complete)
		}
		// One part at a time: the second is sent after the first ended.
		if a, b := vc.connFor(t, "p1"), vc.connFor(t, "p2"); vc.eventIndex(fmt.Sprintf("release:%d", a.id)) > vc.eventIndex(fmt.Sprintf("conn:%d", b.id)) {
			t.Errorf("the second part started before the first was released: %v", vc.events)
		}
	})
	for _, tc := range []struct {
		name string
		p2   *resp
		code uint16
	}{
		{"another type", rs(cols("x", tString, "y", tString), row("3", "c")), mysql.ER_NOT_SUPPORTED_YET},
		{"another number of columns", rs(cols("x", tLong), row(3)), mysql.ER_WRONG_NUMBER_OF_COLUMNS_IN_SELECT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.on("p1", rs(cols("id", tLong, "name", tString), row(1, "a")))
			vc.on("p2", tc.p2)
			w := &recWriter{}
			err := parts().Execute(vc, w)
			wantCode(t, err, tc.code)
			vc.checkReleased(t)
		})
	}
}
