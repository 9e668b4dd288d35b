import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Elasticsearch's binary `_id` encoding (Uid.encodeId / Uid.decodeId), written from its description:
 * <ul>
 *   <li>all ASCII digits: 0xFE, then the digits packed two per byte (high nibble first); an odd
 *       count ends with a low nibble of 0xF;</li>
 *   <li>canonical URL-safe base64 without padding: the decoded bytes, prefixed by 0xFD when the
 *       first decoded byte is &gt;= 0xFD;</li>
 *   <li>anything else: 0xFF followed by the UTF-8 bytes.</li>
 * </ul>
 */
final class EsIds {
  static final int NUMERIC = 0xFE;
  static final int UTF8 = 0xFF;
  static final int BASE64_ESCAPE = 0xFD;

  private EsIds() {}

  static boolean isNumeric(String id) {
    if (id.isEmpty()) return false;
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c < '0' || c > '9') return false;
    }
    return true;
  }

  static boolean isCanonicalBase64Url(String id) {
    if (id.isEmpty() || id.length() % 4 == 1) return false;
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok) return false;
    }
    byte[] decoded;
    try {
      decoded = Base64.getUrlDecoder().decode(id);
    } catch (IllegalArgumentException e) {
      return false;
    }
    // canonical: no non-zero trailing bits, i.e. re-encoding gives the same text
    return Base64.getUrlEncoder().withoutPadding().encodeToString(decoded).equals(id);
  }

  static byte[] encode(String id) {
    if (id.isEmpty()) throw new IllegalArgumentException("empty id");
    if (isNumeric(id)) {
      int n = id.length();
      byte[] out = new byte[1 + (n + 1) / 2];
      out[0] = (byte) NUMERIC;
      for (int i = 0; i < n; i += 2) {
        int hi = id.charAt(i) - '0';
        int lo = (i + 1 < n) ? id.charAt(i + 1) - '0' : 0x0F;
        out[1 + i / 2] = (byte) ((hi << 4) | lo);
      }
      return out;
    }
    if (isCanonicalBase64Url(id)) {
      byte[] decoded = Base64.getUrlDecoder().decode(id);
      if ((decoded[0] & 0xFF) >= BASE64_ESCAPE) {
        byte[] out = new byte[decoded.length + 1];
        out[0] = (byte) BASE64_ESCAPE;
        System.arraycopy(decoded, 0, out, 1, decoded.length);
        return out;
      }
      return decoded;
    }
    byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[utf8.length + 1];
    out[0] = (byte) UTF8;
    System.arraycopy(utf8, 0, out, 1, utf8.length);
    return out;
  }

  static String decode(byte[] b, int off, int len) {
    if (len == 0) throw new IllegalArgumentException("empty encoded id");
    int first = b[off] & 0xFF;
    if (first == NUMERIC) {
      StringBuilder sb = new StringBuilder();
      for (int i = 1; i < len; i++) {
        int v = b[off + i] & 0xFF;
        int hi = v >>> 4, lo = v & 0x0F;
        if (hi > 9) throw new IllegalArgumentException("bad numeric id nibble");
        sb.append((char) ('0' + hi));
        if (lo == 0x0F) {
          if (i != len - 1) throw new IllegalArgumentException("0xF nibble before the end");
          break;
        }
        if (lo > 9) throw new IllegalArgumentException("bad numeric id nibble");
        sb.append((char) ('0' + lo));
      }
      return sb.toString();
    }
    if (first == UTF8) {
      return new String(b, off + 1, len - 1, StandardCharsets.UTF_8);
    }
    byte[] raw;
    if (first == BASE64_ESCAPE) {
      raw = new byte[len - 1];
      System.arraycopy(b, off + 1, raw, 0, len - 1);
    } else {
      raw = new byte[len];
      System.arraycopy(b, off, raw, 0, len);
    }
    return Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
  }

  /** Self-test of the encoding on fixed examples (run before every case). */
  static void selfTest() {
    check("1", "fe1f");
    check("12", "fe12");
    check("007", "fe007f");
    check("abc", "69b7");
    check("abd", "ff616264");
    check("_w", "fdff");
    check("-w", "fb");
    check("Zm9vYmFy", "666f6f626172");
    check("abc=", "ff6162633d");
    check("-", "ff2d");
    check("h\u00e9", "ff68c3a9");
  }

  private static void check(String id, String hex) {
    String got = Json.hex(encode(id));
    if (!got.equals(hex)) throw new AssertionError("encode(" + id + ") = " + got + ", expected " + hex);
    byte[] e = encode(id);
    String back = decode(e, 0, e.length);
    if (!back.equals(id)) throw new AssertionError("decode(encode(" + id + ")) = " + back);
  }
}
