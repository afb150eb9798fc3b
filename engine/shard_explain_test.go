package engine

import (
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// TestShardExplain: each route's EXPLAIN rows in route order, each
// followed by the route's cluster and tables; a route whose answer has
// other columns, or an error, fails the statement.
func TestShardExplain(t *testing.T) {
	explainCols := cols("id", tLong, "select_type", tString, "table", tString, "rows", tLong)
	routes := func() []*Route {
		return []*Route{
			{Cluster: "s0", Tables: []string{"t_0", "t_2"}, SQL: "EXPLAIN q0"},
			{Cluster: "s1", Tables: []string{"t_1"}, SQL: "EXPLAIN q1"},
		}
	}
	t.Run("rows tagged", func(t *testing.T) {
		vc := newCursor(t)
		vc.on("EXPLAIN q0", rs(explainCols, row(1, "PRIMARY", "t_0", 10), row(2, "UNION", "t_2", NULL)))
		vc.on("EXPLAIN q1", rs(explainCols, row(1, "SIMPLE", "t_1", 7)))
		w := &recWriter{}
		if err := (&ShardExplain{Routes: routes()}).Execute(vc, w); err != nil {
			t.Fatal(err)
		}
		vc.checkReleased(t)
		r := decode(t, w.packets)
		var names []string
		for _, c := range r.cols {
			names = append(names, c.Name)
		}
		if fmt.Sprint(names) != "[id select_type table rows shardgate_cluster shardgate_tables]" {
			t.Errorf("columns %v", names)
		}
		want := "[[1 PRIMARY t_0 10 s0 t_0,t_2] [2 UNION t_2 <NULL> s0 t_0,t_2] [1 SIMPLE t_1 7 s1 t_1]]"
		if got := fmt.Sprint(r.rows); got != want || !r.complete {
			t.Errorf("rows %s (complete %v), want %s", got, r.complete, want)
		}
	})
	t.Run("different columns", func(t *testing.T) {
		vc := newCursor(t)
		vc.on("EXPLAIN q0", rs(explainCols, row(1, "SIMPLE", "t_0", 10)))
		vc.on("EXPLAIN q1", rs(cols("EXPLAIN", tString), row("{}")))
		err := (&ShardExplain{Routes: routes()}).Execute(vc, &recWriter{})
		wantCode(t, err, mysql.ER_UNKNOWN_ERROR, "different columns")
		vc.checkReleased(t)
	})
	t.Run("a shard's error", func(t *testing.T) {
		vc := newCursor(t)
		vc.on("EXPLAIN q0", rs(explainCols, row(1, "SIMPLE", "t_0", 10)))
		vc.on("EXPLAIN q1", srvErr(mysql.ER_NO_SUCH_TABLE, "Table 'db.t_1' doesn't exist"))
		err := (&ShardExplain{Routes: routes()}).Execute(vc, &recWriter{})
		wantCode(t, err, mysql.ER_NO_SUCH_TABLE)
		vc.checkReleased(t)
	})
}
