import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.CheckIndex;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.DocValuesType;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FilterCodecReader;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SegmentCommitInfo;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.SoftDeletesDirectoryReaderWrapper;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.Version;

/**
 * Reads a written index back with the same Lucene, prints its live documents and a summary, and
 * fails loudly when anything disagrees with the writer's model.
 */
final class Dump {
  static final int INLINE_SOURCE_MAX = 65536;
  static final int CODEC_MAGIC = 0x3fd76c17;

  private Dump() {}

  static void fail(String msg) {
    throw new IllegalStateException("[check failed] " + msg);
  }

  /** @param extras more top-level summary entries (after the standard ones), e.g. the zstd report */
  static void run(EsIndex ix, Path outRoot, String writtenBy, Map<String, Object> extras) throws IOException {
    String caseName = ix.caseName;
    StringBuilder ndjson = new StringBuilder();
    Map<String, Object> summary = new LinkedHashMap<>();
    Set<String> seen = new HashSet<>();
    long totalLiveWithId = 0;
    long totalLiveWithoutSource = 0;
    long totalNested = 0;

    try (Directory dir = FSDirectory.open(ix.path)) {
      checkIndex(dir, caseName);
      // CheckIndex takes the write lock and leaves its (empty) lock file behind
      Files.deleteIfExists(ix.path.resolve("write.lock"));
      SegmentInfos sis = SegmentInfos.readLatestCommit(dir);
      summary.put("case", caseName);
      summary.put("lucene_version", Version.LATEST.toString());
      summary.put("written_by", writtenBy);
      summary.put("segments_file", sis.getSegmentsFileName());
      summary.put("commit_user_data", new TreeMap<String, Object>(sis.getUserData()));

      // every file in the directory must belong to the commit
      Set<String> committed = new TreeSet<>();
      committed.add(sis.getSegmentsFileName());
      for (SegmentCommitInfo sci : sis) committed.addAll(sci.files());
      Set<String> present = new TreeSet<>(Arrays.asList(dir.listAll()));
      if (!present.equals(committed)) fail("directory files " + present + " != commit files " + committed);

      List<Object> segments = new ArrayList<>();
      try (DirectoryReader raw = DirectoryReader.open(dir)) {
        DirectoryReader soft = new SoftDeletesDirectoryReaderWrapper(raw, EsIndex.SOFT_DELETES);
        Map<String, LeafReader> wrappedByName = new LinkedHashMap<>();
        List<String> wrappedOrder = new ArrayList<>();
        for (LeafReaderContext c : soft.leaves()) {
          LeafReader lr = c.reader();
          String name = segmentReader(lr).getSegmentName();
          wrappedByName.put(name, lr);
          wrappedOrder.add(name);
        }
        if (raw.leaves().size() != sis.size()) fail("reader has " + raw.leaves().size() + " leaves, commit has " + sis.size());

        List<String> rawOrder = new ArrayList<>();
        for (int i = 0; i < sis.size(); i++) {
          SegmentCommitInfo sci = sis.info(i);
          SegmentReader sr = (SegmentReader) raw.leaves().get(i).reader();
          String name = sci.info.name;
          if (!sr.getSegmentName().equals(name)) fail("leaf " + i + " is " + sr.getSegmentName() + ", commit says " + name);
          rawOrder.add(name);
          LeafReader wl = wrappedByName.get(name);
          Bits liveDocs = wl == null ? null : wl.getLiveDocs();
          int maxDoc = sr.maxDoc();
          int liveCount = 0, nested = 0, liveWithId = 0, liveWithoutSource = 0;
          for (int d = 0; d < maxDoc; d++) {
            boolean isLive = wl != null && (liveDocs == null || liveDocs.get(d));
            if (!isLive) continue;
            liveCount++;
            Document doc = Compat.document(sr, d);
            BytesRef idRef = doc.getBinaryValue("_id");
            BytesRef srcRef = doc.getBinaryValue("_source");
            if (idRef == null) {
              if (srcRef != null) fail(name + " doc " + d + " has _source but no _id");
              nested++;
              continue;
            }
            // only a case that wrote docs without _source on purpose may have them
            if (srcRef == null && !ix.noSourceDocs) fail(name + " doc " + d + " is live with _id but no _source");
            byte[] idBytes = Arrays.copyOfRange(idRef.bytes, idRef.offset, idRef.offset + idRef.length);
            String id = EsIds.decode(idBytes, 0, idBytes.length);
            String written = ix.encodedToId.get(Json.hex(idBytes));
            if (written == null) fail("unknown _id bytes " + Json.hex(idBytes));
            if (!written.equals(id)) fail("decoded id " + id + " != written id " + written);
            if (!Arrays.equals(EsIds.encode(id), idBytes)) fail("re-encoding " + id + " differs");
            byte[] source = srcRef == null ? null : Arrays.copyOfRange(srcRef.bytes, srcRef.offset, srcRef.offset + srcRef.length);
            String text = source == null ? null : Json.utf8Strict(source);
            if (text != null) Json.validate(text);
            String routing = doc.get("_routing");

            EsIndex.Model m = ix.live.get(id);
            if (m == null) fail("live doc " + id + " in " + name + " is not live in the model");
            // "no _source" is a value too: null in the model must be null in the index, and the reverse
            if (!Arrays.equals(m.source, source)) fail("source of " + id + " differs from the model");
            if (m.routing == null ? routing != null : !m.routing.equals(routing)) fail("routing of " + id + " differs");
            if (!seen.add(id)) fail("id " + id + " is live twice");

            StringBuilder line = new StringBuilder();
            line.append("{\"segment\":").append(Json.str(name)).append(",\"docid\":").append(d)
                .append(",\"id\":").append(Json.str(id))
                .append(",\"routing\":").append(routing == null ? "null" : Json.str(routing));
            if (source == null) {
              line.append(",\"source\":null,\"no_source\":true");
              liveWithoutSource++;
            } else if (source.length > INLINE_SOURCE_MAX) {
              line.append(",\"source\":null,\"source_len\":").append(source.length)
                  .append(",\"source_sha256\":").append(Json.str(Json.sha256(source)));
            } else {
              line.append(",\"source\":").append(Json.str(text));
            }
            line.append("}\n");
            ndjson.append(line);
            liveWithId++;
          }
          if (wl != null && wl.numDocs() != liveCount) fail(name + ": numDocs " + wl.numDocs() + " != counted " + liveCount);
          int delCount = sci.getDelCount();
          int softDelCount = sci.getSoftDelCount();
          if (maxDoc - delCount - softDelCount != liveCount) {
            fail(name + ": maxDoc " + maxDoc + " - delCount " + delCount + " - softDelCount " + softDelCount + " != live " + liveCount);
          }
          if (sci.info.maxDoc() != maxDoc) fail("maxDoc mismatch");
          totalLiveWithId += liveWithId;
          totalLiveWithoutSource += liveWithoutSource;
          totalNested += nested;

          Map<String, Object> seg = new LinkedHashMap<>();
          seg.put("name", name);
          seg.put("codec", sci.info.getCodec().getName());
          seg.put("compound", sci.info.getUseCompoundFile());
          seg.put("max_doc", maxDoc);
          seg.put("del_count", delCount);
          seg.put("soft_del_count", softDelCount);
          seg.put("live_docs", liveCount);
          seg.put("nested_children", nested);
          seg.put("live_with_id", liveWithId);
          // only in the case that has such docs, so that the other summaries stay as they are
          if (ix.noSourceDocs) seg.put("live_without_source", liveWithoutSource);
          seg.put("files", new ArrayList<>(new TreeSet<>(sci.files())));
          String mode = null;
          for (Map.Entry<String, String> e : sci.info.getAttributes().entrySet()) {
            if (e.getKey().endsWith("StoredFieldsFormat.mode")) mode = e.getValue();
          }
          seg.put("stored_fields_mode", mode);
          seg.put("segment_version", sci.info.getVersion().toString());
          seg.put("del_gen", sci.getDelGen());
          seg.put("field_infos_gen", sci.getFieldInfosGen());
          seg.put("doc_values_gen", sci.getDocValuesGen());
          seg.put("attributes", new TreeMap<String, Object>(sci.info.getAttributes()));
          seg.put("soft_deletes", softDeleteStats(sr));
          seg.put("doc_values_fields", docValuesFields(sr));
          seg.put("file_headers", fileHeaders(dir, sci));
          segments.add(seg);
        }
        // wrapped leaf order (printing order) must follow the commit order
        List<String> expectOrder = new ArrayList<>(rawOrder);
        expectOrder.retainAll(wrappedOrder);
        if (!expectOrder.equals(wrappedOrder)) fail("wrapped leaf order " + wrappedOrder + " != commit order " + rawOrder);
      }
      summary.put("segments", segments);
    }

    if (!seen.equals(ix.live.keySet())) {
      Set<String> missing = new TreeSet<>(ix.live.keySet());
      missing.removeAll(seen);
      fail("ids live in the model but not in the index: " + missing);
    }
    if (totalNested != ix.nestedChildren) fail("nested children: index " + totalNested + ", model " + ix.nestedChildren);
    summary.put("total_live_with_id", totalLiveWithId);  // with or without _source
    if (ix.noSourceDocs) summary.put("total_live_without_source", totalLiveWithoutSource);
    summary.put("total_nested_children", totalNested);
    summary.putAll(extras);

    Files.write(outRoot.resolve(caseName + ".expected.ndjson"), ndjson.toString().getBytes(StandardCharsets.UTF_8));
    Files.write(outRoot.resolve(caseName + ".summary.json"), Json.write(summary).getBytes(StandardCharsets.UTF_8));
    System.out.println(caseName + ": " + totalLiveWithId + " live docs with _id"
        + (ix.noSourceDocs ? " (" + totalLiveWithoutSource + " without _source)" : "") + ", " + totalNested + " nested children");
  }

