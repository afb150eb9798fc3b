package engine

import (
	"testing"

	"github.com/shardgate/shardgate/wire"
)

// TestSequenceIDs: the client's insert id and the session's
// LAST_INSERT_ID() after an INSERT whose ids the proxy gave, for one
// step (its OK packet streams through) and several (the Fanout's), as one
// MariaDB answers (measured on ref, see integration/seq_test.go): the
// first generated value of a row that was inserted; the backend's id and
// LAST_INSERT_ID() unchanged when no generated value was used.
func TestSequenceIDs(t *testing.T) {
	ok := func(affected, backendID uint64, info string) *resp {
		return okResp(wire.OK{AffectedRows: affected, InsertID: backendID, Info: info})
	}
	cases := []struct {
		name       string
		node       SequenceIDs
		resps      []*resp
		wantClient uint64 // the OK packet's insert id
		wantLast   uint64 // what the session records (0: unchanged)
	}{
		{"one row, one step: the backend's own id is replaced",
			SequenceIDs{First: 1001, Count: 1, Steps: []SeqStep{{1, 1001, true}}},
			[]*resp{ok(1, 3, "")}, 1001, 1001},
		{"three rows over two steps: the first value",
			SequenceIDs{First: 1001, Count: 3, Steps: []SeqStep{{2, 1001, false}, {1, 1002, true}}},
			[]*resp{ok(2, 1003, "Records: 2  Duplicates: 0  Warnings: 0"), ok(1, 1002, "")}, 1001, 1001},
		{"explicit values only: the backend's id, LAST_INSERT_ID() kept",
			SequenceIDs{Count: 0, Steps: []SeqStep{{1, 0, true}}},
			[]*resp{ok(1, 7, "")}, 7, 0},
		{"upsert that updated its one row: the backend's id, LAST_INSERT_ID() kept",
			SequenceIDs{First: 1001, Count: 1, Upsert: true, Steps: []SeqStep{{1, 1001, true}}},
			[]*resp{ok(2, 5, "")}, 5, 0},
		{"upsert that left its one row unchanged",
			SequenceIDs{First: 1001, Count: 1, Upsert: true, Steps: []SeqStep{{1, 1001, true}}},
			[]*resp{ok(0, 0, "")}, 0, 0},
		{"split upsert whose first step updated: the second step's value",
			SequenceIDs{First: 1001, Count: 2, Upsert: true, Steps: []SeqStep{{1, 1001, false}, {1, 1002, true}}},
			[]*resp{ok(2, 5, ""), ok(1, 1002, "")}, 1002, 1002},
		{"split upsert that updated everything",
			SequenceIDs{First: 1001, Count: 2, Upsert: true, Steps: []SeqStep{{1, 1001, false}, {2, 1002, true}}},
			[]*resp{ok(2, 5, ""), ok(4, 9, "Records: 2  Duplicates: 2  Warnings: 0")}, 9, 0},
		{"explicit values over two steps: the last row's id, from its step",
			SequenceIDs{Count: 0, Steps: []SeqStep{{1, 0, true}, {1, 0, false}}},
			[]*resp{ok(1, 70, ""), ok(1, 60, "")}, 70, 0},
		{"split upsert, multi-row step inserted all",
			SequenceIDs{First: 1001, Count: 3, Upsert: true, Steps: []SeqStep{{1, 1001, false}, {2, 1002, true}}},
			[]*resp{ok(2, 5, ""), ok(2, 1003, "Records: 2  Duplicates: 0  Warnings: 0")}, 1002, 1002},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vc := newCursor(t)
			var input Primitive
			if len(c.resps) == 1 {
				r := routes(vc, c.resps...)[0]
				r.Replica = false
				input = r
			} else {
				input = &Fanout{Routes: fanoutRoutes(vc, []string{"s0", "s1"}, c.resps...)}
			}
			node := c.node
			node.Column = "shop.t.id"
			node.Input = input
			w := &recWriter{}
			if err := node.Execute(vc, w); err != nil {
				t.Fatal(err)
			}
			vc.checkReleased(t)
			res := decode(t, w.packets)
			if res.ok == nil || res.ok.InsertID != c.wantClient {
				t.Errorf("client's insert id: got %+v, want %d", res.ok, c.wantClient)
			}
			if len(vc.succeeded) != 1 || vc.succeeded[0].InsertID != c.wantLast {
				t.Errorf("session's insert id: got %+v, want %d", vc.succeeded, c.wantLast)
			}
		})
	}
}
