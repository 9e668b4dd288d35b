import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.lucene.index.LogDocMergePolicy;
import org.apache.lucene.util.Version;

/**
 * Writes one Elasticsearch-shaped Lucene index ("case") with the Lucene on the class path, then reads
 * it back (Dump) to print the expected live documents and a summary.
 *
 * <p>Usage: Gen CASE OUT_DIR [WRITTEN_BY]. The index goes to OUT_DIR/CASE/, the outputs to
 * OUT_DIR/CASE.expected.ndjson and OUT_DIR/CASE.summary.json.
 */
public final class Gen {
  private Gen() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: Gen CASE OUT_DIR [WRITTEN_BY]");
      System.exit(2);
    }
    String caseName = args[0];
    Path outRoot = Paths.get(args[1]);
    String writtenBy = args.length > 2 ? args[2] : "Lucene " + Version.LATEST;
    if (!Version.LATEST.toString().equals(Compat.EXPECTED_VERSION)) {
      throw new IllegalStateException("Lucene on the class path is " + Version.LATEST + ", expected " + Compat.EXPECTED_VERSION);
    }
    String major = Compat.EXPECTED_VERSION.substring(0, Compat.EXPECTED_VERSION.indexOf('.'));
    if (!caseName.startsWith("l" + major + "_")) {
      throw new IllegalArgumentException("case " + caseName + " is not a Lucene " + major + " case");
    }
    EsIds.selfTest();

    Files.createDirectories(outRoot);
    Path indexPath = outRoot.resolve(caseName);
    deleteTree(indexPath);
    long seed = caseName.hashCode();

    EsIndex ix;
    switch (caseName) {
      case "l8_fast":
        ix = new EsIndex(caseName, indexPath, Compat.codec(false), seed, null, false);
        mixed(ix, 3 * 1024 * 1024, false);
        break;
      case "l8_best_compression":
        ix = new EsIndex(caseName, indexPath, Compat.codec(true), seed, null, false);
        manySoftDeletes(ix);
        break;
      case "l8_lucene70_dv":
        ix = new EsIndex(caseName, indexPath, Compat.lucene70DocValuesCodec(), seed, null, false);
        lucene70DocValues(ix);
        break;
      case "l9_mixed":
        ix = new EsIndex(caseName, indexPath, Compat.codec(false), seed, null, false);
        mixed(ix, 3 * 1024 * 1024, true);
        break;
      case "l9_no_source":
        ix = new EsIndex(caseName, indexPath, Compat.codec(false), seed, null, false);
        ix.noSourceDocs = true;
        noSource(ix);
        break;
      case "l9_best_compression_large":
        ix = new EsIndex(caseName, indexPath, Compat.codec(true), seed, null, false);
        large(ix, new int[] {10, 1024, 100 * 1024, 1024 * 1024, 5 * 1024 * 1024, 20 * 1024 * 1024});
        break;
      case "l9_fast_large":
        ix = new EsIndex(caseName, indexPath, Compat.codec(false), seed, null, false);
        large(ix, new int[] {10, 1024, 100 * 1024, 1024 * 1024, 5 * 1024 * 1024, 20 * 1024 * 1024});
        break;
      case "l9_100k": {
        LogDocMergePolicy lmp = new LogDocMergePolicy();
        lmp.setMergeFactor(10);
        ix = new EsIndex(caseName, indexPath, Compat.codec(false), seed, lmp, false);
        hundredK(ix);
        break;
      }
      case "l10_mixed":
        ix = new EsIndex(caseName, indexPath, Compat.codec(false), seed, null, true);
        mixed(ix, 2 * 1024 * 1024, true);
        break;
      case "l10_best_compression":
        ix = new EsIndex(caseName, indexPath, Compat.codec(true), seed, null, false);
        large(ix, new int[] {10, 1024, 100 * 1024, 1024 * 1024, 5 * 1024 * 1024});
        break;
      // zstd stored fields (Elasticsearch 8.14+, OpenSearch custom-codecs): one sliced chunk (a doc
      // over 2 x chunkSize) and one chunk of only empty docs (a nested block over 2 x maxDocsPerChunk)
      case "l9_es_zstd_best_compression": // chunks of 240 KiB / 2,048 docs
        ix = new EsIndex(caseName, indexPath, Compat.zstdCodec(caseName), seed, null, false);
        zstdMixed(ix, 600, 600 * 1024, 2 * 2048 + 4);
        break;
      case "l9_es_zstd_best_speed": // chunks of 14 KiB / 128 docs: many chunks
        ix = new EsIndex(caseName, indexPath, Compat.zstdCodec(caseName), seed, null, false);
        zstdMixed(ix, 3000, 100 * 1024, 2 * 128 + 4);
        break;
      case "l9_os_zstd": // chunks of 480 KiB / 4,096 docs
      case "l9_os_zstd_no_dict":
        ix = new EsIndex(caseName, indexPath, Compat.zstdCodec(caseName), seed, null, false);
        zstdMixed(ix, 600, 1200 * 1024, 2 * 4096 + 4);
        break;
      default:
        throw new IllegalArgumentException("unknown case " + caseName);
    }
    ix.close();
    boolean zstd = caseName.contains("_zstd");
    // the zstd report (format, the writer's unit counts, an LZ4 read attempt) goes into the summary
    Map<String, Object> extras = zstd ? Map.of("stored_fields_zstd", Compat.zstdReport(indexPath)) : Map.of();
    Dump.run(ix, outRoot, writtenBy, extras);
    if (zstd) System.err.println("[lucene-gen] " + caseName + ": " + Compat.zstdStats());
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) return;
    try (Stream<Path> s = Files.walk(p)) {
      List<Path> all = new ArrayList<>();
      s.forEach(all::add);
      all.sort(Comparator.reverseOrder());
      for (Path q : all) Files.delete(q);
    }
  }

  /**
   * Several segments, compound and not: soft updates and tombstones (sparse soft deletes, doc-values
   * update generations), hard deletes (.liv, also on docs that were already soft-deleted), routing,
   * nested-like blocks, one large document; optionally segments in which every doc is soft-deleted.
   */
  static void mixed(EsIndex ix, int bigSize, boolean allDeletedSegments) throws IOException {
    Iterator<String> specials = Sources.specialIds().iterator();

    // _0: compound
    ix.compound(true);
    List<String> seg0 = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String id;
      switch (i % 4) {
        case 0:
        case 1:
          id = specials.hasNext() ? specials.next() : ix.freshAutoId();
          break;
        case 2:
          id = ix.freshAutoId();
          break;
        default:
          id = Integer.toString(1000 + i);
      }
      seg0.add(ix.indexSmall(id));
    }
    ix.nestedBlock(ix.freshAutoId(), 2);
    ix.nestedBlock("nested-parent-1", 3);
    ix.commit();

    // _1: not compound; updates and deletes of _0 docs become a doc-values update generation of _0
    ix.compound(false);
    List<String> seg1 = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      String id = i % 3 == 0 && specials.hasNext() ? specials.next() : i % 3 == 1 ? ix.freshEscapedId() : ix.freshAutoId();
      seg1.add(ix.indexSmall(id));
      if (i == 10) {
        ix.index("big-doc-1", "r1", Sources.exactSource(bigSize, 7));
      }
    }
    for (int k = 0; k < 4; k++) ix.updateSmall(seg0.get(k * 3));
    ix.deleteWithTombstone(seg0.get(1));
    ix.deleteWithTombstone(seg0.get(4));
    ix.updateSmall(seg1.get(2));          // its older version is still in the indexing buffer
    ix.deleteWithTombstone(seg1.get(5));  // same
    ix.primaryTerm = 2;
    for (int i = 0; i < 5; i++) seg1.add(ix.indexSmall(ix.freshAutoId()));  // these carry the "late" fields
    ix.commit();

    // _2: compound; then hard deletes of committed docs (a .liv generation)
    ix.compound(true);
    List<String> seg2 = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      String id = specials.hasNext() ? specials.next() : i % 2 == 0 ? Integer.toString(500000 + i) : ix.freshAutoId();
      seg2.add(ix.indexSmall(id));
    }
    ix.nestedBlock(ix.freshAutoId(), 1);
    ix.commit();
    ix.hardDelete(seg2.get(0));
    ix.hardDelete(seg2.get(7));
    ix.hardDelete(seg2.get(13));
    // seg0[0] was updated: its old version in _0 is soft-deleted and now also hard-deleted
    ix.hardDelete(seg0.get(0));
    ix.commit();

    // _3: not compound; one doc hard-deleted while still buffered; more updates; a deleted id comes back
    ix.compound(false);
    List<String> seg3 = new ArrayList<>();
    for (int i = 0; i < 15; i++) {
      String id = specials.hasNext() ? specials.next() : i % 2 == 0 ? ix.freshEscapedId() : "0" + (7000 + i);
      seg3.add(ix.indexSmall(id));
    }
    ix.updateSmall(seg1.get(0));
    ix.updateSmall(seg0.get(3));   // second update of this id
    ix.hardDelete(seg3.get(4));
    ix.indexSmall(seg0.get(1));    // was deleted with a tombstone in _1
    ix.commit();
    if (specials.hasNext()) throw new IllegalStateException("special ids left over");

    if (allDeletedSegments) {
      // _4: only tombstones, so every doc is soft-deleted from birth
      ix.compound(true);
      for (String id : List.of(seg0.get(2), seg1.get(3), seg1.get(4), seg2.get(1))) ix.deleteWithTombstone(id);
      ix.commit();
      // _5: six docs, then every one of them updated (new versions in _6): _5 becomes wholly
      // soft-deleted through a doc-values update generation
      ix.compound(false);
      List<String> seg5 = new ArrayList<>();
      for (int i = 0; i < 6; i++) seg5.add(ix.indexSmall(ix.freshAutoId()));
      ix.commit();
      ix.compound(true);
      for (String id : seg5) ix.updateSmall(id);
      ix.indexSmall(ix.freshAutoId());
      ix.commit();
    }
  }

  /**
   * Docs without a `_source` stored field (ES `_source.enabled: false` or synthetic source: `_id` and
   * `_routing` are still stored) right next to docs with one. _0 (not compound): every third doc has
   * no _source, nested parents with and without. _1 (compound): no doc has _source; it soft-updates
   * and tombstones _0 docs of both kinds (a dv update generation of _0). Then hard deletes (.liv on
   * _0 and _1). _2 (not compound): every doc has _source; it gives some no-source ids a _source again
   * (dv update generations of _0 and _1).
   */
  static void noSource(EsIndex ix) throws IOException {
    Random r = ix.rnd;
    Iterator<String> specials = Sources.specialIds().iterator();

    ix.compound(false);
    List<String> src0 = new ArrayList<>(), noSrc0 = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      String id = i % 20 == 0 && specials.hasNext() ? specials.next() : i % 2 == 0 ? ix.freshAutoId() : Integer.toString(600000 + i);
      boolean withSource = i % 3 != 2;
      (withSource ? src0 : noSrc0).add(ix.indexSmall(id, withSource));
      if (i == 100) ix.nestedBlock("nested-src-0", 2, true);
      if (i == 200) ix.nestedBlock("nested-nosrc-0", 3, false);
      if (i == 300) ix.nestedBlock(ix.freshAutoId(), 1, false);
      if (i == 400) ix.nestedBlock(ix.freshEscapedId(), 2, true);
    }
    ix.commit();

    ix.compound(true);
    List<String> noSrc1 = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      String id = i % 50 == 0 && specials.hasNext() ? specials.next() : i % 3 == 0 ? ix.freshEscapedId() : ix.freshAutoId();
      noSrc1.add(ix.indexSmall(id, false));
      if (i == 150) ix.nestedBlock("nested-nosrc-1", 2, false);
    }
    if (specials.hasNext()) throw new IllegalStateException("special ids left over");
    Collections.shuffle(src0, r);
    Collections.shuffle(noSrc0, r);
    // new versions without _source (here every doc lacks it), old versions soft-deleted in _0
    for (int k = 0; k < 10; k++) ix.updateSmall(noSrc0.get(k), false);
    for (int k = 0; k < 10; k++) ix.updateSmall(src0.get(k), false);
    for (int k = 10; k < 18; k++) ix.deleteWithTombstone(noSrc0.get(k));
    for (int k = 10; k < 14; k++) ix.deleteWithTombstone(src0.get(k));
    ix.updateSmall(noSrc1.get(1), false);    // its older version is still in the indexing buffer
    ix.deleteWithTombstone(noSrc1.get(2));  // same
    ix.primaryTerm = 2;
    ix.commit();
    ix.hardDelete(noSrc0.get(0));   // updated: old version in _0 (soft-deleted) and new one in _1
    ix.hardDelete(noSrc0.get(20));  // live _0 docs of both kinds
    ix.hardDelete(noSrc0.get(21));
    ix.hardDelete(src0.get(20));
    ix.hardDelete(noSrc1.get(10));  // live _1 docs
    ix.hardDelete(noSrc1.get(11));
    ix.commit();

    ix.compound(false);
    List<String> src2 = new ArrayList<>();
    for (int i = 0; i < 300; i++) src2.add(ix.indexSmall(i % 4 == 0 ? "0" + (70000 + i) : ix.freshAutoId(), true));
    ix.nestedBlock(ix.freshAutoId(), 2, true);
    // no-source ids get a _source again: their old versions in _0 and _1 are soft-deleted
    for (int k = 30; k < 36; k++) ix.updateSmall(noSrc1.get(k), true);
    for (int k = 30; k < 34; k++) ix.updateSmall(noSrc0.get(k), true);
    ix.updateSmall(noSrc0.get(1), true);   // replaces its no-source update in _1
    ix.indexSmall(noSrc0.get(10), true);   // tombstoned in _1, indexed again
    ix.hardDelete(src2.get(5));            // still buffered
    ix.commit();
  }

  /**
   * For the zstd stored-fields cases. _0 (not compound): {@code bulk} docs, mostly tiny, with routing
   * on some, the special ids, a small nested block, one {@code bigSize} doc (Lucene slices its chunk
   * when it holds over 2 x chunkSize bytes, and compresses each chunkSize slice on its own) and a
   * nested block of {@code wideChildren} children: with over 2 x maxDocsPerChunk children, at least one
   * chunk holds only children, which store nothing (a compression unit of length 0). _1 (compound):
   * soft updates and tombstones of _0 docs (a dv update generation of _0), primary term 2 and the
   * "late" fields. Then hard deletes (.liv). _2 (not compound) and _3 (compound): a delete of a
   * buffered doc, a tombstoned id indexed again, more updates.
   */
  static void zstdMixed(EsIndex ix, int bulk, int bigSize, int wideChildren) throws IOException {
    Random r = ix.rnd;
    Iterator<String> specials = Sources.specialIds().iterator();

    ix.compound(false);
    List<String> seg0 = new ArrayList<>();
    for (int i = 0; i < bulk; i++) {
      String id;
      switch (i % 5) {
        case 0:
          id = specials.hasNext() ? specials.next() : ix.freshEscapedId();
          break;
        case 1:
          id = Integer.toString(200000 + i);
          break;
        default:
          id = ix.freshAutoId();
      }
      Sources.Attrs a = ix.nextAttrs(r.nextInt(10) == 0);
      byte[] src = r.nextInt(4) == 0 ? ix.nextSmallSource(a) : Sources.tinySource(r, a);
      ix.index(id, ix.maybeRouting(), src, a);
      seg0.add(id);
      if (i == 3) ix.nestedBlock(ix.freshAutoId(), 2);
      if (i == bulk / 3) ix.index("big-doc-zstd", "r1", Sources.exactSource(bigSize, 11));
      if (i == 2 * bulk / 3) ix.nestedBlock("nested-wide", wideChildren);
    }
    ix.commit();
    if (specials.hasNext()) throw new IllegalStateException("special ids left over");

    ix.compound(true);
    List<String> seg1 = new ArrayList<>();
    for (int i = 0; i < bulk / 4; i++) seg1.add(ix.indexSmall(i % 3 == 0 ? ix.freshEscapedId() : ix.freshAutoId()));
    List<String> candidates = new ArrayList<>(seg0);
    Collections.shuffle(candidates, r);
    int updates = Math.max(5, bulk / 20);
    int next = 0;
    for (int k = 0; k < updates; k++) ix.updateSmall(candidates.get(next++));
    for (int k = 0; k < updates / 2; k++) ix.deleteWithTombstone(candidates.get(next++));
    ix.updateSmall(seg1.get(1));          // its older version is still in the indexing buffer
    ix.deleteWithTombstone(seg1.get(2));  // same
    ix.primaryTerm = 2;
    for (int i = 0; i < 5; i++) seg1.add(ix.indexSmall(ix.freshAutoId()));  // these carry the "late" fields
    ix.nestedBlock(ix.freshAutoId(), 3);
    ix.commit();
    ix.hardDelete(candidates.get(0));      // updated: the old version in _0 is soft- and hard-deleted
    ix.hardDelete(candidates.get(next++)); // a live _0 doc
    ix.hardDelete(seg1.get(4));
    ix.commit();

    ix.compound(false);
    List<String> seg2 = new ArrayList<>();
    for (int i = 0; i < 20; i++) seg2.add(ix.indexSmall(i % 2 == 0 ? "0" + (8000 + i) : ix.freshEscapedId()));
    ix.updateSmall(seg1.get(0));
    ix.hardDelete(seg2.get(3));            // still buffered
    ix.indexSmall(candidates.get(updates)); // deleted with a tombstone in _1, indexed again
    ix.commit();

    ix.compound(true);
    for (int i = 0; i < 10; i++) ix.indexSmall(ix.freshAutoId());
    for (int i = 1; i <= 3; i++) ix.updateSmall(seg2.get(i * 5));
    ix.commit();
  }

  /**
   * About 10,000 docs in _0, of which more than 4,096 get soft-deleted (DENSE block in _0's update
   * generation); _1 holds more than 4,096 tombstones (DENSE block in its own doc values).
   */
  static void manySoftDeletes(EsIndex ix) throws IOException {
    Random r = ix.rnd;
    ix.compound(false);
    List<String> ids = new ArrayList<>();
    Set<String> large = new LinkedHashSet<>();
    int[] bigAt = {100, 2000, 4000, 6000, 8000, 9000, 9999};
    int[] bigSize = {10, 1024, 10 * 1024, 100 * 1024, 500 * 1024, 1024 * 1024, 2 * 1024 * 1024};
    Iterator<String> specials = Sources.specialIds().iterator();
    int b = 0;
    for (int i = 0; i < 10000; i++) {
      String id;
      int k = i % 10;
      if (k < 5) id = Integer.toString(100000 + i);
      else if (k < 9) id = ix.freshAutoId();
      else id = specials.hasNext() ? specials.next() : ix.freshEscapedId();
      if (b < bigAt.length && i == bigAt[b]) {
        ix.index(id, ix.maybeRouting(), Sources.exactSource(bigSize[b], i));
        large.add(id);
        b++;
      } else {
        Sources.Attrs a = ix.nextAttrs(r.nextInt(10) == 0);
        byte[] src = r.nextInt(5) == 0 ? ix.nextSmallSource(a) : Sources.tinySource(r, a);
        ix.index(id, ix.maybeRouting(), src, a);
      }
      ids.add(id);
    }
    ix.commit();

    ix.compound(true);
    List<String> candidates = new ArrayList<>(ids);
    candidates.removeAll(large);
    Collections.shuffle(candidates, r);
    int next = 0;
    for (int i = 0; i < 1000; i++) {
      String id = candidates.get(next++);
      Sources.Attrs a = ix.nextAttrs(false);
      ix.update(id, Sources.tinySource(r, a));
    }
    for (int i = 0; i < 4200; i++) ix.deleteWithTombstone(candidates.get(next++));
    for (int i = 0; i < 50; i++) ix.indexSmall(ix.freshAutoId());
    ix.commit();
  }

  /**
   * For the Lucene70 doc-values format (ES 6.5-6.8 with soft deletes): _0 has 7,000 docs, of which
   * more than 4,096 get soft-deleted (DENSE, in _0's dv update generation); _1 holds 151 tombstones
   * (SPARSE, in its own .dvd, after entries of every doc-values type); _2 gets a handful of soft
   * deletes (SPARSE update generation) and hard deletes; _4 is only tombstones ("all docs" in its own
   * .dvd); _5 is wholly soft-deleted through an update generation.
   */
  static void lucene70DocValues(EsIndex ix) throws IOException {
    Random r = ix.rnd;
    Iterator<String> specials = Sources.specialIds().iterator();
    // a SORTED field that Lucene 8 flushes before __soft_deletes (with NUMERIC, BINARY, SORTED_SET
    // and SORTED_NUMERIC ones), so that a .dvm walk crosses every entry type before the soft deletes
    ix.countryField = true;

    // _0: not compound, 7,000 docs (+ a nested block and one 100 KiB doc)
    ix.compound(false);
    List<String> seg0 = new ArrayList<>();
    for (int i = 0; i < 7000; i++) {
      String id;
      int k = i % 10;
      if (k < 5) id = Integer.toString(300000 + i);
      else if (k < 9) id = ix.freshAutoId();
      else id = specials.hasNext() ? specials.next() : ix.freshEscapedId();
      Sources.Attrs a = ix.nextAttrs(r.nextInt(10) == 0);
      byte[] src = r.nextInt(5) == 0 ? ix.nextSmallSource(a) : Sources.tinySource(r, a);
      ix.index(id, ix.maybeRouting(), src, a);
      seg0.add(id);
      if (i == 3000) ix.nestedBlock("nested-l70-0", 2);
      if (i == 5000) ix.index("big-doc-l70", "r2", Sources.exactSource(100 * 1024, 70));
    }
    ix.commit();

    // _1: not compound. 4,400 updates and 150 tombstones of _0 docs: _0 gets 4,550 soft deletes in
    // block 0 of its update generation (DENSE); _1's own .dvd has the tombstones (SPARSE).
    ix.compound(false);
    List<String> candidates = new ArrayList<>(seg0);
    Collections.shuffle(candidates, r);
    int next = 0;
    for (int i = 0; i < 4400; i++) {
      String id = candidates.get(next++);
      Sources.Attrs a = ix.nextAttrs(false);
      ix.update(id, Sources.tinySource(r, a), a);
    }
    for (int i = 0; i < 150; i++) ix.deleteWithTombstone(candidates.get(next++));
    List<String> seg1 = new ArrayList<>();
    for (int i = 0; i < 40; i++) seg1.add(ix.indexSmall(i % 3 == 0 ? ix.freshEscapedId() : ix.freshAutoId()));
    ix.updateSmall(seg1.get(1));          // its older version is still in the indexing buffer
    ix.deleteWithTombstone(seg1.get(2));  // same
    ix.commit();

    // _2: compound; then hard deletes of committed docs (.liv), one of them already soft-deleted
    ix.compound(true);
    List<String> seg2 = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      String id = specials.hasNext() ? specials.next() : i % 2 == 0 ? Integer.toString(800000 + i) : ix.freshAutoId();
      seg2.add(ix.indexSmall(id));
    }
    ix.nestedBlock(ix.freshAutoId(), 1);
    ix.commit();
    ix.hardDelete(seg2.get(0));
    ix.hardDelete(seg2.get(9));
    ix.hardDelete(candidates.get(0));    // updated: old version in _0 (soft-deleted) and new one in _1
    ix.hardDelete(candidates.get(next++)); // a live _0 doc
    ix.commit();

    // _3: compound. A handful of updates of _2 docs (SPARSE update generation of _2), a second
    // update generation of _0, a hard delete while buffered, a tombstoned id indexed again.
    ix.compound(true);
    List<String> seg3 = new ArrayList<>();
    for (int i = 0; i < 20; i++) seg3.add(ix.indexSmall(i % 2 == 0 ? ix.freshAutoId() : "0" + (9000 + i)));
    for (int i = 1; i <= 6; i++) ix.updateSmall(seg2.get(i * 7));
    ix.updateSmall(candidates.get(next++));
    ix.updateSmall(candidates.get(next++));
    ix.updateSmall(seg1.get(0));
    ix.hardDelete(seg3.get(3));
    ix.indexSmall(candidates.get(4400));   // was deleted with a tombstone in _1
    ix.commit();
    if (specials.hasNext()) throw new IllegalStateException("special ids left over");

    // _4: only tombstones, so every doc is soft-deleted from birth
    ix.compound(true);
    for (String id : List.of(seg1.get(5), seg1.get(6), seg2.get(3), seg3.get(0))) ix.deleteWithTombstone(id);
    ix.commit();
    // _5: six docs, then every one of them updated (new versions in _6): _5 becomes wholly
    // soft-deleted through a doc-values update generation
    ix.compound(false);
    List<String> seg5 = new ArrayList<>();
    for (int i = 0; i < 6; i++) seg5.add(ix.indexSmall(ix.freshAutoId()));
    ix.commit();
    ix.compound(true);
    for (String id : seg5) ix.updateSmall(id);
    ix.indexSmall(ix.freshAutoId());
    ix.commit();
  }

  /** Large documents (exact sizes) between small ones, over two segments, with some soft deletes. */
  static void large(EsIndex ix, int[] sizes) throws IOException {
    ix.compound(true);
    List<String> small = new ArrayList<>();
    for (int i = 0; i < 20; i++) small.add(ix.indexSmall(i % 2 == 0 ? ix.freshAutoId() : Integer.toString(i)));
    int half = (sizes.length + 1) / 2;
    for (int s = 0; s < sizes.length; s++) {
      if (s == half) {
        ix.commit();
        ix.compound(false);
      }
      ix.index("large-" + sizes[s], s % 2 == 0 ? null : "r2", Sources.exactSource(sizes[s], s));
      for (int i = 0; i < 3; i++) small.add(ix.indexSmall(ix.freshAutoId()));
    }
    // soft deletes: updates (one of a 1 MB doc), tombstones
    ix.updateSmall(small.get(0));
    ix.updateSmall(small.get(25));
    ix.update("large-1048576", Sources.exactSource(1024 * 1024, 99));
    ix.deleteWithTombstone(small.get(3));
    ix.deleteWithTombstone(small.get(small.size() - 1));
    for (int i = 0; i < 5; i++) ix.indexSmall(ix.freshAutoId());
    ix.commit();
  }

  /**
   * One segment (forceMerge(1)) with over 100,000 small docs: ~6,000 soft-deleted among the first
   * 60,000 (a DENSE block), a few hundred in the second block (SPARSE), and hard deletes (.liv).
   */
  static void hundredK(EsIndex ix) throws IOException {
    Random r = ix.rnd;
    final int n = 100_000;
    List<String> ids = new ArrayList<>(n);
    Set<String> nested = new LinkedHashSet<>();
    for (int i = 0; i < n; i++) {
      String id = i % 10 == 3 ? ix.freshAutoId() : Integer.toString(i + 1);
      Sources.Attrs a = ix.nextLeanAttrs();
      if (i % 97 == 0) a.title = a.title + " " + Sources.SPECIAL[(i / 97) % Sources.SPECIAL.length];
      ix.index(id, ix.maybeRouting(), Sources.tinySource(r, a), a);
      ids.add(id);
      if (i == 500 || i == 50_500 || i == 90_500) {
        String p = "nested-" + i;
        ix.nestedBlock(p, 2);
        nested.add(p);
      }
      if ((i + 1) % 20_000 == 0) ix.commit();
    }
    List<String> first = new ArrayList<>(ids.subList(0, 60_000));
    Collections.shuffle(first, r);
    for (int i = 0; i < 6000; i++) {
      Sources.Attrs a = ix.nextLeanAttrs();
      ix.update(first.get(i), Sources.tinySource(r, a), a);
    }
    List<String> tail = new ArrayList<>(ids.subList(70_000, n));
    Collections.shuffle(tail, r);
    for (int i = 0; i < 300; i++) ix.deleteWithTombstone(tail.get(i));
    ix.commit();
    ix.writer.forceMerge(1);
    ix.commit();
    List<String> candidates = new ArrayList<>(ix.live.keySet());
    candidates.removeAll(nested);
    Collections.shuffle(candidates, r);
    for (int i = 0; i < 500; i++) ix.hardDelete(candidates.get(i));
    ix.commit();
  }
}
