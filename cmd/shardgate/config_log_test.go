package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/rules"
)

// The start-up summary names every cluster's servers, every schema's
// layout and the limits, and never a password.
func TestLogConfig(t *testing.T) {
	r, err := rules.Load("../../testdata/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Passwords no other value could contain.
	for i := range r.Users {
		r.Users[i].Password = fmt.Sprintf("pw-secret-%d", i)
	}
	r.Backend.Password = "pw-secret-backend"
	var buf bytes.Buffer
	logConfig(slog.New(slog.NewJSONHandler(&buf, nil)), r)
	out := buf.String()
	if strings.Contains(out, "pw-secret") {
		t.Errorf("a password is in the log:\n%s", out)
	}
	byMsg := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		byMsg[m["msg"].(string)] = append(byMsg[m["msg"].(string)], m)
	}
	str := func(v any) string { return fmt.Sprint(v) }
	if c := byMsg["config"]; len(c) != 1 || c[0]["clusters"] != float64(3) || c[0]["schemas"] != float64(len(r.Schemas)) || str(c[0]["users"]) != "[app ops report]" {
		t.Errorf("config record %v", c)
	}
	clusters := map[string]string{}
	for _, c := range byMsg["config: cluster"] {
		clusters[c["cluster"].(string)] = str(c["primary"]) + " " + str(c["replicas"])
	}
	if clusters["main"] != "127.0.0.1:3310 [127.0.0.1:3311 127.0.0.1:3312]" || clusters["s0"] != "127.0.0.1:3320 [127.0.0.1:3321]" || len(clusters) != 3 {
		t.Errorf("cluster records %v", clusters)
	}
	var shop map[string]any
	for _, s := range byMsg["config: schema"] {
		if s["schema"] == "shop" {
			shop = s
		}
	}
	if shop == nil || shop["cluster"] != "main" || str(shop["sharded"]) != "[comments (by hash) payments (by hour)]" ||
		str(shop["global"]) != "[regions]" || !strings.Contains(str(shop["on_other_clusters"]), "orders on s1") {
		t.Errorf("schema record %v", shop)
	}
	if l := byMsg["config: limits"]; len(l) != 1 || l[0]["pool_max_open"] != float64(r.Pool.MaxOpen) || l[0]["health_interval"] != r.HealthInterval.String() ||
		l[0]["max_connections"] != float64(r.MaxConnections) {
		t.Errorf("limits record %v", l)
	}
}
