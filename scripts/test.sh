#!/usr/bin/env bash
# `make test`: unit tests, integration tests against the real local cluster
# (started here and stopped again unless it was already running), and a
# bounded fuzz run. Integration tests never skip: no cluster, no pass.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
scripts/deps.sh

echo "== gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...

echo "== docker-compose file"
docker-compose -f deploy/docker-compose.yml config -q

started=0
if [ -n "${SHARDGATE_EXTERNAL_CLUSTER:-}" ]; then
  # The servers already run elsewhere on the same ports (deploy/docker-compose.yml).
  echo "== using the external cluster"
else
  status=$(scripts/cluster.sh status)
  if ! grep -q "main-p .* up" <<<"$status"; then started=1; fi
  echo "== cluster up"
  scripts/cluster.sh up
fi
cleanup() { if [ "$started" = 1 ]; then scripts/cluster.sh down || true; fi; }
trap cleanup EXIT

echo "== tests (race detector on)"
go test -race -count=1 -timeout 15m ./...

echo "== 1,000,000 prepare/execute/close cycles (without the race detector)"
SHARDGATE_PS_CYCLES=1000000 go test -count=1 -run 'TestPreparedStatementChurn$' -v ./integration/ | grep -E 'cycles|^(ok|FAIL|---)'

# Bounded by executions rather than time: a time bound can end while a
# worker is mid-input, which go test reports as a failure.
echo "== fuzz (bounded)"
go test -run='^$' -fuzz=FuzzReadPacket -fuzztime=300000x ./wire/
go test -run='^$' -fuzz=FuzzClientInput -fuzztime=100000x ./protocol/
echo "== all tests passed"
