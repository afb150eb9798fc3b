package integration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 12, item 3: SQL hidden in executable comments (/*M! … */ and
// friends), which the server runs and TiDB's parser ignored, or comments the
// server ignores and TiDB's parser ran. Each attack goes through the proxy;
// the proxy must read the statement as the server does.
func TestExecutableCommentsAttacks(t *testing.T) {
	e := newTxnEnv(t, "")
	ctx := context.Background()
	c := e.session(t)
	for p := 1; p <= 20; p++ {
		mustExec(t, c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (%d, %d, 'ok')", p, p))
	}
	mustExec(t, c, "INSERT INTO orders (id, total) VALUES (1, 10), (2, 20)")
	mustExec(t, c, "INSERT INTO notes (id, body) VALUES (1, 'note')")

	t.Run("union into an undeclared schema", func(t *testing.T) {
		secret := e.db + "_secret"
		root := direct(t, mainPrimary, "")
		for _, q := range []string{"CREATE DATABASE " + secret, "CREATE TABLE " + secret + ".creds (pw VARCHAR(20))", "INSERT INTO " + secret + ".creds VALUES ('hunter2')"} {
			if _, err := root.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		t.Cleanup(func() { root.Exec("DROP DATABASE IF EXISTS " + secret) })
		syncReplicas(t)
		for _, q := range []string{
			"SELECT body FROM notes WHERE 1=0 /*M! UNION SELECT pw FROM " + secret + ".creds */",
			"SELECT body FROM notes WHERE 1=0 /*M!100000 UNION SELECT pw FROM " + secret + ".creds */",
		} {
			var got []string
			rows, err := c.QueryContext(ctx, q)
			if err == nil {
				for rows.Next() {
					var s string
					rows.Scan(&s)
					got = append(got, s)
				}
				err = rows.Err()
				rows.Close()
			}
			if err == nil || len(got) > 0 {
				t.Errorf("%s: rows %q, err %v; want it refused", q, got, err)
			}
		}
	})

	t.Run("comments the server skips do not run", func(t *testing.T) {
		// TiDB's parser ran /*!99999 and /*T! text; the rewritten statement
		// for the sharded table then deleted every row.
		for i, q := range []string{
			"DELETE FROM comments WHERE product_id=3 /*!99999 OR 1=1 */",
			"DELETE FROM comments WHERE product_id=4 /*T! OR 1=1 */",
			"DELETE FROM comments WHERE product_id=5 /*M!999999 OR 1=1 */",
			"DELETE FROM comments WHERE product_id=6 /*!50700 OR 1=1 */",
		} {
			res, err := c.ExecContext(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Errorf("%s: %d rows affected, want 1", q, n)
			}
			if n := e.count(t, "comments", "1=1"); n != 20-(i+1) {
				t.Fatalf("after %s: %d rows remain, want %d", q, n, 20-(i+1))
			}
		}
	})

	t.Run("hidden multi-table update into a physical table", func(t *testing.T) {
		before := e.count(t, "comments", "body='pwned'")
		_, err := c.ExecContext(ctx, "UPDATE orders /*M! , comments_1 */ SET orders.total=orders.total /*M! , comments_1.body='pwned' */ WHERE orders.id=1")
		if err == nil {
			t.Error("the hidden multi-table UPDATE was accepted")
		}
		if n := e.count(t, "comments", "body='pwned'"); n != before {
			t.Errorf("%d rows of comments_1 rewritten behind the proxy's back", n-before)
		}
	})

	t.Run("hidden user variable is carried", func(t *testing.T) {
		// The value must follow the session onto another cluster's
		// connection (orders lives on s1), which it does only when the
		// proxy saw the assignment.
		for _, tc := range []struct{ set, name string }{
			{"SELECT 1 /*M! , @hidden_a:=5 */", "@hidden_a"},
			{"SELECT 1 /*M!100000 , @hidden_b:=6 */", "@hidden_b"},
			{"SELECT 1 /*! , @hidden_c:=7 */", "@hidden_c"},
		} {
			rows, err := c.QueryContext(ctx, tc.set)
			if err != nil {
				t.Fatalf("%s: %v", tc.set, err)
			}
			rows.Close()
			var v sql.NullInt64
			var n int
			scan(t, c, "SELECT "+tc.name+", COUNT(*) FROM orders", &v, &n)
			if !v.Valid {
				t.Errorf("after %s: %s is NULL on another connection: the assignment was not tracked", tc.set, tc.name)
			}
		}
	})

	t.Run("hidden GET_LOCK keeps the connection", func(t *testing.T) {
		lock := uniqueName("hidden_lock")
		rows, err := c.QueryContext(ctx, "SELECT 1 /*M! , GET_LOCK('"+lock+"', 0) */")
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
		// The lock is held on the primary (a plain SELECT would have run on
		// a replica) ...
		var free sql.NullInt64
		scan(t, direct(t, mainPrimary, ""), "SELECT IS_FREE_LOCK('"+lock+"')", &free)
		if !free.Valid || free.Int64 != 0 {
			t.Errorf("IS_FREE_LOCK on the primary = %v, want 0 (held)", free)
		}
		// ... by the session's own connection, after other statements.
		var body string
		scan(t, c, "SELECT body FROM notes WHERE id=1", &body)
		var released sql.NullInt64
		scan(t, c, "SELECT RELEASE_LOCK('"+lock+"')", &released)
		if !released.Valid || released.Int64 != 1 {
			t.Errorf("RELEASE_LOCK = %v, want 1: the session lost the connection holding its lock", released)
		}
	})

	t.Run("delete with a running comment is the server's delete", func(t *testing.T) {
		// The server deletes every row of a table for this statement; the
		// proxy, now reading the OR 1=1, sends it to every shard instead of
		// only product -1's table (whose rewritten text had dropped the
		// comment), and reports what was deleted.
		for p := 101; p <= 108; p++ {
			mustExec(t, c, fmt.Sprintf("INSERT INTO comments (id, product_id, body) VALUES (%d, %d, 'ok')", p, p))
		}
		n := e.count(t, "comments", "1=1")
		res, err := c.ExecContext(ctx, "DELETE FROM comments WHERE product_id=-1 /*M! OR 1=1 */")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := res.RowsAffected(); got != int64(n) {
			t.Errorf("%d rows affected, want %d", got, n)
		}
		if left := e.count(t, "comments", "1=1"); left != 0 {
			t.Errorf("%d rows left on shards the proxy did not reach", left)
		}
	})

	t.Run("unterminated executable comment is refused", func(t *testing.T) {
		for _, q := range []string{"DELETE FROM orders WHERE id=-1 /*M! OR 1=1", "SELECT 1 /*! , 2 ; DELETE FROM orders */"} {
			_, err := c.ExecContext(ctx, q)
			if err == nil {
				t.Fatalf("%s: accepted", q)
			}
			if code, _, _ := mysqlErr(t, err); code != 1064 {
				t.Errorf("%s: error %v, want 1064", q, err)
			}
		}
		if n := e.count(t, "orders", "1=1"); n != 2 {
			t.Errorf("%d orders left, want 2", n)
		}
	})
}

// A prepared statement's text is expanded at PREPARE, so its parameters and
// routing are those of the text the server runs.
func TestExecutableCommentsPrepared(t *testing.T) {
	e := newTxnEnv(t, "")
	ctx := context.Background()
	c := e.session(t)
	mustExec(t, c, "INSERT INTO orders (id, total) VALUES (1, 10), (2, 20)")
	var total, n int
	// Server-side prepared (go-sql-driver prepares when given arguments),
	// on the session that wrote the rows: read-your-writes is per client
	// connection, and another pooled connection may read a replica that
	// has not applied them yet.
	if err := c.QueryRowContext(ctx, "SELECT total /*M! , ? */ FROM orders WHERE id = ?", 7, 2).Scan(&total, &n); err != nil {
		t.Fatal(err)
	}
	if total != 20 || n != 7 {
		t.Errorf("got %d, %d; want 20, 7", total, n)
	}
}

// mariadb-dump output is full of /*!40101 … */ and /*M!… */ comments: a
// dump of the demo's unsharded schema restores through the proxy, and the
// restored tables have the source's checksums.
func TestMariadbDumpRestoresThroughProxy(t *testing.T) {
	e := newTxnEnv(t, "")
	src := e.db + "_src"
	root := direct(t, mainPrimary, "")
	if _, err := root.Exec("CREATE DATABASE " + src); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Exec("DROP DATABASE IF EXISTS " + src) })
	demo, err := os.ReadFile("../testdata/demo.sql")
	if err != nil {
		t.Fatal(err)
	}
	srcDB := direct(t, mainPrimary, src)
	for _, q := range strings.Split(string(demo), ";") {
		if strings.TrimSpace(stripLineComments(q)) == "" {
			continue
		}
		if _, err := srcDB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	dump, err := runCmd(t, time.Minute, "mariadb-dump", "--no-defaults", "-h127.0.0.1", "-P3310", "-uapp", "-papp",
		"--single-transaction", "--skip-lock-tables", src)
	if err != nil {
		t.Fatalf("mariadb-dump: %v\n%s", err, dump)
	}
	if !strings.Contains(dump, "/*!40101") {
		t.Fatalf("the dump has no executable comments:\n%s", dump)
	}
	file := filepath.Join(t.TempDir(), "dump.sql")
	if err := os.WriteFile(file, []byte(dump), 0o600); err != nil {
		t.Fatal(err)
	}
	// --comments: the client sends every comment as written, so the proxy
	// sees the dump exactly as mariadb-dump wrote it.
	out, err := runCmd(t, time.Minute, "sh", "-c", "mariadb --no-defaults --comments -h127.0.0.1 -P"+e.p.port()+" -uapp -papp "+e.db+" < "+file)
	if err != nil {
		t.Fatalf("restore through the proxy: %v\n%s", err, out)
	}
	for _, table := range []string{"products", "users"} {
		var name string
		var want, got sql.NullInt64
		scan(t, root, "CHECKSUM TABLE "+src+"."+table, &name, &want)
		scan(t, root, "CHECKSUM TABLE "+e.db+"."+table, &name, &got)
		if !want.Valid || want != got {
			t.Errorf("%s: checksum %v restored, %v at the source", table, got, want)
		}
	}
}

// stripLineComments drops -- comment lines, so a script's leading comment
// is not taken for a statement.
func stripLineComments(s string) string {
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}
