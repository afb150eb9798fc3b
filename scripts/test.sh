#!/usr/bin/env bash
# `make test`: unit tests, integration tests against the real local cluster
# (started here and stopped again unless it was already running), and a
# bounded fuzz run. A missing cluster is a failure; the only skips are the
# fault tests against an external cluster, and they are listed in the output
# with their reasons. Long soaks are in `make soak` (scripts/soak.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
start=$(date +%s)
scripts/deps.sh

echo "== gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...

echo "== docker-compose file"
docker-compose -f deploy/docker-compose.yml config -q
PATH="$PATH:/usr/sbin" haproxy -c -q -f deploy/haproxy.cfg

# The trap is in place before the cluster starts, so a failing or
# interrupted `cluster.sh up` still stops what this run started.
started=0
cleanup() { if [ "$started" = 1 ]; then scripts/cluster.sh down || true; fi; }
trap cleanup EXIT
if [ -n "${SHARDGATE_EXTERNAL_CLUSTER:-}" ]; then
  # The servers already run elsewhere on the same ports (deploy/docker-compose.yml).
  echo "== using the external cluster"
else
  status=$(scripts/cluster.sh status)
  if ! grep -q "main-p .* up" <<<"$status"; then started=1; fi
  echo "== cluster up"
  scripts/cluster.sh up
fi

# -json through scripts/testsummary: one line per package, every skip with
# its reason, the full output of every failure, the totals; not the output
# of passing tests.
echo "== tests (race detector on)"
go build -o /tmp/shardgate-testsummary.$$ ./scripts/testsummary
trap 'rm -f /tmp/shardgate-testsummary.$$; cleanup' EXIT
go test -race -count=1 -timeout 15m -json ./... | /tmp/shardgate-testsummary.$$

# ---- go-sql-driver/mysql's own test suite: direct vs through shardgate
# (unsharded and sharded), known differences in
# testdata/driver-suite-known-failures.txt; see docs/driver-suite.md.
echo "== go-sql-driver/mysql test suite through the proxy"
scripts/driver-suite.sh
# ---- end of the driver suite step

# Bounded by executions rather than time: a time bound can end while a
# worker is mid-input, which go test reports as a failure.
echo "== fuzz (bounded)"
go test -run='^$' -fuzz=FuzzReadPacket -fuzztime=150000x ./wire/
go test -run='^$' -fuzz=FuzzClientInput -fuzztime=50000x ./protocol/
go test -run='^$' -fuzz=FuzzExpandExecutableComments -fuzztime=50000x ./parser/
go test -run='^$' -fuzz=FuzzParse -fuzztime=20000x ./rules/
go test -run='^$' -fuzz=FuzzLoadReader -fuzztime=30000x ./parser/
echo "== all tests passed in $(( $(date +%s) - start )) s"
