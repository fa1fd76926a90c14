// check_kernels: every kernel of ../../main/cuda/g2m_kernels.cu run on a GPU with generated inputs,
// validated against its CPU reference (../cpp/host_reference.h: the same g2m_math.cuh functions in
// plain loops) with a stated tolerance, then timed (cudaEvent around each of --repeats launches,
// after one warm-up; median and minimum). The element-wise kernels are validated twice, with the
// grid the engine launches and with a grid of 3 blocks (their grid-stride loops). Shapes are
// VGG16's at 224x224 (batch 8 with two backward right-hand sides, or batch 64) plus corner cases.
//
//   check_kernels [--repeats N]     (default 20)
// Exit: 0 every check passed; 1 a check failed or a CUDA call failed (one line naming the call);
// 2 bad arguments; 3 no usable GPU (one line). Built by kernels/build-check-kernels.sh with nvcc
// (CUDA runtime linked statically: the GPU host needs only the driver); run by
// benchmarks/gpu-run.sh device.
#include "host_reference.h"  // first: g2m_kernels.cu defines macros (SUMS_GROUPS, …)
#include "g2m_kernels.cu"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static_assert(g2m::host::SUMS_CHANNEL_GROUPS == SUMS_GROUPS, "the host reference sums channel groups as g2m_map_sums does");

// ---------------------------------------------------------------- CUDA calls, all checked

static void check_cuda(cudaError_t e, const char* what, int line) {
    if (e != cudaSuccess) {
        std::fprintf(stderr, "check_kernels: %s failed: %s (%s, check_kernels.cu:%d)\n", what, cudaGetErrorString(e),
                     cudaGetErrorName(e), line);
        std::exit(1);
    }
}
#define CK(call) check_cuda((call), #call, __LINE__)
// a launch: its configuration error now, its execution error at the next synchronization
#define LAUNCHED(what) check_cuda(cudaGetLastError(), what, __LINE__)

