package engine

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// TestUpsertMove: each row is tried as a plain INSERT in order; a row the
// server refuses with 1062 finds the existing row by the key the error
// names, updates it with the row's values, and moves it when its new key
// routes elsewhere; the OK counts as MariaDB's (1 inserted, 2 updated);
// any other error ends the statement.
func TestUpsertMove(t *testing.T) {
	const (
		ins1 = "INSERT INTO `t_a` (`id`,`k`) VALUES (1,1)"
		ins2 = "INSERT INTO `t_b` (`id`,`k`) VALUES (2,2)"
		keys = "SHOW KEYS FROM `db`.`t_b` WHERE Key_name = 'uk'"
		pk   = "SHOW KEYS FROM `db`.`t_b` WHERE Key_name = 'PRIMARY'"
		gen  = "SHOW COLUMNS FROM `db`.`t_b` WHERE Extra LIKE '%GENERATED%'"
		// The row's key values, as the key's columns store them.
		dropProbe   = "DROP TEMPORARY TABLE IF EXISTS `db`.`shardgate probe t_b`"
		createProbe = "CREATE TEMPORARY TABLE `db`.`shardgate probe t_b` LIKE `db`.`t_b`"
		fillProbe   = "INSERT INTO `shardgate probe t_b` (`id`,`k`) VALUES (2,2)"
		find        = "SELECT `id` FROM `db`.`t_b` WHERE (`u`,`k`) IN (SELECT `u`,`k` FROM `db`.`shardgate probe t_b`) FOR UPDATE"
		upd         = "UPDATE `t_b` SET k = 5 WHERE (`id`) IN ((9))"
		back        = "SELECT * FROM `db`.`t_b` WHERE (`id`) IN ((9))"
		del         = "DELETE FROM `db`.`t_b` WHERE (`id`) IN ((9))"
		moved       = "INSERT INTO `db`.`t_c` (`id`,`k`) VALUES (9,5)"
		inTrans     = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
	)
	keyCols := cols("Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name")
	u := func() *UpsertMove {
		return &UpsertMove{Schema: "db", Table: "db.t", Key: "k", Router: keyRouter{}, Rows: []UpsertRow{
			{Cluster: "c0", Table: "t_a", Insert: ins1, ProbeInsert: "INSERT INTO `shardgate probe t_a` (`id`,`k`) VALUES (1,1)", Update: "UPDATE `t_a` SET k = 5"},
			{Cluster: "c1", Table: "t_b", Insert: ins2, ProbeInsert: "INSERT INTO `shardgate probe t_b` (`id`,`k`) VALUES (2,2)", Update: "UPDATE `t_b` SET k = 5"},
		}}
	}
	t.Run("insert, then update and move", func(t *testing.T) {
		vc := newCursor(t)
		w := &recWriter{}
		finishRecorder(t, vc, w)
		vc.on(ins1, okN(1, ""))
		vc.on(ins2, srvErr(mysql.ER_DUP_ENTRY, "Duplicate entry 'x-2' for key 'uk'"))
		vc.on(keys, rs(keyCols, row("t_b", "0", "uk", "1", "u"), row("t_b", "0", "uk", "2", "k")).withStatus(inTrans))
		vc.on(pk, rs(keyCols, row("t_b", "0", "PRIMARY", "1", "id")).withStatus(inTrans))
		vc.on(gen, rs(cols("Field", "Type", "Null", "Key", "Default", "Extra")).withStatus(inTrans))
		vc.on(dropProbe, okN(0, ""))
		vc.on(createProbe, okN(0, ""))
		vc.on(fillProbe, okN(1, ""))
		vc.on(find, rs(cols("id", tLong), row(9)).withStatus(inTrans))
		vc.on(upd, okN(1, "Rows matched: 1  Changed: 1  Warnings: 0"))
		vc.on(back, rs(cols("id", tLong, "k", tLong), row(9, 5)).withStatus(inTrans))
		vc.on(del, okN(1, ""))
		vc.on(moved, okN(1, ""))
		if err := u().Execute(vc, w); err != nil {
			t.Fatal(err)
		}
		vc.checkReleased(t)
		r := decode(t, w.packets)
		if r.ok == nil || r.ok.AffectedRows != 3 || r.ok.Info != "Records: 2  Duplicates: 1  Warnings: 0" {
			t.Errorf("OK %+v, want 3 affected rows (1 inserted, 2 updated) and MariaDB's info", r.ok)
		}
		if vc.connFor(t, ins2).id > vc.connFor(t, find).id {
			t.Error("the existing row was looked for before the row's INSERT failed")
		}
	})
	t.Run("another error ends it", func(t *testing.T) {
		vc := newCursor(t)
		w := &recWriter{}
		finished := finishRecorder(t, vc, w)
		vc.on(ins1, srvErr(mysql.ER_BAD_NULL_ERROR, "Column 'k' cannot be null"))
		err := u().Execute(vc, w)
		if code, _, _ := errorParts(err); code != mysql.ER_BAD_NULL_ERROR {
			t.Fatalf("got %v, want the server's 1048", err)
		}
		if len(*finished) != 1 || (*finished)[0] == "" {
			t.Errorf("finish heard %q, want the error (the transaction is undone)", *finished)
		}
		vc.checkReleased(t)
	})
}

func TestDuplicateKey(t *testing.T) {
	for _, c := range []struct {
		err  error
		name string
		ok   bool
	}{
		{&mysql.MyError{Code: mysql.ER_DUP_ENTRY, Message: "Duplicate entry '1' for key 'PRIMARY'"}, "PRIMARY", true},
		{&mysql.MyError{Code: mysql.ER_DUP_ENTRY, Message: "Duplicate entry 'a' for key 'for key 'x''"}, "x'", true},
		{&mysql.MyError{Code: mysql.ER_DUP_ENTRY, Message: "Duplicate entry 'a' for key 'by.sku'"}, "by.sku", true},
		{&mysql.MyError{Code: mysql.ER_BAD_NULL_ERROR, Message: "Duplicate entry '1' for key 'PRIMARY'"}, "", false},
		{&mysql.MyError{Code: mysql.ER_DUP_ENTRY, Message: "Duplicate entry"}, "", false},
	} {
		name, ok := duplicateKey(c.err)
		if name != c.name || ok != c.ok {
			t.Errorf("%v: %q %v, want %q %v", c.err, name, ok, c.name, c.ok)
		}
	}
}
