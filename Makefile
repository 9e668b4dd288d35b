# The backfill's commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
CACHE := .cache
DEMO_REPO := $(CACHE)/demo-repository

.PHONY: help demo test lint check-format clippy unit harness build bench testdata clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build every binary (debug)
	$(CARGO) build --workspace --bins

demo: ## Read the bundled sample snapshot and print what is in it
	$(CARGO) build -q -p backfill-cli -p snapshot-testkit --bins
	rm -rf $(DEMO_REPO)
	./target/debug/make-repo --out $(DEMO_REPO) --snapshot demo-snapshot \
	  --index articles=tests/data/lucene/l9_mixed,tests/data/lucene/l10_mixed \
	  --index legacy=tests/data/lucene/l8_fast \
	  --compress --part-size 1048576 --virtual-small-files
	@echo; echo "== backfill snapshot list --repo $(DEMO_REPO)"
	./target/debug/backfill snapshot list --repo $(DEMO_REPO)
	@echo; echo "== backfill snapshot docs --repo $(DEMO_REPO) --snapshot demo-snapshot (first 3 lines, sources cut at 160 characters)"
	./target/debug/backfill snapshot docs --repo $(DEMO_REPO) --snapshot demo-snapshot | head -3 | cut -c1-160

test: lint unit ## Run every check and test (what CI runs)

lint: check-format clippy ## cargo fmt --check and cargo clippy -D warnings

check-format:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: harness ## cargo test for the whole workspace
	$(CARGO) test --workspace

harness: ## Install the local servers the tests start (DynamoDB Local, moto, osmem-server; pinned) into .cache/harness
	bash tests/harness/install.sh

bench: ## Read-path benchmark: docs/s, MB/s and peak RSS against the LZ4/DEFLATE limit
	bash tests/bench/read_bench.sh

testdata: ## Regenerate the Lucene test indexes with real Lucene jars (needs Java; downloads jars)
	bash tests/generators/lucene/generate.sh

clean: ## Remove build output and caches
	$(CARGO) clean
	rm -rf $(CACHE)
