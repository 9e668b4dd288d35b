#!/usr/bin/env bash
# Builds the launcher of a real Elasticsearch 1.7 or 2.4 node (LegacyNode.java) into
# .cache/elasticsearch-legacy/<version>-<hash of pom, source, this script and java>/ (jars from
# Maven Central, classes, a `run` script), and prints that folder. Quick when it is there already:
# the folder name is the content key.
#
#   bash tests/elasticsearch-legacy/build.sh 1.7     # Elasticsearch 1.7.6 (Lucene 4.10.4), Java 17
#   bash tests/elasticsearch-legacy/build.sh 2.4     # Elasticsearch 2.4.6 (Lucene 5.5.4), Java 17
#
# Then `<folder>/run <home dir> <repo dir>` starts the node (see README.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
flavour="${1:-2.4}"
case "$flavour" in
  1.7|2.4) pom="$here/pom-$flavour.xml" ;;
  *) echo "elasticsearch-legacy build: unknown flavour $flavour (known: 1.7, 2.4)" >&2; exit 2 ;;
esac
jdk="${JAVA17_HOME:-}"
if [[ -n "$jdk" ]]; then
  [[ -x "$jdk/bin/java" ]] || { echo "elasticsearch-legacy build: no JDK at $jdk" >&2; exit 1; }
  export JAVA_HOME="$jdk"
  java="$jdk/bin/java"; javac="$jdk/bin/javac"
else
  java="$(command -v java)"; javac="$(command -v javac)"
fi
version="$(sed -n 's:.*<es.version>\(.*\)</es.version>.*:\1:p' "$pom")"
key="$( (cat "$pom" "$here/src/LegacyNode.java" "${BASH_SOURCE[0]}"; echo "$java") | sha256sum | cut -c1-12)"
out="$root/.cache/elasticsearch-legacy/$version-$key"
# Two builds of one launcher at once (tests of one binary run in parallel) would delete each
# other's files: one builds, the other waits here and finds it ready.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [[ ! -f "$out/ready" ]]; then
  rm -rf "$out"
  mkdir -p "$out/classes"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$out/jars" >&2
  cp="$(find "$out/jars" -name '*.jar' | sort | tr '\n' ':')"
  if [[ "$flavour" == 1.7 ]]; then
    # JvmInfo's static initialiser calls RuntimeMXBean.getBootClassPath(), which throws on
    # Java 9+. Rebuild that one class from the -sources jar with the call guarded; classes/
    # comes first on the class path, so it shadows the jar's.
    mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="org.elasticsearch:elasticsearch:$version:jar:sources" \
      -DoutputDirectory="$out/sources" >&2
    src="$out/sources/patched"
    mkdir -p "$src"
    unzip -q -o "$out/sources/elasticsearch-$version-sources.jar" org/elasticsearch/monitor/jvm/JvmInfo.java -d "$src"
    f="$src/org/elasticsearch/monitor/jvm/JvmInfo.java"
    sed -i 's/info.bootClassPath = runtimeMXBean.getBootClassPath();/info.bootClassPath = runtimeMXBean.isBootClassPathSupported() ? runtimeMXBean.getBootClassPath() : "";/' "$f"
    grep -q 'isBootClassPathSupported() ? runtimeMXBean.getBootClassPath()' "$f" \
      || { echo "elasticsearch-legacy build: JvmInfo.java of $version did not take the patch" >&2; exit 1; }
    "$javac" -nowarn -source 8 -target 8 -d "$out/classes" -cp "$cp" "$f" >&2 2>/dev/null \
      || "$javac" -nowarn -d "$out/classes" -cp "$cp" "$f" >&2
  fi
  "$javac" -nowarn -d "$out/classes" -cp "$cp" "$here/src/LegacyNode.java" >&2
  echo "$out/classes:$cp" > "$out/classpath"
  echo "$java" > "$out/java"
  cat > "$out/run" <<RUN
#!/usr/bin/env bash
# Elasticsearch $version, one node: run <home dir> <repo dir>. Prints one line
# {"url": "http://127.0.0.1:<port>", "version": "$version"} on stdout once it answers HTTP (its log
# goes to stderr), then runs until killed. The node's process is this one (exec). 1.x/2.x started
# through NodeBuilder do not refuse root (that check lives in their Bootstrap), so no change of uid.
set -euo pipefail
if [[ \$# -ne 2 ]]; then echo "usage: \$0 <home dir> <repo dir>" >&2; exit 2; fi
dir="$out"
mkdir -p "\$1" "\$2"
home="\$(cd "\$1" && pwd)"
repo="\$(cd "\$2" && pwd)"
exec "\$(cat "\$dir/java")" -Xms256m -Xmx512m -XX:+UseSerialGC -XX:+DisplayVMOutputToStderr \\
  -cp "\$(cat "\$dir/classpath")" LegacyNode "\$home" "\$repo"
RUN
  chmod +x "$out/run"
  touch "$out/ready"
fi
echo "$out"
