package g2m.maps;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The maps of {@link MapMethod} computed on the host, image by image: the CPU backend's
 * implementation and the twin that the CUDA maps kernels are tested against. Per image: the
 * Grad-CAM family's channel weights when a requested map reads them (a pass over each channel
 * plane), then one pass over A, g1 and g2 that adds every channel to the per-pixel sums the
 * requested maps read ({@link Slot}), the inverse norms from those sums, and each map's value
 * pixel by pixel ({@link MapMethod}'s formulas). The kernels do the same steps in the same
 * arithmetic (g2m_math.cuh); sums and norms are in double.
 */
public final class CpuMaps {
    private CpuMaps() {}

    /**
     * a, g1, g2: [n, c, h, w] (g2 may be null when no method {@link MapMethod#needsG2() needs} it);
     * out: [n, methods, h, w].
     */
    public static void compute(float[] a, float[] g1, float[] g2, int n, int c, int h, int w,
                               List<MapMethod> methods, float[] out) {
        int hw = h * w;
        int chw = c * hw;
        int k = methods.size();
        Set<Slot> slots = MapMethod.slotsOf(methods);
        if (g2 == null && slots.stream().anyMatch(s -> s.readsG2)) throw new IllegalArgumentException(methods + ": g2 is needed");
        boolean weighted = slots.stream().anyMatch(s -> s.weight != null);
        double[][] sums = new double[Slot.values().length][];
        for (Slot s : slots) sums[s.ordinal()] = new double[hw];
        double[] weights = weighted ? new double[c * ChannelWeight.COUNT] : null;
        Pixel pixel = new Pixel(sums);
        for (int img = 0; img < n; img++) {
            int base = img * chw;
            for (double[] s : sums) if (s != null) Arrays.fill(s, 0);
            if (weighted) channelWeights(a, g1, base, c, hw, weights);
            for (int ch = 0; ch < c; ch++) {
                accumulate(slots, sums, a, g1, g2, base + ch * hw, hw, weights, ch * ChannelWeight.COUNT);
            }
            double invA = invNorm(sums[Slot.S_AA.ordinal()]);
            double inv1 = invNorm(sums[Slot.S_11.ordinal()]);
            double inv2 = invNorm(sums[Slot.S_22.ordinal()]);
            for (int m = 0; m < k; m++) {
                MapMethod method = methods.get(m);
                int ob = (img * k + m) * hw;
                for (int p = 0; p < hw; p++) {
                    pixel.p = p;
                    out[ob + p] = (float) method.value(pixel, invA, inv1, inv2);
                }
            }
        }
    }

    /**
     * Adds one channel plane (elements o … o+hw of a, g1, g2) to the given sums, pixel by pixel:
     * each slot's term as g2m_math.cuh's accumulate computes it (products of floats in double).
     * w: the image's channel weights, this channel's from wo.
     */
    static void accumulate(Set<Slot> slots, double[][] sums, float[] a, float[] g1, float[] g2, int o, int hw,
                           double[] w, int wo) {
        for (Slot slot : slots) {
            double[] s = sums[slot.ordinal()];
            switch (slot) {
                case S_RELU1_A -> {
                    for (int p = 0; p < hw; p++) s[p] += Math.max(g1[o + p], 0f) * (double) a[o + p]; // NaN passes, as the kernel's
                }
                case S_1A -> {
                    for (int p = 0; p < hw; p++) s[p] += (double) g1[o + p] * a[o + p];
                }
                case S_11 -> {
                    for (int p = 0; p < hw; p++) s[p] += (double) g1[o + p] * g1[o + p];
                }
                case S_AA -> {
                    for (int p = 0; p < hw; p++) s[p] += (double) a[o + p] * a[o + p];
                }
                case S_2A -> {
                    for (int p = 0; p < hw; p++) s[p] += (double) g2[o + p] * a[o + p];
                }
                case S_22 -> {
                    for (int p = 0; p < hw; p++) s[p] += (double) g2[o + p] * g2[o + p];
                }
                case S_12 -> {
                    for (int p = 0; p < hw; p++) s[p] += (double) g1[o + p] * g2[o + p];
                }
                case S_WGC, S_WPP, S_WX -> {
                    double wc = w[wo + slot.weight.ordinal()];
                    if (wc == 0) continue; // so 0·inf adds nothing, as in the kernel
                    for (int p = 0; p < hw; p++) s[p] += wc * a[o + p];
                }
            }
        }
    }

    /**
     * The Grad-CAM family's weights of every channel of one image (base: its first element),
     * into w[ch·COUNT + ordinal]: the plane sums, then {@link ChannelWeight#fromPlaneSums}.
     */
    static void channelWeights(float[] a, float[] g1, int base, int c, int hw, double[] w) {
        for (int ch = 0; ch < c; ch++) {
            int o = base + ch * hw;
            double sumA = 0, sumG = 0, sumGA = 0;
            for (int p = 0; p < hw; p++) {
                sumA += a[o + p];
                sumG += g1[o + p];
                sumGA += (double) g1[o + p] * a[o + p];
            }
            double sumPP = 0; // Grad-CAM++'s terms need Σ A first
            for (int p = 0; p < hw; p++) sumPP += ChannelWeight.gradcamPpTerm(g1[o + p], sumA);
            ChannelWeight.fromPlaneSums(sumA, sumG, sumGA, sumPP, hw, w, ch * ChannelWeight.COUNT);
        }
    }

    /** 1/‖T‖₂ from a norm's per-pixel sums (null: not computed), or 0 for a zero or non-finite norm: unit(0) = 0. */
    static double invNorm(double[] pixelSums) {
        if (pixelSums == null) return 0;
        double s = 0;
        for (double v : pixelSums) s += v;
        double norm = Math.sqrt(s);
        return norm > 0 && Double.isFinite(norm) ? 1 / norm : 0;
    }

    /** The sums of one pixel, as a formula reads them. */
    private static final class Pixel implements MapMethod.PixelSums {
        final double[][] sums;
        int p;

        Pixel(double[][] sums) {
            this.sums = sums;
        }

        @Override
        public double get(Slot slot) {
            double[] s = sums[slot.ordinal()];
            if (s == null) throw new IllegalStateException("a map formula read " + slot + " without declaring it");
            return s[p];
        }
    }
}
