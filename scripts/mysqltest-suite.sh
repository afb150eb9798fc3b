#!/usr/bin/env bash
# Runs MariaDB's own mysqltest files (Debian's mariadb-test package) once
# directly against the main primary and once through a running shardgate,
# records both outputs and diffs them. A by-hand run, not part of make test:
# see docs/mysqltest-suite.md.
#
#   scripts/mysqltest-suite.sh OUTDIR FILE...     FILE: main/select.test …
#
# Env: DIRECT_PORT (3310), PROXY_PORT (3307), MTR_USER/MTR_PASSWORD (mtr/mtr),
# MTR_TIMEOUT seconds per run (600), REPLICA_PORTS to wait for (none),
# SHARDGATE_STATE (the cluster's state directory, for stray OUTFILE files). Both runs use the same databases, so
# they run one after the other, never at once.
set -uo pipefail
out=${1:?usage: $0 OUTDIR FILE...}; shift
suite=/usr/share/mysql/mysql-test
direct=${DIRECT_PORT:-3310} proxy=${PROXY_PORT:-3307}
user=${MTR_USER:-mtr} pass=${MTR_PASSWORD:-mtr}
mkdir -p "$out"
my() { mariadb --no-defaults -h127.0.0.1 -P"$1" -u"$user" -p"$pass" -N -B -e "$2"; }
# What mysql-test-run's include/default_mysqld.cnf gives its servers and
# the files count on (latin1, MyISAM, functions that replicate), set on the
# main cluster's servers; and mtr.add_suppression, which the files call.
MTR_GLOBALS="SET GLOBAL log_bin_trust_function_creators=1, GLOBAL character_set_server=latin1,
  GLOBAL collation_server=latin1_swedish_ci, GLOBAL default_storage_engine=MyISAM"
# Statement binlogs on the primary: with ROW (and MIXED, for their unsafe
# statements), the files' UPDATEs of many rows in tables without a key
# keep the replicas busy for minutes (find_row). Both runs get the same notes.
PRIMARY_GLOBALS="SET GLOBAL binlog_format=STATEMENT"
# Replicas to wait for before each run (none: testdata/rules.mysqltest.yaml
# names the primary alone).
# Globals the files set (variables.test, func_str.test, alter_table.test …)
# and restore only when they reach their end: one that stops half-way
# leaves them, e.g. default_storage_engine=MRG_MyISAM (variables.test), after
# which every CREATE TABLE makes a MERGE table: INSERTs fail with 1036 "Table
# is read only". Taken from the primary at the start
# and put back before every run.
SAVED_VARS="max_allowed_packet max_binlog_cache_size max_binlog_size max_connections
  delay_key_write flush binlog_cache_size concurrent_insert connect_timeout max_connect_errors
  flush_time sql_mode time_zone net_buffer_length max_heap_table_size tmp_table_size
  sort_buffer_size key_buffer_size local_infile event_scheduler
  max_sp_recursion_depth default_storage_engine max_delayed_threads max_join_size
  myisam_data_pointer_size net_read_timeout net_write_timeout delayed_insert_timeout
  delayed_queue_size delayed_insert_limit"
saved=""
for v in $SAVED_VARS; do
  val=$(my "$direct" "SELECT IF(@@global.$v REGEXP '^[0-9]+$', @@global.$v, QUOTE(@@global.$v))") && saved+="${saved:+, }GLOBAL $v=$val"
done
reset() { # every run starts from the same empty databases, whatever the last one left
  # (a run stops at its first unexpected error, before its own cleanup)
  local db drops=""
  for db in test mysqltest mysqltest1 mysqltest2 db1 db2 db3 HU mtr d1 crashtest; do
    drops+="DROP DATABASE IF EXISTS $db; "
    # SELECT … INTO OUTFILE 'x' (run directly; the proxy refuses it) writes
    # into the database's directory (the cluster has no secure_file_priv),
    # and DROP DATABASE refuses a directory with files it does not know.
    [ -n "${SHARDGATE_STATE:-}" ] && find "$SHARDGATE_STATE"/main-*/data/"$db" -maxdepth 1 -type f \
      ! -name '*.frm' ! -name '*.ibd' ! -name '*.MY[DI]' ! -name '*.MA[DI]' ! -name '*.opt' \
      ! -name '*.par' ! -name '*.TR[GN]' ! -name '*.CS[MV]' -delete 2>/dev/null
  done
  my "$direct" "SET $saved; $MTR_GLOBALS; $PRIMARY_GLOBALS; $drops CREATE DATABASE test; CREATE DATABASE mtr;
    CREATE PROCEDURE mtr.add_suppression(pattern VARCHAR(255)) BEGIN END"
  local pos r; pos=$(my "$direct" "SELECT @@gtid_binlog_pos")
  for r in ${REPLICA_PORTS:-}; do
    my "$r" "$MTR_GLOBALS; SELECT MASTER_GTID_WAIT('$pos', 30)" >/dev/null
  done
}
run() { # run NAME PORT FILE: output (what --record would write) in $out/NAME.PORT.out
  local name=$1 port=$2 file=$3
  local logdir="$out/log.$port"
  mkdir -p "$logdir" "$out/var/tmp"
  reset
  rm -f "$logdir/$name.log" "$out/$name.$port.result"
  (cd "$suite" && MYSQLTEST_VARDIR="$out/var" MYSQL_TMP_DIR="$out/var/tmp" \
    timeout "${MTR_TIMEOUT:-600}" mariadb-test --host=127.0.0.1 --port="$port" --protocol=tcp \
      --user="$user" --password="$pass" --database=test --basedir="$suite/" \
      --logdir="$logdir" --tmpdir="$out/var/tmp" --test-file="$file" \
      --record --result-file="$out/$name.$port.result") >"$out/$name.$port.stderr" 2>&1
  local rc=$?
  # A run that stops at an unexpected error writes no result file, only the
  # log of what it printed so far; the error line follows it.
  if [ -f "$out/$name.$port.result" ]; then cp "$out/$name.$port.result" "$out/$name.$port.out"
  else cat "$logdir/$name.log" "$out/$name.$port.stderr" >"$out/$name.$port.out" 2>/dev/null; fi
  echo "$rc"
}
printf '%-18s %6s %6s %8s %s\n' file direct proxy difflines verdict
for file in "$@"; do
  name=$(basename "$file" .test)
  rd=$(run "$name" "$direct" "$file")
  rp=$(run "$name" "$proxy" "$file")
  diff -u "$out/$name.$direct.out" "$out/$name.$proxy.out" >"$out/$name.diff"
  n=$(grep -c '^[-+]' "$out/$name.diff")
  v=same; [ "$n" -gt 0 ] && v=DIFFERENT
  printf '%-18s %6s %6s %8s %s\n' "$name" "$rd" "$rp" "$n" "$v"
done
