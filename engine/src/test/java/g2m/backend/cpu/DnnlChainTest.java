package g2m.backend.cpu;

import g2m.backend.DeviceArray;
import g2m.backend.Precision;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * bf16 mode's chain ({@link DnnlChain}): a layer that takes its input from the previous layer's
 * workspace, and an output written out only when something else needs it, give bit for bit what
 * the same layers give when every output is read back (written out) before the next layer runs.
 * Exact equality is the check: both ways round the same values to bf16 once and run the same
 * oneDNN primitives.
 */
class DnnlChainTest {
    private final Random rnd = new Random(7);

    @BeforeEach
    void needsBf16() {
        Bf16Cpu.assume();
    }

    private static CpuBackend bf16() {
        return new CpuBackend(2, Precision.BF16, ConvPath.AUTO, null);
    }

    /** conv → conv → pool → conv → pool, every intermediate read back at once (eager) or only at the end (chained). */
    private float[][] layers(boolean eager, int n, int h, int w, long seed) {
        Random r = new Random(seed);
        int c0 = 3, c1 = 16, c2 = 32;
        float[] x = Naive.random(r, n * c0 * h * w);
        float[] w1 = Naive.random(r, c1 * c0 * 9), b1 = Naive.random(r, c1);
        float[] w2 = Naive.random(r, c1 * c1 * 9), b2 = Naive.random(r, c1);
        float[] w3 = Naive.random(r, c2 * c1 * 9), b3 = Naive.random(r, c2);
        try (CpuBackend be = bf16()) {
            DeviceArray in = be.upload(x, n, c0, h, w);
            DeviceArray y1 = be.allocate(n, c1, h, w), y2 = be.allocate(n, c1, h, w), p1 = be.allocate(n, c1, h / 2, w / 2);
            DeviceArray y3 = be.allocate(n, c2, h / 2, w / 2), p2 = be.allocate(n, c2, h / 4, w / 4);
            DeviceArray[] outs = {y1, y2, p1, y3, p2};
            float[][] got = new float[outs.length][];
            be.conv3x3ForwardRelu(in, be.upload(w1, c1, c0, 3, 3), be.upload(b1, c1), y1);
            if (eager) got[0] = be.download(y1);
            be.conv3x3ForwardRelu(y1, be.upload(w2, c1, c1, 3, 3), be.upload(b2, c1), y2);
            if (eager) got[1] = be.download(y2);
            be.maxPool2x2Forward(y2, p1);
            if (eager) got[2] = be.download(p1);
            be.conv3x3ForwardRelu(p1, be.upload(w3, c2, c1, 3, 3), be.upload(b3, c2), y3);
            if (eager) got[3] = be.download(y3);
            be.maxPool2x2Forward(y3, p2);
            for (int i = 0; i < outs.length; i++) if (got[i] == null) got[i] = be.download(outs[i]);
            return got;
        }
    }

    @Test
    void chainedLayersEqualLayersReadBackOneByOne() {
        for (int[] s : new int[][] {{2, 16, 16}, {1, 14, 10}, {3, 9, 7}}) { // odd sizes: floor-mode pools
            float[][] eager = layers(true, s[0], s[1], s[2], 11), chained = layers(false, s[0], s[1], s[2], 11);
            for (int i = 0; i < eager.length; i++) assertArrayEquals(eager[i], chained[i], "output " + i + " of " + java.util.Arrays.toString(s));
        }
    }

    @Test
    void chainedPoolEqualsTheBackendsOwnPoolOfTheSameArray() {
        int n = 2, c = 16, h = 11, w = 13;
        try (CpuBackend be = bf16()) {
            DeviceArray x = be.upload(Naive.random(rnd, n * 3 * h * w), n, 3, h, w), y = be.allocate(n, c, h, w);
            be.conv3x3ForwardRelu(x, be.upload(Naive.random(rnd, c * 27), c, 3, 3, 3), be.upload(Naive.random(rnd, c), c), y);
            DeviceArray chained = be.allocate(n, c, h / 2, w / 2), plain = be.allocate(n, c, h / 2, w / 2);
            be.maxPool2x2Forward(y, chained); // from the chain
            float[] yv = be.download(y);      // y written out: the chain no longer holds it
            be.maxPool2x2Forward(be.upload(yv, n, c, h, w), plain); // an uploaded array: CpuPooling
            assertArrayEquals(be.download(plain), be.download(chained));
        }
    }

