package engine

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/shard"
)

// parityRouter routes an even key to c0.t_even and an odd one to
// c1.t_odd, so a generated key's value decides where its row goes.
type parityRouter struct{}

func (parityRouter) RouteRow(key, sub *string, rowNum int) (shard.Target, *BucketNeed, error) {
	if key == nil {
		return shard.Target{}, nil, errors.New("NULL key")
	}
	v, err := strconv.Atoi(*key)
	if err != nil {
		return shard.Target{}, nil, err
	}
	if v%2 == 0 {
		return shard.Target{Cluster: "c0", Table: "t_even"}, nil, nil
	}
	return shard.Target{Cluster: "c1", Table: "t_odd"}, nil, nil
}

func (parityRouter) String() string { return "db.t by parity of id" }

// TestInsertSelectSequence: streamed rows take values from the sequence
// where INSERT … VALUES would (the column left out, NULL, 0 unless
// NO_AUTO_VALUE_ON_ZERO), are routed by them when the column is the
// shard key, and the insert id the session records is the first value
// generated (the backend's, when none was). The fake sequence counts from
// 1000; an explicit value past it moves it.
func TestInsertSelectSequence(t *testing.T) {
	a, b, c, d, e := "_utf8mb4 X'61'", "_utf8mb4 X'62'", "_utf8mb4 X'63'", "_utf8mb4 X'64'", "_utf8mb4 X'65'"
	tests := []struct {
		name     string
		src      *resp
		index    int // SequenceFill.Index
		noAuto   bool
		cols     string
		inserts  map[string]string // SQL → info
		insertID uint64
	}{
		{name: "column left out: appended and routing", index: -1, cols: " (`body`,`id`)",
			src: rs(cols("body", tString), row("a"), row("b"), row("c")),
			inserts: map[string]string{
				"INSERT INTO `db`.`t_even` (`body`,`id`) VALUES (" + a + ",1000),(" + c + ",1002)": "Records: 2  Duplicates: 0  Warnings: 0",
				"INSERT INTO `db`.`t_odd` (`body`,`id`) VALUES (" + b + ",1001)":                   "",
			},
			insertID: 1000},
		{name: "NULL and 0 take values, explicit ones stay and move the sequence", index: 0, cols: " (`id`,`body`)",
			src: rs(cols("id", tLong, "body", tString), row(NULL, "a"), row(0, "b"), row(7, "c"), row(5000, "d"), row(NULL, "e")),
			inserts: map[string]string{
				"INSERT INTO `db`.`t_even` (`id`,`body`) VALUES (1000," + a + "),(5000," + d + ")":              "Records: 2  Duplicates: 0  Warnings: 0",
				"INSERT INTO `db`.`t_odd` (`id`,`body`) VALUES (1001," + b + "),(7," + c + "),(5001," + e + ")": "Records: 3  Duplicates: 0  Warnings: 0",
			},
			insertID: 1000},
		{name: "NO_AUTO_VALUE_ON_ZERO: 0 is a value", index: 0, noAuto: true, cols: " (`id`,`body`)",
			src: rs(cols("id", tLong, "body", tString), row(0, "a"), row(NULL, "b")),
			inserts: map[string]string{
				"INSERT INTO `db`.`t_even` (`id`,`body`) VALUES (0," + a + "),(1000," + b + ")": "Records: 2  Duplicates: 0  Warnings: 0",
			},
			insertID: 1000},
		{name: "explicit values only: the backend's insert id stands", index: 0, cols: " (`id`,`body`)",
			src: rs(cols("id", tLong, "body", tString), row(4, "a")),
			inserts: map[string]string{
				"INSERT INTO `db`.`t_even` (`id`,`body`) VALUES (4," + a + ")": "",
			},
			insertID: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newCursor(t)
			w := &recWriter{}
			finished := finishRecorder(t, fc, w)
			fc.on("q", tt.src)
			for sql, info := range tt.inserts {
				fc.on(sql, okN(uint64(strings.Count(sql, "),("))+1, info))
			}
			is := &InsertSelect{Source: &Route{Cluster: "src", SQL: "q"}, Router: parityRouter{}, Schema: "db",
				Verb: "INSERT INTO ", Columns: tt.cols, Width: len(tt.src.cols), Key: 0, Sub: -1,
				Sequence: &SequenceFill{Key: "db.t", Column: "id", Index: tt.index, NoAutoOnZero: tt.noAuto}}
			if tt.index < 0 {
				is.Key = is.Width // the appended column is the key
			}
			if err := is.Execute(outsideFake{fc}, w); err != nil {
				t.Fatal(err)
			}
			fc.checkReleased(t)
			if len(*finished) != 1 || (*finished)[0] != "" {
				t.Fatalf("finish heard %q", *finished)
			}
			for sql := range tt.inserts {
				fc.connFor(t, sql)
			}
			r := decode(t, w.packets)
			if r.ok == nil || r.ok.InsertID != tt.insertID {
				t.Fatalf("OK %+v, want insert id %d", r.ok, tt.insertID)
			}
			if len(fc.succeeded) != 1 || fc.succeeded[0].InsertID != tt.insertID {
				t.Errorf("the session recorded %+v, want insert id %d", fc.succeeded, tt.insertID)
			}
		})
	}
	t.Run("a sequence that cannot give values fails the statement before any write", func(t *testing.T) {
		fc := newCursor(t)
		w := &recWriter{}
		finished := finishRecorder(t, fc, w)
		fc.seqErr = errors.New("sequence table unreachable")
		fc.on("q", rs(cols("body", tString), row("a")))
		is := &InsertSelect{Source: &Route{Cluster: "src", SQL: "q"}, Router: parityRouter{}, Schema: "db",
			Verb: "INSERT INTO ", Columns: " (`body`,`id`)", Width: 1, Key: 1, Sub: -1,
			Sequence: &SequenceFill{Key: "db.t", Column: "id", Index: -1}}
		err := is.Execute(outsideFake{fc}, w)
		if err == nil || !strings.Contains(err.Error(), "sequence table unreachable") {
			t.Fatalf("err %v", err)
		}
		if len(*finished) != 1 || (*finished)[0] == "" {
			t.Errorf("finish heard %q, want the failure", *finished)
		}
		for _, ev := range fc.events {
			if strings.HasPrefix(ev, "conn:") && !strings.HasSuffix(ev, ":src") {
				t.Errorf("a write ran: %v", fc.events)
			}
		}
		fc.checkReleased(t)
	})
}
