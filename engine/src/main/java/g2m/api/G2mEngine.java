package g2m.api;

import g2m.backend.Backend;
import g2m.backend.Backends;
import g2m.backend.Precision;
import g2m.image.ImageException;
import g2m.image.ImageLoader;
import g2m.image.InputTensor;
import g2m.image.LoadedImage;
import g2m.image.Resizer;
import g2m.maps.MapMethod;
import g2m.net.BatchMaps;
import g2m.net.GradientSource;
import g2m.net.Tap;
import g2m.net.Vgg16Net;
import g2m.weights.Checkpoint;
import g2m.weights.Preprocessing;
import g2m.weights.WeightsCache;
import g2m.weights.fetch.WeightsFetcher;
import g2m.weights.safetensors.Safetensors;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The embedding API: open once (weights loaded and uploaded once), call {@link #maps} from any
 * number of threads (calls are serialized on the one backend), close when done.
 *
 * <pre>{@code
 * try (G2mEngine engine = G2mEngine.open(Path.of("vgg16.safetensors"), G2mEngine.Options.defaults())) {
 *     ImageMaps r = engine.maps(Path.of("cat.jpg"), List.of(Tap.CONV5_1), MapMethod.G2M);
 *     Map2D dgl = r.map(Tap.CONV5_1, MapMethod.DGL);   // 14 x 14 (or 14 x 18 …)
 * }
 * }</pre>
 */
public final class G2mEngine implements AutoCloseable {

    /**
     * @param device    cpu, cuda or auto
     * @param threads   CPU threads (0 = all cores)
     * @param batchSize images per forward pass (same-size images are batched)
     * @param cacheDir  where converted weights are kept
     * @param precision the CUDA backend's arithmetic (fp32 default; tf32, fp16, bf16 fast modes)
     */
    public record Options(String device, int threads, int batchSize, Path cacheDir, Precision precision) {
        public Options {
            if (precision == null) precision = Precision.FP32;
        }

        /** fp32. */
        public Options(String device, int threads, int batchSize, Path cacheDir) {
            this(device, threads, batchSize, cacheDir, Precision.FP32);
        }

        public static Options defaults() {
            return new Options("auto", 0, 8, WeightsFetcher.defaultCache(), Precision.FP32);
        }

        public Options withDevice(String d) {
            return new Options(d, threads, batchSize, cacheDir, precision);
        }

        public Options withBatchSize(int b) {
            return new Options(device, threads, b, cacheDir, precision);
        }

        public Options withThreads(int t) {
            return new Options(device, t, batchSize, cacheDir, precision);
        }

        public Options withPrecision(Precision p) {
            return new Options(device, threads, batchSize, cacheDir, p);
        }
    }

    private final Backend backend;
    private final Vgg16Net net;
    private final Preprocessing preprocessing;
    private final Map<String, String> metadata;
    private final Options options;

    private G2mEngine(Backend backend, Vgg16Net net, Preprocessing preprocessing, Map<String, String> metadata, Options options) {
        this.backend = backend;
        this.net = net;
        this.preprocessing = preprocessing;
        this.metadata = metadata;
        this.options = options;
    }

    /** Opens weights in any format {@code convert} reads (converted once, cached by content). */
    public static G2mEngine open(Path weights, Options options) {
        return open(() -> Safetensors.read(WeightsCache.resolve(weights, options.cacheDir())), options);
    }

    /**
     * Opens weights that {@code weights} makes or reads, e.g. {@code () -> RandomVgg16.create(7)};
     * it is called once, after the backend is open (so no GPU is reported in seconds, before a
     * large weights file is read or a network made).
     */
    public static G2mEngine open(Supplier<Checkpoint> weights, Options options) {
        if (options.batchSize() < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + options.batchSize());
        Backend b = Backends.open(options.device(), options.threads(), options.precision());
        try {
            Checkpoint c = weights.get();
            Preprocessing p = Preprocessing.fromMetadata(c.metadata());
            return new G2mEngine(b, new Vgg16Net(b, c), p, c.metadata(), options);
        } catch (RuntimeException | Error e) {
            b.close();
            throw e;
        }
    }

    public Preprocessing preprocessing() {
        return preprocessing;
    }

    /** The weights file's metadata (source, convention, …). */
    public Map<String, String> metadata() {
        return metadata;
    }

    public int numClasses() {
        return net.numClasses();
    }

    /** The backend in words, e.g. "OpenBLAS 0.3.31 … on AMD EPYC …, 2 threads" or "CUDA on NVIDIA H100 … fp32". */
    public String device() {
        return backend.description();
    }

    /** The backend's kind: "cpu" or "cuda". */
    public String backendName() {
        return backend.name();
    }

    /** Maps for network input that is already preprocessed: [n, 3, h, w]; classes null = top-1 each. */
    public BatchMaps maps(float[] input, int n, int h, int w, int[] classes, List<Tap> taps, List<MapMethod> methods) {
        return maps(input, n, h, w, classes, taps, methods, GradientSource.TAP);
    }

    /**
     * The same with the gradients taken from {@code gradients}: {@link GradientSource#LAYERCAM_LOC}
     * reproduces layercam_loc's (and the seed table's) gradient at conv1_2 … conv5_3.
     */
    public synchronized BatchMaps maps(float[] input, int n, int h, int w, int[] classes, List<Tap> taps, List<MapMethod> methods,
                                       GradientSource gradients) {
        return net.run(input, n, h, w, classes, taps, methods, gradients);
    }

    /** Loads, resizes (shorter side 224), preprocesses and maps one picture file. */
    public ImageMaps maps(Path image, List<Tap> taps, List<MapMethod> methods) {
        return maps(List.of(ImageLoader.load(image)), null, taps, methods).get(0);
    }

    /**
     * Maps for decoded pictures (original size; each is resized as the reference does).
     * Same-size inputs go through the network together, {@code batchSize} at a time.
     *
     * @param targetClass the class to explain for every image, or null for each one's top-1
     */
    public List<ImageMaps> maps(List<LoadedImage> images, Integer targetClass, List<Tap> taps, List<MapMethod> methods) {
        return maps(images, targetClass, taps, methods, GradientSource.TAP);
    }

    /** The same with the gradients taken from {@code gradients} (see {@link GradientSource}). */
    public List<ImageMaps> maps(List<LoadedImage> images, Integer targetClass, List<Tap> taps, List<MapMethod> methods,
                                GradientSource gradients) {
        List<LoadedImage> inputs = new ArrayList<>(images.size());
        for (LoadedImage im : images) inputs.add(Resizer.resizeShorterSide(im));
        ImageMaps[] out = new ImageMaps[images.size()];
        Map<Long, List<Integer>> bySize = new LinkedHashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            bySize.computeIfAbsent(((long) inputs.get(i).height() << 32) | inputs.get(i).width(), k -> new ArrayList<>()).add(i);
        }
        Tap shallowest = taps.stream().min(Enum::compareTo).orElseThrow(() -> new IllegalArgumentException("no taps requested"));
        for (List<Integer> group : bySize.values()) {
            LoadedImage first = inputs.get(group.get(0));
            int h = first.height(), w = first.width();
            // a batch is split where its arrays would not fit the backend (long arithmetic: n·3·h·w overflows int)
            long fits = net.maxBatch(h, w, shallowest);
            if (fits < 1) {
                LoadedImage im = images.get(group.get(0));
                throw new ImageException((im.source() == null ? "image" : im.source().toString()) + ": its network input of " + w + "x" + h
                        + " needs arrays over the " + backend.name() + " backend's limit");
            }
            int per = (int) Math.min(options.batchSize(), fits);
            for (int from = 0; from < group.size(); from += per) {
                List<Integer> idx = group.subList(from, (int) Math.min(group.size(), (long) from + per));
                int n = idx.size();
                int one = Math.multiplyExact(3, Math.multiplyExact(h, w));
                float[] x = new float[Math.multiplyExact(n, one)];
                for (int j = 0; j < n; j++) InputTensor.toNchw(inputs.get(idx.get(j)), preprocessing, x, j * one);
                int[] classes = null;
                if (targetClass != null) {
                    classes = new int[n];
                    java.util.Arrays.fill(classes, targetClass);
                }
                BatchMaps r = maps(x, n, h, w, classes, taps, methods, gradients);
                for (int j = 0; j < n; j++) out[idx.get(j)] = perImage(r, j, images.get(idx.get(j)), taps, methods);
            }
        }
        return List.of(out);
    }

    private static ImageMaps perImage(BatchMaps r, int j, LoadedImage original, List<Tap> taps, List<MapMethod> methods) {
        Map<Tap, Map<MapMethod, BatchMaps.Map2D>> m = new EnumMap<>(Tap.class);
        for (Tap t : taps) {
            Map<MapMethod, BatchMaps.Map2D> byMethod = new LinkedHashMap<>();
            for (MapMethod mm : methods) byMethod.put(mm, r.map(j, t, mm));
            m.put(t, byMethod);
        }
        return new ImageMaps(original, r.inputHeight(), r.inputWidth(), r.logits(j), r.targetClasses()[j], m);
    }

    @Override
    public synchronized void close() {
        net.close();
        backend.close();
    }
}
