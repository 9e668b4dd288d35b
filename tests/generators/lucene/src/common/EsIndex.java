import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.document.BinaryDocValuesField;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedDocValuesField;
import org.apache.lucene.document.SortedNumericDocValuesField;
import org.apache.lucene.document.SortedSetDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.FilterMergePolicy;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.MergePolicy;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.SegmentCommitInfo;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.SerialMergeScheduler;
import org.apache.lucene.index.SoftDeletesRetentionMergePolicy;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.BytesRef;

/**
 * Writes an Elasticsearch-shaped shard with the plain Lucene API, and keeps a model of what must be
 * live (id -> source, routing) to check the read-back against.
 */
final class EsIndex implements AutoCloseable {
  static final String SOFT_DELETES = "__soft_deletes";

  /** `_id`: indexed as one term (DOCS only, not tokenized, no norms) and stored, holding binary bytes. */
  static final FieldType ID_TYPE = new FieldType();

  static {
    ID_TYPE.setTokenized(false);
    ID_TYPE.setOmitNorms(true);
    ID_TYPE.setIndexOptions(IndexOptions.DOCS);
    ID_TYPE.setStored(true);
    ID_TYPE.freeze();
  }

  /** NoMergePolicy, except that the compound-file decision for flushed segments can be switched. */
  static final class NoMergeCompoundSwitch extends FilterMergePolicy {
    volatile boolean compound = true;

    NoMergeCompoundSwitch() {
      super(NoMergePolicy.INSTANCE);
    }

    @Override
    public boolean useCompoundFile(SegmentInfos infos, SegmentCommitInfo newSegment, MergeContext ctx) {
      return compound;
    }
  }

  static final class Model {
    /** null: the doc was written without `_source` (only with {@link #noSourceDocs}). */
    final byte[] source;
    final String routing;

    Model(byte[] source, String routing) {
      this.source = source;
      this.routing = routing;
    }
  }

  final String caseName;
  final Path path;
  final Random rnd;
  final Directory dir;
  final IndexWriter writer;
  final NoMergeCompoundSwitch compoundSwitch;
  final boolean skipIndexFields;

  /** ids live in the model, in insertion order. */
  final Map<String, Model> live = new LinkedHashMap<>();
  /** every id ever written (encoded hex -> id), to check the decoder. */
  final Map<String, String> encodedToId = new LinkedHashMap<>();
  final Map<String, Long> versions = new LinkedHashMap<>();
  final List<String> allIds = new ArrayList<>();
  long seqNo = 0;
  long primaryTerm = 1;
  long ordinal = 0;
  boolean late = false;
  /**
   * l8_lucene70_dv only: a sparse SORTED field `country` (value from the ordinal, no random draw),
   * whose name hashes before `__soft_deletes` in Lucene 8's flush order.
   */
  boolean countryField = false;
  /**
   * l9_no_source only: docs may be written without a `_source` stored field (source null), as ES does
   * with `_source.enabled: false` or synthetic source. Every other case must never write one.
   */
  boolean noSourceDocs = false;
  int nestedChildren = 0;

  /**
   * @param basePolicy null for "no merges" with switchable compound files (several segments); else the
   *     merge policy to wrap in the soft-deletes retention policy.
   */
  EsIndex(String caseName, Path path, Codec codec, long seed, MergePolicy basePolicy, boolean skipIndexFields)
      throws IOException {
    this.caseName = caseName;
    this.path = path;
    this.rnd = new Random(seed);
    this.skipIndexFields = skipIndexFields;
    Files.createDirectories(path);
    this.dir = FSDirectory.open(path);
    IndexWriterConfig iwc = new IndexWriterConfig(new StandardAnalyzer());
    iwc.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
    iwc.setCodec(codec);
    iwc.setSoftDeletesField(SOFT_DELETES);
    if (basePolicy == null) {
      compoundSwitch = new NoMergeCompoundSwitch();
      basePolicy = compoundSwitch;
    } else {
      compoundSwitch = null;
    }
    // as Elasticsearch does: soft-deleted documents are retained by merges (here: all of them)
    iwc.setMergePolicy(new SoftDeletesRetentionMergePolicy(SOFT_DELETES, MatchAllDocsQuery::new, basePolicy));
    iwc.setMergeScheduler(new SerialMergeScheduler());
    iwc.setUseCompoundFile(true);
    iwc.setRAMBufferSizeMB(1024);
    iwc.setMaxBufferedDocs(IndexWriterConfig.DISABLE_AUTO_FLUSH);
    iwc.setCommitOnClose(false);
    this.writer = new IndexWriter(dir, iwc);
  }

