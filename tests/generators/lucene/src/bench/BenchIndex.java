import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.StoredFieldsReader;
import org.apache.lucene.codecs.lucene95.Lucene95Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.IntPoint;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedNumericDocValuesField;
import org.apache.lucene.document.SortedSetDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.SerialMergeScheduler;
import org.apache.lucene.index.SoftDeletesDirectoryReaderWrapper;
import org.apache.lucene.index.SoftDeletesRetentionMergePolicy;
import org.apache.lucene.index.StoredFieldVisitor;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.TieredMergePolicy;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.Version;

/**
 * Writes ONE large Elasticsearch-shaped Lucene 9.8.0 index for a read benchmark, then reads it back to
 * count the live docs and their `_source` bytes.
 *
 * <p>Usage: BenchIndex OUT_DIR fast|best|zstd SOURCE_BYTES SUMMARY_FILE GENERATOR_ID (recorded in the summary,
 * for the cache check of bench-index.sh)
 *
 * <p>fast = Lucene95Codec BEST_SPEED (LZ4), best = BEST_COMPRESSION (DEFLATE), zstd = Elasticsearch 8.16+
 * best_compression (codec Elasticsearch816, ZstdStoredFields814, see BenchZstd). The documents are the same.
 */
public final class BenchIndex {
  static final String SOFT_DELETES = EsIndex.SOFT_DELETES;
  /** Recently written ids that updates pick from (so updates hit recent and already-flushed segments). */
  static final int RING = 1 << 16;

