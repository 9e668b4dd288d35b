import java.lang.reflect.Constructor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
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
 * A real single-node OpenSearch (2.x or 3.x) in this JVM, for tests: HTTP on a port the OS picks on
 * 127.0.0.1, `path.repo` set for `fs` snapshot repositories, no security plugin. Prints one line
 * {"url": "http://127.0.0.1:<port>", "version": "<version>"} once it listens and new indices get
 * no replicas (so a one-node target is green); runs until it is signalled (the harness kills its
 * process group, and it dies with its parent).
 *
 * One source for both majors, by reflection where their APIs differ: the node's constructor with
 * classpath plugins is protected and takes plugin classes in 2.x but `PluginInfo`s in 3.x, and
 * the plugin classes were renamed (`Netty4Plugin` → `Netty4ModulePlugin`, `CommonAnalysisPlugin`
 * → `CommonAnalysisModulePlugin`).
 *
 * Usage: OpenSearchNode <home> <repo dir> [setting=value ...]
 * (the settings are added last, so they override the defaults, e.g. a fixed `http.port` for a
 * restart, or a tiny `thread_pool.write.queue_size` to provoke rejections)
 */
public final class OpenSearchNode {
    static Class<?> firstClass(String... names) throws ClassNotFoundException {
        for (String name : names) {
            try {
                return Class.forName(name);
            } catch (ClassNotFoundException e) {
                // The other major's name.
            }
        }
        throw new ClassNotFoundException(String.join(" or ", names));
    }

    /** A 3.x `PluginInfo` for a plugin class on the class path. */
    static Object pluginInfo(Class<?> plugin) throws Exception {
        return Class.forName("org.opensearch.plugins.PluginInfo")
            .getConstructor(String.class, String.class, String.class, Version.class, String.class,
                String.class, List.class, boolean.class)
            .newInstance(plugin.getSimpleName(), "on the class path", Version.CURRENT.toString(),
                Version.CURRENT, System.getProperty("java.specification.version"), plugin.getName(),
                List.of(), false);
    }

    static Node newNode(Environment env) throws Exception {
        Class<?> netty = firstClass("org.opensearch.transport.Netty4ModulePlugin",
            "org.opensearch.transport.Netty4Plugin");
        Class<?> analysis = firstClass("org.opensearch.analysis.common.CommonAnalysisModulePlugin",
            "org.opensearch.analysis.common.CommonAnalysisPlugin");
        Constructor<Node> c = Node.class.getDeclaredConstructor(Environment.class, Collection.class, boolean.class);
        c.setAccessible(true);
        boolean infos = c.getGenericParameterTypes()[1].getTypeName().contains("PluginInfo");
        Collection<Object> plugins = infos
            ? List.of(pluginInfo(netty), pluginInfo(analysis))
            : List.of(netty, analysis);
        return c.newInstance(env, plugins, true);
    }

    public static void main(String[] args) throws Exception {
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path repo = Paths.get(args[1]).toAbsolutePath();
        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(repo);
        Settings.Builder builder = Settings.builder()
            .put("cluster.name", "backfill-target")
            .put("node.name", "target-0")
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
        Settings settings = builder.build();
        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), home.resolve("config"), () -> "target-0");
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
        // Over HTTP, as a user would: one code path for 2.x and 3.x.
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
        System.out.println("{\"url\": \"" + url + "\", \"version\": \""
            + Version.CURRENT + "\"}");
        System.out.flush();
        Thread.currentThread().join();
    }
}
