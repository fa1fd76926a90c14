package g2m.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.api.G2mEngine;
import g2m.api.ImageMaps;
import g2m.api.Map2D;
import g2m.api.MapRequest;
import g2m.image.ImageException;
import g2m.image.ImageLoader;
import g2m.image.LoadedImage;
import g2m.image.Resizer;
import g2m.maps.MapMethod;
import g2m.net.Tap;
import g2m.npy.Npy;
import g2m.overlay.Overlay;
import g2m.weights.AtomicFiles;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/** The main job: maps for a file or a folder of pictures, written as overlays (+ raw maps) and a summary. */
final class MapsJob {
    static final int EXIT_SOME_FAILED = 3;
    /** What a folder is listed for; whatever the name, a file is read by its content (see ImageLoader). */
    static final Set<String> IMAGE_EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff", "gif", "ppm", "pgm", "pbm", "pnm");

    /** The main job's options (on the root command). */
    static final class Options extends MapOptions {
        @Option(names = "--weights", paramLabel = "FILE",
                description = "VGG16 weights: the engine's .safetensors or anything 'convert' reads (converted once, cached by "
                        + "content); default: $G2M_WEIGHTS, then the 'fetch vgg16' cache")
        Path weights;

        @Option(names = "--input", paramLabel = "FILE|DIR", description = "a picture, or a folder of pictures (not recursive)")
        Path input;

        @Option(names = "--output", paramLabel = "DIR", defaultValue = "g2m-out",
                description = "where to write (default: ${DEFAULT-VALUE}); output names are unique in the run: pictures that share "
                        + "a stem use their whole file name (a_jpg_dgl, a_png_dgl), a name still taken gets _2, _3, ...")
        Path output;

        @Option(names = "--batch", paramLabel = "N", defaultValue = "8", description = "images per forward pass (default: ${DEFAULT-VALUE})")
        int batch;

        @Option(names = "--max-pixels", paramLabel = "N", defaultValue = "50000000",
                description = "refuse pictures over N pixels, as their own header says, before decoding (default: ${DEFAULT-VALUE}; "
                        + "peak memory at 50 megapixels was 0.72 GB)")
        long maxPixels;

        @Option(names = "--overlay-max-side", paramLabel = "N", defaultValue = "0",
                description = "shrink each overlay so that its longer side is at most N pixels (default: ${DEFAULT-VALUE} = the picture's size, as the reference)")
        int overlayMaxSide;

        @Option(names = "--class", paramLabel = "K", description = "explain class K for every image (default: each image's top-1)")
        Integer targetClass;

        @Option(names = "--class-names", paramLabel = "FILE", description = "class names, one per line in class-index order, for the summary")
        Path classNames;

        @Option(names = "--raw", description = "also write <stem>_<method>.npy: float32 maps at the tap's resolution, as the spec defines them")
        boolean raw;

        @Option(names = "--force", description = "overwrite existing output files")
        boolean force;

        @Option(names = "--demo", description = "run the bundled demo network on its sample pictures, as happens with no --input "
                + "when no weights are configured: overlays, the localization table and summary.json")
        boolean demo;
    }

    private final Options o;
    private final PrintWriter out;
    private final PrintWriter err;
    private MapRequest request;

    MapsJob(Options o, PrintWriter out, PrintWriter err) {
        this.o = o;
        this.out = out;
        this.err = err;
    }

