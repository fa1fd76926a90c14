package g2m.backend.cpu;

/**
 * Which fp32 convolution path {@link ConvPath#AUTO} takes for a shape, from the per-layer
 * measurements in benchmarks/README.md (ConvLayerBenchmark, two runs on the 2-core AVX-512 build
 * VM): oneDNN's direct convolution wins every VGG16 layer at batch 8, and forward at batch 1, but
 * for two cases:
 * <ul>
 * <li>conv1_1, 3 input channels: its im2col matrix is only 27 rows deep, while oneDNN's blocked
 * output must be reordered back to NCHW (12.8 MB per picture), which costs more than the
 * convolution (im2col 39–49 GFLOP/s, oneDNN 5–30);</li>
 * <li>backward to the input over few positions (14×14 at batch 1): oneDNN's backward kernel
 * splits such a small problem badly (conv5_1 batch 1: im2col 73–87 GFLOP/s, oneDNN 38–46).</li>
 * </ul>
 */
final class ConvChoice {
    private ConvChoice() {}

    /** Below this many input channels (less than one of oneDNN's 16-channel blocks) im2col + sgemm is used. */
    static final int MIN_DNNL_CHANNELS = 16;
    /** Backward with at most this many output positions in all (images × H × W) goes to im2col: 14×14 for two right-hand sides. */
    static final int MAX_IM2COL_BACKWARD_POSITIONS = 2 * 14 * 14;

    /** Whether oneDNN beats im2col + sgemm for n images, c → k channels, h × w, in fp32. */
    static boolean dnnlFaster(int n, int c, int k, int h, int w, boolean backward) {
        if (c < MIN_DNNL_CHANNELS) return false;
        return !backward || (long) n * h * w > MAX_IM2COL_BACKWARD_POSITIONS;
    }
}
