package g2m.backend.cpu;

import g2m.backend.DeviceArray;
import g2m.backend.Precision;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static g2m.testing.Parity.assertClose;
import static g2m.testing.Parity.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Winograd43} against the double-precision definitions in {@link Naive}: forward (with and
 * without the ReLU) and backward to the input, on sizes that are and are not multiples of the
 * 4×4 tile, one and several channels, chunks of one and several images. Bound {@link #TOLERANCE}.
 */
class WinogradTest {
    /**
     * F(4×4, 3×3) in float32: the transforms' coefficients (up to 8 and 1/24) grow the rounding
     * error; measured 2e-8–1.6e-6 on these shapes, bound 1e-5 as the other fp32 paths.
     */
    static final double TOLERANCE = Naive.TOLERANCE;

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3} K={4}, {5} threads")
    @CsvSource({
            "1, 1, 1, 1, 1, 2",
            "1, 1, 4, 4, 1, 2",
            "2, 3, 5, 7, 4, 2",
            "1, 20, 9, 11, 24, 2",
            "3, 16, 14, 14, 32, 2",
            "2, 64, 13, 6, 16, 2",
            "1, 8, 40, 52, 8, 2",   // one chunk shared by the threads (below 2 x 256 tiles)
            "9, 4, 8, 8, 3, 2",
            "5, 6, 17, 9, 5, 7",
            "2, 6, 64, 70, 5, 2",   // chunks of tile rows, one thread each (576 tiles)
            "9, 4, 30, 30, 3, 2",   // several images per chunk (576 tiles)
            "3, 6, 45, 41, 5, 3",   // more threads than chunks hold evenly (792 tiles)
            "1, 8, 40, 52, 8, 1",
    })
    void forwardAndBackwardMatchTheDefinition(int n, int c, int h, int w, int k, int threads) {
        Random rnd = new Random(n * 1000 + c * 100 + h * 10 + w + k);
        float[] x = Naive.random(rnd, n * c * h * w), wt = Naive.random(rnd, k * c * 9), b = Naive.random(rnd, k);
        try (CpuBackend be = new CpuBackend(threads, Precision.FP32, ConvPath.WINOGRAD, null)) {
            DeviceArray xa = be.upload(x, n, c, h, w), wa = be.upload(wt, k, c, 3, 3), ba = be.upload(b, k);
            DeviceArray y = be.upload(CpuBackendTest.garbage(n * k * h * w), n, k, h, w);
            double[] ref = Naive.conv(x, wt, b, n, c, h, w, k);
            be.conv3x3Forward(xa, wa, ba, y);
            float[] got = be.download(y);
            assertClose(ref, got, TOLERANCE, "winograd forward");
            be.conv3x3ForwardRelu(xa, wa, ba, y);
            for (int i = 0; i < ref.length; i++) ref[i] = Math.max(ref[i], 0);
            assertClose(ref, be.download(y), TOLERANCE, "winograd forward + ReLU");

            int m = 2 * n;
            float[] g = Naive.random(rnd, m * k * h * w);
            DeviceArray gy = be.upload(g, m, k, h, w), gx = be.upload(CpuBackendTest.garbage(m * c * h * w), m, c, h, w);
            be.conv3x3BackwardData(gy, wa, gx);
            double[] refBack = Naive.convBackwardData(g, wt, m, c, h, w, k);
            assertClose(refBack, be.download(gx), TOLERANCE, "winograd backward");
            System.out.printf("winograd N=%d C=%d %dx%d K=%d: forward %.2e, backward %.2e%n", n, c, h, w, k,
                    relErr(Naive.conv(x, wt, b, n, c, h, w, k), got), relErr(refBack, be.download(gx)));
            assertTrue(be.convImplementation(n, c, k, h, w, false).startsWith("winograd"));
        }
    }

    /** Which VGG16 layers share one chunk on 2 threads: the 28×28 and 56×56 ones at batch 1, conv4_x at batch 8. */
    @ParameterizedTest(name = "N={0} C={1} {2}x{2} K={3}: shared {4}")
    @CsvSource({
            "1, 64, 224, 64, false", "1, 128, 112, 128, false", "1, 256, 56, 256, true", "1, 512, 28, 512, true",
            "8, 256, 56, 256, false", "8, 512, 28, 512, true",
    })
    void narrowShapesShareOneChunk(int n, int c, int hw, int k, boolean shared) {
        Winograd43.Plan p = new Winograd43.Plan(n, hw, hw, c, k);
        assertEquals(shared, p.sharedChunk(2));
        assertFalse(p.sharedChunk(1), "one thread: chunks as ever");
    }
}
