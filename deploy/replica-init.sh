#!/bin/bash
# Runs once on each replica's first start (docker-entrypoint-initdb.d):
# replicate from PRIMARY_PORT on 127.0.0.1 with GTIDs. The replication
# threads start again by themselves on every later start.
set -e
mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" <<SQL
CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${PRIMARY_PORT},
  MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
START SLAVE;
SQL
