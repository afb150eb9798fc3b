package planner

import (
	"fmt"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

// rowRouter decides which physical table one row of a sharded table goes
// to, from its shard-key values. It is the one place rows are routed:
// INSERT … VALUES (at planning), and the rows an INSERT … SELECT streams
// or a shard-key UPDATE moves (at execution, through engine.RowRouter),
// so every way of writing a row puts it where reads look for it.
type rowRouter struct {
	schema, table string // the logical table as the statement names it
	t             *shard.Table
	// keyName, subName are the shard columns as the statement spells them,
	// for MariaDB's messages.
	keyName, subName string
	// noZeroDate and ignore decide the zero date as MariaDB would (see
	// Facts.NoZeroDate; INSERT IGNORE stores it in any mode).
	noZeroDate, ignore bool
	now                time.Time
	// keys reads the values as the columns' canonical keys (values read
	// back from a server are text in the session's character set); nil
	// (staysInPlace) hashes the text as it is.
	keys *keys
}

func (pl *Planner) newRowRouter(r tableRef, f Facts, keyName, subName string, ignore bool) *rowRouter {
	k := pl.keysFor(f, r.schema, r.sharded)
	return &rowRouter{schema: r.schema, table: r.name, t: r.sharded, keyName: keyName, subName: subName,
		noZeroDate: f.NoZeroDate, ignore: ignore, now: pl.now(), keys: &k}
}

func (rr *rowRouter) qualified() string { return rr.schema + "." + rr.table }

// RouteRow implements engine.RowRouter: key and sub are the canonical
// texts of the row's shard-key values (nil: NULL), rowNum counts from 1.
// need, when not nil, is the hourly bucket whose tables must exist first.
func (rr *rowRouter) RouteRow(key, sub *string, rowNum int) (target shard.Target, need *engine.BucketNeed, err error) {
	t := rr.t
	if rr.keys != nil && t.By == "hash" {
		i, err := rr.hashIndex(t.Column, key, t.Count)
		return t.HashTarget(i), nil, err
	}
	if key == nil {
		if rr.keys != nil && t.By == "hour" {
			// A NULL hour lives in the zero date's bucket (see NullIndex).
			if def := rr.keys.column(t.Column); def == nil || def.Nullable || rr.ignore {
				z := "0000-00-00 00:00:00"
				key = &z
			}
		}
		if key == nil {
			return target, nil, wire.Errorf(mysql.ER_BAD_NULL_ERROR, "shardgate: shard column %s of %s cannot be NULL", t.Column, rr.qualified())
		}
	}
	if t.By == "hash" {
		return t.HashTarget(shard.Index(*key, t.Count)), nil, nil
	}
	bucket, err := shard.Bucket(*key)
	if err != nil {
		return target, nil, notSupported("column %s of %s: %v", t.Column, rr.qualified(), err)
	}
	// Both refusals come before any bucket is created: the whole
	// statement fails, as on one server.
	if bucket == shard.ZeroBucket && rr.noZeroDate && !rr.ignore {
		return target, nil, wire.Errorf(mysql.ER_TRUNCATED_WRONG_VALUE, "Incorrect datetime value: '%s' for column `%s`.`%s`.`%s` at row %d",
			*key, rr.schema, rr.table, rr.keyName, rowNum)
	}
	if !t.InWindow(bucket, rr.now) {
		first, last := t.Window(rr.now)
		return target, nil, wire.Errorf(mysql.ER_NO_PARTITION_FOR_GIVEN_VALUE, "Table has no partition for value %s (shardgate: %s accepts hours %s to %s, see buckets: in the rules)",
			bucket, rr.qualified(), first, last)
	}
	var subs []int
	if t.SubColumn != "" && rr.keys != nil {
		j, err := rr.hashIndex(t.SubColumn, sub, t.SubCount)
		if err != nil {
			return target, nil, err
		}
		subs = []int{j}
	} else if t.SubColumn != "" {
		if sub == nil {
			return target, nil, wire.Errorf(mysql.ER_BAD_NULL_ERROR, "shardgate: shard column %s of %s cannot be NULL", t.SubColumn, rr.qualified())
		}
		subs = []int{shard.Index(*sub, t.SubCount)}
	}
	return t.BucketTargets(bucket, subs)[0], &engine.BucketNeed{Schema: rr.schema, Table: t, Bucket: bucket}, nil
}

// hashIndex is the table index of a value read back from a server (nil:
// NULL) for hash column col: its canonical key's, as INSERT … VALUES
// routes it.
func (rr *rowRouter) hashIndex(col string, v *string, n int) (int, error) {
	val := parser.Value{Kind: parser.ValNull}
	if v != nil {
		val = parser.Value{Kind: parser.ValString, Text: *v}
	}
	key, null, err := rr.keys.writeKey(col, val, rr.ignore)
	if err != nil || null {
		return NullIndex, err
	}
	return shard.Index(key, n), nil
}

// String names the rule for EXPLAIN SHARDGATE.
func (rr *rowRouter) String() string {
	if rr.t.By == "hash" {
		return fmt.Sprintf("%s by hash(%s) over %d tables", rr.qualified(), rr.t.Column, rr.t.Count)
	}
	if rr.t.SubColumn != "" {
		return fmt.Sprintf("%s by hour(%s), then hash(%s) over %d tables", rr.qualified(), rr.t.Column, rr.t.SubColumn, rr.t.SubCount)
	}
	return fmt.Sprintf("%s by hour(%s)", rr.qualified(), rr.t.Column)
}
