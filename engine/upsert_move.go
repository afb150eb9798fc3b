package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

// UpsertMove is an INSERT … ON DUPLICATE KEY UPDATE whose update assigns a
// sharded table's shard column a value that may route the updated row to
// another physical table. One server would insert each row, or, when it
// meets an existing row with an equal PRIMARY or UNIQUE key, update that
// row; here the row may then have to move.
//
// Row by row, in the statement's order (a row may conflict with one an
// earlier row inserted or moved), in one transaction (Cursor.Atomic):
//
//  1. the row is inserted into its table as a plain INSERT, which the
//     server refuses with 1062 when a key is taken, naming the key;
//  2. on 1062, the update runs as an UPDATE that moves rows (MoveRows):
//     found by that key's columns equal to the row's values, its SET the
//     client's assignments with VALUES(c) replaced by the row's value.
//     The server computes the new row; the proxy moves it if its new key
//     routes elsewhere. A duplicate at the new place fails the statement
//     with that server's 1062, as the update would on one server.
//
// Affected rows count as MariaDB's: 1 per row inserted, 2 per row
// updated and changed, 0 per row found unchanged (1 with
// CLIENT_FOUND_ROWS, which the backend connection's UPDATE answers with).
type UpsertMove struct {
	// Schema qualifies the physical tables; Table names the logical one.
	Schema, Table string
	Key, Sub      string
	Router        RowRouter
	Ignore        bool
	Rows          []UpsertRow
}

// UpsertRow is one row of the statement.
type UpsertRow struct {
	Cluster, Table string
	// Insert is the row alone as a plain INSERT into its table;
	// ProbeInsert the same into UpsertProbeTable(Table).
	Insert, ProbeInsert string
	// Update and UpdateCopy are the client's assignments, VALUES(c)
	// replaced, as an UPDATE of the table and of its temporary copy
	// (MoveTable), without WHERE.
	Update, UpdateCopy string
}

func (u *UpsertMove) Inputs() []Primitive {
	out := make([]Primitive, 0, 2*len(u.Rows))
	for _, r := range u.Rows {
		out = append(out,
			&Route{Cluster: r.Cluster, Tables: []string{r.Table}, SQL: r.Insert},
			&Route{Cluster: r.Cluster, Tables: []string{r.Table}, SQL: r.Update + " WHERE <the key the INSERT found taken> (on 1062)"})
	}
	return out
}

func (u *UpsertMove) Describe() string {
	return fmt.Sprintf("UpsertMove %s: each row inserted, or on a duplicate key updated and moved if its new key routes elsewhere (%s)", u.Table, u.Router)
}

func (u *UpsertMove) mergeSummary() string { return "insert, or update and move" }

func (u *UpsertMove) Execute(vc Cursor, w ResultWriter) error {
	return runAtomic(vc, w, "an INSERT … ON DUPLICATE KEY UPDATE that changes the shard key (it may move rows between tables)", func() (wire.OK, error) { return u.run(vc) })
}

func (u *UpsertMove) run(vc Cursor) (wire.OK, error) {
	var total wire.OK
	dups := 0
	for _, r := range u.Rows {
		target := shard.Target{Cluster: r.Cluster, Table: r.Table}
		var so StepOutcome
		so.Cluster, so.Tables = r.Cluster, []string{r.Table}
		ok, err, _ := (&Fanout{}).step(vc, &Route{Cluster: r.Cluster, Tables: so.Tables, SQL: r.Insert}, &so)
		if err == nil {
			total.AffectedRows += ok.AffectedRows
			total.Warnings += ok.Warnings
			if total.InsertID == 0 {
				total.InsertID = ok.InsertID
			}
			if ok.AffectedRows == 0 { // INSERT IGNORE skipped it
				dups++
			}
			continue
		}
		key, taken := duplicateKey(err)
		if !taken {
			return total, atomicError([]StepOutcome{so}, err)
		}
		dups++
		match, dropProbe, err := u.match(vc, target, r, key)
		if err != nil {
			return total, err
		}
		here := parser.QuoteIdent(u.Schema) + "." + parser.QuoteIdent(r.Table)
		mv := &MoveRows{Schema: u.Schema, Table: u.Table, Key: u.Key, Sub: u.Sub, Router: u.Router, Ignore: u.Ignore,
			Tables: []MoveTable{{Cluster: r.Cluster, Table: r.Table,
				FindRest:   "FROM " + here + " WHERE " + match + " FOR UPDATE",
				Update:     r.Update,
				UpdateCopy: r.UpdateCopy,
				Delete:     "DELETE FROM " + here + " WHERE " + match}}}
		ok, err = mv.run(vc)
		if derr := dropProbe(); err == nil {
			err = derr
		}
		if err != nil {
			return total, err
		}
		matched, changed, found := updateInfo(ok.Info)
		if !found {
			changed = ok.AffectedRows
		} else if matched == 0 {
			// The server holds the row it named (its 1062 locks it): not
			// finding it is the proxy's mistake, and the statement is
			// undone rather than the update lost.
			return total, wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: the row holding key %s of %s was not found again after the server reported it taken; nothing was written", key, r.Table)
		}
		total.AffectedRows += ok.AffectedRows + changed
		total.Warnings += ok.Warnings
	}
	if len(u.Rows) > 1 {
		total.Info = fmt.Sprintf("Records: %d  Duplicates: %d  Warnings: %d", len(u.Rows), dups, total.Warnings)
	}
	return total, nil
}

