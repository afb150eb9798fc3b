-- Attacks on the read push-downs (planner/refs.go, merge.go): statements
-- that must either equal one server's answer or be refused. Cases marked
-- -- error were answered wrongly before their fix, or were tried and held.
--
-- Held: outer names qualifying a subquery's condition do not pin it.
-- error
SELECT * FROM comments WHERE product_id = 42 AND id IN (SELECT d.id FROM comments d WHERE comments.product_id = 42)
-- error
SELECT * FROM comments c WHERE c.product_id = 42 AND c.id IN (SELECT id FROM comments WHERE c.product_id = 42)
-- Held: correlation under OR, in an inner join's ON, or to a middle level.
-- error
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d WHERE d.product_id = c.product_id OR d.id = 1)
-- error
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d JOIN regions r ON d.product_id = c.product_id)
-- error
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d WHERE d.product_id = c.product_id AND EXISTS (SELECT 1 FROM comments e WHERE e.product_id = d.product_id))
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM regions r LEFT JOIN comments d ON d.id = r.id WHERE d.product_id = c.product_id)
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d LEFT JOIN comments e ON e.id = d.id WHERE d.product_id = c.product_id AND e.product_id = c.product_id)
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d WHERE d.product_id = c.product_id AND EXISTS (SELECT 1 FROM comments e WHERE e.product_id = c.product_id))
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM regions r WHERE EXISTS (SELECT 1 FROM comments e WHERE e.product_id = c.product_id AND e.id = r.id))
SELECT c.id, (SELECT d.id FROM comments d WHERE d.product_id = c.product_id ORDER BY d.id LIMIT 1) FROM comments c
-- Held: UNION inside subqueries and derived tables.
-- error
SELECT COUNT(*) FROM (SELECT id FROM comments UNION ALL SELECT id FROM comments) t
-- error
SELECT id FROM comments c WHERE c.product_id IN (SELECT d.product_id FROM comments d UNION SELECT 5)
-- error
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d WHERE d.product_id = c.product_id UNION SELECT 1 FROM comments e)
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d WHERE d.product_id = c.product_id UNION ALL SELECT 1 FROM regions e WHERE e.id = c.id)
-- An ORDER BY or LIMIT after the last part is the whole union's: the proxy
-- sorts and limits the parts' rows.
SELECT id FROM comments WHERE product_id = 42 UNION ALL SELECT id FROM comments WHERE product_id = 43 LIMIT 1
SELECT id FROM comments WHERE product_id = 42 UNION ALL SELECT id FROM comments WHERE product_id = 43 ORDER BY id
-- Groups of the shard key (held).
SELECT product_id FROM comments GROUP BY product_id ORDER BY COUNT(*) DESC LIMIT 2
SELECT product_id, COUNT(*) AS n FROM comments GROUP BY product_id HAVING n > 1 ORDER BY n LIMIT 3
SELECT product_id, COUNT(*) FROM comments GROUP BY product_id ORDER BY 2 DESC LIMIT 2
SELECT product_id, GROUP_CONCAT(id ORDER BY id) FROM comments GROUP BY product_id DESC
SELECT product_id, COUNT(*) FROM items GROUP BY product_id
SELECT user_id, created_at, COUNT(*) FROM payments GROUP BY user_id, created_at
SELECT COUNT(*) FROM comments c GROUP BY c.product_id HAVING COUNT(*) > (SELECT COUNT(*) FROM regions)
SELECT product_id, COUNT(*) FROM comments GROUP BY product_id WITH ROLLUP
-- error
SELECT SQL_CALC_FOUND_ROWS product_id FROM comments GROUP BY product_id LIMIT 1
-- Windows (held).
SELECT product_id, ROW_NUMBER() OVER w2 FROM comments WINDOW w1 AS (PARTITION BY product_id), w2 AS (w1 ORDER BY id)
SELECT product_id, ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY id) rn FROM comments ORDER BY rn LIMIT 3
SELECT product_id, SUM(COUNT(*)) OVER (PARTITION BY product_id) FROM comments GROUP BY product_id
-- error
SELECT DISTINCT product_id, COUNT(*) OVER (PARTITION BY product_id) FROM comments
SELECT product_id, NTILE(2) OVER (PARTITION BY product_id ORDER BY id) FROM items
-- error
SELECT c.id, (SELECT ROW_NUMBER() OVER (ORDER BY d.id) FROM comments d WHERE d.product_id = c.product_id LIMIT 1) FROM comments c
SELECT product_id, SUM(COUNT(*)) OVER () FROM comments GROUP BY product_id
-- error
SELECT product_id, ROW_NUMBER() OVER w FROM comments WINDOW w AS (PARTITION BY product_id) ORDER BY ROW_NUMBER() OVER (ORDER BY id)
-- EXPLAIN (held).
-- error
EXPLAIN UPDATE comments SET product_id = 43 WHERE product_id = 42
-- error
EXPLAIN ANALYZE SELECT * FROM comments
-- Writes with subqueries (held).
DELETE FROM comments WHERE EXISTS (SELECT 1 FROM comments d WHERE d.product_id = comments.product_id AND d.id > comments.id)
-- error
UPDATE comments SET score = 1 WHERE product_id IN (SELECT d.product_id FROM comments d WHERE d.score > 3)
-- error
UPDATE comments a JOIN comments b ON a.id = b.id JOIN regions r ON a.product_id = b.product_id SET a.score = b.score
-- An hourly table's hour is hashed again by user_id: equal times are up to
-- four physical tables.
-- (evaluated in the proxy as a lookup join, planner/join.go)
SELECT a.id, b.id FROM payments a JOIN payments b ON a.created_at = b.created_at
-- error
SELECT a.id, b.id FROM payments a JOIN payments b USING (created_at)
SELECT a.id, b.id FROM payments a JOIN payments b ON a.created_at = b.created_at AND a.user_id = b.user_id
SELECT a.id, b.id FROM payments a JOIN payments b USING (created_at, user_id)
-- error
SELECT id FROM payments p WHERE EXISTS (SELECT 1 FROM payments q WHERE q.created_at = p.created_at)
SELECT id FROM payments p WHERE EXISTS (SELECT 1 FROM payments q WHERE q.created_at = p.created_at AND q.user_id = p.user_id)
SELECT id FROM payments p WHERE p.user_id IN (SELECT q.user_id FROM payments q WHERE q.created_at = p.created_at)
-- A self-join's equality in the ON of an outer join that is not between
-- the two mentions pairs nothing: a and b meet by id across tables.
-- error
SELECT a.id, b.id FROM comments a LEFT JOIN comments b ON a.id = b.id LEFT JOIN comment_likes l ON l.product_id = a.product_id AND a.product_id = b.product_id
-- error
SELECT a.id, b.id FROM comments a LEFT JOIN comments b ON a.id = b.id LEFT JOIN regions r ON r.id = a.id AND a.product_id = b.product_id
-- error
INSERT INTO comment_likes (id, product_id) SELECT a.id, a.product_id FROM comments a LEFT JOIN comments b ON a.id = b.id LEFT JOIN regions r ON r.id = a.id AND a.product_id = b.product_id
-- An inner join's ON filters the rows it joins, like WHERE: held.
SELECT a.id, b.id FROM comments a LEFT JOIN comments b ON a.id = b.id JOIN regions r ON r.id = a.id AND a.product_id = b.product_id
SELECT a.id, b.id FROM comments a RIGHT JOIN comments b ON a.product_id = b.product_id
-- key IN (SELECT key …) is NULL, not false, for a row whose key is not
-- there when the subquery gives a NULL (items.product_id is nullable; its
-- NULLs live in items_0): only as a WHERE filter is it one shard's answer.
-- error
SELECT i.id, i.product_id IN (SELECT j.product_id FROM items j) FROM items i
-- error
SELECT i.id FROM items i WHERE NOT (i.product_id IN (SELECT j.product_id FROM items j))
-- error
SELECT i.id FROM items i WHERE (i.product_id IN (SELECT j.product_id FROM items j WHERE j.id > 5)) IS NULL
-- error
SELECT i.id FROM items i WHERE NOT i.product_id IN (SELECT j.product_id FROM items j)
-- error
UPDATE items i SET i.id = i.id + 1 WHERE NOT (i.product_id IN (SELECT j.product_id FROM items j))
-- error
INSERT INTO comment_likes (id, product_id) SELECT i.id, i.product_id FROM items i WHERE NOT (i.product_id IN (SELECT j.product_id FROM items j))
SELECT i.id FROM items i WHERE i.id > 3 AND i.product_id IN (SELECT j.product_id FROM items j)
-- A LEFT JOIN's inner side pinned by IS NULL: its NULL-extended rows
-- satisfy it, so rows of other tables decide which rows of a are kept
-- (4 and NULL both live in items_0).
-- error
SELECT a.id FROM items a LEFT JOIN items b ON a.id = b.id + 1 WHERE a.product_id IS NULL AND b.product_id IS NULL
-- error
SELECT a.id FROM items a LEFT JOIN items b ON a.id = b.id + 1 WHERE a.product_id = 4 AND (b.product_id = 4 OR b.product_id IS NULL)
-- tables: 1
SELECT a.id FROM items a LEFT JOIN items b ON a.id = b.id + 1 WHERE a.product_id = 4 AND b.product_id = 4
-- tables: 1
SELECT a.id FROM items a WHERE a.product_id IS NULL AND NOT EXISTS (SELECT 1 FROM items b WHERE b.product_id IS NULL AND b.id = a.id + 1)
-- A common table expression named like the sharded table: the mention
-- means it, and renaming would read the physical table instead.
-- error
SELECT * FROM comments c WHERE EXISTS (WITH comments AS (SELECT 1 AS product_id) SELECT 1 FROM comments WHERE comments.product_id = c.product_id)
-- error
WITH comments AS (SELECT id, product_id FROM shop.comments WHERE product_id = 42) SELECT COUNT(*) FROM comments
WITH x AS (SELECT * FROM comments WHERE product_id = 42) SELECT * FROM x
-- error
WITH x AS (SELECT * FROM comments) SELECT COUNT(*) FROM x
-- error
SELECT id FROM comments c WHERE EXISTS (WITH d AS (SELECT * FROM comments) SELECT 1 FROM d WHERE d.product_id = c.product_id)
WITH c AS (SELECT * FROM regions) SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d WHERE d.product_id = c.product_id)
-- FOUND_ROWS() after a union counts all its rows, not the first part's.
-- error
SELECT SQL_CALC_FOUND_ROWS id FROM comments WHERE product_id = 42 UNION ALL SELECT id FROM comments WHERE product_id = 43
-- tables: 1
SELECT SQL_CALC_FOUND_ROWS id FROM comments WHERE product_id = 42 UNION ALL SELECT id FROM comments WHERE product_id = 42
-- Co-located tables are paired on the key only by an equality every pair
-- of their rows satisfies: not under OR or NOT, in a subquery, or in the
-- ON of an outer join between other tables.
-- (joined in the proxy, the condition checked on the joined rows)
SELECT c.id, l.id FROM comments c JOIN comment_likes l ON c.id = l.id WHERE c.product_id = l.product_id OR c.id = 1
-- (joined in the proxy, the condition checked on the joined rows)
SELECT c.id, l.id FROM comments c JOIN comment_likes l ON c.id = l.id WHERE NOT (c.product_id = l.product_id)
-- error
SELECT c.id, l.id FROM comments c LEFT JOIN comment_likes l ON c.id = l.id LEFT JOIN regions r ON r.id = c.id AND c.product_id = l.product_id
-- error
SELECT c.id FROM comments c JOIN comment_likes l ON c.id = l.id WHERE NOT EXISTS (SELECT 1 FROM regions r WHERE c.product_id = l.product_id)
SELECT c.id, l.id FROM comments c JOIN comment_likes l ON c.id = l.id WHERE c.product_id = l.product_id
SELECT c.id, l.id FROM comments c LEFT JOIN comment_likes l ON c.product_id = l.product_id
-- An outer join whose preserved side reads no sharded table: every shard
-- returns the preserved rows its own tables do not join.
-- (evaluated in the proxy as a lookup join, planner/join.go)
SELECT r.id, c.id FROM regions r LEFT JOIN comments c ON c.user_id = r.id
-- error
SELECT t.id, c.id FROM (SELECT id FROM regions) t LEFT JOIN comments c ON c.user_id = t.id
-- (evaluated in the proxy as a lookup join, planner/join.go)
SELECT r.id, c.id FROM comments c RIGHT JOIN regions r ON c.user_id = r.id
SELECT c.id, r.id FROM comments c LEFT JOIN regions r ON c.user_id = r.id
-- tables: 1
SELECT r.id, c.id FROM regions r LEFT JOIN comments c ON c.user_id = r.id WHERE c.product_id = 42
-- Groups of the shard key come back in the GROUP BY's order, where a name
-- is the table's column; ordered by the same name, the shards would sort
-- by a select alias of it.
-- error
SELECT MIN(qty) AS product_id, COUNT(*) FROM items GROUP BY product_id
SELECT MIN(qty) AS product_id, COUNT(*) FROM items GROUP BY product_id ORDER BY product_id
SELECT product_id AS product_id, COUNT(*) FROM items GROUP BY product_id
SELECT MIN(qty) AS product_id, COUNT(*) FROM items GROUP BY items.product_id
-- Groups and window partitions of the shard key of a mention on the inner
-- side of an outer join: the rows it adds have NULL there, from every
-- physical table, one group that no shard holds whole: such groups are
-- merged like any others, such windows computed by the proxy.
SELECT a.product_id, COUNT(*) FROM comments a RIGHT JOIN comments b ON a.product_id = b.product_id AND a.id < b.id GROUP BY a.product_id
SELECT b.id, COUNT(*) OVER (PARTITION BY a.product_id) FROM comments a RIGHT JOIN comments b ON a.product_id = b.product_id AND a.id = b.id
SELECT a.product_id, COUNT(b.id) FROM comments a LEFT JOIN comments b ON a.product_id = b.product_id AND a.id < b.id GROUP BY a.product_id
SELECT a.id, COUNT(*) OVER (PARTITION BY a.product_id) FROM comments a LEFT JOIN comments b ON a.product_id = b.product_id AND a.id = b.id
