#!/usr/bin/env bash
# Builds the launcher of a real OpenSearch node (OpenSearchNode.java) for a flavour, into
# .cache/opensearch/<version>-<hash of pom and source>/ (jars from Maven Central, classes), and
# prints that folder. Quick when it is there already: the folder name is the content key.
#
#   bash tests/opensearch/build.sh 2.19      # OpenSearch 2.19.6 on the default Java 17
#   bash tests/opensearch/build.sh 3.9       # OpenSearch 3.9.0 on Temurin 25 ($JAVA25_HOME)
#
# Besides jars/ and classes/, the folder holds `classpath` and `java` (the java binary to run).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
flavour="${1:-2.19}"
case "$flavour" in
  2.19) pom="$here/pom-2.19.xml"; jdk="${JAVA17_HOME:-}" ;;
  3.9) pom="$here/pom-3.9.xml"; jdk="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}" ;;
  *) echo "opensearch build: unknown flavour $flavour (known: 2.19, 3.9)" >&2; exit 2 ;;
esac
if [[ -n "$jdk" ]]; then
  [[ -x "$jdk/bin/java" ]] || { echo "opensearch build: no JDK at $jdk (flavour $flavour)" >&2; exit 1; }
  export JAVA_HOME="$jdk"
  java="$jdk/bin/java"; javac="$jdk/bin/javac"
else
  java="$(command -v java)"; javac="$(command -v javac)"
fi
version="$(sed -n 's:.*<os.version>\(.*\)</os.version>.*:\1:p' "$pom")"
key="$( (cat "$pom" "$here/src/OpenSearchNode.java"; echo "$java") | sha256sum | cut -c1-12)"
out="$root/.cache/opensearch/$version-$key"
if [[ ! -f "$out/ready" ]]; then
  rm -rf "$out"
  mkdir -p "$out/classes"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$out/jars" >&2
  cp="$(find "$out/jars" -name '*.jar' | sort | tr '\n' ':')"
  "$javac" -nowarn -d "$out/classes" -cp "$cp" "$here/src/OpenSearchNode.java" >&2
  echo "$cp$out/classes" > "$out/classpath"
  echo "$java" > "$out/java"
  touch "$out/ready"
fi
echo "$out"
