-- LOCK TABLES (mariadb-dump's default): one LOCK TABLES per cluster, in
-- cluster order, naming every physical table of the logical ones: all
-- physical tables of a sharded table (an hourly table's template READ
-- whatever the mode, its known buckets in the mode asked), every copy of
-- a global table, a business-split table on its cluster.
-- tables: 8
LOCK TABLES comments READ
LOCK TABLES comments READ LOCAL, orders READ LOCAL, regions READ LOCAL, users READ LOCAL
-- tables: 18
LOCK TABLES payments WRITE
LOCK TABLES audit WRITE, users WRITE
LOCK TABLES shop.logs READ, shop.orders WRITE
-- error
LOCK TABLES nosuchdb.t READ
-- error
LOCK TABLES comments_0 READ
-- MariaDB's forms beyond TiDB's grammar: an alias (kept on each server,
-- where later statements name it), LOW_PRIORITY WRITE and WRITE
-- CONCURRENT (taken as WRITE). A sharded table cannot be locked under an
-- alias: a server holds several of its tables, and one alias locks one.
LOCK TABLES users AS a WRITE, orders o READ LOCAL, `regions` AS `r``x` LOW_PRIORITY WRITE
LOCK TABLE shop.users WRITE CONCURRENT, shop.orders AS o READ
-- error
LOCK TABLES comments AS c READ
-- ALTER TABLE … DISABLE/ENABLE KEYS of an hourly table leaves its
-- templates out (they hold no rows, and LOCK TABLES holds them READ).
-- tables: 16
ALTER TABLE payments DISABLE KEYS
-- tables: 8
ALTER TABLE comments ENABLE KEYS
-- tables: 18
ALTER TABLE payments DISABLE KEYS, ADD COLUMN note TEXT
-- SQL_NO_CACHE is left out of scatter reads, whose per-cluster UNION ALL
-- MariaDB refuses it in (1234); a one-table read keeps it.
SELECT /*!40001 SQL_NO_CACHE */ * FROM comments
SELECT SQL_NO_CACHE * FROM comments WHERE product_id = 3
