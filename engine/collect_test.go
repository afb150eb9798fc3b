package engine

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

func TestCollect(t *testing.T) {
	c := cols("id", tLong, "name", tString)
	rows := []vals{row("1", "a"), row("2", NULL), row("3", "")}
	tooMany := func() error { return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "too many") }
	t.Run("every row, NULLs apart from empty strings", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(c, rows...))
		got, err := Collect(vc, &Route{Cluster: "c1", SQL: "q"}, 3, "rows", tooMany)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Columns) != 2 || got.Columns[1].Name != "name" || len(got.Rows) != 3 {
			t.Fatalf("columns %v, %d rows", got.Columns, len(got.Rows))
		}
		if *got.Rows[0][1] != "a" || got.Rows[1][1] != nil || got.Rows[2][1] == nil || *got.Rows[2][1] != "" || *got.Rows[2][0] != "3" {
			t.Errorf("rows %v", got.Rows)
		}
		vc.checkSucceeded(t, true)
		if vc.mem.Used() == 0 {
			t.Error("the rows kept are not reserved")
		}
		vc.mem.Close() // as the session does once the answer is used
		vc.checkReleased(t)
	})
	t.Run("one row more than the most is refused", func(t *testing.T) {
		vc := newCursor(t).on("q", rs(c, rows...))
		_, err := Collect(vc, &Route{Cluster: "c1", SQL: "q"}, 2, "rows", tooMany)
		wantCode(t, err, mysql.ER_NOT_SUPPORTED_YET, "too many")
		vc.checkSucceeded(t, false)
		vc.checkReleased(t)
	})
	t.Run("past the memory budget: the budget is named", func(t *testing.T) {
		vc := newCursor(t).withMemory(100).on("q", rs(c, rows...))
		_, err := Collect(vc, &Route{Cluster: "c1", SQL: "q"}, 3, "the rows of a subquery", tooMany)
		wantCode(t, err, mysql.ER_OUT_OF_RESOURCES, "the rows of a subquery", "statement_memory_limit")
		vc.checkSucceeded(t, false)
	})
}
