package g2m.backend.cuda;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Set;

import static org.bytedeco.cuda.global.cudart.cudaEventCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaEventDestroy;
import static org.bytedeco.cuda.global.cudart.cudaEventDisableTiming;
import static org.bytedeco.cuda.global.cudart.cudaEventRecord;
import static org.bytedeco.cuda.global.cudart.cudaEventSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaFreeHost;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMallocHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;

/**
 * The backend's GPU memory: every block it cudaMalloc'd (arrays, workspaces, scratch), with the
 * count of allocations and the bytes held now and at their peak, and the host transfers through
 * one pinned staging buffer. The staging buffer is guarded by an event recorded after each copy
 * that reads it, so an upload never overwrites staging memory a queued copy still reads. Owns the
 * blocks, the staging buffer and the event ({@link #close} frees them, in reverse order). Not
 * thread-safe: the backend serializes its calls.
 */
final class CudaMemory implements AutoCloseable {
    /** Pinned staging buffer for host transfers, at most this large (bigger copies go in chunks). */
    static final long STAGING_MAX_BYTES = 32L << 20;

    private final CudaDevice device;
    private final CudaChecks checks;
    private final Set<CudaArray.Block> owned = Collections.newSetFromMap(new IdentityHashMap<>());
    private final CUevent_st stagingFree;
    private final CloseStack opened = new CloseStack();
    private long stagingAddress;
    private long stagingBytes;
    private FloatPointer stagingFloats;
    private IntPointer stagingInts;
    private long allocations;
    /** Bytes of device memory held now, and the most held at once (arrays, workspaces, scratch). */
    private long bytesInUse, peakBytes;

    CudaMemory(CudaDevice device) {
        this.device = device;
        this.checks = device.checks;
        CUevent_st ev = new CUevent_st();
        checks.rt(cudaEventCreateWithFlags(ev, cudaEventDisableTiming), "cudaEventCreateWithFlags");
        opened.push(() -> {
            if (checks.live()) checks.rt(cudaEventDestroy(ev), "cudaEventDestroy");
        });
        stagingFree = ev;
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }

    long peakBytes() {
        return peakBytes;
    }

    /** cudaMalloc calls so far. */
    long allocations() {
        return allocations;
    }

    /** A new block of {@code bytes}; {@code what} names it in an out-of-memory message ("[64, 512, 56, 56]", "the map sums"). */
    CudaArray.Block malloc(long bytes, String what) {
        Pointer p = new Pointer();
        int st = cudaMalloc(p, Math.max(bytes, 1));
        checks.rt(st, "cudaMalloc of " + mib(bytes) + " for " + what);
        if (p.address() == 0) throw new CudaException("cudaMalloc of " + mib(bytes) + " for " + what + " returned NULL", false);
        allocations++;
        bytesInUse += bytes;
        peakBytes = Math.max(peakBytes, bytesInUse);
        CudaArray.Block b = new CudaArray.Block(p.address(), bytes);
        owned.add(b);
        return b;
    }

    /** Frees a block (waiting for the queued work that may still use it first). */
    void release(CudaArray.Block b) {
        if (b == null || !owned.remove(b)) return; // not ours, or freed already (by close)
        bytesInUse -= b.bytes;
        long address = b.release();
        if (address == 0 || !checks.live()) return; // a lost context cannot free; the driver reclaims it with the context
        device.bind();
        checks.rt(cudaStreamSynchronize(device.stream()), "cudaStreamSynchronize (before cudaFree)");
        checks.rt(cudaFree(new DevicePointer(address)), "cudaFree");
    }

    /** b if it holds at least {@code bytes}, else a new block (the old one freed). */
    CudaArray.Block grow(CudaArray.Block b, long bytes, String what) {
        if (b != null && !b.freed() && b.bytes >= bytes) return b;
        release(b);
        return malloc(bytes, what);
    }

