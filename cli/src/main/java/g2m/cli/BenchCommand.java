package g2m.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.api.G2mEngine;
import g2m.api.MapRequest;
import g2m.net.GradientSource;
import g2m.net.RandomVgg16;
import g2m.net.Vgg16Net;
import g2m.npy.Npy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true, defaultValueProvider = MapOptions.DefaultTap.class,
        description = {"Measure map throughput: warm-up, then repeated timed runs of one forward + one backward pass "
                + "on random 224x224 inputs; prints ONE JSON line on stdout.",
                "Without --weights: full-size VGG16 with seeded random weights (no download)."})
final class BenchCommand implements Callable<Integer> {
    @Mixin
    MapOptions map;

    @Option(names = "--batch", defaultValue = "1", paramLabel = "N", description = "images per pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--weights", paramLabel = "FILE", description = "weights to use instead of random ones")
    Path weights;

    @Option(names = "--size", defaultValue = "224", paramLabel = "PIXELS", description = "input side (default: ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--warmup", defaultValue = "2", paramLabel = "N", description = "untimed runs first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--seconds", defaultValue = "10", paramLabel = "S", description = "time budget for timed runs (default: ${DEFAULT-VALUE})")
    double seconds;

    @Option(names = "--min-runs", defaultValue = "5", paramLabel = "N", description = "at least this many timed runs (default: ${DEFAULT-VALUE})")
    int minRuns;

    @Option(names = "--input-file", paramLabel = "FILE.npy",
            description = {"network input instead of random values: a float32 ('<f4') C-order .npy of shape [N,3,H,W], "
                    + "already preprocessed; N and H x W are taken from it (--batch / --size, if given, must match)"})
    Path inputFile;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        MapRequest request = map.request();
        map.check();
        if (batch < 1 || size < Vgg16Net.MIN_SIDE || minRuns < 1 || warmup < 0) {
            throw new Main.UserException("--batch must be >= 1, --size >= " + Vgg16Net.MIN_SIDE + ", --min-runs >= 1, --warmup >= 0");
        }
        if (!(seconds >= 0 && seconds <= 1e6)) throw new Main.UserException("--seconds must be 0 to 1000000, got " + seconds);
        int h = size, wd = size;
        float[] x = null;
        if (inputFile != null) {
            Npy.Float32Array in = Npy.readFloat32(inputFile);
            long[] s = in.shape();
            if (s.length != 4 || s[1] != 3) throw new Main.UserException(inputFile + ": shape is " + Arrays.toString(s) + ", expected [N, 3, H, W]");
            if (s[0] < 1 || s[2] < 1 || s[3] < 1) throw new Main.UserException(inputFile + ": shape " + Arrays.toString(s) + " is empty");
            var pr = spec.commandLine().getParseResult();
            if (pr != null && pr.hasMatchedOption("--batch") && batch != s[0]) {
                throw new Main.UserException(inputFile + " holds " + s[0] + " images but --batch is " + batch);
            }
            if (pr != null && pr.hasMatchedOption("--size") && (size != s[2] || size != s[3])) {
                throw new Main.UserException(inputFile + " holds " + s[2] + "x" + s[3] + " inputs but --size is " + size);
            }
            if (s[2] < Vgg16Net.MIN_SIDE || s[3] < Vgg16Net.MIN_SIDE) {
                throw new Main.UserException(inputFile + ": inputs are " + s[2] + "x" + s[3]
                        + ", height and width must be at least " + Vgg16Net.MIN_SIDE);
            }
            batch = (int) s[0];             // the reader bounds every dimension by 2^31
            h = (int) s[2];
            wd = (int) s[3];
            x = in.data();
        }
        // the weights are made or read after the backend opened, so a missing GPU is reported first
        G2mEngine.Builder b = map.engine().batchSize(batch);
        b = weights == null ? b.weights(() -> RandomVgg16.create(7)) : b.weights(weights);
        try (G2mEngine engine = b.open()) {
            long fits = engine.maxBatch(h, wd, request);
            if (fits < 1) {
                throw new Main.UserException("inputs of " + h + "x" + wd + " are too large: one needs arrays over the " + engine.backendName()
                        + " backend's limit (use a smaller --size)");
            }
            if (batch > fits) {
                throw new Main.UserException("--batch " + batch + " is too large at " + h + "x" + wd + ": at most " + fits
                        + " input(s) fit in one pass on the " + engine.backendName() + " backend");
            }
            if (x == null) {                      // random input, made once the size is known to fit
                x = new float[batch * 3 * h * wd];
                SplittableRandom r = new SplittableRandom(1);
                for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 4 - 2);
            }
            for (int i = 0; i < warmup; i++) engine.maps(x, batch, h, wd, request);
            List<Double> ms1 = new ArrayList<>();
            long end = System.nanoTime() + (long) (seconds * 1e9);
            while (System.nanoTime() < end || ms1.size() < minRuns) {
                long t0 = System.nanoTime();
                engine.maps(x, batch, h, wd, request);
                ms1.add((System.nanoTime() - t0) / 1e6);
            }
            double[] lat = ms1.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double mean = Arrays.stream(lat).average().orElseThrow();
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("device", engine.device());
            o.put("layer", map.layerIds());
            o.put("batch", batch);
            o.put("methods", map.methodIds());
            if (request.gradients() != GradientSource.TAP) o.put("gradients", request.gradients().id);
            o.put("weights", weights == null ? "random full-size VGG16 (seed 7)" : weights.toString());
            o.put("input", h + "x" + wd);
            if (inputFile != null) o.put("input_file", inputFile.toString());
            o.put("runs", lat.length);
            double p50 = percentile(lat, 0.50); // rates from the median run, as the PyTorch peer reports
            o.put("images_per_s", round(batch * 1000.0 / p50));
            o.put("maps_per_s", round(batch * request.methods().size() * request.taps().size() * 1000.0 / p50));
            o.put("mean_ms", round(mean));
            o.put("p50_ms", round(p50));
            o.put("p99_ms", round(percentile(lat, 0.99)));
            o.put("peak_rss_mb", peakRssMb());
            if (engine.peakDeviceBytes() >= 0) o.put("peak_device_mb", round(engine.peakDeviceBytes() / 1048576.0));
            spec.commandLine().getOut().println(o.toString());
        }
        return 0;
    }

    static double percentile(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    /** VmHWM of this process in MiB (Linux), or -1 where /proc is absent. */
    static double peakRssMb() {
        long kib = ProcessMemory.peakRssKib();
        return kib < 0 ? -1 : round(kib / 1024.0);
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
