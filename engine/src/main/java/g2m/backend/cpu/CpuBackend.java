package g2m.backend.cpu;

import g2m.backend.ArgumentChecks;
import g2m.backend.BilinearAlignCorners;
import g2m.backend.BackendUnavailableException;
import g2m.backend.CheckedBackend;
import g2m.backend.Precision;
import g2m.maps.CpuMaps;
import g2m.maps.MapMethod;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemv;

/**
 * The CPU backend: float32 NCHW arrays in malloc'd memory, matrix products by OpenBLAS
 * ({@code cblas_sgemm} on native pointers, never on Java arrays), the other loops in Java on
 * direct buffers.
 *
 * <p><b>Convolutions</b> go to oneDNN ({@link DnnlConv}) where it loads and finds AVX-512 (see
 * {@link ConvPath}); elsewhere, or with ConvPath.IM2COL, they are im2col + sgemm cut into tiles
 * of about {@link #TILE_COLUMNS}
 * output positions: a large image in blocks of whole rows, small images (deep layers, 14×14)
 * side by side (see {@link Conv3x3}). The column matrices, staging and halo buffers are
 * workspaces owned by the backend, reused across calls and grown only when a larger shape
 * arrives, so repeated calls with the same shapes allocate no native memory.
 *
 * <p><b>Precision</b>: FP32 (default) or BF16, where oneDNN computes the convolution and fully
 * connected products with bf16 inputs and float32 accumulation ({@link DnnlConv}, {@link DnnlFc}).
 *
 * <p><b>Threads</b>: oneDNN's primitives run on its own OpenMP team ({@code OMP_NUM_THREADS}).
 * All other parallel work runs on one private ForkJoinPool of {@code threads}
 * threads (0 = all available processors): the Java loops, and the sgemms, which are split into
 * independent single-threaded calls (tiles, or slices of the output) taken dynamically by the
 * pool threads. OpenBLAS's own threading is therefore set to 1 (its global thread count is the
 * only process-wide setting this class touches). Measured on 2 cores, this beats one
 * multi-threaded sgemm per tile: no barrier per sgemm, im2col and sgemm of different tiles
 * overlap, and a preempted thread just takes fewer tiles (see CpuConvBench).
 *
 * <p><b>Calls are serialized</b>: every operation holds the backend's lock ({@link CheckedBackend}),
 * since the workspaces are shared.
 *
 * <p>Closing the backend frees every array it still owns (views of them become unusable) and
 * its workspaces.
 */
public final class CpuBackend extends CheckedBackend<CpuArray> {
    /** Aimed-at output positions (sgemm columns) per convolution tile; measured on 2 Zen cores, see CpuConvBench. */
    static final int TILE_COLUMNS = 2048;

    private final int threads;
    private final Parallel parallel;
    private final Set<NativeBlock> owned = Collections.newSetFromMap(new IdentityHashMap<>());
    private final AtomicLong allocations = new AtomicLong();
    private final AtomicLong liveBytes = new AtomicLong();
    static final int WS_COL = 0, WS_STAGE = 1, WS_HALO = 2, WS_DNNL_IN = 3, WS_DNNL_OUT = 4, WS_DNNL_SCRATCH = 5;
    private final NativeBlock[] workspaces = new NativeBlock[6];
    private final Conv3x3 conv;
    private final Precision precision;
    private final ConvPath convPath;
    /** Weight copies in oneDNN's layouts; null without oneDNN. */
    private final DerivedWeights derived;
    /** oneDNN convolutions and (bf16) fully connected products; null where not used. */
    private final DnnlConv dnnlConv;
    private final DnnlFc dnnlFc;
    /** Heap scratch for the chunked loops, per thread. */
    private final ThreadLocal<Im2col.Scratch> scratch = ThreadLocal.withInitial(Im2col.Scratch::new);
    private volatile boolean closed;
    private final String note;
    int tileColumns = TILE_COLUMNS;

