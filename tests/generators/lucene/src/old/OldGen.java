import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.SegmentCommitInfo;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.Term;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;

/**
 * Elasticsearch 1.x/2.x-shaped shards written by Lucene 4.10.4 or 5.5.5 (cases l4_*, l5_*), read back
 * with the same Lucene. The fields are those of ES 1.7 / 2.4 (UidFieldMapper, RoutingFieldMapper,
 * SourceFieldMapper, TypeFieldMapper, VersionFieldMapper): `_uid` = "type#id" stored and indexed
 * (not tokenized, DOCS only, no norms), `_routing` stored and indexed, `_source` a stored binary,
 * `_type` indexed only, `_version` a numeric doc value. Nested children carry `_uid` indexed but
 * not stored (UidFieldMapper.Defaults.NESTED_FIELD_TYPE) and `_type` "__comments".
 */
public final class OldGen {
  static final long SEED = 0x1A5E1A5EL;
  static final String[] TYPES = {"doc", "tweet", "my_type"};

  final String caseName;
  final boolean compound;
  final boolean bestCompression;
  final boolean lzf;
  /** l5_upgraded_l4: Lucene 5.5.5 goes on writing the Lucene 4.10.4 shard of l4_noncompound. */
  final boolean upgrade;
  /** The model: uid -> [source (uncompressed), routing]. */
  final Map<String, String[]> live = new TreeMap<>();
  int nestedChildren = 0;
  int lzfCompressed = 0;
  final Random r = new Random(SEED);
  int ordinal = 0;

  OldGen(String caseName) {
    this.caseName = caseName;
    this.compound = caseName.endsWith("_default") || caseName.endsWith("_best_compression");
    this.bestCompression = caseName.endsWith("_best_compression");
    this.lzf = caseName.endsWith("_lzf_source");
    this.upgrade = caseName.equals("l5_upgraded_l4");
  }

  public static void main(String[] args) throws Exception {
    String caseName = args[0];
    Path out = Paths.get(args[1]);
    String writtenBy = args[2];
    if (!OldCompat.version().equals(OldCompat.EXPECTED_VERSION)) {
      throw new IllegalStateException("Lucene " + OldCompat.version() + " on the classpath, expected " + OldCompat.EXPECTED_VERSION);
    }
    new OldGen(caseName).run(out, writtenBy);
  }

  void run(Path out, String writtenBy) throws Exception {
    Path idx = out.resolve(caseName);
    if (Files.exists(idx)) {
      try (var s = Files.list(idx)) {
        for (Path p : (Iterable<Path>) s::iterator) Files.delete(p);
      }
      Files.delete(idx);
    }
    Files.createDirectories(idx);
    if (upgrade) {
      try (var s = Files.list(out.resolve("l4_noncompound"))) {
        for (Path p : (Iterable<Path>) s::iterator) Files.copy(p, idx.resolve(p.getFileName()));
      }
    }
    try (Directory dir = OldCompat.open(idx)) {
      if (upgrade) upgrade(dir);
      else write(dir);
      dump(dir, out, writtenBy);
    }
    Files.deleteIfExists(idx.resolve("write.lock"));
  }

  // ---- writing ----

  String uid(String type, String id) {
    return type + "#" + id;
  }

  Document doc(String type, String id, byte[] json, String routing) throws IOException {
    Document d = new Document();
    d.add(new Field("_uid", uid(type, id), StringField.TYPE_STORED));
    d.add(new StringField("_type", type, Field.Store.NO));
    if (routing != null) d.add(new StringField("_routing", routing, Field.Store.YES));
    byte[] stored = json;
    // ES 1.x `_source: {compress: true}`: every other source compressed, as compress_threshold does
    if (lzf && (ordinal % 2 == 0 || json.length > 65536)) {
      stored = OldCompat.lzfEncode(json);
      lzfCompressed++;
    }
    d.add(new StoredField("_source", stored));
    d.add(new NumericDocValuesField("_version", 1 + ordinal % 3));
    d.add(new TextField("title", Sources.words(r, 3), Field.Store.NO));
    // ES 1.x `_timestamp` / `_size` with store: true, and stored numeric fields of a mapping: each
    // numeric stored type once, so that the reader must skip them (fixed width in Lucene 4,
    // zig-zag / variable in Lucene 5)
    if (ordinal % 5 == 0) d.add(new StoredField("_timestamp", 1_400_000_000_000L + ordinal));
    if (ordinal % 7 == 0) d.add(new StoredField("_size", json.length));
    if (ordinal % 11 == 0) d.add(new StoredField("rating", ordinal / 4.0f));
    if (ordinal % 13 == 0) d.add(new StoredField("score", -ordinal * 1.5e100));
    if (ordinal % 17 == 0) d.add(new StoredField("count", (long) -ordinal));
    live.put(uid(type, id), new String[] {new String(json, StandardCharsets.UTF_8), routing});
    ordinal++;
    return d;
  }

