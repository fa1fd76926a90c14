package g2m.backend;

import g2m.backend.cpu.ConvPath;
import g2m.backend.cpu.CpuBackend;
import g2m.backend.cuda.CudaBackend;
import g2m.backend.cuda.GpuValidation;

import java.util.Locale;

/**
 * Picks a backend by name: cpu, cuda, or auto. Auto is the CPU while the CUDA backend has not been
 * validated on a GPU ({@link GpuValidation}); once it has, auto is CUDA where a usable GPU is
 * present, else the CPU. Either way the CPU backend's description says why auto chose it.
 */
public final class Backends {
    private Backends() {}

    /** cpu, cuda or auto, from a user's spelling; anything else is an error naming the valid ones. */
    public static String normalize(String device) {
        String d = device == null ? "auto" : device.trim().toLowerCase(Locale.ROOT);
        return switch (d) {
            case "cpu", "auto" -> d;
            case "cuda", "gpu" -> "cuda";
            default -> throw new IllegalArgumentException("unknown device '" + device + "' (valid: cpu, cuda, auto)");
        };
    }

    /** {@link #open(String, int, Precision)} in fp32. */
    public static Backend open(String device, int threads) {
        return open(device, threads, Precision.FP32);
    }

    /**
     * @param threads   CPU threads (0 = all cores), for the CPU backend
     * @param precision the products' arithmetic; the CPU backend has fp32 and bf16 (tf32 and fp16 are GPU modes)
     * @throws BackendUnavailableException (one line) for cuda without a usable GPU, or bf16 on a CPU without AVX-512 bf16
     * @throws IllegalArgumentException    for tf32 or fp16 on the CPU
     */
    public static Backend open(String device, int threads, Precision precision) {
        return open(device, threads, precision, GpuValidation.validated(), GpuValidation.gpuVisible());
    }

    /** As above, with the validation record and the GPU probe given (tests: both states of the record). */
    static Backend open(String device, int threads, Precision precision, boolean cudaValidated, boolean gpuVisible) {
        return switch (normalize(device)) {
            case "cpu" -> new CpuBackend(threads, precision, ConvPath.AUTO, null);
            case "cuda" -> CudaBackend.open(0, precision);
            default -> {
                if (!cudaValidated) yield cpuForAuto(threads, unvalidated(gpuVisible), precision);
                try {
                    yield CudaBackend.open(0, precision);
                } catch (BackendUnavailableException e) {
                    yield cpuForAuto(threads, fallback(e), precision);
                }
            }
        };
    }

    /** Why auto chose the CPU once the CUDA backend is validated: the GPU's reason, as the exception carries it. */
    static String fallback(BackendUnavailableException cudaUnavailable) {
        return "no usable CUDA GPU (" + cudaUnavailable.reason() + ")";
    }

    /** Why auto chose the CPU while the CUDA backend is unvalidated; "--device cuda" is offered only where a GPU is visible. */
    static String unvalidated(boolean gpuVisible) {
        return "the CPU, since the CUDA backend has not been validated on a GPU yet"
                + (gpuVisible ? " (an NVIDIA GPU is present: --device cuda runs on it, unvalidated)" : "");
    }

    /**
     * The CPU backend auto falls back to, its note saying why (summaries, bench output, the main
     * job's last line); a precision the CPU has (fp32, bf16) is kept, a GPU-only one ignored.
     */
    private static CpuBackend cpuForAuto(int threads, String why, Precision precision) {
        if (Precision.onCpu(precision)) return new CpuBackend(threads, precision, ConvPath.AUTO, "auto: " + why);
        return new CpuBackend(threads, Precision.FP32, ConvPath.AUTO,
                "auto: " + why + "; --precision " + precision.id + " ignored, the CPU computes in fp32 or bf16");
    }
}