    @Test
    void aReshapedOutputIsPooledAsItsShapeSays() {
        int c = 16, h = 8, w = 10;
        try (CpuBackend be = bf16()) {
            DeviceArray x = be.upload(Naive.random(rnd, 3 * h * w), 1, 3, h, w), y = be.allocate(1, c, h, w);
            be.conv3x3ForwardRelu(x, be.upload(Naive.random(rnd, c * 27), c, 3, 3, 3), be.upload(Naive.random(rnd, c), c), y);
            DeviceArray chained = be.allocate(1, c, w / 2, h / 2), plain = be.allocate(1, c, w / 2, h / 2);
            be.maxPool2x2Forward(y.reshape(1, c, w, h), chained); // the same elements as 10×8 planes: not the chain's 8×10 layout
            be.maxPool2x2Forward(be.upload(be.download(y), 1, c, w, h), plain);
            assertArrayEquals(be.download(plain), be.download(chained));
        }
    }

    @Test
    void anOutputOverwrittenInPartOrReadByOtherOperationsIsWrittenOutFirst() {
        int n = 2, c = 16, h = 8, w = 8, item = c * h * w;
        float[] x = Naive.random(rnd, n * 3 * h * w), wt = Naive.random(rnd, c * 27), b = Naive.random(rnd, c);
        float[] want;
        try (CpuBackend be = bf16()) {
            DeviceArray y = be.allocate(n, c, h, w);
            be.conv3x3ForwardRelu(be.upload(x, n, 3, h, w), be.upload(wt, c, 3, 3, 3), be.upload(b, c), y);
            want = be.download(y);
        }
        try (CpuBackend be = bf16()) {
            DeviceArray y = be.allocate(n, c, h, w);
            be.conv3x3ForwardRelu(be.upload(x, n, 3, h, w), be.upload(wt, c, 3, 3, 3), be.upload(b, c), y);
            float[] ones = new float[item];
            java.util.Arrays.fill(ones, 1f);
            be.copyFromHost(ones, y.batch(1, 2)); // the second image only: the first must survive
            float[] got = be.download(y);
            for (int i = 0; i < item; i++) assertEquals(want[i], got[i], "element " + i);
            for (int i = item; i < 2 * item; i++) assertEquals(1f, got[i], "element " + i);
        }
        try (CpuBackend be = bf16()) {
            DeviceArray y = be.allocate(n, c, h, w), r = be.allocate(n, c, h, w);
            be.conv3x3ForwardRelu(be.upload(x, n, 3, h, w), be.upload(wt, c, 3, 3, 3), be.upload(b, c), y);
            be.reluForward(y, r); // any operation but the chain's readers finds y written out
            assertArrayEquals(want, be.download(r));
        }
    }

    @Test
    void anOutputWhoseWorkspaceIsReusedIsWrittenOutFirst() {
        int n = 1, c = 16, h = 6, w = 6;
        float[] x = Naive.random(rnd, n * c * h * w), wt = Naive.random(rnd, c * c * 9), b = Naive.random(rnd, c);
        float[][] eager = new float[3][], lazy = new float[3][];
        for (boolean readEach : new boolean[] {true, false}) {
            try (CpuBackend be = bf16()) {
                DeviceArray wd = be.upload(wt, c, c, 3, 3), bd = be.upload(b, c), in = be.upload(x, n, c, h, w);
                DeviceArray[] y = {be.allocate(n, c, h, w), be.allocate(n, c, h, w), be.allocate(n, c, h, w)};
                float[][] into = readEach ? eager : lazy;
                for (int i = 0; i < 3; i++) { // y[2] reuses y[0]'s workspace
                    be.conv3x3ForwardRelu(i == 0 ? in : y[i - 1], wd, bd, y[i]);
                    if (readEach) into[i] = be.download(y[i]);
                }
                for (int i = 0; i < 3; i++) if (into[i] == null) into[i] = be.download(y[i]);
            }
        }
        for (int i = 0; i < 3; i++) assertArrayEquals(eager[i], lazy[i], "output " + i);
    }

