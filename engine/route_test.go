package engine

import (
	"bytes"
	"errors"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

var nameCols = cols("id", tLong, "name", tString)

func TestRouteExecute(t *testing.T) {
	const inTrans = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
	tests := []struct {
		name    string
		route   Route
		resps   []*resp
		retries int
		failAt  int
		// lostInTxn: the session's transaction is on the connection.
		lostInTxn bool
		// want
		rows      []vals
		ok        *wire.OK
		errPacket uint16 // an ERR packet forwarded to the client
		err       uint16 // Execute's error code; 0: none
		errText   []string
		clientErr bool // Execute's error is the client's
		success   bool
		retried   []int
		conns     int
		release   Fault
	}{
		{name: "rows", route: Route{Cluster: "c1", SQL: "select", Replica: true},
			resps: []*resp{rs(nameCols, row(1, "a"), row(2, NULL), row(3, ""))},
			rows:  []vals{row(1, "a"), row(2, NULL), row(3, "")}, success: true, conns: 1},
		{name: "empty", route: Route{Cluster: "c1", SQL: "select"},
			resps: []*resp{rs(nameCols)}, success: true, conns: 1},
		{name: "ok packet", route: Route{Cluster: "c1", SQL: "update"},
			resps: []*resp{okResp(wire.OK{AffectedRows: 3, InsertID: 7, Status: inTrans})},
			ok:    &wire.OK{AffectedRows: 3, InsertID: 7, Status: inTrans}, success: true, conns: 1},
		{name: "server error at header", route: Route{Cluster: "c1", SQL: "select", Replica: true},
			resps:     []*resp{srvErr(mysql.ER_NO_SUCH_TABLE, "no such table")},
			errPacket: mysql.ER_NO_SUCH_TABLE, conns: 1},
		{name: "server error after a row", route: Route{Cluster: "c1", SQL: "select", Replica: true},
			resps:     []*resp{rs(nameCols, row(1, "a"), row(2, "b")).failAfter(1, mysql.ER_QUERY_INTERRUPTED, "interrupted")},
			rows:      []vals{row(1, "a")},
			errPacket: mysql.ER_QUERY_INTERRUPTED, conns: 1},
		{name: "broken at send, retried", route: Route{Cluster: "c1", SQL: "select", Replica: true},
			resps:   []*resp{broken(true), rs(nameCols, row(1, "a"))},
			retries: 1, rows: []vals{row(1, "a")}, success: true, retried: []int{0}, conns: 2},
		{name: "broken before any packet, retried twice", route: Route{Cluster: "c1", SQL: "select", Replica: true},
			resps:   []*resp{broken(false), broken(false), rs(nameCols, row(1, "a"))},
			retries: 5, rows: []vals{row(1, "a")}, success: true, retried: []int{0, 1}, conns: 3},
		{name: "broken, retry refused", route: Route{Cluster: "c1", SQL: "select", Replica: true},
			resps: []*resp{broken(false)}, retries: 0,
			err: mysql.ER_UNKNOWN_ERROR, errText: []string{"outcome unknown: the connection to server c1 (10.0.0.1:3306) broke after the statement was sent"},
			retried: []int{0}, conns: 1, release: FaultBroken},
		{name: "broken at send on a primary: not sent, no retry", route: Route{Cluster: "c1", SQL: "update"},
			resps: []*resp{broken(true)}, retries: 5,
			err: mysql.ER_CONNECT_TO_FOREIGN_DATA_SOURCE, errText: []string{"not sent, nothing ran (safe to retry): server c1 (10.0.0.1:3306)"}, conns: 1, release: FaultBroken},
		// The session's transaction was on the connection: it is gone with
		// it, so the write was not sent but retrying it alone is not safe.
		{name: "broken at send in the session's transaction", route: Route{Cluster: "c1", SQL: "update"},
			resps: []*resp{broken(true)}, retries: 5, lostInTxn: true,
			err: mysql.ER_UNKNOWN_ERROR, errText: []string{"holding this session's open transaction", "retry the whole transaction"}, conns: 1, release: FaultBroken},
		{name: "broken after send on a primary: outcome unknown, no retry", route: Route{Cluster: "c1", SQL: "update"},
			resps: []*resp{broken(false)}, retries: 5,
			err: mysql.ER_UNKNOWN_ERROR, errText: []string{"outcome unknown", "server c1 (10.0.0.1:3306)", "may or may not have taken effect"}, conns: 1, release: FaultBroken},
		{name: "broken after packets reached the client: no retry", route: Route{Cluster: "c9", SQL: "select", Replica: true},
			resps: []*resp{rs(nameCols, row(1, "a"), row(2, "b")).breakAfter(1)}, retries: 5,
			rows: []vals{row(1, "a")},
			err:  mysql.ER_UNKNOWN_ERROR, errText: []string{"outcome unknown", "server c9 (", errFakeIO.Error()}, conns: 1, release: FaultBroken},
		{name: "cut before any packet (the replica left rotation), retried", route: Route{Cluster: "c1", SQL: "select", Replica: true},
			resps:   []*resp{rs(nameCols, row(1, "a")).cutAfter(breakAtStart), rs(nameCols, row(1, "a"))},
			retries: 1, rows: []vals{row(1, "a")}, success: true, retried: []int{0}, conns: 2},
		{name: "cut after packets reached the client: incomplete, no retry", route: Route{Cluster: "c1", SQL: "select", Replica: true},
			resps: []*resp{rs(nameCols, row(1, "a"), row(2, "b")).cutAfter(1)}, retries: 5,
			rows: []vals{row(1, "a")},
			err:  mysql.ER_UNKNOWN_ERROR, errText: []string{"replica c1 (10.0.0.1:3306) left rotation (health check failed: i/o timeout)", "the result is incomplete", "nothing was changed"}, conns: 1, release: FaultBroken},
		{name: "cut, retry refused (a transaction's connection, or no server left)", route: Route{Cluster: "c1", SQL: "select", Replica: true},
			resps: []*resp{rs(nameCols, row(1, "a")).cutAfter(breakAtStart)}, retries: 0,
			err: mysql.ER_UNKNOWN_ERROR, errText: []string{"left rotation", "before it answered", "could not move to another server"},
			retried: []int{0}, conns: 1, release: FaultBroken},
		{name: "client gone", route: Route{Cluster: "c1", SQL: "select", Replica: true},
			resps: []*resp{rs(nameCols, row(1, "a"), row(2, "b"))}, retries: 5, failAt: 6,
			rows:      []vals{row(1, "a")},
			clientErr: true, conns: 1, release: FaultClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			vc.status = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
			vc.retries = tt.retries
			vc.lostInTxn = tt.lostInTxn
			vc.on(tt.route.SQL, tt.resps...)
			w := &recWriter{failAt: tt.failAt}
			r := tt.route
			err := r.Execute(vc, w)
			vc.checkReleased(t)
			vc.checkSucceeded(t, tt.success)
			if len(vc.conns) != tt.conns {
				t.Errorf("%d connections borrowed, want %d", len(vc.conns), tt.conns)
			}
			if !equalInts(vc.retried, tt.retried) {
				t.Errorf("Retry attempts %v, want %v", vc.retried, tt.retried)
			}
			last := vc.conns[len(vc.conns)-1]
			if last.fault() != tt.release {
				t.Errorf("released with %v (%s), want %s", last.relErr, faultName(last.fault()), faultName(tt.release))
			}
			for _, c := range vc.conns[:len(vc.conns)-1] {
				if !c.dropped || c.released != 0 {
					t.Errorf("conn %d of a retried attempt: dropped %v, released %d; want dropped by Retry only", c.id, c.dropped, c.released)
				}
			}
			switch {
			case tt.clientErr:
				if Classify(err) != FaultClient {
					t.Errorf("error %v, want the client's", err)
				}
			case tt.err != 0:
				wantCode(t, err, tt.err, tt.errText...)
			case err != nil:
				t.Fatalf("Execute: %v", err)
			}
			got := decode(t, w.packets)
			wantRows(t, got.rows, tt.rows...)
			switch {
			case tt.ok != nil:
				if got.ok == nil || *got.ok != *tt.ok {
					t.Errorf("OK packet %+v, want %+v", got.ok, tt.ok)
				}
				if len(vc.succeeded) == 1 && vc.succeeded[0] != *tt.ok {
					t.Errorf("Succeeded(%+v), want the OK packet %+v", vc.succeeded[0], *tt.ok)
				}
			case tt.errPacket != 0:
				if got.err == nil || got.err.Code != tt.errPacket {
					t.Errorf("client got %+v, want ERR %d", got, tt.errPacket)
				}
				if last.relOut == nil || last.relOut.Err == nil || last.relOut.Err.Code != tt.errPacket {
					t.Errorf("released with outcome %+v, want the error packet", last.relOut)
				}
			case tt.success:
				if !got.complete {
					t.Errorf("incomplete result %+v", got)
				}
				// Passed through untouched: the backend's own final status.
				if got.status != mysql.SERVER_STATUS_AUTOCOMMIT {
					t.Errorf("final EOF status %#x, want the backend's", got.status)
				}
				if vc.succeeded[0] != (wire.OK{}) {
					t.Errorf("Succeeded(%+v), want an empty OK for rows", vc.succeeded[0])
				}
				if last.relOut == nil || last.relOut.Status != mysql.SERVER_STATUS_AUTOCOMMIT {
					t.Errorf("released with outcome %+v, want the final status", last.relOut)
				}
			default:
				if got.complete || got.ok != nil {
					t.Errorf("client got a complete answer %+v", got)
				}
			}
			if tt.success && vc.eventIndex("succeeded") > vc.lastEventIndex("release:") {
				t.Errorf("Succeeded after the connection was released: %v", vc.events)
			}
			if tt.err == 0 && !tt.clientErr && w.flushes == 0 {
				t.Errorf("not flushed")
			}
		})
	}
}

