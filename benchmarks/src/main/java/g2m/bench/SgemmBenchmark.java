package g2m.bench;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

/**
 * The yardstick for {@link ConvLayerBenchmark}: ONE OpenBLAS sgemm (its own threads) of a conv
 * layer's im2col shape for one image, M = K (output channels), N = H·W, K = 9·C, i.e. the
 * layer's batch-1 flops (2·M·N·K) with no im2col and no tiling.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
public class SgemmBenchmark {
    @Param({"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv4_1", "conv4_2", "conv5_1"})
    public String layer;

    /** OpenBLAS threads; 0 = all cores. */
    @Param({"0"})
    public int threads;

    private Pointer a, b, c;
    private int m, n, k;

    @Setup(Level.Trial)
    public void setUp() {
        Loader.load(openblas_nolapack.class);
        int[] s = ConvLayerBenchmark.shape(layer);
        m = s[1];
        n = s[2] * s[2];
        k = 9 * s[0];
        openblas_nolapack.blas_set_num_threads(threads == 0 ? Runtime.getRuntime().availableProcessors() : threads);
        a = Pointer.malloc(4L * m * k);
        b = Pointer.malloc(4L * k * n);
        c = Pointer.malloc(4L * m * n);
        Pointer.memset(a, 0, 4L * m * k);
        Pointer.memset(b, 0, 4L * k * n);
        System.out.printf("%n[g2m-bench] sgemm %s: M=%d N=%d K=%d, %.2f GFLOP per op%n", layer, m, n, k, 2.0 * m * n * k / 1e9);
    }

    @Benchmark
    public void sgemm() {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1f, new FloatPointer(a), k, new FloatPointer(b), n, 0f,
                new FloatPointer(c), n);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        Pointer.free(a);
        Pointer.free(b);
        Pointer.free(c);
    }
}
