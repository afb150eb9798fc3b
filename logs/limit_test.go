package logs

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// records decodes the JSON lines written to buf.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON record: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestLimiterSuppressesAndCounts(t *testing.T) {
	var buf bytes.Buffer
	l := NewLimiter(slog.New(slog.NewJSONHandler(&buf, nil)), 10*time.Second)
	clock := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }
	type event struct {
		after time.Duration // clock advance before the event
		key   string
		wrote bool
	}
	events := []event{
		{0, "a", true},                // first of its key
		{time.Second, "a", false},     // within 10 s: counted
		{time.Second, "b", true},      // another key has its own window
		{time.Second, "a", false},     // counted
		{7 * time.Second, "a", true},  // 10 s after the first: written with 2 suppressed
		{9 * time.Second, "a", false}, // counted
		{time.Second, "a", true},      // 10 s again: 1 suppressed
		{30 * time.Second, "a", true}, // long after: 0 suppressed
		{0, "b", true},                // b's window passed long ago
	}
	for i, e := range events {
		clock = clock.Add(e.after)
		if got := l.Log(slog.LevelWarn, e.key, "refused", "reason", e.key, "n", i); got != e.wrote {
			t.Errorf("event %d (%s): wrote=%v, want %v", i, e.key, got, e.wrote)
		}
	}
	recs := records(t, &buf)
	want := []struct {
		key        string
		n          float64
		suppressed float64
	}{{"a", 0, 0}, {"b", 2, 0}, {"a", 4, 2}, {"a", 6, 1}, {"a", 7, 0}, {"b", 8, 0}}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d: %s", len(recs), len(want), buf.String())
	}
	for i, w := range want {
		r := recs[i]
		if r["msg"] != "refused" || r["level"] != "WARN" || r["reason"] != w.key || r["n"] != w.n || r["suppressed"] != w.suppressed {
			t.Errorf("record %d = %v, want reason=%s n=%v suppressed=%v", i, r, w.key, w.n, w.suppressed)
		}
	}
}

// Below the handler's level nothing is written and nothing is counted as
// written.
func TestLimiterRespectsLevel(t *testing.T) {
	var buf bytes.Buffer
	l := NewLimiter(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})), time.Second)
	if l.Log(slog.LevelInfo, "k", "quiet") {
		t.Error("an Info record was written by a Warn logger")
	}
	if !l.Log(slog.LevelWarn, "k", "loud") {
		t.Error("the first Warn record was held back")
	}
	if recs := records(t, &buf); len(recs) != 1 || recs[0]["msg"] != "loud" {
		t.Errorf("records %v", recs)
	}
}

// The keys tracked stay bounded whatever is logged.
func TestLimiterKeysBounded(t *testing.T) {
	l := NewLimiter(nil, time.Hour)
	var buf bytes.Buffer
	l.log = slog.New(slog.NewJSONHandler(&buf, nil))
	for i := 0; i < 10*maxKeys; i++ {
		l.Log(slog.LevelInfo, strings.Repeat("k", i%1000+1), "x")
	}
	if n := len(l.keys); n > maxKeys {
		t.Errorf("%d keys tracked, bound %d", n, maxKeys)
	}
}

func TestNewFormats(t *testing.T) {
	for _, tc := range []struct {
		format string
		check  func(string) bool
	}{
		{"text", func(s string) bool { return strings.HasPrefix(s, "time=") && strings.Contains(s, `msg=hello k=v`) }},
		{"json", func(s string) bool { return json.Valid([]byte(s)) && strings.Contains(s, `"msg":"hello","k":"v"`) }},
	} {
		var buf bytes.Buffer
		log, err := New(&buf, tc.format, slog.LevelInfo)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("hello", "k", "v")
		log.Debug("hidden")
		if out := strings.TrimSpace(buf.String()); !tc.check(out) || strings.Contains(out, "hidden") {
			t.Errorf("%s: %q", tc.format, out)
		}
	}
	if _, err := New(&bytes.Buffer{}, "xml", slog.LevelInfo); err == nil {
		t.Error("format xml accepted")
	}
}
