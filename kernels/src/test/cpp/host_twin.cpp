// Host twin of the CUDA kernels in ../../main/cuda/g2m_kernels.cu: the same per-element
// functions (g2m_math.cuh), called in plain loops that visit elements, pixels, channel groups
// and rows in the kernels' order, so the engine's KernelHostTwinTest can check the kernels'
// arithmetic against the Java CPU backend on a machine without a GPU.
//
//   host_twin OP IN.bin OUT.bin ARGS...
// IN.bin holds the op's inputs back to back (float32 little-endian; the seeds' classes as
// int32), OUT.bin receives its float32 output. Ops and ARGS:
//   relu_bwd item n m            y [n·item], dy [m·item]            -> dx [m·item]
//   maxpool_bwd n c h w m        x [n,c,h,w], dy [m,c,h/2,w/2]     -> dx [m,c,h,w]
//   adapool_fwd planes h w oh ow x [planes,h,w]                     -> y [planes,oh,ow]
//   adapool_bwd planes h w oh ow dy [planes,oh,ow]                  -> dx [planes,h,w]
//   upsample_ac planes h w oh ow x [planes,h,w]                     -> y [planes,oh,ow]
//   bias_rows n m                b [m]                               -> y [n,m]
//   softmax rows m               z [rows,m]                          -> p [rows,m]
//   seeds n m                    z [n,m], classes int32 [n]          -> s [2n,m]
//   maps n c hw flags k methods  a, g1 [n,c,hw], g2 if flags&1       -> out [n,k,hw]
#include "g2m_math.cuh"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace g2m;

static const int SUMS_GROUPS = 8;  // as g2m_map_sums

static std::vector<char> input;
static size_t cursor = 0;

template <typename T>
static const T* take(long long count) {
    size_t bytes = (size_t) count * sizeof(T);
    if (cursor + bytes > input.size()) {
        std::fprintf(stderr, "host_twin: input too short (need %zu more bytes at %zu of %zu)\n", bytes, cursor, input.size());
        std::exit(3);
    }
    const T* p = reinterpret_cast<const T*>(input.data() + cursor);
    cursor += bytes;
    return p;
}

