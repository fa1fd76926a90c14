package g2m.backend;

import java.util.Arrays;

/**
 * The argument checks of {@link Backend}'s operations, shared by the backends so that they
 * refuse the same calls with the same one-line messages. Each backend first resolves its
 * arguments to its own arrays (its ownership and closed checks), then calls these.
 */
public final class ArgumentChecks {
    private ArgumentChecks() {}

    /**
     * A new array's shape: not empty, positive dimensions, at most {@code maxElements} elements
     * ({@code backend}'s limit per array, e.g. "CPU").
     */
    public static void checkShape(String op, int[] shape, long maxElements, String backend) {
        if (shape == null || shape.length == 0) throw new IllegalArgumentException(op + ": empty shape");
        long n = 1;
        for (int d : shape) {
            if (d <= 0) throw new IllegalArgumentException(op + ": dimensions must be positive, got " + Arrays.toString(shape));
            n *= d;
            if (n > maxElements) {
                throw new IllegalArgumentException(op + ": shape " + Arrays.toString(shape) + " has more than " + maxElements
                        + " elements, the " + backend + " backend's limit per array");
            }
        }
    }

    public static void rank(String op, String name, AbstractDeviceArray<?> a, int rank) {
        if (a.rank() != rank) {
            throw new IllegalArgumentException(op + ": " + name + " must have rank " + rank + ", got " + DeviceArray.describe(a.shape()));
        }
    }

    public static void expect(String op, String name, AbstractDeviceArray<?> a, int... shape) {
        if (!Arrays.equals(a.shape(), shape)) {
            throw new IllegalArgumentException(op + ": " + name + " must be " + Arrays.toString(shape) + ", got "
                    + DeviceArray.describe(a.shape()));
        }
    }

    public static <A extends AbstractDeviceArray<A>> void noOverlap(String op, String outName, A out, String inName, A in) {
        if (out.overlaps(in)) throw new IllegalArgumentException(op + ": " + outName + " overlaps " + inName);
    }

    /** out may be exactly in (in place) but must not partly overlap it. */
    public static <A extends AbstractDeviceArray<A>> void inPlaceOrDisjoint(String op, String outName, A out, String inName, A in) {
        if (out.overlaps(in) && !out.sameElements(in)) {
            throw new IllegalArgumentException(op + ": " + outName + " partly overlaps " + inName + " (only exact in-place use is allowed)");
        }
    }

    /** The stacked batch of a backward call: a positive multiple of the forward batch n. */
    public static void stacked(String op, String name, AbstractDeviceArray<?> a, int n, String fwdName) {
        if (a.dim(0) % n != 0) {
            throw new IllegalArgumentException(op + ": batch of " + name + " " + DeviceArray.describe(a.shape())
                    + " is not a multiple of the batch " + n + " of " + fwdName);
        }
    }
}
