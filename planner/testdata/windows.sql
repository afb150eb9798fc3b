-- Window functions over several shards whose windows are not PARTITION BY
-- the shard key: the shards return rows sorted by the windows' keys with
-- helper columns, and the proxy computes the functions (Window).
-- "-- error" before a statement: planning it must fail.
SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM comments
SELECT id, user_id, RANK() OVER (PARTITION BY user_id ORDER BY score DESC) AS r, DENSE_RANK() OVER (PARTITION BY user_id ORDER BY score DESC) FROM comments ORDER BY r, id LIMIT 10
SELECT id, SUM(score) OVER (), COUNT(*) OVER (), AVG(score) OVER () FROM comments
SELECT id, LAG(body) OVER w, LEAD(score, 2) OVER w, MIN(body) OVER w FROM comments WINDOW w AS (PARTITION BY user_id ORDER BY created_at, id)
SELECT id, SUM(score) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING), SUM(score) OVER (ORDER BY id), MAX(score) OVER (ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM comments
SELECT *, ROW_NUMBER() OVER (PARTITION BY body ORDER BY id) AS rn FROM comments
SELECT user_id AS score, ROW_NUMBER() OVER (ORDER BY score, id) FROM comments ORDER BY score DESC
-- The argument of the frame's first, last or n-th row.
SELECT id, FIRST_VALUE(body) OVER w AS f, LAST_VALUE(score) OVER w, NTH_VALUE(body, 2) OVER (PARTITION BY user_id ORDER BY id ROWS UNBOUNDED PRECEDING) FROM comments WINDOW w AS (PARTITION BY user_id ORDER BY id) ORDER BY f
-- error
SELECT id, NTH_VALUE(body, 0) OVER (ORDER BY id) FROM comments
-- ORDER BY a window value that is the argument's (a string): the proxy
-- writes it and its weight string into helper slots the shards fill with
-- the argument's.
SELECT id, LAG(body) OVER (ORDER BY id) AS l, MAX(body) OVER (ORDER BY id) AS m FROM comments ORDER BY l DESC, m LIMIT 5
-- A part of a UNION ALL is planned as it would be alone.
SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM comments UNION ALL SELECT id, 1 FROM comments
-- Windows partitioned by the shard key stay whole on each shard.
SELECT id, ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY id) FROM comments
-- Windows of different PARTITION BY or ORDER BY: the first group over the
-- shards' merged order, each further group over the rows sorted again in
-- memory by its keys, then the statement's ORDER BY.
SELECT id, ROW_NUMBER() OVER (ORDER BY id), RANK() OVER (ORDER BY score) FROM comments
SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id) AS rn, SUM(score) OVER (ORDER BY created_at), RANK() OVER w, COUNT(*) OVER (PARTITION BY user_id) FROM comments WINDOW w AS (ORDER BY score DESC) ORDER BY id
SELECT id, LAG(body) OVER (ORDER BY id) AS l, MAX(body) OVER (PARTITION BY user_id) AS m FROM comments ORDER BY l DESC, m LIMIT 5
-- Refused: what the proxy does not compute.
-- error
SELECT id, ROW_NUMBER() OVER (ORDER BY id) + 1 FROM comments
-- Functions of the partition's size: the partition is held whole.
SELECT id, NTILE(4) OVER (PARTITION BY user_id ORDER BY id) AS t, PERCENT_RANK() OVER (PARTITION BY user_id ORDER BY id), CUME_DIST() OVER (PARTITION BY user_id ORDER BY id) FROM comments ORDER BY t
-- error
SELECT id, NTILE(?) OVER (ORDER BY id) FROM comments
SELECT id, SUM(score) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), AVG(score) OVER (ORDER BY id ROWS 6 PRECEDING) FROM comments
-- error
SELECT id, SUM(score) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM comments
-- error
SELECT id, SUM(score) OVER (ORDER BY id RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM comments
-- error
SELECT user_id, COUNT(*), RANK() OVER (ORDER BY COUNT(*)) FROM comments GROUP BY user_id
-- error
SELECT id FROM comments ORDER BY ROW_NUMBER() OVER (ORDER BY id)
-- error
SELECT id, LAG(score, ?) OVER (ORDER BY id) FROM comments
-- Windows over groups of the shard key: each shard returns whole groups
-- (HAVING applied there), and the proxy computes the windows over them.
SELECT product_id, SUM(score) AS s, RANK() OVER (ORDER BY SUM(score) DESC) AS r FROM comments GROUP BY product_id HAVING COUNT(*) > 1 ORDER BY r, product_id LIMIT 10
-- error
SELECT user_id, SUM(score), RANK() OVER (ORDER BY SUM(score) DESC) FROM comments GROUP BY user_id
-- Odd statements are planned or refused, never a panic (the shards give
-- MariaDB's own error where it has one).
SELECT id, SUM(score) OVER w FROM comments
SELECT id, SUM(score) OVER w2 FROM comments WINDOW w1 AS (w2), w2 AS (w1 ORDER BY id)
-- error
SELECT id, LAG(score, -1) OVER (ORDER BY id) FROM comments
-- error
SELECT id, COUNT(DISTINCT score) OVER (ORDER BY id) FROM comments
-- error
SELECT id, ROW_NUMBER(1) OVER (ORDER BY id) FROM comments
-- error
SELECT id, (ROW_NUMBER() OVER (ORDER BY id)) FROM comments
-- error
SELECT *, ROW_NUMBER() OVER (ORDER BY id), * FROM comments
SELECT *, LAG(body) OVER (ORDER BY id) AS l FROM comments ORDER BY l
SELECT *, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM comments ORDER BY rn DESC
-- error
SELECT DISTINCT id, ROW_NUMBER() OVER (ORDER BY id) FROM comments
-- error
SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM comments HAVING rn > 1
-- error
SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM comments LIMIT ?
SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id), SUM(score) OVER (PARTITION BY user_id) FROM comments WHERE product_id IN (1, 2)
-- tables: 1
SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM comments WHERE product_id = 42
