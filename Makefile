# vecron — the two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin
FUNCTIONS := tick execute-http execute-db api
# Static, stripped binaries: what the container images ship.
BUILDFLAGS := -trimpath -ldflags='-s -w'

.PHONY: all build images run test bench screenshots vet vet-main vet-deploy fmt-check templ-check depcheck clean

all: build

build:
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -o $(BIN)/ ./cmd/vecron $(addprefix ./functions/,$(FUNCTIONS))
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -tags oracle -o $(BIN)/execute-db-oracle ./functions/execute-db

## images: build every function's container image without a Docker daemon (deploy/cmd/images,
## docs/deploy.md §2) and write each as an OCI archive, bin/images/vecron-<function>.tar.
## PLATFORMS=linux/amd64,linux/arm64 makes an index of both (this machine's platform by
## default); VERSION sets the version label and tag (git describe by default).
PLATFORMS ?=
VERSION ?=
images:
	cd deploy && $(GO) run ./cmd/images -root $(CURDIR) -out $(abspath $(BIN))/images -platforms '$(PLATFORMS)' -version '$(VERSION)'

## run: build and start vecron locally (all functions in one process, embedded NATS,
## Postgres and Redis from DATABASE_URL/REDIS_URL or started under .vecron/).
run: build
	scripts/ensure-dev-tools.sh
	exec $(BIN)/vecron dev

## test: start the services the tests need, then run every test: the main module's with the race
## detector and, at the same time, the deploy module's vet and tests without it (docs/deploy.md
## §10). The main module is vetted first, alone: the deploy module links most of it, and two go
## commands compiling the same packages at once each compile them. The deploy module then starts,
## so its cold build (the Kubernetes and Knative types, the helm binary) overlaps the other
## checks and the main suite rather than adding to them. Any failure fails make test.
## go vet has run every analyzer on both modules before their tests, so go test's own subset is
## off: it would analyse every dependency again. Both modules are vetted, and the deploy module
## tested, as make build compiles (static, -trimpath), so that one compile of each package serves
## vet, the deploy tests and every function binary the tests build (docs/deploy.md §10, "What
## make test compiles"). The race tests are built with -trimpath too: a compile that names no
## folder is found in the build cache by any clone of the repository, not only the one it ran in.
## Their binaries carry no DWARF (-ldflags=-w): nobody attaches a debugger to them, and each links
## with a quarter less CPU; stack traces and race reports come from the runtime's own tables, which stay.
test:
	set -euo pipefail; eval "$$(scripts/test-services.sh)"; \
	status=0; $(MAKE) --no-print-directory vet-main || status=$$?; \
	(cd deploy && export CGO_ENABLED=0 && $(GO) vet -trimpath ./... && exec $(GO) test -trimpath -vet=off -count=1 -timeout 15m ./...) & deploy=$$!; \
	$(MAKE) --no-print-directory fmt-check templ-check depcheck || status=$$?; \
	if [ $$status -eq 0 ]; then $(GO) test -race -trimpath -ldflags=-w -vet=off -count=1 -timeout 15m ./... || status=$$?; fi; \
	wait $$deploy || { status=1; echo "make test: the deploy module's vet or tests failed"; }; \
	exit $$status

## bench: start the services, run the load scenarios and write bench/results
## (SCENARIO=steady|burst|scale|executor|cold-start|lateness|floor|observability|all, BENCHFLAGS
## for sizes; lateness also builds the River peer from its own module, bench/peers/river;
## observability takes -rounds N, 3 by default).
SCENARIO ?= all
bench:
	set -euo pipefail; eval "$$(scripts/test-services.sh)"; \
	$(GO) run ./bench -scenario $(SCENARIO) $(BENCHFLAGS)

## screenshots: start the services, seed demo data in a schema of its own and write the
## dashboard's screenshots (jobs, job, builder, execution at 1280×800 and 390×844) to docs/img.
screenshots:
	set -euo pipefail; eval "$$(scripts/test-services.sh)"; \
	$(GO) test -count=1 -timeout 10m -run '^TestScreenshots$$' ./dashboard/screenshots -screenshots $(CURDIR)/docs/img

## templ-check: the committed *_templ.go files are what the .templ files generate. The generator
## is pinned and run with go run, from the module cache when it holds it (no network then).
TEMPL := github.com/a-h/templ/cmd/templ@v0.3.1100
templ-check:
	@$(GO) run $(TEMPL) generate -path dashboard >/dev/null
	@git diff --exit-code -- '*_templ.go' || { echo "generated templ files are stale: run go run $(TEMPL) generate -path dashboard and commit them"; exit 1; }
	@out=$$(git ls-files --others --exclude-standard '*_templ.go'); \
	if [ -n "$$out" ]; then echo "generated templ files not committed:"; echo "$$out"; exit 1; fi

