package g2m.weights;

import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End to end: every supported source converts to the same bit-exact engine file. */
class WeightsConverterTest {
    @TempDir
    Path dir;

    static Path fixture(String name) {
        try {
            return Path.of(WeightsConverterTest.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("missing fixture " + name + " (run tools/fixtures/make_*.py)", e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_vgg16_zip.pth", "tiny_vgg16_legacy.pth", "tiny_vgg16_nested_module.pth",
            "tiny_vgg16_v1.caffemodel", "tiny_vgg16_v2.caffemodel"})
    void convertsEveryFormatBitExact(String source) {
        Path out = dir.resolve("out.safetensors");
        WeightsConverter.convert(fixture(source), out, WeightsConverter.Options.DEFAULT, false);
        Checkpoint got = Safetensors.read(out);
        Checkpoint want = Safetensors.read(fixture("tiny_vgg16_expected.safetensors"));
        assertEquals(Vgg16.tensorNames(), List.copyOf(got.tensors().keySet()));
        for (String n : Vgg16.tensorNames()) {
            assertEquals(DType.F32, got.tensors().get(n).dtype());
            assertArrayEquals(want.tensors().get(n).shape(), got.tensors().get(n).shape(), n);
            assertEquals(want.tensors().get(n).data(), got.tensors().get(n).data(), n + " differs");
        }
        Map<String, String> m = got.metadata();
        assertEquals("vgg16", m.get("architecture"));
        assertEquals("10", m.get("num_classes"));
        boolean caffe = source.endsWith(".caffemodel");
        assertEquals(caffe ? "caffe" : "pytorch", m.get("source_format"));
        Preprocessing p = Preprocessing.fromMetadata(m);
        assertEquals(caffe ? Preprocessing.ChannelOrder.BGR : Preprocessing.ChannelOrder.RGB, p.channelOrder());
        assertArrayEquals((caffe ? Preprocessing.CAFFE : Preprocessing.PYTORCH).mean(), p.mean());
        assertEquals(caffe ? 1.0 : 1.0 / 255, p.inputScale());
    }

    @Test
    void halfPrecisionIsWidenedToFloat32() {
        Path out = dir.resolve("h.safetensors");
        WeightsConverter.convert(fixture("tiny_vgg16_half.pth"), out, WeightsConverter.Options.DEFAULT, false);
        Checkpoint got = Safetensors.read(out);
        Checkpoint want = Safetensors.read(fixture("tiny_vgg16_half_expected.safetensors"));
        for (String n : Vgg16.tensorNames()) {
            assertEquals(DType.F32, got.tensors().get(n).dtype());
            assertArrayEquals(want.tensors().get(n).toFloats(), got.tensors().get(n).toFloats(), n);
        }
    }

    @Test
    void meanOverrideAndConventionFlags() {
        Path out = dir.resolve("o.safetensors");
        double[] layercamLoc = {104.00699, 116.66877, 122.6789};
        WeightsConverter.convert(fixture("tiny_vgg16_v1.caffemodel"), out,
                new WeightsConverter.Options(null, null, layercamLoc, null), false);
        assertArrayEquals(layercamLoc, Preprocessing.fromMetadata(Safetensors.read(out).metadata()).mean());

        // safetensors in: its metadata is kept unless overridden, and re-conversion is stable
        Path again = dir.resolve("again.safetensors");
        WeightsConverter.convert(out, again, WeightsConverter.Options.DEFAULT, false);
        assertArrayEquals(layercamLoc, Preprocessing.fromMetadata(Safetensors.read(again).metadata()).mean());
        assertEquals("caffe", Safetensors.read(again).metadata().get("source_format"));

        Path forced = dir.resolve("forced.safetensors");
        WeightsConverter.convert(out, forced, new WeightsConverter.Options(null, WeightsConverter.Convention.PYTORCH, null, null), false);
        assertEquals(Preprocessing.ChannelOrder.RGB, Preprocessing.fromMetadata(Safetensors.read(forced).metadata()).channelOrder());
    }

    @Test
    void bareSafetensorsTakesConventionFromNaming() {
        // canonical names and no metadata: Caffe's VGG_ILSVRC_16_layers naming
        Path out = dir.resolve("o.safetensors");
        WeightsConverter.convert(fixture("tiny_vgg16_expected.safetensors"), out, WeightsConverter.Options.DEFAULT, false);
        assertEquals("caffe", Safetensors.read(out).metadata().get("convention"));
    }

    @Test
    void detectsFormats() {
        assertEquals(WeightsConverter.Format.PYTORCH, WeightsConverter.detect(fixture("tiny_vgg16_zip.pth")));
        assertEquals(WeightsConverter.Format.PYTORCH, WeightsConverter.detect(fixture("tiny_vgg16_legacy.pth")));
        assertEquals(WeightsConverter.Format.CAFFE, WeightsConverter.detect(fixture("tiny_vgg16_v1.caffemodel")));
        assertEquals(WeightsConverter.Format.SAFETENSORS, WeightsConverter.detect(fixture("tiny_vgg16_expected.safetensors")));
    }

    @Test
    void badInputsGiveOneLineAndNoOutput() throws IOException {
        Path out = dir.resolve("never.safetensors");
        Path random = dir.resolve("random.bin");
        byte[] b = new byte[4096];
        new java.util.Random(7).nextBytes(b);
        b[0] = 0x13; // not a zip/pickle/safetensors start
        Files.write(random, b);
        Path empty = Files.createFile(dir.resolve("empty.pth"));
        Path truncated = dir.resolve("trunc.pth");
        byte[] zip = Files.readAllBytes(fixture("tiny_vgg16_zip.pth"));
        Files.write(truncated, java.util.Arrays.copyOf(zip, zip.length / 2));
        for (Path in : List.of(random, empty, truncated, dir.resolve("missing.pth"), dir,
                fixture("evil_global.pth"), fixture("caffe_wrong_count.caffemodel"))) {
            WeightsException e = assertThrows(WeightsException.class,
                    () -> WeightsConverter.convert(in, out, WeightsConverter.Options.DEFAULT, false), in.toString());
            assertFalse(e.getMessage().contains("\n"));
            assertFalse(Files.exists(out), "no output for " + in);
        }
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".part")), "no temporary files left");
        }
    }

    /** A named pipe in {@code dir} (opening it for reading waits for a writer forever). */
    static Path fifo(Path dir) throws IOException, InterruptedException {
        Path f = dir.resolve("weights.pth");
        Process p = new ProcessBuilder("mkfifo", f.toString()).inheritIO().start();
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "needs mkfifo to make a named pipe");
        return f;
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 20, unit = java.util.concurrent.TimeUnit.SECONDS,
            threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD) // opening a FIFO hung
    void pipesAndDevicesAreRefusedNotOpened() throws Exception {
        Path out = dir.resolve("never.safetensors");
        for (Path in : List.of(fifo(dir), Path.of("/dev/zero"))) {
            List<org.junit.jupiter.api.function.Executable> uses = new java.util.ArrayList<>(List.of(
                    () -> WeightsConverter.detect(in),
                    () -> WeightsConverter.convert(in, out, WeightsConverter.Options.DEFAULT, false),
                    () -> WeightsCache.resolve(in, dir.resolve("cache")),
                    () -> WeightsCache.sha256(in)));
            for (WeightsConverter.Format f : WeightsConverter.Format.values()) {
                uses.add(() -> WeightsConverter.convert(in, out, new WeightsConverter.Options(f, null, null, null), false));
            }
            for (var use : uses) {
                WeightsException e = assertThrows(WeightsException.class, use, in.toString());
                assertEquals(in + ": not a regular file (a pipe, a device or a socket?); weights must be a file", e.getMessage());
            }
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void refusesToOverwrite() throws IOException {
        Path out = dir.resolve("x.safetensors");
        Files.writeString(out, "mine");
        WeightsException e = assertThrows(WeightsException.class,
                () -> WeightsConverter.convert(fixture("tiny_vgg16_zip.pth"), out, WeightsConverter.Options.DEFAULT, false));
        assertTrue(e.getMessage().contains("--force"));
        assertEquals("mine", Files.readString(out));
    }
}
