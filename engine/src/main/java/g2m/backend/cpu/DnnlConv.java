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
 * 3x3 stride-1 pad-1 convolution, forward and backward to the input, by oneDNN's direct
 * convolution kernels (on AVX-512 its "brgemm" kernels, which reach a larger share of the
 * machine's peak than im2col + OpenBLAS sgemm; numbers in benchmarks/README.md).
 *
 * <p>The backend's arrays stay NCHW float32. oneDNN's kernels want channel-blocked or
 * channels-last layouts, so each call reorders its input into a workspace (converting to bf16 in
 * bf16 mode), convolves into a second workspace, and reorders the result back to NCHW. In fp32
 * that is every call; in bf16 mode a forward convolution writes its output as bf16 (float32
 * accumulation, then rounded: what the next product would round it to) into the
 * {@link DnnlChain}, so the next layer reads it there without either reorder, and the NCHW
 * array is written only when something else needs it. The weights are reordered (and rounded
 * to bf16) once per weight array and direction, and kept until that array is written again or
 * freed.
 *
 * <p>Primitives are made once per shape (batch, channels, size, direction) and reused; the
 * scratchpad is the backend's workspace, so repeated calls allocate no native memory.
 */
final class DnnlConv implements AutoCloseable {
    private final CpuMemory memory;
    private final Dnnl dnnl = new Dnnl();
    private final boolean bf16;
    private final Map<Key, Plan> plans = new HashMap<>();
    /** The distinct weight layouts the plans asked for (oneDNN may pick another per shape and direction). */
    private final List<dnnl_memory_desc> formats = new ArrayList<>();
    private final DerivedWeights derived;
    /** bf16 mode: where forward outputs go and inputs come from (see DnnlChain); null in fp32. */
    private final DnnlChain chain;

    /** relu: forward with a ReLU post-op. */
    private record Key(int n, int c, int k, int h, int w, boolean backward, boolean relu) {}

    /**
     * @param bf16  round the products' inputs (activations or gradients, and weights) to bf16
     * @param chain bf16 mode's chain of forward outputs (null in fp32)
     */
    DnnlConv(CpuMemory memory, DerivedWeights derived, boolean bf16, DnnlChain chain) {
        this.memory = memory;
        this.derived = derived;
        this.bf16 = bf16;
        this.chain = chain;
    }

    /** One shape's primitives and memory objects (data handles set per call). */
    private final class Plan {
        final dnnl_primitive conv, in, out; // in/out: the reorders, null where the layouts already match
        final dnnl_primitive weightsReorder;
        final dnnl_memory userIn, convIn, userWeights, convWeights, bias, convOut, userOut, scratch;
        final dnnl_memory_desc convInMd, convOutMd;
        final long inBytes, outBytes, scratchBytes, weightBytes;
        final int weightFormat;
        final boolean backward;
        final String impl;

        /**
         * Forward: in = x [n,c,h,w], out = y [n,k,h,w]. Backward: in = dy [n,k,h,w],
         * out = dx [n,c,h,w]. Weights [k,c,3,3] either way.
         */
        Plan(Key key) {
            backward = key.backward;
            int act = bf16 ? dnnl_bf16 : dnnl_f32;
            long[] xd = {key.n, key.c, key.h, key.w}, yd = {key.n, key.k, key.h, key.w}, wd = {key.k, key.c, 3, 3};
            long[] strides = {1, 1}, dilates = {0, 0}, pad = {1, 1};
            dnnl_memory_desc xAny = dnnl.md(xd, backward ? dnnl_f32 : act, dnnl_format_tag_any);
            // y in act either way: forward, bf16 mode stores its output rounded to bf16 (what the next
            // product would round it to), in the layout the next convolution reads (see DnnlChain)
            dnnl_memory_desc yAny = dnnl.md(yd, act, dnnl_format_tag_any);
            dnnl_memory_desc wAny = dnnl.md(wd, act, dnnl_format_tag_any);
            dnnl_memory_desc bMd = dnnl.md(new long[] {key.k}, dnnl_f32, dnnl_a);
            dnnl_primitive_desc pd;
            if (!backward) {
                pd = dnnl.desc("convolution", d -> dnnl_convolution_forward_primitive_desc_create(d, dnnl.engine,
                        dnnl_forward_inference, dnnl_convolution_direct, xAny, wAny, bMd, yAny, strides, dilates, pad, pad,
                        key.relu ? dnnl.reluAttr : dnnl.attr));
            } else {
                dnnl_memory_desc xHint = dnnl.md(xd, act, dnnl_format_tag_any);
                dnnl_primitive_desc hint = dnnl.desc("convolution", d -> dnnl_convolution_forward_primitive_desc_create(d, dnnl.engine,
                        dnnl_forward_training, dnnl_convolution_direct, xHint, wAny, null, yAny, strides, dilates, pad, pad, null));
                pd = dnnl.desc("convolution backward", d -> dnnl_convolution_backward_data_primitive_desc_create(d, dnnl.engine,
                        dnnl_convolution_direct, xAny, wAny, yAny, strides, dilates, pad, pad, hint, dnnl.attr));
            }
            impl = Dnnl.implementation(pd);
            conv = dnnl.primitive(pd, "convolution");
            convInMd = Dnnl.query(pd, backward ? dnnl_query_diff_dst_md : dnnl_query_src_md);
            convOutMd = Dnnl.query(pd, backward ? dnnl_query_diff_src_md : dnnl_query_dst_md);
            dnnl_memory_desc weightsMd = Dnnl.query(pd, dnnl_query_weights_md);
            dnnl_memory_desc scratchMd = Dnnl.query(pd, dnnl_query_scratchpad_md);
            dnnl_memory_desc userInMd = dnnl.md(backward ? yd : xd, dnnl_f32, dnnl_nchw);
            dnnl_memory_desc userOutMd = dnnl.md(backward ? xd : yd, dnnl_f32, dnnl_nchw);
            dnnl_memory_desc userWeightsMd = dnnl.md(wd, dnnl_f32, dnnl_oihw);
            weightsReorder = dnnl.reorder(userWeightsMd, weightsMd);
            userWeights = dnnl.memory(userWeightsMd, null);
            in = Dnnl.same(userInMd, convInMd) ? null : dnnl.reorder(userInMd, convInMd);
            out = Dnnl.same(convOutMd, userOutMd) ? null : dnnl.reorder(convOutMd, userOutMd);
            inBytes = in == null ? 0 : Dnnl.bytes(convInMd);
            outBytes = out == null ? 0 : Dnnl.bytes(convOutMd);
            scratchBytes = Dnnl.bytes(scratchMd);
            weightBytes = Dnnl.bytes(weightsMd);
            weightFormat = Dnnl.indexOf(formats, weightsMd);
            userIn = dnnl.memory(userInMd, null);
            userOut = dnnl.memory(userOutMd, null);
            convIn = in == null ? userIn : dnnl.memory(convInMd, null);
            convOut = out == null ? userOut : dnnl.memory(convOutMd, null);
            convWeights = dnnl.memory(weightsMd, null);
            bias = backward ? null : dnnl.memory(bMd, null);
            scratch = scratchBytes == 0 ? null : dnnl.memory(scratchMd, null);
        }
    }


    private Plan plan(Key key) {
        return plans.computeIfAbsent(key, Plan::new);
    }

    /** oneDNN's implementation name for a shape (benchmarks, tests). */
    String implementation(int n, int c, int k, int h, int w, boolean backward) {
        return plan(new Key(n, c, k, h, w, backward, false)).impl;
    }

    /**
     * y = conv(x, w) + b, with relu: max(that, 0). oneDNN's fused ReLU turns a NaN into 0 (measured
     * 2026-12-06, fp32 and bf16), where the backend's own keeps it; the network cannot meet one:
     * its weights are refused unless finite, and pictures are.
     */
    void forward(CpuArray x, CpuArray w, CpuArray b, CpuArray y, boolean relu) {
        Plan p = plan(new Key(x.dim(0), x.dim(1), w.dim(0), x.dim(2), x.dim(3), false, relu));
        run(p, x, w, b, y);
    }

    void backwardData(CpuArray dy, CpuArray w, CpuArray dx) {
        Plan p = plan(new Key(dy.dim(0), w.dim(1), w.dim(0), dy.dim(2), dy.dim(3), true, false));
        run(p, dy, w, null, dx);
    }

    private void run(Plan p, CpuArray src, CpuArray w, CpuArray b, CpuArray dst) {
        // bf16 forward: the input from the chain where it holds it, the output into the chain
        boolean chained = chain != null && !p.backward && p.out != null;
        DnnlChain.Link link = chained && p.in != null ? chain.holding(src) : null;
        if (link != null && !Dnnl.same(link.md(), p.convInMd)) link = null; // held in another layout: read the array
        if (chain != null && link == null) chain.materialize(src.block); // read below as an array
        int outWs = chained ? chain.nextWorkspace(link) : CpuMemory.WS_DNNL_OUT;
        FloatPointer from = link == null ? null : chain.workspace(link.ws(), p.inBytes);
        FloatPointer out = p.out == null ? null : chained ? chain.workspace(outWs, p.outBytes) : aligned(outWs, p.outBytes);
        Dnnl.setData(p.userIn, src.pointer(0));
        Dnnl.setData(p.userOut, dst.pointer(0));
        if (p.in != null) Dnnl.setData(p.convIn, from != null ? from : aligned(CpuMemory.WS_DNNL_IN, p.inBytes));
        if (out != null) Dnnl.setData(p.convOut, out);
        if (p.scratch != null) Dnnl.setData(p.scratch, aligned(CpuMemory.WS_DNNL_SCRATCH, p.scratchBytes));
        Dnnl.setData(p.convWeights, weights(p, w));
        if (p.in != null && from == null) dnnl.execute(p.in, "reorder", DNNL_ARG_FROM, p.userIn, DNNL_ARG_TO, p.convIn);
        if (p.backward) {
            dnnl.execute(p.conv, "convolution backward", DNNL_ARG_DIFF_DST, p.convIn, DNNL_ARG_WEIGHTS, p.convWeights,
                    DNNL_ARG_DIFF_SRC, p.convOut, DNNL_ARG_SCRATCHPAD, p.scratch);
        } else {
            Dnnl.setData(p.bias, b.pointer(0));
            dnnl.execute(p.conv, "convolution", DNNL_ARG_SRC, p.convIn, DNNL_ARG_WEIGHTS, p.convWeights,
                    DNNL_ARG_BIAS, p.bias, DNNL_ARG_DST, p.convOut, DNNL_ARG_SCRATCHPAD, p.scratch);
        }
        if (chained) {
            FloatPointer at = dst.pointer(0);
            chain.produced(dst, p.convOutMd, outWs, () -> dnnl.reorder(p.out, p.convOut, out, p.userOut, at));
        } else if (p.out != null) {
            dnnl.execute(p.out, "reorder", DNNL_ARG_FROM, p.convOut, DNNL_ARG_TO, p.userOut);
        }
    }

    /** The weights in the plan's layout (reordered, and in bf16 mode rounded, once per weight array and layout). */
    private FloatPointer weights(Plan p, CpuArray w) {
        return derived.get(w, p.weightFormat, p.weightBytes, dst -> {
            Dnnl.setData(p.userWeights, w.pointer(0));
            Dnnl.setData(p.convWeights, dst);
            dnnl.execute(p.weightsReorder, "weights reorder", DNNL_ARG_FROM, p.userWeights, DNNL_ARG_TO, p.convWeights);
        });
    }

    /** Workspace i, at least {@code bytes} from a 64-byte boundary (oneDNN's kernels prefer aligned blocks). */
    private FloatPointer aligned(int ws, long bytes) {
        return memory.alignedWorkspace(ws, bytes, "oneDNN convolution");
    }

    @Override
    public void close() {
        plans.clear();
        dnnl.close();
    }
}
