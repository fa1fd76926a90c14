package g2m.net;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The 18 places where maps can be taken, in network order. A conv tap is that convolution's
 * output after its ReLU; a pool tap is the max-pool output (pool5 is before the adaptive pool).
 */
public enum Tap {
    CONV1_1, CONV1_2, POOL1,
    CONV2_1, CONV2_2, POOL2,
    CONV3_1, CONV3_2, CONV3_3, POOL3,
    CONV4_1, CONV4_2, CONV4_3, POOL4,
    CONV5_1, CONV5_2, CONV5_3, POOL5;

    /** conv1_1 … pool5, as users and files name it. */
    public final String id = name().toLowerCase(Locale.ROOT);

    public boolean isPool() {
        return name().startsWith("POOL");
    }

    /** Index of the convolution (0..12) for a conv tap. */
    public int convIndex() {
        if (isPool()) throw new IllegalStateException(id + " is a pool tap");
        int k = 0;
        for (Tap t : values()) {
            if (t == this) return k;
            if (!t.isPool()) k++;
        }
        throw new AssertionError();
    }

    /** How many 2x2 pools lie below (and including) this tap: its stride is 2^poolsBelow. */
    public int poolsUpTo() {
        int n = 0;
        for (Tap t : values()) {
            if (t.isPool()) n++;
            if (t == this) return n;
        }
        throw new AssertionError();
    }

    public static Tap parse(String s) {
        String k = s.trim().toLowerCase(Locale.ROOT);
        for (Tap t : values()) if (t.id.equals(k)) return t;
        throw new IllegalArgumentException("unknown layer '" + s + "' (valid: " + validNames() + ")");
    }

    /** Parses "conv5_1,pool4" keeping order without duplicates. */
    public static List<Tap> parseList(String csv) {
        List<Tap> out = new java.util.ArrayList<>();
        for (String p : csv.split(",")) {
            if (p.isBlank()) continue;
            Tap t = parse(p);
            if (!out.contains(t)) out.add(t);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("no layer given (valid: " + validNames() + ")");
        return out;
    }

    public static String validNames() {
        return Arrays.stream(values()).map(t -> t.id).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return id;
    }
}
