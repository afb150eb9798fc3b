package protocol

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
)

// lockedBuffer collects log records written by the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records are the JSON records with msg.
func (b *lockedBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	text := b.buf.String()
	b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var r map[string]any
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// loggedServer serves r, logging JSON records into the buffer.
func loggedServer(t *testing.T, r *rules.Rules) (*Server, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	s, err := NewServer(r, router.New(r, log), log)
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

// Clients refused before or at login are logged by reason: the first of
// a reason at once, the repeats within the window only counted.
func TestClientRefusalsLogged(t *testing.T) {
	tests := []struct {
		name   string
		extra  string
		rules  string                          // a whole rules file instead of testRules(extra)
		refuse func(t *testing.T, addr string) // refuses one client
		msg    string
		reason string
		code   float64
	}{
		{"packet too large before login", "", "", func(t *testing.T, addr string) {
			c := dial(t, addr)
			readPacket(t, c)
			n := PreauthMaxPacket + 1
			c.Write([]byte{byte(n), byte(n >> 8), byte(n >> 16), 1})
			readPacket(t, c)
			expectEOF(t, c)
		}, "client refused", "packet too large before login", 1153},
		{"host not allowed", "", `users: [{name: app, password: app, hosts: [10.0.0.0/8]}]
backend: {user: app, password: app}
clusters: {main: {primary: 127.0.0.1:3310}}
schemas: {shop: {cluster: main}}
`, nil, "client refused", "host not allowed", 1130},
		{"connect_timeout", "connect_timeout: 50ms\nlogin_failure_delay: 10ms\n", "", func(t *testing.T, addr string) {
			c := dial(t, addr)
			readPacket(t, c)
			expectEOF(t, c)
		}, "client refused", "connect_timeout", 1043},
		{"too many connections", "max_connections: 1\nconnect_timeout: 1h\n", "", nil, "refusing clients: too many connections (1040)", "too many connections", 1040},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRules(t, tt.extra)
			if tt.rules != "" {
				var err error
				if r, err = rules.Parse("test.yaml", []byte(tt.rules)); err != nil {
					t.Fatal(err)
				}
			}
			s, logs := loggedServer(t, r)
			addr := serveLoopback(t, s)
			refuse := tt.refuse
			if refuse == nil {
				refuse = func(t *testing.T, addr string) {
					c := dial(t, addr)
					if p := readPacket(t, c); errCode(p) != uint16(tt.code) {
						t.Fatalf("got %q, want error %v", p, tt.code)
					}
					expectEOF(t, c)
				}
			}
			if tt.reason == "too many connections" {
				held := dial(t, addr)
				readPacket(t, held) // the one allowed connection's greeting
			}
			for range 3 {
				refuse(t, addr)
			}
			deadline := time.Now().Add(10 * time.Second)
			var recs []map[string]any
			for {
				if recs = logs.records(t, tt.msg); len(recs) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // the later refusals have been handled
			recs = logs.records(t, tt.msg)
			if len(recs) != 1 {
				t.Fatalf("%d records for 3 refusals within the window, want 1", len(recs))
			}
			if r := recs[0]; r["reason"] != tt.reason || r["code"] != tt.code || r["suppressed"] != float64(0) {
				t.Errorf("record %v, want reason %q code %v", r, tt.reason, tt.code)
			}
		})
	}
}
