-- Runs once on each primary's first start (docker-entrypoint-initdb.d).
-- The users reach the replicas through replication, so the replicas never
-- have local transactions of their own.
CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES,
  CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE,
  ALTER ROUTINE, TRIGGER, EVENT, PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO 'app'@'%';
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'repl';
GRANT REPLICATION SLAVE, SLAVE MONITOR ON *.* TO 'repl'@'%';
CREATE DATABASE IF NOT EXISTS shop;
