package g2m.backend.cuda;

import g2m.backend.Backend;
import g2m.backend.BackendUnavailableException;
import g2m.backend.DeviceArray;
import g2m.backend.Precision;
import g2m.backend.cpu.CpuBackend;
import g2m.backend.cpu.CpuGoldenOpsTest;
import g2m.maps.CpuMaps;
import g2m.maps.MapMethod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;

import static g2m.testing.Parity.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU: every op of the CUDA backend against PyTorch's op goldens (as CpuGoldenOpsTest: relative
 * error ≤ 1e-5, max-pool and ReLU exactly) and against its CPU twin on random shapes, stacked
 * right-hand sides, odd sizes, ties and NaN: ReLU, max-pool, adaptive pools bit for bit;
 * convolutions and fc ≤ 1e-5 (fp32 sums in another order); softmax, seeds, maps ≤ 1e-6.
 * Skipped, with the reason, without a usable GPU.
 */
@ExtendWith(CudaTestSupport.RequiresGpu.class)
class CudaOpsTest {
    static CudaBackend gpu;
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        gpu = CudaTestSupport.openOrSkip(Precision.FP32);
        try {
            cpu = new CpuBackend(0);
        } catch (BackendUnavailableException e) {
            cpu = null; // the PyTorch goldens still run; the twin comparisons skip
        }
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
        if (cpu != null) cpu.close();
    }

    @TestFactory
    List<DynamicTest> everyOpMatchesPyTorch() {
        return CpuGoldenOpsTest.opTests(gpu);
    }

    static void needCpu() {
        Assumptions.assumeTrue(cpu != null, "no CPU backend (OpenBLAS natives) in this bundle");
    }

    static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** Runs op on both backends (inputs uploaded to each) and returns {gpu, cpu} outputs. */
    static float[][] both(int[] outShape, BiConsumer<Backend, DeviceArray[]> op, float[][] inputs, int[]... shapes) {
        needCpu();
        float[][] r = new float[2][];
        Backend[] bes = {gpu, cpu};
        for (int b = 0; b < 2; b++) {
            DeviceArray[] arr = new DeviceArray[inputs.length + 1];
            try {
                for (int i = 0; i < inputs.length; i++) arr[i] = bes[b].upload(inputs[i], shapes[i]);
                arr[inputs.length] = bes[b].allocate(outShape);
                op.accept(bes[b], arr);
                r[b] = bes[b].download(arr[inputs.length]);
            } finally {
                for (DeviceArray a : arr) if (a != null) a.close();
            }
        }
        return r;
    }

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3} K={4}")
    @CsvSource({"1, 3, 224, 224, 8", "2, 5, 9, 7, 4", "1, 1, 1, 1, 1", "3, 64, 14, 14, 32", "2, 16, 13, 31, 8"})
    void convolutionsMatchTheCpu(int n, int c, int h, int w, int k) {
        Random r = new Random(n + c + h + w + k);
        float[] x = random(r, n * c * h * w), wt = random(r, k * c * 9), b = random(r, k), dy = random(r, 2 * n * k * h * w);
        float[][] y = both(new int[] {n, k, h, w}, (be, a) -> be.conv3x3Forward(a[0], a[1], a[2], a[3]),
                new float[][] {x, wt, b}, new int[] {n, c, h, w}, new int[] {k, c, 3, 3}, new int[] {k});
        assertClose(y[1], y[0], 1e-5, "forward");
        float[][] dx = both(new int[] {2 * n, c, h, w}, (be, a) -> be.conv3x3BackwardData(a[0], a[1], a[2]),
                new float[][] {dy, wt}, new int[] {2 * n, k, h, w}, new int[] {k, c, 3, 3});
        assertClose(dx[1], dx[0], 1e-5, "backward-data (2 stacked right-hand sides)");
    }

    @Test
    void reluForwardInPlaceAndBackwardStackedAreTheCpusToTheBit() {
        Random r = new Random(1);
        int n = 3, item = 1000;
        float[] x = random(r, n * item), dy = random(r, 2 * n * item);
        x[0] = 0f;
        float[][] y = both(new int[] {n, item}, (be, a) -> {
            be.reluForward(a[0], a[0]); // in place, as Vgg16Net does
            be.reluForward(a[0], a[1]);
        }, new float[][] {x}, new int[] {n, item});
        assertArrayEquals(y[1], y[0], "forward");
        float[][] dx = both(new int[] {2 * n, item}, (be, a) -> be.reluBackward(a[0], a[1], a[2]),
                new float[][] {y[1], dy}, new int[] {n, item}, new int[] {2 * n, item});
        assertArrayEquals(dx[1], dx[0], "backward");
    }

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3}")
    @CsvSource({"2, 3, 5, 7", "1, 4, 224, 224", "2, 2, 3, 2", "1, 1, 2, 2"})
    void maxPoolIsTheCpusToTheBitTiesAndNaNIncluded(int n, int c, int h, int w) {
        Random r = new Random(h * w);
        float[] x = random(r, n * c * h * w);
        for (int i = 0; i < x.length; i++) x[i] = Math.round(x[i] * 2) / 2f; // ties
        x[x.length / 2] = Float.NaN;
        int oh = h / 2, ow = w / 2;
        float[][] y = both(new int[] {n, c, oh, ow}, (be, a) -> be.maxPool2x2Forward(a[0], a[1]), new float[][] {x}, new int[] {n, c, h, w});
        assertArrayEquals(y[1], y[0], "forward");
        float[] dy = random(r, 2 * n * c * oh * ow);
        float[][] dx = both(new int[] {2 * n, c, h, w}, (be, a) -> be.maxPool2x2Backward(a[0], a[1], a[2]),
                new float[][] {x, dy}, new int[] {n, c, h, w}, new int[] {2 * n, c, oh, ow});
        assertArrayEquals(dx[1], dx[0], "backward (first maximum wins)");
    }

    @ParameterizedTest(name = "{2}x{3} -> {4}x{5}")
    @CsvSource({"1, 512, 7, 7, 7, 7", "2, 8, 6, 8, 7, 7", "2, 8, 1, 1, 7, 7", "1, 3, 13, 9, 3, 4"})
    void adaptivePoolsAreTheCpusToTheBit(int n, int c, int h, int w, int oh, int ow) {
        Random r = new Random(h + w);
        float[] x = random(r, n * c * h * w), dy = random(r, 2 * n * c * oh * ow);
        float[][] y = both(new int[] {n, c, oh, ow}, (be, a) -> be.adaptiveAvgPoolForward(a[0], a[1]), new float[][] {x}, new int[] {n, c, h, w});
        assertArrayEquals(y[1], y[0], "forward");
        float[][] dx = both(new int[] {2 * n, c, h, w}, (be, a) -> be.adaptiveAvgPoolBackward(a[0], a[1]),
                new float[][] {dy}, new int[] {2 * n, c, oh, ow});
        assertArrayEquals(dx[1], dx[0], "backward");
    }

    @ParameterizedTest(name = "{2}x{3} -> {4}x{5}")
    @CsvSource({"2, 512, 7, 7, 14, 14", "2, 8, 3, 4, 7, 9", "2, 8, 1, 1, 2, 3", "1, 4, 112, 112, 224, 224"})
    void bilinearAlignCornersIsTheCpusToTheBit(int n, int c, int h, int w, int oh, int ow) {
        float[] x = random(new Random(h * w + oh), n * c * h * w);
        float[][] y = both(new int[] {n, c, oh, ow}, (be, a) -> be.upsampleBilinearAlignCorners(a[0], a[1]), new float[][] {x}, new int[] {n, c, h, w});
        assertArrayEquals(y[1], y[0], "upsampled");
    }

    @ParameterizedTest(name = "N={0} K={1} M={2}")
    @CsvSource({"1, 25088, 64", "3, 100, 10", "64, 512, 1000"})
    void fullyConnectedMatchesTheCpu(int n, int k, int m) {
        Random r = new Random(n + k + m);
        float[] x = random(r, n * k), w = random(r, m * k), b = random(r, m), dy = random(r, 2 * n * m);
        float[][] y = both(new int[] {n, m}, (be, a) -> be.fcForward(a[0], a[1], a[2], a[3]),
                new float[][] {x, w, b}, new int[] {n, k}, new int[] {m, k}, new int[] {m});
        assertClose(y[1], y[0], 1e-5, "forward");
        float[][] dx = both(new int[] {2 * n, k}, (be, a) -> be.fcBackwardData(a[0], a[1], a[2]),
                new float[][] {dy, w}, new int[] {2 * n, m}, new int[] {m, k});
        assertClose(dx[1], dx[0], 1e-5, "backward");
    }

    @Test
    void softmaxAndSeedsMatchTheCpu() {
        Random r = new Random(2);
        int n = 5, m = 1000;
        float[] z = random(r, n * m);
        for (int i = 0; i < z.length; i++) z[i] *= 10;
        float[][] p = both(new int[] {n, m}, (be, a) -> be.softmax(a[0], a[1]), new float[][] {z}, new int[] {n, m});
        assertClose(p[1], p[0], 1e-6, "softmax");
        int[] classes = {0, 1, 999, 500, 3};
        float[][] s = both(new int[] {2 * n, m}, (be, a) -> be.backwardSeeds(a[0], classes, a[1]), new float[][] {z}, new int[] {n, m});
        assertClose(s[1], s[0], 1e-6, "seeds");
        assertArrayEquals(Arrays.copyOf(s[1], n * m), Arrays.copyOf(s[0], n * m), "one-hot rows exactly");
    }

    /** The maps on the GPU; g2 may be null. */
    static float[] gpuMaps(float[] a, float[] g1, float[] g2, int n, int c, int h, int w, List<MapMethod> ms) {
        try (DeviceArray da = gpu.upload(a, n, c, h, w); DeviceArray d1 = gpu.upload(g1, n, c, h, w);
             DeviceArray d2 = g2 == null ? null : gpu.upload(g2, n, c, h, w); DeviceArray out = gpu.allocate(n, ms.size(), h, w)) {
            gpu.maps(da, d1, d2, ms, out);
            return gpu.download(out);
        }
    }

    /** Against CpuMaps, the CPU twin itself (pure Java: runs where the bundle has no OpenBLAS). */
    @ParameterizedTest(name = "N={0} C={1} {2}x{3}")
    @CsvSource({"2, 512, 14, 14", "1, 64, 224, 224", "3, 37, 5, 9", "1, 3, 2, 1", "64, 512, 7, 7"})
    void mapsMatchTheCpuTwin(int n, int c, int h, int w) {
        Random r = new Random(n * c + h);
        int size = n * c * h * w;
        float[] a = random(r, size), g1 = random(r, size), g2 = random(r, size);
        for (int i = 0; i < size; i++) a[i] = Math.max(0f, a[i]);
        for (List<MapMethod> ms : List.of(List.of(MapMethod.values()), MapMethod.G2M, List.of(MapMethod.HIRESCAM, MapMethod.GRADCAM),
                List.of(MapMethod.DGL, MapMethod.XGRADCAM, MapMethod.LAYERCAM))) {
            float[] g2used = ms.stream().anyMatch(MapMethod::needsG2) ? g2 : null;
            float[] ref = new float[n * ms.size() * h * w];
            CpuMaps.compute(a, g1, g2used, n, c, h, w, ms, ref);
            assertClose(ref, gpuMaps(a, g1, g2used, n, c, h, w, ms), 1e-6, ms.toString());
        }
        float[] zero = new float[size];
        float[] dead = gpuMaps(a, zero, zero, n, c, h, w, List.of(MapMethod.values()));
        assertArrayEquals(new float[dead.length], dead, "dead gradients: every map exactly 0, as the CPU twin's");
    }

    /** With the grid capped at 3 blocks the element-wise kernels must still cover every element (grid-stride loops). */
    @Test
    void gridStrideLoopsCoverArraysLargerThanTheGrid() {
        long saved = Kernels.linearBlockCap;
        Kernels.linearBlockCap = 3;
        try {
            reluForwardInPlaceAndBackwardStackedAreTheCpusToTheBit();
            maxPoolIsTheCpusToTheBitTiesAndNaNIncluded(2, 3, 50, 41);
            adaptivePoolsAreTheCpusToTheBit(2, 8, 6, 8, 7, 7);
            bilinearAlignCornersIsTheCpusToTheBit(2, 8, 3, 4, 7, 9);
            fullyConnectedMatchesTheCpu(3, 100, 1000);
        } finally {
            Kernels.linearBlockCap = saved;
        }
    }

    @Test
    void badArgumentsAreRefusedBeforeAnyLaunch() {
        try (DeviceArray x = gpu.allocate(1, 3, 8, 8); DeviceArray y = gpu.allocate(1, 4, 8, 8); DeviceArray w = gpu.allocate(4, 2, 3, 3);
             DeviceArray b = gpu.allocate(4); DeviceArray z = gpu.allocate(2, 10); DeviceArray s = gpu.allocate(4, 10)) {
            assertThrows(IllegalArgumentException.class, () -> gpu.conv3x3Forward(x, w, b, y), "channel mismatch");
            assertThrows(IllegalArgumentException.class, () -> gpu.reluForward(x, y), "shape mismatch");
            assertThrows(IllegalArgumentException.class, () -> gpu.backwardSeeds(z, new int[] {0, 10}, s), "class outside 0..9");
            assertThrows(IllegalArgumentException.class, () -> gpu.maxPool2x2Forward(x, x), "output overlaps input");
        }
        List<MapMethod> nine = new java.util.ArrayList<>(List.of(MapMethod.values()));
        nine.add(MapMethod.LAYERCAM);
        try (DeviceArray a = gpu.allocate(1, 2, 2, 2); DeviceArray g = gpu.allocate(1, 2, 2, 2); DeviceArray out = gpu.allocate(1, 9, 2, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gpu.maps(a, g, g, nine, out));
            assertTrue(e.getMessage().contains("at most 8 methods"), e.getMessage());
        }
        DeviceArray freed = gpu.allocate(4);
        freed.close();
        assertThrows(IllegalStateException.class, () -> gpu.download(freed));
        assertEquals("cuda", gpu.name());
        assertTrue(gpu.description().startsWith("CUDA on "), gpu.description());
    }
}
