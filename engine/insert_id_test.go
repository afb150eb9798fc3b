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
		// checks answer the steps' Check reads (MIN of the generated
		// values found), by SQL text; "NULL" for none.
		checks map[string]string
	}{
		{"one row, one step: the backend's own id is replaced",
			SequenceIDs{First: 1001, Count: 1, Steps: []SeqStep{{Rows: 1, First: 1001, Last: true}}},
			[]*resp{ok(1, 3, "")}, 1001, 1001, nil},
		{"three rows over two steps: the first value",
			SequenceIDs{First: 1001, Count: 3, Steps: []SeqStep{{Rows: 2, First: 1001, Last: false}, {Rows: 1, First: 1002, Last: true}}},
			[]*resp{ok(2, 1003, "Records: 2  Duplicates: 0  Warnings: 0"), ok(1, 1002, "")}, 1001, 1001, nil},
		{"explicit values only: the backend's id, LAST_INSERT_ID() kept",
			SequenceIDs{Count: 0, Steps: []SeqStep{{Rows: 1, First: 0, Last: true}}},
			[]*resp{ok(1, 7, "")}, 7, 0, nil},
		{"upsert that updated its one row: the backend's id, LAST_INSERT_ID() kept",
			SequenceIDs{First: 1001, Count: 1, Upsert: true, Steps: []SeqStep{{Rows: 1, First: 1001, Last: true}}},
			[]*resp{ok(2, 5, "")}, 5, 0, nil},
		{"upsert that left its one row unchanged",
			SequenceIDs{First: 1001, Count: 1, Upsert: true, Steps: []SeqStep{{Rows: 1, First: 1001, Last: true}}},
			[]*resp{ok(0, 0, "")}, 0, 0, nil},
		{"split upsert whose first step updated: the second step's value",
			SequenceIDs{First: 1001, Count: 2, Upsert: true, Steps: []SeqStep{{Rows: 1, First: 1001, Last: false}, {Rows: 1, First: 1002, Last: true}}},
			[]*resp{ok(2, 5, ""), ok(1, 1002, "")}, 1002, 1002, nil},
		{"split upsert that updated everything",
			SequenceIDs{First: 1001, Count: 2, Upsert: true, Steps: []SeqStep{{Rows: 1, First: 1001, Last: false}, {Rows: 2, First: 1002, Last: true}}},
			[]*resp{ok(2, 5, ""), ok(4, 9, "Records: 2  Duplicates: 2  Warnings: 0")}, 9, 0, nil},
		{"explicit values over two steps: the last row's id, from its step",
			SequenceIDs{Count: 0, Steps: []SeqStep{{Rows: 1, First: 0, Last: true}, {Rows: 1, First: 0, Last: false}}},
			[]*resp{ok(1, 70, ""), ok(1, 60, "")}, 70, 0, nil},
		{"split upsert, multi-row step inserted all",
			SequenceIDs{First: 1001, Count: 3, Upsert: true, Steps: []SeqStep{{Rows: 1, First: 1001, Last: false}, {Rows: 2, First: 1002, Last: true}}},
			[]*resp{ok(2, 5, ""), ok(2, 1003, "Records: 2  Duplicates: 0  Warnings: 0")}, 1002, 1002, nil},
	}
	mixed := "&Records: 3  Duplicates: 1  Warnings: 0" // with MariaDB's length byte
	cases = append(cases, []struct {
		name       string
		node       SequenceIDs
		resps      []*resp
		wantClient uint64
		wantLast   uint64
		checks     map[string]string
	}{
		{"one step, some rows duplicates: the check says which value was used",
			SequenceIDs{First: 1001, Count: 3, Upsert: true, Steps: []SeqStep{{Rows: 3, First: 1001, Last: true, Check: "chk0"}}},
			[]*resp{ok(4, 9, mixed)}, 1002, 1002, map[string]string{"chk0": "1002"}},
		{"one step, the inserted row was the explicit one: no generated value used",
			SequenceIDs{First: 1001, Count: 2, Upsert: true, Steps: []SeqStep{{Rows: 3, First: 1001, Last: true, Check: "chk0"}}},
			[]*resp{ok(5, 9, mixed)}, 9, 0, map[string]string{"chk0": "NULL"}},
		{"two steps, the first mixed: its checked value",
			SequenceIDs{First: 1001, Count: 4, Upsert: true, Steps: []SeqStep{{Rows: 3, First: 1001, Check: "chk0"}, {Rows: 1, First: 1003, Last: true}}},
			[]*resp{ok(4, 9, mixed), ok(1, 1003, "")}, 1002, 1002, map[string]string{"chk0": "1002"}},
	}...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vc := newCursor(t)
			for sql, v := range c.checks {
				r := row(v)
				if v == "NULL" {
					r = row(nil)
				}
				vc.on(sql, rs(cols("m", tLong), r))
			}
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
			// Each step on its route's cluster, as the planner says.
			node.Steps = append([]SeqStep(nil), node.Steps...)
			for i, r := range routesOf(input) {
				node.Steps[i].Cluster = r.Cluster
			}
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

func routesOf(p Primitive) []*Route {
	if f, ok := p.(*Fanout); ok {
		return f.Routes
	}
	return []*Route{p.(*Route)}
}

// TestSequenceIDsStepsByCluster: steps are told apart per cluster, so
// answers released out of route order across clusters still meet their
// own steps; an answer that fits no step makes the id the first value.
func TestSequenceIDsStepsByCluster(t *testing.T) {
	s := &SequenceIDs{First: 1001, Count: 3, Upsert: true, Steps: []SeqStep{
		{Cluster: "s0", Rows: 1, First: 1001}, {Cluster: "s1", Rows: 1, First: 1002}, {Cluster: "s0", Rows: 1, First: 1003, Last: true}}}
	c := &seqCursor{s: s, step: map[Conn]int{}, borrows: map[string]int{}}
	// s1's step answers first, then s0's two: 1002 updated, 1001 updated,
	// 1003 inserted.
	for _, x := range []struct {
		cluster  string
		affected uint64
	}{{"s1", 2}, {"s0", 2}, {"s0", 1}} {
		k := c.borrows[x.cluster]
		c.borrows[x.cluster] = k + 1
		c.note(c.stepOf(x.cluster, k), wire.OK{AffectedRows: x.affected}, nil)
	}
	c.decide(wire.OK{})
	if !c.sets || c.id != 1003 {
		t.Fatalf("insert id %d (sets %v), want 1003", c.id, c.sets)
	}
	c2 := &seqCursor{s: s, step: map[Conn]int{}, borrows: map[string]int{}}
	c2.note(c2.stepOf("s9", 0), wire.OK{AffectedRows: 1}, nil)
	c2.decide(wire.OK{})
	if c2.id != 1001 {
		t.Fatalf("unmatched answer: insert id %d, want the first value 1001", c2.id)
	}
}
