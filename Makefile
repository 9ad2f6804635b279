# Starling — run `make help` for the targets.
GO ?= go
STARLING := $(GO) run ./cmd/starling

.DEFAULT_GOAL := help
.PHONY: help run test bench overload soak generate lint build db-stop

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## serve web, API and workers on :8080; starts a local Postgres under .data/ when DATABASE_URL is unset
	STARLING_LOG_FORMAT=$${STARLING_LOG_FORMAT:-text} $(STARLING) all

test: ## start the local test Postgres (installing it, Chromium and axe-core when missing), then go test -race ./...
	@bash tools/ensure-chromium.sh
	@axe=$$(bash tools/ensure-axe.sh) && url=$$($(STARLING) devdb start --cluster test) && \
	  STARLING_AXE="$$axe" STARLING_TEST_DATABASE_URL="$$url" STARLING_REQUIRE_BROWSER=1 $(GO) test -race -count=1 -timeout 15m ./...

bench: ## measure against pgbench baselines into docs/benchmarks.md (QUICK=1: about 3 minutes, into .data/)
	$(GO) build -o bin/starling ./cmd/starling
	$(GO) run ./cmd/starling-bench suite -bin bin/starling $(if $(QUICK),-quick -out .data/benchmarks-quick.md,-out docs/benchmarks.md)

overload: ## one server at 2x its measured capacity: served vs shed, p99, peak RSS, recovery (report in .data/overload.md)
	$(GO) build -o bin/starling ./cmd/starling
	$(GO) run ./cmd/starling-bench overload -bin bin/starling -out .data/overload.md

soak: ## ten minutes of load while killing processes and restarting Postgres; checks nothing is lost (report in .data/soak.md)
	$(GO) build -o bin/starling ./cmd/starling
	$(GO) run ./cmd/starling-soak -bin bin/starling -duration $(or $(DURATION),10m)

generate: ## regenerate internal/store from queries/ with sqlc (tools module, no cgo)
	CGO_ENABLED=0 $(GO) tool -modfile=tools/go.mod sqlc generate

lint: ## go vet and a gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

build: ## build bin/starling
	$(GO) build -o bin/starling ./cmd/starling

db-stop: ## stop the local development and test databases
	$(STARLING) devdb stop --cluster dev
	$(STARLING) devdb stop --cluster test
