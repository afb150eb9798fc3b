package engine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

// MoveRows is an UPDATE that assigns a sharded table's shard column: a row
// whose new key belongs in another physical table must move there. The
// proxy computes no new value itself; the server does, by running the
// client's SET on the rows:
//
//  1. on every physical table the WHERE reaches, the matching rows'
//     primary keys are read with the client's WHERE (and ORDER BY,
//     LIMIT), FOR UPDATE: the rows the UPDATE would change, locked;
//  2. per table, in chunks: the client's SET runs on exactly those rows
//     (WHERE (pk) IN (…)), which gives MariaDB's affected rows, warnings
//     and conversions; the rows are read back, each routed by its new
//     key like a row of INSERT; those that belong elsewhere are deleted
//     here and inserted, as they are now, in their new table.
//
// Every key is read in step 1 before any row moves, so a row moved into a
// table not yet visited is not updated twice. It all runs in one
// transaction (Cursor.Atomic): the session's, or the statement's own.
type MoveRows struct {
	// Schema qualifies the physical tables; Table names the logical one.
	Schema, Table string
	Tables        []MoveTable
	// Key and Sub are the shard columns (lower case; Sub "" when none).
	Key, Sub string
	Router   RowRouter
	Ignore   bool
	// Chunk is how many rows step 2 handles at once (0: DefaultMoveChunk).
	Chunk int
	// Limited: the UPDATE has ORDER BY or LIMIT (which only a primary key
	// makes repeatable, see copyMove).
	Limited bool
}

// MoveTable is one physical table an UPDATE that moves rows reaches.
type MoveTable struct {
	Cluster, Table string
	// FindRest follows "SELECT <primary key columns> " to find the rows:
	// "FROM t_3 WHERE … FOR UPDATE".
	FindRest string
	// Update is the client's UPDATE on this table without WHERE, ORDER BY
	// and LIMIT: the rows' primary keys are appended as its WHERE.
	Update string
	// UpdateCopy is the same UPDATE on the table's temporary copy
	// (MoveTempTable), and Delete the client's WHERE (ORDER BY, LIMIT) as
	// a DELETE on this table: for tables whose rows the primary key cannot
	// find again after the UPDATE (see copyMove).
	UpdateCopy, Delete string
}

// MoveTempTable names the temporary table into which an UPDATE that moves
// rows copies one physical table's matching rows when their primary key
// holds the shard key (or there is none): quoted, with a space, it is not
// a name a client writes by chance.
func MoveTempTable(table string) string { return "shardgate move " + table }

// DefaultMoveChunk bounds the rows read back at once.
const DefaultMoveChunk = 100

// Inputs are the statements each table gets, for EXPLAIN SHARDGATE only
// (Execute runs them itself, with the primary key filled in).
func (m *MoveRows) Inputs() []Primitive { return routePrimitives(m.routes()) }

func (m *MoveRows) Describe() string {
	return fmt.Sprintf("MoveRows %s: update in place, then move rows whose new key routes elsewhere (%s)", m.Table, m.Router)
}

func (m *MoveRows) mergeSummary() string { return "move rows to their new tables" }

// Routes lists, for EXPLAIN SHARDGATE, what runs on each table.
func (m *MoveRows) routes() []*Route {
	out := make([]*Route, 0, 2*len(m.Tables))
	for _, t := range m.Tables {
		out = append(out,
			&Route{Cluster: t.Cluster, Tables: []string{t.Table}, SQL: "SELECT <primary key> " + t.FindRest},
			&Route{Cluster: t.Cluster, Tables: []string{t.Table}, SQL: t.Update + " WHERE <primary key> IN (…)"})
	}
	return out
}

func (m *MoveRows) Execute(vc Cursor, w ResultWriter) error {
	return runAtomic(vc, w, "an UPDATE that changes the shard key (it moves rows between tables)", func() (wire.OK, error) { return m.run(vc) })
}

// runAtomic runs a write that must be atomic across tables, in the
// session's transaction or one of its own (Cursor.Atomic; what names the
// write in the refusal when there can be none), and answers its OK.
func runAtomic(vc Cursor, w ResultWriter, what string, run func() (wire.OK, error)) error {
	finish, err := vc.Atomic(nil)
	if err != nil {
		return err
	}
	if finish == nil {
		return needsTransaction(what)
	}
	total, err := run()
	if err = finish(err); err != nil {
		return err
	}
	return answerOK(vc, w, total)
}

// answerOK records a write's success in the session, then sends its OK
// packet (with the session's status after it).
func answerOK(vc Cursor, w ResultWriter, total wire.OK) error {
	vc.Succeeded(total)
	total.Status = vc.Status()
	if err := w.WritePacket(wire.AppendOK(nil, total)); err != nil {
		return clientGone(err)
	}
	return w.Flush()
}

