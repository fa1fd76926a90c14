package g2m.backend;

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
     * @param precision the CUDA backend's arithmetic; the CPU backend computes in fp32 only
     * @throws BackendUnavailableException (one line) for cuda without a usable GPU
     * @throws IllegalArgumentException    for a fast precision on the CPU
     */
    public static Backend open(String device, int threads, Precision precision) {
        return open(device, threads, precision, GpuValidation.validated(), GpuValidation.gpuVisible());
    }

    /** As above, with the validation record and the GPU probe given (tests: both states of the record). */
    static Backend open(String device, int threads, Precision precision, boolean cudaValidated, boolean gpuVisible) {
        return switch (normalize(device)) {
            case "cpu" -> {
                if (precision != Precision.FP32) {
                    throw new IllegalArgumentException("--precision " + precision.id + " needs the CUDA backend; the CPU backend computes in fp32 only");
                }
                yield new CpuBackend(threads);
            }
            case "cuda" -> CudaBackend.open(0, precision);
            default -> {
                if (!cudaValidated) yield new CpuBackend(threads, autoNote(unvalidated(gpuVisible), precision));
                try {
                    yield CudaBackend.open(0, precision);
                } catch (BackendUnavailableException e) {
                    String why = e.getMessage().startsWith("CUDA backend unavailable: ")
                            ? e.getMessage().substring("CUDA backend unavailable: ".length()) : e.getMessage();
                    yield new CpuBackend(threads, autoNote("no usable CUDA GPU (" + why + ")", precision));
                }
            }
        };
    }

    /** Why auto chose the CPU while the CUDA backend is unvalidated; "--device cuda" is offered only where a GPU is visible. */
    static String unvalidated(boolean gpuVisible) {
        return "the CPU, since the CUDA backend has not been validated on a GPU yet"
                + (gpuVisible ? " (an NVIDIA GPU is present: --device cuda runs on it, unvalidated)" : "");
    }

    /** The CPU backend's note for auto (summaries, bench output, the main job's last line). */
    private static String autoNote(String why, Precision precision) {
        return "auto: " + why + (precision != Precision.FP32 ? "; --precision " + precision.id + " ignored, the CPU computes in fp32" : "");
    }
}
