package g2m.backend.cpu;

import org.bytedeco.javacpp.FloatPointer;

import java.nio.FloatBuffer;
import java.util.concurrent.atomic.AtomicInteger;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

/**
 * 3x3 stride-1 pad-1 convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin and Gray,
 * 2016; interpolation points 0, ±1, ±2, ∞): each 4×4 output tile comes from a 6×6 input patch
 * with 36 multiplications per (input, output) channel pair instead of 144, so the products cost a
 * quarter of the direct convolution's.
 *
 * <p>Per chunk of tiles (a few rows of tiles, of one or several images), on one pool thread:
 * the input transform V[e][c][t] = (Bᵀ d B)[e] of every channel's patch, then for each of the 36
 * positions e one single-threaded sgemm M[e] = U[e] · V[e] (U[e][k][c] = (G g Gᵀ)[e], the
 * transformed weights, made once per weight array), then the output transform Aᵀ M A (+ bias,
 * + ReLU) into the output tile. Where that would leave each thread a narrow chunk (the 28×28 and
 * 56×56 layers at batch 1), all tiles form one chunk shared by the threads instead, each stage
 * split across them (by input channel, by e, by output channel): each sgemm is then as wide as
 * the picture and every U[e] is read once, not once per thread (on 2 Zen 4 cores conv4_2 at
 * batch 1 went from 14.1 to 11.1 ms, conv3_2 from 12.3–13.5 to 10.1–10.7). Backward to the
 * input is the same convolution of dy with the flipped, transposed kernel
 * (w'[c][k][i][j] = w[k][c][2−i][2−j]), whose transform is kept too.
 *
 * <p>The twin and reference is the direct definition (tests: WinogradTest, and the network
 * goldens); rounding is larger than direct summation's, measured there.
 */
final class Winograd43 {
    /** Output tile side (m) and input patch side (m + 2). */
    static final int M = 4, P = 6, E = P * P;
    /**
     * Weight-copy layout id in {@link DerivedWeights}: negative (oneDNN's are non-negative), and
     * with k in it, so a view of the same block with k and c swapped gets its own transform.
     */
    private static int layout(int k, boolean backward) {
        return -2 - 2 * k - (backward ? 1 : 0);
    }
    /**
     * Aimed-at bytes of one chunk's transformed input and output (V and M), and the fewest tiles
     * per chunk: the 36 sgemms' width. On 2 Zen 2 cores, 4 MB / 64 tiles ran the sgemms of the
     * 256- and 512-channel layers at 35–40 GFLOP/s per thread, 16 MB / 256 tiles at 55–65. With
     * 256 tiles at least, 4 MB makes every VGG16 layer's chunk 256 tiles; on 2 Zen 4 cores that ran
     * conv1_2 28–33 % faster than 16 MB's 784 tiles (batch 1 14.8 → 10.6 ms, batch 8 125 → 83),
     * conv2_1 and conv2_2 5–9 %; the wider layers' chunks were 256 tiles already.
     */
    static final long CHUNK_BYTES = 4L << 20;
    static final int MIN_CHUNK_TILES = 256;
    /** At most this many floats (256 MB) of V and M workspace in all, whatever the thread count (one slot, a chunk of at least one row of tiles, may exceed it). */
    static final long MAX_WORKSPACE_FLOATS = 64L << 20;

    private final CpuMemory memory;
    private final DerivedWeights derived;
    private final Parallel parallel;

    Winograd43(CpuMemory memory, DerivedWeights derived, Parallel parallel) {
        this.memory = memory;
        this.derived = derived;
        this.parallel = parallel;
    }

    void forward(CpuArray x, CpuArray w, CpuArray b, CpuArray y, boolean relu) {
        int k = w.dim(0), c = w.dim(1);
        FloatPointer u = derived.get(w, layout(k, false), (long) E * k * c * Float.BYTES, dst -> transformWeights(w.buffer(), k, c, false, dst));
        run(x, u, b == null ? null : b.buffer(), y, c, k, relu);
    }

