-- Statements that name a sharded table more than once, or inside a
-- subquery, derived table or UNION: every mention is pruned by the WHERE
-- of its own SELECT. When all of them are pinned to one physical table per
-- logical one, on one server, the statement runs whole there (window
-- functions too); otherwise it is refused: renaming every mention to one
-- physical table would read a fraction of the rows.
-- tables: 1
SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM comments WHERE product_id = 42
-- tables: 1
SELECT product_id, SUM(score) OVER (PARTITION BY user_id ORDER BY id) FROM comments WHERE product_id = 42
-- tables: 1
SELECT * FROM comments WHERE product_id = 42 AND id IN (SELECT id FROM comments WHERE product_id = 42)
-- tables: 1
SELECT t.n FROM (SELECT COUNT(*) AS n FROM comments WHERE product_id = 42) AS t
-- tables: 1
SELECT body, (SELECT COUNT(*) FROM comments c2 WHERE c2.product_id = 42) FROM comments WHERE product_id = 42
-- tables: 1
SELECT * FROM comments WHERE product_id = 42 UNION SELECT * FROM comments WHERE product_id = 42
-- A mention that is not pinned reaches every table.
-- error
SELECT * FROM comments WHERE product_id = 42 AND id IN (SELECT id FROM comments)
-- error
SELECT * FROM comments WHERE product_id = 42 AND id IN (SELECT id FROM comments WHERE product_id = 43)
-- error
SELECT body, (SELECT COUNT(*) FROM comments c2) FROM comments WHERE product_id = 42
-- error
SELECT * FROM comments c WHERE product_id = 42 AND EXISTS (SELECT 1 FROM comments d WHERE d.user_id = c.user_id AND d.product_id <> 42)
-- (evaluated in the proxy as a lookup join, planner/join.go)
SELECT a.id, b.id FROM comments a JOIN comments b ON a.user_id = b.user_id WHERE a.product_id = 42
-- (evaluated in the proxy as a lookup join, planner/join.go)
SELECT a.id, b.id FROM comments a JOIN comments b ON a.user_id = b.user_id
-- error
SELECT * FROM (SELECT * FROM comments) t WHERE t.product_id = 42
-- A self-join on the shard key pairs rows of one physical table only.
SELECT a.id, b.id FROM comments a JOIN comments b ON a.product_id = b.product_id
-- tables: 1
SELECT a.id, b.id FROM comments a LEFT JOIN comments b ON a.product_id = b.product_id AND a.id <> b.id WHERE a.product_id = 42
-- error
SELECT a.id, b.id FROM comments a JOIN comments b ON a.product_id = b.product_id OR a.user_id = b.user_id
-- Writes: a mention in a subquery must be pinned with the target.
-- tables: 1
DELETE FROM comments WHERE product_id = 42 AND id IN (SELECT id FROM (SELECT id FROM comments WHERE product_id = 42 AND score < 0) AS x)
-- error
DELETE FROM comments WHERE product_id = 42 AND id IN (SELECT id FROM (SELECT id FROM comments WHERE score < 0) AS x)
-- error
UPDATE comments SET score = 0 WHERE product_id = 42 AND user_id IN (SELECT user_id FROM (SELECT user_id FROM comments) AS x)
-- USING and NATURAL joins on the shard key are joins on equal keys too.
SELECT COUNT(*) FROM comments a JOIN comments b USING (product_id)
-- error
SELECT COUNT(*) FROM comments a JOIN comments b USING (user_id)
-- Subqueries correlated on the shard key read only the outer row's
-- physical table: each shard answers for its own rows.
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d WHERE d.product_id = c.product_id AND d.user_id = 5)
SELECT id FROM comments c WHERE NOT EXISTS (SELECT 1 FROM comments d WHERE product_id = c.product_id AND d.id > c.id) ORDER BY id LIMIT 5
SELECT c.id, (SELECT COUNT(*) FROM comments d WHERE d.product_id = c.product_id) AS n FROM comments c
SELECT COUNT(*) FROM comments c WHERE c.product_id IN (SELECT d.product_id FROM comments d WHERE d.score > 3)
SELECT id FROM comments WHERE user_id IN (SELECT id FROM regions)
-- error
SELECT id FROM comments c WHERE c.product_id NOT IN (SELECT d.product_id FROM comments d WHERE d.score > 3)
-- error
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d WHERE d.user_id = c.user_id)
-- error
SELECT id FROM comments WHERE EXISTS (SELECT 1 FROM comments WHERE product_id = comments.product_id)
-- error
SELECT COUNT(*) FROM comments c WHERE c.product_id IN (SELECT d.product_id FROM comments d GROUP BY d.user_id)
-- error
SELECT id FROM comments WHERE user_id IN (SELECT id FROM users)
-- An outer name given again inside the subquery means the inner table.
-- error
SELECT id FROM comments c WHERE EXISTS (SELECT 1 FROM comments d JOIN regions c ON c.id = d.user_id WHERE d.product_id = c.product_id)
-- UNION ALL over shards: each SELECT planned as it would be alone, the
-- parts' rows one after another.
SELECT id FROM comments WHERE product_id = 42 UNION ALL SELECT id FROM comments WHERE product_id = 43
SELECT user_id, COUNT(*) FROM comments GROUP BY user_id UNION ALL SELECT id, 0 FROM regions
-- A part in parentheses (with its own ORDER BY … LIMIT) is not taken
-- apart yet.
-- error
SELECT id FROM comments UNION ALL (SELECT id FROM comments ORDER BY id DESC LIMIT 3)
-- UNION (DISTINCT) and the union's ORDER BY/LIMIT: the parts return each
-- compared column's value and weight; the proxy sorts, deduplicates, limits.
SELECT id FROM comments UNION SELECT id FROM comments WHERE product_id = 43
SELECT id FROM comments UNION ALL SELECT id FROM comments ORDER BY id
SELECT body AS b, id FROM comments UNION ALL SELECT name, id FROM regions UNION SELECT body, user_id FROM comments WHERE product_id = 7 ORDER BY b DESC, 2 LIMIT 5 OFFSET 2
SELECT user_id FROM comments GROUP BY user_id UNION SELECT id FROM regions
-- error
SELECT id FROM comments UNION SELECT id FROM comments UNION ALL SELECT id FROM regions
-- error
SELECT id, COUNT(*) FROM comments GROUP BY id UNION SELECT id, 1 FROM regions
-- error
SELECT id FROM comments UNION ALL SELECT id FROM regions ORDER BY id + 1
