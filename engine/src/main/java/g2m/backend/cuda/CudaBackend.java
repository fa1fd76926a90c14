package g2m.backend.cuda;

import g2m.backend.ArgumentChecks;
import g2m.backend.Backend;
import g2m.backend.BackendUnavailableException;
import g2m.backend.DeviceArray;
import g2m.backend.DeviceOutOfMemoryException;
import g2m.backend.Precision;
import g2m.maps.MapMethod;
import g2m.maps.MapsKernelArgs;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.cudnn.cudnnActivationStruct;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnPoolingStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

import static g2m.backend.cuda.CudaStatus.Api.CUBLAS;
import static g2m.backend.cuda.CudaStatus.Api.CUDNN;
import static g2m.backend.cuda.CudaStatus.Api.DRIVER;
import static g2m.backend.cuda.CudaStatus.Api.RUNTIME;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_FAST_16BF;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_FAST_16F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_FAST_TF32;
import static org.bytedeco.cuda.global.cublas.CUBLAS_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cublas.CUBLAS_GEMM_DEFAULT;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.CUBLAS_TF32_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasGemmEx;
import static org.bytedeco.cuda.global.cublas.cublasGetVersion_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudart.cuCtxSetCurrent;
import static org.bytedeco.cuda.global.cudart.cuDeviceGet;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRelease;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRetain;
import static org.bytedeco.cuda.global.cudart.cuInit;
import static org.bytedeco.cuda.global.cudart.cudaDriverGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaEventCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaEventDestroy;
import static org.bytedeco.cuda.global.cudart.cudaEventDisableTiming;
import static org.bytedeco.cuda.global.cudart.cudaEventRecord;
import static org.bytedeco.cuda.global.cudart.cudaEventSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaFreeHost;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceProperties;
import static org.bytedeco.cuda.global.cudart.cudaGetLastError;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMallocHost;
import static org.bytedeco.cuda.global.cudart.cudaMemGetInfo;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamNonBlocking;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;
import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_RELU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CROSS_CORRELATION;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_FLOAT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_POOLING_MAX;
import static org.bytedeco.cuda.global.cudnn.CUDNN_PROPAGATE_NAN;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_NCHW;
import static org.bytedeco.cuda.global.cudnn.cudnnActivationForward;
import static org.bytedeco.cuda.global.cudnn.cudnnAddTensor;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionBackwardData;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionForward;
import static org.bytedeco.cuda.global.cudnn.cudnnCreate;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateConvolutionDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateFilterDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreatePoolingDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroy;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyConvolutionDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyFilterDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyPoolingDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnFindConvolutionBackwardDataAlgorithm;
import static org.bytedeco.cuda.global.cudnn.cudnnFindConvolutionForwardAlgorithm;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardDataAlgorithmMaxCount;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardAlgorithmMaxCount;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardAlgorithm_v7;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnGetVersion;
import static org.bytedeco.cuda.global.cudnn.cudnnPoolingForward;
import static org.bytedeco.cuda.global.cudnn.cudnnSetActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolution2dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolutionMathType;
import static org.bytedeco.cuda.global.cudnn.cudnnSetFilter4dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetPooling2dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetStream;
import static org.bytedeco.cuda.global.cudnn.cudnnSetTensor4dDescriptor;

