package g2m.backend;

import g2m.maps.MapMethod;

import java.util.List;

/**
 * The operations VGG16 inference and backward-to-a-tap need, on one device. Arrays are
 * float32 NCHW in backend memory. Implementations: {@code cpu.CpuBackend} (the reference
 * twin) and the CUDA backend.
 *
 * <p>Backward calls may carry several right-hand sides stacked along the batch (g1 and g2 of
 * the spec in one pass): their batch is a multiple of the forward batch N, and item {@code b}
 * uses the forward state of image {@code b % N}.
 */
public interface Backend extends AutoCloseable {
    /** "cpu" or "cuda", and the hardware, for summaries. */
    String name();

    String description();

    /**
     * The most device memory this backend has held at once, in bytes: its arrays, workspaces and
     * scratch (not the libraries' own handles); -1 for a backend without device memory (the CPU's
     * arrays are counted in the process's resident set).
     */
    default long peakDeviceBytes() {
        return -1;
    }

    /** The most elements one array may hold on this backend ({@link #allocate} refuses more). */
    long maxArrayElements();

    /** New memory of the given shape; contents undefined. */
    DeviceArray allocate(int... shape);

    /** Copies host values into new backend memory. */
    DeviceArray upload(float[] host, int... shape);

    /** Copies host values into existing memory (same element count). */
    void copyFromHost(float[] src, DeviceArray dst);

    /** Copies a whole array (or view) to the host. */
    float[] download(DeviceArray src);

    /**
     * Declares that {@code a}'s values are no longer needed: until {@code a} is written again,
     * reading it gives unspecified values. A hint for scratch arrays that lets a backend skip
     * work it had deferred (the CPU backend's bf16 mode then never writes out a layer's output
     * that the next layer already read in its own layout); the default does nothing.
     */
    default void discard(DeviceArray a) {}

    /** {@code y = conv(x, w) + b}: 3x3 kernel, stride 1, padding 1; x [N,C,H,W], w [K,C,3,3], b [K], y [N,K,H,W]. */
    void conv3x3Forward(DeviceArray x, DeviceArray w, DeviceArray b, DeviceArray y);

    /**
     * {@code y = max(conv(x, w) + b, 0)}: {@link #conv3x3Forward} then {@link #reluForward}(y, y),
     * in one pass over y where the backend can fuse them (the CPU backend's oneDNN path does).
     */
    default void conv3x3ForwardRelu(DeviceArray x, DeviceArray w, DeviceArray b, DeviceArray y) {
        conv3x3Forward(x, w, b, y);
        reluForward(y, y);
    }

    /** {@code dx = ∂(conv(x, w))/∂x ᵀ dy}: dy [M,K,H,W], w [K,C,3,3], dx [M,C,H,W] (overwritten). */
    void conv3x3BackwardData(DeviceArray dy, DeviceArray w, DeviceArray dx);

    /** {@code y = max(x, 0)}; y may be x. */
    void reluForward(DeviceArray x, DeviceArray y);

    /** {@code dx = dy · [y > 0]} with y the forward output (batch N); dx may be dy. */
    void reluBackward(DeviceArray y, DeviceArray dy, DeviceArray dx);

    /** 2x2 max pool, stride 2, floor mode: y [N,C,H/2,W/2]. */
    void maxPool2x2Forward(DeviceArray x, DeviceArray y);

    /**
     * Routes each dy element to the maximum of its window in x; ties go to the first element
     * in row-major window order (PyTorch's rule, which the golden files encode). Rows and
     * columns dropped by floor mode get 0.
     */
    void maxPool2x2Backward(DeviceArray x, DeviceArray dy, DeviceArray dx);

    /** PyTorch's adaptive average pool to y's spatial size: bins floor(i·H/n) … ceil((i+1)·H/n) − 1. */
    void adaptiveAvgPoolForward(DeviceArray x, DeviceArray y);

    void adaptiveAvgPoolBackward(DeviceArray dy, DeviceArray dx);

    /**
     * Bilinear resize with align-corners of every plane of x [M,C,h,w] to y's size [M,C,H,W],
     * float32 as PyTorch's {@code F.interpolate(…, mode='bilinear', align_corners=True)}
     * ({@link BilinearAlignCorners}); layercam_loc's gradient source upsamples a pool's gradient
     * to the tap before it with it.
     */
    void upsampleBilinearAlignCorners(DeviceArray x, DeviceArray y);

    /** {@code y = x wᵀ + b}: x [N,K] (or any [N,…] with K per item), w [M,K], b [M], y [N,M]. */
    void fcForward(DeviceArray x, DeviceArray w, DeviceArray b, DeviceArray y);

    /** {@code dx = dy w}: dy [N,M], w [M,K], dx [N,K…]. */
    void fcBackwardData(DeviceArray dy, DeviceArray w, DeviceArray dx);

    /** Row-wise softmax of [N,M] logits. */
    void softmax(DeviceArray logits, DeviceArray probs);

    /**
     * The backward seeds of the spec for logits z [N,M] and target classes c: rows 0..N-1 are
     * the one-hot e_c (for g1), rows N..2N-1 are softmax(z) − 10·e_c (for g2). seeds [2N,M].
     */
    void backwardSeeds(DeviceArray logits, int[] classes, DeviceArray seeds);

    /**
     * All requested maps in one pass over the tap activation a [N,C,H,W] and its gradients g1,
     * g2 (same shape; g2 may be null when no method {@link MapMethod#needsG2() needs} it):
     * out [N, methods.size(), H, W]; formulas in {@link MapMethod}.
     */
    void maps(DeviceArray a, DeviceArray g1, DeviceArray g2, List<MapMethod> methods, DeviceArray out);

    @Override
    void close();
}
