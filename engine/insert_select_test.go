package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

// keyRouter routes key "1" to c0.t_a, "2" to c1.t_b, anything else to
// c0.t_c; NULL is refused as the planner's router refuses it.
type keyRouter struct{}

func (keyRouter) RouteRow(key, sub *string, rowNum int) (shard.Target, *BucketNeed, error) {
	if key == nil {
		return shard.Target{}, nil, wire.Errorf(mysql.ER_BAD_NULL_ERROR, "shard column k cannot be NULL (row %d)", rowNum)
	}
	switch *key {
	case "1":
		return shard.Target{Cluster: "c0", Table: "t_a"}, nil, nil
	case "2":
		return shard.Target{Cluster: "c1", Table: "t_b"}, nil, nil
	}
	return shard.Target{Cluster: "c0", Table: "t_c"}, nil, nil
}

func (keyRouter) String() string { return "db.t by k" }

// outsideCursor is a fake cursor that can read outside the transaction
// (a cursor of its own, sharing the fake's canned responses).
type outsideFake struct{ *fakeCursor }

type readerFake struct{ *fakeCursor }

func (o outsideFake) Outside(need map[string]int) Cursor {
	if o.noSpare {
		return nil
	}
	o.outsideNeed = need
	return readerFake{o.fakeCursor}
}

// finishRecorder answers Atomic and records what finish heard.
func finishRecorder(t *testing.T, vc *fakeCursor, w *recWriter) *[]string {
	var finished []string
	vc.atomic = func() (func(error) error, error) {
		return func(err error) error {
			if len(w.packets) != 0 {
				t.Errorf("the client got an answer before finish")
			}
			if err == nil {
				finished = append(finished, "")
				return nil
			}
			finished = append(finished, err.Error())
			var me *mysql.MyError
			if !errors.As(err, &me) {
				return err
			}
			return &mysql.MyError{Code: me.Code, State: me.State, Message: me.Message + "; undone"}
		}, nil
	}
	return &finished
}

func okN(n uint64, info string) *resp {
	return okResp(wire.OK{AffectedRows: n, Info: info, Status: mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS})
}

