package router

import (
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/wire"
)

// The proxy's own tables for operators (README: Operating shardgate). Each
// is built once here and served two ways: SHOW SHARDGATE <NAME> to an admin
// user, and JSON over HTTP on admin_listen (cmd/shardgate).

// View is one of those tables, every value as text ("" for none).
type View struct {
	Columns []string
	Rows    [][]string
}

// ViewNames lists the views, as SHOW SHARDGATE names them (lower case).
var ViewNames = []string{"status", "sessions", "backends", "tables", "buckets", "rules", "switches", "slow", "transactions"}

// View builds the view name; false when there is none.
func (rt *Router) View(name string) (View, bool) {
	switch strings.ToLower(name) {
	case "status":
		return rt.statusView(), true
	case "sessions":
		return rt.sessionsView(), true
	case "backends":
		return rt.backendsView(), true
	case "tables":
		return rt.tablesView(), true
	case "buckets":
		return rt.bucketsView(), true
	case "rules":
		return rt.rulesView(), true
	case "switches":
		return rt.switchesView(), true
	case "slow":
		return rt.slowView(), true
	case "transactions":
		return rt.transactionsView(), true
	}
	return View{}, false
}

// writeView sends a view as a result set of text columns.
func (s *Session) writeView(w ResultWriter, v View) error {
	cols := make([]wire.Column, len(v.Columns))
	for i, n := range v.Columns {
		cols[i] = wire.Column{Name: n, OrgName: n, Charset: 45, Length: 1024, Type: mysql.MYSQL_TYPE_VAR_STRING}
	}
	rows := make([][][]byte, len(v.Rows))
	for i, r := range v.Rows {
		rows[i] = make([][]byte, len(r))
		for j, val := range r {
			if val != "" {
				rows[i][j] = []byte(val)
			}
		}
	}
	return engine.WriteTable(w, cols, rows, s.Status())
}

func (rt *Router) statusView() View {
	snap := rt.Snapshot()
	versions := rt.Versions()
	cur := versions[len(versions)-1]
	healthy, total := 0, 0
	for _, c := range snap.Clusters {
		for _, b := range c.Backends() {
			total++
			if b.Healthy() && b.Drain() == "" {
				healthy++
			}
		}
	}
	v := View{Columns: []string{"name", "value"}}
	add := func(name, value string) { v.Rows = append(v.Rows, []string{name, value}) }
	add("uptime_seconds", strconv.FormatInt(int64(time.Since(rt.started).Seconds()), 10))
	add("rules_version", strconv.Itoa(cur.Number))
	add("rules_file", cur.Rules.File)
	add("rules_sha256", cur.Rules.Digest)
	add("rules_loaded_at", cur.At.UTC().Format("2006-01-02 15:04:05"))
	add("sessions", strconv.Itoa(len(rt.sessions.list())))
	add("backends_in_rotation", strconv.Itoa(healthy)+"/"+strconv.Itoa(total))
	add("switches", strconv.Itoa(len(rt.Switches())))
	add("distributed_transactions_open", strconv.Itoa(len(rt.XA.Transactions())))
	add("memory_reserved_bytes", strconv.FormatInt(rt.mem.Reserved(), 10))
	add("memory_limit_bytes", strconv.FormatInt(rt.mem.Limit(), 10))
	add("slow_query_time_seconds", strconv.FormatFloat(rt.slow.Threshold().Seconds(), 'f', -1, 64))
	add("goroutines", strconv.Itoa(runtime.NumGoroutine()))
	hits, misses, plans := rt.PlanCacheStats()
	add("plan_cache_hits", strconv.FormatUint(hits, 10))
	add("plan_cache_misses", strconv.FormatUint(misses, 10))
	add("plan_cache_plans", strconv.Itoa(plans))
	return v
}

func (rt *Router) sessionsView() View {
	v := View{Columns: []string{"id", "user", "host", "db", "command", "time_seconds", "info", "in_transaction"}}
	list := rt.sessions.list()
	sort.Slice(list, func(i, j int) bool { return list[i].client.ID < list[j].client.ID })
	for _, s := range list {
		s.live.mu.Lock()
		command, info, since, db, txn := s.live.command, s.live.info, s.live.since, s.live.db, s.live.txn
		s.live.mu.Unlock()
		if command == "" {
			command = "Sleep"
		}
		elapsed := ""
		if !since.IsZero() {
			elapsed = strconv.FormatInt(int64(time.Since(since).Seconds()), 10)
		}
		if len(info) > 1024 {
			info = info[:1024]
		}
		// The session's own fields are its goroutine's: only what live
		// (above) and the client, fixed at login, give is read here.
		v.Rows = append(v.Rows, []string{strconv.FormatUint(uint64(s.client.ID), 10), s.client.User, s.client.Host,
			db, command, elapsed, info, strconv.FormatBool(txn)})
	}
	return v
}

