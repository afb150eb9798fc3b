-- Hash-sharded tables: conditions on the shard column prune the physical tables.
-- "-- tables: N" before a statement: its plan touches exactly N physical tables.
-- "-- error" before a statement: planning it must fail.
-- tables: 1
SELECT * FROM comments WHERE product_id = 42
-- tables: 1
SELECT * FROM comments WHERE product_id = '42'
-- tables: 3
SELECT * FROM comments WHERE product_id IN (1, 2, 3)
-- tables: 2
SELECT * FROM comments WHERE product_id = 1 OR product_id = 2
-- tables: 2
SELECT * FROM comments WHERE (product_id = 1 OR product_id = 2) AND body = 'x'
-- tables: 8
SELECT * FROM comments WHERE product_id = 1 OR body = 'x'
-- tables: 8
SELECT * FROM comments WHERE product_id > 10
-- tables: 8
SELECT * FROM comments WHERE product_id BETWEEN 1 AND 3
-- tables: 1
SELECT * FROM comments WHERE product_id = 1 AND product_id = 2
-- tables: 1
SELECT * FROM comments WHERE product_id = NULL
-- tables: 1
SELECT * FROM comments WHERE 42 = product_id
-- tables: 1
SELECT * FROM comments c WHERE c.product_id = 42
-- tables: 1
SELECT c.id, comments_note FROM comments c WHERE c.product_id = 7 AND c.id > 3
-- tables: 1
SELECT comments.id FROM comments WHERE comments.product_id = -5
SELECT * FROM comments
-- tables: 1
SELECT * FROM shop.comments WHERE product_id = 9
-- tables: 1
SELECT * FROM comments WHERE product_id = 42 FOR UPDATE
