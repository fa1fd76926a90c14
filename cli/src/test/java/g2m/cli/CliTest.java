package g2m.cli;

import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI end to end, in-process: exit codes, what lands on stdout/stderr, files written. */
class CliTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
        /** stderr is one line: the engine never dumps a stack trace on a user error. */
        String oneLineError() {
            assertEquals(1, err.strip().lines().count(), "exactly one line: " + err);
            assertTrue(err.startsWith("g2m-engine: "), err);
            assertFalse(err.contains("\tat "), "no stack trace: " + err);
            return err;
        }
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    static String fixture(String name) {
        try {
            return Path.of(CliTest.class.getResource("/fixtures/" + name).toURI()).toString();
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void helpListsSubcommands() {
        Result r = run("--help");
        assertEquals(0, r.code);
        for (String s : new String[] {"convert", "inspect", "fetch"}) assertTrue(r.out.contains(s), r.out);
        assertEquals(0, run("convert", "--help").code);
    }

    @Test
    void convertWritesFileAndRefusesToOverwrite() throws IOException {
        Path out = dir.resolve("w.safetensors");
        Result r = run("convert", fixture("tiny_vgg16_legacy.pth"), out.toString());
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("wrote") && r.out.contains("10 classes"), r.out);
        assertEquals("pytorch", Safetensors.read(out).metadata().get("source_format"));

        byte[] before = Files.readAllBytes(out);
        Result again = run("convert", fixture("tiny_vgg16_v1.caffemodel"), out.toString());
        assertEquals(2, again.code);
        assertTrue(again.oneLineError().contains("--force"));
        assertEquals(before.length, Files.readAllBytes(out).length);

        Result forced = run("convert", "--force", "--mean", "104.00699,116.66877,122.6789", fixture("tiny_vgg16_v1.caffemodel"), out.toString());
        assertEquals(0, forced.code, forced.err);
        assertEquals("104.00699,116.66877,122.6789", Safetensors.read(out).metadata().get("input_mean"));
    }

    @Test
    void badInputsExitTwoWithOneLine() throws IOException {
        Path out = dir.resolve("o.safetensors");
        Path junk = dir.resolve("junk.pth");
        Files.write(junk, new byte[] {0x13, 1, 2, 3, 4, 5, 6, 7, 8, 9});
        for (String[] args : new String[][] {
                {"convert", junk.toString(), out.toString()},
                {"convert", fixture("evil_global.pth"), out.toString()},
                {"convert", dir.resolve("nope.pth").toString(), out.toString()},
                {"convert", "--format", "onnx", fixture("tiny_vgg16_zip.pth"), out.toString()},
                {"convert", "--mean", "1,2", fixture("tiny_vgg16_zip.pth"), out.toString()},
                {"inspect", junk.toString()},
                {"fetch", "resnet50"},
                {"convert"},
                {"no-such-command"},
        }) {
            Result r = run(args);
            assertEquals(2, r.code, String.join(" ", args) + " -> " + r.err);
            r.oneLineError();
            assertFalse(Files.exists(out), "no output after " + String.join(" ", args));
        }
        assertTrue(run("convert", fixture("evil_global.pth"), out.toString()).err.contains("os"));
    }

    @Test
    void inspectPrintsTensorsAndTopology() {
        Result r = run("inspect", fixture("tiny_vgg16_v1.caffemodel"));
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("Caffe .caffemodel, 32 tensors"), r.out);
        assertTrue(r.out.contains("fc6.weight") && r.out.contains("[1, 1, 16, 392]"), r.out);
        assertTrue(r.out.contains("VGG16: conv widths [4, 4, 6, 6, 8"), r.out);
        assertTrue(r.out.contains("preprocessing caffe"), r.out);

        Result s = run("inspect", fixture("tiny_vgg16_expected.safetensors"));
        assertEquals(0, s.code, s.err);
        assertTrue(s.out.contains("safetensors, 32 tensors"), s.out);
    }

    @Test
    void benchPrintsOneJsonLine() throws Exception {
        Result r = run("bench", "--weights", fixture("tiny_vgg16_zip.pth"), "--layer", "conv5_1,pool4", "--batch", "2",
                "--size", "64", "--seconds", "0", "--min-runs", "3", "--warmup", "1");
        assertEquals(0, r.code, r.err);
        assertEquals(1, r.out.strip().lines().count(), r.out);
        var j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out);
        for (String k : new String[] {"device", "layer", "batch", "methods", "images_per_s", "maps_per_s", "p50_ms", "p99_ms", "peak_rss_mb"}) {
            assertTrue(j.has(k), k + " in " + r.out);
        }
        assertEquals(3, j.get("runs").asInt());
        if (j.get("device").asText().startsWith("OpenBLAS")) {  // the CPU holds no device memory: no such field
            assertFalse(j.has("peak_device_mb"), r.out);
        } else {
            assertTrue(j.get("peak_device_mb").asDouble() > 0, r.out);
        }
        // maps/s = images/s x methods x taps
        assertEquals(j.get("images_per_s").asDouble() * 8, j.get("maps_per_s").asDouble(), 0.05 * j.get("maps_per_s").asDouble());
        assertEquals(2, run("bench", "--layer", "conv6_1").code);
    }

    @Test
    void fetchWithoutNetworkFailsFastAndClearly() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Result r = run("fetch", "vgg16", "--cache", dir.toString(), "--timeout", "3",
                "--url", "http://127.0.0.1:" + port + "/models/vgg16-397923af.pth");
        assertEquals(2, r.code);
        assertTrue(r.oneLineError().contains("cannot download"), r.err);
        try (var l = Files.list(dir)) {
            assertEquals(0, l.count(), "nothing cached");
        }
    }
}
