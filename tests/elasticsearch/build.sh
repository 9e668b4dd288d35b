#!/usr/bin/env bash
# Builds the launcher of a real Elasticsearch node (ElasticsearchNode.java) for a flavour, into
# .cache/elasticsearch/<version>-<hash of pom, source, this script and java>/ (jars from Maven
# Central, classes, a `run` script), and prints that folder. Quick when it is there already: the
# folder name is the content key.
#
#   bash tests/elasticsearch/build.sh 8.19     # Elasticsearch 8.19.21 on the default Java 17
#   bash tests/elasticsearch/build.sh 9.5      # Elasticsearch 9.5.3 on Temurin 25 ($JAVA25_HOME)
#
# Then `<folder>/run <home dir> <repo dir>` starts the node (see README.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
flavour="${1:-8.19}"
case "$flavour" in
  8.19) pom="$here/pom-8.19.xml"; jdk="${JAVA17_HOME:-}"; jvm_extra="" ;;
  9.5)
    pom="$here/pom-9.5.xml"; jdk="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
    # Lucene 10 and Elasticsearch 9 call native code (memory mapping, vectors, zstd).
    jvm_extra="--enable-native-access=ALL-UNNAMED" ;;
  *) echo "elasticsearch build: unknown flavour $flavour (known: 8.19, 9.5)" >&2; exit 2 ;;
esac
if [[ -n "$jdk" ]]; then
  [[ -x "$jdk/bin/java" ]] || { echo "elasticsearch build: no JDK at $jdk (flavour $flavour)" >&2; exit 1; }
  export JAVA_HOME="$jdk"
  java="$jdk/bin/java"; javac="$jdk/bin/javac"
else
  java="$(command -v java)"; javac="$(command -v javac)"
fi
version="$(sed -n 's:.*<es.version>\(.*\)</es.version>.*:\1:p' "$pom")"
key="$( (cat "$pom" "$here/src/ElasticsearchNode.java" "${BASH_SOURCE[0]}"; echo "$java") | sha256sum | cut -c1-12)"
out="$root/.cache/elasticsearch/$version-$key"
# Two builds of one launcher at once (tests of one binary run in parallel) would delete each
# other's files: one builds, the other waits here and finds it ready.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [[ ! -f "$out/ready" ]]; then
  rm -rf "$out"
  mkdir -p "$out/classes" "$out/native"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$out/jars" >&2
  cp="$(find "$out/jars" -name '*.jar' | sort | tr '\n' ':')"
  "$javac" -nowarn -d "$out/classes" -cp "$cp" "$here/src/ElasticsearchNode.java" >&2
  echo "$cp$out/classes" > "$out/classpath"
  echo "$java" > "$out/java"
  # The node loads zstd (logsdb's codec) as <es.nativelibs.path>/libzstd.so; Debian's runtime
  # package has only libzstd.so.1. Without it, only zstd-compressed indices fail.
  for lib in /usr/lib/x86_64-linux-gnu/libzstd.so.1 /usr/lib/aarch64-linux-gnu/libzstd.so.1; do
    [[ -e "$lib" ]] && ln -sf "$lib" "$out/native/libzstd.so" && break
  done
  cat > "$out/run" <<EOF
#!/usr/bin/env bash
# Elasticsearch $version, one node: run <home dir> <repo dir>. Prints one line
# {"url": "http://127.0.0.1:<port>", "version": "$version"} on stdout once it answers HTTP (its log
# goes to stderr), then runs until killed. The node's process is this one (exec).
#
# Elasticsearch will not run as root, so as root this gives <home dir> and <repo dir> (and what
# is in them) to uid/gid 65534 (nobody/nogroup), lets that uid traverse their parent folders and
# this build's (o+x, no read: e.g. a 0700 temporary folder), and execs java through setpriv as
# 65534, keeping the parent-death signal the caller set (a change of uid clears it otherwise).
# Root can read, change and remove what the node writes as ever.
set -euo pipefail
if [[ \$# -ne 2 ]]; then echo "usage: \$0 <home dir> <repo dir>" >&2; exit 2; fi
dir="$out"
mkdir -p "\$1" "\$2"
home="\$(cd "\$1" && pwd)"
repo="\$(cd "\$2" && pwd)"
java="\$(cat "\$dir/java")"
cmd=("\$java" -Xms256m -Xmx512m -XX:+UseSerialGC -XX:+DisplayVMOutputToStderr $jvm_extra
  -Des.nativelibs.path="\$dir/native" -Dorg.elasticsearch.nativeaccess.enableVectorLibrary=false
  -cp "\$(cat "\$dir/classpath")" ElasticsearchNode "\$home" "\$repo")
if [[ "\$(id -u)" == 0 ]]; then
  uid=65534
  chown -R "\$uid:\$uid" "\$home" "\$repo"
  for d in "\$home" "\$repo" "\$dir"; do
    p="\$(dirname "\$d")"
    while [[ "\$p" != / ]]; do
      if [[ "\$(( 0\$(stat -c %a "\$p") & 1 ))" == 0 ]]; then
        echo "run: letting uid \$uid traverse \$p (chmod o+x)" >&2
        chmod o+x "\$p"
      fi
      p="\$(dirname "\$p")"
    done
  done
  exec setpriv --reuid="\$uid" --regid="\$uid" --clear-groups --pdeathsig keep "\${cmd[@]}"
fi
exec "\${cmd[@]}"
EOF
  chmod +x "$out/run"
  touch "$out/ready"
fi
echo "$out"
