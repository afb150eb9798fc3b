package integration

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A batched split INSERT in an xa schema whose connection on one cluster,
// or on both, breaks mid-batch (killed here; a server leaving rotation
// cuts connections the same way): the broken batch ends the transaction,
// which rolls back the other branch and gives its connection back (or
// closes it when it broke too). Settling the other batch after that must
// not give its connection back a second time: the pool would hold it
// twice and lend it to two sessions, or free its slot twice. Nothing is
// written, the proxy serves the next statements, and the harness checks
// that no pool saw a connection come back twice (startProxyLog's cleanup).
func TestRaceBatchBranchBroken(t *testing.T) {
	for _, broken := range [][]string{{"s0"}, {"s1"}, {"s0", "s1"}} {
		t.Run(strings.Join(broken, "+"), func(t *testing.T) { raceBatchBranchBroken(t, broken) })
	}
}

func raceBatchBranchBroken(t *testing.T, broken []string) {
	db := uniqueName("txn_race")
	_, px, _ := loadSchema(t, db)
	ctx := context.Background()
	// Lock every physical table of items on the broken clusters'
	// primaries, so that the proxy's batch there waits, after its XA
	// START.
	var lockers []*sql.Conn
	for _, cl := range broken {
		d := direct(t, primaries[cl], db)
		rows, err := d.Query("SHOW TABLES LIKE 'items%'")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, "`"+n+"` WRITE")
		}
		rows.Close()
		if len(names) == 0 {
			t.Fatalf("%s: no physical tables of items", cl)
		}
		c, err := d.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, "LOCK TABLES "+strings.Join(names, ", ")); err != nil {
			t.Fatal(err)
		}
		lockers = append(lockers, c)
	}
	var values []string
	for i := 1; i <= 40; i++ {
		values = append(values, fmt.Sprintf("(%d,%d,'r')", i, i))
	}
	done := make(chan error, 1)
	go func() {
		_, err := px.Exec("INSERT INTO items (id, k, body) VALUES " + strings.Join(values, ","))
		done <- err
	}()
	// Kill the proxy's waiting INSERT connections.
	for _, cl := range broken {
		d := direct(t, primaries[cl], db)
		var id int64
		eventually(t, 10*time.Second, cl+": the proxy's INSERT waits for the lock", func() bool {
			return d.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'INSERT%' LIMIT 1", db).Scan(&id) == nil
		})
		if _, err := d.Exec(fmt.Sprintf("KILL CONNECTION %d", id)); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the INSERT did not end after its connections were killed")
	}
	for _, c := range lockers {
		c.ExecContext(ctx, "UNLOCK TABLES")
	}
	if err == nil {
		t.Fatal("an INSERT whose connections were killed succeeded")
	}
	// The proxy goes on: nothing of the broken INSERT stayed, and the
	// same INSERT now runs.
	var n int
	scan(t, px, "SELECT COUNT(*) FROM items", &n)
	if n != 0 {
		t.Fatalf("%d rows of the broken INSERT stayed", n)
	}
	if _, err := px.Exec("INSERT INTO items (id, k, body) VALUES " + strings.Join(values, ",")); err != nil {
		t.Fatal(err)
	}
	scan(t, px, "SELECT COUNT(*) FROM items", &n)
	if n != len(values) {
		t.Fatalf("%d rows, want %d", n, len(values))
	}
}
