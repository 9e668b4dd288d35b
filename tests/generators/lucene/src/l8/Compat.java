import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.DocValuesConsumer;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.lucene70.Lucene70DocValuesFormat;
import org.apache.lucene.codecs.lucene87.Lucene87Codec;
import org.apache.lucene.codecs.perfield.PerFieldDocValuesFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;
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

  /**
   * The default Lucene87 codec, except that every doc-values field is written in the Lucene 7.x
   * format ({@code Lucene70DocValuesFormat} from lucene-backward-codecs 8.8.1, which can still write
   * it). The codec keeps the name "Lucene87", so a reader (and this Lucene, through SPI) opens the
   * segments with the stock Lucene87Codec, whose PerFieldDocValuesFormat finds the per-field
   * attribute {@code PerFieldDocValuesFormat.format=Lucene70} and loads Lucene70DocValuesFormat.
   */
  static Codec lucene70DocValuesCodec() {
    DocValuesFormat lucene70 = new Lucene70Logging();
    DocValuesFormat perField = new PerFieldDocValuesFormat() {
      @Override
      public DocValuesFormat getDocValuesFormatForField(String field) {
        return lucene70;
      }
    };
    return new FilterCodec("Lucene87", new Lucene87Codec()) {
      @Override
      public DocValuesFormat docValuesFormat() {
        return perField;
      }
    };
  }

  /**
   * Lucene70DocValuesFormat, unchanged (same name, the real consumer writes every byte), that also
   * logs the order in which the fields are written to each .dvm (the order a reader walks them in).
   */
  static final class Lucene70Logging extends DocValuesFormat {
    final DocValuesFormat real = new Lucene70DocValuesFormat();

    Lucene70Logging() {
      super("Lucene70");
    }

    @Override
    public DocValuesProducer fieldsProducer(SegmentReadState state) throws IOException {
      return real.fieldsProducer(state);
    }

    @Override
    public DocValuesConsumer fieldsConsumer(SegmentWriteState state) throws IOException {
      DocValuesConsumer c = real.fieldsConsumer(state);
      String file = state.segmentInfo.name + (state.segmentSuffix.isEmpty() ? "" : "_" + state.segmentSuffix) + ".dvm";
      List<String> order = new ArrayList<>();
      return new DocValuesConsumer() {
        private void note(FieldInfo fi, String type) {
          order.add(fi.name + "#" + fi.number + ":" + type);
        }

        @Override
        public void addNumericField(FieldInfo fi, DocValuesProducer p) throws IOException {
          note(fi, "NUMERIC");
          c.addNumericField(fi, p);
        }

        @Override
        public void addBinaryField(FieldInfo fi, DocValuesProducer p) throws IOException {
          note(fi, "BINARY");
          c.addBinaryField(fi, p);
        }

        @Override
        public void addSortedField(FieldInfo fi, DocValuesProducer p) throws IOException {
          note(fi, "SORTED");
          c.addSortedField(fi, p);
        }

        @Override
        public void addSortedNumericField(FieldInfo fi, DocValuesProducer p) throws IOException {
          note(fi, "SORTED_NUMERIC");
          c.addSortedNumericField(fi, p);
        }

        @Override
        public void addSortedSetField(FieldInfo fi, DocValuesProducer p) throws IOException {
          note(fi, "SORTED_SET");
          c.addSortedSetField(fi, p);
        }

        @Override
        public void close() throws IOException {
          c.close();
          System.err.println("[lucene70-dv] " + file + ": " + String.join(", ", order));
        }
      };
    }
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