  /** Whether the next flushed segment is written as a compound file (.cfs/.cfe). */
  void compound(boolean c) {
    if (compoundSwitch == null) throw new IllegalStateException("not a no-merge index");
    compoundSwitch.compound = c;
    writer.getConfig().setUseCompoundFile(c);
  }

  // ---- ids ----

  byte[] encodeId(String id) {
    byte[] e = EsIds.encode(id);
    String hex = Json.hex(e);
    String prev = encodedToId.putIfAbsent(hex, id);
    if (prev != null && !prev.equals(id)) throw new IllegalStateException("two ids share an encoding: " + prev + " / " + id);
    return e;
  }

  String freshAutoId() {
    while (true) {
      String id = Sources.autoId(rnd);
      if (!versions.containsKey(id)) return id;
    }
  }

  String freshEscapedId() {
    while (true) {
      String id = Sources.escapedAutoId(rnd);
      if (!versions.containsKey(id)) return id;
    }
  }

  String maybeRouting() {
    return rnd.nextInt(4) == 0 ? Sources.ROUTINGS[rnd.nextInt(Sources.ROUTINGS.length)] : null;
  }

  // ---- documents ----

  private void addSeq(Document d, long seq) {
    d.add(new LongPoint("_seq_no", seq));
    d.add(new NumericDocValuesField("_seq_no", seq));
    d.add(new NumericDocValuesField("_primary_term", primaryTerm));
  }

  private Document esDoc(byte[] idBytes, String routing, byte[] source, Sources.Attrs a, long seq, long version) {
    Document d = new Document();
    d.add(new Field("_id", new BytesRef(idBytes), ID_TYPE));
    if (source != null) {
      d.add(new StoredField("_source", source));
    } else if (!noSourceDocs) {
      throw new IllegalStateException(caseName + ": a doc without _source is not allowed in this case");
    }
    if (routing != null) d.add(new StringField("_routing", routing, Field.Store.YES));
    addSeq(d, seq);
    d.add(new NumericDocValuesField("_version", version));
    d.add(new TextField("title", a.title, Field.Store.NO));
    for (String t : a.tags) {
      d.add(new StringField("tag", t, Field.Store.NO));
      d.add(new SortedSetDocValuesField("tag", new BytesRef(t)));
    }
    d.add(new StringField("category", a.category, Field.Store.NO));
    d.add(new SortedDocValuesField("category", new BytesRef(a.category)));
    if (countryField && a.n % 5 != 4) {
      d.add(new SortedDocValuesField("country", new BytesRef(Sources.COUNTRIES[(int) (a.n % Sources.COUNTRIES.length)])));
    }
    if (a.user != null) {
      d.add(new StringField("user", a.user, Field.Store.NO));
      d.add(new SortedSetDocValuesField("user", new BytesRef(a.user)));
    }
    if (a.hash != null) d.add(new BinaryDocValuesField("hash", new BytesRef(a.hash)));
    if (!a.lean) {
      byte[] fixed = new byte[8];
      for (int i = 0; i < 8; i++) fixed[i] = (byte) (a.n >>> (8 * (7 - i)));
      d.add(new BinaryDocValuesField("fixed8", new BytesRef(fixed)));
    }
    for (long s : a.sizes) d.add(new SortedNumericDocValuesField("sizes", s));
    if (a.price != null) d.add(new NumericDocValuesField("price", a.price));
    d.add(new NumericDocValuesField("ts", a.ts));
    d.add(new NumericDocValuesField("epoch", a.epoch));
    if (skipIndexFields) {
      Compat.addSkipNumeric(d, "ts_skip", a.ts);
      Compat.addSkipSorted(d, "cat_skip", a.category);
      if (a.price != null) Compat.addSkipSortedNumeric(d, "price_skip", a.price);
      for (String t : a.tags) Compat.addSkipSortedSet(d, "tag_skip", t);
    }
    if (late) {
      for (String k : a.lateKw) d.add(new SortedSetDocValuesField("late_kw", new BytesRef(k)));
      d.add(new SortedDocValuesField("late_sorted", new BytesRef(a.lateSorted)));
      if (a.lateBin != null) d.add(new BinaryDocValuesField("late_bin", new BytesRef(a.lateBin)));
      if (a.lateNum != null) d.add(new NumericDocValuesField("late_num", a.lateNum));
      d.add(new SortedNumericDocValuesField("late_sn", a.lateSn));
      if (skipIndexFields) Compat.addSkipNumeric(d, "late_skip", a.lateSn);
    }
    return d;
  }

