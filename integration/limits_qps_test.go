package integration

import (
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStatementLimits: a user's max_qps holds it to its rate within 10%
// across four connections; its max_statements refuses the statement over
// it with 1226 while the others run; a schema's max_qps refuses other
// users' statements in it but not an admin's.
func TestStatementLimits(t *testing.T) {
	p := startProxyRules(t, strings.Replace(strings.Replace(baseRules,
		"  - {name: nopass, password: \"\"}",
		"  - {name: nopass, password: \"\"}\n  - {name: limited, password: l, max_qps: 100}\n  - {name: narrow, password: n, max_statements: 2}\n  - {name: quiet, password: q, schemas: [usr_quiet]}", 1),
		"schemas:\n", "schemas:\n  usr_quiet: {cluster: main, max_qps: 5}\n", 1))
	// The rate: four clients as fast as they can for 3 s.
	limited, err := sql.Open("mysql", "limited:l@tcp("+p.addr+")/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer limited.Close()
	limited.SetMaxOpenConns(4)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < 3*time.Second {
				var one int
				err := limited.QueryRow("SELECT 1").Scan(&one)
				if err == nil {
					ok.Add(1)
					continue
				}
				if code, _, msg := mysqlErr(t, err); code != 1226 || !strings.Contains(msg, "User 'limited' has exceeded the 'max_qps' resource (current value: 100)") {
					t.Errorf("refusal: %d %s", code, msg)
					return
				}
				refused.Add(1)
				time.Sleep(time.Millisecond) // as a client would back off
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	rate := float64(ok.Load()-10) / elapsed // the first tenth of a second's burst aside
	t.Logf("max_qps 100: %d statements in %.2f s (%.1f/s), %d refused", ok.Load(), elapsed, rate, refused.Load())
	if rate < 90 || rate > 110 || refused.Load() == 0 {
		t.Fatalf("max_qps 100 let %.1f statements per second through (%d refused)", rate, refused.Load())
	}

	// Concurrency: the third of three SLEEPs at once is refused.
	narrow, err := sql.Open("mysql", "narrow:n@tcp("+p.addr+")/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer narrow.Close()
	narrow.SetMaxOpenConns(3)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := narrow.Exec("SELECT SLEEP(0.5)")
			errs <- err
		}()
	}
	codes := map[uint16]int{}
	for range 3 {
		err := <-errs
		code := uint16(0)
		if err != nil {
			code, _, _ = mysqlErr(t, err)
		}
		codes[code]++
	}
	if codes[0] != 2 || codes[1226] != 1 {
		t.Fatalf("three statements at once under max_statements 2: %v", codes)
	}
	if _, err := narrow.Exec("SELECT 1"); err != nil {
		t.Fatalf("after the others ended: %v", err)
	}

	// A schema's rate: other users' statements in it are refused past
	// it, an admin's are not.
	root := direct(t, primaries["main"], "")
	root.Exec("CREATE DATABASE IF NOT EXISTS usr_quiet")
	t.Cleanup(func() { direct(t, primaries["main"], "").Exec("DROP DATABASE IF EXISTS usr_quiet") })
	quiet, err := sql.Open("mysql", "quiet:q@tcp("+p.addr+")/usr_quiet")
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	quiet.SetMaxOpenConns(1)
	schemaRefused := 0
	for range 20 {
		if _, err := quiet.Exec("DO 1"); err != nil {
			if code, _, msg := mysqlErr(t, err); code != 1226 || !strings.Contains(msg, "Database 'usr_quiet' has exceeded the 'max_qps' resource") {
				t.Fatalf("schema refusal: %d %s", code, msg)
			}
			schemaRefused++
		}
	}
	if schemaRefused < 10 {
		t.Fatalf("max_qps 5 on the schema refused %d of 20 statements sent at once", schemaRefused)
	}
	admin := p.open(t, "usr_quiet")
	admin.SetMaxOpenConns(1)
	for range 20 {
		if _, err := admin.Exec("DO 1"); err != nil {
			t.Fatalf("an admin's statement in the limited schema: %v", err)
		}
	}
}
