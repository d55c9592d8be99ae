# smsgate — the two commands of the README are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/smsgate
DEMO_DURATION ?= 60s
PKGS := ./...

.PHONY: all build demo test test-short lint bench bench-compare faults deps clean image

all: build

build:
	$(GO) build -o $(BIN) ./cmd/smsgate

deps:
	@scripts/ensure-deps.sh

# The container image (deploy/compose/Dockerfile: static binary, distroless,
# non-root), tagged smsgate:local, with docker or podman.
ENGINE ?= $(shell command -v docker 2>/dev/null || command -v podman 2>/dev/null)
image:
	@[ -n "$(ENGINE)" ] || { echo "make image: no container engine found (install docker or podman)"; exit 1; }
	@$(ENGINE) info >/dev/null 2>&1 || { echo "make image: $(ENGINE) is installed but cannot reach its daemon/service"; exit 1; }
	$(ENGINE) build -f deploy/compose/Dockerfile -t smsgate:local .

# The demo: embedded Kafka-protocol broker, three simulated SMSCs, sample
# traffic, the live status page, and a billing export at the end.
# DEMO_DURATION=0 keeps it running until Ctrl-C.
demo: deps build
	$(BIN) demo -duration $(DEMO_DURATION)

# Everything CI runs: vet, unit + integration tests with -race (fuzz seed
# corpora run as ordinary tests), goleak, interop with independent peers.
test: deps
	@echo "== gofmt"; out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-ed: $$out"; exit 1; fi
	@echo "== go vet"; $(GO) vet $(PKGS)
	@echo "== go test -race"; $(GO) test -race -count=1 -timeout 20m $(PKGS)

lint:
	gofmt -l $$(git ls-files '*.go')
	$(GO) vet $(PKGS)

# Go benchmarks of the hot paths; results go to benchmarks/RESULTS.md by hand
# with the command, date and machine.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./smpp/... ./router/... ./dlr/... ./billing/... ./internal/gateway/...

bench-compare: deps build
	benchmarks/compare.sh

faults: deps build
	$(GO) test -race -count=1 -timeout 60m -run 'Fault' -tags faults ./test/faults/...

clean:
	rm -rf bin out
