#!/usr/bin/env bash
# Regenerates tests/data/lucene/ with REAL Apache Lucene jars (4.10.4, 5.5.5, 8.8.1, 9.8.0, 10.5.0).
#
#   bash tests/generators/lucene/generate.sh            # every case
#   bash tests/generators/lucene/generate.sh l9_mixed   # only the named cases
#
# The Lucene jars come from Maven Central (pom-4.xml, pom-5.xml, pom-8.xml, pom-9.xml, pom-10.xml; sha256 pinned in lib.sh)
# into .cache/lucene-gen/ (gitignored) and are reused on later runs. Lucene 8 and 9 run on the default
# Java 17, Lucene 10 on the JDK in $JAVA25_HOME (default /usr/lib/jvm/temurin-25-jdk-amd64).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CACHE="$ROOT/.cache/lucene-gen"
OUT="$ROOT/tests/data/lucene"
BUILD="$CACHE/build"

ALL_CASES=(l8_fast l8_best_compression l8_lucene70_dv l9_mixed l9_no_source l9_best_compression_large l9_fast_large l9_100k l10_mixed l10_best_compression
  l9_es_zstd_best_compression l9_es_zstd_best_speed l9_os_zstd l9_os_zstd_no_dict
  l4_default l4_noncompound l4_lzf_source l5_default l5_best_compression l5_upgraded_l4 l4_releases l5_releases)
if [ "$#" -gt 0 ]; then CASES=("$@"); else CASES=("${ALL_CASES[@]}"); fi

# pinned inputs (Maven modules, jar checksums, JAVA25_HOME), log/die, check_javac, check_java25,
# lucene_classpath
# shellcheck source=lib.sh
source "$HERE/lib.sh"

mkdir -p "$CACHE" "$BUILD" "$OUT"
PY=python3
check_javac

need_case_prefix() {
  local p
  for c in "${CASES[@]}"; do
    for p in "$@"; do case "$c" in "$p"_*) return 0 ;; esac; done
  done
  return 1
}

# ---- Lucene jars (Maven Central, pinned in pom-<major>.xml and lib.sh) ----
L4CP="" L5CP="" L8CP="" L9CP="" L10CP=""
if need_case_prefix l4; then lucene_classpath 4; L4CP="$LUCENE_CP"; L4V="$LUCENE_VERSION"; fi
if need_case_prefix l5; then lucene_classpath 5; L5CP="$LUCENE_CP"; L5V="$LUCENE_VERSION"; fi
if need_case_prefix l8; then lucene_classpath 8; L8CP="$LUCENE_CP"; L8V="$LUCENE_VERSION"; fi
if need_case_prefix l9; then lucene_classpath 9; L9CP="$LUCENE_CP"; L9V="$LUCENE_VERSION"; fi
if need_case_prefix l10; then
  lucene_classpath 10; L10CP="$LUCENE_CP"; L10V="$LUCENE_VERSION"
  check_java25
  log "Lucene 10 on $("$JAVA25" -version 2>&1 | head -1) ($JAVA25_HOME)"
fi
JAVA17_MAJOR="$(java_major java)"

# ---- zstd command line tool (libzstd): makes and reads every zstd frame of the *_zstd* cases ----
need_zstd=0
for c in "${CASES[@]}"; do case "$c" in *_zstd*) need_zstd=1 ;; esac; done
if [ "$need_zstd" = 1 ]; then
  command -v zstd >/dev/null || die "the zstd cases need the zstd command line tool (Debian: apt-get install -y zstd)"
  log "zstd: $(zstd --version)"
fi

