-- A small example dataset for `make demo`, loaded on the primary of cluster main.
CREATE TABLE IF NOT EXISTS products (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(100) NOT NULL,
  price DECIMAL(10,2) NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(100) NOT NULL,
  city VARCHAR(100)
);
INSERT IGNORE INTO products (id, name, price) VALUES
  (1, 'Kettle', 29.90), (2, 'Teapot', 19.50), (3, 'Mug', 6.00), (4, 'Café filter', 3.25);
INSERT IGNORE INTO users (id, name, city) VALUES
  (1, 'Ana', 'Lisboa'), (2, 'Bo', 'Hangzhou'), (3, 'Chloé', NULL);
