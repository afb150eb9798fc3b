package router

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/rules"
)

// Reloading the rules (README: Operating shardgate). A reload builds a new
// snapshot and swaps it in atomically: a statement, and a transaction
// (Session.snapshot), finishes on the snapshot it started with; the next
// one takes the new. Servers whose settings did not change keep their
// pools and health checks; changed or removed ones drain: their idle
// connections close when they are let go, busy ones when they come back,
// and a transaction still running on them keeps its connections until
// shutdown_timeout has passed.

// RulesVersion is one set of rules the proxy has served.
type RulesVersion struct {
	// Number counts versions from 1, the rules read at start.
	Number int
	At     time.Time
	// Source says what loaded it: "start", "SIGHUP", "RELOAD SHARDGATE
	// RULES by user@host" or "ROLLBACK … TO n by user@host".
	Source string
	// Changes lists what it changed from the version before it.
	Changes []string
	Rules   *rules.Rules
}

// Versions lists every version loaded since start, oldest first; the last
// one is running.
func (rt *Router) Versions() []RulesVersion {
	rt.reloadMu.Lock()
	defer rt.reloadMu.Unlock()
	return append([]RulesVersion(nil), rt.versions...)
}

// ReloadError is a reload that changed nothing: the running version keeps
// serving.
type ReloadError struct {
	Running int
	Err     error
}

func (e *ReloadError) Error() string {
	return fmt.Sprintf("rules not reloaded (version %d keeps serving): %v", e.Running, e.Err)
}

func (e *ReloadError) Unwrap() error { return e.Err }

// ReloadFile reads the running rules' file again and reloads it.
func (rt *Router) ReloadFile(source string) (RulesVersion, error) {
	file := rt.Snapshot().Rules.File
	r, err := rules.Load(file)
	if err != nil {
		return RulesVersion{}, &ReloadError{Running: rt.running(), Err: err}
	}
	if rt.Adjust != nil {
		rt.Adjust(r)
	}
	return rt.Reload(rt.keepFollowed(r), source)
}

// Rollback serves version n again (0: the version before the running
// one), as a new version. The rules file is not changed: a later reload
// reads it again.
func (rt *Router) Rollback(n int, source string) (RulesVersion, error) {
	versions := rt.Versions()
	cur := versions[len(versions)-1]
	if n == 0 {
		n = cur.Number - 1
	}
	if n < 1 || n > len(versions) {
		return RulesVersion{}, &ReloadError{Running: cur.Number, Err: fmt.Errorf("there is no version %d (versions 1 to %d)", n, len(versions))}
	}
	if n == cur.Number {
		return RulesVersion{}, &ReloadError{Running: cur.Number, Err: fmt.Errorf("version %d is the one running", n)}
	}
	return rt.Reload(versions[n-1].Rules, fmt.Sprintf("%s (back to version %d)", source, n))
}

func (rt *Router) running() int {
	rt.reloadMu.Lock()
	defer rt.reloadMu.Unlock()
	return rt.versions[len(rt.versions)-1].Number
}

// Reload makes r the running rules after checking that it moves no rows
// and needs no restart (rules.CheckReload). On any error nothing changes.
func (rt *Router) Reload(r *rules.Rules, source string) (RulesVersion, error) {
	rt.reloadMu.Lock()
	defer rt.reloadMu.Unlock()
	old := rt.snap.Load()
	number := rt.versions[len(rt.versions)-1].Number
	changes, err := rules.CheckReload(old.Rules, r)
	if err != nil {
		return RulesVersion{}, &ReloadError{Running: number, Err: err}
	}
	snap := newSnapshot(r, old.Buckets, time.Now, rt.Log, old)
	// Before the first statement on it: a table the reload adds must see
	// its existing buckets.
	refreshBuckets(snap, rt.Log)
	rt.applyBackendSwitches(snap)
	rt.primaries.update(r)
	rt.snap.Store(snap)
	// Kept while sessions are held to them (drain asks); the others go,
	// or every reload would keep its predecessor's caches for good.
	rt.retired = append(slices.DeleteFunc(rt.retired, func(s *Snapshot) bool { return s.users.Load() <= 0 }), old)

	for name, c := range snap.Clusters {
		if old.Clusters[name] != c {
			rt.startHealth(c, r.HealthInterval)
		}
	}
	for name, c := range old.Clusters {
		if snap.Clusters[name] != c {
			rt.drain(c, old.Rules.ShutdownTimeout)
		}
	}
	rt.startXA(r)
	if r.SlowLog.Time != old.Rules.SlowLog.Time {
		// The file's threshold replaces one set at runtime only when the
		// file changes it.
		rt.slow.SetThreshold(r.SlowLog.Time)
	}
	v := RulesVersion{Number: number + 1, At: time.Now(), Source: source, Changes: changes, Rules: r}
	rt.versions = append(rt.versions, v)
	rt.Log.Info("rules reloaded", "version", v.Number, "source", source, "file", r.File, "sha256", r.Digest,
		"changes", strings.Join(changes, "; "))
	return v, nil
}

