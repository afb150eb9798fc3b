package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// Nothing listens on the servers: every statement below is refused by the
// proxy before it needs one.
const eventsRules = `
users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:1}
  s0: {primary: 127.0.0.1:2}
  s1: {primary: 127.0.0.1:3}
schemas:
  shop:
    cluster: main
    tables:
      orders: {cluster: s1}
      comments:
        shard: {by: hash, column: product_id, tables: 4, clusters: [s0, s1]}
`

// jsonLog is a logger writing JSON records to buf.
func jsonLog(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func logRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
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

type discardWriter struct{}

func (discardWriter) WritePacket([]byte) error { return nil }
func (discardWriter) Flush() error             { return nil }

// Statements the proxy refuses itself are logged by reason, one line per
// reason per window with the client named; backend failures are not
// refusals.
func TestRefusalsLogged(t *testing.T) {
	r, err := rules.Parse("events.yaml", []byte(eventsRules))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rt := New(r, jsonLog(&buf))
	s := rt.NewSession("shop", 45, false)
	s.Identify(Client{ID: 7, User: "app", Host: "127.0.0.1:5000"})
	statements := []struct {
		sql  string
		code uint16
	}{
		{"SELECT * FROM comments c JOIN orders o ON o.id = c.id", mysql.ER_NOT_SUPPORTED_YET},
		{"SELECT * FROM comments c JOIN orders o ON o.id = c.product_id", mysql.ER_NOT_SUPPORTED_YET},
		{"UPDATE comments SET body = 'x'", mysql.ER_UPDATE_WITHOUT_KEY_IN_SAFE_MODE},
		{"SELECT * FROM comments c JOIN orders o ON o.user_id = c.id", mysql.ER_NOT_SUPPORTED_YET},
		{"INSERT INTO comments (id) VALUES (1)", mysql.ER_NO_DEFAULT_FOR_FIELD},
	}
	for _, st := range statements {
		err := s.Query(st.sql, discardWriter{})
		var me *mysql.MyError
		if !errors.As(err, &me) || me.Code != st.code {
			t.Fatalf("%s: %v, want %d", st.sql, err, st.code)
		}
	}
	// Not refusals: errors after a backend was borrowed, and backend
	// failures.
	s.noteRefusal(wire.Errorf(mysql.ER_PARSE_ERROR, "after a backend"), &observation{contacted: true})
	s.noteRefusal(backend.NotSent("primary main (127.0.0.1:1)", errFake), &observation{})
	s.noteRefusal(wire.Errorf(mysql.ER_UNKNOWN_ERROR, "outcome unknown"), &observation{})

	recs := logRecords(t, &buf)
	var refused []map[string]any
	for _, r := range recs {
		if r["msg"] == "statement refused" {
			refused = append(refused, r)
		}
	}
	want := []struct {
		reason string
		code   float64
	}{{"not supported", 1235}, {"write without WHERE", 1175}, {"shard key missing", 1364}}
	if len(refused) != len(want) {
		t.Fatalf("%d refusal records, want %d (one per reason): %s", len(refused), len(want), buf.String())
	}
	for i, w := range want {
		r := refused[i]
		if r["reason"] != w.reason || r["code"] != w.code || r["user"] != "app" || r["host"] != "127.0.0.1:5000" || r["conn"] != float64(7) ||
			r["level"] != "INFO" || r["suppressed"] != float64(0) || r["err"] == "" {
			t.Errorf("record %d = %v, want reason %q code %v for app@127.0.0.1:5000 conn 7", i, r, w.reason, w.code)
		}
	}
}

var errFake = errors.New("connection refused")

// A partial write is one Warn record listing every table by outcome.
func TestPartialWriteLogged(t *testing.T) {
	var buf bytes.Buffer
	rt := &Router{Log: jsonLog(&buf)}
	s := &Session{rt: rt, client: Client{ID: 3, User: "app", Host: "127.0.0.1:6000"}}
	oe := &engine.OutcomeError{
		Err:    wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: outcome unknown: …"),
		Global: true,
		Steps: []engine.StepOutcome{
			{Cluster: "main", Tables: []string{"regions"}, State: engine.StepCommitted},
			{Cluster: "s0", Tables: []string{"regions"}, State: engine.StepUnknown, Code: 1105, Detail: "the connection to primary s0 broke"},
			{Cluster: "s1", Tables: []string{"regions"}, State: engine.StepFailed, Code: 1062, Detail: "Duplicate entry '1'"},
		},
	}
	s.logPartialWrite("UPDATE regions SET name = 'x' WHERE id = 1", oe)
	recs := logRecords(t, &buf)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	list := func(key string) string {
		var parts []string
		for _, v := range r[key].([]any) {
			parts = append(parts, v.(string))
		}
		return strings.Join(parts, "; ")
	}
	if r["level"] != "WARN" || !strings.Contains(r["msg"].(string), "copies of a global table may now differ") ||
		r["code"] != float64(1105) || r["global"] != true || r["conn"] != float64(3) || r["sql"] != "UPDATE regions SET name = 'x' WHERE id = 1" {
		t.Errorf("record %v", r)
	}
	if list("committed") != "main.regions" || list("unknown") != "s0.regions (the connection to primary s0 broke)" ||
		list("failed") != "s1.regions (1062: Duplicate entry '1')" || r["not_sent"] != nil {
		t.Errorf("outcome lists %v", r)
	}
}

func TestClip(t *testing.T) {
	if got := clip("héllo", 2); got != "h…" {
		t.Errorf("clip cut a character: %q", got)
	}
	if got := clip("abc", 3); got != "abc" {
		t.Errorf("clip changed short text: %q", got)
	}
}

// A refusal of the memory budget is the proxy's own even after a backend
// was reached (a sort reads the shards first): logged with its reason. A
// server's own 1038 after contact is not; NoteMemoryRefusal logs only
// refusals of the budget.
func TestMemoryRefusalsLogged(t *testing.T) {
	r, err := rules.Parse("events.yaml", []byte(eventsRules))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rt := New(r, jsonLog(&buf))
	s := rt.NewSession("shop", 45, false)
	s.Identify(Client{ID: 9, User: "app", Host: "127.0.0.1:5001"})
	refusal := &memory.Refusal{Scope: memory.Statement, Limit: 16 << 20, Want: 1 << 20}
	sortErr := engine.MemoryError(mysql.ER_OUT_OF_SORTMEMORY, "ORDER BY", "", refusal)
	s.noteRefusal(sortErr, &observation{contacted: true})
	s.noteRefusal(wire.Errorf(mysql.ER_OUT_OF_SORTMEMORY, "a server's own"), &observation{contacted: true})
	s.NoteMemoryRefusal(engine.MemoryError(mysql.ER_OUT_OF_RESOURCES, "long data", "", refusal))
	s.NoteMemoryRefusal(wire.Errorf(mysql.ER_MALFORMED_PACKET, "not a memory refusal"))
	var got []string
	for _, r := range logRecords(t, &buf) {
		if r["msg"] == "statement refused" {
			got = append(got, fmt.Sprintf("%v %v", r["reason"], r["code"]))
		}
	}
	if strings.Join(got, "; ") != "out of sort memory 1038; out of memory 1041" {
		t.Fatalf("records %q, want the two refusals of the budget", got)
	}
}
