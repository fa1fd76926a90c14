package g2m.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.api.G2mEngine;
import g2m.api.ImageMaps;
import g2m.api.MapRequest;
import g2m.image.ImageException;
import g2m.image.ImageLoader;
import g2m.image.LoadedImage;
import g2m.maps.MapMethod;
import g2m.net.GradientSource;
import g2m.net.Tap;
import g2m.net.Vgg16Net;
import g2m.weights.Preprocessing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the WSOL evaluation over a dataset: pictures are decoded, resized and ten-cropped by
 * worker threads ahead of the network; each batch of crops goes through ONE forward and ONE
 * backward pass that serves every requested tap and method (maps for the ground-truth class);
 * the per-map protocol steps run on the workers while the next batch computes; finished images
 * are appended to the checkpoint in dataset order. The results are then read back from the
 * checkpoint, so an interrupted and resumed run gives the same numbers as an uninterrupted one.
 */
public final class EvalRunner {
    private EvalRunner() {}

    /** Where GrabCut refines the heat: auto = taps at 56×56 or finer (conv1_1 … conv3_3, pool1, pool2), as the spec says. */
    public enum GrabCut {
        AUTO, ON, OFF;

        public boolean appliesTo(Tap tap) {
            return this == ON || (this == AUTO && tap.poolsUpTo() <= 2);
        }

        public static GrabCut parse(String s) {
            return switch (s.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "auto" -> AUTO;
                case "on" -> ON;
                case "off" -> OFF;
                default -> throw new EvalException("--grabcut must be auto, on or off, got '" + s + "'");
            };
        }
    }

    /** What the evaluation needs of a network: one pass over preprocessed crops for given classes. */
    public interface Network {
        Preprocessing preprocessing();

        int numClasses();

        /** One pass over {@code [n, 3, h, w]} preprocessed crops, as {@link G2mEngine#maps(float[], int, int, int, MapRequest)}. */
        List<ImageMaps> maps(float[] nchw, int n, int h, int w, MapRequest request);

        /** An engine as the evaluation's network. */
        static Network of(G2mEngine engine) {
            return new Network() {
                public Preprocessing preprocessing() {
                    return engine.preprocessing();
                }

                public int numClasses() {
                    return engine.numClasses();
                }

                public List<ImageMaps> maps(float[] nchw, int n, int h, int w, MapRequest request) {
                    return engine.maps(nchw, n, h, w, request);
                }
            };
        }
    }

    /**
     * @param batchImages pictures per network pass (each is ten crops)
     * @param workers     threads for decoding and the per-map steps
     * @param limit       evaluate only the first {@code limit} images (0: all)
     * @param saveMaps    also write {@code maps/<stem>_<tap>_<method>.png}
     * @param gradients   where the maps' gradients come from (the tap's own, or layercam_loc's)
     * @param maxBoxFrame the frame MaxBoxAccV2 is computed in (the picture's, or wsolevaluation's 224×224)
     */
    public record Config(List<Tap> taps, List<MapMethod> methods, GrabCut grabCut, boolean saveMaps, int batchImages, int workers, int limit,
                         GradientSource gradients, MaxBoxAccV2.Frame maxBoxFrame, long maxPixels) {
        public Config {
            taps = List.copyOf(taps);
            methods = List.copyOf(methods);
            if (taps.isEmpty() || methods.isEmpty()) throw new IllegalArgumentException("no taps or no methods");
            if (batchImages < 1 || workers < 1 || limit < 0) throw new IllegalArgumentException("batch and workers must be >= 1, limit >= 0");
            if (gradients == null || maxBoxFrame == null) throw new IllegalArgumentException("no gradient source or MaxBoxAccV2 frame");
            if (maxPixels < 1) throw new IllegalArgumentException("maxPixels must be >= 1");
        }

        /** The default pixel limit. */
        public Config(List<Tap> taps, List<MapMethod> methods, GrabCut grabCut, boolean saveMaps, int batchImages, int workers, int limit,
                      GradientSource gradients, MaxBoxAccV2.Frame maxBoxFrame) {
            this(taps, methods, grabCut, saveMaps, batchImages, workers, limit, gradients, maxBoxFrame, ImageLoader.DEFAULT_MAX_PIXELS);
        }

        /** The defaults: the tap's own gradients, MaxBoxAccV2 in the picture's frame. */
        public Config(List<Tap> taps, List<MapMethod> methods, GrabCut grabCut, boolean saveMaps, int batchImages, int workers, int limit) {
            this(taps, methods, grabCut, saveMaps, batchImages, workers, limit, GradientSource.TAP, MaxBoxAccV2.Frame.PICTURE);
        }

        int outcomes() {
            return taps.size() * methods.size();
        }

        /** The network request for crops explaining {@code classes}. */
        MapRequest request(int[] classes) {
            return MapRequest.of(taps, methods).withGradients(gradients).withClasses(classes);
        }
    }

    /** Progress reports (from the calling thread). */
    public interface Listener {
        void started(int alreadyDone, int toDo);

