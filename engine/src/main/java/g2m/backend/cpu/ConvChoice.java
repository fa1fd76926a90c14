package g2m.backend.cpu;

/**
 * Which fp32 convolution path {@link ConvPath#AUTO} takes for a shape, from the per-layer
 * measurements in benchmarks/README.md (ConvLayerBenchmark, 2-core AVX-512 build VM): oneDNN's
 * direct convolution wins every VGG16 layer but the first. conv1_1 has 3 input channels: its
 * im2col matrix is only 27 rows deep, while oneDNN's blocked output layout must be reordered back
 * to NCHW (12.8 MB per picture), which costs more than the convolution itself there.
 */
final class ConvChoice {
    private ConvChoice() {}

    /** Below this many input channels (less than one of oneDNN's 16-channel blocks) im2col + sgemm is used. */
    static final int MIN_DNNL_CHANNELS = 16;

    /** Whether oneDNN beats im2col + sgemm for n images, c → k channels, h × w, in fp32. */
    static boolean dnnlFaster(int n, int c, int k, int h, int w, boolean backward) {
        return c >= MIN_DNNL_CHANNELS;
    }
}
