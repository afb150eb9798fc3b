-- GROUP_CONCAT, STD/VARIANCE and BIT_AND/OR/XOR over groups that span shards.
-- Bitwise aggregates: each shard's own, combined by the proxy.
SELECT user_id, BIT_AND(score), BIT_OR(score), BIT_XOR(score) FROM comments GROUP BY user_id
-- The statistical ones: each shard's COUNT, SUM and VAR_POP (+ 0e0, every
-- digit), combined with Chan et al.'s formula.
SELECT STD(score), STDDEV_SAMP(score), VARIANCE(score), VAR_SAMP(score) FROM comments
SELECT user_id, STDDEV(score) AS sd FROM comments GROUP BY user_id HAVING sd > 1 ORDER BY sd DESC LIMIT 3
-- GROUP_CONCAT: the shards group by the element too (its bytes, HEX, when
-- not DISTINCT) and return its parts; their own column is a GROUP_CONCAT
-- over no rows.
SELECT user_id, GROUP_CONCAT(body ORDER BY id DESC SEPARATOR '|'), COUNT(*) FROM comments GROUP BY user_id
SELECT GROUP_CONCAT(DISTINCT body), 'x' FROM comments
SELECT user_id, GROUP_CONCAT(body) FROM comments GROUP BY user_id WITH ROLLUP
SELECT user_id, COUNT(DISTINCT score), GROUP_CONCAT(body) FROM comments GROUP BY user_id
-- error
SELECT COUNT(DISTINCT score), GROUP_CONCAT(body) FROM comments
-- Inside an expression or HAVING: the shards' expression computes over
-- no rows, the proxy over the merged value.
SELECT user_id FROM comments GROUP BY user_id HAVING GROUP_CONCAT(body) IS NULL
SELECT user_id, IFNULL(GROUP_CONCAT(body ORDER BY id), '-'), COALESCE(GROUP_CONCAT(body ORDER BY id DESC), 'x') FROM comments GROUP BY user_id
-- error
SELECT GROUP_CONCAT(body ORDER BY 1) FROM comments
-- error
SELECT STD(DISTINCT score) FROM comments
-- error
SELECT JSON_ARRAYAGG(body) FROM comments GROUP BY user_id
