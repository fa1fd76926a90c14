// The engine's own CUDA kernels: what cuDNN and cuBLAS do not do (or not as the CPU twin and
// PyTorch do): ReLU and max-pool backward on stacked right-hand sides with PyTorch's tie rule,
// PyTorch's adaptive average pool, the fc bias, softmax and the backward seeds, the maps, and
// PyTorch's align-corners bilinear resize (layercam_loc's gradient source).
//
// Launch contract (mirrored by g2m.backend.cuda.KernelSpec, checked against this file's PTX by
// KernelSignatureTest): extern "C" names; the element-wise kernels take any 1-D grid with
// 256-thread blocks and loop grid-stride; the row and plane kernels take one 256-thread block
// per row / plane; g2m_map_sums takes blocks of 32x8 threads. All per-element arithmetic is in
// g2m_math.cuh (shared with the host twin).
#include "g2m_math.cuh"

using namespace g2m;

#define G2M_BLOCK 256
#define SUMS_PIXELS 32
#define SUMS_GROUPS 8

#define GRID_STRIDE(i, total) \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (total); i += (long long) blockDim.x * gridDim.x)

// Tree reduction of red[0..G2M_BLOCK) into red[0]; every thread must call it; ends synchronized.
__device__ __forceinline__ void block_sum(double* red) {
    __syncthreads();
    for (int s = G2M_BLOCK / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
        __syncthreads();
    }
}

__device__ __forceinline__ void block_max(double* red) {
    __syncthreads();
    for (int s = G2M_BLOCK / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            double o = red[threadIdx.x + s];
            if (o > red[threadIdx.x]) red[threadIdx.x] = o;
        }
        __syncthreads();
    }
}

// ---------------------------------------------------------------- layers

/** dx = dy·[y > 0]; dy, dx: [m, item…] stacked, y: [n, item…]; dx may be dy. */
extern "C" __global__ void g2m_relu_backward(const float* y, const float* dy, float* dx, long long item, int n,
                                             long long total) {
    GRID_STRIDE(i, total) {
        long long b = i / item, off = i - b * item;
        dx[i] = relu_backward(y[(b % n) * item + off], dy[i]);
    }
}

/** Max-pool 2x2 backward; x: [n, c, h, w], dy: [m, c, h/2, w/2] (m a multiple of n), dx: [m, c, h, w] = total elements. */
extern "C" __global__ void g2m_maxpool2x2_backward(const float* __restrict__ x, const float* __restrict__ dy,
                                                   float* __restrict__ dx, int n, int c, int h, int w, long long total) {
    long long plane_size = (long long) h * w;
    long long out_plane = (long long) (h / 2) * (w / 2);
    GRID_STRIDE(i, total) {
        long long plane = i / plane_size;
        int rq = (int) (i - plane * plane_size);
        long long img = plane / c, ch = plane - img * c;
        const float* xp = x + ((img % n) * c + ch) * plane_size;
        dx[i] = maxpool2x2_backward(xp, dy + plane * out_plane, h, w, rq / w, rq % w);
    }
}

/** Adaptive average pool forward; x: planes × [h, w], y: planes × [oh, ow] = total elements. */
extern "C" __global__ void g2m_adaptive_avgpool_forward(const float* __restrict__ x, float* __restrict__ y, int h, int w,
                                                        int oh, int ow, long long total) {
    long long out_plane = (long long) oh * ow;
    GRID_STRIDE(i, total) {
        long long plane = i / out_plane;
        int ij = (int) (i - plane * out_plane);
        y[i] = adaptive_avgpool_forward(x + plane * h * w, h, w, oh, ow, ij / ow, ij % ow);
    }
}

/** Adaptive average pool backward; dy: planes × [oh, ow], dx: planes × [h, w] = total elements (overwritten). */
extern "C" __global__ void g2m_adaptive_avgpool_backward(const float* __restrict__ dy, float* __restrict__ dx, int h,
                                                         int w, int oh, int ow, long long total) {
    long long in_plane = (long long) h * w;
    GRID_STRIDE(i, total) {
        long long plane = i / in_plane;
        int rq = (int) (i - plane * in_plane);
        dx[i] = adaptive_avgpool_backward(dy + plane * oh * ow, h, w, oh, ow, rq / w, rq % w);
    }
}

