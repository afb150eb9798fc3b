package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shard"
)

// Issue 13 item 8: a write to several tables that loses a backend part
// way answers, per physical table and cluster, what became of it, and the
// rows on the backends (read directly) are what the message says. A
// global table's copies are all tried, also after one of them failed.

const (
	outcomeGlobal  = "outcome_gl"
	outcomeSharded = "outcome_sh" // outcome_sh_0 on s0, outcome_sh_1 on s1
)

// outcomeProxy runs an in-process proxy with both test tables in its
// rules, logging JSON records into the returned buffer.
func outcomeProxy(t *testing.T) (*proxy, *syncBuffer) {
	t.Helper()
	rules := strings.Replace(baseRules, "      orders: {cluster: s1}\n",
		"      orders: {cluster: s1}\n      "+outcomeGlobal+": {global: true}\n      "+outcomeSharded+":\n        shard: {by: hash, column: id, tables: 2, clusters: [s0, s1]}\n", 1)
	// These tests are about writes that are not atomic: in a schema with
	// transactions: xa (the default) the steps would be undone together
	// (xa_test.go); single keeps a write's steps one by one.
	rules = strings.Replace(rules, "  shop:\n    cluster: main\n", "  shop:\n    cluster: main\n    transactions: single\n", 1)
	if !strings.Contains(rules, outcomeSharded) || !strings.Contains(rules, "transactions: single") {
		t.Fatal("baseRules changed: no place for the test tables")
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	// primary_ping_after: a write goes out on the session's last primary
	// connection without a ping (which would find a frozen server and make
	// the step "not sent"), however slowly a loaded machine runs the test.
	return startProxyLog(t, rules+"health_interval: 200ms\nhealth_timeout: 1s\npool: {read_timeout: 20s, primary_ping_after: 1m}\n", log), logs
}

// outcomeTables creates table on the given primaries (cluster → name)
// and drops it again when the test ends, after every server is back.
func outcomeTables(t *testing.T, tables map[string]string) {
	t.Helper()
	for cluster, name := range tables {
		d := direct(t, shardCluster[cluster], "shop")
		for _, q := range []string{"DROP TABLE IF EXISTS " + name, "CREATE TABLE " + name + " (id INT PRIMARY KEY, v INT)"} {
			if _, err := d.Exec(q); err != nil {
				t.Fatal(q, err)
			}
		}
	}
	// Registered first, so it runs after the cleanups that start killed
	// servers again.
	t.Cleanup(func() {
		for cluster, name := range tables {
			if d, err := sql.Open("mysql", "app:app@tcp("+shardCluster[cluster]+")/shop"); err == nil {
				d.Exec("DROP TABLE IF EXISTS " + name)
				d.Close()
			}
		}
	})
}

// parseOutcomes reads the per-table part of an outcome message: which
// group names each "cluster.table" of table.
func parseOutcomes(t *testing.T, msg, table string) map[string]string {
	t.Helper()
	i := strings.Index(msg, "did not succeed everywhere")
	j := strings.Index(msg[max(i, 0):], ". ")
	if i < 0 || j < 0 {
		t.Fatalf("not an outcome message: %q", msg)
	}
	list := msg[i+j+2:]
	type mark struct {
		at    int
		label string
	}
	var marks []mark
	// The outcome groups of the message, as listed.
	labels := []string{"committed", "in the open transaction (not committed)", "rolled back with the transaction", "failed", "outcome unknown", "not sent"}
	for _, l := range labels {
		for k := 0; ; {
			n := strings.Index(list[k:], l+": ")
			if n < 0 {
				break
			}
			marks = append(marks, mark{k + n, l})
			k += n + len(l)
		}
	}
	sort.Slice(marks, func(a, b int) bool { return marks[a].at < marks[b].at })
	name := regexp.MustCompile(`\b(main|s0|s1)\.` + regexp.QuoteMeta(table) + `(_\d+)?\b`)
	out := map[string]string{}
	for k, m := range marks {
		end := len(list)
		if k+1 < len(marks) {
			end = marks[k+1].at
		}
		for _, n := range name.FindAllString(list[m.at:end], -1) {
			out[n] = m.label
		}
	}
	return out
}

// partialWriteRecord finds the Warn record of the partial write.
func partialWriteRecord(t *testing.T, logs *syncBuffer) map[string]any {
	t.Helper()
	for _, line := range strings.Split(logs.String(), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) == nil && r["level"] == "WARN" && strings.HasPrefix(fmt.Sprint(r["msg"]), "partial write") {
			return r
		}
	}
	t.Fatalf("no partial write record in the log:\n%s", logs.String())
	return nil
}

