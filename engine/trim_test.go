package engine

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

func TestTrim(t *testing.T) {
	header := cols("id", tLong, "name", tString, "h0", tString, "h1", tString)
	in := []vals{row(1, "a", "x", "X"), row(NULL, NULL, NULL, "Y"), row(3, "", "z", NULL)}
	t.Run("drops helpers", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(header, in...))
		w := &recWriter{}
		got := wantComplete(t, vc, w, (&Trim{Input: &Route{Cluster: "c1", SQL: "q"}, Hidden: 2}).Execute(vc, w))
		if fmt.Sprint(colNames(got.cols)) != "[id name]" {
			t.Errorf("columns %v", colNames(got.cols))
		}
		wantRows(t, got.rows, row(1, "a"), row(NULL, NULL), row(3, ""))
		wantClean(t, vc, "q")
	})
	t.Run("no helpers: rows unchanged", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(header, in...))
		w := &recWriter{}
		got := wantComplete(t, vc, w, (&Trim{Input: &Route{Cluster: "c1", SQL: "q"}}).Execute(vc, w))
		wantRows(t, got.rows, in...)
		for i, r := range in {
			if p := w.packets[len(header)+2+i]; !bytes.Equal(p, encodeRow(r)) {
				t.Errorf("row %d: %x, want %x", i, p, encodeRow(r))
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(header))
		w := &recWriter{}
		got := wantComplete(t, vc, w, (&Trim{Input: &Route{Cluster: "c1", SQL: "q"}, Hidden: 2}).Execute(vc, w))
		wantRows(t, got.rows)
		if len(got.cols) != 2 {
			t.Errorf("%d columns", len(got.cols))
		}
	})
	t.Run("fewer columns than helpers", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(header, in...))
		w := &recWriter{}
		err := (&Trim{Input: &Route{Cluster: "c1", SQL: "q"}, Hidden: 5}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantAbandoned(t, vc, "q")
	})
	t.Run("server error mid-stream", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(header, in...).failAfter(1, mysql.ER_QUERY_INTERRUPTED, "killed"))
		w := &recWriter{}
		err := (&Trim{Input: &Route{Cluster: "c1", SQL: "q"}, Hidden: 2}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_QUERY_INTERRUPTED)
		wantServerRelease(t, vc, "q")
		if got := decode(t, w.packets); len(got.rows) != 1 {
			t.Errorf("rows %v", got.rows)
		}
	})
	if got := (&Trim{Hidden: 3}).Describe(); got != "Trim 3 helper columns" {
		t.Errorf("Describe %q", got)
	}
}
