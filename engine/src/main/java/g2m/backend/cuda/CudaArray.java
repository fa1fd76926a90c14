package g2m.backend.cuda;

import g2m.backend.DeviceArray;

import java.util.Arrays;

/**
 * A float32 array in GPU memory of a {@link CudaBackend}. The array made by allocate/upload owns
 * its block (cudaMalloc'd) and frees it on {@link #close()}; views share it, their close() does
 * nothing, and using them after the owner (or the backend) is closed throws IllegalStateException.
 */
public final class CudaArray implements DeviceArray {
    /** One cudaMalloc'd block; freed once, by the backend. */
    static final class Block {
        private long address;
        final long bytes;

        Block(long address, long bytes) {
            this.address = address;
            this.bytes = bytes;
        }

        boolean freed() {
            return address == 0;
        }

        long address() {
            if (address == 0) throw new IllegalStateException("GPU memory already freed (array or backend closed)");
            return address;
        }

        /** Marks the block freed and returns its address (0 if it already was). */
        long release() {
            long a = address;
            address = 0;
            return a;
        }
    }

    final CudaBackend backend;
    final Block block;
    /** First element, in floats from the start of the block. */
    final long offset;
    final long numel;
    private final int[] shape;
    private final boolean owner;

    CudaArray(CudaBackend backend, Block block, long offset, int[] shape, boolean owner) {
        this.backend = backend;
        this.block = block;
        this.offset = offset;
        this.shape = shape.clone();
        this.numel = count(shape);
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

    /** Device address of element i. */
    long address(long i) {
        return block.address() + (offset + i) * Float.BYTES;
    }

    long address() {
        return address(0);
    }

    @Override
    public CudaArray reshape(int... newShape) {
        CudaBackend.checkShape("reshape", newShape);
        if (count(newShape) != numel) {
            throw new IllegalArgumentException("reshape: cannot view " + Arrays.toString(shape) + " (" + numel + " elements) as "
                    + Arrays.toString(newShape) + " (" + count(newShape) + " elements)");
        }
        block.address();
        return new CudaArray(backend, block, offset, newShape, false);
    }

    @Override
    public CudaArray view(int... newShape) {
        CudaBackend.checkShape("view", newShape);
        if (count(newShape) > numel) {
            throw new IllegalArgumentException("view: " + Arrays.toString(newShape) + " (" + count(newShape) + " elements) does not fit in "
                    + Arrays.toString(shape) + " (" + numel + " elements)");
        }
        block.address();
        return new CudaArray(backend, block, offset, newShape, false);
    }

    @Override
    public CudaArray batch(int from, int to) {
        if (from < 0 || to > shape[0] || from >= to) {
            throw new IllegalArgumentException("batch: [" + from + ", " + to + ") is not a non-empty range of " + Arrays.toString(shape));
        }
        block.address();
        int[] s = shape.clone();
        s[0] = to - from;
        return new CudaArray(backend, block, offset + (long) from * (numel / shape[0]), s, false);
    }

    public boolean isOwner() {
        return owner;
    }

    public boolean isFreed() {
        return block.freed();
    }

    @Override
    public void close() {
        if (owner) backend.release(block);
    }

    boolean overlaps(CudaArray o) {
        return block == o.block && offset < o.offset + o.numel && o.offset < offset + numel;
    }

    boolean sameElements(CudaArray o) {
        return block == o.block && offset == o.offset && numel == o.numel;
    }

    @Override
    public String toString() {
        return "CudaArray" + Arrays.toString(shape) + (owner ? "" : " (view)") + (block.freed() ? " (freed)" : "");
    }
}
