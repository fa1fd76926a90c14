package g2m.backend.cuda;

import g2m.backend.BackendUnavailableException;
import g2m.backend.DeviceOutOfMemoryException;
import g2m.backend.Precision;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static g2m.backend.cuda.ConvAlgorithms.DETERMINISTIC;
import static g2m.backend.cuda.ConvAlgorithms.FMA_MATH;
import static g2m.backend.cuda.ConvAlgorithms.TENSOR_OP_MATH;
import static g2m.backend.cuda.ConvAlgorithms.TENSOR_OP_MATH_ALLOW_CONVERSION;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA backend's Java-side logic that needs no GPU: status-code mapping (out of memory,
 * lost context), explaining a failed library load or device query in one line, the kernels
 * resource, launch-argument checks, algorithm choice, the plan cache, method packing.
 */
class CudaLogicTest {
    static final CudaStatus.Namer NAMES = (api, code) -> api + "_" + code;

    @Test
    void outOfMemoryStatusesOfEveryApiBecomeDeviceOutOfMemory() {
        // cudaErrorMemoryAllocation, CUDA_ERROR_OUT_OF_MEMORY, CUBLAS_STATUS_ALLOC_FAILED, CUDNN_STATUS_ALLOC_FAILED (host), device allocation
        Object[][] cases = {{CudaStatus.Api.RUNTIME, 2}, {CudaStatus.Api.DRIVER, 2}, {CudaStatus.Api.CUBLAS, 3},
                {CudaStatus.Api.CUDNN, 4003}, {CudaStatus.Api.CUDNN, 4004}};
        for (Object[] c : cases) {
            RuntimeException e = CudaStatus.error((CudaStatus.Api) c[0], (int) c[1], "cudaMalloc of 2.0 MiB for [1, 2]", NAMES);
            assertInstanceOf(DeviceOutOfMemoryException.class, e, c[0] + " " + c[1]);
            assertTrue(e.getMessage().startsWith("GPU out of memory: cudaMalloc of 2.0 MiB for [1, 2] failed with "), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
        assertNull(CudaStatus.error(CudaStatus.Api.CUDNN, 0, "x", NAMES), "0 is success in every API");
        // 3 is not memory for the runtime (cudaErrorInitializationError), nor 2 for cuBLAS (NOT_INITIALIZED)
        assertInstanceOf(CudaException.class, CudaStatus.error(CudaStatus.Api.RUNTIME, 3, "x", NAMES));
        assertInstanceOf(CudaException.class, CudaStatus.error(CudaStatus.Api.CUBLAS, 2, "x", NAMES));
    }

    @Test
    void otherStatusesNameTheCallAndTheErrorAndFlagALostContext() {
        CudaException illegal = (CudaException) CudaStatus.error(CudaStatus.Api.RUNTIME, 700, "cudaStreamSynchronize", NAMES);
        assertTrue(illegal.contextLost());
        assertTrue(illegal.getMessage().startsWith("cudaStreamSynchronize failed: RUNTIME_700 (700)"), illegal.getMessage());
        assertTrue(illegal.getMessage().contains("context is lost"), illegal.getMessage());
        CudaException badParam = (CudaException) CudaStatus.error(CudaStatus.Api.CUDNN, 2000, "cudnnConvolutionForward", NAMES);
        assertFalse(badParam.contextLost());
        assertEquals("cudnnConvolutionForward failed: CUDNN_2000 (2000)", badParam.getMessage());
        // a namer that fails (library not loaded) still gives a message
        CudaStatus.Namer broken = (api, code) -> {
            throw new UnsatisfiedLinkError("no");
        };
        assertEquals("x failed: cublas status 13", CudaStatus.error(CudaStatus.Api.CUBLAS, 13, "x", broken).getMessage());
        assertThrows(DeviceOutOfMemoryException.class, () -> CudaStatus.check(CudaStatus.Api.RUNTIME, 2, "x", NAMES));
    }

    @Test
    void outOfMemoryNamesTheBatchToLowerOnce() {
        DeviceOutOfMemoryException e = new DeviceOutOfMemoryException("GPU out of memory: cudaMalloc of 1.0 MiB failed", null);
        DeviceOutOfMemoryException b = e.atBatch(64);
        assertEquals("GPU out of memory: cudaMalloc of 1.0 MiB failed at batch 64: lower the batch size (--batch, now 64)", b.getMessage());
        assertEquals(b.getMessage(), b.atBatch(64).atBatch(8).getMessage(), "added once, by the innermost caller");
        assertTrue(e.atBatch(1).getMessage().endsWith("even at batch 1: use smaller pictures, a GPU with more free memory, or --device cpu"));
    }

    /** JavaCPP's failure on a machine without a GPU driver, as seen on this project's build machine. */
    static Throwable noDriverChain() {
        UnsatisfiedLinkError cause = new UnsatisfiedLinkError("/root/.javacpp/cache/cuda-13.1-9.19-1.5.13-linux-x86_64.jar/org/bytedeco/cuda/"
                + "linux-x86_64/libjnicudart.so: libcuda.so.1: cannot open shared object file: No such file or directory");
        UnsatisfiedLinkError top = new UnsatisfiedLinkError("no jnicudart in java.library.path: /usr/java/packages/lib:/usr/lib64");
        top.initCause(cause);
        return top;
    }

    @Test
    void aFailedLoadIsExplainedInOneLineNamingTheMissingLibrary() {
        String noDriver = CudaNatives.unavailable(noDriverChain()).getMessage();
        assertEquals("CUDA backend unavailable: no NVIDIA driver on this machine (libcuda.so.1 not found)", noDriver);
        assertTrue(CudaNatives.unavailable(new UnsatisfiedLinkError("libjnicudart.so: libcudart.so.13: cannot open shared object file"))
                .getMessage().contains("CUDA 13 runtime (libcudart.so.13) was not found"));
        assertTrue(CudaNatives.unavailable(new UnsatisfiedLinkError("libjnicublas.so: libcublasLt.so.13: cannot open shared object file"))
                .getMessage().contains("cuBLAS 13"));
        assertTrue(CudaNatives.unavailable(new UnsatisfiedLinkError("libjnicudnn.so: libcudnn_cnn.so.9: cannot open shared object file"))
                .getMessage().contains("cuDNN 9"));
        ExceptionInInitializerError other = new ExceptionInInitializerError(new IllegalStateException("something\nelse"));
        String o = CudaNatives.unavailable(other).getMessage();
        assertEquals("CUDA backend unavailable: cannot load the CUDA libraries (something)", o);
        for (String m : List.of(noDriver, o)) assertFalse(m.contains("\n"), m);
    }

    @Test
    void aFailedDeviceQueryIsExplainedInOneLine() {
        assertEquals("no CUDA GPU found", CudaDevice.explainDeviceCount(100, 13000, NAMES));
        assertEquals("the NVIDIA driver is too old for CUDA 13 (it supports CUDA 12.4): install driver 580 or newer",
                CudaDevice.explainDeviceCount(35, 12040, NAMES));
        assertTrue(CudaDevice.explainDeviceCount(34, 0, NAMES).contains("stub"));
        assertTrue(CudaDevice.explainDeviceCount(999, 0, NAMES).contains("RUNTIME_999"));
        assertEquals("13.0", CudaDevice.cudaVersion(13000));
    }

    /**
     * A CUDA, cuBLAS or cuDNN failure while the device is being opened (exclusive-process GPU in
     * use, a cuDNN sub-library missing, no memory for the handles) means no usable GPU: one line,
     * BackendUnavailableException (exit 2, and --device auto falls back to the CPU), not an
     * internal error. Other exceptions (bugs) pass unchanged.
     */
    @Test
    void aCudaFailureWhileOpeningMeansNoUsableGpu() {
        RuntimeException busy = CudaStatus.error(CudaStatus.Api.DRIVER, 46, "cuDevicePrimaryCtxRetain", NAMES);
        RuntimeException e = CudaDevice.openFailure(0, busy);
        assertInstanceOf(BackendUnavailableException.class, e);
        assertEquals("CUDA backend unavailable: opening GPU 0 failed: cuDevicePrimaryCtxRetain failed: DRIVER_46 (46)",
                e.getMessage());
        assertEquals(busy, e.getCause());
        RuntimeException sublib = CudaStatus.error(CudaStatus.Api.CUDNN, 1008, "cudnnCreate", NAMES);
        assertTrue(CudaDevice.openFailure(1, sublib).getMessage().startsWith("CUDA backend unavailable: opening GPU 1 failed: cudnnCreate failed"));
        RuntimeException full = CudaStatus.error(CudaStatus.Api.CUBLAS, 3, "cublasCreate", NAMES);
        assertInstanceOf(DeviceOutOfMemoryException.class, full);
        assertInstanceOf(BackendUnavailableException.class, CudaDevice.openFailure(0, full));
        CudaException multiLine = new CudaException("first\nsecond", false);
        assertFalse(CudaDevice.openFailure(0, multiLine).getMessage().contains("\n"));
        BackendUnavailableException already = new BackendUnavailableException("CUDA", "x");
        assertEquals(already, CudaDevice.openFailure(0, already));
        IllegalStateException bug = new IllegalStateException("a bug");
        assertEquals(bug, CudaDevice.openFailure(0, bug), "not a CUDA status: unchanged");
    }

    /** Here (no GPU) opening the backend fails fast with one line; where a GPU is present it opens. */
    @Test
    void openingWithoutAGpuFailsFastWithOneLine() {
        long t0 = System.nanoTime();
        String reason = CudaBackend.unavailableReason();
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (reason == null) return; // a usable GPU: CudaGoldenTest and CudaOpsTest cover it
        assertTrue(reason.startsWith("CUDA backend unavailable: "), reason);
        assertFalse(reason.contains("\n"), reason);
        // the library's reason (also the GPU tests' skip reason) names no CLI option; the CLI adds its hint
        assertFalse(reason.contains("--device"), reason);
        assertTrue(seconds < 10, "took " + seconds + " s");
        // the second attempt gives the same reason (JavaCPP would now throw a bare NoClassDefFoundError)
        BackendUnavailableException again = assertThrows(BackendUnavailableException.class, () -> CudaBackend.open(0, Precision.FP32));
        assertEquals(reason, again.getMessage());
    }

    @Test
    void aBuildWithoutKernelsSaysSo() {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> Kernels.readImage("/g2m/cuda/no_such.fatbin"));
        assertTrue(e.getMessage().contains("CUDA kernels missing from this build"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    /** When nvcc was present at build time, the fatbin is a resource: a fat binary (magic 0xBA55ED50, little-endian). */
    @Test
    void theBuildPacksTheFatbinWhenNvccIsPresent() throws IOException {
        try (InputStream in = Kernels.class.getResourceAsStream(Kernels.FATBIN)) {
            org.junit.jupiter.api.Assumptions.assumeTrue(in != null, "built without nvcc: no " + Kernels.FATBIN);
        }
        byte[] b = Kernels.readImage(Kernels.FATBIN);
        assertTrue(b.length > 1000);
        assertArrayEquals(new byte[] {0x50, (byte) 0xED, 0x55, (byte) 0xBA}, java.util.Arrays.copyOf(b, 4), "fatbin magic");
    }

    @Test
    void launchArgumentsAreCheckedAgainstTheKernelsParameterList() {
        Kernels.checkArgs(KernelSpec.BIAS_ROWS, new Object[] {16L, 32L, 4, 8L});
        assertThrows(IllegalArgumentException.class, () -> Kernels.checkArgs(KernelSpec.BIAS_ROWS, new Object[] {16L, 32L, 4}));
        assertThrows(IllegalArgumentException.class, () -> Kernels.checkArgs(KernelSpec.BIAS_ROWS, new Object[] {16L, 32L, 4L, 8L}),
                "a long for an int parameter");
        assertThrows(IllegalArgumentException.class, () -> Kernels.checkArgs(KernelSpec.BIAS_ROWS, new Object[] {16L, 32L, 4, 8}),
                "an int for a 64-bit count");
        assertThrows(IllegalArgumentException.class, () -> Kernels.checkArgs(KernelSpec.BIAS_ROWS, new Object[] {0L, 32L, 4, 8L}),
                "a null device pointer");
        for (KernelSpec k : KernelSpec.values()) assertTrue(k.params.size() <= Kernels.MAX_PARAMS, k.symbol);
        assertEquals(1, Kernels.linearBlocks(1));
        assertEquals(1, Kernels.linearBlocks(256));
        assertEquals(2, Kernels.linearBlocks(257));
        assertEquals(Kernels.MAX_LINEAR_BLOCKS, Kernels.linearBlocks(Integer.MAX_VALUE), "capped; the kernels loop grid-stride");
        assertThrows(IllegalArgumentException.class, () -> Kernels.linearBlocks(0));
    }

    @Test
    void viewsAddressTheirElementsOfTheOwnersBlockAndDieWithIt() {
        // no GPU call: a block at a made-up address, never freed through the (absent) backend
        CudaArray.Block block = new CudaArray.Block(0x10000, 24 * Float.BYTES);
        CudaArray a = new CudaArray(null, block, 0, new int[] {2, 3, 4}, true);
        assertEquals(24, a.numel());
        assertEquals("CudaArray[2, 3, 4]", a.toString());
        CudaArray second = a.batch(1, 2);
        assertArrayEquals(new int[] {1, 3, 4}, second.shape());
        assertFalse(second.isOwner());
        assertEquals(0x10000 + 12 * Float.BYTES, second.address());
        CudaArray tail = a.reshape(24).batch(20, 24);
        assertEquals(0x10000 + 20 * Float.BYTES, tail.address());
        assertEquals(0x10000 + 22 * Float.BYTES, tail.address(2));
        assertArrayEquals(new int[] {2, 5}, a.view(2, 5).shape());
        assertThrows(IllegalArgumentException.class, () -> a.reshape(5, 5));
        assertThrows(IllegalArgumentException.class, () -> a.view(25));
        assertThrows(IllegalArgumentException.class, () -> a.batch(1, 3));
        assertThrows(IllegalArgumentException.class, () -> a.reshape(24, 0));
        block.release();
        assertTrue(second.isFreed());
        assertEquals("CudaArray[1, 3, 4] (view) (freed)", second.toString());
        assertThrows(IllegalStateException.class, () -> a.reshape(24));
        assertThrows(IllegalStateException.class, second::address);
    }

    static ConvAlgorithms.Perf perf(int algo, int status, long memory, int determinism, int math) {
        return new ConvAlgorithms.Perf(algo, status, 0.1f, memory, determinism, math);
    }

    @Test
    void fp32NeverTakesATensorOpAlgorithm() {
        List<ConvAlgorithms.Perf> c = List.of(
                perf(6, 0, 0, DETERMINISTIC, TENSOR_OP_MATH),      // fastest, TF32: not in fp32
                perf(7, 3000, 0, DETERMINISTIC, FMA_MATH),          // not supported
                perf(5, 0, 1L << 40, DETERMINISTIC, FMA_MATH),     // workspace too large
                perf(0, 0, 0, 0, FMA_MATH),                        // non-deterministic
                perf(1, 0, 4096, DETERMINISTIC, FMA_MATH));
        assertEquals(1, ConvAlgorithms.choose(c, Precision.FP32, 1L << 30).orElseThrow().algo());
        assertEquals(6, ConvAlgorithms.choose(c, Precision.TF32, 1L << 30).orElseThrow().algo());
        // an entry reported with "default" math qualifies in fp32, but the descriptor is set to FMA (no TF32)
        ConvAlgorithms.Perf dflt = perf(2, 0, 0, DETERMINISTIC, ConvAlgorithms.DEFAULT_MATH);
        assertEquals(2, ConvAlgorithms.choose(List.of(c.get(0), dflt), Precision.FP32, 1L << 30).orElseThrow().algo());
        assertEquals(FMA_MATH, ConvAlgorithms.mathTypeToSet(Precision.FP32, dflt));
        assertEquals(TENSOR_OP_MATH, ConvAlgorithms.mathTypeToSet(Precision.TF32, c.get(0)));
        assertEquals(FMA_MATH, ConvAlgorithms.requestedMathType(Precision.FP32));
        assertEquals(TENSOR_OP_MATH_ALLOW_CONVERSION, ConvAlgorithms.requestedMathType(Precision.FP16));
        assertFalse(ConvAlgorithms.mathAllowed(Precision.TF32, TENSOR_OP_MATH_ALLOW_CONVERSION), "TF32 does not allow fp16 conversion");
    }

    @Test
    void aNonDeterministicAlgorithmOnlyWhenNothingElseQualifies() {
        List<ConvAlgorithms.Perf> c = List.of(perf(0, 0, 0, 0, FMA_MATH), perf(2, 0, 0, 0, FMA_MATH), perf(1, 0, 999, DETERMINISTIC, FMA_MATH));
        assertEquals(0, ConvAlgorithms.choose(c, Precision.FP32, 100).orElseThrow().algo());
        assertEquals(1, ConvAlgorithms.choose(c, Precision.FP32, 1000).orElseThrow().algo());
        assertEquals(Optional.empty(), ConvAlgorithms.choose(List.of(perf(1, 9, 0, DETERMINISTIC, FMA_MATH)), Precision.FP32, 1000));
    }

    /** The names the GPU log prints for the chosen algorithms, tied to cuDNN's constants (compile-time, no native load). */
    @Test
    void algorithmAndMathNamesFollowCudnnsValues() {
        assertEquals("IMPLICIT_GEMM", ConvAlgorithms.algoName(true, org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM));
        assertEquals("FFT_TILING", ConvAlgorithms.algoName(true, org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING));
        assertEquals("WINOGRAD_NONFUSED", ConvAlgorithms.algoName(true, org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED));
        assertEquals("algo 8", ConvAlgorithms.algoName(true, org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_COUNT));
        assertEquals("ALGO_1", ConvAlgorithms.algoName(false, org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_1));
        assertEquals("WINOGRAD_NONFUSED", ConvAlgorithms.algoName(false, org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED));
        assertEquals("algo 6", ConvAlgorithms.algoName(false, org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT));
        assertEquals("FMA", ConvAlgorithms.mathName(org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH));
        assertEquals("TENSOR_OP_ALLOW_CONVERSION", ConvAlgorithms.mathName(org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION));
        assertEquals("math type 7", ConvAlgorithms.mathName(7));
    }

    static final class Plan implements AutoCloseable {
        final String key;
        final List<String> closed;

        Plan(String key, List<String> closed) {
            this.key = key;
            this.closed = closed;
        }

        @Override
        public void close() {
            closed.add(key);
        }
    }

    @Test
    void plansAreMadeOncePerKeyEvictedLeastRecentlyUsedAndAllClosed() {
        List<String> closed = new ArrayList<>();
        AtomicInteger made = new AtomicInteger();
        PlanCache<ConvPlans.ConvKey, Plan> cache = new PlanCache<>(2);
        ConvPlans.ConvKey a = new ConvPlans.ConvKey(true, 1, 3, 224, 224, 64);
        ConvPlans.ConvKey aAgain = new ConvPlans.ConvKey(true, 1, 3, 224, 224, 64);
        ConvPlans.ConvKey b = new ConvPlans.ConvKey(false, 1, 3, 224, 224, 64);  // backward-data: another plan
        ConvPlans.ConvKey c = new ConvPlans.ConvKey(true, 2, 3, 224, 224, 64);   // another batch: another plan
        java.util.function.Function<ConvPlans.ConvKey, Plan> f = k -> {
            made.incrementAndGet();
            return new Plan(k.toString(), closed);
        };
        Plan pa = cache.get(a, f);
        assertEquals(pa, cache.get(aAgain, f), "equal keys share the plan");
        cache.get(b, f);
        assertEquals(2, made.get());
        cache.get(a, f);        // a is now the most recently used
        cache.get(c, f);        // evicts b
        assertEquals(List.of(b.toString()), closed);
        List<ConvPlans.ConvKey> visited = new ArrayList<>();
        cache.forEach((k, v) -> visited.add(k));
        assertEquals(List.of(a, c), visited, "least recently used first");
        assertEquals(3, cache.created());
        assertEquals(2, cache.size());
        assertThrows(IllegalStateException.class, () -> cache.get(new ConvPlans.ConvKey(true, 9, 9, 9, 9, 9), k -> {
            throw new IllegalStateException("cudnn failed");
        }));
        assertEquals(2, cache.size(), "a failed factory caches nothing");
        cache.close();
        assertEquals(3, closed.size());
        assertEquals(0, cache.size());
    }

    @Test
    void closingTheCacheClosesEveryEntryEvenIfOneFails() {
        PlanCache<Integer, AutoCloseable> cache = new PlanCache<>(8);
        List<Integer> closed = new ArrayList<>();
        cache.get(1, k -> () -> {
            throw new IllegalStateException("destroy failed");
        });
        cache.get(2, k -> () -> closed.add(2));
        assertThrows(IllegalStateException.class, cache::close);
        assertEquals(List.of(2), closed);
    }

    @Test
    void precisionsParseAndCarryTheirTolerance() {
        assertEquals(Precision.TF32, Precision.parse(" TF32 "));
        assertEquals(1e-4, Precision.FP32.tolerance);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp8"));
        assertTrue(e.getMessage().contains("valid: fp32, tf32, fp16, bf16"), e.getMessage());
    }
}
