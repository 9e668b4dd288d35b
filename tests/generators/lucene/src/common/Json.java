import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;

/** A small JSON encoder (and a strict syntax checker), so the generator needs no JSON library. */
final class Json {
  private Json() {}

  static String str(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2);
    appendStr(sb, s);
    return sb.toString();
  }

  /** Appends s as a JSON string; non-ASCII characters are written as they are (output is UTF-8). */
  static void appendStr(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': sb.append("\\\""); break;
        case '\\': sb.append("\\\\"); break;
        case '\n': sb.append("\\n"); break;
        case '\r': sb.append("\\r"); break;
        case '\t': sb.append("\\t"); break;
        case '\b': sb.append("\\b"); break;
        case '\f': sb.append("\\f"); break;
        default:
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else if (Character.isSurrogate(c)) {
            // only well-formed pairs are allowed through (the text comes from strict UTF-8 decoding)
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
              sb.append(c).append(s.charAt(++i));
            } else {
              throw new IllegalArgumentException("lone surrogate in JSON string");
            }
          } else {
            sb.append(c);
          }
      }
    }
    sb.append('"');
  }

  /** Same as appendStr but writes every non-ASCII character as a \\uXXXX escape. */
  static String strAscii(String s) {
    StringBuilder sb = new StringBuilder();
    String plain = str(s);
    for (int i = 0; i < plain.length(); i++) {
      char c = plain.charAt(i);
      if (c > 0x7E) sb.append(String.format("\\u%04x", (int) c));
      else sb.append(c);
    }
    return sb.toString();
  }

  /** Serializes Map / List / String / Number / Boolean / null, with two-space indentation. */
  static String write(Object v) {
    StringBuilder sb = new StringBuilder();
    write(sb, v, 0);
    sb.append('\n');
    return sb.toString();
  }

  @SuppressWarnings("unchecked")
  private static void write(StringBuilder sb, Object v, int indent) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof String) {
      appendStr(sb, (String) v);
    } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long) {
      sb.append(v);
    } else if (v instanceof Map) {
      Map<String, Object> m = (Map<String, Object>) v;
      if (m.isEmpty()) { sb.append("{}"); return; }
      boolean inline = m.size() <= 6 && m.values().stream().allMatch(Json::scalar);
      sb.append('{');
      boolean first = true;
      for (Map.Entry<String, Object> e : m.entrySet()) {
        if (!first) sb.append(',');
        first = false;
        if (inline) { if (sb.charAt(sb.length() - 1) == ',') sb.append(' '); }
        else nl(sb, indent + 1);
        appendStr(sb, e.getKey());
        sb.append(": ");
        write(sb, e.getValue(), indent + 1);
      }
      if (!inline) nl(sb, indent);
      sb.append('}');
    } else if (v instanceof List) {
      List<Object> l = (List<Object>) v;
      if (l.isEmpty()) { sb.append("[]"); return; }
      boolean inline = l.stream().allMatch(Json::scalar);
      sb.append('[');
      for (int i = 0; i < l.size(); i++) {
        if (i > 0) sb.append(inline ? ", " : ",");
        if (!inline) nl(sb, indent + 1);
        write(sb, l.get(i), indent + 1);
      }
      if (!inline) nl(sb, indent);
      sb.append(']');
    } else {
      throw new IllegalArgumentException("cannot write " + v.getClass());
    }
  }

  private static boolean scalar(Object o) {
    return !(o instanceof Map) && !(o instanceof List);
  }

  private static void nl(StringBuilder sb, int indent) {
    sb.append('\n');
    for (int i = 0; i < indent; i++) sb.append("  ");
  }

  static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder(b.length * 2);
    for (byte x : b) sb.append(String.format("%02x", x & 0xFF));
    return sb.toString();
  }

  static String sha256(byte[] b) {
    try {
      return hex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  /** Strict UTF-8 decoding: fails on malformed input instead of replacing it. */
  static String utf8Strict(byte[] b) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b)).toString();
    } catch (CharacterCodingException e) {
      throw new IllegalStateException("stored bytes are not valid UTF-8", e);
    }
  }

  // ---- strict syntax check (RFC 8259) ----

  static void validate(String s) {
    int[] pos = {0};
    ws(s, pos);
    value(s, pos, 0);
    ws(s, pos);
    if (pos[0] != s.length()) throw new IllegalStateException("trailing data at " + pos[0]);
  }

  private static void ws(String s, int[] p) {
    while (p[0] < s.length()) {
      char c = s.charAt(p[0]);
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p[0]++;
      else break;
    }
  }

  private static void expect(String s, int[] p, char c) {
    if (p[0] >= s.length() || s.charAt(p[0]) != c) throw new IllegalStateException("expected '" + c + "' at " + p[0]);
    p[0]++;
  }

  private static void value(String s, int[] p, int depth) {
    if (depth > 200) throw new IllegalStateException("too deep");
    if (p[0] >= s.length()) throw new IllegalStateException("unexpected end");
    char c = s.charAt(p[0]);
    if (c == '{') {
      p[0]++;
      ws(s, p);
      if (p[0] < s.length() && s.charAt(p[0]) == '}') { p[0]++; return; }
      while (true) {
        ws(s, p);
        string(s, p);
        ws(s, p);
        expect(s, p, ':');
        ws(s, p);
        value(s, p, depth + 1);
        ws(s, p);
        if (p[0] < s.length() && s.charAt(p[0]) == ',') { p[0]++; continue; }
        expect(s, p, '}');
        return;
      }
    } else if (c == '[') {
      p[0]++;
      ws(s, p);
      if (p[0] < s.length() && s.charAt(p[0]) == ']') { p[0]++; return; }
      while (true) {
        ws(s, p);
        value(s, p, depth + 1);
        ws(s, p);
        if (p[0] < s.length() && s.charAt(p[0]) == ',') { p[0]++; continue; }
        expect(s, p, ']');
        return;
      }
    } else if (c == '"') {
      string(s, p);
    } else if (s.startsWith("true", p[0])) {
      p[0] += 4;
    } else if (s.startsWith("false", p[0])) {
      p[0] += 5;
    } else if (s.startsWith("null", p[0])) {
      p[0] += 4;
    } else {
      number(s, p);
    }
  }

  private static void string(String s, int[] p) {
    expect(s, p, '"');
    while (true) {
      if (p[0] >= s.length()) throw new IllegalStateException("unterminated string");
      char c = s.charAt(p[0]++);
      if (c == '"') return;
      if (c < 0x20) throw new IllegalStateException("raw control character in string at " + (p[0] - 1));
      if (c == '\\') {
        if (p[0] >= s.length()) throw new IllegalStateException("bad escape");
        char e = s.charAt(p[0]++);
        if (e == 'u') {
          for (int i = 0; i < 4; i++) {
            if (p[0] >= s.length() || Character.digit(s.charAt(p[0]++), 16) < 0) throw new IllegalStateException("bad \\u escape");
          }
        } else if ("\"\\/bfnrt".indexOf(e) < 0) {
          throw new IllegalStateException("bad escape \\" + e);
        }
      }
    }
  }

  private static void number(String s, int[] p) {
    int start = p[0];
    if (p[0] < s.length() && s.charAt(p[0]) == '-') p[0]++;
    if (p[0] < s.length() && s.charAt(p[0]) == '0') {
      p[0]++;
    } else {
      int d = digits(s, p);
      if (d == 0) throw new IllegalStateException("bad value at " + start);
    }
    if (p[0] < s.length() && s.charAt(p[0]) == '.') {
      p[0]++;
      if (digits(s, p) == 0) throw new IllegalStateException("bad fraction at " + start);
    }
    if (p[0] < s.length() && (s.charAt(p[0]) == 'e' || s.charAt(p[0]) == 'E')) {
      p[0]++;
      if (p[0] < s.length() && (s.charAt(p[0]) == '+' || s.charAt(p[0]) == '-')) p[0]++;
      if (digits(s, p) == 0) throw new IllegalStateException("bad exponent at " + start);
    }
  }

  private static int digits(String s, int[] p) {
    int n = 0;
    while (p[0] < s.length() && s.charAt(p[0]) >= '0' && s.charAt(p[0]) <= '9') { p[0]++; n++; }
    return n;
  }
}
