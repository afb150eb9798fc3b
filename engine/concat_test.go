package engine

import (
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

func TestConcat(t *testing.T) {
	a := func() *resp { return rs(nameCols, row(1, "a"), row(2, "b")) }
	empty := func() *resp { return rs(nameCols) }
	tests := []struct {
		name   string
		resps  []*resp
		conc   int
		seq    bool
		failAt int
		// want
		rows []vals
		// err: the code Execute returns; 0 for success.
		err uint16
		// clientGone: Execute returns the client's error.
		clientGone bool
		// fates of inputs by index: clean, abandoned, broken, server, none.
		fates []string
	}{
		{name: "rows in input order", resps: []*resp{a(), rs(nameCols, row(3, "c")), a()},
			rows:  []vals{row(1, "a"), row(2, "b"), row(3, "c"), row(1, "a"), row(2, "b")},
			fates: []string{"clean", "clean", "clean"}},
		{name: "empty inputs", resps: []*resp{empty(), empty(), empty()},
			fates: []string{"clean", "clean", "clean"}},
		{name: "some empty", resps: []*resp{empty(), a(), empty()}, rows: []vals{row(1, "a"), row(2, "b")},
			fates: []string{"clean", "clean", "clean"}},
		{name: "one input", resps: []*resp{a()}, rows: []vals{row(1, "a"), row(2, "b")}, fates: []string{"clean"}},
		{name: "sequential", seq: true, resps: []*resp{a(), a()},
			rows:  []vals{row(1, "a"), row(2, "b"), row(1, "a"), row(2, "b")},
			fates: []string{"clean", "clean"}},
		{name: "server error mid-stream", conc: 3,
			resps: []*resp{a(), a().failAfter(1, mysql.ER_LOCK_WAIT_TIMEOUT, "lock wait"), a(), a()},
			err:   mysql.ER_LOCK_WAIT_TIMEOUT, fates: []string{"clean", "server", "abandoned", "abandoned"}},
		{name: "server error at a later input's header", conc: 2,
			resps: []*resp{a(), a(), srvErr(mysql.ER_NO_SUCH_TABLE, "gone"), a()},
			err:   mysql.ER_NO_SUCH_TABLE, fates: []string{"clean", "clean", "server", "abandoned"}},
		{name: "broken mid-stream", conc: 8,
			resps: []*resp{a().breakAfter(1), a(), a()},
			err:   mysql.ER_UNKNOWN_ERROR, fates: []string{"broken", "abandoned", "abandoned"}},
		{name: "broken at send of a later input", conc: 1,
			resps: []*resp{a(), broken(true), a()},
			err:   mysql.ER_CONNECT_TO_FOREIGN_DATA_SOURCE, fates: []string{"clean", "broken", "none"}},
		{name: "broken at send of the first input", conc: 2,
			resps: []*resp{broken(true), a(), a()},
			err:   mysql.ER_CONNECT_TO_FOREIGN_DATA_SOURCE, fates: []string{"broken", "none", "none"}},
		{name: "broken at send of the second input", conc: 3,
			resps: []*resp{a(), broken(true), a()},
			err:   mysql.ER_CONNECT_TO_FOREIGN_DATA_SOURCE, fates: []string{"abandoned", "broken", "none"}},
		{name: "first header fails", resps: []*resp{srvErr(mysql.ER_NO_SUCH_TABLE, "gone"), a()},
			err: mysql.ER_NO_SUCH_TABLE, fates: []string{"server", "abandoned"}},
		{name: "client gone", conc: 2, failAt: 6, resps: []*resp{a(), a(), a()},
			clientGone: true, fates: []string{"abandoned", "abandoned", "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			if tt.conc != 0 {
				vc.conc = tt.conc
			}
			vc.seq = tt.seq
			vc.status = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
			c := &Concat{Routes: routes(vc, tt.resps...)}
			w := &recWriter{failAt: tt.failAt}
			err := c.Execute(vc, w)
			switch {
			case tt.clientGone:
				if Classify(err) != FaultClient {
					t.Errorf("error %v, want the client's", err)
				}
				wantFailed(t, vc, w, err)
			case tt.err != 0:
				wantFailed(t, vc, w, err)
				wantCode(t, err, tt.err)
			default:
				got := wantComplete(t, vc, w, err)
				wantRows(t, got.rows, tt.rows...)
				if fmt.Sprint(colNames(got.cols)) != "[id name]" {
					t.Errorf("columns %v", colNames(got.cols))
				}
			}
			checkFates(t, vc, tt.fates)
		})
	}
}

// checkFates checks how each input sqlOf(i) was released.
func checkFates(t *testing.T, vc *fakeCursor, fates []string) {
	t.Helper()
	for i, f := range fates {
		sql := sqlOf(i)
		switch f {
		case "clean":
			wantClean(t, vc, sql)
		case "abandoned":
			wantAbandoned(t, vc, sql)
		case "broken":
			wantBrokenRelease(t, vc, sql)
		case "server":
			wantServerRelease(t, vc, sql)
		case "none":
			for _, c := range vc.conns {
				if len(c.sent) > 0 && c.sent[0] == sql {
					t.Errorf("%s ran, but should not have", sql)
				}
			}
		}
	}
}

// At most ScatterConcurrency inputs are open at once; one at a time when
// Sequential; every input runs.
func TestConcatConcurrency(t *testing.T) {
	tests := []struct {
		conc, inputs int
		seq          bool
		peak         int
	}{
		{conc: 3, inputs: 10, peak: 3},
		{conc: 1, inputs: 4, peak: 1},
		{conc: 0, inputs: 4, peak: 1},
		{conc: 16, inputs: 5, peak: 5},
		{conc: 8, inputs: 6, seq: true, peak: 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("conc %d inputs %d seq %v", tt.conc, tt.inputs, tt.seq), func(t *testing.T) {
			vc := newCursor(t)
			vc.conc, vc.seq = tt.conc, tt.seq
			var rsps []*resp
			var want []vals
			for i := 0; i < tt.inputs; i++ {
				rsps = append(rsps, rs(nameCols, row(i, "x"), row(i, "y")))
				want = append(want, row(i, "x"), row(i, "y"))
			}
			c := &Concat{Routes: routes(vc, rsps...)}
			w := &recWriter{}
			got := wantComplete(t, vc, w, c.Execute(vc, w))
			wantRows(t, got.rows, want...)
			if vc.peak != tt.peak {
				t.Errorf("peak of %d connections at once, want %d", vc.peak, tt.peak)
			}
			if len(vc.conns) != tt.inputs {
				t.Errorf("%d connections borrowed, want %d", len(vc.conns), tt.inputs)
			}
		})
	}
}

func TestConcatNoConnection(t *testing.T) {
	vc := newCursor(t)
	vc.conc = 4
	vc.failConn = map[string]error{"c1": errFakeIO}
	c := &Concat{Routes: routes(vc, rs(nameCols, row(1, "a")), rs(nameCols, row(2, "b")), rs(nameCols))}
	w := &recWriter{}
	err := c.Execute(vc, w)
	if err != errFakeIO {
		t.Errorf("error %v, want the cursor's", err)
	}
	wantFailed(t, vc, w, err)
	wantAbandoned(t, vc, sqlOf(0))
}
