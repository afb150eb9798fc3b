#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine (as root).
set -euo pipefail
need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
# mariadb-client, not only -core: integration/dump_test.go runs mariadb-dump.
command -v mariadb >/dev/null 2>&1 && command -v mariadb-dump >/dev/null 2>&1 || need+=(mariadb-client)
/usr/bin/python3 -c 'import pymysql' >/dev/null 2>&1 || need+=(python3-pymysql)
command -v sysbench >/dev/null 2>&1 || need+=(sysbench)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
# HAProxy in front of two instances: integration/haproxy_test.go, deploy/.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing ${need[*]}; install them (needs root)" >&2; exit 1
  fi
  echo "deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Node's mysql2 for integration/clients_test.go (TestNodeMysql2), pinned to
# one exact version and installed here, never at test time, into .deps/node
# of the checkout (ignored by git).
MYSQL2_VERSION=3.24.6
node_dir="$(cd "$(dirname "$0")/.." && pwd)/.deps/node"
if [ "$(node -p "try { require('$node_dir/node_modules/mysql2/package.json').version } catch (e) { '' }" 2>/dev/null)" != "$MYSQL2_VERSION" ]; then
  echo "deps: installing mysql2@$MYSQL2_VERSION into $node_dir" >&2
  mkdir -p "$node_dir"
  timeout 300 npm install --silent --no-audit --no-fund --no-save --prefix "$node_dir" "mysql2@$MYSQL2_VERSION" >/dev/null
fi
# Tests run Debian's /usr/bin/python3, where python3-pymysql installs.
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || { echo "deps: Go is required" >&2; exit 1; }
