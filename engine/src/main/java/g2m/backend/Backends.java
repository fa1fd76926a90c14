package g2m.backend;

import g2m.backend.cpu.CpuBackend;

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

    public static Backend open(String device, int threads) {
        return switch (normalize(device)) {
            case "cuda" -> throw new BackendUnavailableException("the CUDA backend is not part of this build yet; use --device cpu");
            default -> new CpuBackend(threads); // auto: CPU until the CUDA backend lands
        };
    }
}
