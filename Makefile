# The two commands the README promises: `make demo` and `make test`.
.PHONY: build demo stop test soak unit fuzz bench cluster-up cluster-down lint

build:
	go build -o bin/shardgate ./cmd/shardgate

demo:
	scripts/demo.sh start

stop:
	scripts/demo.sh stop

test:
	scripts/test.sh

# Endurance runs kept out of `make test` (1,000,000 prepare cycles); needs
# the cluster up.
soak:
	scripts/soak.sh

# Side-by-side benchmarks; writes bench/results.md (under 10 minutes).
bench:
	scripts/bench.sh

# Unit tests only: no servers needed.
unit:
	go test -short ./...

fuzz:
	go test -run='^$$' -fuzz=FuzzReadPacket -fuzztime=300000x ./wire/
	go test -run='^$$' -fuzz=FuzzClientInput -fuzztime=100000x ./protocol/
	go test -run='^$$' -fuzz=FuzzExpandExecutableComments -fuzztime=100000x ./parser/
	go test -run='^$$' -fuzz=FuzzParse -fuzztime=20000x ./rules/
	go test -run='^$$' -fuzz=FuzzLoadReader -fuzztime=50000x ./parser/

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	go vet ./...

cluster-up:
	scripts/cluster.sh up

cluster-down:
	scripts/cluster.sh down