/** Bilinear resize with align-corners; x: planes × [h, w], y: planes × [oh, ow] = total elements. */
extern "C" __global__ void g2m_upsample_bilinear_ac(const float* __restrict__ x, float* __restrict__ y, int h, int w,
                                                    int oh, int ow, long long total) {
    long long out_plane = (long long) oh * ow;
    GRID_STRIDE(i, total) {
        long long plane = i / out_plane;
        int yx = (int) (i - plane * out_plane);
        y[i] = upsample_bilinear_ac(x + plane * h * w, h, w, oh, ow, yx / ow, yx % ow);
    }
}

/** y[r, j] = b[j] for the rows of y [n, m] (total = n·m); the fc GEMM then adds x·wᵀ. */
extern "C" __global__ void g2m_bias_rows(float* __restrict__ y, const float* __restrict__ b, int m, long long total) {
    GRID_STRIDE(i, total) {
        y[i] = b[i % m];
    }
}

// ---------------------------------------------------------------- softmax and seeds (one block per row)

__device__ double row_max(const float* z, int m, double* red) {
    double mx = -INFINITY;
    for (int j = threadIdx.x; j < m; j += G2M_BLOCK) {
        double v = z[j];
        if (v > mx) mx = v;
    }
    red[threadIdx.x] = mx;
    block_max(red);
    double r = red[0];
    __syncthreads();  // red is reused by the caller
    return r;
}

__device__ double row_exp_sum(const float* z, int m, double mx, double* red) {
    double s = 0;
    for (int j = threadIdx.x; j < m; j += G2M_BLOCK) s += softmax_exp(z[j], mx);
    red[threadIdx.x] = s;
    block_sum(red);
    double r = red[0];
    __syncthreads();
    return r;
}

/** Row-wise softmax of z [rows, m] into p (p may be z). */
extern "C" __global__ void g2m_softmax_rows(const float* z, float* p, int m) {
    __shared__ double red[G2M_BLOCK];
    long long row = blockIdx.x;
    const float* zr = z + row * m;
    double mx = row_max(zr, m, red);
    double sum = row_exp_sum(zr, m, mx, red);
    for (int j = threadIdx.x; j < m; j += G2M_BLOCK) p[row * m + j] = (float) (softmax_exp(zr[j], mx) / sum);
}

/** Seeds s [2n, m] for logits z [n, m] and classes [n]: rows r = e_c, rows n + r = softmax − 10·e_c. */
extern "C" __global__ void g2m_backward_seeds(const float* __restrict__ z, const int* __restrict__ classes,
                                              float* __restrict__ s, int n, int m) {
    __shared__ double red[G2M_BLOCK];
    long long row = blockIdx.x;
    const float* zr = z + row * m;
    int cls = classes[row];
    double mx = row_max(zr, m, red);
    double sum = row_exp_sum(zr, m, mx, red);
    float* one_hot = s + row * m;
    float* soft = s + (n + row) * m;
    for (int j = threadIdx.x; j < m; j += G2M_BLOCK) {
        one_hot[j] = seed_one_hot(j, cls);
        soft[j] = seed_softmax_minus_ten(softmax_exp(zr[j], mx), sum, j, cls);
    }
}

// ---------------------------------------------------------------- maps

/**
 * Grad-CAM family channel weights, one block per (channel, image): grid (c, n). a, g1:
 * [n, c, hw]; cw: [n, c, CW_COUNT] doubles.
 */
extern "C" __global__ void g2m_channel_weights(const float* __restrict__ a, const float* __restrict__ g1,
                                               double* __restrict__ cw, int c, int hw) {
    __shared__ double red[4][G2M_BLOCK];
    int ch = blockIdx.x, img = blockIdx.y, t = threadIdx.x;
    long long base = ((long long) img * c + ch) * hw;
    double sa = 0, sg = 0, sga = 0;
    for (int p = t; p < hw; p += G2M_BLOCK) {
        float av = a[base + p], gv = g1[base + p];
        sa += av;
        sg += gv;
        sga += (double) gv * av;
    }
    red[0][t] = sa;
    red[1][t] = sg;
    red[2][t] = sga;
    __syncthreads();
    for (int s = G2M_BLOCK / 2; s > 0; s >>= 1) {
        if (t < s) {
            red[0][t] += red[0][t + s];
            red[1][t] += red[1][t + s];
            red[2][t] += red[2][t + s];
        }
        __syncthreads();
    }
    double sum_a = red[0][0];
    double pp = 0;  // Grad-CAM++ needs Σ A first: a second pass over the (cached) plane
    for (int p = t; p < hw; p += G2M_BLOCK) pp += gradcampp_term(g1[base + p], sum_a);
    red[3][t] = pp;
    block_sum(red[3]);
    if (t == 0) channel_weights(sum_a, red[1][0], red[2][0], red[3][0], hw, cw + ((long long) img * c + ch) * CW_COUNT);
}

