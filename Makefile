# Faultline: `make demo` runs the whole pipeline, `make test` runs every test against
# real Mosquitto and InfluxDB servers. Both install or build what they need.
GO      ?= go
BIN     := $(CURDIR)/bin
PROGRAMS := ingest infer simulate demo
# The trainer and evaluator use the AVX-512 (else AVX2) matrix kernels (Go's experimental
# SIMD package and Go assembly) on amd64, with a run-time CPU check and the portable
# kernel as fallback. The edge
# programs stay portable pure Go.
TRAIN_PROGRAMS := train eval
TRAIN_GOEXPERIMENT := $(if $(filter amd64,$(shell $(GO) env GOARCH)),simd,)
INFLUXD_VERSION := v1.8.10
export FAULTLINE_INFLUXD ?= $(BIN)/influxd
# `go test` timeouts are per package binary; the whole run stays under ~10 minutes.
TEST_TIMEOUT ?= 12m

.PHONY: all build test test-short lint tidy-check fuzz demo servers mosquitto cross cross-check clean bench chaos

all: build

# --version names the commit even where the toolchain does not stamp it (-buildvcs=false).
LDFLAGS := -X github.com/faultline/faultline/internal/cli.commit=$(shell git rev-parse --short HEAD 2>/dev/null)

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(PROGRAMS))
	GOEXPERIMENT=$(TRAIN_GOEXPERIMENT) CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(TRAIN_PROGRAMS))

# Static edge binaries for the gateways (no cgo).
cross:
	@mkdir -p dist
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags='-s -w' -o dist/linux-amd64/ ./cmd/infer ./cmd/ingest
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags='-s -w' -o dist/linux-arm64/ ./cmd/infer ./cmd/ingest
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags='-s -w' -o dist/linux-armv7/ ./cmd/infer ./cmd/ingest

$(BIN)/influxd:
	@mkdir -p $(BIN)
	@echo "building the pinned InfluxDB $(INFLUXD_VERSION) server into bin/ (about a minute, once)"
	cd /tmp && GOBIN=$(BIN) GOFLAGS= $(GO) install github.com/influxdata/influxdb/cmd/influxd@$(INFLUXD_VERSION)

mosquitto:
	@scripts/ensure-mosquitto.sh

# Everything the tests use besides Go: Mosquitto, docker-compose (parsing only),
# shellcheck, qemu-user (the arm64 edge build is run under emulation), and Node.js with
# the Eclipse Tahu Sparkplug B client from npm (the interoperability test, test/sparkplug).
test-tools: mosquitto
	@deploy/scripts/ensure-deploy-tools.sh
	@scripts/ensure-tahu.sh
	@command -v qemu-aarch64-static >/dev/null 2>&1 || scripts/apt-install.sh qemu-user-static

servers: $(BIN)/influxd mosquitto

# Everything under -race except the suites in test/, which drive the real programs as
# subprocesses (built without -race) from a harness whose QoS 1 publishers reconnect
# across broker restarts: there paho.mqtt.golang v1.5.1 itself races (resume() sets the
# DUP flag of a stored publish while its writer goroutine sends it), a report about the
# library rather than about Faultline (open upstream: eclipse-paho/paho.mqtt.golang#703).
# They run without the race detector. test/deploy (the deployment artifacts' tests) is a
# module of its own, which keeps the Kubernetes API types out of the product's
# dependencies: `./...` does not reach it, so it runs on its own line.
test: servers test-tools tidy-check cross-check
	FAULTLINE_REQUIRE_SERVERS=1 $(GO) test -race -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v '/test/')
	FAULTLINE_REQUIRE_SERVERS=1 $(GO) test -timeout $(TEST_TIMEOUT) ./test/...
	cd test/deploy && FAULTLINE_REQUIRE_SERVERS=1 $(GO) test -race -timeout $(TEST_TIMEOUT) ./...

test-short:
	$(GO) test -short ./...
	cd test/deploy && $(GO) test -short ./...

lint: tidy-check
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd test/deploy && $(GO) vet ./...

# The edge programs build for every gateway architecture: armv7 has a 32-bit int, where
# an untyped constant above 2^31 stops the build (it did twice).
cross-check:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) vet ./...
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o /dev/null ./cmd/infer ./cmd/ingest

# go.mod and go.sum say exactly what the code imports (CI fails on drift), in both modules.
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@cd test/deploy && $(GO) mod tidy -diff || { echo "test/deploy/go.mod/go.sum are not tidy: run go mod tidy in test/deploy"; exit 1; }

# Each fuzz target for FUZZTIME (go test allows one target per invocation).
FUZZTIME ?= 30s
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

# Benchmark programs; each prints one key=value summary line (figures in docs/).
bench: servers
	GOMAXPROCS=1 $(GO) run ./bench/train
	GOMAXPROCS=1 GOEXPERIMENT=$(TRAIN_GOEXPERIMENT) $(GO) run ./bench/train
	$(GO) run ./bench/simulate
	$(GO) run ./bench/ingest -duration 15s -rate 15000
	$(GO) run ./bench/infer -mode offline
	$(GO) run ./bench/infer -mode live -qos 1 -n 50000
	$(GO) run ./bench/infer -mode latency -qos 1
	$(GO) run ./bench/infer -mode rss

demo: build servers
	$(BIN)/demo $(DEMO_FLAGS)

# Full-size faults/load/hostile-input/security run plus every fuzz target for FUZZTIME.
chaos: servers test-tools
	FUZZTIME=$(FUZZTIME) scripts/chaos.sh

clean:
	rm -rf dist
