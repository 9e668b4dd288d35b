import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.index.SegmentCommitInfo;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.util.Bits;

/**
 * Cases l4_releases / l5_releases: the one-document indexes of every Lucene 3.0/3.6.2, 4.x and 5.x
 * release from hakanai/luceneupgrader, read by Lucene 4.10.4 (3.x and 4.x) or 5.5.5 with its
 * backward codecs (5.x). One line per zip in <dir>/expected.ndjson: the commit's format, each
 * segment's codec and `.si` header, and the stored fields of the live documents.
 */
public final class ReleasesDump {
  public static void main(String[] args) throws Exception {
    Path dir = Paths.get(args[0]);
    List<Path> zips = new ArrayList<>();
    try (var s = Files.list(dir)) {
      s.filter(p -> p.toString().endsWith(".zip")).sorted().forEach(zips::add);
    }
    StringBuilder out = new StringBuilder();
    for (Path zip : zips) out.append(Json.write(dump(zip)).replace("\n", "").replaceAll(",\\s+", ",")).append('\n');
    Files.write(dir.resolve("expected.ndjson"), out.toString().getBytes(StandardCharsets.UTF_8));
    System.out.println(dir.getFileName() + ": " + zips.size() + " zips");
  }

  static Map<String, Object> dump(Path zip) throws IOException {
    Path tmp = Files.createTempDirectory("lucene-release");
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        if (!e.isDirectory()) Files.copy(in, tmp.resolve(Paths.get(e.getName()).getFileName()));
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("zip", zip.getFileName().toString());
    try (Directory d = OldCompat.open(tmp)) {
      SegmentInfos sis = OldCompat.readCommit(d);
      m.put("segments_file", sis.getSegmentsFileName());
      m.put("segments_header", OldGen.header(d, sis.getSegmentsFileName()));
      List<Object> segs = new ArrayList<>();
      List<Object> docs = new ArrayList<>();
      for (SegmentCommitInfo sci : sis) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("name", sci.info.name);
        s.put("codec", sci.info.getCodec().getName());
        s.put("version", String.valueOf(sci.info.getVersion()));
        s.put("compound", sci.info.getUseCompoundFile());
        s.put("max_doc", OldCompat.maxDoc(sci));
        s.put("del_count", sci.getDelCount());
        String si = sci.info.name + ".si";
        s.put("si_header", java.util.Arrays.asList(d.listAll()).contains(si) ? OldGen.header(d, si) : "no .si");
        segs.add(s);
      }
      m.put("segments", segs);
      try (DirectoryReader r = DirectoryReader.open(d)) {
        for (SegmentReader sr : OldCompat.segments(r)) {
          Bits live = sr.getLiveDocs();
          for (int i = 0; i < sr.maxDoc(); i++) {
            if (live != null && !live.get(i)) continue;
            Document doc = sr.document(i);
            Map<String, Object> fields = new TreeMap<>();
            for (IndexableField f : doc.getFields()) fields.put(f.name(), f.stringValue());
            docs.add(fields);
          }
        }
      }
      m.put("docs", docs);
    } finally {
      try (var s = Files.list(tmp)) {
        for (Path p : (Iterable<Path>) s::iterator) Files.delete(p);
      }
      Files.delete(tmp);
    }
    return m;
  }
}
