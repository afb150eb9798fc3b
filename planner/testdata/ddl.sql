-- DDL on sharded tables applies to every physical table.
-- "-- tables: N" before a statement: its plan touches exactly N physical tables.
-- "-- error" before a statement: planning it must fail.
CREATE TABLE comments (id BIGINT PRIMARY KEY, product_id INT NOT NULL, body TEXT)
CREATE TABLE payments (id BIGINT, user_id INT, created_at DATETIME, amount DECIMAL(10,2))
ALTER TABLE comments ADD COLUMN score INT
ALTER TABLE payments ADD COLUMN note TEXT
TRUNCATE TABLE comments
DROP TABLE comments
CREATE INDEX idx_body ON comments (body(10))
DROP INDEX idx_body ON comments
-- error
CREATE TABLE comments LIKE users
-- error
DROP TABLE comments, users
CREATE TABLE regions (id INT PRIMARY KEY, name VARCHAR(20))
