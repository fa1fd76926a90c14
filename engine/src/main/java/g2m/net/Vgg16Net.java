package g2m.net;

import g2m.backend.Backend;
import g2m.backend.DeviceArray;
import g2m.backend.DeviceOutOfMemoryException;
import g2m.maps.MapMethod;
import g2m.weights.Checkpoint;
import g2m.weights.Tensor;
import g2m.weights.Vgg16;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * VGG16 on a {@link Backend}: weights uploaded once; {@link #run} does ONE forward pass and ONE
 * backward pass carrying both right-hand sides (g1 and g2 of the spec stacked along the batch)
 * down to the shallowest requested tap, and computes every requested map at every requested tap
 * on the way, from the tap's gradient or, with {@link GradientSource#LAYERCAM_LOC}, from the
 * following pool's gradient upsampled where layercam_loc takes it. Not thread-safe: callers
 * serialize (see {@code G2mEngine}).
 */
public final class Vgg16Net implements AutoCloseable {
    /** The forward path below the classifier: 13 conv+ReLU steps and 5 pools, tap by tap. */
    static final Tap[] STEPS = Tap.values();
    public static final int MIN_SIDE = 32;

    private final Backend backend;
    private final Vgg16.Topology topology;
    private final DeviceArray[] convW = new DeviceArray[13];
    private final DeviceArray[] convB = new DeviceArray[13];
    private final DeviceArray[] fcW = new DeviceArray[3];
    private final DeviceArray[] fcB = new DeviceArray[3];
    private Workspace workspace;

    public Vgg16Net(Backend backend, Checkpoint weights) {
        this.backend = backend;
        Map<String, Tensor> t = Vgg16.validate(weights.tensors());
        this.topology = Vgg16.topology(t);
        try {
            for (int i = 0; i < 13; i++) {
                String l = Vgg16.CONVS.get(i);
                convW[i] = upload(t.get(l + ".weight"));
                convB[i] = upload(t.get(l + ".bias"));
            }
            for (int i = 0; i < 3; i++) {
                String l = Vgg16.FCS.get(i);
                fcW[i] = upload(t.get(l + ".weight"));
                fcB[i] = upload(t.get(l + ".bias"));
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    private DeviceArray upload(Tensor t) {
        long[] s = t.shape();
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) shape[i] = Math.toIntExact(s[i]);
        float[] v = t.toFloats();
        for (int i = 0; i < v.length; i++) {   // a NaN or Inf would make every map NaN: refused here, in words
            if (!Float.isFinite(v[i])) {
                throw new g2m.weights.WeightsException("the weights are unusable: " + t.name() + " holds " + v[i] + " at index " + i);
            }
        }
        return backend.upload(v, shape);
    }

    public int numClasses() {
        return topology.classes();
    }

    /** Spatial size of a tap's output for an input of h × w (floor-mode pools). */
    public static int[] tapSize(Tap tap, int h, int w) {
        int p = tap.poolsUpTo();
        return new int[] {h >> p, w >> p};
    }

    /**
     * The most images of {@code h × w} one {@link #run} down to {@code shallowest} takes: every array
     * of its workspace within the backend's per-array limit, and the host input (n·3·h·w floats) and
     * the downloaded maps within a Java array; 0 when not even one image fits.
     */
    public long maxBatch(int h, int w, Tap shallowest) {
        return maxBatch(topology, h, w, shallowest, backend.maxArrayElements());
    }

    /** {@link #maxBatch(int, int, Tap)} for a topology and a per-array limit (long arithmetic throughout). */
    public static long maxBatch(Vgg16.Topology topology, int h, int w, Tap shallowest, long maxArrayElements) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("input size must be positive, got " + h + "x" + w);
        long perImage = 3L * h * w;                                   // the input
        int c = 3;
        for (int k = 0; k < STEPS.length; k++) {
            Tap s = STEPS[k];
            if (!s.isPool()) c = topology.convWidths()[s.convIndex()];
            int[] hw = tapSize(s, h, w);
            long out = (long) c * hw[0] * hw[1];
            if (k >= shallowest.ordinal()) {                          // kept: its gradient (two right-hand sides) and its maps too
                out = Math.max(2 * out, (long) MapMethod.values().length * hw[0] * hw[1]);
            }
            perImage = Math.max(perImage, out);
        }
        perImage = Math.max(perImage, 2L * Math.max(Math.max(topology.fc6(), topology.fc7()),
                Math.max(topology.classes(), (long) c * Vgg16.POOL5_SIDE * Vgg16.POOL5_SIDE)));
        long limit = Math.min(maxArrayElements, Integer.MAX_VALUE - 8L);
        return limit / perImage;
    }

    /**
     * Maps for a batch of preprocessed inputs.
     *
     * @param input   [n, 3, h, w] network input, row-major
     * @param classes target class per image, or null for each image's top-1
     */
    public BatchMaps run(float[] input, int n, int h, int w, int[] classes, List<Tap> taps, List<MapMethod> methods) {
        return run(input, n, h, w, classes, taps, methods, GradientSource.TAP);
    }

    /** The same, with the gradients at each tap taken from {@code gradients}. */
    public BatchMaps run(float[] input, int n, int h, int w, int[] classes, List<Tap> taps, List<MapMethod> methods,
                         GradientSource gradients) {
        try {
            return runBatch(input, n, h, w, classes, taps, methods, gradients);
        } catch (DeviceOutOfMemoryException e) {
            throw e.atBatch(n); // the message names the batch size to lower
        }
    }

    private BatchMaps runBatch(float[] input, int n, int h, int w, int[] classes, List<Tap> taps, List<MapMethod> methods,
                               GradientSource gradients) {
        if (gradients == null) throw new IllegalArgumentException("no gradient source given");
        if (n < 1) throw new IllegalArgumentException("batch must hold at least one image");
        if (h < MIN_SIDE || w < MIN_SIDE) {
            throw new IllegalArgumentException("input " + h + "x" + w + " is too small: height and width must be at least " + MIN_SIDE);
        }
        if (input.length != (long) n * 3 * h * w) {
            throw new IllegalArgumentException("input holds " + input.length + " values, expected " + n + "x3x" + h + "x" + w);
        }
        if (taps.isEmpty() || methods.isEmpty()) throw new IllegalArgumentException("no taps or no methods requested");
        long fits = maxBatch(h, w, taps.stream().min(Enum::compareTo).orElseThrow());
        if (n > fits) {
            throw new IllegalArgumentException(n + " input(s) of " + h + "x" + w + " need arrays over the " + backend.name()
                    + " backend's limit of " + backend.maxArrayElements() + " elements" + (fits > 0 ? "; at most " + fits + " fit in one pass" : ""));
        }
        if (classes != null) {
            if (classes.length != n) throw new IllegalArgumentException(classes.length + " target classes for " + n + " images");
            for (int c : classes) {
                if (c < 0 || c >= numClasses()) {
                    throw new IllegalArgumentException("class " + c + " is outside 0.." + (numClasses() - 1));
                }
            }
        }
        Tap shallowest = taps.stream().min(Enum::compareTo).orElseThrow();
        boolean needG2 = methods.stream().anyMatch(MapMethod::needsG2);
        int rhs = needG2 ? 2 : 1; // right-hand sides of the backward pass
        Workspace ws = workspace(n, h, w, shallowest);

        // ---- forward: conv+ReLU / pool steps, keeping outputs from the shallowest tap up ----
        DeviceArray x = ws.input;
        backend.copyFromHost(input, x);
        for (int k = 0; k < STEPS.length; k++) {
            Tap s = STEPS[k];
            DeviceArray y = ws.stepOut[k];
            if (s.isPool()) {
                backend.maxPool2x2Forward(x, y);
            } else {
                int ci = s.convIndex();
                backend.conv3x3ForwardRelu(x, convW[ci], convB[ci], y);
            }
            // a step output below the shallowest tap is scratch once read (the backend may skip writing it out)
            if (k > 0 && k - 1 < shallowest.ordinal()) backend.discard(x);
            x = y;
        }
        backend.adaptiveAvgPoolForward(x, ws.pooled);
        DeviceArray flat = ws.pooled.reshape(n, (int) ws.pooled.itemSize());
        backend.fcForward(flat, fcW[0], fcB[0], ws.fc[0]);
        backend.reluForward(ws.fc[0], ws.fc[0]);
        backend.fcForward(ws.fc[0], fcW[1], fcB[1], ws.fc[1]);
        backend.reluForward(ws.fc[1], ws.fc[1]);
        backend.fcForward(ws.fc[1], fcW[2], fcB[2], ws.logits);
        float[] logits = backend.download(ws.logits);
        int[] target = classes != null ? classes.clone() : argmax(logits, n, numClasses());

        // ---- backward: seeds e_c (and softmax − 10·e_c) from the logits down to the shallowest tap ----
        backend.backwardSeeds(ws.logits, target, ws.seeds);
        DeviceArray seeds = ws.seeds.batch(0, rhs * n);
        DeviceArray d7 = ws.dFc[1].batch(0, rhs * n);
        backend.fcBackwardData(seeds, fcW[2], d7);
        backend.reluBackward(ws.fc[1], d7, d7);
        DeviceArray d6 = ws.dFc[0].batch(0, rhs * n);
        backend.fcBackwardData(d7, fcW[1], d6);
        backend.reluBackward(ws.fc[0], d6, d6);
        DeviceArray dPooled = ws.dPooled.batch(0, rhs * n);
        backend.fcBackwardData(d6, fcW[0], dPooled.reshape(rhs * n, (int) dPooled.itemSize()));

        Map<Tap, Map<MapMethod, float[]>> maps = new EnumMap<>(Tap.class);
        int last = STEPS.length - 1;
        DeviceArray d = ws.dStep[last].batch(0, rhs * n);
        backend.adaptiveAvgPoolBackward(dPooled, d);
        for (int k = last; k >= shallowest.ordinal(); k--) {
            Tap s = STEPS[k];
            if (taps.contains(s)) {
                DeviceArray g = gradients.fromNextPool(s) ? upsampledPoolGradient(ws, k, rhs * n) : d;
                maps.put(s, mapsAt(ws, k, g, n, needG2, methods));
            }
            if (k == shallowest.ordinal()) break;
            DeviceArray below = ws.dStep[k - 1].batch(0, rhs * n);
            if (s.isPool()) {
                backend.maxPool2x2Backward(ws.stepOut[k - 1], d, below);
            } else {
                backend.reluBackward(ws.stepOut[k], d, d);
                backend.conv3x3BackwardData(d, convW[s.convIndex()], below);
            }
            d = below;
        }
        return new BatchMaps(n, h, w, logits, numClasses(), target, methods, maps);
    }

    /**
     * layercam_loc's gradient at conv tap k: the gradient at the pool after it (step k + 1, still
     * in its own buffer: the pool's backward wrote step k's) upsampled to the tap's size.
     */
    private DeviceArray upsampledPoolGradient(Workspace ws, int k, int rows) {
        DeviceArray pool = ws.dStep[k + 1].batch(0, rows);
        DeviceArray up = ws.upsampled(k).batch(0, rows);
        backend.upsampleBilinearAlignCorners(pool, up);
        return up;
    }

    private Map<MapMethod, float[]> mapsAt(Workspace ws, int k, DeviceArray grad, int n, boolean needG2, List<MapMethod> methods) {
        DeviceArray a = ws.stepOut[k];
        DeviceArray g1 = grad.batch(0, n);
        DeviceArray g2 = needG2 ? grad.batch(n, 2 * n) : null;
        int[] s = a.shape();
        DeviceArray out = ws.mapOut[k].view(n, methods.size(), s[2], s[3]);
        backend.maps(a, g1, g2, methods, out);
        float[] host = backend.download(out);
        int hw = s[2] * s[3];
        Map<MapMethod, float[]> byMethod = new LinkedHashMap<>();
        for (int mi = 0; mi < methods.size(); mi++) {
            float[] m = new float[n * hw];
            for (int img = 0; img < n; img++) {
                System.arraycopy(host, (img * methods.size() + mi) * hw, m, img * hw, hw);
            }
            byMethod.put(methods.get(mi), m);
        }
        return byMethod;
    }

    private static int[] argmax(float[] logits, int n, int classes) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
            out[i] = best;
        }
        return out;
    }

    /**
     * Every buffer one (n, h, w, shallowest tap) needs, allocated once and reused while calls
     * repeat that shape (the common case: a fixed batch of 224-side images). Below the
     * shallowest tap nothing is kept for the backward pass, so those steps share two ping-pong
     * buffers; from the tap up every step output is kept (ReLU masks, pool inputs, the taps).
     */
    private Workspace workspace(int n, int h, int w, Tap shallowest) {
        if (workspace != null && workspace.covers(n, h, w, shallowest)) return workspace;
        if (workspace != null) workspace.close();
        workspace = null;
        workspace = new Workspace(n, h, w, shallowest, MapMethod.values().length);
        return workspace;
    }

    private final class Workspace implements AutoCloseable {
        final int n, h, w;
        final Tap shallowest;
        final DeviceArray input;
        final DeviceArray[] stepOut = new DeviceArray[STEPS.length];
        final DeviceArray[] dStep = new DeviceArray[STEPS.length];
        final DeviceArray[] mapOut = new DeviceArray[STEPS.length];
        final DeviceArray pooled, dPooled, logits, seeds;
        final DeviceArray[] fc = new DeviceArray[2];
        final DeviceArray[] dFc = new DeviceArray[2];
        private DeviceArray upScratch;
        private final List<DeviceArray> owned = new ArrayList<>();

        Workspace(int n, int h, int w, Tap shallowest, int maxMethods) {
            this.n = n;
            this.h = h;
            this.w = w;
            this.shallowest = shallowest;
            try {
                input = own(backend.allocate(n, 3, h, w));
                int[][] shapes = new int[STEPS.length][];
                int c = 3;
                long pingPong = 0;
                for (int k = 0; k < STEPS.length; k++) {
                    Tap s = STEPS[k];
                    if (!s.isPool()) c = topology.convWidths()[s.convIndex()];
                    int[] hw = tapSize(s, h, w);
                    shapes[k] = new int[] {n, c, hw[0], hw[1]};
                    if (k < shallowest.ordinal()) pingPong = Math.max(pingPong, (long) n * c * hw[0] * hw[1]);
                }
                DeviceArray[] pp = pingPong == 0 ? null
                        : new DeviceArray[] {own(backend.allocate(Math.toIntExact(pingPong))), own(backend.allocate(Math.toIntExact(pingPong)))};
                for (int k = 0; k < STEPS.length; k++) {
                    int[] sh = shapes[k];
                    if (k < shallowest.ordinal()) {
                        stepOut[k] = pp[k & 1].view(sh);
                    } else {
                        stepOut[k] = own(backend.allocate(sh));
                        dStep[k] = own(backend.allocate(2 * n, sh[1], sh[2], sh[3]));
                        mapOut[k] = own(backend.allocate(n, maxMethods, sh[2], sh[3]));
                    }
                }
                int c5 = c;
                pooled = own(backend.allocate(n, c5, Vgg16.POOL5_SIDE, Vgg16.POOL5_SIDE));
                dPooled = own(backend.allocate(2 * n, c5, Vgg16.POOL5_SIDE, Vgg16.POOL5_SIDE));
                fc[0] = own(backend.allocate(n, topology.fc6()));
                fc[1] = own(backend.allocate(n, topology.fc7()));
                dFc[0] = own(backend.allocate(2 * n, topology.fc6()));
                dFc[1] = own(backend.allocate(2 * n, topology.fc7()));
                logits = own(backend.allocate(n, topology.classes()));
                seeds = own(backend.allocate(2 * n, topology.classes()));
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        /**
         * A buffer for the upsampled pool gradient at step k (2n × the tap's shape): a view of one
         * scratch array, made on first use, as large as the largest such tap this workspace keeps.
         */
        DeviceArray upsampled(int k) {
            if (upScratch == null) {
                long need = 0;
                for (int j = shallowest.ordinal(); j < STEPS.length - 1; j++) {
                    if (STEPS[j + 1].isPool()) need = Math.max(need, 2 * stepOut[j].numel());
                }
                upScratch = own(backend.allocate(Math.toIntExact(need)));
            }
            int[] s = stepOut[k].shape();
            return upScratch.view(2 * n, s[1], s[2], s[3]);
        }

        /** Same input shape, and gradients kept at least as deep as asked. */
        boolean covers(int n, int h, int w, Tap shallowest) {
            return this.n == n && this.h == h && this.w == w && this.shallowest.compareTo(shallowest) <= 0;
        }

        private DeviceArray own(DeviceArray a) {
            owned.add(a);
            return a;
        }

        @Override
        public void close() {
            for (DeviceArray a : owned) a.close();
            owned.clear();
            upScratch = null;
        }
    }

    @Override
    public void close() {
        if (workspace != null) workspace.close();
        workspace = null;
        for (DeviceArray[] arr : List.of(convW, convB, fcW, fcB)) {
            for (int i = 0; i < arr.length; i++) {
                if (arr[i] != null) arr[i].close();
                arr[i] = null;
            }
        }
    }

    @Override
    public String toString() {
        return "VGG16 (" + topology + ") on " + backend.name();
    }
}
