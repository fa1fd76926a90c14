package g2m.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.api.G2mEngine;
import g2m.api.ImageMaps;
import g2m.api.MapRequest;
import g2m.maps.MapMethod;
import g2m.net.Tap;
import g2m.net.Vgg16Net;
import g2m.weights.Preprocessing;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runner with the tiny network: one pass per batch for every tap and method, ground-truth classes, order, batching. */
class EvalRunnerTest {
    static G2mEngine net;

    @TempDir
    Path dir;

    static Path resource(String name) {
        try {
            return Path.of(EvalRunnerTest.class.getResource(name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("missing test resource " + name, e);
        }
    }

    @BeforeAll
    static void open() {
        // the fixture carries no preprocessing metadata: PyTorch's, as a converted .pth would
        var c = Safetensors.read(resource("/fixtures/tiny_vgg16_expected.safetensors"));
        var weights = new g2m.weights.Checkpoint(c.tensors(), Preprocessing.PYTORCH.toMetadata());
        net = G2mEngine.builder().weights(() -> weights).device("cpu").open();
    }

    @AfterAll
    static void close() {
        net.close();
    }

    /** Counts the network passes and records what each was asked. */
    static final class Counting implements EvalRunner.Network {
        final List<int[]> classes = new ArrayList<>();
        final List<List<Tap>> taps = new ArrayList<>();
        final List<List<MapMethod>> methods = new ArrayList<>();

        public Preprocessing preprocessing() {
            return Preprocessing.PYTORCH;
        }

        public int numClasses() {
            return net.numClasses();
        }

        public List<ImageMaps> maps(float[] x, int n, int h, int w, MapRequest r) {
            assertEquals(224, h);
            assertEquals(224, w);
            classes.add(r.classes());
            taps.add(r.taps());
            methods.add(r.methods());
            return net.maps(x, n, h, w, r);
        }
    }

    static Dataset tinyset() {
        Path s = resource("/eval/tinyset");
        return Dataset.ilsvrc(s.resolve("val.txt"), s.resolve("images"), s.resolve("boxes"));
    }

    static final EvalRunner.Listener QUIET = new EvalRunner.Listener() {
        public void started(int alreadyDone, int toDo) {}

        public void imageDone(ImageRecord r) {}
    };

    ObjectNode settings() {
        return new ObjectMapper().createObjectNode().put("test", 1);
    }

    @Test
    void onePassPerBatchServesEveryTapAndMethodWithTheLabels() throws IOException {
        Dataset d = tinyset();
        Counting c = new Counting();
        List<Tap> taps = List.of(Tap.CONV5_1, Tap.POOL4, Tap.CONV3_3);
        EvalRunner.Config cfg = new EvalRunner.Config(taps, MapMethod.G2M, EvalRunner.GrabCut.AUTO, false, 4, 2, 0);
        EvalRunner.Session s = EvalRunner.run(d, c, cfg, settings(), dir, QUIET);
        assertEquals(6, s.evaluated());
        assertEquals(2, c.classes.size(), "6 pictures in batches of 4: two passes");
        assertEquals(40, c.classes.get(0).length);
        assertEquals(20, c.classes.get(1).length);
        for (int p = 0; p < 2; p++) {
            assertEquals(taps, c.taps.get(p));
            assertEquals(MapMethod.G2M, c.methods.get(p));
            for (int i = 0; i < c.classes.get(p).length; i++) {
                assertEquals(d.samples().get(p * 4 + i / 10).label(), c.classes.get(p)[i], "crop " + i + " of pass " + p);
            }
        }
        List<ImageRecord> recs = new ArrayList<>();
        EvalCheckpoint.forEach(dir.resolve(EvalCheckpoint.FILE), 12, recs::add);
        assertEquals(6, recs.size());
        for (int i = 0; i < 6; i++) {
            assertEquals(i, recs.get(i).index());
            assertEquals(d.samples().get(i).name(), recs.get(i).name());
            assertEquals(12, recs.get(i).outcomes().size());
        }
    }

    /** The same records whatever the batching and the number of workers (one picture's crops always share a pass). */
    @Test
    void batchingDoesNotChangeTheRecords() throws IOException {
        Dataset d = tinyset();
        Path a = dir.resolve("a"), b = dir.resolve("b");
        EvalRunner.run(d, new Counting(), new EvalRunner.Config(List.of(Tap.CONV5_1), MapMethod.G2M, EvalRunner.GrabCut.AUTO, false, 1, 1, 0), settings(), a, QUIET);
        EvalRunner.run(d, new Counting(), new EvalRunner.Config(List.of(Tap.CONV5_1), MapMethod.G2M, EvalRunner.GrabCut.AUTO, false, 3, 3, 0), settings(), b, QUIET);
        assertEquals(Files.readString(a.resolve(EvalCheckpoint.FILE)), Files.readString(b.resolve(EvalCheckpoint.FILE)));
    }

    @Test
    void grabCutAutoIsFor56AndFiner() {
        for (Tap t : Tap.values()) {
            boolean fine = Vgg16Net.tapSize(t, 224, 224)[0] >= 56;
            assertEquals(fine, EvalRunner.GrabCut.AUTO.appliesTo(t), t.id);
            assertTrue(EvalRunner.GrabCut.ON.appliesTo(t));
            assertFalse(EvalRunner.GrabCut.OFF.appliesTo(t));
        }
        assertTrue(EvalRunner.GrabCut.AUTO.appliesTo(Tap.POOL2));
        assertFalse(EvalRunner.GrabCut.AUTO.appliesTo(Tap.POOL3));
    }

    @Test
    void topRanksBySummedLogitsLowerIndexFirstOnTies() {
        assertArrayEquals(new int[] {2, 0, 3}, Localizer.top(new float[] {1f, 0f, 5f, 1f}, 3));
        float[] logits = {1, 2, 3, 10, 20, 30};
        assertArrayEquals(new float[] {11, 22, 33}, Localizer.sumLogits(logits, 0, 2, 3));
    }

    @Test
    void checkpointRefusesDamageAndOtherSettings() throws IOException {
        Dataset d = tinyset();
        EvalRunner.Config cfg = new EvalRunner.Config(List.of(Tap.POOL5), List.of(MapMethod.LAYERCAM), EvalRunner.GrabCut.AUTO, false, 2, 1, 3);
        EvalRunner.run(d, new Counting(), cfg, settings(), dir, QUIET);
        Path f = dir.resolve(EvalCheckpoint.FILE);
        List<String> lines = Files.readAllLines(f);
        assertEquals(4, lines.size());
        EvalException other = assertThrows(EvalException.class,
                () -> EvalCheckpoint.open(dir, new ObjectMapper().createObjectNode().put("test", 2), 1));
        assertTrue(other.getMessage().contains("test: 1 then, 2 now"), other.getMessage());
        // a damaged line in the middle is not silently dropped
        lines.set(2, "{\"i\":1,\"name\":");
        Files.write(f, lines);
        EvalException damaged = assertThrows(EvalException.class, () -> EvalCheckpoint.open(dir, settings(), 1));
        assertTrue(damaged.getMessage().contains("line 3 is damaged"), damaged.getMessage());
        // an empty file (killed before the header was written) starts afresh
        Files.write(f, new byte[0]);
        try (EvalCheckpoint cp = EvalCheckpoint.open(dir, settings(), 1)) {
            assertEquals(0, cp.done());
        }
        Files.writeString(f, "hello\n");
        assertThrows(EvalException.class, () -> EvalCheckpoint.open(dir, settings(), 1));
    }

    @Test
    void vocXmlReadsEveryObjectAndRefusesDoctypes() throws IOException {
        Path x = dir.resolve("a.xml");
        Files.writeString(x, "<annotation><size><width>50</width></size><object><name>n1</name><bndbox><xmin>1</xmin><ymin>2</ymin>"
                + "<xmax>30.7</xmax><ymax>40</ymax></bndbox></object><object><bndbox><xmin>5</xmin><ymin>6</ymin><xmax>7</xmax>"
                + "<ymax>8</ymax></bndbox></object></annotation>");
        assertEquals(List.of(new Box(1, 2, 30, 40), new Box(5, 6, 7, 8)), VocXml.read(x));
        Files.writeString(x, "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><annotation>&e;</annotation>");
        assertThrows(EvalException.class, () -> VocXml.read(x));
        Files.writeString(x, "<annotation><object><bndbox><xmin>9</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>");
        assertTrue(assertThrows(EvalException.class, () -> VocXml.read(x)).getMessage().contains("xmax < xmin"));
        Files.writeString(x, "<annotation><object><bndbox><xmin>-1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>");
        assertTrue(assertThrows(EvalException.class, () -> VocXml.read(x)).getMessage().contains("not a non-negative number"));
    }

    /** Writes the first {@code okCalls} writes, then half of the next and fails, as a disk that fills up does. */
    static final class FullDisk implements EvalCheckpoint.Sink {
        final int okCalls;
        int calls;

        FullDisk(int okCalls) {
            this.okCalls = okCalls;
        }

        public void write(FileChannel ch, ByteBuffer b) throws IOException {
            if (calls++ < okCalls) {
                EvalCheckpoint.FILE_SINK.write(ch, b);
                return;
            }
            ByteBuffer half = b.slice(b.position(), b.remaining() / 2);
            while (half.hasRemaining()) ch.write(half);
            throw new IOException("No space left on device");
        }
    }

    static EvalRunner.Config quick() {
        return new EvalRunner.Config(List.of(Tap.POOL5), List.of(MapMethod.LAYERCAM), EvalRunner.GrabCut.AUTO, false, 1, 1, 0);
    }

    /**
     * Disk full while appending to the checkpoint: the run stops with an output error, the file keeps
     * only whole records (the failed append undone, not left as a half line), and the same call then
     * ends with the checkpoint of an uninterrupted run.
     */
    @Test
    void aFailedAppendStopsTheRunKeepsWholeRecordsAndTheRunContinues() throws IOException {
        Dataset d = tinyset();
        Path whole = dir.resolve("whole"), parts = dir.resolve("parts");
        EvalRunner.run(d, new Counting(), quick(), settings(), whole, QUIET);
        String want = Files.readString(whole.resolve(EvalCheckpoint.FILE));

        // the header and the first append go through, the second append fails half-way
        EvalOutputException e = assertThrows(EvalOutputException.class,
                () -> EvalRunner.run(d, new Counting(), quick(), settings(), parts, QUIET, new FullDisk(2)));
        assertTrue(e.getMessage().contains("No space left on device") && e.getMessage().contains("run the same command again"), e.getMessage());
        String got = Files.readString(parts.resolve(EvalCheckpoint.FILE));
        assertTrue(got.endsWith("\n"), "no half line left: " + got);
        assertTrue(want.startsWith(got), "the records before the failure, as an uninterrupted run has them");
        int kept = (int) got.lines().count() - 1;
        assertTrue(kept >= 1 && kept < 6, kept + " records kept");
        assertTrue(e.getMessage().contains("stopped with " + kept + " of 6"), e.getMessage());

        EvalRunner.Session s = EvalRunner.run(d, new Counting(), quick(), settings(), parts, QUIET);
        assertEquals(kept, s.resumedFrom());
        assertEquals(6 - kept, s.evaluated());
        assertEquals(want, Files.readString(parts.resolve(EvalCheckpoint.FILE)));
    }

    /** Disk full while the checkpoint's first line is written: no checkpoint at all (not a cut-short one that blocks the next run). */
    @Test
    void aFailedHeaderLeavesNoCheckpoint() throws IOException {
        EvalOutputException e = assertThrows(EvalOutputException.class, () -> EvalCheckpoint.open(dir, settings(), 1, new FullDisk(0)));
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.toList(), "neither checkpoint.jsonl nor a temporary file");
        }
        try (EvalCheckpoint cp = EvalCheckpoint.open(dir, settings(), 1)) {
            assertEquals(0, cp.done());
        }
    }

