package g2m.maps;

/**
 * The Grad-CAM family's per-channel weights w_c: unlike the per-pixel sums ({@link Slot}) each
 * depends on a whole channel plane, so they take a pass of their own before the sums (on the
 * GPU the kernel g2m_channel_weights). Same names, same order and the same two functions as
 * {@code enum ChannelWeight}, {@code gradcampp_term} and {@code channel_weights} in
 * kernels/src/main/cuda/g2m_math.cuh. The formulas are {@link MapMethod}'s.
 */
enum ChannelWeight {
    CW_GRADCAM, CW_GRADCAM_PP, CW_XGRADCAM;

    static final int COUNT = values().length;

    /** Grad-CAM++'s term for one gradient value, given Σ_hw A of its channel: α·ReLU(g), 0 where α's denominator is 0. */
    static double gradcamPpTerm(float g, double sumA) {
        double gi = g;
        double g2 = gi * gi;
        double den = 2 * g2 + sumA * g2 * gi;
        return den != 0 && gi > 0 ? (g2 / den) * gi : 0;
    }

    /**
     * A channel's weights from its plane sums over hw pixels (Σ A, Σ g1, Σ g1·A and Σ of
     * {@link #gradcamPpTerm}), into w[o + ordinal].
     */
    static void fromPlaneSums(double sumA, double sumG, double sumGA, double sumPP, int hw, double[] w, int o) {
        w[o + CW_GRADCAM.ordinal()] = sumG / hw;
        w[o + CW_GRADCAM_PP.ordinal()] = sumPP;
        w[o + CW_XGRADCAM.ordinal()] = sumA == 0 ? 0 : sumGA / sumA;
    }
}
