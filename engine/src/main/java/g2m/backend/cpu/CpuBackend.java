package g2m.backend.cpu;

import g2m.backend.ArgumentChecks;
import g2m.backend.BilinearAlignCorners;
import g2m.backend.BackendUnavailableException;
import g2m.backend.CheckedBackend;
import g2m.backend.Precision;
import g2m.maps.CpuMaps;
import g2m.maps.MapMethod;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The CPU backend: float32 NCHW arrays in malloc'd memory, matrix products by OpenBLAS
 * ({@code cblas_sgemm} on native pointers, never on Java arrays), the other loops in Java on
 * direct buffers.
 *
 * <p><b>Convolutions</b> (fp32) go, per shape, to Winograd F(4×4, 3×3) ({@link Winograd43}),
 * oneDNN ({@link DnnlConv}) or im2col, as measured ({@link #route}), where oneDNN loads and finds
 * AVX2; bf16 ones to oneDNN; below AVX2, or with ConvPath.IM2COL, they are im2col + sgemm cut into tiles
 * of about {@link #TILE_COLUMNS}
 * output positions: a large image in blocks of whole rows, small images (deep layers, 14×14)
 * side by side (see {@link Conv3x3}). The column matrices, staging and halo buffers are
 * workspaces of the backend's memory ({@link CpuMemory}), reused across calls and grown only
 * when a larger shape arrives, so repeated calls with the same shapes allocate no native memory.
 * The pooling loops are {@link CpuPooling}'s, the fp32 fully connected products {@link BlasFc}'s.
 *
 * <p><b>Precision</b>: FP32 (default) or BF16, where oneDNN computes the convolution and fully
 * connected products with bf16 inputs and float32 accumulation ({@link DnnlConv}, {@link DnnlFc}),
 * and a forward convolution's output is stored rounded to bf16 and handed to the next convolution
 * or max pool ({@link DnnlPool}) in oneDNN's layout, its NCHW array written lazily
 * ({@link DnnlChain}: the {@link #reading}/{@link #written} hooks write it out when another
 * operation touches it; {@link #discard} skips it).
 *
 * <p><b>Threads</b>: oneDNN's primitives run on its own OpenMP team ({@code OMP_NUM_THREADS}).
 * All other parallel work runs on one private ForkJoinPool of {@code threads}
 * threads (0 = all available processors): the Java loops, and the sgemms, which are split into
 * independent single-threaded calls (tiles, or slices of the output) taken dynamically by the
 * pool threads. OpenBLAS's own threading is therefore set to 1 (its global thread count and, in
 * fp32, libgomp's wait policy ({@link OpenMpWaitPolicy}) are the process-wide settings this class
 * touches). Measured on 2 cores, this beats one
 * multi-threaded sgemm per tile: no barrier per sgemm, im2col and sgemm of different tiles
 * overlap, and a preempted thread just takes fewer tiles (benchmarks: ConvLayerBenchmark's im2col
 * path next to SgemmBenchmark's one threaded sgemm of the layer).
 *
 * <p><b>Calls are serialized</b>: every operation holds the backend's lock ({@link CheckedBackend}),
 * since the workspaces are shared.
 *
 * <p>Closing the backend frees every array it still owns (views of them become unusable) and
 * its workspaces.
 */
public final class CpuBackend extends CheckedBackend<CpuArray> {
    /** Aimed-at output positions (sgemm columns) per convolution tile; chosen by a sweep of tile sizes on 2 Zen cores. */
    static final int TILE_COLUMNS = 2048;

    private final int threads;
    private final Parallel parallel;
    private final CpuMemory memory = new CpuMemory();
    private final Conv3x3 conv;
    private final CpuPooling pooling;
    private final BlasFc blasFc;
    private final Precision precision;
    /** Weight copies in oneDNN's layouts and Winograd's transforms. */
    private final DerivedWeights derived;
    /** oneDNN convolutions and (bf16) fully connected products; null where not used. */
    private final DnnlConv dnnlConv;
    /** Winograd F(4x4, 3x3) convolutions; null where not used. */
    private final Winograd43 winograd;
    /** IM2COL, ONEDNN or WINOGRAD for every convolution, or AUTO: see {@link #route}. */
    private final ConvPath path;
    /** AUTO in fp32 on a CPU with AVX2: the per-shape choice of {@link #route}. */
    private final boolean perShape;
    /** {@link #perShape} with AVX-512: {@link #route}'s choices as measured there (else as with AVX2 alone). */
    private final boolean avx512Routes;
    /** {@link #route}: fewer image-side channels than this (conv1_1) go to im2col with AVX2 alone, oneDNN with AVX-512. */
    static final int FEW_CHANNELS = 16;
    /** {@link #route}: Winograd needs this many channels on both sides, this many on one (AVX2 alone), and this many 4×4 tiles. */
    static final int WINOGRAD_MIN_CHANNELS = 64, WINOGRAD_WIDE_CHANNELS = 128, WINOGRAD_TILES = 48;
    private final DnnlFc dnnlFc;
    /** bf16 mode: layer outputs handed on in oneDNN's layout, and the max pool that reads them; null in fp32. */
    private final DnnlChain chain;
    private final DnnlPool dnnlPool;
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
        this(threads, Precision.FP32, ConvPath.AUTO, null);
    }

    /**
     * @param precision FP32, or BF16: convolution and fully connected products with bf16 inputs
     *                  and float32 accumulation, by oneDNN (needs AVX-512 bf16)
     * @param convPath  which code does the convolutions; AUTO unless comparing
     * @param note      appended to {@link #description()}, e.g. why {@code --device auto} chose the CPU; null for none
     * @throws IllegalArgumentException    for TF32/FP16 (GPU-only modes), or BF16 with IM2COL or WINOGRAD (fp32 paths)
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
        if (!bf16) OpenMpWaitPolicy.apply(); // before the first Dnnl.load below, where libgomp reads it
        if (bf16 && convPath != ConvPath.AUTO && convPath != ConvPath.ONEDNN) {
            throw new IllegalArgumentException("bf16 convolutions are oneDNN's; " + convPath + " computes in fp32");
        }
        if (bf16 && !Dnnl.hasBf16()) {
            throw new BackendUnavailableException("CPU", "for --precision bf16", Dnnl.load()
                    ? "this CPU has no AVX-512 bf16 instructions" : "oneDNN did not load (" + Dnnl.loadError() + ")", null);
        }
        if (convPath == ConvPath.ONEDNN && !Dnnl.hasAvx2()) {
            throw new BackendUnavailableException("CPU", "with oneDNN convolutions", Dnnl.load()
                    ? "this CPU has no AVX2" : "oneDNN did not load (" + Dnnl.loadError() + ")", null);
        }
        // below AVX2 oneDNN's kernels were not measured; im2col + OpenBLAS stays the default there
        this.path = convPath == ConvPath.AUTO && !Dnnl.hasAvx2() ? ConvPath.IM2COL : convPath;
        // fp32: the per-shape choice measured on Zen 2 and Zen 4 (route); bf16: oneDNN throughout
        this.perShape = path == ConvPath.AUTO && !bf16;
        this.avx512Routes = perShape && Dnnl.hasAvx512(); // forced fp32 paths do not load oneDNN
        this.threads = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        openblas_nolapack.blas_set_num_threads(1); // the pool parallelizes; see the class comment
        this.parallel = new Parallel(this.threads);
        this.conv = new Conv3x3(memory, parallel, () -> tileColumns);
        this.pooling = new CpuPooling(parallel, scratch);
        this.blasFc = new BlasFc(parallel, this.threads);
        boolean dnnl = bf16 || path == ConvPath.ONEDNN || path == ConvPath.AUTO;
        this.derived = new DerivedWeights(memory);
        this.winograd = path == ConvPath.WINOGRAD || perShape ? new Winograd43(memory, derived, parallel) : null;
        this.chain = bf16 ? new DnnlChain(memory) : null;
        this.dnnlPool = bf16 ? new DnnlPool(chain) : null;
        this.dnnlConv = dnnl ? new DnnlConv(memory, derived, bf16, chain) : null;
        this.dnnlFc = bf16 ? new DnnlFc(memory, derived) : null;
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
        String convs = switch (path) {
            case IM2COL -> "";
            case ONEDNN -> ", oneDNN convolutions";
            case WINOGRAD -> ", Winograd convolutions";
            case AUTO -> !perShape ? ", oneDNN convolutions"
                    : avx512Routes ? ", Winograd and oneDNN convolutions" : ", Winograd, oneDNN and im2col convolutions";
        };
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
        return memory.allocations();
    }

    /** Native bytes currently held (arrays not yet closed, and workspaces). */
    public long nativeBytes() {
        return memory.liveBytes();
    }

    /** Frees an array's block, and the weight copies made from it. */
    void release(NativeBlock b) {
        if (b != null) derived.forget(b);
        if (b != null && chain != null) chain.forget(b, () -> memory.release(b));
        else memory.release(b);
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
        return new CpuArray(this, memory.allocate(CpuArray.count(shape), "allocate"), 0, shape, true);
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
        if (dnnlPool != null) dnnlPool.close();
        derived.clear();
        memory.close();
    }

    // ---------------------------------------------------------------- what every operation does first (CheckedBackend)

    @Override
    protected void enter(String op) {
        if (closed) throw new IllegalStateException(op + ": backend is closed");
    }

    /**
     * A written array's block moves to a new version (see {@link NativeBlock#version}): copies
     * derived from it are stale. In bf16 mode a deferred output in that block is written out
     * first (the operation may write only part of it).
     */
    @Override
    protected void written(CpuArray a) {
        if (chain != null) chain.materialize(a.block);
        a.block.version++;
    }

    /** The operations that take their input x from the bf16 chain themselves; every other argument read is written out first. */
    private static final Set<String> CHAIN_READERS = Set.of("conv3x3Forward", "conv3x3ForwardRelu", "maxPool2x2Forward");

    @Override
    protected void reading(String op, String name, CpuArray a) {
        if (chain != null && !(name.equals("x") && CHAIN_READERS.contains(op))) chain.materialize(a.block);
    }

    @Override
    protected void doDiscard(CpuArray a) {
        if (chain != null) chain.discard(a);
    }

    // ---------------------------------------------------------------- convolution

    @Override
    protected void doConv3x3Forward(CpuArray x, CpuArray w, CpuArray b, CpuArray y) {
        switch (route(x.dim(0), x.dim(1), w.dim(0), x.dim(2), x.dim(3))) {
            case WINOGRAD -> winograd.forward(x, w, b, y, false);
            case ONEDNN -> dnnlConv.forward(x, w, b, y, false);
            default -> conv.forward(x, w, b, y, w.dim(0));
        }
    }

    /** oneDNN and Winograd apply the ReLU as they write y (no second pass); im2col: conv, then ReLU. */
    @Override
    protected void doConv3x3ForwardRelu(CpuArray x, CpuArray w, CpuArray b, CpuArray y) {
        switch (route(x.dim(0), x.dim(1), w.dim(0), x.dim(2), x.dim(3))) {
            case WINOGRAD -> winograd.forward(x, w, b, y, true);
            case ONEDNN -> dnnlConv.forward(x, w, b, y, true);
            default -> {
                conv.forward(x, w, b, y, w.dim(0));
                doReluForward(y, y);
            }
        }
    }

    @Override
    protected void doConv3x3BackwardData(CpuArray dy, CpuArray w, CpuArray dx) {
        switch (route(dy.dim(0), dx.dim(1), dy.dim(1), dy.dim(2), dy.dim(3))) {
            case WINOGRAD -> winograd.backwardData(dy, w, dx);
            case ONEDNN -> dnnlConv.backwardData(dy, w, dx);
            default -> conv.backwardData(dy, w, dx, w.dim(1));
        }
    }

    /**
     * Which code computes a convolution of n images of h×w with c channels on the image side (x
     * forward, dx backward) and k on the other. Forced paths take every shape; bf16 AUTO: oneDNN.
     * fp32 AUTO, as measured on 2 cores of Zen 2 (AVX2) and Zen 4 (AVX-512) (benchmarks/README.md):
     * below {@link #FEW_CHANNELS} image channels (conv1_1) im2col with AVX2 alone, oneDNN with
     * AVX-512; Winograd where both sides have at least {@link #WINOGRAD_MIN_CHANNELS} channels, with
     * AVX2 alone one side at least {@link #WINOGRAD_WIDE_CHANNELS} (not conv1_2 there), at least
     * {@link #WINOGRAD_TILES} 4×4 tiles and at least one row of tiles per thread (so not the 14×14
     * layers below batch 3: 16 tiles per image); oneDNN elsewhere. Below AVX2: im2col.
     */
    private ConvPath route(int n, int c, int k, int h, int w) {
        if (!perShape) return path == ConvPath.AUTO ? ConvPath.ONEDNN : path;
        if (c < FEW_CHANNELS) return avx512Routes ? ConvPath.ONEDNN : ConvPath.IM2COL;
        long rows = (long) n * ((h + 3) / 4), tiles = rows * ((w + 3) / 4);
        // 14×14 at batch 1 (4 rows of 4 tiles): oneDNN measured faster even with Winograd's shared
        // chunk (conv5_1 on 2 Zen 4 cores: 5.0 against 7.3 ms forward, 4.5 against 6.5 backward)
        if (Math.min(c, k) >= WINOGRAD_MIN_CHANNELS && (avx512Routes || Math.max(c, k) >= WINOGRAD_WIDE_CHANNELS) && tiles >= WINOGRAD_TILES
                && rows >= threads) {
            return ConvPath.WINOGRAD;
        }
        return ConvPath.ONEDNN;
    }

    /** The implementation a convolution shape goes to: oneDNN's name for it, "winograd F(4x4,3x3)" or "im2col+sgemm". */
    public String convImplementation(int n, int c, int k, int h, int w, boolean backward) {
        return switch (route(n, c, k, h, w)) {
            case WINOGRAD -> "winograd F(4x4,3x3)";
            case ONEDNN -> "oneDNN " + dnnlConv.implementation(n, c, k, h, w, backward);
            default -> "im2col+sgemm";
        };
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

    // ---------------------------------------------------------------- pooling (CpuPooling)

    @Override
    protected void doMaxPool2x2Forward(CpuArray x, CpuArray y) {
        if (dnnlPool != null && dnnlPool.forward(x, y)) return;
        if (chain != null) chain.materialize(x.block);
        pooling.maxForward(x, y);
    }

    @Override
    protected void doMaxPool2x2Backward(CpuArray x, CpuArray dy, CpuArray dx) {
        pooling.maxBackward(x, dy, dx);
    }

    @Override
    protected void doAdaptiveAvgPoolForward(CpuArray x, CpuArray y) {
        pooling.adaptiveAvgForward(x, y);
    }

    @Override
    protected void doAdaptiveAvgPoolBackward(CpuArray dy, CpuArray dx) {
        pooling.adaptiveAvgBackward(dy, dx);
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

    // ---------------------------------------------------------------- fully connected (DnnlFc in bf16, else BlasFc)

    @Override
    protected void doFcForward(CpuArray x, CpuArray w, CpuArray b, CpuArray y) {
        if (dnnlFc != null) dnnlFc.forward(x, w, b, y);
        else blasFc.forward(x, w, b, y);
    }

    @Override
    protected void doFcBackwardData(CpuArray dy, CpuArray w, CpuArray dx) {
        if (dnnlFc != null) dnnlFc.backwardData(dy, w, dx);
        else blasFc.backwardData(dy, w, dx);
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
