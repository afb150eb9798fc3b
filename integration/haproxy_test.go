package integration

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHAProxyNPlusOne: two shardgate processes behind Debian's HAProxy,
// configured as deploy/haproxy.cfg is (health by each instance's admin
// interface). Clients through HAProxy are served by both; once one
// instance is killed, new connections all reach the other within two
// checks and statements go on.
func TestHAProxyNPlusOne(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/haproxy"); serr != nil {
			t.Fatalf("haproxy is not installed: run scripts/deps.sh (%v)", err)
		}
		haproxy = "/usr/sbin/haproxy"
	}
	ports := freePorts(t, 3)
	var instances []*binaryProxy
	for _, admin := range ports[1:] {
		instances = append(instances, startBinaryProxy(t, baseRules+"admin_listen: "+admin+"\n", 0))
	}
	front := ports[0]
	cfg := fmt.Sprintf(`global
    maxconn 256
defaults
    mode tcp
    timeout connect 2s
    timeout client 1m
    timeout server 1m
frontend mysql
    bind %s
    default_backend shardgate
backend shardgate
    balance roundrobin
    option httpchk GET /metrics
    http-check expect status 200
    server a %s check port %s inter 200ms fall 2 rise 2
    server b %s check port %s inter 200ms fall 2 rise 2
`, front, instances[0].addr, portOf(ports[1]), instances[1].addr, portOf(ports[2]))
	file := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	hp := exec.Command(haproxy, "-db", "-f", file)
	var hpLog syncBuffer
	hp.Stdout, hp.Stderr = &hpLog, &hpLog
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hp.Process.Kill(); hp.Wait() })
	// ask opens ten new connections through HAProxy and runs a statement
	// on each.
	ask := func() (ok int, failed []string) {
		for range 10 {
			db, err := sql.Open("mysql", "app:app@tcp("+front+")/shop?timeout=2s")
			if err != nil {
				t.Fatal(err)
			}
			var one int
			if err := db.QueryRow("SELECT 1").Scan(&one); err != nil {
				failed = append(failed, err.Error())
			} else {
				ok++
			}
			db.Close()
		}
		return ok, failed
	}
	eventually(t, 10*time.Second, "HAProxy serving through both instances", func() bool {
		ok, _ := ask()
		return ok == 10
	})
	// Kill instance a: after HAProxy's two failed checks, every new
	// connection is served by b.
	if err := instances[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "every connection served once instance a is gone", func() bool {
		ok, _ := ask()
		return ok == 10
	})
	if ok, failed := ask(); ok != 10 {
		t.Fatalf("with instance a gone: %d of 10 connections served, %s\nhaproxy: %s", ok, strings.Join(failed, "; "), hpLog.String())
	}
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