/**
 * The CUDA backend: float32 NCHW arrays in GPU memory; convolutions (forward, backward-data),
 * ReLU forward and max-pool forward by cuDNN; the fully connected layers by cuBLAS; the rest by
 * the engine's kernels (kernels/src/main/cuda): ReLU and max-pool backward (stacked right-hand
 * sides, PyTorch's first-maximum rule, which the goldens check exactly and cuDNN does not
 * promise), PyTorch's adaptive average pool, the fc bias, softmax, the backward seeds and the
 * maps (one pass over A, g1, g2).
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
public final class CudaBackend implements Backend {
    /** Pinned staging buffer for host transfers, at most this large (bigger copies go in chunks). */
    static final long STAGING_MAX_BYTES = 32L << 20;
    static final int CONV_PLAN_CAPACITY = 512;
    static final int TENSOR_DESC_CAPACITY = 256;
    static final int MIN_COMPUTE_CAPABILITY = 80;
    /** Elements per array at most: cuDNN's limit per tensor. */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE;

    private final int device;
    private final Precision precision;
    private final String gpuName;
    private final int computeCapability;
    private final long totalMemory;
    private final boolean findAlgorithms;

    /** The device's primary context, the one the runtime API uses; made current for the driver API (module, launches). */
    private CUctx_st primaryContext;
    private int cuDevice = -1;
    private CUstream_st stream;
    private CUevent_st stagingFree;
    private cublasContext cublas;
    private cudnnContext cudnn;
    private cudnnActivationStruct reluDesc;
    private cudnnPoolingStruct poolDesc;
    private Kernels kernels;
    private FloatPointer one;
    private FloatPointer zero;
    private final PlanCache<ConvKey, ConvPlan> convPlans = new PlanCache<>(CONV_PLAN_CAPACITY);
    private final PlanCache<List<Integer>, TensorDesc> tensorDescs = new PlanCache<>(TENSOR_DESC_CAPACITY);

    private final Set<CudaArray.Block> owned = Collections.newSetFromMap(new IdentityHashMap<>());
    private CudaArray.Block convWorkspace;
    private CudaArray.Block mapScratch;
    private CudaArray.Block classesBuffer;
    private long stagingAddress;
    private long stagingBytes;
    private FloatPointer stagingFloats;
    private IntPointer stagingInts;

    private long allocations;
    /** Bytes of device memory this backend holds now, and the most it has held (arrays, workspaces, scratch). */
    private long bytesInUse, peakBytes;
    private String lost;
    private boolean closed;
    private String versions = "";

    /**
     * Opens GPU {@code device} (0 = the first).
     *
     * @throws BackendUnavailableException one line, when there is no usable GPU, driver, CUDA 13 /
     *                                     cuDNN 9 library, or the build has no kernels
     */
    public static CudaBackend open(int device, Precision precision) {
        Objects.requireNonNull(precision, "precision");
        if (device < 0) throw new IllegalArgumentException("GPU index must be >= 0, got " + device);
        CudaNatives.load();
        int[] count = {0};
        int st = cudaGetDeviceCount(count);
        if (st != 0) {
            cudaGetLastError();
            int[] driver = {0};
            if (cudaDriverGetVersion(driver) != 0) driver[0] = 0;
            throw new BackendUnavailableException(CudaNatives.PREFIX + explainDeviceCount(st, driver[0], CudaNatives.NAMER));
        }
        if (count[0] == 0) throw new BackendUnavailableException(CudaNatives.PREFIX + "no CUDA GPU found");
        if (device >= count[0]) {
            throw new BackendUnavailableException(CudaNatives.PREFIX + "GPU " + device + " does not exist (" + count[0] + " GPU"
                    + (count[0] == 1 ? "" : "s") + " found)");
        }
        return new CudaBackend(device, precision);
    }

    /** One line for a failed cudaGetDeviceCount (pure: tested without a GPU). */
    static String explainDeviceCount(int status, int driverVersion, CudaStatus.Namer namer) {
        String name;
        try {
            name = namer.name(RUNTIME, status);
        } catch (RuntimeException | LinkageError e) {
            name = "status " + status;
        }
        return switch (status) {
            case 100 -> "no CUDA GPU found";
            case 35, 36 -> "the NVIDIA driver is too old for CUDA 13" + (driverVersion > 0 ? " (it supports CUDA " + cudaVersion(driverVersion) + ")" : "")
                    + ": install driver 580 or newer";
            case 34 -> "libcuda.so is the CUDA toolkit's stub, not an NVIDIA driver (no GPU driver installed)";
            case 803 -> "the NVIDIA kernel module and libcuda.so versions differ (reboot or reinstall the driver)";
            case 46 -> "the GPU is busy or unavailable (exclusive-process mode?): " + name;
            default -> "cudaGetDeviceCount failed: " + name;
        };
    }

    static String cudaVersion(int v) {
        return (v / 1000) + "." + (v % 1000) / 10;
    }

    /** Whether a CUDA backend can be opened here; null if so, else the one-line reason. Opens and closes one. */
    public static String unavailableReason() {
        try (CudaBackend b = open(0, Precision.FP32)) {
            return null;
        } catch (BackendUnavailableException e) {
            return e.getMessage();
        }
    }

    private CudaBackend(int device, Precision precision) {
        this.device = device;
        this.precision = precision;
        this.findAlgorithms = "1".equals(System.getenv("G2M_CUDNN_FIND")) || Boolean.getBoolean("g2m.cudnn.find");
        try {
            rt(cudaSetDevice(device), "cudaSetDevice(" + device + ")");
            drv(cuInit(0), "cuInit");
            int[] dev = {0};
            drv(cuDeviceGet(dev, device), "cuDeviceGet(" + device + ")");
            CUctx_st ctx = new CUctx_st();
            drv(cuDevicePrimaryCtxRetain(ctx, dev[0]), "cuDevicePrimaryCtxRetain");
            primaryContext = ctx;
            cuDevice = dev[0];
            drv(cuCtxSetCurrent(primaryContext), "cuCtxSetCurrent");
            String name;
            int cc;
            long total;
            try (cudaDeviceProp prop = new cudaDeviceProp()) {
                rt(cudaGetDeviceProperties(prop, device), "cudaGetDeviceProperties");
                name = prop.name().getString().trim();
                cc = prop.major() * 10 + prop.minor();
                total = prop.totalGlobalMem();
            }
            this.gpuName = name;
            this.computeCapability = cc;
            this.totalMemory = total;
            if (cc < MIN_COMPUTE_CAPABILITY) {
                throw new BackendUnavailableException(CudaNatives.PREFIX + name + " has compute capability " + cc / 10 + "." + cc % 10
                        + "; the CUDA backend needs 8.0 or newer");
            }
            byte[] image = Kernels.readImage(Kernels.FATBIN);
            CUstream_st st = new CUstream_st();
            rt(cudaStreamCreateWithFlags(st, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
            stream = st; // only once created: close() destroys what is non-null
            CUevent_st ev = new CUevent_st();
            rt(cudaEventCreateWithFlags(ev, cudaEventDisableTiming), "cudaEventCreateWithFlags");
            stagingFree = ev;
            cublasContext h = new cublasContext();
            blas(cublasCreate_v2(h), "cublasCreate");
            cublas = h;
            blas(cublasSetStream_v2(cublas, stream), "cublasSetStream");
            blas(cublasSetMathMode(cublas, precision == Precision.FP32 ? CUBLAS_DEFAULT_MATH : CUBLAS_TF32_TENSOR_OP_MATH), "cublasSetMathMode");
            cudnnContext d = new cudnnContext();
            dnn(cudnnCreate(d), "cudnnCreate");
            cudnn = d;
            dnn(cudnnSetStream(cudnn, stream), "cudnnSetStream");
            cudnnActivationStruct act = new cudnnActivationStruct();
            dnn(cudnnCreateActivationDescriptor(act), "cudnnCreateActivationDescriptor");
            reluDesc = act;
            dnn(cudnnSetActivationDescriptor(reluDesc, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0), "cudnnSetActivationDescriptor");
            cudnnPoolingStruct pool = new cudnnPoolingStruct();
            dnn(cudnnCreatePoolingDescriptor(pool), "cudnnCreatePoolingDescriptor");
            poolDesc = pool;
            // 2x2 window, no padding, stride 2: floor mode, as VGG16's pools; NaN propagates (PyTorch's max)
            dnn(cudnnSetPooling2dDescriptor(poolDesc, CUDNN_POOLING_MAX, CUDNN_PROPAGATE_NAN, 2, 2, 0, 0, 2, 2), "cudnnSetPooling2dDescriptor");
            kernels = new Kernels(image, name, CudaNatives.NAMER);
            one = new FloatPointer(1f);
            zero = new FloatPointer(0f);
            int[] drv = {0};
            int[] blasVersion = {0};
            rt(cudaDriverGetVersion(drv), "cudaDriverGetVersion");
            blas(cublasGetVersion_v2(cublas, blasVersion), "cublasGetVersion");
            long dnnVersion = cudnnGetVersion();
            versions = "cuDNN " + dnnVersion / 10000 + "." + (dnnVersion % 10000) / 100 + "." + dnnVersion % 100
                    + ", cuBLAS " + blasVersion[0] / 10000 + "." + (blasVersion[0] % 10000) / 100
                    + ", driver CUDA " + cudaVersion(drv[0]);
        } catch (RuntimeException | Error e) {
            try {
                close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof RuntimeException r) throw openFailure(device, r);
            throw e;
        }
    }

    /**
     * What a failure while opening the device means to the caller: a CUDA, cuBLAS or cuDNN call
     * that fails before the backend exists (GPU busy in exclusive-process mode, a cuDNN
     * sub-library missing or of another version, no memory left for the handles) leaves no usable
     * GPU. So it is a one-line {@link BackendUnavailableException} (exit 2; {@code --device auto}
     * falls back to the CPU), not an internal error. Anything else (a bug) passes unchanged.
     */
    static RuntimeException openFailure(int device, RuntimeException e) {
        if (e instanceof CudaException || e instanceof DeviceOutOfMemoryException) {
            String m = String.valueOf(e.getMessage()).strip().lines().findFirst().orElse("");
            return new BackendUnavailableException(CudaNatives.PREFIX + "opening GPU " + device + " failed: " + m, e);
        }
        return e;
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return "CUDA on " + gpuName + " (sm_" + computeCapability + ", " + gib(totalMemory) + "), " + versions + ", " + precision.id;
    }

    public Precision precision() {
        return precision;
    }

    @Override
    public synchronized long peakDeviceBytes() {
        return peakBytes;
    }

    /** cudaMalloc calls so far (arrays, workspaces, scratch): for tests of reuse. */
    public synchronized long deviceAllocations() {
        return allocations;
    }

    /**
     * The cached convolution plans, one line each: shape, direction, the algorithm cuDNN runs, its
     * math type and workspace. For a GPU session's log: which algorithms produced the numbers.
     */
    public synchronized String convPlanSummary() {
        StringBuilder b = new StringBuilder();
        convPlans.forEach((key, plan) -> b.append(key.forward() ? "forward" : "backward-data")
                .append(" n=").append(key.n()).append(" c=").append(key.c()).append(" k=").append(key.k())
                .append(' ').append(key.h()).append('x').append(key.w()).append(": ")
                .append(ConvAlgorithms.algoName(key.forward(), plan.algo)).append(", ").append(ConvAlgorithms.mathName(plan.mathType))
                .append(" math, workspace ").append(mib(plan.workspaceBytes)).append('\n'));
        return b.toString();
    }

    /** Convolution plans made so far (one per shape and direction while cached). */
    public synchronized long convPlansMade() {
        return convPlans.created();
    }

    // ---------------------------------------------------------------- status checks

    private void rt(int status, String call) {
        check(RUNTIME, status, call);
    }

    private void drv(int status, String call) {
        check(DRIVER, status, call);
    }

    /** Makes this backend's GPU and its primary context current on the calling thread (runtime and driver API state is per thread). */
    private void bind() {
        rt(cudaSetDevice(device), "cudaSetDevice(" + device + ")");
        drv(cuCtxSetCurrent(primaryContext), "cuCtxSetCurrent");
    }

    private void dnn(int status, String call) {
        check(CUDNN, status, call);
    }

    private void blas(int status, String call) {
        check(CUBLAS, status, call);
    }

    /** Enqueues one of the engine's kernels on the stream; its status goes through {@link #check} like every other call's. */
    private void launch(KernelSpec k, long gridX, long gridY, Object... args) {
        drv(kernels.launch(k, gridX, gridY, stream, args), "cuLaunchKernel(" + k.symbol + ")");
    }

    private void check(CudaStatus.Api api, int status, String call) {
        RuntimeException e = CudaStatus.error(api, status, call, CudaNatives.NAMER);
        if (e == null) return;
        if (api == RUNTIME) cudaGetLastError(); // clear a non-sticky error so the next call does not report it again
        if (e instanceof DeviceOutOfMemoryException) throw new DeviceOutOfMemoryException(e.getMessage() + memoryInfo(), null);
        if (e instanceof CudaException c && c.contextLost()) lost = c.getMessage();
        throw e;
    }

    /** " (x GiB free of y GiB on GPU)", or "" if that cannot be asked. */
    private String memoryInfo() {
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            if (cudaMemGetInfo(free, total) != 0) {
                cudaGetLastError();
                return "";
            }
            return " (" + gib(free.get()) + " free of " + gib(total.get()) + " on " + gpuName + ")";
        }
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }

    /** Every public operation starts here: refuses work when closed or after a lost context; binds the GPU to this thread. */
    private void enter(String op) {
        if (closed) throw new IllegalStateException(op + ": backend is closed");
        if (lost != null) throw new CudaException(op + ": the CUDA context was lost earlier (" + lost + ")", true);
        bind(); // per-thread state; cheap when already current
    }

    // ---------------------------------------------------------------- memory

    @Override
    public long maxArrayElements() {
        return MAX_ELEMENTS;
    }

    static void checkShape(String op, int[] shape) {
        ArgumentChecks.checkShape(op, shape, MAX_ELEMENTS, "CUDA");
    }

    private CudaArray.Block malloc(long bytes, String what) {
        Pointer p = new Pointer();
        int st = cudaMalloc(p, Math.max(bytes, 1));
        rt(st, "cudaMalloc of " + mib(bytes) + " for " + what);
        if (p.address() == 0) throw new CudaException("cudaMalloc of " + mib(bytes) + " for " + what + " returned NULL", false);
        allocations++;
        bytesInUse += bytes;
        peakBytes = Math.max(peakBytes, bytesInUse);
        CudaArray.Block b = new CudaArray.Block(p.address(), bytes);
        owned.add(b);
        return b;
    }

    /** Frees a block (waiting for the queued work that may still use it first). */
    synchronized void release(CudaArray.Block b) {
        if (b == null || !owned.remove(b)) return; // not ours, or freed already (by close)
        bytesInUse -= b.bytes;
        long address = b.release();
        if (address == 0 || lost != null) return;    // a lost context cannot free; the driver reclaims it with the context
        bind();
        rt(cudaStreamSynchronize(stream), "cudaStreamSynchronize (before cudaFree)");
        rt(cudaFree(new DevicePointer(address)), "cudaFree");
    }

    /** b if it holds at least {@code bytes}, else a new block (the old one freed). */
    private CudaArray.Block grow(CudaArray.Block b, long bytes, String what) {
        if (b != null && !b.freed() && b.bytes >= bytes) return b;
        release(b);
        return malloc(bytes, what);
    }

    @Override
    public synchronized CudaArray allocate(int... shape) {
        enter("allocate");
        checkShape("allocate", shape);
        long n = CudaArray.count(shape);
        return new CudaArray(this, malloc(n * Float.BYTES, Arrays.toString(shape)), 0, shape, true);
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

    /** The pinned staging buffer, at least min(bytes, STAGING_MAX_BYTES) large, free to write (no queued copy reads it). */
    private long staging(long bytes) {
        long need = Math.min(Math.max(bytes, 4), STAGING_MAX_BYTES);
        rt(cudaEventSynchronize(stagingFree), "cudaEventSynchronize (staging)");
        if (stagingBytes >= need) return stagingAddress;
        freeStaging();
        Pointer p = new Pointer();
        rt(cudaMallocHost(p, need), "cudaMallocHost of " + mib(need) + " (pinned staging)");
        stagingAddress = p.address();
        stagingBytes = need;
        Pointer raw = new DevicePointer(stagingAddress);
        stagingFloats = new FloatPointer(raw).capacity(need / Float.BYTES).limit(need / Float.BYTES);
        stagingInts = new IntPointer(raw).capacity(need / Integer.BYTES).limit(need / Integer.BYTES);
        return stagingAddress;
    }

    private void freeStaging() {
        if (stagingAddress == 0) return;
        long a = stagingAddress;
        stagingAddress = 0;
        stagingBytes = 0;
        stagingFloats = null;
        stagingInts = null;
        rt(cudaFreeHost(new DevicePointer(a)), "cudaFreeHost");
    }

    @Override
    public synchronized void copyFromHost(float[] src, DeviceArray dst) {
        enter("copyFromHost");
        CudaArray d = arg("copyFromHost", "dst", dst);
        ArgumentChecks.copyFromHost(src, d);
        int chunk = (int) (STAGING_MAX_BYTES / Float.BYTES);
        for (int off = 0; off < src.length; off += chunk) {
            int len = Math.min(chunk, src.length - off);
            long host = staging((long) src.length * Float.BYTES);
            stagingFloats.put(src, off, len);
            rt(cudaMemcpyAsync(new DevicePointer(d.address(off)), new DevicePointer(host), (long) len * Float.BYTES,
                    cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync (host to device)");
            rt(cudaEventRecord(stagingFree, stream), "cudaEventRecord (staging)");
        }
    }

    /** Copies ints (the target classes) to the device int buffer; returns its address. */
    private long uploadInts(int[] src) {
        classesBuffer = grow(classesBuffer, (long) src.length * Integer.BYTES, "target classes");
        long host = staging((long) src.length * Integer.BYTES);
        stagingInts.put(src, 0, src.length);
        rt(cudaMemcpyAsync(new DevicePointer(classesBuffer.address()), new DevicePointer(host), (long) src.length * Integer.BYTES,
                cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync (classes)");
        rt(cudaEventRecord(stagingFree, stream), "cudaEventRecord (staging)");
        return classesBuffer.address();
    }

    /** Waits for everything queued before it, then copies (so asynchronous errors surface here, named). */
    @Override
    public synchronized float[] download(DeviceArray src) {
        enter("download");
        CudaArray a = arg("download", "src", src);
        float[] out = new float[Math.toIntExact(a.numel())];
        int chunk = (int) (STAGING_MAX_BYTES / Float.BYTES);
        for (int off = 0; off < out.length; off += chunk) {
            int len = Math.min(chunk, out.length - off);
            long host = staging((long) out.length * Float.BYTES);
            rt(cudaMemcpyAsync(new DevicePointer(host), new DevicePointer(a.address(off)), (long) len * Float.BYTES,
                    cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync (device to host)");
            rt(cudaStreamSynchronize(stream), "cudaStreamSynchronize (download; reports earlier asynchronous failures too)");
            stagingFloats.get(out, off, len);
        }
        return out;
    }

    /** Waits until every queued operation has finished (and reports an asynchronous failure). */
    public synchronized void synchronize() {
        enter("synchronize");
        rt(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    }

    // ---------------------------------------------------------------- argument checks (the rest: ArgumentChecks)

    private CudaArray arg(String op, String name, DeviceArray a) {
        if (a == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!(a instanceof CudaArray c) || c.backend != this) {
            throw new IllegalArgumentException(op + ": " + name + " " + DeviceArray.describe(a.shape())
                    + " is not an array of this CUDA backend (" + a.getClass().getSimpleName() + ")");
        }
        if (c.isFreed()) throw new IllegalStateException(op + ": " + name + " " + DeviceArray.describe(c.shape()) + " was closed");
        return c;
    }

    private static DevicePointer ptr(CudaArray a) {
        return new DevicePointer(a.address());
    }

    // ---------------------------------------------------------------- cuDNN descriptors and plans

    /** A cuDNN NCHW float tensor descriptor, destroyed on close. */
    private final class TensorDesc implements AutoCloseable {
        cudnnTensorStruct desc;

        TensorDesc(int n, int c, int h, int w) {
            cudnnTensorStruct d = new cudnnTensorStruct();
            dnn(cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor");
            desc = d;
            try {
                dnn(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w),
                        "cudnnSetTensor4dDescriptor [" + n + ", " + c + ", " + h + ", " + w + "]");
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        @Override
        public void close() {
            if (desc == null) return;
            cudnnTensorStruct d = desc;
            desc = null;
            dnn(cudnnDestroyTensorDescriptor(d), "cudnnDestroyTensorDescriptor");
        }
    }

    /** The descriptor of an array for cuDNN's element-wise and pooling calls: rank 4 as is, [n, rest, 1, 1] otherwise. */
    private cudnnTensorStruct tensorDesc(CudaArray a) {
        int[] s = a.shape();
        List<Integer> key = s.length == 4 ? List.of(s[0], s[1], s[2], s[3]) : List.of(s[0], (int) (a.numel() / s[0]), 1, 1);
        return tensorDescs.get(key, k -> new TensorDesc(k.get(0), k.get(1), k.get(2), k.get(3))).desc;
    }

    /** A convolution's shape: forward y[n,k,h,w] = conv(x[n,c,h,w]), or backward-data dx[n,c,h,w] from dy[n,k,h,w]. */
    record ConvKey(boolean forward, int n, int c, int h, int w, int k) {}

    /** Descriptors of one convolution shape and the algorithm chosen for it (once). */
    private final class ConvPlan implements AutoCloseable {
        final List<AutoCloseable> parts = new ArrayList<>();
        TensorDesc in, out, bias;
        cudnnFilterStruct filter;
        cudnnConvolutionStruct conv;
        int algo;
        int mathType;
        long workspaceBytes;

        ConvPlan(ConvKey key) {
            try {
                int n = key.n(), c = key.c(), h = key.h(), w = key.w(), k = key.k();
                in = own(key.forward() ? new TensorDesc(n, c, h, w) : new TensorDesc(n, k, h, w));
                out = own(key.forward() ? new TensorDesc(n, k, h, w) : new TensorDesc(n, c, h, w));
                if (key.forward()) bias = own(new TensorDesc(1, k, 1, 1));
                cudnnFilterStruct f = new cudnnFilterStruct();
                dnn(cudnnCreateFilterDescriptor(f), "cudnnCreateFilterDescriptor");
                filter = f;
                parts.add(() -> dnn(cudnnDestroyFilterDescriptor(f), "cudnnDestroyFilterDescriptor"));
                dnn(cudnnSetFilter4dDescriptor(filter, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k, c, 3, 3), "cudnnSetFilter4dDescriptor");
                cudnnConvolutionStruct cd = new cudnnConvolutionStruct();
                dnn(cudnnCreateConvolutionDescriptor(cd), "cudnnCreateConvolutionDescriptor");
                conv = cd;
                parts.add(() -> dnn(cudnnDestroyConvolutionDescriptor(cd), "cudnnDestroyConvolutionDescriptor"));
                // 3x3, padding 1, stride 1, no dilation; cross-correlation as PyTorch's conv2d
                dnn(cudnnSetConvolution2dDescriptor(conv, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                        "cudnnSetConvolution2dDescriptor");
                dnn(cudnnSetConvolutionMathType(conv, ConvAlgorithms.requestedMathType(precision)), "cudnnSetConvolutionMathType");
                chooseAlgorithm(key);
            } catch (RuntimeException | Error e) {
                try {
                    close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        }

        private TensorDesc own(TensorDesc d) {
            parts.add(d);
            return d;
        }

        private void chooseAlgorithm(ConvKey key) {
            long limit = workspaceLimit();
            String what = (key.forward() ? "forward" : "backward-data") + " convolution " + key;
            List<ConvAlgorithms.Perf> perfs = new ArrayList<>();
            int[] max = {0};
            int[] count = {0};
            if (key.forward()) {
                dnn(cudnnGetConvolutionForwardAlgorithmMaxCount(cudnn, max), "cudnnGetConvolutionForwardAlgorithmMaxCount");
                try (cudnnConvolutionFwdAlgoPerf_t p = new cudnnConvolutionFwdAlgoPerf_t(Math.max(1, max[0]))) {
                    if (findAlgorithms) {
                        dnn(cudnnFindConvolutionForwardAlgorithm(cudnn, in.desc, filter, conv, out.desc, max[0], count, p),
                                "cudnnFindConvolutionForwardAlgorithm for " + what);
                    } else {
                        dnn(cudnnGetConvolutionForwardAlgorithm_v7(cudnn, in.desc, filter, conv, out.desc, max[0], count, p),
                                "cudnnGetConvolutionForwardAlgorithm_v7 for " + what);
                    }
                    for (int i = 0; i < count[0]; i++) {
                        cudnnConvolutionFwdAlgoPerf_t e = p.getPointer(i);
                        perfs.add(new ConvAlgorithms.Perf(e.algo(), e.status(), e.time(), e.memory(), e.determinism(), e.mathType()));
                    }
                }
            } else {
                dnn(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnn, max), "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
                try (cudnnConvolutionBwdDataAlgoPerf_t p = new cudnnConvolutionBwdDataAlgoPerf_t(Math.max(1, max[0]))) {
                    if (findAlgorithms) {
                        dnn(cudnnFindConvolutionBackwardDataAlgorithm(cudnn, filter, in.desc, conv, out.desc, max[0], count, p),
                                "cudnnFindConvolutionBackwardDataAlgorithm for " + what);
                    } else {
                        dnn(cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn, filter, in.desc, conv, out.desc, max[0], count, p),
                                "cudnnGetConvolutionBackwardDataAlgorithm_v7 for " + what);
                    }
                    for (int i = 0; i < count[0]; i++) {
                        cudnnConvolutionBwdDataAlgoPerf_t e = p.getPointer(i);
                        perfs.add(new ConvAlgorithms.Perf(e.algo(), e.status(), e.time(), e.memory(), e.determinism(), e.mathType()));
                    }
                }
            }
            ConvAlgorithms.Perf chosen = ConvAlgorithms.choose(perfs, precision, limit).orElseThrow(() -> new CudaException(
                    "cuDNN offers no " + precision.id + " algorithm for the " + what + " within a workspace of " + mib(limit) + " (candidates: "
                            + perfs + ")", false));
            algo = chosen.algo();
            mathType = ConvAlgorithms.mathTypeToSet(precision, chosen);
            dnn(cudnnSetConvolutionMathType(conv, mathType), "cudnnSetConvolutionMathType (chosen algorithm's)");
            try (SizeTPointer ws = new SizeTPointer(1)) {
                if (key.forward()) {
                    dnn(cudnnGetConvolutionForwardWorkspaceSize(cudnn, in.desc, filter, conv, out.desc, algo, ws),
                            "cudnnGetConvolutionForwardWorkspaceSize");
                } else {
                    dnn(cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn, filter, in.desc, conv, out.desc, algo, ws),
                            "cudnnGetConvolutionBackwardDataWorkspaceSize");
                }
                workspaceBytes = Math.max(ws.get(), chosen.memory());
            }
        }

        @Override
        public void close() {
            RuntimeException first = null;
            for (int i = parts.size() - 1; i >= 0; i--) {
                try {
                    parts.get(i).close();
                } catch (RuntimeException e) {
                    if (first == null) first = e;
                } catch (Exception e) {
                    if (first == null) first = new IllegalStateException(e);
                }
            }
            parts.clear();
            if (first != null) throw first;
        }
    }

    /** cuDNN workspace allowed per convolution: half the free memory, between 64 MiB and 2 GiB. */
    private long workspaceLimit() {
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            rt(cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return Math.max(64L << 20, Math.min(2L << 30, free.get() / 2));
        }
    }

    private DevicePointer workspace(long bytes) {
        if (bytes == 0) return new DevicePointer(0);
        convWorkspace = grow(convWorkspace, bytes, "the cuDNN workspace");
        return new DevicePointer(convWorkspace.address());
    }

    // ---------------------------------------------------------------- convolution (cuDNN)

    @Override
    public synchronized void conv3x3Forward(DeviceArray xa, DeviceArray wa, DeviceArray ba, DeviceArray ya) {
        String op = "conv3x3Forward";
        enter(op);
        CudaArray x = arg(op, "x", xa), w = arg(op, "w", wa), b = arg(op, "b", ba), y = arg(op, "y", ya);
        ArgumentChecks.conv3x3Forward(op, x, w, b, y);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), k = w.dim(0);
        ConvPlan plan = convPlans.get(new ConvKey(true, n, c, h, wd, k), ConvPlan::new);
        DevicePointer ws = workspace(plan.workspaceBytes);
        dnn(cudnnConvolutionForward(cudnn, one, plan.in.desc, ptr(x), plan.filter, ptr(w), plan.conv, plan.algo, ws, plan.workspaceBytes,
                zero, plan.out.desc, ptr(y)), "cudnnConvolutionForward " + DeviceArray.describe(x.shape()) + " -> " + k + " channels");
        dnn(cudnnAddTensor(cudnn, one, plan.bias.desc, ptr(b), one, plan.out.desc, ptr(y)), "cudnnAddTensor (convolution bias)");
    }

    @Override
    public synchronized void conv3x3BackwardData(DeviceArray dya, DeviceArray wa, DeviceArray dxa) {
        String op = "conv3x3BackwardData";
        enter(op);
        CudaArray dy = arg(op, "dy", dya), w = arg(op, "w", wa), dx = arg(op, "dx", dxa);
        ArgumentChecks.conv3x3BackwardData(op, dy, w, dx);
        int m = dy.dim(0), k = dy.dim(1), h = dy.dim(2), wd = dy.dim(3), c = w.dim(1);
        ConvPlan plan = convPlans.get(new ConvKey(false, m, c, h, wd, k), ConvPlan::new);
        DevicePointer ws = workspace(plan.workspaceBytes);
        dnn(cudnnConvolutionBackwardData(cudnn, one, plan.filter, ptr(w), plan.in.desc, ptr(dy), plan.conv, plan.algo, ws,
                plan.workspaceBytes, zero, plan.out.desc, ptr(dx)), "cudnnConvolutionBackwardData " + DeviceArray.describe(dy.shape()));
    }

    // ---------------------------------------------------------------- ReLU

    @Override
    public synchronized void reluForward(DeviceArray xa, DeviceArray ya) {
        String op = "reluForward";
        enter(op);
        CudaArray x = arg(op, "x", xa), y = arg(op, "y", ya);
        ArgumentChecks.reluForward(op, x, y);
        cudnnTensorStruct d = tensorDesc(x);
        dnn(cudnnActivationForward(cudnn, reluDesc, one, d, ptr(x), zero, d, ptr(y)), "cudnnActivationForward (ReLU) " + DeviceArray.describe(x.shape()));
    }

    @Override
    public synchronized void reluBackward(DeviceArray ya, DeviceArray dya, DeviceArray dxa) {
        String op = "reluBackward";
        enter(op);
        CudaArray y = arg(op, "y", ya), dy = arg(op, "dy", dya), dx = arg(op, "dx", dxa);
        ArgumentChecks.reluBackward(op, y, dy, dx);
        int n = y.dim(0);
        long item = y.numel() / n;
        launch(KernelSpec.RELU_BACKWARD, Kernels.linearBlocks(dy.numel()), 1,
                y.address(), dy.address(), dx.address(), item, n, dy.numel());
    }

    // ---------------------------------------------------------------- max pool 2x2

    @Override
    public synchronized void maxPool2x2Forward(DeviceArray xa, DeviceArray ya) {
        String op = "maxPool2x2Forward";
        enter(op);
        CudaArray x = arg(op, "x", xa), y = arg(op, "y", ya);
        ArgumentChecks.maxPool2x2Forward(op, x, y);
        dnn(cudnnPoolingForward(cudnn, poolDesc, one, tensorDesc(x), ptr(x), zero, tensorDesc(y), ptr(y)),
                "cudnnPoolingForward (max 2x2) " + DeviceArray.describe(x.shape()));
    }

    @Override
    public synchronized void maxPool2x2Backward(DeviceArray xa, DeviceArray dya, DeviceArray dxa) {
        String op = "maxPool2x2Backward";
        enter(op);
        CudaArray x = arg(op, "x", xa), dy = arg(op, "dy", dya), dx = arg(op, "dx", dxa);
        ArgumentChecks.maxPool2x2Backward(op, x, dy, dx);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        launch(KernelSpec.MAXPOOL2X2_BACKWARD, Kernels.linearBlocks(dx.numel()), 1,
                x.address(), dy.address(), dx.address(), n, c, h, w, dx.numel());
    }

    // ---------------------------------------------------------------- adaptive average pool

    @Override
    public synchronized void adaptiveAvgPoolForward(DeviceArray xa, DeviceArray ya) {
        String op = "adaptiveAvgPoolForward";
        enter(op);
        CudaArray x = arg(op, "x", xa), y = arg(op, "y", ya);
        ArgumentChecks.adaptiveAvgPoolForward(op, x, y);
        int h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        launch(KernelSpec.ADAPTIVE_AVGPOOL_FORWARD, Kernels.linearBlocks(y.numel()), 1,
                x.address(), y.address(), h, w, oh, ow, y.numel());
    }

    @Override
    public synchronized void adaptiveAvgPoolBackward(DeviceArray dya, DeviceArray dxa) {
        String op = "adaptiveAvgPoolBackward";
        enter(op);
        CudaArray dy = arg(op, "dy", dya), dx = arg(op, "dx", dxa);
        ArgumentChecks.adaptiveAvgPoolBackward(op, dy, dx);
        int oh = dy.dim(2), ow = dy.dim(3), h = dx.dim(2), w = dx.dim(3);
        launch(KernelSpec.ADAPTIVE_AVGPOOL_BACKWARD, Kernels.linearBlocks(dx.numel()), 1,
                dy.address(), dx.address(), h, w, oh, ow, dx.numel());
    }

    // ---------------------------------------------------------------- bilinear upsampling (align corners)

    @Override
    public synchronized void upsampleBilinearAlignCorners(DeviceArray xa, DeviceArray ya) {
        String op = "upsampleBilinearAlignCorners";
        enter(op);
        CudaArray x = arg(op, "x", xa), y = arg(op, "y", ya);
        ArgumentChecks.upsampleBilinearAlignCorners(op, x, y);
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
    public synchronized void fcForward(DeviceArray xa, DeviceArray wa, DeviceArray ba, DeviceArray ya) {
        String op = "fcForward";
        enter(op);
        CudaArray x = arg(op, "x", xa), w = arg(op, "w", wa), b = arg(op, "b", ba), y = arg(op, "y", ya);
        ArgumentChecks.fcForward(op, x, w, b, y);
        int n = x.dim(0), mOut = w.dim(0), k = w.dim(1);
        launch(KernelSpec.BIAS_ROWS, Kernels.linearBlocks(y.numel()), 1, y.address(), b.address(), mOut, y.numel());
        // row-major y[n,M] += x[n,K]·w[M,K]ᵀ is column-major yᵀ[M,n] += wᵀ… : C = op(A)·B with A = w (K×M col-major, transposed), B = xᵀ
        blas(cublasGemmEx(cublas, CUBLAS_OP_T, CUBLAS_OP_N, mOut, n, k, one, ptr(w), CUDA_R_32F, k, ptr(x), CUDA_R_32F, k,
                one, ptr(y), CUDA_R_32F, mOut, computeType(), CUBLAS_GEMM_DEFAULT), "cublasGemmEx (fc forward " + n + "x" + k + " -> " + mOut + ")");
    }

    @Override
    public synchronized void fcBackwardData(DeviceArray dya, DeviceArray wa, DeviceArray dxa) {
        String op = "fcBackwardData";
        enter(op);
        CudaArray dy = arg(op, "dy", dya), w = arg(op, "w", wa), dx = arg(op, "dx", dxa);
        ArgumentChecks.fcBackwardData(op, dy, w, dx);
        int n = dy.dim(0), mOut = w.dim(0), k = w.dim(1);
        // row-major dx[n,K] = dy[n,M]·w[M,K]: column-major dxᵀ[K,n] = w(K×M col-major)·dyᵀ(M×n)
        blas(cublasGemmEx(cublas, CUBLAS_OP_N, CUBLAS_OP_N, k, n, mOut, one, ptr(w), CUDA_R_32F, k, ptr(dy), CUDA_R_32F, mOut,
                zero, ptr(dx), CUDA_R_32F, k, computeType(), CUBLAS_GEMM_DEFAULT), "cublasGemmEx (fc backward " + n + "x" + mOut + " -> " + k + ")");
    }

    // ---------------------------------------------------------------- softmax and seeds

    @Override
    public synchronized void softmax(DeviceArray logits, DeviceArray probs) {
        String op = "softmax";
        enter(op);
        CudaArray z = arg(op, "logits", logits), p = arg(op, "probs", probs);
        ArgumentChecks.softmax(op, z, p);
        int n = z.dim(0), m = (int) (z.numel() / n);
        launch(KernelSpec.SOFTMAX_ROWS, n, 1, z.address(), p.address(), m);
    }

    @Override
    public synchronized void backwardSeeds(DeviceArray logits, int[] classes, DeviceArray seeds) {
        String op = "backwardSeeds";
        enter(op);
        CudaArray z = arg(op, "logits", logits), s = arg(op, "seeds", seeds);
        ArgumentChecks.backwardSeeds(op, z, classes, s);
        int n = z.dim(0), m = (int) (z.numel() / n);
        long cls = uploadInts(classes);
        launch(KernelSpec.BACKWARD_SEEDS, n, 1, z.address(), cls, s.address(), n, m);
    }

    // ---------------------------------------------------------------- maps

    @Override
    public synchronized void maps(DeviceArray aa, DeviceArray g1a, DeviceArray g2a, List<MapMethod> methods, DeviceArray outa) {
        String op = "maps";
        enter(op);
        CudaArray a = arg(op, "a", aa), g1 = arg(op, "g1", g1a), out = arg(op, "out", outa);
        ArgumentChecks.mapMethods(op, methods);
        boolean needsG2 = methods.stream().anyMatch(MapMethod::needsG2);
        CudaArray g2 = g2a == null && !needsG2 ? null : arg(op, "g2", g2a);
        ArgumentChecks.maps(op, a, g1, g2, methods.size(), out);
        int n = a.dim(0), c = a.dim(1), h = a.dim(2), w = a.dim(3), k = methods.size(), hw = h * w;
        if (n > 65535) throw new IllegalArgumentException(op + ": at most 65535 images per call, got " + n);
        int packed = MapsKernelArgs.packMethods(methods); // refuses more than 8 before anything is enqueued
        int flags = MapsKernelArgs.flags(methods);
        boolean weights = (flags & MapsKernelArgs.F_WEIGHTS) != 0, readsG2 = (flags & MapsKernelArgs.F_G2) != 0;
        long sumsBytes = (long) n * hw * MapsKernelArgs.SLOTS * Double.BYTES;
        long weightBytes = weights ? (long) n * c * MapsKernelArgs.CHANNEL_WEIGHTS * Double.BYTES : 0;
        mapScratch = grow(mapScratch, sumsBytes + weightBytes, "the map sums");
        long sums = mapScratch.address(), cw = sums + sumsBytes;
        if (weights) launch(KernelSpec.CHANNEL_WEIGHTS, c, n, a.address(), g1.address(), cw, c, hw);
        // unused pointers (g2 without F_G2, weights without F_WEIGHTS) are never read: any valid address will do
        launch(KernelSpec.MAP_SUMS, (hw + KernelSpec.SUMS_PIXELS - 1) / KernelSpec.SUMS_PIXELS, n,
                a.address(), g1.address(), readsG2 ? g2.address() : g1.address(), weights ? cw : sums, sums, c, hw, flags);
        launch(KernelSpec.MAP_FINISH, n, 1, sums, out.address(), hw, k, packed);
    }

    // ---------------------------------------------------------------- close

    /** Waits for queued work, then frees every array, plan, descriptor and handle (all of them, even if one fails). */
    @Override
    public synchronized void close() {
        if (closed) return;
        // After a lost context every CUDA call fails: release host memory only; the driver reclaims the rest with the context.
        boolean live = lost == null;
        List<RuntimeException> errors = new ArrayList<>();
        Runnable[] steps = {
                () -> {
                    if (primaryContext != null && live) bind();
                    if (stream != null && live) rt(cudaStreamSynchronize(stream), "cudaStreamSynchronize (close)");
                },
                () -> {
                    if (live) convPlans.close();
                },
                () -> {
                    if (live) tensorDescs.close();
                },
                () -> {
                    for (CudaArray.Block b : owned.toArray(new CudaArray.Block[0])) {
                        owned.remove(b);
                        long address = b.release();
                        if (address != 0 && live) rt(cudaFree(new DevicePointer(address)), "cudaFree (close)");
                    }
                },
                () -> {
                    if (live) freeStaging();
                },
                () -> {
                    if (kernels != null) {
                        if (live) kernels.close();
                        else kernels.abandon();
                    }
                    kernels = null;
                },
                () -> {
                    if (poolDesc != null && live) dnn(cudnnDestroyPoolingDescriptor(poolDesc), "cudnnDestroyPoolingDescriptor");
                    poolDesc = null;
                },
                () -> {
                    if (reluDesc != null && live) dnn(cudnnDestroyActivationDescriptor(reluDesc), "cudnnDestroyActivationDescriptor");
                    reluDesc = null;
                },
                () -> {
                    if (cudnn != null && live) dnn(cudnnDestroy(cudnn), "cudnnDestroy");
                    cudnn = null;
                },
                () -> {
                    if (cublas != null && live) blas(cublasDestroy_v2(cublas), "cublasDestroy");
                    cublas = null;
                },
                () -> {
                    if (stagingFree != null && live) rt(cudaEventDestroy(stagingFree), "cudaEventDestroy");
                    stagingFree = null;
                },
                () -> {
                    if (stream != null && live) rt(cudaStreamDestroy(stream), "cudaStreamDestroy");
                    stream = null;
                },
                () -> {
                    if (primaryContext != null && live) drv(cuDevicePrimaryCtxRelease(cuDevice), "cuDevicePrimaryCtxRelease");
                    primaryContext = null;
                },
                () -> {
                    if (one != null) one.close();
                    if (zero != null) zero.close();
                    one = zero = null;
                },
        };
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                errors.add(e);
            }
        }
        closed = true;
        convWorkspace = mapScratch = classesBuffer = null;
        if (!errors.isEmpty()) {
            RuntimeException first = errors.get(0);
            for (int i = 1; i < errors.size(); i++) first.addSuppressed(errors.get(i));
            throw first;
        }
    }

    @Override
    public String toString() {
        return "CudaBackend(" + gpuName + ", " + precision.id + ")";
    }
}
