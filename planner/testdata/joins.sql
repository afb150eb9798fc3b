-- Joins: co-located sharded tables join shard by shard; anything else is refused.
-- "-- tables: N" before a statement: its plan touches exactly N physical tables.
-- "-- error" before a statement: planning it must fail.
-- tables: 1
SELECT * FROM comments c JOIN regions r ON c.region_id = r.id WHERE c.product_id = 42
SELECT * FROM comments c JOIN regions r ON c.region_id = r.id
-- tables: 2
SELECT * FROM comments c JOIN comment_likes l ON c.product_id = l.product_id WHERE c.product_id = 42
SELECT * FROM comments c JOIN comment_likes l ON c.product_id = l.product_id
-- error
SELECT * FROM comments c JOIN comment_likes l ON c.id = l.comment_id
-- error
SELECT * FROM comments c JOIN reviews r ON c.product_id = r.product_id
-- error
SELECT * FROM comments c JOIN users u ON c.user_id = u.id
-- error
SELECT * FROM comments c JOIN orders o ON c.order_id = o.id
