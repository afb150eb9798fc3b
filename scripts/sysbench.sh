#!/usr/bin/env bash
# Runs sysbench's OLTP tests through a proxy (or any MySQL endpoint) with
# server-side prepared statements and fails when sysbench reports an error.
#
#   scripts/sysbench.sh PORT SCHEMA [SECONDS] [THREADS] [TESTS...]
#
# SCHEMA sbtest is unsharded, sbshard has sbtest1 sharded by id (see
# testdata/rules.sysbench.yaml). On sbshard the tests run without explicit
# transactions (--skip_trx=on): a transaction cannot span shards yet. Without
# transactions oltp_read_write's DELETE-then-INSERT of one id races between
# threads (duplicate key), so it runs with --delete_inserts=0 there;
# oltp_insert still inserts.
# Prints one line per test: name, queries per second, p95 latency (ms), errors.
set -euo pipefail
port=${1:?port}; schema=${2:?schema}; secs=${3:-5}; threads=${4:-4}; shift $(( $# < 4 ? $# : 4 ))
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(oltp_read_write oltp_point_select oltp_insert oltp_update_index)
host=${SYSBENCH_HOST:-127.0.0.1}
common=(--db-driver=mysql --mysql-host="$host" --mysql-port="$port" --mysql-user=app --mysql-password=app
  --mysql-db="$schema" --tables=1 --table-size="${SYSBENCH_TABLE_SIZE:-10000}" --auto_inc=off --db-ps-mode=auto)
[ "$schema" = sbshard ] && common+=(--skip_trx=on --delete_inserts=0)
sysbench oltp_common "${common[@]}" cleanup >/dev/null 2>&1 || true
sysbench oltp_common "${common[@]}" prepare >/dev/null
status=0
for t in "${tests[@]}"; do
  out=$(sysbench "$t" "${common[@]}" --time="$secs" --threads="$threads" --report-interval=0 --histogram=off run 2>&1) || { echo "$t: sysbench failed"; echo "$out" | tail -20; status=1; continue; }
  qps=$(echo "$out" | awk '/queries:/ {gsub(/[()]/,"",$3); print $3; exit}')
  p95=$(echo "$out" | awk '/95th percentile:/ {print $3; exit}')
  errs=$(echo "$out" | awk '/ignored errors:/ {print $3; exit}')
  echo "$t qps=$qps p95_ms=$p95 errors=$errs"
  [ "$errs" = 0 ] || status=1
done
sysbench oltp_common "${common[@]}" cleanup >/dev/null 2>&1 || true
exit $status
