# s3batchkit — build, test, demo, benchmarks.
GO        ?= go
BIN       := bin/s3batchkit
CACHE     := $(CURDIR)/.cache
DEMO_DIR  ?= $(CACHE)/demo
DEMO_ROWS ?= 1000000
DEMO_RUN_ROWS ?= 20000
STATICCHECK_VERSION := v0.8.2
export GOFLAGS ?= -mod=mod

# Intel ISA-L's igzip decodes gzip several times faster than pure Go. When
# its headers are installed (Debian: apt-get install libisal-dev) builds use
# it through cgo; TAGS= forces the pure-Go decoder.
ISAL_HEADER := $(wildcard /usr/include/isa-l/igzip_lib.h)
TAGS        ?= $(if $(ISAL_HEADER),isal,)

.PHONY: all build test test-short bench demo lint fuzz clean

all: build

build:
	$(GO) build -tags "$(TAGS)" -o $(BIN) ./cmd/s3batchkit

## test: the CI suite (race detector on); integration tests run when their
## endpoint variables are set (see .ci/run).
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...
ifneq ($(ISAL_HEADER),)
	$(GO) vet -tags isal ./inventory/...
	$(GO) test -tags isal -race -count=1 ./inventory/...
endif

test-short:
	$(GO) test -short -count=1 ./...

## bench: the Go benchmarks of the pipeline (not run in CI).
bench:
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench . -benchmem -benchtime 3x ./...

## bench-scaleout: a distributed plan (split, scatter, N range workers as
## processes, merge) against the test S3 server, direct and shuffled, N in
## $(NS) (default 1 2 4), on a $(ROWS)-row report (default 4 M; FORMAT=parquet, csv or orc):
## slowest step, total CPU, S3 bytes read. Needs S3BATCHKIT_TEST_S3_*
## (source /work/vgw-env.sh). Not run in CI.
bench-scaleout:
	bash bench/scaleout.sh
.PHONY: bench-scaleout

## demo: generate a 1,000,000-object report and plan it; then run the copy
## shards of a smaller plan with the local engine against a folder of
## buckets and print the merged report. No network needed.
demo: build
	@rm -rf $(DEMO_DIR)
	./$(BIN) gen --rows $(DEMO_ROWS) --files 4 --versions --seed 42 --out $(DEMO_DIR)/inventory
	./$(BIN) plan --inventory $(DEMO_DIR)/inventory/manifest.json --out $(DEMO_DIR)/plan
	@echo "first lines of the first copy shard:"
	@head -n 3 $(DEMO_DIR)/plan/shards/copy/00000.csv
	@echo "== run: the copy shards of a $(DEMO_RUN_ROWS)-object plan, copied by the local engine between folders of buckets"
	./$(BIN) gen --rows $(DEMO_RUN_ROWS) --files 1 --seed 42 --out $(DEMO_DIR)/run/inventory
	./$(BIN) plan --inventory $(DEMO_DIR)/run/inventory/manifest.json --out $(DEMO_DIR)/run/plan --max-objects 5000 --quiet
	@mkdir -p $(DEMO_DIR)/run/buckets
	./$(BIN) run --plan $(DEMO_DIR)/run/plan --routes copy --local-root $(DEMO_DIR)/run/buckets --materialize --report $(DEMO_DIR)/run/reports \
	    --operation '{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::demo-destination", "TargetKeyPrefix": "copied"}}'
	@echo "== run a copy of the plan (without its jobs.json: a new run) after deleting 25 sources: their tasks fail 404 NoSuchKey, as on S3"
	@find $(DEMO_DIR)/run/buckets/example-source-bucket -type f -print0 | sort -z | head -z -n 25 | xargs -0 rm -f
	@mkdir -p $(DEMO_DIR)/run/plan-2 && cp -r $(DEMO_DIR)/run/plan/plan.json $(DEMO_DIR)/run/plan/shards $(DEMO_DIR)/run/plan-2/
	./$(BIN) run --plan $(DEMO_DIR)/run/plan-2 --routes copy --local-root $(DEMO_DIR)/run/buckets --report $(DEMO_DIR)/run/reports-2 \
	    --operation '{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::demo-destination", "TargetKeyPrefix": "copied"}}'
	./$(BIN) report --plan $(DEMO_DIR)/run/plan-2 --out $(DEMO_DIR)/run/audit

lint:
	$(GO) vet ./...
	@test -x $(CACHE)/bin/staticcheck || GOBIN=$(CACHE)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(CACHE)/bin/staticcheck ./...

