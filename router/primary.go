package router

import (
	"context"
	"fmt"
	"time"

	"github.com/shardgate/shardgate/rules"
)

// Following the primary (README: Operating shardgate). The proxy promotes
// nothing itself. When an operator or a failover manager (MariaDB's
// replication-manager, Orchestrator, a script) makes a replica the
// writable server of its cluster, and the configured primary is not
// writable any more (read_only, replicating, or gone), the proxy sees it
// at two checks in a row and reloads its rules with that server as the
// cluster's primary and the former one as a replica: writes go to the new
// primary from the next statement; transactions already open on the old
// one finish there (read_only, it refuses their writes with 1290, as it
// refuses every write while no server of the cluster is writable).

// primaryWatch remembers, per cluster, the server seen writable in place
// of the primary at the last check, and the primaries followed so far.
type primaryWatch struct {
	seen     map[string]string
	followed map[string]string // cluster → the primary the proxy follows
}

// watchPrimaries checks every cluster with replicas each health interval
// until ctx ends.
func (rt *Router) watchPrimaries(ctx context.Context) {
	for {
		interval := rt.Snapshot().Rules.HealthInterval
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		rt.checkPrimaries()
	}
}

// checkPrimaries looks at each cluster once, following a promotion seen
// twice in a row.
func (rt *Router) checkPrimaries() {
	snap := rt.Snapshot()
	for _, name := range sortedClusterNames(snap.Clusters) {
		c := snap.Clusters[name]
		if len(c.Replicas) == 0 {
			continue
		}
		if c.Primary.Writable() {
			delete(rt.watch.seen, name)
			continue
		}
		candidate := ""
		for _, r := range c.Replicas {
			if r.Writable() {
				if candidate != "" {
					// Two writable servers: no way to tell which one the
					// applications should write to.
					rt.Log.Error("two servers of a cluster are writable and its primary is not; not following either", "cluster", name,
						"servers", candidate+","+r.Addr)
					candidate = ""
					break
				}
				candidate = r.Addr
			}
		}
		if candidate == "" {
			delete(rt.watch.seen, name)
			continue
		}
		if rt.watch.seen[name] != candidate {
			if rt.watch.seen == nil {
				rt.watch.seen = map[string]string{}
			}
			rt.watch.seen[name] = candidate // once more before following
			continue
		}
		delete(rt.watch.seen, name)
		rt.followPrimary(snap.Rules, name, candidate)
	}
}

// followPrimary reloads the rules with addr as cluster's primary.
func (rt *Router) followPrimary(r *rules.Rules, cluster, addr string) {
	old := r.Clusters[cluster].Primary
	source := fmt.Sprintf("primary of %s followed: %s is writable, %s is not", cluster, addr, old)
	v, err := rt.Reload(r.WithPrimary(cluster, addr), source)
	if err != nil {
		rt.Log.Error("following a new primary failed", "cluster", cluster, "primary", addr, "err", err)
		return
	}
	rt.reloadMu.Lock()
	if rt.watch.followed == nil {
		rt.watch.followed = map[string]string{}
	}
	rt.watch.followed[cluster] = addr
	rt.reloadMu.Unlock()
	rt.Log.Warn("primary switch followed; update the rules file, which still names the former primary", "cluster", cluster,
		"from", old, "to", addr, "rules_version", v.Number)
}

// keepFollowed applies the primaries followed so far to rules read from
// the file, until the file names them itself: a reload must not send the
// writes back to a demoted server.
func (rt *Router) keepFollowed(r *rules.Rules) *rules.Rules {
	rt.reloadMu.Lock()
	defer rt.reloadMu.Unlock()
	for cluster, addr := range rt.watch.followed {
		c := r.Clusters[cluster]
		switch {
		case c == nil || c.Primary == addr:
			delete(rt.watch.followed, cluster) // the file caught up, or dropped the cluster
		default:
			listed := false
			for _, rep := range c.Replicas {
				listed = listed || rep.Addr == addr
			}
			if listed {
				rt.Log.Warn("the rules file names a demoted server as primary; keeping the followed one", "cluster", cluster,
					"file_primary", c.Primary, "primary", addr)
				r = r.WithPrimary(cluster, addr)
			} else {
				delete(rt.watch.followed, cluster) // a new topology: the file decides
			}
		}
	}
	return r
}