// The packets of a result go to the client byte for byte.
func TestRouteExecutePassthrough(t *testing.T) {
	vc := newCursor(t)
	resp := rs(nameCols, row(1, "x"), row(NULL, "y")).withStatus(mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS)
	vc.on("select", resp)
	w := &recWriter{}
	if err := (&Route{Cluster: "c1", SQL: "select"}).Execute(vc, w); err != nil {
		t.Fatal(err)
	}
	want := resp.packets()
	if len(w.packets) != len(want) {
		t.Fatalf("%d packets, want %d", len(w.packets), len(want))
	}
	for i := range want {
		if !bytes.Equal(w.packets[i], want[i].b) {
			t.Errorf("packet %d: %x, want %x", i, w.packets[i], want[i].b)
		}
	}
	if w.flushes != 1 {
		t.Errorf("%d flushes, want 1", w.flushes)
	}
}

func TestRouteExecuteNoConnection(t *testing.T) {
	vc := newCursor(t)
	want := backend.NotSent("primary c1 (10.0.0.1:3306)", errors.New("down"))
	vc.failConn = map[string]error{"c1": want}
	w := &recWriter{}
	err := (&Route{Cluster: "c1", SQL: "select", Replica: true}).Execute(vc, w)
	if err != want {
		t.Errorf("error %v, want the cursor's %v", err, want)
	}
	if len(w.packets) != 0 {
		t.Errorf("client got %d packets", len(w.packets))
	}
	vc.checkSucceeded(t, false)
}