/**
 * The single pass over A, g1 and g2: per pixel, every channel sum that the requested maps
 * (and the per-image norms) need. Grid (ceil(hw/32), n), blocks of 32 pixels × 8 channel
 * groups; group y sums channels y, y+8, …, then the 8 partial sums are added in group order.
 * a, g1, g2: [n, c, hw] (g2 read only with F_G2); cw: channel weights (read only with
 * F_WEIGHTS); sums: [n, hw, NSLOTS] doubles.
 */
extern "C" __global__ void __launch_bounds__(SUMS_PIXELS * SUMS_GROUPS)
g2m_map_sums(const float* __restrict__ a, const float* __restrict__ g1, const float* __restrict__ g2,
             const double* __restrict__ cw, double* __restrict__ sums, int c, int hw, int flags) {
    __shared__ double part[SUMS_GROUPS][SUMS_PIXELS][NSLOTS];
    int tx = threadIdx.x, ty = threadIdx.y, img = blockIdx.y;
    int p = blockIdx.x * SUMS_PIXELS + tx;
    double s[NSLOTS];
    zero_sums(s);
    if (p < hw) {
        long long base = (long long) img * c * hw;
        const double* wimg = (flags & F_WEIGHTS) ? cw + (long long) img * c * CW_COUNT : nullptr;
        bool has_g2 = (flags & F_G2) != 0;
        for (int ch = ty; ch < c; ch += SUMS_GROUPS) {
            long long o = base + (long long) ch * hw + p;
            accumulate(s, a[o], g1[o], has_g2 ? g2[o] : 0.f, flags, wimg ? wimg + (long long) ch * CW_COUNT : nullptr);
        }
    }
    for (int k = 0; k < NSLOTS; k++) part[ty][tx][k] = s[k];
    __syncthreads();
    if (ty == 0 && p < hw) {
        for (int y = 1; y < SUMS_GROUPS; y++) add_sums(s, part[y][tx]);
        double* out = sums + ((long long) img * hw + p) * NSLOTS;
        for (int k = 0; k < NSLOTS; k++) out[k] = s[k];
    }
}

/**
 * Per image (one block each): the norms of A, g1, g2 from the pixel sums, then every requested
 * map at every pixel. out: [n, k, hw]; methods: k 4-bit method codes (see g2m_math.cuh).
 */
extern "C" __global__ void g2m_map_finish(const double* __restrict__ sums, float* __restrict__ out, int hw, int k,
                                          int methods) {
    __shared__ double red[3][G2M_BLOCK];
    __shared__ double inv[3];
    int img = blockIdx.x, t = threadIdx.x;
    const double* s0 = sums + (long long) img * hw * NSLOTS;
    double sa = 0, s1 = 0, s2 = 0;
    for (int p = t; p < hw; p += G2M_BLOCK) {
        const double* s = s0 + (long long) p * NSLOTS;
        sa += s[S_AA];
        s1 += s[S_11];
        s2 += s[S_22];
    }
    red[0][t] = sa;
    red[1][t] = s1;
    red[2][t] = s2;
    __syncthreads();
    for (int s = G2M_BLOCK / 2; s > 0; s >>= 1) {
        if (t < s) {
            red[0][t] += red[0][t + s];
            red[1][t] += red[1][t + s];
            red[2][t] += red[2][t + s];
        }
        __syncthreads();
    }
    if (t == 0) {
        inv[0] = inv_norm(red[0][0]);
        inv[1] = inv_norm(red[1][0]);
        inv[2] = inv_norm(red[2][0]);
    }
    __syncthreads();
    for (int p = t; p < hw; p += G2M_BLOCK) {
        const double* s = s0 + (long long) p * NSLOTS;
        for (int i = 0; i < k; i++) {
            out[((long long) img * k + i) * hw + p] = map_value(method_at(methods, i), s, inv[0], inv[1], inv[2]);
        }
    }
}
