-- Joins: co-located sharded tables join shard by shard; others are joined in the proxy (planner/join.go) or refused.
-- "-- tables: N" before a statement: its plan touches exactly N physical tables.
-- "-- error" before a statement: planning it must fail.
-- tables: 1
SELECT * FROM comments c JOIN regions r ON c.region_id = r.id WHERE c.product_id = 42
SELECT * FROM comments c JOIN regions r ON c.region_id = r.id
-- tables: 2
SELECT * FROM comments c JOIN comment_likes l ON c.product_id = l.product_id WHERE c.product_id = 42
SELECT * FROM comments c JOIN comment_likes l ON c.product_id = l.product_id
-- (evaluated in the proxy as a lookup join, planner/join.go)
SELECT * FROM comments c JOIN comment_likes l ON c.id = l.comment_id
-- error
EXPLAIN SELECT * FROM comments c JOIN comment_likes l ON c.id = l.comment_id
-- (evaluated in the proxy as a lookup join, planner/join.go)
SELECT * FROM comments c JOIN reviews r ON c.product_id = r.product_id
-- error
SELECT * FROM comments c JOIN users u ON c.user_id = u.id
-- error
SELECT * FROM comments c JOIN orders o ON c.order_id = o.id
-- Joins evaluated in the proxy (planner/join.go): a lookup join.
SELECT c.id, r.id FROM comments c JOIN reviews r ON c.product_id = r.product_id WHERE c.product_id = 42
SELECT c.id, l.id FROM comments c JOIN comment_likes l ON c.id = l.product_id ORDER BY c.id DESC LIMIT 5
SELECT c.body, o.id FROM comments c LEFT JOIN orders o ON c.id = o.id AND o.id > 3 WHERE c.product_id IN (1, 2)
SELECT * FROM comments c JOIN reviews r ON c.product_id = r.product_id
SELECT c.id FROM orders o RIGHT JOIN comments c ON c.id = o.id
SELECT c.id + r.id FROM comments c JOIN reviews r ON c.product_id = r.product_id
-- error
SELECT c.id FROM comments c JOIN reviews r ON c.product_id < r.product_id
SELECT COUNT(*) FROM comments c JOIN reviews r ON c.product_id = r.product_id
SELECT r.id, COUNT(*), SUM(c.id) AS s FROM comments c JOIN reviews r ON c.product_id = r.product_id WHERE r.product_id = 7 GROUP BY r.id ORDER BY s DESC LIMIT 3
SELECT DISTINCT c.body FROM comments c LEFT JOIN orders o ON o.id = c.id
SELECT COUNT(DISTINCT c.id) FROM comments c JOIN reviews r ON c.product_id = r.product_id
-- three tables: each further table is looked up by the rows joined before it
SELECT c.id FROM comments c JOIN reviews r ON c.product_id = r.product_id JOIN orders o ON o.id = c.id
SELECT o.id, c.body, r.id FROM orders o LEFT JOIN comments c ON c.id = o.id LEFT JOIN reviews r ON r.product_id = c.product_id AND r.id > 2 WHERE o.id < 100
SELECT r.id, COUNT(*) FROM comments c, reviews r, orders o WHERE c.product_id = r.product_id AND o.id = c.id AND r.product_id = 5 GROUP BY r.id
-- error
SELECT c.id FROM comments c JOIN reviews r ON c.product_id = r.product_id JOIN orders o ON o.id > c.id
-- error
SELECT c.id FROM comments c JOIN orders o ON o.id = c.id RIGHT JOIN reviews r ON c.product_id = r.product_id
-- conditions no table can check alone are checked on the joined rows (numbers, IS NULL)
SELECT c.id FROM comments c LEFT JOIN orders o ON o.id = c.id WHERE o.id IS NULL
SELECT c.id, r.id FROM comments c JOIN reviews r ON c.product_id = r.product_id WHERE c.id < r.id + 10 OR r.id IS NULL
SELECT c.id FROM comments c JOIN reviews r ON c.product_id = r.product_id WHERE c.body < r.id
-- a WHERE that rejects NULL-extended rows makes the outer join inner (its condition goes to the table's statement)
SELECT c.id, o.id FROM comments c LEFT JOIN orders o ON o.id = c.id WHERE o.id > 5
-- Hash joins (engine.HashJoin): where every batch of lookups would go to every physical table of the
-- other side (its join column is not its shard key, its conditions leave several tables) and the
-- driving side is a sharded table not pinned, each side is read once; the side expected smaller is held.
SELECT c.id, l.id FROM comments c JOIN comment_likes l ON c.id = l.comment_id WHERE c.id > 100
SELECT c.id, l.id FROM comments c LEFT JOIN comment_likes l ON c.id = l.comment_id
SELECT l.product_id, COUNT(*), MAX(c.id) FROM comments c LEFT JOIN comment_likes l ON c.id = l.comment_id WHERE c.id > 10 GROUP BY l.product_id
-- the lookup join stays where it prunes: a driving side that is one table (pinned, or not sharded), a lookup by the
-- shard key, a looked-up side of one table
SELECT r.id, COUNT(*) FROM regions r LEFT JOIN comments c ON c.user_id = r.id GROUP BY r.id
SELECT c.id, l.id FROM comments c JOIN comment_likes l ON c.id = l.comment_id WHERE c.product_id = 42
SELECT c.id, l.id FROM comments c LEFT JOIN comment_likes l ON c.id = l.comment_id AND l.product_id = 7
SELECT c.id, r.id FROM comments c JOIN reviews r ON c.id = r.product_id
-- string keys of a hash join are read as the columns' own bytes and compared by their collation in the proxy
SELECT a.id, b.id FROM comments a JOIN comments b ON a.body = b.body AND a.id = b.id
-- Finished by the server over the joined rows (planner/join_server.go): conditions comparing
-- strings, an outer join's joined table nullable in the temporary table, * expanded under the
-- columns' own names, an ORDER BY name the select list gives (c.id, though r has an id too).
SELECT c.id, r.id FROM comments c LEFT JOIN reviews r ON r.product_id = c.product_id WHERE c.body < 'm' OR r.id IS NULL
SELECT * FROM comments c JOIN reviews r ON c.product_id = r.product_id WHERE c.body > 'a' OR r.id > 3
SELECT c.id, c.body AS b FROM comments c JOIN reviews r ON c.product_id = r.product_id WHERE c.body <> r.id ORDER BY b DESC, id LIMIT 3
