package g2m.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.maps.MapMethod;
import g2m.net.Tap;
import g2m.weights.AtomicFiles;
import g2m.weights.WeightsException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code report.html}: one self-contained page to look at a run. The seed's table and the
 * MaxBoxAccV2 table (the numbers of results.md), a bar chart of GT-known loc per layer for each
 * method, and the pictures {@link ReportSample} picks, each with its heat per (layer, method)
 * under the ground-truth boxes (green) and the predicted box (red). Everything is inline: CSS,
 * SVG, thumbnails as {@code data:} JPEGs; no script; a Content-Security-Policy that allows
 * nothing else, so the page cannot fetch anything even by mistake. The markup is also
 * well-formed XML (every element closed, every attribute quoted), so a plain XML parser reads
 * it, and every string that comes from the dataset's files (picture names, paths, skip reasons)
 * is escaped. Its size is bounded: at most {@code 3 × }{@value ReportSample#PER_GROUP} pictures,
 * each as {@code 1 + layers × methods} thumbnails of at most {@value ReportPictures#THUMB}
 * pixels a side (JPEG, about 5–15 kB each), and at most {@value #MAX_SKIPPED} skipped names.
 */
public final class HtmlReport {
    private HtmlReport() {}

    public static final String FILE = "report.html";
    static final int MAX_SKIPPED = 100;
    private static final String[] COLOURS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

    /** What was written: the file, how many pictures it shows, how many of their boxes differ from the checkpoint's, its size. */
    public record Written(Path file, int pictures, int differing, long bytes) {}

    /**
     * Picks the pictures from the run's checkpoint in {@code dir}, evaluates them again with
     * {@code net} and writes report.html next to the results (whole or not at all).
     */
    public static Written write(Path dir, EvalReport report, ObjectNode settings, String description, Dataset data, EvalRunner.Network net,
                                EvalRunner.Config cfg) {
        List<ReportSample.Pick> picks = ReportSample.choose(dir.resolve(EvalCheckpoint.FILE), cfg.outcomes(), cfg.limit());
        List<ReportPictures.Shown> shown = ReportPictures.compute(data, net, cfg, picks);
        String html = render(report, cfg.taps(), cfg.methods(), settings, description, shown);
        byte[] b = html.getBytes(StandardCharsets.UTF_8);
        Path f = dir.resolve(FILE);
        try {
            AtomicFiles.write(f, true, b);
        } catch (WeightsException e) {
            throw new EvalOutputException(e.getMessage() + "; the checkpoint is complete: run the same command again to write the report", e);
        }
        int differing = 0;
        for (ReportPictures.Shown s : shown) for (ReportPictures.Cell c : s.cells()) if (!c.sameBox()) differing++;
        return new Written(f, shown.size(), differing, b.length);
    }

    /** The page. */
    public static String render(EvalReport report, List<Tap> taps, List<MapMethod> methods, ObjectNode settings, String description,
                                List<ReportPictures.Shown> shown) {
        StringBuilder h = new StringBuilder(1 << 16);
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
        h.append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\"/>\n");
        h.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
        h.append("<title>WSOL evaluation report</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        h.append("<h1>WSOL evaluation (layercam_loc protocol, ten crops)</h1>\n");
        LocStats any = report.stats(taps.get(0), methods.get(0));
        h.append("<p id=\"about\">").append(report.evaluated()).append(" images of ").append(esc(description));
        if (!report.skipped().isEmpty()) h.append(", ").append(report.skipped().size()).append(" skipped");
        h.append(". Classification from the summed ten-crop logits: Top-1 ").append(LocStats.percent(any.top1Cls(), any.images()))
                .append(", Top-5 ").append(LocStats.percent(any.top5Cls(), any.images())).append(".</p>\n");
        seedTable(h, report, taps, methods);
        maxBoxTable(h, report, taps, methods);
        h.append("<h2>GT-known loc per layer</h2>\n");
        chart(h, report, taps, methods);
        pictures(h, taps, methods, shown);
        skipped(h, report);
        settingsTable(h, settings);
        h.append("<p class=\"note\">Written by g2m-engine eval. The pictures are ranked by their mean IoU over every layer and method: the ")
                .append(ReportSample.PER_GROUP).append(" best, the ").append(ReportSample.PER_GROUP).append(" worst, and ").append(ReportSample.PER_GROUP)
                .append(" of the others drawn with seed ").append(ReportSample.SEED)
                .append("; their maps were computed again for this page. Green: ground-truth boxes. Red: the box the table counts (the largest ")
                .append("contour of the heat thresholded at 15 %, or of the GrabCut mask where GrabCut refines). The heat shown is step 4's, before GrabCut.</p>\n");
        h.append("</body>\n</html>\n");
        return h.toString();
    }

    private static String label(List<Tap> taps, List<MapMethod> methods, int k) {
        return taps.get(k / methods.size()).id + " " + methods.get(k % methods.size()).id;
    }

    private static void seedTable(StringBuilder h, EvalReport report, List<Tap> taps, List<MapMethod> methods) {
        h.append("<h2>Localization</h2>\n<table id=\"seed-table\" class=\"numbers\">\n<thead><tr><th>Layers</th><th>Method</th><th>Top1 loc</th>")
                .append("<th>Top5 loc</th><th>GT-Known loc</th></tr></thead>\n<tbody>\n");
        for (Tap t : taps) {
            for (MapMethod m : methods) {
                LocStats s = report.stats(t, m);
                h.append("<tr data-layer=\"").append(t.id).append("\" data-method=\"").append(esc(m.id)).append("\"><td>").append(t.id).append("</td><td>")
                        .append(esc(m.id)).append("</td><td>").append(LocStats.percent(s.top1Loc(), s.images())).append("</td><td>")
                        .append(LocStats.percent(s.top5Loc(), s.images())).append("</td><td>").append(LocStats.percent(s.gtKnown(), s.images()))
                        .append("</td></tr>\n");
            }
        }
        h.append("</tbody>\n</table>\n");
    }

    private static void maxBoxTable(StringBuilder h, EvalReport report, List<Tap> taps, List<MapMethod> methods) {
        h.append("<h2>MaxBoxAccV2 and mean IoU</h2>\n<table id=\"maxbox-table\" class=\"numbers\">\n<thead><tr><th>Layers</th><th>Method</th>")
                .append("<th>MaxBoxAccV2</th><th>@30</th><th>@50</th><th>@70</th><th>mean IoU</th></tr></thead>\n<tbody>\n");
        for (Tap t : taps) {
            for (MapMethod m : methods) {
                LocStats s = report.stats(t, m);
                double[] acc = s.maxBox().maxBoxAcc();
                h.append("<tr data-layer=\"").append(t.id).append("\" data-method=\"").append(esc(m.id)).append("\"><td>").append(t.id).append("</td><td>")
                        .append(esc(m.id)).append("</td><td>").append(LocStats.twoDecimals(s.maxBox().value(), s.images()));
                for (double a : acc) h.append("</td><td>").append(LocStats.twoDecimals(a, s.images()));
                h.append("</td><td>").append(s.meanIouText()).append("</td></tr>\n");
            }
        }
        h.append("</tbody>\n</table>\n");
    }

    /** Grouped bars: one group per layer (the run's order), one bar per method, 0–100 %. */
    private static void chart(StringBuilder h, EvalReport report, List<Tap> taps, List<MapMethod> methods) {
        int bar = 18, gap = 24;
        int groupW = methods.size() * bar + gap;
        int left = 48, right = 16, top = 44, bottom = 40, plotH = 220;
        int width = Math.max(480, left + right + taps.size() * groupW), height = top + plotH + bottom;
        h.append("<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(width).append("\" height=\"").append(height)
                .append("\" viewBox=\"0 0 ").append(width).append(' ').append(height).append("\" role=\"img\" aria-label=\"GT-known loc per layer and method\">\n");
        for (int j = 0; j < methods.size(); j++) {
            int lx = left + j * 110;
            h.append("<rect x=\"").append(lx).append("\" y=\"10\" width=\"12\" height=\"12\" fill=\"").append(COLOURS[j % COLOURS.length]).append("\"/>");
            h.append("<text x=\"").append(lx + 16).append("\" y=\"21\" class=\"legend\">").append(esc(methods.get(j).id)).append("</text>\n");
        }
        for (int p = 0; p <= 100; p += 25) {
            double y = top + plotH - plotH * p / 100.0;
            h.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>", left, y, width - right, y));
            h.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" class=\"axis\" text-anchor=\"end\">%d %%</text>%n", left - 6, y + 4, p));
        }
        for (int i = 0; i < taps.size(); i++) {
            int gx = left + i * groupW + gap / 2;
            for (int j = 0; j < methods.size(); j++) {
                LocStats s = report.stats(taps.get(i), methods.get(j));
                if (s.images() == 0) continue;
                String v = LocStats.percent(s.gtKnown(), s.images());
                double bh = plotH * Double.parseDouble(v) / 100.0;
                h.append(String.format(Locale.ROOT, "<rect class=\"bar\" data-layer=\"%s\" data-method=\"%s\" data-value=\"%s\" x=\"%d\" y=\"%.2f\" width=\"%d\" "
                                + "height=\"%.2f\" fill=\"%s\"><title>%s %s: GT-known loc %s %%</title></rect>%n", taps.get(i).id, esc(methods.get(j).id), v,
                        gx + j * bar, top + plotH - bh, bar - 2, bh, COLOURS[j % COLOURS.length], taps.get(i).id, esc(methods.get(j).id), v));
            }
            h.append("<text x=\"").append(gx + methods.size() * bar / 2).append("\" y=\"").append(top + plotH + 18)
                    .append("\" class=\"axis\" text-anchor=\"middle\">").append(taps.get(i).id).append("</text>\n");
        }
        h.append("<line x1=\"").append(left).append("\" y1=\"").append(top + plotH).append("\" x2=\"").append(width - right).append("\" y2=\"")
                .append(top + plotH).append("\" class=\"baseline\"/>\n</svg>\n");
    }

    private static void pictures(StringBuilder h, List<Tap> taps, List<MapMethod> methods, List<ReportPictures.Shown> shown) {
        h.append("<h2>Pictures</h2>\n");
        if (shown.isEmpty()) {
            h.append("<p>No picture was evaluated.</p>\n");
            return;
        }
        for (ReportPictures.Shown s : shown) {
            ReportSample.Pick p = s.pick();
            ImageRecord r = p.record();
            String group = p.group().id;
            h.append("<section class=\"picture\" data-group=\"").append(group).append("\" data-image=\"").append(esc(r.name())).append("\">\n");
            h.append("<h3>").append(Character.toUpperCase(group.charAt(0))).append(group.substring(1)).append(' ').append(p.rank() + 1).append(": ")
                    .append(esc(r.name())).append("</h3>\n");
            h.append("<p class=\"meta\">dataset position ").append(r.index()).append(", ").append(r.width()).append('×').append(r.height())
                    .append(", class ").append(r.label()).append(", Top-1 ").append(r.top5()[0]).append(r.top1() ? " (right)" : " (wrong)")
                    .append(String.format(Locale.ROOT, ", mean IoU %.4f", p.meanIou())).append("</p>\n");
            if (s.error() != null) {
                h.append("<p class=\"error\">").append(esc(r.name())).append(' ').append(esc(s.error())).append("; its boxes:");
                for (int k = 0; k < r.outcomes().size(); k++) {
                    Box b = r.outcomes().get(k).box();
                    h.append(' ').append(esc(label(taps, methods, k))).append(" [").append(b.x1()).append(", ").append(b.y1()).append(", ")
                            .append(b.x2()).append(", ").append(b.y2()).append(']');
                }
                h.append("</p>\n</section>\n");
                continue;
            }
            h.append("<figure class=\"photo\">");
            svg(h, s, s.pictureJpeg(), null, null, "picture");
            h.append("<figcaption>the picture, ").append(s.groundTruth().size()).append(" ground-truth box(es)</figcaption></figure>\n");
            h.append("<table class=\"maps\">\n<thead><tr><th></th>");
            for (MapMethod m : methods) h.append("<th>").append(esc(m.id)).append("</th>");
            h.append("</tr></thead>\n<tbody>\n");
            int k = 0;
            for (Tap t : taps) {
                h.append("<tr><th>").append(t.id).append("</th>");
                for (int j = 0; j < methods.size(); j++, k++) {
                    ReportPictures.Cell c = s.cells().get(k);
                    h.append("<td><figure>");
                    svg(h, s, c.jpeg(), c.recorded().box(), c.sameBox() ? null : c.recomputed(), t.id + "/" + c.method().id);
                    h.append(String.format(Locale.ROOT, "<figcaption>IoU %.4f%s", c.recorded().iou(), c.recorded().iou() >= LocStats.IOU_THRESHOLD ? " ✓" : ""));
                    if (!c.sameBox()) {
                        Box b = c.recomputed();
                        h.append("<br/><span class=\"warn\">computed again: [").append(b.x1()).append(", ").append(b.y1()).append(", ").append(b.x2())
                                .append(", ").append(b.y2()).append("] (dashed), not the checkpoint's box</span>");
                    }
                    h.append("</figcaption></figure></td>");
                }
                h.append("</tr>\n");
            }
            h.append("</tbody>\n</table>\n</section>\n");
        }
    }

    /** One thumbnail in the picture's own coordinates: the JPEG stretched over W×H, the ground truth, the predicted box. */
    private static void svg(StringBuilder h, ReportPictures.Shown s, byte[] jpeg, Box predicted, Box again, String what) {
        int w = s.width(), ht = s.height();
        double scale = (double) ReportPictures.THUMB / Math.max(w, ht);     // shown at the thumbnail size, small pictures enlarged
        h.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"thumb\" data-what=\"").append(esc(what)).append("\" width=\"")
                .append(Math.max(1, Math.round(w * scale))).append("\" height=\"").append(Math.max(1, Math.round(ht * scale))).append("\" viewBox=\"0 0 ")
                .append(w).append(' ').append(ht).append("\" role=\"img\" aria-label=\"").append(esc(what)).append("\">");
        h.append("<image width=\"").append(w).append("\" height=\"").append(ht).append("\" preserveAspectRatio=\"none\" href=\"data:image/jpeg;base64,")
                .append(Base64.getEncoder().encodeToString(jpeg)).append("\"/>");
        for (Box b : s.groundTruth()) rect(h, "gt", b);
        if (predicted != null) rect(h, "pred", predicted);
        if (again != null) rect(h, "pred again", again);
        h.append("</svg>");
    }

    /** A box as an SVG rectangle covering its pixels (corners inclusive), its corners also in {@code data-box}. */
    private static void rect(StringBuilder h, String cls, Box b) {
        h.append("<rect class=\"").append(cls).append("\" data-box=\"").append(b.x1()).append(',').append(b.y1()).append(',').append(b.x2()).append(',')
                .append(b.y2()).append("\" x=\"").append(b.x1()).append("\" y=\"").append(b.y1()).append("\" width=\"").append(b.x2() - b.x1() + 1)
                .append("\" height=\"").append(b.y2() - b.y1() + 1).append("\"/>");
    }

    private static void skipped(StringBuilder h, EvalReport report) {
        List<ImageRecord> sk = report.skipped();
        if (sk.isEmpty()) return;
        h.append("<h2>Skipped</h2>\n<ul id=\"skipped\">\n");
        for (int i = 0; i < Math.min(sk.size(), MAX_SKIPPED); i++) {
            h.append("<li>").append(esc(sk.get(i).name())).append(": ").append(esc(sk.get(i).error())).append("</li>\n");
        }
        if (sk.size() > MAX_SKIPPED) h.append("<li>and ").append(sk.size() - MAX_SKIPPED).append(" more (all in results.json)</li>\n");
        h.append("</ul>\n");
    }

    private static void settingsTable(StringBuilder h, ObjectNode settings) {
        if (settings == null) return;
        h.append("<h2>Settings</h2>\n<table id=\"settings\">\n<tbody>\n");
        Iterator<Map.Entry<String, JsonNode>> it = settings.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            h.append("<tr><th>").append(esc(e.getKey())).append("</th><td>").append(esc(v.isTextual() ? v.textValue() : v.toString())).append("</td></tr>\n");
        }
        h.append("</tbody>\n</table>\n");
    }

    /**
     * {@code s} as HTML text or a quoted attribute value: {@code & < > " '} as character
     * references; characters that neither HTML nor XML allow (control characters other than tab
     * and newline, unpaired surrogates) as U+FFFD. Five characters and a range: not worth a
     * library dependency.
     */
    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> {
                    if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                        b.append(c).append(s.charAt(++i));
                    } else if (Character.isSurrogate(c) || (c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7f && c <= 0x9f) || c == '\uFFFE' || c == '\uFFFF') {
                        b.append('\uFFFD');
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }

    private static final String CSS = """
            body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; background: #fff; }
            h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 15px; margin: 18px 0 4px; }
            table { border-collapse: collapse; }
            table.numbers td, table.numbers th, #settings td, #settings th { border: 1px solid #ccc; padding: 2px 10px; }
            table.numbers td { text-align: right; font-variant-numeric: tabular-nums; }
            table.numbers td:nth-child(-n+2) { text-align: left; }
            #settings th { text-align: left; font-weight: 600; } #settings td { font-family: monospace; word-break: break-all; }
            #chart text.axis, #chart text.legend { font-size: 12px; fill: #333; }
            #chart line.grid { stroke: #e3e3e3; } #chart line.baseline { stroke: #555; }
            section.picture { border-top: 1px solid #ddd; margin-top: 16px; }
            p.meta { color: #555; margin: 0 0 6px; } p.error, span.warn { color: #b00020; }
            figure { margin: 0; display: inline-block; vertical-align: top; }
            figcaption { font-size: 12px; color: #444; }
            table.maps th { font-weight: 600; padding: 2px 6px; font-size: 13px; }
            table.maps td { padding: 3px; vertical-align: top; }
            svg.thumb { display: block; background: #eee; }
            rect.gt, rect.pred { fill: none; stroke-width: 2px; vector-effect: non-scaling-stroke; }
            rect.gt { stroke: #00e676; } rect.pred { stroke: #ff1744; } rect.again { stroke-dasharray: 4 3; stroke: #ffea00; }
            p.note { color: #555; font-size: 12px; margin-top: 28px; max-width: 900px; }
            """;
}
