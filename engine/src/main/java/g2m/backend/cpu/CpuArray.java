package g2m.backend.cpu;

import g2m.backend.DeviceArray;
import org.bytedeco.javacpp.FloatPointer;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A float32 array in off-heap (malloc'd) memory of a {@link CpuBackend}. The array made by
 * {@code allocate}/{@code upload} owns its block and frees it on {@link #close()}; views made by
 * {@link #reshape} and {@link #batch} share it, their close() does nothing, and they must not
 * be used after the owner (or the backend) is closed: that use throws IllegalStateException.
 */
public final class CpuArray implements DeviceArray {
    final CpuBackend backend;
    final NativeBlock block;
    /** First element, in floats from the start of the block. */
    final long offset;
    final int numel;
    private final int[] shape;
    private final boolean owner;
    private FloatBuffer view;

    CpuArray(CpuBackend backend, NativeBlock block, long offset, int[] shape, boolean owner) {
        this.backend = backend;
        this.block = block;
        this.offset = offset;
        this.shape = shape.clone();
        this.numel = Math.toIntExact(count(shape));
        this.owner = owner;
    }

    static long count(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** Dimension {@code i} without copying the shape. */
    int dim(int i) {
        return shape[i];
    }

    int rank() {
        return shape.length;
    }

    @Override
    public long numel() {
        return numel;
    }

    @Override
    public CpuArray reshape(int... newShape) {
        CpuBackend.checkShape("reshape", newShape);
        if (count(newShape) != numel) {
            throw new IllegalArgumentException("reshape: cannot view " + Arrays.toString(shape) + " ("
                    + numel + " elements) as " + Arrays.toString(newShape) + " (" + count(newShape) + " elements)");
        }
        buffer(); // fails if freed
        return new CpuArray(backend, block, offset, newShape, false);
    }

    @Override
    public CpuArray view(int... newShape) {
        CpuBackend.checkShape("view", newShape);
        if (count(newShape) > numel) {
            throw new IllegalArgumentException("view: " + Arrays.toString(newShape) + " (" + count(newShape)
                    + " elements) does not fit in " + Arrays.toString(shape) + " (" + numel + " elements)");
        }
        buffer();
        return new CpuArray(backend, block, offset, newShape, false);
    }

    @Override
    public CpuArray batch(int from, int to) {
        if (from < 0 || to > shape[0] || from >= to) {
            throw new IllegalArgumentException("batch: [" + from + ", " + to + ") is not a non-empty range of "
                    + Arrays.toString(shape));
        }
        buffer();
        int[] s = shape.clone();
        s[0] = to - from;
        return new CpuArray(backend, block, offset + (long) from * (numel / shape[0]), s, false);
    }

    /** True for the array that owns (and on close frees) its memory; false for views. */
    public boolean isOwner() {
        return owner;
    }

    /** True once its memory has been freed (by closing the owner or the backend). */
    public boolean isFreed() {
        return block.freed();
    }

    @Override
    public void close() {
        if (owner) backend.release(block);
    }

    /** This array's elements as a direct buffer: index 0 is its first element (absolute access only). */
    FloatBuffer buffer() {
        FloatBuffer whole = block.buffer(); // throws once freed
        FloatBuffer v = view;
        if (v == null) {
            v = whole.slice((int) offset, numel);
            view = v;
        }
        return v;
    }

    /** A pointer to this array's element {@code i}, for native calls. */
    FloatPointer pointer(long i) {
        return block.at(offset + i);
    }

    /** Whether the two arrays share any element. */
    boolean overlaps(CpuArray o) {
        return block == o.block && offset < o.offset + o.numel && o.offset < offset + numel;
    }

    /** Whether the two are exactly the same elements (in-place use). */
    boolean sameElements(CpuArray o) {
        return block == o.block && offset == o.offset && numel == o.numel;
    }

    @Override
    public String toString() {
        return "CpuArray" + Arrays.toString(shape) + (owner ? "" : " (view)") + (block.freed() ? " (freed)" : "");
    }
}
