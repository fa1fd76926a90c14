package g2m.maps;

import java.util.List;

/**
 * The maps of {@link MapMethod} computed on the host, image by image: the CPU backend's
 * implementation and the twin that the CUDA map kernel is tested against. Norms and channel
 * sums accumulate in double.
 */
public final class CpuMaps {
    private CpuMaps() {}

    /**
     * a, g1, g2: [n, c, h, w] from the given offsets (g2 may be null when no method needs it);
     * out: [n, methods, h, w].
     */
    public static void compute(float[] a, float[] g1, float[] g2, int n, int c, int h, int w,
                               List<MapMethod> methods, float[] out) {
        int hw = h * w;
        int chw = c * hw;
        int m = methods.size();
        double[] acc = new double[hw];
        double[] weights = new double[c];
        for (int img = 0; img < n; img++) {
            int base = img * chw;
            double invA = invNorm(a, base, chw);
            double inv1 = invNorm(g1, base, chw);
            double inv2 = g2 == null ? 0 : invNorm(g2, base, chw);
            for (int k = 0; k < m; k++) {
                MapMethod method = methods.get(k);
                java.util.Arrays.fill(acc, 0);
                switch (method) {
                    case LAYERCAM -> {
                        for (int ch = 0; ch < c; ch++) {
                            int o = base + ch * hw;
                            for (int p = 0; p < hw; p++) acc[p] += Math.max(g1[o + p], 0f) * (double) a[o + p];
                        }
                        relu(acc);
                    }
                    case SGL_G1 -> {
                        for (int ch = 0; ch < c; ch++) {
                            int o = base + ch * hw;
                            for (int p = 0; p < hw; p++) {
                                double u = g1[o + p] * inv1;
                                acc[p] += (a[o + p] * invA + u) * u;
                            }
                        }
                    }
                    case SGL_G2 -> {
                        for (int ch = 0; ch < c; ch++) {
                            int o = base + ch * hw;
                            for (int p = 0; p < hw; p++) {
                                double v = g2[o + p] * inv2;
                                acc[p] += -v * (a[o + p] * invA - v);
                            }
                        }
                    }
                    case DGL -> {
                        for (int ch = 0; ch < c; ch++) {
                            int o = base + ch * hw;
                            for (int p = 0; p < hw; p++) {
                                acc[p] += g1[o + p] * inv1 * (a[o + p] * invA - g2[o + p] * inv2);
                            }
                        }
                    }
                    case HIRESCAM -> {
                        for (int ch = 0; ch < c; ch++) {
                            int o = base + ch * hw;
                            for (int p = 0; p < hw; p++) acc[p] += g1[o + p] * (double) a[o + p];
                        }
                        relu(acc);
                    }
                    case GRADCAM, GRADCAM_PP, XGRADCAM -> {
                        channelWeights(method, a, g1, base, c, hw, weights);
                        for (int ch = 0; ch < c; ch++) {
                            int o = base + ch * hw;
                            double wc = weights[ch];
                            if (wc == 0) continue;
                            for (int p = 0; p < hw; p++) acc[p] += wc * a[o + p];
                        }
                        relu(acc);
                    }
                }
                int ob = (img * m + k) * hw;
                for (int p = 0; p < hw; p++) out[ob + p] = (float) acc[p];
            }
        }
    }

    /** The Grad-CAM family's per-channel weights w_c (see {@link MapMethod}). */
    static void channelWeights(MapMethod method, float[] a, float[] g, int base, int c, int hw, double[] weights) {
        for (int ch = 0; ch < c; ch++) {
            int o = base + ch * hw;
            double w = 0;
            switch (method) {
                case GRADCAM -> {
                    for (int p = 0; p < hw; p++) w += g[o + p];
                    w /= hw;
                }
                case GRADCAM_PP -> {
                    double sumA = 0;
                    for (int p = 0; p < hw; p++) sumA += a[o + p];
                    for (int p = 0; p < hw; p++) {
                        double gi = g[o + p];
                        double g2 = gi * gi;
                        double den = 2 * g2 + sumA * g2 * gi;
                        if (den != 0 && gi > 0) w += (g2 / den) * gi;
                    }
                }
                case XGRADCAM -> {
                    double sumA = 0;
                    double sumGA = 0;
                    for (int p = 0; p < hw; p++) {
                        sumA += a[o + p];
                        sumGA += g[o + p] * (double) a[o + p];
                    }
                    w = sumA == 0 ? 0 : sumGA / sumA;
                }
                default -> throw new IllegalArgumentException(method + " has no channel weights");
            }
            weights[ch] = w;
        }
    }

    /** 1/‖x‖₂ over [base, base+len), or 0 for a zero (or non-finite) norm: unit(0) = 0. */
    static double invNorm(float[] x, int base, int len) {
        double s = 0;
        for (int i = base; i < base + len; i++) s += (double) x[i] * x[i];
        double norm = Math.sqrt(s);
        return norm > 0 && Double.isFinite(norm) ? 1 / norm : 0;
    }

    private static void relu(double[] v) {
        for (int i = 0; i < v.length; i++) if (!(v[i] > 0)) v[i] = 0;
    }
}
