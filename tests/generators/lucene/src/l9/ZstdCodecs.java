import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.StoredFieldsFormat;
import org.apache.lucene.codecs.StoredFieldsReader;
import org.apache.lucene.codecs.StoredFieldsWriter;
import org.apache.lucene.codecs.compressing.CompressionMode;
import org.apache.lucene.codecs.lucene90.compressing.Lucene90CompressingStoredFieldsFormat;
import org.apache.lucene.codecs.lucene95.Lucene95Codec;
import org.apache.lucene.document.DocumentStoredFieldVisitor;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FieldInfos;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.util.BytesRef;

/**
 * Codecs with zstd stored fields as Elasticsearch 8.14+ and the OpenSearch custom-codecs plugin write
 * them (Lucene 9.8.0 here, over Lucene95Codec): a FilterCodec whose stored fields are a
 * Lucene90CompressingStoredFieldsFormat with a zstd CompressionMode (ZstdModes), plus the segment
 * attribute that names the mode. Lucene itself writes every file.
 *
 * <p>The codec classes are listed in META-INF/services/org.apache.lucene.codecs.Codec (copied into
 * the build directory by generate.sh), so that Lucene finds them by name when it reads the index.
 */
public final class ZstdCodecs {
  private ZstdCodecs() {}

  static final int LEVEL = 3; // ES BEST_SPEED passes 0, libzstd's default level, which is 3
  static final int BLOCK_SHIFT = 10;

  // Elasticsearch Zstd814StoredFieldsFormat
  static final String ES_FORMAT = "ZstdStoredFields814";
  static final String ES_MODE_KEY = "Zstd814StoredFieldsFormat.mode";
  // OpenSearch custom-codecs Lucene95CustomStoredFieldsFormat
  static final String OS_MODE_KEY = "Lucene95CustomStoredFieldsFormat.mode";
  static final int OS_CHUNK = 10 * 48 * 1024;
  static final int OS_MAX_DOCS = 4096;

  static StoredFieldsFormat esFormat(String mode) {
    switch (mode) {
      case "BEST_SPEED": // (16 - 2) KiB: under zstd's 16 KiB input optimisation
        return new Lucene90CompressingStoredFieldsFormat(ES_FORMAT, new ZstdModes.Es814(LEVEL), 14 * 1024, 128, BLOCK_SHIFT);
      case "BEST_COMPRESSION": // (256 - 16) KiB: under zstd's 256 KiB input optimisation
        return new Lucene90CompressingStoredFieldsFormat(ES_FORMAT, new ZstdModes.Es814(LEVEL), 240 * 1024, 2048, BLOCK_SHIFT);
      default:
        throw new IllegalStateException("unknown " + ES_MODE_KEY + " " + mode);
    }
  }

  static StoredFieldsFormat osFormat(String mode) {
    switch (mode) {
      case "ZSTD":
        return new Lucene90CompressingStoredFieldsFormat("CustomStoredFieldsZstd", new ZstdModes.OsDict(LEVEL), OS_CHUNK, OS_MAX_DOCS, BLOCK_SHIFT);
      case "ZSTD_NO_DICT":
        return new Lucene90CompressingStoredFieldsFormat("CustomStoredFieldsZstdNoDict", new ZstdModes.OsNoDict(LEVEL), OS_CHUNK, OS_MAX_DOCS, BLOCK_SHIFT);
      default:
        throw new IllegalStateException("unknown " + OS_MODE_KEY + " " + mode);
    }
  }

  /**
   * Puts the mode attribute into the segment when writing and picks the format from it when reading
   * (as both ES and the plugin do, so one codec name reads either mode).
   */
  static final class ModeAttributeFormat extends StoredFieldsFormat {
    final String key;
    final String writeMode;
    final Function<String, StoredFieldsFormat> byMode;

    ModeAttributeFormat(String key, String writeMode, Function<String, StoredFieldsFormat> byMode) {
      this.key = key;
      this.writeMode = writeMode;
      this.byMode = byMode;
    }