// logList joins a record's list attribute.
func logList(r map[string]any, key string) string {
	var out []string
	for _, v := range asList(r[key]) {
		out = append(out, fmt.Sprint(v))
	}
	return strings.Join(out, "; ")
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// A global table's copy on s0 is down (its primary killed) when a write
// arrives: the copies on main and s1 take it (s1 after the failure on s0),
// the error lists main and s1 committed and s0 not sent, and after s0 is
// back the rows say the same.
func TestGlobalWriteOutcomes(t *testing.T) {
	needLocalCluster(t)
	outcomeTables(t, map[string]string{"main": outcomeGlobal, "s0": outcomeGlobal, "s1": outcomeGlobal})
	p, logs := outcomeProxy(t)
	db := p.open(t, "shop")
	if _, err := db.Exec("INSERT INTO " + outcomeGlobal + " VALUES (1, 1)"); err != nil {
		t.Fatal(err)
	}
	pid := serverPid(t, "s0-p")
	t.Cleanup(func() { clusterScript(t, "start", "s0-p") })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Once a check has failed the pool holds no connection from before
	// the kill: the write finds s0 unreachable rather than a dead socket.
	s0 := p.router.Snapshot().Clusters["s0"].Primary
	eventually(t, 10*time.Second, "s0's primary out of rotation", func() bool { return !s0.Healthy() })

	_, err := db.Exec("INSERT INTO " + outcomeGlobal + " VALUES (2, 2)")
	if err == nil {
		t.Fatal("the write succeeded with a copy down")
	}
	code, _, msg := mysqlErr(t, err)
	t.Logf("client heard: %d %s", code, msg)
	if code != 1105 || !strings.Contains(msg, "partly written: a write to the 3 copies of global table "+outcomeGlobal+" did not succeed everywhere (2 committed, 1 not sent); the copies now differ") {
		t.Fatalf("got %d %q", code, msg)
	}
	got := parseOutcomes(t, msg, outcomeGlobal)
	want := map[string]string{"main." + outcomeGlobal: "committed", "s0." + outcomeGlobal: "not sent", "s1." + outcomeGlobal: "committed"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	if !strings.Contains(msg, "not sent: s0."+outcomeGlobal+" (primary s0 (127.0.0.1:3320): cannot connect") {
		t.Errorf("s0's reason missing: %s", msg)
	}
	r := partialWriteRecord(t, logs)
	if logList(r, "committed") != "main."+outcomeGlobal+"; s1."+outcomeGlobal || !strings.HasPrefix(logList(r, "not_sent"), "s0."+outcomeGlobal+" (") || r["global"] != true {
		t.Errorf("log record %v", r)
	}

	clusterScript(t, "start", "s0-p")
	checkRows(t, got, func(where string) (string, string) {
		cluster, _, _ := strings.Cut(where, ".")
		return shardCluster[cluster], "SELECT COUNT(*) FROM " + outcomeGlobal + " WHERE id = 2"
	}, 1)
}

// checkRows reads, directly on each backend, the rows a write of want
// rows per table should have left, and compares with the outcome: all of
// them where committed, none where failed or not sent, all or none where
// unknown (a statement is atomic on its server).
func checkRows(t *testing.T, outcomes map[string]string, query func(where string) (addr, sql string), want int) {
	t.Helper()
	for where, outcome := range outcomes {
		addr, q := query(where)
		var n int
		eventually(t, 60*time.Second, "reading "+where, func() bool { return direct(t, addr, "shop").QueryRow(q).Scan(&n) == nil })
		switch outcome {
		case "committed":
			if n != want {
				t.Errorf("%s: committed, but %d of %d rows there", where, n, want)
			}
		case "outcome unknown":
			if n != 0 && n != want {
				t.Errorf("%s: %d of %d rows: part of one statement", where, n, want)
			}
			t.Logf("%s: outcome unknown; the statement %s", where, map[bool]string{true: "did run", false: "did not run"}[n == want])
		default:
			if n != 0 {
				t.Errorf("%s: %s, but %d rows there", where, outcome, n)
			}
		}
	}
}

// A split INSERT over two shards whose s1 primary freezes with the
// statement in its socket and is then killed: the s0 table's rows are
// committed, the s1 table's outcome unknown; after the restart s0 has its
// rows and s1 all or none of its own.
func TestSplitInsertOutcomeUnknown(t *testing.T) {
	needLocalCluster(t)
	outcomeTables(t, map[string]string{"s0": outcomeSharded + "_0", "s1": outcomeSharded + "_1"})
	p, logs := outcomeProxy(t)
	db := p.open(t, "shop")
	// Ids by the table they hash to, the first row for s0 so that s0's
	// step runs first.
	var ids [2][]int
	for id := 100; len(ids[0]) < 4 || len(ids[1]) < 4; id++ {
		if i := shard.Index(strconv.Itoa(id), 2); len(ids[i]) < 4 {
			ids[i] = append(ids[i], id)
		}
	}
	warm, s1ids := ids[1][0], ids[1][1:]
	var values []string
	for k := 0; k < 3; k++ {
		values = append(values, fmt.Sprintf("(%d, 1)", ids[0][k]), fmt.Sprintf("(%d, 1)", s1ids[k]))
	}
	insert := "INSERT INTO " + outcomeSharded + " (id, v) VALUES " + strings.Join(values, ", ")

	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pid := serverPid(t, "s1-p")
	// An s1 connection of the session's, on which the s1 step goes out.
	if _, err := conn.ExecContext(context.Background(), fmt.Sprintf("INSERT INTO %s (id, v) VALUES (%d, 0)", outcomeSharded, warm)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT); clusterScript(t, "start", "s1-p") })
	freeze(t, pid)
	res := make(chan error, 1)
	go func() {
		_, err := conn.ExecContext(context.Background(), insert)
		res <- err
	}()
	// The s1 step is sent when a connection of the frozen server holds
	// more unread bytes than a health check's ping (5).
	waitUnread(t, 3330, 40, "the s1 step waiting in the frozen primary's socket")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var werr error
	select {
	case werr = <-res:
	case <-time.After(30 * time.Second):
		t.Fatal("the INSERT did not return within 30s of the kill")
	}
	if werr == nil {
		t.Fatal("the split INSERT succeeded with s1's primary killed")
	}
	code, _, msg := mysqlErr(t, werr)
	t.Logf("client heard: %d %s", code, msg)
	if code != 1105 || !strings.Contains(msg, "outcome unknown: a write to 2 tables did not succeed everywhere (1 committed, 1 outcome unknown); not rolled back") ||
		!strings.Contains(msg, "outcome unknown: s1."+outcomeSharded+"_1 (the connection to primary s1 (127.0.0.1:3330) broke after the statement was sent") {
		t.Fatalf("got %d %q", code, msg)
	}
	got := parseOutcomes(t, msg, outcomeSharded)
	want := map[string]string{"s0." + outcomeSharded + "_0": "committed", "s1." + outcomeSharded + "_1": "outcome unknown"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	r := partialWriteRecord(t, logs)
	if logList(r, "committed") != "s0."+outcomeSharded+"_0" || !strings.HasPrefix(logList(r, "unknown"), "s1."+outcomeSharded+"_1 (") || r["sql"] != insert {
		t.Errorf("log record %v", r)
	}

	clusterScript(t, "start", "s1-p")
	checkRows(t, got, func(where string) (string, string) {
		cluster, table, _ := strings.Cut(where, ".")
		idList := ids[0][:3]
		if cluster == "s1" {
			idList = s1ids
		}
		var in []string
		for _, id := range idList {
			in = append(in, strconv.Itoa(id))
		}
		return shardCluster[cluster], fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE id IN (%s)", table, strings.Join(in, ","))
	}, 3)
}