// Column definitions show logical table names.
func TestRouteLogicalNames(t *testing.T) {
	phys := cols("id", tLong, "name", tString)
	for i := range phys {
		phys[i].Table, phys[i].OrgTable = "orders_3", "orders_3"
	}
	other := cols("x", tLong)
	other[0].Table, other[0].OrgTable = "o", "misc"
	header := append(phys, other...)
	r := &Route{Cluster: "c1", SQL: "select", Logical: map[string]string{"orders_3": "orders"}}
	check := func(t *testing.T, got []wire.Column) {
		t.Helper()
		want := []string{"orders/orders", "orders/orders", "o/misc"}
		for i, c := range got {
			if s := c.Table + "/" + c.OrgTable; s != want[i] {
				t.Errorf("column %d table %s, want %s", i, s, want[i])
			}
			if c.Name != header[i].Name || c.Type != header[i].Type {
				t.Errorf("column %d is %+v, want %+v with logical names", i, c, header[i])
			}
		}
	}
	t.Run("execute", func(t *testing.T) {
		vc := newCursor(t).on("select", rs(header, row(1, "a", 2)))
		w := &recWriter{}
		got := wantComplete(t, vc, w, r.Execute(vc, w))
		check(t, got.cols)
		wantRows(t, got.rows, row(1, "a", 2))
	})
	t.Run("open", func(t *testing.T) {
		vc := newCursor(t).on("select", rs(header, row(1, "a", 2)))
		rows, err := r.Open(vc)
		if err != nil {
			t.Fatal(err)
		}
		h, err := rows.Header()
		if err != nil {
			t.Fatal(err)
		}
		cs, err := columnsOf(h)
		if err != nil {
			t.Fatal(err)
		}
		check(t, cs)
		rows.Close(nil)
		vc.checkReleased(t)
	})
}