    @Override
    public StoredFieldsWriter fieldsWriter(Directory dir, SegmentInfo si, IOContext ctx) throws IOException {
      String previous = si.putAttribute(key, writeMode);
      if (previous != null && !previous.equals(writeMode)) throw new IllegalStateException(si.name + ": " + key + " was " + previous);
      ZstdModes.WRITING_SEGMENT.set(si.name); // lets the compressor count per segment
      try {
        return byMode.apply(writeMode).fieldsWriter(dir, si, ctx);
      } finally {
        ZstdModes.WRITING_SEGMENT.remove();
      }
    }

    @Override
    public StoredFieldsReader fieldsReader(Directory dir, SegmentInfo si, FieldInfos fis, IOContext ctx) throws IOException {
      String mode = si.getAttribute(key);
      if (mode == null) throw new IllegalStateException(si.name + ": missing " + key);
      return byMode.apply(mode).fieldsReader(dir, si, fis, ctx);
    }
  }

  /** Elasticsearch 8.16+ with `index.codec: best_compression` or the default (BEST_SPEED). */
  public static final class Elasticsearch816 extends FilterCodec {
    private final StoredFieldsFormat storedFields;

    /** For reading (SPI): the segment attribute says which mode was written. */
    public Elasticsearch816() {
      this("BEST_SPEED");
    }

    Elasticsearch816(String mode) {
      super("Elasticsearch816", new Lucene95Codec());
      storedFields = new ModeAttributeFormat(ES_MODE_KEY, mode, ZstdCodecs::esFormat);
    }

    @Override
    public StoredFieldsFormat storedFieldsFormat() {
      return storedFields;
    }
  }

  /** OpenSearch custom-codecs `index.codec: zstd` (codec ZSTD95). */
  public static final class Zstd95 extends FilterCodec {
    private final StoredFieldsFormat storedFields = new ModeAttributeFormat(OS_MODE_KEY, "ZSTD", ZstdCodecs::osFormat);

    public Zstd95() {
      super("ZSTD95", new Lucene95Codec());
    }

    @Override
    public StoredFieldsFormat storedFieldsFormat() {
      return storedFields;
    }
  }

  /** OpenSearch custom-codecs `index.codec: zstd_no_dict` (codec ZSTDNODICT95). */
  public static final class ZstdNoDict95 extends FilterCodec {
    private final StoredFieldsFormat storedFields = new ModeAttributeFormat(OS_MODE_KEY, "ZSTD_NO_DICT", ZstdCodecs::osFormat);

    public ZstdNoDict95() {
      super("ZSTDNODICT95", new Lucene95Codec());
    }

    @Override
    public StoredFieldsFormat storedFieldsFormat() {
      return storedFields;
    }
  }

  /** What a case writes, for the codec and the report. */
  static final class Spec {
    final String codec, format, modeKey, mode, layout;
    final int chunkSize, maxDocsPerChunk;

    Spec(String codec, String format, String modeKey, String mode, String layout, int chunkSize, int maxDocsPerChunk) {
      this.codec = codec;
      this.format = format;
      this.modeKey = modeKey;
      this.mode = mode;
      this.layout = layout;
      this.chunkSize = chunkSize;
      this.maxDocsPerChunk = maxDocsPerChunk;
    }
  }

  static Spec spec;

  static Codec forCase(String caseName) {
    Codec c;
    switch (caseName) {
      case "l9_es_zstd_best_compression":
        spec = new Spec("Elasticsearch816", ES_FORMAT, ES_MODE_KEY, "BEST_COMPRESSION", "es814", 240 * 1024, 2048);
        c = new Elasticsearch816("BEST_COMPRESSION");
        break;
      case "l9_es_zstd_best_speed":
        spec = new Spec("Elasticsearch816", ES_FORMAT, ES_MODE_KEY, "BEST_SPEED", "es814", 14 * 1024, 128);
        c = new Elasticsearch816("BEST_SPEED");
        break;
      case "l9_os_zstd":
        spec = new Spec("ZSTD95", "CustomStoredFieldsZstd", OS_MODE_KEY, "ZSTD", "os_zstd_dict", OS_CHUNK, OS_MAX_DOCS);
        c = new Zstd95();
        break;
      case "l9_os_zstd_no_dict":
        spec = new Spec("ZSTDNODICT95", "CustomStoredFieldsZstdNoDict", OS_MODE_KEY, "ZSTD_NO_DICT", "os_zstd_no_dict", OS_CHUNK, OS_MAX_DOCS);
        c = new ZstdNoDict95();
        break;
      default:
        throw new IllegalArgumentException("not a zstd case: " + caseName);
    }
    // the index must be readable by name, through SPI
    if (Codec.forName(spec.codec).getClass() != c.getClass()) throw new IllegalStateException(spec.codec + " is not registered through SPI");
    return c;
  }

