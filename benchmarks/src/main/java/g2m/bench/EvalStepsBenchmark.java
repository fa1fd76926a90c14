package g2m.bench;

import g2m.eval.Box;
import g2m.eval.ImageRecord;
import g2m.eval.Localizer;
import g2m.eval.TenCrop;
import g2m.image.ImageLoader;
import g2m.image.LoadedImage;
import g2m.image.Mats;
import g2m.weights.Preprocessing;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;

/**
 * The WSOL evaluation's per-picture work outside the network, one thread (the runner spreads it
 * over {@code --workers}): {@code prepare} = decode a JPEG, resize to 256×256, ten crops to network
 * input; {@code locate} = one map's canvas, heat, box, IoU and MaxBoxAccV2 (with GrabCut when
 * {@code grabcut=true}, as at taps of 56×56 and finer). Milliseconds per op, on a synthetic
 * textured picture of {@code width × height} with one object ({@code prepare} does not depend on
 * {@code side} or {@code grabcut}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
public class EvalStepsBenchmark {
    @Param({"500"})
    public int width;

    @Param({"375"})
    public int height;

    /** Map side at the tap: 14 (conv5_x) or 56 (conv3_x). */
    @Param({"14"})
    public int side;

    @Param({"false", "true"})
    public boolean grabcut;

    private byte[] jpeg;
    private LoadedImage picture;
    private float[] maps;
    private List<Box> gts;

    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(3);
        byte[] bgr = new byte[width * height * 3];
        int cx = width / 2, cy = height / 2, rx = width / 5, ry = height / 4;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                boolean in = Math.pow((x - cx) / (double) rx, 2) + Math.pow((y - cy) / (double) ry, 2) <= 1;
                for (int c = 0; c < 3; c++) {
                    int v = in ? 40 + 60 * c : (int) (120 + 50 * Math.sin(x / 9.0 + c) * Math.cos(y / 13.0));
                    bgr[(y * width + x) * 3 + c] = (byte) Math.max(0, Math.min(255, v + r.nextInt(-6, 7)));
                }
            }
        }
        try (Mat m = Mats.uint8(bgr, width, height, 3); BytePointer buf = new BytePointer()) {
            imencode(".jpg", m, buf);
            jpeg = new byte[(int) buf.limit()];
            buf.get(jpeg);
        }
        picture = ImageLoader.decode(jpeg, null, ImageLoader.DEFAULT_MAX_PIXELS);
        maps = new float[10 * side * side];
        for (int i = 0; i < maps.length; i++) {
            int x = i % side, y = (i / side) % side;
            maps[i] = (float) (Math.exp(-((x - side / 2.0) * (x - side / 2.0) + (y - side / 2.0) * (y - side / 2.0)) / (side * side / 16.0))
                    + 0.05 * r.nextDouble() - 0.02);
        }
        gts = List.of(new Box(cx - rx, cy - ry, cx + rx, cy + ry));
    }

    @Benchmark
    public float[] prepare() {
        LoadedImage p = ImageLoader.decode(jpeg, null, ImageLoader.DEFAULT_MAX_PIXELS);
        float[] x = new float[10 * 3 * 224 * 224];
        TenCrop.input(TenCrop.resize(p), Preprocessing.PYTORCH, x, 0);
        return x;
    }

    @Benchmark
    public ImageRecord.Outcome locate() {
        return Localizer.locate(maps, side, side, picture, gts, grabcut, null);
    }
}