  String type() {
    return TYPES[r.nextInt(TYPES.length)];
  }

  String routing() {
    return r.nextInt(4) == 0 ? Sources.ROUTINGS[r.nextInt(Sources.ROUTINGS.length)] : null;
  }

  byte[] source() {
    Sources.Attrs a = Sources.attrs(r, ordinal, r.nextInt(5) == 0);
    return Sources.smallSource(r, a, r.nextInt(5));
  }

  void add(IndexWriter w, String type, String id) throws IOException {
    w.addDocument(doc(type, id, source(), routing()));
  }

  /** Many small docs (segment _0) with tiny sources, to keep the case small. */
  void addTiny(IndexWriter w, String id) throws IOException {
    w.addDocument(doc("doc", id, Sources.tinySource(r, Sources.leanAttrs(r, ordinal)), routing()));
  }

  void update(IndexWriter w, String uid) throws IOException {
    String[] tid = uid.split("#", 2);
    Document d = doc(tid[0], tid[1], source(), routing());
    w.updateDocument(new Term("_uid", uid), d);
  }

  void delete(IndexWriter w, String uid) throws IOException {
    w.deleteDocuments(new Term("_uid", uid));
    live.remove(uid);
  }

  /** A nested block as ES 1.x writes it: the children first, the parent last. */
  void nested(IndexWriter w, String type, String id, int children) throws IOException {
    List<Document> block = new ArrayList<>();
    for (int i = 0; i < children; i++) {
      Document c = new Document();
      c.add(new Field("_uid", uid(type, id), nestedUidType()));
      c.add(new StringField("_type", "__comments", Field.Store.NO));
      c.add(new TextField("comments.text", Sources.words(r, 4), Field.Store.NO));
      block.add(c);
      nestedChildren++;
    }
    block.add(doc(type, id, source(), routing()));
    w.addDocuments(block);
  }

  static org.apache.lucene.document.FieldType nestedUidType() {
    org.apache.lucene.document.FieldType t = new org.apache.lucene.document.FieldType(StringField.TYPE_NOT_STORED);
    t.freeze();
    return t;
  }

  List<String> liveUids() {
    return new ArrayList<>(live.keySet());
  }

  void write(Directory dir) throws IOException {
    try (IndexWriter w = new IndexWriter(dir, OldCompat.config(compound, bestCompression))) {
      // segment _0: many small docs; a few deletes later give a sparse (d-gaps) .del in Lucene 4
      // (BitVector.isSparse: 10 * (32 + 16 * deleted) < maxDoc)
      for (int i = 0; i < 2000; i++) addTiny(w, Integer.toString(i));
      w.commit();
      // segment _1: special ids, routing, nested blocks, big docs (chunks sliced in units)
      List<String> ids = new ArrayList<>(Sources.specialIds());
      ids.addAll(Arrays.asList("a#b", "#", "with space", "\u00fcml\u00e4ut", ""));
      for (String id : ids) {
        if (id.isEmpty()) continue;
        add(w, TYPES[1 + r.nextInt(2)], id);  // not "doc": segment _0 has doc#0..doc#1499
      }
      for (int i = 0; i < 200; i++) add(w, type(), Sources.autoId(r));
      nested(w, "tweet", "nested-1", 3);
      nested(w, "tweet", "nested-2", 1);
      // 40,000 bytes: over twice Lucene 4's 16 KiB chunk size, so sliced without a marker
      w.addDocument(doc("doc", "big-40k", Sources.exactSource(40_000, 6), null));
      w.addDocument(doc("doc", "big-100k", Sources.exactSource(100_000, 7), "r1"));
      w.addDocument(doc("doc", "big-300k", Sources.exactSource(300_000, 8), null));
      for (int i = 0; i < 50; i++) add(w, type(), "after-big-" + i);
      w.commit();
      // deletes: 3 in _0 (sparse), many in _1 (dense), then a second generation of _1's deletes
      for (String id : new String[] {"doc#5", "doc#700", "doc#1999"}) delete(w, id);
      List<String> seg1 = new ArrayList<>();
      for (String u : liveUids()) if (!u.startsWith("doc#") || !Character.isDigit(u.charAt(4))) seg1.add(u);
      for (int i = 0; i < seg1.size(); i += 2) {
        if (!seg1.get(i).contains("big-") && !seg1.get(i).contains("nested-")) delete(w, seg1.get(i));
      }
      w.commit();
      delete(w, seg1.get(1).contains("big-") ? seg1.get(3) : seg1.get(1));
      // segment _2: updates of docs in _0 and _1 (deletes there) and new docs
      for (int i = 10; i < 15; i++) update(w, "doc#" + i);
      update(w, "doc#big-100k");
      for (int i = 0; i < 40; i++) add(w, type(), "late-" + i);
      nested(w, "doc", "nested-3", 2);
      w.commit();
    }
  }

