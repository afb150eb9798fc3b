package integration

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 13 item 12: the binary's log, as JSON (--log-format json).

// jsonRecords parses the binary's log; every line must be one JSON record.
func jsonRecords(t *testing.T, p *binaryProxy) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(p.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("a log line that is not JSON: %q", line)
		}
		out = append(out, r)
	}
	return out
}

// countRecords counts the records with msg whose attributes include want.
func countRecords(recs []map[string]any, msg string, want map[string]any) int {
	n := 0
next:
	for _, r := range recs {
		if r["msg"] != msg {
			continue
		}
		for k, v := range want {
			if r[k] != v {
				continue next
			}
		}
		n++
	}
	return n
}

// A replica killed and started again, then one whose replication is
// stopped and started: each leaves rotation and comes back, and the log
// says so once each, with the reason; the restart is seen. The start-up
// summary and the shutdown are logged too.
func TestLogHealthTransitions(t *testing.T) {
	needLocalCluster(t)
	p := startBinaryProxy(t, baseRules+"health_interval: 200ms\nhealth_failures: 2\n", 0, "--log-format", "json")
	recs := jsonRecords(t, p)
	if countRecords(recs, "config", nil) != 1 || countRecords(recs, "config: cluster", map[string]any{"cluster": "main", "primary": "127.0.0.1:3310"}) != 1 ||
		countRecords(recs, "config: limits", nil) != 1 || countRecords(recs, "shardgate listening", nil) != 1 {
		t.Fatalf("start-up records missing:\n%s", p.logs.String())
	}
	replica := map[string]any{"addr": "127.0.0.1:3312", "cluster": "main", "role": "replica"}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range replica {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	waitRecord := func(what, msg string, attrs map[string]any, n int) {
		t.Helper()
		took := eventually(t, 30*time.Second, what, func() bool {
			p.mustRun(t)
			return countRecords(jsonRecords(t, p), msg, attrs) >= n
		})
		t.Logf("%s: logged after %s", what, took)
	}

	pid := serverPid(t, "main-r2")
	t.Cleanup(func() { clusterScript(t, "start", "main-r2") })
	killQuiesced(t, "main-r2", pid)
	waitRecord("out of rotation after kill -9", "backend out of rotation", with(map[string]any{"reason": "unreachable", "level": "WARN"}), 1)
	clusterScript(t, "start", "main-r2")
	if why := replicationBroken("127.0.0.1:3312"); why != "" {
		t.Errorf("after the restart: %s", why)
	}
	waitRecord("back in rotation after the restart", "backend back in rotation", with(map[string]any{"level": "INFO"}), 1)
	waitRecord("the restart seen", "backend restart detected: its pooled connections were purged", with(map[string]any{"reason": "restart detected"}), 1)

	rootSQL(t, "main-r2", "STOP SLAVE")
	defer rootSQL(t, "main-r2", "START SLAVE")
	waitRecord("out of rotation after STOP SLAVE", "backend out of rotation", with(map[string]any{"reason": "replication stopped"}), 1)
	rootSQL(t, "main-r2", "START SLAVE")
	waitRecord("back in rotation after START SLAVE", "backend back in rotation", with(nil), 2)

	// Each transition once: the failed checks while out add nothing, so
	// 3312's records alternate out, in, out, in.
	recs = jsonRecords(t, p)
	var seq []string
	for _, r := range recs {
		if r["addr"] == "127.0.0.1:3312" {
			switch r["msg"] {
			case "backend out of rotation":
				seq = append(seq, "out")
			case "backend back in rotation":
				seq = append(seq, "in")
			}
		}
	}
	for i, s := range seq {
		if s != []string{"out", "in"}[i%2] {
			t.Fatalf("3312's transitions %v do not alternate:\n%s", seq, p.logs.String())
		}
	}
	if len(seq) < 4 || len(seq)%2 != 0 {
		t.Errorf("3312's transitions %v, want out, in twice", seq)
	}
	if n := countRecords(recs, "backend out of rotation", map[string]any{"addr": "127.0.0.1:3311"}); n != 0 {
		t.Errorf("the other replica logged out of rotation %d times", n)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exit:
		p.exit <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
	recs = jsonRecords(t, p)
	if countRecords(recs, "shutting down: no new clients, waiting for running statements", map[string]any{"signal": "terminated"}) != 1 ||
		countRecords(recs, "stopped", nil) != 1 {
		t.Errorf("shutdown records missing:\n%s", p.logs.String())
	}
}
