package g2m.backend.cpu;

import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import java.util.HashMap;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * The fully connected layers in bf16 mode: oneDNN matrix products with bf16 inputs and float32
 * accumulation and output. The weights [M,K] are kept as bf16 in oneDNN's blocked layout, one
 * copy per direction (forward reads them as Wᵀ, backward as W): the two together take the
 * memory of the float32 original, and each pass reads half the bytes, which is what counts at
 * batch 1, where these products only stream the weights (fc6: 411 MB in float32). The
 * activations (a few KB) are rounded to bf16 per call.
 */
final class DnnlFc implements AutoCloseable {
    private final CpuMemory memory;
    private final Dnnl dnnl = new Dnnl();
    private final DerivedWeights derived;
    private final Map<Key, Plan> plans = new HashMap<>();
    /** Layout ids for {@link DerivedWeights}: one per (K, M, direction), offset past the convolutions' ids. */
    private final Map<Key, Integer> layouts = new HashMap<>();

    private record Key(int n, int k, int m, boolean backward) {}

    DnnlFc(CpuMemory memory, DerivedWeights derived) {
        this.memory = memory;
        this.derived = derived;
    }

    /** Forward: y[n,m] = x[n,k] Wᵀ + b. Backward: dx[n,k] = dy[n,m] W, i.e. with (k, m) swapped: y = x[n,m] W. */
    private final class Plan {
        final dnnl_primitive toBf16, product, weightsReorder;
        final dnnl_memory userIn, in, userWeights, weights, bias, out, scratch;
        final long inBytes, weightBytes, scratchBytes;
        final int layout;
        final boolean backward;

        Plan(Key key) {
            backward = key.backward;
            long rows = key.n, inner = backward ? key.m : key.k, cols = backward ? key.k : key.m;
            dnnl_memory_desc userInMd = dnnl.md(new long[] {rows, inner}, dnnl_f32, dnnl_ab);
            dnnl_memory_desc inMd = dnnl.md(new long[] {rows, inner}, dnnl_bf16, dnnl_ab);
            dnnl_memory_desc outMd = dnnl.md(new long[] {rows, cols}, dnnl_f32, dnnl_ab);
            dnnl_memory_desc wAny = dnnl.md(new long[] {inner, cols}, dnnl_bf16, dnnl_format_tag_any);
            // the stored W is [m, k] row-major: as the [k, m] factor of the forward product its strides are (1, k)
            dnnl_memory_desc userWMd = backward ? dnnl.md(new long[] {key.m, key.k}, dnnl_f32, dnnl_ab)
                    : dnnl.strided(new long[] {key.k, key.m}, dnnl_f32, new long[] {1, key.k});
            dnnl_memory_desc biasMd = backward ? null : dnnl.md(new long[] {1, key.m}, dnnl_f32, dnnl_ab);
            dnnl_primitive_desc pd = dnnl.desc("matrix product", d -> dnnl_matmul_primitive_desc_create(d, dnnl.engine,
                    inMd, wAny, biasMd, outMd, dnnl.attr));
            product = dnnl.primitive(pd, "matrix product");
            dnnl_memory_desc wMd = Dnnl.query(pd, dnnl_query_weights_md);
            dnnl_memory_desc scratchMd = Dnnl.query(pd, dnnl_query_scratchpad_md);
            toBf16 = dnnl.reorder(userInMd, inMd);
            weightsReorder = dnnl.reorder(userWMd, wMd);
            inBytes = Dnnl.bytes(inMd);
            weightBytes = Dnnl.bytes(wMd);
            scratchBytes = Dnnl.bytes(scratchMd);
            userIn = dnnl.memory(userInMd, null);
            in = dnnl.memory(inMd, null);
            userWeights = dnnl.memory(userWMd, null);
            weights = dnnl.memory(wMd, null);
            bias = backward ? null : dnnl.memory(biasMd, null);
            out = dnnl.memory(outMd, null);
            scratch = scratchBytes == 0 ? null : dnnl.memory(scratchMd, null);
            layout = layouts.computeIfAbsent(new Key(0, key.k, key.m, backward), k -> 1_000_000 + layouts.size());
        }
    }

    /** y = x wᵀ + b; x [n, k], w [m, k], b [m], y [n, m]. */
    void forward(CpuArray x, CpuArray w, CpuArray b, CpuArray y) {
        Plan p = plans.computeIfAbsent(new Key(x.dim(0), w.dim(1), w.dim(0), false), Plan::new);
        Dnnl.setData(p.bias, b.pointer(0));
        run(p, x, w, y);
    }

    /** dx = dy w; dy [n, m], w [m, k], dx [n, k]. */
    void backwardData(CpuArray dy, CpuArray w, CpuArray dx) {
        Plan p = plans.computeIfAbsent(new Key(dy.dim(0), w.dim(1), w.dim(0), true), Plan::new);
        run(p, dy, w, dx);
    }

    private void run(Plan p, CpuArray src, CpuArray w, CpuArray dst) {
        Dnnl.setData(p.userIn, src.pointer(0));
        Dnnl.setData(p.in, memory.alignedWorkspace(CpuMemory.WS_DNNL_IN, p.inBytes, "oneDNN product"));
        Dnnl.setData(p.out, dst.pointer(0));
        if (p.scratch != null) {
            Dnnl.setData(p.scratch, memory.alignedWorkspace(CpuMemory.WS_DNNL_SCRATCH, p.scratchBytes, "oneDNN product"));
        }
        Dnnl.setData(p.weights, derived.get(w, p.layout, p.weightBytes, dst2 -> {
            Dnnl.setData(p.userWeights, w.pointer(0));
            Dnnl.setData(p.weights, dst2);
            dnnl.execute(p.weightsReorder, "weights to bf16", DNNL_ARG_FROM, p.userWeights, DNNL_ARG_TO, p.weights);
        }));
        dnnl.execute(p.toBf16, "to bf16", DNNL_ARG_FROM, p.userIn, DNNL_ARG_TO, p.in);
        dnnl.execute(p.product, "matrix product", DNNL_ARG_SRC, p.in, DNNL_ARG_WEIGHTS, p.weights,
                DNNL_ARG_BIAS, p.bias, DNNL_ARG_DST, p.out, DNNL_ARG_SCRATCHPAD, p.scratch);
    }

    @Override
    public void close() {
        plans.clear();
        dnnl.close();
    }
}