// Route as an input: Open, Header, Next, Close.
func TestRouteRows(t *testing.T) {
	three := func() *resp { return rs(nameCols, row(1, "a"), row(2, "b"), row(3, "c")) }
	tests := []struct {
		name      string
		resp      *resp
		read      int   // rows to read before Close (-1: all and the end)
		header    bool  // read the header first
		closeErr  error // passed to Close
		openErr   uint16
		headerErr error
		nextErr   bool
		want      string // clean, abandoned, broken, server
	}{
		{name: "read to the end", resp: three(), read: -1, header: true, want: "clean"},
		{name: "empty", resp: rs(nameCols), read: -1, header: true, want: "clean"},
		{name: "closed early without error drains", resp: three(), read: 1, header: true, want: "clean"},
		{name: "closed unread without error drains", resp: three(), read: 0, want: "clean"},
		{name: "closed early on error abandons", resp: three(), read: 1, header: true, closeErr: errors.New("other input failed"), want: "abandoned"},
		{name: "closed unread on error abandons", resp: three(), read: 0, closeErr: errors.New("other input failed"), want: "abandoned"},
		{name: "server error at header", resp: srvErr(mysql.ER_NO_SUCH_TABLE, "gone"), header: true, headerErr: wire.Errorf(mysql.ER_NO_SUCH_TABLE, "gone"), want: "server"},
		{name: "server error mid-result", resp: three().failAfter(2, mysql.ER_QUERY_INTERRUPTED, "killed"), read: 3, header: true, nextErr: true, want: "server"},
		{name: "broken mid-result", resp: three().breakAfter(1), read: 2, header: true, nextErr: true, want: "broken"},
		{name: "broken at header", resp: broken(false), header: true, headerErr: errFakeIO, want: "broken"},
		{name: "broken mid-result, closed without error", resp: three().breakAfter(1), read: 2, header: true, nextErr: true, closeErr: nil, want: "broken"},
		{name: "broken at send", resp: broken(true), openErr: mysql.ER_CONNECT_TO_FOREIGN_DATA_SOURCE, want: "broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t).on("select", tt.resp)
			r := &Route{Cluster: "c1", SQL: "select", Replica: true}
			rows, err := r.Open(vc)
			if tt.openErr != 0 {
				wantCode(t, err, tt.openErr, "server c1 (", "not sent, nothing ran")
				vc.checkReleased(t)
				wantBrokenRelease(t, vc, "select")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(vc.conns) != 1 || len(vc.conns[0].sent) != 1 || vc.conns[0].reads != 0 {
				t.Fatalf("Open should send and read nothing: %+v", vc.conns)
			}
			var gotErr error
			if tt.header {
				h, err := rows.Header()
				gotErr = err
				if tt.headerErr != nil {
					if err == nil || err.Error() != tt.headerErr.Error() {
						t.Errorf("Header error %v, want %v", err, tt.headerErr)
					}
				} else if err != nil {
					t.Fatal(err)
				} else if len(h) != 2 {
					t.Errorf("%d columns", len(h))
				}
			}
			var got []vals
			for i := 0; gotErr == nil && (tt.read < 0 || i < tt.read); i++ {
				r, err := rows.Next()
				if err != nil {
					gotErr = err
					if !tt.nextErr {
						t.Fatalf("Next: %v", err)
					}
					break
				}
				if r == nil {
					if tt.read >= 0 {
						t.Fatalf("end after %d rows", i)
					}
					break
				}
				if err := r.values(2); err != nil {
					t.Fatal(err)
				}
				got = append(got, vals(r.Vals))
			}
			if tt.nextErr && gotErr == nil {
				t.Errorf("Next gave no error")
			}
			if tt.read < 0 {
				wantRows(t, strRows(got...), tt.resp.rows...)
			}
			closeErr := tt.closeErr
			if closeErr == nil && gotErr != nil && tt.name != "broken mid-result, closed without error" {
				closeErr = gotErr
			}
			rows.Close(closeErr)
			rows.Close(closeErr) // twice is harmless
			vc.checkReleased(t)
			switch tt.want {
			case "clean":
				wantClean(t, vc, "select")
			case "abandoned":
				wantAbandoned(t, vc, "select")
				if vc.conns[0].drained() {
					t.Errorf("an abandoned result was read to its end")
				}
			case "broken":
				wantBrokenRelease(t, vc, "select")
			case "server":
				wantServerRelease(t, vc, "select")
			}
		})
	}
}

