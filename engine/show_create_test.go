package engine

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

func TestShowCreate(t *testing.T) {
	header := cols("Table", tString, "Create Table", tString)
	r := &Route{Cluster: "c1", SQL: "SHOW CREATE TABLE `orders_0`", Replica: true, Logical: map[string]string{"orders_0": "orders"}}
	t.Run("logical names", func(t *testing.T) {
		vc := newCursor(t).on(r.SQL, rs(header, row("orders_0", "CREATE TABLE `orders_0` (\n  `orders_0` int,\n  `id` int\n)")))
		vc.status = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
		w := &recWriter{}
		got := wantComplete(t, vc, w, (&ShowCreate{Input: r}).Execute(vc, w))
		wantRows(t, got.rows, row("orders", "CREATE TABLE `orders` (\n  `orders_0` int,\n  `id` int\n)"))
		if colNames(got.cols)[1] != "Create Table" {
			t.Errorf("columns %v", colNames(got.cols))
		}
		if c := vc.conns[0]; c.relErr != nil || !c.replica {
			t.Errorf("released with %v; replica %v", c.relErr, c.replica)
		}
	})
	t.Run("server error", func(t *testing.T) {
		vc := newCursor(t).on(r.SQL, srvErr(mysql.ER_NO_SUCH_TABLE, "no such table"))
		w := &recWriter{}
		err := (&ShowCreate{Input: r}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_NO_SUCH_TABLE)
		if len(w.packets) != 0 {
			t.Errorf("client got %d packets", len(w.packets))
		}
		wantServerRelease(t, vc, r.SQL)
	})
	t.Run("broken", func(t *testing.T) {
		vc := newCursor(t).on(r.SQL, rs(header, row("orders_0", "x")).breakAfter(0))
		w := &recWriter{}
		err := (&ShowCreate{Input: r}).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_UNKNOWN_ERROR, "outcome unknown", "server c1 (")
		wantBrokenRelease(t, vc, r.SQL)
	})
}
