package g2m.backend.cpu;

import java.nio.FloatBuffer;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemv;

/**
 * The fully connected products in fp32 by OpenBLAS (the bf16 ones are {@link DnnlFc}'s): the
 * output (forward) or input (backward) features split into slices across the backend's pool,
 * each a single-threaded sgemm, or one sgemv per row at batch 1 (backward: per row within each
 * block of w's rows, so that w is read from memory once, and only the rows that some dy needs).
 * Arguments are checked by the backend.
 */
final class BlasFc {
    private final Parallel parallel;
    private final int threads;

    BlasFc(Parallel parallel, int threads) {
        this.parallel = parallel;
        this.threads = threads;
    }

    /** {@code y = x wᵀ + b}. */
    void forward(CpuArray x, CpuArray w, CpuArray b, CpuArray y) {
        int n = x.dim(0), mOut = w.dim(0), k = w.dim(1);
        FloatBuffer yb = y.buffer(), bb = b.buffer();
        for (int r = 0; r < n; r++) yb.put(r * mOut, bb, 0, mOut);
        // output features split across the pool: y[:, m0:m1] += x · w[m0:m1]ᵀ
        int slices = slices(mOut, (long) n * k);
        parallel.forEach(slices, Long.MAX_VALUE / slices, sl -> {
            int m0 = (int) ((long) sl * mOut / slices), m1 = (int) ((long) (sl + 1) * mOut / slices);
            if (n <= GEMV_ROWS) { // y[r, m0:m1] += w[m0:m1] · x[r]: streams w once per row
                for (int r = 0; r < n; r++) {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, m1 - m0, k, 1f, w.pointer((long) m0 * k), k,
                            x.pointer((long) r * k), 1, 1f, y.pointer((long) r * mOut + m0), 1);
                }
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m1 - m0, k,
                        1f, x.pointer(0), k, w.pointer((long) m0 * k), k, 1f, y.pointer(m0), mOut);
            }
        });
    }

    /**
     * Up to this many rows (batch 1: one forward row, two backward right-hand sides) a fully
     * connected product is one sgemv per row: OpenBLAS's sgemm packs the weights first, which at
     * so few rows doubles the memory traffic. Measured for fc6 on the 2-core VM: forward 1 row
     * 13–24 ms by sgemv against 39–52 ms by sgemm, backward 2 rows 23–36 against 41–55 ms.
     */
    static final int GEMV_ROWS = 2;
    /** Bytes of w read per block by the backward sgemvs of several rows: well inside a core's L2, so the second row's pass hits cache. */
    static final long GEMV_BLOCK_BYTES = 256 << 10;

    /** Pieces to split a product of {@code cols} output columns into: one per thread, unless it is tiny. */
    private int slices(int cols, long workPerColumn) {
        if ((long) cols * workPerColumn < (1 << 18)) return 1;
        return Math.max(1, Math.min(threads, cols / 16));
    }

    /** {@code dx = dy w}. */
    void backwardData(CpuArray dy, CpuArray w, CpuArray dx) {
        int n = dy.dim(0), mOut = w.dim(0), k = w.dim(1);
        // at batch 1, a row of w whose dy is zero in every right-hand side adds nothing: behind a
        // ReLU that is every inactive unit (about half of fc6's and fc7's on random weights), and
        // skipping those rows leaves their part of w unread
        boolean[] used = n <= GEMV_ROWS ? nonzeroColumns(dy, n, mOut) : null;
        // input features split across the pool: dx[:, k0:k1] = dy · w[:, k0:k1]
        int slices = slices(k, (long) n * mOut);
        FloatBuffer dxb = dx.buffer();
        parallel.forEach(slices, Long.MAX_VALUE / slices, sl -> {
            int k0 = (int) ((long) sl * k / slices), k1 = (int) ((long) (sl + 1) * k / slices);
            if (used != null) { // dx[r, k0:k1] = Σ over runs of used rows: w[run, k0:k1]ᵀ · dy[r, run]
                for (int r = 0; r < n; r++) for (int j = k0; j < k1; j++) dxb.put(r * k + j, 0f);
                // each run in pieces of w that stay in L2 while every r reads them, so w streams from
                // memory once, not n times (pieces of fewer than 4 rows, on very wide slices, would
                // rewrite dx per row: whole runs then)
                long fit = GEMV_BLOCK_BYTES / ((long) (k1 - k0) * Float.BYTES);
                int piece = n == 1 || fit < 4 ? mOut : (int) Math.min(mOut, fit);
                for (int i = 0, j; i < mOut; i = j) {
                    if (!used[i]) { j = i + 1; continue; }
                    for (j = i + 1; j < mOut && used[j] && j - i < piece; ) j++;
                    for (int r = 0; r < n; r++) {
                        cblas_sgemv(CblasRowMajor, CblasTrans, j - i, k1 - k0, 1f, w.pointer((long) i * k + k0), k,
                                dy.pointer((long) r * mOut + i), 1, 1f, dx.pointer((long) r * k + k0), 1);
                    }
                }
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k1 - k0, mOut,
                        1f, dy.pointer(0), mOut, w.pointer(k0), k, 0f, dx.pointer(k0), k);
            }
        });
    }

    /** Which of {@code dy}'s m columns hold a non-zero in some row. */
    private static boolean[] nonzeroColumns(CpuArray dy, int n, int m) {
        FloatBuffer b = dy.buffer();
        boolean[] used = new boolean[m];
        for (int r = 0; r < n; r++) for (int j = 0; j < m; j++) used[j] |= b.get(r * m + j) != 0f;
        return used;
    }
}
