#!/usr/bin/env bash
# The read-path benchmark (`make bench`); not a test, and not part of `make test`.
#
# 1. Writes a large Elasticsearch-shaped Lucene 9.8 index with real Lucene in three stored-fields
#    variants of the same ~2.4 KB documents: LZ4 (`fast`), DEFLATE (`best`) and zstd (`zstd`:
#    Elasticsearch 8.16+ best_compression, codec Elasticsearch816 / ZstdStoredFields814, each frame
#    made by the `zstd` CLI); cached under .cache/bench. Wraps each into a snapshot repository.
# 2. Times `backfill snapshot docs > /dev/null` on each (best of three) and records its peak RSS:
#    the LZ4, DEFLATE and ZSTD rows, verified and --no-verify.
# 3. Times the codec alone on the same stored-field chunks (the limit) and prints the ratio.
# 4. End to end: one worker, the LZ4 snapshot in emulated S3 (gofakes3 from the Go module proxy, or
#    BENCH_S3=s3s-fs / moto) → a discarding `_bulk` sink, then → a real OpenSearch 2.19 node (the
#    default target), then → a slow target (the fault proxy admitting a quarter of the sink's rate).
#    BENCH_S3, BENCH_REAL_TARGET, BENCH_SLOW_CAPACITY, BENCH_BASELINE_WORKER: see e2e_bench.py.
#
# 5. The lease protocol at scale (lease-sim): 10,000 work items, 200 claimers, deaths; checked.
# 6. Sub-shard ranges: the LZ4 snapshot's one shard read whole by 1 worker, then as 4 ranges by 4.
#
# BENCH_SOURCE_BYTES sets the size of each variant (default 1 GiB of _source);
# BENCH_LEASE_ITEMS and BENCH_LEASE_CLAIMERS the lease simulation.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BYTES="${BENCH_SOURCE_BYTES:-1073741824}"
OUT=".cache/bench"
mkdir -p "$OUT"

echo "building release binaries ..." >&2
cargo build --release -q -p backfill-cli -p snapshot-testkit -p backfill-worker -p backfill-harness -p backfill-faults --bins
cargo build --release -q -p snapshot --example decompress_limit
bash tests/harness/install.sh >/dev/null
# s3s-fs compiles for minutes the first time (then cached by version).
case "${BENCH_S3:-gofakes3}" in
  gofakes3) bash tests/harness/install-gofakes3.sh ;;
  s3s-fs) bash tests/harness/install-s3s-fs.sh ;;
esac

for mode in fast best zstd; do
  lucene="$OUT/lucene-$mode-$BYTES"
  repo="$OUT/repo-$mode-$BYTES"
  bash tests/generators/lucene/bench-index.sh "$lucene" "$mode" "$BYTES" >/dev/null
  # Re-wrap only when the index changed.
  if [ ! -f "$repo/.from" ] || ! cmp -s "$repo/.from" "$lucene.summary.json"; then
    rm -rf "$repo"
    ./target/release/make-repo --out "$repo" --index bench="$lucene" --snapshot bench >/dev/null
    cp "$lucene.summary.json" "$repo/.from"
  fi
done

python3 tests/bench/measure.py "$OUT" "$BYTES" | tee "$OUT/read-table.txt"
# The LZ4 row's MB/s (verified), for the end-to-end comparison.
read_mb_s=$(awk -F'|' '/^\| LZ4/ && /verified/ {gsub(/[ ,]/, "", $5); print $5; exit}' "$OUT/read-table.txt")
python3 tests/bench/e2e_bench.py "$OUT/repo-fast-$BYTES" "${read_mb_s:-0}"
# 5. The lease protocol at scale: 10,000 items, 200 claimers on DynamoDB Local, claimers dying.
./target/release/lease-sim --items "${BENCH_LEASE_ITEMS:-10000}" --claimers "${BENCH_LEASE_CLAIMERS:-200}"
# 6. Sub-shard ranges: 1 worker on the whole shard vs 4 workers on 4 ranges of it.
shard_docs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['docs'])" "$OUT/lucene-fast-$BYTES.summary.json")
python3 tests/bench/range_bench.py "$OUT/repo-fast-$BYTES" "$shard_docs"
