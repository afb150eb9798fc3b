package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

func fanoutRoutes(vc *fakeCursor, rsps ...*resp) []*Route {
	rs := routes(vc, rsps...)
	for i, r := range rs {
		r.Cluster = []string{"c0", "c1"}[i%2]
		r.Tables = []string{"t_" + string(rune('0'+i))}
		r.Replica = false
	}
	return rs
}

func TestFanout(t *testing.T) {
	ok := func(affected, id uint64, warnings uint16) *resp {
		return okResp(wire.OK{AffectedRows: affected, InsertID: id, Warnings: warnings, Status: mysql.SERVER_STATUS_AUTOCOMMIT})
	}
	dup := func() *resp { return srvErr(mysql.ER_DUP_ENTRY, "Duplicate entry '1'") }
	tests := []struct {
		name       string
		allSucceed bool
		resps      []*resp
		noConn     string
		want       *wire.OK
		err        uint16
		errText    []string
		ran        int // steps run
		brokenStep int // index of the broken step, -1
	}{
		{name: "affected rows summed", resps: []*resp{ok(2, 0, 1), ok(3, 10, 0), ok(1, 20, 2)},
			want: &wire.OK{AffectedRows: 6, InsertID: 10, Warnings: 3}, ran: 3, brokenStep: -1},
		{name: "all succeed: one copy's rows", allSucceed: true, resps: []*resp{ok(4, 0, 0), ok(4, 0, 0), ok(4, 0, 0)},
			want: &wire.OK{AffectedRows: 4}, ran: 3, brokenStep: -1},
		{name: "first failure stops", resps: []*resp{ok(1, 0, 0), dup(), ok(1, 0, 0)},
			err: mysql.ER_DUP_ENTRY, errText: []string{"failed on c1.t_1 (1062: Duplicate entry '1')", "succeeded on 1 of 3: c0.t_0", "not rolled back"}, ran: 2, brokenStep: -1},
		{name: "all succeed: every step runs, failures listed", allSucceed: true, resps: []*resp{dup(), ok(0, 0, 0), srvErr(mysql.ER_NO_SUCH_TABLE, "no table")},
			err: mysql.ER_DUP_ENTRY, errText: []string{"failed on c0.t_0 (1062: Duplicate entry '1'); c0.t_2 (1146: no table)", "succeeded on 1 of 3: c1.t_1"}, ran: 3, brokenStep: -1},
		{name: "one step: the server's own error", resps: []*resp{dup()},
			err: mysql.ER_DUP_ENTRY, errText: []string{"Duplicate entry '1'"}, ran: 1, brokenStep: -1},
		{name: "broken: stops, progress reported", allSucceed: true, resps: []*resp{ok(1, 0, 0), broken(false), ok(1, 0, 0)},
			err: mysql.ER_UNKNOWN_ERROR, errText: []string{"outcome unknown: the connection to server c1 (", "may or may not have taken effect", "succeeded before it on 1 of 3: c0.t_0"}, ran: 2, brokenStep: 1},
		{name: "broken at send of a later step: partly written", resps: []*resp{ok(1, 0, 0), broken(true), ok(1, 0, 0)},
			err: mysql.ER_UNKNOWN_ERROR, errText: []string{"not sent to this table (server c1 (", "succeeded before it on 1 of 3: c0.t_0"}, ran: 2, brokenStep: 1},
		{name: "broken at send", resps: []*resp{broken(true), ok(1, 0, 0)},
			err: mysql.ER_CONNECT_TO_FOREIGN_DATA_SOURCE, errText: []string{"not sent, nothing ran", "server c0 ("}, ran: 1, brokenStep: 0},
		{name: "all succeed, a cluster without connection: partly written is 1105", allSucceed: true, resps: []*resp{ok(1, 0, 0), ok(1, 0, 0), ok(1, 0, 0)}, noConn: "c0",
			err: mysql.ER_UNKNOWN_ERROR, errText: []string{"failed on c0.t_0 (1105: shardgate: not sent to this table (primary c1", "succeeded on 1 of 3: c1.t_1"}, ran: 1, brokenStep: -1},
		{name: "no connection", resps: []*resp{ok(1, 0, 0), ok(1, 0, 0), ok(1, 0, 0)}, noConn: "c1",
			err: mysql.ER_UNKNOWN_ERROR, errText: []string{"failed on c1.t_1 (1105: shardgate: not sent to this table (primary c1 (10.0.0.1:3306): backend down))", "succeeded on 1 of 3"}, ran: 1, brokenStep: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.status = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
			if tt.noConn != "" {
				vc.failConn = map[string]error{tt.noConn: backend.NotSent("primary c1 (10.0.0.1:3306)", errors.New("backend down"))}
			}
			f := &Fanout{Routes: fanoutRoutes(vc, tt.resps...), AllSucceed: tt.allSucceed}
			w := &recWriter{}
			err := f.Execute(vc, w)
			vc.checkReleased(t)
			if len(vc.conns) != tt.ran {
				t.Errorf("%d steps ran, want %d", len(vc.conns), tt.ran)
			}
			for i, c := range vc.conns {
				if c.replica {
					t.Errorf("step %d asked for a replica", i)
				}
				switch {
				case i == tt.brokenStep:
					if c.fault() != FaultBroken {
						t.Errorf("step %d released with %v, want broken", i, c.relErr)
					}
				case c.relErr != nil || c.relOut == nil:
					t.Errorf("step %d released with %v, %+v; want its outcome", i, c.relErr, c.relOut)
				}
			}
			if tt.err != 0 {
				wantFailed(t, vc, w, err)
				wantCode(t, err, tt.err, tt.errText...)
				if len(w.packets) != 0 {
					t.Errorf("client got %d packets", len(w.packets))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := decode(t, w.packets)
			want := *tt.want
			want.Status = vc.status
			if got.ok == nil || *got.ok != want {
				t.Errorf("OK %+v, want %+v", got.ok, want)
			}
			vc.checkSucceeded(t, true)
			if vc.succeeded[0].InsertID != want.InsertID {
				t.Errorf("Succeeded with insert id %d, want %d", vc.succeeded[0].InsertID, want.InsertID)
			}
			if w.flushes != 1 {
				t.Errorf("%d flushes", w.flushes)
			}
		})
	}
}

func TestFanoutDescribe(t *testing.T) {
	if d := (&Fanout{AllSucceed: true}).Describe(); !strings.Contains(d, "all must succeed") {
		t.Errorf("Describe %q", d)
	}
	if d := (&Fanout{}).Describe(); !strings.Contains(d, "sum affected rows") {
		t.Errorf("Describe %q", d)
	}
}
