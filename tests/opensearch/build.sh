#!/usr/bin/env bash
# Builds the launcher of a real OpenSearch node (OpenSearchNode.java) for a flavour, into
# .cache/opensearch/<version>-<hash of pom and source>/ (jars from Maven Central, classes), and
# prints that folder. Quick when it is there already: the folder name is the content key.
#
#   bash tests/opensearch/build.sh 2.19      # OpenSearch 2.19.6 on the default Java 17
#   bash tests/opensearch/build.sh 3.9       # OpenSearch 3.9.0 on Temurin 25 ($JAVA25_HOME)
#   bash tests/opensearch/build.sh 2.19-knn  # OpenSearch 2.19.1 + k-NN 2.19.1.0 (KnnNode.java), Java 17
#   bash tests/opensearch/build.sh 3.5-knn   # OpenSearch 3.5.0 + k-NN 3.5.0.0, Temurin 25
#
# Besides jars/ and classes/, the folder holds `classpath` and `java` (the java binary to run).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
flavour="${1:-2.19}"
case "$flavour" in
  2.19) pom="$here/pom-2.19.xml"; jdk="${JAVA17_HOME:-}" ;;
  3.9) pom="$here/pom-3.9.xml"; jdk="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}" ;;
  2.19-knn) pom="$here/pom-2.19-knn.xml"; jdk="${JAVA17_HOME:-}" ;;
  3.5-knn) pom="$here/pom-3.5-knn.xml"; jdk="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}" ;;
  *) echo "opensearch build: unknown flavour $flavour (known: 2.19, 3.9, 2.19-knn, 3.5-knn)" >&2; exit 2 ;;
esac
# The k-NN flavours add a launcher (and, for 3.5, stand-ins of the transport-grpc SPI it links).
sources=("$here/src/OpenSearchNode.java")
case "$flavour" in
  2.19-knn) sources+=("$here/src/KnnNode.java") ;;
  3.5-knn) sources+=("$here/src/KnnNode.java" $(find "$here/src/knn-grpc-spi" -name '*.java' | sort)) ;;
esac
if [[ -n "$jdk" ]]; then
  [[ -x "$jdk/bin/java" ]] || { echo "opensearch build: no JDK at $jdk (flavour $flavour)" >&2; exit 1; }
  export JAVA_HOME="$jdk"
  java="$jdk/bin/java"; javac="$jdk/bin/javac"
else
  java="$(command -v java)"; javac="$(command -v javac)"
fi
version="$(sed -n 's:.*<os.version>\(.*\)</os.version>.*:\1:p' "$pom")"
key="$( (cat "$pom" "${sources[@]}"; echo "$java") | sha256sum | cut -c1-12)"
out="$root/.cache/opensearch/$version-$key"
# Two builds of one launcher at once (tests of one binary run in parallel) would delete each
# other's files: one builds, the other waits here and finds it ready.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [[ ! -f "$out/ready" ]]; then
  rm -rf "$out"
  mkdir -p "$out/classes"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$out/jars" >&2
  # A plugin served as a zip (k-NN): its jars join the class path.
  for zip in "$out"/jars/*.zip; do
    [[ -f "$zip" ]] || continue
    unzip -q -o -j "$zip" '*.jar' -d "$out/jars/$(basename "$zip" .zip)" >&2
    rm "$zip"
  done
  cp="$(find "$out/jars" -name '*.jar' | sort | tr '\n' ':')"
  "$javac" -nowarn -d "$out/classes" -cp "$cp" "${sources[@]}" >&2
  echo "$cp$out/classes" > "$out/classpath"
  echo "$java" > "$out/java"
  touch "$out/ready"
fi
echo "$out"
