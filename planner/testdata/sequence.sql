-- INSERTs into tables whose id comes from a global sequence (seq_notes:
-- sharded by product_id; seq_events: sharded by id itself). The test
-- gives the rows that need a value 1001, 1002, … in order.
-- tables: 1
INSERT INTO seq_notes (product_id, body) VALUES (42, 'no id: the column is added')
-- tables: 2
INSERT INTO seq_notes (product_id, body) VALUES (42, 'a'), (43, 'b'), (42, 'c')
-- tables: 2
INSERT INTO seq_notes (id, product_id, body) VALUES (NULL, 42, 'null'), (0, 43, 'zero'), (DEFAULT, 42, 'default')
-- tables: 2
INSERT INTO seq_notes (id, product_id, body) VALUES (7, 42, 'explicit'), (NULL, 43, 'generated'), ('0', 42, 'string zero')
-- tables: 1
INSERT INTO seq_notes (id, product_id, body) VALUES (7, 42, 'explicit only')
-- sql_mode: NO_AUTO_VALUE_ON_ZERO
-- tables: 2
INSERT INTO seq_notes (id, product_id, body) VALUES (0, 42, 'zero is a value'), (NULL, 43, 'null is not')
-- tables: 1
INSERT INTO seq_notes SET product_id = 42, body = 'set form'
-- tables: 1
INSERT INTO seq_notes (product_id, body) VALUES (42, 'x') ON DUPLICATE KEY UPDATE body = VALUES(body)
-- tables: 2
REPLACE INTO seq_notes (product_id, body) VALUES (42, 'r'), (43, 's')
-- tables: 2
INSERT INTO seq_events (kind) VALUES ('routed by the generated id'), ('second')
-- tables: 1
INSERT INTO seq_events (id, kind) VALUES (5003, 'explicit id routes itself')
-- tables: 1
INSERT INTO seq_notes VALUES (1, 42, 'no column list: explicit id')
-- error
INSERT INTO seq_events (id, kind) VALUES (5000 + 1, 'an expression in the shard key')
-- error
INSERT INTO seq_notes (product_id, body) VALUES (42, 'a'), (43)
-- error
INSERT INTO seq_notes (id, product_id, body) VALUES (NULL, 42)
-- tables: 2
INSERT IGNORE INTO seq_notes (product_id, body) VALUES (42, 'a'), (43, 'b')
-- INSERT ... SELECT: the rows are streamed, and each gets its value as it
-- passes (the plan names the sequence; the engine's tests fill it).
INSERT INTO seq_notes (product_id, body) SELECT product_id, body FROM seq_notes
INSERT INTO seq_events (kind) SELECT body FROM seq_notes WHERE product_id = 42
INSERT INTO seq_notes (id, product_id, body) SELECT id, product_id, body FROM seq_notes
-- error
INSERT IGNORE INTO seq_notes (product_id, body) SELECT product_id, body FROM seq_notes
-- error
INSERT INTO seq_notes (product_id, body) SELECT product_id, body FROM seq_notes ON DUPLICATE KEY UPDATE body = VALUES(body)
-- tables: 2
INSERT INTO seq_notes VALUES (NULL, 42, 'no column list: the definition gives it'), (9, 43, 'explicit')
-- tables: 2
INSERT INTO seq_events VALUES (), ()
-- error
INSERT INTO seq_notes VALUES (1, 42)