        void imageDone(ImageRecord r);
    }

    /** This session's work: how many images went through the network and how long it took. */
    public record Session(int resumedFrom, int evaluated, double seconds) {}

    public static final String MAPS_DIR = MapFiles.DIR;

    /**
     * Evaluates up to the limit, continuing the checkpoint in {@code output}, and returns this
     * session's numbers. When one of the run's own files cannot be written (a full disk), it stops
     * with an {@link EvalOutputException}: the pictures finished before are in the checkpoint, the
     * one at hand is not, and the same call continues from there.
     */
    public static Session run(Dataset data, Network net, Config cfg, ObjectNode settings, Path output, Listener listener) {
        return run(data, net, cfg, settings, output, listener, EvalCheckpoint.FILE_SINK);
    }

    static Session run(Dataset data, Network net, Config cfg, ObjectNode settings, Path output, Listener listener, EvalCheckpoint.Sink sink) {
        data.checkClasses(net.numClasses());
        if (cfg.saveMaps()) MapFiles.requireUnique(data);
        int limitEnd = cfg.limit() == 0 ? data.samples().size() : Math.min(cfg.limit(), data.samples().size());
        Shard shard = Shard.of(settings);                   // every N-th picture; the checkpoint holds their dataset positions
        int end = shard.size(limitEnd);                     // from here on: counts within the shard
        try (EvalCheckpoint cp = EvalCheckpoint.open(output, settings, data.source(), cfg.outcomes(), sink)) {
            int start = Math.min(cp.done(), end);
            listener.started(cp.done(), Math.max(0, end - cp.done()));
            if (cp.done() >= end) return new Session(cp.done(), 0, 0);
            if (cfg.saveMaps()) createDir(output.resolve(MAPS_DIR));
            long t0 = System.nanoTime();
            AtomicInteger threadNo = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(cfg.workers(), r -> {
                Thread t = new Thread(r, "g2m-eval-" + threadNo.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            try {
                new Pipeline(data, net, cfg, output, pool, cp, listener, shard).run(start, end);
            } catch (EvalOutputException e) {
                throw new EvalOutputException(e.getMessage() + "; stopped with " + cp.recorded() + " of " + end
                        + " picture(s) in the checkpoint (none for the picture that failed): run the same command again to continue", e);
            } finally {
                pool.shutdownNow();
                awaitWorkers(pool);
            }
            return new Session(start, end - start, (System.nanoTime() - t0) / 1e9);
        }
    }

    /** After a failure, lets running workers end (they are interrupted) so that none writes a map once the run has returned. */
    private static void awaitWorkers(ExecutorService pool) {
        try {
            pool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A failure as a short reason for the skipped list (its message; the kind of failure when it has none). */
    private static String reason(RuntimeException e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName().replaceAll("(?<=[a-z])(?=[A-Z])", " ").toLowerCase(java.util.Locale.ROOT);
    }

    private static void createDir(Path d) {
        try {
            Files.createDirectories(d);
        } catch (java.io.IOException e) {
            throw new EvalOutputException("cannot create " + d + ": " + g2m.weights.AtomicFiles.describe(e), e);
        }
    }

    /** A decoded picture, ready for the network, or why it could not be. */
    private record Prepared(int index, Sample sample, LoadedImage picture, List<Box> gts, PixelMask truth, float[] input, ImageRecord failed) {}

    private static final class Pipeline {
        private static final int CROP_VALUES = 3 * TenCrop.CROP * TenCrop.CROP;
        private final Dataset data;
        private final Network net;
        private final Config cfg;
        private final Path output;
        private final ExecutorService pool;
        private final EvalCheckpoint cp;
        private final Listener listener;
        private final ArrayDeque<Future<Prepared>> ahead = new ArrayDeque<>();
        private final ArrayDeque<Future<ImageRecord>> pending = new ArrayDeque<>();
        private final int maxAhead, maxPending;
        private final Shard shard;
        private int next;

        Pipeline(Dataset data, Network net, Config cfg, Path output, ExecutorService pool, EvalCheckpoint cp, Listener listener, Shard shard) {
            this.shard = shard;
            this.data = data;
            this.net = net;
            this.cfg = cfg;
            this.output = output;
            this.pool = pool;
            this.cp = cp;
            this.listener = listener;
            this.maxAhead = 2 * cfg.batchImages() + cfg.workers();
            this.maxPending = 2 * cfg.batchImages() + 2 * cfg.workers();
        }

        void run(int start, int end) {
            next = start;
            refill(end);
            int done = start;
            while (done < end) {
                List<Prepared> batch = new ArrayList<>();
                while (batch.size() < cfg.batchImages() && !ahead.isEmpty()) batch.add(get(ahead.poll()));
                refill(end);
                done += batch.size();
                compute(batch);
                commit(false);
            }
            commit(true);
        }

        private void refill(int end) {
            while (ahead.size() < maxAhead && next < end) {
                int i = (int) shard.position(next++);          // < the dataset's size: next < shard.size(that)
                Sample s = data.samples().get(i);
                ahead.add(pool.submit(() -> prepare(i, s)));
            }
        }

        private Prepared prepare(int index, Sample s) {
            try {
                LoadedImage picture = ImageLoader.load(s.image(), cfg.maxPixels());
                PixelMask truth = s.masks() == null ? null : PixelMask.read(s.masks(), picture.width(), picture.height());
                List<Box> gts = truth != null ? truth.boxes() : s.groundTruth();
                float[] x = new float[TenCrop.CROPS * CROP_VALUES];
                TenCrop.input(TenCrop.resize(picture), net.preprocessing(), x, 0);
                return new Prepared(index, s, picture, gts, truth, x, null);
            } catch (ImageException | EvalException e) {
                return new Prepared(index, s, null, null, null, null, ImageRecord.skipped(index, s.name(), e.getMessage()));
            } catch (RuntimeException e) {
                return new Prepared(index, s, null, null, null, null, ImageRecord.skipped(index, s.name(), "failed: " + reason(e)));
            }
        }

        /** One network pass for the batch's good pictures; their per-map steps go to the workers. */
        private void compute(List<Prepared> batch) {
            List<Prepared> ok = batch.stream().filter(p -> p.failed() == null).toList();
            List<ImageMaps> r = null;
            if (!ok.isEmpty()) {
                int n = ok.size() * TenCrop.CROPS;
                float[] x = new float[n * CROP_VALUES];
                int[] classes = new int[n];
                for (int j = 0; j < ok.size(); j++) {
                    System.arraycopy(ok.get(j).input(), 0, x, j * TenCrop.CROPS * CROP_VALUES, TenCrop.CROPS * CROP_VALUES);
                    Arrays.fill(classes, j * TenCrop.CROPS, (j + 1) * TenCrop.CROPS, ok.get(j).sample().label());
                }
                r = net.maps(x, n, TenCrop.CROP, TenCrop.CROP, cfg.request(classes));
            }
            int j = 0;
            for (Prepared p : batch) {
                if (p.failed() != null) {
                    pending.add(CompletableFuture.completedFuture(p.failed()));
                    continue;
                }
                Job job = new Job(p, r, j++);
                pending.add(pool.submit(job::finish));
            }
        }

        /** Per-image work taken out of a batch's result (copies, so the batch can be dropped). */
        private final class Job {
            final Prepared p;
            final float[] logits;
            final float[][] maps;
            final int[][] sizes;

            Job(Prepared p, List<ImageMaps> r, int j) {
                this.p = p;
                List<ImageMaps> crops = r.subList(j * TenCrop.CROPS, (j + 1) * TenCrop.CROPS);
                logits = TenCrop.sumLogits(crops);
                maps = new float[cfg.outcomes()][];
                sizes = new int[cfg.taps().size()][];
                int k = 0;
                for (int t = 0; t < cfg.taps().size(); t++) {
                    Tap tap = cfg.taps().get(t);
                    sizes[t] = Vgg16Net.tapSize(tap, TenCrop.CROP, TenCrop.CROP);
                    for (MapMethod m : cfg.methods()) maps[k++] = TenCrop.stack(crops, tap, m);
                }
            }

            ImageRecord finish() {
                Sample s = p.sample();
                try {
                    List<ImageRecord.Outcome> out = new ArrayList<>(maps.length);
                    int k = 0;
                    for (int t = 0; t < cfg.taps().size(); t++) {
                        Tap tap = cfg.taps().get(t);
                        for (MapMethod m : cfg.methods()) {
                            Path png = cfg.saveMaps() ? output.resolve(MAPS_DIR).resolve(MapFiles.name(s, tap, m)) : null;
                            out.add(Localizer.locate(maps[k++], sizes[t][0], sizes[t][1], p.picture(), p.gts(), cfg.grabCut().appliesTo(tap), png,
                                    cfg.maxBoxFrame(), p.truth()));
                        }
                    }
                    return new ImageRecord(p.index(), s.name(), null, s.label(), Localizer.top(logits, 5),
                            p.picture().width(), p.picture().height(), out);
                } catch (EvalOutputException e) {
                    throw e;                                    // our own file, not the picture: stop the run
                } catch (RuntimeException e) {
                    return ImageRecord.skipped(p.index(), s.name(), "failed: " + reason(e));
                }
            }
        }

        /**
         * Appends finished images in order; with {@code all}, waits for every pending one. When one
         * failed to write its output, those before it are still recorded, then the failure goes up.
         */
        private void commit(boolean all) {
            List<ImageRecord> done = new ArrayList<>();
            try {
                while (!pending.isEmpty() && (all || pending.peek().isDone() || pending.size() > maxPending)) {
                    done.add(get(pending.poll()));
                }
            } finally {
                cp.append(done);
                for (ImageRecord r : done) listener.imageDone(r);
            }
        }

        private static <T> T get(Future<T> f) {
            try {
                return f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EvalException("interrupted");
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException re) throw re;
                if (c instanceof Error er) throw er;
                throw new IllegalStateException(c);
            }
        }
    }
}
