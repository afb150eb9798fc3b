package engine

import (
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// TestMaterialize: on one connection, each temporary table is dropped if
// left over, created with the rows' column types and filled in batches;
// the statement's answer streams to the client with the temporary table
// named as the derived table was; the tables are dropped before the
// connection goes back. A server error on the way drops what was created
// and keeps the connection; the client hears the error.
func TestMaterialize(t *testing.T) {
	two := func(s string) *string { return &s }
	m := func() *Materialize {
		c := cols("k", tLong, "name", tString)
		c[0].Flags = mysql.NOT_NULL_FLAG
		c[1].Length = 80 // VARCHAR(20) in utf8mb4 (collation 45)
		return &Materialize{Cluster: "main", Replica: true, SQL: "SELECT d.k FROM `s`.`shardgate derived 0` AS d",
			Logical: map[string]string{"shardgate derived 0": "d"}, BatchBytes: 105,
			Tables: []TempTable{{Name: "`s`.`shardgate derived 0`", Rows: &Collected{Columns: c, Rows: [][]*string{{two("1"), two("a'b")}, {two("2"), nil}, {two("3"), two("c")}}}}}}
	}
	const (
		drop   = "DROP TEMPORARY TABLE IF EXISTS `s`.`shardgate derived 0`"
		create = "CREATE TEMPORARY TABLE `s`.`shardgate derived 0` (`k` BIGINT(255) NOT NULL, `name` VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci)"
		ins1   = "SET STATEMENT sql_mode = '' FOR INSERT INTO `s`.`shardgate derived 0` VALUES (1,_utf8mb4 X'612762'),(2,NULL)"
		ins2   = "SET STATEMENT sql_mode = '' FOR INSERT INTO `s`.`shardgate derived 0` VALUES (3,_utf8mb4 X'63')"
		query  = "SELECT d.k FROM `s`.`shardgate derived 0` AS d"
		// resetRowCount follows the DROP (ROW_COUNT() as after the SELECT).
		resetRowCount = "SHOW WARNINGS LIMIT 0"
	)
	warningCols := cols("Level", tString, "Code", tLong, "Message", tString)
	t.Run("answers and cleans up", func(t *testing.T) {
		vc := newCursor(t)
		w := &recWriter{}
		out := cols("k", tLong)
		out[0].Table, out[0].OrgTable = "d", "shardgate derived 0"
		vc.on(drop, okN(0, ""))
		vc.on(create, okN(0, ""))
		vc.on(ins1, okN(2, ""))
		vc.on(ins2, okN(1, ""))
		vc.on(query, rs(out, row(1), row(3)))
		vc.on(resetRowCount, rs(warningCols))
		if err := m().Execute(vc, w); err != nil {
			t.Fatal(err)
		}
		vc.checkReleased(t)
		r := decode(t, w.packets)
		if len(r.rows) != 2 || r.cols[0].OrgTable != "d" {
			t.Errorf("answer %+v, want 2 rows naming the derived table", r)
		}
		c := vc.connFor(t, query)
		// No warnings: none read; ROW_COUNT() set back after the DROP.
		if got := strings.Join(c.sent, "\n"); got != strings.Join([]string{drop, create, ins1, ins2, query, drop, resetRowCount}, "\n") {
			t.Errorf("sent on one connection:\n%s", got)
		}
		if c.relErr != nil {
			t.Errorf("released with %v, want kept", c.relErr)
		}
	})
	// The statement's warnings are read before the DROP clears them, into
	// the statement's diagnostics.
	t.Run("keeps the statement's warnings", func(t *testing.T) {
		vc := newCursor(t)
		w := &recWriter{}
		out := cols("k", tLong)
		vc.on(drop, okN(0, ""))
		vc.on(create, okN(0, ""))
		vc.on(ins1, okN(2, ""))
		vc.on(ins2, okN(1, ""))
		res := rs(out, row(1))
		res.warnings = 2
		vc.on(query, res)
		vc.on("SHOW WARNINGS", rs(warningCols, row("Warning", 1365, "Division by 0"), row("Warning", 1365, "Division by 0")))
		vc.on(resetRowCount, rs(warningCols))
		if err := m().Execute(vc, w); err != nil {
			t.Fatal(err)
		}
		vc.checkReleased(t)
		c := vc.connFor(t, query)
		if got := strings.Join(c.sent, "\n"); got != strings.Join([]string{drop, create, ins1, ins2, query, "SHOW WARNINGS", drop, resetRowCount}, "\n") {
			t.Errorf("sent on one connection:\n%s", got)
		}
		if got := strings.Join(vc.warnings, "; "); got != "Warning 1365 Division by 0; Warning 1365 Division by 0" {
			t.Errorf("diagnostics %q", got)
		}
	})
	t.Run("error while filling", func(t *testing.T) {
		vc := newCursor(t)
		w := &recWriter{}
		vc.on(drop, okN(0, ""))
		vc.on(create, okN(0, ""))
		vc.on(ins1, srvErr(mysql.ER_RECORD_FILE_FULL, "The table is full"))
		err := m().Execute(vc, w)
		if code, _, _ := errorParts(err); code != mysql.ER_RECORD_FILE_FULL {
			t.Fatalf("got %v, want the server's error", err)
		}
		vc.checkReleased(t)
		c := vc.connFor(t, ins1)
		if got := c.sent[len(c.sent)-1]; got != drop || c.relErr != nil {
			t.Errorf("last sent %q, released with %v: want the table dropped and the connection kept", got, c.relErr)
		}
	})
}

// TestMaterializeSource: rows a plan reads when it runs (the joined rows
// of planner.joinViaServer) are read whole before the statement's
// connection is taken, go into the table the given CREATE makes, and the
// answer's columns name the tables and columns they were copied from.
// More rows than MaxRows, or more than the statement's memory, are
// refused before anything is created.
func TestMaterializeSource(t *testing.T) {
	const (
		src    = "SELECT `l`.`qty`,`p`.`ptype` FROM joined"
		drop   = "DROP TEMPORARY TABLE IF EXISTS `s`.`shardgate joined rows`"
		create = "CREATE TEMPORARY TABLE `s`.`shardgate joined rows` (`qty` int(11) NOT NULL, `ptype` varchar(25) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)"
		ins    = "SET STATEMENT sql_mode = '' FOR INSERT INTO `s`.`shardgate joined rows` VALUES (1,_utf8mb4 X'50524f4d4f'),(2,NULL),(3,_utf8mb4 X'78')"
		query  = "SELECT SUM(CASE WHEN `ptype` LIKE 'PROMO%' THEN `qty` ELSE 0 END) AS `s`, `ptype` FROM `s`.`shardgate joined rows` GROUP BY `ptype`"
	)
	m := func(maxRows int) *Materialize {
		return &Materialize{Cluster: "main", SQL: query, What: "the rows of a join in the proxy",
			Origins: map[string]ColumnOrigin{"ptype": {Table: "p", OrgTable: "part", Name: "ptype"}},
			Tables: []TempTable{{Name: "`s`.`shardgate joined rows`", Source: &Route{Cluster: "s0", SQL: src}, MaxRows: maxRows, Create: create,
				What: "the joined rows", TooMany: "shardgate: too many joined rows"}}}
	}
	source := func() *resp {
		return rs(cols("qty", tLong, "ptype", tString), row(1, "PROMO"), row(2, nil), row(3, "x"))
	}
	t.Run("answers and cleans up", func(t *testing.T) {
		vc := newCursor(t)
		w := &recWriter{}
		out := cols("s", tString, "ptype", tString)
		out[1].Table, out[1].OrgTable, out[1].OrgName = "shardgate joined rows", "shardgate joined rows", "ptype"
		vc.on(src, source())
		vc.on(drop, okN(0, ""))
		vc.on(create, okN(0, ""))
		vc.on(ins, okN(3, ""))
		vc.on(query, rs(out, row("1", "PROMO"), row("0", nil)))
		vc.on("SHOW WARNINGS LIMIT 0", rs(cols("Level", tString, "Code", tLong, "Message", tString)))
		if err := m(10).Execute(vc, w); err != nil {
			t.Fatal(err)
		}
		vc.checkReleased(t)
		r := decode(t, w.packets)
		if len(r.rows) != 2 || r.cols[1].Table != "p" || r.cols[1].OrgTable != "part" || r.cols[1].OrgName != "ptype" || r.cols[0].Table != "t" {
			t.Errorf("answer %+v, want 2 rows, ptype named as part's column", r)
		}
		c := vc.connFor(t, query)
		if got := strings.Join(c.sent, "\n"); got != strings.Join([]string{drop, create, ins, query, drop, "SHOW WARNINGS LIMIT 0"}, "\n") {
			t.Errorf("sent on the statement's connection:\n%s", got)
		}
		if vc.connFor(t, src) == c {
			t.Error("the rows were read on the statement's connection")
		}
	})
	t.Run("too many rows", func(t *testing.T) {
		vc := newCursor(t)
		vc.on(src, source())
		err := m(2).Execute(vc, &recWriter{})
		wantCode(t, err, mysql.ER_NOT_SUPPORTED_YET, "too many joined rows")
		vc.checkReleased(t)
		if c := vc.connFor(t, src); len(c.sent) != 1 {
			t.Errorf("sent %q: want only the rows' statement", c.sent)
		}
		if vc.mem.Used() != 0 {
			t.Errorf("%d bytes still reserved", vc.mem.Used())
		}
	})
	t.Run("memory", func(t *testing.T) {
		vc := newCursor(t).withMemory(64)
		vc.on(src, source())
		err := m(10).Execute(vc, &recWriter{})
		wantCode(t, err, mysql.ER_OUT_OF_RESOURCES, "the joined rows", "statement_memory_limit")
		vc.checkReleased(t)
	})
}
