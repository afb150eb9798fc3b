#!/usr/bin/env bash
# `make bench`: shardgate side by side with direct MariaDB, in one run on one
# machine, printed as markdown and written to bench/results.md.
#
#   BENCH_SECONDS=8 scripts/bench.sh
#
# sysbench oltp_point_select / oltp_read_only / oltp_write_only at 1, 16 and
# 64 threads: (a) directly against a replica (reads) or the primary (writes),
# (b) through shardgate on an unsharded schema, (c) through shardgate on
# sbtest1 hash-sharded over s0/s1. Reads run without explicit transactions
# (--skip_trx=on) everywhere so that the proxy may send them to replicas;
# sharded writes also skip transactions and the delete/insert pair, so that
# they compare with the unsharded runs statement for statement. Then the Go
# benchmarks: scatter-gather against the ref server, streaming memory, idle
# connections, transfer transactions (xa vs best_effort vs one server,
# docs/transactions.md), loading throughput (100-row INSERTs spanning many
# tables and LOAD DATA LOCAL, proxy vs one server), TPC-H's queries (proxy vs
# one server, docs/tpch.md), parse+plan, k-way merge, the pool's borrow/return
# and the primary's ping before an idle connection's statement.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
scripts/deps.sh
secs=${BENCH_SECONDS:-8}
started=0
status=$(scripts/cluster.sh status)
if ! grep -q "main-p .* up" <<<"$status"; then started=1; fi
scripts/cluster.sh up
port=3397
proxy_pid=""
fwd_pid=""
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null || true
  [ -n "$fwd_pid" ] && kill "$fwd_pid" 2>/dev/null || true
  if [ "$started" = 1 ]; then scripts/cluster.sh down || true; fi
}
trap cleanup EXIT

go build -o bin/shardgate ./cmd/shardgate
go build -o bin/forwarder ./bench/forwarder
for p in 3310 3320 3330; do
  mariadb --no-defaults -h127.0.0.1 -P$p -uapp -papp -e "CREATE DATABASE IF NOT EXISTS sbtest; CREATE DATABASE IF NOT EXISTS sbshard"
done
bin/shardgate --rules testdata/rules.sysbench.yaml --listen 127.0.0.1:$port --admin-listen 127.0.0.1:3398 >/tmp/shardgate-bench.log 2>&1 &
proxy_pid=$!
bin/forwarder 127.0.0.1:3396 127.0.0.1:3311 &
fwd_pid=$!
for _ in $(seq 1 50); do mariadb --no-defaults -h127.0.0.1 -P$port -uapp -papp -e "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done

base=(--db-driver=mysql --mysql-user=app --mysql-password=app --tables=1 --table-size=10000 --auto_inc=off)
for schema in sbtest sbshard; do
  opts=("${base[@]}" --mysql-host=127.0.0.1 --mysql-port=$port --mysql-db=$schema)
  sysbench oltp_common "${opts[@]}" cleanup >/dev/null 2>&1 || true
  sysbench oltp_common "${opts[@]}" prepare >/dev/null
done
sleep 2 # replicas apply the load

