package g2m.backend;

import g2m.backend.cpu.ConvPath;
import g2m.backend.cpu.CpuBackend;
import g2m.backend.cuda.CudaBackend;

import java.util.Locale;

/** Picks a backend by name: cpu, cuda, or auto (CUDA when a usable GPU is present, else CPU). */
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
        return switch (normalize(device)) {
            case "cpu" -> new CpuBackend(threads, precision, ConvPath.AUTO, null);
            case "cuda" -> CudaBackend.open(0, precision);
            default -> {
                try {
                    yield CudaBackend.open(0, precision);
                } catch (BackendUnavailableException e) {
                    // auto: the reason goes into the CPU backend's description (summaries, bench output)
                    String why = e.getMessage().startsWith("CUDA backend unavailable: ")
                            ? e.getMessage().substring("CUDA backend unavailable: ".length()) : e.getMessage();
                    String note = "auto: no usable CUDA GPU (" + why.replace(" (or use --device cpu)", "") + ")";
                    if (!Precision.onCpu(precision)) {
                        yield new CpuBackend(threads, Precision.FP32, ConvPath.AUTO,
                                note + "; --precision " + precision.id + " ignored, the CPU computes in fp32 or bf16");
                    }
                    yield new CpuBackend(threads, precision, ConvPath.AUTO, note);
                }
            }
        };
    }
}
