package g2m.backend;

import g2m.maps.MapMethod;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The argument checks of {@link Backend}'s operations, shared by the backends so that they
 * refuse the same calls with the same one-line messages (and the CPU backend's tests cover the
 * GPU's checks too). {@link CheckedBackend} resolves each operation's arguments to the backend's
 * own arrays (ownership and closed checks), calls the check named after the operation, then
 * the backend's work.
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

    /**
     * The shape {@link Backend#upload} gives {@code host}: {@code shape}, or [host.length] when none
     * is given; checked as {@link #checkShape} does, and {@code host} must fill it exactly.
     */
    public static int[] uploadShape(float[] host, int[] shape, long maxElements, String backend) {
        if (host == null) throw new IllegalArgumentException("upload: host array is null");
        int[] s = shape == null || shape.length == 0 ? new int[] {host.length} : shape;
        checkShape("upload", s, maxElements, backend);
        if (AbstractDeviceArray.count(s) != host.length) {
            throw new IllegalArgumentException("upload: " + host.length + " values do not fill shape " + Arrays.toString(s));
        }
        return s;
    }

    public static void copyFromHost(float[] src, AbstractDeviceArray<?> dst) {
        if (src == null) throw new IllegalArgumentException("copyFromHost: src is null");
        if (src.length != dst.numel()) {
            throw new IllegalArgumentException("copyFromHost: " + src.length + " values for dst " + DeviceArray.describe(dst.shape())
                    + " (" + dst.numel() + " elements)");
        }
    }

    private static void rank(String op, String name, AbstractDeviceArray<?> a, int rank) {
        if (a.rank() != rank) {
            throw new IllegalArgumentException(op + ": " + name + " must have rank " + rank + ", got " + DeviceArray.describe(a.shape()));
        }
    }

    private static void expect(String op, String name, AbstractDeviceArray<?> a, int... shape) {
        if (!Arrays.equals(a.shape(), shape)) {
            throw new IllegalArgumentException(op + ": " + name + " must be " + Arrays.toString(shape) + ", got "
                    + DeviceArray.describe(a.shape()));
        }
    }

    private static void sameShape(String op, String name, AbstractDeviceArray<?> a, String refName, AbstractDeviceArray<?> ref) {
        if (!Arrays.equals(a.shape(), ref.shape())) {
            throw new IllegalArgumentException(op + ": " + name + " " + DeviceArray.describe(a.shape()) + " must have the shape of "
                    + refName + " " + DeviceArray.describe(ref.shape()));
        }
    }

    private static <A extends AbstractDeviceArray<A>> void noOverlap(String op, String outName, A out, String inName, A in) {
        if (out.overlaps(in)) throw new IllegalArgumentException(op + ": " + outName + " overlaps " + inName);
    }

    /** out may be exactly in (in place) but must not partly overlap it. */
    private static <A extends AbstractDeviceArray<A>> void inPlaceOrDisjoint(String op, String outName, A out, String inName, A in) {
        if (out.overlaps(in) && !out.sameElements(in)) {
            throw new IllegalArgumentException(op + ": " + outName + " partly overlaps " + inName + " (only exact in-place use is allowed)");
        }
    }

    /** The stacked batch of a backward call: a positive multiple of the forward batch n. */
    private static void stacked(String op, String name, AbstractDeviceArray<?> a, int n, String fwdName) {
        if (a.dim(0) % n != 0) {
            throw new IllegalArgumentException(op + ": batch of " + name + " " + DeviceArray.describe(a.shape())
                    + " is not a multiple of the batch " + n + " of " + fwdName);
        }
    }

    // ---------------------------------------------------------------- per operation

    public static <A extends AbstractDeviceArray<A>> void conv3x3Forward(String op, A x, A w, A b, A y) {
        rank(op, "x", x, 4);
        rank(op, "w", w, 4);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), k = w.dim(0);
        if (w.dim(1) != c || w.dim(2) != 3 || w.dim(3) != 3) {
            throw new IllegalArgumentException(op + ": w must be [K, " + c + ", 3, 3] for x " + DeviceArray.describe(x.shape())
                    + ", got " + DeviceArray.describe(w.shape()));
        }
        expect(op, "b", b, k);
        expect(op, "y", y, n, k, h, wd);
        noOverlap(op, "y", y, "x", x);
        noOverlap(op, "y", y, "w", w);
        noOverlap(op, "y", y, "b", b);
    }

    public static <A extends AbstractDeviceArray<A>> void conv3x3BackwardData(String op, A dy, A w, A dx) {
        rank(op, "dy", dy, 4);
        rank(op, "w", w, 4);
        rank(op, "dx", dx, 4);
        int m = dy.dim(0), k = dy.dim(1), h = dy.dim(2), wd = dy.dim(3), c = w.dim(1);
        if (w.dim(0) != k || w.dim(2) != 3 || w.dim(3) != 3) {
            throw new IllegalArgumentException(op + ": w must be [" + k + ", C, 3, 3] for dy " + DeviceArray.describe(dy.shape())
                    + ", got " + DeviceArray.describe(w.shape()));
        }
        expect(op, "dx", dx, m, c, h, wd);
        noOverlap(op, "dx", dx, "dy", dy);
        noOverlap(op, "dx", dx, "w", w);
    }

    public static <A extends AbstractDeviceArray<A>> void reluForward(String op, A x, A y) {
        sameShape(op, "y", y, "x", x);
        inPlaceOrDisjoint(op, "y", y, "x", x);
    }

    public static <A extends AbstractDeviceArray<A>> void reluBackward(String op, A y, A dy, A dx) {
        int n = y.dim(0);
        if (dy.rank() != y.rank() || !Arrays.equals(tail(dy.shape()), tail(y.shape()))) {
            throw new IllegalArgumentException(op + ": dy " + DeviceArray.describe(dy.shape()) + " must be y "
                    + DeviceArray.describe(y.shape()) + " with a stacked batch");
        }
        stacked(op, "dy", dy, n, "y");
        sameShape(op, "dx", dx, "dy", dy);
        inPlaceOrDisjoint(op, "dx", dx, "dy", dy);
        noOverlap(op, "dx", dx, "y", y);
    }

    private static int[] tail(int[] s) {
        return Arrays.copyOfRange(s, 1, s.length);
    }

    public static <A extends AbstractDeviceArray<A>> void maxPool2x2Forward(String op, A x, A y) {
        rank(op, "x", x, 4);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = h / 2, ow = w / 2;
        if (oh == 0 || ow == 0) throw new IllegalArgumentException(op + ": x " + DeviceArray.describe(x.shape()) + " is smaller than 2x2");
        expect(op, "y", y, n, c, oh, ow);
        noOverlap(op, "y", y, "x", x);
    }

    public static <A extends AbstractDeviceArray<A>> void maxPool2x2Backward(String op, A x, A dy, A dx) {
        rank(op, "x", x, 4);
        rank(op, "dy", dy, 4);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = h / 2, ow = w / 2, m = dy.dim(0);
        if (dy.dim(1) != c || dy.dim(2) != oh || dy.dim(3) != ow) {
            throw new IllegalArgumentException(op + ": dy " + DeviceArray.describe(dy.shape()) + " must be [M, " + c + ", "
                    + oh + ", " + ow + "] for x " + DeviceArray.describe(x.shape()));
        }
        stacked(op, "dy", dy, n, "x");
        expect(op, "dx", dx, m, c, h, w);
        noOverlap(op, "dx", dx, "x", x);
        noOverlap(op, "dx", dx, "dy", dy);
    }

    /** y's spatial size is the pool's output size. */
    public static <A extends AbstractDeviceArray<A>> void adaptiveAvgPoolForward(String op, A x, A y) {
        rank(op, "x", x, 4);
        rank(op, "y", y, 4);
        expect(op, "y", y, x.dim(0), x.dim(1), y.dim(2), y.dim(3));
        noOverlap(op, "y", y, "x", x);
    }

    public static <A extends AbstractDeviceArray<A>> void adaptiveAvgPoolBackward(String op, A dy, A dx) {
        rank(op, "dy", dy, 4);
        rank(op, "dx", dx, 4);
        int m = dy.dim(0), c = dy.dim(1);
        if (dx.dim(0) != m || dx.dim(1) != c) {
            throw new IllegalArgumentException(op + ": dx " + DeviceArray.describe(dx.shape()) + " must be [" + m + ", " + c
                    + ", H, W] for dy " + DeviceArray.describe(dy.shape()));
        }
        noOverlap(op, "dx", dx, "dy", dy);
    }

    /** y is [M, C, H, W] for x [M, C, h, w]. */
    public static <A extends AbstractDeviceArray<A>> void upsampleBilinearAlignCorners(String op, A x, A y) {
        rank(op, "x", x, 4);
        rank(op, "y", y, 4);
        expect(op, "y", y, x.dim(0), x.dim(1), y.dim(2), y.dim(3));
        noOverlap(op, "y", y, "x", x);
    }

    public static <A extends AbstractDeviceArray<A>> void fcForward(String op, A x, A w, A b, A y) {
        rank(op, "w", w, 2);
        int n = x.dim(0), mOut = w.dim(0), k = w.dim(1);
        if (x.numel() / n != k) {
            throw new IllegalArgumentException(op + ": x " + DeviceArray.describe(x.shape()) + " has " + (x.numel() / n)
                    + " features per item, w " + DeviceArray.describe(w.shape()) + " wants " + k);
        }
        expect(op, "b", b, mOut);
        if (y.dim(0) != n || y.numel() != (long) n * mOut) {
            throw new IllegalArgumentException(op + ": y must be [" + n + ", " + mOut + "], got " + DeviceArray.describe(y.shape()));
        }
        noOverlap(op, "y", y, "x", x);
        noOverlap(op, "y", y, "w", w);
        noOverlap(op, "y", y, "b", b);
    }

    public static <A extends AbstractDeviceArray<A>> void fcBackwardData(String op, A dy, A w, A dx) {
        rank(op, "w", w, 2);
        int n = dy.dim(0), mOut = w.dim(0), k = w.dim(1);
        if (dy.numel() != (long) n * mOut) {
            throw new IllegalArgumentException(op + ": dy must be [N, " + mOut + "] for w " + DeviceArray.describe(w.shape())
                    + ", got " + DeviceArray.describe(dy.shape()));
        }
        if (dx.dim(0) != n || dx.numel() != (long) n * k) {
            throw new IllegalArgumentException(op + ": dx must hold [" + n + ", " + k + "], got " + DeviceArray.describe(dx.shape()));
        }
        noOverlap(op, "dx", dx, "dy", dy);
        noOverlap(op, "dx", dx, "w", w);
    }

    public static <A extends AbstractDeviceArray<A>> void softmax(String op, A z, A p) {
        sameShape(op, "probs", p, "logits", z);
        inPlaceOrDisjoint(op, "probs", p, "logits", z);
    }

    public static <A extends AbstractDeviceArray<A>> void backwardSeeds(String op, A z, int[] classes, A s) {
        int n = z.dim(0), m = (int) (z.numel() / n);
        if (classes == null || classes.length != n) {
            throw new IllegalArgumentException(op + ": need one class per logits row (" + n + "), got "
                    + (classes == null ? "null" : classes.length));
        }
        for (int cls : classes) {
            if (cls < 0 || cls >= m) throw new IllegalArgumentException(op + ": class " + cls + " is outside 0.." + (m - 1));
        }
        if (s.dim(0) != 2 * n || s.numel() != 2L * n * m) {
            throw new IllegalArgumentException(op + ": seeds must be [" + 2 * n + ", " + m + "] for logits "
                    + DeviceArray.describe(z.shape()) + ", got " + DeviceArray.describe(s.shape()));
        }
        noOverlap(op, "seeds", s, "logits", z);
    }

    /** The methods of {@link Backend#maps}, checked before g2 (which only some methods need). */
    public static void mapMethods(String op, List<MapMethod> methods) {
        if (methods == null || methods.isEmpty() || methods.stream().anyMatch(Objects::isNull)) {
            throw new IllegalArgumentException(op + ": methods must be a non-empty list without nulls, got " + methods);
        }
    }

    /** {@link Backend#maps} for {@code k} methods; g2 null when none needs it. */
    public static <A extends AbstractDeviceArray<A>> void maps(String op, A a, A g1, A g2, int k, A out) {
        rank(op, "a", a, 4);
        int n = a.dim(0), c = a.dim(1), h = a.dim(2), w = a.dim(3);
        expect(op, "g1", g1, n, c, h, w);
        if (g2 != null) expect(op, "g2", g2, n, c, h, w);
        expect(op, "out", out, n, k, h, w);
        noOverlap(op, "out", out, "a", a);
        noOverlap(op, "out", out, "g1", g1);
        if (g2 != null) noOverlap(op, "out", out, "g2", g2);
    }
}