static long long arg(char** argv, int i) {
    return std::atoll(argv[i]);
}

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: host_twin OP IN.bin OUT.bin ARGS...\n");
        return 2;
    }
    std::string op = argv[1];
    FILE* in = std::fopen(argv[2], "rb");
    if (!in) {
        std::perror(argv[2]);
        return 2;
    }
    char buf[1 << 16];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, in)) > 0) input.insert(input.end(), buf, buf + got);
    std::fclose(in);
    std::vector<float> out;

    if (op == "relu_bwd" && argc == 7) {
        long long item = arg(argv, 4), n = arg(argv, 5), m = arg(argv, 6);
        const float* y = take<float>(n * item);
        const float* dy = take<float>(m * item);
        out.resize(m * item);
        for (long long i = 0; i < m * item; i++) {
            long long b = i / item, off = i - b * item;
            out[i] = relu_backward(y[(b % n) * item + off], dy[i]);
        }
    } else if (op == "maxpool_bwd" && argc == 9) {
        int n = (int) arg(argv, 4), c = (int) arg(argv, 5), h = (int) arg(argv, 6), w = (int) arg(argv, 7), m = (int) arg(argv, 8);
        long long hw = (long long) h * w, ohw = (long long) (h / 2) * (w / 2);
        const float* x = take<float>(n * c * hw);
        const float* dy = take<float>(m * c * ohw);
        out.resize(m * c * hw);
        for (long long i = 0; i < (long long) m * c * hw; i++) {
            long long plane = i / hw, img = plane / c, ch = plane % c;
            int rq = (int) (i - plane * hw);
            out[i] = maxpool2x2_backward(x + ((img % n) * c + ch) * hw, dy + plane * ohw, h, w, rq / w, rq % w);
        }
    } else if ((op == "adapool_fwd" || op == "adapool_bwd") && argc == 9) {
        long long planes = arg(argv, 4);
        int h = (int) arg(argv, 5), w = (int) arg(argv, 6), oh = (int) arg(argv, 7), ow = (int) arg(argv, 8);
        if (op == "adapool_fwd") {
            const float* x = take<float>(planes * h * w);
            out.resize(planes * oh * ow);
            for (long long i = 0; i < (long long) out.size(); i++) {
                long long plane = i / ((long long) oh * ow);
                int ij = (int) (i - plane * oh * ow);
                out[i] = adaptive_avgpool_forward(x + plane * h * w, h, w, oh, ow, ij / ow, ij % ow);
            }
        } else {
            const float* dy = take<float>(planes * oh * ow);
            out.resize(planes * h * w);
            for (long long i = 0; i < (long long) out.size(); i++) {
                long long plane = i / ((long long) h * w);
                int rq = (int) (i - plane * h * w);
                out[i] = adaptive_avgpool_backward(dy + plane * oh * ow, h, w, oh, ow, rq / w, rq % w);
            }
        }
    } else if (op == "upsample_ac" && argc == 9) {
        long long planes = arg(argv, 4);
        int h = (int) arg(argv, 5), w = (int) arg(argv, 6), oh = (int) arg(argv, 7), ow = (int) arg(argv, 8);
        const float* x = take<float>(planes * h * w);
        out.resize(planes * oh * ow);
        for (long long i = 0; i < (long long) out.size(); i++) {
            long long plane = i / ((long long) oh * ow);
            int yx = (int) (i - plane * oh * ow);
            out[i] = upsample_bilinear_ac(x + plane * h * w, h, w, oh, ow, yx / ow, yx % ow);
        }
    } else if (op == "bias_rows" && argc == 6) {
        long long n = arg(argv, 4), m = arg(argv, 5);
        const float* b = take<float>(m);
        out.resize(n * m);
        for (long long i = 0; i < n * m; i++) out[i] = b[i % m];
    } else if ((op == "softmax" || op == "seeds") && argc == 6) {
        long long rows = arg(argv, 4), m = arg(argv, 5);
        const float* z = take<float>(rows * m);
        const int* classes = op == "seeds" ? take<int>(rows) : nullptr;
        out.resize((classes ? 2 : 1) * rows * m);
        for (long long r = 0; r < rows; r++) {
            const float* zr = z + r * m;
            double mx = -INFINITY;
            for (long long j = 0; j < m; j++) if ((double) zr[j] > mx) mx = zr[j];
            double sum = 0;
            for (long long j = 0; j < m; j++) sum += softmax_exp(zr[j], mx);
            for (long long j = 0; j < m; j++) {
                if (!classes) {
                    out[r * m + j] = (float) (softmax_exp(zr[j], mx) / sum);
                } else {
                    out[r * m + j] = seed_one_hot((int) j, classes[r]);
                    out[(rows + r) * m + j] = seed_softmax_minus_ten(softmax_exp(zr[j], mx), sum, (int) j, classes[r]);
                }
            }
        }
    } else if (op == "maps" && argc == 10) {
        int n = (int) arg(argv, 4), c = (int) arg(argv, 5), hw = (int) arg(argv, 6), flags = (int) arg(argv, 7);
        int k = (int) arg(argv, 8), methods = (int) arg(argv, 9);
        long long chw = (long long) c * hw;
        const float* a = take<float>(n * chw);
        const float* g1 = take<float>(n * chw);
        const float* g2 = (flags & F_G2) ? take<float>(n * chw) : nullptr;
        // g2m_channel_weights
        std::vector<double> cw((size_t) n * c * CW_COUNT);
        if (flags & F_WEIGHTS) {
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
                    channel_weights(sa, sg, sga, pp, hw, &cw[((size_t) img * c + ch) * CW_COUNT]);
                }
            }
        }
        // g2m_map_sums: channel group y sums channels y, y+8, …; groups added in order
        std::vector<double> sums((size_t) n * hw * NSLOTS);
        for (int img = 0; img < n; img++) {
            const double* wimg = (flags & F_WEIGHTS) ? &cw[(size_t) img * c * CW_COUNT] : nullptr;
            for (int p = 0; p < hw; p++) {
                double total[NSLOTS];
                zero_sums(total);
                for (int y = 0; y < SUMS_GROUPS; y++) {
                    double s[NSLOTS];
                    zero_sums(s);
                    for (int ch = y; ch < c; ch += SUMS_GROUPS) {
                        long long o = (long long) img * chw + (long long) ch * hw + p;
                        accumulate(s, a[o], g1[o], g2 ? g2[o] : 0.f, flags, wimg ? wimg + (long long) ch * CW_COUNT : nullptr);
                    }
                    if (y == 0) {
                        std::memcpy(total, s, sizeof s);
                    } else {
                        add_sums(total, s);
                    }
                }
                std::memcpy(&sums[((size_t) img * hw + p) * NSLOTS], total, sizeof total);
            }
        }
        // g2m_map_finish
        out.resize((size_t) n * k * hw);
        for (int img = 0; img < n; img++) {
            const double* s0 = &sums[(size_t) img * hw * NSLOTS];
            double sa = 0, s1 = 0, s2 = 0;
            for (int p = 0; p < hw; p++) {
                sa += s0[(size_t) p * NSLOTS + S_AA];
                s1 += s0[(size_t) p * NSLOTS + S_11];
                s2 += s0[(size_t) p * NSLOTS + S_22];
            }
            double ia = inv_norm(sa), i1 = inv_norm(s1), i2 = inv_norm(s2);
            for (int p = 0; p < hw; p++) {
                for (int i = 0; i < k; i++) {
                    out[((size_t) img * k + i) * hw + p] = map_value(method_at(methods, i), s0 + (size_t) p * NSLOTS, ia, i1, i2);
                }
            }
        }
    } else {
        std::fprintf(stderr, "host_twin: unknown op or wrong argument count: %s (%d arguments)\n", op.c_str(), argc - 4);
        return 2;
    }
    if (cursor != input.size()) {
        std::fprintf(stderr, "host_twin: %zu input bytes left over\n", input.size() - cursor);
        return 3;
    }
    FILE* o = std::fopen(argv[3], "wb");
    if (!o || std::fwrite(out.data(), sizeof(float), out.size(), o) != out.size() || std::fclose(o) != 0) {
        std::perror(argv[3]);
        return 2;
    }
    return 0;
}
