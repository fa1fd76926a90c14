package g2m.weights.fetch;

import com.sun.net.httpserver.HttpServer;
import g2m.weights.Checkpoint;
import g2m.weights.WeightsException;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real download path, against an HTTP server on the loopback interface. */
class WeightsFetcherTest {
    @TempDir
    Path cache;
    HttpServer server;
    byte[] pth;
    String sha;
    final AtomicInteger hits = new AtomicInteger();

    @BeforeEach
    void serve() throws Exception {
        pth = Files.readAllBytes(Path.of(getClass().getResource("/fixtures/tiny_vgg16_zip.pth").toURI()));
        sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(pth));
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/models/", ex -> {
            hits.incrementAndGet();
            String name = ex.getRequestURI().getPath();
            if (name.endsWith("missing-0123abcd.pth")) {
                ex.sendResponseHeaders(404, -1);
            } else if (name.contains("short")) {
                ex.sendResponseHeaders(200, pth.length); // promise all, send half
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(pth, 0, pth.length / 2);
                } catch (IOException ignored) {
                    // the client sees the connection close early
                }
            } else {
                ex.sendResponseHeaders(200, pth.length);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(pth);
                }
            }
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    URI url(String name) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/models/" + name);
    }

    @Test
    void downloadsVerifiesConvertsAndCaches() {
        URI u = url("tiny-" + sha.substring(0, 8) + ".pth");
        Path got = WeightsFetcher.fetch(u, cache, false, Duration.ofSeconds(5), n -> { });
        assertEquals(cache.resolve("tiny-" + sha.substring(0, 8) + ".safetensors"), got);
        Checkpoint c = Safetensors.read(got);
        assertEquals(32, c.tensors().size());
        assertEquals(sha, c.metadata().get("source_sha256"));
        assertEquals(u.toString(), c.metadata().get("source_url"));
        assertEquals("RGB", c.metadata().get("input_channel_order"));
        // cached: no second download
        WeightsFetcher.fetch(u, cache, false, Duration.ofSeconds(5), n -> { });
        assertEquals(1, hits.get());
        assertOnlyCacheFile("tiny-" + sha.substring(0, 8) + ".safetensors");
    }

    @Test
    void wrongHashIsRejectedAndNothingCached() {
        WeightsException e = assertThrows(WeightsException.class,
                () -> WeightsFetcher.fetch(url("tiny-00000000.pth"), cache, false, Duration.ofSeconds(5), n -> { }));
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
        assertOnlyCacheFile(null);
    }

    @Test
    void httpErrorsAndBrokenTransfersAreClear() {
        WeightsException e404 = assertThrows(WeightsException.class,
                () -> WeightsFetcher.fetch(url("missing-0123abcd.pth"), cache, false, Duration.ofSeconds(5), n -> { }));
        assertTrue(e404.getMessage().contains("HTTP 404"), e404.getMessage());
        WeightsException shortBody = assertThrows(WeightsException.class,
                () -> WeightsFetcher.fetch(url("short-" + sha.substring(0, 8) + ".pth"), cache, false, Duration.ofSeconds(2), n -> { }));
        assertTrue(shortBody.getMessage().startsWith("cannot download") || shortBody.getMessage().contains("broke off"), shortBody.getMessage());
        assertOnlyCacheFile(null);
    }

    @Test
    void noServerFailsFastWithAHint() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        URI u = URI.create("http://127.0.0.1:" + port + "/models/vgg16-397923af.pth");
        long t0 = System.nanoTime();
        WeightsException e = assertThrows(WeightsException.class,
                () -> WeightsFetcher.fetch(u, cache, false, Duration.ofSeconds(5), n -> { }));
        assertTrue((System.nanoTime() - t0) < 10_000_000_000L, "fails within seconds");
        assertTrue(e.getMessage().contains("convert vgg16-397923af.pth"), e.getMessage());
        assertOnlyCacheFile(null);
    }

    @Test
    void urlWithoutHashIsRefused() {
        WeightsException e = assertThrows(WeightsException.class,
                () -> WeightsFetcher.fetch(url("vgg16.pth"), cache, false, Duration.ofSeconds(5), n -> { }));
        assertTrue(e.getMessage().contains("sha256 prefix"), e.getMessage());
        assertEquals(0, hits.get());
    }

    private void assertOnlyCacheFile(String name) {
        try (var s = Files.list(cache)) {
            var names = s.map(p -> p.getFileName().toString()).toList();
            if (name == null) assertTrue(names.isEmpty(), "cache holds " + names);
            else assertEquals(java.util.List.of(name), names);
        } catch (IOException ex) {
            throw new AssertionError(ex);
        }
        assertFalse(Files.exists(cache.resolve("vgg16-397923af.safetensors")));
    }
}
