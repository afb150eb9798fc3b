package router

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend/backendtest"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// Issue 13 item 5 end to end, without a real cluster: sessions reading
// through the router from fake MariaDB servers, one replica frozen as by
// SIGSTOP. integration/fault_test.go's TestFrozenReplicaReadsMoveOn does
// the same against real servers.

// midResultTable is answered with five rows, then the server freezes,
// then five more rows.
const midResultTable = "frozen_mid_result"

// serverAnswer answers what the router sends a server called name: the
// health checks' queries, and reads of @@hostname (name) and of
// midResultTable.
func serverAnswer(name string) backendtest.Answer {
	return func(cmd byte, arg []byte) [][]byte {
		if cmd != mysql.COM_QUERY {
			return nil
		}
		q := string(arg)
		switch {
		case strings.Contains(q, "'Uptime'"):
			return backendtest.Result([]string{"Variable_name", "Value"}, []string{"Uptime", "1000"})
		case q == "SHOW SLAVE STATUS":
			return backendtest.Result([]string{"Slave_IO_Running", "Slave_SQL_Running", "Seconds_Behind_Master"}, []string{"Yes", "Yes", "0"})
		case strings.Contains(q, "@@hostname"):
			return backendtest.Result([]string{"@@hostname"}, []string{name})
		case strings.Contains(q, midResultTable):
			var rows [][]string
			for i := 1; i <= 10; i++ {
				rows = append(rows, []string{fmt.Sprint(i)})
			}
			res := backendtest.Result([]string{"id"}, rows...)
			// header: count, one definition, EOF; then the rows.
			return append(append(res[:3+5:3+5], nil), res[3+5:]...)
		}
		return nil
	}
}

// fakeCluster starts a primary and two replicas and a router over them
// with fast health checks and a read timeout far beyond them.
func fakeCluster(t *testing.T) (rt *Router, primary, r1, r2 *backendtest.Server) {
	t.Helper()
	primary, r1, r2 = backendtest.Start(t, serverAnswer("primary")), backendtest.Start(t, serverAnswer("r1")), backendtest.Start(t, serverAnswer("r2"))
	r, err := rules.Parse("test.yaml", []byte(fmt.Sprintf(`users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: %s, replicas: [%s, %s]}
schemas: {shop: {cluster: main}}
health_interval: 50ms
health_timeout: 100ms
health_failures: 2
pool: {read_timeout: 30s, connect_timeout: 1s}
`, primary.Addr(), r1.Addr(), r2.Addr())))
	if err != nil {
		t.Fatal(err)
	}
	rt = New(r, nil)
	rt.Start()
	t.Cleanup(rt.Close)
	return rt, primary, r1, r2
}

// recorder is a ResultWriter that keeps the packets.
type recorder struct{ packets [][]byte }

func (w *recorder) WritePacket(p []byte) error {
	w.packets = append(w.packets, append([]byte(nil), p...))
	return nil
}
func (w *recorder) Flush() error { return nil }

// rows decodes the rows of a one-column text result, and the ERR packet
// that ended it early, if any.
func (w *recorder) rows(t *testing.T) ([]string, *mysql.MyError) {
	t.Helper()
	var out []string
	for i, p := range w.packets {
		switch {
		case i < 3: // column count, definition, EOF
		case p[0] == wire.HeaderERR:
			return out, wire.ParseError(p)
		case wire.IsEOF(p):
			return out, nil
		default:
			v, _, ok := wire.ParseTextRow(p, 1)
			if !ok {
				t.Fatalf("malformed row %q", p)
			}
			out = append(out, string(v[0]))
		}
	}
	t.Fatalf("result without its end: %q", w.packets)
	return nil, nil
}