    /** dx = the convolution of dy [n,k,h,w] with the flipped, transposed kernel; dx is overwritten. */
    void backwardData(CpuArray dy, CpuArray w, CpuArray dx) {
        int k = w.dim(0), c = w.dim(1);
        FloatPointer u = derived.get(w, layout(k, true), (long) E * k * c * Float.BYTES, dst -> transformWeights(w.buffer(), k, c, true, dst));
        run(dy, u, null, dx, k, c, false);
    }

    /** How the tile rows ("strips") of n images are grouped into chunks. */
    record Plan(int n, int h, int w, int cin, int cout) {
        int tilesH() {
            return (h + M - 1) / M;
        }

        int tilesW() {
            return (w + M - 1) / M;
        }

        int strips() {
            return n * tilesH();
        }

        int tiles() {
            return strips() * tilesW();
        }

        /**
         * One chunk shared by all threads: where an even share would be narrower than
         * MIN_CHUNK_TILES, and its V and M fit in MAX_WORKSPACE_FLOATS.
         */
        boolean sharedChunk(int threads) {
            return threads > 1 && tiles() < (long) threads * MIN_CHUNK_TILES && (long) E * (cin + cout) * tiles() <= MAX_WORKSPACE_FLOATS;
        }

        /**
         * Strips per chunk: about CHUNK_BYTES of V and M or MIN_CHUNK_TILES tiles, whichever is
         * more, but no more than an even share, with the chunk count rounded up to a multiple of
         * the threads so that they finish together.
         */
        int stripsPerChunk(int threads) {
            long perTile = (long) E * (cin + cout) * Float.BYTES;
            int tiles = (int) Math.max(MIN_CHUNK_TILES, CHUNK_BYTES / perTile);
            int want = Math.max(1, tiles / tilesW());
            int chunks = (strips() + want - 1) / want;
            chunks = Math.min(strips(), (chunks + threads - 1) / threads * threads);
            return (strips() + chunks - 1) / chunks;
        }
    }

    /** out [n,cout,h,w] = conv(in [n,cin,h,w]) with transformed weights u [36][cout][cin], plus bias, ReLU. */
    private void run(CpuArray in, FloatPointer u, FloatBuffer bias, CpuArray out, int cin, int cout, boolean relu) {
        Plan p = new Plan(in.dim(0), in.dim(2), in.dim(3), cin, cout);
        if (p.sharedChunk(parallel.threads)) runShared(p, in, u, bias, out, relu);
        else runChunked(p, in, u, bias, out, relu);
    }

    /** Every tile in one chunk, each stage split across the pool (see the class comment). */
    private void runShared(Plan p, CpuArray in, FloatPointer u, FloatBuffer bias, CpuArray out, boolean relu) {
        int cin = p.cin(), cout = p.cout(), tiles = p.tiles();
        long vSize = (long) E * cin * tiles;
        NativeBlock ws = memory.workspace(CpuMemory.WS_WINOGRAD, vSize + (long) E * cout * tiles, "Winograd convolution");
        FloatBuffer inb = in.buffer(), outb = out.buffer(), wsb = ws.buffer();
        parallel.forEach(cin, (long) E * tiles, ci -> inputTransform(p, inb, ci, 0, p.strips(), tiles, wsb, 0, scratch.get().fit(p, tiles)));
        parallel.forEach(E, (long) cout * cin * tiles, e -> product(u, ws, e, 0, vSize, cin, cout, tiles));
        parallel.forEach(cout, (long) E * tiles, co -> outputTransform(p, wsb, vSize, co, 0, p.strips(), tiles,
                bias == null ? 0f : bias.get(co), relu, outb, scratch.get().fit(p, tiles)));
    }

