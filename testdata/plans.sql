-- Golden planner cases: one statement per line; router/plan_test.go prints
-- each plan (or error) into testdata/plans.golden. Run with -update to rewrite.
-- unsharded tables
SELECT * FROM users WHERE id = 1
INSERT INTO users (name) VALUES ('a')
SELECT * FROM orders WHERE id = 1
UPDATE orders SET total = 1 WHERE id = 2
SELECT * FROM orders JOIN users ON users.id = orders.user_id
SELECT 1
SELECT * FROM nosuch.t
-- hash: pruning
SELECT * FROM comments WHERE product_id = 42
SELECT * FROM comments WHERE product_id = '42'
SELECT * FROM comments WHERE product_id IN (1, 2, 3)
SELECT * FROM comments WHERE product_id = 1 OR product_id = 2
SELECT * FROM comments WHERE (product_id = 1 OR product_id = 2) AND body = 'x'
SELECT * FROM comments WHERE product_id = 1 OR body = 'x'
SELECT * FROM comments WHERE product_id > 10
SELECT * FROM comments WHERE product_id BETWEEN 1 AND 3
SELECT * FROM comments WHERE product_id = 1 AND product_id = 2
SELECT * FROM comments WHERE product_id = NULL
SELECT * FROM comments WHERE 42 = product_id
SELECT * FROM comments c WHERE c.product_id = 42
SELECT c.id, comments_note FROM comments c WHERE c.product_id = 7 AND c.id > 3
SELECT comments.id FROM comments WHERE comments.product_id = -5
SELECT * FROM comments
SELECT * FROM shop.comments WHERE product_id = 9
SELECT * FROM comments WHERE product_id = 42 FOR UPDATE
-- hash: what cannot be merged yet
SELECT COUNT(*) FROM comments
SELECT * FROM comments ORDER BY id LIMIT 10
SELECT DISTINCT product_id FROM comments
SELECT product_id, COUNT(*) FROM comments GROUP BY product_id
SELECT * FROM comments WHERE id IN (SELECT id FROM comments)
SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM comments
SELECT COUNT(*) FROM comments WHERE product_id = 42
SELECT * FROM comments WHERE product_id = 42 ORDER BY id LIMIT 5
SELECT * FROM comments UNION SELECT * FROM comments
-- joins
SELECT * FROM comments c JOIN regions r ON c.region_id = r.id WHERE c.product_id = 42
SELECT * FROM comments c JOIN regions r ON c.region_id = r.id
SELECT * FROM comments c JOIN comment_likes l ON c.product_id = l.product_id WHERE c.product_id = 42
SELECT * FROM comments c JOIN comment_likes l ON c.product_id = l.product_id
SELECT * FROM comments c JOIN comment_likes l ON c.id = l.comment_id
SELECT * FROM comments c JOIN reviews r ON c.product_id = r.product_id
SELECT * FROM comments c JOIN users u ON c.user_id = u.id
SELECT * FROM comments c JOIN orders o ON c.order_id = o.id
-- hourly buckets
SELECT * FROM payments WHERE created_at = '2026-11-24 10:30:00'
SELECT * FROM payments WHERE created_at = '2026-11-24 10:30:00' AND user_id = 7
SELECT * FROM payments WHERE created_at BETWEEN '2026-11-24 10:00:00' AND '2026-11-24 11:59:59'
SELECT * FROM payments WHERE created_at >= '2026-11-24 11:00:00' AND created_at < '2026-11-24 12:00:00'
SELECT * FROM payments WHERE created_at < '2026-11-24 11:00:00'
SELECT * FROM payments WHERE created_at > '2026-11-24 11:59:59'
SELECT * FROM payments WHERE created_at = '2026-11-25 00:00:00'
SELECT * FROM payments WHERE user_id = 7
SELECT * FROM payments
SELECT * FROM payments WHERE created_at = 'yesterday'
SELECT * FROM audit WHERE at = '2026-11-24 09:15:00'
-- inserts
INSERT INTO comments (id, product_id, body) VALUES (1, 42, 'a')
INSERT INTO comments (id, product_id, body) VALUES (1, 42, 'a'), (2, 43, 'b'), (3, 42, 'c'), (4, '43', 'd')
INSERT INTO comments (id, body) VALUES (1, 'a')
INSERT INTO comments VALUES (1, 42, 'a')
INSERT INTO comments (id, product_id) VALUES (1, 40 + 2)
INSERT INTO comments (id, product_id) VALUES (1, NULL)
INSERT INTO comments (id, product_id, body) VALUES (1, 42, 'a') ON DUPLICATE KEY UPDATE body = VALUES(body)
INSERT INTO comments (id, product_id) VALUES (1, 42) ON DUPLICATE KEY UPDATE product_id = 43
INSERT INTO comments SET id = 5, product_id = 42, body = 'set form'
INSERT INTO comments (id, product_id) SELECT id, product_id FROM comment_likes
REPLACE INTO comments (id, product_id) VALUES (9, 42)
INSERT INTO payments (id, user_id, created_at, amount) VALUES (1, 7, '2026-11-24 10:59:59', 5.00), (2, 7, '2026-11-24 11:00:00', 6.00)
INSERT INTO payments (id, user_id, created_at) VALUES (3, 8, NOW())
INSERT INTO payments (id, created_at) VALUES (3, NOW())
INSERT INTO audit (id, at) VALUES (1, '2026-11-24 13:00:00')
-- updates and deletes
UPDATE comments SET body = 'x' WHERE product_id = 42
UPDATE comments SET body = 'x' WHERE id = 3
UPDATE comments SET body = 'x'
UPDATE comments SET product_id = 5 WHERE product_id = 42
UPDATE comments SET body = 'x' WHERE id > 3 LIMIT 1
DELETE FROM comments WHERE product_id IN (42, 43)
DELETE FROM comments
DELETE FROM logs
DELETE FROM payments WHERE created_at < '2026-11-24 11:00:00'
UPDATE comments c JOIN regions r ON c.region_id = r.id SET c.body = r.name WHERE c.product_id = 1
-- global tables
SELECT * FROM regions
SELECT * FROM regions JOIN users ON users.region_id = regions.id
INSERT INTO regions (id, name) VALUES (1, 'north')
UPDATE regions SET name = 'x' WHERE id = 1
INSERT INTO regions (id, name) SELECT id, name FROM users
-- DDL
CREATE TABLE comments (id BIGINT PRIMARY KEY, product_id INT NOT NULL, body TEXT)
CREATE TABLE payments (id BIGINT, user_id INT, created_at DATETIME, amount DECIMAL(10,2))
ALTER TABLE comments ADD COLUMN score INT
ALTER TABLE payments ADD COLUMN note TEXT
TRUNCATE TABLE comments
DROP TABLE comments
CREATE INDEX idx_body ON comments (body(10))
DROP INDEX idx_body ON comments
CREATE TABLE comments LIKE users
DROP TABLE comments, users
CREATE TABLE regions (id INT PRIMARY KEY, name VARCHAR(20))
-- logical view
SHOW CREATE TABLE comments
SHOW COLUMNS FROM comments
DESCRIBE payments
SHOW INDEX FROM comments
-- cross-shard merges
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
SELECT user_id FROM comments GROUP BY user_id HAVING MAX(body) LIKE 'a%'
