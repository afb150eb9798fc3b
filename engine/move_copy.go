package engine

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

// copyMove is MoveRows for a table whose primary key holds a shard column
// (an hourly table keyed (id, created_at)), or that has none: after the
// UPDATE the rows cannot be found again by the key they had. The server
// still computes every new row, on a copy:
//
//  1. on every physical table the WHERE reaches, the matching rows are
//     copied (FOR UPDATE, with the client's ORDER BY and LIMIT) into a
//     temporary table of the same definition on the transaction's
//     connection, deleted from the table (by primary key, or without one
//     by the client's WHERE, which the locks keep matching the same rows),
//     and the client's SET runs on the copy: MariaDB's conversions,
//     warnings, matched and changed rows;
//  2. only then (no row is updated twice, whichever table it moves to),
//     every copy's rows are read back and inserted where their new key
//     routes, their old table included;
//  3. the temporary tables are dropped, however it went (and a
//     transaction's connections are reset on their way back to the pool,
//     which drops whatever a broken exchange left).
//
// Rows are deleted and inserted, not updated in place: triggers on UPDATE
// do not run, and a foreign key's ON DELETE acts (docs/move.md). Without
// a primary key, ORDER BY or LIMIT would not repeat: refused.
func (m *MoveRows) copyMove(vc Cursor, pk []string, generated map[string]bool) (total wire.OK, err error) {
	if len(pk) == 0 && m.Limited {
		return total, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: UPDATE of shard column %s of %s with ORDER BY or LIMIT moves rows between tables, which needs a PRIMARY KEY to find them again", m.Key, m.Table)
	}
	cols, err := m.copyColumns(vc, m.Tables[0], generated)
	if err != nil {
		return total, err
	}
	wr := newRowWriter(vc, m.Schema, "INSERT INTO ", "", 0, 0)
	defer wr.release()
	var created []MoveTable
	defer func() {
		for _, t := range created {
			_, derr := wr.exec(shard.Target{Cluster: t.Cluster, Table: t.Table}, "DROP TEMPORARY TABLE IF EXISTS "+m.tempName(t))
			if derr != nil && err == nil {
				err = derr
			}
		}
	}()
	pkList := make([]string, len(pk))
	for i, c := range pk {
		pkList[i] = parser.QuoteIdent(c)
	}
	var matched, changed uint64
	copied := make([]bool, len(m.Tables))
	for i, t := range m.Tables {
		at := shard.Target{Cluster: t.Cluster, Table: t.Table}
		here, tmp := parser.QuoteIdent(m.Schema)+"."+parser.QuoteIdent(t.Table), m.tempName(t)
		// A copy an earlier statement could not drop (its connection kept
		// in a transaction) must not add its rows to this one's.
		for _, q := range []string{"DROP TEMPORARY TABLE IF EXISTS " + tmp, "CREATE TEMPORARY TABLE " + tmp + " LIKE " + here} {
			if _, err := wr.exec(at, q); err != nil {
				return total, err
			}
		}
		created = append(created, t)
		ok, err := wr.exec(at, "INSERT INTO "+tmp+" ("+cols+") SELECT "+cols+" "+t.FindRest)
		if err != nil {
			return total, err
		}
		n := ok.AffectedRows
		if n == 0 {
			continue
		}
		copied[i] = true
		del := t.Delete
		if len(pk) > 0 {
			list := strings.Join(pkList, ",")
			del = "DELETE FROM " + here + " WHERE (" + list + ") IN (SELECT " + list + " FROM " + tmp + ")"
		}
		if ok, err = wr.exec(at, del); err != nil {
			return total, err
		}
		if ok.AffectedRows != n {
			return total, wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: moving rows of %s: %d rows copied from %s but %d deleted", m.Table, n, t.Table, ok.AffectedRows)
		}
		if ok, err = wr.exec(at, t.UpdateCopy); err != nil {
			return total, err
		}
		total.AffectedRows += ok.AffectedRows
		total.Warnings += ok.Warnings
		mt, ch, found := updateInfo(ok.Info)
		if !found {
			mt, ch = n, ok.AffectedRows
		}
		matched += mt
		changed += ch
	}
	for i, t := range m.Tables {
		if copied[i] {
			if err := m.insertCopy(vc, wr, t, generated); err != nil {
				return total, err
			}
		}
	}
	total.Warnings += wr.total.Warnings
	total.Info = fmt.Sprintf("Rows matched: %d  Changed: %d  Warnings: %d", matched, changed, total.Warnings)
	return total, nil
}

func (m *MoveRows) tempName(t MoveTable) string {
	return parser.QuoteIdent(m.Schema) + "." + parser.QuoteIdent(MoveTempTable(t.Table))
}

// copyColumns lists the table's columns a copy takes (generated ones are
// computed again), quoted, in order.
func (m *MoveRows) copyColumns(vc Cursor, t MoveTable, generated map[string]bool) (string, error) {
	res, err := m.query(vc, t, "SELECT * FROM "+parser.QuoteIdent(m.Schema)+"."+parser.QuoteIdent(t.Table)+" LIMIT 0")
	if err != nil {
		return "", err
	}
	defer vc.Memory().Shrink(res.size)
	var names []string
	for _, c := range res.Columns {
		if !generated[strings.ToLower(c.Name)] {
			names = append(names, parser.QuoteIdent(c.Name))
		}
	}
	return strings.Join(names, ","), nil
}

// insertCopy reads t's updated copy back (whole, within the statement's
// memory budget: it shares the connection the inserts use) and inserts
// every row where its new key routes.
func (m *MoveRows) insertCopy(vc Cursor, wr *rowWriter, t MoveTable, generated map[string]bool) error {
	res, err := m.query(vc, t, "SELECT * FROM "+m.tempName(t))
	if err != nil {
		return err
	}
	defer vc.Memory().Shrink(res.size)
	keyAt, subAt, err := m.writeAs(wr, res.Columns, t, generated)
	if err != nil {
		return err
	}
	for n, r := range res.Rows {
		if err := wr.add(m.Router, textRow(r), keyAt, subAt, n+1); err != nil {
			return err
		}
	}
	// The rows go out with this table's copy: the writer's columns are
	// this result's.
	return wr.flushAll()
}
