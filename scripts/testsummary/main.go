// Command testsummary reads `go test -json` on stdin and prints a short
// report for CI logs: one line per package, every skipped test with its
// reason, the whole output of every failed test, and the totals. It exits 1
// when a test or package failed, or when the input has no test at all.
//
//	go test -json ./... | go run ./scripts/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// event is one line of test2json output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	output := map[string][]string{} // package + test -> output lines
	var skipped, failed []string
	var durations []timed // top-level tests, for the slowest-tests list
	passed := 0
	pkgFailed := false
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		line := in.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			fmt.Println(string(line)) // build errors and other plain text
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			output[key] = append(output[key], e.Output)
		case "pass":
			if e.Test == "" {
				fmt.Printf("ok    %s  %s\n", e.Package, round(e.Elapsed))
			} else {
				passed++
				if !strings.Contains(e.Test, "/") {
					durations = append(durations, timed{e.Package + " " + e.Test, e.Elapsed})
				}
			}
			delete(output, key)
		case "skip":
			if e.Test == "" {
				fmt.Printf("--    %s  (no tests run: %s)\n", e.Package, strings.TrimSpace(strings.Join(output[key], " ")))
				break
			}
			skipped = append(skipped, fmt.Sprintf("--- SKIP: %s  %s\n    %s", e.Test, e.Package, reason(output[key])))
			delete(output, key)
		case "fail":
			if e.Test == "" {
				pkgFailed = true
				fmt.Printf("FAIL  %s  %s\n", e.Package, round(e.Elapsed))
				if lines := output[key]; len(lines) > 0 {
					fmt.Print(indent(lines))
				}
				break
			}
			failed = append(failed, fmt.Sprintf("--- FAIL: %s  %s (%s)\n%s", e.Test, e.Package, round(e.Elapsed), indent(output[key])))
			delete(output, key)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Println("testsummary:", err)
		os.Exit(1)
	}
	sort.Strings(skipped)
	for _, s := range skipped {
		fmt.Println(s)
	}
	for _, f := range failed {
		fmt.Print(f)
	}
	printSlowest(durations, 12)
	fmt.Printf("== %d passed, %d failed, %d skipped\n", passed, len(failed), len(skipped))
	if len(failed) > 0 || pkgFailed || passed == 0 {
		os.Exit(1)
	}
}

// reason is what a skipped test printed, without the RUN/SKIP framing.
func reason(lines []string) string {
	var keep []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		keep = append(keep, t)
	}
	if len(keep) == 0 {
		return "(no reason given)"
	}
	return strings.Join(keep, "\n    ")
}

func indent(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("    " + strings.TrimRight(l, "\n") + "\n")
	}
	return b.String()
}

func round(secs float64) time.Duration {
	return (time.Duration(secs*1000) * time.Millisecond).Round(10 * time.Millisecond)
}

// timed is one passing top-level test and its wall time.
type timed struct {
	name string
	secs float64
}

// printSlowest lists the n slowest top-level tests: `make test` has a time
// budget, and this is where a run that grows shows what grew.
func printSlowest(ts []timed, n int) {
	sort.Slice(ts, func(i, j int) bool { return ts[i].secs > ts[j].secs })
	if len(ts) > n {
		ts = ts[:n]
	}
	if len(ts) == 0 {
		return
	}
	fmt.Println("== slowest tests")
	for _, t := range ts {
		fmt.Printf("   %8s  %s\n", round(t.secs), t.name)
	}
}
