package g2m.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import g2m.eval.Box;
import g2m.eval.BoxExtractor;
import g2m.image.ImageLoader;
import g2m.image.LoadedImage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static g2m.cli.CliTest.fixture;
import static g2m.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code eval} end to end on the generated ILSVRC-layout set of tools/reference/eval_reference.py
 * (six pictures with known boxes and labels, the tiny fixture network): the numbers against the
 * reference's own run of the whole protocol (e2e.json), resuming, settings mismatches and bad inputs.
 */
class EvalCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String WEIGHTS = "tiny_vgg16_zip.pth";     // the reference used these tensors with PyTorch preprocessing

    @TempDir
    Path dir;
    Path set;

    static Path resource(String name) {
        try {
            return Path.of(EvalCliTest.class.getResource("/eval/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("missing test resource /eval/" + name, e);
        }
    }

    @BeforeEach
    void copySet() throws IOException {
        set = dir.resolve("set");
        Path src = resource("tinyset");
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : s.toList()) {
                Path t = set.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }

    String[] args(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("eval", "--weights", fixture(WEIGHTS), "--images", set.resolve("images").toString(),
                "--labels", set.resolve("val.txt").toString(), "--boxes", set.resolve("boxes").toString(), "--output", out.toString(),
                "--device", "cpu", "--workers", "2"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }

    /** results.json without the timing of the run that wrote it. */
    static JsonNode results(Path out) throws IOException {
        var o = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(out.resolve("results.json").toFile());
        o.remove("run");
        return o;
    }

    /**
     * Against the reference's run of the whole protocol (float64 network; float32 maps here): Top-5
     * per picture exactly; per (picture, layer, method) the box exactly and its IoU to 1e-12, the
     * MaxBoxAccV2 hits exactly; the table and MaxBoxAccV2 exactly. Also: every saved map gives back its box.
     */
    @Test
    void matchesTheReferenceEndToEnd() throws IOException {
        Path out = dir.resolve("out");
        CliTest.Result r = run(args(out, "--layers", "conv5_1,conv3_3", "--save-boxes"));
        assertEquals(0, r.code(), r.err());
        JsonNode ref = JSON.readTree(resource("e2e.json").toFile());
        assertTrue(r.out().contains("| conv3_3  | layercam   | 16.67    | 33.33    | 50.00        |"), r.out());

        // per picture: checkpoint records hold the Top-5 and, per (layer, method), box, IoU and hits
        List<String> lines = Files.readAllLines(out.resolve("checkpoint.jsonl"));
        assertEquals(1 + ref.get("images").size(), lines.size());
        List<String> keys = new ArrayList<>();
        for (JsonNode t : ref.get("taps")) for (JsonNode m : ref.get("methods")) keys.add(t.asText() + "/" + m.asText());
        for (int i = 0; i < ref.get("images").size(); i++) {
            JsonNode want = ref.get("images").get(i);
            JsonNode got = JSON.readTree(lines.get(i + 1));
            assertEquals(want.get("name"), got.get("name"));
            assertEquals(want.get("top5"), got.get("top5"), want.get("name").asText());
            for (int k = 0; k < keys.size(); k++) {
                JsonNode w = want.get("maps").get(keys.get(k));
                JsonNode g = got.get("r").get(k);
                String what = want.get("name").asText() + " " + keys.get(k);
                for (int c = 0; c < 4; c++) assertEquals(w.get("box").get(c).intValue(), g.get(c).intValue(), what + " box");
                assertEquals(w.get("iou").doubleValue(), g.get(4).doubleValue(), 1e-12, what + " iou");
                for (int l = 0; l < 3; l++) {
                    long lo = g.get(5 + 2 * l).longValue(), hi = g.get(6 + 2 * l).longValue();
                    List<Integer> on = new ArrayList<>();
                    for (int t = 0; t < 100; t++) if (((t < 64 ? lo >>> t : hi >>> (t - 64)) & 1) != 0) on.add(t);
                    List<Integer> exp = new ArrayList<>();
                    for (JsonNode v : w.get("hits").get(String.valueOf(new int[] {30, 50, 70}[l]))) exp.add(v.intValue());
                    assertEquals(exp, on, what + " MaxBoxAccV2 hits");
                }
            }
        }
        // the table: counts and percentages exactly, MaxBoxAccV2 and mean IoU
        JsonNode res = results(out).get("results");
        assertEquals(ref.get("table").size(), res.size());
        for (int k = 0; k < res.size(); k++) {
            JsonNode w = ref.get("table").get(k), g = res.get(k);
            assertEquals(w.get("layer"), g.get("layer"));
            assertEquals(w.get("method"), g.get("method"));
            assertEquals(w.get("counts"), g.get("counts"));
            assertEquals(w.get("percent"), g.get("percent"));
            assertEquals(w.get("mean_iou").doubleValue(), g.get("mean_iou").doubleValue(), 1e-12);
            assertEquals(w.get("maxboxacc_v2").doubleValue(), g.get("maxboxacc_v2").get("value").doubleValue(), 1e-12);
        }
        assertEquals("cpu", results(out).get("settings").get("device").asText());
        assertEquals(List.of("conv5_1", "conv3_3"), List.of(results(out).get("settings").get("layers").get(0).asText(),
                results(out).get("settings").get("layers").get(1).asText()));
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals("layer,method,top1_loc,top5_loc,gt_known_loc,top1_cls,top5_cls,mean_iou,maxboxacc_v2", csv.get(0));
        assertEquals("conv3_3,layercam,16.67,33.33,50.00,16.67,66.67,0.5047,61.11", csv.get(5));
        assertTrue(read(out.resolve("results.md")).contains("| Layers   | Method     | Top1 loc | Top5 loc | GT-Known loc |"));

        // boxes.csv, and each saved map (original size) gives back its box: anyone can audit a box
        List<String> boxes = Files.readAllLines(out.resolve("boxes.csv"));
        assertEquals("image,layer,method,x1,y1,x2,y2,iou", boxes.get(0));
        assertEquals(1 + 6 * 8, boxes.size());
        for (String row : boxes.subList(1, boxes.size())) {
            String[] f = row.split(",");
            String stem = f[0].substring(0, f[0].lastIndexOf('.'));
            LoadedImage png = ImageLoader.load(out.resolve("maps").resolve(stem + "_" + f[1] + "_" + f[2] + ".png"));
            LoadedImage pic = ImageLoader.load(set.resolve("images").resolve(f[0]));
            assertEquals(pic.width(), png.width());
            assertEquals(pic.height(), png.height());
            byte[] rgb = png.rgb();
            byte[] gray = new byte[png.width() * png.height()];
            for (int i = 0; i < gray.length; i++) gray[i] = rgb[3 * i];
            Box b = BoxExtractor.box(gray, png.width(), png.height());
            assertEquals(new Box(Integer.parseInt(f[3]), Integer.parseInt(f[4]), Integer.parseInt(f[5]), Integer.parseInt(f[6])), b, row);
            if (f[1].equals("conv3_3")) {          // GrabCut: the saved map is its 0/255 mask
                for (byte v : gray) assertTrue(v == 0 || v == (byte) 255, row);
            }
        }
    }

    /** --limit, then a second run continues; a run killed mid-line continues too; both end as an uninterrupted run. */
    @Test
    void resumesToTheSameResults() throws IOException {
        Path whole = dir.resolve("whole");
        assertEquals(0, run(args(whole)).code());
        Path parts = dir.resolve("parts");
        CliTest.Result first = run(args(parts, "--limit", "2"));
        assertEquals(0, first.code(), first.err());
        assertTrue(first.out().contains("2 image(s) evaluated"), first.out());
        assertEquals(3, Files.readAllLines(parts.resolve("checkpoint.jsonl")).size());
        CliTest.Result second = run(args(parts, "--limit", "4"));
        assertEquals(0, second.code(), second.err());
        assertTrue(second.err().contains("2 picture(s) already done, 2 to go"), second.err());
        // a kill while appending: a partial last line
        Files.writeString(parts.resolve("checkpoint.jsonl"), "{\"i\":4,\"name\":\"synth_00", StandardOpenOption.APPEND);
        CliTest.Result third = run(args(parts));
        assertEquals(0, third.code(), third.err());
        assertTrue(third.err().contains("4 picture(s) already done, 2 to go"), third.err());
        assertEquals(read(whole.resolve("results.md")), read(parts.resolve("results.md")));
        assertEquals(read(whole.resolve("results.csv")), read(parts.resolve("results.csv")));
        assertEquals(results(whole), results(parts));
        assertEquals(read(whole.resolve("checkpoint.jsonl")), read(parts.resolve("checkpoint.jsonl")));
        // nothing left to do: the results are rewritten the same
        CliTest.Result again = run(args(parts));
        assertEquals(0, again.code(), again.err());
        assertEquals(read(whole.resolve("results.csv")), read(parts.resolve("results.csv")));
    }

    @Test
    void refusesACheckpointOfOtherSettingsUnlessForced() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, run(args(out, "--limit", "1")).code());
        CliTest.Result other = run(args(out, "--limit", "1", "--methods", "layercam"));
        assertEquals(2, other.code());
        assertTrue(other.oneLineError().contains("other settings (methods:"), other.err());
        CliTest.Result forced = run(args(out, "--limit", "1", "--methods", "layercam", "--force"));
        assertEquals(0, forced.code(), forced.err());
        assertEquals(2, Files.readAllLines(out.resolve("results.csv")).size());

        Path foreign = Files.createDirectories(dir.resolve("foreign"));
        Files.writeString(foreign.resolve("results.md"), "someone's notes");
        CliTest.Result r = run(args(foreign, "--limit", "1"));
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("no checkpoint"), r.err());
        assertEquals("someone's notes", read(foreign.resolve("results.md")));
    }

    /** A picture that cannot be read and one with a malformed XML: reported, skipped, the rest evaluated, exit 3. */
    @Test
    void skipsUnreadablePicturesAndBadXml() throws IOException {
        Files.writeString(set.resolve("images/synth_0002.png"), "not a png");
        Files.writeString(set.resolve("boxes/synth_0005.xml"), "<annotation><object><bndbox><xmin>3</xmin>");
        Path out = dir.resolve("out");
        CliTest.Result r = run(args(out));
        assertEquals(3, r.code(), r.err());
        assertTrue(r.err().contains("skipped synth_0002.png"), r.err());
        assertTrue(r.err().contains("skipped synth_0005.png") && r.err().contains("not well-formed XML"), r.err());
        assertTrue(r.out().contains("4 image(s) evaluated") && r.out().contains("2 skipped"), r.out());
        JsonNode j = results(out);
        assertEquals(4, j.get("images").intValue());
        assertEquals(2, j.get("skipped").size());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    /** --max-pixels: pictures whose header declares more are skipped before decoding; the limit is a setting of the checkpoint. */
    @Test
    void picturesOverTheMaxPixelsAreSkipped() throws IOException {
        Path out = dir.resolve("out");
        CliTest.Result r = run(args(out, "--max-pixels", "42000"));   // synth_0004 is 256x256, synth_0006 224x200; synth_0003 300x140 is exactly 42000
        assertEquals(3, r.code(), r.err());
        assertTrue(r.err().contains("skipped synth_0004.png") && r.err().contains("skipped synth_0006.png"), r.err());
        assertFalse(r.err().contains("skipped synth_0003.jpg"), r.err());
        assertEquals(4, results(out).get("images").intValue());
        CliTest.Result again = run(args(out, "--max-pixels", "50000000"));
        assertEquals(2, again.code(), again.err());
        assertTrue(again.oneLineError().contains("max_pixels"), again.err());
        assertEquals(2, run(args(dir.resolve("out2"), "--max-pixels", "0")).code());
    }

    /** Every picture skipped: the tables say n/a where there is no mean, not a mean IoU of 0. */
    @Test
    void allPicturesSkippedGivesNoMeans() throws IOException {
        Path out = dir.resolve("none");
        CliTest.Result r = run(args(out, "--max-pixels", "1"));
        assertEquals(3, r.code(), r.err());
        JsonNode j = results(out);
        assertEquals(0, j.get("images").intValue());
        for (JsonNode row : j.get("results")) assertTrue(row.get("mean_iou").isNull(), row.toString());
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        for (String row : csv.subList(1, csv.size())) assertTrue(row.matches(".*,n/a,n/a$"), row);
        String md = Files.readString(out.resolve("results.md"));
        assertFalse(md.contains("0.0000"), md);
        assertTrue(md.contains("| n/a      |"), md);
    }

    @Test
    void badDatasetsAreOneLineErrors() throws IOException {
        Path out = dir.resolve("out");
        // an image without its XML
        Files.delete(set.resolve("boxes/synth_0003.xml"));
        CliTest.Result r = run(args(out));
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("no box file") && r.err().contains("synth_0003.jpg"), r.err());
        Files.writeString(set.resolve("boxes/synth_0003.xml"), "<annotation/>");
        // class index out of range (the tiny network has 10 classes)
        Path labels = set.resolve("val.txt");
        String orig = read(labels);
        Files.writeString(labels, orig.replaceFirst("synth_0001.png 1", "synth_0001.png 10"));
        r = run(args(out));
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("class 10 is outside 0..9"), r.err());
        // a malformed labels line
        Files.writeString(labels, orig + "synth_0007.png\n");
        r = run(args(out));
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("line 7: expected '<file name> <class index>'"), r.err());
        // a listed picture that is not there
        Files.writeString(labels, orig + "synth_0007.png 3\n");
        r = run(args(out));
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("1 of the 7 images listed") && r.err().contains("synth_0007.png"), r.err());
        // no labels file; an unknown layer; a bad --grabcut
        Files.delete(labels);
        r = run(args(out));
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("no such file"), r.err());
        Files.writeString(labels, orig);
        r = run(args(out, "--layers", "conv5_0"));
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("unknown layer 'conv5_0'"), r.err());
        r = run(args(out, "--grabcut", "sometimes"));
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("--grabcut must be auto, on or off"), r.err());
        // an empty XML (no object) is a skip, not a stop
        r = run(args(out));
        assertEquals(3, r.code(), r.err());
        assertTrue(r.err().contains("synth_0003.xml holds no <object>"), r.err());
    }

    /** CUB-200-2011's layout: the test split (train_test_split.txt), 1-based classes, x y w h boxes. */
    @Test
    void readsTheCubLayout() throws IOException {
        Path cub = Files.createDirectories(dir.resolve("CUB_200_2011"));
        Path imgs = Files.createDirectories(cub.resolve("images/001.Some_bird"));
        StringBuilder images = new StringBuilder(), labels = new StringBuilder(), boxes = new StringBuilder(), split = new StringBuilder();
        String[] names = {"synth_0001.png", "synth_0004.png", "synth_0005.png"};
        int[][] xywh = {{40, 30, 50, 40}, {100, 60, 80, 120}, {10, 20, 30, 40}};
        for (int i = 0; i < names.length; i++) {
            Files.copy(set.resolve("images").resolve(names[i]), imgs.resolve(names[i]));
            images.append(i + 1).append(" 001.Some_bird/").append(names[i]).append('\n');
            labels.append(i + 1).append(' ').append(i + 1).append('\n');
            boxes.append(i + 1).append(' ').append(xywh[i][0]).append(".0 ").append(xywh[i][1]).append(".0 ").append(xywh[i][2]).append(".0 ").append(xywh[i][3]).append(".0\n");
            split.append(i + 1).append(i == 1 ? " 1" : " 0").append('\n');
        }
        Files.writeString(cub.resolve("images.txt"), images);
        Files.writeString(cub.resolve("image_class_labels.txt"), labels);
        Files.writeString(cub.resolve("bounding_boxes.txt"), boxes);
        Files.writeString(cub.resolve("train_test_split.txt"), split);
        Path out = dir.resolve("cubout");
        CliTest.Result r = run("eval", "--weights", fixture(WEIGHTS), "--cub", cub.toString(), "--output", out.toString(), "--device", "cpu",
                "--save-boxes");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("2 image(s) evaluated"), r.out());
        List<String> rows = Files.readAllLines(out.resolve("boxes.csv"));
        assertEquals(1 + 2 * 4, rows.size());
        assertTrue(rows.get(1).startsWith("001.Some_bird/synth_0001.png,conv5_1,layercam,"), rows.get(1));
        assertTrue(Files.exists(out.resolve("maps/001.Some_bird_synth_0005_conv5_1_dgl.png")));
        // the IoU is against [x, y, x + w, y + h]: recompute one
        String[] f = rows.get(1).split(",");
        double iou = g2m.eval.Iou.layercam(new Box(40, 30, 90, 70),
                new Box(Integer.parseInt(f[3]), Integer.parseInt(f[4]), Integer.parseInt(f[5]), Integer.parseInt(f[6])))[0];
        assertEquals(iou, Double.parseDouble(f[7]), 1e-6);

        r = run("eval", "--weights", fixture(WEIGHTS), "--cub", cub.toString(), "--labels", set.resolve("val.txt").toString(), "--output", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("--cub replaces"), r.err());
    }

    /** Every file under {@code dir} by relative path, with its bytes (results.json without the run's timing). */
    static java.util.Map<String, String> files(Path dir) throws IOException {
        java.util.Map<String, String> m = new java.util.TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                String rel = dir.relativize(p).toString();
                m.put(rel, rel.equals("results.json") ? results(dir).toString() : java.util.HexFormat.of().formatHex(Files.readAllBytes(p)));
            }
        }
        return m;
    }

    /** The last line on stderr (progress lines may come before it): the error, no stack trace. */
    static String lastLine(CliTest.Result r) {
        assertFalse(r.err().contains("\tat "), r.err());
        List<String> lines = r.err().strip().lines().toList();
        String last = lines.get(lines.size() - 1);
        assertTrue(last.startsWith("g2m-engine: "), r.err());
        return last;
    }

    /**
     * A map that cannot be written (a folder in its place; a full disk fails the same write) is not a
     * property of the picture: the run stops, exit 2, with nothing recorded for that picture, and once
     * the obstacle is gone the same command continues to exactly the files of an uninterrupted run.
     * (Before, the picture was recorded as skipped and the next run said "0 to go".)
     */
    @Test
    void anOutputThatCannotBeWrittenStopsTheRunAndTheSameCommandContinues() throws IOException {
        Path whole = dir.resolve("whole"), parts = dir.resolve("parts");
        assertEquals(0, run(args(whole, "--save-boxes")).code());
        assertEquals(0, run(args(parts, "--save-boxes", "--limit", "2")).code());
        String resultsOfTwo = read(parts.resolve("results.md"));
        Path obstacle = Files.createDirectories(parts.resolve("maps/synth_0004_conv5_1_sgl-g1.png/in-the-way"));

        CliTest.Result r = run(args(parts, "--save-boxes"));
        assertEquals(2, r.code(), r.err());
        String last = lastLine(r);
        assertTrue(last.contains("synth_0004_conv5_1_sgl-g1.png") && last.contains("stopped with 3 of 6 picture(s) in the checkpoint")
                && last.contains("run the same command again to continue"), last);
        assertFalse(r.err().contains("skipped"), r.err());
        assertEquals(resultsOfTwo, read(parts.resolve("results.md")), "no results from a stopped run");
        List<String> cp = Files.readAllLines(parts.resolve("checkpoint.jsonl"));
        assertEquals(1 + 3, cp.size(), "pictures 1-3 recorded, nothing for picture 4");
        for (String line : cp) assertFalse(line.contains("\"error\""), line);

        Files.delete(obstacle);
        Files.delete(obstacle.getParent());
        r = run(args(parts, "--save-boxes"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("3 picture(s) already done, 3 to go"), r.err());
        assertEquals(files(whole), files(parts));

        // a results file that cannot be written: exit 2, and the next run writes it from the complete checkpoint
        Path csv = parts.resolve("results.csv");
        Files.delete(csv);
        Files.createDirectories(csv.resolve("in-the-way"));
        r = run(args(parts, "--save-boxes"));
        assertEquals(2, r.code(), r.err());
        assertTrue(lastLine(r).contains("the checkpoint is complete: run the same command again to write the results"), r.err());
        Files.delete(csv.resolve("in-the-way"));
        Files.delete(csv);
        assertEquals(0, run(args(parts, "--save-boxes")).code());
        assertEquals(files(whole), files(parts));
    }

    /** A checkpoint line edited into other valid JSON (its label changed) is refused in one line, not added up. */
    @Test
    void aCheckpointChangedByHandIsRefused() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, run(args(out, "--limit", "3")).code());
        Path f = out.resolve("checkpoint.jsonl");
        List<String> lines = new ArrayList<>(Files.readAllLines(f));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"label\":(\\d+)").matcher(lines.get(2));
        assertTrue(m.find(), lines.get(2));
        lines.set(2, lines.get(2).substring(0, m.start(1)) + (Integer.parseInt(m.group(1)) + 1) + lines.get(2).substring(m.end(1)));
        JSON.readTree(lines.get(2));
        Files.write(f, lines);
        CliTest.Result r = run(args(out));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.oneLineError().contains("line 3 is damaged (its checksum does not match"), r.err());
    }

    /** x.png and x.jpg would save the same maps: refused with --save-boxes before anything is written; fine without. */
    @Test
    void picturesWhoseMapsWouldShareANameAreRefused() throws IOException {
        Files.copy(set.resolve("images/synth_0001.png"), set.resolve("images/synth_0003.png"));
        Files.writeString(set.resolve("val.txt"), read(set.resolve("val.txt")) + "synth_0003.png 2\n");
        Path out = dir.resolve("out");
        CliTest.Result r = run(args(out, "--save-boxes"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.oneLineError().contains("'synth_0003.jpg' and 'synth_0003.png' would both save their maps as maps/synth_0003_<layer>_<method>.png"),
                r.err());
        assertFalse(Files.exists(out), "nothing created");
        r = run(args(out, "--limit", "1"));
        assertEquals(0, r.code(), r.err());
    }

    /** --force deletes the maps this dataset's pictures can have (any layer and method), not other files in maps/. */
    @Test
    void forceDeletesOnlyTheMapsOfThisDataset() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, run(args(out, "--save-boxes", "--limit", "2")).code());
        Path maps = out.resolve("maps");
        Files.writeString(maps.resolve("holiday.png"), "someone's picture");
        Files.writeString(maps.resolve("synth_0001_notes.png"), "notes");
        Files.writeString(maps.resolve("synth_0005_conv4_3_dgl.png"), "an earlier run's map with another layer");
        CliTest.Result r = run(args(out, "--save-boxes", "--limit", "1", "--force"));
        assertEquals(0, r.code(), r.err());
        assertEquals("someone's picture", read(maps.resolve("holiday.png")));
        assertEquals("notes", read(maps.resolve("synth_0001_notes.png")));
        try (Stream<Path> s = Files.list(maps)) {
            assertEquals(List.of("holiday.png", "synth_0001_conv5_1_dgl.png", "synth_0001_conv5_1_layercam.png", "synth_0001_conv5_1_sgl-g1.png",
                    "synth_0001_conv5_1_sgl-g2.png", "synth_0001_notes.png"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    /** Names in the labels file (or CUB's images.txt) that are absolute or climb out with '..': refused, nothing read or created. */
    @Test
    void namesOutsideTheImagesFolderAreRefused() throws IOException {
        Files.copy(set.resolve("images/synth_0001.png"), set.resolve("outside.png"));
        Files.copy(set.resolve("boxes/synth_0001.xml"), set.resolve("outside.xml"));
        Path labels = set.resolve("val.txt");
        String orig = read(labels);
        Path out = dir.resolve("out");
        for (String name : List.of("../outside.png", set.resolve("outside.png").toAbsolutePath().toString())) {
            Files.writeString(labels, orig + name + " 1\n");
            CliTest.Result r = run(args(out));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.oneLineError().contains("line 7: '" + name + "' points outside --images"), r.err());
            assertFalse(Files.exists(out));
        }
        Path cub = Files.createDirectories(dir.resolve("cub/images"));
        Files.copy(set.resolve("outside.png"), cub.resolveSibling("outside.png"));
        Files.writeString(cub.resolveSibling("images.txt"), "1 ../outside.png\n");
        Files.writeString(cub.resolveSibling("image_class_labels.txt"), "1 1\n");
        Files.writeString(cub.resolveSibling("bounding_boxes.txt"), "1 1 2 3 4\n");
        CliTest.Result r = run("eval", "--weights", fixture(WEIGHTS), "--cub", cub.getParent().toString(), "--split", "all", "--output", out.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.oneLineError().contains("'../outside.png' points outside"), r.err());
    }

    /** ESC, BEL and newlines from a picture's name and from XML text reach stderr escaped, each message one line. */
    @Test
    void controlCharactersFromFilesAreEscaped() throws IOException {
        String bad = "bad\u001b[31m\u0007.png";
        Files.writeString(set.resolve("images").resolve(bad), "not a png");
        Files.copy(set.resolve("boxes/synth_0001.xml"), set.resolve("boxes").resolve("bad\u001b[31m\u0007.xml"));
        Files.writeString(set.resolve("boxes/synth_0002.xml"),        // a newline in XML 1.0 text; ESC as an XML 1.1 character reference
                "<annotation><object><bndbox><xmin>1\n2</xmin><ymin>1</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>");
        Files.writeString(set.resolve("boxes/synth_0004.xml"), "<?xml version=\"1.1\"?><annotation><object><bndbox><xmin>1&#x1b;[2J</xmin>"
                + "<ymin>1</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>");
        Path labels = set.resolve("val.txt");
        String orig = read(labels);
        Files.writeString(labels, orig + bad + " 1\n");
        CliTest.Result r = run(args(dir.resolve("out")));
        assertEquals(3, r.code(), r.err());
        assertFalse(r.err().chars().anyMatch(c -> c != '\n' && Character.isISOControl(c)), r.err());
        assertTrue(r.err().contains("g2m-engine: skipped bad\\u001b[31m\\u0007.png: "), r.err());
        assertTrue(r.err().contains("<xmin>1\\u000a2</xmin>"), r.err());
        assertTrue(r.err().contains("<xmin>1\\u001b[2J</xmin>"), r.err());
        assertEquals(3, r.err().lines().filter(l -> l.startsWith("g2m-engine: skipped")).count(), r.err());
        // an error that stops the run, quoting a listed name
        Files.writeString(labels, orig + "gone\u001b]0;title\u0007.png 1\n");
        r = run(args(dir.resolve("out2")));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.oneLineError().contains("first: gone\\u001b]0;title\\u0007.png"), r.err());
        assertFalse(r.err().chars().anyMatch(c -> c != '\n' && Character.isISOControl(c)), r.err());
    }

    /** A labels "file" that is a FIFO would block the read forever: refused at once. A byte-order mark is fine. */
    @Test
    @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void aLabelsFifoIsRefusedAndAByteOrderMarkIsRead() throws Exception {
        Path fifo = dir.resolve("val.fifo");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "mkfifo is not available on this system");
        Path out = dir.resolve("out");
        CliTest.Result r = run("eval", "--weights", fixture(WEIGHTS), "--images", set.resolve("images").toString(), "--labels", fifo.toString(),
                "--boxes", set.resolve("boxes").toString(), "--output", out.toString(), "--device", "cpu");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.oneLineError().contains("is not a regular file"), r.err());
        Files.writeString(set.resolve("val.txt"), "\uFEFF" + read(set.resolve("val.txt")));
        r = run(args(out, "--limit", "1"));
        assertEquals(0, r.code(), r.err());
    }

    /** Counts past their bounds are usage errors in one line (before: an int overflow, 100,000 threads, or "null"). */
    @Test
    void outOfRangeCountsAreRefused() {
        Path out = dir.resolve("out");
        for (String[] o : new String[][] {{"--batch", "2000"}, {"--batch", "300000000"}, {"--workers", "100000"}, {"--threads", "100000"},
                {"--threads", "-1"}, {"--workers", "-1"}, {"--batch", "0"}}) {
            List<String> a = new ArrayList<>(List.of(args(out, o)));
            if (o[0].equals("--workers")) a.subList(a.indexOf("--workers"), a.indexOf("--workers") + 2).clear();     // args() gives 2
            CliTest.Result r = run(a.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", o) + ": " + r.err());
            assertTrue(r.oneLineError().contains(o[0] + " must be"), r.err());
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void helpListsTheOptions() {
        CliTest.Result r = run("eval", "--help");
        assertEquals(0, r.code());
        for (String o : List.of("--images", "--labels", "--boxes", "--cub", "--layers", "--methods", "--output", "--save-boxes", "--limit", "--grabcut", "--device")) {
            assertTrue(r.out().contains(o), o + " in " + r.out());
        }
    }
}
