import java.io.IOException;
import java.util.Map;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.StoredFieldsFormat;
import org.apache.lucene.codecs.lucene90.compressing.Lucene90CompressingStoredFieldsFormat;
import org.apache.lucene.codecs.lucene95.Lucene95Codec;

/**
 * The `zstd` variant of the benchmark index: Elasticsearch 8.16+ `index.codec: best_compression`,
 * i.e. codec `Elasticsearch816` with `ZstdStoredFields814` stored fields (240 KiB / 2,048-doc chunks,
 * zstd level 3, one frame per compression unit), built from the pieces in src/l9 (ZstdCodecs,
 * ZstdModes, ZstdCli: every frame comes from libzstd through the `zstd` command line tool).
 *
 * <p>One difference from ZstdCodecs.Elasticsearch816, which makes a new format (and CompressionMode)
 * per call: here the writer and every reader the IndexWriter opens for a merge share ONE format
 * instance, as ES's Zstd814StoredFieldsFormat.Mode holds one format per mode. Lucene90's merge only
 * copies compressed chunks as they are ("bulk") when the reader's CompressionMode is the writer's
 * (identity), as it is for Lucene's own singleton modes in the fast/best variants; otherwise every
 * merge decompresses and recompresses all its chunks through the CLI.
 *
 * <p>On disk the index is the same as ZstdCodecs would write it (same codec name, format name, mode
 * attribute, chunk sizes and unit layout). It is read back through SPI (ZstdCodecs$Elasticsearch816,
 * META-INF/services), so the read-back proves that the index opens by name; it reads with the merge
 * instance of the stored-fields reader, which decodes each chunk once, so `zstd -d` runs once per
 * chunk, never per document.
 */
final class BenchZstd {
  private BenchZstd() {}

  static final String MODE = "BEST_COMPRESSION";
  static final int CHUNK_SIZE = 240 * 1024;
  static final int MAX_DOCS_PER_CHUNK = 2048;
  /** The read-back decodes each frame once; a few frames of cache are plenty (the default is 256 MiB). */
  static final long CLI_CACHE_BYTES = 4L << 20;

  private static final StoredFieldsFormat FORMAT =
      new Lucene90CompressingStoredFieldsFormat(ZstdCodecs.ES_FORMAT, new ZstdModes.Es814(ZstdCodecs.LEVEL), CHUNK_SIZE,
          MAX_DOCS_PER_CHUNK, ZstdCodecs.BLOCK_SHIFT);

  /** `Elasticsearch816` over Lucene95Codec, best_compression, one shared stored-fields format. */
  static final class Codec816 extends FilterCodec {
    private final StoredFieldsFormat storedFields = new ZstdCodecs.ModeAttributeFormat(ZstdCodecs.ES_MODE_KEY, MODE, mode -> {
      if (!mode.equals(MODE)) throw new IllegalStateException("unexpected " + ZstdCodecs.ES_MODE_KEY + " " + mode);
      return FORMAT;
    });

    Codec816() {
      super("Elasticsearch816", new Lucene95Codec());
    }

    @Override
    public StoredFieldsFormat storedFieldsFormat() {
      return storedFields;
    }
  }

  /** The writer's codec; checks first that the zstd CLI runs and that the reader side is registered. */
  static Codec codec() throws IOException {
    System.err.println("[bench] zstd " + ZstdCli.version() + " (libzstd through the CLI), level " + ZstdCodecs.LEVEL);
    if (Codec.forName("Elasticsearch816").getClass() != ZstdCodecs.Elasticsearch816.class) {
      throw new IllegalStateException("Elasticsearch816 is not registered through SPI (META-INF/services)");
    }
    ZstdCli.cacheLimit(CLI_CACHE_BYTES);
    return new Codec816();
  }

  /** `zstd -d` runs so far. */
  static long decompressRuns() {
    return ZstdCli.decompressRuns;
  }

  /** Summary fields of the zstd variant (flat, for BenchIndex.oneLine). */
  static void summary(Map<String, Object> s, long decompressRunsInReadBack) throws IOException {
    ZstdModes.Stats total = new ZstdModes.Stats();
    for (ZstdModes.Stats st : ZstdModes.BY_SEGMENT.values()) total.add(st);
    if (total.frames != ZstdCli.compressRuns) throw new IllegalStateException("frames " + total.frames + " != CLI runs " + ZstdCli.compressRuns);
    s.put("codec", "Elasticsearch816");
    s.put("fdt_format", ZstdCodecs.ES_FORMAT);
    s.put("mode_attribute", ZstdCodecs.ES_MODE_KEY + "=" + MODE);
    s.put("chunk_size", CHUNK_SIZE);
    s.put("max_docs_per_chunk", MAX_DOCS_PER_CHUNK);
    s.put("zstd_cli", "zstd " + ZstdCli.version() + ", level " + ZstdCodecs.LEVEL);
    // every frame written, also those of segments merged away later (bulk merges copy frames)
    s.put("zstd_frames_written", ZstdCli.compressRuns);
    s.put("zstd_bytes_in", total.bytesIn);
    // distinct frames decoded by `zstd -d` in the read-back: the non-empty chunks of the index
    s.put("zstd_frames_read_back", decompressRunsInReadBack);
    s.put("zstd_decompress_runs", ZstdCli.decompressRuns);
  }
}
