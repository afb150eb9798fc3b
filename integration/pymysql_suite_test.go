package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// Defects found by running PyMySQL's own test suite through the proxy
// (scripts/pymysql-suite.sh, docs/pymysql-suite.md).

// TestPymysqlImplicitCommitStatements: statements that MariaDB commits the
// open transaction for, but which the parser reads as something other than
// DDL (CREATE/DROP PROCEDURE, FLUSH, GRANT/REVOKE of a role), commit it
// through the proxy too. Found by PyMySQL's dbapi20 test_nextset, which
// creates a procedure under autocommit=0 after INSERTs: the proxy sent it
// into its XA branch and MariaDB refused it with 1399 XAER_RMFAIL; with
// transactions: best_effort it ran, committed main's branch and left s1's
// open, so a later ROLLBACK undid half the transaction.
//
// The expected error (none, or the backend's own, e.g. 1227 for FLUSH
// without RELOAD) is what the main primary answers to the same sequence
// directly; either way MariaDB has committed the INSERTs before the
// statement ran, so the ROLLBACK after it undoes nothing.
func TestPymysqlImplicitCommitStatements(t *testing.T) {
	ctx := context.Background()
	stmts := []struct {
		name, sql, cleanup string
		prepared           bool // also run as a server-side prepared statement (MariaDB cannot prepare the others)
	}{
		{"create procedure", "CREATE PROCEDURE py_p() BEGIN SELECT 1; SELECT 2; END", "DROP PROCEDURE IF EXISTS py_p", false},
		{"drop procedure", "DROP PROCEDURE IF EXISTS py_nothing", "", false},
		{"flush tables", "FLUSH TABLES", "", true},
		{"grant role", "GRANT py_no_role TO app", "", false},
	}
	// errOf runs sql on c (prepared or as text) and gives its error code, 0
	// for none.
	errOf := func(t *testing.T, c *sql.Conn, q string, prepared bool) uint16 {
		t.Helper()
		var err error
		if prepared {
			var ps *sql.Stmt
			if ps, err = c.PrepareContext(ctx, q); err == nil {
				_, err = ps.ExecContext(ctx)
				ps.Close()
			}
		} else {
			_, err = c.ExecContext(ctx, q)
		}
		var me *mysql.MySQLError
		if err == nil {
			return 0
		} else if errors.As(err, &me) {
			return me.Number
		}
		t.Fatalf("%s: %v", q, err)
		return 0
	}
	for _, mode := range []string{"xa", "best_effort"} {
		t.Run(mode, func(t *testing.T) {
			e := newTxnEnvTables(t, schemaMode(mode), xaRules)
			d, err := e.direct["main"].Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			c := e.session(t)
			id := 0
			for _, st := range stmts {
				for _, prepared := range []bool{false, true} {
					if prepared && !st.prepared {
						continue
					}
					for _, start := range []string{"BEGIN", "SET autocommit = 0"} {
						t.Run(fmt.Sprintf("%s/prepared=%v/%s", st.name, prepared, start), func(t *testing.T) {
							id++
							// Directly, on one server: what it answers.
							mustExec(t, d, start)
							mustExec(t, d, fmt.Sprintf("INSERT INTO notes VALUES (%d, 'direct')", 1000+id))
							want := errOf(t, d, st.sql, prepared)
							mustExec(t, d, "ROLLBACK")
							mustExec(t, d, "SET autocommit = 1")
							if n := e.count(t, "notes", fmt.Sprintf("id = %d", 1000+id)); n != 1 {
								t.Fatalf("directly, the statement did not commit the INSERT (%d rows): the test's premise is wrong", n)
							}
							if st.cleanup != "" {
								mustExec(t, d, st.cleanup)
							}
							// Through the proxy, in a transaction on two clusters.
							mustExec(t, c, start)
							mustExec(t, c, fmt.Sprintf("INSERT INTO notes VALUES (%d, 'n')", id))
							mustExec(t, c, fmt.Sprintf("INSERT INTO orders VALUES (%d, 1)", id))
							got := errOf(t, c, st.sql, prepared)
							mustExec(t, c, "ROLLBACK")
							mustExec(t, c, "SET autocommit = 1")
							if st.cleanup != "" {
								mustExec(t, c, st.cleanup)
							}
							if got != want {
								t.Errorf("error %d through the proxy, %d directly", got, want)
							}
							if n := fmt.Sprintf("%d%d", e.count(t, "notes", fmt.Sprintf("id = %d", id)), e.count(t, "orders", fmt.Sprintf("id = %d", id))); n != "11" {
								t.Errorf("rows of the transaction on main and s1 after ROLLBACK: %s, want 11 (the statement commits them first)", n)
							}
						})
					}
				}
			}
		})
	}
}
