// The arithmetic of the engine's CUDA kernels, as functions that compile both for the GPU
// (nvcc, __host__ __device__) and for the host (any C++17 compiler). The kernels in
// g2m_kernels.cu only map threads to elements and reduce across threads; everything they
// compute per element, pixel, channel or row is one of these functions. The host twin
// (src/test/cpp/host_twin.cpp) runs the same functions in plain loops, and the engine's
// KernelHostTwinTest checks them against the Java CPU backend (g2m.backend.cpu.CpuBackend,
// g2m.maps.CpuMaps), so the GPU-only part left unverified without a GPU is the thread mapping.
//
// Numerics follow the CPU twin: sums and norms in double from float inputs, the same
// division order where the CPU's result is exact (pools, seeds).
#pragma once

#include <math.h>

#ifdef __CUDACC__
#define G2M_HD __host__ __device__ __forceinline__
#else
#define G2M_HD inline
#endif

namespace g2m {

// ---------------------------------------------------------------- maps
// The maps as the Java twin states them (g2m.maps: MapMethod, Slot, ChannelWeight, MapsKernelArgs),
// with the same names in the same order (g2m.maps.MapsKernelArgsTest checks it): per-pixel channel
// sums (Slot), accumulated in one pass over A, g1 and g2, then each map's value from them
// (map_value, one line per method). The Grad-CAM family's channel weights depend on a whole
// channel plane: they take a pass of their own first (channel_weights).

// MapMethod's ordinals: the maps kernel is told which to write as 4-bit codes, slot i in bits 4i..4i+3.
enum Method {
    LAYERCAM = 0, SGL_G1 = 1, SGL_G2 = 2, DGL = 3, GRADCAM = 4, GRADCAM_PP = 5, XGRADCAM = 6, HIRESCAM = 7
};
const int MAX_METHODS = 8;

// Per-pixel channel sums that every map is a function of (see map_value). The per-image norms
// are sums of S_AA, S_11, S_22 over the pixels.
enum Slot {
    S_RELU1_A = 0,  // Σ_c ReLU(g1)·A
    S_1A = 1,       // Σ_c g1·A
    S_11 = 2,       // Σ_c g1², and over the pixels ‖g1‖²
    S_AA = 3,       // Σ_c A², and over the pixels ‖A‖²
    S_2A = 4,       // Σ_c g2·A
    S_22 = 5,       // Σ_c g2², and over the pixels ‖g2‖²
    S_12 = 6,       // Σ_c g1·g2
    S_WGC = 7,      // Σ_c w_c·A, Grad-CAM weights
    S_WPP = 8,      // Grad-CAM++ weights
    S_WX = 9,       // XGrad-CAM weights
    NSLOTS = 10
};

// flags of the maps kernels, derived on the host from the sums the requested maps read (MapsKernelArgs.flags)
const int F_G2 = 1;       // a map reads a sum of g2: g2 is given
const int F_WEIGHTS = 2;  // a map reads a weighted sum: channel weights are given

// channel weights, per (image, channel): [n][c][CW_COUNT]
enum ChannelWeight { CW_GRADCAM = 0, CW_GRADCAM_PP = 1, CW_XGRADCAM = 2, CW_COUNT = 3 };

const double G2M_DBL_MAX = 1.7976931348623157e308;

/** 1/‖T‖₂ from Σ T², or 0 when the norm is 0 or not finite: unit(0) = 0, so no map is NaN. */
G2M_HD double inv_norm(double sum_sq) {
    double n = sqrt(sum_sq);
    return (n > 0 && n <= G2M_DBL_MAX) ? 1.0 / n : 0.0;
}

/** ReLU as the CPU twin's: anything not > 0 (NaN included) is 0. */
G2M_HD double relu(double v) {
    return v > 0 ? v : 0.0;
}

/** Adds one channel's contribution at one pixel to the sums s[NSLOTS] (CpuMaps.accumulate). w: the channel's CW_COUNT weights, or null. */
G2M_HD void accumulate(double* s, float a, float g1, float g2, int flags, const double* w) {
    double da = a, d1 = g1;
    // Math.max(g1, 0f) in the twin: NaN passes through
    s[S_RELU1_A] += ((g1 > 0.f || g1 != g1) ? d1 : 0.0) * da;
    s[S_1A] += d1 * da;
    s[S_11] += d1 * d1;
    s[S_AA] += da * da;
    if (flags & F_G2) {
        double d2 = g2;
        s[S_2A] += d2 * da;
        s[S_22] += d2 * d2;
        s[S_12] += d1 * d2;
    }
    if ((flags & F_WEIGHTS) && w) {
        // the twin skips channels of weight 0 (so 0·inf adds nothing)
        if (w[CW_GRADCAM] != 0) s[S_WGC] += w[CW_GRADCAM] * da;
        if (w[CW_GRADCAM_PP] != 0) s[S_WPP] += w[CW_GRADCAM_PP] * da;
        if (w[CW_XGRADCAM] != 0) s[S_WX] += w[CW_XGRADCAM] * da;
    }
}

G2M_HD void zero_sums(double* s) {
    for (int i = 0; i < NSLOTS; i++) s[i] = 0;
}

/** s += t, slot by slot. */
G2M_HD void add_sums(double* s, const double* t) {
    for (int i = 0; i < NSLOTS; i++) s[i] += t[i];
}

/**
 * One map value at one pixel from its channel sums and the image's inverse norms: one line per
 * method, each MapMethod entry's formula (the expansions of unit(T) = T·inv_T are in MapMethod).
 */
G2M_HD float map_value(int method, const double* s, double invA, double inv1, double inv2) {
    double v = 0;
    switch (method) {
        case LAYERCAM: v = relu(s[S_RELU1_A]); break;
        case SGL_G1: v = invA * inv1 * s[S_1A] + inv1 * inv1 * s[S_11]; break;
        case SGL_G2: v = -(inv2 * invA) * s[S_2A] + inv2 * inv2 * s[S_22]; break;
        case DGL: v = inv1 * invA * s[S_1A] - inv1 * inv2 * s[S_12]; break;
        case GRADCAM: v = relu(s[S_WGC]); break;
        case GRADCAM_PP: v = relu(s[S_WPP]); break;
        case XGRADCAM: v = relu(s[S_WX]); break;
        case HIRESCAM: v = relu(s[S_1A]); break;
        default: v = 0; break;
    }
    return (float) v;
}

/** The method code in slot i of a packed method list. */
G2M_HD int method_at(int packed, int i) {
    return (packed >> (4 * i)) & 15;
}

/** Grad-CAM++'s term for one gradient value, given Σ_hw A of its channel: α·ReLU(g) with α = g²/(2g² + ΣA·g³), 0 where undefined (ChannelWeight.gradcamPpTerm). */
G2M_HD double gradcampp_term(float g, double sum_a) {
    double gi = g;
    double g2 = gi * gi;
    double den = 2 * g2 + sum_a * g2 * gi;
    return (den != 0 && gi > 0) ? (g2 / den) * gi : 0.0;
}

/** A channel's three weights from its plane sums: Σ A, Σ g1, Σ g1·A, Σ Grad-CAM++ terms, over hw pixels (ChannelWeight.fromPlaneSums). */
G2M_HD void channel_weights(double sum_a, double sum_g, double sum_ga, double sum_pp, int hw, double* w) {
    w[CW_GRADCAM] = sum_g / hw;
    w[CW_GRADCAM_PP] = sum_pp;
    w[CW_XGRADCAM] = sum_a == 0 ? 0.0 : sum_ga / sum_a;
}

// ---------------------------------------------------------------- layers

/** ReLU backward: dy where the forward output y > 0 (NaN excluded), else +0 (the CPU's mask). */
G2M_HD float relu_backward(float y, float dy) {
    return y > 0.f ? dy : 0.f;
}

/**
 * Offset (0, 1, w or w+1) of the maximum of the 2x2 window whose top-left element is x[p]:
 * the first strict maximum in row-major order, a NaN counts as a maximum (PyTorch's rule).
 */
G2M_HD int argmax2x2(const float* x, long long p, int w) {
    int best = 0;
    float m = x[p];
    float v = x[p + 1];
    if (v > m || v != v) { m = v; best = 1; }
    v = x[p + w];
    if (v > m || v != v) { m = v; best = w; }
    v = x[p + w + 1];
    if (v > m || v != v) best = w + 1;
    return best;
}

/**
 * Max-pool 2x2 backward at input element (r, q) of one plane: dy of its window if it is the
 * window's maximum, else 0; rows and columns dropped by floor mode get 0.
 */
G2M_HD float maxpool2x2_backward(const float* x_plane, const float* dy_plane, int h, int w, int r, int q) {
    int oh = h / 2, ow = w / 2;
    if (r >= 2 * oh || q >= 2 * ow) return 0.f;
    int i = r / 2, j = q / 2;
    int a = argmax2x2(x_plane, (long long) (2 * i) * w + 2 * j, w);
    int mine = (r - 2 * i) * w + (q - 2 * j);
    return a == mine ? dy_plane[(long long) i * ow + j] : 0.f;
}

/** PyTorch's adaptive-pool bin start, floor(i·in/out). */
G2M_HD int bin_start(int i, int in, int out) {
    return (int) (((long long) i * in) / out);
}

/** PyTorch's adaptive-pool bin end (exclusive), ceil((i+1)·in/out). */
G2M_HD int bin_end(int i, int in, int out) {
    return (int) (((long long) (i + 1) * in + out - 1) / out);
}

/** Adaptive average pool forward, output (i, j) of one plane: the bin's mean, summed in double. */
G2M_HD float adaptive_avgpool_forward(const float* x_plane, int h, int w, int oh, int ow, int i, int j) {
    int r0 = bin_start(i, h, oh), r1 = bin_end(i, h, oh);
    int c0 = bin_start(j, w, ow), c1 = bin_end(j, w, ow);
    double s = 0;
    for (int r = r0; r < r1; r++) {
        for (int q = c0; q < c1; q++) s += x_plane[(long long) r * w + q];
    }
    return (float) (s / ((r1 - r0) * (c1 - c0)));
}

/**
 * Adaptive average pool backward at input element (r, q) of one plane: the sum over the bins
 * holding it of dy / bin rows / bin columns, in float and in the CPU twin's order (bins by
 * row, then column), so the result is the twin's to the bit.
 */
G2M_HD float adaptive_avgpool_backward(const float* dy_plane, int h, int w, int oh, int ow, int r, int q) {
    float acc = 0.f;
    // the bins holding row r are i = floor(r·oh/h) … (bin starts grow with i); start one lower to be safe
    int i0 = (int) (((long long) r * oh) / h) - 1;
    if (i0 < 0) i0 = 0;
    int j0 = (int) (((long long) q * ow) / w) - 1;
    if (j0 < 0) j0 = 0;
    for (int i = i0; i < oh; i++) {
        int r0 = bin_start(i, h, oh), r1 = bin_end(i, h, oh);
        if (r0 > r) break;
        if (r >= r1) continue;
        for (int j = j0; j < ow; j++) {
            int c0 = bin_start(j, w, ow), c1 = bin_end(j, w, ow);
            if (c0 > q) break;
            if (q >= c1) continue;
            float g = dy_plane[(long long) i * ow + j] / (float) (r1 - r0) / (float) (c1 - c0);
            acc += g;
        }
    }
    return acc;
}

// ---------------------------------------------------------------- bilinear upsampling (align corners)

// Single-precision products and sums that nvcc may not fuse into an FMA (it does by default):
// the CPU twin rounds each product, so the GPU must too to agree to the bit.
#ifdef __CUDA_ARCH__
#define G2M_FMUL(a, b) __fmul_rn((a), (b))
#define G2M_FADD(a, b) __fadd_rn((a), (b))
#else
#define G2M_FMUL(a, b) ((a) * (b))
#define G2M_FADD(a, b) ((a) + (b))
#endif

/**
 * One axis of F.interpolate(bilinear, align_corners=True) at output index i of out: the source
 * indices i0, i1 and their weights l0 = 1 − λ, l1 = λ (the CPU twin's BilinearAlignCorners.axis).
 */
G2M_HD void align_corners_axis(int in, int out, int i, int* i0, int* i1, float* l0, float* l1) {
    float scale = out > 1 ? (float) (in - 1) / (float) (out - 1) : 0.f;
    float real = G2M_FMUL(scale, (float) i);
    int idx = (int) real;
    float lambda = real - (float) idx;
    lambda = lambda < 0.f ? 0.f : (lambda > 1.f ? 1.f : lambda);
    *i0 = idx;
    *i1 = idx + (idx < in - 1 ? 1 : 0);
    *l1 = lambda;
    *l0 = 1.f - lambda;
}

/** Output (y, x) of one h × w plane upsampled to oh × ow: λ0ʸ·(λ0ˣ·v00 + λ1ˣ·v01) + λ1ʸ·(λ0ˣ·v10 + λ1ˣ·v11). */
G2M_HD float upsample_bilinear_ac(const float* plane, int h, int w, int oh, int ow, int y, int x) {
    int y0, y1, x0, x1;
    float a, b, lx0, lx1;
    align_corners_axis(h, oh, y, &y0, &y1, &a, &b);
    align_corners_axis(w, ow, x, &x0, &x1, &lx0, &lx1);
    const float* r0 = plane + (long long) y0 * w;
    const float* r1 = plane + (long long) y1 * w;
    float top = G2M_FADD(G2M_FMUL(r0[x0], lx0), G2M_FMUL(r0[x1], lx1));
    float bottom = G2M_FADD(G2M_FMUL(r1[x0], lx0), G2M_FMUL(r1[x1], lx1));
    return G2M_FADD(G2M_FMUL(top, a), G2M_FMUL(bottom, b));
}

// ---------------------------------------------------------------- softmax and seeds

/** exp(z − max) of one logit, in double (the row's max and sum are reduced across threads). */
G2M_HD double softmax_exp(float z, double row_max) {
    return exp((double) z - row_max);
}

/**
 * Backward seeds of the spec for logit j of a row with target class cls: the one-hot e_c
 * (row r, for g1) and softmax − 10·e_c (row N + r, for g2).
 */
G2M_HD float seed_one_hot(int j, int cls) {
    return j == cls ? 1.f : 0.f;
}

G2M_HD float seed_softmax_minus_ten(double e, double sum, int j, int cls) {
    double p = e / sum;
    if (j == cls) p -= 10;
    return (float) p;
}

}  // namespace g2m
