import com.ning.compress.lzf.LZFDecoder;
import com.ning.compress.lzf.LZFEncoder;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.index.AtomicReaderContext;
import org.apache.lucene.index.CheckIndex;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.SegmentCommitInfo;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.store.CompoundFileDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.SimpleFSDirectory;
import org.apache.lucene.util.Version;

/** What differs between Lucene 4.10 and 5.5 for OldGen: Lucene 4.10.4 (the codec of ES 1.4–1.7). */
final class OldCompat {
  static final String EXPECTED_VERSION = "4.10.4";

  private OldCompat() {}

  static String version() {
    return Version.LATEST.toString();
  }

  static Directory open(Path p) throws IOException {
    return new SimpleFSDirectory(p.toFile());
  }

  /** Lucene 4 has one stored-fields mode (Lucene41StoredFields, LZ4 "fast"). */
  static IndexWriterConfig config(boolean compound, boolean bestCompression) {
    if (bestCompression) throw new IllegalArgumentException("Lucene 4 has no best_compression");
    IndexWriterConfig c = new IndexWriterConfig(Version.LATEST, new StandardAnalyzer());
    c.setUseCompoundFile(compound);
    c.setMergePolicy(NoMergePolicy.INSTANCE);
    return c;
  }

  static SegmentInfos readCommit(Directory dir) throws IOException {
    SegmentInfos sis = new SegmentInfos();
    sis.read(dir);
    return sis;
  }

  static int maxDoc(SegmentCommitInfo sci) {
    return sci.info.getDocCount();
  }

  static List<SegmentReader> segments(DirectoryReader r) {
    List<SegmentReader> out = new ArrayList<>();
    for (AtomicReaderContext c : r.leaves()) out.add((SegmentReader) c.reader());
    return out;
  }

  static Directory compoundReader(Directory dir, SegmentCommitInfo sci) throws IOException {
    return new CompoundFileDirectory(dir, sci.info.name + ".cfs", IOContext.READ, false);
  }

  static boolean checkIndex(Directory dir, PrintStream log) throws IOException {
    CheckIndex checker = new CheckIndex(dir);
    checker.setInfoStream(log);
    return checker.checkIndex().clean;
  }

  /**
   * ES 1.x `_source.compress`: LZFCompressor.compress is LZFEncoder.safeEncode (chunks of at most
   * 65,535 bytes, each 'Z' 'V' type …); the stream form that SourceFieldMapper uses writes the same
   * chunks through ChunkEncoder.encodeAndWriteChunk.
   */
  static byte[] lzfEncode(byte[] b) {
    return LZFEncoder.safeEncode(b);
  }

  static byte[] lzfDecode(byte[] b) throws IOException {
    return LZFDecoder.safeDecode(b);
  }

  static String lzfLibrary() {
    String v = LZFEncoder.class.getPackage().getImplementationVersion();
    return "com.ning:compress-lzf " + (v != null ? v : "(version not in the jar manifest; pom-4.xml pins 1.0.2)");
  }
}
