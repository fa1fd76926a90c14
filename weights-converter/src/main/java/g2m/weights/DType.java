package g2m.weights;

import java.util.Locale;

/** Element types the engine reads. Names are safetensors' dtype strings. */
public enum DType {
    F32(4), F16(2), BF16(2), F64(8);

    public final int size;

    DType(int size) {
        this.size = size;
    }

    /** Parses a safetensors dtype string; anything else is an error naming the valid ones. */
    public static DType parse(String s) {
        for (DType d : values()) {
            if (d.name().equals(s)) return d;
        }
        throw new WeightsException("unsupported tensor dtype '" + s + "' (supported: F32, F16, BF16, F64)");
    }

    public String lower() {
        return name().toLowerCase(Locale.ROOT);
    }
}
