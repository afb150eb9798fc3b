package shardgate_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/shardgate/shardgate"

// layers is the import direction, highest first (issue 10): a package may
// import only packages of a strictly lower layer. Packages under a
// directory (engine/route, cmd/shardgate) belong to its layer.
//
// memory (the process-wide memory budget, issue 13 item 3) is the bottom
// layer: wire charges large client packets to a connection's account,
// protocol charges long data, engine its sorts, router makes the budget and
// metrics exports it, so it must sit below all of them; it imports nothing
// of the module.
var layers = [][]string{
	{"cmd"},
	{"protocol"},
	{"router"},
	{"planner", "xa", "sequence"},
	{"engine"},
	{"shard", "parser", "backend"},
	{"rules", "metrics"},
	{"wire", "logs", "collate", "tabledef", "slowlog"},
	{"memory"},
}

// slowlog (the slow-statement file and totals, issue 17 item 4) imports
// nothing of the module; router feeds it.

// xa (distributed transactions: two-phase commit, the decision log,
// recovery) shares planner's layer: the session in router drives it, and
// it needs only backend connections, engine's fault classification, rules
// and metrics; planner and xa know nothing of each other.

// notYet are layers that may not exist yet: the renovation adds them.
var notYet = map[string]bool{"planner": true, "engine": true}

// sameLayer lists the imports allowed between packages of one layer. Before
// this test there were none. backend → parser: backend writes the SET that
// carries session variables and must quote their names with the one
// SQL-text module (parser/sqltext.go); parser imports no backend code, so
// there is no cycle. Moving sqltext into a package of its own below both
// would make this exception unnecessary.
var sameLayer = map[[2]string]bool{
	{"backend", "parser"}: true,
}

// free packages may import anything and nothing may import them: the
// integration tests drive the whole proxy from outside, and bench/forwarder
// is a stand-alone TCP forwarder for comparison benchmarks; scripts holds
// tools of the build (the test-output summariser). The module root holds
// only this test.
var free = map[string]bool{"integration": true, "bench": true, "scripts": true, "": true}

// TestImportDirection fails on every import, of code or tests, that goes
// sideways or up the layering, naming the edge.
func TestImportDirection(t *testing.T) {
	level := map[string]int{}
	for i, names := range layers {
		for _, n := range names {
			level[n] = len(layers) - i
		}
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	seen := map[string]bool{}
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		from := layerOf(fields[0])
		seen[from] = true
		if free[from] {
			continue
		}
		if _, ok := level[from]; !ok {
			bad = append(bad, fields[0]+": package has no place in the layering (add it to layers in layout_test.go)")
			continue
		}
		for _, imp := range fields[1:] {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue // standard library and other modules
			}
			to := layerOf(imp)
			switch {
			case imp == fields[0]:
				// an external test package importing its own package
			case free[to]:
				bad = append(bad, fields[0]+" imports "+imp+": nothing may import "+to)
			case to == from && from == "cmd":
				bad = append(bad, fields[0]+" imports "+imp+": commands do not import each other")
			case to == from:
				// packages of one directory (engine/x → engine) are one unit
			case level[to] < level[from]:
			case level[to] == level[from] && sameLayer[[2]string{from, to}]:
			case level[to] == level[from]:
				bad = append(bad, fields[0]+" imports "+imp+": "+from+" and "+to+" are in the same layer and may not import each other")
			default:
				bad = append(bad, fields[0]+" imports "+imp+": "+from+" is below "+to+" (the direction is "+direction()+")")
			}
		}
	}
	for _, names := range layers {
		for _, n := range names {
			if !seen[n] && !notYet[n] {
				bad = append(bad, n+": listed in the layering but no such package (renamed? update layout_test.go)")
			}
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

// layerOf is the top directory of a package of this module ("" for the
// module root).
func layerOf(path string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	top, _, _ := strings.Cut(rel, "/")
	return top
}

func direction() string {
	var parts []string
	for _, names := range layers {
		if len(names) == 1 {
			parts = append(parts, names[0])
		} else {
			parts = append(parts, "{"+strings.Join(names, ", ")+"}")
		}
	}
	return strings.Join(parts, " → ")
}
