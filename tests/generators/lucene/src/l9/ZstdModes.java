import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.lucene.codecs.compressing.CompressionMode;
import org.apache.lucene.codecs.compressing.Compressor;
import org.apache.lucene.codecs.compressing.Decompressor;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.store.ByteBuffersDataInput;
import org.apache.lucene.store.DataInput;
import org.apache.lucene.store.DataOutput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.BytesRef;

/**
 * The zstd compression units of the stored-fields formats that Elasticsearch and OpenSearch write
 * with Lucene90CompressingStoredFieldsFormat. Lucene hands each chunk (or each chunkSize slice of a
 * sliced chunk) to Compressor.compress and reads it back through Decompressor.decompress; only the
 * bytes of that unit are defined here. Every zstd frame is made and read by libzstd (ZstdCli).
 *
 * <ul>
 *   <li>{@link Es814}: Elasticsearch 8.14+ `Zstd814StoredFieldsFormat`: VInt length + one frame of the
 *       whole unit; an empty unit writes nothing.
 *   <li>{@link OsDict}: OpenSearch custom-codecs `ZstdCompressionMode`: a raw-content dictionary
 *       (the first 1/60 of the unit) and 10 blocks compressed with it.
 *   <li>{@link OsNoDict}: OpenSearch custom-codecs `ZstdNoDictCompressionMode`: 10 blocks, no dictionary.
 * </ul>
 */
final class ZstdModes {
  private ZstdModes() {}

  /** Writer-side counts per segment, to show what the index holds (sliced and empty chunks). */
  static final class Stats {
    long units, emptyUnits, frames, chunks, emptyChunks, slicedChunks, slices, bytesIn, bytesOut;

    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("chunks", chunks);
      m.put("empty_chunks", emptyChunks);
      m.put("sliced_chunks", slicedChunks);
      m.put("slices", slices);
      m.put("units", units);
      m.put("empty_units", emptyUnits);
      m.put("zstd_frames", frames);
      m.put("bytes_in", bytesIn);
      m.put("bytes_out", bytesOut);
      return m;
    }

