package xa

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/wire"
)

// Conn is a backend connection as the coordinator uses it (*backend.Conn
// in production).
type Conn interface {
	Exec(sql string) (wire.OK, error)
	Query(sql string) (*backend.Result, wire.OK, error)
}

// Primaries lend the coordinator connections of its own to the clusters'
// primaries: for the decision log, for a commit retried after a branch's
// connection broke, and for recovery.
type Primaries interface {
	// Get borrows a connection to cluster's primary.
	Get(cluster string) (Conn, error)
	// Put gives it back; broken: its exchange failed, close it.
	Put(cluster string, c Conn, broken bool)
	// Clusters lists every cluster, sorted.
	Clusters() []string
}

// Decisions in the log.
const (
	decisionCommit = "commit"
	decisionAbort  = "abort"
)

// decisionLog is the table of commit decisions and the table of live
// instances, in one database on one cluster's primary. A decision row is
// written in its own autocommit transaction; its primary key is the gtrid,
// so whoever inserts first decides: the coordinator's 'commit' or a
// recovery's 'abort' tombstone.
type decisionLog struct {
	cluster, schema string
	p               Primaries
}

func (l *decisionLog) table(name string) string { return "`" + l.schema + "`." + name }

// ensure creates the database and the tables when missing.
func (l *decisionLog) ensure() error {
	return l.with(func(c Conn) error {
		for _, q := range []string{
			"CREATE DATABASE IF NOT EXISTS `" + l.schema + "`",
			"CREATE TABLE IF NOT EXISTS " + l.table("xa_log") + ` (
  xid VARBINARY(200) NOT NULL PRIMARY KEY,
  decision ENUM('commit','abort') NOT NULL,
  branches TEXT,
  instance VARCHAR(100),
  created TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY (created)
) ENGINE=InnoDB`,
			"CREATE TABLE IF NOT EXISTS " + l.table("xa_instances") + ` (
  instance VARBINARY(100) NOT NULL PRIMARY KEY,
  epoch BIGINT NOT NULL,
  heartbeat TIMESTAMP(6) NOT NULL
) ENGINE=InnoDB`,
		} {
			if _, err := c.Exec(q); err != nil {
				return err
			}
		}
		return nil
	})
}

// with runs f on a borrowed connection to the log's primary.
func (l *decisionLog) with(f func(Conn) error) error {
	c, err := l.p.Get(l.cluster)
	if err != nil {
		return err
	}
	err = f(c)
	l.p.Put(l.cluster, c, engine.Classify(err) == engine.FaultBroken)
	return err
}

// errUnknown: the log's answer was lost with its connection, so whether
// the row was written is not known.
type errUnknown struct{ err error }

func (e *errUnknown) Error() string { return "decision log: outcome unknown: " + e.err.Error() }
func (e *errUnknown) Unwrap() error { return e.err }

// decide inserts want for gtrid unless a decision exists, and returns the
// decision that stands. An error means none could be read or written:
// *errUnknown when an insert was sent and its answer lost.
func (l *decisionLog) decide(g, want string, branches []string, token string) (string, error) {
	var got string
	err := l.with(func(c Conn) error {
		_, err := c.Exec(fmt.Sprintf("INSERT INTO %s (xid, decision, branches, instance) VALUES (%s, '%s', %s, %s)",
			l.table("xa_log"), hexLiteral(g), want, hexLiteral(strings.Join(branches, ",")), hexLiteral(token)))
		var me *mysql.MyError
		switch {
		case err == nil:
			got = want
			return nil
		case errors.As(err, &me) && me.Code == mysql.ER_DUP_ENTRY:
			// Decided already: read what.
		case engine.Classify(err) == engine.FaultBroken && backend.Sent(err):
			return &errUnknown{err}
		default:
			return err
		}
		d, found, err := l.read(c, g)
		if err != nil {
			return err
		}
		if !found {
			// Deleted between the two statements: only garbage collection
			// deletes, and only rows far older than any live transaction.
			return fmt.Errorf("decision log: the row of %s vanished", g)
		}
		got = d
		return nil
	})
	return got, err
}

func (l *decisionLog) read(c Conn, g string) (decision string, found bool, err error) {
	res, _, err := c.Query("SELECT decision FROM " + l.table("xa_log") + " WHERE xid = " + hexLiteral(g))
	if err != nil {
		return "", false, err
	}
	if len(res.Rows) == 0 || res.Rows[0][0] == nil {
		return "", false, nil
	}
	return *res.Rows[0][0], true, nil
}

// heartbeat records that the instance's process started at epoch is alive.
// An older process under the same name cannot move the epoch back.
func (l *decisionLog) heartbeat(token string, epoch int64) error {
	return l.with(func(c Conn) error {
		_, err := c.Exec(fmt.Sprintf("INSERT INTO %s (instance, epoch, heartbeat) VALUES (%s, %d, NOW(6)) "+
			"ON DUPLICATE KEY UPDATE heartbeat = IF(VALUES(epoch) >= epoch, NOW(6), heartbeat), epoch = GREATEST(epoch, VALUES(epoch))",
			l.table("xa_instances"), hexLiteral(token), epoch))
		return err
	})
}

// instance is what the log says of a proxy instance.
type instance struct {
	epoch int64
	// silent is how long ago its last heartbeat was, by the log server's
	// clock (no clocks of two machines are compared).
	silent time.Duration
}

// Ages are differences of UNIX_TIMESTAMP values: TIMESTAMP columns
// compared with NOW() are compared in the session's time zone, where a
// daylight-saving change makes a fresh row look an hour old (a live
// instance silent, a recent tombstone collectable).
func (l *decisionLog) instances() (map[string]instance, error) {
	out := map[string]instance{}
	err := l.with(func(c Conn) error {
		res, _, err := c.Query("SELECT instance, epoch, ROUND((UNIX_TIMESTAMP(NOW(6)) - UNIX_TIMESTAMP(heartbeat)) * 1000000) FROM " + l.table("xa_instances"))
		if err != nil {
			return err
		}
		for _, r := range res.Rows {
			if len(r) != 3 || r[0] == nil || r[1] == nil || r[2] == nil {
				continue
			}
			epoch, err1 := strconv.ParseInt(*r[1], 10, 64)
			us, err2 := strconv.ParseInt(*r[2], 10, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			out[*r[0]] = instance{epoch: epoch, silent: time.Duration(us) * time.Microsecond}
		}
		return nil
	})
	return out, err
}

// collect deletes decision rows older than horizon whose transaction no
// server holds in doubt any more (keep), and instances silent for as long.
func (l *decisionLog) collect(horizon time.Duration, keep []string) error {
	return l.with(func(c Conn) error {
		q := fmt.Sprintf("DELETE FROM %s WHERE UNIX_TIMESTAMP(created) < UNIX_TIMESTAMP(NOW(6)) - %d", l.table("xa_log"), int64(horizon/time.Second)+1)
		if len(keep) > 0 {
			lits := make([]string, len(keep))
			for i, g := range keep {
				lits[i] = hexLiteral(g)
			}
			q += " AND xid NOT IN (" + strings.Join(lits, ", ") + ")"
		}
		if _, err := c.Exec(q + " LIMIT 10000"); err != nil {
			return err
		}
		_, err := c.Exec(fmt.Sprintf("DELETE FROM %s WHERE UNIX_TIMESTAMP(heartbeat) < UNIX_TIMESTAMP(NOW(6)) - %d", l.table("xa_instances"), int64(horizon/time.Second)+1))
		return err
	})
}
