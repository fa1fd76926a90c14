package g2m.backend.cuda;

import g2m.backend.ArgumentChecks;
import g2m.backend.BackendUnavailableException;
import g2m.backend.CheckedBackend;
import g2m.backend.DeviceArray;
import g2m.backend.DeviceOutOfMemoryException;
import g2m.backend.Precision;
import g2m.maps.MapMethod;
import g2m.maps.MapsKernelArgs;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_FAST_16BF;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_FAST_16F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_FAST_TF32;
import static org.bytedeco.cuda.global.cublas.CUBLAS_GEMM_DEFAULT;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasGemmEx;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudnn.cudnnActivationForward;
import static org.bytedeco.cuda.global.cudnn.cudnnAddTensor;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionBackwardData;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionForward;
import static org.bytedeco.cuda.global.cudnn.cudnnPoolingForward;

/**
 * The CUDA backend: float32 NCHW arrays in GPU memory; convolutions (forward, backward-data),
 * ReLU forward and max-pool forward by cuDNN; the fully connected layers by cuBLAS; the rest by
 * the engine's kernels (kernels/src/main/cuda): ReLU and max-pool backward (stacked right-hand
 * sides, PyTorch's first-maximum rule, which the goldens check exactly and cuDNN does not
 * promise), PyTorch's adaptive average pool, the fc bias, softmax, the backward seeds and the
 * maps (one pass over A, g1, g2). This class is the operations; the rest is held by owners it
 * opens in this order and closes in reverse: {@link CudaDevice} (context, stream, the status
 * checks), {@link CudaMemory} (device memory, pinned staging), {@link CudaLibraries} (cuBLAS,
 * cuDNN, the kernels) and {@link ConvPlans} (cuDNN descriptors and algorithm choice).
 *
 * <p><b>Ordering.</b> Every operation is enqueued on one non-blocking stream, in call order, and
 * returns without waiting; only {@link #download} (and freeing memory, and close) waits for the
 * stream. Host-to-device copies go through a pinned staging buffer guarded by an event, so an
 * upload never overwrites staging memory a queued copy still reads.
 *
 * <p><b>Precision.</b> {@link Precision#FP32} (default) allows no TF32 or half-precision math:
 * cuDNN algorithms are restricted to FMA math, cuBLAS computes in fp32. The fast modes allow
 * tensor cores (see {@link Precision}).
 *
 * <p><b>Resources.</b> Convolution plans (descriptors and the algorithm chosen for them) are
 * made once per shape and cached; one cuDNN workspace, one map scratch buffer and the staging
 * buffer are reused and only grown. Every CUDA, cuBLAS and cuDNN status is checked: running out
 * of GPU memory is a {@link DeviceOutOfMemoryException}, anything else a {@link CudaException};
 * after an error that loses the CUDA context the backend refuses further work. Closing frees
 * everything the backend still holds (views of its arrays become unusable).
 *
 * <p>Calls are serialized (synchronized); they may come from any thread.
 */
public final class CudaBackend extends CheckedBackend<CudaArray> {
    /** Elements per array at most: cuDNN's limit per tensor. */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE;

    private final Precision precision;
    private final CudaDevice device;
    private final CudaChecks checks;
    private final CudaMemory memory;
    private final CudaLibraries libs;
    private final ConvPlans plans;
    /** The owners above, closed in reverse order of opening (the stream drained first). */
    private final CloseStack opened = new CloseStack();

    private CudaArray.Block convWorkspace;
    private CudaArray.Block mapScratch;
    private CudaArray.Block classesBuffer;
    private boolean closed;

    /**
     * Opens GPU {@code device} (0 = the first).
     *
     * @throws BackendUnavailableException one line, when there is no usable GPU, driver, CUDA 13 /
     *                                     cuDNN 9 library, or the build has no kernels
     */
    public static CudaBackend open(int device, Precision precision) {
        Objects.requireNonNull(precision, "precision");
        if (device < 0) throw new IllegalArgumentException("GPU index must be >= 0, got " + device);
        return new CudaBackend(device, precision);
    }

    /** Whether a CUDA backend can be opened here; null if so, else the one-line reason. Opens and closes one. */
    public static String unavailableReason() {
        try (CudaBackend b = open(0, Precision.FP32)) {
            return null;
        } catch (BackendUnavailableException e) {
            return e.getMessage();
        }
    }

