package integration

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// The second adversarial review of expressions over merged aggregates,
// subqueries run first and ORDER BY aliases: each statement's answer
// through the proxy against ref's, one server holding the same rows.
func TestReview2Differential(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	loadPicks(t, e)
	// Three rows of one group spread over products (so over physical
	// tables): SUM(qty)/COUNT(*) is 2/3, COUNT(*) is 3 where every table
	// counts fewer.
	e.both("INSERT INTO items (id, product_id, name, price, qty, created, score) VALUES " +
		"(9001, 1, 'r2grp', 1.00, 1, '2026-03-01 10:00:00', 1.5), (9002, 2, 'r2grp', 1.00, 1, '2026-03-04 10:00:00', 2.5), (9003, 3, 'r2grp', 1.00, 0, '2026-03-09 10:00:00', 3.5)")
	e.both("DROP TABLE IF EXISTS r2_vals")
	e.both("CREATE TABLE r2_vals (id INT PRIMARY KEY, y YEAR, s VARCHAR(40))")
	e.dropAtEnd("r2_vals")
	e.both("INSERT INTO r2_vals VALUES (1, 2026, '__shardgate_subquery_1__'), (2, NULL, 'APPLE')")
	syncReplicas(t)

	same := []string{
		// Temporal values in arithmetic are their digits.
		"SELECT name, MAX(DATE(created)) - MIN(DATE(created)) FROM items WHERE name = 'r2grp' GROUP BY name",
		"SELECT name, MAX(created) - MIN(created) FROM items WHERE name = 'r2grp' GROUP BY name",
		// HAVING compares the column's rounded 0.6667, as MariaDB does.
		"SELECT name, SUM(qty)/COUNT(*) AS r FROM items WHERE name = 'r2grp' GROUP BY name HAVING r > 0.66667",
		"SELECT name, SUM(qty)/COUNT(*) FROM items WHERE name = 'r2grp' GROUP BY name HAVING SUM(qty)/COUNT(*) > 0.66667",
		"SELECT name, SUM(qty)/COUNT(*) FROM items WHERE name = 'r2grp' GROUP BY name HAVING SUM(qty)/COUNT(*) > 0.6666",
		// An alias inside an ORDER BY expression named like a column is
		// the column.
		"SELECT id, -qty AS qty FROM items WHERE qty IS NOT NULL ORDER BY qty + 0, id LIMIT 10",
		// In GROUP BY too.
		"SELECT qty DIV 5 AS qty, COUNT(*) FROM items GROUP BY qty",
		// Doubles beyond 1e6 and below 1e-4 written as MariaDB writes them.
		"SELECT SUM(score * 100000) FROM items",
		"SELECT SUM(score) * 100000, SUM(score) / 10000000000 FROM items",
		// YEAR values written in a subquery's place compare as numbers.
		"SELECT COUNT(*) FROM items WHERE YEAR(created) IN (SELECT y FROM r2_vals)",
		"SELECT COUNT(*) FROM items WHERE YEAR(created) = (SELECT MAX(y) FROM r2_vals)",
		// A value spelled like another subquery's marker stays a value.
		"SELECT COUNT(*) FROM items WHERE name IN (SELECT s FROM r2_vals) OR EXISTS (SELECT 1 FROM picks WHERE id = 99)",
	}
	for _, q := range same {
		if d := diff(e.proxy, e.ref, q); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
	}

	// Both refuse alike.
	for q, code := range map[string]uint16{
		// Each table's count times this fits a BIGINT, the merged 3 not.
		"SELECT name, COUNT(*) * 3074457345618258603 FROM items WHERE name = 'r2grp' GROUP BY name": 1690,
		"SELECT COUNT(*) FROM items WHERE product_id IN (SELECT product_id FROM picks LIMIT 2)":     1235,
		// An aggregate's alias inside an ORDER BY expression (MariaDB's
		// 1247; the shards had answered it).
		"SELECT product_id, COUNT(*) AS n FROM items GROUP BY product_id ORDER BY n + 1 DESC, product_id LIMIT 3": 1247,
		// A misspelt column is no correlation: 1054, not 1235.
		"SELECT COUNT(*) FROM items WHERE product_id IN (SELECT idd FROM picks)": 1054,
	} {
		p, r := query(e.proxy, q), query(e.ref, q)
		if r2Code(p.err) != code || r2Code(r.err) != code {
			t.Errorf("%s\n    proxy %v, ref %v; want %d from both", q, p.err, r.err, code)
		}
	}

	// Answered as ref does, or refused (1235) where the proxy cannot: never
	// another answer, nor a dropped connection.
	for _, q := range []string{
		"WITH h AS (SELECT product_id FROM picks WHERE note = 'hot') SELECT COUNT(*) FROM items WHERE product_id IN (SELECT product_id FROM h)",
		"SELECT COUNT(*) FROM items WHERE (product_id, 1) = (SELECT product_id, 1 FROM picks WHERE id = 1)",
		"WITH items AS (SELECT * FROM items WHERE product_id = 4) SELECT COUNT(*) FROM items",
		// (SELECT COUNT(*) …) orders by a constant, (6) by a sixth column.
		"SELECT id, qty FROM items WHERE qty > 20 ORDER BY (SELECT COUNT(*) FROM picks), id",
	} {
		if p := query(e.proxy, q); r2Code(p.err) != 1235 {
			if d := diff(e.proxy, e.ref, q); d != "" {
				t.Errorf("%s\n    %s", q, d)
			}
		}
		if r := query(e.proxy, "SELECT 1"); r.err != nil {
			t.Fatalf("after %s: %v", q, r.err)
		}
	}

	// SELECT … INTO @n sets @n, or is refused: its subquery run first, the
	// statement written again from its tree lost the clause and answered
	// a row.
	ctx := context.Background()
	into := "SELECT COUNT(*) INTO @r2n FROM items WHERE product_id IN (SELECT product_id FROM picks)"
	for name, db := range map[string]*sql.DB{"proxy": e.proxy, "ref": e.ref} {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.ExecContext(ctx, into)
		var got sql.NullInt64
		if err == nil {
			err = conn.QueryRowContext(ctx, "SELECT @r2n").Scan(&got)
		}
		conn.Close()
		var want int64
		if err := e.ref.QueryRow("SELECT COUNT(*) FROM items WHERE product_id IN (SELECT product_id FROM picks)").Scan(&want); err != nil {
			t.Fatal(err)
		}
		if !(err == nil && got.Valid && got.Int64 == want) && !(name == "proxy" && r2Code(err) == 1235) {
			t.Errorf("%s: %s: @r2n %v (%v), want %d", name, into, got, err, want)
		}
	}
}

func r2Code(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}