// pkTuples are one table's rows, as SQL tuples of their primary keys.
type pkTuples struct {
	tuples []string
	size   int64
}

func (m *MoveRows) run(vc Cursor) (wire.OK, error) {
	var total wire.OK
	if len(m.Tables) == 0 {
		return total, nil
	}
	pk, keyInPK, err := m.primaryKey(vc, m.Tables[0])
	if err != nil {
		return total, err
	}
	generated, err := m.generatedColumns(vc, m.Tables[0])
	if err != nil {
		return total, err
	}
	if len(pk) == 0 || keyInPK {
		return m.copyMove(vc, pk, generated)
	}
	pkList := make([]string, len(pk))
	for i, c := range pk {
		pkList[i] = parser.QuoteIdent(c)
	}
	cols := "(" + strings.Join(pkList, ",") + ")"
	acct := vc.Memory()
	found := make([]pkTuples, len(m.Tables))
	defer func() {
		for _, f := range found {
			acct.Shrink(f.size)
		}
	}()
	for i, t := range m.Tables {
		if found[i], err = m.find(vc, t, strings.Join(pkList, ","), len(pk)); err != nil {
			return total, err
		}
	}
	chunk := m.Chunk
	if chunk <= 0 {
		chunk = DefaultMoveChunk
	}
	wr := newRowWriter(vc, m.Schema, "INSERT INTO ", "", 0, 0)
	defer wr.release()
	var matched, changed uint64
	for i, t := range m.Tables {
		tuples := found[i].tuples
		for len(tuples) > 0 {
			n := min(chunk, len(tuples))
			part := tuples[:n]
			tuples = tuples[n:]
			in := " WHERE " + cols + " IN (" + strings.Join(part, ",") + ")"
			ok, err := wr.exec(shard.Target{Cluster: t.Cluster, Table: t.Table}, t.Update+in)
			if err != nil {
				return total, err
			}
			total.AffectedRows += ok.AffectedRows
			total.Warnings += ok.Warnings
			mt, ch, found := updateInfo(ok.Info)
			if !found {
				mt, ch = uint64(n), ok.AffectedRows
			}
			matched += mt
			changed += ch
			if err := m.moveChunk(vc, wr, t, pk, generated, cols, in); err != nil {
				return total, err
			}
		}
	}
	if err := wr.flushAll(); err != nil {
		return total, err
	}
	total.Warnings += wr.total.Warnings
	total.Info = fmt.Sprintf("Rows matched: %d  Changed: %d  Warnings: %d", matched, changed, total.Warnings)
	return total, nil
}

// primaryKey reads the physical tables' primary key (they share the
// logical table's definition).
// keyInPK: a shard column is part of it. No primary key: nil.
func (m *MoveRows) primaryKey(vc Cursor, t MoveTable) (pk []string, keyInPK bool, err error) {
	parts, err := m.keyColumns(vc, t, m.Schema, "PRIMARY")
	if err != nil {
		return nil, false, err
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.name
		if strings.EqualFold(p.name, m.Key) || (m.Sub != "" && strings.EqualFold(p.name, m.Sub)) {
			keyInPK = true
		}
	}
	return out, keyInPK, nil
}

// keyColumn is one column of an index, as SHOW KEYS lists it.
type keyColumn struct {
	name string
	// prefix is the length of the indexed prefix (note(3)), 0 for the
	// whole column.
	prefix int
}

// keyColumns reads the columns of index key of schema's table t, in the
// index's order (SHOW KEYS, on t's cluster, in the statement's memory).
func (m *MoveRows) keyColumns(vc Cursor, t MoveTable, schema, key string) ([]keyColumn, error) {
	res, err := m.query(vc, t, "SHOW KEYS FROM "+parser.QuoteIdent(schema)+"."+parser.QuoteIdent(t.Table)+" WHERE Key_name = "+parser.QuoteString(key))
	if err != nil {
		return nil, err
	}
	defer vc.Memory().Shrink(res.size)
	nameAt, seqAt, subAt := -1, -1, -1
	for i, c := range res.Columns {
		switch c.Name {
		case "Column_name":
			nameAt = i
		case "Seq_in_index":
			seqAt = i
		case "Sub_part":
			subAt = i
		}
	}
	type part struct {
		seq int
		col keyColumn
	}
	var parts []part
	for _, r := range res.Rows {
		if nameAt < 0 || seqAt < 0 || r[nameAt] == nil || r[seqAt] == nil {
			continue
		}
		p := part{col: keyColumn{name: *r[nameAt]}}
		p.seq, _ = strconv.Atoi(*r[seqAt])
		if subAt >= 0 && r[subAt] != nil {
			if n, err := strconv.Atoi(*r[subAt]); err == nil && n > 0 {
				p.col.prefix = n
			}
		}
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].seq < parts[j].seq })
	out := make([]keyColumn, len(parts))
	for i, p := range parts {
		out[i] = p.col
	}
	return out, nil
}

