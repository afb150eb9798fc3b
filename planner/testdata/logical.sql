-- SHOW and DESCRIBE of sharded tables answer from the table that stands for them.
-- "-- tables: N" before a statement: its plan touches exactly N physical tables.
-- "-- error" before a statement: planning it must fail.
SHOW CREATE TABLE comments
SHOW COLUMNS FROM comments
DESCRIBE payments
SHOW INDEX FROM comments
