package engine

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// batchingConn is a fake connection with ExecBatch: the statements run
// as the server runs a multi-statement batch (in order, stopping at the
// first error), and each call is recorded as one round trip.
type batchingConn struct {
	*fakeConn
	mu      *sync.Mutex
	batches *[][]string
}

func (c *batchingConn) ExecBatch(sqls []string) ([]wire.OK, *mysql.MyError, error) {
	c.mu.Lock()
	*c.batches = append(*c.batches, sqls)
	c.mu.Unlock()
	var oks []wire.OK
	for _, sql := range sqls {
		ok, err := c.fakeConn.Exec(sql)
		var me *mysql.MyError
		switch {
		case err == nil:
			oks = append(oks, ok)
			continue
		case Classify(err) == FaultServer && errors.As(err, &me):
			return oks, me, nil
		}
		return oks, nil, err
	}
	return oks, nil, nil
}

// batchingCursor hands out batchingConns.
type batchingCursor struct {
	*fakeCursor
	batches [][]string
	bmu     sync.Mutex
}

func (vc *batchingCursor) Conn(cluster string, replica bool) (Conn, error) {
	c, err := vc.fakeCursor.Conn(cluster, replica)
	if err != nil {
		return nil, err
	}
	return &batchingConn{fakeConn: c.(*fakeConn), mu: &vc.bmu, batches: &vc.batches}, nil
}

func (vc *batchingCursor) Release(c Conn, out *backend.Outcome, err error) {
	if bc, ok := c.(*batchingConn); ok {
		c = bc.fakeConn
	}
	vc.fakeCursor.Release(c, out, err)
}

// A batched fan-out (a split INSERT) over four tables, t_0 and t_2 on c0,
// t_1 and t_3 on c1: one connection and one batch per cluster, the
// statements of a cluster in route order; on a cluster the first failure
// stops the batch (later statements not run), the other cluster's batch
// is not stopped by it; a connection that breaks leaves the statements
// after the last answer unknown (sent) or not sent; a cluster with no
// connection fails the write before anything is sent anywhere.
func TestFanoutBatched(t *testing.T) {
	tests := []struct {
		name     string
		resps    []*resp
		failConn string
		atomic   bool
		states   string // "" for success
		code     uint16
		text     []string
		batches  string
	}{
		{name: "every statement succeeds", resps: []*resp{okAuto(1), okAuto(2), okAuto(3), okAuto(4)},
			batches: "c0[q0 q2] c1[q1 q3]"},
		{name: "failure on c0 stops c0's batch, not c1's", resps: []*resp{dupErr(), okAuto(1), okAuto(1), okAuto(1)},
			states: "F C N C", code: mysql.ER_UNKNOWN_ERROR, batches: "c0[q0 q2] c1[q1 q3]",
			text: []string{"partly written", "failed: c0.t_0 (1062: Duplicate entry '1')", "c0.t_2 (not run: the statement before it on c0 failed)"}},
		{name: "second statement of a batch fails", resps: []*resp{okAuto(1), okAuto(1), dupErr(), okAuto(1)},
			states: "C C F C", code: mysql.ER_UNKNOWN_ERROR, batches: "c0[q0 q2] c1[q1 q3]"},
		{name: "connection breaks after the batch was sent", resps: []*resp{okAuto(1), broken(false), okAuto(1), okAuto(1)},
			states: "C U C U", code: mysql.ER_UNKNOWN_ERROR, batches: "c0[q0 q2] c1[q1 q3]",
			text: []string{"outcome unknown", "c1.t_1", "c1.t_3"}},
		{name: "batch not sent", resps: []*resp{okAuto(1), broken(true), okAuto(1), okAuto(1)},
			states: "C N C N", code: mysql.ER_UNKNOWN_ERROR, batches: "c0[q0 q2] c1[q1 q3]"},
		{name: "no connection on c1: nothing sent anywhere", resps: []*resp{okAuto(1), okAuto(1), okAuto(1), okAuto(1)}, failConn: "c1",
			states: "N N N N", code: backend.CodeNotSent, batches: "",
			text: []string{"not sent, nothing ran (safe to retry)"}},
		{name: "atomic: the session undoes it", resps: []*resp{okAuto(1), okAuto(1), dupErr(), okAuto(1)}, atomic: true,
			code: mysql.ER_DUP_ENTRY, batches: "c0[q0 q2] c1[q1 q3]", text: []string{"failed on c0.t_2 (1062: Duplicate entry '1')"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newCursor(t)
			vc := &batchingCursor{fakeCursor: fc}
			var finished []error
			if tt.atomic {
				fc.atomic = func() (func(error) error, error) {
					return func(err error) error { finished = append(finished, err); return err }, nil
				}
			}
			if tt.failConn != "" {
				fc.failConn = map[string]error{tt.failConn: backend.NotSent("primary "+tt.failConn+" (10.0.0.9:3306)", errors.New("backend down"))}
			}
			rs := fanoutRoutes(fc, []string{"c0", "c1"}, tt.resps...)
			for i, r := range rs {
				// Each route's own text, so that batches show their order.
				r.SQL = fmt.Sprintf("q%d", i)
				fc.responses[r.SQL] = []*resp{tt.resps[i]}
			}
			f := &Fanout{Routes: rs, Batched: true}
			w := &recWriter{}
			err := f.Execute(vc, w)
			var got []string
			for _, b := range vc.batches {
				cluster := "c0"
				if b[0] == "q1" || b[0] == "q3" {
					cluster = "c1"
				}
				got = append(got, cluster+"["+strings.Join(b, " ")+"]")
			}
			// The clusters' batches run at once: compare them sorted.
			if g := sortedJoin(got); g != tt.batches {
				t.Errorf("batches %q, want %q", g, tt.batches)
			}
			if tt.states == "" && !tt.atomic {
				if err != nil {
					t.Fatal(err)
				}
				fc.checkReleased(t)
				fc.checkSucceeded(t, true)
				ok := decode(t, w.packets).ok
				if ok == nil || ok.AffectedRows != 10 {
					t.Errorf("OK %+v, want 10 affected rows", ok)
				}
				if len(fc.conns) != 2 {
					t.Errorf("%d connections, want one per cluster", len(fc.conns))
				}
				return
			}
			wantFailed(t, fc, w, err)
			if tt.atomic {
				if len(finished) != 1 || finished[0] == nil {
					t.Errorf("finish called with %v, want once with the failure", finished)
				}
				wantCode(t, err, tt.code, tt.text...)
				return
			}
			oe := outcomeOf(t, err)
			if got := stateLetters(oe.Steps); got != tt.states {
				t.Errorf("outcomes %s, want %s (%s)", got, tt.states, oe.Err.Message)
			}
			wantCode(t, err, tt.code, tt.text...)
		})
	}
}

