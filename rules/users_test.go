package rules

import (
	"net"
	"strings"
	"testing"
)

func TestHostPatterns(t *testing.T) {
	cases := []struct {
		pattern string
		ok      bool
		match   []string
		nomatch []string
	}{
		{"127.0.0.%", true, []string{"127.0.0.1", "127.0.0.255"}, []string{"127.0.1.1", "10.127.0.0"}},
		{"127.0.0.2", true, []string{"127.0.0.2"}, []string{"127.0.0.1", "127.0.0.20"}},
		{"10.1._.5", true, []string{"10.1.3.5"}, []string{"10.1.33.5", "10.1.3.50"}},
		{"%", true, []string{"127.0.0.1", "::1", "192.168.1.1"}, nil},
		{"127.0.0.0/8", true, []string{"127.1.2.3"}, []string{"128.0.0.1"}},
		{"127.0.0.0/255.255.255.0", true, []string{"127.0.0.9"}, []string{"127.0.1.9"}},
		{"::1", true, []string{"::1"}, []string{"127.0.0.1"}},
		{"0:0:0:0:0:0:0:1", true, []string{"::1"}, nil},
		{"fe80::%", true, []string{"fe80::1"}, []string{"fe81::1"}},
		{"fd00::/8", true, []string{"fd12::1"}, []string{"fe80::1"}},
		{"localhost", false, nil, nil},
		{"db.example.com", false, nil, nil},
		{"127.0.0.0/33", false, nil, nil},
		{"127.0.0.0/255.0.255.0", false, nil, nil},
		{"", false, nil, nil},
		{"127.0.0.1 ", false, nil, nil},
	}
	for _, c := range cases {
		p, ok := parseHostPattern(c.pattern)
		if ok != c.ok {
			t.Errorf("%q: accepted %v, want %v", c.pattern, ok, c.ok)
			continue
		}
		for _, a := range c.match {
			if !p.match(net.ParseIP(a)) {
				t.Errorf("%q does not match %s", c.pattern, a)
			}
		}
		for _, a := range c.nomatch {
			if p.match(net.ParseIP(a)) {
				t.Errorf("%q matches %s", c.pattern, a)
			}
		}
	}
}

const usersBase = `backend: {user: app, password: app}
clusters:
  main:
    primary: 127.0.0.1:3310
schemas:
  shop: {cluster: main}
  crm: {cluster: main}
users:
`

func TestUserValidation(t *testing.T) {
	cases := []struct {
		name, users, want string
	}{
		{"defaults", "  - {name: app, password: app}\n", ""},
		{"all keys", "  - name: app\n    password: \"*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19\"\n    schemas: [shop]\n    read_only: true\n    hosts: [127.0.0.%, 10.0.0.0/8]\n    max_connections: 5\n    admin: true\n", ""},
		{"star", "  - {name: app, schemas: ['*']}\n", ""},
		{"unknown key", "  - {name: app, schema: [shop]}\n", "rules.yaml:9: unknown key \"schema\""},
		{"unknown schema", "  - name: app\n    schemas:\n      - shop\n      - secret\n", "rules.yaml:12: user app: schemas: unknown schema \"secret\""},
		{"star and names", "  - {name: app, schemas: ['*', shop]}\n", "rules.yaml:9: user app: schemas: \"*\" already means every declared schema"},
		{"empty schemas", "  - {name: app, schemas: []}\n", "rules.yaml:9: user app: schemas is empty"},
		{"host name", "  - name: app\n    hosts:\n      - 127.0.0.1\n      - localhost\n", "rules.yaml:12: user app: hosts: \"localhost\""},
		{"bad cidr", "  - {name: app, hosts: [10.0.0.0/40]}\n", "rules.yaml:9: user app: hosts: \"10.0.0.0/40\""},
		{"empty hosts", "  - {name: app, hosts: []}\n", "rules.yaml:9: user app: hosts is empty"},
		{"negative max_connections", "  - name: app\n    max_connections: -1\n", "rules.yaml:9: user app: max_connections -1"},
		{"read_only not bool", "  - name: app\n    read_only: sometimes\n", "rules.yaml:10: cannot unmarshal"},
		{"max_connections not int", "  - name: app\n    max_connections: many\n", "rules.yaml:10: cannot unmarshal"},
		{"caching_sha2 stored form too short", "  - {name: app, password: \"$A$005$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQ\"}\n", "rules.yaml:9: user app: caching_sha2_password's stored form is $A$, three hex digits of rounds/1000 (005), $, a 20-byte salt and a 43-character digest (70 bytes); got 60 bytes"},
		{"caching_sha2 rounds below 5000", "  - {name: app, password: \"$A$004$abcdefghijklmnopqrst0123456789012345678901234567890123456789012\"}\n", "rounds \"004\" is not a hex count"},
		{"caching_sha2 rounds not hex", "  - {name: app, password: \"$A$0x5$abcdefghijklmnopqrst0123456789012345678901234567890123456789012\"}\n", "rounds \"0x5\" is not a hex count"},
		{"caching_sha2 digest alphabet", "  - {name: app, password: \"$A$005$abcdefghijklmnopqrst012345678901234567890123456789012345678901!\"}\n", "outside crypt's base-64 alphabet"},
		{"caching_sha2 salt with $", "  - {name: app, password: \"$A$005$abcdefghij$lmnopqrst0123456789012345678901234567890123456789012\"}\n", "the salt holds byte 0x24"},
		{"caching_sha2 hex form malformed", "  - {name: app, password: \"0x2441243030352461\"}\n", "got 8 bytes"},
		{"sha256_password stored form", "  - {name: app, password: \"$5$abcdefghijklmnopqrst$0123456789012345678901234567890123456789012\"}\n", "rules.yaml:9: user app: sha256_password's stored form ($5$…) is not supported"},
		{"max_connect_errors", "  - {name: app}\nmax_connect_errors: -3\n", "rules.yaml:10: max_connect_errors -3: must be at least 1"},
		{"connect_errors_timeout", "  - {name: app}\nconnect_errors_timeout: -1m\n", "rules.yaml:10: connect_errors_timeout -1m0s: must be positive"},
		{"login_failure_delay", "  - {name: app}\nlogin_failure_delay: 1m\n", "rules.yaml:10: login_failure_delay 1m0s: must be between 0 and 5s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse("rules.yaml", []byte(usersBase+c.users))
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got error %v, want one containing %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u, _ := r.User("app")
			if !u.AllowsHost(net.ParseIP("127.0.0.1")) {
				t.Fatal("127.0.0.1 refused")
			}
		})
	}
}

