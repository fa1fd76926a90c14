package g2m.backend.cpu;

/**
 * Which fp32 convolution path is faster for a shape, from the per-layer measurements in
 * benchmarks/README.md (ConvLayerBenchmark on the 2-core AVX-512 build machine).
 */
final class ConvChoice {
    private ConvChoice() {}

    /** Whether oneDNN beats im2col + sgemm for n images, c → k channels, h × w, in fp32. */
    static boolean dnnlFaster(int n, int c, int k, int h, int w, boolean backward) {
        return true;
    }
}