// sameCluster: cluster name is served by the same servers with the same
// pool and health settings under both rules, so a reload keeps it as is.
func sameCluster(old, cur *rules.Rules, name string) bool {
	oc, nc := old.Clusters[name], cur.Clusters[name]
	if oc == nil || nc == nil || oc.Primary != nc.Primary || len(oc.Replicas) != len(nc.Replicas) {
		return false
	}
	for i := range oc.Replicas {
		if oc.Replicas[i].Addr != nc.Replicas[i].Addr || oc.Replicas[i].Weight != nc.Replicas[i].Weight {
			return false
		}
	}
	return old.Backend == cur.Backend && rules.Same(old.Pool, cur.Pool) && old.MaxReplicaLag == cur.MaxReplicaLag &&
		old.HealthInterval == cur.HealthInterval && old.HealthTimeout == cur.HealthTimeout &&
		old.HealthFailures == cur.HealthFailures
}

// startHealth runs c's health checks until the router closes or c is
// drained. reloadMu is held.
func (rt *Router) startHealth(c *backend.Cluster, interval time.Duration) {
	if rt.ctx == nil {
		return // not started: Start begins them
	}
	ctx, cancel := context.WithCancel(rt.ctx)
	if rt.health == nil {
		rt.health = map[*backend.Cluster]context.CancelFunc{}
	}
	rt.health[c] = cancel
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		c.RunHealth(ctx, interval)
	}()
}

// maxDrainWait bounds how long a replaced cluster's pools stay open for
// the sessions still held to an older snapshot.
const maxDrainWait = time.Hour

// drain retires a cluster a reload replaced or removed: its health checks
// stop now and its idle connections close; its pools close once no
// session is held to a snapshot that uses them (checked every grace; at
// most maxDrainWait), so a transaction that started on the old rules
// finishes on them. reloadMu is held.
func (rt *Router) drain(c *backend.Cluster, grace time.Duration) {
	if cancel := rt.health[c]; cancel != nil {
		cancel()
		delete(rt.health, c)
	}
	for _, b := range c.Backends() {
		b.CloseAllIdle()
	}
	rt.draining = append(rt.draining, c)
	deadline := time.Now().Add(maxDrainWait)
	var check func()
	check = func() {
		rt.reloadMu.Lock()
		if !slices.Contains(rt.draining, c) {
			rt.reloadMu.Unlock()
			return // the router closed it already
		}
		if rt.heldTo(c) && time.Now().Before(deadline) {
			rt.reloadMu.Unlock()
			time.AfterFunc(grace, check)
			return
		}
		rt.draining = slices.DeleteFunc(rt.draining, func(d *backend.Cluster) bool { return d == c })
		rt.retired = slices.DeleteFunc(rt.retired, func(s *Snapshot) bool { return s.users.Load() <= 0 })
		rt.reloadMu.Unlock()
		for _, b := range c.Backends() {
			b.Close()
		}
	}
	time.AfterFunc(grace, check)
}

// heldTo reports whether a session is held to a replaced snapshot that
// uses cluster c. reloadMu is held.
func (rt *Router) heldTo(c *backend.Cluster) bool {
	for _, s := range rt.retired {
		if s.users.Load() <= 0 {
			continue
		}
		for _, sc := range s.Clusters {
			if sc == c {
				return true
			}
		}
	}
	return false
}
