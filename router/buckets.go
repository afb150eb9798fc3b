package router

import (
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
)

// Hourly buckets on the backends: creating them, and finding the ones that
// exist. Several proxy instances may serve the same backends, each
// creating buckets as rows arrive, so what one instance knows is kept
// fresh three ways: a statement that may reach buckets it does not know
// looks for them first (lookForMisses), every bucket_refresh_interval
// every hourly table is listed again (runBuckets), and a write creates its
// buckets with CREATE TABLE IF NOT EXISTS, which also finds another
// instance's.

// maxHourLook is the most hours one look asks for by name; a statement
// naming more unknown hours lists the whole table instead.
const maxHourLook = 64

// createBucket creates the tables of an hourly bucket, LIKE the table's
// template on the bucket's cluster, on a connection of its own (a DDL on
// the session's connection would commit its transaction).
func createBucket(snap *Snapshot, schema string, t *shard.Table, bucket string) error {
	cluster := snap.Clusters[t.BucketCluster(bucket)]
	conn, err := cluster.Primary.Get(false, 0)
	if err != nil {
		return err
	}
	for _, target := range t.BucketTargets(bucket, nil) {
		sql := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s LIKE %s.%s", parser.QuoteIdent(schema), parser.QuoteIdent(target.Table), parser.QuoteIdent(schema), parser.QuoteIdent(t.TemplateTable()))
		if _, err := conn.Exec(sql); err != nil {
			cluster.Primary.Discard(conn)
			return fmt.Errorf("shardgate: creating bucket table %s.%s on %s: %w", schema, target.Table, target.Cluster, err)
		}
	}
	cluster.Primary.Put(conn)
	snap.Buckets.Add(schema, t.Name, bucket)
	return nil
}

// likePrefix is a LIKE pattern (with ESCAPE '!') for names starting with
// prefix: a table name may hold _ or %.
func likePrefix(prefix string) string {
	r := strings.NewReplacer("!", "!!", "_", "!_", "%", "!%")
	return r.Replace(prefix) + "%"
}

// completeBuckets reads the buckets of t that cluster holds from physical
// table names. A bucket counts once every one of its tables exists (one
// half created by an instance that stopped is completed by the next write
// to it), and only on the cluster it belongs to.
func completeBuckets(t *shard.Table, cluster string, tables []string) []string {
	prefix := strings.ToLower(t.Name) + "_"
	subs := map[string]map[int]bool{}
	for _, name := range tables {
		rest, ok := strings.CutPrefix(strings.ToLower(name), prefix)
		if !ok {
			continue
		}
		b, sub, split := strings.Cut(rest, "_")
		if !shard.IsBucket(b) || t.BucketCluster(b) != cluster || split != (t.SubCount > 0) {
			continue
		}
		j := 0
		if split {
			n, err := strconv.Atoi(sub)
			if err != nil || n < 0 || n >= t.SubCount || strconv.Itoa(n) != sub {
				continue
			}
			j = n
		}
		if subs[b] == nil {
			subs[b] = map[int]bool{}
		}
		subs[b][j] = true
	}
	var out []string
	for b, js := range subs {
		if len(js) == max(t.SubCount, 1) {
			out = append(out, b)
		}
	}
	sort.Strings(out)
	return out
}

// listBuckets lists the complete buckets of t on one cluster's primary:
// those of hours, or every one when hours is nil.
func listBuckets(snap *Snapshot, cluster, schema string, t *shard.Table, hours []string) ([]string, error) {
	q := "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = " + parser.QuoteString(schema)
	if hours == nil {
		q += " AND TABLE_NAME LIKE " + parser.QuoteString(likePrefix(t.Name+"_")) + " ESCAPE '!'"
	} else {
		var names []string
		for _, h := range hours {
			for _, target := range t.BucketTargets(h, nil) {
				names = append(names, parser.QuoteString(target.Table))
			}
		}
		q += " AND TABLE_NAME IN (" + strings.Join(names, ", ") + ")"
	}
	primary := snap.Clusters[cluster].Primary
	if !primary.Healthy() {
		// A statement must not wait for a connect timeout to learn what
		// it would not learn anyway; it goes on with what is known.
		return nil, fmt.Errorf("primary %s is out of rotation", primary.Addr)
	}
	conn, err := primary.Get(false, 0)
	if err != nil {
		return nil, err
	}
	res, _, err := conn.Query(q)
	if engine.Classify(err) == engine.FaultBroken {
		primary.Discard(conn)
		return nil, err
	}
	primary.Put(conn)
	if err != nil {
		return nil, err
	}
	var tables []string
	for _, row := range res.Rows {
		if len(row) > 0 && row[0] != nil {
			tables = append(tables, *row[0])
		}
	}
	return completeBuckets(t, cluster, tables), nil
}

