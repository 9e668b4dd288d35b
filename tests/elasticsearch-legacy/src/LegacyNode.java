import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.elasticsearch.Version;
import org.elasticsearch.action.admin.cluster.node.info.NodeInfo;
import org.elasticsearch.node.Node;
import org.elasticsearch.node.NodeBuilder;

/**
 * A real single-node Elasticsearch 1.7 or 2.4 in this JVM, for making test data. The same source
 * compiles against both jars: `NodeBuilder.getSettings()` returns `ImmutableSettings.Builder` in
 * 1.x and `Settings.Builder` in 2.x, and both have `put(String, String)`.
 *
 * The node is `NodeBuilder ... local(true)` (local transport and discovery, no TCP transport) with
 * its own HTTP module (Netty 3, inside the one jar) on 127.0.0.1 and a free port, so the
 * generator drives it over HTTP like the newer nodes. Prints one line
 * {"url": "http://127.0.0.1:<port>", "version": "<version>"} once the node has started, then
 * runs until killed (or until its parent process goes away). The node logs through
 * java.util.logging (no log4j on the class path), which writes to stderr.
 *
 * Usage: LegacyNode <home dir> <repo dir>
 */
public final class LegacyNode {
    public static void main(String[] argv) throws Exception {
        if (argv.length != 2) {
            System.err.println("usage: LegacyNode <home dir> <repo dir>");
            System.exit(2);
        }
        FileOutputStream stdout = new FileOutputStream(FileDescriptor.out);
        System.setOut(System.err);
        dieWithParent();
        String home = argv[0];
        int port;
        // A port the OS says is free; the node binds it a moment later.
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        NodeBuilder builder = NodeBuilder.nodeBuilder().local(true).clusterName("legacy");
        builder.getSettings()
            .put("node.name", "legacy-node")
            .put("path.home", home)
            .put("path.data", home + "/data")
            .put("path.logs", home + "/logs")
            .put("path.repo", argv[1])
            .put("http.enabled", "true")
            .put("network.host", "127.0.0.1")
            .put("http.port", Integer.toString(port))
            .put("http.max_content_length", "200mb")
            .put("index.number_of_replicas", "0")
            .put("cluster.routing.allocation.disk.threshold_enabled", "false")
            // 1.x: no multicast discovery probes from a test node.
            .put("discovery.zen.ping.multicast.enabled", "false");
        Node node = builder.node();
        node.client().admin().cluster().prepareHealth().setWaitForYellowStatus().get();
        NodeInfo info = node.client().admin().cluster().prepareNodesInfo().setHttp(true).get().getNodes()[0];
        // 1.x prints "inet[/127.0.0.1:9200]", 2.x "127.0.0.1:9200".
        Matcher m = Pattern.compile(":(\\d+)\\]?$").matcher(info.getHttp().address().publishAddress().toString());
        if (!m.find()) {
            throw new IllegalStateException("no HTTP port in " + info.getHttp().address());
        }
        String line = "{\"url\": \"http://127.0.0.1:" + m.group(1) + "\", \"version\": \"" + Version.CURRENT + "\"}\n";
        stdout.write(line.getBytes(StandardCharsets.UTF_8));
        stdout.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    /** Exits when the process that started us exits (we are then adopted by another one). */
    static void dieWithParent() {
        Optional<Long> parent = ProcessHandle.current().parent().map(ProcessHandle::pid);
        Thread watch = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
                if (!ProcessHandle.current().parent().map(ProcessHandle::pid).equals(parent)) {
                    System.err.println("LegacyNode: parent process gone, stopping");
                    Runtime.getRuntime().halt(0);
                }
            }
        }, "die-with-parent");
        watch.setDaemon(true);
        watch.start();
    }
}
