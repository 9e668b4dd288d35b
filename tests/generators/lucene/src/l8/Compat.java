import java.io.IOException;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.lucene87.Lucene87Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;

/** What differs between Lucene 8, 9 and 10 for the generator: Lucene 8.8.1. */
final class Compat {
  static final String EXPECTED_VERSION = "8.8.1";
  static final boolean HAS_SKIP_INDEX = false;

  private Compat() {}

  static Codec codec(boolean bestCompression) {
    return bestCompression ? new Lucene87Codec(Lucene87Codec.Mode.BEST_COMPRESSION) : new Lucene87Codec();
  }

  static Document document(LeafReader reader, int docId) throws IOException {
    return reader.document(docId);
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
