-- Plain EXPLAIN over sharded tables: each physical statement's own
-- EXPLAIN, with its cluster and tables (EXPLAIN SHARDGATE shows the
-- proxy's plan).
EXPLAIN SELECT * FROM comments WHERE product_id = 42
EXPLAIN SELECT COUNT(*) FROM comments
EXPLAIN FORMAT=JSON SELECT * FROM comments WHERE user_id = 7 ORDER BY id LIMIT 3
EXPLAIN UPDATE comments SET score = 1 WHERE product_id = 42
-- error
EXPLAIN ANALYZE SELECT * FROM comments
-- error
EXPLAIN SELECT * FROM comments WHERE product_id = 42 AND id IN (SELECT id FROM comments)
-- MariaDB's ANALYZE: each shard's SELECT runs under ANALYZE (on a replica).
ANALYZE SELECT * FROM comments WHERE product_id IN (1, 2)
ANALYZE FORMAT=JSON SELECT id FROM comments WHERE id > 3
-- ANALYZE of a locking read would lock on every shard.
-- error
ANALYZE SELECT * FROM comments FOR UPDATE
-- error
ANALYZE SELECT * FROM comments INTO OUTFILE '/tmp/x'
