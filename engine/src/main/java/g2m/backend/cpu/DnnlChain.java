package g2m.backend.cpu;

import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.javacpp.FloatPointer;

import java.util.Arrays;

/**
 * bf16 activations handed from one oneDNN layer to the next without the round trip through the
 * backend's NCHW float32 arrays. A forward convolution or max pool writes its output, in the
 * layout the next layer reads (bf16, channels last), into one of two chain workspaces and
 * records it here as a {@link Link} to its array; the next layer that reads that array, unchanged
 * ({@link NativeBlock#version}) and in that layout, takes the workspace instead of reordering the
 * array, and writes the other workspace.
 *
 * <p>The array itself is written lazily: a link is <i>pending</i> until its reorder to NCHW
 * float32 runs, which happens when anything else reads or writes the array's block
 * ({@link #materialize}, from the backend's hooks), or before its workspace is overwritten. An
 * array declared dead ({@link #discard}, e.g. the network's scratch activations between layers)
 * drops its link and is never converted: so the layers before the shallowest tap cost no
 * conversion at all. The backend's operations are serialized; synchronized as well because
 * arrays are freed ({@link #forget}) from any thread.
 */
final class DnnlChain {
    private final CpuMemory memory;
    /** The latest output and the one before it, each in its own workspace; null where none. */
    private Link last, older;

    /**
     * An output held in workspace {@code ws} in layout {@code md}, for the array of that
     * {@code shape} at {@code offset} of {@code block} as of {@code version}; {@code toArray}
     * writes it there.
     */
    record Link(NativeBlock block, long offset, long floats, int[] shape, long version, dnnl_memory_desc md, int ws, Runnable toArray) {
        boolean overlaps(NativeBlock b, long from, long to) {
            return b == block && from < offset + floats && offset < to;
        }
    }

    DnnlChain(CpuMemory memory) {
        this.memory = memory;
    }

    /**
     * The link holding {@code a} (same elements, shape and version), in whatever layout; null
     * where none (the caller then reads the array, after {@link #materialize}).
     */
    synchronized Link holding(CpuArray a) {
        for (Link l : new Link[] {last, older}) {
            if (l != null && l.block == a.block && l.offset == a.blockOffset() && l.floats == a.length
                    && Arrays.equals(l.shape, a.shape()) && l.version == a.block.version && !a.block.freed()) {
                return l;
            }
        }
        return null;
    }

    /**
     * The workspace a layer writes next: not the one it reads
     * ({@code reading}, or else the latest output's, which the next layer is likely to read). The
     * link held there is converted first if still pending.
     */
    synchronized int nextWorkspace(Link reading) {
        Link keep = reading != null ? reading : last;
        int ws = keep != null && keep.ws == CpuMemory.WS_CHAIN_A ? CpuMemory.WS_CHAIN_B : CpuMemory.WS_CHAIN_A;
        for (Link l : new Link[] {older, last}) if (l != null && l.ws == ws) convert(l);
        return ws;
    }

    /** Records {@code a}'s new value, pending in workspace {@code ws} (from {@link #nextWorkspace}). */
    synchronized void produced(CpuArray a, dnnl_memory_desc md, int ws, Runnable toArray) {
        if (a.block.freed()) return; // freed by another thread meanwhile (see forget): nothing to write later
        // a link overlapping a (the backend's written hook leaves none) is converted: it may reach beyond a
        materialize(a.block, a.blockOffset(), a.blockOffset() + a.length);
        // nextWorkspace cleared ws, so one link at most is left, in the other workspace
        older = last != null ? last : older;
        last = new Link(a.block, a.blockOffset(), a.length, a.shape(), a.block.version, md, ws, toArray);
    }

    /** Converts every pending link to a block (all of it: a read or write may reach any of its elements). */
    synchronized void materialize(NativeBlock b) {
        materialize(b, Long.MIN_VALUE, Long.MAX_VALUE);
    }

    private synchronized void materialize(NativeBlock b, long from, long to) {
        for (Link l : new Link[] {older, last}) if (l != null && l.overlaps(b, from, to)) convert(l);
    }

    /** Writes a pending link out and forgets it (in that order: if the write fails, the link stays and a later read tries again). */
    private void convert(Link l) {
        l.toArray.run();
        if (l == older) older = null;
        if (l == last) last = null;
    }

    /** {@code a}'s value is no longer needed: links within it are dropped unconverted (its elements are left unspecified). */
    synchronized void discard(CpuArray a) {
        long from = a.blockOffset(), to = from + a.length;
        for (Link l : new Link[] {last, older}) {
            if (l != null && l.overlaps(a.block, from, to) && (l.offset < from || l.offset + l.floats > to)) {
                materialize(a.block, from, to); // a link reaching outside a: keep its other elements
                return;
            }
        }
        drop(a.block, from, to);
    }

    /**
     * Drops the links to a block and frees it ({@code free}), in one step: a layer finishing on
     * another thread either registers its link before (dropped here) or sees the block freed.
     */
    synchronized void forget(NativeBlock b, Runnable free) {
        drop(b, Long.MIN_VALUE, Long.MAX_VALUE);
        free.run();
    }

    private synchronized void drop(NativeBlock b, long from, long to) {
        if (older != null && older.overlaps(b, from, to)) older = null;
        if (last != null && last.overlaps(b, from, to)) last = null;
    }

    /** Chain workspace {@code ws}, from a 64-byte boundary, with at least {@code bytes}. */
    synchronized FloatPointer workspace(int ws, long bytes) {
        return memory.alignedWorkspace(ws, bytes, "oneDNN layer chain");
    }
}
