package g2m.backend.cpu;

import java.util.Locale;

/**
 * Which code computes the CPU backend's 3x3 convolutions (forward and backward to the input).
 * {@link #AUTO} (the default) picks per shape what measured fastest on this kind of CPU (oneDNN,
 * Winograd or im2col + OpenBLAS: {@code CpuBackend.route}); the others force one path, for
 * benchmarks and comparisons ({@link #WINOGRAD}: {@link Winograd43}).
 */
public enum ConvPath {
    AUTO, IM2COL, ONEDNN, WINOGRAD;

    public static ConvPath parse(String s) {
        String k = s == null ? "auto" : s.trim().toLowerCase(Locale.ROOT);
        for (ConvPath p : values()) if (p.name().toLowerCase(Locale.ROOT).equals(k)) return p;
        throw new IllegalArgumentException("unknown convolution path '" + s + "' (valid: auto, im2col, onednn, winograd)");
    }
}
