package router

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/wire"
)

// Statements the proxy answers itself. TiDB's grammar does not know them, so
// they are recognised before parsing.
var (
	showBackends     = regexp.MustCompile(`(?is)^\s*SHOW\s+SHARDGATE\s+BACKENDS\s*;?\s*$`)
	showTransactions = regexp.MustCompile(`(?is)^\s*SHOW\s+SHARDGATE\s+TRANSACTIONS\s*;?\s*$`)
	explainShardgate = regexp.MustCompile(`(?is)^\s*EXPLAIN\s+SHARDGATE\s+(.+)$`)
	reloadRules      = regexp.MustCompile(`(?is)^\s*RELOAD\s+SHARDGATE\s+RULES\s*;?\s*$`)
	showSlow         = regexp.MustCompile(`(?is)^\s*SHOW\s+SHARDGATE\s+SLOW\s*;?\s*$`)
	slowTimeStmt     = regexp.MustCompile(`(?is)^\s*SHARDGATE\s+SLOW_QUERY_TIME\s+(\d{1,6}(?:\.\d{1,6})?)\s*;?\s*$`)
	showSwitches     = regexp.MustCompile(`(?is)^\s*SHOW\s+SHARDGATE\s+SWITCHES\s*;?\s*$`)
	showRules        = regexp.MustCompile(`(?is)^\s*SHOW\s+SHARDGATE\s+RULES\s*;?\s*$`)
	rollbackRules    = regexp.MustCompile(`(?is)^\s*ROLLBACK\s+SHARDGATE\s+RULES(?:\s+TO\s+(?:VERSION\s+)?(\d{1,9}))?\s*;?\s*$`)
)

func (s *Session) admin(sql string, w ResultWriter) (handled bool, err error) {
	// Cheap test first: this runs before every statement.
	trimmed := strings.TrimSpace(sql)
	if len(trimmed) < 17 {
		return false, nil
	}
	switch strings.ToLower(trimmed[:4]) {
	case "show", "expl":
	case "shar":
		if len(sql) > 64<<10 {
			return false, nil
		}
		if m := slowTimeStmt.FindStringSubmatch(sql); m != nil {
			return true, s.setSlowQueryTime(m[1], w)
		}
		if m := clearStmt.FindStringSubmatch(sql); m != nil {
			return true, s.clearSwitch(m[1], w)
		}
		if m := switchStmt.FindStringSubmatch(sql); m != nil {
			return true, s.setSwitch(m, w)
		}
		return false, nil
	case "relo", "roll":
		if len(sql) > 96 {
			return false, nil
		}
		if reloadRules.MatchString(sql) {
			return true, s.reloadRules(w)
		}
		if m := rollbackRules.FindStringSubmatch(sql); m != nil {
			n, _ := strconv.Atoi(m[1]) // "" (the version before) is 0
			return true, s.rollbackRules(n, w)
		}
		return false, nil
	default:
		return false, nil
	}
	if len(sql) <= 64 && showSlow.MatchString(sql) {
		if err := s.needAdmin("PROCESS"); err != nil {
			return true, err
		}
		return true, s.showSlow(w)
	}
	if len(sql) <= 64 && showSwitches.MatchString(sql) {
		if err := s.needAdmin("PROCESS"); err != nil {
			return true, err
		}
		return true, s.showSwitches(w)
	}
	if len(sql) <= 64 && showRules.MatchString(sql) {
		if err := s.needAdmin("PROCESS"); err != nil {
			return true, err
		}
		return true, s.showRules(w)
	}
	if len(sql) <= 64 && showBackends.MatchString(sql) {
		if err := s.needAdmin("SUPER"); err != nil {
			return true, err
		}
		return true, s.showBackends(w)
	}
	if len(sql) <= 64 && showTransactions.MatchString(sql) {
		if err := s.needAdmin("PROCESS"); err != nil {
			return true, err
		}
		return true, s.showTransactions(w)
	}
	if m := explainShardgate.FindStringSubmatch(sql); m != nil {
		return true, s.explainShardgate(m[1], w)
	}
	return false, nil
}

// flushHosts is FLUSH HOSTS: the failed-login counts are forgotten and
// every blocked host may log in again. Only admin users may (MariaDB asks
// for RELOAD).
func (s *Session) flushHosts(w ResultWriter) error {
	if err := s.needAdmin("RELOAD"); err != nil {
		return err
	}
	if f := s.rt.FlushHosts; f != nil {
		f()
	}
	return s.writeOK(w, wire.OK{})
}

// showTransactions lists the distributed transactions this proxy has open
// and the prepared branches its last recovery round found in doubt.
func (s *Session) showTransactions(w ResultWriter) error {
	names := []string{"xid", "instance", "state", "clusters", "age_seconds"}
	cols := make([]wire.Column, len(names))
	for i, n := range names {
		cols[i] = wire.Column{Name: n, OrgName: n, Charset: 45, Length: 1024, Type: mysql.MYSQL_TYPE_VAR_STRING}
	}
	var rows [][][]byte
	for _, t := range s.rt.XA.Transactions() {
		rows = append(rows, [][]byte{[]byte(t.Gtrid), []byte(t.Instance), []byte(t.State),
			[]byte(strings.Join(t.Clusters, ",")), []byte(strconv.FormatFloat(t.Age.Seconds(), 'f', 3, 64))})
	}
	return engine.WriteTable(w, cols, rows, s.Status())
}