    @Test
    void aLayerReadingTheOutputBeforeTheLatestKeepsBoth() {
        int n = 1, c = 16, h = 6, w = 6;
        float[] x = Naive.random(rnd, n * c * h * w), wt = Naive.random(rnd, c * c * 9), b = Naive.random(rnd, c);
        float[][] eager = new float[4][], lazy = new float[4][];
        for (boolean readEach : new boolean[] {true, false}) {
            try (CpuBackend be = bf16()) {
                DeviceArray wd = be.upload(wt, c, c, 3, 3), bd = be.upload(b, c), in = be.upload(x, n, c, h, w);
                DeviceArray[] y = new DeviceArray[4];
                for (int i = 0; i < 4; i++) y[i] = be.allocate(n, c, h, w);
                int[] from = {-1, 0, 0, 1}; // y2 reads y0, the output before the latest (y1); y3 reads y1
                float[][] into = readEach ? eager : lazy;
                for (int i = 0; i < 4; i++) {
                    be.conv3x3ForwardRelu(from[i] < 0 ? in : y[from[i]], wd, bd, y[i]);
                    if (readEach) into[i] = be.download(y[i]);
                }
                DeviceArray p = be.allocate(n, c, h / 2, w / 2);
                be.maxPool2x2Forward(y[0], p); // the pool too, on an output no longer the latest
                for (int i = 0; i < 4; i++) if (into[i] == null) into[i] = be.download(y[i]);
                float[] pooled = be.download(p);
                DeviceArray q = be.allocate(n, c, h / 2, w / 2);
                be.maxPool2x2Forward(be.upload(into[0], n, c, h, w), q);
                assertArrayEquals(be.download(q), pooled, "pool of y0");
            }
        }
        for (int i = 0; i < 4; i++) assertArrayEquals(eager[i], lazy[i], "output " + i);
    }

    @Test
    void aDiscardedOutputIsNeverWrittenOut() {
        int n = 1, c = 16, h = 6, w = 6, len = n * c * h * w;
        float[] sentinel = new float[len];
        java.util.Arrays.fill(sentinel, -7f); // a value the ReLU cannot produce
        try (CpuBackend be = bf16()) {
            DeviceArray x = be.upload(Naive.random(rnd, n * 3 * h * w), n, 3, h, w), wt = be.upload(Naive.random(rnd, c * 27), c, 3, 3, 3);
            DeviceArray b = be.upload(Naive.random(rnd, c), c);
            DeviceArray kept = be.upload(sentinel, n, c, h, w), dropped = be.upload(sentinel, n, c, h, w);
            be.conv3x3ForwardRelu(x, wt, b, kept);
            be.conv3x3ForwardRelu(x, wt, b, dropped);
            be.discard(dropped);
            assertArrayEquals(sentinel, be.download(dropped), "discarded: the conversion was skipped");
            float[] k = be.download(kept);
            for (float v : k) assertNotEquals(-7f, v, "kept: written out when read");
        }
    }

    @Test
    void freeingAPendingOutputDropsItsLink() {
        int n = 1, c = 16, h = 6, w = 6;
        try (CpuBackend be = bf16()) {
            DeviceArray x = be.upload(Naive.random(rnd, n * 3 * h * w), n, 3, h, w), wt = be.upload(Naive.random(rnd, c * 27), c, 3, 3, 3);
            DeviceArray b = be.upload(Naive.random(rnd, c), c);
            DeviceArray y = be.allocate(n, c, h, w);
            be.conv3x3ForwardRelu(x, wt, b, y);
            y.close(); // its pending conversion must not run into freed memory later
            DeviceArray z = be.allocate(n, c, h, w), z2 = be.allocate(n, c, h, w);
            be.conv3x3ForwardRelu(x, wt, b, z);
            be.conv3x3ForwardRelu(x, wt, b, z2); // reuses the freed output's workspace
            assertArrayEquals(be.download(z), be.download(z2));
        }
    }
}
