package engine

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// TestMoveRowsCopy: a table whose primary key holds the shard column
// (or that has none) moves its rows through temporary copies: every
// table's matching rows are copied, deleted and updated on the copy
// before any row is inserted back (where its new key routes, its old
// table included); the temporary tables are dropped whether the
// statement succeeds or fails.
func TestMoveRowsCopy(t *testing.T) {
	const (
		keys    = "SHOW KEYS FROM `db`.`t_a` WHERE Key_name = 'PRIMARY'"
		gen     = "SHOW COLUMNS FROM `db`.`t_a` WHERE Extra LIKE '%GENERATED%'"
		colsQ   = "SELECT * FROM `db`.`t_a` LIMIT 0"
		mkA     = "CREATE TEMPORARY TABLE `db`.`shardgate move t_a` LIKE `db`.`t_a`"
		mkB     = "CREATE TEMPORARY TABLE `db`.`shardgate move t_b` LIKE `db`.`t_b`"
		cpA     = "INSERT INTO `db`.`shardgate move t_a` (`id`,`k`) SELECT `id`,`k` FROM `t_a` WHERE k < 9 FOR UPDATE"
		cpB     = "INSERT INTO `db`.`shardgate move t_b` (`id`,`k`) SELECT `id`,`k` FROM `t_b` WHERE k < 9 FOR UPDATE"
		delA    = "DELETE FROM `db`.`t_a` WHERE (`id`,`k`) IN (SELECT `id`,`k` FROM `db`.`shardgate move t_a`)"
		delB    = "DELETE FROM `db`.`t_b` WHERE (`id`,`k`) IN (SELECT `id`,`k` FROM `db`.`shardgate move t_b`)"
		updA    = "UPDATE `shardgate move t_a` SET k = k + 1"
		updB    = "UPDATE `shardgate move t_b` SET k = k + 1"
		backA   = "SELECT * FROM `db`.`shardgate move t_a`"
		backB   = "SELECT * FROM `db`.`shardgate move t_b`"
		insA    = "INSERT INTO `db`.`t_a` (`id`,`k`) VALUES (6,1)"
		insB    = "INSERT INTO `db`.`t_b` (`id`,`k`) VALUES (5,2)"
		insC    = "INSERT INTO `db`.`t_c` (`id`,`k`) VALUES (7,3)"
		dropA   = "DROP TEMPORARY TABLE IF EXISTS `db`.`shardgate move t_a`"
		dropB   = "DROP TEMPORARY TABLE IF EXISTS `db`.`shardgate move t_b`"
		inTrans = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
	)
	keyCols := cols("Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name")
	rowCols := cols("id", tLong, "k", tLong, "g", tLong)
	m := func(limited bool) *MoveRows {
		return &MoveRows{Schema: "db", Table: "db.t", Key: "k", Router: keyRouter{}, Limited: limited, Tables: []MoveTable{
			{Cluster: "c0", Table: "t_a", FindRest: "FROM `t_a` WHERE k < 9 FOR UPDATE", UpdateCopy: updA, Delete: "DELETE FROM `t_a` WHERE k < 9"},
			{Cluster: "c1", Table: "t_b", FindRest: "FROM `t_b` WHERE k < 9 FOR UPDATE", UpdateCopy: updB, Delete: "DELETE FROM `t_b` WHERE k < 9"},
		}}
	}
	happy := func(vc *fakeCursor, pk ...vals) {
		vc.on(keys, rs(keyCols, pk...).withStatus(inTrans))
		vc.on(gen, rs(cols("Field", "Type", "Null", "Key", "Default", "Extra"), row("g", "int", "YES", "", NULL, "VIRTUAL GENERATED")).withStatus(inTrans))
		vc.on(colsQ, rs(rowCols).withStatus(inTrans))
		for _, q := range []string{mkA, mkB, dropA, dropB} {
			vc.on(q, okN(0, ""))
		}
		vc.on(cpA, okN(2, "Records: 2  Duplicates: 0  Warnings: 0"))
		vc.on(cpB, okN(1, ""))
		vc.on(delA, okN(2, ""))
		vc.on(delB, okN(1, ""))
		vc.on("DELETE FROM `t_a` WHERE k < 9", okN(2, ""))
		vc.on("DELETE FROM `t_b` WHERE k < 9", okN(1, ""))
		vc.on(updA, okN(2, "Rows matched: 2  Changed: 2  Warnings: 0"))
		vc.on(updB, okN(1, "Rows matched: 1  Changed: 1  Warnings: 0"))
		// Row 6's new key 1 keeps it in t_a, row 5's (2) moves it to t_b,
		// row 7's (3) to t_c; the generated column g is not written.
		vc.on(backA, rs(rowCols, row(5, 2, 10), row(6, 1, 11)).withStatus(inTrans))
		vc.on(backB, rs(rowCols, row(7, 3, 12)).withStatus(inTrans))
		vc.on(insA, okN(1, ""))
		vc.on(insB, okN(1, ""))
		vc.on(insC, okN(1, ""))
	}
	keyInPK := []vals{row("t_a", "0", "PRIMARY", "1", "id"), row("t_a", "0", "PRIMARY", "2", "k")}
	for _, tc := range []struct {
		name string
		pk   []vals
		dels []string
	}{
		{"key in the primary key", keyInPK, []string{delA, delB}},
		{"no primary key", nil, []string{"DELETE FROM `t_a` WHERE k < 9", "DELETE FROM `t_b` WHERE k < 9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc := newCursor(t)
			w := &recWriter{}
			finished := finishRecorder(t, vc, w)
			happy(vc, tc.pk...)
			if err := m(false).Execute(vc, w); err != nil {
				t.Fatal(err)
			}
			vc.checkReleased(t)
			if len(*finished) != 1 || (*finished)[0] != "" {
				t.Errorf("finish heard %q", *finished)
			}
			r := decode(t, w.packets)
			if r.ok == nil || r.ok.AffectedRows != 3 || r.ok.Info != "Rows matched: 3  Changed: 3  Warnings: 0" {
				t.Errorf("OK %+v, want 3 affected rows and MariaDB's info", r.ok)
			}
			// Every table is copied, emptied and updated before the
			// first row goes back; the copies are dropped last.
			order := []string{mkA, cpA, tc.dels[0], updA, mkB, cpB, tc.dels[1], updB, backA, insB, insA, backB, insC}
			// Each copy is dropped before it is made (a leftover of a
			// failed statement) and after.
			for _, q := range []string{dropA, dropB} {
				if n := vc.sentCount(q); n != 2 {
					t.Errorf("%s sent %d times, want 2", q, n)
				}
			}
			last := -1
			for _, q := range order {
				if id := vc.connFor(t, q).id; id <= last {
					t.Errorf("%s on connection %d, not after the previous step's %d", q, id, last)
				} else {
					last = id
				}
			}
			if used := vc.mem.Used(); used != 0 {
				t.Errorf("%d bytes still reserved", used)
			}
		})
	}
	t.Run("a failure still drops the copies made", func(t *testing.T) {
		vc := newCursor(t)
		w := &recWriter{}
		finished := finishRecorder(t, vc, w)
		happy(vc, keyInPK...)
		vc.responses[delB] = []*resp{okN(0, "")} // a row vanished under the lock
		err := m(false).Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_UNKNOWN_ERROR, "1 rows copied from t_b but 0 deleted", "undone")
		if len(*finished) != 1 || (*finished)[0] == "" {
			t.Errorf("finish heard %q, want the failure", *finished)
		}
		vc.connFor(t, dropA)
		vc.connFor(t, dropB)
		for _, q := range []string{updB, backA, insB} {
			for _, c := range vc.conns {
				for _, s := range c.sent {
					if s == q {
						t.Errorf("%s ran after the failure", q)
					}
				}
			}
		}
	})
	t.Run("no primary key with LIMIT", func(t *testing.T) {
		vc := newCursor(t)
		w := &recWriter{}
		finishRecorder(t, vc, w)
		happy(vc)
		err := m(true).Execute(vc, w)
		wantCode(t, err, mysql.ER_NOT_SUPPORTED_YET, "PRIMARY KEY")
		for _, c := range vc.conns {
			for _, s := range c.sent {
				if s == mkA {
					t.Errorf("a copy was made")
				}
			}
		}
	})
}
