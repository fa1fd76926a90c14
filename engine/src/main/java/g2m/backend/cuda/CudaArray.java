package g2m.backend.cuda;

import g2m.backend.AbstractDeviceArray;

/**
 * A float32 array in GPU memory of a {@link CudaBackend}. The array made by allocate/upload owns
 * its block (cudaMalloc'd) and frees it on {@link #close()}; views share it, their close() does
 * nothing, and using them after the owner (or the backend) is closed throws IllegalStateException.
 */
final class CudaArray extends AbstractDeviceArray<CudaArray> {
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

    CudaArray(CudaBackend backend, Block block, long offset, int[] shape, boolean owner) {
        super(offset, shape, owner);
        this.backend = backend;
        this.block = block;
    }

    @Override
    protected CudaBackend backend() {
        return backend;
    }

    @Override
    protected void checkShape(String op, int[] shape) {
        CudaBackend.checkShape(op, shape);
    }

    @Override
    protected void requireLive() {
        block.address(); // throws once freed
    }

    @Override
    protected CudaArray newView(long offset, int[] shape) {
        return new CudaArray(backend, block, offset, shape, false);
    }

    @Override
    protected boolean sameBlock(CudaArray o) {
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

    /** Device address of element i. */
    long address(long i) {
        return block.address() + (offset + i) * Float.BYTES;
    }

    long address() {
        return address(0);
    }
}
