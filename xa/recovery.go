package xa

import (
	"context"
	"sort"
	"time"

	"github.com/shardgate/shardgate/engine"
)

// Recovery finds branches the servers hold prepared (XA RECOVER on every
// primary) and ends those whose coordinator is gone: committed when the
// decision log says commit, rolled back otherwise (presumed abort). Whoever
// ends a transaction first writes its decision: recovery inserts an 'abort'
// row (a tombstone) unless a row exists, and follows whatever row stands.
// Several instances may recover at once; a late coordinator meets the
// tombstone and rolls back.

// silentRounds: an instance whose heartbeat is older than this many
// recovery intervals is presumed gone.
const silentRounds = 3

// collectEvery: decision rows are garbage-collected every this many rounds.
const collectEvery = 12

// Run recovers at once, then every recovery interval, until ctx ends.
func (c *Coordinator) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.RecoveryInterval)
	defer t.Stop()
	for {
		if _, err := c.Recover(); err != nil {
			c.Log.Warn("xa recovery", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round is what one recovery round did.
type Round struct {
	// Committed and RolledBack count branches ended by this round.
	Committed, RolledBack int
	// Waiting are gtrids left in doubt this round (their coordinator may
	// still be at work).
	Waiting []string
}

// Recover runs one round: heartbeat, XA RECOVER on every primary, and
// each in-doubt transaction whose coordinator is gone ended.
func (c *Coordinator) Recover() (Round, error) {
	var round Round
	c.mu.Lock()
	ready := c.ready
	c.mu.Unlock()
	if !ready {
		if err := c.log.ensure(); err != nil {
			return round, err
		}
		c.mu.Lock()
		c.ready = true
		c.mu.Unlock()
	}
	if err := c.log.heartbeat(c.token, c.epoch); err != nil {
		c.Log.Warn("xa: heartbeat", "err", err)
	}
	instances, err := c.log.instances()
	if err != nil {
		// Without the log, whether a transaction committed cannot be told.
		return round, err
	}
	c.mu.Lock()
	c.endedInRound = map[string]bool{}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.endedInRound = nil
		c.mu.Unlock()
	}()
	found := map[string][]found{}
	complete := true
	for _, cluster := range c.p.Clusters() {
		conn, err := c.p.Get(cluster)
		if err != nil {
			complete = false
			continue
		}
		xids, err := recoverXIDs(conn)
		c.p.Put(cluster, conn, engine.Classify(err) == engine.FaultBroken)
		if err != nil {
			complete = false
			c.Log.Warn("xa: XA RECOVER", "cluster", cluster, "err", err)
			continue
		}
		for _, x := range xids {
			found[x.Gtrid] = append(found[x.Gtrid], struct {
				cluster string
				xid     XID
			}{cluster, x})
		}
	}
	now := time.Now()
	var listed []InDoubt
	gtrids := make([]string, 0, len(found))
	for g := range found {
		gtrids = append(gtrids, g)
	}
	sort.Strings(gtrids)
	for _, g := range gtrids {
		branches := found[g]
		c.mu.Lock()
		_, active := c.active[g]
		// One that ended since the listing was in flight when listed.
		active = active || c.endedInRound[g]
		first, seen := c.firstSeen[g]
		if !seen {
			first = now
			c.firstSeen[g] = now
		}
		c.mu.Unlock()
		token, epoch, _ := parseGtrid(g)
		clusters := make([]string, len(branches))
		for i, b := range branches {
			clusters[i] = b.cluster
		}
		why := c.gone(token, epoch, active, instances, now.Sub(first))
		if why == "" {
			round.Waiting = append(round.Waiting, g)
			state := "prepared, coordinator at work"
			if active {
				state = "prepared, committing in this process"
			}
			listed = append(listed, InDoubt{Gtrid: g, State: state, Clusters: clusters, Age: now.Sub(first), Instance: token})
			continue
		}
		decision, err := c.log.decide(g, decisionAbort, clusters, c.token)
		if err != nil {
			c.Log.Warn("xa: recovery could not decide", "xid", g, "err", err)
			listed = append(listed, InDoubt{Gtrid: g, State: "in doubt: decision log unavailable", Clusters: clusters, Age: now.Sub(first), Instance: token})
			continue
		}
		left := 0
		for _, b := range branches {
			done, ended, err := finishBranch(c.p, b.cluster, b.xid, decision)
			if !done {
				left++
				c.Log.Warn("xa: recovery could not end a branch", "xid", b.xid.String(), "decision", decision, "err", err)
				continue
			}
			if !ended {
				continue // ended meanwhile by someone else
			}
			c.Log.Info("xa: recovered a branch", "xid", b.xid.String(), "decision", decision, "because", why)
			if decision == decisionCommit {
				round.Committed++
				c.Metrics.Recovered("commit")
			} else {
				round.RolledBack++
				c.Metrics.Recovered("rollback")
			}
		}
		if left > 0 {
			listed = append(listed, InDoubt{Gtrid: g, State: "in doubt: decided " + decision + ", not ended yet", Clusters: clusters, Age: now.Sub(first), Instance: token})
		}
	}
	c.mu.Lock()
	for g := range c.firstSeen {
		if _, still := found[g]; !still {
			delete(c.firstSeen, g)
		}
	}
	c.inDoubt = listed
	c.rounds++
	collect := complete && c.rounds%collectEvery == 1
	keep := gtrids
	for g := range c.active {
		keep = append(keep, g)
	}
	c.mu.Unlock()
	if collect {
		// Only after a round in which every primary answered: a branch on
		// a server that is down must find its decision row when it is back.
		if err := c.log.collect(c.horizon(), keep); err != nil {
			c.Log.Warn("xa: decision log garbage collection", "err", err)
		}
	}
	return round, nil
}

type found = struct {
	cluster string
	xid     XID
}

// horizon is the age beyond which a decision row no longer matters: far
// beyond abort_after, after which no coordinator asks to commit.
func (c *Coordinator) horizon() time.Duration { return 10 * c.cfg.AbortAfter }

// gone says why recovery may end a transaction of instance token started
// by its process at epoch, or "" while its coordinator may still be at
// work.
func (c *Coordinator) gone(token string, epoch int64, active bool, instances map[string]instance, age time.Duration) string {
	switch {
	case active:
		return ""
	case token == c.token && epoch == c.epoch:
		// This process's, and no session of it is at work on it any more
		// (its commit was left to recovery).
		return "left to recovery by this process"
	case age > c.cfg.AbortAfter:
		return "in doubt for longer than abort_after"
	}
	inst, ok := instances[token]
	switch {
	case !ok:
		return "its instance is unknown to the log"
	case inst.epoch > epoch:
		return "its instance restarted since"
	case inst.epoch == epoch && inst.silent > silentRounds*c.cfg.RecoveryInterval:
		return "its instance stopped sending heartbeats"
	}
	return ""
}
