package g2m.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/** A parallel for-loop on a private ForkJoinPool (never the common pool). */
final class Parallel implements AutoCloseable {
    /** Below this many elements of work in all, a loop runs on the calling thread. */
    static final long MIN_PARALLEL_WORK = 1 << 15;

    final int threads;
    private final ForkJoinPool pool;

    Parallel(int threads) {
        this.threads = threads;
        this.pool = threads > 1 ? new ForkJoinPool(threads) : null;
    }

    /**
     * Runs {@code body} for every index in [0, n), in parallel when worthwhile.
     *
     * @param workPerIndex a rough element count per index, to keep tiny loops sequential
     */
    void forEach(int n, long workPerIndex, IntConsumer body) {
        if (n <= 0) return;
        if (pool == null || n == 1 || (long) n * workPerIndex < MIN_PARALLEL_WORK) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        int grain = Math.max(1, n / (threads * 4));
        pool.invoke(new Range(body, 0, n, grain));
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }

    private static final class Range extends RecursiveAction {
        private final IntConsumer body;
        private final int lo, hi, grain;

        Range(IntConsumer body, int lo, int hi, int grain) {
            this.body = body;
            this.lo = lo;
            this.hi = hi;
            this.grain = grain;
        }

        @Override
        protected void compute() {
            if (hi - lo <= grain) {
                for (int i = lo; i < hi; i++) body.accept(i);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Range(body, lo, mid, grain), new Range(body, mid, hi, grain));
        }
    }
}
