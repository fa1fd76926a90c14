package g2m.backend.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import java.nio.FloatBuffer;

/**
 * One malloc'd block of float32 memory, owned by a {@link CpuMemory} and freed exactly once,
 * by {@link CpuMemory#release}. Not tracked by JavaCPP's garbage-collector-driven deallocator
 * (so JavaCPP's maxBytes / maxPhysicalBytes limits and its System.gc() calls never apply): the
 * owner frees it deterministically.
 */
final class NativeBlock {
    /** Direct buffers hold at most Integer.MAX_VALUE bytes. */
    static final long MAX_FLOATS = Integer.MAX_VALUE / Float.BYTES;

    final long floats;
    /**
     * Bumped by every write through the backend (copies from the host, operation outputs), so
     * that copies derived from this block (reordered convolution or bf16 fc weights) know when
     * they are stale.
     */
    long version;
    private Pointer raw;
    private FloatBuffer buffer;

    NativeBlock(Pointer raw, long floats) {
        this.raw = raw;
        this.floats = floats;
        this.buffer = new FloatPointer(raw).capacity(floats).limit(floats).asBuffer();
    }

    boolean freed() {
        return raw == null;
    }

    /** The whole block as a direct native-order buffer (absolute indexing only; never move its position). */
    FloatBuffer buffer() {
        if (raw == null) throw new IllegalStateException("native memory already freed (array or backend closed)");
        return buffer;
    }

    /** A pointer to element {@code offset}, for native calls (a new small Java object; no copy). */
    FloatPointer at(long offset) {
        if (raw == null) throw new IllegalStateException("native memory already freed (array or backend closed)");
        return new FloatPointer(raw).position(offset);
    }

    /** Frees the memory; returns false if it was already freed. */
    boolean free() {
        if (raw == null) return false;
        Pointer p = raw;
        raw = null;
        buffer = null;
        Pointer.free(p);
        return true;
    }
}
