package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// TestAdminViews: every SHOW SHARDGATE view through SQL, the same views as
// JSON over HTTP on admin_listen for admin users only (401 without a
// password, 403 for a user who is not admin), and `shardgate admin VIEW`.
func TestAdminViews(t *testing.T) {
	adminAddr := freePorts(t, 1)[0]
	p := startBinaryProxy(t, baseRules+"admin_listen: "+adminAddr+"\n", 0)
	db := openDSN(t, "app:app@tcp("+p.addr+")/shop")
	db.SetMaxOpenConns(1)
	for _, view := range []struct {
		name  string
		check func(rows []map[string]string) bool
	}{
		{"STATUS", func(rows []map[string]string) bool {
			m := map[string]string{}
			for _, r := range rows {
				m[r["name"]] = r["value"]
			}
			return m["rules_version"] == "1" && m["sessions"] != "0" && m["backends_in_rotation"] == "7/7"
		}},
		{"SESSIONS", func(rows []map[string]string) bool {
			for _, r := range rows {
				if r["user"] == "app" && r["db"] == "shop" && r["info"] == "SHOW SHARDGATE SESSIONS" {
					return true
				}
			}
			return false
		}},
		{"TABLES", func(rows []map[string]string) bool {
			for _, r := range rows {
				if r["table"] == "comments" && strings.HasPrefix(r["placement"], "sharded by hash(product_id) into 8 tables") {
					return true
				}
			}
			return false
		}},
		{"BUCKETS", func(rows []map[string]string) bool { return true }},
		{"BACKENDS", func(rows []map[string]string) bool { return len(rows) == 7 }},
		{"RULES", func(rows []map[string]string) bool { return len(rows) == 1 && rows[0]["source"] == "start" }},
		{"SWITCHES", func(rows []map[string]string) bool { return len(rows) == 0 }},
		{"SLOW", func(rows []map[string]string) bool { return true }},
		{"TRANSACTIONS", func(rows []map[string]string) bool { return true }},
	} {
		if rows := queryMaps(t, db, "SHOW SHARDGATE "+view.name); !view.check(rows) {
			t.Errorf("SHOW SHARDGATE %s: %v", view.name, rows)
		}
	}

	get := func(path, user, password string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+adminAddr+path, nil)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	for _, tc := range []struct {
		user, password string
		want           int
	}{{"", "", 401}, {"app", "wrong", 401}, {"nopass", "", 403}, {"app", "app", 200}} {
		if code, body := get("/admin/status", tc.user, tc.password); code != tc.want {
			t.Errorf("/admin/status as %q: %d %s, want %d", tc.user, code, body, tc.want)
		}
	}
	code, body := get("/admin/backends", "app", "app")
	var v struct {
		Columns []string            `json:"columns"`
		Rows    []map[string]string `json:"rows"`
	}
	if err := json.Unmarshal(body, &v); code != 200 || err != nil || len(v.Rows) != 7 || v.Rows[0]["cluster"] != "main" || v.Columns[2] != "address" {
		t.Fatalf("/admin/backends: %d %v %s", code, err, body)
	}
	if code, _ := get("/admin/nosuch", "app", "app"); code != 404 {
		t.Errorf("/admin/nosuch: %d", code)
	}
	// Per-table metrics, bounded to the tables the rules name; refusals
	// by reason; pool waits per backend.
	db.Exec("SELECT COUNT(*) FROM comments")
	db.Exec("SELECT * FROM no_such_table_1")
	db.Exec("SELECT * FROM no_such_table_2")
	db.Exec("UPDATE comments SET body = 'x'") // refused: every shard
	code, body = get("/metrics", "", "")
	for _, want := range []string{
		"shardgate_rules_version 1",
		`shardgate_table_queries_total{kind="select",route="scatter",table="shop.comments"} 1`,
		`table="shop.(other)"`,
		`shardgate_refusals_total{reason=`,
		`shardgate_backend_pool_waits_total{addr="127.0.0.1:3310",cluster="main",role="primary"} 0`,
	} {
		if code != 200 || !strings.Contains(string(body), want) {
			t.Errorf("/metrics (%d) lacks %s", code, want)
		}
	}

	bin, err := shardgateBinary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "admin", "--addr", adminAddr, "--user", "app", "--password", "app", "status").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rules_version") || !strings.Contains(string(out), "backends_in_rotation") {
		t.Fatalf("shardgate admin status: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "admin", "--addr", adminAddr, "--user", "nopass", "status").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "403") {
		t.Fatalf("shardgate admin as a user who is not admin: %v\n%s", err, out)
	}
}
