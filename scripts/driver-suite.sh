#!/usr/bin/env bash
# go-sql-driver/mysql's own test suite (the version in go.mod), run three times:
#   direct     against the MariaDB primary 127.0.0.1:3310
#   unsharded  through shardgate, the driver's database an unsharded schema on cluster main
#   sharded    through shardgate, the driver's `test` table hash-sharded on its
#              column `value` (4 tables over s0 and s1)
# Every test that passes directly must pass through the proxy, except the
# (config, test) pairs listed in testdata/driver-suite-known-failures.txt; a
# listed test that passes makes the run fail too, so the list stays true.
# See docs/driver-suite.md. Needs the local cluster (scripts/cluster.sh up).
#
# Env: DRIVER_SUITE_KEEP=1 keeps the temporary directory (logs, JSON output);
# DRIVER_SUITE_LOCK=FILE is the cluster lock (default /tmp/sg-integration.lock;
# empty: no locking, for a caller that already holds it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
export GOWORK=off

lock=${DRIVER_SUITE_LOCK-/tmp/sg-integration.lock}
# Run as `flock /tmp/sg-integration.lock make test`, the lock is already ours:
# taking it again would wait for ourselves. Look for an ancestor flock on it.
held_by_ancestor() {
  local pid=$PPID args a
  while [ "$pid" -gt 1 ] 2>/dev/null; do
    mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || args=()
    if [ "${#args[@]}" -gt 1 ] && [ "${args[0]##*/}" = flock ]; then
      for a in "${args[@]:1}"; do [ "$a" = "$lock" ] && return 0; done
    fi
    pid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null) || return 1
  done
  return 1
}
if [ -n "$lock" ] && [ "${1:-}" != __run ] && held_by_ancestor; then
  echo "driver-suite: $lock is held by a calling flock; not locking again"
  lock=
fi
export DRIVER_SUITE_LOCK=$lock
# Every command that talks to the cluster runs under the shared lock, bounded
# in its wait and (inside) by timeout.
locked() {
  if [ -n "$lock" ]; then flock -o -w "${DRIVER_SUITE_LOCK_WAIT:-1200}" "$lock" "$@"; else "$@"; fi
}

test_timeout=75s   # go test -timeout of one run (the suite takes ~10-20 s)
main_addr=127.0.0.1:3310
declare -A primary=([main]=127.0.0.1:3310 [s0]=127.0.0.1:3320 [s1]=127.0.0.1:3330)
# TestConnectorReturnsTimeout dials 1.1.1.1:1234: not a loopback address, so never run.
skip='^TestConnectorReturnsTimeout$'

sql() { # sql HOST:PORT STATEMENT (the caller holds the lock)
  timeout 20 mariadb -h"${1%:*}" -P"${1#*:}" -uapp -papp --batch --skip-column-names -e "$2"
}

