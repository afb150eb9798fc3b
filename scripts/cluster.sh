#!/usr/bin/env bash
# Local MariaDB cluster for the demo, the tests and the benchmarks.
#
#   scripts/cluster.sh up       start (idempotent) every server and wire up replication
#   scripts/cluster.sh down     stop the servers this script started and remove the state
#   scripts/cluster.sh status   one line per server
#   scripts/cluster.sh start NAME   start one stopped server again (fault tests)
#   scripts/cluster.sh pid NAME     print one server's pid
#
# Topology (all on 127.0.0.1):
#   main: primary 3310, replicas 3311 3312
#   s0:   primary 3320, replica  3321
#   s1:   primary 3330, replica  3331
#   ref:  lone server 3340 (the "one big MySQL" tests compare sharded results with)
#
# State lives under $SHARDGATE_STATE (default /tmp/shardgate-cluster): one datadir,
# socket, pid file and error log per server.
set -euo pipefail

STATE=${SHARDGATE_STATE:-/tmp/shardgate-cluster}

# name port server_id primary_port (empty for primaries and ref)
SERVERS=(
  "main-p 3310 10 -"
  "main-r1 3311 11 3310"
  "main-r2 3312 12 3310"
  "s0-p 3320 20 -"
  "s0-r1 3321 21 3320"
  "s1-p 3330 30 -"
  "s1-r1 3331 31 3330"
  "ref 3340 40 -"
)

log() { echo "cluster: $*" >&2; }

ensure_mariadb() {
  if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    log "mariadbd is missing; install Debian's mariadb-server (needs root)"; exit 1
  fi
  log "installing mariadb-server with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq mariadb-server mariadb-client >/dev/null
}

mariadbd_bin() { command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd; }

sql() { # sql NAME STATEMENT...: run as the local root over the unix socket
  local name=$1; shift
  mariadb --no-defaults -uroot --socket="$STATE/$name/sock" -N -B -e "$*"
}

