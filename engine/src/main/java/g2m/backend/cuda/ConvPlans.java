package g2m.backend.cuda;

import g2m.backend.Precision;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.cuda.global.cudart.cudaMemGetInfo;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CROSS_CORRELATION;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_FLOAT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_NCHW;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateConvolutionDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateFilterDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyConvolutionDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyFilterDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnFindConvolutionBackwardDataAlgorithm;
import static org.bytedeco.cuda.global.cudnn.cudnnFindConvolutionForwardAlgorithm;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardDataAlgorithmMaxCount;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardAlgorithmMaxCount;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardAlgorithm_v7;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolution2dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolutionMathType;
import static org.bytedeco.cuda.global.cudnn.cudnnSetFilter4dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetTensor4dDescriptor;

/**
 * cuDNN's descriptors for the shapes the operations meet, made once per shape and cached
 * ({@link PlanCache}, least recently used out): a convolution plan (its tensor, filter and
 * convolution descriptors and the algorithm chosen for them, {@link ConvAlgorithms}), and the
 * tensor descriptors of the element-wise and pooling calls. Owns every descriptor it made
 * ({@link #close} destroys them; after a lost context they are left to the process).
 *
 * <p>Algorithms come from cuDNN's heuristics ({@code cudnnGet…Algorithm_v7}), or are measured
 * ({@code cudnnFind…Algorithm}) when {@code G2M_CUDNN_FIND=1} or {@code -Dg2m.cudnn.find=true}.
 */
final class ConvPlans implements AutoCloseable {
    static final int CONV_PLAN_CAPACITY = 512;
    static final int TENSOR_DESC_CAPACITY = 256;

    private final cudnnContext cudnn;
    private final CudaChecks checks;
    private final Precision precision;
    private final boolean findAlgorithms;
    private final PlanCache<List<Integer>, TensorDesc> tensorDescs = new PlanCache<>(TENSOR_DESC_CAPACITY);
    private final PlanCache<ConvKey, Plan> convPlans = new PlanCache<>(CONV_PLAN_CAPACITY);

    ConvPlans(cudnnContext cudnn, CudaChecks checks, Precision precision) {
        this.cudnn = cudnn;
        this.checks = checks;
        this.precision = precision;
        this.findAlgorithms = "1".equals(System.getenv("G2M_CUDNN_FIND")) || Boolean.getBoolean("g2m.cudnn.find");
    }

    /** A convolution's shape: forward y[n,k,h,w] = conv(x[n,c,h,w]), or backward-data dx[n,c,h,w] from dy[n,k,h,w]. */
    record ConvKey(boolean forward, int n, int c, int h, int w, int k) {}

    /** The plan of a convolution shape, made (and its algorithm chosen) on first use. */
    Plan plan(ConvKey key) {
        return convPlans.get(key, Plan::new);
    }

    /** The descriptor of an array for cuDNN's element-wise and pooling calls: rank 4 as is, [n, rest, 1, 1] otherwise. */
    cudnnTensorStruct tensorDesc(CudaArray a) {
        int[] s = a.shape();
        List<Integer> key = s.length == 4 ? List.of(s[0], s[1], s[2], s[3]) : List.of(s[0], (int) (a.numel() / s[0]), 1, 1);
        return tensorDescs.get(key, k -> new TensorDesc(k.get(0), k.get(1), k.get(2), k.get(3))).desc;
    }

    /** Plans made so far (one per shape and direction while cached). */
    long made() {
        return convPlans.created();
    }

    /** The cached plans, one line each: shape, direction, the algorithm cuDNN runs, its math type and workspace. */
    String summary() {
        StringBuilder b = new StringBuilder();
        convPlans.forEach((key, plan) -> b.append(key.forward() ? "forward" : "backward-data")
                .append(" n=").append(key.n()).append(" c=").append(key.c()).append(" k=").append(key.k())
                .append(' ').append(key.h()).append('x').append(key.w()).append(": ")
                .append(ConvAlgorithms.algoName(key.forward(), plan.algo)).append(", ").append(ConvAlgorithms.mathName(plan.mathType))
                .append(" math, workspace ").append(CudaMemory.mib(plan.workspaceBytes)).append('\n'));
        return b.toString();
    }

