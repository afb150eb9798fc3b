//go:build mtrdefects

package integration

// Defects found by running MariaDB's mysqltest files through the proxy
// (docs/mysqltest-suite.md) that are not fixed yet. They fail today, so
// they are kept out of make test behind a build tag:
//
//	go test -tags mtrdefects ./integration/ -run TestMtrDefect -count=1 -v

import (
	"context"
	"database/sql"
	"reflect"
	"testing"
)

// main/auto_increment.test: an INSERT that gives the AUTO_INCREMENT column
// an explicit value leaves LAST_INSERT_ID() alone in MariaDB, but the OK
// packet carries that value as its insert id, and the proxy takes every
// OK packet's insert id for LAST_INSERT_ID() (router/cursor.go Succeeded):
// SELECT LAST_INSERT_ID() answers 18446744073709551615 after an INSERT of
// -1 where MariaDB answers the last generated id (1).
func TestMtrDefectLastInsertIDAfterExplicitValue(t *testing.T) {
	e := newTxnEnv(t, "")
	if _, err := e.direct["main"].Exec("CREATE TABLE ai (a INT NOT NULL AUTO_INCREMENT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	straight, err := e.direct["main"].Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer straight.Close()
	answer := func(c *sql.Conn) [][]string {
		for _, q := range []string{"DELETE FROM ai", "INSERT INTO ai VALUES (NULL)", "INSERT INTO ai VALUES (-1)"} {
			if _, err := c.ExecContext(context.Background(), q); err != nil {
				t.Fatal(err)
			}
		}
		_, rows, err := mtrRows(t, c, "SELECT LAST_INSERT_ID() > 0 AND LAST_INSERT_ID() < 1000000")
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	want := answer(straight)
	if got := answer(e.session(t)); !reflect.DeepEqual(got, want) {
		t.Fatalf("LAST_INSERT_ID() is the last generated id after an explicit -1: proxy %v, MariaDB %v", got, want)
	}
}
