import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.codecs.lucene50.Lucene50StoredFieldsFormat;
import org.apache.lucene.codecs.lucene54.Lucene54Codec;
import org.apache.lucene.index.CheckIndex;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.SegmentCommitInfo;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.SimpleFSDirectory;
import org.apache.lucene.util.Version;

/** What differs between Lucene 4.10 and 5.5 for OldGen: Lucene 5.5.5 (the codec of ES 2.2–2.4). */
final class OldCompat {
  static final String EXPECTED_VERSION = "5.5.5";

  private OldCompat() {}

  static String version() {
    return Version.LATEST.toString();
  }

  static Directory open(Path p) throws IOException {
    return new SimpleFSDirectory(p);
  }

  /** ES 2.x `index.codec: best_compression` is Lucene54Codec(BEST_COMPRESSION) (DEFLATE). */
  static IndexWriterConfig config(boolean compound, boolean bestCompression) {
    IndexWriterConfig c = new IndexWriterConfig(new StandardAnalyzer());
    c.setUseCompoundFile(compound);
    c.setMergePolicy(NoMergePolicy.INSTANCE);
    if (bestCompression) c.setCodec(new Lucene54Codec(Lucene50StoredFieldsFormat.Mode.BEST_COMPRESSION));
    return c;
  }

  static SegmentInfos readCommit(Directory dir) throws IOException {
    return SegmentInfos.readLatestCommit(dir);
  }

  static int maxDoc(SegmentCommitInfo sci) {
    return sci.info.maxDoc();
  }

  static List<SegmentReader> segments(DirectoryReader r) {
    List<SegmentReader> out = new ArrayList<>();
    for (LeafReaderContext c : r.leaves()) out.add((SegmentReader) c.reader());
    return out;
  }

  static Directory compoundReader(Directory dir, SegmentCommitInfo sci) throws IOException {
    return sci.info.getCodec().compoundFormat().getCompoundReader(dir, sci.info, IOContext.READ);
  }

  static boolean checkIndex(Directory dir, PrintStream log) throws IOException {
    try (CheckIndex checker = new CheckIndex(dir)) {
      checker.setInfoStream(log);
      return checker.checkIndex().clean;
    }
  }

  static byte[] lzfEncode(byte[] b) {
    throw new UnsupportedOperationException("LZF _source is an ES 1.x (Lucene 4) case");
  }

  static byte[] lzfDecode(byte[] b) {
    throw new UnsupportedOperationException("LZF _source is an ES 1.x (Lucene 4) case");
  }

  static String lzfLibrary() {
    throw new UnsupportedOperationException("LZF _source is an ES 1.x (Lucene 4) case");
  }
}
