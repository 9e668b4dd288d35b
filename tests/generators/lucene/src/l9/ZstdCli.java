import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Makes and reads zstd frames with the real zstd library through the `zstd` command line tool
 * (libzstd), one process per frame. There is no zstd Java binding on the class path (Maven Central
 * is not reachable), and every frame in the test indexes must come from libzstd itself.
 *
 * <p>Inputs go through temp files, not stdin: only then does the CLI know the input size and write
 * it into the frame header (Frame_Content_Size), as ZSTD_compress and zstd-jni's one-shot calls do.
 */
final class ZstdCli {
  private ZstdCli() {}

  static final String EXE = "zstd";

  /** Frames written (one CLI run each). */
  static long compressRuns = 0;
  /** Frames decoded by the CLI; a frame read again (same bytes, same dictionary) comes from the cache. */
  static long decompressRuns = 0;
  static long decompressCacheHits = 0;

  // Lucene reads a chunk again for every document in it; decoding each distinct frame once is enough
  // to prove libzstd can read it, and keeps the read-back fast.
  private static final Map<List<ByteBuffer>, byte[]> CACHE = new HashMap<>();
  private static long cacheBytes = 0;
  private static long cacheMaxBytes = 256L << 20;

  private static Path tmp;

  private static synchronized Path tmpDir() throws IOException {
    if (tmp == null) {
      tmp = Files.createTempDirectory("lucene-gen-zstd");
      Runtime.getRuntime().addShutdownHook(new Thread(ZstdCli::deleteTmp));
    }
    return tmp;
  }

  private static void deleteTmp() {
    try (Stream<Path> s = Files.list(tmp)) {
      for (Path p : (Iterable<Path>) s::iterator) Files.deleteIfExists(p);
      Files.deleteIfExists(tmp);
    } catch (IOException e) {
      // best effort at exit
    }
  }

  /** `zstd --version`, e.g. "v1.5.4". */
  static String version() throws IOException {
    String out = new String(run(List.of(EXE, "--version")), StandardCharsets.UTF_8);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("v\\d+\\.\\d+\\.\\d+").matcher(out);
    if (!m.find()) throw new IOException("cannot parse zstd --version: " + out);
    return m.group();
  }

  /**
   * One zstd frame of b[off, off+len): `zstd -q -LEVEL --no-check --single-thread [-D dict] -c in`.
   * No checksum (as ZSTD_compress's default), content size in the header. A dictionary file that does
   * not start with the zstd dictionary magic is used as raw content (ZSTD_dct_auto), as zstd-jni's
   * ZstdDictCompress does with plain bytes.
   */
  static synchronized byte[] compress(byte[] b, int off, int len, byte[] dict, int level) throws IOException {
    if (len <= 0) throw new IllegalArgumentException("the formats never make a frame of nothing");
    Path in = tmpDir().resolve("in");
    Files.write(in, Arrays.copyOfRange(b, off, off + len));
    List<String> cmd = new ArrayList<>(List.of(EXE, "-q", "-" + level, "--no-check", "--single-thread"));
    addDict(cmd, dict);
    cmd.add("-c");
    cmd.add(in.toString());
    byte[] frame = run(cmd);
    compressRuns++;
    return frame;
  }

  /** Decodes one frame with `zstd -q -d [-D dict] -c in`. */
  static synchronized byte[] decompress(byte[] frame, byte[] dict) throws IOException {
    // content equality (ByteBuffer.equals); the callers never modify these arrays afterwards
    List<ByteBuffer> key = List.of(ByteBuffer.wrap(dict == null ? new byte[0] : dict), ByteBuffer.wrap(frame));
    byte[] hit = CACHE.get(key);
    if (hit != null) {
      decompressCacheHits++;
      return hit;
    }
    Path in = tmpDir().resolve("frame");
    Files.write(in, frame);
    List<String> cmd = new ArrayList<>(List.of(EXE, "-q", "-d"));
    addDict(cmd, dict);
    cmd.add("-c");
    cmd.add(in.toString());
    byte[] plain = run(cmd);
    decompressRuns++;
    if (cacheBytes + plain.length > cacheMaxBytes) {
      CACHE.clear();
      cacheBytes = 0;
    }
    CACHE.put(key, plain);
    cacheBytes += plain.length;
    return plain;
  }

  /**
   * Bounds the decompression cache (emptied when full). bench-index.sh sets a few MiB: its read-back
   * decodes each chunk once, and a large index would otherwise fill the default 256 MiB for nothing.
   */
  static synchronized void cacheLimit(long maxBytes) {
    cacheMaxBytes = maxBytes;
    CACHE.clear();
    cacheBytes = 0;
  }

  private static void addDict(List<String> cmd, byte[] dict) throws IOException {
    if (dict == null) return;
    if (dict.length == 0) throw new IllegalArgumentException("empty dictionary: compress without one");
    Path d = tmpDir().resolve("dict");
    Files.write(d, dict);
    cmd.add("-D");
    cmd.add(d.toString());
  }

  private static byte[] run(List<String> cmd) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    p.getOutputStream().close();
    byte[] out;
    try (InputStream is = p.getInputStream()) {
      out = is.readAllBytes();
    }
    try {
      int rc = p.waitFor();
      if (rc != 0) throw new IOException(String.join(" ", cmd) + " exited with " + rc);
    } catch (InterruptedException e) {
      p.destroy();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    return out;
  }

  static String stats() {
    return "zstd CLI: " + compressRuns + " frames compressed, " + decompressRuns + " distinct frames decompressed ("
        + decompressCacheHits + " repeated reads served from the cache)";
  }
}