// generatedColumns lists the table's generated columns (lower case),
// which a moved row cannot be given.
func (m *MoveRows) generatedColumns(vc Cursor, t MoveTable) (map[string]bool, error) {
	res, err := m.query(vc, t, "SHOW COLUMNS FROM "+parser.QuoteIdent(m.Schema)+"."+parser.QuoteIdent(t.Table)+" WHERE Extra LIKE '%GENERATED%'")
	if err != nil {
		return nil, err
	}
	defer vc.Memory().Shrink(res.size)
	out := map[string]bool{}
	for _, r := range res.Rows {
		if len(r) > 0 && r[0] != nil {
			out[strings.ToLower(*r[0])] = true
		}
	}
	return out, nil
}

// find reads the primary keys of the rows the UPDATE matches in t,
// locking them, as SQL tuples; what they take is reserved from the
// statement's memory budget.
func (m *MoveRows) find(vc Cursor, t MoveTable, pkList string, width int) (pkTuples, error) {
	var out pkTuples
	c, err := vc.Conn(t.Cluster, false)
	if err != nil {
		return out, err
	}
	if err := c.Send(mysql.COM_QUERY, []byte("SELECT "+pkList+" "+t.FindRest)); err != nil {
		return out, vc.Lost(c, err)
	}
	header, err := c.ReadHeader()
	if err != nil {
		return out, m.readFailed(vc, c, err)
	}
	colDefs, err := columnsOf(header)
	if err != nil {
		vc.Release(c, nil, err)
		return out, err
	}
	acct := vc.Memory()
	var refusal error
	for {
		p, eof, status, err := c.ReadRow()
		if err != nil {
			return out, m.readFailed(vc, c, err)
		}
		if eof {
			vc.Release(c, &backend.Outcome{Status: status, Warnings: c.Warnings()}, nil)
			return out, refusal
		}
		if refusal != nil {
			continue // read to the end: the connection holds the transaction
		}
		vals, nulls, ok := wire.ParseTextRow(p, width)
		if !ok {
			refusal = wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: malformed row from a backend")
			continue
		}
		var b strings.Builder
		b.WriteByte('(')
		for i := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			var v *string
			if !nulls[i] {
				s := string(vals[i])
				v = &s
			}
			b.WriteString(parser.ColumnValueLiteral(colDefs[i], v))
		}
		b.WriteByte(')')
		size := memory16(b.Len())
		if err := acct.Grow(size); err != nil {
			refusal = MemoryError(mysql.ER_OUT_OF_RESOURCES, "the keys of the rows an UPDATE of the shard key moves", "narrow the UPDATE's WHERE", err)
			continue
		}
		out.size += size
		out.tuples = append(out.tuples, b.String())
	}
}

// memory16 is what a tuple's text and its place in the list take.
func memory16(n int) int64 { return int64(n) + 16 }

// readFailed ends a read that failed part way: a server error ends the
// result (the connection is fine), anything else loses the connection.
func (m *MoveRows) readFailed(vc Cursor, c Conn, err error) error {
	if Classify(err) == FaultServer {
		me, _ := err.(*mysql.MyError)
		vc.Release(c, &backend.Outcome{Err: me}, nil)
		return err
	}
	return vc.Lost(c, err)
}

// queryResult is a small result the proxy reads for itself.
type queryResult struct {
	Columns []wire.Column
	Rows    [][]*string
	// size is what the rows reserved from the statement's memory budget.
	size int64
}

// query runs one of the proxy's own statements on t's cluster and reads
// its result, row by row into the statement's memory budget, keeping the
// final status (the transaction's state) for the session.
func (m *MoveRows) query(vc Cursor, t MoveTable, sql string) (*queryResult, error) {
	c, err := vc.Conn(t.Cluster, false)
	if err != nil {
		return nil, err
	}
	if err := c.Send(mysql.COM_QUERY, []byte(sql)); err != nil {
		return nil, vc.Lost(c, err)
	}
	header, err := c.ReadHeader()
	if err != nil {
		return nil, m.readFailed(vc, c, err)
	}
	res := &queryResult{}
	if res.Columns, err = columnsOf(header); err != nil {
		vc.Release(c, nil, err)
		return nil, err
	}
	acct := vc.Memory()
	var refusal error
	for {
		p, eof, status, err := c.ReadRow()
		if err != nil {
			acct.Shrink(res.size)
			return nil, m.readFailed(vc, c, err)
		}
		if eof {
			vc.Release(c, &backend.Outcome{Status: status, Warnings: c.Warnings()}, nil)
			if refusal != nil {
				acct.Shrink(res.size)
				return nil, refusal
			}
			return res, nil
		}
		if refusal != nil {
			continue // read to the end: the connection holds the transaction
		}
		vals, nulls, ok := wire.ParseTextRow(p, len(res.Columns))
		if !ok {
			refusal = wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: malformed row from a backend")
			continue
		}
		n := backend.ResultRowMemory(vals, nulls)
		if err := acct.Grow(n); err != nil {
			refusal = MemoryError(mysql.ER_OUT_OF_RESOURCES, "rows an UPDATE of the shard key moves", "narrow the UPDATE's WHERE", err)
			continue
		}
		res.size += n
		row := make([]*string, len(vals))
		for i, v := range vals {
			if !nulls[i] {
				s := string(v)
				row[i] = &s
			}
		}
		res.Rows = append(res.Rows, row)
	}
}

