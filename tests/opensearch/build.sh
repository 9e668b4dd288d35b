#!/usr/bin/env bash
# Builds the launcher of a real OpenSearch node (OpenSearchNode.java) for a flavour, into
# .cache/opensearch/<version>-<hash of pom and source>/ (jars from Maven Central, classes), and
# prints that folder. Quick when it is there already: the folder name is the content key.
#
#   bash tests/opensearch/build.sh 2.19      # OpenSearch 2.19.6 on the default Java 17
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
flavour="${1:-2.19}"
case "$flavour" in
  2.19) pom="$here/pom-2.19.xml" ;;
  *) echo "opensearch build: unknown flavour $flavour (known: 2.19)" >&2; exit 2 ;;
esac
version="$(sed -n 's:.*<os.version>\(.*\)</os.version>.*:\1:p' "$pom")"
key="$(cat "$pom" "$here/src/OpenSearchNode.java" | sha256sum | cut -c1-12)"
out="$root/.cache/opensearch/$version-$key"
if [[ ! -f "$out/ready" ]]; then
  rm -rf "$out"
  mkdir -p "$out/classes"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$out/jars" >&2
  cp="$(find "$out/jars" -name '*.jar' | sort | tr '\n' ':')"
  javac -nowarn -d "$out/classes" -cp "$cp" "$here/src/OpenSearchNode.java" >&2
  echo "$cp$out/classes" > "$out/classpath"
  touch "$out/ready"
fi
echo "$out"
