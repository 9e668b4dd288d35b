#!/usr/bin/env bash
# Writes ONE large Elasticsearch-shaped Lucene 9.8.0 index for a read benchmark (real Lucene jars,
# org.apache.lucene 9.8.0 from Maven Central: pom-9.xml, as generate.sh uses).
#
#   bash tests/generators/lucene/bench-index.sh <out_dir> <fast|best|zstd> <source_bytes>
#
# fast = Lucene95Codec(BEST_SPEED) (LZ4 stored fields), best = BEST_COMPRESSION (DEFLATE), zstd =
# Elasticsearch 8.16+ best_compression (codec Elasticsearch816, ZstdStoredFields814 stored fields of
# src/l9; every zstd frame made by the `zstd` command line tool, which must be on the PATH). Writes
# documents until the live `_source` bytes reach <source_bytes>, commits, reads the index back and
# prints one JSON line, also written to <out_dir>.summary.json. If that summary already exists with the
# same mode and target (and <out_dir> exists), it is printed and nothing is regenerated.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CACHE="$ROOT/.cache/lucene-gen"
PY=python3
# pinned inputs (the Lucene 9.8.0 jars of pom-9.xml from Maven Central), log/die, check_javac,
# lucene_classpath
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[ "$#" -eq 3 ] || die "usage: bench-index.sh <out_dir> <fast|best|zstd> <source_bytes>"
OUT_DIR="${1%/}"
MODE="$2"
TARGET="$3"
case "$MODE" in fast|best|zstd) ;; *) die "mode must be fast, best or zstd, not '$MODE'" ;; esac
[[ "$TARGET" =~ ^[1-9][0-9]*$ ]] || die "source_bytes must be a positive integer, not '$TARGET'"
SUMMARY="$OUT_DIR.summary.json"
# The generator's identity: a hash of the code that decides the index content. A cached index made by
# other code is regenerated. The zstd variant also depends on the zstd codec sources of src/l9 (and
# its SPI registration); fast and best do not, so a change there leaves their caches alone.
GENERATOR_SOURCES=("$HERE/src/bench/BenchDocs.java" "$HERE/src/bench/BenchIndex.java" "$HERE/src/common/EsIds.java"
  "$HERE/src/common/EsIndex.java")
if [ "$MODE" = zstd ]; then
  GENERATOR_SOURCES+=("$HERE/src/bench/BenchZstd.java" "$HERE"/src/l9/Zstd*.java "$HERE/src/l9/META-INF/services/org.apache.lucene.codecs.Codec")
fi
GENERATOR="bench-$(cat "${GENERATOR_SOURCES[@]}" | sha256sum | cut -c1-12)"

# ---- cache: same mode and target already written ----
if [ -d "$OUT_DIR" ] && [ -f "$SUMMARY" ] && $PY - "$SUMMARY" "$MODE" "$TARGET" "$GENERATOR" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
ok = s.get("mode") == sys.argv[2] and s.get("target_source_bytes") == int(sys.argv[3]) \
    and s.get("generator") == sys.argv[4] and s.get("lucene") == "9.8.0"
sys.exit(0 if ok else 1)
PYEOF
then
  log "cached: $OUT_DIR (summary matches mode $MODE, target $TARGET)"
  cat "$SUMMARY"
  exit 0
fi

# ---- a fresh output directory ----
if [ -e "$OUT_DIR" ]; then
  # only remove what looks like one of our indexes (or an empty directory)
  [ -d "$OUT_DIR" ] || die "$OUT_DIR exists and is not a directory"
  if [ -n "$(ls -A "$OUT_DIR")" ] && ! ls "$OUT_DIR"/segments_* >/dev/null 2>&1 && ! ls "$OUT_DIR"/*.fdt >/dev/null 2>&1; then
    die "$OUT_DIR exists and does not look like a Lucene index; not removing it"
  fi
  log "removing the old $OUT_DIR"
  rm -rf -- "$OUT_DIR"
fi
rm -f -- "$SUMMARY"
mkdir -p "$OUT_DIR"

# ---- Lucene 9.8.0 jars (Maven Central, pom-9.xml; sha256 checked, shared with generate.sh) and compile ----
check_javac
lucene_classpath 9
CP="$LUCENE_CP"
mkdir -p "$CACHE/build"
BUILD="$(mktemp -d "$CACHE/build/bench.XXXXXX")"
trap 'rm -rf "$BUILD"' EXIT
javac --release 17 -encoding UTF-8 -nowarn -XDsuppressNotes -d "$BUILD" -cp "$CP" \
  "$HERE"/src/common/*.java "$HERE"/src/l9/*.java "$HERE"/src/bench/*.java
if [ "$MODE" = zstd ]; then
  # SPI registration of the zstd codecs (src/l9), so that the read-back opens Elasticsearch816 by name
  cp -R "$HERE/src/l9/META-INF" "$BUILD/"
  command -v zstd >/dev/null || die "mode zstd needs the zstd command line tool (Debian: apt-get install -y zstd)"
  log "zstd: $(zstd --version)"
fi

# ---- write + read back ----
# tests.seed makes Lucene's segment ids deterministic; the documents come from fixed seeds.
log "writing $OUT_DIR ($MODE, $TARGET bytes of _source)"
START=$(date +%s%N)
java -Xmx3g -XX:+UseParallelGC -Dtests.seed=5EED1E55 -Dfile.encoding=UTF-8 -cp "$BUILD:$CP" \
  BenchIndex "$OUT_DIR" "$MODE" "$TARGET" "$SUMMARY" "$GENERATOR"
END=$(date +%s%N)
log "done in $(( (END - START) / 1000000 )) ms"