    /** All available processors. */
    public CpuBackend() {
        this(0);
    }

    /**
     * @param threads size of the pool that runs the loops and the (single-threaded) sgemms; 0 = all available processors
     * @throws BackendUnavailableException if OpenBLAS cannot be loaded on this platform
     */
    public CpuBackend(int threads) {
        this(threads, null);
    }

    /**
     * @param note appended to {@link #description()}, e.g. why {@code --device auto} chose the CPU; null for none
     */
    public CpuBackend(int threads, String note) {
        this(threads, Precision.FP32, ConvPath.AUTO, note);
    }

    /**
     * @param precision FP32, or BF16: convolution and fully connected products with bf16 inputs
     *                  and float32 accumulation, by oneDNN (needs AVX-512 bf16)
     * @param convPath  which code does the convolutions; AUTO unless comparing
     * @throws IllegalArgumentException    for TF32/FP16 (GPU-only modes)
     * @throws BackendUnavailableException for BF16 or ONEDNN where oneDNN or the CPU features are missing
     */
    public CpuBackend(int threads, Precision precision, ConvPath convPath, String note) {
        super(CpuArray.class, "CPU");
        this.note = note;
        if (threads < 0) throw new IllegalArgumentException("threads must be >= 0 (0 = all cores), got " + threads);
        if (precision != Precision.FP32 && precision != Precision.BF16) {
            throw new IllegalArgumentException("--precision " + precision.id + " needs the CUDA backend; the CPU backend computes in fp32 or bf16");
        }
        loadNatives();
        this.precision = precision;
        boolean bf16 = precision == Precision.BF16;
        if (bf16 && !Dnnl.hasBf16()) {
            throw new BackendUnavailableException("CPU", "for --precision bf16", Dnnl.load()
                    ? "this CPU has no AVX-512 bf16 instructions" : "oneDNN did not load (" + Dnnl.loadError() + ")", null);
        }
        if (convPath == ConvPath.ONEDNN && !Dnnl.hasAvx512()) {
            throw new BackendUnavailableException("CPU", "with oneDNN convolutions", Dnnl.load()
                    ? "this CPU has no AVX-512" : "oneDNN did not load (" + Dnnl.loadError() + ")", null);
        }
        // without AVX-512 oneDNN's kernels were not measured here; im2col + OpenBLAS stays the default then
        this.convPath = convPath == ConvPath.AUTO && !Dnnl.hasAvx512() ? ConvPath.IM2COL : convPath;
        this.threads = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        openblas_nolapack.blas_set_num_threads(1); // the pool parallelizes; see the class comment
        this.parallel = new Parallel(this.threads);
        this.conv = new Conv3x3(this, parallel);
        boolean dnnl = bf16 || this.convPath != ConvPath.IM2COL;
        this.derived = dnnl ? new DerivedWeights(this) : null;
        this.dnnlConv = dnnl ? new DnnlConv(this, derived, bf16) : null;
        this.dnnlFc = bf16 ? new DnnlFc(this, derived) : null;
    }

    public Precision precision() {
        return precision;
    }

    private static void loadNatives() {
        try {
            Loader.load(openblas_nolapack.class);
        } catch (LinkageError | RuntimeException e) {
            throw unavailable(e);
        }
    }

    static BackendUnavailableException unavailable(Throwable cause) {
        String why = String.valueOf(cause.getMessage()).lines().findFirst().orElse("");
        return new BackendUnavailableException("CPU", "cannot load the OpenBLAS native library for platform "
                + Loader.getPlatform() + " (" + cause.getClass().getSimpleName() + ": " + why
                + "); the build bundles natives for the platform given by -Djavacpp.platform", cause);
    }