  /** Lucene's own CheckIndex (checksums, postings, doc values, stored fields) must find nothing. */
  static void checkIndex(Directory dir, String caseName) throws IOException {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    try (CheckIndex checker = new CheckIndex(dir)) {
      checker.setInfoStream(new PrintStream(log, true, "UTF-8"));
      CheckIndex.Status st = checker.checkIndex();
      if (!st.clean) {
        System.err.println(log.toString("UTF-8"));
        fail(caseName + ": CheckIndex found problems");
      }
    }
  }

  static SegmentReader segmentReader(LeafReader lr) {
    while (true) {
      if (lr instanceof SegmentReader) return (SegmentReader) lr;
      if (lr instanceof FilterLeafReader) lr = ((FilterLeafReader) lr).getDelegate();
      else if (lr instanceof FilterCodecReader) lr = ((FilterCodecReader) lr).getDelegate();
      else throw new IllegalStateException("cannot unwrap " + lr.getClass());
    }
  }

  /** Where the soft-delete marks are, per 65,536-doc block, and what IndexedDISI should choose. */
  static Map<String, Object> softDeleteStats(SegmentReader sr) throws IOException {
    Map<String, Object> m = new LinkedHashMap<>();
    FieldInfo fi = sr.getFieldInfos().fieldInfo(EsIndex.SOFT_DELETES);
    if (fi == null) {
      m.put("present", false);
      return m;
    }
    m.put("present", true);
    m.put("field_number", fi.number);
    m.put("dv_gen", fi.getDocValuesGen());
    NumericDocValues ndv = sr.getNumericDocValues(EsIndex.SOFT_DELETES);
    Bits hardLive = sr.getLiveDocs();
    int maxDoc = sr.maxDoc();
    int[] perBlock = new int[(maxDoc + 65535) / 65536];
    int total = 0, alsoHard = 0;
    if (ndv != null) {
      for (int d = ndv.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = ndv.nextDoc()) {
        if (ndv.longValue() != 1) fail("__soft_deletes value " + ndv.longValue());
        perBlock[d >>> 16]++;
        total++;
        if (hardLive != null && !hardLive.get(d)) alsoHard++;
      }
    }
    m.put("docs_with_value", total);
    m.put("also_hard_deleted", alsoHard);
    m.put("all_docs", total == maxDoc);
    List<Object> blocks = new ArrayList<>();
    for (int b = 0; b < perBlock.length; b++) {
      if (perBlock[b] == 0) continue;
      Map<String, Object> bm = new LinkedHashMap<>();
      bm.put("block", b);
      bm.put("count", perBlock[b]);
      // IndexedDISI: ALL for 65,536 docs, DENSE (bitset) above 4,095 docs, else SPARSE (short list)
      bm.put("disi_kind", perBlock[b] == 65536 ? "ALL" : perBlock[b] > 4095 ? "DENSE" : "SPARSE");
      blocks.add(bm);
    }
    m.put("blocks", blocks);
    return m;
  }

