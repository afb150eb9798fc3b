-- Tables without a sharding rule: the statement text goes through unchanged to the cluster holding them.
-- "-- tables: N" before a statement: its plan touches exactly N physical tables.
-- "-- error" before a statement: planning it must fail.
SELECT * FROM users WHERE id = 1
INSERT INTO users (name) VALUES ('a')
SELECT * FROM orders WHERE id = 1
UPDATE orders SET total = 1 WHERE id = 2
-- error
SELECT * FROM orders JOIN users ON users.id = orders.user_id
SELECT 1
-- error
SELECT * FROM nosuch.t
