package g2m.backend.cuda;

import java.util.List;

/**
 * The kernels of kernels/src/main/cuda/g2m_kernels.cu as the Java side launches them: extern
 * "C" name, parameter types in order, block shape. KernelSignatureTest checks the parameter
 * lists against the PTX that nvcc made from the same source, and {@link Kernels#launch} checks
 * every launch's arguments against them, so a kernel and its launch cannot drift apart silently.
 */
enum KernelSpec {
    RELU_BACKWARD("g2m_relu_backward", Block.LINEAR, P.PTR, P.PTR, P.PTR, P.I64, P.I32, P.I64),
    MAXPOOL2X2_BACKWARD("g2m_maxpool2x2_backward", Block.LINEAR, P.PTR, P.PTR, P.PTR, P.I32, P.I32, P.I32, P.I32, P.I64),
    ADAPTIVE_AVGPOOL_FORWARD("g2m_adaptive_avgpool_forward", Block.LINEAR, P.PTR, P.PTR, P.I32, P.I32, P.I32, P.I32, P.I64),
    ADAPTIVE_AVGPOOL_BACKWARD("g2m_adaptive_avgpool_backward", Block.LINEAR, P.PTR, P.PTR, P.I32, P.I32, P.I32, P.I32, P.I64),
    UPSAMPLE_BILINEAR_AC("g2m_upsample_bilinear_ac", Block.LINEAR, P.PTR, P.PTR, P.I32, P.I32, P.I32, P.I32, P.I64),
    BIAS_ROWS("g2m_bias_rows", Block.LINEAR, P.PTR, P.PTR, P.I32, P.I64),
    SOFTMAX_ROWS("g2m_softmax_rows", Block.LINEAR, P.PTR, P.PTR, P.I32),
    BACKWARD_SEEDS("g2m_backward_seeds", Block.LINEAR, P.PTR, P.PTR, P.PTR, P.I32, P.I32),
    CHANNEL_WEIGHTS("g2m_channel_weights", Block.LINEAR, P.PTR, P.PTR, P.PTR, P.I32, P.I32),
    MAP_SUMS("g2m_map_sums", Block.SUMS, P.PTR, P.PTR, P.PTR, P.PTR, P.PTR, P.I32, P.I32, P.I32),
    MAP_FINISH("g2m_map_finish", Block.LINEAR, P.PTR, P.PTR, P.I32, P.I32, P.I32);

    /** Parameter kinds: a device address or a 64-bit count (both .u64 in PTX), a 32-bit int (.u32). */
    enum P {
        PTR("u64"), I64("u64"), I32("u32");

        final String ptx;

        P(String ptx) {
            this.ptx = ptx;
        }
    }

    /** Block shapes the kernels are written for (their shared-memory reductions assume them). */
    enum Block {
        LINEAR(256, 1), SUMS(32, 8);

        final int x, y;

        Block(int x, int y) {
            this.x = x;
            this.y = y;
        }
    }

    /** Pixels per block of g2m_map_sums (its blockDim.x). */
    static final int SUMS_PIXELS = Block.SUMS.x;

    final String symbol;
    final Block block;
    final List<P> params;

    KernelSpec(String symbol, Block block, P... params) {
        this.symbol = symbol;
        this.block = block;
        this.params = List.of(params);
    }
}
