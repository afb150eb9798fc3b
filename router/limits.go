package router

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"golang.org/x/time/rate"

	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// Limits on statements per user and per schema (rules: max_statements,
// max_qps; README: Operating shardgate). Counted by this proxy instance:
// N instances allow N times the rate, as each MariaDB server counts its
// own. The limits in force are the running rules' (a reload changes them
// for connected sessions too).

// limiter is one user's or schema's account of its statements.
type limiter struct {
	running atomic.Int64
	mu      sync.Mutex
	limits  rules.Limits
	bucket  *rate.Limiter // nil: no rate limit
}

// limiters holds every user's and schema's limiter, made on first use.
type limiters struct {
	mu      sync.Mutex
	users   map[string]*limiter
	schemas map[string]*limiter
}

// get is the limiter of key in m, set to l (a reload may have changed
// it; the statements running stay counted).
func (ls *limiters) get(m *map[string]*limiter, key string, l rules.Limits) *limiter {
	ls.mu.Lock()
	if *m == nil {
		*m = map[string]*limiter{}
	}
	lim := (*m)[key]
	if lim == nil {
		lim = &limiter{}
		(*m)[key] = lim
	}
	ls.mu.Unlock()
	lim.mu.Lock()
	if lim.limits != l {
		lim.limits = l
		lim.bucket = nil
		if l.MaxQPS > 0 {
			// A tenth of a second's worth may come at once: a client
			// stays within about 10% of its rate over a second.
			lim.bucket = rate.NewLimiter(rate.Limit(l.MaxQPS), int(math.Max(1, math.Ceil(l.MaxQPS/10))))
		}
	}
	lim.mu.Unlock()
	return lim
}

// take admits one statement: nil and a release to call when it ends, or
// the limit it would exceed and its value.
func (lim *limiter) take(now time.Time, rateOnly bool) (release func(), limit string, value float64) {
	lim.mu.Lock()
	l, bucket := lim.limits, lim.bucket
	lim.mu.Unlock()
	if rateOnly {
		l.MaxStatements = 0
	}
	if l.MaxStatements > 0 {
		if n := lim.running.Add(1); n > int64(l.MaxStatements) {
			lim.running.Add(-1)
			return nil, "max_statements", float64(l.MaxStatements)
		}
	}
	if bucket != nil && !bucket.AllowN(now, 1) {
		if l.MaxStatements > 0 {
			lim.running.Add(-1)
		}
		return nil, "max_qps", l.MaxQPS
	}
	if l.MaxStatements == 0 {
		return func() {}, "", 0
	}
	return func() { lim.running.Add(-1) }, "", 0
}

// admit applies the user's and the current schema's limits to one
// statement: a release to call when it ends, or error 1226.
func (s *Session) admit() (func(), error) { return s.admitting(false) }

// admitNext counts a further statement of a multi-statement query against
// max_qps: each statement is one, as MariaDB counts them. The query holds
// one max_statements slot for all of its statements, which run one by one.
func (s *Session) admitNext() error {
	release, err := s.admitting(true)
	if err == nil {
		release()
	}
	return err
}

func (s *Session) admitting(rateOnly bool) (func(), error) {
	snap := s.rt.Snapshot()
	var userLimits, schemaLimits rules.Limits
	if s.client.Account != nil {
		if u, ok := snap.Rules.User(s.client.Account.Name); ok {
			userLimits = u.Limits
		}
	}
	if sc := snap.Rules.Schemas[s.state.db]; sc != nil && !s.isAdmin() {
		// Not for admin users: the operator must be able to run SHOW and
		// switches in a schema its applications overload.
		schemaLimits = sc.Limits
	}
	if userLimits == (rules.Limits{}) && schemaLimits == (rules.Limits{}) {
		return func() {}, nil
	}
	now := time.Now()
	releaseUser := func() {}
	if userLimits != (rules.Limits{}) {
		release, limit, value := s.rt.limits.get(&s.rt.limits.users, s.client.Account.Name, userLimits).take(now, rateOnly)
		if release == nil {
			s.rt.Metrics.LimitRefused("user", limit)
			return nil, wire.Errorf(mysql.ER_USER_LIMIT_REACHED, "User '%s' has exceeded the '%s' resource (current value: %g)", s.client.Account.Name, limit, value)
		}
		releaseUser = release
	}
	if schemaLimits != (rules.Limits{}) {
		release, limit, value := s.rt.limits.get(&s.rt.limits.schemas, s.state.db, schemaLimits).take(now, rateOnly)
		if release == nil {
			releaseUser()
			s.rt.Metrics.LimitRefused("schema", limit)
			return nil, wire.Errorf(mysql.ER_USER_LIMIT_REACHED, "Database '%s' has exceeded the '%s' resource (current value: %g)", s.state.db, limit, value)
		}
		return func() { release(); releaseUser() }, nil
	}
	return releaseUser, nil
}