    /** Enqueues the copy of {@code src} into {@code d}, through the staging buffer in chunks. */
    void copyFromHost(float[] src, CudaArray d) {
        int chunk = (int) (STAGING_MAX_BYTES / Float.BYTES);
        for (int off = 0; off < src.length; off += chunk) {
            int len = Math.min(chunk, src.length - off);
            long host = staging((long) src.length * Float.BYTES);
            stagingFloats.put(src, off, len);
            checks.rt(cudaMemcpyAsync(new DevicePointer(d.address(off)), new DevicePointer(host), (long) len * Float.BYTES,
                    cudaMemcpyHostToDevice, device.stream()), "cudaMemcpyAsync (host to device)");
            checks.rt(cudaEventRecord(stagingFree, device.stream()), "cudaEventRecord (staging)");
        }
    }

    /** Enqueues the copy of ints (the target classes) into {@code dst}, which holds at least {@code src.length} of them. */
    void copyIntsFromHost(int[] src, CudaArray.Block dst) {
        long host = staging((long) src.length * Integer.BYTES);
        stagingInts.put(src, 0, src.length);
        checks.rt(cudaMemcpyAsync(new DevicePointer(dst.address()), new DevicePointer(host), (long) src.length * Integer.BYTES,
                cudaMemcpyHostToDevice, device.stream()), "cudaMemcpyAsync (classes)");
        checks.rt(cudaEventRecord(stagingFree, device.stream()), "cudaEventRecord (staging)");
    }

    /** Waits for everything queued before it, then copies (so asynchronous errors surface here, named). */
    float[] download(CudaArray a) {
        float[] out = new float[Math.toIntExact(a.numel())];
        int chunk = (int) (STAGING_MAX_BYTES / Float.BYTES);
        for (int off = 0; off < out.length; off += chunk) {
            int len = Math.min(chunk, out.length - off);
            long host = staging((long) out.length * Float.BYTES);
            checks.rt(cudaMemcpyAsync(new DevicePointer(host), new DevicePointer(a.address(off)), (long) len * Float.BYTES,
                    cudaMemcpyDeviceToHost, device.stream()), "cudaMemcpyAsync (device to host)");
            checks.rt(cudaStreamSynchronize(device.stream()), "cudaStreamSynchronize (download; reports earlier asynchronous failures too)");
            stagingFloats.get(out, off, len);
        }
        return out;
    }

    /** The pinned staging buffer, at least min(bytes, STAGING_MAX_BYTES) large, free to write (no queued copy reads it). */
    private long staging(long bytes) {
        long need = Math.min(Math.max(bytes, 4), STAGING_MAX_BYTES);
        checks.rt(cudaEventSynchronize(stagingFree), "cudaEventSynchronize (staging)");
        if (stagingBytes >= need) return stagingAddress;
        freeStaging();
        Pointer p = new Pointer();
        checks.rt(cudaMallocHost(p, need), "cudaMallocHost of " + mib(need) + " (pinned staging)");
        stagingAddress = p.address();
        stagingBytes = need;
        Pointer raw = new DevicePointer(stagingAddress);
        stagingFloats = new FloatPointer(raw).capacity(need / Float.BYTES).limit(need / Float.BYTES);
        stagingInts = new IntPointer(raw).capacity(need / Integer.BYTES).limit(need / Integer.BYTES);
        return stagingAddress;
    }

    private void freeStaging() {
        if (stagingAddress == 0) return;
        long a = stagingAddress;
        stagingAddress = 0;
        stagingBytes = 0;
        stagingFloats = null;
        stagingInts = null;
        checks.rt(cudaFreeHost(new DevicePointer(a)), "cudaFreeHost");
    }

    /**
     * Frees what is held, in reverse order of taking it: every block still owned (arrays not
     * closed, workspaces, scratch; their arrays become unusable), the staging buffer, the event.
     * The caller has waited for the queued work. After a lost context only the bookkeeping is
     * done: the driver reclaims the memory with the context.
     */
    @Override
    public void close() {
        opened.push(() -> {
            if (checks.live()) freeStaging();
        });
        for (CudaArray.Block b : owned.toArray(new CudaArray.Block[0])) {
            opened.push(() -> {
                owned.remove(b);
                long address = b.release();
                if (address != 0 && checks.live()) checks.rt(cudaFree(new DevicePointer(address)), "cudaFree (close)");
            });
        }
        opened.close();
    }
}