// What the keys mean once loaded, and the defaults.
func TestUserKeys(t *testing.T) {
	r, err := Parse("rules.yaml", []byte(usersBase+`  - {name: app, password: app}
  - {name: shopper, password: "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", schemas: [shop], hosts: [127.0.0.2, 10.0.0.0/8]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxConnectErrors != 100 || r.ConnectErrorsTimeout.String() != "1h0m0s" || r.LoginFailureDelay.String() != "150ms" {
		t.Fatalf("defaults: %d %s %s", r.MaxConnectErrors, r.ConnectErrorsTimeout, r.LoginFailureDelay)
	}
	app, _ := r.User("app")
	if !app.AllSchemas() || !app.MaySee("crm") || !app.MaySee("undeclared") || app.NativeHash() != nil || app.ReadOnly || app.Admin {
		t.Fatalf("app: %+v", app)
	}
	shopper, _ := r.User("shopper")
	if shopper.AllSchemas() || !shopper.MaySee("shop") || shopper.MaySee("crm") || shopper.MaySee("undeclared") || len(shopper.NativeHash()) != 20 {
		t.Fatalf("shopper: %+v", shopper)
	}
	for ip, want := range map[string]bool{"127.0.0.2": true, "127.0.0.1": false, "10.9.8.7": true} {
		if shopper.AllowsHost(net.ParseIP(ip)) != want {
			t.Errorf("shopper from %s: %v", ip, !want)
		}
	}
	if !r.AnyUserAllowsHost(net.ParseIP("192.0.2.1")) {
		t.Fatal("app has no hosts and allows any")
	}
	only, err := Parse("rules.yaml", []byte(usersBase+"  - {name: a, hosts: [127.0.0.2]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if only.AnyUserAllowsHost(net.ParseIP("127.0.0.1")) {
		t.Fatal("no user allows 127.0.0.1")
	}
}

func TestUserSystemSchemas(t *testing.T) {
	for _, tc := range []struct {
		list    string
		wantErr string
	}{
		{"[mysql, performance_schema, sys]", ""},
		{"[MySQL]", ""},
		{"[shop]", "system_schemas: \"shop\" is not one of mysql, performance_schema, sys"},
		{"[information_schema]", "is not one of"},
	} {
		t.Run(tc.list, func(t *testing.T) {
			_, err := Parse("rules.yaml", []byte(usersBase+"  - {name: a, password: a, system_schemas: "+tc.list+"}\n"))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("system_schemas %s: %v, want %q", tc.list, err, tc.wantErr)
			}
		})
	}
}
