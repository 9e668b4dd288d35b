#!/usr/bin/env bash
# `make demo`: a whole backfill on this machine, no AWS account. Starts DynamoDB Local, moto
# (S3, CloudWatch) and a real OpenSearch 2.19 node (the target, one JVM), writes a sample snapshot (3 indices, 4 shards,
# 112,067 documents from Lucene 8, 9 and 10 segments) into emulated S3, and drives the backfill with
# the `backfill` CLI exactly as a user would. Stops everything it started, also on failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
WORK="$ROOT/.cache/demo"
DATA="$ROOT/tests/data/lucene"
BIN="$ROOT/target/debug"

bold=$'\033[1m'; plain=$'\033[0m'
[ -t 1 ] || { bold=""; plain=""; }
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }

step "Building the backfill CLI and the local harness (first time: a few minutes)"
cargo build -q -p backfill-cli -p snapshot-testkit -p backfill-harness --bins
bash tests/harness/install.sh >/dev/null

rm -rf "$WORK"
mkdir -p "$WORK"
SERVERS_PID=""
cleanup() {
  local rc=$?
  set +e
  if [ -f "$WORK/local/local.json" ]; then
    "$BIN/backfill" local teardown --dir "$WORK/local" >/dev/null 2>&1
  fi
  if [ -n "$SERVERS_PID" ]; then
    exec 3>&-            # the servers stop when their standard input closes
    wait "$SERVERS_PID" 2>/dev/null
  fi
  if [ $rc -eq 0 ]; then
    step "Done: every server and worker this demo started has been stopped."
  else
    echo "demo failed (exit $rc); logs are in $WORK" >&2
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The target: opensearch-2.19 (default), opensearch-3.9, or osmem (the emulator).
TARGET_SERVER="${BACKFILL_DEMO_TARGET:-opensearch-2.19}"
step "Starting emulated AWS (DynamoDB Local, moto) and the target cluster ($TARGET_SERVER)"
mkfifo "$WORK/hold"
"$BIN/harness-servers" dynamodb moto "$TARGET_SERVER" <"$WORK/hold" >"$WORK/servers.jsonl" 2>"$WORK/servers.log" &
SERVERS_PID=$!
exec 3>"$WORK/hold"
for _ in $(seq 1 1800); do
  grep -q '"ready":true' "$WORK/servers.jsonl" 2>/dev/null && break
  kill -0 "$SERVERS_PID" 2>/dev/null || { cat "$WORK/servers.log" >&2; exit 1; }
  sleep 0.1
done
endpoint() { python3 -c 'import json,sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("server") == sys.argv[2]: print(d["endpoint"])' "$WORK/servers.jsonl" "$1"; }
DYNAMODB="$(endpoint dynamodb)"; MOTO="$(endpoint moto)"; TARGET="$(endpoint "$TARGET_SERVER")"
echo "DynamoDB Local $DYNAMODB, moto $MOTO, target $TARGET"
python3 -c 'import json,sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("server") == sys.argv[2]:
        print("target: " + ("OpenSearch " + d["version"] if "version" in d else "osmem-server (emulator)"))' \
  "$WORK/servers.jsonl" "$TARGET_SERVER"

step "Writing the sample snapshot (Lucene 8.8, 9.8 and 10.5 segments in an Elasticsearch 7.10 repository)"
"$BIN/make-repo" --out "$WORK/repository" --snapshot demo-snapshot \
  --index "logs-2026=$DATA/l9_100k" \
  --index "products=$DATA/l8_best_compression,$DATA/l10_best_compression" \
  --index "legacy=$DATA/l8_lucene70_dv" \
  --mapping "products=$DATA/source-mapping.json" --mapping "legacy=$DATA/source-mapping.json" \
  --compress --virtual-small-files --seed 7 >/dev/null
show "$BIN/backfill" snapshot list --repo "$WORK/repository"

step "Setting up the backfill: working-state table, buckets, snapshot uploaded to emulated S3"
show "$BIN/backfill" local setup --dir "$WORK/local" --dynamodb "$DYNAMODB" --aws "$MOTO" \
  --target "$TARGET" --repo "$WORK/repository" --snapshot demo-snapshot \
  --create-missing-indices --default-workers 2 --max-workers 8
export BACKFILL_LOCAL="$WORK/local"
B="$BIN/backfill"

step "Start: one work item per shard, 2 workers"
show "$B" start
show "$B" status --deep-check

step "Scale to 3 workers, then pause (workers checkpoint and release their shards)"
show "$B" scale 3
sleep 3
show "$B" pause
sleep 2
show "$B" status --deep-check

step "Resume, and follow the progress until every shard is done"
show "$B" start
show "$B" status --watch --interval 1

step "Compare document counts: snapshot (source) and target"
show "$B" clusters cat-indices --refresh

step "Stop: scale to 0, wait for the workers, archive the working state to S3, delete it"
show "$B" stop | tee "$WORK/stop.txt"
ARCHIVE="$(sed -n 's/^Backfill working state archived to: //p' "$WORK/stop.txt")"
AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 \
  .cache/harness/venv/bin/python - "$MOTO" "$ARCHIVE" <<'PY'
import json, sys, boto3
moto, uri = sys.argv[1], sys.argv[2]
bucket, key = uri[len("s3://"):].split("/", 1)
s3 = boto3.client("s3", endpoint_url=moto)
doc = json.load(s3.get_object(Bucket=bucket, Key=key)["Body"])
items = doc["items"]
done = sum(1 for i in items if i.get("completed_at"))
print(f"The archive {uri} holds {len(items)} work items ({done} completed) and the counters "
      f"({doc['counters']['docs_done']} documents).")
assert len(items) == doc["counters"]["items_total"] > 0, "the archive must hold every item"
PY

step "A stopped backfill cannot be restarted"
if show "$B" start; then
  echo "error: start after stop should have been refused" >&2
  exit 1
fi
echo "(refused, as it should be)"