# ---- one run: `driver-suite.sh __run NAME DB CLUSTERS [RULES]`, called under
# the lock: creates DB on each of CLUSTERS (comma-separated), starts shardgate
# with RULES (none: the tests go to the main primary directly), runs the
# suite, stops shardgate and drops DB again.
if [ "${1:-}" = __run ]; then
  name=$2 db=$3 clusters=$4 rules=${5:-} tmp=$DRIVER_SUITE_TMP
  date +%s >"$tmp/$name.start"   # the lock is held from here
  proxy_pid=
  finish() {
    if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
    local c
    for c in ${clusters//,/ }; do
      sql "${primary[$c]}" "DROP DATABASE IF EXISTS $db" || echo "driver-suite: could not drop $db on $c" >&2
    done
    rm -f "$tmp/$name.dbs"
  }
  trap finish EXIT
  echo "$db $clusters" >"$tmp/$name.dbs"
  for c in ${clusters//,/ }; do sql "${primary[$c]}" "CREATE DATABASE $db"; done
  addr=$main_addr
  if [ -n "$rules" ]; then
    timeout 150 "$tmp/shardgate" --rules "$rules" --listen 127.0.0.1:0 2>"$tmp/proxy-$name.log" &
    proxy_pid=$!
    addr=
    for _ in $(seq 100); do
      addr=$(sed -n 's/.*msg="shardgate listening" addr=\(127\.0\.0\.1:[0-9]*\).*/\1/p' "$tmp/proxy-$name.log")
      [ -n "$addr" ] && break
      kill -0 "$proxy_pid" 2>/dev/null || break
      sleep 0.1
    done
    if [ -z "$addr" ]; then echo "driver-suite: shardgate did not start:" >&2; cat "$tmp/proxy-$name.log" >&2; exit 1; fi
  fi
  echo "== driver suite: $name ($addr, database $db on $clusters)"
  # The compiled test binary runs in the driver's source directory, its output
  # converted to `go test -json` events.
  (cd "$tmp/src" && MYSQL_TEST_USER=app MYSQL_TEST_PASS=app MYSQL_TEST_PROT=tcp \
    MYSQL_TEST_ADDR="$addr" MYSQL_TEST_DBNAME="$db" \
    timeout 100 go tool test2json -p github.com/go-sql-driver/mysql "$tmp/driver.test" \
      -test.v=test2json -test.count=1 -test.timeout="$test_timeout" -test.skip="$skip" \
      >"$tmp/$name.json" 2>"$tmp/$name.stderr") || true
  echo "   $name: $(( $(date +%s) - $(cat "$tmp/$name.start") ))s"
  exit 0
fi

run() { # run NAME DB CLUSTERS [RULES]: one run under the lock; reports the lock wait
  local t0=$(date +%s)
  locked timeout 150 "$0" __run "$@"
  local waited=$(( $(cat "$tmp/$1.start") - t0 ))
  lock_wait=$(( lock_wait + waited ))
  [ "$waited" -lt 2 ] || echo "   (waited ${waited}s for $lock)"
}
lock_wait=0

start=$(date +%s)
version=$(timeout 60 go list -m -f '{{.Version}}' github.com/go-sql-driver/mysql)
src=$(timeout 120 go mod download -json "github.com/go-sql-driver/mysql@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -d "$src" ] || { echo "driver-suite: no source for go-sql-driver/mysql@$version" >&2; exit 1; }

tmp=$(mktemp -d /tmp/driver-suite.XXXXXX)
export DRIVER_SUITE_TMP=$tmp
base=drvsuite_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
cleanup() {
  # A run cut off before its own cleanup leaves $tmp/NAME.dbs: drop those.
  local f db clusters c
  for f in "$tmp"/*.dbs; do
    [ -e "$f" ] || continue
    read -r db clusters <"$f"
    for c in ${clusters//,/ }; do
      locked timeout 20 mariadb -h"${primary[$c]%:*}" -P"${primary[$c]#*:}" -uapp -papp -e "DROP DATABASE IF EXISTS $db" ||
        echo "driver-suite: could not drop $db on $c" >&2
    done
  done
  if [ -n "${DRIVER_SUITE_KEEP:-}" ]; then echo "driver-suite: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

echo "== driver suite: go-sql-driver/mysql $version, database prefix $base"
# The module cache is read-only: work on a copy.
cp -r "$src" "$tmp/src"
chmod -R u+w "$tmp/src"
timeout 300 go build -o "$tmp/shardgate" ./cmd/shardgate
(cd "$tmp/src" && timeout 300 go test -c -o "$tmp/driver.test" .)
echo "   built shardgate and the driver's test binary: $(( $(date +%s) - start ))s"

rules_head() {
  cat <<EOF
users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
EOF
}

# (a) directly against the primary
run direct "${base}_d" main

# (b) unsharded schema on main (default consistency). The suite deletes
# whole tables (TestCRUD's DELETE FROM test), as one MySQL allows: the
# schemas opt out of the proxy's guard (allow_full_table_writes).
{ rules_head; printf '  %s:\n    cluster: main\n    allow_full_table_writes: true\n' "${base}_u"; } >"$tmp/rules-unsharded.yaml"
run unsharded "${base}_u" main "$tmp/rules-unsharded.yaml"

# (c) the driver's `test` table hash-sharded on `value`, the column the
# driver's tests create first (`CREATE TABLE test (value …)`)
{
  rules_head
  printf '  %s:\n    cluster: main\n    allow_full_table_writes: true\n    tables:\n' "${base}_s"
  printf '      test:\n        shard: {by: hash, column: value, tables: 4, clusters: [s0, s1]}\n'
} >"$tmp/rules-sharded.yaml"
run sharded "${base}_s" main,s0,s1 "$tmp/rules-sharded.yaml"

# ---- comparison and summary
rc=0
python3 - "$tmp" testdata/driver-suite-known-failures.txt <<'PY' || rc=$?
import json, sys

tmp, known_file = sys.argv[1], sys.argv[2]
configs = ["direct", "unsharded", "sharded"]

def load(name):
    """Top-level test → pass|fail|skip, output lines per test, whether the run ended."""
    res, out, ended = {}, {}, False
    try:
        lines = open(f"{tmp}/{name}.json", encoding="utf-8", errors="replace").read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        test, act = ev.get("Test"), ev.get("Action")
        if not test:
            if act in ("pass", "fail"):
                ended = True
            continue
        top = test.split("/")[0]
        if act == "output":
            out.setdefault(top, []).append(ev.get("Output", "").rstrip("\n"))
        elif act in ("pass", "fail", "skip") and "/" not in test:
            res[test] = act
    return res, out, ended

runs = {c: load(c) for c in configs}

known = {}   # (config, test) → reason
errors = []
for n, line in enumerate(open(known_file, encoding="utf-8"), 1):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    parts = line.split(None, 2)
    if len(parts) < 3 or parts[0] not in configs[1:]:
        errors.append(f"{known_file}:{n}: want `unsharded|sharded TestName reason`")
        continue
    known[(parts[0], parts[1])] = parts[2]
flaky = {k for k, r in known.items() if r.startswith("flaky:")}

direct = runs["direct"][0]
print("\n== driver suite summary (top-level tests; TestConnectorReturnsTimeout excluded: it dials 1.1.1.1)")
print(f"{'config':<10} {'passed':>6} {'failed':>6} {'skipped':>7}  {'no result':>9}")
for c in configs:
    res, _, ended = runs[c]
    vals = list(res.values())
    missing = len([t for t in direct if t not in res]) if c != "direct" else 0
    print(f"{c:<10} {vals.count('pass'):>6} {vals.count('fail'):>6} {vals.count('skip'):>7}  {missing:>9}"
          + ("" if ended else "   (the run did not finish: timeout or crash)"))

if direct.get("TestCRUD") != "pass":
    errors.append("direct run: TestCRUD did not pass, so the direct run did not reach the server; nothing to compare")

def first_error(out, test):
    lines = [l for l in out.get(test, []) if l.strip() and not l.startswith(("=== ", "--- PASS", "--- SKIP"))]
    return lines[:6]

print("\n== differences from the direct run")
for c in configs[1:]:
    res, out, _ = runs[c]
    for t in sorted(direct):
        if direct[t] != "pass":
            continue
        got = res.get(t, "no result")
        reason = known.get((c, t))
        if got == "pass":
            if (c, t) in flaky:
                print(f"  {c:<9} {t}: pass this time (known flaky: {reason[6:].strip()})")
            elif reason is not None:
                errors.append(f"{c} {t}: listed as a known failure but passes now: remove it from {known_file}")
            continue
        if reason is not None:
            print(f"  {c:<9} {t}: {got} (known: {reason})")
            if (c, t) in flaky:
                for l in first_error(out, t):
                    print("        | " + l[:240])
        else:
            print(f"  {c:<9} {t}: {got}  <-- NOT IN THE KNOWN-FAILURES LIST")
            for l in first_error(out, t):
                print("        | " + l[:240])
            errors.append(f"{c} {t}: passes directly, {got} through the proxy")
    for t in sorted(res):
        if res[t] == "pass" and direct.get(t) not in (None, "pass"):
            print(f"  {c:<9} {t}: passes through the proxy but {direct[t]} directly")
for (c, t), reason in sorted(known.items()):
    if direct.get(t) != "pass" and not any(e.startswith(f"{c} {t}:") for e in errors):
        errors.append(f"{c} {t}: listed, but it does not pass directly ({direct.get(t, 'no such test')}): remove it")

if errors:
    print("\n== driver suite FAILED")
    for e in errors:
        print("  " + e)
    sys.exit(1)
print("\n== driver suite: every test that passes directly passes through the proxy, except the listed ones")
PY
echo "== driver suite took $(( $(date +%s) - start ))s, of which ${lock_wait}s waiting for the cluster lock"
exit $rc