// bucketLooker finds hourly buckets on the backends and records them.
type bucketLooker struct {
	reg *shard.BucketRegistry
	// list lists the complete buckets of t on cluster: those of hours, or
	// every one when hours is nil (listBuckets).
	list func(cluster, schema string, t *shard.Table, hours []string) ([]string, error)
	// every is bucket_recheck_interval.
	every time.Duration
	now   func() time.Time
	log   *slog.Logger
}

func (snap *Snapshot) looker(log *slog.Logger) *bucketLooker {
	return &bucketLooker{
		reg: snap.Buckets,
		list: func(cluster, schema string, t *shard.Table, hours []string) ([]string, error) {
			return listBuckets(snap, cluster, schema, t, hours)
		},
		every: snap.Rules.BucketRecheckInterval,
		now:   time.Now,
		log:   log,
	}
}

// look lists buckets of t on the backends, those of hours or (hours nil)
// every one, and records them. It returns the clusters on which it found
// buckets this instance did not know. A listing of every bucket that
// reached every cluster also forgets the buckets no longer there (another
// instance dropped the table).
func (l *bucketLooker) look(schema string, t *shard.Table, hours []string) []string {
	var clusters []string
	if hours == nil {
		clusters = t.Clusters
	} else {
		for _, h := range hours {
			if c := t.BucketCluster(h); !slices.Contains(clusters, c) {
				clusters = append(clusters, c)
			}
		}
	}
	gen := l.reg.Generation(schema, t.Name)
	var before, all, foundOn []string
	if hours == nil {
		before = l.reg.Buckets(schema, t.Name)
	}
	complete := true
	for _, c := range clusters {
		found, err := l.list(c, schema, t, hours)
		if err != nil {
			l.log.Warn("bucket lookup failed", "schema", schema, "table", t.Name, "cluster", c, "err", err)
			complete = false
			continue
		}
		all = append(all, found...)
		if added := l.reg.AddAll(schema, t.Name, gen, found); len(added) > 0 {
			foundOn = append(foundOn, c)
			l.log.Debug("buckets found", "schema", schema, "table", t.Name, "cluster", c, "buckets", added)
		}
	}
	if hours == nil && complete {
		l.reg.ForgetGone(schema, t.Name, gen, before, all)
	}
	return foundOn
}

// lookForMisses looks on the backends for the buckets a statement may
// reach that this instance does not know, sharing looks with other
// statements: an hour named exactly is looked for at most once per
// bucket_recheck_interval, a range (every bucket of the table) likewise
// per table, and DDL always looks. A point read of a known bucket has no
// miss and never gets here. It returns the clusters on which buckets new
// to this instance were found.
func (l *bucketLooker) lookForMisses(misses []engine.BucketMiss) []string {
	var found []string
	note := func(clusters []string) {
		for _, c := range clusters {
			if !slices.Contains(found, c) {
				found = append(found, c)
			}
		}
	}
	now := l.now()
	for _, m := range misses {
		every := l.every
		if m.Fresh {
			every = 0
		}
		keys := []string{shard.TableCheckKey(m.Schema, m.Table.Name)}
		hourOf := map[string]string{}
		if len(m.Buckets) > 0 && len(m.Buckets) <= maxHourLook {
			keys = keys[:0]
			for _, b := range m.Buckets {
				k := shard.HourCheckKey(m.Schema, m.Table.Name, b)
				keys = append(keys, k)
				hourOf[k] = b
			}
		}
		run, claimed, shared := l.reg.Claim(keys, now, every)
		if run != nil {
			var hours []string // nil: every bucket
			for _, k := range claimed {
				if h, ok := hourOf[k]; ok {
					hours = append(hours, h)
				}
			}
			note(runCheck(run, func() []string { return l.look(m.Schema, m.Table, hours) }))
		}
		for _, c := range shared {
			note(c.Wait())
		}
	}
	return found
}

// refresh lists every bucket of every hourly table of the rules.
func (l *bucketLooker) refresh(snap *Snapshot) {
	for _, schema := range snap.Rules.SchemaOrder {
		for _, t := range snap.Planner.ShardedTables(schema) {
			if t.By != "hour" {
				continue
			}
			run, _, _ := l.reg.Claim([]string{shard.TableCheckKey(schema, t.Name)}, l.now(), 0)
			runCheck(run, func() []string { return l.look(schema, t, nil) })
		}
	}
}

// runCheck performs a claimed check and finishes it, whatever happens, so
// that no statement waiting for it waits forever.
func runCheck(c *shard.BucketCheck, do func() []string) (found []string) {
	defer func() { c.Finish(found) }()
	return do()
}

