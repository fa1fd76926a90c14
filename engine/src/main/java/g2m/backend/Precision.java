package g2m.backend;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The arithmetic a backend may use for its matrix products (convolutions and fully connected
 * layers). Storage stays float32 and accumulation float32 in every mode; the fast modes let the
 * GPU libraries round the products' inputs (TF32: 10-bit mantissa; FP16: 10-bit, smaller range;
 * BF16: 7-bit) and use tensor cores. The CPU backend has FP32 and BF16 (there: convolutions and
 * fully connected products with bf16 inputs and float32 accumulation, by oneDNN on AVX-512 bf16).
 *
 * <p>{@link #tolerance} is the relative error ‖out − ref‖/‖ref‖ the golden tests allow for a
 * mode. FP32's 1e-4 is the project's parity bound. The fast modes' bounds are provisional: they
 * have not yet been measured on a GPU (see benchmarks/GPU.md).
 */
public enum Precision {
    FP32("fp32", 1e-4, "float32 throughout, no TF32 or half-precision math (the default; parity with the CPU and the goldens)"),
    TF32("tf32", 2e-2, "TF32 tensor-core products (10-bit mantissa inputs), float32 accumulation"),
    FP16("fp16", 2e-2, "products with inputs rounded to float16, float32 accumulation"),
    BF16("bf16", 5e-2, "products with inputs rounded to bfloat16, float32 accumulation (on CUDA the convolutions as tf32: cuDNN's legacy API has no bf16 down-conversion)");

    /** The name on the command line. */
    public final String id;
    /** Relative error the golden tests allow in this mode. */
    public final double tolerance;
    public final String meaning;

    Precision(String id, double tolerance, String meaning) {
        this.id = id;
        this.tolerance = tolerance;
        this.meaning = meaning;
    }

    /** Whether the CPU backend has this mode (fp32, bf16). */
    public static boolean onCpu(Precision p) {
        return p == FP32 || p == BF16;
    }

    public static Precision parse(String s) {
        String k = s == null ? "fp32" : s.trim().toLowerCase(Locale.ROOT);
        for (Precision p : values()) {
            if (p.id.equals(k)) return p;
        }
        throw new IllegalArgumentException("unknown precision '" + s + "' (valid: " + validNames() + ")");
    }

    public static String validNames() {
        return Arrays.stream(values()).map(p -> p.id).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return id;
    }
}