    private CudaBackend(int index, Precision precision) {
        super(CudaArray.class, "CUDA");
        this.precision = precision;
        try {
            device = CudaDevice.open(index);
            opened.push(device::close);
            checks = device.checks;
            memory = new CudaMemory(device);
            opened.push(memory::close);
            libs = new CudaLibraries(device, precision);
            opened.push(libs::close);
            plans = new ConvPlans(libs.cudnn, checks, precision);
            opened.push(plans::close);
            opened.push(device::drain); // closed first: the queued work may still use what the others free
        } catch (RuntimeException | Error e) {
            opened.closeAfterFailure(e);
            if (e instanceof RuntimeException r) throw CudaDevice.openFailure(index, r);
            throw e;
        }
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return "CUDA on " + device.name + " (sm_" + device.computeCapability + ", " + CudaMemory.gib(device.totalMemory) + "), "
                + libs.versions + ", " + precision.id;
    }

    public Precision precision() {
        return precision;
    }

    @Override
    public synchronized long peakDeviceBytes() {
        return memory.peakBytes();
    }

    /** cudaMalloc calls so far (arrays, workspaces, scratch): for tests of reuse. */
    public synchronized long deviceAllocations() {
        return memory.allocations();
    }

    /**
     * The cached convolution plans, one line each: shape, direction, the algorithm cuDNN runs, its
     * math type and workspace. For a GPU session's log: which algorithms produced the numbers.
     */
    public synchronized String convPlanSummary() {
        return plans.summary();
    }

    /** Convolution plans made so far (one per shape and direction while cached). */
    public synchronized long convPlansMade() {
        return plans.made();
    }

    /** Every operation starts here: refuses work when closed or after a lost context; binds the GPU to this thread. */
    @Override
    protected void enter(String op) {
        if (closed) throw new IllegalStateException(op + ": backend is closed");
        checks.requireLive(op);
        device.bind(); // per-thread state; cheap when already current
    }

    /** Enqueues one of the engine's kernels on the stream; its status is checked like every other call's. */
    private void launch(KernelSpec k, long gridX, long gridY, Object... args) {
        checks.drv(libs.kernels.launch(k, gridX, gridY, device.stream(), args), "cuLaunchKernel(" + k.symbol + ")");
    }

    private static DevicePointer ptr(CudaArray a) {
        return new DevicePointer(a.address());
    }

    // ---------------------------------------------------------------- memory

    @Override
    public long maxArrayElements() {
        return MAX_ELEMENTS;
    }

    static void checkShape(String op, int[] shape) {
        ArgumentChecks.checkShape(op, shape, MAX_ELEMENTS, "CUDA");
    }

    @Override
    public synchronized CudaArray allocate(int... shape) {
        enter("allocate");
        checkShape("allocate", shape);
        long n = CudaArray.count(shape);
        return new CudaArray(this, memory.malloc(n * Float.BYTES, Arrays.toString(shape)), 0, shape, true);
    }

    @Override
    public synchronized CudaArray upload(float[] host, int... shape) {
        CudaArray a = allocate(ArgumentChecks.uploadShape(host, shape, MAX_ELEMENTS, "CUDA"));
        try {
            copyFromHost(host, a);
        } catch (RuntimeException | Error e) {
            a.close();
            throw e;
        }
        return a;
    }

    /** Frees an array's block (waiting for the queued work that may still use it first). */
    synchronized void release(CudaArray.Block b) {
        memory.release(b);
    }

    @Override
    protected void doCopyFromHost(float[] src, CudaArray dst) {
        memory.copyFromHost(src, dst);
    }

    /** Waits for everything queued before it, then copies (so asynchronous errors surface here, named). */
    @Override
    protected float[] doDownload(CudaArray src) {
        return memory.download(src);
    }

    // ---------------------------------------------------------------- convolution (cuDNN)

    private DevicePointer workspace(long bytes) {
        if (bytes == 0) return new DevicePointer(0);
        convWorkspace = memory.grow(convWorkspace, bytes, "the cuDNN workspace");
        return new DevicePointer(convWorkspace.address());
    }

