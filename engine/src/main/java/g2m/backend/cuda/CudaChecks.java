package g2m.backend.cuda;

import g2m.backend.DeviceOutOfMemoryException;

import java.util.Objects;
import java.util.function.Supplier;

import static g2m.backend.cuda.CudaStatus.Api.CUBLAS;
import static g2m.backend.cuda.CudaStatus.Api.CUDNN;
import static g2m.backend.cuda.CudaStatus.Api.DRIVER;
import static g2m.backend.cuda.CudaStatus.Api.RUNTIME;

/**
 * The status check every CUDA, cuBLAS and cuDNN call of one backend goes through: a failure
 * becomes an exception ({@link CudaStatus}), running out of memory a
 * {@link DeviceOutOfMemoryException} that says what is free, and an error that loses the CUDA
 * context is remembered, so that the backend refuses further work and teardown skips the calls
 * that can no longer succeed. The library-facing parts (status names, clearing the runtime's last
 * error, the free-memory query) are given, so the policy is tested without a GPU.
 */
final class CudaChecks {
    private final CudaStatus.Namer namer;
    private final Runnable clearRuntimeError;
    private final Supplier<String> memoryInfo;
    /** The message of the error that lost the context; null while it is usable. */
    private volatile String lost;

    /**
     * @param clearRuntimeError resets the runtime's last error (cudaGetLastError)
     * @param memoryInfo        " (x GiB free of y GiB on GPU)" for an out-of-memory message, or ""
     */
    CudaChecks(CudaStatus.Namer namer, Runnable clearRuntimeError, Supplier<String> memoryInfo) {
        this.namer = Objects.requireNonNull(namer);
        this.clearRuntimeError = Objects.requireNonNull(clearRuntimeError);
        this.memoryInfo = Objects.requireNonNull(memoryInfo);
    }

    void rt(int status, String call) {
        check(RUNTIME, status, call);
    }

    void drv(int status, String call) {
        check(DRIVER, status, call);
    }

    void dnn(int status, String call) {
        check(CUDNN, status, call);
    }

    void blas(int status, String call) {
        check(CUBLAS, status, call);
    }

    /** @param call what was called, for the message, e.g. "cudaMalloc of 392.0 MiB for [64, 512, 56, 56]" */
    void check(CudaStatus.Api api, int status, String call) {
        RuntimeException e = CudaStatus.error(api, status, call, namer);
        if (e == null) return;
        if (api == RUNTIME) clearRuntimeError.run(); // clear a non-sticky error so the next call does not report it again
        if (e instanceof DeviceOutOfMemoryException) throw new DeviceOutOfMemoryException(e.getMessage() + memoryInfo.get(), null);
        if (e instanceof CudaException c && c.contextLost()) lost = c.getMessage();
        throw e;
    }

    /** False once an error has lost the CUDA context: every later CUDA call would fail. */
    boolean live() {
        return lost == null;
    }

    /** Refuses operation {@code op} after a lost context, naming the error that lost it. */
    void requireLive(String op) {
        String l = lost;
        if (l != null) throw new CudaException(op + ": the CUDA context was lost earlier (" + l + ")", true);
    }
}