    public int threads() {
        return threads;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        String convs = dnnlConv == null ? "" : ", oneDNN convolutions";
        return openblas_nolapack.OPENBLAS_VERSION.trim() + convs + (precision == Precision.BF16 ? ", bf16 products" : "")
                + " on " + cpuModel() + ", " + threads + " thread" + (threads == 1 ? "" : "s") + (note == null ? "" : "; " + note);
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    int i = line.indexOf(':');
                    if (i >= 0) return line.substring(i + 1).trim();
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux, or not readable: fall back below
        }
        return System.getProperty("os.arch") + " (" + Runtime.getRuntime().availableProcessors() + " processors)";
    }

    // ---------------------------------------------------------------- memory

    /** Native allocations made so far (arrays and workspaces): for tests of workspace reuse. */
    public long nativeAllocations() {
        return allocations.get();
    }

    /** Native bytes currently held (arrays not yet closed, and workspaces). */
    public long nativeBytes() {
        return liveBytes.get();
    }

    /** A new block owned by this backend (freed by {@link #release} or close). */
    NativeBlock allocateBlock(long floats, String what) {
        return newBlock(floats, what);
    }

    private NativeBlock newBlock(long floats, String what) {
        if (closed) throw new IllegalStateException("backend is closed");
        if (floats > NativeBlock.MAX_FLOATS) {
            throw new IllegalArgumentException(what + ": " + floats + " floats exceed the CPU backend's limit of "
                    + NativeBlock.MAX_FLOATS + " per array");
        }
        long bytes = Math.max(1, floats) * Float.BYTES;
        Pointer p = Pointer.malloc(bytes);
        if (p == null || p.isNull()) throw new OutOfMemoryError(what + ": malloc of " + bytes + " bytes failed");
        NativeBlock b = new NativeBlock(p, floats);
        synchronized (owned) {
            owned.add(b);
        }
        allocations.incrementAndGet();
        liveBytes.addAndGet(bytes);
        return b;
    }

    void release(NativeBlock b) {
        if (b == null) return;
        synchronized (owned) {
            if (!owned.remove(b)) return;
        }
        if (derived != null) derived.forget(b);
        if (b.free()) liveBytes.addAndGet(-Math.max(1, b.floats) * Float.BYTES);
    }

    /** Workspace i with room for at least {@code floats}: the one held if large enough, else a new one. */
    NativeBlock workspace(int i, long floats, String what) {
        NativeBlock current = workspaces[i];
        if (current != null && current.floats >= floats) return current;
        workspaces[i] = null;
        release(current);
        workspaces[i] = newBlock(floats, what + " workspace");
        return workspaces[i];
    }

    static void checkShape(String op, int[] shape) {
        ArgumentChecks.checkShape(op, shape, NativeBlock.MAX_FLOATS, "CPU");
    }

    @Override
    public long maxArrayElements() {
        return NativeBlock.MAX_FLOATS;
    }

    @Override
    public CpuArray allocate(int... shape) {
        checkShape("allocate", shape);
        return new CpuArray(this, newBlock(CpuArray.count(shape), "allocate"), 0, shape, true);
    }

    @Override
    public CpuArray upload(float[] host, int... shape) {
        CpuArray a = allocate(ArgumentChecks.uploadShape(host, shape, NativeBlock.MAX_FLOATS, "CPU"));
        a.buffer().put(0, host);
        return a;
    }

    @Override
    protected void doCopyFromHost(float[] src, CpuArray d) {
        d.buffer().put(0, src);
    }

    @Override
    protected float[] doDownload(CpuArray a) {
        float[] out = new float[a.length];
        a.buffer().get(0, out);
        return out;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        parallel.close();
        if (dnnlConv != null) dnnlConv.close();
        if (dnnlFc != null) dnnlFc.close();
        if (derived != null) derived.clear();
        NativeBlock[] all;
        synchronized (owned) {
            all = owned.toArray(new NativeBlock[0]);
        }
        for (NativeBlock b : all) release(b);
        Arrays.fill(workspaces, null);
    }

    // ---------------------------------------------------------------- what every operation does first (CheckedBackend)

    @Override
    protected void enter(String op) {
        if (closed) throw new IllegalStateException(op + ": backend is closed");
    }

    /** A written array's block moves to a new version (see {@link NativeBlock#version}): copies derived from it are stale. */
    @Override
    protected void written(CpuArray a) {
        a.block.version++;
    }

    // ---------------------------------------------------------------- convolution

    @Override
    protected void doConv3x3Forward(CpuArray x, CpuArray w, CpuArray b, CpuArray y) {
        if (dnnlConv != null) {
            dnnlConv.forward(x, w, b, y, false);
        } else {
            conv.forward(x, w, b, y, w.dim(0));
        }
    }

    /** With oneDNN the ReLU is a post-op of the convolution (no second pass over y); else conv, then ReLU. */
    @Override
    protected void doConv3x3ForwardRelu(CpuArray x, CpuArray w, CpuArray b, CpuArray y) {
        if (dnnlConv != null) {
            dnnlConv.forward(x, w, b, y, true);
        } else {
            conv.forward(x, w, b, y, w.dim(0));
            doReluForward(y, y);
        }
    }

    @Override
    protected void doConv3x3BackwardData(CpuArray dy, CpuArray w, CpuArray dx) {
        if (dnnlConv != null) {
            dnnlConv.backwardData(dy, w, dx);
        } else {
            conv.backwardData(dy, w, dx, w.dim(1));
        }
    }

    /** oneDNN's implementation name for a convolution shape, or "im2col" where this backend uses its own path. */
    public String convImplementation(int n, int c, int k, int h, int w, boolean backward) {
        return dnnlConv != null ? "oneDNN " + dnnlConv.implementation(n, c, k, h, w, backward) : "im2col+sgemm";
    }

    // ---------------------------------------------------------------- ReLU

    private static final int CHUNK = 8192;

    @Override
    protected void doReluForward(CpuArray x, CpuArray y) {
        FloatBuffer xb = x.buffer(), yb = y.buffer();
        int total = x.length, chunks = (total + CHUNK - 1) / CHUNK;
        parallel.forEach(chunks, CHUNK, t -> {
            int off = t * CHUNK, len = Math.min(CHUNK, total - off);
            float[] v = scratch.get().a(len);
            xb.get(off, v, 0, len);
            for (int i = 0; i < len; i++) v[i] = Math.max(v[i], 0f); // NaN stays NaN, like torch.relu
            yb.put(off, v, 0, len);
        });
    }

    @Override
    protected void doReluBackward(CpuArray y, CpuArray dy, CpuArray dx) {
        int n = y.dim(0);
        FloatBuffer yb = y.buffer(), dyb = dy.buffer(), dxb = dx.buffer();
        int item = dy.length / dy.dim(0), perItem = (item + CHUNK - 1) / CHUNK;
        parallel.forEach(dy.dim(0) * perItem, CHUNK, t -> {
            int b = t / perItem, off = (t % perItem) * CHUNK, len = Math.min(CHUNK, item - off);
            Im2col.Scratch sc = scratch.get();
            float[] g = sc.a(len), m = sc.b(len);
            dyb.get(b * item + off, g, 0, len);
            yb.get((b % n) * item + off, m, 0, len);
            for (int i = 0; i < len; i++) g[i] = Float.intBitsToFloat(Float.floatToRawIntBits(g[i]) & positiveMask(m[i]));
            dxb.put(b * item + off, g, 0, len);
        });
    }

    /**
     * All ones where {@code v > 0} (NaN excluded), else 0; branch-free, since the signs of
     * activations are unpredictable: v > 0 exactly when its bits b satisfy 1 ≤ b ≤ 0x7f800000.
     */
    static int positiveMask(float v) {
        int a = Float.floatToRawIntBits(v) - 1;
        return (~a >> 31) & (~(0x7f7fffff - a) >> 31);
    }

    // ---------------------------------------------------------------- max pool 2x2

    @Override
    protected void doMaxPool2x2Forward(CpuArray x, CpuArray y) {
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
     * The value {@link #argmax2x2} selects from a window (a, b / c, d): the first strict maximum, a
     * NaN counting as one.
     */
    static float max2x2(float a, float b, float c, float d) {
        float m = a;
        m = (b > m | b != b) ? b : m;
        m = (c > m | c != c) ? c : m;
        return (d > m | d != d) ? d : m;
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

    @Override
    protected void doMaxPool2x2Backward(CpuArray x, CpuArray dy, CpuArray dx) {
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

    // ---------------------------------------------------------------- adaptive average pool

    /** PyTorch's bin start, floor(i·in/out). */
    static int binStart(int i, int in, int out) {
        return (int) ((long) i * in / out);
    }

    /** PyTorch's bin end (exclusive), ceil((i+1)·in/out). */
    static int binEnd(int i, int in, int out) {
        return (int) (((long) (i + 1) * in + out - 1) / out);
    }

    @Override
    protected void doAdaptiveAvgPoolForward(CpuArray x, CpuArray y) {
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

    @Override
    protected void doAdaptiveAvgPoolBackward(CpuArray dy, CpuArray dx) {
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

    // ---------------------------------------------------------------- bilinear upsampling (align corners)

    @Override
    protected void doUpsampleBilinearAlignCorners(CpuArray x, CpuArray y) {
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        FloatBuffer xb = x.buffer(), yb = y.buffer();
        parallel.forEach(planes, (long) oh * ow, plane -> {
            Im2col.Scratch sc = scratch.get();
            float[] in = sc.a(h * w), out = sc.b(oh * ow);
            xb.get(plane * h * w, in, 0, h * w);
            BilinearAlignCorners.plane(in, 0, h, w, out, 0, oh, ow);
            yb.put(plane * oh * ow, out, 0, oh * ow);
        });
    }

    // ---------------------------------------------------------------- fully connected

    @Override
    protected void doFcForward(CpuArray x, CpuArray w, CpuArray b, CpuArray y) {
        if (dnnlFc != null) {
            dnnlFc.forward(x, w, b, y);
            return;
        }
        int n = x.dim(0), mOut = w.dim(0), k = w.dim(1);
        FloatBuffer yb = y.buffer(), bb = b.buffer();
        for (int r = 0; r < n; r++) yb.put(r * mOut, bb, 0, mOut);
        // output features split across the pool: y[:, m0:m1] += x · w[m0:m1]ᵀ
        int slices = slices(mOut, (long) n * k);
        parallel.forEach(slices, Long.MAX_VALUE / slices, sl -> {
            int m0 = (int) ((long) sl * mOut / slices), m1 = (int) ((long) (sl + 1) * mOut / slices);
            if (n <= GEMV_ROWS) { // y[r, m0:m1] += w[m0:m1] · x[r]: streams w once per row
                for (int r = 0; r < n; r++) {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, m1 - m0, k, 1f, w.pointer((long) m0 * k), k,
                            x.pointer((long) r * k), 1, 1f, y.pointer((long) r * mOut + m0), 1);
                }
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m1 - m0, k,
                        1f, x.pointer(0), k, w.pointer((long) m0 * k), k, 1f, y.pointer(m0), mOut);
            }
        });
    }

    /**
     * Up to this many rows (batch 1: one forward row, two backward right-hand sides) a fully
     * connected product is one sgemv per row: OpenBLAS's sgemm packs the weights first, which at
     * so few rows doubles the memory traffic. Measured for fc6 on the 2-core VM: forward 1 row
     * 13–24 ms by sgemv against 39–52 ms by sgemm, backward 2 rows 23–36 against 41–55 ms.
     */
    static final int GEMV_ROWS = 2;

    /** Pieces to split a product of {@code cols} output columns into: one per thread, unless it is tiny. */
    private int slices(int cols, long workPerColumn) {
        if ((long) cols * workPerColumn < (1 << 18)) return 1;
        return Math.max(1, Math.min(threads, cols / 16));
    }

    @Override
    protected void doFcBackwardData(CpuArray dy, CpuArray w, CpuArray dx) {
        if (dnnlFc != null) {
            dnnlFc.backwardData(dy, w, dx);
            return;
        }
        int n = dy.dim(0), mOut = w.dim(0), k = w.dim(1);
        // input features split across the pool: dx[:, k0:k1] = dy · w[:, k0:k1]
        int slices = slices(k, (long) n * mOut);
        parallel.forEach(slices, Long.MAX_VALUE / slices, sl -> {
            int k0 = (int) ((long) sl * k / slices), k1 = (int) ((long) (sl + 1) * k / slices);
            if (n <= GEMV_ROWS) { // dx[r, k0:k1] = w[:, k0:k1]ᵀ · dy[r]
                for (int r = 0; r < n; r++) {
                    cblas_sgemv(CblasRowMajor, CblasTrans, mOut, k1 - k0, 1f, w.pointer(k0), k,
                            dy.pointer((long) r * mOut), 1, 0f, dx.pointer((long) r * k + k0), 1);
                }
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k1 - k0, mOut,
                        1f, dy.pointer(0), mOut, w.pointer(k0), k, 0f, dx.pointer(k0), k);
            }
        });
    }

    // ---------------------------------------------------------------- softmax and seeds

    @Override
    protected void doSoftmax(CpuArray z, CpuArray p) {
        int n = z.dim(0), m = z.length / n;
        FloatBuffer zb = z.buffer(), pb = p.buffer();
        double[] row = new double[m];
        for (int r = 0; r < n; r++) {
            softmaxRow(zb, r * m, m, row);
            for (int j = 0; j < m; j++) pb.put(r * m + j, (float) row[j]);
        }
    }

    /** Numerically stable softmax of one row, in double. */
    private static void softmaxRow(FloatBuffer z, int off, int m, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < m; j++) max = Math.max(max, z.get(off + j));
        double sum = 0;
        for (int j = 0; j < m; j++) {
            out[j] = Math.exp(z.get(off + j) - max);
            sum += out[j];
        }
        for (int j = 0; j < m; j++) out[j] /= sum;
    }

    @Override
    protected void doBackwardSeeds(CpuArray z, int[] classes, CpuArray s) {
        int n = z.dim(0), m = z.length / n;
        FloatBuffer zb = z.buffer(), sb = s.buffer();
        double[] row = new double[m];
        Im2col.zero(sb, 0, n * m);
        for (int r = 0; r < n; r++) {
            sb.put(r * m + classes[r], 1f);
            softmaxRow(zb, r * m, m, row);
            row[classes[r]] -= 10;
            int o = (n + r) * m;
            for (int j = 0; j < m; j++) sb.put(o + j, (float) row[j]);
        }
    }

    // ---------------------------------------------------------------- maps

    @Override
    protected void doMaps(CpuArray a, CpuArray g1, CpuArray g2, List<MapMethod> methods, CpuArray out) {
        int n = a.dim(0), c = a.dim(1), h = a.dim(2), w = a.dim(3), k = methods.size();
        List<MapMethod> ms = List.copyOf(methods);
        int chw = c * h * w, khw = k * h * w;
        FloatBuffer ab = a.buffer(), g1b = g1.buffer(), g2b = g2 == null ? null : g2.buffer(), ob = out.buffer();
        // image by image, so the host copies stay one image large
        parallel.forEach(n, (long) chw * k, img -> {
            float[] ha = new float[chw], h1 = new float[chw], h2 = g2b == null ? null : new float[chw], ho = new float[khw];
            ab.get(img * chw, ha);
            g1b.get(img * chw, h1);
            if (h2 != null) g2b.get(img * chw, h2);
            CpuMaps.compute(ha, h1, h2, 1, c, h, w, ms, ho);
            ob.put(img * khw, ho);
        });
    }

    @Override
    public String toString() {
        return "CpuBackend(" + threads + " threads)";
    }
}
