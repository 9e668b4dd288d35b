import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.elasticsearch.Build;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.Metadata;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.node.MockNode;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.transport.netty4.Netty4Plugin;
import org.elasticsearch.xcontent.XContentBuilder;
import org.junit.Test;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.RunWith;

import io.netty.util.ResourceLeakDetector;

import com.carrotsearch.randomizedtesting.RandomizedRunner;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakScope;
import com.carrotsearch.randomizedtesting.annotations.Timeout;
import com.carrotsearch.randomizedtesting.annotations.TimeoutSuite;

/**
 * A real single-node Elasticsearch (8.19 or 9.5) in this JVM, for making test data: HTTP on a
 * port the OS picks on 127.0.0.1, `path.repo` set for `fs` snapshot repositories, no security
 * (there is no x-pack on the class path). Prints one line
 * {"url": "http://127.0.0.1:<port>", "version": "<version>"} once `GET /` answers, then runs until
 * it is killed (or its parent process goes away).
 *
 * The node is the test framework's `MockNode` with `Netty4Plugin` (the only way Maven Central
 * offers to start these versions in-process), and it must run inside a randomized-testing context:
 * `Randomness` demands one. So `main` runs one JUnit test, `Run.node`, under `RandomizedRunner`,
 * and that test never returns. Building a `MockNode` initialises `ESTestCase`, whose static set-up
 * (`BootstrapForTesting`) refuses to run as root ("can not run elasticsearch as root"), turns on a
 * seccomp filter (no forking) and Netty's paranoid leak detection (turned off again below). Without
 * the framework's marker plugins the node uses the real big arrays, page recycler, search and
 * transport services; entitlements stay off (`es.entitlement.enableForTests` is unset). The test
 * seed (in the log's thread names) is random per start.
 *
 * `GET /` (and `HEAD /`) is served by the `rest-root` module in a distribution, which Maven
 * Central does not have: `mainHandler` answers it here with the same fields, taken from this node
 * (name, cluster name and uuid, `Build.current()`, Lucene version).
 *
 * Everything the node logs (log4j's console appender, which writes to System.out) goes to stderr:
 * stdout carries only the JSON line.
 *
 * New indices keep Elasticsearch's default of one replica (a one-node cluster is then yellow);
 * Elasticsearch has no cluster-wide default to change, so the caller sets
 * `index.number_of_replicas: 0` per index (or in its own index templates) for a green cluster.
 *
 * Usage: ElasticsearchNode <home> <repo dir>
 */
public final class ElasticsearchNode {
    /** The real stdout, for the JSON line; System.out is stderr from the start of main. */
    static final FileOutputStream STDOUT = new FileOutputStream(FileDescriptor.out);
    static String[] args;

    public static void main(String[] argv) throws Exception {
        if (argv.length != 2) {
            System.err.println("usage: ElasticsearchNode <home dir> <repo dir>");
            System.exit(2);
        }
        System.setOut(System.err);
        args = argv;
        dieWithParent();
        Result result = new JUnitCore().run(Run.class);
        // Only reached when the node failed to start.
        result.getFailures().forEach(f -> System.err.println(f.getTrace()));
        System.exit(1);
    }

    /**
     * Exits when the process that started us exits (we are then adopted by another one), also for
     * callers that set no parent-death signal (a shell). The harness sets one (`run` keeps it across
     * the change of uid) and kills our process group: this is the belt to those braces.
     */
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
                    System.err.println("ElasticsearchNode: parent process gone, stopping");
                    Runtime.getRuntime().halt(0);
                }
            }
        }, "die-with-parent");
        watch.setDaemon(true);
        watch.start();
    }

    /** `GET /` as the `rest-root` module answers it (pretty unless `?pretty=false`). */
    static RestHandler mainHandler(ClusterService clusterService) {
        return (request, channel, client) -> {
            ClusterState state = clusterService.state();
            Build build = Build.current();
            XContentBuilder b = channel.newBuilder();
            if (request.hasParam("pretty") == false) {
                b.prettyPrint().lfAtEnd();
            }
            b.startObject();
            b.field("name", clusterService.getNodeName());
            b.field("cluster_name", state.getClusterName().value());
            b.field("cluster_uuid",
                state.metadata().clusterUUIDCommitted() ? state.metadata().clusterUUID() : Metadata.UNKNOWN_CLUSTER_UUID);
            b.startObject("version")
                .field("number", build.qualifiedVersion())
                .field("build_flavor", "default")
                .field("build_type", build.type().displayName())
                .field("build_hash", build.hash())
                .field("build_date", build.date())
                .field("build_snapshot", build.isSnapshot())
                .field("lucene_version", IndexVersion.current().luceneVersion().toString())
                .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                .endObject();
            b.field("tagline", "You Know, for Search");
            b.endObject();
            channel.sendResponse(new RestResponse(RestStatus.OK, b));
        };
    }

    /** The one "test": starts the node and never returns. */
    @RunWith(RandomizedRunner.class)
    @ThreadLeakScope(ThreadLeakScope.Scope.NONE)
    @TimeoutSuite(millis = Integer.MAX_VALUE)
    public static class Run {
        @Test
        @Timeout(millis = Integer.MAX_VALUE)
        public void node() throws Exception {
            Path home = Paths.get(args[0]).toAbsolutePath();
            Path repo = Paths.get(args[1]).toAbsolutePath();
            Files.createDirectories(home.resolve("config"));
            Files.createDirectories(repo);
            Settings settings = Settings.builder()
                .put("cluster.name", "backfill-source")
                .put("node.name", "source-0")
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("path.repo", repo.toString())
                .put("discovery.type", "single-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", "0")
                .put("transport.port", "0")
                .put("http.max_content_length", "200mb")
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                // 8.19/9.x start no merge while free space is under 5% of the disk or 100 GB:
                // on a build machine's disk a force merge then waits for ever. A floor of our own.
                .put("indices.merge.disk.watermark.high", "100mb")
                .put("action.auto_create_index", true)
                .build();
            MockNode node = new MockNode(settings, List.of(Netty4Plugin.class));
            RestController rest = node.injector().getInstance(RestController.class);
            RestHandler main = mainHandler(node.injector().getInstance(ClusterService.class));
            rest.registerHandler(new RestHandler.Route(RestRequest.Method.GET, "/"), main);
            rest.registerHandler(new RestHandler.Route(RestRequest.Method.HEAD, "/"), main);
            // The test framework turns on Netty's "paranoid" leak detection (a stack trace per
            // buffer): too slow for bulk loads, and nobody here reads its reports.
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
            node.start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    node.close();
                } catch (Exception e) {
                    // Stopping anyway.
                }
            }));
            HttpServerTransport http = node.injector().getInstance(HttpServerTransport.class);
            String url = "http://127.0.0.1:" + http.boundAddress().publishAddress().getPort();
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(url + "/")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("GET / answered " + r.statusCode() + ": " + r.body());
            }
            Matcher number = Pattern.compile("\"number\"\\s*:\\s*\"([^\"]+)\"").matcher(r.body());
            String version = number.find() ? number.group(1) : Build.current().version();
            byte[] line = ("{\"url\": \"" + url + "\", \"version\": \"" + version + "\"}\n")
                .getBytes(StandardCharsets.UTF_8);
            // One write(2), while no log event is half-written to stderr (which may be the same file).
            synchronized (System.err) {
                STDOUT.write(line);
            }
            Thread.currentThread().join();
        }
    }
}
