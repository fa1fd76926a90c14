package g2m.backend.cpu;

import g2m.backend.BackendUnavailableException;
import g2m.backend.Backends;
import g2m.backend.DeviceArray;
import g2m.backend.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static g2m.testing.Parity.assertClose;
import static g2m.testing.Parity.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The oneDNN paths of the CPU backend against the double-precision definitions in {@link Naive}:
 * fp32 convolutions within {@link Naive#TOLERANCE} (1e-5), bf16 convolutions and fully connected
 * products within {@link #BF16_OP_TOLERANCE}. A missing oneDNN fails here; a CPU without AVX2
 * (none of the project's machines) fails the fp32 cases, one without AVX-512 bf16 skips the bf16
 * cases ({@link Bf16Cpu}).
 */
class DnnlPathTest {
    /**
     * One product with bf16-rounded inputs (8-bit significands, relative rounding error ≤ 2⁻⁹ per
     * factor) and float32 accumulation, on random data: measured 2.3e-3–3.1e-3 on these shapes;
     * the bound leaves a factor of 3.
     */
    static final double BF16_OP_TOLERANCE = 1e-2;

    static CpuBackend backend(Precision p) {
        return backend(p, ConvPath.ONEDNN);
    }

    static CpuBackend backend(Precision p, ConvPath path) {
        if (p == Precision.BF16) Bf16Cpu.assume();
        return new CpuBackend(2, p, path, null);
    }

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3} K={4} {5}")
    @CsvSource({
            "1, 1, 1, 1, 1, fp32",
            "2, 3, 5, 7, 4, fp32",     // 3 input channels (conv1_1-like)
            "1, 20, 9, 11, 24, fp32",  // channels not a multiple of oneDNN's block of 16
            "3, 16, 14, 14, 32, fp32",
            "1, 64, 6, 5, 16, fp32",
            "2, 3, 5, 7, 4, bf16",
            "1, 20, 9, 11, 24, bf16",
            "3, 16, 14, 14, 32, bf16",
    })
    void convForwardAndBackwardMatchTheDefinition(int n, int c, int h, int w, int k, String precision) {
        Precision p = Precision.parse(precision);
        double tol = p == Precision.FP32 ? Naive.TOLERANCE : BF16_OP_TOLERANCE;
        Random rnd = new Random(n * 1000 + c * 100 + h * 10 + w + k);
        float[] x = Naive.random(rnd, n * c * h * w), wt = Naive.random(rnd, k * c * 9), b = Naive.random(rnd, k);
        try (CpuBackend be = backend(p)) {
            assertTrue(be.convImplementation(n, c, k, h, w, false).startsWith("oneDNN"), be.convImplementation(n, c, k, h, w, false));
            DeviceArray xa = be.upload(x, n, c, h, w), wa = be.upload(wt, k, c, 3, 3), ba = be.upload(b, k);
            DeviceArray y = be.upload(CpuBackendTest.garbage(n * k * h * w), n, k, h, w);
            be.conv3x3Forward(xa, wa, ba, y);
            assertClose(Naive.conv(x, wt, b, n, c, h, w, k), be.download(y), tol, precision + " conv forward");

            int m = 2 * n; // stacked right-hand sides, as the maps' backward pass has them
            float[] g = Naive.random(rnd, m * k * h * w);
            DeviceArray gy = be.upload(g, m, k, h, w), gx = be.upload(CpuBackendTest.garbage(m * c * h * w), m, c, h, w);
            be.conv3x3BackwardData(gy, wa, gx);
            assertClose(Naive.convBackwardData(g, wt, m, c, h, w, k), be.download(gx), tol, precision + " conv backward");
        }
    }

    /** The fused conv + ReLU (oneDNN post-op; im2col: conv then ReLU) is ReLU of the definition, on both paths and precisions. */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"FP32, ONEDNN", "FP32, IM2COL", "BF16, AUTO"})
    void convForwardReluIsTheReluOfTheConvolution(Precision p, ConvPath path) {
        if (p == Precision.BF16) Bf16Cpu.assume();
        Random rnd = new Random(12);
        int n = 2, c = 19, h = 7, w = 9, k = 21;
        float[] x = Naive.random(rnd, n * c * h * w), wt = Naive.random(rnd, k * c * 9), b = Naive.random(rnd, k);
        double[] ref = Naive.conv(x, wt, b, n, c, h, w, k);
        for (int i = 0; i < ref.length; i++) ref[i] = Math.max(ref[i], 0);
        try (CpuBackend be = new CpuBackend(2, p, path, null)) {
            DeviceArray xa = be.upload(x, n, c, h, w), wa = be.upload(wt, k, c, 3, 3), ba = be.upload(b, k);
            DeviceArray y = be.upload(CpuBackendTest.garbage(n * k * h * w), n, k, h, w);
            be.conv3x3ForwardRelu(xa, wa, ba, y);
            float[] got = be.download(y);
            assertClose(ref, got, p == Precision.FP32 ? Naive.TOLERANCE : BF16_OP_TOLERANCE, p + " " + path + " conv+relu");
            for (float v : got) assertTrue(v >= 0, "no negative output after the ReLU");
        }
    }

    /** The reordered (oneDNN) or transformed (Winograd) weights are a cache: writing the weight array (from the host or as an op's output) must renew it. */
    @ParameterizedTest
    @CsvSource({"ONEDNN", "WINOGRAD"})
    void rewrittenWeightsAreReorderedAgain(ConvPath path) {
        Random rnd = new Random(3);
        int n = 1, c = 8, h = 6, w = 6, k = 16;
        float[] x = Naive.random(rnd, n * c * h * w), w1 = Naive.random(rnd, k * c * 9), w2 = Naive.random(rnd, k * c * 9);
        float[] b = new float[k];
        try (CpuBackend be = backend(Precision.FP32, path)) {
            DeviceArray xa = be.upload(x, n, c, h, w), wa = be.upload(w1, k, c, 3, 3), ba = be.upload(b, k), y = be.allocate(n, k, h, w);
            DeviceArray dx = be.allocate(n, c, h, w);
            be.conv3x3Forward(xa, wa, ba, y);
            assertClose(Naive.conv(x, w1, b, n, c, h, w, k), be.download(y), Naive.TOLERANCE, "first weights");
            be.copyFromHost(w2, wa);
            be.conv3x3Forward(xa, wa, ba, y);
            assertClose(Naive.conv(x, w2, b, n, c, h, w, k), be.download(y), Naive.TOLERANCE, "weights copied from the host");
            // the weights as the output of an op (ReLU of themselves)
            be.reluForward(wa, wa);
            float[] w3 = w2.clone();
            for (int i = 0; i < w3.length; i++) w3[i] = Math.max(w3[i], 0f);
            be.conv3x3Forward(xa, wa, ba, y);
            assertClose(Naive.conv(x, w3, b, n, c, h, w, k), be.download(y), Naive.TOLERANCE, "weights written by an op");
            be.conv3x3BackwardData(y, wa, dx);
            assertClose(Naive.convBackwardData(be.download(y), w3, n, c, h, w, k), be.download(dx), Naive.TOLERANCE, "backward with them");
        }
    }

    /** Views at an offset into a larger block (the stacked-gradient batches are such views). */
    @ParameterizedTest
    @CsvSource({"FP32, ONEDNN", "BF16, ONEDNN", "FP32, WINOGRAD"})
    void convOnViewsAtAnOffset(Precision p, ConvPath path) {
        Random rnd = new Random(8);
        int n = 2, c = 5, h = 5, w = 6, k = 17;
        float[] x = Naive.random(rnd, 3 * c * h * w), wt = Naive.random(rnd, 2 * k * c * 9), b = Naive.random(rnd, k);
        double tol = p == Precision.FP32 ? Naive.TOLERANCE : BF16_OP_TOLERANCE;
        try (CpuBackend be = backend(p, path); DeviceArray all = be.upload(x, 3, c, h, w); DeviceArray ws = be.upload(wt, 2, k, c, 3, 3);
             DeviceArray db = be.upload(b, k); DeviceArray out = be.allocate(4, k, h, w)) {
            DeviceArray xs = all.batch(1, 3), ys = out.batch(2, 4), w2 = ws.batch(1, 2).reshape(k, c, 3, 3);
            be.conv3x3Forward(xs, w2, db, ys);
            float[] ref = java.util.Arrays.copyOfRange(x, c * h * w, 3 * c * h * w);
            float[] w2h = java.util.Arrays.copyOfRange(wt, k * c * 9, 2 * k * c * 9);
            float[] got = be.download(out);
            assertClose(Naive.conv(ref, w2h, b, n, c, h, w, k), java.util.Arrays.copyOfRange(got, 2 * k * h * w, 4 * k * h * w),
                    tol, p + " conv on views");
        }
    }

    @ParameterizedTest
    @CsvSource({"FP32, ONEDNN", "BF16, ONEDNN", "FP32, WINOGRAD"})
    void weightCopiesAreFreedWithTheirArrayAndRepeatedCallsAllocateNothing(Precision p, ConvPath path) {
        Random rnd = new Random(4);
        int n = 2, c = 16, h = 7, w = 7, k = 16;
        try (CpuBackend be = backend(p, path); DeviceArray x = be.upload(Naive.random(rnd, n * c * h * w), n, c, h, w);
             DeviceArray b = be.upload(new float[k], k); DeviceArray y = be.allocate(n, k, h, w); DeviceArray dx = be.allocate(n, c, h, w)) {
            DeviceArray wt = be.upload(Naive.random(rnd, k * c * 9), k, c, 3, 3);
            be.conv3x3Forward(x, wt, b, y);
            be.conv3x3BackwardData(y, wt, dx);
            long count = be.nativeAllocations(), bytes = be.nativeBytes();
            for (int r = 0; r < 3; r++) {
                be.conv3x3Forward(x, wt, b, y);
                be.conv3x3BackwardData(y, wt, dx);
            }
            assertEquals(count, be.nativeAllocations(), p + ": repeated calls allocate nothing");
            assertEquals(bytes, be.nativeBytes());
            wt.close();
            // the weights (k·c·9 floats) and their forward and backward copies (oneDNN: k·c·9 each, in
            // bf16 mode 2-byte; Winograd: k·c·36 floats each) are gone
            long copy = path == ConvPath.WINOGRAD ? 36L * k * c * 4 : 9L * k * c * (p == Precision.FP32 ? 4 : 2);
            long gone = 9L * k * c * 4 + 2 * copy;
            assertTrue(be.nativeBytes() <= bytes - gone + 1, p + " " + path + ": " + bytes + " -> " + be.nativeBytes());
        }
    }

    @ParameterizedTest(name = "N={0} K={1} M={2}")
    @CsvSource({"1, 300, 40", "3, 64, 17", "2, 1, 1", "5, 512, 100"})
    void bf16FullyConnectedMatchesTheDefinition(int n, int k, int m) {
        Random rnd = new Random(n + k + m);
        float[] x = Naive.random(rnd, n * k), wt = Naive.random(rnd, m * k), b = Naive.random(rnd, m), g = Naive.random(rnd, 2 * n * m);
        try (CpuBackend be = backend(Precision.BF16)) {
            DeviceArray xa = be.upload(x, n, k), wa = be.upload(wt, m, k), ba = be.upload(b, m), y = be.allocate(n, m);
            be.fcForward(xa, wa, ba, y);
            assertClose(Naive.fc(x, wt, b, n, k, m), be.download(y), BF16_OP_TOLERANCE, "bf16 fc forward");
            DeviceArray gy = be.upload(g, 2 * n, m), gx = be.allocate(2 * n, k);
            be.fcBackwardData(gy, wa, gx);
            assertClose(Naive.fcBackward(g, wt, 2 * n, k, m), be.download(gx), BF16_OP_TOLERANCE, "bf16 fc backward");
            // rewritten weights are converted again
            float[] w2 = Naive.random(rnd, m * k);
            be.copyFromHost(w2, wa);
            be.fcForward(xa, wa, ba, y);
            assertClose(Naive.fc(x, w2, b, n, k, m), be.download(y), BF16_OP_TOLERANCE, "bf16 fc forward, new weights");
        }
    }

    /** bf16 actually rounds: the error is far above fp32's, so the mode is not silently fp32. */
    @Test
    void bf16RoundsTheProductsInputs() {
        Random rnd = new Random(9);
        int n = 1, c = 32, h = 8, w = 8, k = 32;
        float[] x = Naive.random(rnd, n * c * h * w), wt = Naive.random(rnd, k * c * 9), b = new float[k];
        try (CpuBackend be = backend(Precision.BF16)) {
            DeviceArray xa = be.upload(x, n, c, h, w), wa = be.upload(wt, k, c, 3, 3), ba = be.upload(b, k), y = be.allocate(n, k, h, w);
            be.conv3x3Forward(xa, wa, ba, y);
            double e = relErr(Naive.conv(x, wt, b, n, c, h, w, k), be.download(y));
            assertTrue(e > 1e-4 && e < BF16_OP_TOLERANCE, "bf16 conv error " + e);
            assertEquals(Precision.BF16, be.precision());
            assertTrue(be.description().contains("bf16"), be.description());
        }
    }

    @Test
    void bf16WithAnFp32OnlyPathIsRefused() {
        for (ConvPath path : new ConvPath[] {ConvPath.IM2COL, ConvPath.WINOGRAD}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CpuBackend(1, Precision.BF16, path, null));
            assertTrue(e.getMessage().contains("computes in fp32"), e.getMessage());
        }
    }

    @Test
    void gpuOnlyPrecisionsAreRefusedOnTheCpu() {
        for (Precision p : new Precision[] {Precision.TF32, Precision.FP16}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.open("cpu", 1, p));
            assertTrue(e.getMessage().contains("needs the CUDA backend"), e.getMessage());
        }
        if (Bf16Cpu.available()) {
            try (var be = Backends.open("cpu", 1, Precision.BF16)) {
                assertTrue(be.description().contains("bf16"), be.description());
            }
        } else {
            BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> Backends.open("cpu", 1, Precision.BF16));
            assertEquals("this CPU has no AVX-512 bf16 instructions", e.reason());
        }
    }

    /**
     * AUTO in fp32, as measured on both machines: the 3-channel first layer on oneDNN with AVX-512,
     * on im2col with AVX2 alone; Winograd for the layers with enough tiles (conv1_2 too with
     * AVX-512); oneDNN for the rest (the 14×14 layers at batch 1 and 2, conv1_2 with AVX2 alone); bf16 is oneDNN throughout; IM2COL forces the old path.
     * Lesser CPUs: {@link IsaCapPathTest}.
     */
    @Test
    void autoTakesThePathThatMeasuredFastest() {
        boolean avx512 = Dnnl.hasAvx512();
        try (CpuBackend be = new CpuBackend(2)) {
            String first = be.convImplementation(1, 3, 64, 224, 224, false);
            assertTrue(avx512 ? first.startsWith("oneDNN") : first.equals("im2col+sgemm"), first);
            String conv12 = be.convImplementation(1, 64, 64, 224, 224, false);
            assertTrue(avx512 ? conv12.startsWith("winograd") : conv12.startsWith("oneDNN"), conv12);
            assertTrue(be.convImplementation(2, 512, 512, 14, 14, true).startsWith("oneDNN"));
            for (int[] s : new int[][] {{8, 256, 256, 56, 56, 1}, {1, 64, 128, 112, 112, 0}, {1, 512, 512, 28, 28, 0}, {8, 512, 512, 14, 14, 1}}) {
                String impl = be.convImplementation(s[0], s[1], s[2], s[3], s[4], s[5] == 1);
                assertTrue(impl.startsWith("winograd"), java.util.Arrays.toString(s) + ": " + impl);
            }
            assertTrue(be.description().contains(avx512 ? "Winograd and oneDNN convolutions" : "Winograd, oneDNN and im2col convolutions"),
                    be.description());
        }
        if (Bf16Cpu.available()) {
            try (CpuBackend be = new CpuBackend(2, Precision.BF16, ConvPath.AUTO, null)) {
                assertTrue(be.convImplementation(1, 3, 64, 224, 224, false).contains("bf16"), be.convImplementation(1, 3, 64, 224, 224, false));
            }
        }
        try (CpuBackend be = new CpuBackend(2, Precision.FP32, ConvPath.IM2COL, null)) {
            assertEquals("im2col+sgemm", be.convImplementation(1, 64, 64, 224, 224, false));
        }
    }

    @Test
    void theMachineHasWhatTheFastPathsNeed() {
        // Not an assumption: on the project's machines a oneDNN that fails to load is a defect.
        assertTrue(Dnnl.load(), Dnnl.loadError());
        assertTrue(Dnnl.hasAvx2(), "oneDNN finds no AVX2 on this CPU");
        assertThrows(IllegalArgumentException.class, () -> ConvPath.parse("fft"));
        assertEquals(ConvPath.ONEDNN, ConvPath.parse(" oneDNN "));
        // where the CPU lacks them, the backend falls back or refuses in words: IsaCapPathTest
    }
}