  /**
   * As an ES 2.x node on a shard of an index created by ES 1.x: the model starts as what Lucene 5
   * reads from the Lucene 4 segments (with its backward codecs), then updates, deletes in the old
   * segments (Lucene 5 writes them as Lucene 4 `.del` files) and a new Lucene 5 segment.
   */
  void upgrade(Directory dir) throws IOException {
    try (DirectoryReader reader = DirectoryReader.open(dir)) {
      for (SegmentReader sr : OldCompat.segments(reader)) {
        Bits liveDocs = sr.getLiveDocs();
        for (int d = 0; d < sr.maxDoc(); d++) {
          if (liveDocs != null && !liveDocs.get(d)) continue;
          Document doc = sr.document(d);
          String uid = doc.get("_uid");
          if (uid == null) {
            nestedChildren++;
            continue;
          }
          BytesRef src = doc.getBinaryValue("_source");
          String json = new String(src.bytes, src.offset, src.length, StandardCharsets.UTF_8);
          live.put(uid, new String[] {json, doc.get("_routing")});
        }
      }
    }
    ordinal = 100_000;
    try (IndexWriter w = new IndexWriter(dir, OldCompat.config(false, false))) {
      for (int i = 100; i < 110; i++) delete(w, "doc#" + i);
      List<String> others = new ArrayList<>();
      for (String u : liveUids()) if (u.startsWith("tweet#") || u.startsWith("my_type#")) others.add(u);
      for (int i = 0; i < 6; i++) delete(w, others.get(i * 7));
      for (int i = 200; i < 203; i++) update(w, "doc#" + i);
      for (int i = 0; i < 30; i++) add(w, type(), "es2-" + i);
      w.commit();
    }
  }

  // ---- reading back ----

  static void fail(String what) {
    throw new IllegalStateException(what);
  }

