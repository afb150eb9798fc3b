package router

import (
	"fmt"
	"sort"
	"time"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
)

// Bucket retention (rules: buckets.retain, buckets.archive; README:
// Operating shardgate). Every bucket_refresh_interval, and at SHARDGATE
// EXPIRE BUCKETS, the buckets whose hour ended more than retain ago are
// dropped, or renamed archived_<table>, by one proxy instance at a time:
// the pass holds a named lock (GET_LOCK) on the decision log's cluster,
// which every instance shares. retain is at least the accepted window's
// past, so no write can recreate a removed bucket.

// expiry is one bucket the next pass removes.
type expiry struct {
	schema string
	table  *shard.Table
	bucket string
}

// retentionLock names the lock that keeps passes one at a time.
const retentionLock = "shardgate:bucket-retention"

// expiredBuckets lists the buckets of snap past their retention at now.
func expiredBuckets(snap *Snapshot, now time.Time) []expiry {
	var out []expiry
	for _, h := range snap.hourlyTables() {
		if h.table.Retain <= 0 {
			continue
		}
		for _, b := range snap.Buckets.Buckets(h.schema, h.table.Name) {
			if h.table.Expired(b, now) {
				out = append(out, expiry{h.schema, h.table, b})
			}
		}
	}
	return out
}

// hourly is one hourly table of the rules.
type hourly struct {
	schema string
	table  *shard.Table
}

// hourlyTables lists the rules' hourly tables, by schema in the rules'
// order and by name (retention, SHOW SHARDGATE BUCKETS, metrics).
func (snap *Snapshot) hourlyTables() []hourly {
	var out []hourly
	for _, schema := range snap.Rules.SchemaOrder {
		tables := snap.Planner.ShardedTables(schema)
		names := make([]string, 0, len(tables))
		for n, t := range tables {
			if t.By == "hour" {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, hourly{schema, tables[n]})
		}
	}
	return out
}

// expireBuckets runs one retention pass: the buckets removed, or an error
// when the pass could not run (another instance holds the lock: ran is
// false, err nil).
func (rt *Router) expireBuckets(snap *Snapshot) (removed []string, ran bool, err error) {
	plan := expiredBuckets(snap, time.Now())
	if len(plan) == 0 {
		return nil, true, nil
	}
	logCluster := snap.Rules.Transactions.LogCluster
	c, err := rt.primaries.Get(logCluster)
	if err != nil {
		return nil, false, err
	}
	lock := c.(*backend.Conn)
	broken := false
	defer func() { rt.primaries.Put(logCluster, lock, broken) }()
	res, _, err := lock.Query("SELECT GET_LOCK(" + parser.QuoteString(retentionLock) + ", 0)")
	if err != nil {
		broken = true
		return nil, false, err
	}
	if len(res.Rows) != 1 || res.Rows[0][0] == nil || *res.Rows[0][0] != "1" {
		return nil, false, nil // another instance's pass
	}
	defer func() {
		if _, err := lock.Exec("DO RELEASE_LOCK(" + parser.QuoteString(retentionLock) + ")"); err != nil {
			broken = true // the lock ends with the connection
		}
	}()
	for _, e := range plan {
		if err := removeBucket(snap, e); err != nil {
			return removed, true, err
		}
		snap.Buckets.Remove(e.schema, e.table.Name, e.bucket)
		removed = append(removed, e.schema+"."+e.table.Name+"_"+e.bucket)
		rt.Log.Info("bucket past its retention removed", "schema", e.schema, "table", e.table.Name, "bucket", e.bucket,
			"archive", e.table.Archive, "retain", e.table.Retain.String())
	}
	return removed, true, nil
}

// removeBucket drops or renames the tables of one bucket on its cluster's
// primary, on a connection of its own (DDL commits whatever it is in).
func removeBucket(snap *Snapshot, e expiry) error {
	cluster := snap.Clusters[e.table.BucketCluster(e.bucket)]
	conn, err := cluster.Primary.Get(false, 0)
	if err != nil {
		return err
	}
	for _, target := range e.table.BucketTargets(e.bucket, nil) {
		from := parser.QuoteIdent(e.schema) + "." + parser.QuoteIdent(target.Table)
		sql := "DROP TABLE IF EXISTS " + from
		if e.table.Archive == "rename" {
			archived := "archived_" + target.Table
			if len(archived) > 64 {
				cluster.Primary.Put(conn)
				return fmt.Errorf("shardgate: bucket table %s: %s is longer than 64 characters; use archive: drop", target.Table, archived)
			}
			// IF EXISTS: a pass stopped halfway goes on where it left off.
			sql = "RENAME TABLE IF EXISTS " + from + " TO " + parser.QuoteIdent(e.schema) + "." + parser.QuoteIdent(archived)
		}
		if _, err := conn.Exec(sql); err != nil {
			cluster.Primary.Discard(conn)
			return fmt.Errorf("shardgate: removing bucket table %s.%s on %s: %w", e.schema, target.Table, target.Cluster, err)
		}
	}
	cluster.Primary.Put(conn)
	return nil
}
