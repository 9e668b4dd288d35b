#!/usr/bin/env bash
# Regenerates tests/data/es5/ with REAL Elasticsearch 5.6.16 (in-process node; Maven Central jars).
#
#   bash tests/generators/es5/generate.sh        # from the checkout; about 30 s after the first run
#
# Jars go to .cache/es5-gen/jars (gitignored; `mvn dependency:copy-dependencies` of pom.xml).
# Outputs: tests/data/es5/multitype/ (an fs snapshot repository, snapshot `snap`),
# multitype.expected.ndjson (every live document the node returned: index, shard, type, id, routing,
# source) and multitype.mappings.json (each index's mappings per type, as the node reports them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CACHE="$ROOT/.cache/es5-gen"
OUT="$ROOT/tests/data/es5"

mkdir -p "$CACHE" "$OUT"
if [ ! -f "$CACHE/jars/elasticsearch-5.6.16.jar" ]; then
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$CACHE/jars"
fi
CP="$(find "$CACHE/jars" -name '*.jar' | sort | tr '\n' ':')"
rm -rf "$CACHE/classes" "$CACHE/home" "$CACHE/repo"
mkdir -p "$CACHE/classes" "$CACHE/home" "$CACHE/repo"
javac -nowarn -d "$CACHE/classes" -cp "$CP" "$HERE/src/MultiType.java"
java -Xmx512m -cp "$CP$CACHE/classes" MultiType "$CACHE/home" "$CACHE/repo" \
  "$OUT/multitype.expected.ndjson" "$OUT/multitype.mappings.json"
rm -rf "$OUT/multitype"
cp -r "$CACHE/repo" "$OUT/multitype"
echo "wrote $OUT/multitype ($(wc -l < "$OUT/multitype.expected.ndjson") live documents)"
