# The backfill's commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
CACHE := .cache

.PHONY: help demo test lint check-format clippy unit validate dashboard harness build build-lambdas image deploy destroy bench soak fuzz testdata real-snapshots clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build every binary (debug)
	$(CARGO) build --workspace --bins

demo: ## A whole local backfill: emulated AWS, a local target, a sample snapshot (112,067 docs); no AWS account
	bash tests/demo/demo.sh

test: lint validate unit ## Run every check and test (what CI runs)

lint: check-format clippy ## cargo fmt --check and cargo clippy -D warnings

check-format:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: harness ## cargo test for the whole workspace
	$(CARGO) fetch --target $$(rustc -vV | sed -n 's/^host: //p')
	$(CARGO) test --workspace

validate: harness ## The SAM template, offline: cfn-lint (pinned), its checks against the code, IAM actions = the code's calls
	$(CACHE)/harness/venv/bin/cfn-lint infra/template.yaml
	$(CARGO) test -q -p backfill-lambdas --test template --test iam

dashboard: ## Copy infra/dashboard.json into the template's dashboard body
	python3 infra/embed-dashboard.py

build-lambdas: ## Build the Lambdas for AWS (arm64, release; needs cargo-lambda: pip install cargo-lambda)
	$(CARGO) lambda build --release --arm64 -p backfill-lambdas

IMAGE ?= backfill-worker:latest
PLATFORM ?= linux/arm64

image: ## Build the worker image (Dockerfile; linux/arm64 unless PLATFORM=linux/amd64; tag IMAGE=backfill-worker:latest)
	docker build --platform $(PLATFORM) -t $(IMAGE) .

deploy: ## sam build + sam deploy (guided the first time; then infra/samconfig.toml)
	cd infra && sam build --beta-features
	cd infra && if [ -f samconfig.toml ]; then sam deploy; else sam deploy --guided --capabilities CAPABILITY_IAM; fi

destroy: ## Delete the stack (the table and the artifacts bucket are retained)
	cd infra && sam delete

harness: ## Install the local servers the tests start (DynamoDB Local, moto, osmem-server; pinned) into .cache/harness, and build the launchers of the real OpenSearch and Elasticsearch nodes
	bash tests/harness/install.sh
	bash tests/opensearch/build.sh 2.19 >/dev/null
	bash tests/opensearch/build.sh 3.9 >/dev/null
	bash tests/elasticsearch/build.sh 8.19 >/dev/null
	bash tests/elasticsearch/build.sh 9.5 >/dev/null

bench: ## Benchmarks: the read path against the codec limit; one worker end to end (docs/s, docs per CPU-s, a slow target's 429s); lease-sim
	bash tests/bench/read_bench.sh

TRIALS ?= 50

soak: ## Chaos soak (release): TRIALS trials (50) of a multi-shard backfill under kills, faults and pauses, checked document by document (SOAK_SEED replays)
	$(CARGO) build --release -q -p backfill-worker -p backfill-harness --bins
	bash tests/harness/install.sh >/dev/null
	bash tests/opensearch/build.sh 2.19 >/dev/null
	./target/release/soak --trials $(TRIALS)

fuzz: ## Mutation run of the snapshot reader: 50,000 damaged blobs (release; BACKFILL_FUZZ_SEED, BACKFILL_FUZZ_CASES)
	BACKFILL_FUZZ_CASES=$${BACKFILL_FUZZ_CASES:-50000} $(CARGO) test --release -p snapshot --test mutation -- --nocapture

testdata: ## Regenerate the Lucene test indexes (real Lucene 8.8.1/9.8.0/10.5.0 jars from Maven Central; Lucene 10 on $$JAVA25_HOME) and the ES 5.6 multi-type snapshot (real Elasticsearch 5.6.16); needs Java, Maven and zstd
	bash tests/generators/lucene/generate.sh
	bash tests/generators/es5/generate.sh

real-snapshots: harness ## Repositories written by real Elasticsearch 1.7/2.4/8.19/9.5 and OpenSearch 2.19/3.9 nodes (and 2.19.1/3.5.0 with k-NN), with ground truth, into .cache/real-snapshots (cached by generator and launcher)
	$(CARGO) run -q -p backfill-harness --bin real-snapshots

clean: ## Remove build output and caches
	$(CARGO) clean
	rm -rf $(CACHE)