# ---- compile (Lucene 8 and 9: javac 17 --release 17; Lucene 10: the JDK 21+ javac, --release 21) ----
compile() { # label javac release compile-classpath
  local label="$1" javac="$2" release="$3" cp="$4"
  rm -rf "$BUILD/$label"
  mkdir -p "$BUILD/$label"
  "$javac" --release "$release" -encoding UTF-8 -nowarn -XDsuppressNotes -d "$BUILD/$label" -cp "$cp" \
    "$HERE"/src/common/*.java "$HERE/src/$label/"*.java
  # SPI registrations (the zstd codecs of src/l9), so that Lucene finds those codecs by name on read
  if [ -d "$HERE/src/$label/META-INF" ]; then cp -R "$HERE/src/$label/META-INF" "$BUILD/$label/"; fi
}
# Lucene 4 and 5 (ES 1.x / 2.x shapes): src/old with the version's OldCompat, and only the
# Lucene-free helpers of src/common (the rest of it needs Lucene 8+).
compile_old() { # label compile-classpath
  rm -rf "$BUILD/$1"
  mkdir -p "$BUILD/$1"
  javac --release 17 -encoding UTF-8 -nowarn -XDsuppressNotes -d "$BUILD/$1" -cp "$2" \
    "$HERE/src/common/Json.java" "$HERE/src/common/Sources.java" "$HERE"/src/old/*.java "$HERE/src/$1/"*.java
}
if need_case_prefix l4; then compile_old l4 "$L4CP"; fi
if need_case_prefix l5; then compile_old l5 "$L5CP"; fi
if need_case_prefix l8; then compile l8 javac 17 "$L8CP"; fi
if need_case_prefix l9; then compile l9 javac 17 "$L9CP"; fi
if need_case_prefix l10; then compile l10 "$JAVAC25" 21 "$L10CP"; fi

# ---- run ----
# tests.seed makes Lucene's segment ids deterministic (StringHelper); data comes from fixed seeds.
JOPTS=(-Xmx6g -Dtests.seed=5EED1E55 -Dfile.encoding=UTF-8)
for c in "${CASES[@]}"; do
  log "case $c"
  case "$c" in
    # the release zips of hakanai/luceneupgrader in l4_releases/ and l5_releases/ (checked in)
    l4_releases) java "${JOPTS[@]}" -cp "$BUILD/l4:$L4CP" ReleasesDump "$OUT/$c" ;;
    l5_releases) java "${JOPTS[@]}" -cp "$BUILD/l5:$L5CP" ReleasesDump "$OUT/$c" ;;
    l4_*) java "${JOPTS[@]}" -cp "$BUILD/l4:$L4CP" OldGen "$c" "$OUT" "Lucene $L4V (Maven Central org.apache.lucene $L4V, Java $JAVA17_MAJOR)" ;;
    l5_*) java "${JOPTS[@]}" -cp "$BUILD/l5:$L5CP" OldGen "$c" "$OUT" "Lucene $L5V (Maven Central org.apache.lucene $L5V, Java $JAVA17_MAJOR)" ;;
    l8_*) java "${JOPTS[@]}" -cp "$BUILD/l8:$L8CP" Gen "$c" "$OUT" "Lucene $L8V (Maven Central org.apache.lucene $L8V, Java $JAVA17_MAJOR)" ;;
    l9_*) java "${JOPTS[@]}" -cp "$BUILD/l9:$L9CP" Gen "$c" "$OUT" "Lucene $L9V (Maven Central org.apache.lucene $L9V, Java $JAVA17_MAJOR)" ;;
    l10_*) "$JAVA25" "${JOPTS[@]}" --enable-native-access=ALL-UNNAMED -cp "$BUILD/l10:$L10CP" Gen "$c" "$OUT" "Lucene $L10V (Maven Central org.apache.lucene $L10V, Java $(java_major "$JAVA25"))" \
             2> >(grep -v -e 'VectorizationProvider' -e 'jdk.incubator.vector' >&2) ;;
    *) die "unknown case $c" ;;
  esac
done

# ---- independent check of the outputs' JSON ----
$PY - "$OUT" "${CASES[@]}" <<'EOF'
import hashlib, json, os, sys
out = sys.argv[1]
# the *_releases cases hold their own expected.ndjson (one line per zip), checked by the tests
cases = [c for c in sys.argv[2:] if not c.endswith("_releases")]
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
        assert seg["max_doc"] - seg["del_count"] - seg.get("soft_del_count", 0) == seg["live_docs"], seg["name"]  # no soft deletes before Lucene 7
    print(f"{c}: {n} expected docs, {len(s['segments'])} segments")
EOF

# Expected lists over 1 MiB are committed gzipped (the tests read either form).
for c in "${CASES[@]}"; do
  case "$c" in *_releases) continue ;; esac
  f="$OUT/$c.expected.ndjson"
  rm -f "$f.gz"
  if [ "$(stat -c %s "$f")" -gt 1048576 ]; then gzip -n -9 "$f"; fi
done

log "sizes:"
(cd "$OUT" && du -sh "${CASES[@]}" >&2 && du -ch ./*.ndjson* ./*.json | tail -1 >&2 && du -sh . >&2)
