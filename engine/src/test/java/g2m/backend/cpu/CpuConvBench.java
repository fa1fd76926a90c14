package g2m.backend.cpu;

import g2m.backend.DeviceArray;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.presets.openblas_nolapack;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

/**
 * conv3x3Forward / BackwardData GFLOP/s at VGG16 shapes (2·N·K·C·9·H·W flops), next to one
 * plain sgemm of the whole layer (M=K, N=H·W, K=9C, OpenBLAS-threaded) for scale. Not a test: run
 * {@code java -cp … g2m.backend.cpu.CpuConvBench [threads] [tileColumns,…]} or the tagged test
 * with {@code -Dg2m.perf=true}.
 */
public final class CpuConvBench {
    static final int[][] SHAPES = { // name index, C, K, H=W
            {0, 64, 64, 224}, {1, 256, 256, 56}, {2, 512, 512, 14}};
    static final String[] NAMES = {"conv1_2", "conv3_2", "conv5_1"};

    @Test
    @Tag("perf")
    @EnabledIfSystemProperty(named = "g2m.perf", matches = "true")
    void perf() {
        main(new String[0]);
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        int[] tiles = args.length > 1 ? Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[]{CpuBackend.TILE_COLUMNS};
        int[] batches = args.length > 2 ? Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray() : new int[]{1, 8};
        try (CpuBackend be = new CpuBackend(threads)) {
            System.out.println(be.description());
            Random rnd = new Random(1);
            if (System.getProperty("g2m.perf.others") != null) others(be, rnd);
            for (int[] s : SHAPES) {
                int c = s[1], k = s[2], h = s[3];
                System.out.printf(Locale.ROOT, "%s %d->%d %dx%d: sgemm alone (M=%d N=%d K=%d) %.1f GFLOP/s%n",
                        NAMES[s[0]], c, k, h, h, k, h * h, 9 * c, sgemmAlone(k, h * h, 9 * c, be.threads()));
                for (int n : batches) {
                    try (DeviceArray x = be.upload(Naive.random(rnd, n * c * h * h), n, c, h, h);
                         DeviceArray w = be.upload(Naive.random(rnd, k * c * 9), k, c, 3, 3);
                         DeviceArray b = be.upload(Naive.random(rnd, k), k);
                         DeviceArray y = be.allocate(n, k, h, h); DeviceArray dx = be.allocate(n, c, h, h)) {
                        double flops = 2.0 * n * k * c * 9 * h * h;
                        for (int tile : tiles) {
                            be.tileColumns = tile;
                            double f = best(() -> be.conv3x3Forward(x, w, b, y), flops);
                            double bw = best(() -> be.conv3x3BackwardData(y, w, dx), flops);
                            System.out.printf(Locale.ROOT, "  batch %d tile %5d: forward %6.1f GFLOP/s  backward-data %6.1f GFLOP/s%n",
                                    n, tile, f, bw);
                        }
                        be.tileColumns = CpuBackend.TILE_COLUMNS;
                    }
                }
            }
        }
    }

    /** Milliseconds of the other ops at VGG16 sizes, batch 1. */
    static void others(CpuBackend be, Random rnd) {
        int n = 1;
        try (DeviceArray x = be.upload(Naive.random(rnd, n * 64 * 224 * 224), n, 64, 224, 224);
             DeviceArray y = be.allocate(n, 64, 224, 224); DeviceArray p = be.allocate(n, 64, 112, 112);
             DeviceArray dy2 = be.upload(Naive.random(rnd, 2 * n * 64 * 112 * 112), 2 * n, 64, 112, 112);
             DeviceArray dx2 = be.allocate(2 * n, 64, 224, 224);
             DeviceArray f = be.upload(Naive.random(rnd, n * 25088), n, 512, 7, 7);
             DeviceArray w6 = be.upload(Naive.random(rnd, 4096 * 25088), 4096, 25088); DeviceArray b6 = be.allocate(4096);
             DeviceArray y6 = be.allocate(n, 4096); DeviceArray d6 = be.upload(Naive.random(rnd, 2 * n * 4096), 2 * n, 4096);
             DeviceArray g6 = be.allocate(2 * n, 512, 7, 7);
             DeviceArray pool5 = be.upload(Naive.random(rnd, n * 512 * 7 * 9), n, 512, 7, 9);
             DeviceArray maps = be.allocate(n, 4, 224, 224)) {
            be.copyFromHost(new float[4096], b6);
            ms("relu fwd 64x224x224", () -> be.reluForward(x, y));
            ms("relu bwd 2x64x224x224", () -> be.reluBackward(y, dx2, dx2));
            ms("maxpool fwd 64x224x224", () -> be.maxPool2x2Forward(x, p));
            ms("maxpool bwd 2x64x224x224", () -> be.maxPool2x2Backward(x, dy2, dx2));
            ms("adaptive pool 512x7x9 fwd", () -> be.adaptiveAvgPoolForward(pool5, f));
            ms("fc6 fwd 25088->4096", () -> be.fcForward(f, w6, b6, y6));
            ms("fc6 bwd x2 4096->25088", () -> be.fcBackwardData(d6, w6, g6));
            ms("maps G2M at 64x224x224", () -> be.maps(x, dx2.batch(0, n), dx2.batch(n, 2 * n), g2m.maps.MapMethod.G2M, maps));
        }
    }

    static void ms(String what, Runnable r) {
        r.run();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long t = System.nanoTime();
            r.run();
            best = Math.min(best, System.nanoTime() - t);
        }
        System.out.printf(Locale.ROOT, "  %-30s %8.2f ms%n", what, best / 1e6);
    }

    /** Best of several timed runs (after a warm-up), in GFLOP/s; about 1.5 s per measurement. */
    static double best(Runnable r, double flops) {
        r.run();
        double best = 0;
        long start = System.nanoTime();
        int reps = 0;
        while (reps < 3 || (reps < 20 && System.nanoTime() - start < 1_500_000_000L)) {
            long t = System.nanoTime();
            r.run();
            best = Math.max(best, flops / (System.nanoTime() - t));
            reps++;
        }
        return best;
    }

    /** One sgemm with OpenBLAS's own threading (restored to 1 afterwards, as the backend wants it). */
    static double sgemmAlone(int m, int n, int k, int threads) {
        openblas_nolapack.blas_set_num_threads(threads);
        Pointer pa = Pointer.malloc(4L * m * k), pb = Pointer.malloc(4L * k * n), pc = Pointer.malloc(4L * m * n);
        try {
            Pointer.memset(pa, 0, 4L * m * k);
            Pointer.memset(pb, 0, 4L * k * n);
            FloatPointer a = new FloatPointer(pa), b = new FloatPointer(pb), c = new FloatPointer(pc);
            return best(() -> cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1f, a, k, b, n, 0f, c, n),
                    2.0 * m * n * k);
        } finally {
            openblas_nolapack.blas_set_num_threads(1);
            Pointer.free(pa);
            Pointer.free(pb);
            Pointer.free(pc);
        }
    }
}
