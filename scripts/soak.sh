#!/usr/bin/env bash
# `make soak`: long runs that are benchmarks of endurance rather than tests,
# kept out of `make test`. Needs the local cluster (scripts/cluster.sh up).
#
# 1,000,000 prepare/execute/close cycles on one client connection, without
# the race detector: the proxy's per-client statement map must stay empty
# (the cap of 16,382 statements is reached otherwise) and its heap flat
# (integration/clients_test.go, TestPreparedStatementChurn).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
cycles=${SHARDGATE_PS_CYCLES:-1000000}
echo "== $cycles prepare/execute/close cycles (without the race detector)"
SHARDGATE_PS_CYCLES=$cycles go test -count=1 -timeout 60m -run 'TestPreparedStatementChurn$' -v ./integration/ |
  grep -E 'cycles|heap|^(ok|FAIL|---)|_test.go'

# The session isolation stress test at the size issue 11 asks for: 100,000
# random steps of 64 clients over a pool of 4, zero violations.
steps=${SHARDGATE_ISOLATION_STEPS:-100000}
echo "== isolation stress, $steps steps (without the race detector)"
SHARDGATE_ISOLATION_STEPS=$steps go test -count=1 -timeout 60m -run 'TestSessionIsolationStress$' -v ./integration/ |
  grep -E 'isolation stress|VIOLATION|^(ok|FAIL|---)'