    /** Destroys every plan, then every tensor descriptor (none after a lost context: cuDNN calls would fail). */
    @Override
    public void close() {
        if (!checks.live()) return;
        try (CloseStack all = new CloseStack()) {
            all.push(tensorDescs::close);
            all.push(convPlans::close);
        }
    }

    /** A cuDNN NCHW float tensor descriptor, destroyed on close. */
    final class TensorDesc implements AutoCloseable {
        final cudnnTensorStruct desc;
        private final CloseStack opened = new CloseStack();

        TensorDesc(int n, int c, int h, int w) {
            cudnnTensorStruct d = new cudnnTensorStruct();
            checks.dnn(cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor");
            opened.push(() -> checks.dnn(cudnnDestroyTensorDescriptor(d), "cudnnDestroyTensorDescriptor"));
            desc = d;
            try {
                checks.dnn(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w),
                        "cudnnSetTensor4dDescriptor [" + n + ", " + c + ", " + h + ", " + w + "]");
            } catch (RuntimeException e) {
                opened.closeAfterFailure(e);
                throw e;
            }
        }

        @Override
        public void close() {
            opened.close();
        }
    }

    /** The descriptors of one convolution shape and the algorithm chosen for it (once). */
    final class Plan implements AutoCloseable {
        final TensorDesc in, out, bias;
        final cudnnFilterStruct filter;
        final cudnnConvolutionStruct conv;
        int algo;
        int mathType;
        long workspaceBytes;
        private final CloseStack opened = new CloseStack();

