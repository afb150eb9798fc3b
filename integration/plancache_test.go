package integration

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TestPlanCacheByShape checks the plan cache by statement shape
// (router/shapecache.go): statements that differ only in their literals
// reuse one plan without being parsed again, and answer exactly as ref,
// one MariaDB holding the same rows — on the schema's cluster and on
// another (business split), as text with the values written in (what
// ORMs and interpolating drivers send) and prepared, under sql_modes that
// change how a literal reads, inside a transaction that sees its own
// rows, beside a temporary table of the same name in one session and not
// in another, from concurrent clients, and after DDL empties the cache.
func TestPlanCacheByShape(t *testing.T) {
	name := databaseOnPrimaries(t, "txn_pc")
	p := startProxy(t, fmt.Sprintf(`
  %s:
    cluster: main
    tables:
      far: {cluster: s1}
      sh:
        shard: {by: hash, column: id, tables: 4, clusters: [s0, s1]}
`, name))
	ref := direct(t, refServer, "")
	if _, err := ref.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Exec("DROP DATABASE IF EXISTS " + name) })
	ref = direct(t, refServer, name)
	db := p.open(t, name)
	cols := "(id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, v DECIMAL(10,2))"
	names := []string{`a\`, "O'Neil", "Ünï", "apple", "APPLE", `b\'c`, "", "zed"}
	var rows []string
	for i := 1; i <= 40; i++ {
		v := "NULL"
		if i%7 != 0 {
			v = fmt.Sprintf("%d.%02d", i*3, i%100)
		}
		rows = append(rows, fmt.Sprintf("(%d, '%s', %s)", i, strings.ReplaceAll(strings.ReplaceAll(names[i%len(names)], `\`, `\\`), "'", "''"), v))
	}
	for _, table := range []string{"u", "far", "sh"} {
		for _, target := range []*sql.DB{db, ref} {
			for _, q := range []string{"CREATE TABLE " + table + " " + cols, "INSERT INTO " + table + " VALUES " + strings.Join(rows, ", ")} {
				if _, err := target.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
	}

	// Shapes with three sets of values each; %[1]s is the table.
	shapes := []struct {
		text string
		args [][]any
	}{
		{"SELECT name, v FROM %[1]s WHERE id = %[2]d", [][]any{{1}, {17}, {99}}},
		{"SELECT id FROM %[1]s WHERE name = '%[2]s' ORDER BY id", [][]any{{"apple"}, {"O''Neil"}, {"ÜNÏ"}}},
		{"SELECT id FROM %[1]s WHERE name = 'a\\\\' OR name = '%[2]s' ORDER BY id", [][]any{{"zed"}, {"apple"}, {"x"}}},
		{"SELECT COUNT(*), SUM(v) FROM %[1]s WHERE id BETWEEN %[2]d AND %[3]d", [][]any{{1, 10}, {5, 40}, {30, 31}}},
		{"SELECT id, v * %[2]s FROM %[1]s WHERE v > %[2]s ORDER BY 1 LIMIT %[3]d", [][]any{{"10.5", 3}, {"50.25", 5}, {"0.01", 1}}},
		{"SELECT id, 'lit', %[2]d FROM %[1]s WHERE id IN (%[2]d, %[3]d) ORDER BY id", [][]any{{2, 3}, {8, 9}, {40, 41}}},
	}
	modes := []string{"", "ANSI_QUOTES,NO_BACKSLASH_ESCAPES"}
	ctx := context.Background()
	hits0, _, _ := p.router.PlanCacheStats()
	for _, mode := range modes {
		pc, rc := connsInMode(t, ctx, db, ref, mode)
		for _, table := range []string{"u", "far", "sh"} {
			for _, sh := range shapes {
				for _, args := range sh.args {
					q := fmt.Sprintf(sh.text, append([]any{table}, args...)...)
					want, werr := queryText(ctx, rc, q)
					got, gerr := queryText(ctx, pc, q)
					if fmt.Sprint(werr) != fmt.Sprint(gerr) || got != want {
						t.Errorf("mode %q: %s\nproxy: %q %v\nref:   %q %v", mode, q, got, gerr, want, werr)
					}
				}
			}
		}
		pc.Close()
		rc.Close()
	}
	hits1, _, _ := p.router.PlanCacheStats()
	// Per mode, every shape of u and far runs three times: the first
	// learns, the other two hit; of sh's shapes, the one pinned to one
	// table by its key (the first) does too.
	if wantHits := uint64(len(modes) * (2*len(shapes) + 1) * 2); hits1-hits0 < wantHits {
		t.Errorf("plan cache hits %d, want at least %d", hits1-hits0, wantHits)
	}

	// The sharded table's point shapes, every key (and so every physical
	// table), reads and writes, answer as ref does.
	for _, q := range []string{"SELECT name, v FROM sh WHERE id = %d", "SELECT COUNT(*) FROM sh WHERE id = %d AND v > 1.5", "UPDATE sh SET v = v + 1 WHERE id = %d", "SELECT v FROM sh WHERE id IN (%d) FOR UPDATE"} {
		for id := 0; id <= 42; id++ {
			text := fmt.Sprintf(q, id)
			if strings.HasPrefix(text, "UPDATE") {
				r1, err1 := db.Exec(text)
				r2, err2 := ref.Exec(text)
				if fmt.Sprint(err1) != fmt.Sprint(err2) {
					t.Fatalf("%s: proxy %v, ref %v", text, err1, err2)
				}
				n1, _ := r1.RowsAffected()
				n2, _ := r2.RowsAffected()
				if n1 != n2 {
					t.Errorf("%s: proxy changed %d rows, ref %d", text, n1, n2)
				}
				continue
			}
			want, werr := queryText(ctx, ref, text)
			got, gerr := queryText(ctx, db, text)
			if fmt.Sprint(werr) != fmt.Sprint(gerr) || got != want {
				t.Errorf("%s\nproxy: %q %v\nref:   %q %v", text, got, gerr, want, werr)
			}
		}
	}
	// Texts of one point shape whose string literals try to leave their
	// quotes (or, under the other sql_mode, do leave them): each must be
	// answered as ref answers the same text, error or rows.
	hostile := []string{"a`b", "x` FROM u; --", "a'' OR ''1''=''1", `a\' OR 1=1 -- `, `*/ UNION SELECT 1 /*`, `\`, "é`"}
	for _, mode := range modes {
		pc, rc := connsInMode(t, ctx, db, ref, mode)
		for i, h := range append([]string{"plain"}, hostile...) {
			q := fmt.Sprintf("SELECT id, name FROM sh WHERE id = %d AND name <> '%s'", 1+i%8, h)
			want, werr := queryText(ctx, rc, q)
			got, gerr := queryText(ctx, pc, q)
			// Unordered (a comment may swallow an ORDER BY): as multisets.
			if (werr == nil) != (gerr == nil) || sortedText(got) != sortedText(want) {
				t.Errorf("mode %q: %s\nproxy: %q %v\nref:   %q %v", mode, q, got, gerr, want, werr)
			}
		}
		pc.Close()
		rc.Close()
	}
	if got, err := queryText(ctx, db, "SELECT SUM(v) FROM sh"); err != nil {
		t.Fatal(err)
	} else if want, _ := queryText(ctx, ref, "SELECT SUM(v) FROM sh"); got != want {
		t.Errorf("after the point UPDATEs: proxy sum %q, ref %q", got, want)
	}

	// Prepared statements run through the same path with their values
	// bound into the text.
	for _, table := range []string{"u", "far"} {
		for _, id := range []int{3, 11, 12} {
			q := "SELECT name, v FROM " + table + " WHERE id = ?"
			var gn, wn sql.NullString
			var gv, wv sql.NullString
			if err := db.QueryRow(q, id).Scan(&gn, &gv); err != nil {
				t.Fatal(err)
			}
			if err := ref.QueryRow(q, id).Scan(&wn, &wv); err != nil {
				t.Fatal(err)
			}
			if gn != wn || gv != wv {
				t.Errorf("prepared %s (%d): proxy %v %v, ref %v %v", q, id, gn, gv, wn, wv)
			}
		}
	}

	// A transaction sees its own uncommitted row through a cached shape,
	// and not after rolling back.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"u", "far", "sh"} {
		if _, err := tx.Exec("INSERT INTO " + table + " VALUES (100, 'txn', 1.00)"); err != nil {
			t.Fatal(err)
		}
		if got, err := queryText(ctx, tx, "SELECT name, v FROM "+table+" WHERE id = 100"); err != nil || got != "txn|1.00;" {
			t.Errorf("%s in the transaction: %q %v, want its own row", table, got, err)
		}
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"u", "far", "sh"} {
		if got, err := queryText(ctx, db, "SELECT name, v FROM "+table+" WHERE id = 100"); err != nil || got != "" {
			t.Errorf("%s after ROLLBACK: %q %v, want no row", table, got, err)
		}
	}

	// A temporary table named u hides the table in its session only.
	a, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, q := range []string{"CREATE TEMPORARY TABLE u (id INT, name VARCHAR(20), v DECIMAL(10,2))", "INSERT INTO u VALUES (2, 'temporary', 0.50)"} {
		if _, err := a.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	realRow, err := queryText(ctx, ref, "SELECT name, v FROM u WHERE id = 2")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := queryText(ctx, a, "SELECT name, v FROM u WHERE id = 2"); err != nil || got != "temporary|0.50;" {
		t.Errorf("session with a temporary u: %q %v, want the temporary row", got, err)
	}
	if got, err := queryText(ctx, db, "SELECT name, v FROM u WHERE id = 2"); err != nil || got != realRow {
		t.Errorf("another session: %q %v, want the table's row %q", got, err, realRow)
	}

	// Concurrent clients on cached shapes, each id's answer known.
	want := map[string]string{}
	for _, table := range []string{"u", "sh"} {
		for id := 1; id <= 40; id++ {
			q := fmt.Sprintf("SELECT name, v FROM %s WHERE id = %d", table, id)
			w, err := queryText(ctx, ref, q)
			if err != nil {
				t.Fatal(err)
			}
			want[q] = w
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				q := fmt.Sprintf("SELECT name, v FROM %s WHERE id = %d", []string{"u", "sh"}[i%2], 1+(g*53+i*7)%40)
				got, err := queryText(ctx, db, q)
				if err != nil || got != want[q] {
					select {
					case errs <- fmt.Sprintf("client %d, %s: %q %v, want %q", g, q, got, err, want[q]):
					default:
					}
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	// DDL through the proxy empties the cache; the next statement plans
	// afresh and sees the new column.
	if _, err := db.Exec("ALTER TABLE u ADD COLUMN extra INT DEFAULT 7"); err != nil {
		t.Fatal(err)
	}
	if _, _, plans := p.router.PlanCacheStats(); plans != 0 {
		t.Errorf("after ALTER TABLE the plan cache holds %d plans, want 0", plans)
	}
	if got, err := queryText(ctx, db, "SELECT * FROM u WHERE id = 3"); err != nil || !strings.HasSuffix(got, "|7;") {
		t.Errorf("after ALTER TABLE: %q %v, want the new column", got, err)
	}
}

// connsInMode pins one connection of each of a and b, both in sql_mode
// mode.
func connsInMode(t *testing.T, ctx context.Context, a, b *sql.DB, mode string) (*sql.Conn, *sql.Conn) {
	t.Helper()
	var out [2]*sql.Conn
	for i, db := range []*sql.DB{a, b} {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(ctx, "SET sql_mode = '"+mode+"'"); err != nil {
			t.Fatal(err)
		}
		out[i] = c
	}
	return out[0], out[1]
}

// sortedText is queryText's output with its rows sorted.
func sortedText(s string) string {
	rows := strings.Split(s, ";")
	sort.Strings(rows)
	return strings.Join(rows, ";")
}

// queryer is a *sql.DB, *sql.Conn or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// queryText runs q and prints its rows as "a|b;c|d;" (NULL as \N).
func queryText(ctx context.Context, db queryer, q string) (string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('|')
			}
			if v == nil {
				b.WriteString(`\N`)
			} else {
				b.Write(v)
			}
		}
		b.WriteByte(';')
	}
	return b.String(), rows.Err()
}