    @Override
    protected void doConv3x3Forward(CudaArray x, CudaArray w, CudaArray b, CudaArray y) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), k = w.dim(0);
        ConvPlans.Plan plan = plans.plan(new ConvPlans.ConvKey(true, n, c, h, wd, k));
        DevicePointer ws = workspace(plan.workspaceBytes);
        checks.dnn(cudnnConvolutionForward(libs.cudnn, libs.one, plan.in.desc, ptr(x), plan.filter, ptr(w), plan.conv, plan.algo, ws,
                plan.workspaceBytes, libs.zero, plan.out.desc, ptr(y)), "cudnnConvolutionForward " + DeviceArray.describe(x.shape()) + " -> " + k + " channels");
        checks.dnn(cudnnAddTensor(libs.cudnn, libs.one, plan.bias.desc, ptr(b), libs.one, plan.out.desc, ptr(y)), "cudnnAddTensor (convolution bias)");
    }

    @Override
    protected void doConv3x3BackwardData(CudaArray dy, CudaArray w, CudaArray dx) {
        int m = dy.dim(0), k = dy.dim(1), h = dy.dim(2), wd = dy.dim(3), c = w.dim(1);
        ConvPlans.Plan plan = plans.plan(new ConvPlans.ConvKey(false, m, c, h, wd, k));
        DevicePointer ws = workspace(plan.workspaceBytes);
        checks.dnn(cudnnConvolutionBackwardData(libs.cudnn, libs.one, plan.filter, ptr(w), plan.in.desc, ptr(dy), plan.conv, plan.algo, ws,
                plan.workspaceBytes, libs.zero, plan.out.desc, ptr(dx)), "cudnnConvolutionBackwardData " + DeviceArray.describe(dy.shape()));
    }

    // ---------------------------------------------------------------- ReLU

    @Override
    protected void doReluForward(CudaArray x, CudaArray y) {
        cudnnTensorStruct d = plans.tensorDesc(x);
        checks.dnn(cudnnActivationForward(libs.cudnn, libs.relu, libs.one, d, ptr(x), libs.zero, d, ptr(y)),
                "cudnnActivationForward (ReLU) " + DeviceArray.describe(x.shape()));
    }

    @Override
    protected void doReluBackward(CudaArray y, CudaArray dy, CudaArray dx) {
        int n = y.dim(0);
        long item = y.numel() / n;
        launch(KernelSpec.RELU_BACKWARD, Kernels.linearBlocks(dy.numel()), 1,
                y.address(), dy.address(), dx.address(), item, n, dy.numel());
    }

    // ---------------------------------------------------------------- max pool 2x2

    @Override
    protected void doMaxPool2x2Forward(CudaArray x, CudaArray y) {
        checks.dnn(cudnnPoolingForward(libs.cudnn, libs.maxPool2x2, libs.one, plans.tensorDesc(x), ptr(x), libs.zero, plans.tensorDesc(y), ptr(y)),
                "cudnnPoolingForward (max 2x2) " + DeviceArray.describe(x.shape()));
    }

    @Override
    protected void doMaxPool2x2Backward(CudaArray x, CudaArray dy, CudaArray dx) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        launch(KernelSpec.MAXPOOL2X2_BACKWARD, Kernels.linearBlocks(dx.numel()), 1,
                x.address(), dy.address(), dx.address(), n, c, h, w, dx.numel());
    }

    // ---------------------------------------------------------------- adaptive average pool

    @Override
    protected void doAdaptiveAvgPoolForward(CudaArray x, CudaArray y) {
        int h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        launch(KernelSpec.ADAPTIVE_AVGPOOL_FORWARD, Kernels.linearBlocks(y.numel()), 1,
                x.address(), y.address(), h, w, oh, ow, y.numel());
    }

    @Override
    protected void doAdaptiveAvgPoolBackward(CudaArray dy, CudaArray dx) {
        int oh = dy.dim(2), ow = dy.dim(3), h = dx.dim(2), w = dx.dim(3);
        launch(KernelSpec.ADAPTIVE_AVGPOOL_BACKWARD, Kernels.linearBlocks(dx.numel()), 1,
                dy.address(), dx.address(), h, w, oh, ow, dx.numel());
    }

    // ---------------------------------------------------------------- bilinear upsampling (align corners)

    @Override
    protected void doUpsampleBilinearAlignCorners(CudaArray x, CudaArray y) {
        int h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        launch(KernelSpec.UPSAMPLE_BILINEAR_AC, Kernels.linearBlocks(y.numel()), 1,
                x.address(), y.address(), h, w, oh, ow, y.numel());
    }

    // ---------------------------------------------------------------- fully connected (cuBLAS)

    /** cuBLAS compute type of this precision: fp32, or fp32 accumulation over TF32 / fp16 / bf16 products. */
    private int computeType() {
        return switch (precision) {
            case FP32 -> CUBLAS_COMPUTE_32F;
            case TF32 -> CUBLAS_COMPUTE_32F_FAST_TF32;
            case FP16 -> CUBLAS_COMPUTE_32F_FAST_16F;
            case BF16 -> CUBLAS_COMPUTE_32F_FAST_16BF;
        };
    }

    @Override
    protected void doFcForward(CudaArray x, CudaArray w, CudaArray b, CudaArray y) {
        int n = x.dim(0), mOut = w.dim(0), k = w.dim(1);
        launch(KernelSpec.BIAS_ROWS, Kernels.linearBlocks(y.numel()), 1, y.address(), b.address(), mOut, y.numel());
        // row-major y[n,M] += x[n,K]·w[M,K]ᵀ is column-major yᵀ[M,n] += wᵀ… : C = op(A)·B with A = w (K×M col-major, transposed), B = xᵀ
        checks.blas(cublasGemmEx(libs.cublas, CUBLAS_OP_T, CUBLAS_OP_N, mOut, n, k, libs.one, ptr(w), CUDA_R_32F, k, ptr(x), CUDA_R_32F, k,
                libs.one, ptr(y), CUDA_R_32F, mOut, computeType(), CUBLAS_GEMM_DEFAULT), "cublasGemmEx (fc forward " + n + "x" + k + " -> " + mOut + ")");
    }

    @Override
    protected void doFcBackwardData(CudaArray dy, CudaArray w, CudaArray dx) {
        int n = dy.dim(0), mOut = w.dim(0), k = w.dim(1);
        // row-major dx[n,K] = dy[n,M]·w[M,K]: column-major dxᵀ[K,n] = w(K×M col-major)·dyᵀ(M×n)
        checks.blas(cublasGemmEx(libs.cublas, CUBLAS_OP_N, CUBLAS_OP_N, k, n, mOut, libs.one, ptr(w), CUDA_R_32F, k, ptr(dy), CUDA_R_32F, mOut,
                libs.zero, ptr(dx), CUDA_R_32F, k, computeType(), CUBLAS_GEMM_DEFAULT), "cublasGemmEx (fc backward " + n + "x" + mOut + " -> " + k + ")");
    }

    // ---------------------------------------------------------------- softmax and seeds

    @Override
    protected void doSoftmax(CudaArray z, CudaArray p) {
        int n = z.dim(0), m = (int) (z.numel() / n);
        launch(KernelSpec.SOFTMAX_ROWS, n, 1, z.address(), p.address(), m);
    }

    @Override
    protected void doBackwardSeeds(CudaArray z, int[] classes, CudaArray s) {
        int n = z.dim(0), m = (int) (z.numel() / n);
        classesBuffer = memory.grow(classesBuffer, (long) classes.length * Integer.BYTES, "target classes");
        memory.copyIntsFromHost(classes, classesBuffer);
        long cls = classesBuffer.address();
        launch(KernelSpec.BACKWARD_SEEDS, n, 1, z.address(), cls, s.address(), n, m);
    }

    // ---------------------------------------------------------------- maps

    @Override
    protected void doMaps(CudaArray a, CudaArray g1, CudaArray g2, List<MapMethod> methods, CudaArray out) {
        String op = "maps";
        int n = a.dim(0), c = a.dim(1), h = a.dim(2), w = a.dim(3), k = methods.size(), hw = h * w;
        if (n > 65535) throw new IllegalArgumentException(op + ": at most 65535 images per call, got " + n);
        int packed = MapsKernelArgs.packMethods(methods); // refuses more than 8 before anything is enqueued
        int flags = MapsKernelArgs.flags(methods);
        boolean weights = (flags & MapsKernelArgs.F_WEIGHTS) != 0, readsG2 = (flags & MapsKernelArgs.F_G2) != 0;
        long sumsBytes = (long) n * hw * MapsKernelArgs.SLOTS * Double.BYTES;
        long weightBytes = weights ? (long) n * c * MapsKernelArgs.CHANNEL_WEIGHTS * Double.BYTES : 0;
        mapScratch = memory.grow(mapScratch, sumsBytes + weightBytes, "the map sums");
        long sums = mapScratch.address(), cw = sums + sumsBytes;
        if (weights) launch(KernelSpec.CHANNEL_WEIGHTS, c, n, a.address(), g1.address(), cw, c, hw);
        // unused pointers (g2 without F_G2, weights without F_WEIGHTS) are never read: any valid address will do
        launch(KernelSpec.MAP_SUMS, (hw + KernelSpec.SUMS_PIXELS - 1) / KernelSpec.SUMS_PIXELS, n,
                a.address(), g1.address(), readsG2 ? g2.address() : g1.address(), weights ? cw : sums, sums, c, hw, flags);
        launch(KernelSpec.MAP_FINISH, n, 1, sums, out.address(), hw, k, packed);
    }

    // ---------------------------------------------------------------- close

    /**
     * Waits for queued work, then frees every array, plan, descriptor and handle: the owners in
     * reverse order of opening, all of them even if one fails (the first failure is thrown). After
     * a lost context only host memory is released; the driver reclaims the rest with the context.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            opened.close();
        } finally {
            convWorkspace = mapScratch = classesBuffer = null;
        }
    }

    @Override
    public String toString() {
        return "CudaBackend(" + device.name + ", " + precision.id + ")";
    }
}
