import java.lang.reflect.Constructor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.Version;

/**
 * OpenSearchNode with the k-NN plugin (`org.opensearch.knn.plugin.KNNPlugin`) loaded from the class
 * path: OpenSearch 2.19.1 + k-NN 2.19.1.0 or 3.5.0 + k-NN 3.5.0.0. A separate launcher so that the
 * plain nodes' launcher (and every cache keyed by it) stays as it is. Same usage, same ready line:
 *
 *   KnnNode <home> <repo dir> [setting=value ...]
 *
 * No native libraries come with the plugin's zip: the `lucene` engine works; `faiss`/`nmslib`
 * indices need `index.knn.advanced.approximate_threshold: -1` so that no native graph is built.
 */
public final class KnnNode {
    static Node newNode(Environment env) throws Exception {
        List<Class<?>> classes = List.of(
            OpenSearchNode.firstClass("org.opensearch.transport.Netty4ModulePlugin", "org.opensearch.transport.Netty4Plugin"),
            OpenSearchNode.firstClass("org.opensearch.analysis.common.CommonAnalysisModulePlugin",
                "org.opensearch.analysis.common.CommonAnalysisPlugin"),
            Class.forName("org.opensearch.knn.plugin.KNNPlugin"));
        Constructor<Node> c = Node.class.getDeclaredConstructor(Environment.class, Collection.class, boolean.class);
        c.setAccessible(true);
        boolean infos = c.getGenericParameterTypes()[1].getTypeName().contains("PluginInfo");
        Collection<Object> plugins = new ArrayList<>();
        for (Class<?> plugin : classes) {
            plugins.add(infos ? OpenSearchNode.pluginInfo(plugin) : plugin);
        }
        return c.newInstance(env, plugins, true);
    }

    public static void main(String[] args) throws Exception {
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path repo = Paths.get(args[1]).toAbsolutePath();
        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(repo);
        Settings.Builder builder = Settings.builder()
            .put("cluster.name", "backfill-knn")
            .put("node.name", "knn-0")
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
            .put("action.auto_create_index", true);
        for (int i = 2; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("not a setting=value: " + args[i]);
            }
            builder.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        Environment env = InternalSettingsPreparer.prepareEnvironment(
            builder.build(), Map.of(), home.resolve("config"), () -> "knn-0");
        Node node = newNode(env);
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
            HttpRequest.newBuilder(URI.create(url + "/_cluster/settings"))
                .header("content-type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(
                    "{\"persistent\":{\"cluster.default_number_of_replicas\":0}}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("setting no replicas: " + r.statusCode() + " " + r.body());
        }
        System.out.println("{\"url\": \"" + url + "\", \"version\": \"" + Version.CURRENT + "\"}");
        System.out.flush();
        Thread.currentThread().join();
    }
}
