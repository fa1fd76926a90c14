package g2m.backend.cuda;

import g2m.backend.DeviceArray;
import g2m.backend.cpu.CpuBackend;
import g2m.maps.CpuMaps;
import g2m.maps.MapMethod;
import g2m.maps.MapsKernelArgs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static g2m.testing.Parity.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The arithmetic of the CUDA kernels, checked on the CPU: kernels/src/test/cpp/host_twin.cpp
 * runs the kernels' own per-element functions (kernels/src/main/cuda/g2m_math.cuh) in loops
 * that follow the kernels' order, compiled here with the host C++ compiler; its outputs are
 * compared with the Java CPU backend (the CPU twin). Routing ops (ReLU and max-pool backward),
 * the adaptive pools, the align-corners upsampling and the fc bias must agree to the bit; softmax, seeds and maps (double
 * sums in both) to relative error 1e-6. Skipped without a C++ compiler.
 * What stays unverified without a GPU is the kernels' thread mapping (CudaOpsTest, on a GPU).
 */
class KernelHostTwinTest {
    @TempDir
    static Path dir;
    static Path twin;
    static CpuBackend cpu;

    @BeforeAll
    static void build() throws IOException, InterruptedException {
        Path kernels = KernelSources.dir();
        Path src = kernels.resolve("src/test/cpp/host_twin.cpp");
        Assumptions.assumeTrue(Files.isRegularFile(src), "no kernel sources at " + kernels);
        String cxx = null;
        for (String c : List.of(System.getenv().getOrDefault("CXX", "c++"), "c++", "g++", "clang++")) {
            if (runs(c)) {
                cxx = c;
                break;
            }
        }
        Assumptions.assumeTrue(cxx != null, "no C++ compiler (c++, g++, clang++ or $CXX) to build the kernels' host twin");
        twin = dir.resolve("host_twin");
        Process p = new ProcessBuilder(cxx, "-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror",
                "-I", kernels.resolve("src/main/cuda").toString(), "-o", twin.toString(), src.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "compiling the host twin timed out");
        assertEquals(0, p.exitValue(), "compiling the host twin failed:\n" + log);
        cpu = new CpuBackend(1);
    }

    @AfterAll
    static void close() {
        if (cpu != null) cpu.close();
    }

