import java.io.IOException;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.lucene95.Lucene95Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;

/** What differs between Lucene 8, 9 and 10 for the generator: Lucene 9.8.0. */
final class Compat {
  static final String EXPECTED_VERSION = "9.8.0";
  static final boolean HAS_SKIP_INDEX = false;

  private Compat() {}

  static Codec codec(boolean bestCompression) {
    return bestCompression ? new Lucene95Codec(Lucene95Codec.Mode.BEST_COMPRESSION) : new Lucene95Codec();
  }

  /** Lucene70 doc values are written with Lucene 8 only (l8_lucene70_dv). */
  static Codec lucene70DocValuesCodec() {
    throw new UnsupportedOperationException("Lucene70 doc values need Lucene 8's backward codecs");
  }

  /** zstd stored fields as Elasticsearch 8.14+ / OpenSearch custom-codecs write them (ZstdCodecs). */
  static Codec zstdCodec(String caseName) {
    return ZstdCodecs.forCase(caseName);
  }

  /** The zstd part of the summary (written after IndexWriter.close, before Dump). */
  static java.util.Map<String, Object> zstdReport(java.nio.file.Path index) throws IOException {
    return ZstdCodecs.report(index);
  }

  static String zstdStats() {
    return ZstdCli.stats();
  }

  static Document document(LeafReader reader, int docId) throws IOException {
    return reader.storedFields().document(docId);
  }

  static Directory compoundReader(Directory dir, SegmentInfo si) throws IOException {
    return si.getCodec().compoundFormat().getCompoundReader(dir, si, IOContext.READ);
  }

  static String skipIndex(FieldInfo fi) {
    return null;
  }

  static void addSkipNumeric(Document d, String name, long v) { throw new UnsupportedOperationException(); }
  static void addSkipSortedNumeric(Document d, String name, long v) { throw new UnsupportedOperationException(); }
  static void addSkipSorted(Document d, String name, String v) { throw new UnsupportedOperationException(); }
  static void addSkipSortedSet(Document d, String name, String v) { throw new UnsupportedOperationException(); }
}