func TestRouteDescribe(t *testing.T) {
	r := &Route{Cluster: "c1", Tables: []string{"t_0", "t_1"}, SQL: "select 1"}
	if got, want := r.Describe(), "Route c1 [t_0,t_1]: select 1"; got != want {
		t.Errorf("Describe %q, want %q", got, want)
	}
	r.Tables = nil
	if got, want := r.Describe(), "Route c1: select 1"; got != want {
		t.Errorf("Describe %q, want %q", got, want)
	}
	if r.Inputs() != nil {
		t.Errorf("a route has no inputs")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want Fault
	}{
		{nil, FaultNone},
		{wire.Errorf(1062, "dup"), FaultServer},
		{clientGone(errClientGone), FaultClient},
		{errFakeIO, FaultBroken},
		{errAbandoned, FaultBroken},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %s, want %s", tt.err, faultName(got), faultName(tt.want))
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An input of a merge whose connection broke (a killed server, or one cut
// when its server left rotation) before any of its rows was used runs
// again on the next choice of server; after a row it fails the statement.
func TestRouteRowsRetry(t *testing.T) {
	two := func() *resp { return rs(nameCols, row(1, "a"), row(2, "b")) }
	tests := []struct {
		name     string
		resps    []*resp
		retries  int
		header   bool  // read the header before the rows
		noConn   error // the retry finds no connection
		rows     []vals
		retried  []int
		code     uint16 // of the error the client hears
		errText  []string
		released int // connections released (the others dropped by Retry)
	}{
		{name: "cut at the header", resps: []*resp{two().cutAfter(breakAtStart), two()}, retries: 1,
			rows: []vals{row(1, "a"), row(2, "b")}, retried: []int{0}, released: 1},
		{name: "header read, cut before the first row: the new header is dropped", resps: []*resp{two().cutAfter(0), two()}, retries: 1, header: true,
			rows: []vals{row(1, "a"), row(2, "b")}, retried: []int{0}, released: 1},
		{name: "killed server at the header, twice", resps: []*resp{broken(false), broken(false), two()}, retries: 5,
			rows: []vals{row(1, "a"), row(2, "b")}, retried: []int{0, 1}, released: 1},
		{name: "cut after a row: incomplete, not retried", resps: []*resp{two().cutAfter(1)}, retries: 5,
			code: mysql.ER_UNKNOWN_ERROR, errText: []string{"left rotation", "the result is incomplete"}, released: 1},
		{name: "cut, retry refused", resps: []*resp{two().cutAfter(breakAtStart)}, retries: 0,
			retried: []int{0}, code: mysql.ER_UNKNOWN_ERROR, errText: []string{"left rotation", "before it answered"}, released: 1},
		{name: "cut, the retry finds no connection", resps: []*resp{two().cutAfter(breakAtStart)}, retries: 1,
			noConn:  wire.Errorf(mysql.ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "shardgate: not sent, nothing ran (safe to retry): no server"),
			retried: []int{0}, code: mysql.ER_CONNECT_TO_FOREIGN_DATA_SOURCE, errText: []string{"not sent, nothing ran"}, released: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t).on("select", tt.resps...)
			vc.retries = tt.retries
			r := &Route{Cluster: "c1", SQL: "select", Replica: true}
			rows, err := r.Open(vc)
			if err != nil {
				t.Fatal(err)
			}
			if tt.noConn != nil {
				vc.failConn = map[string]error{"c1": tt.noConn}
			}
			if tt.header {
				if _, err := rows.Header(); err != nil {
					t.Fatal(err)
				}
			}
			var got []vals
			for err == nil {
				var row *Row
				if row, err = rows.Next(); err != nil || row == nil {
					break
				}
				if err := row.values(2); err != nil {
					t.Fatal(err)
				}
				got = append(got, vals(row.Vals))
			}
			rows.Close(err)
			vc.checkReleased(t)
			if !equalInts(vc.retried, tt.retried) {
				t.Errorf("Retry attempts %v, want %v", vc.retried, tt.retried)
			}
			released := 0
			for _, c := range vc.conns {
				released += c.released
			}
			if released != tt.released {
				t.Errorf("%d connections released, want %d", released, tt.released)
			}
			if tt.errText == nil {
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				wantRows(t, strRows(got...), tt.rows...)
				return
			}
			if err == nil {
				t.Fatalf("no error; rows %v", got)
			}
			// What the client hears, as copyRows words it.
			wantCode(t, shardError(err), tt.code, tt.errText...)
		})
	}
}
