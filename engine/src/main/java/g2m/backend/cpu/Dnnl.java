package g2m.backend.cpu;

import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * The oneDNN (Intel's deep-learning primitives library, through JavaCPP) calls the CPU backend
 * makes, on one CPU engine and one in-order stream: every status checked, every handle this
 * object made destroyed by {@link #close}. oneDNN runs its primitives on its own OpenMP team
 * (the size of which comes from OMP_NUM_THREADS, else all cores); the calls return when the
 * work is done (in fp32 the team then sleeps rather than spins: {@link OpenMpWaitPolicy}).
 *
 * <p>{@link #load} tells whether the natives load on this machine and its CPU has what the
 * callers need (AVX2 for fp32, AVX-512 bf16 for bf16); where not, the backend keeps its own
 * im2col path (fp32) or refuses the precision (bf16).
 */
final class Dnnl implements AutoCloseable {
    private static volatile Boolean loaded;
    private static volatile String loadError = "";

    final dnnl_engine engine = new dnnl_engine();
    final dnnl_stream stream = new dnnl_stream();
    /** Attributes with a user-provided scratchpad (the backend's workspace) and strict fp32 math. */
    final dnnl_primitive_attr attr = new dnnl_primitive_attr();
    /** {@link #attr} plus a ReLU post-op (convolution + ReLU in one pass). */
    final dnnl_primitive_attr reluAttr = new dnnl_primitive_attr();
    private final dnnl_post_ops relu = new dnnl_post_ops();
    private final List<dnnl_primitive> primitives = new ArrayList<>();
    private final List<dnnl_primitive_desc> descs = new ArrayList<>();
    private final List<dnnl_memory_desc> mds = new ArrayList<>();
    private final List<dnnl_memory> memories = new ArrayList<>();
    private boolean closed;

    /** Whether oneDNN's natives loaded; the reason why not in {@link #loadError()}. */
    static boolean load() {
        Boolean l = loaded;
        if (l != null) return l;
        synchronized (Dnnl.class) {
            if (loaded != null) return loaded;
            try {
                Loader.load(org.bytedeco.dnnl.global.dnnl.class);
                loaded = true;
            } catch (LinkageError | RuntimeException e) {
                // in words for the user's one line (a Java class name tells them nothing)
                String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
                loadError = e instanceof UnsatisfiedLinkError ? first : "it failed to start: " + first;
                loaded = false;
            }
            return loaded;
        }
    }

    static String loadError() {
        return loadError;
    }

    /** Whether oneDNN finds AVX2 (with FMA) on this CPU, the least its convolutions measured faster than im2col with; false if it did not load. */
    static boolean hasAvx2() {
        return load() && dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx2;
    }

    /** Whether oneDNN finds AVX-512 on this CPU (its "brgemm" fp32 kernels); false if it did not load. */
    static boolean hasAvx512() {
        return load() && dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core;
    }

    /** Whether oneDNN finds AVX-512 bf16 dot products on this CPU; false if it did not load. */
    static boolean hasBf16() {
        return load() && dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core_bf16;
    }

    Dnnl() {
        if (!load()) throw new IllegalStateException("oneDNN is not available: " + loadError);
        check(dnnl_engine_create(engine, dnnl_cpu, 0), "engine");
        check(dnnl_stream_create(stream, engine, dnnl_stream_default_flags), "stream");
        check(dnnl_primitive_attr_create(attr), "attributes");
        check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
        check(dnnl_primitive_attr_create(reluAttr), "attributes");
        check(dnnl_primitive_attr_set_scratchpad_mode(reluAttr, dnnl_scratchpad_mode_user), "scratchpad mode");
        check(dnnl_post_ops_create(relu), "post-ops");
        check(dnnl_post_ops_append_eltwise(relu, dnnl_eltwise_relu, 0f, 0f), "ReLU post-op");
        check(dnnl_primitive_attr_set_post_ops(reluAttr, relu), "post-ops");
    }

    static void check(int status, String what) {
        if (status == dnnl_success) return;
        String why = switch (status) {
            case 1 -> "out of memory";
            case 2 -> "invalid arguments";
            case 3 -> "unimplemented";
            default -> "status " + status;
        };
        if (status == 1) throw new OutOfMemoryError("oneDNN " + what + ": " + why);
        throw new IllegalStateException("oneDNN " + what + ": " + why);
    }

    /** A plain (or blocked, or any) memory descriptor of f32/bf16 values; destroyed on close. */
    dnnl_memory_desc md(long[] dims, int dataType, int tag) {
        dnnl_memory_desc m = new dnnl_memory_desc();
        check(dnnl_memory_desc_create_with_tag(m, dims.length, dims, dataType, tag), "memory descriptor");
        mds.add(m);
        return m;
    }

    /** A strided memory descriptor; destroyed on close. */
    dnnl_memory_desc strided(long[] dims, int dataType, long[] strides) {
        dnnl_memory_desc m = new dnnl_memory_desc();
        check(dnnl_memory_desc_create_with_strides(m, dims.length, dims, dataType, strides), "memory descriptor");
        mds.add(m);
        return m;
    }

    /** The primitive descriptor's own descriptor for what (e.g. dnnl_query_src_md); owned by the descriptor. */
    static dnnl_memory_desc query(dnnl_primitive_desc pd, int what) {
        return dnnl_primitive_desc_query_md(pd, what, 0);
    }

    static long bytes(dnnl_memory_desc md) {
        return md == null || md.isNull() ? 0 : dnnl_memory_desc_get_size(md);
    }

    static boolean same(dnnl_memory_desc a, dnnl_memory_desc b) {
        return dnnl_memory_desc_equal(a, b) != 0;
    }

    /** A memory object over {@code data} (may be null: set per call with {@link #setData}); destroyed on close. */
    dnnl_memory memory(dnnl_memory_desc md, Pointer data) {
        dnnl_memory m = new dnnl_memory();
        check(dnnl_memory_create(m, md, engine, data), "memory");
        memories.add(m);
        return m;
    }

    static void setData(dnnl_memory m, FloatPointer data) {
        check(dnnl_memory_set_data_handle(m, voidPointer(data)), "memory handle");
    }

    /**
     * The same address as a pointer for a {@code void*} parameter: JavaCPP adds a pointer's
     * position to its address in bytes there, not in elements.
     */
    static Pointer voidPointer(FloatPointer p) {
        return new BytePointer(p).position(p.position() * Float.BYTES);
    }

    /** A primitive from a descriptor made by {@code create} (a status-returning oneDNN call); both destroyed on close. */
    dnnl_primitive_desc desc(String what, java.util.function.Function<dnnl_primitive_desc, Integer> create) {
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        check(create.apply(pd), what);
        descs.add(pd);
        return pd;
    }

    dnnl_primitive primitive(dnnl_primitive_desc pd, String what) {
        dnnl_primitive p = new dnnl_primitive();
        check(dnnl_primitive_create(p, pd), what);
        primitives.add(p);
        return p;
    }

    /** A reorder (layout and/or data-type conversion) from one descriptor to another. */
    dnnl_primitive reorder(dnnl_memory_desc from, dnnl_memory_desc to) {
        dnnl_primitive_desc pd = desc("reorder", d -> dnnl_reorder_primitive_desc_create(d, from, engine, to, engine, null));
        return primitive(pd, "reorder");
    }

    /** Runs reorder {@code r} from the data at {@code fromData} (memory object {@code from}) to {@code toData} ({@code to}). */
    void reorder(dnnl_primitive r, dnnl_memory from, FloatPointer fromData, dnnl_memory to, FloatPointer toData) {
        setData(from, fromData);
        setData(to, toData);
        execute(r, "reorder", DNNL_ARG_FROM, from, DNNL_ARG_TO, to);
    }

    /** The index of a descriptor equal to {@code md} in {@code seen}, added at the end if there is none. */
    static int indexOf(List<dnnl_memory_desc> seen, dnnl_memory_desc md) {
        for (int i = 0; i < seen.size(); i++) if (same(seen.get(i), md)) return i;
        seen.add(md);
        return seen.size() - 1;
    }

    /** Runs a primitive with (argument kind, memory) pairs, a null memory leaving its argument out, and waits for it. */
    void execute(dnnl_primitive p, String what, Object... argPairs) {
        int n = 0;
        for (int i = 1; i < argPairs.length; i += 2) if (argPairs[i] != null) n++;
        try (dnnl_exec_arg_t args = new dnnl_exec_arg_t(n)) {
            int j = 0;
            for (int i = 0; i < argPairs.length; i += 2) {
                if (argPairs[i + 1] == null) continue;
                args.position(j++).arg((Integer) argPairs[i]).memory((dnnl_memory) argPairs[i + 1]);
            }
            args.position(0);
            check(dnnl_primitive_execute(p, stream, n, args), what);
            check(dnnl_stream_wait(stream), what);
        }
    }

    /** oneDNN's name for the implementation it chose (e.g. brg_conv_fwd:avx512_core), for benchmarks and tests. */
    static String implementation(dnnl_primitive_desc pd) {
        try (PointerPointer<BytePointer> pp = new PointerPointer<>(1)) {
            check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, pp), "query");
            return pp.get(BytePointer.class, 0).getString();
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (dnnl_primitive p : primitives) dnnl_primitive_destroy(p);
        for (dnnl_primitive_desc d : descs) dnnl_primitive_desc_destroy(d);
        for (dnnl_memory m : memories) dnnl_memory_destroy(m);
        for (dnnl_memory_desc m : mds) dnnl_memory_desc_destroy(m);
        primitives.clear();
        descs.clear();
        memories.clear();
        mds.clear();
        dnnl_primitive_attr_destroy(attr);
        dnnl_primitive_attr_destroy(reluAttr);
        dnnl_post_ops_destroy(relu);
        dnnl_stream_destroy(stream);
        dnnl_engine_destroy(engine);
    }
}
