package planner

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fixedBuckets map[string][]string

func (f fixedBuckets) Buckets(schema, table string) []string { return f[schema+"."+table] }

// TestPlansGolden prints the plan of every statement in testdata/plans.sql
// and compares with testdata/plans.golden.
func TestPlansGolden(t *testing.T) {
	r, err := rules.Load("../testdata/rules.plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	buckets := fixedBuckets{
		"shop.payments": {"2026112409", "2026112410", "2026112411", "2026112412"},
		"shop.audit":    {"2026112409"},
	}
	now := func() time.Time { return time.Date(2026, 11, 24, 19, 5, 6, 0, time.UTC) }
	pl := New(r, buckets, now)
	p := parser.New()

	in, err := os.Open("../testdata/plans.sql")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out strings.Builder
	cases := 0
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		cases++
		fmt.Fprintf(&out, "> %s\n", line)
		stmts, err := p.Parse(line)
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n\n", err)
			continue
		}
		plan, err := pl.Plan(stmts[0], "shop")
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n\n", err)
			continue
		}
		fmt.Fprintf(&out, "%s\n", plan)
	}
	if cases < 60 {
		t.Fatalf("only %d golden cases", cases)
	}
	const golden = "../testdata/plans.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./router -run TestPlansGolden -update)", err)
	}
	if got := out.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("plans differ from %s at line %d:\n got: %s\nwant: %s", golden, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("plans differ from %s in length (%d vs %d lines)", golden, len(gl), len(wl))
	}
}