func TestInsertSelect(t *testing.T) {
	src := cols("id", tLong, "k", tString)
	const (
		insA = "INSERT INTO `db`.`t_a` (`id`,`k`) VALUES "
		insB = "INSERT INTO `db`.`t_b` (`id`,`k`) VALUES "
	)
	one := "_utf8mb4 X'31'"
	two := "_utf8mb4 X'32'"
	tests := []struct {
		name     string
		outside  bool // the cursor can read outside the transaction
		noSpare  bool // … but its pools cannot lend the connections now
		inTxn    bool
		locks    bool // the source reads FOR UPDATE
		batch    int
		rows     []vals
		inserts  map[string]*resp // SQL → answer
		order    []string         // prefixes of events in order
		finished []string
		code     uint16
		info     string
		affected uint64
	}{
		{name: "batched per table, one INSERT each", outside: true, rows: []vals{row(1, "1"), row(2, "2"), row(3, "1")},
			inserts: map[string]*resp{
				insA + "(1," + one + "),(3," + one + ")": okN(2, "Records: 2  Duplicates: 0  Warnings: 0"),
				insB + "(2," + two + ")":                 okN(1, ""),
			},
			finished: []string{""}, affected: 3, info: "Records: 3  Duplicates: 0  Warnings: 0"},
		{name: "streams: full batches go out before the source ends", outside: true, batch: 1, rows: []vals{row(1, "1"), row(2, "2")},
			inserts: map[string]*resp{
				insA + "(1," + one + ")": okN(1, ""),
				insB + "(2," + two + ")": okN(1, ""),
			},
			order:    []string{"conn:1:src", "conn:2:c0", "release:2", "conn:3:c1", "release:3", "release:1"},
			finished: []string{""}, affected: 2, info: "Records: 2  Duplicates: 0  Warnings: 0"},
		{name: "in a transaction the source is read whole first", outside: true, inTxn: true, batch: 1, rows: []vals{row(1, "1"), row(2, "2")},
			inserts: map[string]*resp{
				insA + "(1," + one + ")": okN(1, ""),
				insB + "(2," + two + ")": okN(1, ""),
			},
			order:    []string{"conn:1:src", "release:1", "conn:2:c0", "conn:3:c1"},
			finished: []string{""}, affected: 2, info: "Records: 2  Duplicates: 0  Warnings: 0"},
		{name: "pools without a spare connection: the source is read whole first", outside: true, noSpare: true, batch: 1, rows: []vals{row(1, "1"), row(2, "2")},
			inserts: map[string]*resp{
				insA + "(1," + one + ")": okN(1, ""),
				insB + "(2," + two + ")": okN(1, ""),
			},
			order:    []string{"conn:1:src", "release:1", "conn:2:c0", "conn:3:c1"},
			finished: []string{""}, affected: 2, info: "Records: 2  Duplicates: 0  Warnings: 0"},
		{name: "a locking source is read whole first, in the transaction", outside: true, locks: true, batch: 1, rows: []vals{row(1, "1"), row(2, "2")},
			inserts: map[string]*resp{
				insA + "(1," + one + ")": okN(1, ""),
				insB + "(2," + two + ")": okN(1, ""),
			},
			order:    []string{"conn:1:src", "release:1", "conn:2:c0", "conn:3:c1"},
			finished: []string{""}, affected: 2, info: "Records: 2  Duplicates: 0  Warnings: 0"},
		{name: "a failing batch ends it, the source abandoned", outside: true, batch: 1, rows: []vals{row(1, "1"), row(2, "2"), row(3, "1")},
			inserts: map[string]*resp{
				insA + "(1," + one + ")": okN(1, ""),
				insB + "(2," + two + ")": srvErr(mysql.ER_DUP_ENTRY, "Duplicate entry '2'"),
			},
			finished: []string{"failed on c1.t_b (1062: Duplicate entry '2')"}, code: mysql.ER_DUP_ENTRY},
		{name: "a NULL key", outside: true, rows: []vals{row(1, NULL)},
			finished: []string{"shard column k cannot be NULL (row 1)"}, code: mysql.ER_BAD_NULL_ERROR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newCursor(t)
			fc.seq = tt.inTxn
			w := &recWriter{}
			finished := finishRecorder(t, fc, w)
			fc.on("SELECT id, k FROM src", rs(src, tt.rows...))
			for sql, r := range tt.inserts {
				fc.on(sql, r)
			}
			var vc Cursor = fc
			if tt.outside {
				fc.noSpare = tt.noSpare
				vc = outsideFake{fc}
			}
			is := &InsertSelect{Source: &Route{Cluster: "src", SQL: "SELECT id, k FROM src"}, Router: keyRouter{}, Schema: "db",
				Verb: "INSERT INTO ", Columns: " (`id`,`k`)", Width: 2, Key: 1, Sub: -1, BatchBytes: tt.batch, SourceLocks: tt.locks}
			err := is.Execute(vc, w)
			fc.checkReleased(t)
			if len(*finished) != len(tt.finished) {
				t.Fatalf("finish heard %q, want %q", *finished, tt.finished)
			}
			for i, f := range *finished {
				if (tt.finished[i] == "") != (f == "") || !strings.Contains(f, tt.finished[i]) {
					t.Errorf("finish heard %q, want %q", f, tt.finished[i])
				}
			}
			if tt.code != 0 {
				wantFailed(t, fc, w, err)
				wantCode(t, err, tt.code, "undone")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := decode(t, w.packets)
			if r.ok == nil || r.ok.AffectedRows != tt.affected || r.ok.Info != tt.info {
				t.Errorf("OK %+v, want %d affected rows, info %q", r.ok, tt.affected, tt.info)
			}
			for sql := range tt.inserts {
				fc.connFor(t, sql) // every batch ran
			}
			if tt.outside && !tt.noSpare && !tt.inTxn && !tt.locks && fmt.Sprint(fc.outsideNeed) != "map[src:1]" {
				t.Errorf("Outside was asked for %v, want the source's one connection on src", fc.outsideNeed)
			}
			last := -1
			for _, e := range tt.order {
				i := fc.eventIndex(e)
				if i <= last {
					t.Errorf("event %q at %d, not after the previous one (events %v)", e, i, fc.events)
				}
				last = i
			}
		})
	}
}

