package g2m.backend.cuda;

import g2m.backend.BackendUnavailableException;
import g2m.backend.DeviceOutOfMemoryException;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.javacpp.SizeTPointer;

import static g2m.backend.cuda.CudaStatus.Api.RUNTIME;
import static org.bytedeco.cuda.global.cudart.cuCtxSetCurrent;
import static org.bytedeco.cuda.global.cudart.cuDeviceGet;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRelease;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRetain;
import static org.bytedeco.cuda.global.cudart.cuInit;
import static org.bytedeco.cuda.global.cudart.cudaDriverGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceProperties;
import static org.bytedeco.cuda.global.cudart.cudaGetLastError;
import static org.bytedeco.cuda.global.cudart.cudaMemGetInfo;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamNonBlocking;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;

/**
 * One GPU brought up for the backend: the libraries loaded, the device found (or why not, in one
 * line), its primary context retained and current, its name, compute capability and memory read,
 * and the one non-blocking stream every operation is enqueued on. Owns the context and the
 * stream ({@link #close} releases them, in reverse order) and the {@link CudaChecks} that every
 * call's status of this backend goes through.
 */
final class CudaDevice implements AutoCloseable {
    static final int MIN_COMPUTE_CAPABILITY = 80;

    final int index;
    final CudaChecks checks;
    final String name;
    final int computeCapability;
    final long totalMemory;
    /** The device's primary context, the one the runtime API uses; made current for the driver API (module, launches). */
    private final CUctx_st primaryContext;
    private final CUstream_st stream;
    private final CloseStack opened = new CloseStack();

    /**
     * Opens GPU {@code index} (0 = the first).
     *
     * @throws BackendUnavailableException one line, when there is no usable GPU, driver or CUDA 13 / cuDNN 9 library
     */
    static CudaDevice open(int index) {
        CudaNatives.load();
        int[] count = {0};
        int st = cudaGetDeviceCount(count);
        if (st != 0) {
            cudaGetLastError();
            int[] driver = {0};
            if (cudaDriverGetVersion(driver) != 0) driver[0] = 0;
            throw new BackendUnavailableException(CudaNatives.BACKEND, explainDeviceCount(st, driver[0], CudaNatives.NAMER));
        }
        if (count[0] == 0) throw new BackendUnavailableException(CudaNatives.BACKEND, "no CUDA GPU found");
        if (index >= count[0]) {
            throw new BackendUnavailableException(CudaNatives.BACKEND, "GPU " + index + " does not exist (" + count[0] + " GPU"
                    + (count[0] == 1 ? "" : "s") + " found)");
        }
        return new CudaDevice(index);
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

    /**
     * What a failure while opening the backend means to the caller: a CUDA, cuBLAS or cuDNN call
     * that fails before the backend exists (GPU busy in exclusive-process mode, a cuDNN
     * sub-library missing or of another version, no memory left for the handles) leaves no usable
     * GPU. So it is a one-line {@link BackendUnavailableException} (exit 2; {@code --device auto}
     * falls back to the CPU), not an internal error. Anything else (a bug) passes unchanged.
     */
    static RuntimeException openFailure(int device, RuntimeException e) {
        if (e instanceof CudaException || e instanceof DeviceOutOfMemoryException) {
            String m = String.valueOf(e.getMessage()).strip().lines().findFirst().orElse("");
            return new BackendUnavailableException(CudaNatives.BACKEND, "opening GPU " + device + " failed: " + m, e);
        }
        return e;
    }

    private CudaDevice(int index) {
        this.index = index;
        this.checks = new CudaChecks(CudaNatives.NAMER, () -> cudaGetLastError(), this::memoryInfo);
        try {
            checks.rt(cudaSetDevice(index), "cudaSetDevice(" + index + ")");
            checks.drv(cuInit(0), "cuInit");
            int[] dev = {0};
            checks.drv(cuDeviceGet(dev, index), "cuDeviceGet(" + index + ")");
            int cuDevice = dev[0];
            CUctx_st ctx = new CUctx_st();
            checks.drv(cuDevicePrimaryCtxRetain(ctx, cuDevice), "cuDevicePrimaryCtxRetain");
            opened.push(() -> {
                if (checks.live()) checks.drv(cuDevicePrimaryCtxRelease(cuDevice), "cuDevicePrimaryCtxRelease");
            });
            primaryContext = ctx;
            checks.drv(cuCtxSetCurrent(primaryContext), "cuCtxSetCurrent");
            try (cudaDeviceProp prop = new cudaDeviceProp()) {
                checks.rt(cudaGetDeviceProperties(prop, index), "cudaGetDeviceProperties");
                name = prop.name().getString().trim();
                computeCapability = prop.major() * 10 + prop.minor();
                totalMemory = prop.totalGlobalMem();
            }
            if (computeCapability < MIN_COMPUTE_CAPABILITY) {
                throw new BackendUnavailableException(CudaNatives.BACKEND, name + " has compute capability " + computeCapability / 10 + "."
                        + computeCapability % 10 + "; the CUDA backend needs 8.0 or newer");
            }
            CUstream_st s = new CUstream_st();
            checks.rt(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
            opened.push(() -> {
                if (checks.live()) checks.rt(cudaStreamDestroy(s), "cudaStreamDestroy");
            });
            stream = s;
        } catch (RuntimeException | Error e) {
            opened.closeAfterFailure(e);
            throw e;
        }
    }

    /** The stream every operation of the backend is enqueued on, in call order. */
    CUstream_st stream() {
        return stream;
    }

    /** Makes this GPU and its primary context current on the calling thread (runtime and driver API state is per thread). */
    void bind() {
        checks.rt(cudaSetDevice(index), "cudaSetDevice(" + index + ")");
        checks.drv(cuCtxSetCurrent(primaryContext), "cuCtxSetCurrent");
    }

    /** Waits for everything queued (before the backend frees what the queued work may still use); nothing to wait for after a lost context. */
    void drain() {
        if (!checks.live()) return;
        bind();
        checks.rt(cudaStreamSynchronize(stream), "cudaStreamSynchronize (close)");
    }

    /** " (x GiB free of y GiB on GPU)", or "" if that cannot be asked. */
    private String memoryInfo() {
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            if (cudaMemGetInfo(free, total) != 0) {
                cudaGetLastError();
                return "";
            }
            return " (" + CudaMemory.gib(free.get()) + " free of " + CudaMemory.gib(total.get()) + " on "
                    + (name != null ? name : "GPU " + index) + ")";
        }
    }

    /** Releases the stream, then the primary context (after a lost context: nothing, the driver reclaims them). */
    @Override
    public void close() {
        opened.close();
    }
}