  private BenchIndex() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 5 || !(args[1].equals("fast") || args[1].equals("best") || args[1].equals("zstd"))) {
      System.err.println("usage: BenchIndex OUT_DIR fast|best|zstd SOURCE_BYTES SUMMARY_FILE GENERATOR_ID");
      System.exit(2);
    }
    if (!Version.LATEST.toString().equals("9.8.0")) throw new IllegalStateException("Lucene on the class path is " + Version.LATEST);
    EsIds.selfTest();
    Path out = Paths.get(args[0]);
    String mode = args[1];
    long target = Long.parseLong(args[2]);
    Path summaryFile = Paths.get(args[3]);
    String generator = args[4];
    if (target <= 0) throw new IllegalArgumentException("SOURCE_BYTES must be > 0");

    boolean zstd = mode.equals("zstd");
    Codec codec = zstd ? BenchZstd.codec()
        : new Lucene95Codec(mode.equals("fast") ? Lucene95Codec.Mode.BEST_SPEED : Lucene95Codec.Mode.BEST_COMPRESSION);
    long t0 = System.nanoTime();
    Written w = write(out, codec, target);
    long t1 = System.nanoTime();
    long decompressRuns = zstd ? BenchZstd.decompressRuns() : 0;
    Map<String, Object> s = readBack(out);
    long t2 = System.nanoTime();

    if ((long) s.get("docs") != w.liveDocs || (long) s.get("source_bytes") != w.liveSourceBytes) {
      throw new IllegalStateException("read back " + s.get("docs") + " docs / " + s.get("source_bytes") + " source bytes, wrote "
          + w.liveDocs + " / " + w.liveSourceBytes);
    }
    long indexBytes = 0;
    try (Stream<Path> files = Files.list(out)) {
      for (Path p : (Iterable<Path>) files::iterator) indexBytes += Files.size(p);
    }
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("docs", s.get("docs"));
    summary.put("source_bytes", s.get("source_bytes"));
    summary.put("segments", s.get("segments"));
    summary.put("mode", mode);
    summary.put("lucene", Version.LATEST.toString());
    summary.put("index_bytes", indexBytes);
    summary.put("target_source_bytes", target);
    summary.put("generator", generator);
    summary.put("max_docs", s.get("max_docs"));
    summary.put("soft_deleted", s.get("soft_deleted"));
    summary.put("fdt_bytes", s.get("fdt_bytes"));
    summary.put("write_seconds", Math.round((t1 - t0) / 1e7) / 100.0);
    summary.put("read_back_seconds", Math.round((t2 - t1) / 1e7) / 100.0);
    if (zstd) {
      BenchZstd.summary(summary, BenchZstd.decompressRuns() - decompressRuns);
      System.err.println("[bench] " + ZstdCli.stats());
    }
    String line = oneLine(summary);
    Path tmp = summaryFile.resolveSibling(summaryFile.getFileName() + ".tmp");
    Files.write(tmp, (line + "\n").getBytes(StandardCharsets.UTF_8));
    Files.move(tmp, summaryFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    System.out.println(line);
  }

  /** One-line JSON of a flat map of strings and numbers. */
  static String oneLine(Map<String, Object> m) {
    StringBuilder sb = new StringBuilder("{");
    for (Map.Entry<String, Object> e : m.entrySet()) {
      if (sb.length() > 1) sb.append(", ");
      sb.append(Json.str(e.getKey())).append(": ");
      Object v = e.getValue();
      sb.append(v instanceof String ? Json.str((String) v) : String.valueOf(v));
    }
    return sb.append('}').toString();
  }

  static final class Written {
    long liveDocs;
    long liveSourceBytes;
  }

  static Written write(Path out, Codec codec, long target) throws IOException {
    Files.createDirectories(out);
    try (Stream<Path> files = Files.list(out)) {
      if (files.findAny().isPresent()) throw new IllegalStateException(out + " is not empty");
    }
    TieredMergePolicy tmp = new TieredMergePolicy(); // Lucene's defaults (ES uses the same kind of policy)
    tmp.setNoCFSRatio(0.0);
    IndexWriterConfig iwc = new IndexWriterConfig(new StandardAnalyzer());
    iwc.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
    iwc.setCodec(codec);
    iwc.setSoftDeletesField(SOFT_DELETES);
    iwc.setMergePolicy(new SoftDeletesRetentionMergePolicy(SOFT_DELETES, MatchAllDocsQuery::new, tmp));
    // serial merges in the indexing thread: the segment structure is deterministic
    iwc.setMergeScheduler(new SerialMergeScheduler());
    iwc.setUseCompoundFile(false);
    iwc.setRAMBufferSizeMB(256);
    iwc.setMaxBufferedDocs(IndexWriterConfig.DISABLE_AUTO_FLUSH);
    iwc.setCommitOnClose(false);

    // Like ES's periodic refresh: a flush every ~1/24 of the target, so flushed segments are a few MB
    // (100 MiB) to ~40 MB (1 GiB) and TieredMergePolicy merges some of them.
    long flushEvery = Math.max(1L << 20, Math.min(64L << 20, target / 24));
    SplittableRandom flushRnd = new SplittableRandom(0xF1005L);
    BenchDocs docs = new BenchDocs(0xB3AC4L, 4000);
    SplittableRandom r = new SplittableRandom(0x1D5L);
    Written w = new Written();
    byte[][] ringId = new byte[RING][];
    String[] ringRouting = new String[RING];
    int[] ringVersion = new int[RING];
    int[] ringLen = new int[RING];
    long added = 0, seqNo = 0, nextFlush = flushEvery, updates = 0;
    BenchDocs.Meta meta = new BenchDocs.Meta();
    byte[] idRaw = new byte[15];
    long progressStep = Math.max(target / 10, 1);
    long nextProgress = progressStep;
    long start = System.nanoTime();

    try (Directory dir = FSDirectory.open(out); IndexWriter writer = new IndexWriter(dir, iwc)) {
      while (w.liveSourceBytes < target) {
        if (added > 1000 && r.nextInt(200) == 0) {
          // ES update of a recent doc: soft-deletes the older version(s)
          int k = (int) (r.nextLong(Math.min(added, RING)));
          byte[] source = docs.next(meta, docs.nextTarget());
          ringVersion[k]++;
          Document d = doc(ringId[k], ringRouting[k], source, meta, seqNo++, ringVersion[k]);
          writer.softUpdateDocument(new Term("_id", new BytesRef(ringId[k])), d, new NumericDocValuesField(SOFT_DELETES, 1));
          w.liveSourceBytes += source.length - ringLen[k];
          ringLen[k] = source.length;
          updates++;
          continue;
        }
        // mostly ES auto-ids (20 chars of URL-safe base64 of 15 bytes), some numeric ids
        String id;
        if (r.nextInt(20) == 0) {
          id = Long.toString(added + 1);
        } else {
          for (int i = 0; i < 15; i += 8) {
            long v = r.nextLong();
            for (int j = i; j < Math.min(15, i + 8); j++, v >>>= 8) idRaw[j] = (byte) v;
          }
          id = Base64.getUrlEncoder().withoutPadding().encodeToString(idRaw);
        }
        byte[] idb = EsIds.encode(id);
        String routing = r.nextInt(10) == 0 ? "tenant-" + r.nextInt(64) : null;
        byte[] source = docs.next(meta, docs.nextTarget());
        writer.addDocument(doc(idb, routing, source, meta, seqNo++, 1));
        int k = (int) (added % RING);
        ringId[k] = idb;
        ringRouting[k] = routing;
        ringVersion[k] = 1;
        ringLen[k] = source.length;
        added++;
        w.liveDocs++;
        w.liveSourceBytes += source.length;
        if (w.liveSourceBytes >= nextFlush) {
          writer.flush();
          nextFlush += (long) (flushEvery * (0.4 + 1.2 * flushRnd.nextDouble()));
        }
        if (w.liveSourceBytes >= nextProgress) {
          double secs = (System.nanoTime() - start) / 1e9;
          System.err.printf("[bench] %d docs, %.0f MiB of source, %.1f s, %.1f MB/s, %d segments%n", added, w.liveSourceBytes / 1048576.0,
              secs, w.liveSourceBytes / 1e6 / secs, siFiles(dir));
          nextProgress += progressStep;
        }
      }
      Map<String, String> ud = new LinkedHashMap<>();
      ud.put("translog_uuid", uuid(1));
      ud.put("history_uuid", uuid(2));
      ud.put("local_checkpoint", Long.toString(seqNo - 1));
      ud.put("max_seq_no", Long.toString(seqNo - 1));
      ud.put("max_unsafe_auto_id_timestamp", "-1");
      ud.put("min_retained_seq_no", "0");
      writer.setLiveCommitData(ud.entrySet());
      writer.commit();
      System.err.printf("[bench] wrote %d docs (%d updates), %d segments, %.1f s%n", added + updates, updates, siFiles(dir),
          (System.nanoTime() - start) / 1e9);
    }
    // IndexWriter leaves its lock file behind; a snapshot would not contain it
    Files.deleteIfExists(out.resolve("write.lock"));
    return w;
  }

  /** Segments on disk right now (for progress lines). */
  static long siFiles(Directory dir) throws IOException {
    return Stream.of(dir.listAll()).filter(f -> f.endsWith(".si")).count();
  }

  static Document doc(byte[] idb, String routing, byte[] source, BenchDocs.Meta m, long seq, long version) {
    Document d = new Document();
    d.add(new Field("_id", new BytesRef(idb), EsIndex.ID_TYPE));
    d.add(new StoredField("_source", source));
    if (routing != null) d.add(new StringField("_routing", routing, Field.Store.YES));
    d.add(new LongPoint("_seq_no", seq));
    d.add(new NumericDocValuesField("_seq_no", seq));
    d.add(new NumericDocValuesField("_primary_term", 1));
    d.add(new NumericDocValuesField("_version", version));
    // a few mapped fields, as ES would index them (date, keyword, integer)
    d.add(new LongPoint("@timestamp", m.ts));
    d.add(new SortedNumericDocValuesField("@timestamp", m.ts));
    d.add(new StringField("host.name", m.host, Field.Store.NO));
    d.add(new SortedSetDocValuesField("host.name", new BytesRef(m.host)));
    d.add(new IntPoint("http.response.status_code", m.status));
    d.add(new SortedNumericDocValuesField("http.response.status_code", m.status));
    return d;
  }

  private static String uuid(int salt) {
    Random r = new Random(0xBE7C4L * 31L + salt);
    byte[] b = new byte[16];
    r.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b).substring(0, 22);
  }

  /** Counts live docs with `_id` and the lengths of their `_source`, through the soft-deletes wrapper. */
  static Map<String, Object> readBack(Path out) throws IOException {
    long docs = 0, sourceBytes = 0, maxDocs = 0, softDeleted = 0, fdtBytes = 0;
    int segments;
    try (Directory dir = FSDirectory.open(out)) {
      for (String f : dir.listAll()) if (f.endsWith(".fdt")) fdtBytes += dir.fileLength(f);
      SegmentInfos sis = SegmentInfos.readLatestCommit(dir);
      for (int i = 0; i < sis.size(); i++) {
        if (sis.info(i).info.getUseCompoundFile()) throw new IllegalStateException(sis.info(i).info.name + " is compound");
      }
      try (DirectoryReader raw = DirectoryReader.open(dir)) {
        DirectoryReader soft = new SoftDeletesDirectoryReaderWrapper(raw, SOFT_DELETES);
        segments = raw.leaves().size();
        if (segments != sis.size()) throw new IllegalStateException("reader has " + segments + " leaves, commit has " + sis.size());
        final long[] len = new long[1];
        final boolean[] hasId = new boolean[1];
        StoredFieldVisitor visitor = new StoredFieldVisitor() {
          @Override
          public Status needsField(FieldInfo fi) {
            if (fi.name.equals("_id") || fi.name.equals("_source")) return Status.YES;
            return hasId[0] && len[0] >= 0 ? Status.STOP : Status.NO;
          }

          @Override
          public void binaryField(FieldInfo fi, byte[] value) {
            if (fi.name.equals("_id")) hasId[0] = true;
            else len[0] = value.length;
          }
        };
        for (LeafReaderContext c : soft.leaves()) {
          LeafReader lr = c.reader();
          SegmentReader sr = Dump.segmentReader(lr);
          Bits live = lr.getLiveDocs();
          int maxDoc = sr.maxDoc();
          maxDocs += maxDoc;
          softDeleted += maxDoc - lr.numDocs() - sr.getSegmentInfo().getDelCount();
          // the merge instance reads the blocks sequentially (each block decompressed once); it is not
          // closed here because it shares the segment's open files
          StoredFieldsReader fields = sr.getFieldsReader().getMergeInstance();
          for (int d = 0; d < maxDoc; d++) {
            if (live != null && !live.get(d)) continue;
            len[0] = -1;
            hasId[0] = false;
            fields.document(d, visitor);
            if (!hasId[0]) continue;
            if (len[0] < 0) throw new IllegalStateException(sr.getSegmentName() + " doc " + d + " is live with _id but no _source");
            docs++;
            sourceBytes += len[0];
          }
        }
        if (soft.leaves().size() != segments) throw new IllegalStateException("the soft-deletes wrapper dropped a segment");
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("docs", docs);
    m.put("source_bytes", sourceBytes);
    m.put("segments", segments);
    m.put("max_docs", maxDocs);
    m.put("soft_deleted", softDeleted);
    m.put("fdt_bytes", fdtBytes);
    return m;
  }
}
