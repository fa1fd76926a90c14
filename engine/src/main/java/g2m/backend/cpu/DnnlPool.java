package g2m.backend.cpu;

import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.javacpp.FloatPointer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * The 2x2 stride-2 max pool (floor mode) of bf16 mode on activations the {@link DnnlChain} holds:
 * oneDNN's pooling reads the previous convolution's bf16 output where it lies and writes its own
 * into the other chain workspace, the NCHW float32 array being written lazily like a
 * convolution's. The maximum of bf16 values is one of them, so this equals {@link CpuPooling}'s
 * pool of the same (rounded) array. An input the chain does not hold goes to CpuPooling.
 */
final class DnnlPool implements AutoCloseable {
    private final Dnnl dnnl = new Dnnl();
    private final DnnlChain chain;
    private final Map<Key, Plan> plans = new HashMap<>();

    /** The input's shape and the chained layout it is held in (its index in {@link #layouts}). */
    private record Key(int n, int c, int h, int w, int layout) {}

    /** The distinct input layouts met (descriptors owned by the primitives that wrote them). */
    private final List<dnnl_memory_desc> layouts = new ArrayList<>();

    DnnlPool(DnnlChain chain) {
        this.chain = chain;
    }

    private final class Plan {
        final dnnl_primitive pool, toArray;
        final dnnl_memory src, dst, userDst;
        final dnnl_memory_desc dstMd;
        final long srcBytes, dstBytes;

        Plan(Key key, dnnl_memory_desc srcMd) {
            long[] yd = {key.n, key.c, key.h / 2, key.w / 2};
            dnnl_memory_desc yAny = dnnl.md(yd, dnnl_bf16, dnnl_format_tag_any);
            long[] two = {2, 2}, zero = {0, 0};
            dnnl_primitive_desc pd = dnnl.desc("max pool", d -> dnnl_pooling_forward_primitive_desc_create(d, dnnl.engine,
                    dnnl_forward_inference, dnnl_pooling_max, srcMd, yAny, two, two, zero, zero, zero, dnnl.attr));
            pool = dnnl.primitive(pd, "max pool");
            dstMd = Dnnl.query(pd, dnnl_query_dst_md);
            dnnl_memory_desc userMd = dnnl.md(yd, dnnl_f32, dnnl_nchw);
            toArray = dnnl.reorder(dstMd, userMd);
            src = dnnl.memory(srcMd, null);
            dst = dnnl.memory(dstMd, null);
            userDst = dnnl.memory(userMd, null);
            srcBytes = Dnnl.bytes(srcMd);
            dstBytes = Dnnl.bytes(dstMd);
        }
    }

    /** y = the max pool of x where the chain holds x (true); false, nothing done, where it does not. */
    boolean forward(CpuArray x, CpuArray y) {
        DnnlChain.Link link = chain.holding(x);
        if (link == null) return false;
        Key key = new Key(x.dim(0), x.dim(1), x.dim(2), x.dim(3), Dnnl.indexOf(layouts, link.md()));
        Plan p = plans.computeIfAbsent(key, k -> new Plan(k, link.md()));
        int ws = chain.nextWorkspace(link);
        FloatPointer in = chain.workspace(link.ws(), p.srcBytes);
        FloatPointer out = chain.workspace(ws, p.dstBytes), at = y.pointer(0);
        Dnnl.setData(p.src, in);
        Dnnl.setData(p.dst, out);
        dnnl.execute(p.pool, "max pool", DNNL_ARG_SRC, p.src, DNNL_ARG_DST, p.dst);
        chain.produced(y, p.dstMd, ws, () -> dnnl.reorder(p.toArray, p.dst, out, p.userDst, at));
        return true;
    }

    @Override
    public void close() {
        plans.clear();
        dnnl.close();
    }
}
