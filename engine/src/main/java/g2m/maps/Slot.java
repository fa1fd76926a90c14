package g2m.maps;

/**
 * The per-pixel channel sums that every map is a function of (see {@link MapMethod}): one pass
 * over an image's A, g1 and g2 accumulates the ones the requested maps read ({@link CpuMaps};
 * on the GPU the kernel g2m_map_sums). Same names, same order as {@code enum Slot} in
 * kernels/src/main/cuda/g2m_math.cuh (KernelSignatureTest checks it). The image's norms come
 * from three of them summed over the pixels: ‖A‖² from S_AA, ‖g1‖² from S_11, ‖g2‖² from S_22,
 * so a map that uses invA, inv1 or inv2 reads S_AA, S_11 or S_22.
 */
enum Slot {
    /** Σ_c ReLU(g1)·A. */
    S_RELU1_A(false, null),
    /** Σ_c g1·A. */
    S_1A(false, null),
    /** Σ_c g1², and over the pixels ‖g1‖² (inv1). */
    S_11(false, null),
    /** Σ_c A², and over the pixels ‖A‖² (invA). */
    S_AA(false, null),
    /** Σ_c g2·A. */
    S_2A(true, null),
    /** Σ_c g2², and over the pixels ‖g2‖² (inv2). */
    S_22(true, null),
    /** Σ_c g1·g2. */
    S_12(true, null),
    /** Σ_c w_c·A with Grad-CAM's channel weights. */
    S_WGC(false, ChannelWeight.CW_GRADCAM),
    /** Σ_c w_c·A with Grad-CAM++'s channel weights. */
    S_WPP(false, ChannelWeight.CW_GRADCAM_PP),
    /** Σ_c w_c·A with XGrad-CAM's channel weights. */
    S_WX(false, ChannelWeight.CW_XGRADCAM);

    /** Whether the sum reads g2 (so a map reading it needs the second backward right-hand side). */
    final boolean readsG2;
    /** The channel weights it sums with, or null for a sum of products of A, g1, g2. */
    final ChannelWeight weight;

    Slot(boolean readsG2, ChannelWeight weight) {
        this.readsG2 = readsG2;
        this.weight = weight;
    }
}