/** A device array of n elements; freed (checked) when it goes out of scope. */
template <typename T>
struct Dev {
    T* p = nullptr;
    size_t n;
    explicit Dev(size_t count) : n(count) {
        CK(cudaMalloc(&p, n * sizeof(T)));
    }
    Dev(const std::vector<T>& host) : Dev(host.size()) {
        CK(cudaMemcpy(p, host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
    }
    ~Dev() {
        CK(cudaFree(p));
    }
    Dev(const Dev&) = delete;
    Dev& operator=(const Dev&) = delete;
    /** Fills with 0xFF bytes (a NaN pattern) so that an element the kernel does not write shows. */
    void poison() {
        CK(cudaMemset(p, 0xFF, n * sizeof(T)));
    }
    std::vector<T> download() const {
        std::vector<T> h(n);
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
        return h;
    }
};

// ---------------------------------------------------------------- inputs

/** Deterministic inputs (splitmix64; Gaussians by Box-Muller). */
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() {
        return ((next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    }
    float gauss() {
        return (float) (std::sqrt(-2 * std::log(uniform())) * std::cos(6.283185307179586 * uniform()));
    }
    std::vector<float> gauss(size_t n) {
        std::vector<float> v(n);
        for (auto& x : v) x = gauss();
        return v;
    }
};

static std::vector<float> relu_of(std::vector<float> v) {
    for (auto& x : v) x = x > 0 ? x : 0.f;
    return v;
}

// ---------------------------------------------------------------- comparisons

/** How far a GPU output is from its reference, and whether that is within the check's tolerance. */
struct Verdict {
    bool pass = true;
    std::string detail;
};

/** Bit-for-bit equality (NaN payloads included). */
template <typename T>
static Verdict exact(const std::vector<T>& gpu, const std::vector<T>& ref) {
    size_t differ = 0, first = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        if (std::memcmp(&gpu[i], &ref[i], sizeof(T)) != 0 && differ++ == 0) first = i;
    }
    Verdict v;
    v.pass = differ == 0 && gpu.size() == ref.size();
    char buf[200];
    if (differ == 0) {
        std::snprintf(buf, sizeof buf, "to the bit, %zu values", ref.size());
    } else {
        std::snprintf(buf, sizeof buf, "%zu of %zu values differ (first at %zu: %.9g, reference %.9g)", differ, ref.size(), first,
                      (double) gpu[first], (double) ref[first]);
    }
    v.detail = buf;
    return v;
}

/** ‖gpu − ref‖ / ‖ref‖ over [from, to) (0 when both are 0). */
template <typename T>
static double rel_err(const std::vector<T>& gpu, const std::vector<T>& ref, size_t from, size_t to, size_t stride = 1, size_t offset = 0) {
    double num = 0, den = 0;
    for (size_t i = from + offset; i < to; i += stride) {
        double d = (double) gpu[i] - (double) ref[i];
        num += d * d;
        den += (double) ref[i] * ref[i];
    }
    if (den == 0) return num == 0 ? 0 : INFINITY;
    double e = std::sqrt(num / den);
    return e == e ? e : INFINITY;  // a NaN anywhere fails
}

static Verdict relative(double err, double tol, const char* what) {
    Verdict v;
    v.pass = err <= tol;
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s %.3g (tolerance %.0e)", what, err, tol);
    v.detail = buf;
    return v;
}

static Verdict both(Verdict a, const Verdict& b) {
    a.pass = a.pass && b.pass;
    a.detail += "; " + b.detail;
    return a;
}

// ---------------------------------------------------------------- launches and timing

/** The engine's grid for an element-wise kernel (g2m.backend.cuda.Kernels.linearBlocks), or a cap for the grid-stride check. */
static unsigned linear_blocks(long long total, long long cap = 1 << 20) {
    return (unsigned) std::min(cap, (total + G2M_BLOCK - 1) / G2M_BLOCK);
}

static int repeats = 20;
static int checks = 0;
static std::vector<std::string> failed;

/** Runs launch once (warm-up), then `repeats` times between two events each; returns median and minimum in ms. */
template <typename F>
static void time_launches(F launch, double* median, double* minimum) {
    launch();
    LAUNCHED("warm-up launch");
    CK(cudaDeviceSynchronize());
    cudaEvent_t start, stop;
    CK(cudaEventCreate(&start));
    CK(cudaEventCreate(&stop));
    std::vector<float> ms;
    for (int r = 0; r < repeats; r++) {
        CK(cudaEventRecord(start));
        launch();
        LAUNCHED("timed launch");
        CK(cudaEventRecord(stop));
        CK(cudaEventSynchronize(stop));
        float t = 0;
        CK(cudaEventElapsedTime(&t, start, stop));
        ms.push_back(t);
    }
    CK(cudaEventDestroy(start));
    CK(cudaEventDestroy(stop));
    std::sort(ms.begin(), ms.end());
    *median = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
    *minimum = ms.front();
}

/**
 * One check: validate() runs the kernel and compares (it may launch more than once), then
 * launch() is timed; bytes is what one launch reads and writes, for the bandwidth column.
 */
template <typename V, typename F>
static void check(const char* kernel, const std::string& shape, double bytes, V validate, F launch) {
    checks++;
    Verdict v = validate();
    CK(cudaDeviceSynchronize());
    double median = 0, minimum = 0;
    time_launches(launch, &median, &minimum);
    std::printf("%-4s %-26s %-34s median %9.4f ms  min %9.4f ms  %7.1f GB/s  | %s\n", v.pass ? "ok" : "FAIL", kernel, shape.c_str(),
                median, minimum, bytes / (median * 1e6), v.detail.c_str());
    std::fflush(stdout);
    if (!v.pass) failed.push_back(std::string(kernel) + " " + shape);
}

static std::string dims(std::initializer_list<long long> d) {
    std::string s = "[";
    for (long long x : d) s += (s.size() > 1 ? "," : "") + std::to_string(x);
    return s + "]";
}

// ---------------------------------------------------------------- the kernels

static void relu_backward(int n, int m, long long item) {
    Rng r(1);
    std::vector<float> y = relu_of(r.gauss((size_t) n * item)), dy = r.gauss((size_t) m * item);
    for (size_t i = 0; i < y.size(); i += 3) y[i] = 0.f;  // the boundary: y = 0 blocks the gradient
    long long total = (long long) m * item;
    std::vector<float> ref((size_t) total);
    g2m::host::relu_backward(y.data(), dy.data(), ref.data(), item, n, total);
    Dev<float> dY(y), dDy(dy), dDx((size_t) total);
    auto run = [&](long long cap) { g2m_relu_backward<<<linear_blocks(total, cap), G2M_BLOCK>>>(dY.p, dDy.p, dDx.p, item, n, total); };
    check("g2m_relu_backward", "y" + dims({n, item}) + " dy" + dims({m, item}), 12.0 * total,
          [&] {
              dDx.poison();
              run(1 << 20);
              LAUNCHED("g2m_relu_backward");
              Verdict v = exact(dDx.download(), ref);
              dDx.poison();
              run(3);
              LAUNCHED("g2m_relu_backward (3 blocks)");
              return both(v, exact(dDx.download(), ref));
          },
          [&] { run(1 << 20); });
}

static void maxpool2x2_backward(int n, int c, int h, int w, int m) {
    Rng r(2);
    std::vector<float> x = r.gauss((size_t) n * c * h * w), dy = r.gauss((size_t) m * c * (h / 2) * (w / 2));
    for (auto& v : x) v = std::round(v);                  // many ties within windows
    for (size_t i = 5; i < x.size(); i += 1009) x[i] = NAN;  // a NaN counts as the maximum
    long long total = (long long) m * c * h * w;
    std::vector<float> ref((size_t) total);
    g2m::host::maxpool2x2_backward(x.data(), dy.data(), ref.data(), n, c, h, w, total);
    Dev<float> dX(x), dDy(dy), dDx((size_t) total);
    auto run = [&](long long cap) { g2m_maxpool2x2_backward<<<linear_blocks(total, cap), G2M_BLOCK>>>(dX.p, dDy.p, dDx.p, n, c, h, w, total); };
    check("g2m_maxpool2x2_backward", "x" + dims({n, c, h, w}) + " m=" + std::to_string(m),
          4.0 * ((double) m / n * x.size() + dy.size() + total),
          [&] {
              dDx.poison();
              run(1 << 20);
              LAUNCHED("g2m_maxpool2x2_backward");
              Verdict v = exact(dDx.download(), ref);
              dDx.poison();
              run(3);
              LAUNCHED("g2m_maxpool2x2_backward (3 blocks)");
              return both(v, exact(dDx.download(), ref));
          },
          [&] { run(1 << 20); });
}

/** The adaptive pools and the align-corners upsampling: planes of h×w to planes of oh×ow (or back, for the pool's backward). */
enum PlaneOp { ADAPOOL_FWD, ADAPOOL_BWD, UPSAMPLE_AC };

static void plane_op(PlaneOp op, long long planes, int h, int w, int oh, int ow) {
    Rng r(3 + op);
    bool backward = op == ADAPOOL_BWD;
    long long in = planes * (backward ? (long long) oh * ow : (long long) h * w);
    long long total = planes * (backward ? (long long) h * w : (long long) oh * ow);
    std::vector<float> x = r.gauss((size_t) in), ref((size_t) total);
    const char* name = op == ADAPOOL_FWD ? "g2m_adaptive_avgpool_forward" : backward ? "g2m_adaptive_avgpool_backward" : "g2m_upsample_bilinear_ac";
    if (op == ADAPOOL_FWD) g2m::host::adaptive_avgpool_forward(x.data(), ref.data(), h, w, oh, ow, total);
    if (op == ADAPOOL_BWD) g2m::host::adaptive_avgpool_backward(x.data(), ref.data(), h, w, oh, ow, total);
    if (op == UPSAMPLE_AC) g2m::host::upsample_bilinear_ac(x.data(), ref.data(), h, w, oh, ow, total);
    Dev<float> dX(x), dY((size_t) total);
    auto run = [&](long long cap) {
        unsigned g = linear_blocks(total, cap);
        if (op == ADAPOOL_FWD) g2m_adaptive_avgpool_forward<<<g, G2M_BLOCK>>>(dX.p, dY.p, h, w, oh, ow, total);
        if (op == ADAPOOL_BWD) g2m_adaptive_avgpool_backward<<<g, G2M_BLOCK>>>(dX.p, dY.p, h, w, oh, ow, total);
        if (op == UPSAMPLE_AC) g2m_upsample_bilinear_ac<<<g, G2M_BLOCK>>>(dX.p, dY.p, h, w, oh, ow, total);
    };
    std::string shape = std::to_string(planes) + " planes " + std::to_string(h) + "x" + std::to_string(w) + (backward ? " <- " : " -> ") +
                        std::to_string(oh) + "x" + std::to_string(ow);
    check(name, shape, 4.0 * (in + total),
          [&] {
              dY.poison();
              run(1 << 20);
              LAUNCHED(name);
              Verdict v = exact(dY.download(), ref);
              dY.poison();
              run(3);
              LAUNCHED(name);
              return both(v, exact(dY.download(), ref));
          },
          [&] { run(1 << 20); });
}

static void bias_rows(int n, int m) {
    Rng r(7);
    std::vector<float> b = r.gauss((size_t) m), ref((size_t) n * m);
    long long total = (long long) n * m;
    g2m::host::bias_rows(ref.data(), b.data(), m, total);
    Dev<float> dB(b), dY((size_t) total);
    auto run = [&](long long cap) { g2m_bias_rows<<<linear_blocks(total, cap), G2M_BLOCK>>>(dY.p, dB.p, m, total); };
    check("g2m_bias_rows", "y" + dims({n, m}), 4.0 * (total + m),
          [&] {
              dY.poison();
              run(1 << 20);
              LAUNCHED("g2m_bias_rows");
              Verdict v = exact(dY.download(), ref);
              dY.poison();
              run(3);
              LAUNCHED("g2m_bias_rows (3 blocks)");
              return both(v, exact(dY.download(), ref));
          },
          [&] { run(1 << 20); });
}

// softmax and seeds: exp and the row sums in double, reduced in another order and with the GPU's exp: 1e-6 relative in float
static const double SOFTMAX_TOL = 1e-6;

static std::vector<float> logits(int rows, int m) {
    Rng r(8);
    std::vector<float> z = r.gauss((size_t) rows * m);
    for (auto& v : z) v *= 8;  // large logits: the max subtraction matters
    return z;
}

static void softmax_rows(int rows, int m) {
    std::vector<float> z = logits(rows, m), ref((size_t) rows * m);
    g2m::host::softmax_rows(z.data(), ref.data(), rows, m);
    Dev<float> dZ(z), dP(z.size());
    auto run = [&] { g2m_softmax_rows<<<rows, G2M_BLOCK>>>(dZ.p, dP.p, m); };
    check("g2m_softmax_rows", "z" + dims({rows, m}), 8.0 * z.size(),
          [&] {
              dP.poison();
              run();
              LAUNCHED("g2m_softmax_rows");
              std::vector<float> p = dP.download();
              return relative(rel_err(p, ref, 0, ref.size()), SOFTMAX_TOL, "relative error");
          },
          run);
}

static void backward_seeds(int n, int m) {
    std::vector<float> z = logits(n, m), ref((size_t) 2 * n * m);
    std::vector<int> classes((size_t) n);
    for (int i = 0; i < n; i++) classes[i] = (int) ((i * 37LL + (i == 1 ? m - 1 : 0)) % m);
    g2m::host::backward_seeds(z.data(), classes.data(), ref.data(), n, m);
    Dev<float> dZ(z), dS(ref.size());
    Dev<int> dC(classes);
    auto run = [&] { g2m_backward_seeds<<<n, G2M_BLOCK>>>(dZ.p, dC.p, dS.p, n, m); };
    check("g2m_backward_seeds", "z" + dims({n, m}), 4.0 * (z.size() + ref.size()),
          [&] {
              dS.poison();
              run();
              LAUNCHED("g2m_backward_seeds");
              std::vector<float> s = dS.download();
              size_t half = (size_t) n * m;
              Verdict one_hot = exact(std::vector<float>(s.begin(), s.begin() + half), std::vector<float>(ref.begin(), ref.begin() + half));
              one_hot.detail = "one-hot rows " + one_hot.detail;
              return both(one_hot, relative(rel_err(s, ref, half, s.size()), SOFTMAX_TOL, "softmax - 10 e_c rows, relative error"));
          },
          run);
}

/** A batch of tap activations and gradients for the maps kernels; image 0's gradients are dead (0), as is one of its channels' A. */
struct Tap {
    int n, c, hw;
    std::vector<float> a, g1, g2;
    Tap(int n_, int c_, int hw_) : n(n_), c(c_), hw(hw_) {
        Rng r(9);
        size_t size = (size_t) n * c * hw;
        a = relu_of(r.gauss(size));
        g1 = r.gauss(size);
        g2 = r.gauss(size);
        std::fill(g1.begin(), g1.begin() + (size_t) c * hw, 0.f);
        std::fill(g2.begin(), g2.begin() + (size_t) c * hw, 0.f);
        std::fill(a.begin() + (size_t) c * hw, a.begin() + (size_t) (c + 1) * hw, 0.f);  // image 1, channel 0: Σ A = 0 (XGrad-CAM's rule)
    }
    std::string shape() const {
        return "n=" + std::to_string(n) + " c=" + std::to_string(c) + " hw=" + std::to_string(hw);
    }
};

// Channel weights: sums over a plane in double, in another order (per-thread strides, then a tree): 1e-10 relative per kind
static const double WEIGHTS_TOL = 1e-10;

static void channel_weights(const Tap& t) {
    std::vector<double> ref((size_t) t.n * t.c * CW_COUNT);
    g2m::host::channel_weights(t.a.data(), t.g1.data(), ref.data(), t.n, t.c, t.hw);
    Dev<float> dA(t.a), dG(t.g1);
    Dev<double> dW(ref.size());
    auto run = [&] { g2m_channel_weights<<<dim3(t.c, t.n), G2M_BLOCK>>>(dA.p, dG.p, dW.p, t.c, t.hw); };
    check("g2m_channel_weights", t.shape(), 8.0 * t.a.size() + 8.0 * ref.size(),
          [&] {
              dW.poison();
              run();
              LAUNCHED("g2m_channel_weights");
              std::vector<double> w = dW.download();
              Verdict v;
              const char* kind[CW_COUNT] = {"Grad-CAM", "Grad-CAM++", "XGrad-CAM"};
              for (int k = 0; k < CW_COUNT; k++) {
                  Verdict e = relative(rel_err(w, ref, 0, ref.size(), CW_COUNT, k), WEIGHTS_TOL, kind[k]);
                  v = k == 0 ? e : both(v, e);
              }
              return v;
          },
          run);
}

// Per-pixel sums: the host reference adds channels in the kernel's order (8 groups, then the groups in
// order) and a product of two floats is exact in double, so an FMA rounds as the host does; the
// weighted sums (double weight × float) may round differently under FMA. Tolerance 1e-12 relative per
// slot; the detail says how many values are bit-identical.
static const double SUMS_TOL = 1e-12;

static void map_sums(const Tap& t, int flags) {
    std::vector<double> cw((size_t) t.n * t.c * CW_COUNT), ref((size_t) t.n * t.hw * NSLOTS);
    g2m::host::channel_weights(t.a.data(), t.g1.data(), cw.data(), t.n, t.c, t.hw);
    g2m::host::map_sums(t.a.data(), t.g1.data(), t.g2.data(), cw.data(), ref.data(), t.n, t.c, t.hw, flags);
    Dev<float> dA(t.a), dG1(t.g1), dG2(t.g2);
    Dev<double> dW(cw), dS(ref.size());
    auto run = [&] {
        g2m_map_sums<<<dim3((t.hw + SUMS_PIXELS - 1) / SUMS_PIXELS, t.n), dim3(SUMS_PIXELS, SUMS_GROUPS)>>>(dA.p, dG1.p, dG2.p, dW.p, dS.p,
                                                                                                        t.c, t.hw, flags);
    };
    int inputs = (flags & F_G2) ? 3 : 2;
    check("g2m_map_sums", t.shape() + " flags=" + std::to_string(flags), 4.0 * inputs * t.a.size() + 8.0 * ref.size(),
          [&] {
              dS.poison();
              run();
              LAUNCHED("g2m_map_sums");
              std::vector<double> s = dS.download();
              double worst = 0;
              const char* worst_slot = "";
              const char* names[NSLOTS] = {"S_RELU1_A", "S_1A", "S_11", "S_AA", "S_2A", "S_22", "S_12", "S_WGC", "S_WPP", "S_WX"};
              for (int k = 0; k < NSLOTS; k++) {
                  double e = rel_err(s, ref, 0, ref.size(), NSLOTS, k);
                  if (e > worst || (e == worst && !*worst_slot)) worst = e, worst_slot = names[k];
              }
              size_t same = 0;
              for (size_t i = 0; i < s.size(); i++) same += std::memcmp(&s[i], &ref[i], sizeof(double)) == 0;
              Verdict v = relative(worst, SUMS_TOL, (std::string("worst slot ") + worst_slot + ", relative error").c_str());
              v.detail += "; " + std::to_string(same) + " of " + std::to_string(s.size()) + " sums to the bit";
              return v;
          },
          run);
}

// Maps from the sums: the norms reduced in another order and map_value under FMA. Per (image, method)
// map: ‖gpu − ref‖ ≤ 1e-6·‖ref‖ + 1e-12·√hw (maps that cancel to rounding noise), and exactly 0
// where the reference map is 0 everywhere (dead taps) — KernelHostTwinTest's rule for the host twin.
static void map_finish(const Tap& t, int k, int methods) {
    int flags = F_G2 | F_WEIGHTS;
    std::vector<double> cw((size_t) t.n * t.c * CW_COUNT), sums((size_t) t.n * t.hw * NSLOTS);
    g2m::host::channel_weights(t.a.data(), t.g1.data(), cw.data(), t.n, t.c, t.hw);
    g2m::host::map_sums(t.a.data(), t.g1.data(), t.g2.data(), cw.data(), sums.data(), t.n, t.c, t.hw, flags);
    std::vector<float> ref((size_t) t.n * k * t.hw);
    g2m::host::map_finish(sums.data(), ref.data(), t.n, t.hw, k, methods);
    Dev<double> dS(sums);
    Dev<float> dOut(ref.size());
    auto run = [&] { g2m_map_finish<<<t.n, G2M_BLOCK>>>(dS.p, dOut.p, t.hw, k, methods); };
    char shape[80];
    std::snprintf(shape, sizeof shape, "n=%d hw=%d methods=%x", t.n, t.hw, (unsigned) methods);
    check("g2m_map_finish", shape, 8.0 * sums.size() + 4.0 * ref.size(),
          [&] {
              dOut.poison();
              run();
              LAUNCHED("g2m_map_finish");
              std::vector<float> out = dOut.download();
              Verdict v;
              int bad = 0, dead = 0;
              double worst = 0;
              for (int i = 0; i < t.n * k; i++) {
                  size_t from = (size_t) i * t.hw, to = from + t.hw;
                  double num = 0, den = 0;
                  for (size_t j = from; j < to; j++) {
                      double d = (double) out[j] - ref[j];
                      num += d * d;
                      den += (double) ref[j] * ref[j];
                  }
                  num = std::sqrt(num), den = std::sqrt(den);
                  bool ok = den == 0 ? num == 0 && std::all_of(out.begin() + from, out.begin() + to, [](float x) { return x == 0; })
                                     : num <= 1e-6 * den + 1e-12 * std::sqrt((double) t.hw);
                  dead += den == 0;
                  if (!ok || num != num) bad++;
                  if (den > 0) worst = std::max(worst, num / den);
              }
              v.pass = bad == 0;
              char buf[200];
              std::snprintf(buf, sizeof buf, "%d of %d maps outside 1e-6 relative + 1e-12*sqrt(hw) (worst relative %.3g; %d dead maps must be 0)", bad,
                            t.n * k, worst, dead);
              v.detail = buf;
              return v;
          },
          run);
}

int main(int argc, char** argv) {
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
            char* end;
            long r = std::strtol(argv[++i], &end, 10);
            if (*end || r < 1 || r > 10000) {
                std::fprintf(stderr, "check_kernels: --repeats takes 1..10000, got '%s'\n", argv[i]);
                return 2;
            }
            repeats = (int) r;
        } else {
            std::fprintf(stderr, "check_kernels: unknown argument '%s' (usage: check_kernels [--repeats N])\n", argv[i]);
            return 2;
        }
    }
    int count = 0, runtime = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    CK(cudaRuntimeGetVersion(&runtime));  // needs no driver
    if (e == cudaErrorInsufficientDriver) {
        std::fprintf(stderr, "check_kernels: no usable GPU: no NVIDIA driver on this machine, or one older than CUDA %d.%d\n",
                     runtime / 1000, runtime % 1000 / 10);
        return 3;
    }
    if (e != cudaSuccess || count == 0) {
        std::fprintf(stderr, "check_kernels: no usable GPU: %s\n", e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device found");
        return 3;
    }
    CK(cudaSetDevice(0));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    int driver = 0;
    CK(cudaDriverGetVersion(&driver));
    std::printf("check_kernels: %s (sm_%d%d, %.0f GiB), driver API %d.%d, runtime %d.%d; %d timed launches per kernel\n", prop.name, prop.major,
                prop.minor, prop.totalGlobalMem / 1073741824.0, driver / 1000, driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10, repeats);
    std::printf("tolerances: routing, pools, upsampling, bias, one-hot seeds to the bit; softmax %.0e; channel weights %.0e; "
                "map sums %.0e; maps 1e-6 (+1e-12*sqrt(hw), dead maps exactly 0)\n",
                SOFTMAX_TOL, WEIGHTS_TOL, SUMS_TOL);

    relu_backward(8, 16, 64LL * 224 * 224);  // conv1_2 output, two right-hand sides
    relu_backward(3, 6, 7);
    maxpool2x2_backward(8, 64, 224, 224, 16);
    maxpool2x2_backward(2, 3, 9, 7, 4);  // odd sizes: floor mode drops the last row and column
    plane_op(ADAPOOL_FWD, 64LL * 512, 7, 7, 7, 7);
    plane_op(ADAPOOL_FWD, 64LL * 512, 10, 10, 7, 7);  // overlapping bins
    plane_op(ADAPOOL_FWD, 4, 13, 9, 3, 4);
    plane_op(ADAPOOL_BWD, 64LL * 512, 10, 10, 7, 7);
    plane_op(ADAPOOL_BWD, 2, 1, 1, 7, 7);
    plane_op(UPSAMPLE_AC, 16LL * 64, 112, 112, 224, 224);  // layercam_loc's source at conv1_2
    plane_op(UPSAMPLE_AC, 16LL * 512, 7, 7, 14, 14);       // … and at conv5_3
    plane_op(UPSAMPLE_AC, 2, 5, 7, 33, 50);
    bias_rows(64, 4096);
    softmax_rows(64, 1000);
    backward_seeds(64, 1000);
    Tap conv5(64, 512, 14 * 14), conv1(8, 64, 224 * 224), odd(3, 37, 5 * 9);
    channel_weights(conv5);
    channel_weights(odd);
    map_sums(conv5, F_G2 | F_WEIGHTS);
    map_sums(conv1, F_G2);  // the G2M four
    map_sums(odd, F_WEIGHTS);
    map_finish(conv5, 8, 0x76543210);  // every method
    map_finish(conv1, 4, 0x3210);      // the G2M four
    map_finish(odd, 3, 0x053);         // reordered: DGL, Grad-CAM++, LayerCAM

    CK(cudaDeviceSynchronize());
    if (failed.empty()) {
        std::printf("check_kernels: all %d checks passed\n", checks);
        return 0;
    }
    std::string names;
    for (const auto& f : failed) names += (names.empty() ? "" : "; ") + f;
    std::printf("check_kernels: %zu of %d checks FAILED: %s\n", failed.size(), checks, names.c_str());
    return 1;
}
