package g2m.backend.cpu;

import org.bytedeco.javacpp.FloatPointer;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Copies of weight arrays in the layout (and data type) a oneDNN primitive wants, made once and
 * reused while the source array is unchanged: keyed by the source's block, its offset in it and
 * a layout id; stale once the block's {@link NativeBlock#version} moves (the array was written),
 * dropped when the block is freed. The copies are blocks of the backend's memory, 64-byte aligned.
 * Synchronized: arrays (and so their copies) are closed from any thread.
 */
final class DerivedWeights {
    private final CpuMemory memory;
    private final Map<NativeBlock, Map<Key, Copy>> copies = new IdentityHashMap<>();

    private record Key(long offset, int layout) {}

    private record Copy(NativeBlock block, long version, long bytes) {}

    DerivedWeights(CpuMemory memory) {
        this.memory = memory;
    }

    /**
     * The copy of {@code w} in layout {@code layout} ({@code bytes} long), made by {@code fill}
     * (which writes it at the pointer given) if there is none or the one there is stale.
     */
    synchronized FloatPointer get(CpuArray w, int layout, long bytes, Consumer<FloatPointer> fill) {
        Map<Key, Copy> byKey = copies.computeIfAbsent(w.block, b -> new HashMap<>());
        Key key = new Key(w.blockOffset(), layout);
        Copy c = byKey.get(key);
        if (c != null && c.version == w.block.version && c.bytes == bytes) return aligned(c.block);
        if (c != null) {
            byKey.remove(key);
            memory.release(c.block);
        }
        NativeBlock blk = memory.allocate((bytes + 64 + 3) / 4, "weights copy");
        FloatPointer p = aligned(blk);
        fill.accept(p);
        byKey.put(key, new Copy(blk, w.block.version, bytes));
        return p;
    }

    /** Drops (and frees) the copies of a block that is being freed. */
    synchronized void forget(NativeBlock b) {
        Map<Key, Copy> byKey = copies.remove(b);
        if (byKey != null) for (Copy c : byKey.values()) memory.release(c.block);
    }

    synchronized void clear() {
        copies.clear(); // the blocks are the backend's, freed with it
    }

    /** The first 64-byte boundary in a block (oneDNN's kernels prefer aligned data). */
    static FloatPointer aligned(NativeBlock b) {
        long pad = (64 - (b.at(0).address() & 63)) & 63;
        return b.at(pad / Float.BYTES);
    }
}
