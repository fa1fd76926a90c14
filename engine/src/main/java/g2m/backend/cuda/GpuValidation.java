package g2m.backend.cuda;

import java.io.File;

/**
 * Whether the CUDA backend has been validated on a GPU — the one recorded fact {@code --device
 * auto} goes by. Until the GPU test suites ({@code CudaGoldenTest}, {@code CudaOpsTest}) have
 * passed on a real GPU, {@code auto} uses the CPU, so nobody's first run puts numbers from an
 * unverified backend into a table; {@code --device cuda} still runs it for whoever asks.
 *
 * <p>Setting {@link #VALIDATED_ON} is part of the GPU validation work (benchmarks/GPU.md), not a
 * user switch: once the suites pass, that session records here what they passed on, and
 * {@code auto} takes the GPU where one works.
 */
public final class GpuValidation {
    /**
     * What the GPU suites passed on, in one line: GPU, driver, CUDA and cuDNN versions, date and
     * commit (e.g. "NVIDIA H200, driver 580.65, CUDA 13.0, cuDNN 9.10, 2026-12-01, commit
     * abc1234"). Empty: not validated yet.
     */
    public static final String VALIDATED_ON = "";

    private GpuValidation() {}

    /** Whether {@link #VALIDATED_ON} records a validation. */
    public static boolean validated() {
        return !VALIDATED_ON.isBlank();
    }

    /**
     * Whether an NVIDIA GPU is visible to this machine, without loading any CUDA library: the
     * driver's kernel module lists its GPUs in /proc/driver/nvidia/gpus, and device nodes
     * /dev/nvidia0… exist (containers given a GPU see both). Says nothing about CUDA 13 or cuDNN
     * being installed; only opening the backend tells that.
     */
    public static boolean gpuVisible() {
        return gpuVisible(new File("/proc/driver/nvidia/gpus"), new File("/dev"));
    }

    static boolean gpuVisible(File procGpus, File dev) {
        String[] gpus = procGpus.list();
        if (gpus != null && gpus.length > 0) return true;
        String[] nodes = dev.list((d, n) -> n.matches("nvidia[0-9]+"));
        return nodes != null && nodes.length > 0;
    }
}
