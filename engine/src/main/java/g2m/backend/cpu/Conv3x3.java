package g2m.backend.cpu;

import org.bytedeco.javacpp.FloatPointer;

import java.nio.FloatBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

/**
 * 3x3 stride-1 pad-1 convolution (forward, and backward to the input) as im2col + sgemm, cut
 * into <em>tiles</em>: the output columns of one sgemm, either a block of rows of one image or
 * several whole small images side by side. Every sgemm runs single-threaded on a pool thread.
 *
 * <p>With at least as many tiles as threads, each pool thread takes tiles one at a time (a shared
 * counter, so a thread that the OS preempts simply takes fewer) and does the whole tile: im2col
 * into its own slot of the column workspace, sgemm, bias (forward) or col2im (backward). With
 * fewer tiles (batch 1 at 14×14), im2col runs in parallel first, then each tile's sgemm is
 * split by its rows (output channels forward, input channels backward) across threads.
 *
 * <p>Backward: row blocks of one image overlap on the rows just outside each block. A tile
 * writes (not adds) the rows inside its block, so dx needs no zeroing, and keeps its two
 * outside rows per channel in a halo workspace; those are added afterwards, per (image,
 * channel), in block order.
 */
final class Conv3x3 {
    /** Fewer columns than this per tile are not worth another tile (the sgemm gets inefficient). */
    static final int MIN_TILE_COLUMNS = 128;

    private final CpuMemory memory;
    private final Parallel parallel;
    /** Aimed-at output positions per tile (CpuBackend.tileColumns: the tests vary it). */
    private final IntSupplier tileColumns;
    /** Heap scratch of the threads that run tiles (the pool's, and the caller's). */
    private final ThreadLocal<Im2col.Scratch> scratch = ThreadLocal.withInitial(Im2col.Scratch::new);

    Conv3x3(CpuMemory memory, Parallel parallel, IntSupplier tileColumns) {
        this.memory = memory;
        this.parallel = parallel;
        this.tileColumns = tileColumns;
    }

    /** How the n images of h×w are cut into tiles. */
    static final class Plan {
        final int n, h, w;
        /** Row-block tiles (g = 1) or groups of whole images. */
        final boolean rowBlocks;
        /** Images per group tile, or rows per block. */
        final int per;
        /** Row blocks per image (1 for groups). */
        final int blocks;
        final int tiles;
        final int maxCols;
        /** Pieces per tile sgemm (its rows split across threads); 1 when there are enough tiles. */
        final int slices;

        /**
         * Large images (h·w > tileColumns/2), or fewer images than threads: blocks of rows, about
         * tileColumns positions each, and at least one tile per thread while a block keeps
         * {@link #MIN_TILE_COLUMNS}. Otherwise groups of about tileColumns/(h·w) whole images,
         * fewer per group if that leaves a thread without a tile. Fewer tiles than threads: each
         * tile's sgemm is split into {@code slices} row ranges.
         */
        Plan(int n, int h, int w, int threads, int tileColumns) {
            this.n = n;
            this.h = h;
            this.w = w;
            long hw = (long) h * w;
            if (hw * 2 > tileColumns || n < threads) {
                int b = (int) Math.max(1, Math.round((double) hw / tileColumns));
                if ((long) n * b < threads) {
                    int want = (threads + n - 1) / n;
                    b = Math.max(b, (int) Math.min(want, Math.max(1, hw / MIN_TILE_COLUMNS)));
                }
                b = Math.min(b, h);
                int rb = (h + b - 1) / b;
                rowBlocks = true;
                per = rb;
                blocks = (h + rb - 1) / rb;
                tiles = n * blocks;
                maxCols = rb * w;
            } else {
                int g = (int) Math.max(1, Math.min(n, Math.round((double) tileColumns / hw)));
                if ((n + g - 1) / g < threads) g = Math.max(1, Math.min(g, n / threads));
                rowBlocks = false;
                per = g;
                blocks = 1;
                tiles = (n + g - 1) / g;
                maxCols = (int) (g * hw);
            }
            slices = tiles >= threads ? 1 : (threads + tiles - 1) / tiles;
        }

        int image(int t) {
            return rowBlocks ? t / blocks : t * per;
        }

