# Shared by generate.sh and bench-index.sh (sourced, not run). The caller sets HERE (this folder) and
# CACHE (the download cache, .cache/lucene-gen) before calling lucene_classpath.

# ---- pinned inputs ----
# The Lucene jars are org.apache.lucene artifacts from Maven Central, one Maven module per Lucene
# version (pom-4.xml … pom-10.xml: lucene-core and lucene-backward-codecs at one pinned
# version, no other dependency). `mvn dependency:copy-dependencies` copies them into
# $CACHE/lucene-<version>/; the sha256 of every jar is pinned below and checked on every run, and
# Gen/BenchIndex check Version.LATEST at run time.
# - 4.10.4 and 5.5.5 (pom-4.xml, pom-5.xml): lucene-core and lucene-analyzers-common (StandardAnalyzer),
#   for 5.5.5 also lucene-backward-codecs (it reads the Lucene 5.0–5.2 zips of l5_releases),
#   plus com.ning:compress-lzf 1.0.2 for 4.10.4 (l4_lzf_source); run on Java 17 (src/old).
# - 8.8.1: runs on the machine's Java 17. Its backward-codecs jar holds the Lucene70 doc-values
#   writer of l8_lucene70_dv.
# - 9.8.0: runs on Java 17 (the l9_* cases and bench-index.sh).
# - 10.5.0: its class files are for Java 21, so it is compiled and run with the JDK in $JAVA25_HOME
#   (Temurin 25 by default; any JDK 21+ with javac will do).
LUCENE_JARS_SHA256='
5a63c75e2ef9c2707f6afb9900c726382b6de91a833281e86b46b4a308401a58  lucene-core-4.10.4.jar
bbfcf8b6426b1adad6e2ffecad5fa019ef51d8a72ee73c8bcb7f90a4778915e1  lucene-analyzers-common-4.10.4.jar
98f374ddd7c6bb8b5ad67ba3bf96dc0f7bac71b090ee28fdb130ba46167119c0  compress-lzf-1.0.2.jar
8d27a8ab4ee8883282d7713f067e72d1cfde1e88d0f5701a119100ec9e86d7e1  lucene-core-5.5.5.jar
f5fd2a9a9838dd4b7d4a21261aaf2d457b7b831d3c674293e66d356569ef94ac  lucene-analyzers-common-5.5.5.jar
b62e089f505bc72dd8abb0ad55040604cdd92306e14871d7febcbf947dd9c6e5  lucene-backward-codecs-5.5.5.jar
cfc48122881c0075ba2e3b8330f0c6902ec08e57456dfbe81332891ec223c8fa  lucene-core-8.8.1.jar
ddd4f0ffe8af452f80a4267bff2e0655959ca6696aac111dcac5763c5b667e62  lucene-backward-codecs-8.8.1.jar
50b9f845b75dcfe287e2162b02b117740922cc7ccfdfba7298d020cae43299d3  lucene-core-9.8.0.jar
c237eb8b74e8b5fd71e1618df060d8711338d50a3b08b2dc4fdfcc5aabf636f8  lucene-backward-codecs-9.8.0.jar
ec05ee432860dc6116765fc6bd9ffccf65311cb0430a42a3a90f09fffcd310b1  lucene-core-10.5.0.jar
751025978ced33d184de01d2cca1f7c3d85916fec7476953d45c391be7ad24f8  lucene-backward-codecs-10.5.0.jar
'
JAVA25_HOME="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"

log() { echo "[lucene-gen] $*" >&2; }
die() { echo "[lucene-gen] ERROR: $*" >&2; exit 1; }

# The major version of a java or javac binary ("17", "25").
java_major() { "$1" -version 2>&1 | sed -nE 's/^[a-z]+ (version )?"?([0-9]+).*/\2/p' | head -1; }

# javac 17+ must be on the PATH (Lucene 8 and 9; compiled with --release 17).
check_javac() {
  command -v javac >/dev/null || die "javac (JDK 17) is needed"
  JAVAC_MAJOR="$(java_major javac)"
  [ "${JAVAC_MAJOR:-0}" -ge 17 ] || die "javac 17+ is needed (found ${JAVAC_MAJOR:-none})"
}

# Lucene 10 needs a JDK 21+ (java and javac): $JAVA25_HOME. Sets JAVA25 and JAVAC25.
check_java25() {
  JAVA25="$JAVA25_HOME/bin/java"
  JAVAC25="$JAVA25_HOME/bin/javac"
  [ -x "$JAVA25" ] && [ -x "$JAVAC25" ] || die "Lucene 10 needs a JDK 21+ with javac: none at JAVA25_HOME=$JAVA25_HOME"
  local major
  major="$(java_major "$JAVA25")"
  [ "${major:-0}" -ge 21 ] || die "Lucene 10 needs Java 21+, $JAVA25 is ${major:-unknown}"
}

# lucene_classpath <major>: makes sure the jars of pom-<major>.xml are in $CACHE/lucene-<version>/
# (copied by Maven on the first run, or when the pom changed) with their pinned sha256, and sets
# LUCENE_VERSION (from the pom) and LUCENE_CP (the jars, ':'-separated).
lucene_classpath() {
  local pom="$HERE/pom-$1.xml" dir key jar want
  [ -f "$pom" ] || die "no $pom"
  LUCENE_VERSION="$(sed -n 's:.*<lucene.version>\(.*\)</lucene.version>.*:\1:p' "$pom")"
  [ -n "$LUCENE_VERSION" ] || die "$pom has no <lucene.version>"
  dir="$CACHE/lucene-$LUCENE_VERSION"
  key="$(sha256sum "$pom" | cut -c1-16)"
  if [ "$(cat "$dir/ready" 2>/dev/null)" != "$key" ]; then
    command -v mvn >/dev/null || die "mvn (Maven) is needed to fetch the Lucene $LUCENE_VERSION jars"
    log "fetching the Lucene $LUCENE_VERSION jars (Maven Central, $(basename "$pom"))"
    rm -rf "$dir"
    mkdir -p "$CACHE"
    # Maven's output is shown only when it fails (with -q it prints little but colour codes)
    if ! mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dir" >"$CACHE/mvn.log" 2>&1; then
      cat "$CACHE/mvn.log" >&2
      die "mvn dependency:copy-dependencies failed for $pom"
    fi
  fi
  LUCENE_CP=""
  for jar in "$dir"/*.jar; do
    [ -f "$jar" ] || die "no jar in $dir"
    want="$(printf '%s\n' "$LUCENE_JARS_SHA256" | awk -v f="$(basename "$jar")" '$2 == f { print $1 }')"
    # a bad cache is fetched anew on the next run (no ready stamp)
    [ -n "$want" ] || { rm -f "$dir/ready"; die "$jar is not pinned in lib.sh (LUCENE_JARS_SHA256)"; }
    [ "$(sha256sum "$jar" | cut -d' ' -f1)" = "$want" ] || { rm -f "$dir/ready"; die "$jar: unexpected sha256"; }
    LUCENE_CP="${LUCENE_CP:+$LUCENE_CP:}$jar"
  done
  echo "$key" >"$dir/ready"
}
