// Writes a small snapshot repository with REAL Elasticsearch 5.6.16 (in-process node, local
// transport, no HTTP), holding multi-type indices whose types share _ids, and prints every live
// document the node returns (ground truth) and each index's mappings.
//
//   java -cp <jars>:<classes> MultiType <home dir> <repository dir> <expected.ndjson> <mappings.json>
//
// Indices (all with 0 replicas):
//   logs     2 shards, types error + access. ids e1..e6 only in error (e6 deleted), a1..a6 only in
//            access (a6 indexed twice: the second source wins), s1..s8 in BOTH types with different
//            sources, x1 in both types with custom routing (r1 for error, r2 for access).
//   metrics  1 shard, types cpu + mem, ids m1..m3 in both types.
//   single   1 shard, one type doc, ids d1..d5 (no rule needed).
import java.nio.file.*;
import java.util.*;

import org.elasticsearch.action.search.SearchResponse;
import org.elasticsearch.client.Client;
import org.elasticsearch.cluster.metadata.MappingMetaData;
import org.elasticsearch.common.collect.ImmutableOpenMap;
import org.elasticsearch.search.SearchHitField;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.unit.TimeValue;
import org.elasticsearch.common.xcontent.XContentBuilder;
import org.elasticsearch.common.xcontent.XContentFactory;
import org.elasticsearch.common.xcontent.XContentType;
import org.elasticsearch.index.query.QueryBuilders;
import org.elasticsearch.node.Node;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.snapshots.SnapshotState;

public class MultiType {
    public static void main(String[] args) throws Exception {
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path repo = Paths.get(args[1]).toAbsolutePath();
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.repo", repo.toString())
            .put("cluster.name", "es5-multitype")
            .put("node.name", "gen")
            .put("transport.type", "local")
            .put("http.enabled", false)
            .put("discovery.type", "single-node")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        Node node = new Node(settings);
        node.start();
        try {
            run(node.client(), repo, Paths.get(args[2]), Paths.get(args[3]));
        } finally {
            node.close();
        }
    }

    static void create(Client c, String index, int shards, String... typesAndMappings) {
        var req = c.admin().indices().prepareCreate(index).setSettings(Settings.builder()
            .put("index.number_of_shards", shards).put("index.number_of_replicas", 0));
        for (int i = 0; i < typesAndMappings.length; i += 2) {
            req.addMapping(typesAndMappings[i], typesAndMappings[i + 1], XContentType.JSON);
        }
        req.get();
    }

    static void put(Client c, String index, String type, String id, String routing, String source) {
        var r = c.prepareIndex(index, type, id).setSource(source, XContentType.JSON);
        if (routing != null) r.setRouting(routing);
        r.get();
    }