// match is the condition that finds the row holding key's values of r.
// Those are the values as the key's columns store them, which the proxy
// does not compute (1.4 into an INT is 1, a string longer than a CHAR is
// cut in a non-strict mode, a generated column is computed, a column the
// row leaves out takes its default): the row is inserted into an empty
// temporary copy of the table (CREATE … LIKE), in the session's
// sql_mode, and the match reads the key there, on the key's prefix when
// the key is on one. drop removes the probe (the transaction's
// connection is also reset on its way back to the pool).
func (u *UpsertMove) match(vc Cursor, target shard.Target, r UpsertRow, key string) (match string, drop func() error, err error) {
	drop = func() error { return nil }
	mt := MoveTable{Cluster: target.Cluster, Table: target.Table}
	here := parser.QuoteIdent(u.Schema) + "." + parser.QuoteIdent(target.Table)
	cols, err := (&MoveRows{}).keyColumns(vc, mt, u.Schema, key)
	if err != nil {
		return "", drop, err
	}
	var keyed []string
	for _, c := range cols {
		col := parser.QuoteIdent(c.name)
		// A key on a prefix of the column (note(3)) compares that prefix
		// (characters, bytes for a binary column: as LEFT counts).
		if c.prefix > 0 {
			col = "LEFT(" + col + ", " + strconv.Itoa(c.prefix) + ")"
		}
		keyed = append(keyed, col)
	}
	if len(keyed) == 0 {
		return "", drop, wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: key %s of %s was reported taken but has no columns", key, target.Table)
	}
	wr := newRowWriter(vc, u.Schema, "INSERT INTO ", "", 0, 0)
	probe := parser.QuoteIdent(u.Schema) + "." + parser.QuoteIdent(UpsertProbeTable(target.Table))
	if _, err := wr.exec(target, "DROP TEMPORARY TABLE IF EXISTS "+probe); err != nil {
		return "", drop, err
	}
	if _, err := wr.exec(target, "CREATE TEMPORARY TABLE "+probe+" LIKE "+here); err != nil {
		// A table a temporary InnoDB table cannot copy (a FULLTEXT or
		// spatial index, 1796; partitions): its columns alone, without
		// indexes. Generated columns become plain ones there, so a key
		// on one is not found again (the statement fails, undone).
		if _, err := wr.exec(target, "CREATE TEMPORARY TABLE "+probe+" SELECT * FROM "+here+" LIMIT 0"); err != nil {
			return "", drop, err
		}
	}
	drop = func() error {
		_, err := wr.exec(target, "DROP TEMPORARY TABLE IF EXISTS "+probe)
		return err
	}
	if _, err := wr.exec(target, r.ProbeInsert); err != nil {
		drop()
		return "", func() error { return nil }, err
	}
	// (A key found taken holds no NULL: a UNIQUE key's NULLs never
	// conflict, so IN's reading of NULL does not matter.)
	k := strings.Join(keyed, ",")
	return "(" + k + ") IN (SELECT " + k + " FROM " + probe + ")", drop, nil
}

// UpsertProbeTable names the temporary table UpsertMove finds a taken
// key's row with: with spaces, as MoveTempTable.
func UpsertProbeTable(table string) string { return "shardgate probe " + table }

// duplicateKey reads a server's 1062 "Duplicate entry '…' for key 'k'":
// the key's name.
func duplicateKey(err error) (string, bool) {
	var me *mysql.MyError
	if !errors.As(err, &me) || me.Code != mysql.ER_DUP_ENTRY {
		return "", false
	}
	const marker = "for key '"
	i := strings.LastIndex(me.Message, marker)
	if i < 0 || !strings.HasSuffix(me.Message, "'") {
		return "", false
	}
	name := me.Message[i+len(marker) : len(me.Message)-1]
	return name, name != ""
}