    /** Lines edited into other valid JSON are refused by their checksum, the header and the last line too; a garbled last line is cut off as before. */
    @Test
    void aLineChangedAfterItWasWrittenIsRefused() throws IOException {
        Dataset d = tinyset();
        EvalRunner.Config cfg = new EvalRunner.Config(List.of(Tap.POOL5), List.of(MapMethod.LAYERCAM), EvalRunner.GrabCut.AUTO, false, 1, 1, 3);
        EvalRunner.run(d, new Counting(), cfg, settings(), dir, QUIET);
        Path f = dir.resolve(EvalCheckpoint.FILE);
        List<String> orig = Files.readAllLines(f);
        assertEquals(4, orig.size());
        for (int line : new int[] {2, 4}) {                  // a middle line, the last line
            List<String> lines = new ArrayList<>(orig);
            String changed = relabel(lines.get(line - 1));
            new ObjectMapper().readTree(changed);                 // still valid JSON
            lines.set(line - 1, changed);
            Files.write(f, lines);
            EvalException ex = assertThrows(EvalException.class, () -> EvalCheckpoint.open(dir, settings(), 1));
            assertTrue(ex.getMessage().contains("line " + line + " is damaged (its checksum does not match"), ex.getMessage());
            ex = assertThrows(EvalException.class, () -> EvalCheckpoint.forEach(f, 1, r -> {}));
            assertTrue(ex.getMessage().contains("line " + line + " is damaged"), ex.getMessage());
        }
        List<String> lines = new ArrayList<>(orig);
        lines.set(0, lines.get(0).replace("\"test\":1", "\"test\":2"));
        Files.write(f, lines);
        assertTrue(assertThrows(EvalException.class, () -> EvalCheckpoint.open(dir, new ObjectMapper().createObjectNode().put("test", 2), 1))
                .getMessage().contains("line 1 is damaged"));
        // a garbled complete last line (not JSON): dropped and recomputed, as a cut one
        lines = new ArrayList<>(orig);
        lines.set(3, "\0\0\0\0");
        Files.write(f, lines);
        try (EvalCheckpoint cp = EvalCheckpoint.open(dir, settings(), 1)) {
            assertEquals(2, cp.done());
        }
        assertEquals(String.join("\n", orig.subList(0, 3)) + "\n", Files.readString(f));
        // a checkpoint of the format before checksums: told, not misread
        Files.writeString(f, "{\"format\":\"g2m-eval-checkpoint/1\",\"settings\":{\"test\":1}}\n");
        assertTrue(assertThrows(EvalException.class, () -> EvalCheckpoint.open(dir, settings(), 1)).getMessage().contains("earlier g2m-engine"));
    }

