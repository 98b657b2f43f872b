# Placement in Rust. `make help` lists the targets.

CARGO ?= cargo
# The database client features this machine supports (installs the client
# libraries with apt-get when it can). SQLite is always built in.
FEATURES = $(shell scripts/ensure-client-libs)
CONFORMANCE ?= ../shared/conformance/run
CONFORMANCE_JOBS ?= 2
CONFORMANCE_LOGS ?= target/conformance-logs
BIN = target/debug/placement-api

.PHONY: help run build test bench bench-compare conformance conformance-postgresql conformance-mysql compat difftest difftest-ci lint fmt clippy doc examples clean openapi openapi-check deb deb-check deps-check

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-24s %s\n", $$1, $$2}'

run: ## Build (release, every backend this machine supports) and serve on 127.0.0.1:8778 with the embedded SQLite database
	$(CARGO) run --release -p placement-server --bin placement-api $(FEATURES) -- --config-file etc/placement-dev.conf

build: ## Debug build of every crate and binary, all backends this machine supports
	$(CARGO) build --workspace --all-targets $(FEATURES)

test: ## Run every test (unit and end-to-end, on SQLite, PostgreSQL and MariaDB when reachable), then say per backend whether its tests ran
	@mkdir -p target && rm -f target/test-skips.tsv
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  PLACEMENT_TEST_SKIP_LOG=$(CURDIR)/target/test-skips.tsv $(CARGO) nextest run --workspace $(FEATURES) --no-fail-fast; \
	else \
	  echo "cargo-nextest not found; using cargo test"; \
	  PLACEMENT_TEST_SKIP_LOG=$(CURDIR)/target/test-skips.tsv $(CARGO) test --workspace $(FEATURES) --no-fail-fast; \
	fi; status=$$?; scripts/test-summary target/test-skips.tsv; exit $$status

deps-check: ## placement-model and placement-policy free of diesel and actix, placement-storage of actix; no unused dependency (cargo-machete)
	scripts/deps-check

deb: ## Debian package (cargo-deb) of a release build with every backend this machine supports: target/debian/*.deb
	$(CARGO) build --release -p placement-server $(FEATURES)
	scripts/man-pages target/release target/man
	$(CARGO) deb -p placement-server --no-build --output target/debian/

deb-check: ## Build the package, install it with dpkg, serve a request as its user on SQLite, purge it (needs root)
	$(CARGO) build --release -p placement-server $(FEATURES)
	scripts/deb-check release

conformance: build ## Run upstream's gabbi tests against our server (expected failures ratchet), every response checked against the OpenAPI documents
	rm -rf $(CONFORMANCE_LOGS) && mkdir -p $(CONFORMANCE_LOGS)
	OS_API__VALIDATE_RESPONSES=True \
	PLACEMENT_SERVER_CMD="$(CURDIR)/scripts/conformance-server $(CURDIR)/$(BIN) {config} {host} {port}" \
	  $(CONFORMANCE) -j $(CONFORMANCE_JOBS) --expect-failures tests/conformance-expected-failures.txt \
	  --server-logs $(CONFORMANCE_LOGS)
	scripts/check-documented-responses $(CONFORMANCE_LOGS)

conformance-postgresql: build ## The conformance run on fresh PostgreSQL databases
	PLACEMENT_CONFORMANCE_BACKEND=postgresql $(MAKE) conformance

conformance-mysql: build ## The conformance run on fresh MariaDB/MySQL databases
	PLACEMENT_CONFORMANCE_BACKEND=mysql $(MAKE) conformance

bench-compare: ## Upstream 16.0.0 and ours side by side on one database: placeload's cloud, 0-200,000 consumers with writes and moves, nested trees, 100,000 providers, memory (needs `make compat`'s virtualenv)
	scripts/bench-compare $(BACKENDS)

bench: ## Benchmarks: solver (criterion), then per backend: perf query at 1k/10k/100k providers, writes, nested trees; then the Keystone path's cost per request
	scripts/bench

openapi: ## Regenerate openapi/ (a document per microversion and CHANGES.md) from the code
	$(CARGO) run -q -p placement-server --bin placement-openapi -- --out openapi

openapi-check: build ## Validate every OpenAPI document (openapi-spec-validator), fuzz 1.0, 1.28 and 1.39 against a live server (schemathesis), drive a generated client and Swagger UI in headless Chromium
	scripts/openapi-check openapi
	scripts/openapi-fuzz $(CURDIR)/$(BIN) 1.0 1.28 1.39
	scripts/openapi-client-check $(CURDIR)/$(BIN)
	scripts/swagger-ui-check $(CURDIR)/$(BIN) target/swagger-ui.png

compat: build ## Prove schema compatibility with upstream openstack-placement 16.0.0 (needs python3)
	scripts/compat-check $(CURDIR)/target/debug

difftest: build ## Compare our answers with upstream 16.0.0's on seeded random requests (SEEDS=1-30 REQUESTS=300; needs `make compat`'s virtualenv)
	scripts/difftest/run $(CURDIR)/$(BIN) --seeds $(or $(SEEDS),1-30) --requests $(or $(REQUESTS),300)

difftest-ci: build ## The differential test as CI runs it: seeds 1-4 and one drawn at random (printed), all of which must agree
	scripts/difftest/run $(CURDIR)/$(BIN) --seeds 1-4 --requests 300
	scripts/difftest/run $(CURDIR)/$(BIN) --seeds '' --random-seed --requests 300

lint: fmt clippy doc ## Formatting, lints and API docs, as CI checks them

fmt: ## Check formatting
	$(CARGO) fmt --all --check

clippy: ## Lints, warnings as errors
	$(CARGO) clippy --workspace --all-targets $(FEATURES) -- -D warnings

examples: ## Run the crates' examples: the solver on a cloud built in code, a usage report on a scratch SQLite database, the API mounted in another actix-web app, a made-up service's policy
	$(CARGO) run -q --example solver $(FEATURES)
	$(CARGO) run -q --example usage_report $(FEATURES)
	$(CARGO) run -q --example embed $(FEATURES)
	$(CARGO) run -q --example other_service $(FEATURES)

doc: ## API documentation of every crate (target/doc), warnings as errors
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps $(FEATURES)

clean: ## Remove build outputs
	$(CARGO) clean
