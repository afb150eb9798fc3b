package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestReviewAnsweredOrRefused runs statements the read push-downs once
// answered wrongly (planner/testdata/review.sql says why each was wrong)
// through the proxy and on ref: each must give ref's rows or be refused
// with 1235, never other rows. A second list must be answered, so that
// refusing everything does not pass.
func TestReviewAnsweredOrRefused(t *testing.T) {
	e := newShardEnv(t)
	loadItems(t, e)
	// NULL keys live in items_0; 1000 (product 1, items_3) and 1002
	// (product 4, items_0) are the rows before two of them; 1004 (product
	// 1) the one before 1005 (product 4).
	e.both("ALTER TABLE items MODIFY product_id INT NULL")
	e.both("INSERT INTO items (id, product_id, qty) VALUES (1000, 1, 5), (1001, NULL, 5), (1002, 4, 5), (1003, NULL, 21), (1004, 1, 5), (1005, 4, 5)")
	// Payments of one second by six users: one hour bucket, up to four
	// physical tables (user_id is hashed within the hour).
	e.both("DROP TABLE IF EXISTS payments")
	e.both("CREATE TABLE payments (id BIGINT PRIMARY KEY, user_id INT NOT NULL, created_at DATETIME NOT NULL, amount DECIMAL(10,2))")
	e.dropAtEnd("payments")
	var vals []string
	for id := 1; id <= 24; id++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, '2026-11-20 10:%02d:00', %d.00)", id, id%6+1, id%4, id))
	}
	e.both("INSERT INTO payments (id, user_id, created_at, amount) VALUES " + strings.Join(vals, ", "))
	// regions is global (every cluster has all rows); comment_likes shares
	// items' rule, its rows all of product 1 (items_3) with the ids of
	// items 1..20 (heavy products, items_0).
	for _, q := range []string{"DROP TABLE IF EXISTS regions", "CREATE TABLE regions (id INT PRIMARY KEY, name VARCHAR(40))",
		"DROP TABLE IF EXISTS comment_likes", "CREATE TABLE comment_likes (id INT PRIMARY KEY, product_id INT NOT NULL)"} {
		e.both(q)
	}
	e.dropAtEnd("regions", "comment_likes")
	e.both("INSERT INTO regions (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (30, 'none')")
	vals = nil
	for id := 1; id <= 20; id++ {
		vals = append(vals, fmt.Sprintf("(%d, 1)", id))
	}
	e.both("INSERT INTO comment_likes (id, product_id) VALUES " + strings.Join(vals, ", "))
	syncReplicas(t)

	refusedOrSame := []string{
		// The preserved side of an outer join reads no sharded table:
		// every shard returns the rows it does not join.
		"SELECT r.id, i.id FROM regions r LEFT JOIN items i ON i.qty = r.id",
		"SELECT t.id, i.id FROM (SELECT id FROM regions) t LEFT JOIN items i ON i.qty = t.id",
		// A window partitioned by the key of a RIGHT JOIN's inner side:
		// its NULL partition spans every physical table.
		"SELECT b.id, COUNT(*) OVER (PARTITION BY a.product_id) FROM items a RIGHT JOIN items b ON a.product_id = b.product_id AND a.id = b.id + 1000",
		// Co-located tables whose key equality is under OR or NOT.
		"SELECT i.id, l.id FROM items i JOIN comment_likes l ON i.id = l.id WHERE i.product_id = l.product_id OR i.id = 1",
		"SELECT i.id, l.id FROM items i JOIN comment_likes l ON i.id = l.id WHERE NOT (i.product_id = l.product_id)",
		// The equality sits in the ON of an outer join that is not between a and b.
		"SELECT a.id, b.id FROM items a LEFT JOIN items b ON a.id = b.id + 1 LEFT JOIN (SELECT 1 AS x) r ON r.x = 1 AND a.product_id = b.product_id",
		// Equal times are several physical tables of an hourly table.
		"SELECT a.id, b.id FROM payments a JOIN payments b ON a.created_at = b.created_at",
		"SELECT a.id, b.id FROM payments a JOIN payments b USING (created_at)",
		// IN is NULL, not false, where the subquery gives a NULL (items_0).
		"SELECT i.id, i.product_id IN (SELECT j.product_id FROM items j WHERE j.qty > 20 OR j.product_id IS NULL) FROM items i",
		"SELECT i.id FROM items i WHERE NOT (i.product_id IN (SELECT j.product_id FROM items j WHERE j.qty > 20 OR j.product_id IS NULL))",
		// A LEFT JOIN's inner side pinned by IS NULL.
		"SELECT a.id FROM items a LEFT JOIN items b ON a.id = b.id + 1 WHERE a.product_id IS NULL AND b.product_id IS NULL",
		"SELECT a.id FROM items a LEFT JOIN items b ON a.id = b.id + 1 WHERE a.product_id = 4 AND (b.product_id = 4 OR b.product_id IS NULL)",
		// A common table expression named like the table.
		"SELECT id FROM items c WHERE EXISTS (WITH items AS (SELECT 4 AS product_id) SELECT 1 FROM items WHERE items.product_id = c.product_id)",
	}
	for _, q := range refusedOrSame {
		p, r := query(e.proxy, q), query(e.ref, q)
		if r.err != nil {
			t.Fatalf("ref: %s: %v", q, r.err)
		}
		var me *mysql.MySQLError
		if p.err != nil {
			if !errors.As(p.err, &me) || me.Number != 1235 {
				t.Errorf("%s: %v, want ref's rows or 1235", q, p.err)
			}
			continue
		}
		if ps, rs := fmt.Sprint(sortedRows(p.rows)), fmt.Sprint(sortedRows(r.rows)); ps != rs {
			t.Errorf("%s: answered wrongly: proxy %d rows, ref %d rows", q, len(p.rows), len(r.rows))
		}
	}

	// In ref's order (GROUP BY orders the groups by the column), or 1235.
	q := "SELECT MIN(qty) AS product_id, COUNT(*) FROM items GROUP BY product_id"
	if d := diff(e.proxy, e.ref, q); d != "" && !strings.Contains(d, "Error 1235") {
		t.Errorf("%s\n    %s", q, d)
	}

	for _, q := range []string{
		"SELECT MIN(qty) AS product_id, COUNT(*) FROM items GROUP BY items.product_id",
		// Its NULL group gathers rows of every table: merged, not local.
		"SELECT a.product_id, COUNT(*) FROM items a RIGHT JOIN items b ON a.product_id = b.product_id AND a.id < b.id - 100 GROUP BY a.product_id",
		"SELECT a.id, b.id FROM payments a JOIN payments b ON a.created_at = b.created_at AND a.user_id = b.user_id",
		"SELECT i.id FROM items i WHERE i.qty > 3 AND i.product_id IN (SELECT j.product_id FROM items j WHERE j.qty > 20 OR j.product_id IS NULL)",
		"SELECT a.id, b.id FROM items a LEFT JOIN items b ON a.id = b.id + 1 JOIN (SELECT 1 AS x) r ON r.x = 1 AND a.product_id = b.product_id",
		"SELECT i.id, r.name FROM items i LEFT JOIN regions r ON r.id = i.qty",
		"SELECT i.id, l.id FROM items i JOIN comment_likes l ON i.product_id = l.product_id AND i.id = l.id",
	} {
		if d := diff(e.proxy, e.ref, q); d != "" {
			t.Errorf("%s\n    %s", q, d)
		}
	}

	// FOUND_ROWS() after a UNION ALL whose first SELECT has
	// SQL_CALC_FOUND_ROWS counts the whole union's rows.
	ctx := context.Background()
	q = "SELECT SQL_CALC_FOUND_ROWS id FROM items WHERE product_id = 4 UNION ALL SELECT id FROM items WHERE product_id = 1"
	var counts [2]int64
	for i, db := range []*sql.DB{e.proxy, e.ref} {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := c.QueryContext(ctx, q)
		if err != nil {
			var me *mysql.MySQLError
			if i == 0 && errors.As(err, &me) && me.Number == 1235 {
				c.Close()
				counts[0] = -1
				continue
			}
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
		}
		rows.Close()
		if err := c.QueryRowContext(ctx, "SELECT FOUND_ROWS()").Scan(&counts[i]); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if counts[0] != -1 && counts[0] != counts[1] {
		t.Errorf("%s: FOUND_ROWS() %d through the proxy, %d on ref", q, counts[0], counts[1])
	}
}
