#!/usr/bin/env bash
# Runs PyMySQL's own test suite (pymysql/tests/ of a PyMySQL checkout) once
# directly against the main primary and once through a running shardgate,
# and lists every test whose outcome differs. A by-hand run, not part of
# make test: see docs/pymysql-suite.md.
#
#   scripts/pymysql-suite.sh SRC OUTDIR     SRC: a PyMySQL source tree
#
# The suite runs with Debian's python3 and pytest against the PyMySQL of
# SRC (not python3-pymysql: the tests are written for their own version).
# Env: DIRECT_PORT (3310), PROXY_PORT (3307), PY_USER/PY_PASSWORD (the
# suite's first login, pysuite/pysuite), PY_TIMEOUT seconds per test (60).
# Both runs use the same databases test1 and test2, so they run one after
# the other, never at once; each starts from empty ones.
set -uo pipefail
src=${1:?usage: $0 SRC OUTDIR}; out=${2:?usage: $0 SRC OUTDIR}
direct=${DIRECT_PORT:-3310} proxy=${PROXY_PORT:-3307}
user=${PY_USER:-pysuite} pass=${PY_PASSWORD:-pysuite}
mkdir -p "$out"; out=$(cd "$out" && pwd)
my() { mariadb --no-defaults -h127.0.0.1 -P"$direct" -u"$user" -p"$pass" -N -B -e "$1"; }
run() { # run NAME PORT: junit XML in $out/NAME.xml, pytest's output in $out/NAME.log
  local name=$1 port=$2
  # The suite's tables are left behind by a test that fails half-way.
  my "DROP DATABASE IF EXISTS test1; DROP DATABASE IF EXISTS test2;
    CREATE DATABASE test1 DEFAULT CHARACTER SET utf8mb4; CREATE DATABASE test2 DEFAULT CHARACTER SET utf8mb4"
  # PyMySQL's ci/docker.json, on our users and PORT (its third entry, a
  # unix socket, has no meaning for a proxy).
  cat >"$src/pymysql/tests/databases.json" <<JSON
[
  {"host": "127.0.0.1", "port": $port, "user": "$user", "password": "$pass", "database": "test1", "use_unicode": true, "local_infile": true},
  {"host": "127.0.0.1", "port": $port, "user": "test2", "password": "some password", "database": "test2"}
]
JSON
  (cd "$src" && /usr/bin/python3 -m pytest -p no:cacheprovider -v -rs --timeout="${PY_TIMEOUT:-60}" \
    --junitxml="$out/$name.xml" pymysql) >"$out/$name.log" 2>&1
  tail -1 "$out/$name.log"
}
echo "direct ($direct): $(run direct "$direct")"
echo "proxy ($proxy):  $(run proxy "$proxy")"
rm -f "$src/pymysql/tests/databases.json"
/usr/bin/python3 - "$out/direct.xml" "$out/proxy.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
def outcomes(path):
    res = {}
    for tc in ET.parse(path).iter("testcase"):
        name = tc.get("classname") + "::" + tc.get("name")
        kind, msg = "passed", ""
        for child in tc:
            if child.tag in ("failure", "error", "skipped"):
                kind, msg = child.tag, (child.get("message") or "")
                break
        res[name] = (kind, msg)
    return res
d, p = outcomes(sys.argv[1]), outcomes(sys.argv[2])
for name in sorted(set(d) | set(p)):
    dk, pk = d.get(name, ("missing", "")), p.get(name, ("missing", ""))
    if dk[0] != pk[0]:
        print(f"{name}: direct {dk[0]}, proxy {pk[0]}: {pk[1][:300]}")
PY