        Plan(ConvKey key) {
            try {
                int n = key.n(), c = key.c(), h = key.h(), w = key.w(), k = key.k();
                in = own(key.forward() ? new TensorDesc(n, c, h, w) : new TensorDesc(n, k, h, w));
                out = own(key.forward() ? new TensorDesc(n, k, h, w) : new TensorDesc(n, c, h, w));
                bias = key.forward() ? own(new TensorDesc(1, k, 1, 1)) : null;
                cudnnFilterStruct f = new cudnnFilterStruct();
                checks.dnn(cudnnCreateFilterDescriptor(f), "cudnnCreateFilterDescriptor");
                opened.push(() -> checks.dnn(cudnnDestroyFilterDescriptor(f), "cudnnDestroyFilterDescriptor"));
                filter = f;
                checks.dnn(cudnnSetFilter4dDescriptor(filter, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k, c, 3, 3), "cudnnSetFilter4dDescriptor");
                cudnnConvolutionStruct cd = new cudnnConvolutionStruct();
                checks.dnn(cudnnCreateConvolutionDescriptor(cd), "cudnnCreateConvolutionDescriptor");
                opened.push(() -> checks.dnn(cudnnDestroyConvolutionDescriptor(cd), "cudnnDestroyConvolutionDescriptor"));
                conv = cd;
                // 3x3, padding 1, stride 1, no dilation; cross-correlation as PyTorch's conv2d
                checks.dnn(cudnnSetConvolution2dDescriptor(conv, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                        "cudnnSetConvolution2dDescriptor");
                checks.dnn(cudnnSetConvolutionMathType(conv, ConvAlgorithms.requestedMathType(precision)), "cudnnSetConvolutionMathType");
                chooseAlgorithm(key);
            } catch (RuntimeException | Error e) {
                opened.closeAfterFailure(e);
                throw e;
            }
        }

        private TensorDesc own(TensorDesc d) {
            opened.push(d::close);
            return d;
        }

        private void chooseAlgorithm(ConvKey key) {
            long limit = workspaceLimit();
            String what = (key.forward() ? "forward" : "backward-data") + " convolution " + key;
            List<ConvAlgorithms.Perf> perfs = new ArrayList<>();
            int[] max = {0};
            int[] count = {0};
            if (key.forward()) {
                checks.dnn(cudnnGetConvolutionForwardAlgorithmMaxCount(cudnn, max), "cudnnGetConvolutionForwardAlgorithmMaxCount");
                try (cudnnConvolutionFwdAlgoPerf_t p = new cudnnConvolutionFwdAlgoPerf_t(Math.max(1, max[0]))) {
                    if (findAlgorithms) {
                        checks.dnn(cudnnFindConvolutionForwardAlgorithm(cudnn, in.desc, filter, conv, out.desc, max[0], count, p),
                                "cudnnFindConvolutionForwardAlgorithm for " + what);
                    } else {
                        checks.dnn(cudnnGetConvolutionForwardAlgorithm_v7(cudnn, in.desc, filter, conv, out.desc, max[0], count, p),
                                "cudnnGetConvolutionForwardAlgorithm_v7 for " + what);
                    }
                    for (int i = 0; i < count[0]; i++) {
                        cudnnConvolutionFwdAlgoPerf_t e = p.getPointer(i);
                        perfs.add(new ConvAlgorithms.Perf(e.algo(), e.status(), e.time(), e.memory(), e.determinism(), e.mathType()));
                    }
                }
            } else {
                checks.dnn(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnn, max), "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
                try (cudnnConvolutionBwdDataAlgoPerf_t p = new cudnnConvolutionBwdDataAlgoPerf_t(Math.max(1, max[0]))) {
                    if (findAlgorithms) {
                        checks.dnn(cudnnFindConvolutionBackwardDataAlgorithm(cudnn, filter, in.desc, conv, out.desc, max[0], count, p),
                                "cudnnFindConvolutionBackwardDataAlgorithm for " + what);
                    } else {
                        checks.dnn(cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn, filter, in.desc, conv, out.desc, max[0], count, p),
                                "cudnnGetConvolutionBackwardDataAlgorithm_v7 for " + what);
                    }
                    for (int i = 0; i < count[0]; i++) {
                        cudnnConvolutionBwdDataAlgoPerf_t e = p.getPointer(i);
                        perfs.add(new ConvAlgorithms.Perf(e.algo(), e.status(), e.time(), e.memory(), e.determinism(), e.mathType()));
                    }
                }
            }
            ConvAlgorithms.Perf chosen = ConvAlgorithms.choose(perfs, precision, limit).orElseThrow(() -> new CudaException(
                    "cuDNN offers no " + precision.id + " algorithm for the " + what + " within a workspace of " + CudaMemory.mib(limit)
                            + " (candidates: " + perfs + ")", false));
            algo = chosen.algo();
            mathType = ConvAlgorithms.mathTypeToSet(precision, chosen);
            checks.dnn(cudnnSetConvolutionMathType(conv, mathType), "cudnnSetConvolutionMathType (chosen algorithm's)");
            try (SizeTPointer ws = new SizeTPointer(1)) {
                if (key.forward()) {
                    checks.dnn(cudnnGetConvolutionForwardWorkspaceSize(cudnn, in.desc, filter, conv, out.desc, algo, ws),
                            "cudnnGetConvolutionForwardWorkspaceSize");
                } else {
                    checks.dnn(cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn, filter, in.desc, conv, out.desc, algo, ws),
                            "cudnnGetConvolutionBackwardDataWorkspaceSize");
                }
                workspaceBytes = Math.max(ws.get(), chosen.memory());
            }
        }

        /** Destroys its descriptors, in reverse order of making. */
        @Override
        public void close() {
            opened.close();
        }
    }

    /** cuDNN workspace allowed per convolution: half the free memory, between 64 MiB and 2 GiB. */
    private long workspaceLimit() {
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            checks.rt(cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return Math.max(64L << 20, Math.min(2L << 30, free.get() / 2));
        }
    }
}