## fuzz: run each fuzz target for FUZZTIME (default 60s).
FUZZTIME ?= 60s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## fuzz-short: every fuzz target for FUZZTIME=10s (CI runs it after make
## test: 18 targets, about 4 minutes). Targets are found by grep, so a new
## Fuzz function is picked up without a change here; FUZZPARALLEL sets the
## fuzzing processes per target (default: one per CPU). A target whose time
## ran out while the engine was minimizing a new input (Go reports "context
## deadline exceeded" and writes no failing input) is listed, not failed.
.PHONY: fuzz-short
fuzz-short: FUZZTIME = 10s
FUZZPARALLEL ?=
fuzz-short:
	@start=$$(date +%s); n=0; failed=""; timeouts=""; out=$$(mktemp); \
	for dir in $$(grep -rl --include='*_test.go' --exclude-dir=.cache --exclude-dir=node_modules '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | cut -c6-); do \
	    echo "== $$dir $$t"; n=$$((n+1)); \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $(if $(FUZZPARALLEL),-parallel $(FUZZPARALLEL)) $$dir >$$out 2>&1; rc=$$?; cat $$out; \
	    if [ $$rc -ne 0 ]; then \
	      if grep -q 'context deadline exceeded' $$out && ! grep -q 'Failing input written' $$out; then \
	        timeouts="$$timeouts $$dir:$$t"; \
	      else failed="$$failed $$dir:$$t"; fi; \
	    fi; \
	  done; \
	done; rm -f $$out; echo "fuzz-short: $$n targets, $(FUZZTIME) each, $$(( $$(date +%s) - start )) s"; \
	if [ -n "$$timeouts" ]; then echo "fuzz-short: the fuzzing engine ran out of time (while minimizing a new input; no failing input):$$timeouts"; fi; \
	if [ -n "$$failed" ]; then echo "fuzz-short: failed:$$failed"; exit 1; fi

## lambda: the deployable zips of the large-copy Lambda function
## (docs/large-objects.md) for the provided.al2023 runtime: a static
## executable named bootstrap, for arm64 and amd64, in
## bin/lambda/s3batchkit-large-copy-<arch>.zip. Needs only Go.
LAMBDA_DIR   := bin/lambda
LAMBDA_ARCHS := arm64 amd64
.PHONY: lambda
lambda:
	@for arch in $(LAMBDA_ARCHS); do \
	  mkdir -p $(LAMBDA_DIR)/$$arch || exit 1; \
	  echo "== s3batchkit-large-copy linux/$$arch"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -tags lambda.norpc -trimpath -ldflags '-s -w' \
	    -o $(LAMBDA_DIR)/$$arch/bootstrap ./cmd/s3batchkit-large-copy || exit 1; \
	  $(GO) run ./cmd/s3batchkit-large-copy/mkzip -o $(LAMBDA_DIR)/s3batchkit-large-copy-$$arch.zip $(LAMBDA_DIR)/$$arch/bootstrap || exit 1; \
	  ls -l $(LAMBDA_DIR)/s3batchkit-large-copy-$$arch.zip; \
	done

clean:
	rm -rf bin $(CACHE)

## bench-peer: s3batchkit against DuckDB (npm @duckdb/node-api, installed
## into .cache/duckdb; needs node, npm and the npm registry) on the same
## generated reports. Not part of `make test`. DuckDB's 1.5 releases of
## @duckdb/node-api are published under prerelease versions only
## (1.5.6-r.1), which a range such as @1.5 does not match: the version is
## pinned exactly, and a different one already installed is replaced.
.PHONY: bench-peer bench-report duckdb
DUCKDB_VERSION ?= 1.5.6-r.1
DUCKDB_PKG     := $(CACHE)/duckdb/node_modules/@duckdb/node-api/package.json
duckdb:
	@grep -q '"version": "$(DUCKDB_VERSION)"' $(DUCKDB_PKG) 2>/dev/null || \
	    npm install --no-audit --no-fund --save-exact --prefix $(CACHE)/duckdb @duckdb/node-api@$(DUCKDB_VERSION)
BENCH_ROWS ?= 1000000
BENCH_RUNS ?= 3
BENCH_SCALE ?= 1e6,1e7,1e8
BENCH_NOTE ?=
bench-peer: build duckdb
	./$(BIN) bench --rows $(BENCH_ROWS) --runs $(BENCH_RUNS) --stages none --peer duckdb --duckdb-dir $(CACHE)/duckdb --dir $(CACHE)/bench

## bench-report: regenerate BENCHMARKS.md and BENCHMARKS-scale.svg from one
## run: every stage and format at BENCH_ROWS, the plan stage at each of
## BENCH_SCALE, and DuckDB on the same files. BENCH_NOTE adds a paragraph.
bench-report: build duckdb
	./$(BIN) bench --rows $(BENCH_ROWS) --runs $(BENCH_RUNS) --stages read,filter,write,unsorted,sort,plan,diff,report \
	    --scale $(BENCH_SCALE) --formats csv,parquet,orc --peer duckdb --duckdb-dir $(CACHE)/duckdb --dir $(CACHE)/bench \
	    --plot BENCHMARKS-scale.svg --markdown BENCHMARKS.md $(if $(BENCH_NOTE),--note "$(BENCH_NOTE)")

## image: the container image that runs a distributed plan's steps on AWS
## Batch or Kubernetes (Dockerfile; docs/scale-out.md): a static pure-Go
## binary on distroless, as a non-root user. Needs docker with BuildKit;
## no test uses it. IMAGE names the image; PLATFORM (e.g. linux/arm64)
## builds for another one.
IMAGE    ?= s3batchkit:dev
PLATFORM ?=
.PHONY: image
image:
	docker build $(if $(PLATFORM),--platform $(PLATFORM)) \
	    --build-arg REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) -t $(IMAGE) .