// moveChunk reads back the rows just updated (in), and moves those whose
// new key routes to another table.
func (m *MoveRows) moveChunk(vc Cursor, wr *rowWriter, t MoveTable, pk []string, generated map[string]bool, cols, in string) error {
	here := parser.QuoteIdent(m.Schema) + "." + parser.QuoteIdent(t.Table)
	res, err := m.query(vc, t, "SELECT * FROM "+here+in)
	if err != nil {
		return err
	}
	defer vc.Memory().Shrink(res.size)
	keyAt, subAt, err := m.writeAs(wr, res.Columns, t, generated)
	if err != nil {
		return err
	}
	pkAt := make([]int, len(pk))
	for j, p := range pk {
		pkAt[j] = -1
		for i, c := range res.Columns {
			if strings.EqualFold(c.Name, p) {
				pkAt[j] = i
			}
		}
	}
	var moving []string
	var rows [][]*string
	for n, r := range res.Rows {
		var sub *string
		if subAt >= 0 {
			sub = r[subAt]
		}
		target, _, err := m.Router.RouteRow(r[keyAt], sub, n+1)
		if err != nil {
			return err
		}
		if target.Table == t.Table && target.Cluster == t.Cluster {
			continue
		}
		parts := make([]string, len(pk))
		for j, at := range pkAt {
			if at < 0 {
				return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: table %s has no column %s", t.Table, pk[j])
			}
			parts[j] = parser.ColumnValueLiteral(res.Columns[at], r[at])
		}
		moving = append(moving, "("+strings.Join(parts, ",")+")")
		rows = append(rows, r)
	}
	if len(moving) == 0 {
		return nil
	}
	ok, err := wr.exec(shard.Target{Cluster: t.Cluster, Table: t.Table}, "DELETE FROM "+here+" WHERE "+cols+" IN ("+strings.Join(moving, ",")+")")
	if err != nil {
		return err
	}
	if ok.AffectedRows != uint64(len(moving)) {
		return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: moving rows of %s: %d of %d rows found to delete from %s", m.Table, ok.AffectedRows, len(moving), t.Table)
	}
	for n, r := range rows {
		if err := wr.add(m.Router, textRow(r), keyAt, subAt, n+1); err != nil {
			return err
		}
	}
	// The moved rows go out with this chunk: the writer's columns are
	// this result's.
	return wr.flushAll()
}

// writeAs sets wr to insert rows of these columns as they are read back
// (generated columns left out: the server computes them again at the new
// place), and finds the shard columns among them.
func (m *MoveRows) writeAs(wr *rowWriter, cols []wire.Column, t MoveTable, generated map[string]bool) (keyAt, subAt int, err error) {
	keyAt, subAt = -1, -1
	var names []string
	skip := make([]bool, len(cols))
	for i, c := range cols {
		if generated[strings.ToLower(c.Name)] {
			skip[i] = true
		} else {
			names = append(names, parser.QuoteIdent(c.Name))
		}
		switch {
		case strings.EqualFold(c.Name, m.Key):
			keyAt = i
		case m.Sub != "" && strings.EqualFold(c.Name, m.Sub):
			subAt = i
		}
	}
	if keyAt < 0 || (m.Sub != "" && subAt < 0) {
		return -1, -1, wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: table %s has no column %s", t.Table, m.Key)
	}
	wr.cols, wr.skip = cols, skip
	wr.cols_ = " (" + strings.Join(names, ",") + ")"
	return keyAt, subAt, nil
}

// updateInfo reads "Rows matched: 2  Changed: 1  Warnings: 0".
func updateInfo(info string) (matched, changed uint64, ok bool) {
	num := func(label string) (uint64, bool) {
		i := strings.Index(info, label)
		if i < 0 {
			return 0, false
		}
		rest := info[i+len(label):]
		if j := strings.IndexByte(rest, ' '); j >= 0 {
			rest = rest[:j]
		}
		n, err := strconv.ParseUint(rest, 10, 64)
		return n, err == nil
	}
	matched, ok1 := num("Rows matched: ")
	changed, ok2 := num("Changed: ")
	return matched, changed, ok1 && ok2
}
