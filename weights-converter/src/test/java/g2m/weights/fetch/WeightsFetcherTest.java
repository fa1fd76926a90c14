package g2m.weights.fetch;

import com.sun.net.httpserver.HttpServer;
import g2m.weights.Checkpoint;
import g2m.weights.ChildJvm;
import g2m.weights.WeightsException;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
            } else if (name.contains("drip")) { // a byte every 200 ms: never a wait long enough to time out
                ex.sendResponseHeaders(200, pth.length);
                try (OutputStream o = ex.getResponseBody()) {
                    for (int i = 0; i < pth.length; i++) {
                        o.write(pth[i]);
                        o.flush();
                        Thread.sleep(200);
                    }
                } catch (IOException | InterruptedException ignored) {
                    // the client gave up
                }
            } else if (name.contains("endless")) { // chunked, never ends
                ex.sendResponseHeaders(200, 0);
                byte[] junk = new byte[1 << 16];
                try (OutputStream o = ex.getResponseBody()) {
                    while (true) o.write(junk);
                } catch (IOException ignored) {
                    // the client gave up
                }
            } else if (name.contains("huge")) { // announces 10 GB
                ex.sendResponseHeaders(200, 10_000_000_000L);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(pth);
                } catch (IOException ignored) {
                    // the client gave up
                }
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
        Path got = WeightsFetcher.fetch(u, cache, false, limits(5), n -> { });
        assertEquals(cache.resolve("tiny-" + sha.substring(0, 8) + ".safetensors"), got);
        Checkpoint c = Safetensors.read(got);
        assertEquals(32, c.tensors().size());
        assertEquals(sha, c.metadata().get("source_sha256"));
        assertEquals(u.toString(), c.metadata().get("source_url"));
        assertEquals("RGB", c.metadata().get("input_channel_order"));
        // cached: no second download
        WeightsFetcher.fetch(u, cache, false, limits(5), n -> { });
        assertEquals(1, hits.get());
        assertOnlyCacheFile("tiny-" + sha.substring(0, 8) + ".safetensors");
    }

    @Test
    void wrongHashIsRejectedAndNothingCached() {
        WeightsException e = assertThrows(WeightsException.class,
                () -> WeightsFetcher.fetch(url("tiny-00000000.pth"), cache, false, limits(5), n -> { }));
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
        assertOnlyCacheFile(null);
    }

    @Test
    void httpErrorsAndBrokenTransfersAreClear() {
        WeightsException e404 = assertThrows(WeightsException.class,
                () -> WeightsFetcher.fetch(url("missing-0123abcd.pth"), cache, false, limits(5), n -> { }));
        assertTrue(e404.getMessage().contains("HTTP 404"), e404.getMessage());
        WeightsException shortBody = assertThrows(WeightsException.class,
                () -> WeightsFetcher.fetch(url("short-" + sha.substring(0, 8) + ".pth"), cache, false, limits(2), n -> { }));
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
                () -> WeightsFetcher.fetch(u, cache, false, limits(5), n -> { }));
        assertTrue((System.nanoTime() - t0) < 10_000_000_000L, "fails within seconds");
        assertTrue(e.getMessage().contains("convert vgg16-397923af.pth"), e.getMessage());
        assertOnlyCacheFile(null);
    }

    static WeightsFetcher.Limits limits(int timeoutSeconds) {
        return new WeightsFetcher.Limits(Duration.ofSeconds(timeoutSeconds), WeightsFetcher.Limits.DEFAULT.deadline(),
                WeightsFetcher.Limits.DEFAULT.maxBytes());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aDrippingServerIsDroppedAtTheDeadline() {
        URI u = url("drip-" + sha.substring(0, 8) + ".pth"); // the whole file would take about 3 hours
        long t0 = System.nanoTime();
        WeightsException e = assertThrows(WeightsException.class, () -> WeightsFetcher.fetch(u, cache, false,
                new WeightsFetcher.Limits(Duration.ofSeconds(5), Duration.ofSeconds(2), 1L << 30), n -> { }));
        double s = (System.nanoTime() - t0) / 1e9;
        assertTrue(e.getMessage().contains("not finished within 2 s") && e.getMessage().contains("--deadline"), e.getMessage());
        assertTrue(s >= 1.9, "gave up after the deadline, not before: " + s);
        assertOnlyCacheFile(null);
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void headersDrippedAByteAtATimeAreDroppedAtTheDeadline() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread drip = new Thread(() -> {
                try (Socket c = s.accept(); OutputStream o = c.getOutputStream()) {
                    for (byte b : "HTTP/1.1 200 OK\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII)) {
                        o.write(b);
                        o.flush();
                        Thread.sleep(200);
                    }
                    while (true) {
                        o.write('a');
                        o.flush();
                        Thread.sleep(200);
                    }
                } catch (IOException | InterruptedException ignored) {
                    // the client gave up
                }
            });
            drip.setDaemon(true);
            drip.start();
            URI u = URI.create("http://127.0.0.1:" + s.getLocalPort() + "/models/vgg16-397923af.pth");
            WeightsException e = assertThrows(WeightsException.class, () -> WeightsFetcher.fetch(u, cache, false,
                    new WeightsFetcher.Limits(Duration.ofSeconds(5), Duration.ofSeconds(2), 1L << 30), n -> { }));
            assertTrue(e.getMessage().contains("not finished within 2 s"), e.getMessage());
        }
        assertOnlyCacheFile(null);
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void anEndlessBodyStopsAtTheSizeLimit() {
        URI u = url("endless-" + sha.substring(0, 8) + ".pth");
        long[] seen = {0};
        WeightsException e = assertThrows(WeightsException.class, () -> WeightsFetcher.fetch(u, cache, false,
                new WeightsFetcher.Limits(Duration.ofSeconds(5), Duration.ofSeconds(60), 8L << 20), n -> seen[0] = n));
        assertTrue(e.getMessage().contains("over the size limit of 8 MiB") && e.getMessage().contains("--max-size"), e.getMessage());
        assertTrue(seen[0] <= 8L << 20, "kept no more than the limit: " + seen[0]);
        assertOnlyCacheFile(null);

        WeightsException announced = assertThrows(WeightsException.class, () -> WeightsFetcher.fetch(
                url("huge-" + sha.substring(0, 8) + ".pth"), cache, false, WeightsFetcher.Limits.DEFAULT, n -> { }));
        assertTrue(announced.getMessage().contains("announces 10000.0 MB"), announced.getMessage());
        assertOnlyCacheFile(null);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aSignalMidDownloadLeavesNothingInTheCache() throws Exception {
        URI u = url("drip-" + sha.substring(0, 8) + ".pth");
        Process p = new ProcessBuilder(ChildJvm.command(null, FetchChild.class, u.toString(), cache.toString()))
                .redirectErrorStream(true).start();
        try {
            long until = System.nanoTime() + 30_000_000_000L;
            while (cacheNames().stream().noneMatch(n -> n.endsWith(".part")) && System.nanoTime() < until) Thread.sleep(50);
            assertTrue(cacheNames().stream().anyMatch(n -> n.startsWith(".drip-") && n.endsWith(".part")),
                    "the download's temporary file is in the cache: " + cacheNames());
            assertTrue(ChildJvm.signal(p, "TERM") != 0);
        } finally {
            p.destroyForcibly();
        }
        assertOnlyCacheFile(null);
    }

    @Test
    void aTemporaryFileLeftByAKilledFetchIsSweptByTheNext() throws IOException {
        String name = "tiny-" + sha.substring(0, 8) + ".pth";
        Path stale = cache.resolve("." + name + "." + g2m.weights.TempFiles.HOST + "-999999999.42.part"); // this host's process 999999999 cannot exist
        Path users = cache.resolve("mine.part");
        Files.write(stale, new byte[1000]);
        Files.write(users, new byte[10]);
        WeightsFetcher.fetch(url(name), cache, false, limits(5), n -> { });
        assertFalse(Files.exists(stale), "swept");
        assertTrue(Files.exists(users), "a file that merely ends in .part is not ours");
    }

    /** Fetches args[0] into the cache args[1] with a long deadline (for a parent to kill). */
    public static final class FetchChild {
        public static void main(String[] args) {
            WeightsFetcher.fetch(URI.create(args[0]), Path.of(args[1]), false, WeightsFetcher.Limits.DEFAULT, n -> { });
        }
    }

    List<String> cacheNames() throws IOException {
        try (var s = Files.list(cache)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    @Test
    void aFailedFetchRemovesTheCacheFoldersItMade() {
        Path fresh = cache.resolve("new").resolve("cache");
        assertThrows(WeightsException.class,
                () -> WeightsFetcher.fetch(url("tiny-00000000.pth"), fresh, false, limits(5), n -> { }));
        assertFalse(Files.exists(cache.resolve("new")), "nothing created by a fetch that failed");
        assertOnlyCacheFile(null);
    }

    @Test
    void urlWithoutHashIsRefused() {
        WeightsException e = assertThrows(WeightsException.class,
                () -> WeightsFetcher.fetch(url("vgg16.pth"), cache, false, limits(5), n -> { }));
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
