#!/usr/bin/env bash
# Runs sysbench's OLTP tests through a proxy (or any MySQL endpoint) with
# server-side prepared statements and fails when sysbench reports an error.
#
#   scripts/sysbench.sh PORT SCHEMA [SECONDS] [THREADS] [TESTS...]
#
# SCHEMA sbtest is unsharded, sbshard has sbtest1 sharded by id (see
# testdata/rules.sysbench.yaml). Both run with sysbench's explicit
# transactions and oltp_read_write's DELETE-then-INSERT pair: on sbshard a
# transaction spans s0 and s1 and commits with two-phase commit
# (transactions: xa, docs/transactions.md).
#
# Errors: sysbench stops at the first error it does not retry, so any such
# error fails the run (exit status 1, "sysbench failed"). Deadlocks (1213),
# lock wait timeouts (1205) and 1020 are MariaDB's own answers under
# contention, which sysbench retries (--mysql-ignore-errors); they are not
# errors of the endpoint and are reported apart, by code
# (scripts/sysbench-count.lua), so a caller can compare them with a direct run.
#
# oltp_insert runs on an empty table: with --auto_inc=off it draws ids from
# sysbench.rand.unique(), which never repeats within a run but can hit rows a
# pre-filled table already has (1062, not retried).
#
# Prints one line per test:
#   NAME qps=Q p95_ms=P events=E retried=R codes=CODE:N,... [rows=N idsum=S]
#
# rows and idsum (after every test on the pre-filled table) are COUNT(*) and
# SUM(id) of sbtest1 read back through the endpoint: oltp_read_write deletes
# and inserts rows of the same ids, so they must stay SIZE and SIZE*(SIZE+1)/2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=${1:?port}; schema=${2:?schema}; secs=${3:-5}; threads=${4:-4}; shift $(( $# < 4 ? $# : 4 ))
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(oltp_read_write oltp_point_select oltp_insert oltp_update_index)
host=${SYSBENCH_HOST:-127.0.0.1}
size=${SYSBENCH_TABLE_SIZE:-10000}
common=(--db-driver=mysql --mysql-host="$host" --mysql-port="$port" --mysql-user=app --mysql-password=app
  --mysql-db="$schema" --tables=1 --table-size="$size" --auto_inc=off --db-ps-mode=auto)
# No sysbench command may hang the caller: each gets its run time plus a margin.
limit=$((secs + 120))
sb() { timeout --kill-after=5 "$limit" sysbench "$@"; }

# filled: the table holds $size rows (empty after oltp_insert's prepare).
filled=""
prepare() {
  local want=$1
  [ "$filled" = "$want" ] && return 0
  sb oltp_common "${common[@]}" cleanup >/dev/null 2>&1 || true
  if [ "$want" = full ]; then
    sb oltp_common "${common[@]}" prepare >/dev/null
  else
    sb oltp_insert "${common[@]}" prepare >/dev/null # empty tables
  fi
  filled=$want
}

status=0
for t in "${tests[@]}"; do
  if [ "$t" = oltp_insert ]; then prepare empty; else prepare full; fi
  out=$(SB_TEST=$t sb "$here/sysbench-count.lua" "${common[@]}" --time="$secs" --threads="$threads" --report-interval=0 --histogram=off run 2>&1) || {
    echo "$t: sysbench failed"; echo "$out" | grep -v '^retried ' | tail -20; status=1; continue; }
  qps=$(awk '/queries:/ {gsub(/[()]/,"",$3); print $3; exit}' <<<"$out")
  p95=$(awk '/95th percentile:/ {print $3; exit}' <<<"$out")
  events=$(awk '/total number of events:/ {print $5; exit}' <<<"$out")
  retried=$(awk '/ignored errors:/ {print $3; exit}' <<<"$out")
  codes=$(awk '/^retried / {n[$2] += $3} END {s = ""; for (c in n) s = s (s == "" ? "" : ",") c ":" n[c]; print (s == "" ? "none" : s)}' <<<"$out")
  invariants=""
  if [ "$t" != oltp_insert ]; then
    read -r rows idsum < <(mariadb --no-defaults -h"$host" -P"$port" -uapp -papp "$schema" -N -B \
      -e "SELECT COUNT(*), SUM(id) FROM sbtest1")
    invariants=" rows=$rows idsum=$idsum"
  fi
  echo "$t qps=$qps p95_ms=$p95 events=$events retried=$retried codes=$codes$invariants"
done
sb oltp_common "${common[@]}" cleanup >/dev/null 2>&1 || true
exit $status