func sortedJoin(s []string) string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return strings.Join(out, " ")
}

// Without ExecBatch (the plain fake), a cluster's statements run one by
// one on its one connection, stopping at the first failure.
func TestFanoutBatchedFallback(t *testing.T) {
	vc := newCursor(t)
	f := &Fanout{Routes: fanoutRoutes(vc, []string{"c0", "c1"}, okAuto(1), okAuto(1), dupErr(), okAuto(1), okAuto(1)), Batched: true}
	err := f.Execute(vc, &recWriter{})
	oe := outcomeOf(t, err)
	// t_0, t_2, t_4 on c0 (t_2 fails: t_4 not run); t_1, t_3 on c1.
	if got := stateLetters(oe.Steps); got != "C C F C N" {
		t.Errorf("outcomes %s, want C C F C N", got)
	}
	if len(vc.conns) != 2 {
		t.Errorf("%d connections, want one per cluster", len(vc.conns))
	}
	vc.checkReleased(t)
}

// A cluster's statements go in batches of at most maxBatchBytes of text
// (a batch must fit the backend's max_allowed_packet): three statements
// of 3 MiB are three round trips, three small ones one.
func TestFanoutBatchedSize(t *testing.T) {
	for _, size := range []int{3 << 20, 100} {
		fc := newCursor(t)
		vc := &batchingCursor{fakeCursor: fc}
		rs := fanoutRoutes(fc, []string{"c0"}, okAuto(1), okAuto(1), okAuto(1))
		for i, r := range rs {
			r.SQL = fmt.Sprintf("q%d", i) + strings.Repeat(" ", size)
			fc.responses[r.SQL] = []*resp{okAuto(1)}
		}
		if err := (&Fanout{Routes: rs, Batched: true}).Execute(vc, &recWriter{}); err != nil {
			t.Fatal(err)
		}
		want := 1
		if size > maxBatchBytes/2 {
			want = 3
		}
		if len(vc.batches) != want {
			t.Errorf("statements of %d bytes: %d batches, want %d", size, len(vc.batches), want)
		}
		fc.checkReleased(t)
	}
}