vet: vet-main vet-deploy

## vet-main: vet the main module as make build compiles it (static, -trimpath), so that the
## packages compiled for vet are the ones the function binaries (make build, the end-to-end and
## image tests) link, from the build cache.
vet-main:
	CGO_ENABLED=0 $(GO) vet -trimpath ./...
	CGO_ENABLED=0 $(GO) vet -trimpath -tags oracle ./functions/execute-db

vet-deploy:
	cd deploy && CGO_ENABLED=0 $(GO) vet -trimpath ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## depcheck: a function binary links only what it uses.
depcheck:
	@set -e; fail=0; \
	for fn in tick execute-http execute-db; do \
	  if $(GO) list -deps ./functions/$$fn | grep -E '^github.com/go-chi/|/dashboard$$|^github.com/getkin/kin-openapi/'; then \
	    echo "functions/$$fn must not link chi, the dashboard or the OpenAPI generator"; fail=1; fi; \
	  if $(GO) list -deps ./functions/$$fn | grep -E '^github.com/cloudevents/sdk-go/sql/|^github.com/antlr/|/shared/eventfilter$$|^github.com/go-redis/redis_rate/'; then \
	    echo "functions/$$fn must not link event filters (CESQL, ANTLR) or the event rate limiter: only the api ingests events"; fail=1; fi; \
	done; \
	for fn in $(FUNCTIONS); do \
	  if $(GO) list -deps ./functions/$$fn | grep -E '^github.com/sijms/go-ora'; then \
	    echo "functions/$$fn must not link the Oracle driver (only the execute-db-oracle build does)"; fail=1; fi; \
	done; \
	if ! $(GO) list -tags oracle -deps ./functions/execute-db | grep -qE '^github.com/sijms/go-ora/v2$$'; then \
	  echo "the execute-db-oracle build must link the Oracle driver"; fail=1; fi; \
	for fn in $(FUNCTIONS); do \
	  if $(GO) list -deps ./functions/$$fn | grep -E '^github.com/nats-io/nats-server|/shared/devenv$$|^github.com/testcontainers/|^github.com/chromedp/|/dashboard/dashboardtest$$'; then \
	    echo "functions/$$fn must not link the embedded NATS server, devenv, test containers or the browser-test harness"; fail=1; fi; \
	done; \
	for fn in $(FUNCTIONS); do \
	  if $(GO) list -deps ./functions/$$fn | grep -E '^google.golang.org/grpc$$|^go.opentelemetry.io/otel/exporters/otlp/|^go.opentelemetry.io/proto/otlp/'; then \
	    echo "functions/$$fn must not link gRPC or the OTLP exporters and types: spans go out through shared/telemetry/otlp (docs/observability.md §5)"; fail=1; fi; \
	  if $(GO) list -deps ./functions/$$fn | grep -E '^github.com/getkin/kin-openapi/'; then \
	    echo "functions/$$fn must not link kin-openapi: the OpenAPI document is generated ahead, shared/api/openapi.json (docs/openapi.md)"; fail=1; fi; \
	done; \
	for fn in $(FUNCTIONS); do \
	  if $(GO) list -deps ./functions/$$fn | grep -E '/functions/contract$$'; then \
	    echo "functions/$$fn must not link functions/contract: it describes every function for the deploy checks (docs/deploy.md §1)"; fail=1; fi; \
	done; \
	if $(GO) list -tags oracle -deps ./functions/execute-db | grep -E '/functions/contract$$'; then \
	  echo "the execute-db-oracle build must not link functions/contract"; fail=1; fi; \
	if grep -E '^[[:space:]]*(require[[:space:]]+)?(k8s.io/(api|client-go)|knative.dev/(serving|eventing)|helm.sh/[^ ]*|github.com/google/go-containerregistry) v' go.mod; then \
	  echo "the main module must not require Kubernetes, Knative, helm or go-containerregistry: they belong to the deploy module (docs/deploy.md §10)"; fail=1; fi; \
	if ! $(GO) list -deps ./functions/api | grep -qE '^github.com/vecron/vecron/dashboard$$'; then \
	  echo "functions/api must serve the dashboard (the checks above look for its package path)"; fail=1; fi; \
	exit $$fail

clean:
	rm -rf $(BIN)