  static List<Object> docValuesFields(SegmentReader sr) {
    List<Object> out = new ArrayList<>();
    for (FieldInfo fi : sr.getFieldInfos()) {
      if (fi.getDocValuesType() == DocValuesType.NONE) continue;
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", fi.name);
      m.put("number", fi.number);
      m.put("type", fi.getDocValuesType().name());
      m.put("dv_gen", fi.getDocValuesGen());
      String skip = Compat.skipIndex(fi);
      if (skip != null) m.put("skip_index", skip);
      String fmt = fi.getAttribute("PerFieldDocValuesFormat.format");
      if (fmt != null) m.put("format", fmt + "_" + fi.getAttribute("PerFieldDocValuesFormat.suffix"));
      for (Map.Entry<String, String> e : fi.attributes().entrySet()) {
        if (e.getKey().endsWith("DocValuesFormat.mode")) m.put("dv_mode", e.getValue());
      }
      out.add(m);
    }
    return out;
  }

  static Map<String, Object> fileHeaders(Directory dir, SegmentCommitInfo sci) throws IOException {
    Map<String, Object> out = new TreeMap<>();
    for (String f : new TreeSet<>(sci.files())) {
      out.put(f, header(dir, f));
      if (f.endsWith(".cfs")) {
        try (Directory cfs = Compat.compoundReader(dir, sci.info)) {
          for (String inner : new TreeSet<>(Arrays.asList(cfs.listAll()))) {
            out.put(f + "/" + inner, header(cfs, inner));
          }
        }
      }
    }
    return out;
  }

  /** The CodecUtil header of a file: codec name and version. */
  static String header(Directory dir, String name) throws IOException {
    try (IndexInput in = dir.openInput(name, IOContext.DEFAULT)) {
      int magic = 0;
      for (int i = 0; i < 4; i++) magic = (magic << 8) | (in.readByte() & 0xFF);
      if (magic != CODEC_MAGIC) return "no codec header";
      String codec = in.readString();
      int version = 0;
      for (int i = 0; i < 4; i++) version = (version << 8) | (in.readByte() & 0xFF);
      return codec + " v" + version + " (" + in.length() + " bytes)";
    }
  }
}