    /** The label of a record line, plus one: valid JSON, its checksum kept. */
    static String relabel(String line) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"label\":(\\d+)").matcher(line);
        assertTrue(m.find(), line);
        return line.substring(0, m.start(1)) + (Integer.parseInt(m.group(1)) + 1) + line.substring(m.end(1));
    }

    @Test
    void checkpointLinesCarryACrcOfTheirContent() {
        String json = "{\"i\":3,\"name\":\"\u00e9t\u00e9.png\",\"error\":\"x\"}";
        String sealed = CheckpointLine.seal(json);
        assertTrue(sealed.matches("\\{\"crc\":\"[0-9a-f]{8}\",\"i\":3,.*"), sealed);
        assertEquals(json, CheckpointLine.open(sealed));
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(String.format("%08x", crc.getValue()), sealed.substring(8, 16));
        assertNull(CheckpointLine.open(json), "no checksum");
        assertNull(CheckpointLine.open(sealed.replace("\"i\":3", "\"i\":4")), "content changed");
        assertNull(CheckpointLine.open(sealed.substring(0, sealed.length() - 1)), "cut");
        assertNull(CheckpointLine.open(""));
    }

    @Test
    void mapNamesAreUniquePerRunAndOnlyOursAreDeleted() throws IOException {
        Path img = Path.of("x");
        List<Box> b = List.of(Box.NONE);
        for (List<String> names : List.of(List.of("x.png", "x.jpg"), List.of("a/b.png", "a_b.png"), List.of("A.png", "a.JPEG"))) {
            Dataset d = new Dataset("test", List.of(new Sample("other.png", img, 0, null, b), new Sample(names.get(0), img, 0, null, b),
                    new Sample(names.get(1), img, 0, null, b)), "test");
            EvalException e = assertThrows(EvalException.class, () -> MapFiles.requireUnique(d));
            assertTrue(e.getMessage().contains("'" + names.get(0) + "' and '" + names.get(1) + "' would both save"), e.getMessage());
        }
        MapFiles.requireUnique(tinyset());
        Set<String> stems = Set.of("n1_v_1", "pic");
        for (String own : List.of("pic_conv5_1_layercam.png", "pic_pool4_sgl-g2.png", "n1_v_1_conv1_1_gradcam++.png")) {
            assertTrue(MapFiles.isOwn(own, stems), own);
        }
        for (String other : List.of("pic.png", "holiday.png", "pic_conv5_1_layercam.png.bak", "pic_conv5_1_notes.png", "pic_conv6_1_dgl.png",
                "other_conv5_1_dgl.png", "pic_conv5_1_layercam.PNG", ".pic_conv5_1_dgl.png.123.part", "x_pic_conv5_1_dgl.png")) {
            assertFalse(MapFiles.isOwn(other, stems), other);
        }
        Dataset d = new Dataset("test", List.of(new Sample("pic.png", img, 0, null, b)), "test");
        Path maps = Files.createDirectories(dir.resolve("maps"));
        Files.writeString(maps.resolve("pic_conv5_1_layercam.png"), "ours");
        Files.writeString(maps.resolve("holiday.png"), "theirs");
        Files.createDirectories(maps.resolve("pic_conv4_3_dgl.png"));          // a folder of that name is not a map we wrote
        assertEquals(1, MapFiles.deleteOwn(maps, d));
        try (var files = Files.list(maps)) {
            assertEquals(Set.of("holiday.png", "pic_conv4_3_dgl.png"), files.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet()));
        }
    }

    @Test
    void normalizeGivesZerosForAConstantMapAndStemsAreFileSafe() {
        assertArrayEquals(new float[3], MaxBoxAccV2.normalize(new float[] {2, 2, 2}));
        assertArrayEquals(new float[] {0f, 0.5f, 1f}, MaxBoxAccV2.normalize(new float[] {-1, 0, 1}));
        assertEquals("n01440764_ILSVRC2012_val_00000293", new Sample("n01440764/ILSVRC2012_val_00000293.JPEG", Path.of("x"), 0, null,
                List.of(Box.NONE)).stem());
        assertEquals("a.b_c", new Sample("a.b_c.png", Path.of("x"), 0, null, List.of(Box.NONE)).stem());
        assertEquals(Arrays.asList("n/a", "50.00"), Arrays.asList(LocStats.percent(0, 0), LocStats.percent(1, 2)));
    }
}
