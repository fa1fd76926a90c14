package g2m.backend.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The CPU backend's native memory: every block it malloc'd (arrays, workspaces, weight copies),
 * with the count of allocations and the bytes held, and the workspaces the convolution and
 * oneDNN paths reuse across calls (grown only when a larger shape arrives, so repeated calls
 * with the same shapes allocate nothing). Owns every block ({@link #close} frees them all).
 * Blocks are freed from any thread (an array's close); the workspaces belong to the operation
 * running (the backend serializes those).
 */
final class CpuMemory implements AutoCloseable {
    /** The workspaces, by use. */
    static final int WS_COL = 0, WS_STAGE = 1, WS_HALO = 2, WS_DNNL_IN = 3, WS_DNNL_OUT = 4, WS_DNNL_SCRATCH = 5, WS_WINOGRAD = 6,
            WS_CHAIN_A = 7, WS_CHAIN_B = 8;

    private final Set<NativeBlock> owned = Collections.newSetFromMap(new IdentityHashMap<>());
    private final AtomicLong allocations = new AtomicLong();
    private final AtomicLong liveBytes = new AtomicLong();
    private final NativeBlock[] workspaces = new NativeBlock[9];
    private volatile boolean closed;

    /** Native allocations made so far. */
    long allocations() {
        return allocations.get();
    }

    /** Native bytes held now. */
    long liveBytes() {
        return liveBytes.get();
    }

    /** A new block of {@code floats} (freed by {@link #release} or close); {@code what} names it in errors. */
    NativeBlock allocate(long floats, String what) {
        if (closed) throw new IllegalStateException("backend is closed");
        if (floats > NativeBlock.MAX_FLOATS) {
            throw new IllegalArgumentException(what + ": " + floats + " floats exceed the CPU backend's limit of "
                    + NativeBlock.MAX_FLOATS + " per array");
        }
        long bytes = Math.max(1, floats) * Float.BYTES;
        Pointer p = Pointer.malloc(bytes);
        if (p == null || p.isNull()) throw new OutOfMemoryError(what + ": malloc of " + bytes + " bytes failed");
        NativeBlock b = new NativeBlock(p, floats);
        synchronized (owned) {
            owned.add(b);
        }
        allocations.incrementAndGet();
        liveBytes.addAndGet(bytes);
        return b;
    }

    /** Frees a block (nothing if it is not held: not ours, or freed already). */
    void release(NativeBlock b) {
        if (b == null) return;
        synchronized (owned) {
            if (!owned.remove(b)) return;
        }
        if (b.free()) liveBytes.addAndGet(-Math.max(1, b.floats) * Float.BYTES);
    }

    /** Workspace i with room for at least {@code floats}: the one held if large enough, else a new one. */
    NativeBlock workspace(int i, long floats, String what) {
        NativeBlock current = workspaces[i];
        if (current != null && current.floats >= floats) return current;
        workspaces[i] = null;
        release(current);
        workspaces[i] = allocate(floats, what + " workspace");
        return workspaces[i];
    }

    /** Workspace i from its first 64-byte boundary (oneDNN's kernels prefer aligned blocks), with room for {@code bytes} there. */
    FloatPointer alignedWorkspace(int i, long bytes, String what) {
        return DerivedWeights.aligned(workspace(i, (bytes + 64 + 3) / 4, what));
    }

    /** Frees every block still held (arrays not closed, workspaces, copies): their arrays become unusable. */
    @Override
    public void close() {
        closed = true;
        NativeBlock[] all;
        synchronized (owned) {
            all = owned.toArray(new NativeBlock[0]);
        }
        for (NativeBlock b : all) release(b);
        Arrays.fill(workspaces, null);
    }
}
