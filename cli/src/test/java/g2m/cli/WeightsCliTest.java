package g2m.cli;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The weights commands (convert, inspect, fetch, --weights) on hostile and careless input, end
 * to end: exit 2 and exactly one stderr line, in bounded time and output, nothing left behind.
 */
class WeightsCliTest {
    @TempDir
    Path dir;

    static String picture() {
        try {
            return Path.of(WeightsCliTest.class.getResource("/golden/image_224x256.png").toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /** A safetensors file of one-element F32 tensors under the given names. */
    static byte[] safetensors(List<String> names) throws IOException {
        var json = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        for (int i = 0; i < names.size(); i++) {
            var e = json.putObject(names.get(i));
            e.put("dtype", "F32");
            e.putArray("shape").add(1);
            e.putArray("data_offsets").add(4L * i).add(4L * i + 4);
        }
        byte[] h = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(json);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 4 * names.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    static void assertExitTwoOneLine(CliTest.Result r, String fragment, String what) {
        assertEquals(2, r.code(), what + " -> " + r.err());
        String line = r.oneLineError();
        assertTrue(line.contains(fragment), what + ": expected '" + fragment + "' in " + line);
        assertFalse(line.matches("(?s).*\\b[A-Z][A-Za-z]*(Exception|Error)\\b.*"), what + ": a Java class name in " + line);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void inspectEscapesNamesAndItsOutputGrowsLinearly() throws IOException {
        List<String> names = new ArrayList<>(List.of("bell\u0007", "esc\u001b[2J", "new\nline", "rtl\u202egnp.exe", "csi\u009b"));
        names.add("x".repeat(40_000)); // one long name: every line was padded to it (934 MB of stdout for 1.3 MB)
        for (int i = 0; i < 5000; i++) names.add("t" + i);
        Path f = dir.resolve("names.safetensors");
        Files.write(f, safetensors(names));
        CliTest.Result r = CliTest.run("inspect", f.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().length() < 2 * Files.size(f), "stdout of " + r.out().length() + " chars for a file of " + Files.size(f));
        assertFalse(r.out().chars().anyMatch(c -> c != '\n' && (Character.isISOControl(c) || c == 0x202e)),
                "no control or bidi characters on stdout");
        for (String s : List.of("bell\\u0007", "esc\\u001b[2J", "new\\u000aline", "rtl\\u202egnp.exe", "csi\\u009b")) {
            assertTrue(r.out().contains(s), s);
        }
        assertTrue(r.out().contains("not usable as VGG16"), r.out().substring(0, 300));
        long lines = r.out().lines().count();
        assertTrue(lines >= 5006 && lines < 5020, lines + " lines");
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aFileOfMoreTensorsThanMappingsIsInspectedAndRefusedAsVgg16() throws IOException {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) names.add("t" + i);
        Path f = dir.resolve("100k.safetensors");
        Files.write(f, safetensors(names)); // 6.6 MB: one mapping per tensor crashed the JVM
        CliTest.Result inspect = CliTest.run("inspect", f.toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("100000 tensors"), inspect.out().substring(0, 200));
        Path out = dir.resolve("o.safetensors");
        assertExitTwoOneLine(CliTest.run("convert", f.toString(), out.toString()), "not a VGG16", "convert");
        assertExitTwoOneLine(CliTest.run("--layer", "conv5_1", "--weights", f.toString(), "--input",
                picture(), "--output", dir.resolve("maps").toString()), "not a VGG16", "--weights");
        assertFalse(Files.exists(out));
    }

    /** A Caffe model whose one blob holds {@code n} packed data runs of one float each. */
    static byte[] caffeManyRuns(int n) {
        ByteArrayOutputStream blob = new ByteArrayOutputStream();
        blob.writeBytes(tagged(7 << 3 | 2, concat(new byte[] {0x0a}, varint(varint(n).length), varint(n)))); // shape {dim: [n]}
        for (int i = 0; i < n; i++) blob.writeBytes(tagged(5 << 3 | 2, new byte[4])); // data, packed, one float
        byte[] layer = concat(tagged(1 << 3 | 2, "conv1_1".getBytes(StandardCharsets.US_ASCII)), tagged(7 << 3 | 2, blob.toByteArray()));
        return tagged(100 << 3 | 2, layer);
    }

    static byte[] tagged(int tag, byte[] payload) {
        return concat(varint(tag), varint(payload.length), payload);
    }

    static byte[] varint(long v) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        while ((v & ~0x7fL) != 0) {
            o.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
        return o.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }

    /** A legacy .pth: PyTorch's magic number, then an {@code n}-byte LONG4 as the protocol version. */
    static byte[] legacyHugeVersion(int n) {
        byte[] magic = {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a,
                (byte) 0xa8, 0x50, 0x19, '.'};
        byte[] digits = new byte[n];
        java.util.Arrays.fill(digits, (byte) 0x11);
        return concat(magic, new byte[] {(byte) 0x80, 2, (byte) 0x8b}, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(n).array(),
                digits, new byte[] {'.'});
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void inputsThatOnceHungAreRefusedPromptly() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("runs.caffemodel", caffeManyRuns(400_000));   // 2.4 MB: 59 s
        files.put("version.pth", legacyHugeVersion(8 << 20));  // 8 MB: 64 s
        StringBuilder appends = new StringBuilder("\u0080\u0002]");
        for (int i = 0; i < 1_000_000; i++) appends.append("(K\u0001e"); // a million APPENDS: never finished
        byte[] pkl = appends.append('.').toString().getBytes(StandardCharsets.ISO_8859_1);
        files.put("appends.pth", zip(pkl));
        Path out = dir.resolve("o.safetensors");
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            Path f = dir.resolve(e.getKey());
            Files.write(f, e.getValue());
            assertExitTwoOneLine(CliTest.run("convert", f.toString(), out.toString()), f.toString(), e.getKey());
        }
        assertFalse(Files.exists(out));
    }

    /** A zip .pth holding only {@code archive/data.pkl}. */
    static byte[] zip(byte[] dataPkl) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (var z = new java.util.zip.ZipOutputStream(b)) {
            z.putNextEntry(new java.util.zip.ZipEntry("archive/data.pkl"));
            z.write(dataPkl);
            z.closeEntry();
        }
        return b.toByteArray();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aNamedPipeIsRefusedNotWaitedOn() throws Exception {
        Path fifo = dir.resolve("vgg16.pth");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assumeTrue(p.waitFor() == 0, "needs mkfifo to make a named pipe");
        String expected = "not a regular file";
        assertExitTwoOneLine(CliTest.run("inspect", fifo.toString()), expected, "inspect");
        assertExitTwoOneLine(CliTest.run("convert", fifo.toString(), dir.resolve("o.safetensors").toString()), expected, "convert");
        assertExitTwoOneLine(CliTest.run("--layer", "conv5_1", "--weights", fifo.toString(), "--input",
                picture(), "--output", dir.resolve("maps").toString()), expected, "--weights");
    }

    @Test
    void convertIntoAFolderThatIsAFileSaysSoInPlainWords() throws IOException {
        Path file = Files.writeString(dir.resolve("notafolder"), "x");
        assertExitTwoOneLine(CliTest.run("convert", CliTest.fixture("tiny_vgg16_zip.pth"), file.resolve("w.safetensors").toString()),
                "notafolder is a file, not a folder", "convert");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void fetchFailuresAreOneLineAndItsLimitsAreOptions() throws IOException {
        byte[] pth = Files.readAllBytes(Path.of(CliTest.fixture("tiny_vgg16_zip.pth")));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            ex.sendResponseHeaders(200, pth.length);
            try (OutputStream o = ex.getResponseBody()) {
                for (byte b : pth) { // a byte every 100 ms
                    o.write(b);
                    o.flush();
                    Thread.sleep(100);
                }
            } catch (IOException | InterruptedException ignored) {
                // the client gave up
            }
        });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/models/vgg16-397923af.pth";
            Path cache = dir.resolve("cache");
            CliTest.Result drip = CliTest.run("fetch", "vgg16", "--cache", cache.toString(), "--url", url, "--deadline", "2");
            assertExitTwoOneLine(drip, "not finished within 2 s", "fetch --deadline 2");
            assertTrue(drip.out().contains("downloading"), "progress goes to stdout: " + drip.out());
            CliTest.Result big = CliTest.run("fetch", "vgg16", "--cache", cache.toString(), "--url", url, "--max-size", "0");
            assertExitTwoOneLine(big, "--max-size must be a positive number", "--max-size 0");
            assertExitTwoOneLine(CliTest.run("fetch", "vgg16", "--url", url, "--deadline", "-5"), "--deadline must be", "--deadline -5");
            assertExitTwoOneLine(CliTest.run("fetch", "vgg16", "--url", url, "--timeout", "0"), "--timeout must be", "--timeout 0");
            assertFalse(Files.exists(cache), "nothing cached, no temporary file or folder left");
            CliTest.Result help = CliTest.run("fetch", "--help");
            assertTrue(help.out().contains("--deadline") && help.out().contains("3600") && help.out().contains("2048"), help.out());
        } finally {
            server.stop(0);
        }
    }
}
