package g2m.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.api.G2mEngine;
import g2m.eval.Dataset;
import g2m.eval.EvalCheckpoint;
import g2m.eval.EvalException;
import g2m.eval.EvalReport;
import g2m.eval.EvalRunner;
import g2m.eval.HtmlReport;
import g2m.eval.ImageRecord;
import g2m.eval.MapFiles;
import g2m.eval.MaxBoxAccV2;
import g2m.eval.WsolMetadata;
import g2m.eval.ReportSample;
import g2m.eval.Shard;
import g2m.maps.MapMethod;
import g2m.net.GradientSource;
import g2m.net.RandomVgg16;
import g2m.net.Tap;
import g2m.weights.AtomicFiles;
import g2m.weights.WeightsCache;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false, subcommands = EvalMergeCommand.class,
        defaultValueProvider = MapOptions.DefaultTap.class,
        description = {"WSOL evaluation with the layercam_loc protocol (the seed's table): ten crops of the picture resized to 256x256, "
                + "maps for the ground-truth class from ONE forward and ONE backward pass per batch for every layer and method, "
                + "boxes from the summed crop maps (GrabCut on 56x56-and-finer taps), IoU >= 0.5 against the ground-truth boxes.",
                "Prints the table; writes results.md, results.csv, results.json (and with --save-boxes boxes.csv and maps/*.png, "
                        + "with --report report.html) into --output, with a checkpoint that lets an interrupted run continue where it stopped.",
                "Many machines: run 'eval --shard I/N' on each (its own --output), then 'eval merge OUT DIR...'.",
                "Exit codes: 0 ok, 2 bad input or usage, or an output file that cannot be written (a full disk: the run stops, "
                        + "nothing is recorded for the picture at hand, and the same command continues), "
                        + "3 some pictures were skipped (listed in results.json), 1 internal error."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--weights", paramLabel = "FILE",
            description = "VGG16 weights (any format 'convert' reads); default: $G2M_WEIGHTS, then the 'fetch vgg16' cache")
    Path weights;

    @Option(names = "--images", paramLabel = "DIR", description = "ILSVRC2012 validation pictures (with --labels and --boxes)")
    Path images;

    @Option(names = "--labels", paramLabel = "FILE", description = "one '<file name> <class index>' line per picture (Caffe's val.txt); names relative to --images, no '..'")
    Path labels;

    @Option(names = "--boxes", paramLabel = "DIR|FILE",
            description = "one PASCAL-VOC XML per picture, <stem>.xml (the ILSVRC2012 validation boxes); or layercam_loc's val_box.mat, "
                    + "whose entry i is the picture on line i of --labels")
    Path boxes;

    @Option(names = "--cub", paramLabel = "DIR",
            description = "instead of the three above: a CUB-200-2011 folder (images.txt, image_class_labels.txt, bounding_boxes.txt, images/)")
    Path cub;

    @Option(names = "--split", paramLabel = "test|train|all", defaultValue = "test", description = "CUB split (default: ${DEFAULT-VALUE})")
    String split;

    @Option(names = "--wsol-metadata", paramLabel = "DIR",
            description = "instead of --labels/--boxes: a wsolevaluation metadata split (metadata/<ILSVRC|CUB|OpenImages>/<split>/: image_ids.txt, "
                    + "class_labels.txt, localization.txt with boxes or masks); --images is the folder its image ids are relative to. "
                    + "With masks (OpenImages) PxAP is reported too")
    Path wsolMetadata;

    @Option(names = "--masks", paramLabel = "DIR", description = "with --wsol-metadata: the folder the mask paths are relative to (default: --images)")
    Path masks;

    @Mixin
    MapOptions map;

    @Option(names = "--output", paramLabel = "DIR", defaultValue = "g2m-eval", description = "results and checkpoint (default: ${DEFAULT-VALUE})")
    Path output;

    @Option(names = "--grabcut", paramLabel = "auto|on|off", defaultValue = "auto",
            description = "GrabCut refinement: auto = taps at 56x56 or finer, as the protocol (default: ${DEFAULT-VALUE})")
    String grabcut;

    @Option(names = "--maxboxacc-frame", paramLabel = "picture|wsol224", defaultValue = "picture",
            description = "MaxBoxAccV2 at the picture's size, or wsol224 = wsolevaluation's own protocol: score map and ground-truth "
                    + "boxes resized to 224x224, box coordinates truncated, to compare with published wsolevaluation numbers "
                    + "(default: ${DEFAULT-VALUE})")
    String maxBoxFrame;

    @Option(names = "--save-boxes", description = "also write boxes.csv and maps/<stem>_<layer>_<method>.png (the uint8 map each box was taken from); "
            + "two pictures with the same stem (x.png and x.jpg, a/b.png and a_b.png, ignoring case) are refused")
    boolean saveBoxes;

    @Option(names = "--max-pixels", paramLabel = "N", defaultValue = "50000000",
            description = "skip pictures over N pixels, as their own header says, before decoding (default: ${DEFAULT-VALUE})")
    long maxPixels;

    @Option(names = "--report", description = "also write report.html: the tables, a chart of GT-known loc per layer, and "
            + ReportSample.PER_GROUP + " best, " + ReportSample.PER_GROUP + " worst and " + ReportSample.PER_GROUP
            + " random pictures (by mean IoU; fixed seed) with their heat, ground-truth and predicted boxes per layer and method; "
            + "one self-contained file, no network; those pictures are evaluated once more for it")
    boolean htmlReport;

    @Option(names = "--shard", paramLabel = "I/N",
            description = "evaluate only the pictures at positions I, I+N, I+2N, ... of the list (0-based: 0/3, 1/3, 2/3 on three machines), "
                    + "each shard into its own --output; 'eval merge' adds the shards up; a checkpoint continues only as the same shard "
                    + "(--limit N: of the list's first N pictures)")
    String shard;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "only the first N pictures (0 = all; a later run without it continues)")
    int limit;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "1", description = "pictures per network pass, ten crops each, at most " + MAX_BATCH + " (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "0",
            description = "threads that decode pictures and run the per-map steps alongside the network, 0 = cores, at most " + MAX_WORKERS
                    + " (default: ${DEFAULT-VALUE})")
    int workers;

    // Bounds that keep a typo from becoming an int overflow or 100,000 threads: one pass holds
    // batch × 10 crops of 3·224·224 floats (past 1,426 pictures that count overflows an int), each
    // worker keeps a decoded picture and its crops (6 MB) ready.
    static final int MAX_BATCH = 1024, MAX_WORKERS = 256;

    @Option(names = "--force", description = "start over: delete this command's files in --output first (checkpoint, results, boxes.csv, "
            + "and in maps/ the <stem>_<layer>_<method>.png of this dataset's pictures; other files stay)")
    boolean force;

    @Option(names = "--random-weights", paramLabel = "SEED", hidden = true,
            description = "timing only: full-size VGG16 with seeded random weights instead of --weights (the accuracies mean nothing)")
    Long randomWeights;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() {
        try {
            return evaluate();
        } catch (EvalException | IllegalArgumentException e) {
            throw new Main.UserException(EvalException.oneLine(e.getMessage()));     // may quote names, labels, XML text
        }
    }

    private int evaluate() {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        List<Tap> taps = map.taps();
        List<MapMethod> ms = map.methods();
        EvalRunner.GrabCut gc = EvalRunner.GrabCut.parse(grabcut);
        GradientSource gs = map.gradients;
        MaxBoxAccV2.Frame frame = MaxBoxAccV2.Frame.parse(maxBoxFrame);
        map.check();
        if (batch < 1 || batch > MAX_BATCH) throw new Main.UserException("--batch must be 1 to " + MAX_BATCH + ", got " + batch);
        OptionChecks.maxPixels(maxPixels);
        if (limit < 0) throw new Main.UserException("--limit must be 0 (all) or more, got " + limit);
        if (workers < 0 || workers > MAX_WORKERS) throw new Main.UserException("--workers must be 0 (one per core) to " + MAX_WORKERS + ", got " + workers);
        int nWorkers = workers > 0 ? workers : Math.min(MAX_WORKERS, Runtime.getRuntime().availableProcessors());
        Shard sh = shard == null ? Shard.ALL : Shard.parse(shard);
        Dataset data = dataset();
        int listed = limit > 0 ? Math.min(limit, data.samples().size()) : data.samples().size();
        if (sh.size(listed) == 0) throw new Main.UserException("--shard " + sh.id() + " has no pictures: " + listed + " to evaluate, at positions 0 to " + (listed - 1));
        if (saveBoxes) MapFiles.requireUnique(data);      // before --force deletes anything
        prepareOutput(data);

        long t0 = System.nanoTime();
        try (Net net = openNet()) {
            ObjectNode settings = settings(net, data, taps, ms, gc);
            settings.put("gradients", gs.id);
            settings.put("maxboxacc_frame", frame.id);
            settings.put("max_pixels", Math.toIntExact(maxPixels)); // decides which pictures are skipped (checked: at most 700 M); an int reads back equal
            if (!sh.isAll()) settings.put(Shard.SETTING, sh.id());      // last, so that merge's settings are the unsharded run's
            EvalRunner.Config cfg = new EvalRunner.Config(taps, ms, gc, saveBoxes, batch, nWorkers, limit, gs, frame, maxPixels);
            double startup = (System.nanoTime() - t0) / 1e9;
            ProgressListener progress = new ProgressListener(err, output, sh.isAll() ? null : sh.describe() + ": " + sh.size(listed) + " of the "
                    + listed + " pictures");
            EvalRunner.Session s;
            try {
                s = EvalRunner.run(data, net.network(), cfg, settings, output, progress);
            } finally {
                progress.done();                           // ends the bar's line, also before an error line
            }
            EvalReport report = EvalReport.fromCheckpoint(output.resolve(EvalCheckpoint.FILE), taps, ms, limit, saveBoxes);
            ObjectNode run = JSON.createObjectNode();
            run.put("device", net.engine().device());
            run.put("batch", batch);
            run.put("workers", nWorkers);
            run.put("resumed_from", s.resumedFrom());
            run.put("images_this_run", s.evaluated());
            run.put("startup_seconds", round(startup));
            run.put("seconds", round(s.seconds()));
            run.put("seconds_per_image", s.evaluated() > 0 ? round(s.seconds() / s.evaluated()) : 0);
            report.write(output, settings, describe(data), run);
            if (htmlReport) {
                HtmlReport.Written w = HtmlReport.write(output, report, settings, describe(data), data, net.network(), cfg);
                say(err, "report: " + w.pictures() + " picture(s) evaluated again for " + w.file() + " (" + (w.bytes() + 1023) / 1024 + " kB)");
                if (w.differing() > 0) say(err, "report: " + w.differing() + " box(es) computed again differ from the checkpoint's (marked in the report)");
            } else if (Files.exists(output.resolve(HtmlReport.FILE))) {   // left by an earlier run with --report: now older than the results
                say(err, output.resolve(HtmlReport.FILE) + " is from an earlier run and does not show these results; add --report to write it again");
            }
            out.print(report.table());
            String thisRun = s.evaluated() > 0
                    ? String.format(Locale.ROOT, "%d this run, %.2f s/image on %s", s.evaluated(), s.seconds() / s.evaluated(), net.engine().device())
                    : "all from the checkpoint";
            out.printf(Locale.ROOT, "%d image(s) evaluated (%s)%s; results in %s%n", report.evaluated(), thisRun,
                    report.skipped().isEmpty() ? "" : ", " + report.skipped().size() + " skipped", output.resolve(EvalReport.MD));
            if (!report.skipped().isEmpty()) {
                say(err, report.skipped().size() + " picture(s) skipped (listed in " + output.resolve(EvalReport.JSON_FILE) + ")");
                return MapsJob.EXIT_SOME_FAILED;
            }
            return 0;
        }
    }

    private String describe(Dataset data) {
        return describe(data.samples().size(), limit, data.source(), randomWeights != null);
    }

    /** The dataset as results.md and results.json name it (also what 'eval merge' writes from the shards' checkpoints). */
    static String describe(int listed, int limit, String source, boolean randomWeights) {
        return listed + (limit > 0 && limit < listed ? " (first " + limit + " evaluated)" : "") + " listed in "
                + source + (randomWeights ? "; RANDOM weights (timing only)" : "");
    }

    private Dataset dataset() {
        if (wsolMetadata != null) {
            if (cub != null || labels != null || boxes != null) throw new Main.UserException("--wsol-metadata replaces --labels, --boxes and --cub; give one or the other");
            if (images == null) throw new Main.UserException("--wsol-metadata needs --images, the folder its image ids are relative to");
            return WsolMetadata.read(wsolMetadata, images, masks);
        }
        if (masks != null) throw new Main.UserException("--masks goes with --wsol-metadata");
        if (cub != null) {
            if (images != null || labels != null || boxes != null) throw new Main.UserException("--cub replaces --images, --labels and --boxes; give one or the other");
            return Dataset.cub(cub, split);
        }
        if (images == null || labels == null || boxes == null) {
            throw new Main.UserException("give --images DIR --labels FILE --boxes DIR|val_box.mat (ILSVRC2012 validation layout), --cub DIR, "
                    + "or --wsol-metadata DIR --images DIR");
        }
        return Dataset.ilsvrc(labels, images, boxes);
    }

    /** Refuses to mix with someone else's files; with --force removes this command's own outputs. */
    private void prepareOutput(Dataset data) {
        if (Files.exists(output) && !Files.isDirectory(output)) throw new Main.UserException("--output " + output + " is a file, not a folder");
        Path cp = output.resolve(EvalCheckpoint.FILE);
        Path maps = output.resolve(EvalRunner.MAPS_DIR);
        if (force) {
            try {
                Files.deleteIfExists(cp);
                for (String f : EvalReport.FILES) Files.deleteIfExists(output.resolve(f));
                MapFiles.deleteOwn(maps, data);
            } catch (IOException e) {
                throw new Main.UserException("cannot clear " + output + ": " + AtomicFiles.describe(e));
            }
            return;
        }
        if (Files.exists(cp)) return;                       // same settings: continue; others: refused by the checkpoint
        for (String f : EvalReport.FILES) {
            if (Files.exists(output.resolve(f))) {
                throw new Main.UserException(output.resolve(f) + " exists but there is no checkpoint to continue from; use --force to start over or another --output");
            }
        }
        if (Files.isDirectory(maps)) throw new Main.UserException(maps + " exists but there is no checkpoint; use --force or another --output");
    }

    private ObjectNode settings(Net net, Dataset data, List<Tap> taps, List<MapMethod> ms, EvalRunner.GrabCut gc) {
        ObjectNode s = JSON.createObjectNode();
        s.put("protocol", "layercam_loc-tencrop/1");
        s.put("weights", net.fingerprint());
        s.put("preprocessing", net.engine().preprocessing().toString());
        s.put("classes", net.engine().numClasses());
        s.put("dataset", data.kind());
        s.put("images", data.samples().size());
        s.put("dataset_sha256", data.fingerprint());
        ArrayNode l = s.putArray("layers");
        taps.forEach(t -> l.add(t.id));
        ArrayNode m = s.putArray("methods");
        ms.forEach(x -> m.add(x.id));
        s.put("grabcut", gc.name().toLowerCase(Locale.ROOT));
        s.put("save_boxes", saveBoxes);
        s.put("device", net.engine().backendName());     // cpu and cuda round differently; threads and batch do not matter
        if (!map.precision.equals(g2m.backend.Precision.FP32)) s.put("precision", map.precision.id); // and so do the precisions
        return s;
    }

    /** The network for the runner, with what identifies its weights. */
    private record Net(G2mEngine engine, String fingerprint) implements AutoCloseable {
        EvalRunner.Network network() {
            return EvalRunner.Network.of(engine);
        }

        @Override
        public void close() {
            engine.close();
        }
    }

    private Net openNet() {
        G2mEngine.Builder b = map.engine().batchSize(batch * 10);
        if (randomWeights != null) {
            if (weights != null) throw new Main.UserException("--random-weights replaces --weights; give one");
            long seed = randomWeights;
            return new Net(b.weights(() -> RandomVgg16.create(seed)).open(), "random-vgg16:" + seed);
        }
        Path w = resolveWeights();
        String sha = WeightsCache.sha256(w);
        return new Net(b.weights(w).open(), "sha256:" + sha);
    }

    private Path resolveWeights() {
        if (weights != null && !Files.isRegularFile(weights)) throw new Main.UserException("--weights " + weights + ": no such file");
        return WeightsChoice.require(weights);
    }

    /**
     * Every line eval prints on stderr besides the progress bar and the errors (those end in Main):
     * one printable line, since names and skip reasons come from the dataset's files.
     */
    static void say(java.io.PrintWriter err, String line) {
        err.println("g2m-engine: " + EvalException.oneLine(line));
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** The progress bar (MapsJob's) and a line when a run continues a checkpoint. */
    private static final class ProgressListener implements EvalRunner.Listener {
        private final java.io.PrintWriter err;
        private final Path output;
        private final String shardLine;
        private MapsJob.Progress bar;

        /** @param shardLine what a shard evaluates, said once the checkpoint has been accepted (null: not a shard) */
        ProgressListener(java.io.PrintWriter err, Path output, String shardLine) {
            this.err = err;
            this.output = output;
            this.shardLine = shardLine;
        }

        @Override
        public void started(int alreadyDone, int toDo) {
            if (shardLine != null) say(shardLine);
            if (alreadyDone > 0) {
                say("continuing " + output.resolve(EvalCheckpoint.FILE) + ": " + alreadyDone + " picture(s) already done, " + toDo + " to go");
            }
            bar = new MapsJob.Progress(err, toDo);
        }

        @Override
        public void imageDone(ImageRecord r) {
            if (!r.ok()) say("skipped " + r.name() + ": " + r.error());
            bar.step();
        }

        void done() {
            if (bar != null) bar.done();
        }

        private void say(String line) {
            EvalCommand.say(err, line);
        }
    }
}
