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
import g2m.net.Tap;
import g2m.net.Vgg16Net;
import g2m.weights.Checkpoint;
import g2m.weights.Preprocessing;
import g2m.weights.WeightsCache;
import g2m.weights.fetch.WeightsFetcher;
import g2m.weights.safetensors.Safetensors;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
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
 * try (G2mEngine engine = G2mEngine.builder().weights(Path.of("vgg16.safetensors")).device("cpu").open()) {
 *     ImageMaps r = engine.maps(Path.of("cat.jpg"), MapRequest.of(Tap.CONV5_1, MapMethod.G2M));
 *     Map2D dgl = r.map(Tap.CONV5_1, MapMethod.DGL);   // 14 x 14 (or 14 x 18 …)
 * }
 * }</pre>
 */
public final class G2mEngine implements AutoCloseable {

    /** Settings of {@link #open}; every one has a default except the weights. */
    public static final class Builder {
        private Supplier<Checkpoint> weights;
        private Path weightsFile;
        private String device = "auto";
        private int threads = 0;
        private int batchSize = 8;
        private Path cacheDir;
        private Precision precision = Precision.FP32;

        private Builder() {}

        /** A weights file in any format {@code convert} reads (converted once, cached by content in {@link #cacheDir}). */
        public Builder weights(Path file) {
            this.weightsFile = file;
            this.weights = null;
            return this;
        }

        /**
         * Weights that {@code source} makes or reads, e.g. {@code () -> RandomVgg16.create(7)}; it is
         * called once, after the backend is open (so no GPU is reported in seconds, before a large
         * weights file is read or a network made).
         */
        public Builder weights(Supplier<Checkpoint> source) {
            this.weights = source;
            this.weightsFile = null;
            return this;
        }

        /** cpu, cuda or auto (the default: the CPU until the CUDA backend has been validated on a GPU, then CUDA where a usable one is found). */
        public Builder device(String device) {
            this.device = device;
            return this;
        }

        /** CPU threads (0, the default: all cores). */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /** Images per forward pass (default 8; same-size images are batched). */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /** Where converted weights are kept (default: {@code $G2M_CACHE}, else {@code ~/.cache/g2m}). */
        public Builder cacheDir(Path cacheDir) {
            this.cacheDir = cacheDir;
            return this;
        }

        /** The products' arithmetic: fp32 (default); tf32, fp16, bf16 on CUDA and bf16 on the CPU are fast modes. */
        public Builder precision(Precision precision) {
            this.precision = precision;
            return this;
        }

        /** Opens the backend, then reads and uploads the weights. */
        public G2mEngine open() {
            if (weights == null && weightsFile == null) throw new IllegalArgumentException("no weights given");
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
            if (precision == null) throw new IllegalArgumentException("no precision given");
            Path cache = cacheDir != null ? cacheDir : WeightsFetcher.defaultCache();
            Path file = weightsFile;
            Supplier<Checkpoint> source = file != null ? () -> Safetensors.read(WeightsCache.resolve(file, cache)) : weights;
            Backend b = Backends.open(device, threads, precision);
            try {
                Checkpoint c = source.get();
                Preprocessing p = Preprocessing.fromMetadata(c.metadata());
                return new G2mEngine(b, new Vgg16Net(b, c), p, c.metadata(), batchSize);
            } catch (RuntimeException | Error e) {
                b.close();
                throw e;
            }
        }
    }

    private final Backend backend;
    private final Vgg16Net net;
    private final Preprocessing preprocessing;
    private final Map<String, String> metadata;
    private final int batchSize;

    private G2mEngine(Backend backend, Vgg16Net net, Preprocessing preprocessing, Map<String, String> metadata, int batchSize) {
        this.backend = backend;
        this.net = net;
        this.preprocessing = preprocessing;
        this.metadata = metadata;
        this.batchSize = batchSize;
    }