  Sources.Attrs nextLeanAttrs() {
    return Sources.leanAttrs(rnd, ordinal++);
  }

  Sources.Attrs nextAttrs(boolean special) {
    return Sources.attrs(rnd, ordinal++, special);
  }

  byte[] nextSmallSource(Sources.Attrs a) {
    return Sources.smallSource(rnd, a, rnd.nextInt(6));
  }

  /** Indexes a new document (ES: append of a new id). */
  void index(String id, String routing, byte[] source) throws IOException {
    index(id, routing, source, nextAttrs(rnd.nextInt(5) == 0));
  }

  void index(String id, String routing, byte[] source, Sources.Attrs a) throws IOException {
    if (live.containsKey(id)) throw new IllegalStateException("already live: " + id);
    byte[] idb = encodeId(id);
    long v = versions.getOrDefault(id, 0L) + 1;
    Document d = esDoc(idb, routing, source, a, seqNo++, v);
    if (versions.containsKey(id)) {
      // a re-index of a deleted id: ES uses a soft update on the id term
      writer.softUpdateDocument(new Term("_id", new BytesRef(idb)), d, new NumericDocValuesField(SOFT_DELETES, 1));
      late = true;
    } else {
      writer.addDocument(d);
      allIds.add(id);
    }
    versions.put(id, v);
    live.put(id, new Model(source, routing));
  }

  /** Indexes a small random document with a new id. */
  String indexSmall(String id) throws IOException {
    return indexSmall(id, true);
  }

  /** withSource false: the same document without `_source` (no random draw for a body). */
  String indexSmall(String id, boolean withSource) throws IOException {
    Sources.Attrs a = nextAttrs(rnd.nextInt(4) == 0);
    String routing = maybeRouting();
    index(id, routing, withSource ? nextSmallSource(a) : null, a);
    return id;
  }

  /** ES update (index over an existing id): soft-deletes every older doc with that id. */
  void update(String id, byte[] source) throws IOException {
    update(id, source, nextAttrs(false));
  }

  void update(String id, byte[] source, Sources.Attrs a) throws IOException {
    if (!live.containsKey(id)) throw new IllegalStateException("not live: " + id);
    String routing = live.get(id).routing;
    byte[] idb = encodeId(id);
    long v = versions.get(id) + 1;
    Document d = esDoc(idb, routing, source, a, seqNo++, v);
    writer.softUpdateDocument(new Term("_id", new BytesRef(idb)), d, new NumericDocValuesField(SOFT_DELETES, 1));
    versions.put(id, v);
    live.put(id, new Model(source, routing));
    late = true;
  }

  void updateSmall(String id) throws IOException {
    updateSmall(id, true);
  }

