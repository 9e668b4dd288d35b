import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;

/** Deterministic document ids, mapped-field values and `_source` JSON bodies. */
final class Sources {
  private Sources() {}

  static final String[] WORDS = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
    "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray"
  };
  static final String[] TAGS = {"red", "green", "blue", "cyan", "magenta", "yellow", "black", "white", "grey", "orange", "pink", "teal"};
  static final String[] CATEGORIES = {"books", "music", "films", "games", "tools"};
  static final String[] COUNTRIES = {"DE", "FR", "\u00d6sterreich", "JP", "BR", "US", "\u0420\u043e\u0441\u0441\u0438\u044f"};
  static final String[] ROUTINGS = {"r1", "r2", "tenant-7", "\u0448\u0430\u0440\u0434-\u03b1", "user:42"};

  /** Text fragments that need escaping or are non-ASCII, mixed into titles and bodies. */
  static final String[] SPECIAL = {
    "He said \"hi\"", "back\\slash", "line1\nline2", "tab\there", "na\u00efve caf\u00e9", "emoji \ud83d\ude00 and \ud83d\ude80",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "ctrl \u0001 char", "</script>", "it's 'quoted'", "slash / and \u2028 sep",
    "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440"
  };

  /** Ids that exercise every branch of the binary id encoding. */
  static List<String> specialIds() {
    List<String> ids = new ArrayList<>();
    // numeric: odd / even digit counts, leading zeros, long
    ids.add("0");
    ids.add("7");
    ids.add("42");
    ids.add("007");
    ids.add("0123");
    ids.add("1234567890");
    ids.add("98765432109876543210123");
    // plain strings (0xFF + UTF-8)
    ids.add("h\u00e9llo-w\u00f6rld");
    ids.add("emoji-\ud83d\ude00");
    ids.add("\u65e5\u672c\u8a9e-id");
    ids.add("\u043a\u043b\u044e\u0447");
    ids.add("with space");
    ids.add("a+b/c");
    ids.add("doc#1");
    ids.add("abc=");
    ids.add("abd");   // base64 alphabet but non-zero trailing bits
    ids.add("-");     // length % 4 == 1
    ids.add("-_");    // non-zero trailing bits
    ids.add("user@example.com");
    StringBuilder longId = new StringBuilder("long.");
    while (longId.length() < 500) longId.append(WORDS[longId.length() % WORDS.length]).append('.');
    ids.add(longId.substring(0, 500));
    // canonical base64url (decoded bytes)
    ids.add("abc");
    ids.add("Zm9vYmFy");
    ids.add("-w");        // decodes to 0xFB: below the escape threshold
    ids.add("_w");        // decodes to 0xFF: escaped with 0xFD
    ids.add("_Q");        // decodes to 0xFD: escaped
    ids.add("_-_-");      // decodes to FF EF FE: escaped
    ids.add("_v8");       // decodes to 0xFE 0xFF: escaped
    return ids;
  }

  /** 20-char URL-safe base64 of 15 random bytes, like Elasticsearch's auto-generated ids. */
  static String autoId(Random r) {
    byte[] b = new byte[15];
    r.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** An auto-id-like id whose first decoded byte is 0xFD, 0xFE or 0xFF (hits the 0xFD escape). */
  static String escapedAutoId(Random r) {
    byte[] b = new byte[15];
    r.nextBytes(b);
    b[0] = (byte) (0xFD + r.nextInt(3));
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  static String words(Random r, int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      if (i > 0) sb.append(' ');
      sb.append(WORDS[r.nextInt(WORDS.length)]);
    }
    return sb.toString();
  }

  /** Values of the "mapped" fields of one document; the `_source` repeats most of them. */
  static final class Attrs {
    String title;
    List<String> tags = new ArrayList<>();
    String category;
    String user;          // sparse, many distinct
    byte[] hash;          // sparse, variable length
    List<Long> sizes = new ArrayList<>();  // sparse, multi-valued
    Long price;           // sparse, multiples of 100 (gcd)
    long ts;              // every parent doc
    long epoch;           // every parent doc, jumps every 20,000 docs (block encoding)
    long n;               // ordinal
    // "late" fields (first seen after the first soft delete, so their field numbers are higher)
    List<String> lateKw = new ArrayList<>();
    String lateSorted;
    byte[] lateBin;
    Long lateNum;
    long lateSn;
    boolean lean;         // no fixed8 field
  }

  static Attrs attrs(Random r, long ordinal, boolean special) {
    Attrs a = new Attrs();
    a.n = ordinal;
    a.title = words(r, 2 + r.nextInt(4));
    if (special) a.title = a.title + " " + SPECIAL[(int) (ordinal % SPECIAL.length)];
    int nt = r.nextInt(4);
    for (int i = 0; i < nt; i++) {
      String t = TAGS[r.nextInt(TAGS.length)];
      if (!a.tags.contains(t)) a.tags.add(t);
    }
    a.category = CATEGORIES[r.nextInt(CATEGORIES.length)];
    if (r.nextInt(10) < 7) a.user = "user-" + r.nextInt(5000);
    if (r.nextInt(10) < 6) {
      a.hash = new byte[4 + r.nextInt(21)];
      r.nextBytes(a.hash);
    }
    int ns = r.nextInt(4);
    for (int i = 0; i < ns; i++) a.sizes.add((long) r.nextInt(100000));
    if (r.nextInt(10) < 7) a.price = 100L * (1 + r.nextInt(5000));
    a.ts = 1_600_000_000_000L + ordinal * 1000 + r.nextInt(1000);
    a.epoch = (ordinal / 20000) * 1_000_000_000_000L + r.nextInt(256);
    int nk = 1 + r.nextInt(3);
    for (int i = 0; i < nk; i++) a.lateKw.add("lk-" + r.nextInt(100000));
    a.lateSorted = "ls-" + ordinal + "-" + r.nextInt(1000);
    a.lateBin = new byte[r.nextInt(41)];
    r.nextBytes(a.lateBin);
    if (r.nextBoolean()) a.lateNum = new long[] {3, 17, 1_000_000, 42}[r.nextInt(4)];
    a.lateSn = r.nextInt(1 << 20) - (1 << 19);
    return a;
  }

  /**
   * Values for the 100k-doc case: fewer and less random values, so that 100,000 docs stay small on
   * disk (still every doc-values type, dense and sparse, few and many distinct values).
   */
  static Attrs leanAttrs(Random r, long ordinal) {
    Attrs a = new Attrs();
    a.n = ordinal;
    a.title = WORDS[(int) (ordinal % WORDS.length)] + " " + WORDS[(int) ((ordinal / WORDS.length) % WORDS.length)];
    if (ordinal % 3 != 0) a.tags.add(TAGS[(int) (ordinal % TAGS.length)]);
    if (ordinal % 7 == 0) a.tags.add(TAGS[(int) ((ordinal / 7) % TAGS.length)]);
    a.category = CATEGORIES[r.nextInt(CATEGORIES.length)];
    if (r.nextInt(10) == 0) a.user = "user-" + r.nextInt(5000);
    if (r.nextInt(50) == 0) {
      a.hash = new byte[4 + r.nextInt(21)];
      r.nextBytes(a.hash);
    }
    if (r.nextInt(20) == 0) a.sizes.add((long) r.nextInt(100000));
    if (r.nextInt(10) < 7) a.price = 100L * (1 + r.nextInt(500));
    a.ts = 1_600_000_000_000L + ordinal * 1000 + r.nextInt(1000);
    a.epoch = (ordinal / 20000) * 1_000_000_000_000L + r.nextInt(256);
    a.lateKw.add("lk-" + r.nextInt(50));
    a.lateSorted = "ls-" + (ordinal % 2000);
    a.lateBin = r.nextInt(10) == 0 ? new byte[] {(byte) ordinal, (byte) (ordinal >>> 8)} : null;
    if (r.nextBoolean()) a.lateNum = new long[] {3, 17, 1_000_000, 42}[r.nextInt(4)];
    a.lateSn = r.nextInt(64);
    a.lean = true;
    return a;
  }

  /** A small JSON document (about 80 to 700 bytes) in one of several layouts. */
  static byte[] smallSource(Random r, Attrs a, int style) {
    StringBuilder sb = new StringBuilder();
    boolean ascii = style == 3;
    boolean pretty = style == 1 || style == 2;
    String nl = pretty ? "\n  " : "";
    String sep = pretty ? ": " : ":";
    if (style == 2) sb.append("\n\n");
    sb.append('{').append(nl);
    sb.append("\"title\"").append(sep).append(ascii ? Json.strAscii(a.title) : Json.str(a.title)).append(',').append(nl);
    sb.append("\"tag\"").append(sep).append('[');
    for (int i = 0; i < a.tags.size(); i++) {
      if (i > 0) sb.append(',');
      sb.append(Json.str(a.tags.get(i)));
    }
    sb.append("],").append(nl);
    sb.append("\"category\"").append(sep).append(Json.str(a.category)).append(',').append(nl);
    if (a.user != null) sb.append("\"user\"").append(sep).append(Json.str(a.user)).append(',').append(nl);
    if (a.price != null) sb.append("\"price\"").append(sep).append(a.price / 100).append('.').append(String.format("%02d", a.price % 100)).append(',').append(nl);
    if (!a.sizes.isEmpty()) sb.append("\"sizes\"").append(sep).append(a.sizes.toString().replace(" ", "")).append(',').append(nl);
    String body = words(r, 3 + r.nextInt(60));
    if (style == 4) body = body + " " + SPECIAL[r.nextInt(SPECIAL.length)] + " " + SPECIAL[r.nextInt(SPECIAL.length)];
    sb.append("\"body\"").append(sep).append(ascii ? Json.strAscii(body) : Json.str(body)).append(',').append(nl);
    sb.append("\"nested\"").append(sep).append("{\"a\":").append(r.nextInt(100)).append(",\"b\":[true,false,null],\"c\":-1.5e3}").append(',').append(nl);
    sb.append("\"n\"").append(sep).append(a.n);
    sb.append(pretty ? "\n}" : "}");
    if (style == 2) sb.append("\n\n");
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** A tiny JSON document (about 50 to 120 bytes), for the 100k-doc case. */
  static byte[] tinySource(Random r, Attrs a) {
    StringBuilder sb = new StringBuilder();
    sb.append("{\"n\":").append(a.n).append(",\"title\":").append(Json.str(a.title));
    if (!a.tags.isEmpty()) sb.append(",\"tag\":").append(Json.str(a.tags.get(0)));
    if (a.price != null) sb.append(",\"price\":").append(a.price);
    sb.append('}');
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A valid JSON document of exactly {@code target} bytes (ASCII). Large ones are arrays of records
   * with a counter and rotating words: redundant enough to compress well, but no run of one byte.
   */
  static byte[] exactSource(int target, long seed) {
    final String tinyHead = "{\"v\":\"";
    final String tinyTail = "\"}";
    StringBuilder sb = new StringBuilder(target + 64);
    if (target < 200) {
      if (target < tinyHead.length() + tinyTail.length()) throw new IllegalArgumentException("too small: " + target);
      sb.append(tinyHead);
      pad(sb, target - tinyHead.length() - tinyTail.length(), seed);
      sb.append(tinyTail);
    } else {
      sb.append("{\"kind\":\"large\",\"target\":").append(target).append(",\"seed\":").append(seed).append(",\"records\":[");
      final String tailHead = "],\"pad\":\"";
      final String tailEnd = "\"}";
      int overhead = tailHead.length() + tailEnd.length();
      for (int i = 0; ; i++) {
        String rec = record(i, seed);
        int extra = (i > 0 ? 1 : 0) + rec.length();
        if (sb.length() + extra + overhead > target) break;
        if (i > 0) sb.append(',');
        sb.append(rec);
      }
      sb.append(tailHead);
      pad(sb, target - sb.length() - tailEnd.length(), seed);
      sb.append(tailEnd);
    }
    byte[] b = sb.toString().getBytes(StandardCharsets.US_ASCII);
    if (b.length != target) throw new IllegalStateException("built " + b.length + " bytes, wanted " + target);
    return b;
  }

  private static String record(int i, long seed) {
    // everything but the counter repeats every 16 records: LZ4 and DEFLATE both find long matches
    int j = i % 16;
    StringBuilder sb = new StringBuilder(400);
    int off = (int) ((j * 5L + seed) % WORDS.length);
    sb.append("{\"seq\":").append(i).append(",\"user\":\"user-").append(j * 3).append("\",\"words\":\"");
    for (int k = 0; k < 40; k++) {
      if (k > 0) sb.append(' ');
      sb.append(WORDS[(off + k * 7) % WORDS.length]);
    }
    sb.append("\",\"flag\":").append(j % 3 == 0).append(",\"score\":").append(j * 6).append(".25,\"tags\":[\"")
        .append(TAGS[j % TAGS.length]).append("\",\"").append(TAGS[(j / 4) % TAGS.length]).append("\"]}");
    return sb.toString();
  }

  private static void pad(StringBuilder sb, int n, long seed) {
    String letters = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < n; i++) sb.append(letters.charAt((int) ((i + seed) % letters.length())));
  }
}
