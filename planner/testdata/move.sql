-- INSERT ... SELECT with sharded tables, and UPDATEs of the shard key
-- (issue 15, items 3 and 4).
-- Same table, shard key selected unchanged: pushed down, table i to table i.
-- tables: 8
INSERT INTO comments (id, product_id, body) SELECT id + 100, product_id, body FROM comments
-- tables: 1
INSERT INTO comments (id, product_id, body) SELECT c.id + 100, c.product_id, 'copy' FROM comments c WHERE c.product_id = 42
-- tables: 8
INSERT IGNORE INTO comments (id, product_id) SELECT id, product_id FROM comments WHERE id > 3 ON DUPLICATE KEY UPDATE product_id = product_id
-- The key computed, not selected unchanged: streamed.
INSERT INTO comments (id, product_id, body) SELECT id, product_id + 1, body FROM comments
-- A LIMIT over several shards is not per table: streamed.
INSERT INTO comments (id, product_id) SELECT id, product_id FROM comments ORDER BY id LIMIT 10
-- Same rule, other table: the key's type may differ, streamed.
INSERT INTO comments (id, product_id) SELECT id, product_id FROM comment_likes
-- Other rule.
INSERT INTO reviews (id, product_id) SELECT id, product_id FROM comments WHERE product_id IN (1, 2)
-- Unsharded to sharded, sharded to unsharded, hourly.
INSERT INTO comments (id, product_id, body) SELECT id, id, name FROM users
REPLACE INTO users (id, name) SELECT id, body FROM comments
INSERT INTO payments (id, user_id, created_at) SELECT id, product_id, '2026-11-24 10:00:00' FROM comments
INSERT INTO audit (id, at) SELECT id, at FROM audit WHERE at = '2026-11-24 09:30:00'
-- Streamed ON DUPLICATE KEY UPDATE: only through VALUES(col) and constants.
INSERT INTO comments (id, product_id) SELECT id, product_id FROM users ON DUPLICATE KEY UPDATE body = CONCAT(VALUES(body), 'x'), product_id = VALUES(product_id)
-- error
INSERT INTO comments (id, product_id) SELECT id, product_id FROM users ON DUPLICATE KEY UPDATE body = name
-- error
INSERT INTO comments (id, body) SELECT id, name FROM users
-- error
INSERT INTO comments SELECT * FROM comment_likes
-- error
INSERT INTO regions (id, name) SELECT id, body FROM comments
-- ON DUPLICATE KEY UPDATE giving the shard key another value: row by
-- row, a plain INSERT, and on 1062 the update as an UPDATE that moves the
-- row (VALUES(c) replaced by the row's value, DEFAULT(c) for a column it
-- leaves out).
-- tables: 1
INSERT INTO comments (id, product_id) VALUES (1, 42) ON DUPLICATE KEY UPDATE product_id = product_id + 1
-- tables: 2
INSERT INTO comments (id, product_id, body) VALUES (1, 42, 'a'), (2, 7, DEFAULT) ON DUPLICATE KEY UPDATE product_id = VALUES(product_id) + 1, body = CONCAT(VALUES(body), VALUES(user_id), comments.body)
-- tables: 1
INSERT INTO payments (id, user_id, created_at) VALUES (1, 5, '2026-11-24 10:00:00') ON DUPLICATE KEY UPDATE created_at = VALUES(created_at) + INTERVAL 1 HOUR
-- error
INSERT IGNORE INTO comments (id, product_id) VALUES (1, 42) ON DUPLICATE KEY UPDATE product_id = 43
-- error
INSERT INTO comments (id, product_id, body) VALUES (1, 42, id) ON DUPLICATE KEY UPDATE product_id = 43
-- error
INSERT INTO comments (id, product_id) VALUES (1, 42) ON DUPLICATE KEY UPDATE product_id = (SELECT 1)
-- error
INSERT INTO seq_notes (id, product_id) VALUES (1, 42) ON DUPLICATE KEY UPDATE product_id = 43
-- tables: 1
INSERT INTO comments (id, product_id) VALUES (1, 42) ON DUPLICATE KEY UPDATE product_id = VALUES(product_id)
-- No-ops and values that stay in their table: plain UPDATEs.
-- tables: 8
UPDATE comments SET product_id = product_id, body = 'x' WHERE id = 3
-- tables: 1
UPDATE comments c SET c.product_id = c.product_id WHERE c.product_id = 42
-- tables: 1
UPDATE comments SET product_id = 42 WHERE product_id = 42
-- tables: 1
UPDATE comments SET product_id = '42', body = 'y' WHERE product_id = 42 AND id = 1
-- tables: 1
UPDATE payments SET created_at = '2026-11-24 10:15:00' WHERE created_at = '2026-11-24 10:00:00' AND user_id = 7
-- Real changes move rows.
UPDATE comments SET product_id = 5 WHERE product_id = 42
UPDATE comments SET product_id = product_id + 1, body = CONCAT(body, '!') WHERE id < 10
UPDATE comments AS c SET c.product_id = 7 WHERE c.product_id = 42 ORDER BY c.id LIMIT 1
UPDATE payments SET user_id = 9 WHERE created_at = '2026-11-24 10:00:00' AND user_id = 7
-- error
UPDATE comments SET product_id = 5 WHERE id = 1 LIMIT 1
-- error
UPDATE comments SET product_id = (SELECT MAX(id) FROM users) WHERE product_id = 42