  /** withSource false: the new version has no `_source`. */
  void updateSmall(String id, boolean withSource) throws IOException {
    Sources.Attrs a = nextAttrs(rnd.nextInt(3) == 0);
    update(id, withSource ? nextSmallSource(a) : null);
  }

  /** ES delete: a soft update with a tombstone that is itself soft-deleted from birth. */
  void deleteWithTombstone(String id) throws IOException {
    if (!live.containsKey(id)) throw new IllegalStateException("not live: " + id);
    byte[] idb = encodeId(id);
    long v = versions.get(id) + 1;
    Document t = new Document();
    t.add(new Field("_id", new BytesRef(idb), ID_TYPE));
    addSeq(t, seqNo++);
    t.add(new NumericDocValuesField("_version", v));
    t.add(new NumericDocValuesField("_tombstone", 1));
    t.add(new NumericDocValuesField(SOFT_DELETES, 1));
    writer.softUpdateDocument(new Term("_id", new BytesRef(idb)), t, new NumericDocValuesField(SOFT_DELETES, 1));
    versions.put(id, v);
    live.remove(id);
    late = true;
  }

  /** A hard delete (ES with soft deletes disabled): every doc with that id, including soft-deleted ones. */
  void hardDelete(String id) throws IOException {
    if (!versions.containsKey(id)) throw new IllegalStateException("unknown id: " + id);
    writer.deleteDocuments(new Term("_id", new BytesRef(encodeId(id))));
    live.remove(id);
  }

  /** A nested-like block: children without `_id`/`_source`, then the parent. */
  void nestedBlock(String id, int children) throws IOException {
    nestedBlock(id, children, true);
  }

  /** withSource false: the parent has no `_source` either. */
  void nestedBlock(String id, int children, boolean withSource) throws IOException {
    if (versions.containsKey(id)) throw new IllegalStateException("nested parent id reused: " + id);
    Sources.Attrs a = nextAttrs(false);
    String routing = maybeRouting();
    byte[] source = withSource ? nextSmallSource(a) : null;
    byte[] idb = encodeId(id);
    long seq = seqNo++;
    List<Document> block = new ArrayList<>();
    for (int c = 0; c < children; c++) {
      Document child = new Document();
      child.add(new StringField("_nested_path", "comments", Field.Store.NO));
      child.add(new TextField("comments.text", Sources.words(rnd, 4) + " child " + c, Field.Store.NO));
      addSeq(child, seq);
      block.add(child);
    }
    block.add(esDoc(idb, routing, source, a, seq, 1));
    writer.addDocuments(block);
    versions.put(id, 1L);
    allIds.add(id);
    live.put(id, new Model(source, routing));
    nestedChildren += children;
  }

  /** Commits with Elasticsearch-like commit user data. */
  void commit() throws IOException {
    Map<String, String> ud = new LinkedHashMap<>();
    ud.put("translog_uuid", uuid(1));
    ud.put("history_uuid", uuid(2));
    ud.put("local_checkpoint", Long.toString(seqNo - 1));
    ud.put("max_seq_no", Long.toString(seqNo - 1));
    ud.put("max_unsafe_auto_id_timestamp", "-1");
    ud.put("min_retained_seq_no", "0");
    writer.setLiveCommitData(ud.entrySet());
    writer.commit();
  }

  private String uuid(int salt) {
    Random r = new Random(caseName.hashCode() * 31L + salt);
    byte[] b = new byte[16];
    r.nextBytes(b);
    return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b).substring(0, 22);
  }

  /** A random id among the live ones. */
  String randomLiveId() {
    List<String> ids = new ArrayList<>(live.keySet());
    return ids.get(rnd.nextInt(ids.size()));
  }

  @Override
  public void close() throws IOException {
    writer.close();
    dir.close();
    // IndexWriter leaves its lock file behind; a snapshot would not contain it
    Files.deleteIfExists(path.resolve("write.lock"));
  }
}
