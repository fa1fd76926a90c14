package g2m.bench;

import g2m.backend.DeviceArray;
import g2m.backend.Precision;
import g2m.backend.cpu.ConvPath;
import g2m.backend.cpu.CpuBackend;
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

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One VGG16 3x3 convolution layer on the CPU backend: one op = the layer's forward
 * ({@code direction=forward}: x [N,C,H,W] → y [N,K,H,W]) or backward to its input
 * ({@code backward}: dy [N,K,H,W] → dx [N,C,H,W]) for N = {@code batch} images, by one path:
 * {@code im2col} (im2col + single-threaded OpenBLAS sgemms on the backend's pool), {@code onednn}
 * (oneDNN fp32 direct convolution), {@code onednn-bf16} (bf16 inputs, fp32 accumulation) or
 * {@code winograd} (the engine's F(4×4,3×3), fp32). Both directions cost 2·N·K·C·9·H·W flops
 * (Winograd's figure is that over its time, an effective rate); {@link #gflop} prints it per trial, and
 * {@code benchmarks/conv_gflops.py} turns a JMH JSON result into GFLOP/s next to
 * {@link SgemmBenchmark}'s plain sgemm of the same layer.
 *
 * <p>The nine distinct shapes (conv3_3 = conv3_2, conv4_3 = conv4_2, conv5_2/5_3 = conv5_1).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
public class ConvLayerBenchmark {
    /** name, C, K, side. */
    static final Object[][] LAYERS = {
            {"conv1_1", 3, 64, 224}, {"conv1_2", 64, 64, 224}, {"conv2_1", 64, 128, 112}, {"conv2_2", 128, 128, 112},
            {"conv3_1", 128, 256, 56}, {"conv3_2", 256, 256, 56}, {"conv4_1", 256, 512, 28}, {"conv4_2", 512, 512, 28},
            {"conv5_1", 512, 512, 14}};

    @Param({"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv4_1", "conv4_2", "conv5_1"})
    public String layer;

    @Param({"1", "8"})
    public int batch;

    @Param({"im2col", "onednn", "onednn-bf16", "winograd"})
    public String path;

    @Param({"forward", "backward"})
    public String direction;

    /** CPU threads; 0 = all cores. */
    @Param({"0"})
    public int threads;

    private CpuBackend be;
    private DeviceArray x, w, b, y;
    private boolean forward;

    static int[] shape(String layer) {
        for (Object[] l : LAYERS) if (l[0].equals(layer)) return new int[] {(Integer) l[1], (Integer) l[2], (Integer) l[3]};
        throw new IllegalArgumentException("unknown layer " + layer);
    }

    /** 2·N·K·C·9·H·W / 1e9. */
    public static double gflop(String layer, int batch) {
        int[] s = shape(layer);
        return 2.0 * batch * s[1] * s[0] * 9 * s[2] * s[2] / 1e9;
    }

    @Setup(Level.Trial)
    public void setUp() {
        int[] s = shape(layer);
        int c = s[0], k = s[1], h = s[2];
        forward = direction.equals("forward");
        Precision p = path.equals("onednn-bf16") ? Precision.BF16 : Precision.FP32;
        be = new CpuBackend(threads, p, path.equals("onednn-bf16") ? ConvPath.ONEDNN : ConvPath.parse(path), null);
        SplittableRandom r = new SplittableRandom(1);
        x = be.upload(random(r, batch * (forward ? c : k) * h * h), batch, forward ? c : k, h, h);
        w = be.upload(random(r, k * c * 9), k, c, 3, 3);
        b = be.upload(random(r, k), k);
        y = be.allocate(batch, forward ? k : c, h, h);
        System.out.printf("%n[g2m-bench] %s %s batch %d: %.2f GFLOP per op, %s%n", layer, direction, batch, gflop(layer, batch),
                be.convImplementation(batch, c, k, h, h, !forward));
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }

    @Benchmark
    public void conv() {
        if (forward) {
            be.conv3x3Forward(x, w, b, y);
        } else {
            be.conv3x3BackwardData(x, w, y);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        be.close();
    }
}