  void dump(Directory dir, Path out, String writtenBy) throws IOException {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    if (!OldCompat.checkIndex(dir, new PrintStream(log, true, "UTF-8"))) {
      System.err.println(log.toString("UTF-8"));
      fail(caseName + ": CheckIndex found problems");
    }
    SegmentInfos sis = OldCompat.readCommit(dir);
    TreeSet<String> commitFiles = new TreeSet<>(sis.files(dir, true));
    TreeSet<String> onDisk = new TreeSet<>(Arrays.asList(dir.listAll()));
    onDisk.remove("write.lock");
    // Lucene 4 also keeps segments.gen (the newest generation, a fallback for listing); 5.x has none
    if (onDisk.remove("segments.gen") && !OldCompat.version().startsWith("4.")) fail("segments.gen from Lucene 5");
    if (!commitFiles.equals(onDisk)) fail("files on disk " + onDisk + " but the commit has " + commitFiles);

    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("case", caseName);
    summary.put("lucene_version", OldCompat.version());
    summary.put("written_by", writtenBy);
    summary.put("segments_file", sis.getSegmentsFileName());
    summary.put("commit_user_data", new TreeMap<String, Object>(sis.getUserData()));
    StringBuilder ndjson = new StringBuilder();
    List<Object> segments = new ArrayList<>();
    TreeSet<String> seen = new TreeSet<>();
    int total = 0, nested = 0, bigSources = 0;
    try (DirectoryReader reader = DirectoryReader.open(dir)) {
      List<SegmentReader> leaves = OldCompat.segments(reader);
      if (leaves.size() != sis.size()) fail("leaves " + leaves.size() + " vs segments " + sis.size());
      for (int s = 0; s < leaves.size(); s++) {
        SegmentReader sr = leaves.get(s);
        SegmentCommitInfo sci = sis.info(s);
        if (!sr.getSegmentName().equals(sci.info.name)) fail("leaf order is not commit order");
        Bits liveDocs = sr.getLiveDocs();
        int liveCount = 0, withId = 0;
        for (int d = 0; d < sr.maxDoc(); d++) {
          if (liveDocs != null && !liveDocs.get(d)) continue;
          liveCount++;
          Document doc = sr.document(d);
          String uid = doc.get("_uid");
          if (uid == null) {
            nested++;
            if (doc.getBinaryValue("_source") != null) fail("nested child with _source");
            continue;
          }
          BytesRef src = doc.getBinaryValue("_source");
          if (src == null) fail(uid + " has no _source");
          byte[] stored = Arrays.copyOfRange(src.bytes, src.offset, src.offset + src.length);
          byte[] json = stored;
          // ES 1.x LZFCompressor.isCompressed: 'Z', 'V', then a chunk type of 0 or 1
          if (stored.length >= 3 && stored[0] == 'Z' && stored[1] == 'V' && (stored[2] == 0 || stored[2] == 1)) {
            if (!lzf) fail(uid + ": an LZF _source in a case without compression");
            json = OldCompat.lzfDecode(stored);
          }
          String text = Json.utf8Strict(json);
          Json.validate(text);
          String[] tid = uid.split("#", 2);
          String routing = doc.get("_routing");
          String[] want = live.get(uid);
          if (want == null) fail("live doc " + uid + " is not live in the model");
          if (!want[0].equals(text) || !java.util.Objects.equals(want[1], routing)) fail(uid + " differs from the model");
          if (!seen.add(uid)) fail(uid + " is live twice");
          ndjson.append("{\"segment\":").append(Json.str(sci.info.name)).append(",\"docid\":").append(d)
              .append(",\"id\":").append(Json.str(tid[1])).append(",\"routing\":").append(routing == null ? "null" : Json.str(routing));
          if (json.length > 65536) {
            ndjson.append(",\"source\":null,\"source_len\":").append(json.length).append(",\"source_sha256\":").append(Json.str(Json.sha256(json)));
            bigSources++;
          } else {
            ndjson.append(",\"source\":").append(Json.str(text));
          }
          ndjson.append(",\"type\":").append(Json.str(tid[0]));
          if (lzf) ndjson.append(",\"lzf\":").append(json != stored);
          ndjson.append("}\n");
          withId++;
          total++;
        }
        int maxDoc = OldCompat.maxDoc(sci);
        if (maxDoc - sci.getDelCount() != liveCount) fail(sci.info.name + ": maxDoc - delCount != live docs");
        Map<String, Object> seg = new LinkedHashMap<>();
        seg.put("name", sci.info.name);
        seg.put("codec", sci.info.getCodec().getName());
        seg.put("version", String.valueOf(sci.info.getVersion()));
        seg.put("compound", sci.info.getUseCompoundFile());
        seg.put("max_doc", maxDoc);
        seg.put("del_count", sci.getDelCount());
        seg.put("del_gen", sci.getDelGen());
        seg.put("live_docs", liveCount);
        seg.put("live_with_id", withId);
        seg.put("files", new ArrayList<>(new TreeSet<>(sci.files())));
        seg.put("file_headers", fileHeaders(dir, sci));
        segments.add(seg);
      }
    }
    if (!seen.equals(live.keySet())) fail("ids live in the model but not in the index");
    if (nested != nestedChildren) fail("nested children: index " + nested + ", model " + nestedChildren);
    summary.put("segments", segments);
    summary.put("total_live_with_id", total);
    summary.put("total_nested_children", nested);
    summary.put("big_sources", bigSources);
    if (lzf) {
      summary.put("lzf_compressed_sources_written", lzfCompressed);
      summary.put("lzf_encoder", OldCompat.lzfLibrary());
    }
    Files.write(out.resolve(caseName + ".expected.ndjson"), ndjson.toString().getBytes(StandardCharsets.UTF_8));
    Files.write(out.resolve(caseName + ".summary.json"), Json.write(summary).getBytes(StandardCharsets.UTF_8));
    System.out.println(caseName + ": " + total + " live docs with _uid, " + nested + " nested children");
  }

  static Map<String, Object> fileHeaders(Directory dir, SegmentCommitInfo sci) throws IOException {
    Map<String, Object> out = new TreeMap<>();
    for (String f : new TreeSet<>(sci.files())) {
      out.put(f, header(dir, f));
      if (f.endsWith(".cfs")) {
        try (Directory cfs = OldCompat.compoundReader(dir, sci)) {
          for (String inner : new TreeSet<>(Arrays.asList(cfs.listAll()))) out.put(f + "/" + inner, header(cfs, inner));
        }
      }
    }
    return out;
  }

  /** The CodecUtil header of a file (codec name and version); a `.del` starts with the int -2. */
  static String header(Directory dir, String name) throws IOException {
    try (IndexInput in = dir.openInput(name, IOContext.DEFAULT)) {
      int magic = in.readInt();
      String pre = "";
      if (magic == -2) {
        pre = "-2, ";
        magic = in.readInt();
      }
      if (magic != 0x3fd76c17) return "no codec header";
      String codec = in.readString();
      int version = in.readInt();
      // BitVector: the size, or -1 for the d-gaps form (then the size follows)
      String form = codec.equals("BitVector") ? (in.readInt() == -1 ? ", d-gaps" : ", bits") : "";
      return pre + codec + " v" + version + form + " (" + in.length() + " bytes)";
    }
  }
}
