package integration

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sysbenchRun is one line of scripts/sysbench.sh: a test's events and the
// errors sysbench retried, by code.
type sysbenchRun struct {
	events, retried int
	codes           map[int]int
	// rows and idsum are COUNT(*) and SUM(id) of the table after the test
	// (-1: not reported, the empty-table test).
	rows, idsum int64
}

// runSysbench runs scripts/sysbench.sh against port and parses its lines.
// The script fails when sysbench meets an error it does not retry.
func runSysbench(t *testing.T, port, schema string, env ...string) map[string]sysbenchRun {
	t.Helper()
	args := []string{port, schema, strconv.FormatInt(envInt(t, "SHARDGATE_SYSBENCH_SECONDS", 2, 1), 10), strconv.FormatInt(envInt(t, "SHARDGATE_SYSBENCH_THREADS", 4, 1), 10)}
	out, err := runCmdEnv(t, 5*time.Minute, env, "../scripts/sysbench.sh", args...)
	t.Logf("sysbench %s on port %s:\n%s", schema, port, out)
	if err != nil {
		t.Fatalf("sysbench on %s (port %s): %v", schema, port, err)
	}
	runs := map[string]sysbenchRun{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 6 && len(f) != 8 {
			t.Fatalf("unexpected line from sysbench.sh: %q", line)
		}
		kv := map[string]string{}
		for _, p := range f[1:] {
			k, v, _ := strings.Cut(p, "=")
			kv[k] = v
		}
		r := sysbenchRun{codes: map[int]int{}, rows: -1, idsum: -1}
		if len(f) == 8 {
			var err1, err2 error
			r.rows, err1 = strconv.ParseInt(kv["rows"], 10, 64)
			r.idsum, err2 = strconv.ParseInt(kv["idsum"], 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("sysbench.sh line %q: bad rows or idsum", line)
			}
		}
		var err1, err2 error
		r.events, err1 = strconv.Atoi(kv["events"])
		r.retried, err2 = strconv.Atoi(kv["retried"])
		if err1 != nil || err2 != nil || r.events == 0 {
			t.Fatalf("sysbench.sh line %q: no events or counts", line)
		}
		if kv["codes"] != "none" {
			for _, c := range strings.Split(kv["codes"], ",") {
				code, n, _ := strings.Cut(c, ":")
				ci, err1 := strconv.Atoi(code)
				ni, err2 := strconv.Atoi(n)
				if err1 != nil || err2 != nil {
					t.Fatalf("sysbench.sh line %q: bad codes", line)
				}
				r.codes[ci] += ni
			}
		}
		sum := 0
		for _, n := range r.codes {
			sum += n
		}
		if sum != r.retried {
			t.Fatalf("%s: sysbench retried %d errors, %d counted by code", f[0], r.retried, sum)
		}
		runs[f[0]] = r
	}
	return runs
}

// sysbench's OLTP tests with server-side prepared statements, on an
// unsharded schema and on sbtest1 sharded by id over s0 and s1. No error may
// reach sysbench that it does not retry. The ones it retries (deadlocks
// 1213, lock wait timeouts 1205, 1020) are MariaDB's answers under this load,
// not the proxy's: the same tests run directly against the primary, and the
// proxy may not produce other codes, nor markedly more of them per event.
func TestSysbench(t *testing.T) {
	if _, err := exec.LookPath("sysbench"); err != nil {
		t.Fatal("sysbench is not installed (scripts/deps.sh installs it)")
	}
	for _, addr := range []string{mainPrimary, "127.0.0.1:3320", "127.0.0.1:3330"} {
		for _, db := range []string{"sbtest", "sbshard"} {
			if _, err := direct(t, addr, "").Exec("CREATE DATABASE IF NOT EXISTS " + db); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The direct runs' database; sysbench.sh drops its tables at the end.
	if _, err := direct(t, mainPrimary, "").Exec("CREATE DATABASE IF NOT EXISTS sbdirect"); err != nil {
		t.Fatal(err)
	}
	rulesYAML, err := os.ReadFile("../testdata/rules.sysbench.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyRules(t, string(rulesYAML))
	// The direct run, once: both schemas' rates of retried errors are
	// measured against it.
	directRuns := runSysbench(t, "3310", "sbdirect")
	// Both schemas run sysbench's transactions; sbshard's span s0 and s1
	// (two-phase commit).
	for _, schema := range []string{"sbtest", "sbshard"} {
		t.Run(schema, func(t *testing.T) {
			proxied := runSysbench(t, p.port(), schema)
			if len(proxied) != 4 {
				t.Fatalf("%d of 4 sysbench tests reported", len(proxied))
			}
			for _, name := range sortedKeys(proxied) {
				pr := proxied[name]
				dr, ok := directRuns[name]
				if !ok {
					t.Fatalf("%s: no direct run", name)
				}
				// Every transaction committed or rolled back whole: the
				// deleted-then-inserted rows are all there, once.
				if name != "oltp_insert" && (pr.rows != 10000 || pr.idsum != 10000*10001/2) {
					t.Errorf("%s: after the run the table has %d rows, ids summing to %d; want 10000 and %d", name, pr.rows, pr.idsum, 10000*10001/2)
				}
				for code := range pr.codes {
					if code != 1213 && code != 1205 && code != 1020 {
						t.Errorf("%s: sysbench retried error %d through the proxy (%v); only MariaDB's deadlocks and lock waits are expected", name, code, pr.codes)
					}
				}
				pRate := float64(pr.retried) / float64(pr.events)
				dRate := float64(dr.retried) / float64(dr.events)
				t.Logf("%s: retried errors per event: proxy %.4f %v, direct %.4f %v", name, pRate, pr.codes, dRate, dr.codes)
				// Deadlocks are random: only a rate far beyond the direct
				// run's (3×, plus 2% of events) points at the proxy.
				if pRate > 3*dRate+0.02 {
					t.Errorf("%s: %s retried errors per event through the proxy, %s directly", name, fmt.Sprintf("%.4f", pRate), fmt.Sprintf("%.4f", dRate))
				}
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
