package integration

import (
	"strings"
	"testing"
	"time"
)

// Defects found by running MariaDB's own mysqltest files through the proxy
// (scripts/mysqltest-suite.sh, docs/mysqltest-suite.md), each reproduced
// here against the proxy on the cluster.

// mysqltest's connect(con1,localhost,root,,) logs in with an empty
// password through libmariadb, whose caching_sha2_password plugin sends an
// empty response and then expects the OK packet itself: a fast-auth-success
// packet before it made the client give up with 2013 "Can't connect to
// server". The mariadb CLI (libmariadb) is the client here because
// go-sql-driver accepts both answers.
func TestMtrEmptyPasswordLibmariadb(t *testing.T) {
	p := startProxy(t, "")
	for _, c := range []struct {
		name string
		args []string
		want string // "" is success
	}{
		{"empty password", []string{"-unopass"}, ""},
		{"empty password given as -p''", []string{"-unopass", "--password="}, ""},
		{"password user still gets fast auth", []string{"-uapp", "-papp"}, ""},
		{"wrong password for an empty-password user", []string{"-unopass", "-pwrong"}, "ERROR 1045"},
		{"no password for a password user", []string{"-uapp"}, "ERROR 1045"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--no-defaults", "--protocol=tcp", "-h127.0.0.1", "-P" + p.port()}, c.args...)
			args = append(args, "-N", "-B", "-e", "SELECT 40+2", "shop")
			out, err := runCmd(t, time.Minute, "mariadb", args...)
			if c.want == "" {
				if err != nil || strings.TrimSpace(out) != "42" {
					t.Fatalf("login failed: %v: %s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(out, c.want) {
				t.Fatalf("want %s, got %v: %s", c.want, err, out)
			}
		})
	}
}