    int run() {
        List<Tap> taps = o.taps();
        List<MapMethod> methods = o.methods();
        o.check();
        request = o.targetClass == null ? o.request() : o.request().withTargetClass(o.targetClass);
        checkNumbers(o);
        if (o.input == null) throw new Main.UserException("--input is required: a picture or a folder of pictures (or --demo for the bundled demo)");
        Path weights = WeightsChoice.require(o.weights);
        List<Path> images = listImages(o.input);
        List<String> labels = o.classNames == null ? List.of() : readLabels(o.classNames);
        // one picture: read before anything is opened or created, so a bad one is one line and exit 2, no output folder
        LoadedImage single = Files.isDirectory(o.input) ? null : loadChecked(o.input);
        Map<Path, String> stems = stems(images);
        List<Path> targets = new ArrayList<>();
        for (Path im : images) targets.addAll(outputs(stems.get(im), taps, methods).values());
        targets.add(o.output.resolve("summary.json"));
        if (!o.force) {
            long existing = targets.stream().filter(Files::exists).count();
            if (existing > 0) {
                throw new Main.UserException(existing + " output file(s) already exist in " + o.output + " (e.g. "
                        + targets.stream().filter(Files::exists).findFirst().orElseThrow().getFileName() + "); use --force to overwrite or another --output");
            }
        }
        long t0 = System.nanoTime();
        try (G2mEngine engine = o.engine().weights(weights).batchSize(o.batch).open()) {
            if (o.targetClass != null && (o.targetClass < 0 || o.targetClass >= engine.numClasses())) {
                throw new Main.UserException("--class " + o.targetClass + " is outside 0.." + (engine.numClasses() - 1));
            }
            try { // after the backend opened and the class was checked: a refusal leaves no empty output folder behind
                Files.createDirectories(o.output);
            } catch (IOException e) {
                throw new Main.UserException("cannot create " + o.output + ": " + AtomicFiles.describe(e));
            }
            ImageLoader.loadNatives();            // start-up, not the first picture, pays for loading OpenCV
            long loop = System.nanoTime();
            double startup = (loop - t0) / 1e9;
            // the progress line and the summary count the same span: from the first decode to the last file written
            Progress progress = new Progress(err, images.size(), loop);
            ObjectNode summary = JSON.createObjectNode();
            ArrayNode done = JSON.createArrayNode();
            ArrayNode failed = JSON.createArrayNode();
            int ok = 0;
            // Decode up to a batch of pictures (and at most --max-pixels of them held at once), map them together, write, repeat.
            int next = 0;
            while (next < images.size()) {
                List<LoadedImage> loaded = new ArrayList<>();
                long held = 0;
                while (next < images.size() && loaded.size() < o.batch && (loaded.isEmpty() || held < o.maxPixels)) {
                    Path p = images.get(next++);
                    try {
                        LoadedImage im = single != null ? single : loadChecked(p);
                        loaded.add(im);
                        held += (long) im.width() * im.height();
                    } catch (ImageException e) {
                        failed.add(failure(p, e.getMessage()));
                        err.println("g2m-engine: skipped " + e.getMessage());
                        progress.step();
                    }
                }
                single = null;
                ok += mapAndWrite(engine, loaded, stems, taps, methods, labels, done, failed, progress);
            }
            progress.done();
            double seconds = (System.nanoTime() - loop) / 1e9;
            summary.put("weights", weights.toString());
            summary.put("device", engine.device());
            ArrayNode ls = summary.putArray("layers");
            taps.forEach(t -> ls.add(t.id));
            ArrayNode ms = summary.putArray("methods");
            methods.forEach(m -> ms.add(m.id));
            summary.put("gradients", o.gradients.id);
            summary.set("images", done);
            summary.set("failed", failed);
            ObjectNode run = summary.putObject("run");
            run.put("images", ok);
            run.put("failed", failed.size());
            run.put("startup_seconds", round(startup));
            run.put("seconds", round(seconds));
            run.put("images_per_s", seconds > 0 ? round(ok / seconds) : 0);
            writeJson(o.output.resolve("summary.json"), summary);
            out.printf(Locale.ROOT, "%d image(s) mapped at %s with %s on %s in %.2f s (%.2f images/s; start-up %.2f s more); output in %s%n",
                    ok, String.join(",", taps.stream().map(t -> t.id).toList()), String.join(",", methods.stream().map(m -> m.id).toList()),
                    engine.device(), seconds, seconds > 0 ? ok / seconds : 0, startup, o.output);
            if (!failed.isEmpty()) {
                err.println("g2m-engine: " + failed.size() + " of " + images.size() + " input(s) failed (listed in summary.json)");
                return EXIT_SOME_FAILED;
            }
            return 0;
        }
    }

    /** Range checks of the numeric options (the demo makes them too, before unpacking anything). */
    static void checkNumbers(Options o) {
        OptionChecks.atLeast("--batch", o.batch, 1);
        OptionChecks.maxPixels(o.maxPixels);
        OptionChecks.atLeast("--overlay-max-side", o.overlayMaxSide, 0);
    }

    /** A picture decoded within --max-pixels, with an aspect ratio the network takes. */
    private LoadedImage loadChecked(Path p) {
        LoadedImage im = ImageLoader.load(p, o.maxPixels);
        Resizer.checkAspect(p.toString(), im.width(), im.height());
        return im;
    }

