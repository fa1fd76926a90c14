package g2m.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.backend.Backend;
import g2m.backend.Backends;
import g2m.maps.MapMethod;
import g2m.net.RandomVgg16;
import g2m.net.Tap;
import g2m.net.Vgg16Net;
import g2m.weights.Checkpoint;
import g2m.weights.WeightsCache;
import g2m.weights.fetch.WeightsFetcher;
import g2m.weights.safetensors.Safetensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure map throughput: warm-up, then repeated timed runs of one forward + one backward pass "
                + "on random 224x224 inputs; prints ONE JSON line on stdout.",
                "Without --weights: full-size VGG16 with seeded random weights (no download)."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--layer", defaultValue = "conv5_1", paramLabel = "TAP[,TAP…]", description = "tap(s) (default: ${DEFAULT-VALUE})")
    String layer;

    @Option(names = "--batch", defaultValue = "1", paramLabel = "N", description = "images per pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--methods", defaultValue = "layercam,sgl-g1,sgl-g2,dgl", paramLabel = "M[,M…]", description = "(default: ${DEFAULT-VALUE})")
    String methods;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "cpu|cuda|auto", description = "(default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "CPU threads, 0 = all cores (default: ${DEFAULT-VALUE})")
    int threads;

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

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        List<Tap> taps;
        List<MapMethod> ms;
        try {
            taps = Tap.parseList(layer);
            ms = MapMethod.parseList(methods);
            Backends.normalize(device);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException(e.getMessage());
        }
        if (batch < 1 || size < Vgg16Net.MIN_SIDE || minRuns < 1) {
            throw new Main.UserException("--batch must be >= 1, --size >= " + Vgg16Net.MIN_SIDE + ", --min-runs >= 1");
        }
        Checkpoint w = weights == null ? RandomVgg16.create(7)
                : Safetensors.read(WeightsCache.resolve(weights, WeightsFetcher.defaultCache()));
        float[] x = new float[batch * 3 * size * size];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 4 - 2);
        try (Backend b = Backends.open(device, threads); Vgg16Net net = new Vgg16Net(b, w)) {
            for (int i = 0; i < warmup; i++) net.run(x, batch, size, size, null, taps, ms);
            List<Double> ms1 = new ArrayList<>();
            long end = System.nanoTime() + (long) (seconds * 1e9);
            while (System.nanoTime() < end || ms1.size() < minRuns) {
                long t0 = System.nanoTime();
                net.run(x, batch, size, size, null, taps, ms);
                ms1.add((System.nanoTime() - t0) / 1e6);
            }
            double[] lat = ms1.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double mean = Arrays.stream(lat).average().orElseThrow();
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("device", b.description());
            o.put("layer", layer);
            o.put("batch", batch);
            o.put("methods", methods);
            o.put("weights", weights == null ? "random full-size VGG16 (seed 7)" : weights.toString());
            o.put("input", size + "x" + size);
            o.put("runs", lat.length);
            double p50 = percentile(lat, 0.50); // rates from the median run, as the PyTorch peer reports
            o.put("images_per_s", round(batch * 1000.0 / p50));
            o.put("maps_per_s", round(batch * ms.size() * taps.size() * 1000.0 / p50));
            o.put("mean_ms", round(mean));
            o.put("p50_ms", round(p50));
            o.put("p99_ms", round(percentile(lat, 0.99)));
            o.put("peak_rss_mb", peakRssMb());
            spec.commandLine().getOut().println(o.toString());
        }
        return 0;
    }

    static double percentile(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    /** VmHWM of this process (Linux), or -1 where /proc is absent. */
    static double peakRssMb() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) return round(Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024.0);
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
