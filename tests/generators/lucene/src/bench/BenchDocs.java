import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Streams realistic, deterministic Elasticsearch `_source` documents for the read benchmark: web
 * shop access-log events (ECS-like) with nested objects, arrays, numbers, timestamps, ids, IPs, URLs,
 * user agents, order line items and free text drawn from a few thousand words with a Zipf
 * distribution. One document is 1.5 to 3.6 KB (2.47 KB on average; 98% are 1.67 to 3.5 KB).
 */
final class BenchDocs {
  /** Real function words first (the most frequent ranks), then generated pseudo-words. */
  private static final String[] STOP = {
    "the", "of", "and", "to", "a", "in", "is", "for", "that", "on", "with", "as", "it", "was", "by", "at", "be",
    "this", "from", "or", "an", "are", "not", "have", "but", "has", "were", "which", "their", "after", "when",
    "all", "new", "more", "other", "into", "about", "than", "its", "also", "can", "over", "only", "first", "may",
    "we", "you", "they", "he", "she", "will", "would", "there", "been", "one", "two", "some", "what", "if", "so",
    "up", "out", "no", "do", "my", "our", "your", "time", "just", "very", "like", "then", "them", "these", "any"
  };
  private static final String[] ONSETS = {
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "cr", "dr",
    "st", "tr", "ch", "sh", "th", "pl", "gr", "fl", "sp", "qu", ""
  };
  private static final String[] VOWELS = {"a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ou", "y", "ee"};
  private static final String[] CODAS = {"", "", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck", "ng", "x"};

  private static final String[] METHODS = {"GET", "GET", "GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD"};
  private static final int[] STATUS = {200, 200, 200, 200, 200, 200, 200, 200, 200, 201, 204, 301, 302, 304, 304, 400, 401, 403, 404, 404, 429, 500, 502, 503};
  private static final String[] COUNTRIES = {
    "US", "DE", "FR", "GB", "NL", "SE", "PL", "ES", "IT", "BR", "IN", "JP", "CN", "KR", "CA", "AU", "MX", "AR",
    "ZA", "NG", "EG", "TR", "RU", "UA", "CZ", "AT", "CH", "BE", "DK", "NO", "FI", "PT", "IE", "SG", "ID", "VN"
  };
  private static final String[] CONTINENTS = {"NA", "EU", "EU", "EU", "EU", "EU", "EU", "EU", "EU", "SA", "AS", "AS", "AS", "AS", "NA", "OC",
    "NA", "SA", "AF", "AF", "AF", "AS", "EU", "EU", "EU", "EU", "EU", "EU", "EU", "EU", "EU", "EU", "EU", "AS", "AS", "AS"};
  private static final String[] SPECIAL_CITIES = {
    "M\u00fcnchen", "S\u00e3o Paulo", "Z\u00fcrich", "Malm\u00f6", "Krak\u00f3w", "M\u00e1laga", "Montr\u00e9al",
    "\u6771\u4eac", "\u041c\u043e\u0441\u043a\u0432\u0430", "Reykjav\u00edk", "\u0130stanbul", "Bogot\u00e1"
  };
  private static final String[] OS = {"Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64",
    "iPhone; CPU iPhone OS 17_1 like Mac OS X", "Linux; Android 14; Pixel 8", "Linux; Android 13; SM-S918B", "iPad; CPU OS 16_6 like Mac OS X"};
  private static final String[] OS_NAMES = {"Windows", "Mac OS X", "Linux", "iOS", "Android", "Android", "iPadOS"};
  private static final String[] BROWSERS = {
    "Chrome|AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.%d.%d Safari/537.36",
    "Firefox|Gecko/20100101 Firefox/121.%d",
    "Safari|AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.%d Mobile/15E148 Safari/604.1",
    "Edge|AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.%d.%d Safari/537.36 Edg/119.0.2151.%d",
    "curl|curl/8.%d.%d", "python-requests|python-requests/2.%d.%d", "Googlebot|Googlebot/2.1 (+http://www.google.com/bot.html)"
  };
  private static final String[] ROLES = {"customer", "guest", "admin", "support", "partner", "beta-tester"};
  private static final String[] CURRENCIES = {"EUR", "EUR", "USD", "USD", "USD", "GBP", "SEK", "PLN", "JPY", "BRL"};
  private static final String[] REGIONS = {"eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1", "sa-east-1"};
  private static final String[] OUTCOMES = {"success", "success", "success", "success", "failure", "unknown"};
  private static final String[] LEVELS = {"info", "info", "info", "info", "info", "warn", "warn", "error", "debug"};
  private static final String[] PAYMENT = {"card", "card", "card", "paypal", "invoice", "klarna", "apple_pay", "gift_card"};
  private static final String[] ACCEPT = {"application/json", "*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "application/json, text/plain, */*", "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"};
  private static final String[] LANGS = {"en-US,en;q=0.9", "de-DE,de;q=0.9,en;q=0.8", "fr-FR,fr;q=0.9", "en-GB,en;q=0.9", "nl-NL,nl;q=0.9,en;q=0.8",
    "sv-SE,sv;q=0.9", "pl-PL,pl;q=0.9,en-US;q=0.8", "es-ES,es;q=0.9", "it-IT,it;q=0.9", "pt-BR,pt;q=0.9,en;q=0.8", "ja-JP,ja;q=0.9"};
  private static final String[] BUILDS = {"3f9c2e1", "3f9c2e1", "a41b7d0", "a41b7d0", "a41b7d0", "c0ffee5", "77d1e0b"};
  private static final String[] STEP_NAMES = {"gateway", "auth", "rate_limit", "cart.load", "pricing", "inventory.check", "recommendations",
    "db.query", "db.query", "db.query", "cache.get", "cache.get", "cache.set", "search", "render", "session.load", "feature_flags",
    "payment.authorize", "shipping.quote", "tax.compute", "audit.write", "queue.publish", "db.update", "cache.invalidate"};
  private static final String[] STEP_SERVICES = {"edge-proxy", "auth-svc", "edge-proxy", "cart-svc", "pricing-svc", "inventory-svc", "reco-svc",
    "postgres", "postgres", "postgres", "redis", "redis", "redis", "search-svc", "frontend", "session-svc", "flags-svc", "payment-svc",
    "shipping-svc", "tax-svc", "audit-svc", "kafka", "postgres", "redis"};

  final SplittableRandom r;
  final String[] vocab;
  private final double[] cdf;
  final String[] firstNames;
  final String[] lastNames;
  final String[] domains;
  final String[] hosts;
  /** The "agent" and "host" objects of each host, with a trailing comma. */
  final String[] hostJson;
  final String[] clientIps;
  /** "geo" objects (a city with its country and location). */
  final String[] cityJson;
  final String[] paths;
  final String[] referrers;
  final String[] loggers;
  /** "user_agent" objects. */
  final String[] userAgents;
  final String[] skus;
  final String[] skuNames;
  final String[] statements;
  final String[][] templates;
  long tsMillis = 1_704_067_200_000L; // 2024-01-01T00:00:00Z
  long orderSeq = 1_000_000;

  BenchDocs(long seed, int vocabSize) {
    SplittableRandom g = new SplittableRandom(seed ^ 0x5DEECE66DL);
    vocab = makeVocab(g, vocabSize);
    // Zipf, s = 1.1: "the" is about 9% of the words, the tail is long
    cdf = new double[vocab.length];
    double sum = 0;
    for (int i = 0; i < vocab.length; i++) {
      sum += 1.0 / Math.pow(i + 1, 1.1);
      cdf[i] = sum;
    }
    for (int i = 0; i < cdf.length; i++) cdf[i] /= sum;
    firstNames = names(g, 400, 1, 3);
    lastNames = names(g, 900, 2, 3);
    String[] d = names(g, 150, 1, 3);
    for (int i = 0; i < d.length; i++) d[i] = d[i].toLowerCase() + (i % 5 == 0 ? ".io" : i % 3 == 0 ? ".net" : ".com");
    domains = d;
    hosts = new String[48];
    hostJson = new String[hosts.length];
    for (int i = 0; i < hosts.length; i++) {
      hosts[i] = String.format("web-%03d", i * 7 + 3);
      String region = REGIONS[i % REGIONS.length];
      StringBuilder agentId = new StringBuilder();
      for (int k = 0; k < 32; k++) agentId.append(Character.forDigit(g.nextInt(16), 16));
      hostJson[i] = "\"agent\":{\"type\":\"filebeat\",\"version\":\"8.11." + (i % 4) + "\",\"id\":\"" + agentId
          + "\"},\"host\":{\"name\":\"" + hosts[i] + "\",\"ip\":[\"10." + (i % 4) + "." + g.nextInt(32) + "." + (1 + g.nextInt(254))
          + "\"],\"os\":{\"kernel\":\"6.1.0-1" + (i % 3) + "-cloud-amd64\"}},\"cloud\":{\"availability_zone\":\"" + region
          + "abc".charAt(i % 3) + "\"},";
    }
    clientIps = new String[50_000];
    for (int i = 0; i < clientIps.length; i++) {
      clientIps[i] = g.nextInt(10) == 0
          ? "2001:db8:" + Integer.toHexString(g.nextInt(65536)) + ":" + Integer.toHexString(g.nextInt(65536)) + "::" + Integer.toHexString(1 + g.nextInt(65535))
          : (1 + g.nextInt(223)) + "." + g.nextInt(256) + "." + g.nextInt(256) + "." + (1 + g.nextInt(254));
    }
    String[] cityNames = names(g, 600, 2, 3);
    for (int i = 0; i < SPECIAL_CITIES.length; i++) cityNames[i * 37] = SPECIAL_CITIES[i];
    cityJson = new String[cityNames.length];
    for (int i = 0; i < cityNames.length; i++) {
      int country = Math.min(COUNTRIES.length - 1, (int) (COUNTRIES.length * Math.pow(g.nextDouble(), 2.0)));
      cityJson[i] = String.format("{\"continent_code\":\"%s\",\"country_iso_code\":\"%s\",\"city_name\":\"%s\",\"location\":{\"lat\":%.4f,\"lon\":%.4f}}",
          CONTINENTS[country], COUNTRIES[country], cityNames[i], g.nextDouble() * 140 - 60, g.nextDouble() * 360 - 180);
    }
    paths = new String[3000];
    String[] apiRoots = {"/api/v2/", "/api/v1/", "/shop/", "/catalog/", "/account/", "/static/"};
    for (int i = 0; i < paths.length; i++) {
      StringBuilder p = new StringBuilder(apiRoots[(int) (apiRoots.length * Math.pow(g.nextDouble(), 2.0))]);
      int segs = 1 + g.nextInt(3);
      for (int k = 0; k < segs; k++) {
        if (k > 0) p.append('/');
        p.append(k == segs - 1 && g.nextInt(3) == 0 ? Integer.toString(g.nextInt(100_000)) : pseudo(g, 1 + g.nextInt(2)));
      }
      paths[i] = p.toString();
    }
    referrers = new String[400];
    for (int i = 0; i < referrers.length; i++) {
      referrers[i] = i % 4 == 0 ? "https://www.google.com/" : "https://" + domains[g.nextInt(domains.length)] + "/" + pseudo(g, 1 + g.nextInt(2));
    }
    loggers = new String[40];
    for (int i = 0; i < loggers.length; i++) loggers[i] = "shop." + pseudo(g, 1 + g.nextInt(2)) + "." + pseudo(g, 2);
    userAgents = new String[300];
    for (int i = 0; i < userAgents.length; i++) {
      String[] nb = BROWSERS[(int) (BROWSERS.length * Math.pow(g.nextDouble(), 1.7))].split("\\|");
      int os = g.nextInt(OS.length);
      String b = String.format(nb[1], g.nextInt(6000), g.nextInt(200), g.nextInt(100));
      String orig = nb[0].startsWith("curl") || nb[0].startsWith("python") ? b : "Mozilla/5.0 (" + OS[os] + ") " + b;
      userAgents[i] = "{\"original\":\"" + orig + "\",\"name\":\"" + nb[0] + "\",\"os\":{\"name\":\"" + OS_NAMES[os] + "\"}}";
    }
    skus = new String[5000];
    skuNames = new String[skus.length];
    for (int i = 0; i < skus.length; i++) {
      skus[i] = String.format("SKU-%c%c-%05d", (char) ('A' + g.nextInt(26)), (char) ('A' + g.nextInt(26)), g.nextInt(100000));
      StringBuilder n = new StringBuilder();
      int w = 2 + g.nextInt(4);
      for (int k = 0; k < w; k++) {
        if (k > 0) n.append(' ');
        n.append(vocab[STOP.length + g.nextInt(vocab.length - STOP.length)]);
      }
      skuNames[i] = n.toString();
    }
    statements = new String[60];
    for (int i = 0; i < statements.length; i++) {
      String table = pseudo(g, 2) + "s";
      switch (i % 4) {
        case 0: statements[i] = "SELECT id, name, price, updated_at FROM " + table + " WHERE id = $1"; break;
        case 1: statements[i] = "SELECT * FROM " + table + " WHERE user_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 20"; break;
        case 2: statements[i] = "UPDATE " + table + " SET quantity = quantity - $1, updated_at = now() WHERE sku = $2"; break;
        default: statements[i] = "INSERT INTO " + table + " (id, user_id, payload, created_at) VALUES ($1, $2, $3, now())";
      }
    }
    templates = new String[150][];
    String[] slots = {"{method}", "{path}", "{status}", "{user}", "{ms}", "{n}", "{sku}"};
    for (int i = 0; i < templates.length; i++) {
      int parts = 2 + g.nextInt(3);
      String[] t = new String[parts * 2];
      for (int k = 0; k < parts; k++) {
        StringBuilder w = new StringBuilder(k == 0 ? "" : " ");
        int nw = 1 + g.nextInt(3);
        for (int j = 0; j < nw; j++) {
          if (j > 0) w.append(' ');
          w.append(vocab[(int) (400 * Math.pow(g.nextDouble(), 2.0))]);
        }
        w.append(k == parts - 1 ? "" : " ");
        t[2 * k] = w.toString();
        t[2 * k + 1] = k == parts - 1 ? "" : slots[g.nextInt(slots.length)];
      }
      templates[i] = t;
    }
    r = new SplittableRandom(seed);
  }

  private static String pseudo(SplittableRandom g, int syl) {
    return syllables(g, syl);
  }

  private static String syllables(SplittableRandom g, int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(ONSETS[g.nextInt(ONSETS.length)]).append(VOWELS[g.nextInt(VOWELS.length)]);
      if (i == n - 1 || g.nextInt(3) == 0) sb.append(CODAS[g.nextInt(CODAS.length)]);
    }
    return sb.toString();
  }

  private static String[] makeVocab(SplittableRandom g, int size) {
    Set<String> words = new LinkedHashSet<>(Arrays.asList(STOP));
    // frequent words are short (Zipf's law of abbreviation): the syllable count grows with the rank
    while (words.size() < size) {
      int rank = words.size();
      int maxSyl = rank < 200 ? 2 : rank < 1000 ? 3 : 4;
      words.add(syllables(g, 1 + g.nextInt(maxSyl)));
    }
    return words.toArray(new String[0]);
  }

  private static String[] names(SplittableRandom g, int n, int minSyl, int maxSyl) {
    Set<String> s = new LinkedHashSet<>();
    while (s.size() < n) {
      String w = syllables(g, minSyl + g.nextInt(maxSyl - minSyl + 1));
      s.add(Character.toUpperCase(w.charAt(0)) + w.substring(1));
    }
    return s.toArray(new String[0]);
  }

  String word() {
    double u = r.nextDouble();
    int i = Arrays.binarySearch(cdf, u);
    if (i < 0) i = -i - 1;
    return vocab[Math.min(i, vocab.length - 1)];
  }

  /** Sentences of skewed words until sb has grown by about n chars. */
  void text(StringBuilder sb, int n) {
    int end = sb.length() + n;
    boolean start = true;
    while (sb.length() < end) {
      String w = word();
      if (start) {
        sb.append(Character.toUpperCase(w.charAt(0))).append(w, 1, w.length());
        start = false;
      } else {
        sb.append(w);
      }
      int p = r.nextInt(100);
      if (p < 7) {
        sb.append(". ");
        start = true;
      } else if (p < 11) {
        sb.append(", ");
      } else if (p == 11) {
        sb.append(" \\\"").append(word()).append(' ').append(word()).append("\\\" ");
      } else if (p == 12) {
        sb.append(' ').append(r.nextInt(10000)).append(' ');
      } else {
        sb.append(' ');
      }
    }
    sb.append('.');
  }

  private void hex(StringBuilder sb, int n) {
    long v = 0;
    for (int i = 0; i < n; i++) {
      if ((i & 15) == 0) v = r.nextLong();
      sb.append(Character.forDigit((int) (v & 15), 16));
      v >>>= 4;
    }
  }

  private static void pad(StringBuilder sb, int v, int width) {
    String s = Integer.toString(v);
    for (int i = s.length(); i < width; i++) sb.append('0');
    sb.append(s);
  }

  static void isoTime(StringBuilder sb, long millis) {
    long days = Math.floorDiv(millis, 86_400_000L);
    long ms = Math.floorMod(millis, 86_400_000L);
    java.time.LocalDate d = java.time.LocalDate.ofEpochDay(days);
    pad(sb, d.getYear(), 4);
    sb.append('-');
    pad(sb, d.getMonthValue(), 2);
    sb.append('-');
    pad(sb, d.getDayOfMonth(), 2);
    sb.append('T');
    pad(sb, (int) (ms / 3_600_000), 2);
    sb.append(':');
    pad(sb, (int) (ms / 60_000 % 60), 2);
    sb.append(':');
    pad(sb, (int) (ms / 1000 % 60), 2);
    sb.append('.');
    pad(sb, (int) (ms % 1000), 3);
    sb.append('Z');
  }

  private void money(StringBuilder sb, long cents) {
    sb.append(cents / 100).append('.');
    pad(sb, (int) (cents % 100), 2);
  }

  /** The values a document also has as indexed/doc-values fields. */
  static final class Meta {
    long ts;
    String host;
    int status;
  }

  /** An index in [0, n) where small indexes are much more likely (a power law). */
  int skewed(int n, double power) {
    return Math.min(n - 1, (int) (n * Math.pow(r.nextDouble(), power)));
  }

  private void step(StringBuilder sb, int k) {
    int s = STEP_NAMES.length;
    int i = k < 3 ? k : 3 + skewed(s - 3, 1.6);
    sb.append("{\"name\":\"").append(STEP_NAMES[i]).append("\",\"service\":\"").append(STEP_SERVICES[i % STEP_SERVICES.length])
        .append("\",\"took_ms\":").append(skewed(400, 3.0)).append(",\"status\":\"").append(r.nextInt(40) == 0 ? "error" : "ok").append('"');
    if (STEP_NAMES[i].startsWith("db.")) sb.append(",\"statement\":\"").append(statements[skewed(statements.length, 2.0)]).append('"');
    if (STEP_NAMES[i].startsWith("cache.")) sb.append(",\"hit\":").append(r.nextInt(3) > 0);
    sb.append(",\"attempt\":").append(r.nextInt(30) == 0 ? 2 : 1).append('}');
  }

  // Log shippers send batches from one host, and a visitor makes several requests in a row: the
  // host and the visitor (client ip, place, browser, user, session) carry over to the next document
  // with some probability. Everything else is drawn per document.
  private int hostIx = 0;
  private int visitor = -1;
  private int clientIx, cityIx, uaIx, langIx, uid;

  private void nextVisitor() {
    clientIx = skewed(clientIps.length, 3.0);
    cityIx = (clientIx * 31) % cityJson.length;
    uaIx = skewed(userAgents.length, 2.5);
    langIx = (cityIx + skewed(3, 2.0)) % LANGS.length;
    uid = r.nextInt(10) < 7 ? skewed(200_000, 2.0) : -1;
    visitor++;
  }

  /** One `_source` of about `target` bytes (at least its structured part, about 1.2 KB). */
  byte[] next(Meta meta, int target) {
    StringBuilder sb = new StringBuilder(target + 512);
    tsMillis += 1 + r.nextInt(40);
    long ts = tsMillis;
    if (visitor < 0 || r.nextInt(10) == 0) hostIx = skewed(hosts.length, 1.5);
    if (visitor < 0 || r.nextInt(10) < 4) nextVisitor();
    String host = hosts[hostIx];
    int status = STATUS[r.nextInt(STATUS.length)];
    meta.ts = ts;
    meta.host = host;
    meta.status = status;
    String method = METHODS[r.nextInt(METHODS.length)];

    sb.append("{\"@timestamp\":\"");
    isoTime(sb, ts);
    sb.append("\",\"data_stream\":{\"type\":\"logs\",\"dataset\":\"shop.access\",\"namespace\":\"production\"},")
        .append("\"event\":{\"kind\":\"event\",\"category\":[\"web\"],\"type\":[\"access\"],\"dataset\":\"shop.access\",\"module\":\"nginx\",\"duration\":")
        .append(50_000L + skewed(2_000_000_000, 4.0)).append(",\"outcome\":\"")
        .append(status < 400 ? "success" : OUTCOMES[r.nextInt(OUTCOMES.length)]).append("\"},");
    sb.append("\"log\":{\"level\":\"").append(status >= 500 ? "error" : LEVELS[r.nextInt(LEVELS.length)])
        .append("\",\"logger\":\"").append(loggers[skewed(loggers.length, 2.0)]).append("\",\"file\":{\"path\":\"/var/log/shop/access.log\"},\"offset\":")
        .append(ts % 100_000_000L * 3).append("},");
    sb.append("\"ecs\":{\"version\":\"8.11.0\"},").append(hostJson[hostIx]);

    sb.append("\"client\":{\"ip\":\"").append(clientIps[clientIx]).append("\",\"port\":").append(1024 + r.nextInt(64000))
        .append(",\"geo\":").append(cityJson[cityIx]).append("},");

    int pathIx = skewed(paths.length, 2.5);
    String path = paths[pathIx];
    String domain = domains[pathIx % 3 == 0 ? 0 : skewed(domains.length, 3.0)];
    String query = pathIx % 3 == 1 ? "" : "id=" + skewed(1_000_000, 2.0) + "&ref=" + vocab[skewed(300, 1.5)]
        + (pathIx % 5 == 0 ? "&page=" + (1 + skewed(40, 3.0)) : "");
    StringBuilder txId = new StringBuilder(16);
    hex(txId, 16);
    sb.append("\"http\":{\"version\":\"").append(hostIx % 4 == 0 ? "2" : "1.1").append("\",\"request\":{\"id\":\"").append(txId)
        .append("\",\"method\":\"").append(method).append("\",\"bytes\":").append(method.equals("GET") ? 0 : 100 + r.nextInt(9000))
        ;
    if (uaIx % 2 == 0) {
      sb.append(",\"headers\":{\"accept\":\"").append(ACCEPT[(uaIx + skewed(ACCEPT.length, 3.0)) % ACCEPT.length])
          .append("\",\"accept_language\":\"").append(LANGS[langIx]).append("\",\"cache_control\":\"")
          .append(r.nextInt(4) == 0 ? "no-cache" : "max-age=0").append("\"}");
    }
    if (r.nextInt(3) > 0) sb.append(",\"referrer\":\"").append(referrers[skewed(referrers.length, 2.5)]).append('"');
    sb.append("},\"response\":{\"status_code\":").append(status).append(",\"bytes\":").append(200 + skewed(500_000, 2.5))
        .append(",\"mime_type\":\"").append(pathIx % 6 == 0 ? "text/html; charset=utf-8" : "application/json").append("\"}},");
    sb.append("\"url\":{\"scheme\":\"https\",\"domain\":\"").append(domain).append("\",\"port\":443,\"path\":\"").append(path).append('"');
    if (!query.isEmpty()) sb.append(",\"query\":\"").append(query).append('"');
    sb.append(",\"full\":\"https://").append(domain).append(path);
    if (!query.isEmpty()) sb.append('?').append(query);
    sb.append("\"},\"user_agent\":").append(userAgents[uaIx]).append(',');

    if (uid >= 0) {
      String fn = firstNames[uid % firstNames.length];
      String ln = lastNames[(uid / 7) % lastNames.length];
      sb.append("\"user\":{\"id\":\"u-").append(uid).append("\",\"name\":\"").append(fn).append(' ').append(ln)
          .append("\",\"email\":\"").append(fn.toLowerCase()).append('.').append(ln.toLowerCase()).append('@')
          .append(domains[uid % domains.length]).append("\",\"roles\":[\"").append(ROLES[uid % 5 == 0 ? uid % ROLES.length : 0]).append('"');
      if (uid % 11 == 0) sb.append(",\"").append(ROLES[(uid / 11) % ROLES.length]).append('"');
      sb.append("],\"created\":\"");
      isoTime(sb, 1_500_000_000_000L + uid * 997_000L);
      sb.append("\"},\"session\":{\"id\":\"").append(Long.toHexString(0x9E3779B97F4A7C15L * (visitor + 1)))
          .append("\",\"new\":").append(r.nextInt(20) == 0).append("},");
    }
    if (r.nextInt(10) < 3) {
      int items = 1 + (int) Math.min(6, Math.abs(r.nextGaussian()) * 2.0);
      String cur = CURRENCIES[cityIx % CURRENCIES.length];
      long total = 0;
      sb.append("\"order\":{\"id\":\"ORD-2024-").append(orderSeq++).append("\",\"currency\":\"").append(cur)
          .append("\",\"payment\":{\"method\":\"").append(PAYMENT[r.nextInt(PAYMENT.length)]).append("\",\"status\":\"")
          .append(r.nextInt(25) == 0 ? "declined" : "authorized").append("\"},\"items\":[");
      for (int i = 0; i < items; i++) {
        int sku = skewed(skus.length, 2.5);
        int qty = 1 + (r.nextInt(5) == 0 ? r.nextInt(6) : 0);
        long unit = 99 + (sku * 7919L) % 25_000;
        total += unit * qty;
        if (i > 0) sb.append(',');
        sb.append("{\"sku\":\"").append(skus[sku]).append("\",\"name\":\"").append(skuNames[sku]).append("\",\"qty\":").append(qty)
            .append(",\"unit_price\":");
        money(sb, unit);
        sb.append(",\"categories\":[\"").append(vocab[STOP.length + sku % 120]).append("\",\"").append(vocab[STOP.length + 120 + sku % 37])
            .append("\"],\"in_stock\":").append(sku % 13 != 0).append('}');
      }
      sb.append("],\"total\":");
      money(sb, total);
      sb.append(",\"discount_pct\":").append(r.nextInt(4) == 0 ? 5 * r.nextInt(7) : 0).append("},");
    }
    sb.append("\"trace\":{\"id\":\"");
    hex(sb, 32);
    sb.append("\"},\"transaction\":{\"id\":\"").append(txId).append("\"},\"labels\":{\"env\":\"").append(hostIx % 9 == 8 ? "staging" : "prod")
        .append("\",\"build\":\"").append(BUILDS[hostIx % BUILDS.length]).append("\"},\"tags\":[\"shop\"");
    int nt = r.nextInt(3);
    for (int i = 0; i < nt; i++) sb.append(",\"").append(vocab[STOP.length + skewed(200, 2.0)]).append('"');
    sb.append("],");
    if (r.nextBoolean()) {
      sb.append("\"metrics\":{\"cpu_pct\":").append(skewed(1000, 1.5) / 1000.0).append(",\"mem_bytes\":")
          .append(200_000_000L + skewed(1_800_000_000, 1.5)).append(",\"cache_hit\":").append(r.nextBoolean()).append("},");
    }
    // a log-style message from a template, then the processing steps (like APM spans) that bring the
    // document to its target size, and on about a quarter of the documents a free-text note
    sb.append("\"message\":\"");
    message(sb, method, path, status, uid);
    sb.append("\",");
    int textLen = r.nextInt(4) == 0 ? 60 + r.nextInt(400) : 0;
    int stepsEnd = target - textLen - 20;
    sb.append("\"steps\":[");
    for (int k = 0; k == 0 || sb.length() < stepsEnd; k++) {
      if (k > 0) sb.append(',');
      step(sb, k);
    }
    sb.append(']');
    if (textLen > 0) {
      sb.append(",\"note\":\"");
      text(sb, Math.max(20, target - sb.length() - 3));
      sb.append('"');
    }
    sb.append('}');
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** A log message: one of a few hundred templates with its slots filled. */
  private void message(StringBuilder sb, String method, String path, int status, int uid) {
    String[] t = templates[skewed(templates.length, 3.0)];
    for (String part : t) {
      switch (part) {
        case "{method}": sb.append(method); break;
        case "{path}": sb.append(path); break;
        case "{status}": sb.append(status); break;
        case "{user}": sb.append(uid < 0 ? "anonymous" : "u-" + uid); break;
        case "{ms}": sb.append(skewed(5000, 3.0)); break;
        case "{n}": sb.append(skewed(1000, 2.0)); break;
        case "{sku}": sb.append(skus[skewed(skus.length, 2.5)]); break;
        default: sb.append(part);
      }
    }
  }

  /** A target size between 1.5 and 3.5 KB, about 2.4 KB on average. */
  int nextTarget() {
    return 1500 + (int) (2000 * Math.pow(r.nextDouble(), 1.4));
  }
}
