// The CPU reference of every kernel in ../../main/cuda/g2m_kernels.cu: the kernels' own per-element
// functions (g2m_math.cuh) called in plain loops that visit elements, pixels, channel groups and
// rows in the kernels' order. Two programs use it: host_twin.cpp (which the engine's
// KernelHostTwinTest compares with the Java CPU backend) and ../cuda/check_kernels.cu (which
// compares the kernels on a GPU with it). One function per kernel, same name without "g2m_",
// same arguments as the launch; outputs are written, never accumulated into.
#pragma once

#include "g2m_math.cuh"

#include <cstring>
#include <vector>

namespace g2m {
namespace host {  // its functions hide g2m's of the same name: those are called as g2m::…

const int SUMS_CHANNEL_GROUPS = 8;  // g2m_map_sums's SUMS_GROUPS: channel group y sums channels y, y+8, …

/** dx = dy·[y > 0]; dy, dx: [m, item] stacked, y: [n, item]. */
inline void relu_backward(const float* y, const float* dy, float* dx, long long item, int n, long long total) {
    for (long long i = 0; i < total; i++) {
        long long b = i / item, off = i - b * item;
        dx[i] = g2m::relu_backward(y[(b % n) * item + off], dy[i]);
    }
}

/** x: [n, c, h, w], dy: [m, c, h/2, w/2], dx: [m, c, h, w] = total elements. */
inline void maxpool2x2_backward(const float* x, const float* dy, float* dx, int n, int c, int h, int w, long long total) {
    long long hw = (long long) h * w, ohw = (long long) (h / 2) * (w / 2);
    for (long long i = 0; i < total; i++) {
        long long plane = i / hw, img = plane / c, ch = plane % c;
        int rq = (int) (i - plane * hw);
        dx[i] = g2m::maxpool2x2_backward(x + ((img % n) * c + ch) * hw, dy + plane * ohw, h, w, rq / w, rq % w);
    }
}

/** x: planes × [h, w], y: planes × [oh, ow] = total elements. */
inline void adaptive_avgpool_forward(const float* x, float* y, int h, int w, int oh, int ow, long long total) {
    long long out_plane = (long long) oh * ow;
    for (long long i = 0; i < total; i++) {
        long long plane = i / out_plane;
        int ij = (int) (i - plane * out_plane);
        y[i] = g2m::adaptive_avgpool_forward(x + plane * h * w, h, w, oh, ow, ij / ow, ij % ow);
    }
}

/** dy: planes × [oh, ow], dx: planes × [h, w] = total elements. */
inline void adaptive_avgpool_backward(const float* dy, float* dx, int h, int w, int oh, int ow, long long total) {
    long long in_plane = (long long) h * w;
    for (long long i = 0; i < total; i++) {
        long long plane = i / in_plane;
        int rq = (int) (i - plane * in_plane);
        dx[i] = g2m::adaptive_avgpool_backward(dy + plane * oh * ow, h, w, oh, ow, rq / w, rq % w);
    }
}

/** x: planes × [h, w], y: planes × [oh, ow] = total elements. */
inline void upsample_bilinear_ac(const float* x, float* y, int h, int w, int oh, int ow, long long total) {
    long long out_plane = (long long) oh * ow;
    for (long long i = 0; i < total; i++) {
        long long plane = i / out_plane;
        int yx = (int) (i - plane * out_plane);
        y[i] = g2m::upsample_bilinear_ac(x + plane * h * w, h, w, oh, ow, yx / ow, yx % ow);
    }
}

/** y[r, j] = b[j] for y [total / m, m]. */
inline void bias_rows(float* y, const float* b, int m, long long total) {
    for (long long i = 0; i < total; i++) y[i] = b[i % m];
}

/** The row's maximum and Σ exp(z − max), in double, in index order. */
inline void row_stats(const float* z, int m, double* mx, double* sum) {
    *mx = -INFINITY;
    for (int j = 0; j < m; j++) if ((double) z[j] > *mx) *mx = z[j];
    *sum = 0;
    for (int j = 0; j < m; j++) *sum += softmax_exp(z[j], *mx);
}

/** Row-wise softmax of z [rows, m] into p. */
inline void softmax_rows(const float* z, float* p, int rows, int m) {
    for (long long r = 0; r < rows; r++) {
        const float* zr = z + r * m;
        double mx, sum;
        row_stats(zr, m, &mx, &sum);
        for (int j = 0; j < m; j++) p[r * m + j] = (float) (softmax_exp(zr[j], mx) / sum);
    }
}

/** Seeds s [2n, m] for logits z [n, m] and classes [n]: rows r = e_c, rows n + r = softmax − 10·e_c. */
inline void backward_seeds(const float* z, const int* classes, float* s, int n, int m) {
    for (long long r = 0; r < n; r++) {
        const float* zr = z + r * m;
        double mx, sum;
        row_stats(zr, m, &mx, &sum);
        for (int j = 0; j < m; j++) {
            s[r * m + j] = seed_one_hot(j, classes[r]);
            s[(n + r) * m + j] = seed_softmax_minus_ten(softmax_exp(zr[j], mx), sum, j, classes[r]);
        }
    }
}

/** Grad-CAM family channel weights; a, g1: [n, c, hw]; cw: [n, c, CW_COUNT]. */
inline void channel_weights(const float* a, const float* g1, double* cw, int n, int c, int hw) {
    for (int img = 0; img < n; img++) {
        for (int ch = 0; ch < c; ch++) {
            long long base = ((long long) img * c + ch) * hw;
            double sa = 0, sg = 0, sga = 0, pp = 0;
            for (int p = 0; p < hw; p++) {
                sa += a[base + p];
                sg += g1[base + p];
                sga += (double) g1[base + p] * a[base + p];
            }
            for (int p = 0; p < hw; p++) pp += gradcampp_term(g1[base + p], sa);
            g2m::channel_weights(sa, sg, sga, pp, hw, cw + ((long long) img * c + ch) * CW_COUNT);
        }
    }
}

/** The per-pixel sums; a, g1, g2: [n, c, hw] (g2 read only with F_G2), cw read only with F_WEIGHTS; sums: [n, hw, NSLOTS]. */
inline void map_sums(const float* a, const float* g1, const float* g2, const double* cw, double* sums, int n, int c, int hw,
                     int flags) {
    long long chw = (long long) c * hw;
    for (int img = 0; img < n; img++) {
        const double* wimg = (flags & F_WEIGHTS) ? cw + (long long) img * c * CW_COUNT : nullptr;
        for (int p = 0; p < hw; p++) {
            double total[NSLOTS];
            zero_sums(total);
            for (int y = 0; y < SUMS_CHANNEL_GROUPS; y++) {
                double s[NSLOTS];
                zero_sums(s);
                for (int ch = y; ch < c; ch += SUMS_CHANNEL_GROUPS) {
                    long long o = (long long) img * chw + (long long) ch * hw + p;
                    accumulate(s, a[o], g1[o], (flags & F_G2) ? g2[o] : 0.f, flags, wimg ? wimg + (long long) ch * CW_COUNT : nullptr);
                }
                if (y == 0) {
                    std::memcpy(total, s, sizeof s);
                } else {
                    add_sums(total, s);
                }
            }
            std::memcpy(sums + ((long long) img * hw + p) * NSLOTS, total, sizeof total);
        }
    }
}

/** Per image: the norms from the pixel sums, then the k packed methods at every pixel; out: [n, k, hw]. */
inline void map_finish(const double* sums, float* out, int n, int hw, int k, int methods) {
    for (int img = 0; img < n; img++) {
        const double* s0 = sums + (long long) img * hw * NSLOTS;
        double sa = 0, s1 = 0, s2 = 0;
        for (int p = 0; p < hw; p++) {
            sa += s0[(long long) p * NSLOTS + S_AA];
            s1 += s0[(long long) p * NSLOTS + S_11];
            s2 += s0[(long long) p * NSLOTS + S_22];
        }
        double ia = inv_norm(sa), i1 = inv_norm(s1), i2 = inv_norm(s2);
        for (int p = 0; p < hw; p++) {
            for (int i = 0; i < k; i++) {
                out[((long long) img * k + i) * hw + p] = map_value(method_at(methods, i), s0 + (long long) p * NSLOTS, ia, i1, i2);
            }
        }
    }
}

}  // namespace host
}  // namespace g2m
