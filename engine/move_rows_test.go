package engine

import (
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// TestMoveRows: the rows' keys are found on every table before any row
// moves; the client's SET runs on exactly those rows; rows read back
// whose new key routes elsewhere are deleted and inserted there; the
// affected rows and info are the UPDATEs'.
func TestMoveRows(t *testing.T) {
	const (
		keys    = "SHOW KEYS FROM `db`.`t_a` WHERE Key_name = 'PRIMARY'"
		gen     = "SHOW COLUMNS FROM `db`.`t_a` WHERE Extra LIKE '%GENERATED%'"
		findA   = "SELECT `id` FROM `t_a` WHERE k < 9 FOR UPDATE"
		findB   = "SELECT `id` FROM `t_b` WHERE k < 9 FOR UPDATE"
		updA    = "UPDATE `t_a` SET k = k + 1 WHERE (`id`) IN ((5),(6))"
		updB    = "UPDATE `t_b` SET k = k + 1 WHERE (`id`) IN ((7))"
		backA   = "SELECT * FROM `db`.`t_a` WHERE (`id`) IN ((5),(6))"
		backB   = "SELECT * FROM `db`.`t_b` WHERE (`id`) IN ((7))"
		delA    = "DELETE FROM `db`.`t_a` WHERE (`id`) IN ((5))"
		insB    = "INSERT INTO `db`.`t_b` (`id`,`k`) VALUES (5,2)"
		delB    = "DELETE FROM `db`.`t_b` WHERE (`id`) IN ((7))"
		insC    = "INSERT INTO `db`.`t_c` (`id`,`k`) VALUES (7,3)"
		inTrans = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
	)
	keyCols := cols("Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name")
	rowCols := cols("id", tLong, "k", tLong, "g", tLong)
	m := func() *MoveRows {
		return &MoveRows{Schema: "db", Table: "db.t", Key: "k", Router: keyRouter{}, Tables: []MoveTable{
			{Cluster: "c0", Table: "t_a", FindRest: "FROM `t_a` WHERE k < 9 FOR UPDATE", Update: "UPDATE `t_a` SET k = k + 1"},
			{Cluster: "c1", Table: "t_b", FindRest: "FROM `t_b` WHERE k < 9 FOR UPDATE", Update: "UPDATE `t_b` SET k = k + 1"},
		}}
	}
	happy := func(vc *fakeCursor) {
		vc.on(keys, rs(keyCols, row("t_a", "0", "PRIMARY", "1", "id")).withStatus(inTrans))
		vc.on(gen, rs(cols("Field", "Type", "Null", "Key", "Default", "Extra"), row("g", "int", "YES", "", NULL, "VIRTUAL GENERATED")).withStatus(inTrans))
		vc.on(findA, rs(cols("id", tLong), row(5), row(6)).withStatus(inTrans))
		vc.on(findB, rs(cols("id", tLong), row(7)).withStatus(inTrans))
		vc.on(updA, okN(2, "Rows matched: 2  Changed: 2  Warnings: 0"))
		// Row 6's new key 1 keeps it in t_a; row 5's (2) moves it to t_b,
		// without its generated column g.
		vc.on(backA, rs(rowCols, row(5, 2, 10), row(6, 1, 11)).withStatus(inTrans))
		vc.on(delA, okN(1, ""))
		vc.on(insB, okN(1, ""))
		vc.on(updB, okN(1, "Rows matched: 1  Changed: 1  Warnings: 0"))
		vc.on(backB, rs(rowCols, row(7, 3, 12)).withStatus(inTrans))
		vc.on(delB, okN(1, ""))
		vc.on(insC, okN(1, ""))
	}
	t.Run("moves", func(t *testing.T) {
		vc := newCursor(t)
		w := &recWriter{}
		finished := finishRecorder(t, vc, w)
		happy(vc)
		if err := m().Execute(vc, w); err != nil {
			t.Fatal(err)
		}
		vc.checkReleased(t)
		if strings.Join(*finished, "|") != "" || len(*finished) != 1 {
			t.Errorf("finish heard %q", *finished)
		}
		r := decode(t, w.packets)
		if r.ok == nil || r.ok.AffectedRows != 3 || r.ok.Info != "Rows matched: 3  Changed: 3  Warnings: 0" {
			t.Errorf("OK %+v, want 3 affected rows and MariaDB's info", r.ok)
		}
		// Both tables' keys are read before the first UPDATE: a row moved
		// into t_b must not be updated again there.
		if a, b, u := vc.connFor(t, findA).id, vc.connFor(t, findB).id, vc.connFor(t, updA).id; !(a < b && b < u) {
			t.Errorf("finds on connections %d and %d, first UPDATE on %d", a, b, u)
		}
		// Every read's connection goes back with its final status: the
		// session's transaction stays open on it.
		for _, q := range []string{keys, gen, findA, findB, backA, backB} {
			c := vc.connFor(t, q)
			if c.relOut == nil || c.relOut.Status&mysql.SERVER_STATUS_IN_TRANS == 0 {
				t.Errorf("%s: released with %+v, want the EOF's status (in a transaction)", q, c.relOut)
			}
		}
		if used := vc.mem.Used(); used != 0 {
			t.Errorf("%d bytes still reserved", used)
		}
	})
	failing := []struct {
		name  string
		setup func(vc *fakeCursor)
		code  uint16
		text  string
	}{
		{name: "row gone before its delete", setup: func(vc *fakeCursor) {
			happy(vc)
			vc.responses[delA] = []*resp{okN(0, "")}
		}, code: mysql.ER_UNKNOWN_ERROR, text: "0 of 1 rows found"},
		{name: "duplicate at the new place", setup: func(vc *fakeCursor) {
			happy(vc)
			vc.responses[insB] = []*resp{srvErr(mysql.ER_DUP_ENTRY, "Duplicate entry '5'")}
		}, code: mysql.ER_DUP_ENTRY, text: "c1.t_b"},
		{name: "lock wait on a find", setup: func(vc *fakeCursor) {
			happy(vc)
			vc.responses[findB] = []*resp{srvErr(mysql.ER_LOCK_WAIT_TIMEOUT, "Lock wait timeout exceeded")}
		}, code: mysql.ER_LOCK_WAIT_TIMEOUT},
	}
	for _, tt := range failing {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			w := &recWriter{}
			finished := finishRecorder(t, vc, w)
			tt.setup(vc)
			err := m().Execute(vc, w)
			wantFailed(t, vc, w, err)
			wantCode(t, err, tt.code, tt.text, "undone")
			if len(*finished) != 1 || (*finished)[0] == "" {
				t.Errorf("finish heard %q, want the failure", *finished)
			}
			if used := vc.mem.Used(); used != 0 {
				t.Errorf("%d bytes still reserved", used)
			}
		})
	}
	t.Run("no atomic write", func(t *testing.T) {
		vc := newCursor(t)
		err := m().Execute(vc, &recWriter{})
		wantCode(t, err, mysql.ER_NOT_SUPPORTED_YET, "transactions: xa")
		if len(vc.conns) != 0 {
			t.Errorf("%d connections used", len(vc.conns))
		}
	})
}
