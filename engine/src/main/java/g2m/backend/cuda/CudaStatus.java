package g2m.backend.cuda;

import g2m.backend.DeviceOutOfMemoryException;

import java.util.Set;

/**
 * Status codes of the four APIs the CUDA backend calls, turned into exceptions: every call's
 * status goes through {@link #check}. Pure Java (codes from the CUDA 13 / cuDNN 9 headers), so
 * the mapping is tested without a GPU.
 */
final class CudaStatus {
    private CudaStatus() {}

    enum Api { RUNTIME, DRIVER, CUBLAS, CUDNN }

    /** Names a status code (cudaGetErrorName etc. once the libraries are loaded). */
    interface Namer {
        String name(Api api, int code);
    }

    // cudaErrorMemoryAllocation = CUDA_ERROR_OUT_OF_MEMORY = 2; CUBLAS_STATUS_ALLOC_FAILED = 3;
    // CUDNN_STATUS_ALLOC_FAILED (= ..._INTERNAL_ERROR_HOST_ALLOCATION_FAILED) = 4003, ..._DEVICE_ALLOCATION_FAILED = 4004
    static boolean outOfMemory(Api api, int code) {
        return switch (api) {
            case RUNTIME, DRIVER -> code == 2;
            case CUBLAS -> code == 3;
            case CUDNN -> code == 4003 || code == 4004;
        };
    }

    /**
     * The runtime / driver errors after which the context is corrupt and every later call fails
     * (cudaErrorIllegalAddress 700, LaunchTimeout 702, HardwareStackError 714, IllegalInstruction
     * 715, MisalignedAddress 716, InvalidAddressSpace 717, InvalidPc 718, LaunchFailure 719,
     * Assert 710, ECCUncorrectable 214). Same numbers in both APIs.
     */
    static final Set<Integer> CONTEXT_LOST = Set.of(214, 700, 702, 710, 714, 715, 716, 717, 718, 719);

    /**
     * The exception for a failed call, or null for success (0 in every API).
     *
     * @param call what was called, e.g. "cudaMalloc of 392.0 MiB for [64, 512, 56, 56]"
     */
    static RuntimeException error(Api api, int code, String call, Namer namer) {
        if (code == 0) return null;
        String name;
        try {
            name = namer.name(api, code);
        } catch (RuntimeException | LinkageError e) {
            name = null;
        }
        String what = (name == null || name.isBlank() ? api.name().toLowerCase() + " status " + code : name + " (" + code + ")");
        if (outOfMemory(api, code)) return new DeviceOutOfMemoryException("GPU out of memory: " + call + " failed with " + what, null);
        boolean lost = (api == Api.RUNTIME || api == Api.DRIVER) && CONTEXT_LOST.contains(code);
        return new CudaException(call + " failed: " + what
                + (lost ? "; the CUDA context is lost (an earlier kernel or copy faulted), close the engine and open a new one" : ""), lost);
    }

    static void check(Api api, int code, String call, Namer namer) {
        RuntimeException e = error(api, code, call, namer);
        if (e != null) throw e;
    }
}