    public static Builder builder() {
        return new Builder();
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

    /** Peak device memory of this engine in bytes where the backend tracks it (CUDA), else -1. */
    public long peakDeviceBytes() {
        return backend.peakDeviceBytes();
    }

    /**
     * The most images of {@code h × w} one pass down to {@code request}'s shallowest tap takes (0:
     * not even one fits the backend's per-array limit).
     */
    public long maxBatch(int h, int w, MapRequest request) {
        return net.maxBatch(h, w, request.shallowest());
    }

    /** Loads, resizes (shorter side 224), preprocesses and maps one picture file. */
    public ImageMaps maps(Path image, MapRequest request) {
        return maps(List.of(ImageLoader.load(image)), request).get(0);
    }

    /**
     * Maps for decoded pictures (original size; each is resized as the reference does). Same-size
     * inputs go through the network together, {@code batchSize} at a time.
     */
    public List<ImageMaps> maps(List<LoadedImage> images, MapRequest request) {
        int[] all = classes(request, images.size());
        List<LoadedImage> inputs = new ArrayList<>(images.size());
        for (LoadedImage im : images) inputs.add(Resizer.resizeShorterSide(im));
        ImageMaps[] out = new ImageMaps[images.size()];
        Map<Long, List<Integer>> bySize = new LinkedHashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            bySize.computeIfAbsent(((long) inputs.get(i).height() << 32) | inputs.get(i).width(), k -> new ArrayList<>()).add(i);
        }
        for (List<Integer> group : bySize.values()) {
            LoadedImage first = inputs.get(group.get(0));
            int h = first.height(), w = first.width();
            // a batch is split where its arrays would not fit the backend (long arithmetic: n·3·h·w overflows int)
            long fits = maxBatch(h, w, request);
            if (fits < 1) {
                LoadedImage im = images.get(group.get(0));
                throw new ImageException((im.source() == null ? "image" : im.source().toString()) + ": its network input of " + w + "x" + h
                        + " needs arrays over the " + backend.name() + " backend's limit");
            }
            int per = (int) Math.min(batchSize, fits);
            for (int from = 0; from < group.size(); from += per) {
                List<Integer> idx = group.subList(from, (int) Math.min(group.size(), (long) from + per));
                int n = idx.size();
                int one = Math.multiplyExact(3, Math.multiplyExact(h, w));
                float[] x = new float[Math.multiplyExact(n, one)];
                for (int j = 0; j < n; j++) InputTensor.toNchw(inputs.get(idx.get(j)), preprocessing, x, j * one);
                int[] classes = null;
                if (all != null) {
                    classes = new int[n];
                    for (int j = 0; j < n; j++) classes[j] = all[idx.get(j)];
                }
                BatchMaps r = run(x, n, h, w, classes, request);
                for (int j = 0; j < n; j++) out[idx.get(j)] = perImage(r, j, images.get(idx.get(j)), request);
            }
        }
        return List.of(out);
    }

    /**
     * Maps for network input that is already preprocessed, {@code [n, 3, h, w]} row-major, in one
     * pass (so {@code n} must fit it, see {@link #maxBatch}); the results have no picture.
     */
    public List<ImageMaps> maps(float[] nchw, int n, int h, int w, MapRequest request) {
        BatchMaps r = run(nchw, n, h, w, classes(request, n), request);
        List<ImageMaps> out = new ArrayList<>(n);
        for (int j = 0; j < n; j++) out.add(perImage(r, j, null, request));
        return out;
    }

    /** The request's class for each of {@code n} images (null: top-1), all checked before any pass runs. */
    private int[] classes(MapRequest request, int n) {
        int[] c = request.classesFor(n);
        if (c != null) {
            for (int k : c) {
                if (k < 0 || k >= numClasses()) throw new IllegalArgumentException("class " + k + " is outside 0.." + (numClasses() - 1));
            }
        }
        return c;
    }

    private synchronized BatchMaps run(float[] x, int n, int h, int w, int[] classes, MapRequest request) {
        return net.run(x, n, h, w, classes, request.taps(), request.methods(), request.gradients());
    }

    private static ImageMaps perImage(BatchMaps r, int j, LoadedImage original, MapRequest request) {
        Map<Tap, Map<MapMethod, Map2D>> m = new EnumMap<>(Tap.class);
        for (Tap t : request.taps()) {
            int[] s = Vgg16Net.tapSize(t, r.inputHeight(), r.inputWidth());
            int hw = s[0] * s[1];
            Map<MapMethod, Map2D> byMethod = new LinkedHashMap<>();
            for (MapMethod mm : request.methods()) {
                byMethod.put(mm, new Map2D(s[0], s[1], Arrays.copyOfRange(r.maps().get(t).get(mm), j * hw, (j + 1) * hw)));
            }
            m.put(t, Collections.unmodifiableMap(byMethod));
        }
        float[] logits = Arrays.copyOfRange(r.logits(), j * r.numClasses(), (j + 1) * r.numClasses());
        return new ImageMaps(original, r.inputHeight(), r.inputWidth(), logits, r.targetClasses()[j], Collections.unmodifiableMap(m));
    }

    @Override
    public synchronized void close() {
        net.close();
        backend.close();
    }
}