  /** For the summary: the format, the writer's per-segment unit counts and an attempt to read as LZ4. */
  static Map<String, Object> report(Path index) throws IOException {
    Map<String, Object> z = new LinkedHashMap<>();
    z.put("zstd_cli", "zstd " + ZstdCli.version() + " (libzstd), level " + LEVEL + ", no checksum, content size in the frame header");
    z.put("codec", spec.codec);
    z.put("fdt_format", spec.format);
    z.put("mode_attribute", spec.modeKey + "=" + spec.mode);
    z.put("unit_layout", spec.layout);
    z.put("chunk_size", spec.chunkSize);
    z.put("max_docs_per_chunk", spec.maxDocsPerChunk);
    Map<String, Object> units = new LinkedHashMap<>();
    ZstdModes.Stats total = new ZstdModes.Stats();
    for (Map.Entry<String, ZstdModes.Stats> e : ZstdModes.BY_SEGMENT.entrySet()) {
      units.put(e.getKey(), e.getValue().toMap());
      total.add(e.getValue());
    }
    units.put("total", total.toMap());
    if (total.frames != ZstdCli.compressRuns) throw new IllegalStateException("frames " + total.frames + " != CLI runs " + ZstdCli.compressRuns);
    z.put("writer_units", units);
    z.put("lz4_read", lz4Attempt(index));
    return z;
  }

  /**
   * Opens each segment's stored fields with the same format name but Lucene's LZ4 mode (FAST) and
   * tries to read `_source`: it must never give the stored bytes back.
   */
  static Map<String, Object> lz4Attempt(Path index) throws IOException {
    int tried = 0, equal = 0, failed = 0;
    Map<String, Integer> errors = new java.util.TreeMap<>();
    try (Directory dir = FSDirectory.open(index); DirectoryReader r = DirectoryReader.open(dir)) {
      for (LeafReaderContext c : r.leaves()) {
        SegmentReader sr = (SegmentReader) c.reader();
        SegmentInfo si = sr.getSegmentInfo().info;
        Directory d = si.getUseCompoundFile() ? Compat.compoundReader(dir, si) : dir;
        StoredFieldsFormat lz4 = new Lucene90CompressingStoredFieldsFormat(spec.format, CompressionMode.FAST, spec.chunkSize, spec.maxDocsPerChunk, BLOCK_SHIFT);
        try (StoredFieldsReader lr = lz4.fieldsReader(d, si, sr.getFieldInfos(), IOContext.READ)) {
          int perSegment = 0;
          for (int doc = 0; doc < sr.maxDoc() && perSegment < 20; doc++) {
            BytesRef real = Compat.document(sr, doc).getBinaryValue("_source");
            if (real == null) continue;
            perSegment++;
            tried++;
            try {
              DocumentStoredFieldVisitor v = new DocumentStoredFieldVisitor();
              lr.document(doc, v);
              BytesRef got = v.getDocument().getBinaryValue("_source");
              if (got != null && got.bytesEquals(real)) equal++;
            } catch (Exception e) {
              failed++;
              errors.merge(e.getClass().getSimpleName(), 1, Integer::sum);
            }
          }
        } finally {
          if (d != dir) d.close();
        }
      }
    }
    if (equal != 0) throw new IllegalStateException("LZ4 read " + equal + " _source values correctly: zstd was not used");
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("docs_tried", tried);
    m.put("source_equal", equal);
    m.put("failed", failed);
    m.put("errors", new LinkedHashMap<String, Object>(errors));
    return m;
  }
}