alive() { # alive NAME: the pid in the pid file is running (a killed server
  # may linger as a zombie when nobody reaps it: that is not running)
  local pidf="$STATE/$1/pid" pid
  [ -f "$pidf" ] || return 1
  pid=$(cat "$pidf")
  kill -0 "$pid" 2>/dev/null || return 1
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

template() {
  local tpl="$STATE/.template"
  [ -d "$tpl/mysql" ] && return
  rm -rf "$tpl"; mkdir -p "$tpl"
  mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$tpl" \
    --auth-root-authentication-method=socket --skip-test-db >"$STATE/install.log" 2>&1 \
    || { cat "$STATE/install.log" >&2; exit 1; }
}

start() { # start NAME PORT SERVER_ID
  local name=$1 port=$2 id=$3 dir="$STATE/$1"
  # A server that was just sent SIGKILL can still be exiting (its pid
  # alive, its port and InnoDB files held): wait for it to go, unless it
  # answers (then it is simply running).
  local _
  for _ in $(seq 1 50); do
    alive "$name" || break
    mariadb-admin --no-defaults -uroot --connect-timeout=1 --socket="$dir/sock" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  alive "$name" && return
  if [ ! -d "$dir/data/mysql" ]; then
    mkdir -p "$dir"; cp -a "$STATE/.template" "$dir/data"
  fi
  local ro=0; [ "$4" != "-" ] && ro=1
  # wait_ready reads only what this start writes to the error log: an
  # "[ERROR] Aborting" left by an earlier start (a port still held by a
  # server being killed, say) must not fail this one.
  stat -c %s "$dir/error.log" > "$dir/log-offset" 2>/dev/null || echo 0 > "$dir/log-offset"
  # The server outlives this script: it must not inherit the caller's file
  # descriptors beyond stdio (a test runner's lock file would stay locked
  # for as long as the server runs), and it runs in a session of its own,
  # so that a test runner killing its process group on a timeout does not
  # take the server down with it.
  local fd
  for fd in $(ls /proc/$$/fd); do
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
  done
  setsid "$(mariadbd_bin)" --no-defaults --user="$(id -un)" \
    --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
    --socket="$dir/sock" --pid-file="$dir/pid" --log-error="$dir/error.log" \
    --server-id="$id" --log-bin=mysql-bin --binlog-format=ROW --log-slave-updates=1 \
    --gtid-strict-mode=1 --read-only="$ro" --relay-log=relay-bin \
    --skip-name-resolve --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --max-connections=2000 --max-allowed-packet=1G --performance-schema=0 \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --skip-innodb-doublewrite \
    --table-open-cache=4000 --thread-cache-size=64 >"$dir/stdout.log" 2>&1 \
    3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  # The daemon must not inherit the caller's descriptors: started under
  # `flock /tmp/sg-integration.lock make test`, it would hold that lock for
  # as long as it runs and block every later run on the shared cluster.
}

wait_ready() { # wait_ready NAME
  local name=$1
  for _ in $(seq 1 300); do
    if mariadb-admin --no-defaults -uroot --socket="$STATE/$name/sock" ping >/dev/null 2>&1; then return; fi
    if [ -f "$STATE/$name/error.log" ] &&
      tail -c +$(( $(cat "$STATE/$name/log-offset" 2>/dev/null || echo 0) + 1 )) "$STATE/$name/error.log" | grep -q "\[ERROR\] Aborting"; then break; fi
    sleep 0.1
  done
  log "$name did not start; its error log:"; tail -20 "$STATE/$name/error.log" >&2 || true
  exit 1
}

# The application user gets only what the proxy needs (what README's
# "Security model" recommends for production): on *.* nothing but SLAVE
# MONITOR, for the health checks' SHOW SLAVE STATUS; DML, DDL, temporary
# tables and locks on the schemas the rules declare, and nothing on mysql.*.
# Neither SUPER nor READ_ONLY ADMIN: a write that reaches a replica fails
# with 1290. Databases:
#   shop                        testdata/rules.*.yaml, deploy/, scripts/demo.sh
#   sbtest sbshard sbdirect     testdata/rules.sysbench.yaml, scripts/bench.sh, TestSysbench
#   txn_% iso_% usr_%           integration tests' own databases (txn_test.go,
#                               isolation_test.go, users_test.go)
#   drvsuite_%                  scripts/driver-suite.sh
#   shardgate                   the XA decision log (transactions.log_schema's
#                               default; docs/transactions.md)
APP_GLOBAL_GRANTS="SLAVE MONITOR"
APP_DB_GRANTS="SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES,
  CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE,
  ALTER ROUTINE, TRIGGER, EVENT"
APP_DATABASES='shop shardgate sbtest sbshard sbdirect txn\_% iso\_% usr\_% drvsuite\_%'

app_grants() { # the statements giving app exactly the privileges above
  local db out="GRANT $APP_GLOBAL_GRANTS ON *.* TO 'app'@'%';"
  for db in $APP_DATABASES; do out+=" GRANT $APP_DB_GRANTS ON \`$db\`.* TO 'app'@'%';"; done
  echo "$out"
}

setup_primary() { # users are created on primaries only; replicas get them through the binlog
  local name=$1
  if [ "$(sql "$name" "SELECT COUNT(*) FROM mysql.user WHERE user='app'")" = 1 ]; then
    # A cluster set up by an older version of this script may still grant
    # more: start over from nothing, unless the grants are already these.
    local dbs global
    dbs=$(sql "$name" "SELECT COUNT(*) FROM mysql.db WHERE User='app' AND Host='%'")
    global=$(sql "$name" "SHOW GRANTS FOR 'app'@'%'" | grep -F ' ON *.* ' | sed 's/ TO .*//')
    if [ "$dbs" = "$(wc -w <<<"$APP_DATABASES")" ] && [ "$global" = "GRANT $APP_GLOBAL_GRANTS ON *.*" ]; then return; fi
    sql "$name" "REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'app'@'%'; $(app_grants)"
    return
  fi
  sql "$name" "CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app';
    $(app_grants)
    CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'repl';
    GRANT REPLICATION SLAVE, SLAVE MONITOR ON *.* TO 'repl'@'%';"
}

setup_replica() { # setup_replica NAME PRIMARY_PORT
  local name=$1 pport=$2
  [ -n "$(sql "$name" "SHOW SLAVE STATUS")" ] && return
  sql "$name" "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$pport,
    MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos,
    MASTER_CONNECT_RETRY=1; START SLAVE;"
}

wait_replicated() { # wait until every replica has the app user from its primary
  local name=$1
  for _ in $(seq 1 200); do
    [ "$(sql "$name" "SELECT COUNT(*) FROM mysql.user WHERE user='app'")" = 1 ] && return
    sleep 0.1
  done
  log "$name did not replicate from its primary:"; sql "$name" "SHOW SLAVE STATUS\G" >&2; exit 1
}

up() {
  ensure_mariadb
  mkdir -p "$STATE"
  template
  for s in "${SERVERS[@]}"; do start $s; done
  for s in "${SERVERS[@]}"; do set -- $s; wait_ready "$1"; done
  for s in "${SERVERS[@]}"; do set -- $s; [ "$4" = "-" ] && setup_primary "$1"; done
  for s in "${SERVERS[@]}"; do set -- $s; [ "$4" != "-" ] && setup_replica "$1" "$4"; done
  for s in "${SERVERS[@]}"; do set -- $s; [ "$4" != "-" ] && wait_replicated "$1"; done
  log "up: state in $STATE"
}

down() {
  [ -d "$STATE" ] || { log "nothing to stop"; return; }
  local pids=()
  for s in "${SERVERS[@]}"; do
    set -- $s
    if alive "$1"; then
      local pid; pid=$(cat "$STATE/$1/pid")
      kill -CONT "$pid" 2>/dev/null || true # a test may have frozen it
      kill "$pid" 2>/dev/null && pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$STATE"
  log "down"
}

status() {
  for s in "${SERVERS[@]}"; do
    set -- $s
    if alive "$1"; then
      local extra=""
      if [ "$4" != "-" ]; then
        extra=$(mariadb --no-defaults -uroot --socket="$STATE/$1/sock" -E -e "SHOW SLAVE STATUS" 2>/dev/null | awk '/Slave_IO_Running:|Slave_SQL_Running:|Seconds_Behind_Master:/{printf "%s%s ", $1, $2}')
        # A GTID with the replica's own server id is a transaction written
        # on the replica, not replicated: with gtid_strict_mode replication
        # stops at the primary's event of that number (see
        # integration/gtid_test.go).
        local own
        own=$(sql "$1" "SELECT @@gtid_binlog_state" 2>/dev/null | tr ',' '\n' | awk -F- -v id="$3" '$2 == id' | paste -sd, -) || true
        [ -n "$own" ] && extra+="LOCAL_WRITES:$own "
      fi
      echo "$1 127.0.0.1:$2 up $extra"
    else
      echo "$1 127.0.0.1:$2 down"
    fi
  done
}

server_spec() { # server_spec NAME: its line from SERVERS
  for s in "${SERVERS[@]}"; do set -- $s; [ "$1" = "$NAME" ] && { echo "$s"; return; }; done
  log "unknown server $NAME"; exit 2
}

case "${1:-}" in
  up) up ;;
  start) NAME=${2:?server name}; spec=$(server_spec); start $spec; wait_ready "$NAME" ;;
  pid) NAME=${2:?server name}; server_spec >/dev/null; cat "$STATE/$NAME/pid" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status|start NAME|pid NAME" >&2; exit 2 ;;
esac
