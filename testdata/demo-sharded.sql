-- Loaded through the proxy by `make demo`: the example rules' sharded,
-- global and business-split tables, with a few rows each.
CREATE TABLE IF NOT EXISTS comments (id BIGINT PRIMARY KEY, product_id INT NOT NULL, user_id INT, body VARCHAR(200), created_at DATETIME);
CREATE TABLE IF NOT EXISTS payments (id BIGINT PRIMARY KEY, user_id INT NOT NULL, created_at DATETIME NOT NULL, amount DECIMAL(10,2));
CREATE TABLE IF NOT EXISTS regions (id INT PRIMARY KEY, name VARCHAR(50));
CREATE TABLE IF NOT EXISTS orders (id BIGINT PRIMARY KEY, user_id INT, total DECIMAL(10,2));
REPLACE INTO regions (id, name) VALUES (1, 'North'), (2, 'South');
REPLACE INTO comments (id, product_id, user_id, body, created_at) VALUES (1, 1, 1, 'Great kettle', '2026-11-24 09:00:00'), (2, 1, 2, 'Too loud', '2026-11-24 09:30:00'), (3, 2, 3, 'Lovely teapot', '2026-11-24 10:00:00'), (4, 3, 1, 'Just a mug', '2026-11-24 11:00:00');
REPLACE INTO payments (id, user_id, created_at, amount) VALUES (1, 1, '2026-11-24 10:59:59', 29.90), (2, 2, '2026-11-24 11:00:00', 19.50), (3, 3, NOW(), 6.00);
REPLACE INTO orders (id, user_id, total) VALUES (1, 1, 29.90), (2, 2, 19.50);
