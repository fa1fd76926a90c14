package g2m.backend.cpu;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The CPU backend's pooling loops, on the backend's thread pool, one plane per task: the 2x2
 * max pool (forward and PyTorch's first-maximum backward, NaN counting as a maximum) and
 * PyTorch's adaptive average pool (forward and backward). Arguments are checked by the backend.
 */
final class CpuPooling {
    private final Parallel parallel;
    /** Heap scratch per thread (the backend's). */
    private final ThreadLocal<Im2col.Scratch> scratch;

    CpuPooling(Parallel parallel, ThreadLocal<Im2col.Scratch> scratch) {
        this.parallel = parallel;
        this.scratch = scratch;
    }

    /** 2x2 max pool, stride 2, floor mode. */
    void maxForward(CpuArray x, CpuArray y) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = h / 2, ow = w / 2;
        FloatBuffer xb = x.buffer(), yb = y.buffer();
        parallel.forEach(n * c, (long) h * w, plane -> {
            // on heap copies of the plane: per-element buffer access was a third of the pool's time
            Im2col.Scratch sc = scratch.get();
            float[] in = sc.a(h * w), res = sc.b(oh * ow);
            xb.get(plane * h * w, in, 0, h * w);
            for (int i = 0; i < oh; i++) {
                int r0 = 2 * i * w, r1 = r0 + w, o = i * ow;
                for (int j = 0; j < ow; j++) {
                    res[o + j] = max2x2(in[r0 + 2 * j], in[r0 + 2 * j + 1], in[r1 + 2 * j], in[r1 + 2 * j + 1]);
                }
            }
            yb.put(plane * oh * ow, res, 0, oh * ow);
        });
    }

    /**
     * The maximum of a window (a, b / c, d), NaN if any is NaN: the value {@link #argmax2x2}
     * selects, except that of two zeros +0 wins here wherever it stands. Math.max compiles to
     * branch-free max instructions; the compare-and-select it replaced mispredicted on every
     * other window of real activations (the pool was a fifth of a bf16 call at batch 1).
     */
    static float max2x2(float a, float b, float c, float d) {
        return Math.max(Math.max(a, b), Math.max(c, d));
    }

    /**
     * The window's maximum as an offset from its top-left element p (0, 1, w, w+1): the first
     * strict maximum in row-major order, and a NaN counts as a maximum (PyTorch's CPU kernel:
     * {@code val > max || isnan(val)}).
     */
    private static int argmax2x2(FloatBuffer x, int p, int w) {
        int best = 0;
        float m = x.get(p);
        float v = x.get(p + 1);
        if (v > m || Float.isNaN(v)) {
            m = v;
            best = 1;
        }
        v = x.get(p + w);
        if (v > m || Float.isNaN(v)) {
            m = v;
            best = w;
        }
        v = x.get(p + w + 1);
        if (v > m || Float.isNaN(v)) best = w + 1;
        return best;
    }

    /** Each dy element to its window's first maximum in x (stacked right-hand sides use image b % N). */
    void maxBackward(CpuArray x, CpuArray dy, CpuArray dx) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = h / 2, ow = w / 2, m = dy.dim(0);
        FloatBuffer xb = x.buffer(), dyb = dy.buffer(), dxb = dx.buffer();
        int chw = c * h * w;
        parallel.forEach(m * c, (long) h * w, plane -> {
            int img = plane / c, ch = plane % c;
            int xo = (img % n) * chw + ch * h * w, dxo = plane * h * w, dyo = plane * oh * ow;
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    int off = 2 * i * w + 2 * j;
                    int a = argmax2x2(xb, xo + off, w);
                    float g = dyb.get(dyo + i * ow + j);
                    int d = dxo + off;
                    dxb.put(d, a == 0 ? g : 0f);
                    dxb.put(d + 1, a == 1 ? g : 0f);
                    dxb.put(d + w, a == w ? g : 0f);
                    dxb.put(d + w + 1, a == w + 1 ? g : 0f);
                }
                if ((w & 1) != 0) { // the column dropped by floor mode
                    dxb.put(dxo + 2 * i * w + w - 1, 0f);
                    dxb.put(dxo + (2 * i + 1) * w + w - 1, 0f);
                }
            }
            if ((h & 1) != 0) Im2col.zero(dxb, dxo + (h - 1) * w, w); // the row dropped by floor mode
        });
    }

    /** PyTorch's bin start, floor(i·in/out). */
    static int binStart(int i, int in, int out) {
        return (int) ((long) i * in / out);
    }

    /** PyTorch's bin end (exclusive), ceil((i+1)·in/out). */
    static int binEnd(int i, int in, int out) {
        return (int) (((long) (i + 1) * in + out - 1) / out);
    }

    /** PyTorch's adaptive average pool to y's size. */
    void adaptiveAvgForward(CpuArray x, CpuArray y) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        FloatBuffer xb = x.buffer(), yb = y.buffer();
        parallel.forEach(n * c, (long) h * w + (long) oh * ow, plane -> {
            int xo = plane * h * w, yo = plane * oh * ow;
            for (int i = 0; i < oh; i++) {
                int r0 = binStart(i, h, oh), r1 = binEnd(i, h, oh);
                for (int j = 0; j < ow; j++) {
                    int c0 = binStart(j, w, ow), c1 = binEnd(j, w, ow);
                    double s = 0;
                    for (int r = r0; r < r1; r++) {
                        for (int q = c0; q < c1; q++) s += xb.get(xo + r * w + q);
                    }
                    yb.put(yo + i * ow + j, (float) (s / ((r1 - r0) * (c1 - c0))));
                }
            }
        });
    }

    /** Its backward: each dy element spread evenly over its bin. */
    void adaptiveAvgBackward(CpuArray dy, CpuArray dx) {
        int m = dy.dim(0), c = dy.dim(1), oh = dy.dim(2), ow = dy.dim(3), h = dx.dim(2), w = dx.dim(3);
        FloatBuffer dyb = dy.buffer(), dxb = dx.buffer();
        parallel.forEach(m * c, (long) h * w + (long) oh * ow, plane -> {
            int dxo = plane * h * w, dyo = plane * oh * ow;
            float[] acc = scratch.get().a(h * w);
            Arrays.fill(acc, 0, h * w, 0f);
            for (int i = 0; i < oh; i++) {
                int r0 = binStart(i, h, oh), r1 = binEnd(i, h, oh);
                for (int j = 0; j < ow; j++) {
                    int c0 = binStart(j, w, ow), c1 = binEnd(j, w, ow);
                    float g = dyb.get(dyo + i * ow + j) / (r1 - r0) / (c1 - c0); // as PyTorch: grad / kh / kw
                    for (int r = r0; r < r1; r++) {
                        for (int q = c0; q < c1; q++) acc[r * w + q] += g;
                    }
                }
            }
            dxb.put(dxo, acc, 0, h * w);
        });
    }
}