func (rt *Router) backendsView() View {
	v := View{Columns: []string{"cluster", "role", "address", "healthy", "lag_seconds", "open", "idle", "in_flight", "reads", "writes", "last_error"}}
	snap := rt.Snapshot()
	for _, cn := range sortedClusterNames(snap.Clusters) {
		for _, b := range snap.Clusters[cn].Backends() {
			open, idle := b.Stats()
			healthy := "yes"
			if !b.Healthy() {
				healthy = "no"
			}
			lag := ""
			if l := b.Lag(); l >= 0 {
				lag = strconv.FormatInt(l, 10)
			}
			v.Rows = append(v.Rows, []string{cn, string(b.Role), b.Addr, healthy, lag,
				strconv.Itoa(open), strconv.Itoa(idle), strconv.FormatInt(b.InFlight.Load(), 10),
				strconv.FormatInt(b.Reads.Load(), 10), strconv.FormatInt(b.Writes.Load(), 10), b.LastError()})
		}
	}
	return v
}

func (rt *Router) tablesView() View {
	v := View{Columns: []string{"schema", "table", "placement", "allow_full_table_writes", "sequence"}}
	snap := rt.Snapshot()
	for _, schema := range snap.Rules.SchemaOrder {
		sc := snap.Rules.Schemas[schema]
		names := make([]string, 0, len(sc.Tables))
		for n := range sc.Tables {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			t := sc.Tables[n]
			seq := ""
			if t.Sequence != nil {
				seq = t.Sequence.Column
			}
			v.Rows = append(v.Rows, []string{schema, n, t.Placement(), strconv.FormatBool(t.AllowFullTableWrites), seq})
		}
	}
	return v
}

func (rt *Router) bucketsView() View {
	v := View{Columns: []string{"schema", "table", "buckets", "oldest", "newest", "window_past", "window_future", "retain", "archive", "expired"}}
	snap := rt.Snapshot()
	// The dry run: what the next retention pass would remove.
	expired := map[string]int{}
	for _, e := range expiredBuckets(snap, time.Now()) {
		expired[e.schema+"."+e.table.Name]++
	}
	for _, h := range snap.hourlyTables() {
		t := h.table
		b := snap.Buckets.Buckets(h.schema, t.Name)
		oldest, newest := "", ""
		if len(b) > 0 {
			oldest, newest = b[0], b[len(b)-1]
		}
		retain := ""
		if t.Retain > 0 {
			retain = t.Retain.String()
		}
		v.Rows = append(v.Rows, []string{h.schema, t.Name, strconv.Itoa(len(b)), oldest, newest, t.Past.String(), t.Future.String(),
			retain, t.Archive, strconv.Itoa(expired[h.schema+"."+t.Name])})
	}
	return v
}

func (rt *Router) rulesView() View {
	v := View{Columns: []string{"version", "running", "loaded_at", "source", "file", "sha256", "changes"}}
	versions := rt.Versions()
	for i, ver := range versions {
		running := "no"
		if i == len(versions)-1 {
			running = "yes"
		}
		v.Rows = append(v.Rows, []string{strconv.Itoa(ver.Number), running, ver.At.UTC().Format("2006-01-02 15:04:05"),
			ver.Source, ver.Rules.File, ver.Rules.Digest, strings.Join(ver.Changes, "; ")})
	}
	return v
}

func (rt *Router) switchesView() View {
	v := View{Columns: []string{"id", "kind", "target", "prefix", "reason", "set_by", "set_at", "hits"}}
	for _, sw := range rt.Switches() {
		v.Rows = append(v.Rows, []string{strconv.Itoa(sw.ID), sw.Kind, sw.Target, strconv.FormatBool(sw.Prefix), sw.Reason,
			sw.SetBy, sw.SetAt.UTC().Format("2006-01-02 15:04:05"), strconv.FormatInt(sw.Hits(), 10)})
	}
	return v
}

func (rt *Router) slowView() View {
	v := View{Columns: []string{"fingerprint", "count", "total_seconds", "avg_ms", "max_ms", "slowest_statement"}}
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64) }
	for _, st := range rt.slow.Top(20) {
		v.Rows = append(v.Rows, []string{st.Fingerprint, strconv.FormatInt(st.Count, 10),
			strconv.FormatFloat(st.Total.Seconds(), 'f', 3, 64), ms(st.Total / time.Duration(st.Count)), ms(st.Max), st.Example})
	}
	return v
}

func (rt *Router) transactionsView() View {
	v := View{Columns: []string{"xid", "instance", "state", "clusters", "age_seconds"}}
	for _, t := range rt.XA.Transactions() {
		v.Rows = append(v.Rows, []string{t.Gtrid, t.Instance, t.State, strings.Join(t.Clusters, ","), strconv.FormatFloat(t.Age.Seconds(), 'f', 3, 64)})
	}
	return v
}
