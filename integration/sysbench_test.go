package integration

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// sysbench's OLTP tests with server-side prepared statements, on an
// unsharded schema and on sbtest1 sharded by id over s0 and s1: zero errors.
func TestSysbench(t *testing.T) {
	if _, err := exec.LookPath("sysbench"); err != nil {
		t.Fatal("sysbench is not installed (scripts/deps.sh installs it)")
	}
	for _, addr := range []string{mainPrimary, "127.0.0.1:3320", "127.0.0.1:3330"} {
		if _, err := direct(t, addr, "").Exec("CREATE DATABASE IF NOT EXISTS sbtest"); err != nil {
			t.Fatal(err)
		}
		direct(t, addr, "").Exec("CREATE DATABASE IF NOT EXISTS sbshard")
	}
	rulesYAML, err := os.ReadFile("../testdata/rules.sysbench.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyRules(t, string(rulesYAML))
	for _, schema := range []string{"sbtest", "sbshard"} {
		out, err := exec.Command("../scripts/sysbench.sh", p.port(), schema, "3", "4").CombinedOutput()
		t.Logf("%s:\n%s", schema, out)
		if err != nil {
			t.Fatalf("sysbench on %s: %v", schema, err)
		}
		if n := strings.Count(string(out), "errors=0"); n != 4 {
			t.Fatalf("sysbench on %s: %d of 4 tests ran without errors", schema, n)
		}
	}
}
