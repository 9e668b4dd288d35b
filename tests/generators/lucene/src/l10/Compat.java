import java.io.IOException;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedDocValuesField;
import org.apache.lucene.document.SortedNumericDocValuesField;
import org.apache.lucene.document.SortedSetDocValuesField;
import org.apache.lucene.index.DocValuesSkipIndexType;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.store.Directory;
import org.apache.lucene.util.BytesRef;

/** What differs between Lucene 8, 9 and 10 for the generator: Lucene 10.5.0 (codec Lucene104). */
final class Compat {
  static final String EXPECTED_VERSION = "10.5.0";
  static final boolean HAS_SKIP_INDEX = true;

  private Compat() {}

  static Codec codec(boolean bestCompression) {
    return bestCompression ? new Lucene104Codec(Lucene104Codec.Mode.BEST_COMPRESSION) : new Lucene104Codec();
  }

  /** Lucene70 doc values are written with Lucene 8 only (l8_lucene70_dv). */
  static Codec lucene70DocValuesCodec() {
    throw new UnsupportedOperationException("Lucene70 doc values need Lucene 8's backward codecs");
  }

  /** zstd stored fields are written with Lucene 9 only (l9_*zstd* cases). */
  static Codec zstdCodec(String caseName) {
    throw new UnsupportedOperationException("the zstd stored-fields codecs are built for Lucene 9");
  }

  static java.util.Map<String, Object> zstdReport(java.nio.file.Path index) {
    throw new UnsupportedOperationException("the zstd stored-fields codecs are built for Lucene 9");
  }

  static String zstdStats() {
    return "";
  }

  static Document document(LeafReader reader, int docId) throws IOException {
    return reader.storedFields().document(docId);
  }

  static Directory compoundReader(Directory dir, SegmentInfo si) throws IOException {
    return si.getCodec().compoundFormat().getCompoundReader(dir, si);
  }

  static String skipIndex(FieldInfo fi) {
    DocValuesSkipIndexType t = fi.docValuesSkipIndexType();
    return t == DocValuesSkipIndexType.NONE ? null : t.name();
  }

  // doc-values fields with a skip index (.dvs file, skipper metadata in .dvm)
  static void addSkipNumeric(Document d, String name, long v) {
    d.add(NumericDocValuesField.indexedField(name, v));
  }

  static void addSkipSortedNumeric(Document d, String name, long v) {
    d.add(SortedNumericDocValuesField.indexedField(name, v));
  }

  static void addSkipSorted(Document d, String name, String v) {
    d.add(SortedDocValuesField.indexedField(name, new BytesRef(v)));
  }

  static void addSkipSortedSet(Document d, String name, String v) {
    d.add(SortedSetDocValuesField.indexedField(name, new BytesRef(v)));
  }
}
