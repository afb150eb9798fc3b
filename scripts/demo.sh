#!/usr/bin/env bash
# `make demo`: the local cluster, a small example dataset, and the proxy on
# 127.0.0.1:3307 with testdata/rules.example.yaml. `make stop` ends it all.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
STATE=${SHARDGATE_STATE:-/tmp/shardgate-cluster}
PIDFILE=$STATE/shardgate.pid

stop_proxy() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    kill -TERM "$(cat "$PIDFILE")"
    for _ in $(seq 1 100); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$PIDFILE"
}

case "${1:-start}" in
start)
  scripts/deps.sh
  scripts/cluster.sh up
  go build -o bin/shardgate ./cmd/shardgate
  # The schema's database exists on every cluster it uses.
  for port in 3310 3320 3330; do
    mariadb --no-defaults -h127.0.0.1 -P$port -uapp -papp -e "CREATE DATABASE IF NOT EXISTS shop"
  done
  mariadb --no-defaults -h127.0.0.1 -P3310 -uapp -papp shop < testdata/demo.sql
  stop_proxy
  nohup bin/shardgate --rules testdata/rules.example.yaml > "$STATE/shardgate.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 50); do
    mariadb --no-defaults -h127.0.0.1 -P3307 -uapp -papp -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.1
  done
  # Sharded, global and business-split tables are created through the proxy.
  mariadb --no-defaults -h127.0.0.1 -P3307 -uapp -papp shop < testdata/demo-sharded.sql
  cat <<MSG

shardgate is running on 127.0.0.1:3307 (log: $STATE/shardgate.log).
Connect:   mariadb -h127.0.0.1 -P3307 -uapp -papp shop
Try:       SELECT @@port, name FROM products;   -- a replica answers
           /* shardgate:primary */ SELECT @@port; -- the primary answers (start mariadb with --comments, or it strips the hint)
           SELECT * FROM comments WHERE product_id = 1;  -- one physical table
           EXPLAIN SHARDGATE SELECT * FROM payments WHERE created_at >= '2026-11-24 11:00:00';
           SHOW TABLES;
Operator:  mariadb -h127.0.0.1 -P3307 -uops -pops -e 'SHOW SHARDGATE BACKENDS'   (admin user)
Stop:      make stop    (stops the proxy and the cluster)
MSG
  ;;
stop)
  stop_proxy
  scripts/cluster.sh down
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
