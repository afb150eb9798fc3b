package backend

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func jsonRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// Health transitions are logged once each, with the backend, the reason
// and the error: a run of failed checks takes the backend out (one Warn),
// more failures add nothing, the first good check brings it back (one
// Info); failures below health_failures are Debug only.
func TestHealthTransitionsLogged(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:3311: connect: connection refused")
	tests := []struct {
		name   string
		err    error
		reason string
	}{
		{"unreachable", refused, ReasonUnreachable},
		{"lag", &lagError{lag: 9 * time.Second, max: 5 * time.Second}, ReasonLag},
		{"replication stopped", replicationStopped("replication threads stopped (IO No, SQL Yes)"), ReasonReplicationStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c := NewCluster("main", "127.0.0.1:3310", []string{"127.0.0.1:3311"}, []int{1}, PoolConfig{}, 5*time.Second, log)
			b := c.Replicas[0]
			var outcome error
			ch := &checker{b: b, timeout: time.Second, failures: 2, fake: func() error { return outcome }}
			outcome = tt.err
			for i := 0; i < 4; i++ {
				ch.check()
			}
			if b.Healthy() {
				t.Fatal("still healthy after 4 failed checks")
			}
			outcome = nil
			ch.check()
			ch.check()
			if !b.Healthy() {
				t.Fatal("not back after a good check")
			}
			recs := jsonRecords(t, &buf)
			if len(recs) != 3 {
				t.Fatalf("%d records, want debug, out, in:\n%s", len(recs), buf.String())
			}
			for _, r := range recs {
				if r["cluster"] != "main" || r["role"] != "replica" || r["addr"] != "127.0.0.1:3311" {
					t.Errorf("record does not name the backend: %v", r)
				}
			}
			if r := recs[0]; r["level"] != "DEBUG" || r["reason"] != tt.reason || r["failures"] != float64(1) {
				t.Errorf("first failure: %v", r)
			}
			if r := recs[1]; r["level"] != "WARN" || r["msg"] != "backend out of rotation" || r["reason"] != tt.reason || r["err"] != tt.err.Error() {
				t.Errorf("out of rotation: %v", r)
			}
			if r := recs[2]; r["level"] != "INFO" || r["msg"] != "backend back in rotation" || r["down_for"] == nil {
				t.Errorf("back in rotation: %v", r)
			}
		})
	}
}

// A statement that finds a backend broken takes it out at once; the
// checks that fail afterwards do not log the transition again.
func TestMarkDownLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	c := NewCluster("s1", "127.0.0.1:3330", nil, nil, PoolConfig{}, 0, slog.New(slog.NewJSONHandler(&buf, nil)))
	b := c.Primary
	b.MarkDown("statement failed: connection broken")
	b.MarkDown("statement failed: connection broken")
	ch := &checker{b: b, timeout: time.Second, failures: 1, fake: func() error { return errors.New("refused") }}
	ch.check()
	recs := jsonRecords(t, &buf)
	if len(recs) != 1 || recs[0]["msg"] != "backend out of rotation" || recs[0]["reason"] != ReasonStatementFailed || recs[0]["role"] != "primary" {
		t.Fatalf("records:\n%s", buf.String())
	}
}

// A start time other than the one seen before is a restart: logged, and
// the pool purged; the same start (within Uptime's resolution) is not.
func TestRestartDetectedLogged(t *testing.T) {
	var buf bytes.Buffer
	c := NewCluster("s1", "127.0.0.1:3330", nil, nil, PoolConfig{}, 0, slog.New(slog.NewJSONHandler(&buf, nil)))
	ch := &checker{b: c.Primary, timeout: time.Second, failures: 2}
	boot := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	ch.sawBoot(boot)
	ch.sawBoot(boot.Add(time.Second)) // Uptime read a second later, rounded
	if n := c.Primary.Purges.Load(); n != 0 || buf.Len() != 0 {
		t.Fatalf("same start: %d purges, log %q", n, buf.String())
	}
	ch.sawBoot(boot.Add(time.Hour))
	recs := jsonRecords(t, &buf)
	if n := c.Primary.Purges.Load(); n != 1 || len(recs) != 1 {
		t.Fatalf("restart: %d purges, log %q", n, buf.String())
	}
	if r := recs[0]; r["level"] != "WARN" || r["reason"] != ReasonRestart || r["started"] != "2026-11-28T11:00:00Z" || r["previously_started"] != "2026-11-28T10:00:01Z" {
		t.Errorf("record %v", r)
	}
}

// A full pool logs its first refusal at once; the next ones within
// logs.Every are counted, not logged.
func TestPoolExhaustionLogged(t *testing.T) {
	var buf bytes.Buffer
	c := NewCluster("s0", "127.0.0.1:3320", nil, nil, PoolConfig{MaxOpen: 1, MaxIdle: 1, WaitTimeout: 5 * time.Millisecond}, 0,
		slog.New(slog.NewJSONHandler(&buf, nil)))
	p := c.Primary.Pool
	if _, dial, err := p.acquire(false, 1); !dial || err != nil {
		t.Fatalf("the only slot: dial=%v err=%v", dial, err)
	}
	for i := 0; i < 3; i++ {
		if _, err := p.Get(false, 2); err == nil || !strings.Contains(err.Error(), "busy") {
			t.Fatalf("Get on a full pool: %v", err)
		}
	}
	recs := jsonRecords(t, &buf)
	if len(recs) != 1 {
		t.Fatalf("%d records for 3 refusals within the window:\n%s", len(recs), buf.String())
	}
	if r := recs[0]; r["level"] != "WARN" || !strings.Contains(r["msg"].(string), "pool exhausted") || r["max_open"] != float64(1) ||
		r["cluster"] != "s0" || r["addr"] != "127.0.0.1:3320" || r["suppressed"] != float64(0) {
		t.Errorf("record %v", r)
	}
}

// TryGet never waits on a full pool (nor logs an exhaustion: nothing was
// refused to a client): it answers nil at once, however long the pool's
// wait_timeout.
func TestPoolTryGetDoesNotWait(t *testing.T) {
	var buf bytes.Buffer
	c := NewCluster("s0", "127.0.0.1:3320", nil, nil, PoolConfig{MaxOpen: 1, MaxIdle: 1, WaitTimeout: time.Hour}, 0,
		slog.New(slog.NewJSONHandler(&buf, nil)))
	p := c.Primary.Pool
	if _, dial, err := p.acquire(false, 1); !dial || err != nil {
		t.Fatalf("the only slot: dial=%v err=%v", dial, err)
	}
	start := time.Now()
	conn, err := p.TryGet(false)
	if conn != nil || err != nil {
		t.Fatalf("TryGet on a full pool: %v, %v; want nil, nil", conn, err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("TryGet waited %s", waited)
	}
	if buf.Len() != 0 {
		t.Errorf("logged %q", buf.String())
	}
}