    static void run(Client c, Path repo, Path expected, Path mappingsOut) throws Exception {
        create(c, "logs", 2,
            "error", "{\"error\":{\"properties\":{\"message\":{\"type\":\"text\"},\"level\":{\"type\":\"keyword\"}}}}",
            "access", "{\"access\":{\"properties\":{\"path\":{\"type\":\"keyword\"},\"status\":{\"type\":\"integer\"}}}}");
        create(c, "metrics", 1,
            "cpu", "{\"cpu\":{\"properties\":{\"load\":{\"type\":\"float\"}}}}",
            "mem", "{\"mem\":{\"properties\":{\"used\":{\"type\":\"long\"}}}}");
        create(c, "single", 1,
            "doc", "{\"doc\":{\"properties\":{\"title\":{\"type\":\"text\"}}}}");
        c.admin().cluster().prepareHealth().setWaitForGreenStatus().get();

        for (int i = 1; i <= 6; i++) {
            put(c, "logs", "error", "e" + i, null, "{\"message\":\"error only " + i + "\",\"level\":\"ERROR\"}");
            put(c, "logs", "access", "a" + i, null, "{\"path\":\"/only/" + i + "\",\"status\":200}");
        }
        for (int i = 1; i <= 8; i++) {
            put(c, "logs", "error", "s" + i, null, "{\"message\":\"shared " + i + "\",\"level\":\"WARN\"}");
            put(c, "logs", "access", "s" + i, null, "{\"path\":\"/shared/" + i + "\",\"status\":" + (400 + i) + "}");
        }
        put(c, "logs", "error", "x1", "r1", "{\"message\":\"routed\",\"level\":\"ERROR\"}");
        put(c, "logs", "access", "x1", "r2", "{\"path\":\"/routed\",\"status\":500}");
        c.admin().indices().prepareFlush("logs").get();
        c.prepareDelete("logs", "error", "e6").get();
        put(c, "logs", "access", "a6", null, "{\"path\":\"/only/6\",\"status\":304}");
        for (int i = 1; i <= 3; i++) {
            put(c, "metrics", "cpu", "m" + i, null, "{\"load\":0." + i + "}");
            put(c, "metrics", "mem", "m" + i, null, "{\"used\":" + (1000 * i) + "}");
        }
        for (int i = 1; i <= 5; i++) {
            put(c, "single", "doc", "d" + i, null, "{\"title\":\"single " + i + "\"}");
        }
        c.admin().indices().prepareRefresh().get();
        c.admin().indices().prepareFlush().setForce(true).setWaitIfOngoing(true).get();

        c.admin().cluster().preparePutRepository("repo").setType("fs").setSettings(Settings.builder()
            .put("location", repo.toString()).put("compress", false)).get();
        var snap = c.admin().cluster().prepareCreateSnapshot("repo", "snap")
            .setWaitForCompletion(true).setIncludeGlobalState(false)
            .setIndices("logs", "metrics", "single").get();
        if (snap.getSnapshotInfo().state() != SnapshotState.SUCCESS) {
            throw new IllegalStateException("snapshot failed: " + snap.getSnapshotInfo().reason());
        }

        // Ground truth: every live document the node returns, per shard.
        List<String[]> rows = new ArrayList<>();
        for (String index : new String[] {"logs", "metrics", "single"}) {
            int shards = "logs".equals(index) ? 2 : 1;
            for (int s = 0; s < shards; s++) {
                SearchResponse r = c.prepareSearch(index).setPreference("_shards:" + s)
                    .setQuery(QueryBuilders.matchAllQuery()).setScroll(TimeValue.timeValueMinutes(1))
                    .setSize(100).get();
                while (r.getHits().getHits().length > 0) {
                    for (SearchHit h : r.getHits().getHits()) {
                        SearchHitField routing = h.getFields().get("_routing");
                        rows.add(new String[] {index, Integer.toString(s), h.getType(), h.getId(),
                            routing == null ? null : routing.getValue().toString(), h.getSourceAsString()});
                    }
                    r = c.prepareSearchScroll(r.getScrollId()).setScroll(TimeValue.timeValueMinutes(1)).get();
                }
            }
        }
        rows.sort(Comparator.comparing((String[] a) -> a[0]).thenComparing(a -> a[2]).thenComparing(a -> a[3]));
        StringBuilder out = new StringBuilder();
        for (String[] a : rows) {
            XContentBuilder b = XContentFactory.jsonBuilder().startObject()
                .field("index", a[0]).field("shard", Integer.parseInt(a[1])).field("type", a[2])
                .field("id", a[3]).field("routing", a[4]).field("source", a[5]).endObject();
            out.append(b.string()).append('\n');
        }
        Files.write(expected, out.toString().getBytes("UTF-8"));

        XContentBuilder m = XContentFactory.jsonBuilder().prettyPrint().startObject();
        for (String index : new String[] {"logs", "metrics", "single"}) {
            ImmutableOpenMap<String, MappingMetaData> types =
                c.admin().indices().prepareGetMappings(index).get().getMappings().get(index);
            m.startObject(index);
            for (var t : new TreeSet<>(Arrays.asList(types.keys().toArray(String.class)))) {
                m.field(t, types.get(t).sourceAsMap());
            }
            m.endObject();
        }
        m.endObject();
        Files.write(mappingsOut, (m.string() + "\n").getBytes("UTF-8"));
    }
}
