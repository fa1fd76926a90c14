package g2m.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.maps.MapMethod;
import g2m.net.Tap;
import g2m.weights.AtomicFiles;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The results of a run, added up from its checkpoint (images {@code 0 … limit−1}, in order), and
 * the files written from them: results.md (the seed's table), results.csv, results.json and, when
 * asked, boxes.csv. On a mask dataset (records with PxAP histograms) PxAP is added: a section in
 * results.md, a last column {@code pxap} in results.csv, {@code pxap} per result in results.json;
 * box datasets' files are unchanged.
 */
public final class EvalReport {
    public static final String MD = "results.md", CSV = "results.csv", JSON_FILE = "results.json", BOXES = "boxes.csv";
    public static final List<String> FILES = List.of(MD, CSV, JSON_FILE, BOXES, HtmlReport.FILE);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final List<Tap> taps;
    private final List<MapMethod> methods;
    private final LocStats[] stats;
    private final List<ImageRecord> skipped = new ArrayList<>();
    private final Path checkpoint;
    private final int limit;
    private final boolean withBoxes;
    private boolean withPxAp;
    private int evaluated;

    private EvalReport(Path checkpoint, List<Tap> taps, List<MapMethod> methods, int limit, boolean withBoxes) {
        this.checkpoint = checkpoint;
        this.taps = List.copyOf(taps);
        this.methods = List.copyOf(methods);
        this.limit = limit;
        this.withBoxes = withBoxes;
        this.stats = new LocStats[taps.size() * methods.size()];
        for (int i = 0; i < stats.length; i++) stats[i] = new LocStats();
    }

    /** Adds up the first {@code limit} records of a checkpoint (0: all); with {@code withBoxes}, {@link #write} adds boxes.csv. */
    public static EvalReport fromCheckpoint(Path checkpoint, List<Tap> taps, List<MapMethod> methods, int limit, boolean withBoxes) {
        EvalReport r = new EvalReport(checkpoint, taps, methods, limit, withBoxes);
        r.forEachRecord(r::add);
        r.withPxAp = r.stats[0].pxAp().images() > 0;
        for (LocStats s : r.stats) {
            if (r.withPxAp && s.pxAp().images() != s.images()) throw new EvalException(checkpoint + " is damaged: some records lack their PxAP histograms");
        }
        return r;
    }

    private void forEachRecord(java.util.function.Consumer<ImageRecord> each) {
        EvalCheckpoint.forEach(checkpoint, stats.length, rec -> {
            if (limit == 0 || rec.index() < limit) each.accept(rec);
        });
    }

    private void add(ImageRecord rec) {
        if (!rec.ok()) {
            skipped.add(rec);
            return;
        }
        evaluated++;
        boolean top1 = rec.top1(), top5 = rec.inTop5();
        for (int k = 0; k < stats.length; k++) {
            ImageRecord.Outcome o = rec.outcomes().get(k);
            stats[k].add(top1, top5, o.iou(), o.maxBoxHits());
            if (o.pixelHistograms() != null) stats[k].pxAp().add(o.pixelHistograms());
        }
    }

    /** boxes.csv rows of one image: image,layer,method,x1,y1,x2,y2,iou. */
    private void boxRows(ImageRecord rec, java.io.Writer w) throws java.io.IOException {
        if (!rec.ok()) return;
        for (int k = 0; k < stats.length; k++) {
            ImageRecord.Outcome o = rec.outcomes().get(k);
            Box b = o.box();
            w.write(csvField(rec.name()) + "," + taps.get(k / methods.size()).id + "," + methods.get(k % methods.size()).id + ","
                    + b.x1() + "," + b.y1() + "," + b.x2() + "," + b.y2() + "," + String.format(Locale.ROOT, "%.6f", o.iou()) + "\n");
        }
    }

    public int evaluated() {
        return evaluated;
    }

    public List<ImageRecord> skipped() {
        return List.copyOf(skipped);
    }

    public LocStats stats(Tap tap, MapMethod method) {
        return stats[taps.indexOf(tap) * methods.size() + methods.indexOf(method)];
    }

    /** The seed's table: | Layers | Method | Top1 loc | Top5 loc | GT-Known loc |, percentages with two decimals. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append("| Layers   | Method     | Top1 loc | Top5 loc | GT-Known loc |\n");
        sb.append("| -------- | --------   | ----     | ----     | ----         |\n");
        for (int k = 0; k < stats.length; k++) {
            LocStats s = stats[k];
            sb.append(String.format(Locale.ROOT, "| %-8s | %-10s | %-8s | %-8s | %-12s |%n", taps.get(k / methods.size()).id, methods.get(k % methods.size()).id,
                    LocStats.percent(s.top1Loc(), s.images()), LocStats.percent(s.top5Loc(), s.images()), LocStats.percent(s.gtKnown(), s.images())));
        }
        return sb.toString();
    }

    public String markdown(String datasetDescription) {
        LocStats any = stats[0];
        StringBuilder sb = new StringBuilder();
        sb.append("# WSOL evaluation (layercam_loc protocol, ten crops)\n\n");
        sb.append(evaluated).append(" images of ").append(datasetDescription);
        if (!skipped.isEmpty()) sb.append(", ").append(skipped.size()).append(" skipped (listed in results.json)");
        sb.append(". Classification from the summed ten-crop logits: Top-1 ").append(LocStats.percent(any.top1Cls(), any.images()))
                .append(", Top-5 ").append(LocStats.percent(any.top5Cls(), any.images())).append(".\n\n");
        sb.append(table());
        sb.append("\nMaxBoxAccV2 (Choe et al. 2020; IoU 30/50/70, best map threshold each) and mean IoU:\n\n");
        sb.append("| Layers   | Method     | MaxBoxAccV2 | @30   | @50   | @70   | mean IoU |\n");
        sb.append("| -------- | --------   | ----        | ----  | ----  | ----  | ----     |\n");
        for (int k = 0; k < stats.length; k++) {
            LocStats s = stats[k];
            double[] m = s.maxBox().maxBoxAcc();
            long n = s.images();
            sb.append(String.format(Locale.ROOT, "| %-8s | %-10s | %-11s | %-5s | %-5s | %-5s | %-8s |%n", taps.get(k / methods.size()).id,
                    methods.get(k % methods.size()).id, LocStats.twoDecimals(s.maxBox().value(), n), LocStats.twoDecimals(m[0], n),
                    LocStats.twoDecimals(m[1], n), LocStats.twoDecimals(m[2], n), s.meanIouText()));
        }
        if (withPxAp) {
            sb.append("\nPxAP (Choe et al. 2020; pixel average precision over the object masks, ignored pixels left out, thresholds 0…0.99):\n\n");
            sb.append("| Layers   | Method     | PxAP  |\n");
            sb.append("| -------- | --------   | ----  |\n");
            for (int k = 0; k < stats.length; k++) {
                sb.append(String.format(Locale.ROOT, "| %-8s | %-10s | %-5s |%n", taps.get(k / methods.size()).id, methods.get(k % methods.size()).id,
                        pxAp(stats[k])));
            }
        }
        return sb.toString();
    }

    /** Whether the records carry PxAP histograms (a mask dataset). */
    public boolean withPxAp() {
        return withPxAp;
    }

    private static String pxAp(LocStats s) {
        double v = s.pxAp().value();
        return Double.isNaN(v) ? "n/a" : LocStats.twoDecimals(v);
    }

    public String csv() {
        StringBuilder sb = new StringBuilder("layer,method,top1_loc,top5_loc,gt_known_loc,top1_cls,top5_cls,mean_iou,maxboxacc_v2" + (withPxAp ? ",pxap" : "") + "\n");
        for (int k = 0; k < stats.length; k++) {
            LocStats s = stats[k];
            long n = s.images();
            sb.append(taps.get(k / methods.size()).id).append(',').append(methods.get(k % methods.size()).id).append(',')
                    .append(LocStats.percent(s.top1Loc(), n)).append(',').append(LocStats.percent(s.top5Loc(), n)).append(',')
                    .append(LocStats.percent(s.gtKnown(), n)).append(',').append(LocStats.percent(s.top1Cls(), n)).append(',')
                    .append(LocStats.percent(s.top5Cls(), n)).append(',').append(s.meanIouText()).append(',')
                    .append(LocStats.twoDecimals(s.maxBox().value(), n));
            if (withPxAp) sb.append(',').append(pxAp(s));
            sb.append('\n');
        }
        return sb.toString();
    }

    /** results.json: settings, counts, exact values, skipped images, and this session's timing ({@code run}, may be null). */
    public ObjectNode json(ObjectNode settings, String datasetDescription, ObjectNode run) {
        ObjectNode o = JSON.createObjectNode();
        o.put("protocol", "layercam_loc ten-crop WSOL evaluation (the engine's g2m/eval/PROTOCOL.md); MaxBoxAccV2 after Choe et al. 2020"
                + (withPxAp ? "; PxAP after Choe et al. 2020" : ""));
        o.put("dataset", datasetDescription);
        o.put("images", evaluated);
        o.set("settings", settings);
        ArrayNode res = o.putArray("results");
        for (int k = 0; k < stats.length; k++) {
            LocStats s = stats[k];
            ObjectNode e = res.addObject();
            e.put("layer", taps.get(k / methods.size()).id);
            e.put("method", methods.get(k % methods.size()).id);
            e.put("images", s.images());
            ObjectNode c = e.putObject("counts");
            c.put("top1_loc", s.top1Loc());
            c.put("top5_loc", s.top5Loc());
            c.put("gt_known_loc", s.gtKnown());
            c.put("top1_cls", s.top1Cls());
            c.put("top5_cls", s.top5Cls());
            ObjectNode p = e.putObject("percent");
            p.put("top1_loc", LocStats.percent(s.top1Loc(), s.images()));
            p.put("top5_loc", LocStats.percent(s.top5Loc(), s.images()));
            p.put("gt_known_loc", LocStats.percent(s.gtKnown(), s.images()));
            p.put("top1_cls", LocStats.percent(s.top1Cls(), s.images()));
            p.put("top5_cls", LocStats.percent(s.top5Cls(), s.images()));
            if (s.images() == 0) e.putNull("mean_iou");         // no image: no mean, rather than a mean of 0
            else e.put("mean_iou", s.meanIou());
            ObjectNode mb = e.putObject("maxboxacc_v2");
            mb.put("value", s.maxBox().value());
            double[] m = s.maxBox().maxBoxAcc();
            int[] best = s.maxBox().bestThreshold();
            for (int l = 0; l < MaxBoxAccV2.IOU_LEVELS.length; l++) {
                ObjectNode lv = mb.putObject("iou_" + MaxBoxAccV2.IOU_LEVELS[l]);
                lv.put("accuracy", m[l]);
                lv.put("best_threshold", best[l] / 100.0);
            }
            if (withPxAp) {
                double v = s.pxAp().value();
                ObjectNode px = e.putObject("pxap");
                if (Double.isNaN(v)) px.putNull("value");
                else px.put("value", v);
            }
        }
        ArrayNode sk = o.putArray("skipped");
        for (ImageRecord r : skipped) sk.addObject().put("image", r.name()).put("error", r.error());
        if (run != null) o.set("run", run);
        return o;
    }

    /**
     * Writes results.md, results.csv, results.json (and boxes.csv) into {@code dir}, each whole or
     * not at all; an {@link EvalOutputException} when one cannot be (the checkpoint holds everything,
     * so the same command writes them again).
     */
    public void write(Path dir, ObjectNode settings, String datasetDescription, ObjectNode run) {
        try {
            writeFiles(dir, settings, datasetDescription, run);
        } catch (g2m.weights.WeightsException e) {
            throw new EvalOutputException(e.getMessage() + "; the checkpoint is complete: run the same command again to write the results", e);
        }
    }

    private void writeFiles(Path dir, ObjectNode settings, String datasetDescription, ObjectNode run) {
        writeText(dir.resolve(MD), markdown(datasetDescription) + optionsNote(settings));
        writeText(dir.resolve(CSV), csv());
        try {
            writeText(dir.resolve(JSON_FILE), JSON.writeValueAsString(json(settings, datasetDescription, run)) + "\n");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        if (withBoxes) {
            AtomicFiles.write(dir.resolve(BOXES), true, ch -> {
                java.io.Writer w = new java.io.BufferedWriter(java.nio.channels.Channels.newWriter(ch, StandardCharsets.UTF_8), 1 << 16);
                w.write("image,layer,method,x1,y1,x2,y2,iou\n");
                try {
                    forEachRecord(rec -> {
                        try {
                            boxRows(rec, w);
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
                } catch (java.io.UncheckedIOException e) {
                    throw e.getCause();
                }
                w.flush();
            });
        }
    }

    /** results.md's last line: the gradient source and the MaxBoxAccV2 frame, when the settings name them (and the shard, if any). */
    static String optionsNote(ObjectNode settings) {
        if (settings == null || !settings.has("gradients") || !settings.has("maxboxacc_frame")) return "";
        String g = settings.get("gradients").asText(), f = settings.get("maxboxacc_frame").asText();
        return "\nGradients: " + g + (g.equals("layercam_loc") ? " (at conv1_2 … conv5_3 the next max-pool's, upsampled, as layercam_loc)" : " (the tap's own)")
                + "; MaxBoxAccV2 frame: " + f + (f.equals("wsol224") ? " (wsolevaluation's 224×224)" : " (the picture's size)")
                + (settings.has(Shard.SETTING) ? "; " + Shard.of(settings).describe() : "") + ".\n";
    }

    private static void writeText(Path f, String s) {
        AtomicFiles.write(f, true, s.getBytes(StandardCharsets.UTF_8));
    }

    private static String csvField(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
        return '"' + s.replace("\"", "\"\"") + '"';
    }
}
