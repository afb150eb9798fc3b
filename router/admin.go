package router

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// Statements the proxy answers itself. TiDB's grammar does not know them, so
// they are recognised before parsing.
var (
	showView         = regexp.MustCompile(`(?is)^\s*SHOW\s+SHARDGATE\s+(STATUS|SESSIONS|BACKENDS|TABLES|BUCKETS|RULES|SWITCHES|SLOW|TRANSACTIONS)\s*;?\s*$`)
	explainShardgate = regexp.MustCompile(`(?is)^\s*EXPLAIN\s+SHARDGATE\s+(.+)$`)
	reloadRules      = regexp.MustCompile(`(?is)^\s*RELOAD\s+SHARDGATE\s+RULES\s*;?\s*$`)
	expireStmt       = regexp.MustCompile(`(?is)^\s*SHARDGATE\s+EXPIRE\s+BUCKETS\s*;?\s*$`)
	slowTimeStmt     = regexp.MustCompile(`(?is)^\s*SHARDGATE\s+SLOW_QUERY_TIME\s+(\d{1,6}(?:\.\d{1,6})?)\s*;?\s*$`)
	rollbackRules    = regexp.MustCompile(`(?is)^\s*ROLLBACK\s+SHARDGATE\s+RULES(?:\s+TO\s+(?:VERSION\s+)?(\d{1,9}))?\s*;?\s*$`)
)

func (s *Session) admin(sql string, w ResultWriter) (handled bool, err error) {
	// Cheap test first: this runs before every statement.
	trimmed := strings.TrimSpace(sql)
	if len(trimmed) < 17 {
		return false, nil
	}
	// Lower-cased by hand: strings.ToLower allocates for "SELE".
	var head [4]byte
	for i := range head {
		head[i] = trimmed[i] | 0x20
	}
	switch string(head[:]) {
	case "show", "expl":
	case "shar":
		if len(sql) > 64<<10 {
			return false, nil
		}
		if expireStmt.MatchString(sql) {
			return true, s.expireBucketsNow(w)
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
	if m := showView.FindStringSubmatch(sql); m != nil && len(sql) <= 64 {
		// SHOW SHARDGATE BACKENDS asked for SUPER before the other views
		// existed; the rest need what SHOW PROCESSLIST of others needs.
		privilege := "PROCESS"
		if strings.EqualFold(m[1], "backends") {
			privilege = "SUPER"
		}
		if err := s.needAdmin(privilege); err != nil {
			return true, err
		}
		v, _ := s.rt.View(m[1])
		return true, s.writeView(w, v)
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

// expireBucketsNow is SHARDGATE EXPIRE BUCKETS: a retention pass now
// rather than at the next bucket_refresh_interval. Its info counts the
// bucket tables removed.
func (s *Session) expireBucketsNow(w ResultWriter) error {
	if err := s.needAdmin("SUPER"); err != nil {
		return err
	}
	removed, ran, err := s.rt.expireBuckets(s.rt.Snapshot())
	if err != nil {
		return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: bucket retention: %v (%d buckets removed before it)", err, len(removed))
	}
	if !ran {
		return wire.Errorf(mysql.ER_LOCK_WAIT_TIMEOUT, "shardgate: another proxy instance is running the bucket retention pass; try again")
	}
	return s.writeOK(w, wire.OK{AffectedRows: uint64(len(removed)), Info: fmt.Sprintf("%d buckets removed", len(removed))})
}
