// Host twin of the CUDA kernels in ../../main/cuda/g2m_kernels.cu for the engine's
// KernelHostTwinTest: runs one kernel's CPU reference (host_reference.h: the kernels' own
// per-element functions in loops that follow the kernels' order) on inputs from a file, so the
// test can compare the kernels' arithmetic with the Java CPU backend on a machine without a GPU.
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
#include "host_reference.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace g2m;

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
        host::relu_backward(y, dy, out.data(), item, (int) n, m * item);
    } else if (op == "maxpool_bwd" && argc == 9) {
        int n = (int) arg(argv, 4), c = (int) arg(argv, 5), h = (int) arg(argv, 6), w = (int) arg(argv, 7), m = (int) arg(argv, 8);
        long long hw = (long long) h * w, ohw = (long long) (h / 2) * (w / 2);
        const float* x = take<float>(n * c * hw);
        const float* dy = take<float>(m * c * ohw);
        out.resize(m * c * hw);
        host::maxpool2x2_backward(x, dy, out.data(), n, c, h, w, (long long) out.size());
    } else if ((op == "adapool_fwd" || op == "adapool_bwd" || op == "upsample_ac") && argc == 9) {
        long long planes = arg(argv, 4);
        int h = (int) arg(argv, 5), w = (int) arg(argv, 6), oh = (int) arg(argv, 7), ow = (int) arg(argv, 8);
        if (op == "adapool_bwd") {
            const float* dy = take<float>(planes * oh * ow);
            out.resize(planes * h * w);
            host::adaptive_avgpool_backward(dy, out.data(), h, w, oh, ow, (long long) out.size());
        } else {
            const float* x = take<float>(planes * h * w);
            out.resize(planes * oh * ow);
            if (op == "adapool_fwd") {
                host::adaptive_avgpool_forward(x, out.data(), h, w, oh, ow, (long long) out.size());
            } else {
                host::upsample_bilinear_ac(x, out.data(), h, w, oh, ow, (long long) out.size());
            }
        }
    } else if (op == "bias_rows" && argc == 6) {
        long long n = arg(argv, 4), m = arg(argv, 5);
        const float* b = take<float>(m);
        out.resize(n * m);
        host::bias_rows(out.data(), b, (int) m, n * m);
    } else if ((op == "softmax" || op == "seeds") && argc == 6) {
        long long rows = arg(argv, 4), m = arg(argv, 5);
        const float* z = take<float>(rows * m);
        if (op == "softmax") {
            out.resize(rows * m);
            host::softmax_rows(z, out.data(), (int) rows, (int) m);
        } else {
            const int* classes = take<int>(rows);
            out.resize(2 * rows * m);
            host::backward_seeds(z, classes, out.data(), (int) rows, (int) m);
        }
    } else if (op == "maps" && argc == 10) {
        int n = (int) arg(argv, 4), c = (int) arg(argv, 5), hw = (int) arg(argv, 6), flags = (int) arg(argv, 7);
        int k = (int) arg(argv, 8), methods = (int) arg(argv, 9);
        long long chw = (long long) c * hw;
        const float* a = take<float>(n * chw);
        const float* g1 = take<float>(n * chw);
        const float* g2 = (flags & F_G2) ? take<float>(n * chw) : nullptr;
        // the three kernels in the order CudaBackend launches them
        std::vector<double> cw((size_t) n * c * CW_COUNT);
        if (flags & F_WEIGHTS) host::channel_weights(a, g1, cw.data(), n, c, hw);
        std::vector<double> sums((size_t) n * hw * NSLOTS);
        host::map_sums(a, g1, g2, cw.data(), sums.data(), n, c, hw, flags);
        out.resize((size_t) n * k * hw);
        host::map_finish(sums.data(), out.data(), n, hw, k, methods);
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
