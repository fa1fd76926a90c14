package g2m.backend;

import java.util.Arrays;

/**
 * A dense float32 array in a backend's memory, row-major, usually NCHW. Views made by
 * {@link #reshape} and {@link #batch} share memory with their parent and must not outlive it.
 */
public interface DeviceArray extends AutoCloseable {
    int[] shape();

    default long numel() {
        long n = 1;
        for (int d : shape()) n *= d;
        return n;
    }

    /** The leading dimension. */
    default int batchSize() {
        return shape()[0];
    }

    /** Elements per batch item. */
    default long itemSize() {
        return numel() / batchSize();
    }

    /** The same memory under another shape with the same element count. */
    DeviceArray reshape(int... shape);

    /** The first {@code prod(shape)} elements under {@code shape} (at most {@link #numel()}), as a view. */
    DeviceArray view(int... shape);

    /** Batch items {@code [from, to)} as a view. */
    DeviceArray batch(int from, int to);

    /** Frees the memory (no-op for views). */
    @Override
    void close();

    static String describe(int[] shape) {
        return Arrays.toString(shape);
    }
}
