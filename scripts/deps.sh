#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine (as root).
set -euo pipefail
need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
/usr/bin/python3 -c 'import pymysql' >/dev/null 2>&1 || need+=(python3-pymysql)
command -v sysbench >/dev/null 2>&1 || need+=(sysbench)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing ${need[*]}; install them (needs root)" >&2; exit 1
  fi
  echo "deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Tests run Debian's /usr/bin/python3, where python3-pymysql installs.
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || { echo "deps: Go is required" >&2; exit 1; }
