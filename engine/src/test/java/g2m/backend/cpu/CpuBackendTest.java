package g2m.backend.cpu;

import g2m.backend.BackendUnavailableException;
import g2m.backend.DeviceArray;
import g2m.backend.Precision;
import g2m.maps.CpuMaps;
import g2m.maps.MapMethod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static g2m.testing.Parity.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op of {@link CpuBackend} against the double-precision definitions in {@link Naive}:
 * relative error ‖out − ref‖₂/‖ref‖₂ ≤ {@link Naive#TOLERANCE} = 1e-5. Routing ops (ReLU mask,
 * max-pool argmax) are also checked exactly.
 */
class CpuBackendTest {
    static CpuBackend be;

    @BeforeAll
    static void open() {
        be = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    // ------------------------------------------------------------------ convolution

    /**
     * tile = aimed-at columns per sgemm: small tiles force row blocks (with halos in backward),
     * large ones put images side by side; thread counts above the tile count split sgemms by rows.
     */
    @ParameterizedTest(name = "N={0} C={1} H={2} W={3} K={4} tile={5} threads={6}")
    @CsvSource({
            "2, 3, 5, 7, 4, 2048, 2",   // one image per tile
            "1, 1, 1, 1, 1, 2048, 2",
            "3, 5, 9, 2, 6, 2048, 1",   // 3 images side by side
            "6, 5, 9, 2, 6, 2048, 2",   // 2 tiles of 3 images
            "7, 3, 4, 4, 5, 2048, 3",   // tiles of 2, 2, 2, 1 images
            "2, 3, 9, 7, 4, 16, 2",     // row blocks of 3 rows, halos
            "2, 3, 9, 7, 4, 1, 2",      // one row per block
            "1, 3, 9, 7, 4, 1, 3",
            "3, 4, 2, 2, 3, 16, 2",
            "2, 16, 30, 30, 8, 2048, 2",
            "1, 8, 40, 40, 8, 2048, 2",  // 1 image: split into 2 row blocks for 2 threads
            "1, 8, 40, 40, 8, 2048, 5",  // 5 threads: more row blocks
            "1, 6, 10, 10, 8, 2048, 2",  // 1 tile of 100 columns: sgemm split by output rows
            "1, 6, 10, 10, 8, 2048, 7",
            "2, 5, 6, 6, 3, 2048, 5",    // 2 tiles for 5 threads: sgemms split by rows
            "1, 4, 15, 20, 6, 2048, 5",  // 2 row blocks (halos) for 5 threads: split by rows
            "2, 4, 70, 66, 5, 2048, 2",  // several row blocks of a large image
            "5, 7, 14, 14, 9, 2048, 2",  // deep-layer-like: images side by side
            "8, 6, 14, 14, 10, 2048, 2",
    })
    void convForwardAndBackwardMatchTheDefinition(int n, int c, int h, int w, int k, int tile, int threads) {
        Random rnd = new Random(n * 1000 + c * 100 + h * 10 + w + k + tile);
        float[] x = Naive.random(rnd, n * c * h * w), wt = Naive.random(rnd, k * c * 9), b = Naive.random(rnd, k);
        try (CpuBackend cb = new CpuBackend(threads, Precision.FP32, ConvPath.IM2COL, null)) { // the tiles are im2col's
            cb.tileColumns = tile;
            DeviceArray xa = cb.upload(x, n, c, h, w), wa = cb.upload(wt, k, c, 3, 3), ba = cb.upload(b, k);
            DeviceArray y = cb.upload(garbage(n * k * h * w), n, k, h, w);
            cb.conv3x3Forward(xa, wa, ba, y);
            assertClose(Naive.conv(x, wt, b, n, c, h, w, k), cb.download(y), Naive.TOLERANCE, "conv forward");

            int m = 2 * n; // stacked right-hand sides
            float[] g = Naive.random(rnd, m * k * h * w);
            DeviceArray gy = cb.upload(g, m, k, h, w), gx = cb.upload(garbage(m * c * h * w), m, c, h, w);
            cb.conv3x3BackwardData(gy, wa, gx);
            assertClose(Naive.convBackwardData(g, wt, m, c, h, w, k), cb.download(gx), Naive.TOLERANCE, "conv backward");
        }
    }

    @Test
    void convPlansCoverEveryOutputPositionOnce() {
        Random rnd = new Random(11);
        for (int trial = 0; trial < 5000; trial++) {
            int n = 1 + rnd.nextInt(9), h = 1 + rnd.nextInt(60), w = 1 + rnd.nextInt(60), threads = 1 + rnd.nextInt(8);
            int tile = 1 + rnd.nextInt(4096);
            Conv3x3.Plan p = new Conv3x3.Plan(n, h, w, threads, tile);
            int[] seen = new int[n * h];
            for (int t = 0; t < p.tiles; t++) {
                assertTrue(p.cols(t) <= p.maxCols && p.cols(t) > 0);
                assertTrue(p.rowBlocks || p.rows(t) == h);
                for (int i = 0; i < p.images(t); i++)
                    for (int r = 0; r < p.rows(t); r++) seen[(p.image(t) + i) * h + p.y0(t) + r]++;
            }
            for (int v : seen) assertEquals(1, v, "plan " + n + "x" + h + "x" + w + " threads " + threads + " tile " + tile);
            assertTrue(p.slices >= 1 && (p.slices == 1 || p.tiles < threads));
        }
    }

    @Test
    void convBackwardOverwritesGarbageInDx() {
        Random rnd = new Random(7);
        int m = 2, c = 3, h = 6, w = 5, k = 4;
        float[] wt = Naive.random(rnd, k * c * 9), g = Naive.random(rnd, m * k * h * w);
        float[] junk = new float[m * c * h * w];
        Arrays.fill(junk, Float.NaN);
        try (DeviceArray dw = be.upload(wt, k, c, 3, 3); DeviceArray gy = be.upload(g, m, k, h, w);
             DeviceArray gx = be.upload(junk, m, c, h, w)) {
            be.conv3x3BackwardData(gy, dw, gx);
            assertClose(Naive.convBackwardData(g, wt, m, c, h, w, k), be.download(gx), Naive.TOLERANCE, "conv backward");
        }
    }

    @Test
    void convOnViewsOfLargerArrays() {
        Random rnd = new Random(8);
        int n = 2, c = 3, h = 5, w = 6, k = 2;
        float[] x = Naive.random(rnd, 3 * c * h * w), wt = Naive.random(rnd, k * c * 9), b = Naive.random(rnd, k);
        try (DeviceArray all = be.upload(x, 3, c, h, w); DeviceArray dw = be.upload(wt, k, c, 3, 3);
             DeviceArray db = be.upload(b, k); DeviceArray out = be.allocate(4, k, h, w)) {
            DeviceArray xs = all.batch(1, 3), ys = out.batch(2, 4);
            be.conv3x3Forward(xs, dw, db, ys);
            float[] ref = Arrays.copyOfRange(x, c * h * w, 3 * c * h * w);
            float[] got = be.download(out);
            assertClose(Naive.conv(ref, wt, b, n, c, h, w, k), Arrays.copyOfRange(got, 2 * k * h * w, 4 * k * h * w), Naive.TOLERANCE, "conv on views");
        }
    }

    // ------------------------------------------------------------------ ReLU

    @Test
    void reluForwardAndStackedBackward() {
        Random rnd = new Random(1);
        int n = 2, c = 3, h = 5, w = 7;
        float[] x = Naive.random(rnd, n * c * h * w);
        x[0] = 0f;
        x[1] = -0f;
        float[] dyv = Naive.random(rnd, 2 * n * c * h * w);
        try (DeviceArray dx_ = be.upload(x, n, c, h, w); DeviceArray y = be.allocate(n, c, h, w);
             DeviceArray dy = be.upload(dyv, 2 * n, c, h, w); DeviceArray dx = be.allocate(2 * n, c, h, w)) {
            be.reluForward(dx_, y);
            float[] yv = be.download(y);
            for (int i = 0; i < x.length; i++) assertEquals(Math.max(x[i], 0f), yv[i], 0f);
            be.reluBackward(y, dy, dx);
            float[] got = be.download(dx);
            int item = c * h * w;
            for (int b = 0; b < 2 * n; b++) {
                for (int i = 0; i < item; i++) {
                    float want = yv[(b % n) * item + i] > 0 ? dyv[b * item + i] : 0f;
                    assertEquals(want, got[b * item + i], 0f, "item " + b + " element " + i);
                }
            }
            // in place: y = relu(y), dx = dy
            be.reluForward(dx_, dx_);
            assertArrayEquals(yv, be.download(dx_));
            be.reluBackward(y, dy, dy);
            assertArrayEquals(got, be.download(dy));
        }
    }

    @Test
    void reluMaskPassesOnlyStrictlyPositiveOutputs() {
        float[] y = {0f, -0f, 1e-30f, 2f, 0f, 3f};
        float[] dy = {5f, 6f, 7f, 8f, Float.NaN, -1f};
        try (DeviceArray ya = be.upload(y, 1, 6); DeviceArray dya = be.upload(dy, 1, 6); DeviceArray dx = be.allocate(1, 6)) {
            be.reluBackward(ya, dya, dx);
            assertArrayEquals(new float[]{0f, 0f, 7f, 8f, 0f, -1f}, be.download(dx));
        }
        float[] x = {-1f, 0f, 2f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -0f};
        try (DeviceArray xa = be.upload(x, 2, 3); DeviceArray ya = be.allocate(2, 3)) {
            be.reluForward(xa, ya);
            assertArrayEquals(new float[]{0f, 0f, 2f, 0f, Float.POSITIVE_INFINITY, 0f}, be.download(ya));
        }
    }

    @Test
    void branchFreeReluMaskIsExactlyGreaterThanZero() {
        float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x7fc00001),
                Float.intBitsToFloat(0xffc00000), Float.intBitsToFloat(0x7f800001), 1f, -1f};
        for (float v : special) assertEquals(v > 0f ? -1 : 0, CpuBackend.positiveMask(v), "mask of " + v);
        Random rnd = new Random(12);
        for (int i = 0; i < 1_000_000; i++) {
            float v = Float.intBitsToFloat(rnd.nextInt());
            assertEquals(v > 0f ? -1 : 0, CpuBackend.positiveMask(v), "mask of bits " + Integer.toHexString(Float.floatToRawIntBits(v)));
        }
    }

    @Test
    void reluOnLargeArrayRunsInParallelChunks() {
        Random rnd = new Random(2);
        int n = 3, item = 50_001;
        float[] x = Naive.random(rnd, n * item), dy = Naive.random(rnd, 2 * n * item);
        try (DeviceArray xa = be.upload(x, n, item); DeviceArray ya = be.allocate(n, item);
             DeviceArray dya = be.upload(dy, 2 * n, item); DeviceArray dx = be.allocate(2 * n, item)) {
            be.reluForward(xa, ya);
            be.reluBackward(ya, dya, dx);
            float[] got = be.download(dx);
            for (int b = 0; b < 2 * n; b++)
                for (int i = 0; i < item; i++)
                    assertEquals(x[(b % n) * item + i] > 0 ? dy[b * item + i] : 0f, got[b * item + i], 0f);
        }
    }

    // ------------------------------------------------------------------ max pool

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3}")
    @CsvSource({"2, 3, 6, 8", "2, 2, 5, 7", "1, 1, 2, 2", "2, 4, 3, 9", "1, 64, 224, 224"})
    void maxPoolForwardAndStackedBackward(int n, int c, int h, int w) {
        Random rnd = new Random(h * 31 + w);
        float[] x = Naive.random(rnd, n * c * h * w);
        int oh = h / 2, ow = w / 2, m = 2 * n;
        float[] dy = Naive.random(rnd, m * c * oh * ow);
        try (DeviceArray xa = be.upload(x, n, c, h, w); DeviceArray y = be.allocate(n, c, oh, ow);
             DeviceArray dya = be.upload(dy, m, c, oh, ow); DeviceArray dx = be.allocate(m, c, h, w)) {
            be.maxPool2x2Forward(xa, y);
            assertArrayEquals(toFloat(Naive.maxPool(x, n, c, h, w)), be.download(y));
            be.copyFromHost(garbage(m * c * h * w), dx); // dx must be fully overwritten, dropped rows/columns included
            be.maxPool2x2Backward(xa, dya, dx);
            assertArrayEquals(toFloat(Naive.maxPoolBackward(x, dy, n, m, c, h, w)), be.download(dx));
        }
    }

    /** The forward pool's window maximum: the value the backward's first-strict-maximum rule picks, NaN wins, +0 over -0. */
    @Test
    void maxPoolWindowValue() {
        assertTrue(Float.isNaN(CpuPooling.max2x2(1, Float.NaN, 3, 2)) && Float.isNaN(CpuPooling.max2x2(Float.NaN, 5, 6, 7)));
        assertEquals(-1f, CpuPooling.max2x2(-1, -2, -3, -4));
        assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(CpuPooling.max2x2(-0f, 0f, -1, -2)), "+0 over -0");
        Random r = new Random(5);
        for (int i = 0; i < 100_000; i++) {
            float[] v = new float[4];
            for (int k = 0; k < 4; k++) v[k] = r.nextInt(5) - 2;          // many ties
            float first = v[0];
            for (int k = 1; k < 4; k++) if (v[k] > first) first = v[k];
            assertEquals(first, CpuPooling.max2x2(v[0], v[1], v[2], v[3]), 0f);
        }
    }

    @Test
    void maxPoolTiesGoToTheFirstElementInRowMajorOrder() {
        // 4x5 input (last column dropped): window (0,0) all zero, window (0,1) max 4 at window positions 1
        // and 3, window (1,0) max 3 at positions 1, 2, 3, window (1,1) all 7; the dropped column holds 9s.
        float[] x = {
                0, 0, 1, 4, 9,
                0, 0, 2, 4, 9,
                -1, 3, 7, 7, 9,
                3, 3, 7, 7, 9};
        float[] dy = {10, 20, 30, 40};
        try (DeviceArray xa = be.upload(x, 1, 1, 4, 5); DeviceArray y = be.allocate(1, 1, 2, 2);
             DeviceArray dya = be.upload(dy, 1, 1, 2, 2); DeviceArray dx = be.upload(garbage(20), 1, 1, 4, 5)) {
            be.maxPool2x2Forward(xa, y);
            assertArrayEquals(new float[]{0, 4, 3, 7}, be.download(y));
            be.maxPool2x2Backward(xa, dya, dx);
            assertArrayEquals(new float[]{
                    10, 0, 0, 20, 0,
                    0, 0, 0, 0, 0,
                    0, 30, 40, 0, 0,
                    0, 0, 0, 0, 0}, be.download(dx));
        }
    }

    @Test
    void maxPoolAllZeroInputRoutesEverythingToTopLeft() {
        int h = 5, w = 5;
        try (DeviceArray xa = be.upload(new float[h * w], 1, 1, h, w); DeviceArray dya = be.upload(new float[]{1, 2, 3, 4}, 1, 1, 2, 2);
             DeviceArray dx = be.upload(garbage(h * w), 1, 1, h, w)) {
            be.maxPool2x2Backward(xa, dya, dx);
            float[] want = new float[h * w];
            want[0] = 1;
            want[2] = 2;
            want[2 * w] = 3;
            want[2 * w + 2] = 4;
            assertArrayEquals(want, be.download(dx));
        }
    }

    // ------------------------------------------------------------------ adaptive average pool

    @Test
    void adaptiveBinsArePyTorchs() {
        // adaptive_avg_pool1d([1..5], 7) in PyTorch: bins [0,1) [0,2) [1,3) [2,3) [2,4) [3,5) [4,5)
        try (DeviceArray x = be.upload(new float[]{1, 2, 3, 4, 5}, 1, 1, 5, 1); DeviceArray y = be.allocate(1, 1, 7, 1)) {
            be.adaptiveAvgPoolForward(x, y);
            assertArrayEquals(new float[]{1, 1.5f, 2.5f, 3, 3.5f, 4.5f, 5}, be.download(y));
        }
        // 9 -> 7 overlaps: bins [0,2) [1,3) [2,4) [3,6) [5,7) [6,8) [7,9)
        int[][] want = {{0, 2}, {1, 3}, {2, 4}, {3, 6}, {5, 7}, {6, 8}, {7, 9}};
        for (int i = 0; i < 7; i++) {
            assertEquals(want[i][0], CpuPooling.binStart(i, 9, 7));
            assertEquals(want[i][1], CpuPooling.binEnd(i, 9, 7));
            assertArrayEquals(want[i], Naive.bin(i, 9, 7));
        }
        for (int in = 1; in <= 40; in++)
            for (int n = 1; n <= 9; n++)
                for (int i = 0; i < n; i++)
                    assertArrayEquals(Naive.bin(i, in, n), new int[]{CpuPooling.binStart(i, in, n), CpuPooling.binEnd(i, in, n)});
    }

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3} -> {4}x{5}")
    @CsvSource({
            "2, 3, 7, 7, 7, 7",    // identity
            "2, 3, 7, 9, 7, 7",    // 224x298-like: overlapping column bins
            "1, 2, 5, 3, 7, 7",    // H < 7: bins repeat rows
            "2, 2, 1, 1, 7, 7",    // one pixel everywhere
            "1, 4, 14, 14, 7, 7",  // exact 2x2 bins
            "2, 3, 13, 10, 7, 7",
            "1, 1, 30, 17, 7, 7",
            "2, 2, 6, 8, 3, 5"})
    void adaptivePoolForwardAndStackedBackward(int n, int c, int h, int w, int oh, int ow) {
        Random rnd = new Random(h * 100 + w);
        float[] x = Naive.random(rnd, n * c * h * w);
        int m = 2 * n;
        float[] dy = Naive.random(rnd, m * c * oh * ow);
        try (DeviceArray xa = be.upload(x, n, c, h, w); DeviceArray y = be.allocate(n, c, oh, ow);
             DeviceArray dya = be.upload(dy, m, c, oh, ow); DeviceArray dx = be.upload(garbage(m * c * h * w), m, c, h, w)) {
            be.adaptiveAvgPoolForward(xa, y);
            assertClose(Naive.adaptivePool(x, n, c, h, w, oh, ow), be.download(y), Naive.TOLERANCE, "adaptive pool forward");
            be.adaptiveAvgPoolBackward(dya, dx);
            assertClose(Naive.adaptivePoolBackward(dy, m, c, oh, ow, h, w), be.download(dx), Naive.TOLERANCE, "adaptive pool backward");
        }
    }

    // ------------------------------------------------------------------ fully connected, softmax, seeds

    @Test
    void fcForwardFromNchwAndStackedBackward() {
        Random rnd = new Random(3);
        int n = 2, c = 5, h = 3, w = 3, k = c * h * w, m = 11;
        float[] x = Naive.random(rnd, n * k), wt = Naive.random(rnd, m * k), b = Naive.random(rnd, m);
        float[] dy = Naive.random(rnd, 2 * n * m);
        try (DeviceArray xa = be.upload(x, n, c, h, w); DeviceArray wa = be.upload(wt, m, k); DeviceArray ba = be.upload(b, m);
             DeviceArray y = be.allocate(n, m); DeviceArray dya = be.upload(dy, 2 * n, m); DeviceArray dx = be.allocate(2 * n, c, h, w)) {
            be.fcForward(xa, wa, ba, y);
            assertClose(Naive.fc(x, wt, b, n, k, m), be.download(y), Naive.TOLERANCE, "fc forward");
            be.fcBackwardData(dya, wa, dx);
            assertClose(Naive.fcBackward(dy, wt, 2 * n, k, m), be.download(dx), Naive.TOLERANCE, "fc backward");
        }
    }

    /**
     * Batch 1 and 2 take the sgemv path (forward rows, backward right-hand sides), larger ones sgemm;
     * split across threads when large. With two rows, K = 20000 and K = 600 the backward goes through
     * w in several blocks of rows (BlasFc.GEMV_BLOCK_BYTES), each block's products added to the
     * last; one row, K = 20000: a single pass.
     */
    @ParameterizedTest(name = "rows={0} K={1} M={2}")
    @CsvSource({"1, 600, 700", "2, 600, 700", "3, 600, 700", "1, 5, 3", "2, 1, 1", "2, 20000, 150", "1, 20000, 150"})
    void fcRowCountsOfBothPaths(int rows, int k, int m) {
        Random rnd = new Random(rows * 7 + k + m);
        float[] x = Naive.random(rnd, rows * k), wt = Naive.random(rnd, m * k), b = Naive.random(rnd, m), dy = Naive.random(rnd, rows * m);
        try (DeviceArray xa = be.upload(x, rows, k); DeviceArray wa = be.upload(wt, m, k); DeviceArray ba = be.upload(b, m);
             DeviceArray y = be.upload(garbage(rows * m), rows, m); DeviceArray dya = be.upload(dy, rows, m);
             DeviceArray dx = be.upload(garbage(rows * k), rows, k)) {
            be.fcForward(xa, wa, ba, y);
            assertClose(Naive.fc(x, wt, b, rows, k, m), be.download(y), Naive.TOLERANCE, "fc forward");
            be.fcBackwardData(dya, wa, dx);
            assertClose(Naive.fcBackward(dy, wt, rows, k, m), be.download(dx), Naive.TOLERANCE, "fc backward");
        }
    }

    /**
     * At batch 1 the backward skips the rows of w whose dy is zero in every right-hand side (as
     * behind a ReLU): zero columns of dy in runs that cross the blocks of rows (K = 20000: blocks
     * of a few rows), at both ends, a column zero in one right-hand side only, and a dy of zeros.
     */
    @ParameterizedTest(name = "rows={0} K={1} M={2}")
    @CsvSource({"1, 20000, 150", "2, 20000, 150", "2, 600, 700", "1, 7, 5"})
    void fcBackwardSkipsRowsNoRightHandSideUses(int rows, int k, int m) {
        Random rnd = new Random(rows * 11 + k + m);
        float[] wt = Naive.random(rnd, m * k), dy = Naive.random(rnd, rows * m);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < m; j++) {
                boolean zero = j == 0 || j % 7 < 3 || (j >= 10 && j < 30) || j >= m - 4;
                if (zero || (r == 0 && j % 5 == 0)) dy[r * m + j] = 0f;
            }
        }
        float[] none = new float[rows * m];
        try (DeviceArray wa = be.upload(wt, m, k); DeviceArray dya = be.upload(dy, rows, m);
             DeviceArray zeros = be.upload(none, rows, m); DeviceArray dx = be.upload(garbage(rows * k), rows, k)) {
            be.fcBackwardData(dya, wa, dx);
            assertClose(Naive.fcBackward(dy, wt, rows, k, m), be.download(dx), Naive.TOLERANCE, "fc backward, sparse dy");
            be.fcBackwardData(zeros, wa, dx);
            assertArrayEquals(new float[rows * k], be.download(dx), "fc backward of a zero dy");
        }
    }

    @Test
    void softmaxIsStableAndMatches() {
        float[] z = {1000f, 1001f, 999f, -5f, 0f, 3f, 0f, 0f, 0f, -1e4f, 88f, 89f};
        try (DeviceArray za = be.upload(z, 3, 4); DeviceArray p = be.allocate(3, 4)) {
            be.softmax(za, p);
            float[] got = be.download(p);
            for (float v : got) assertFalse(Float.isNaN(v) || Float.isInfinite(v));
            assertClose(Naive.softmax(z, 3, 4), got, Naive.TOLERANCE, "softmax");
            be.softmax(za, za); // in place
            assertArrayEquals(got, be.download(za));
        }
    }

    @Test
    void backwardSeedsAreOneHotThenSoftmaxMinusTenOneHot() {
        Random rnd = new Random(4);
        int n = 3, m = 10;
        float[] z = Naive.random(rnd, n * m);
        int[] cls = {2, 0, 9};
        try (DeviceArray za = be.upload(z, n, m); DeviceArray s = be.upload(garbage(2 * n * m), 2 * n, m)) {
            be.backwardSeeds(za, cls, s);
            double[] p = Naive.softmax(z, n, m);
            double[] want = new double[2 * n * m];
            for (int r = 0; r < n; r++) {
                want[r * m + cls[r]] = 1;
                for (int j = 0; j < m; j++) want[(n + r) * m + j] = p[r * m + j] - (j == cls[r] ? 10 : 0);
            }
            float[] got = be.download(s);
            assertClose(want, got, Naive.TOLERANCE, "seeds");
            for (int r = 0; r < n; r++) for (int j = 0; j < m; j++) assertEquals(j == cls[r] ? 1f : 0f, got[r * m + j], 0f);
            assertThrows(IllegalArgumentException.class, () -> be.backwardSeeds(za, new int[]{1, 2, 10}, s));
            assertThrows(IllegalArgumentException.class, () -> be.backwardSeeds(za, new int[]{1, 2}, s));
        }
    }

    // ------------------------------------------------------------------ maps

    @Test
    void mapsMatchCpuMapsOnStackedGradientViews() {
        Random rnd = new Random(5);
        int n = 2, c = 4, h = 3, w = 5, chw = c * h * w;
        float[] a = Naive.random(rnd, n * chw), g = Naive.random(rnd, 2 * n * chw);
        for (int i = 0; i < chw; i++) a[chw + i] = Math.abs(a[chw + i]);
        List<MapMethod> all = List.of(MapMethod.values());
        float[] g1 = Arrays.copyOfRange(g, 0, n * chw), g2 = Arrays.copyOfRange(g, n * chw, 2 * n * chw);
        float[] want = new float[n * all.size() * h * w];
        CpuMaps.compute(a, g1, g2, n, c, h, w, all, want);
        try (DeviceArray aa = be.upload(a, n, c, h, w); DeviceArray ga = be.upload(g, 2 * n, c, h, w);
             DeviceArray out = be.allocate(n, all.size(), h, w)) {
            be.maps(aa, ga.batch(0, n), ga.batch(n, 2 * n), all, out);
            assertArrayEquals(want, be.download(out));

            List<MapMethod> g1only = List.of(MapMethod.LAYERCAM, MapMethod.SGL_G1);
            float[] want1 = new float[n * 2 * h * w];
            CpuMaps.compute(a, g1, null, n, c, h, w, g1only, want1);
            try (DeviceArray out1 = be.allocate(n, 2, h, w)) {
                be.maps(aa, ga.batch(0, n), null, g1only, out1);
                assertArrayEquals(want1, be.download(out1));
            }
            assertThrows(IllegalArgumentException.class, () -> be.maps(aa, ga.batch(0, n), null, all, out));
        }
    }

    // ------------------------------------------------------------------ memory, views, errors

    @Test
    void repeatedCallsWithTheSameShapesAllocateNoNativeMemory() {
        for (ConvPath path : new ConvPath[] {ConvPath.IM2COL, ConvPath.AUTO}) repeatedCallsAllocateNothing(path);
    }

    private static void repeatedCallsAllocateNothing(ConvPath path) {
        try (CpuBackend b = new CpuBackend(2, Precision.FP32, path, null)) {
            Random rnd = new Random(6);
            // one image per tile; images side by side (staging); row blocks (halos); sgemms split by rows
            for (int[] s : new int[][]{{2, 8, 20, 20, 8}, {4, 16, 5, 5, 8}, {1, 4, 64, 64, 4}, {1, 8, 6, 6, 16}}) {
                int n = s[0], c = s[1], h = s[2], w = s[3], k = s[4];
                DeviceArray x = b.upload(Naive.random(rnd, n * c * h * w), n, c, h, w);
                DeviceArray wt = b.upload(Naive.random(rnd, k * c * 9), k, c, 3, 3);
                DeviceArray bias = b.upload(Naive.random(rnd, k), k);
                DeviceArray y = b.allocate(n, k, h, w), dx = b.allocate(n, c, h, w);
                b.conv3x3Forward(x, wt, bias, y);
                b.conv3x3BackwardData(y, wt, dx);
                long count = b.nativeAllocations(), bytes = b.nativeBytes(), javacpp = org.bytedeco.javacpp.Pointer.totalBytes();
                for (int r = 0; r < 5; r++) {
                    b.conv3x3Forward(x, wt, bias, y);
                    b.conv3x3BackwardData(y, wt, dx);
                    b.reluForward(y, y);
                }
                assertEquals(count, b.nativeAllocations(), "native allocations during repeated calls");
                assertEquals(bytes, b.nativeBytes());
                assertEquals(javacpp, org.bytedeco.javacpp.Pointer.totalBytes(), "JavaCPP-tracked bytes");
            }
            assertTrue(b.nativeBytes() > 0);
        }
    }

    @Test
    void closeFreesArraysAndEverythingTheBackendOwns() {
        CpuBackend b = new CpuBackend(1);
        long before = b.nativeBytes();
        DeviceArray a = b.allocate(10, 10);
        DeviceArray kept = b.upload(new float[]{1, 2, 3}, 3);
        assertEquals(before + 400 + 12, b.nativeBytes());
        DeviceArray v = a.reshape(100);
        v.close(); // a view: no-op
        assertEquals(before + 412, b.nativeBytes());
        a.close();
        a.close(); // idempotent
        assertEquals(before + 12, b.nativeBytes());
        assertThrows(IllegalStateException.class, () -> b.download(v));
        try (DeviceArray x = b.upload(new float[16], 1, 1, 4, 4); DeviceArray w = b.upload(new float[9], 1, 1, 3, 3);
             DeviceArray bias = b.upload(new float[1], 1); DeviceArray y = b.allocate(1, 1, 4, 4)) {
            b.conv3x3Forward(x, w, bias, y);
        }
        assertTrue(b.nativeBytes() > 12, "workspaces are held");
        b.close();
        assertEquals(0, b.nativeBytes());
        assertTrue(((CpuArray) kept).isFreed());
        assertThrows(IllegalStateException.class, () -> b.allocate(1));
        kept.close(); // after the backend: harmless
    }

    @Test
    void viewsShareMemory() {
        try (DeviceArray a = be.upload(new float[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 3, 2, 2)) {
            DeviceArray mid = a.batch(1, 2);
            assertArrayEquals(new int[]{1, 2, 2}, mid.shape());
            assertArrayEquals(new float[]{4, 5, 6, 7}, be.download(mid));
            be.copyFromHost(new float[]{-1, -2, -3, -4}, mid.reshape(4));
            assertArrayEquals(new float[]{0, 1, 2, 3, -1, -2, -3, -4, 8, 9, 10, 11}, be.download(a));
            assertArrayEquals(new float[]{0, 1, 2, 3, -1}, be.download(a.view(5)));
            assertArrayEquals(new float[]{-3, -4, 8}, be.download(a.reshape(12).batch(6, 9)));
            assertThrows(IllegalArgumentException.class, () -> a.reshape(5));
            assertThrows(IllegalArgumentException.class, () -> a.view(13));
            assertThrows(IllegalArgumentException.class, () -> a.batch(2, 4));
            assertThrows(IllegalArgumentException.class, () -> a.batch(1, 1));
        }
    }

    @Test
    void shapeErrorsNameTheOpAndTheShapes() {
        try (DeviceArray x = be.allocate(1, 3, 8, 8); DeviceArray w = be.allocate(4, 2, 3, 3); DeviceArray b = be.allocate(4);
             DeviceArray y = be.allocate(1, 4, 8, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.conv3x3Forward(x, w, b, y));
            assertTrue(e.getMessage().contains("conv3x3Forward") && e.getMessage().contains("[4, 2, 3, 3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> be.maxPool2x2Forward(x, y));
            assertTrue(e.getMessage().contains("maxPool2x2Forward") && e.getMessage().contains("[1, 3, 4, 4]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> be.reluForward(x, y));
            assertTrue(e.getMessage().contains("reluForward"), e.getMessage());
            try (DeviceArray dy3 = be.allocate(3, 3, 8, 8); DeviceArray dx3 = be.allocate(3, 3, 8, 8);
                 DeviceArray x2 = be.allocate(2, 3, 8, 8)) {
                e = assertThrows(IllegalArgumentException.class, () -> be.reluBackward(x2, dy3, dx3));
                assertTrue(e.getMessage().contains("not a multiple"), e.getMessage());
            }
            e = assertThrows(IllegalArgumentException.class, () -> be.conv3x3Forward(x, w, b, x));
            assertTrue(e.getMessage().contains("conv3x3Forward"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> be.fcForward(x, be.allocate(4, 190), b, be.allocate(1, 4)));
            assertTrue(e.getMessage().contains("fcForward") && e.getMessage().contains("192"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> be.allocate(2, 0));
            assertThrows(IllegalArgumentException.class, () -> be.upload(new float[5], 2, 2));
            assertThrows(IllegalArgumentException.class, () -> be.copyFromHost(new float[5], x));
        }
    }

    @Test
    void rejectsArraysOfOtherBackends() {
        try (CpuBackend other = new CpuBackend(1); DeviceArray foreign = other.allocate(1, 4); DeviceArray mine = be.allocate(1, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.reluForward(foreign, mine));
            assertTrue(e.getMessage().contains("reluForward") && e.getMessage().contains("not an array of this CPU backend"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> be.download(foreign));
        }
        DeviceArray fake = new DeviceArray() {
            public int[] shape() { return new int[]{1}; }
            public DeviceArray reshape(int... s) { return this; }
            public DeviceArray view(int... s) { return this; }
            public DeviceArray batch(int f, int t) { return this; }
            public void close() {}
        };
        assertThrows(IllegalArgumentException.class, () -> be.download(fake));
    }

    @Test
    void threadCountsGiveTheSameResults() {
        Random rnd = new Random(9);
        int n = 2, c = 8, h = 12, w = 13, k = 6;
        float[] x = Naive.random(rnd, n * c * h * w), wt = Naive.random(rnd, k * c * 9), b = Naive.random(rnd, k);
        float[][] results = new float[2][];
        int t = 0;
        for (int threads : new int[]{1, 0}) {
            try (CpuBackend cb = new CpuBackend(threads)) {
                assertEquals(threads == 0 ? Runtime.getRuntime().availableProcessors() : 1, cb.threads());
                assertEquals("cpu", cb.name());
                assertTrue(cb.description().contains("OpenBLAS"), cb.description());
                DeviceArray xa = cb.upload(x, n, c, h, w), y = cb.allocate(n, k, h, w);
                cb.conv3x3Forward(xa, cb.upload(wt, k, c, 3, 3), cb.upload(b, k), y);
                results[t++] = cb.download(y);
            }
        }
        assertClose(results[1], results[0], Naive.TOLERANCE, "1 thread vs all");
        assertThrows(IllegalArgumentException.class, () -> new CpuBackend(-1));
    }

    @Test
    void nativeLoadFailureBecomesAOneLineMessage() {
        BackendUnavailableException e = CpuBackend.unavailable(new UnsatisfiedLinkError("no jniopenblas_nolapack in java.library.path\nmore"));
        assertTrue(e.getMessage().startsWith("CPU backend unavailable"), e.getMessage());
        assertTrue(e.getMessage().contains(org.bytedeco.javacpp.Loader.getPlatform()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getCause() instanceof UnsatisfiedLinkError);
    }

    // ------------------------------------------------------------------ helpers

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static float[] garbage(int n) {
        float[] v = new float[n];
        Arrays.fill(v, Float.NaN);
        return v;
    }
}
