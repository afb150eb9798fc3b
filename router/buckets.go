package router

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
)

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

// discoverBuckets finds the hourly buckets that already exist on the
// backends, so reads without an hour condition see every one.
func discoverBuckets(snap *Snapshot, log *slog.Logger) {
	for _, schema := range snap.Rules.SchemaOrder {
		for _, t := range snap.Planner.ShardedTables(schema) {
			if t.By != "hour" {
				continue
			}
			pattern := regexp.MustCompile("^" + regexp.QuoteMeta(strings.ToLower(t.Name)) + `_(\d{10})(_\d+)?$`)
			for _, cname := range t.Clusters {
				c := snap.Clusters[cname]
				conn, err := c.Primary.Get(false, 0)
				if err != nil {
					log.Warn("bucket discovery: backend unreachable", "cluster", cname, "err", err)
					continue
				}
				res, _, err := conn.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = " + parser.QuoteString(schema))
				if err != nil {
					c.Primary.Discard(conn)
					log.Warn("bucket discovery failed", "cluster", cname, "err", err)
					continue
				}
				c.Primary.Put(conn)
				for _, row := range res.Rows {
					if row[0] == nil {
						continue
					}
					if m := pattern.FindStringSubmatch(strings.ToLower(*row[0])); m != nil && shard.IsBucket(m[1]) {
						snap.Buckets.Add(schema, t.Name, m[1])
					}
				}
			}
		}
	}
}

// precreate makes the current hour's bucket and the next PrecreateHours
// ones for every hourly table whose template exists.
func precreate(snap *Snapshot, log *slog.Logger) {
	if snap.Rules.PrecreateHours < 0 {
		return
	}
	now := snap.Planner.Now()
	for _, schema := range snap.Rules.SchemaOrder {
		for _, t := range snap.Planner.ShardedTables(schema) {
			if t.By != "hour" {
				continue
			}
			for h := 0; h <= snap.Rules.PrecreateHours; h++ {
				b := shard.NextBucket(now, h)
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

// runBuckets precreates upcoming buckets every minute, with whatever
// snapshot is current then.
func runBuckets(current func() *Snapshot, stop <-chan struct{}, log *slog.Logger) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		precreate(current(), log)
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}