    void add(Stats o) {
      units += o.units;
      emptyUnits += o.emptyUnits;
      frames += o.frames;
      chunks += o.chunks;
      emptyChunks += o.emptyChunks;
      slicedChunks += o.slicedChunks;
      slices += o.slices;
      bytesIn += o.bytesIn;
      bytesOut += o.bytesOut;
    }
  }

  static final Map<String, Stats> BY_SEGMENT = new LinkedHashMap<>();

  /**
   * The segment whose stored-fields writer is being created (set by the format wrapper around the
   * call; Lucene90CompressingStoredFieldsWriter asks for its compressor in its constructor).
   */
  static final ThreadLocal<String> WRITING_SEGMENT = new ThreadLocal<>();

  /** Counts units, and recognises the slices of one sliced chunk: nothing is written between them. */
  abstract static class CountingCompressor extends Compressor {
    final int level;
    final Stats stats;
    private long lastEnd = -1;
    private boolean lastWasSlice = false;
    long frames;

    CountingCompressor(int level) {
      this.level = level;
      String seg = WRITING_SEGMENT.get();
      if (seg == null) throw new IllegalStateException("compressor created outside a stored-fields writer");
      this.stats = BY_SEGMENT.computeIfAbsent(seg, k -> new Stats());
    }

    @Override
    public final void compress(ByteBuffersDataInput in, DataOutput out) throws IOException {
      if (!(out instanceof IndexOutput)) throw new IllegalStateException("expected the .fdt IndexOutput, got " + out.getClass());
      IndexOutput io = (IndexOutput) out;
      long start = io.getFilePointer();
      // a chunk header (doc base, counts, lengths) always precedes a new chunk; a slice follows directly
      boolean continuation = start == lastEnd;
      int len = Math.toIntExact(in.size());
      byte[] b = new byte[len];
      in.readBytes(b, 0, len);
      frames = 0;
      compressUnit(b, out);
      lastEnd = io.getFilePointer();
      stats.units++;
      if (len == 0) stats.emptyUnits++;
      stats.frames += frames;
      stats.bytesIn += len;
      stats.bytesOut += lastEnd - start;
      if (continuation) {
        if (!lastWasSlice) {
          stats.slicedChunks++;
          stats.slices++; // the first slice, counted as a chunk when it was written
        }
        stats.slices++;
      } else {
        stats.chunks++;
        if (len == 0) stats.emptyChunks++;
      }
      lastWasSlice = continuation;
    }

    abstract void compressUnit(byte[] b, DataOutput out) throws IOException;

    /** `[VInt clen][frame]`, or VInt 0 for nothing (the OpenSearch layouts). */
    void writeFrame(DataOutput out, byte[] b, int off, int len, byte[] dict) throws IOException {
      if (len == 0) {
        out.writeVInt(0);
        return;
      }
      byte[] frame = ZstdCli.compress(b, off, len, dict, level);
      frames++;
      out.writeVInt(frame.length);
      out.writeBytes(frame, frame.length);
    }

    @Override
    public void close() {}
  }

  /** Reads `[VInt clen][frame]` and decodes it to exactly {@code expect} bytes; clen 0 is nothing. */
  static byte[] readFrame(DataInput in, int expect, byte[] dict) throws IOException {
    int clen = in.readVInt();
    if (clen == 0) {
      if (expect != 0) throw new CorruptIndexException("empty zstd unit, expected " + expect + " bytes", in);
      return new byte[0];
    }
    byte[] frame = new byte[clen];
    in.readBytes(frame, 0, clen);
    byte[] plain = ZstdCli.decompress(frame, dict);
    if (plain.length != expect) throw new CorruptIndexException("zstd gave " + plain.length + " bytes, expected " + expect, in);
    return plain;
  }

  static void slice(byte[] plain, int offset, int length, BytesRef bytes) {
    bytes.bytes = ArrayUtil.growNoCopy(bytes.bytes, length);
    System.arraycopy(plain, offset, bytes.bytes, 0, length);
    bytes.offset = 0;
    bytes.length = length;
  }

  // ---------------------------------------------------------------------------------------------
  /** Elasticsearch Zstd814StoredFieldsFormat's unit: one frame of the whole unit. */
  static final class Es814 extends CompressionMode {
    final int level;

    Es814(int level) {
      this.level = level;
    }

    @Override
    public Compressor newCompressor() {
      return new CountingCompressor(level) {
        @Override
        void compressUnit(byte[] b, DataOutput out) throws IOException {
          if (b.length == 0) return; // ES writes nothing at all for an empty unit
          byte[] frame = ZstdCli.compress(b, 0, b.length, null, level);
          frames++;
          out.writeVInt(frame.length);
          out.writeBytes(frame, frame.length);
        }
      };
    }

    @Override
    public Decompressor newDecompressor() {
      return new Decompressor() {
        @Override
        public void decompress(DataInput in, int originalLength, int offset, int length, BytesRef bytes) throws IOException {
          if (originalLength == 0) { // nothing was written
            bytes.offset = 0;
            bytes.length = 0;
            return;
          }
          slice(readFrame(in, originalLength, null), offset, length, bytes);
        }

        @Override
        public Decompressor clone() {
          return this; // stateless
        }
      };
    }

    @Override
    public String toString() {
      return "ES-ZSTD(level=" + level + ")";
    }
  }

  // ---------------------------------------------------------------------------------------------
  static final int OS_NUM_SUB_BLOCKS = 10;
  static final int OS_DICT_SIZE_FACTOR = 6;

  /** OpenSearch ZstdCompressionMode's unit: VInt dictLength, VInt blockLength, dict frame, blocks. */
  static final class OsDict extends CompressionMode {
    final int level;

    OsDict(int level) {
      this.level = level;
    }

    @Override
    public Compressor newCompressor() {
      return new CountingCompressor(level) {
        @Override
        void compressUnit(byte[] b, DataOutput out) throws IOException {
          int len = b.length;
          int dictLength = len / (OS_NUM_SUB_BLOCKS * OS_DICT_SIZE_FACTOR);
          int blockLength = (len - dictLength + OS_NUM_SUB_BLOCKS - 1) / OS_NUM_SUB_BLOCKS;
          out.writeVInt(dictLength);
          out.writeVInt(blockLength);
          writeFrame(out, b, 0, dictLength, null); // the dictionary itself, without a dictionary
          byte[] dict = dictLength == 0 ? null : java.util.Arrays.copyOf(b, dictLength);
          for (int start = dictLength; start < len; start += blockLength) {
            writeFrame(out, b, start, Math.min(blockLength, len - start), dict);
          }
        }
      };
    }

    @Override
    public Decompressor newDecompressor() {
      return new Decompressor() {
        @Override
        public void decompress(DataInput in, int originalLength, int offset, int length, BytesRef bytes) throws IOException {
          // the plugin reads nothing for an empty request, although its writer wrote three VInts
          if (length == 0) {
            bytes.offset = 0;
            bytes.length = 0;
            return;
          }
          int dictLength = in.readVInt();
          int blockLength = in.readVInt();
          if (dictLength > originalLength || blockLength <= 0) throw new CorruptIndexException("bad zstd unit header", in);
          byte[] plain = new byte[originalLength];
          byte[] dict = readFrame(in, dictLength, null);
          System.arraycopy(dict, 0, plain, 0, dictLength);
          // blocks up to the end of the requested range (the plugin stops there too); blocks that end
          // before it are skipped without decoding
          for (int pos = dictLength; pos < offset + length; pos += blockLength) {
            int l = Math.min(blockLength, originalLength - pos);
            if (pos + l <= offset) {
              in.skipBytes(in.readVInt());
              continue;
            }
            byte[] block = readFrame(in, l, dictLength == 0 ? null : dict);
            System.arraycopy(block, 0, plain, pos, l);
          }
          slice(plain, offset, length, bytes);
        }

        @Override
        public Decompressor clone() {
          return this;
        }
      };
    }

    @Override
    public String toString() {
      return "OS-ZSTD(level=" + level + ")";
    }
  }

  // ---------------------------------------------------------------------------------------------
  /** OpenSearch ZstdNoDictCompressionMode's unit: VInt blockLength, then up to 10 frames. */
  static final class OsNoDict extends CompressionMode {
    final int level;

    OsNoDict(int level) {
      this.level = level;
    }

    @Override
    public Compressor newCompressor() {
      return new CountingCompressor(level) {
        @Override
        void compressUnit(byte[] b, DataOutput out) throws IOException {
          int len = b.length;
          int blockLength = (len + OS_NUM_SUB_BLOCKS - 1) / OS_NUM_SUB_BLOCKS;
          out.writeVInt(blockLength); // an empty unit is this VInt 0 only
          for (int start = 0; start < len; start += blockLength) {
            writeFrame(out, b, start, Math.min(blockLength, len - start), null);
          }
        }
      };
    }

    @Override
    public Decompressor newDecompressor() {
      return new Decompressor() {
        @Override
        public void decompress(DataInput in, int originalLength, int offset, int length, BytesRef bytes) throws IOException {
          if (length == 0) {
            bytes.offset = 0;
            bytes.length = 0;
            return;
          }
          int blockLength = in.readVInt();
          if (blockLength <= 0) throw new CorruptIndexException("bad zstd unit header", in);
          byte[] plain = new byte[originalLength];
          int pos = 0;
          for (; pos < offset + length; pos += blockLength) {
            int l = Math.min(blockLength, originalLength - pos);
            int clen = in.readVInt();
            if (clen == 0) break; // the plugin's end marker
            if (pos + l <= offset) {
              in.skipBytes(clen);
              continue;
            }
            byte[] frame = new byte[clen];
            in.readBytes(frame, 0, clen);
            byte[] block = ZstdCli.decompress(frame, null);
            if (block.length != l) throw new CorruptIndexException("zstd gave " + block.length + " bytes, expected " + l, in);
            System.arraycopy(block, 0, plain, pos, l);
          }
          if (pos < offset + length) throw new CorruptIndexException("zstd unit ends at " + pos + ", before " + (offset + length), in);
          slice(plain, offset, length, bytes);
        }

        @Override
        public Decompressor clone() {
          return this;
        }
      };
    }

    @Override
    public String toString() {
      return "OS-ZSTD-NO-DICT(level=" + level + ")";
    }
  }
}
