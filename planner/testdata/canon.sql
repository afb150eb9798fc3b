-- Canonical shard keys (planner/canon.go): every spelling of one value
-- reaches the table that holds it. rules.canon.yaml; definitions from
-- golden_test.go's goldenDefs. 42 (INT) is in comments_6.
-- tables: 1
SELECT * FROM comments WHERE product_id = 42
-- tables: 1
SELECT * FROM comments WHERE product_id = '42'
-- tables: 1
SELECT * FROM comments WHERE product_id = '042'
-- tables: 1
SELECT * FROM comments WHERE product_id = ' 42'
-- tables: 1
SELECT * FROM comments WHERE product_id = '42 '
-- tables: 1
SELECT * FROM comments WHERE product_id = 42.0
-- tables: 1
SELECT * FROM comments WHERE product_id = 42e0
-- tables: 1
SELECT * FROM comments WHERE product_id = '42abc'
-- tables: 1
SELECT * FROM comments WHERE product_id IN (42, '42', 42.00, '+42')
-- no INT equals 42.5: one table answers "no rows"
-- tables: 1
SELECT * FROM comments WHERE product_id = 42.5
-- tables: 1
SELECT * FROM comments WHERE product_id = 4294967296
-- 0x2A is the number 42 here (sent as b'101010', which MariaDB reads alike); X'2A' is the string '*', 0
-- tables: 1
SELECT * FROM comments WHERE product_id = 0x2A
-- tables: 1
SELECT * FROM comments WHERE product_id = X'2A'
-- tables: 1
SELECT * FROM comments WHERE product_id = 0x002A
-- beyond 2^53 a string compares as a double: several integers may match
-- tables: 8
SELECT * FROM comments WHERE product_id = '9007199254740993.5'
-- NULL keys live in table 0
-- tables: 1
SELECT * FROM comments WHERE product_id IS NULL
-- tables: 1
SELECT * FROM comments WHERE product_id <=> NULL
-- tables: 2
SELECT * FROM comments WHERE product_id = 42 OR product_id IS NULL
-- tables: 1
INSERT INTO comments (id, product_id) VALUES (1, '042')
-- tables: 1
INSERT INTO comments (id, product_id) VALUES (1, 42.4), (2, '41.5'), (3, 0x2A), (4, ' 42xyz'), (5, 42e0)
-- 42.5e0 is a double: stored rounded half to even, 42
-- tables: 1
INSERT INTO comments (id, product_id) VALUES (1, 42.5e0)
-- error
INSERT INTO comments (id, product_id) VALUES (1, NULL)
INSERT IGNORE INTO comments (id, product_id) VALUES (1, NULL)
-- without a column list: the definition's order
-- tables: 1
INSERT INTO comments VALUES (1, '42', 'a')
-- tables: 2
INSERT INTO comments VALUES (1, 42, 'a'), (2, 43, 'b')
-- error
INSERT INTO comments VALUES (1, 42)
-- error
INSERT INTO comments VALUES (1, 42, 'a'), (2, 43)
-- tables: 1
INSERT INTO comments SET id = 1, product_id = '42'
-- tables: 1
UPDATE comments SET body = 'x' WHERE product_id = '42'
-- tables: 1
DELETE FROM comments WHERE product_id = 42.0
-- unsigned BIGINT
-- tables: 1
SELECT * FROM ukeys WHERE k = 18446744073709551615
-- tables: 1
SELECT * FROM ukeys WHERE k = -1
-- tables: 1
INSERT INTO ukeys (k) VALUES (-5)
-- strings under utf8mb4_general_ci: 'Abc', 'abc', 'abc ' and 'ÀBC' are one value
-- tables: 1
SELECT * FROM tags WHERE name = 'abc'
-- tables: 1
SELECT * FROM tags WHERE name IN ('Abc', 'abc', 'abc ', 'ABC', 'àbc')
-- tables: 1
SELECT * FROM tags WHERE name = _latin1 X'C0424320'
-- a number compared with a string column compares as doubles ('42', '42.0', ' 42'): scatter
-- tables: 8
SELECT * FROM tags WHERE name = 42
-- longer than VARCHAR(32): no stored value has it
-- tables: 1
SELECT * FROM tags WHERE name = 'abcdefghijklmnopqrstuvwxyz0123456789'
-- tables: 1
INSERT INTO tags (name, n) VALUES ('Abc', 1), ('abc ', 2), ('ABC', 3)
-- utf8mb4_bin: case matters, trailing spaces do not
-- tables: 2
SELECT * FROM tags_bin WHERE name IN ('abc', 'abc ', 'Abc')
-- latin1_swedish_ci
-- tables: 1
SELECT * FROM tags_latin1 WHERE name IN ('abc', 'ABC ', 'Abc')
-- a character latin1 cannot hold: the server would store '?'
-- error
INSERT INTO tags_latin1 (name) VALUES ('abc€€中')
-- DATETIME(3) keys: every spelling of one instant
-- tables: 1
SELECT * FROM dkeys WHERE d IN ('2026-11-27 10:30:00', '2026/11/27 10:30:00.000', 20261127103000, '20261127103000', '2026-11-27T10:30')
-- tables: 1
INSERT INTO dkeys (d) VALUES ('2026-11-27 10:30:00'), (20261127103000.0004), ('26-11-27 10.30.00')
-- hourly: every spelling of one hour, and NULL hours in the zero date's bucket
-- tables: 4
SELECT * FROM payments WHERE created_at IN ('2026-11-24 10', '2026/11/24 10:15:00', 20261124103000, '2026-11-24 10:59:59.999')
-- tables: 1
INSERT INTO payments (id, user_id, created_at) VALUES (1, '07', '2026/11/24 10:15'), (2, 7.0, 20261124105959)
-- tables: 1
INSERT INTO payments (id, user_id, created_at) VALUES (1, 7, NULL)
-- tables: 1
SELECT * FROM payments WHERE created_at IS NULL AND user_id = 7
-- tables: 1
SELECT * FROM payments WHERE user_id = '7' AND created_at = '2026-11-24 10:00'
-- co-located joins need keys made alike: INT with BIGINT UNSIGNED is fine, INT with VARCHAR is not
-- tables: 16
SELECT * FROM comments c JOIN ukeys u ON c.product_id = u.k
-- (evaluated in the proxy as a lookup join, planner/join.go)
SELECT * FROM comments c JOIN tags t ON c.product_id = t.name
-- every row has a value for each column, with or without a column list, or all are () (defaults)
-- error
INSERT INTO comments (id, product_id) VALUES (1, 42), (2)
-- error
INSERT INTO comments VALUES (), (1, 42, 'a')
-- joined in the proxy (not co-located: the tables are keyed by different columns); string keys of two collations are refused
SELECT t.n, u.n FROM tags t JOIN tags_latin1 u ON t.n = u.n
-- error
SELECT t.n FROM tags t JOIN tags_bin u ON t.name = u.name
