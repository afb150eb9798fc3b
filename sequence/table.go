package sequence

import (
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/wire"
)

// Conn is a connection to the sequence table's primary (*backend.Conn in
// production).
type Conn interface {
	Exec(sql string) (wire.OK, error)
}

// Primaries lend connections to a cluster's primary.
type Primaries interface {
	Get(cluster string) (Conn, error)
	// Put gives c back; broken: its exchange failed, close it.
	Put(cluster string, c Conn, broken bool)
}

// Table is the Store kept in a table of its own on one cluster's primary:
// one row per sequence, its next value not yet handed out.
type Table struct {
	Cluster, Schema string
	P               Primaries
	mu              sync.Mutex
	ready           bool
}

// TableName is the sequence table's name in its schema.
const TableName = "sequences"

func (t *Table) name() string { return "`" + t.Schema + "`.`" + TableName + "`" }

// ensure creates the database and the table on first use (and again
// after a failure), as the decision log does.
func (t *Table) ensure(c Conn) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ready {
		return nil
	}
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS `" + t.Schema + "`",
		"CREATE TABLE IF NOT EXISTS " + t.name() + ` (
  name VARBINARY(200) NOT NULL PRIMARY KEY,
  next_id BIGINT NOT NULL
) ENGINE=InnoDB`,
	} {
		if _, err := c.Exec(q); err != nil {
			return err
		}
	}
	t.ready = true
	return nil
}

// Reserve moves the row in one autocommit statement: the row lock orders
// racing instances, and LAST_INSERT_ID(expr) makes the OK packet carry
// the value written, so the block is read from the very statement that
// took it and no other instance can have taken it too. A row that does
// not exist yet is created at the floor. When the answer is lost the
// row may have moved; the caller then never uses the block, and the next
// Reserve starts past it either way, which is why a broken connection,
// sent or not, is simply tried once more on another.
func (t *Table) Reserve(key string, n, floor int64) (int64, error) {
	q := fmt.Sprintf("INSERT INTO %s (name, next_id) VALUES (%s, LAST_INSERT_ID(%d + %d)) "+
		"ON DUPLICATE KEY UPDATE next_id = LAST_INSERT_ID(GREATEST(next_id, %d) + %d)",
		t.name(), "X'"+hex.EncodeToString([]byte(key))+"'", floor, n, floor, n)
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		c, err := t.P.Get(t.Cluster)
		if err != nil {
			return 0, err
		}
		var ok wire.OK
		if err = t.ensure(c); err == nil {
			ok, err = c.Exec(q)
		}
		broken := engine.Classify(err) == engine.FaultBroken
		t.P.Put(t.Cluster, c, broken)
		if err == nil {
			return int64(ok.InsertID) - n, nil
		}
		lastErr = err
		if !broken {
			return 0, err
		}
	}
	return 0, lastErr
}
