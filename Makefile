# The backfill's commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
CACHE := .cache

.PHONY: help demo test lint check-format clippy unit harness build bench testdata clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build every binary (debug)
	$(CARGO) build --workspace --bins

demo: ## A whole local backfill: emulated AWS, a local target, a sample snapshot (112,067 docs); no AWS account
	bash tests/demo/demo.sh

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
