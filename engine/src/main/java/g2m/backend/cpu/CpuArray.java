package g2m.backend.cpu;

import g2m.backend.AbstractDeviceArray;
import org.bytedeco.javacpp.FloatPointer;

import java.nio.FloatBuffer;

/**
 * A float32 array in off-heap (malloc'd) memory of a {@link CpuBackend}. The array made by
 * {@code allocate}/{@code upload} owns its block and frees it on {@link #close()}; views made by
 * {@link #reshape} and {@link #batch} share it, their close() does nothing, and they must not
 * be used after the owner (or the backend) is closed: that use throws IllegalStateException.
 */
public final class CpuArray extends AbstractDeviceArray<CpuArray> {
    final CpuBackend backend;
    final NativeBlock block;
    /** {@link #numel()} as an int: a CPU array fits one direct buffer (CpuBackend.checkShape). */
    final int length;
    private FloatBuffer view;

    CpuArray(CpuBackend backend, NativeBlock block, long offset, int[] shape, boolean owner) {
        super(offset, shape, owner);
        this.backend = backend;
        this.block = block;
        this.length = Math.toIntExact(numel());
    }

    @Override
    protected CpuBackend backend() {
        return backend;
    }

    @Override
    protected void checkShape(String op, int[] shape) {
        CpuBackend.checkShape(op, shape);
    }

    @Override
    protected void requireLive() {
        block.buffer(); // throws once freed
    }

    @Override
    protected CpuArray newView(long offset, int[] shape) {
        return new CpuArray(backend, block, offset, shape, false);
    }

    @Override
    protected boolean sameBlock(CpuArray o) {
        return block == o.block;
    }

    @Override
    public boolean isFreed() {
        return block.freed();
    }

    @Override
    public void close() {
        if (isOwner()) backend.release(block);
    }

    /** This array's elements as a direct buffer: index 0 is its first element (absolute access only). */
    FloatBuffer buffer() {
        FloatBuffer whole = block.buffer(); // throws once freed
        FloatBuffer v = view;
        if (v == null) {
            v = whole.slice((int) offset, length);
            view = v;
        }
        return v;
    }

    /** Where this array starts in its block, in floats. */
    long blockOffset() {
        return offset;
    }

    /** A pointer to this array's element {@code i}, for native calls. */
    FloatPointer pointer(long i) {
        return block.at(offset + i);
    }
}
