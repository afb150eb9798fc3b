-- INSERT, UPDATE and DELETE on sharded tables.
-- "-- tables: N" before a statement: its plan touches exactly N physical tables.
-- "-- error" before a statement: planning it must fail.
-- tables: 1
INSERT INTO comments (id, product_id, body) VALUES (1, 42, 'a')
-- tables: 2
INSERT INTO comments (id, product_id, body) VALUES (1, 42, 'a'), (2, 43, 'b'), (3, 42, 'c'), (4, '43', 'd')
-- error
INSERT INTO comments (id, body) VALUES (1, 'a')
-- without a column list: the columns of the table's definition (more in canon.sql)
-- tables: 1
INSERT INTO comments VALUES (1, 42, 'a')
-- error
INSERT INTO comments (id, product_id) VALUES (1, 40 + 2)
-- error
INSERT INTO comments (id, product_id) VALUES (1, NULL)
-- tables: 1
INSERT INTO comments (id, product_id, body) VALUES (1, 42, 'a') ON DUPLICATE KEY UPDATE body = VALUES(body)
-- tables: 1
INSERT INTO comments (id, product_id) VALUES (1, 42) ON DUPLICATE KEY UPDATE product_id = 43
-- tables: 1
INSERT INTO comments SET id = 5, product_id = 42, body = 'set form'
INSERT INTO comments (id, product_id) SELECT id, product_id FROM comment_likes
-- tables: 1
REPLACE INTO comments (id, product_id) VALUES (9, 42)
-- tables: 2
INSERT INTO payments (id, user_id, created_at, amount) VALUES (1, 7, '2026-11-24 10:59:59', 5.00), (2, 7, '2026-11-24 11:00:00', 6.00)
-- tables: 1
INSERT INTO payments (id, user_id, created_at) VALUES (3, 8, NOW())
-- error
INSERT INTO payments (id, created_at) VALUES (3, NOW())
-- tables: 1
INSERT INTO audit (id, at) VALUES (1, '2026-11-24 13:00:00')
-- outside the window (a year back, 48 hours ahead): refused before any bucket is created
-- error
INSERT INTO audit (id, at) VALUES (1, '1000-01-01 00:00:00'), (2, '2026-11-24 13:00:00')
-- the zero date has one fixed bucket, exempt from the window
-- tables: 1
INSERT INTO audit (id, at) VALUES (2, '0000-00-00 00:00:00')
-- tables: 1
UPDATE comments SET body = 'x' WHERE product_id = 42
-- tables: 8
UPDATE comments SET body = 'x' WHERE id = 3
-- error
UPDATE comments SET body = 'x'
UPDATE comments SET product_id = 5 WHERE product_id = 42
-- error
UPDATE comments SET body = 'x' WHERE id > 3 LIMIT 1
-- tables: 2
DELETE FROM comments WHERE product_id IN (42, 43)
-- error
DELETE FROM comments
DELETE FROM logs
-- tables: 8
DELETE FROM payments WHERE created_at < '2026-11-24 11:00:00'
-- tables: 1
UPDATE comments c JOIN regions r ON c.region_id = r.id SET c.body = r.name WHERE c.product_id = 1