    static boolean runs(String cmd) {
        try {
            Process p = new ProcessBuilder(cmd, "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** Runs the twin: inputs back to back (float[] or int[]), returns its float32 output. */
    static float[] run(String op, Object[] inputs, long... args) throws IOException, InterruptedException {
        int bytes = 0;
        for (Object in : inputs) bytes += 4 * (in instanceof float[] f ? f.length : ((int[]) in).length);
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (Object in : inputs) {
            if (in instanceof float[] f) {
                for (float v : f) b.putFloat(v);
            } else {
                for (int v : (int[]) in) b.putInt(v);
            }
        }
        Path inFile = Files.createTempFile(dir, op, ".in");
        Path outFile = Files.createTempFile(dir, op, ".out");
        Files.write(inFile, b.array());
        List<String> cmd = new ArrayList<>(List.of(twin.toString(), op, inFile.toString(), outFile.toString()));
        for (long a : args) cmd.add(Long.toString(a));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), op + " timed out");
        assertEquals(0, p.exitValue(), op + " failed: " + log);
        ByteBuffer o = ByteBuffer.wrap(Files.readAllBytes(outFile)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[o.remaining() / 4];
        o.asFloatBuffer().get(out);
        return out;
    }

    static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** Runs a CPU backend op on uploaded copies and returns the output. */
    interface CpuOp {
        void run(DeviceArray[] in, DeviceArray out);
    }

    static float[] onCpu(CpuOp op, int[] outShape, float[][] inputs, int[]... shapes) {
        DeviceArray[] in = new DeviceArray[inputs.length];
        try (DeviceArray out = cpu.allocate(outShape)) {
            for (int i = 0; i < inputs.length; i++) in[i] = cpu.upload(inputs[i], shapes[i]);
            op.run(in, out);
            return cpu.download(out);
        } finally {
            for (DeviceArray a : in) if (a != null) a.close();
        }
    }

    @ParameterizedTest(name = "n={0} m={1} item={2}")
    @CsvSource({"1, 1, 7", "2, 4, 100", "3, 6, 1"})
    void reluBackwardIsTheCpusToTheBit(int n, int m, int item) throws Exception {
        Random r = new Random(n * 31 + m);
        float[] y = random(r, n * item), dy = random(r, m * item);
        for (int i = 0; i < y.length; i += 3) y[i] = 0f; // the boundary: y = 0 blocks the gradient
        for (int i = 0; i < y.length; i++) y[i] = Math.max(y[i], 0f);
        float[] ref = onCpu((in, out) -> cpu.reluBackward(in[0], in[1], out), new int[] {m, item}, new float[][] {y, dy},
                new int[] {n, item}, new int[] {m, item});
        assertArrayEquals(ref, run("relu_bwd", new Object[] {y, dy}, item, n, m));
    }

    @ParameterizedTest(name = "n={0} c={1} h={2} w={3} m={4}")
    @CsvSource({"1, 1, 2, 2, 1", "2, 3, 5, 7, 4", "1, 2, 6, 6, 2", "2, 1, 9, 4, 2"})
    void maxPoolBackwardIsTheCpusToTheBitTiesAndNaNIncluded(int n, int c, int h, int w, int m) throws Exception {
        Random r = new Random(h * 100 + w);
        float[] x = random(r, n * c * h * w), dy = random(r, m * c * (h / 2) * (w / 2));
        for (int i = 0; i < x.length; i++) x[i] = Math.round(x[i]); // many ties within windows
        if (x.length > 5) x[5] = Float.NaN;                         // a NaN counts as the maximum
        float[] ref = onCpu((in, out) -> cpu.maxPool2x2Backward(in[0], in[1], out), new int[] {m, c, h, w},
                new float[][] {x, dy}, new int[] {n, c, h, w}, new int[] {m, c, h / 2, w / 2});
        assertArrayEquals(ref, run("maxpool_bwd", new Object[] {x, dy}, n, c, h, w, m));
    }

    @ParameterizedTest(name = "{1}x{2} -> {3}x{4}")
    @CsvSource({"3, 7, 7, 7, 7", "2, 6, 8, 7, 7", "2, 1, 1, 7, 7", "4, 13, 9, 3, 4", "1, 14, 14, 7, 7", "2, 5, 3, 7, 2"})
    void adaptivePoolsAreTheCpusToTheBit(int planes, int h, int w, int oh, int ow) throws Exception {
        Random r = new Random(h * 10 + w + oh);
        float[] x = random(r, planes * h * w), dy = random(r, planes * oh * ow);
        float[] fwd = onCpu((in, out) -> cpu.adaptiveAvgPoolForward(in[0], out), new int[] {1, planes, oh, ow},
                new float[][] {x}, new int[] {1, planes, h, w});
        assertArrayEquals(fwd, run("adapool_fwd", new Object[] {x}, planes, h, w, oh, ow), "forward");
        float[] bwd = onCpu((in, out) -> cpu.adaptiveAvgPoolBackward(in[0], out), new int[] {1, planes, h, w},
                new float[][] {dy}, new int[] {1, planes, oh, ow});
        assertArrayEquals(bwd, run("adapool_bwd", new Object[] {dy}, planes, h, w, oh, ow), "backward");
    }

    /** layercam_loc's gradient source: pool gradients (7x7, odd 3x4, 1x1) up to the tap before the pool, and a downsample. */
    @ParameterizedTest(name = "{1}x{2} -> {3}x{4}")
    @CsvSource({"3, 7, 7, 14, 14", "2, 3, 4, 7, 9", "2, 1, 1, 2, 3", "1, 112, 112, 224, 224", "2, 5, 7, 33, 50", "1, 9, 6, 4, 1"})
    void bilinearAlignCornersIsTheCpusToTheBit(int planes, int h, int w, int oh, int ow) throws Exception {
        float[] x = random(new Random(h * 7 + w + oh), planes * h * w);
        float[] ref = onCpu((in, out) -> cpu.upsampleBilinearAlignCorners(in[0], out), new int[] {1, planes, oh, ow},
                new float[][] {x}, new int[] {1, planes, h, w});
        assertArrayEquals(ref, run("upsample_ac", new Object[] {x}, planes, h, w, oh, ow));
    }

    @Test
    void biasRowsRepeatTheBias() throws Exception {
        float[] b = random(new Random(3), 5);
        float[] out = run("bias_rows", new Object[] {b}, 3, 5);
        for (int r = 0; r < 3; r++) assertArrayEquals(b, Arrays.copyOfRange(out, r * 5, r * 5 + 5));
    }

    @Test
    void softmaxAndSeedsMatchTheCpu() throws Exception {
        Random r = new Random(11);
        int n = 3, m = 1000;
        float[] z = random(r, n * m);
        for (int i = 0; i < z.length; i++) z[i] *= 8; // large logits: the max subtraction matters
        float[] p = onCpu((in, out) -> cpu.softmax(in[0], out), new int[] {n, m}, new float[][] {z}, new int[] {n, m});
        assertClose(p, run("softmax", new Object[] {z}, n, m), 1e-6, "softmax");
        int[] classes = {0, 999, 417};
        float[] s = onCpu((in, out) -> cpu.backwardSeeds(in[0], classes, out), new int[] {2 * n, m}, new float[][] {z}, new int[] {n, m});
        float[] t = run("seeds", new Object[] {z, classes}, n, m);
        assertArrayEquals(Arrays.copyOf(s, n * m), Arrays.copyOf(t, n * m), "one-hot rows exactly");
        assertClose(Arrays.copyOfRange(s, n * m, 2 * n * m), Arrays.copyOfRange(t, n * m, 2 * n * m), 1e-6, "softmax - 10 e_c rows");
    }

    static void checkMaps(String what, float[] a, float[] g1, float[] g2, int n, int c, int h, int w, List<MapMethod> methods)
            throws Exception {
        float[] ref = new float[n * methods.size() * h * w];
        CpuMaps.compute(a, g1, g2, n, c, h, w, methods, ref);
        // the flags and method codes CudaBackend launches the maps kernels with; the twin reads g2 only with F_G2
        int flags = MapsKernelArgs.flags(methods);
        Object[] in = (flags & MapsKernelArgs.F_G2) == 0 ? new Object[] {a, g1} : new Object[] {a, g1, g2};
        float[] out = run("maps", in, n, c, h * w, flags, methods.size(), MapsKernelArgs.packMethods(methods));
        // per image and method: each map on its own scale
        int hw = h * w;
        for (int i = 0; i < n * methods.size(); i++) {
            float[] o = Arrays.copyOfRange(out, i * hw, (i + 1) * hw), rr = Arrays.copyOfRange(ref, i * hw, (i + 1) * hw);
            String label = what + " image " + i / methods.size() + " " + methods.get(i % methods.size());
            if (Arrays.equals(rr, new float[hw])) {
                assertArrayEquals(rr, o, label + ": exactly zero where the twin is");
            } else {
                // relative 1e-6, plus an absolute 1e-12 per value for maps that cancel to rounding noise
                // (one channel, one pixel: SGL-G1 = (sign a + sign g)·sign g = 1e-16 either way)
                double num = 0, den = 0;
                for (int j = 0; j < hw; j++) {
                    num += ((double) o[j] - rr[j]) * ((double) o[j] - rr[j]);
                    den += (double) rr[j] * rr[j];
                }
                assertTrue(Math.sqrt(num) <= 1e-6 * Math.sqrt(den) + 1e-12 * Math.sqrt(hw),
                        label + ": error " + Math.sqrt(num) + " for a map of norm " + Math.sqrt(den));
            }
        }
    }

    @ParameterizedTest(name = "n={0} c={1} {2}x{3}")
    @CsvSource({"1, 1, 1, 1", "2, 5, 3, 4", "1, 8, 7, 7", "2, 37, 5, 9", "1, 64, 14, 14", "3, 512, 2, 3"})
    void everyMapMatchesTheCpuTwin(int n, int c, int h, int w) throws Exception {
        Random r = new Random(n * 1000 + c * 10 + h);
        int size = n * c * h * w;
        float[] a = random(r, size), g1 = random(r, size), g2 = random(r, size);
        for (int i = 0; i < size; i++) a[i] = Math.max(a[i], 0f); // a post-ReLU activation
        checkMaps("all", a, g1, g2, n, c, h, w, List.of(MapMethod.values()));
        checkMaps("reordered", a, g1, g2, n, c, h, w, List.of(MapMethod.DGL, MapMethod.GRADCAM_PP, MapMethod.LAYERCAM));
        checkMaps("without g2", a, g1, null, n, c, h, w, List.of(MapMethod.LAYERCAM, MapMethod.SGL_G1, MapMethod.HIRESCAM));
    }

    @Test
    void deadTapsGiveTheCpusZerosNotNaN() throws Exception {
        int n = 1, c = 9, h = 3, w = 4, size = n * c * h * w;
        Random r = new Random(5);
        float[] a = random(r, size), g = random(r, size), zero = new float[size];
        for (int i = 0; i < size; i++) a[i] = Math.max(a[i], 0f);
        List<MapMethod> all = List.of(MapMethod.values());
        checkMaps("A = 0", zero, g, g, n, c, h, w, all);
        checkMaps("g1 = g2 = 0", a, zero, zero, n, c, h, w, all);
        checkMaps("g2 = 0", a, g, zero, n, c, h, w, all);
        checkMaps("everything 0", zero, zero, zero, n, c, h, w, all);
    }
}
