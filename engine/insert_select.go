package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

// RowRouter decides the physical table of one row of a sharded table from
// its shard-key values (the planner's one routing function, so rows a
// primitive writes land where an INSERT … VALUES would put them).
type RowRouter interface {
	// RouteRow: key and sub are the values' texts (nil: NULL; sub is
	// ignored by rules without a second level); rowNum counts from 1, for
	// messages. need, when not nil, is the hourly bucket whose tables must
	// exist before the row is written.
	RouteRow(key, sub *string, rowNum int) (target shard.Target, need *BucketNeed, err error)
	// String describes the rule for EXPLAIN SHARDGATE.
	String() string
}

// OutsideReader is a cursor that can also read outside the session's
// transaction: the returned cursor borrows primaries' connections of its
// own (the session's database and variables, no transaction), so a
// result can stream from them while the session's transaction writes on
// its own connections. Cursors without it make writers that read read
// their input whole first.
type OutsideReader interface {
	// Outside returns the cursor, or nil when the servers cannot lend the
	// connections now: need is how many the read takes per cluster, and
	// each cluster's pool must have one more to spare at once, for the
	// statement's own writes there. Otherwise a full pool (max_open 1,
	// or every connection busy) would have the writes wait for the
	// statement's own read, which waits for them: the writer then reads
	// its input whole inside the transaction instead.
	Outside(need map[string]int) Cursor
}

// Batch sizes of the rows a write streams into INSERTs: a physical
// table's INSERT is sent once its VALUES reach BatchBytes, and every
// table's when all of them together reach MaxBuffered, so what a
// statement holds does not grow with the rows it writes.
const (
	DefaultBatchBytes  = 128 << 10
	DefaultMaxBuffered = 512 << 10
)

// InsertSelect is INSERT … SELECT (and REPLACE … SELECT) into a sharded
// table whose source rows do not provably live with their targets: the
// source is read through its own plan (with its merge), every row is
// routed like a row of INSERT … VALUES, and the rows are written in
// multi-row INSERTs per physical table, all in one transaction (the
// session's, or one of the statement's own under autocommit: see
// Cursor.Atomic). Outside a transaction the source streams from
// connections of its own (OutsideReader) and the batches are sent as they
// fill; inside one it must see the transaction's own writes, so it is
// read on the transaction's connections, whole (within the statement's
// memory budget), before the first batch is written.
type InsertSelect struct {
	Source RowSource
	Router RowRouter
	// Schema qualifies the physical tables written.
	Schema string
	// Verb is "INSERT INTO ", "INSERT IGNORE INTO " or "REPLACE INTO ".
	Verb string
	// Columns is the rendered column list, " (`a`,`b`)".
	Columns string
	// Width is the number of columns the source must return; Key and Sub
	// are the positions of the shard-key values in them (Sub -1: none).
	Width, Key, Sub int
	// BatchBytes and MaxBuffered: 0 means the defaults.
	BatchBytes, MaxBuffered int
	// Ignore: INSERT IGNORE (a duplicate is skipped, counted as one).
	Ignore, Replace bool
	// SourceLocks: the source reads FOR UPDATE or LOCK IN SHARE MODE. Its
	// locks must belong to the statement's transaction (read outside it,
	// they would hold off the statement's own INSERTs until the read ends,
	// which waits for them), so it is read inside it, whole.
	SourceLocks bool
	// OnDuplicate is the rendered " ON DUPLICATE KEY UPDATE …" that
	// follows every batch ("" for none).
	OnDuplicate string
	// Sequence, when set, fills the target's sequenced column in every
	// row before it is routed (it may be the shard key): Key or Sub may
	// then be Width, the appended column.
	Sequence *SequenceFill
}

func (is *InsertSelect) Inputs() []Primitive { return []Primitive{is.Source} }

func (is *InsertSelect) Describe() string {
	return fmt.Sprintf("InsertSelect %s into %s%s: rows routed per row, batched per table%s", strings.TrimSuffix(is.Verb, " INTO "), is.Router, is.OnDuplicate, is.Sequence.describe())
}

func (is *InsertSelect) mergeSummary() string {
	return "insert rows routed per row into " + is.Router.String() + is.OnDuplicate + is.Sequence.describe()
}

// ErrNeedsTransaction is the refusal of a write that must be atomic where
// the session cannot make it so.
func needsTransaction(what string) error {
	return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: %s writes to several tables and must be atomic: it needs a schema with transactions: xa (or, with best_effort, an explicit transaction)", what)
}