ticks() { awk '{print $14 + $15}' /proc/${1:-$proxy_pid}/stat; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/${1:-$proxy_pid}/status; }
out=$(mktemp)
{
  echo "# shardgate benchmarks"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(mariadbd --version | awk '{print $3}'), sysbench $(sysbench --version | awk '{print $2}'), ${secs} s per run."
  echo "Everything (MariaDB servers, sysbench, the proxy) shares these cores; compare ratios, not absolute numbers."
  [ -n "${BENCH_NOTE:-}" ] && { echo; echo "What changed: $BENCH_NOTE"; }
  echo
  echo "## sysbench"
  echo
  echo "\`forwarder\` is a bare Go TCP forwarder to the same replica (bench/forwarder), the floor under any Go proxy here."
  echo "Protocol \`prepared\`: server-side prepared statements (sysbench --db-ps-mode=auto); \`text\`: the values written"
  echo "into each statement's text (--db-ps-mode=disable), as ORMs and interpolating drivers send them: a new text every time."
  echo "The plan cache's hit ratio over the text runs is printed after the table."
  echo
  echo "| test | protocol | threads | target | QPS | p95 ms | ratio to direct | proxy CPU µs/query | proxy RSS MB |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$out"
cat "$out"
cache_lookups() { curl -s 127.0.0.1:3398/metrics | awk -v o="$1" '$1 ~ "^shardgate_plan_cache_lookups_total" && $1 ~ o {s+=$2} END {print s+0}'; }
hits0=$(cache_lookups hit); misses0=$(cache_lookups miss)
for run in "oltp_point_select text" "oltp_point_select prepared" "oltp_read_only prepared" "oltp_write_only prepared"; do
  set -- $run
  test=$1 protocol=$2
  psmode=auto; [ $protocol = text ] && psmode=disable
  for threads in 1 16 64; do
    direct_qps=""
    targets=(direct proxy sharded)
    [ $test = oltp_point_select ] && targets=(direct forwarder proxy sharded)
    for target in "${targets[@]}"; do
      pid=$proxy_pid
      case $target in
        forwarder) pid=$fwd_pid; opts=("${base[@]}" --mysql-host=127.0.0.1 --mysql-port=3396 --mysql-db=sbtest) ;;
        direct)
          host_port=3311; [ $test = oltp_write_only ] && host_port=3310
          opts=("${base[@]}" --mysql-host=127.0.0.1 --mysql-port=$host_port --mysql-db=sbtest) ;;
        proxy) opts=("${base[@]}" --mysql-host=127.0.0.1 --mysql-port=$port --mysql-db=sbtest) ;;
        sharded) opts=("${base[@]}" --mysql-host=127.0.0.1 --mysql-port=$port --mysql-db=sbshard --skip_trx=on --delete_inserts=0) ;;
      esac
      [ $test != oltp_write_only ] && opts+=(--skip_trx=on)
      opts+=(--db-ps-mode=$psmode)
      t0=$(ticks $pid)
      res=$(sysbench $test "${opts[@]}" --threads=$threads --time=$secs --report-interval=0 --histogram=off run 2>&1) || { echo "$res" | tail -5; exit 1; }
      t1=$(ticks $pid)
      total=$(awk '/queries:/ {print $2; exit}' <<<"$res")
      qps=$(awk '/queries:/ {gsub(/[()]/,"",$3); print $3; exit}' <<<"$res")
      p95=$(awk '/95th percentile:/ {print $3; exit}' <<<"$res")
      if [ $target = direct ]; then
        direct_qps=$qps; ratio=1.00; cpu="-"; rss="-"
      else
        ratio=$(awk -v a="$qps" -v b="$direct_qps" 'BEGIN {printf "%.2f", a/b}')
        cpu=$(awk -v t=$((t1 - t0)) -v q="$total" 'BEGIN {printf "%.0f", t * 10000 / q}')
        rss=$(rss_mb $pid)
      fi
      line="| $test | $protocol | $threads | $target | $qps | $p95 | $ratio | $cpu | $rss |"
      echo "$line" | tee -a "$out"
    done
  done
  if [ $protocol = text ]; then
    hits=$(( $(cache_lookups hit) - hits0 )); misses=$(( $(cache_lookups miss) - misses0 ))
    text_ratio=$(awk -v h=$hits -v m=$misses 'BEGIN {if (h+m > 0) printf "%.2f%%", 100*h/(h+m); else print "-"}')
  fi
done
{
  echo
  echo "Plan cache over the text-protocol point selects (unsharded and sharded): $hits hits, $misses misses, hit ratio $text_ratio."
} | tee -a "$out"

{
  echo
  echo "## Go benchmarks"
  echo
  echo '```'
} | tee -a "$out"
go test ./integration -run '^$' -bench 'ScatterVsRef|ScatterStreamMemory|IdleConnections|PrimaryPingCost|Transfers|LoadThroughput|PointSelectAllocs' -benchtime 1x 2>&1 | grep -E 'Benchmark|memory_bench_test|ping_bench_test|load_bench_test|alloc_bench_test' | grep -v '^\[mysql\]' | tee -a "$out"
# TPC-H at scale 0.01: each query's time through the proxy and on ref, and
# the refusals (docs/tpch.md).
go test ./integration -run '^$' -bench 'TPCH' -benchtime 5x 2>&1 | grep -E '^Benchmark|tpch_bench_test' | tee -a "$out"
go test ./planner ./engine -run '^$' -bench 'ParsePlan|BindPoint|KWayMerge' -benchmem -benchtime 20000x 2>&1 | grep -E '^Benchmark' | tee -a "$out"
go test ./protocol -run '^$' -bench 'BinaryRow' -benchmem -benchtime 200000x 2>&1 | grep -E '^Benchmark' | tee -a "$out"
# The pool's own cost per borrow, and a statement on a primary connection
# idle over a second (pinged first) side by side with one used within it.
go test ./backend -run '^$' -bench 'PoolGetPut|PrimaryPing' -benchtime 100000x 2>&1 | grep -E '^Benchmark' | tee -a "$out"
echo '```' | tee -a "$out"
mkdir -p bench
# Earlier runs and their analysis, written by hand below the marker, stay.
if [ -f bench/results.md ] && grep -q '^## Earlier runs and analysis' bench/results.md; then
  { echo; sed -n '/^## Earlier runs and analysis/,$p' bench/results.md; } >>"$out"
fi
cp "$out" bench/results.md
echo
echo "written to bench/results.md"