    /** M[e] = U[e] · V[e] for one chunk of tiles whose V starts at v0 and M at m0 in ws: one single-threaded sgemm. */
    private static void product(FloatPointer u, NativeBlock ws, int e, long v0, long m0, int cin, int cout, int tiles) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, tiles, cin,
                1f, u.getPointer((long) e * cout * cin), cin, ws.at(v0 + (long) e * cin * tiles), tiles,
                0f, ws.at(m0 + (long) e * cout * tiles), tiles);
    }

    /** Chunks of tile rows, each on one pool thread from input to output. */
    private void runChunked(Plan p, CpuArray in, FloatPointer u, FloatBuffer bias, CpuArray out, boolean relu) {
        int cin = p.cin(), cout = p.cout();
        int spc = p.stripsPerChunk(parallel.threads), chunks = (p.strips() + spc - 1) / spc;
        int maxTiles = spc * p.tilesW();
        long vSlot = (long) E * cin * maxTiles, mSlot = (long) E * cout * maxTiles;
        // on many cores the workspace is capped (the threads beyond it wait): MAX_WORKSPACE_FLOATS
        int slots = (int) Math.min(Math.min(parallel.threads, chunks), Math.max(1, MAX_WORKSPACE_FLOATS / (vSlot + mSlot)));
        NativeBlock ws = memory.workspace(CpuMemory.WS_WINOGRAD, slots * (vSlot + mSlot), "Winograd convolution");
        FloatBuffer inb = in.buffer(), outb = out.buffer(), wsb = ws.buffer();
        AtomicInteger next = new AtomicInteger();
        parallel.forEach(slots, Long.MAX_VALUE / slots, s -> {
            long v0 = s * (vSlot + mSlot), m0 = v0 + vSlot;
            Scratch sc = scratch.get().fit(p, maxTiles);
            for (int ch = next.getAndIncrement(); ch < chunks; ch = next.getAndIncrement()) {
                int s0 = ch * spc, s1 = Math.min(p.strips(), s0 + spc), tiles = (s1 - s0) * p.tilesW();
                for (int ci = 0; ci < cin; ci++) inputTransform(p, inb, ci, s0, s1, tiles, wsb, v0, sc);
                for (int e = 0; e < E; e++) product(u, ws, e, v0, m0, cin, cout, tiles);
                for (int co = 0; co < cout; co++) {
                    outputTransform(p, wsb, m0, co, s0, s1, tiles, bias == null ? 0f : bias.get(co), relu, outb, sc);
                }
            }
        });
    }

    /**
     * Per-thread heap rows, reused across calls and grown when a larger shape arrives: the 6 input
     * rows of a strip (padded) and their column transforms, one chunk's 36 rows of V or M, their
     * 24 rows of column transforms and 16 of output values (each row its own array, so the output
     * transform's loops vectorize), and a strip's 4 output rows.
     */
    private static final class Scratch {
        float[][] rows = new float[P][0], rowT = new float[P][0], e36 = new float[E][0], col = new float[M * P][0], o16 = new float[M * M][0];
        float[] outRows = new float[0];

        Scratch fit(Plan p, int maxTiles) {
            int width = p.tilesW() * M + 2;
            if (rows[0].length < width) {
                rows = new float[P][width];
                rowT = new float[P][width];
            }
            if (e36[0].length < maxTiles) {
                e36 = new float[E][maxTiles];
                col = new float[M * P][maxTiles];
                o16 = new float[M * M][maxTiles];
            }
            if (outRows.length < M * p.tilesW() * M) outRows = new float[M * p.tilesW() * M];
            return this;
        }
    }

    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    /**
     * Bᵀ (rows 4 0 −5 0 1 0 / 0 −4 −4 1 1 0 / 0 4 −4 −1 1 0 / 0 −2 −1 2 1 0 / 0 2 −1 −2 1 0 /
     * 0 4 0 −5 0 1) applied to d0..d5, the six results to o0[o] … o5[o].
     */
    private static void bt(float d0, float d1, float d2, float d3, float d4, float d5,
                           float[] o0, float[] o1, float[] o2, float[] o3, float[] o4, float[] o5, int o) {
        float a = d4 - 4f * d2, bb = d3 - 4f * d1, cc = d4 - d2, dd = 2f * (d3 - d1);
        o0[o] = 4f * d0 - 5f * d2 + d4;
        o1[o] = a + bb;
        o2[o] = a - bb;
        o3[o] = cc + dd;
        o4[o] = cc - dd;
        o5[o] = 4f * d1 - 5f * d3 + d5;
    }

    /** V[e][ci][t] = (Bᵀ d B)[e] of channel ci's patch of every tile t of strips [s0, s1). */
    private static void inputTransform(Plan p, FloatBuffer inb, int ci, int s0, int s1, int tiles, FloatBuffer wsb, long v0, Scratch sc) {
        int tw = p.tilesW(), th = p.tilesH(), width = tw * M + 2;
        float[][] r = sc.rows, t = sc.rowT, v = sc.e36;
        for (int s = s0; s < s1; s++) {
            int img = s / th, y0 = (s % th) * M - 1;
            long plane = ((long) img * p.cin + ci) * p.h * p.w;
            for (int i = 0; i < P; i++) {
                int yy = y0 + i;
                java.util.Arrays.fill(r[i], 0, width, 0f);
                if (yy >= 0 && yy < p.h) inb.get((int) (plane + (long) yy * p.w), r[i], 1, p.w);
            }
            // along the patch's columns (the image's rows): Bᵀ d for every x at once
            float[] r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4], r5 = r[5];
            for (int x = 0; x < width; x++) bt(r0[x], r1[x], r2[x], r3[x], r4[x], r5[x], t[0], t[1], t[2], t[3], t[4], t[5], x);
            // along the patch's rows, per tile: (Bᵀ d) B, into V's rows e = i·6 + q
            int tile0 = (s - s0) * tw;
            for (int i = 0; i < P; i++) {
                float[] ti = t[i], q0 = v[i * P], q1 = v[i * P + 1], q2 = v[i * P + 2], q3 = v[i * P + 3], q4 = v[i * P + 4], q5 = v[i * P + 5];
                for (int j = 0; j < tw; j++) {
                    int x = j * M;
                    bt(ti[x], ti[x + 1], ti[x + 2], ti[x + 3], ti[x + 4], ti[x + 5], q0, q1, q2, q3, q4, q5, tile0 + j);
                }
            }
        }
        for (int e = 0; e < E; e++) {
            wsb.put((int) (v0 + ((long) e * p.cin + ci) * tiles), v[e], 0, tiles);
        }
    }

    /**
     * Output channel co of strips [s0, s1): Aᵀ M A of every tile, plus the bias (and ReLU), into
     * out. Both stages run over all tiles at once, on rows that are separate arrays indexed alike
     * (a loop the JIT vectorizes: with offsets into one array it cannot rule out overlap); then
     * each tile's 4×4 is copied into place.
     */
    private static void outputTransform(Plan p, FloatBuffer wsb, long m0, int co, int s0, int s1, int tiles, float bias, boolean relu,
                                        FloatBuffer outb, Scratch sc) {
        float[][] m = sc.e36, col = sc.col, o16 = sc.o16;
        float[] o = sc.outRows;
        for (int e = 0; e < E; e++) wsb.get((int) (m0 + ((long) e * p.cout + co) * tiles), m[e], 0, tiles);
        // along the patch's columns: col[r·6 + jj] = (Aᵀ M)[r][jj]
        for (int jj = 0; jj < P; jj++) {
            at(m[jj], m[P + jj], m[2 * P + jj], m[3 * P + jj], m[4 * P + jj], m[5 * P + jj], 0f, col[jj], col[P + jj], col[2 * P + jj], col[3 * P + jj], tiles);
        }
        // along its rows: o16[r·4 + c] = ((Aᵀ M) A)[r][c] + bias
        for (int r = 0; r < M; r++) {
            int b = r * P, d = r * M;
            at(col[b], col[b + 1], col[b + 2], col[b + 3], col[b + 4], col[b + 5], bias, o16[d], o16[d + 1], o16[d + 2], o16[d + 3], tiles);
        }
        int tw = p.tilesW(), th = p.tilesH(), ow = tw * M;
        for (int s = s0; s < s1; s++) {
            int tile0 = (s - s0) * tw;
            for (int q = 0; q < M * M; q++) { // output row q / 4, column q % 4 of each tile of the strip
                float[] src = o16[q];
                int dst = (q / M) * ow + q % M;
                for (int j = 0; j < tw; j++) o[dst + j * M] = src[tile0 + j];
            }
            int img = s / th, y0 = (s % th) * M;
            long plane = ((long) img * p.cout + co) * p.h * p.w;
            for (int r = 0; r < M && y0 + r < p.h; r++) {
                int row = r * ow;
                if (relu) for (int i = row; i < row + p.w; i++) o[i] = Math.max(o[i], 0f);
                outb.put((int) (plane + (long) (y0 + r) * p.w), o, row, p.w);
            }
        }
    }

    /**
     * Aᵀ (rows 1 1 1 1 1 0 / 0 1 −1 2 −2 0 / 0 1 1 4 4 0 / 0 1 −1 8 −8 1) applied to the rows
     * m0…m5 element by element for the first n, plus add, into the rows o0…o3.
     */
    private static void at(float[] m0, float[] m1, float[] m2, float[] m3, float[] m4, float[] m5, float add,
                           float[] o0, float[] o1, float[] o2, float[] o3, int n) {
        for (int t = 0; t < n; t++) {
            float a = m1[t] + m2[t], bb = m3[t] + m4[t], cc = m1[t] - m2[t], dd = m3[t] - m4[t];
            o0[t] = m0[t] + a + bb + add;
            o1[t] = cc + 2f * dd + add;
            o2[t] = a + 4f * bb + add;
            o3[t] = cc + 8f * dd + m5[t] + add;
        }
    }

    /**
     * U[e][a][b] = (G g Gᵀ)[e] for every kernel g: forward a = k, b = c, g = w[k][c]; backward
     * a = c, b = k, g = w[k][c] flipped in both axes. Computed in double, stored float.
     */
    static void transformWeights(FloatBuffer w, int k, int c, boolean backward, FloatPointer dst) {
        int rowsA = backward ? c : k, colsB = backward ? k : c;
        float[] u = new float[E * rowsA * colsB];
        double[][] g = new double[3][3], gCols = new double[3][P];
        double[] row = new double[P];
        for (int kk = 0; kk < k; kk++) {
            for (int cc = 0; cc < c; cc++) {
                int base = (kk * c + cc) * 9;
                for (int i = 0; i < 3; i++) {
                    for (int j = 0; j < 3; j++) {
                        g[i][j] = backward ? w.get(base + (2 - i) * 3 + (2 - j)) : w.get(base + i * 3 + j);
                    }
                }
                for (int j = 0; j < 3; j++) gTimes(g[0][j], g[1][j], g[2][j], gCols[j]); // G g, column by column
                int a = backward ? cc : kk, b = backward ? kk : cc;
                for (int i = 0; i < P; i++) {
                    gTimes(gCols[0][i], gCols[1][i], gCols[2][i], row); // row i of (G g) Gᵀ
                    for (int j = 0; j < P; j++) u[((i * P + j) * rowsA + a) * colsB + b] = (float) row[j];
                }
            }
        }
        dst.put(u, 0, u.length);
    }

    /** G (rows 1/4 0 0 / −1/6 −1/6 −1/6 / −1/6 1/6 −1/6 / 1/24 1/12 1/6 / 1/24 −1/12 1/6 / 0 0 1) applied to (g0, g1, g2). */
    private static void gTimes(double g0, double g1, double g2, double[] out) {
        out[0] = g0 / 4;
        out[1] = -(g0 + g1 + g2) / 6;
        out[2] = -(g0 - g1 + g2) / 6;
        out[3] = g0 / 24 + g1 / 12 + g2 / 6;
        out[4] = g0 / 24 - g1 / 12 + g2 / 6;
        out[5] = g2;
    }
}