    /**
     * Maps a batch and writes its outputs; when the batch fails on one picture (say, an aspect
     * ratio too extreme to resize), retries the pictures one by one so only that one is skipped.
     */
    private int mapAndWrite(G2mEngine engine, List<LoadedImage> batch, Map<Path, String> stems, List<Tap> taps,
                            List<MapMethod> methods, List<String> labels, ArrayNode done, ArrayNode failed, Progress progress) {
        if (batch.isEmpty()) return 0;
        List<ImageMaps> results;
        try {
            results = engine.maps(batch, request);
        } catch (ImageException e) {
            if (batch.size() == 1) {
                failed.add(failure(batch.get(0).source(), e.getMessage()));
                err.println("g2m-engine: skipped " + e.getMessage());
                progress.step();
                return 0;
            }
            int ok = 0;
            for (LoadedImage im : batch) ok += mapAndWrite(engine, List.of(im), stems, taps, methods, labels, done, failed, progress);
            return ok;
        }
        int ok = 0;
        for (ImageMaps r : results) {
            String bad = nonFinite(r, taps, methods);
            if (bad != null) {
                String why = new ImageException(r.image().source() + ": " + bad).getMessage();   // one line, names escaped
                failed.add(failure(r.image().source(), why));
                err.println("g2m-engine: skipped " + why);
            } else {
                write(r, stems.get(r.image().source()), taps, methods, labels, done);
                ok++;
            }
            progress.step();
        }
        return ok;
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private void write(ImageMaps r, String stem, List<Tap> taps, List<MapMethod> methods, List<String> labels, ArrayNode done) {
        Map<String, Path> files = outputs(stem, taps, methods);
        ObjectNode e = JSON.createObjectNode();
        e.put("file", r.image().source().toString());
        e.put("width", r.image().width());
        e.put("height", r.image().height());
        e.putArray("input_size").add(r.inputHeight()).add(r.inputWidth());
        e.put("target_class", r.targetClass());
        if (r.targetClass() < labels.size()) e.put("target_label", labels.get(r.targetClass()));
        ArrayNode top = e.putArray("top5");
        for (ImageMaps.Scored s : r.top(5)) {
            ObjectNode t = top.addObject();
            t.put("class", s.classIndex());
            if (s.classIndex() < labels.size()) t.put("label", labels.get(s.classIndex()));
            t.put("probability", round(s.probability()));
            t.put("logit", s.logit());
        }
        ObjectNode shapes = e.putObject("map_shapes");
        ArrayNode written = e.putArray("outputs");
        try (Overlay.Base base = new Overlay.Base(r.image(), o.overlayMaxSide)) {
            e.putArray("overlay_size").add(base.height).add(base.width);
            for (Tap t : taps) {
                Map2D any = r.map(t, methods.get(0));
                shapes.putArray(t.id).add(any.height()).add(any.width());
                for (MapMethod m : methods) {
                    Map2D map = r.map(t, m);
                    Path png = files.get(key(t, m, "png"));
                    base.write(png, map.values(), 0, map.height(), map.width(), true);
                    written.add(png.getFileName().toString());
                    if (o.raw) {
                        Path npy = files.get(key(t, m, "npy"));
                        Npy.writeFloat32(npy, map.values(), 0, map.height(), map.width(), true);
                        written.add(npy.getFileName().toString());
                    }
                }
            }
        }
        done.add(e);
    }

    /**
     * Where the network's output for a picture is not finite (weights holding NaN or Inf, or
     * activations overflowing float32): the reason in words, else null. Such a picture is listed
     * as failed rather than written as a blank overlay or a summary with NaN in it.
     */
    static String nonFinite(ImageMaps r, List<Tap> taps, List<MapMethod> methods) {
        for (float v : r.logits()) {
            if (!Float.isFinite(v)) return "the network's class scores are not finite (" + v + "): the weights hold NaN or Inf, or overflow float32";
        }
        for (Tap t : taps) {
            for (MapMethod m : methods) {
                for (float v : r.map(t, m).values()) {
                    if (!Float.isFinite(v)) return "its " + m.id + " map at " + t.id + " is not finite (" + v + "): the weights hold NaN or Inf, or overflow float32";
                }
            }
        }
        return null;
    }

    /** Output files of one image: {@code <stem>_<method>.png} (with {@code _<layer>} when several layers). */
    private Map<String, Path> outputs(String stem, List<Tap> taps, List<MapMethod> methods) {
        Map<String, Path> m = new LinkedHashMap<>();
        for (Tap t : taps) {
            for (MapMethod mm : methods) {
                String base = stem + (taps.size() > 1 ? "_" + t.id : "") + "_" + mm.id;
                m.put(key(t, mm, "png"), o.output.resolve(base + ".png"));
                if (o.raw) m.put(key(t, mm, "npy"), o.output.resolve(base + ".npy"));
            }
        }
        return m;
    }

    private static String key(Tap t, MapMethod m, String ext) {
        return t.id + "/" + m.id + "/" + ext;
    }

    /**
     * Output stems, unique in the run (compared ignoring case, for case-insensitive file systems):
     * a file whose stem no other file shares keeps it ({@code a.png} → {@code a}); files sharing a
     * stem use their whole name with dots as underscores ({@code a.jpg}, {@code a.png} → {@code a_jpg},
     * {@code a_png}); a name still taken after that (by {@code a_png.png}, say) gets {@code _2},
     * {@code _3}, … in file-name order. summary.json lists every file with its outputs.
     */
    static Map<Path, String> stems(List<Path> images) {
        Map<String, Integer> count = new HashMap<>();
        for (Path p : images) count.merge(fold(stem(p)), 1, Integer::sum);
        Set<String> taken = new java.util.HashSet<>();
        Map<Path, String> out = new LinkedHashMap<>();
        for (Path p : images) {                   // first the plain stems that are unique, so they stay as they are
            if (count.get(fold(stem(p))) == 1) {
                out.put(p, stem(p));
                taken.add(fold(stem(p)));
            }
        }
        for (Path p : images) {
            if (out.containsKey(p)) continue;
            String base = p.getFileName().toString().replace('.', '_');
            String s = base;
            for (int k = 2; !taken.add(fold(s)); k++) s = base + "_" + k;
            out.put(p, s);
        }
        Map<Path, String> ordered = new LinkedHashMap<>();
        for (Path p : images) ordered.put(p, out.get(p));
        return ordered;
    }

    private static String fold(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    private static String stem(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    static List<Path> listImages(Path input) {
        if (Files.isDirectory(input)) {
            try (Stream<Path> s = Files.list(input)) {
                List<Path> l = s.filter(Files::isRegularFile).filter(MapsJob::looksLikeImage).sorted().toList();
                if (l.isEmpty()) {
                    throw new Main.UserException(input + " holds no pictures (looked for ." + String.join(", .", IMAGE_EXTENSIONS.stream().sorted().toList()) + ")");
                }
                return l;
            } catch (IOException e) {
                throw new Main.UserException("cannot list " + input + ": " + AtomicFiles.describe(e));
            }
        }
        if (!Files.exists(input)) throw new Main.UserException("no such file or folder: " + input);
        return List.of(input);
    }

    private static boolean looksLikeImage(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 && IMAGE_EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private static List<String> readLabels(Path f) {
        try {
            return Files.readAllLines(f, StandardCharsets.UTF_8).stream().map(String::strip).toList();
        } catch (IOException e) {
            throw new Main.UserException("cannot read --class-names " + f + ": " + AtomicFiles.describe(e));
        }
    }

    private static ObjectNode failure(Path p, String why) {
        ObjectNode f = JSON.createObjectNode();
        f.put("file", p.toString());
        f.put("error", why);
        return f;
    }

    private void writeJson(Path target, ObjectNode node) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        AtomicFiles.write(target, true, bytes);
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** A progress bar on stderr for more than a few images: one updating line on a terminal, a line per 10% otherwise. */
    static final class Progress {
        private final PrintWriter err;
        private final int total;
        private final boolean show;
        private final boolean tty = System.console() != null;
        private final long start;
        private int done;
        private int lastDecile = -1;

        Progress(PrintWriter err, int total) {
            this(err, total, System.nanoTime());
        }

        /** Rates count from {@code start} (System.nanoTime): the caller's clock, so its summary agrees. */
        Progress(PrintWriter err, int total, long start) {
            this.err = err;
            this.total = total;
            this.show = total > 3;
            this.start = start;
        }

        void step() {
            done++;
            if (!show) return;
            double el = (System.nanoTime() - start) / 1e9;
            double rate = done / Math.max(el, 1e-9);
            int eta = (int) Math.round((total - done) / Math.max(rate, 1e-9));
            int width = 30;
            int fill = (int) ((long) width * done / total);
            String line = String.format(Locale.ROOT, "[%s%s] %d/%d images, %.2f images/s, ETA %d s",
                    "=".repeat(fill), " ".repeat(width - fill), done, total, rate, eta);
            if (tty) {
                err.print("\r" + line);
                err.flush();
            } else {
                int decile = 10 * done / total;
                if (decile != lastDecile) {
                    lastDecile = decile;
                    err.println(line);
                }
            }
        }

        void done() {
            if (show && tty) err.println();
        }
    }
}