// TestInsertSelectRefusals: without a transaction that makes it atomic
// nothing runs; a source with the wrong width is MariaDB's 1136; a
// transaction's whole read past the statement's budget is 1041.
func TestInsertSelectRefusals(t *testing.T) {
	src := cols("id", tLong, "k", tString)
	mk := func() *InsertSelect {
		return &InsertSelect{Source: &Route{Cluster: "src", SQL: "q"}, Router: keyRouter{}, Schema: "db",
			Verb: "INSERT INTO ", Columns: " (`id`,`k`)", Width: 2, Key: 1, Sub: -1}
	}
	t.Run("no atomic write", func(t *testing.T) {
		vc := newCursor(t)
		err := mk().Execute(vc, &recWriter{})
		wantCode(t, err, mysql.ER_NOT_SUPPORTED_YET, "transactions: xa")
		if len(vc.conns) != 0 {
			t.Errorf("%d connections used", len(vc.conns))
		}
	})
	t.Run("width", func(t *testing.T) {
		vc := newCursor(t)
		w := &recWriter{}
		finishRecorder(t, vc, w)
		vc.on("q", rs(cols("id", tLong), row(1)))
		err := mk().Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_WRONG_VALUE_COUNT_ON_ROW)
	})
	t.Run("whole read past the budget", func(t *testing.T) {
		vc := newCursor(t).withMemory(4 << 10)
		w := &recWriter{}
		finishRecorder(t, vc, w)
		var rows []vals
		for i := 0; i < 200; i++ {
			rows = append(rows, row(i, strings.Repeat("x", 100)))
		}
		vc.on("q", rs(src, rows...))
		err := mk().Execute(vc, w)
		wantFailed(t, vc, w, err)
		wantCode(t, err, mysql.ER_OUT_OF_RESOURCES, "statement_memory_limit", "undone")
		if used := vc.mem.Used(); used != 0 {
			t.Errorf("%d bytes still reserved", used)
		}
	})
	t.Run("streaming stays within a small budget", func(t *testing.T) {
		// 2,000 rows of 100 bytes through a 256 KiB account: batches of
		// at most MaxBuffered are held, never the rows.
		vc := newCursor(t).withMemory(256 << 10)
		w := &recWriter{}
		finishRecorder(t, vc, w)
		var rows []vals
		for i := 0; i < 2000; i++ {
			rows = append(rows, row(i, strings.Repeat("x", 100)))
		}
		vc.on("q", rs(src, rows...))
		is := mk()
		is.BatchBytes, is.MaxBuffered = 16<<10, 64<<10
		peak := int64(0)
		router := peakRouter{keyRouter{}, vc, &peak}
		is.Router = router
		sent := 0
		vc.onPrefix = func(sql string) *resp {
			if strings.HasPrefix(sql, "INSERT INTO `db`.`t_c`") {
				sent++
				return okN(uint64(strings.Count(sql, "),(")+1), "")
			}
			return nil
		}
		err := is.Execute(outsideFake{vc}, w)
		if err != nil {
			t.Fatal(err)
		}
		if r := decode(t, w.packets); r.ok == nil || r.ok.AffectedRows != 2000 {
			t.Fatalf("OK %+v, want 2000 rows", r.ok)
		}
		if sent < 2000*100/(16<<10) {
			t.Errorf("%d INSERTs for 200 KB of rows in 16 KiB batches", sent)
		}
		if peak > 64<<10+1<<10 {
			t.Errorf("peak reservation %d, want at most MaxBuffered", peak)
		}
		if used := vc.mem.Used(); used != 0 {
			t.Errorf("%d bytes still reserved", used)
		}
	})
}

// peakRouter records the statement's reservation at every row.
type peakRouter struct {
	RowRouter
	vc   *fakeCursor
	peak *int64
}

func (p peakRouter) RouteRow(key, sub *string, n int) (shard.Target, *BucketNeed, error) {
	*p.peak = max(*p.peak, p.vc.mem.Used())
	return p.RowRouter.RouteRow(key, sub, n)
}

func TestInfoParsing(t *testing.T) {
	if d, ok := infoDuplicates("Records: 3  Duplicates: 1  Warnings: 0"); !ok || d != 1 {
		t.Errorf("duplicates %d %v", d, ok)
	}
	if _, ok := infoDuplicates(""); ok {
		t.Errorf("no info parsed as duplicates")
	}
	if m, c, ok := updateInfo("Rows matched: 5  Changed: 3  Warnings: 0"); !ok || m != 5 || c != 3 {
		t.Errorf("matched %d changed %d %v", m, c, ok)
	}
}

// TestInsertSelectInsideReadsOneAtATime: a source read inside the
// transaction (here: a cursor that cannot read outside it, not yet pinned
// to any connection) opens its inputs one after another, since they share
// the transaction's one connection per cluster.
func TestInsertSelectInsideReadsOneAtATime(t *testing.T) {
	vc := newCursor(t)
	w := &recWriter{}
	finishRecorder(t, vc, w)
	src := cols("id", tLong, "k", tString)
	vc.on("q0", rs(src, row(1, "1")))
	vc.on("q1", rs(src, row(2, "1")))
	vc.on("INSERT INTO `db`.`t_a` (`id`,`k`) VALUES (1,_utf8mb4 X'31'),(2,_utf8mb4 X'31')", okN(2, "Records: 2  Duplicates: 0  Warnings: 0"))
	is := &InsertSelect{Source: &Concat{Routes: []*Route{{Cluster: "s0", SQL: "q0"}, {Cluster: "s0", SQL: "q1"}}}, Router: keyRouter{}, Schema: "db",
		Verb: "INSERT INTO ", Columns: " (`id`,`k`)", Width: 2, Key: 1, Sub: -1}
	if err := is.Execute(vc, w); err != nil {
		t.Fatal(err)
	}
	vc.checkReleased(t)
	if r1, c2 := vc.eventIndex("release:1"), vc.eventIndex("conn:2"); r1 < 0 || c2 < r1 {
		t.Errorf("the second input opened before the first was released: %v", vc.events)
	}
}
