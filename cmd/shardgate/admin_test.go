package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shardgate/shardgate/protocol"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
)

// TestAdminHTTPLogin: /admin/ admits users as a MySQL login does: a user's
// hosts bound where it may come from, and failed passwords count towards
// blocking the host (max_connect_errors), after which even the right
// password is refused until FLUSH HOSTS.
func TestAdminHTTPLogin(t *testing.T) {
	r, err := rules.Parse("rules.yaml", []byte(`users:
  - {name: ops, password: secret, admin: true, hosts: [127.0.0.2]}
  - {name: app, password: app, admin: true}
backend: {user: app, password: app}
max_connect_errors: 3
login_failure_delay: 1ms
clusters:
  main: {primary: 127.0.0.1:3310}
schemas:
  shop: {cluster: main}
`))
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(r, nil)
	defer rt.Close()
	srv, err := protocol.NewServer(r, rt, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := adminHandler(rt, srv)
	get := func(from, user, password string) int {
		req := httptest.NewRequest(http.MethodGet, "/admin/", nil)
		req.RemoteAddr = from + ":40000"
		req.SetBasicAuth(user, password)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, tc := range []struct {
		name, from, user, password string
		want                       int
	}{
		{"ops from its host", "127.0.0.2", "ops", "secret", 200},
		{"ops from a host it may not use", "127.0.0.3", "ops", "secret", 401},
		{"app, wrong password 1", "127.0.0.4", "app", "x", 401},
		{"app, wrong password 2", "127.0.0.4", "app", "y", 401},
		{"app, wrong password 3", "127.0.0.4", "app", "z", 401},
		{"app, right password from the blocked host", "127.0.0.4", "app", "app", 401},
		{"app from another host", "127.0.0.5", "app", "app", 200},
	} {
		if got := get(tc.from, tc.user, tc.password); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	rt.FlushHosts()
	if got := get("127.0.0.4", "app", "app"); got != 200 {
		t.Errorf("after FLUSH HOSTS: %d", got)
	}
}