// showBackends lists every backend with its health and traffic.
func (s *Session) showBackends(w ResultWriter) error {
	names := []string{"cluster", "role", "address", "healthy", "lag_seconds", "open", "idle", "in_flight", "reads", "writes", "last_error"}
	cols := make([]wire.Column, len(names))
	for i, n := range names {
		cols[i] = wire.Column{Name: n, OrgName: n, Charset: 45, Length: 1024, Type: mysql.MYSQL_TYPE_VAR_STRING}
	}
	snap := s.snapshot()
	var rows [][][]byte
	for _, cn := range sortedClusterNames(snap.Clusters) {
		for _, b := range snap.Clusters[cn].Backends() {
			open, idle := b.Stats()
			healthy := "yes"
			if !b.Healthy() {
				healthy = "no"
			}
			var lag []byte
			if l := b.Lag(); l >= 0 {
				lag = []byte(strconv.FormatInt(l, 10))
			}
			rows = append(rows, [][]byte{
				[]byte(cn), []byte(b.Role), []byte(b.Addr), []byte(healthy), lag,
				[]byte(strconv.Itoa(open)), []byte(strconv.Itoa(idle)), []byte(strconv.FormatInt(b.InFlight.Load(), 10)),
				[]byte(strconv.FormatInt(b.Reads.Load(), 10)), []byte(strconv.FormatInt(b.Writes.Load(), 10)),
				[]byte(b.LastError()),
			})
		}
	}
	return engine.WriteTable(w, cols, rows, s.Status())
}

// reloadRules is RELOAD SHARDGATE RULES: the rules file read again and,
// when valid and free of changes that move rows, served from the next
// statement on (Router.Reload). The answer's info says the version.
func (s *Session) reloadRules(w ResultWriter) error {
	if err := s.needAdmin("RELOAD"); err != nil {
		return err
	}
	v, err := s.rt.ReloadFile("RELOAD SHARDGATE RULES by " + s.who())
	return s.reloaded(v, err, w)
}

// rollbackRules is ROLLBACK SHARDGATE RULES [TO n]: an earlier version
// served again, as a new version.
func (s *Session) rollbackRules(n int, w ResultWriter) error {
	if err := s.needAdmin("RELOAD"); err != nil {
		return err
	}
	v, err := s.rt.Rollback(n, "ROLLBACK SHARDGATE RULES by "+s.who())
	return s.reloaded(v, err, w)
}

func (s *Session) reloaded(v RulesVersion, err error, w ResultWriter) error {
	if err != nil {
		return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: %v", err)
	}
	info := fmt.Sprintf("rules version %d running: %d changes", v.Number, len(v.Changes))
	return s.writeOK(w, wire.OK{Info: info})
}

func (s *Session) who() string { return s.client.User + "@" + s.client.Host }

// showRules lists every version of the rules loaded since start, the
// running one last.
func (s *Session) showRules(w ResultWriter) error {
	names := []string{"version", "running", "loaded_at", "source", "file", "sha256", "changes"}
	cols := make([]wire.Column, len(names))
	for i, n := range names {
		cols[i] = wire.Column{Name: n, OrgName: n, Charset: 45, Length: 1024, Type: mysql.MYSQL_TYPE_VAR_STRING}
	}
	versions := s.rt.Versions()
	var rows [][][]byte
	for i, v := range versions {
		running := "no"
		if i == len(versions)-1 {
			running = "yes"
		}
		rows = append(rows, [][]byte{[]byte(strconv.Itoa(v.Number)), []byte(running),
			[]byte(v.At.UTC().Format("2006-01-02 15:04:05")), []byte(v.Source), []byte(v.Rules.File),
			[]byte(v.Rules.Digest), []byte(strings.Join(v.Changes, "; "))})
	}
	return engine.WriteTable(w, cols, rows, s.Status())
}

// setSlowQueryTime is SHARDGATE SLOW_QUERY_TIME seconds: the slow log's
// threshold from the next statement on, until changed again or a reload
// whose file changes slow_log.time.
func (s *Session) setSlowQueryTime(seconds string, w ResultWriter) error {
	if err := s.needAdmin("SUPER"); err != nil {
		return err
	}
	f, err := strconv.ParseFloat(seconds, 64)
	if err != nil {
		return wire.Errorf(mysql.ER_WRONG_ARGUMENTS, "shardgate: SLOW_QUERY_TIME %s: give seconds", seconds)
	}
	d := time.Duration(f * float64(time.Second))
	s.rt.slow.SetThreshold(d)
	s.rt.Log.Info("slow_query_time set", "seconds", f, "by", s.who())
	return s.writeOK(w, wire.OK{Info: "slow_query_time " + d.String()})
}

// showSlow lists the fingerprints with the most time spent in slow
// statements since start.
func (s *Session) showSlow(w ResultWriter) error {
	names := []string{"fingerprint", "count", "total_seconds", "avg_ms", "max_ms", "slowest_statement"}
	cols := make([]wire.Column, len(names))
	for i, n := range names {
		cols[i] = wire.Column{Name: n, OrgName: n, Charset: 45, Length: 1024, Type: mysql.MYSQL_TYPE_VAR_STRING}
	}
	var rows [][][]byte
	for _, st := range s.rt.slow.Top(20) {
		ms := func(d time.Duration) []byte {
			return []byte(strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64))
		}
		rows = append(rows, [][]byte{[]byte(st.Fingerprint), []byte(strconv.FormatInt(st.Count, 10)),
			[]byte(strconv.FormatFloat(st.Total.Seconds(), 'f', 3, 64)), ms(st.Total / time.Duration(st.Count)), ms(st.Max), []byte(st.Example)})
	}
	return engine.WriteTable(w, cols, rows, s.Status())
}