// refreshBuckets lists every bucket of every hourly table on the backends:
// at start, so that reads without an hour condition see every existing
// bucket from the first client on, and then every
// bucket_refresh_interval, so that buckets other instances created or
// dropped are seen even when no statement misses them.
func refreshBuckets(snap *Snapshot, log *slog.Logger) { snap.looker(log).refresh(snap) }

// precreate makes the current hour's bucket and the next PrecreateHours
// ones, within the table's window, for every hourly table whose template
// exists.
func precreate(snap *Snapshot, log *slog.Logger) {
	if snap.Rules.PrecreateHours < 0 {
		return
	}
	now := snap.Planner.Clock()
	current := now.Format("2006010215")
	for _, schema := range snap.Rules.SchemaOrder {
		for _, t := range snap.Planner.ShardedTables(schema) {
			if t.By != "hour" {
				continue
			}
			for h := 0; h <= snap.Rules.PrecreateHours; h++ {
				b := shard.NextBucket(current, h)
				if !t.InWindow(b, now) {
					break
				}
				if snap.Buckets.Has(schema, t.Name, b) {
					continue
				}
				if err := createBucket(snap, schema, t, b); err != nil {
					log.Debug("precreate bucket", "table", t.Name, "bucket", b, "err", err)
					break // most likely no template yet
				}
			}
		}
	}
}

// runBuckets refreshes what this instance knows of the buckets and
// precreates upcoming ones every bucket_refresh_interval, with whatever
// snapshot is current then.
func runBuckets(current func() *Snapshot, stop <-chan struct{}, log *slog.Logger, expire func(*Snapshot)) {
	precreate(current(), log)
	for {
		timer := time.NewTimer(current().Rules.BucketRefreshInterval)
		select {
		case <-stop:
			timer.Stop()
			return
		case <-timer.C:
		}
		snap := current()
		refreshBuckets(snap, log)
		precreate(snap, log)
		expire(snap)
	}
}

// EnsureBuckets creates the buckets of needs that this instance does not
// know, one batch of CREATE TABLE IF NOT EXISTS per cluster (one round
// trip), the clusters at once: a 100-row INSERT reaching 50 new hours
// would otherwise wait for 50 round trips or more.
func (vc *cursor) EnsureBuckets(needs []engine.BucketNeed) error {
	if err := createBuckets(vc.snap, needs); err != nil {
		return err
	}
	// Under LOCK TABLES the new buckets' tables join the locks, as in
	// EnsureBucket, or the write meets 1100 (not locked).
	return vc.s.relock(vc.snap)
}

func createBuckets(snap *Snapshot, needs []engine.BucketNeed) error {
	type batch struct {
		cluster string
		needs   []engine.BucketNeed
		sqls    []string
		tables  []string
		err     error
	}
	var order []*batch
	byCluster := map[string]*batch{}
	for _, n := range needs {
		if snap.Buckets.Has(n.Schema, n.Table.Name, n.Bucket) {
			continue
		}
		c := n.Table.BucketCluster(n.Bucket)
		b := byCluster[c]
		if b == nil {
			b = &batch{cluster: c}
			byCluster[c] = b
			order = append(order, b)
		}
		b.needs = append(b.needs, n)
		for _, target := range n.Table.BucketTargets(n.Bucket, nil) {
			b.sqls = append(b.sqls, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s LIKE %s.%s", parser.QuoteIdent(n.Schema), parser.QuoteIdent(target.Table), parser.QuoteIdent(n.Schema), parser.QuoteIdent(n.Table.TemplateTable())))
			b.tables = append(b.tables, n.Schema+"."+target.Table)
		}
	}
	run := func(b *batch) {
		primary := snap.Clusters[b.cluster].Primary
		conn, err := primary.Get(false, 0)
		if err != nil {
			b.err = err
			return
		}
		oks, failed, err := conn.ExecBatch(b.sqls)
		switch {
		case err != nil:
			primary.Discard(conn)
		default:
			primary.Put(conn)
		}
		if failed == nil && err == nil {
			return
		}
		at := min(len(oks), len(b.tables)-1)
		if failed != nil {
			err = failed
		}
		b.err = fmt.Errorf("shardgate: creating bucket table %s on %s: %w", b.tables[at], b.cluster, err)
	}
	if len(order) == 1 {
		run(order[0])
	} else {
		var wg sync.WaitGroup
		for _, b := range order {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(b)
			}()
		}
		wg.Wait()
	}
	var first error
	for _, b := range order {
		if b.err != nil {
			// Tables created before the failure stay; a bucket counts once
			// complete, and the next write completes it.
			if first == nil {
				first = b.err
			}
			continue
		}
		for _, n := range b.needs {
			snap.Buckets.Add(n.Schema, n.Table.Name, n.Bucket)
		}
	}
	return first
}