func (is *InsertSelect) Execute(vc Cursor, w ResultWriter) error {
	inTxn := vc.Sequential()
	finish, err := vc.Atomic(nil)
	if err != nil {
		return err
	}
	if finish == nil {
		return needsTransaction("INSERT … SELECT into a sharded table")
	}
	// Read inside the transaction, the source shares its one connection
	// per cluster: its inputs must be read one after another, also
	// before the transaction has pinned any (the statement's own).
	var reader Cursor = sequential{vc}
	whole, noSpare := true, false
	if o, ok := vc.(OutsideReader); ok && !inTxn && !is.SourceLocks {
		need := map[string]int{}
		walk(is.Source, func(n Primitive) {
			if r, ok := n.(*Route); ok {
				need[r.Cluster]++
			}
		})
		if out := o.Outside(need); out != nil {
			reader, whole = out, false
		} else {
			noSpare = true
		}
	}
	wr := newRowWriter(vc, is.Schema, is.Verb, is.Columns, is.BatchBytes, is.MaxBuffered)
	wr.suffix = is.OnDuplicate
	records, err := is.copy(vc, reader, whole, noSpare, wr)
	if err == nil {
		err = wr.flushAll()
	}
	wr.release()
	if err = finish(err); err != nil {
		return err
	}
	total := wr.total
	if wr.firstGenerated != 0 {
		// As with AUTO_INCREMENT: the insert id and LAST_INSERT_ID() are
		// the first value the statement generated.
		total.InsertID = uint64(wr.firstGenerated)
	}
	dups := wr.duplicates(records, is.Ignore, is.Replace)
	total.Info = fmt.Sprintf("Records: %d  Duplicates: %d  Warnings: %d", records, dups, total.Warnings)
	return answerOK(vc, w, total)
}

// sequential is a cursor whose steps run one after another on the
// session's connections.
type sequential struct{ Cursor }

func (sequential) Sequential() bool { return true }

// copy reads the source and hands every row to wr; whole reads the source
// to its end before the first write (its connections are the ones the
// writes need; noSpare: because the pools could not lend others).
func (is *InsertSelect) copy(vc, reader Cursor, whole, noSpare bool, wr *rowWriter) (records int, err error) {
	in, err := openInput(reader, is.Source)
	if err != nil {
		return 0, err
	}
	if len(in.cols) != is.Width {
		err := wire.Errorf(mysql.ER_WRONG_VALUE_COUNT_ON_ROW, "Column count doesn't match value count at row 1")
		in.Close(err)
		return 0, err
	}
	wr.cols = in.cols
	if f := is.Sequence; f != nil && f.Index < 0 {
		wr.cols = append(append([]wire.Column(nil), in.cols...), wire.Column{Name: f.Column, Type: mysql.MYSQL_TYPE_LONGLONG})
	}
	put := func(r *Row) error {
		records++
		if is.Sequence != nil {
			filled, v, err := is.Sequence.fill(vc, r)
			if err != nil {
				return err
			}
			if v != 0 && wr.firstGenerated == 0 {
				wr.firstGenerated = v
			}
			r = filled
		}
		return wr.add(is.Router, r, is.Key, is.Sub, records)
	}
	if !whole {
		return records, in.each(put)
	}
	var held []*Row
	var size int64
	acct := vc.Memory()
	err = in.each(func(r *Row) error {
		m := r.Memory()
		if err := acct.Grow(m); err != nil {
			if noSpare {
				// Read whole only because a pool had no connection to
				// spare for streaming it.
				return MemoryError(mysql.ER_OUT_OF_RESOURCES, "INSERT … SELECT whose source is read whole before the rows are written (a server's pool had no connection to spare for streaming it: pool.max_open)",
					"narrow the SELECT, or give the pools more connections", err)
			}
			return MemoryError(mysql.ER_OUT_OF_RESOURCES, "INSERT … SELECT inside a transaction (its source is read whole before the rows are written)",
				"narrow the SELECT, or run it outside a transaction", err)
		}
		size += m
		held = append(held, r)
		return nil
	})
	defer acct.Shrink(size)
	if err != nil {
		return 0, err
	}
	for i, r := range held {
		held[i] = nil // written rows can go
		if err := put(r); err != nil {
			return records, err
		}
	}
	return records, nil
}

// rowWriter collects rows as VALUES tuples per physical table and writes
// them as multi-row INSERTs on the session's (transaction's) connections.
type rowWriter struct {
	vc          Cursor
	schema      string
	verb, cols_ string
	cols        []wire.Column
	// suffix follows the VALUES of every batch (ON DUPLICATE KEY UPDATE).
	suffix string
	// skip marks columns not written (generated ones).
	skip        []bool
	batchBytes  int
	maxBuffered int
	batches     map[shard.Target]*strings.Builder
	order       []shard.Target
	rows        map[shard.Target]int
	buffered    int
	reserved    int64
	ensured     map[string]bool
	total       wire.OK
	// dups sums the Duplicates of the batches' answers; rowsSent the rows
	// of batches whose answer had no info (a one-row INSERT).
	dups                 int
	infoless, infolessOK int
	// firstGenerated is the first value a sequence gave a row (0: none).
	firstGenerated int64
}

