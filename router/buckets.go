package router

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
)

// ensureBuckets creates the tables of hourly buckets a write needs, LIKE the
// table's template on the bucket's cluster, on a connection of their own (a
// DDL on the session's connection would commit its transaction).
func (rt *Router) ensureBuckets(needs []BucketNeed) error {
	for _, n := range needs {
		if rt.buckets.Has(n.Schema, n.Table.Name, n.Bucket) {
			continue
		}
		if err := rt.createBucket(n.Schema, n.Table, n.Bucket); err != nil {
			return err
		}
	}
	return nil
}

func (rt *Router) createBucket(schema string, t *shard.Table, bucket string) error {
	cluster := rt.Clusters[t.BucketCluster(bucket)]
	conn, err := cluster.Primary.Get(false, 0)
	if err != nil {
		return err
	}
	for _, target := range t.BucketTargets(bucket, nil) {
		sql := fmt.Sprintf("CREATE TABLE IF NOT EXISTS `%s`.`%s` LIKE `%s`.`%s`", schema, target.Table, schema, t.TemplateTable())
		if _, err := conn.Exec(sql); err != nil {
			cluster.Primary.Discard(conn)
			return fmt.Errorf("shardgate: creating bucket table %s.%s on %s: %w", schema, target.Table, target.Cluster, err)
		}
	}
	cluster.Primary.Put(conn)
	rt.buckets.Add(schema, t.Name, bucket)
	return nil
}

// discoverBuckets finds the hourly buckets that already exist on the
// backends, so reads without an hour condition see every one.
func (rt *Router) discoverBuckets(log *slog.Logger) {
	for schema, tables := range rt.planner.sharded {
		for _, t := range tables {
			if t.By != "hour" {
				continue
			}
			pattern := regexp.MustCompile("^" + regexp.QuoteMeta(strings.ToLower(t.Name)) + `_(\d{10})(_\d+)?$`)
			for _, cname := range t.Clusters {
				c := rt.Clusters[cname]
				conn, err := c.Primary.Get(false, 0)
				if err != nil {
					log.Warn("bucket discovery: backend unreachable", "cluster", cname, "err", err)
					continue
				}
				res, _, err := conn.Query(fmt.Sprintf("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", quote(schema)))
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
						rt.buckets.Add(schema, t.Name, m[1])
					}
				}
			}
		}
	}
}

// precreate makes the current hour's bucket and the next PrecreateHours
// ones for every hourly table whose template exists.
func (rt *Router) precreate(log *slog.Logger) {
	if rt.Rules.PrecreateHours < 0 {
		return
	}
	now := rt.planner.now().Format("2006010215")
	for schema, tables := range rt.planner.sharded {
		for _, t := range tables {
			if t.By != "hour" {
				continue
			}
			for h := 0; h <= rt.Rules.PrecreateHours; h++ {
				b := shard.NextBucket(now, h)
				if rt.buckets.Has(schema, t.Name, b) {
					continue
				}
				if err := rt.createBucket(schema, t, b); err != nil {
					log.Debug("precreate bucket", "table", t.Name, "bucket", b, "err", err)
					break // most likely no template yet
				}
			}
		}
	}
}

// runBuckets precreates upcoming buckets every minute.
func (rt *Router) runBuckets(stop <-chan struct{}, log *slog.Logger) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		rt.precreate(log)
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// afterDDL keeps the bucket registry true after a DROP TABLE of an hourly
// table.
func (rt *Router) afterDDL(st *parser.Statement, p *Plan) {
	drop, ok := st.Node.(*ast.DropTableStmt)
	if !ok {
		return
	}
	for _, tn := range drop.Tables {
		schema := tn.Schema.O
		for sname, tables := range rt.planner.sharded {
			if t, ok := tables[tn.Name.L]; ok && t.By == "hour" && (schema == "" || schema == sname) {
				rt.buckets.Forget(sname, t.Name)
			}
		}
	}
}
