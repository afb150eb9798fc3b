-- Global tables: reads go to one copy, writes to every copy.
-- "-- tables: N" before a statement: its plan touches exactly N physical tables.
-- "-- error" before a statement: planning it must fail.
SELECT * FROM regions
SELECT * FROM regions JOIN users ON users.region_id = regions.id
INSERT INTO regions (id, name) VALUES (1, 'north')
UPDATE regions SET name = 'x' WHERE id = 1
-- error
INSERT INTO regions (id, name) SELECT id, name FROM users
