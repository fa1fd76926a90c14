package g2m.backend;

import java.util.Arrays;

/**
 * The shape and view bookkeeping the backends' arrays share: a shape over {@link #numel()}
 * floats at {@link #offset} in a block of memory the backend owns, whether this array owns the
 * block (views made by {@link #reshape}, {@link #view} and {@link #batch} share it), and the
 * overlap tests behind {@link ArgumentChecks}. A subclass holds the block and says how to check
 * a shape against its backend's limits, how to tell a freed block, and how to make a view.
 *
 * @param <A> the subclass (so that views and overlap tests keep the backend's own type)
 */
public abstract class AbstractDeviceArray<A extends AbstractDeviceArray<A>> implements DeviceArray {
    /** First element, in floats from the start of the block. */
    protected final long offset;
    private final long numel;
    private final int[] shape;
    private final boolean owner;

    protected AbstractDeviceArray(long offset, int[] shape, boolean owner) {
        this.offset = offset;
        this.shape = shape.clone();
        this.numel = count(shape);
        this.owner = owner;
    }

    /** The element count of a shape (the caller has checked the dimensions). */
    public static long count(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** The backend that made this array (its operations take only their own arrays). */
    protected abstract Backend backend();

    /** The backend's checks of a new shape (positive dimensions, its size limit per array). */
    protected abstract void checkShape(String op, int[] shape);

    /** Throws IllegalStateException once the block has been freed. */
    protected abstract void requireLive();

    /** A view (not the owner) of this array's block: {@code shape} at {@code offset}. */
    protected abstract A newView(long offset, int[] shape);

    /** Whether {@code o} lives in the same block. */
    protected abstract boolean sameBlock(A o);

    /** True once its memory has been freed (by closing the owner or the backend). */
    public abstract boolean isFreed();

    @Override
    public final int[] shape() {
        return shape.clone();
    }

    /** Dimension {@code i} without copying the shape. */
    public final int dim(int i) {
        return shape[i];
    }

    public final int rank() {
        return shape.length;
    }

    @Override
    public final long numel() {
        return numel;
    }

    /** True for the array that owns (and on close frees) its memory; false for views. */
    public final boolean isOwner() {
        return owner;
    }

    @Override
    public final A reshape(int... newShape) {
        checkShape("reshape", newShape);
        if (count(newShape) != numel) {
            throw new IllegalArgumentException("reshape: cannot view " + Arrays.toString(shape) + " (" + numel + " elements) as "
                    + Arrays.toString(newShape) + " (" + count(newShape) + " elements)");
        }
        requireLive();
        return newView(offset, newShape);
    }

    @Override
    public final A view(int... newShape) {
        checkShape("view", newShape);
        if (count(newShape) > numel) {
            throw new IllegalArgumentException("view: " + Arrays.toString(newShape) + " (" + count(newShape) + " elements) does not fit in "
                    + Arrays.toString(shape) + " (" + numel + " elements)");
        }
        requireLive();
        return newView(offset, newShape);
    }

    @Override
    public final A batch(int from, int to) {
        if (from < 0 || to > shape[0] || from >= to) {
            throw new IllegalArgumentException("batch: [" + from + ", " + to + ") is not a non-empty range of " + Arrays.toString(shape));
        }
        requireLive();
        int[] s = shape.clone();
        s[0] = to - from;
        return newView(offset + (long) from * (numel / shape[0]), s);
    }

    /** Whether the two arrays share any element. */
    final boolean overlaps(A o) {
        return sameBlock(o) && offset < o.offset + o.numel() && o.offset < offset + numel;
    }

    /** Whether the two are exactly the same elements (in-place use). */
    final boolean sameElements(A o) {
        return sameBlock(o) && offset == o.offset && numel == o.numel();
    }

    /** E.g. "CpuArray[2, 3] (view)". */
    @Override
    public String toString() {
        return getClass().getSimpleName() + Arrays.toString(shape) + (owner ? "" : " (view)") + (isFreed() ? " (freed)" : "");
    }
}
