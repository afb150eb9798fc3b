package engine

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// TestUpsertMoveKeyNotFoundAgain (review3): the server said the row's key
// is taken, but the proxy's search finds no row: the statement fails and
// its transaction is undone, rather than answering as if the row had
// been updated (or nothing was to do).
func TestUpsertMoveKeyNotFoundAgain(t *testing.T) {
	const (
		ins         = "INSERT INTO `t_b` (`id`,`k`) VALUES (2,2)"
		keys        = "SHOW KEYS FROM `db`.`t_b` WHERE Key_name = 'uk'"
		pk          = "SHOW KEYS FROM `db`.`t_b` WHERE Key_name = 'PRIMARY'"
		gen         = "SHOW COLUMNS FROM `db`.`t_b` WHERE Extra LIKE '%GENERATED%'"
		dropProbe   = "DROP TEMPORARY TABLE IF EXISTS `db`.`shardgate probe t_b`"
		createProbe = "CREATE TEMPORARY TABLE `db`.`shardgate probe t_b` LIKE `db`.`t_b`"
		fillProbe   = "INSERT INTO `shardgate probe t_b` (`id`,`u`) VALUES (2,'abcdef')"
		// The key is on u's first 3 characters.
		find    = "SELECT `id` FROM `db`.`t_b` WHERE (LEFT(`u`, 3)) IN (SELECT LEFT(`u`, 3) FROM `db`.`shardgate probe t_b`) FOR UPDATE"
		inTrans = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
	)
	keyCols := cols("Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name", "Sub_part")
	u := &UpsertMove{Schema: "db", Table: "db.t", Key: "k", Router: keyRouter{}, Rows: []UpsertRow{
		{Cluster: "c1", Table: "t_b", Insert: ins, ProbeInsert: "INSERT INTO `shardgate probe t_b` (`id`,`u`) VALUES (2,'abcdef')", Update: "UPDATE `t_b` SET k = 5"},
	}}
	vc := newCursor(t)
	w := &recWriter{}
	finished := finishRecorder(t, vc, w)
	vc.on(ins, srvErr(mysql.ER_DUP_ENTRY, "Duplicate entry 'abc' for key 'uk'"))
	vc.on(keys, rs(keyCols, row("t_b", "0", "uk", "1", "u", "3")).withStatus(inTrans))
	vc.on(dropProbe, okN(0, ""))
	vc.on(createProbe, okN(0, ""))
	vc.on(fillProbe, okN(1, ""))
	vc.on(pk, rs(keyCols, row("t_b", "0", "PRIMARY", "1", "id", nil)).withStatus(inTrans))
	vc.on(gen, rs(cols("Field", "Type", "Null", "Key", "Default", "Extra")).withStatus(inTrans))
	vc.on(find, rs(cols("id", tLong)).withStatus(inTrans))
	err := u.Execute(vc, w)
	if err == nil {
		t.Fatalf("the statement succeeded (%d packets) though the taken key's row was not found", len(w.packets))
	}
	if len(*finished) != 1 || (*finished)[0] == "" {
		t.Errorf("finish heard %q, want the error (the transaction is undone)", *finished)
	}
	vc.checkReleased(t)
}