        int images(int t) {
            return rowBlocks ? 1 : Math.min(per, n - t * per);
        }

        int y0(int t) {
            return rowBlocks ? (t % blocks) * per : 0;
        }

        int rows(int t) {
            return rowBlocks ? Math.min(per, h - y0(t)) : h;
        }

        int cols(int t) {
            return images(t) * rows(t) * w;
        }

        /** Whether the tile's output goes through the staging buffer (several images side by side). */
        boolean staged() {
            return !rowBlocks && per > 1;
        }
    }

    // ---------------------------------------------------------------- forward

    void forward(CpuArray x, CpuArray wt, CpuArray b, CpuArray y, int k) {
        int c = x.dim(1);
        Plan p = new Plan(x.dim(0), x.dim(2), x.dim(3), parallel.threads, tileColumns.getAsInt());
        int kk = 9 * c, hw = p.h * p.w;
        int slots = p.slices == 1 ? Math.min(parallel.threads, p.tiles) : p.tiles;
        long colSlot = (long) kk * p.maxCols, stageSlot = (long) k * p.maxCols;
        NativeBlock colWs = memory.workspace(CpuMemory.WS_COL, slots * colSlot, "conv3x3Forward");
        NativeBlock stageWs = p.staged() ? memory.workspace(CpuMemory.WS_STAGE, slots * stageSlot, "conv3x3Forward") : null;
        FloatBuffer xb = x.buffer(), yb = y.buffer(), bb = b.buffer(), col = colWs.buffer();
        FloatBuffer stage = stageWs == null ? null : stageWs.buffer();
        FloatPointer wp = wt.pointer(0);

        if (p.slices == 1) {
            AtomicInteger next = new AtomicInteger();
            parallel.forEach(slots, Long.MAX_VALUE / slots, s -> {
                int cs = (int) (s * colSlot);
                Im2col.Scratch sc = scratch.get();
                for (int t = next.getAndIncrement(); t < p.tiles; t = next.getAndIncrement()) {
                    int cols = p.cols(t);
                    for (int ch = 0; ch < c; ch++) im2colTile(p, t, ch, c, xb, col, cs, sc);
                    if (p.staged()) {
                        int ss = (int) (s * stageSlot);
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, cols, kk,
                                1f, wp, kk, colWs.at(cs), cols, 0f, stageWs.at(ss), cols);
                        for (int kc = 0; kc < k; kc++) scatter(p, t, kc, k, stage, ss, yb, bb, sc);
                    } else {
                        long out = ((long) p.image(t) * k) * hw + (long) p.y0(t) * p.w;
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, cols, kk,
                                1f, wp, kk, colWs.at(cs), cols, 0f, y.pointer(out), hw);
                        for (int kc = 0; kc < k; kc++) addConstant(yb, (int) out + kc * hw, cols, bb.get(kc), sc);
                    }
                }
            });
            return;
        }
        // few tiles: im2col everything, then split each tile's sgemm by output channels
        parallel.forEach(p.tiles * c, 9L * p.maxCols, u -> im2colTile(p, u / c, u % c, c, xb, col, (int) ((u / c) * colSlot), scratch.get()));
        int slices = Math.min(p.slices, k);
        parallel.forEach(p.tiles * slices, Long.MAX_VALUE / (p.tiles * slices), u -> {
            int t = u / slices, sl = u % slices, m0 = (int) ((long) sl * k / slices), m1 = (int) ((long) (sl + 1) * k / slices);
            int cols = p.cols(t);
            FloatPointer a = wt.pointer((long) m0 * kk), bcol = colWs.at(t * colSlot);
            if (p.staged()) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m1 - m0, cols, kk,
                        1f, a, kk, bcol, cols, 0f, stageWs.at(t * stageSlot + (long) m0 * cols), cols);
            } else {
                long out = ((long) p.image(t) * k + m0) * hw + (long) p.y0(t) * p.w;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m1 - m0, cols, kk,
                        1f, a, kk, bcol, cols, 0f, y.pointer(out), hw);
            }
        });
        parallel.forEach(p.tiles * k, p.maxCols, u -> {
            int t = u / k, kc = u % k;
            if (p.staged()) {
                scatter(p, t, kc, k, stage, (int) (t * stageSlot), yb, bb, scratch.get());
            } else {
                int out = (p.image(t) * k + kc) * hw + p.y0(t) * p.w;
                addConstant(yb, out, p.cols(t), bb.get(kc), scratch.get());
            }
        });
    }

    /** im2col of channel ch of every image of tile t into the column slot starting at cs (rows ld = cols apart). */
    private static void im2colTile(Plan p, int t, int ch, int c, FloatBuffer xb, FloatBuffer col, int cs, Im2col.Scratch sc) {
        int cols = p.cols(t), rows = p.rows(t), hw = p.h * p.w, img0 = p.image(t);
        for (int i = 0; i < p.images(t); i++) {
            Im2col.im2col(xb, ((img0 + i) * c + ch) * hw, p.h, p.w, p.y0(t), rows, col, cs + ch * 9 * cols + i * rows * p.w, cols, sc);
        }
    }

    /** Row kc of a staged tile's output (images side by side) to y, plus the bias. */
    private static void scatter(Plan p, int t, int kc, int k, FloatBuffer stage, int ss, FloatBuffer yb, FloatBuffer bb,
                                Im2col.Scratch sc) {
        int hw = p.h * p.w, cols = p.cols(t), img0 = p.image(t);
        float bias = bb.get(kc);
        for (int i = 0; i < p.images(t); i++) {
            int dst = ((img0 + i) * k + kc) * hw;
            float[] v = sc.b(hw);
            stage.get(ss + kc * cols + i * hw, v, 0, hw);
            for (int q = 0; q < hw; q++) v[q] += bias;
            yb.put(dst, v, 0, hw);
        }
    }

    static void addConstant(FloatBuffer buf, int off, int len, float v, Im2col.Scratch sc) {
        if (v == 0f) return;
        int chunk = Math.min(len, 4096);
        float[] tmp = sc.b(chunk);
        for (int p = 0; p < len; p += chunk) {
            int l = Math.min(chunk, len - p);
            buf.get(off + p, tmp, 0, l);
            for (int i = 0; i < l; i++) tmp[i] += v;
            buf.put(off + p, tmp, 0, l);
        }
    }

    // ---------------------------------------------------------------- backward to the input

    void backwardData(CpuArray dy, CpuArray wt, CpuArray dx, int c) {
        int k = dy.dim(1);
        Plan p = new Plan(dy.dim(0), dy.dim(2), dy.dim(3), parallel.threads, tileColumns.getAsInt());
        int kk = 9 * c, hw = p.h * p.w;
        int slots = p.slices == 1 ? Math.min(parallel.threads, p.tiles) : p.tiles;
        long colSlot = (long) kk * p.maxCols, stageSlot = (long) k * p.maxCols;
        NativeBlock colWs = memory.workspace(CpuMemory.WS_COL, slots * colSlot, "conv3x3BackwardData");
        NativeBlock stageWs = p.staged() ? memory.workspace(CpuMemory.WS_STAGE, slots * stageSlot, "conv3x3BackwardData") : null;
        boolean halos = p.rowBlocks && p.blocks > 1;
        long haloTile = 2L * c * p.w;
        NativeBlock haloWs = halos ? memory.workspace(CpuMemory.WS_HALO, p.tiles * haloTile, "conv3x3BackwardData") : null;
        FloatBuffer dyb = dy.buffer(), dxb = dx.buffer(), col = colWs.buffer();
        FloatBuffer stage = stageWs == null ? null : stageWs.buffer(), halo = haloWs == null ? null : haloWs.buffer();
        FloatPointer wp = wt.pointer(0);

        if (p.slices == 1) {
            AtomicInteger next = new AtomicInteger();
            parallel.forEach(slots, Long.MAX_VALUE / slots, s -> {
                int cs = (int) (s * colSlot);
                Im2col.Scratch sc = scratch.get();
                for (int t = next.getAndIncrement(); t < p.tiles; t = next.getAndIncrement()) {
                    int cols = p.cols(t);
                    if (p.staged()) {
                        int ss = (int) (s * stageSlot);
                        for (int kc = 0; kc < k; kc++) gather(p, t, kc, k, dyb, stage, ss);
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, cols, k,
                                1f, wp, kk, stageWs.at(ss), cols, 0f, colWs.at(cs), cols);
                    } else {
                        long in = (long) p.image(t) * k * hw + (long) p.y0(t) * p.w;
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, cols, k,
                                1f, wp, kk, dy.pointer(in), hw, 0f, colWs.at(cs), cols);
                    }
                    for (int ch = 0; ch < c; ch++) col2imTile(p, t, ch, c, col, cs, dxb, halo, haloTile, sc);
                }
            });
        } else {
            if (p.staged()) {
                parallel.forEach(p.tiles * k, p.maxCols, u -> gather(p, u / k, u % k, k, dyb, stage, (int) ((u / k) * stageSlot)));
            }
            int slices = Math.min(p.slices, c);
            parallel.forEach(p.tiles * slices, Long.MAX_VALUE / (p.tiles * slices), u -> {
                int t = u / slices, sl = u % slices, c0 = (int) ((long) sl * c / slices), c1 = (int) ((long) (sl + 1) * c / slices);
                int cols = p.cols(t);
                FloatPointer bmat;
                int ldb;
                if (p.staged()) {
                    bmat = stageWs.at(t * stageSlot);
                    ldb = cols;
                } else {
                    bmat = dy.pointer((long) p.image(t) * k * hw + (long) p.y0(t) * p.w);
                    ldb = hw;
                }
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 9 * (c1 - c0), cols, k,
                        1f, wt.pointer(9L * c0), kk, bmat, ldb, 0f, colWs.at(t * colSlot + 9L * c0 * cols), cols);
            });
            parallel.forEach(p.tiles * c, 9L * p.maxCols, u -> col2imTile(p, u / c, u % c, c, col, (int) ((u / c) * colSlot),
                    dxb, halo, haloTile, scratch.get()));
        }
        if (halos) {
            parallel.forEach(p.n * c, 2L * p.blocks * p.w, u -> {
                int img = u / c, ch = u % c;
                float[] acc = new float[p.w], seg = new float[p.w];
                for (int bl = 0; bl < p.blocks; bl++) {
                    int t = img * p.blocks + bl, y0 = p.y0(t), y1 = y0 + p.rows(t);
                    int ho = (int) (t * haloTile) + ch * 2 * p.w, plane = (img * c + ch) * hw;
                    if (y0 > 0) addRow(halo, ho, dxb, plane + (y0 - 1) * p.w, p.w, acc, seg);
                    if (y1 < p.h) addRow(halo, ho + p.w, dxb, plane + y1 * p.w, p.w, acc, seg);
                }
            });
        }
    }

    private static void addRow(FloatBuffer src, int so, FloatBuffer dst, int dOff, int w, float[] acc, float[] seg) {
        dst.get(dOff, acc, 0, w);
        src.get(so, seg, 0, w);
        for (int i = 0; i < w; i++) acc[i] += seg[i];
        dst.put(dOff, acc, 0, w);
    }

    /** Row kc of every image of tile t, from dy to the staging slot (images side by side). */
    private static void gather(Plan p, int t, int kc, int k, FloatBuffer dyb, FloatBuffer stage, int ss) {
        int hw = p.h * p.w, cols = p.cols(t), img0 = p.image(t);
        for (int i = 0; i < p.images(t); i++) stage.put(ss + kc * cols + i * hw, dyb, ((img0 + i) * k + kc) * hw, hw);
    }

    private static void col2imTile(Plan p, int t, int ch, int c, FloatBuffer col, int cs, FloatBuffer dxb,
                                   FloatBuffer halo, long haloTile, Im2col.Scratch sc) {
        int cols = p.cols(t), rows = p.rows(t), hw = p.h * p.w, img0 = p.image(t);
        int ho = halo == null ? -1 : (int) (t * haloTile) + ch * 2 * p.w;
        for (int i = 0; i < p.images(t); i++) {
            Im2col.col2im(col, cs + ch * 9 * cols + i * rows * p.w, cols, dxb, ((img0 + i) * c + ch) * hw,
                    p.h, p.w, p.y0(t), rows, halo, ho, sc);
        }
    }
}