// 16 sessions read while one replica freezes: every read gets its answer
// within 2 × health_interval + 1 s (the read timeout is 30 s), none from
// the frozen replica once it froze; the reads caught on it are cut and
// answered by the other.
func TestFrozenReplicaReadsRunElsewhere(t *testing.T) {
	rt, _, r1, _ := fakeCluster(t)
	const bound = 2*50*time.Millisecond + time.Second
	frozen := rt.Snapshot().Clusters["main"].Replicas[0]
	type read struct {
		start time.Time
		took  time.Duration
		from  string
		err   error
	}
	var mu sync.Mutex
	var reads []read
	var ok atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := rt.NewSession("shop", 45, false)
			defer s.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := read{start: time.Now()}
				w := &recorder{}
				if r.err = s.Query("SELECT @@hostname", w); r.err == nil {
					rows, me := w.rows(t)
					switch {
					case me != nil:
						r.err = me
					case len(rows) == 1:
						r.from = rows[0]
						ok.Add(1)
					default:
						r.err = fmt.Errorf("rows %q", rows)
					}
				}
				r.took = time.Since(r.start)
				mu.Lock()
				reads = append(reads, r)
				mu.Unlock()
			}
		}()
	}
	var once sync.Once
	stopReads := func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
		})
	}
	defer stopReads()
	waitFor(t, 10*time.Second, "reads before the freeze", func() bool { return ok.Load() >= 200 })
	frozenAt := time.Now()
	r1.Freeze()
	waitFor(t, 10*time.Second, "the frozen replica out of rotation", func() bool { return !frozen.Healthy() })
	base := ok.Load()
	waitFor(t, 20*time.Second, "reads after the freeze", func() bool {
		return time.Since(frozenAt) > bound+time.Second && ok.Load()-base >= 200
	})
	stopReads()
	r1.Thaw()

	var fromFrozen int
	for _, r := range reads {
		if r.err != nil {
			t.Errorf("a read failed: %v", r.err)
		}
		if r.took > bound {
			t.Errorf("a read started %s after the freeze waited %s (bound %s)", r.start.Sub(frozenAt), r.took, bound)
		}
		if r.from == "r1" && r.start.After(frozenAt) {
			fromFrozen++
		}
	}
	if fromFrozen > 0 {
		t.Errorf("%d reads started after the freeze were answered by the frozen replica", fromFrozen)
	}
	if frozen.CutConns.Load() == 0 {
		t.Error("no read was cut: none was caught on the frozen replica, the test proved nothing")
	}
	t.Logf("%d reads, %d connections cut", len(reads), frozen.CutConns.Load())
	waitFor(t, 10*time.Second, "the thawed replica back in rotation", frozen.Healthy)
}

// A read whose replica froze after sending part of the result cannot run
// again: the client has rows. It ends, once the replica leaves rotation,
// with the error that says so, and the session goes on.
func TestReplicaFrozenMidResult(t *testing.T) {
	rt, _, r1, r2 := fakeCluster(t)
	s := rt.NewSession("shop", 45, false)
	defer s.Close()
	start := time.Now()
	w := &recorder{}
	if err := s.Query("SELECT id FROM "+midResultTable, w); err != nil {
		// The session writes the error to the client itself.
		w.packets = append(w.packets, wire.ErrorPacket(err))
	}
	took := time.Since(start)
	r1.Thaw()
	r2.Thaw()
	rows, me := w.rows(t)
	if len(rows) != 5 || me == nil || me.Code != mysql.ER_UNKNOWN_ERROR ||
		!strings.Contains(me.Message, "left rotation") || !strings.Contains(me.Message, "the result is incomplete") {
		t.Fatalf("client got rows %q and error %v; want the 5 rows sent before the freeze and 1105 saying the replica left rotation", rows, me)
	}
	if took > 2*50*time.Millisecond+time.Second {
		t.Errorf("the read took %s", took)
	}
	w = &recorder{}
	if err := s.Query("SELECT @@hostname", w); err != nil {
		t.Fatalf("the next read: %v", err)
	}
	if rows, me := w.rows(t); me != nil || len(rows) != 1 {
		t.Fatalf("the next read: rows %q, error %v", rows, me)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
	}
}
