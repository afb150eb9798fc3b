-- Reads over several shards: how their answers are merged, or why they are refused.
-- "-- tables: N" before a statement: its plan touches exactly N physical tables.
-- "-- error" before a statement: planning it must fail.
SELECT COUNT(*) FROM comments
SELECT * FROM comments ORDER BY id LIMIT 10
SELECT DISTINCT product_id FROM comments
SELECT product_id, COUNT(*) FROM comments GROUP BY product_id
-- error
SELECT * FROM comments WHERE id IN (SELECT id FROM comments)
SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM comments
SELECT COUNT(*) FROM comments WHERE product_id = 42
SELECT * FROM comments WHERE product_id = 42 ORDER BY id LIMIT 5
-- error
SELECT * FROM comments UNION SELECT * FROM comments
SELECT * FROM comments ORDER BY created_at DESC, id LIMIT 10 OFFSET 5
SELECT id, body FROM comments ORDER BY 2, id
SELECT id, body AS b FROM comments ORDER BY b DESC
SELECT * FROM comments LIMIT 3
SELECT COUNT(*), SUM(score), AVG(score), MIN(body), MAX(created_at) FROM comments
SELECT product_id, COUNT(*) AS n FROM comments GROUP BY product_id HAVING n > 2 ORDER BY n DESC, product_id LIMIT 5
SELECT user_id, AVG(score) FROM comments GROUP BY user_id LIMIT 3
SELECT DISTINCT user_id FROM comments ORDER BY user_id DESC
SELECT COUNT(DISTINCT user_id) FROM comments
SELECT COUNT(*) + 1 FROM comments
SELECT GROUP_CONCAT(body) FROM comments
SELECT user_id, COUNT(*) FROM comments GROUP BY user_id WITH ROLLUP
-- error
SELECT user_id FROM comments GROUP BY user_id HAVING MAX(body) LIKE 'a%'
-- GROUP BY the shard key: every group lives in one physical table, so the
-- shards' groups are whole and any aggregate, expression over aggregates
-- or HAVING runs on them; the proxy merges order and LIMIT only.
SELECT product_id, COUNT(DISTINCT user_id), SUM(score) / COUNT(*), GROUP_CONCAT(body ORDER BY id SEPARATOR '|') FROM comments GROUP BY product_id
SELECT product_id, MAX(score) - MIN(score) AS spread FROM comments GROUP BY product_id HAVING spread > 1 ORDER BY spread DESC, product_id LIMIT 3
SELECT c.product_id, COUNT(*) FROM comments c GROUP BY c.product_id, user_id HAVING COUNT(*) > 1
-- GROUP BY another column merges partial aggregates; DISTINCT aggregates
-- of one argument: the shards group by it too, the proxy counts its
-- values once per group.
SELECT user_id, COUNT(DISTINCT product_id) FROM comments GROUP BY user_id
SELECT user_id, COUNT(*), COUNT(DISTINCT score), SUM(DISTINCT score), AVG(DISTINCT score), MAX(body) FROM comments GROUP BY user_id HAVING COUNT(DISTINCT score) > 1 ORDER BY COUNT(DISTINCT score) DESC, user_id LIMIT 5
-- error
SELECT user_id, COUNT(DISTINCT product_id), COUNT(DISTINCT score) FROM comments GROUP BY user_id
SELECT COUNT(DISTINCT product_id), COUNT(*) FROM comments
SELECT 'x', SUM(DISTINCT score), AVG(DISTINCT score), MAX(score), COUNT(*) FROM comments WHERE user_id > 5
SELECT product_id, COUNT(*) FROM comments GROUP BY product_id WITH ROLLUP
-- Windows partitioned by the shard key are whole on each shard.
SELECT id, product_id, ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY id) AS rn FROM comments ORDER BY product_id, rn
SELECT id, SUM(score) OVER w, RANK() OVER (w ORDER BY score DESC) FROM comments WINDOW w AS (PARTITION BY product_id) ORDER BY id LIMIT 10
-- Other windows are computed by the proxy over the merged rows (see windows.sql).
SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id) FROM comments
SELECT id, SUM(score) OVER () FROM comments
-- Windows over groups: whole only when the groups are.
SELECT user_id, COUNT(*), SUM(COUNT(*)) OVER (PARTITION BY product_id) FROM comments GROUP BY user_id, product_id
-- error
SELECT user_id, MAX(product_id), RANK() OVER (PARTITION BY product_id ORDER BY COUNT(*)) FROM comments GROUP BY user_id
-- error
SELECT SQL_CALC_FOUND_ROWS * FROM comments ORDER BY id LIMIT 3
-- tables: 1
SELECT SQL_CALC_FOUND_ROWS * FROM comments WHERE product_id = 42 ORDER BY id LIMIT 3
-- DISTINCT over whole groups compares rows of several shards: refused.
-- error
SELECT DISTINCT COUNT(*) FROM comments GROUP BY product_id
-- error
SELECT DISTINCT product_id, COUNT(*) OVER (PARTITION BY product_id) FROM comments
-- Expressions over aggregates whose groups span shards: computed over the merged values.
SELECT user_id, SUM(score) / COUNT(*) AS r, ROUND(AVG(score), 2), MAX(score) - MIN(score) FROM comments GROUP BY user_id HAVING r > 1 ORDER BY r DESC
SELECT user_id, CASE WHEN COUNT(*) > 1 THEN 'many' ELSE 'one' END, IFNULL(SUM(score), 0), COALESCE(MAX(body), 'none') FROM comments GROUP BY user_id
SELECT COUNT(*) DIV 2, COUNT(*) % 3, TRUNCATE(AVG(score), 1), CEIL(AVG(score)), FLOOR(AVG(score)), ABS(MIN(score) - MAX(score)), NULLIF(COUNT(*), 0) FROM comments
SELECT user_id % 3 AS g, SUM(score) * (user_id % 3) FROM comments GROUP BY user_id % 3 ORDER BY g
-- error
SELECT user_id, id + COUNT(*) FROM comments GROUP BY user_id
-- error
SELECT user_id, CONCAT(user_id, ':', COUNT(*)) FROM comments GROUP BY user_id
-- error
SELECT user_id, IF(COUNT(*) > 1, 'viele', 'één') FROM comments GROUP BY user_id
-- error
SELECT user_id, ROUND(SUM(score), 2, 1) FROM comments GROUP BY user_id
-- An alias inside an ORDER BY expression is its field's expression on the shards.
SELECT id, score * 2 AS p FROM comments ORDER BY p + 1 DESC, id LIMIT 5
-- MariaDB takes no alias of an aggregate inside an ORDER BY expression.
-- error
SELECT product_id, COUNT(*) AS n FROM comments GROUP BY product_id ORDER BY n + 1 DESC, product_id LIMIT 3
SELECT id, score + 1 AS p FROM comments ORDER BY p * 2, id LIMIT 5
-- WITH ROLLUP: the shards group without it; the proxy adds the super-aggregate rows.
SELECT user_id, COUNT(*), SUM(score) FROM comments GROUP BY user_id WITH ROLLUP
SELECT user_id % 3 AS g, body, COUNT(*), SUM(score) / COUNT(*) FROM comments GROUP BY g, body WITH ROLLUP HAVING COUNT(*) > 1 LIMIT 5
SELECT product_id, COUNT(*) FROM comments GROUP BY product_id WITH ROLLUP
-- error
SELECT user_id, COUNT(*) FROM comments GROUP BY user_id WITH ROLLUP ORDER BY user_id
-- error
SELECT user_id, id, COUNT(*) FROM comments GROUP BY user_id WITH ROLLUP
-- error
SELECT user_id, COUNT(DISTINCT body), COUNT(*) FROM comments GROUP BY user_id WITH ROLLUP
-- HAVING on the group keys alone stays on the shards (the server compares by collation); the rest is merged.
SELECT user_id % 3 AS g, body, COUNT(*) FROM comments GROUP BY g, body HAVING body = 'apple' AND g <> 1 AND COUNT(*) > 2 ORDER BY g, body LIMIT 4
SELECT user_id % 3 AS g, body, COUNT(*) FROM comments GROUP BY g, body HAVING body = 'apple' OR COUNT(*) > 2