func newRowWriter(vc Cursor, schema, verb, columns string, batch, max int) *rowWriter {
	if batch <= 0 {
		batch = DefaultBatchBytes
	}
	if max <= 0 {
		max = DefaultMaxBuffered
	}
	return &rowWriter{vc: vc, schema: schema, verb: verb, cols_: columns, batchBytes: batch, maxBuffered: max,
		batches: map[shard.Target]*strings.Builder{}, rows: map[shard.Target]int{}, ensured: map[string]bool{}}
}

// add routes r and appends it to its table's batch, writing batches as
// they fill.
func (wr *rowWriter) add(router RowRouter, r *Row, key, sub, rowNum int) error {
	str := func(i int) *string {
		if i < 0 || r.Nulls[i] {
			return nil
		}
		s := string(r.Vals[i])
		return &s
	}
	target, need, err := router.RouteRow(str(key), str(sub), rowNum)
	if err != nil {
		return err
	}
	if need != nil && !wr.ensured[need.Bucket] {
		if err := wr.vc.EnsureBucket(*need); err != nil {
			return err
		}
		wr.ensured[need.Bucket] = true
	}
	b := wr.batches[target]
	if b == nil {
		b = &strings.Builder{}
		wr.batches[target] = b
		wr.order = append(wr.order, target)
	}
	before := b.Len()
	if before > 0 {
		b.WriteByte(',')
	}
	b.WriteByte('(')
	first := true
	for i := range wr.cols {
		if i < len(wr.skip) && wr.skip[i] {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(parser.ColumnValueLiteral(wr.cols[i], str(i)))
	}
	b.WriteByte(')')
	grown := b.Len() - before
	if err := wr.vc.Memory().Grow(int64(grown)); err != nil {
		return MemoryError(mysql.ER_OUT_OF_RESOURCES, "a batch of rows to insert", "", err)
	}
	wr.reserved += int64(grown)
	wr.buffered += grown
	wr.rows[target]++
	if b.Len() >= wr.batchBytes {
		return wr.flush(target)
	}
	if wr.buffered >= wr.maxBuffered {
		return wr.flushAll()
	}
	return nil
}

func (wr *rowWriter) flushAll() error {
	for _, t := range wr.order {
		if err := wr.flush(t); err != nil {
			return err
		}
	}
	return nil
}

// flush writes target's batch.
func (wr *rowWriter) flush(target shard.Target) error {
	b := wr.batches[target]
	if b == nil || b.Len() == 0 {
		return nil
	}
	sql := wr.verb + parser.QuoteIdent(wr.schema) + "." + parser.QuoteIdent(target.Table) + wr.cols_ + " VALUES " + b.String() + wr.suffix
	n := wr.rows[target]
	wr.buffered -= b.Len()
	wr.vc.Memory().Shrink(int64(b.Len()))
	wr.reserved -= int64(b.Len())
	b.Reset()
	wr.rows[target] = 0
	ok, err := wr.exec(target, sql)
	if err != nil {
		return err
	}
	wr.total.AffectedRows += ok.AffectedRows
	wr.total.Warnings += ok.Warnings
	if wr.total.InsertID == 0 {
		wr.total.InsertID = ok.InsertID
	}
	if d, found := infoDuplicates(ok.Info); found {
		wr.dups += d
	} else {
		wr.infoless += n
		wr.infolessOK += int(ok.AffectedRows)
	}
	return nil
}

// exec runs one statement of the write on target's cluster.
func (wr *rowWriter) exec(target shard.Target, sql string) (wire.OK, error) {
	var so StepOutcome
	so.Cluster, so.Tables = target.Cluster, []string{target.Table}
	ok, err, _ := (&Fanout{}).step(wr.vc, &Route{Cluster: target.Cluster, Tables: so.Tables, SQL: sql}, &so)
	if err != nil {
		return ok, atomicError([]StepOutcome{so}, err)
	}
	return ok, nil
}

// release gives back what the batches still hold (after a failure).
func (wr *rowWriter) release() {
	wr.vc.Memory().Shrink(wr.reserved)
	wr.reserved = 0
	wr.batches = nil
}

// duplicates is the Duplicates of the statement's info, as MariaDB counts
// them: rows IGNORE skipped, rows REPLACE replaced (ON DUPLICATE KEY
// UPDATE is not streamed). One-row batches answer no info: their
// duplicates come from their affected rows.
func (wr *rowWriter) duplicates(records int, ignore, replace bool) int {
	d := wr.dups
	switch {
	case ignore:
		d += wr.infoless - wr.infolessOK
	case replace:
		d += wr.infolessOK - wr.infoless
	}
	return d
}

// infoDuplicates reads "Records: 3  Duplicates: 1  Warnings: 0".
func infoDuplicates(info string) (int, bool) {
	i := strings.Index(info, "Duplicates: ")
	if i < 0 {
		return 0, false
	}
	rest := info[i+len("Duplicates: "):]
	if j := strings.IndexByte(rest, ' '); j >= 0 {
		rest = rest[:j]
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}
