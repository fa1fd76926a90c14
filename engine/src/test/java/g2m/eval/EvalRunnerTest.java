package g2m.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.backend.cpu.CpuBackend;
import g2m.maps.MapMethod;
import g2m.net.BatchMaps;
import g2m.net.GradientSource;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runner with the tiny network: one pass per batch for every tap and method, ground-truth classes, order, batching. */
class EvalRunnerTest {
    static CpuBackend backend;
    static Vgg16Net net;

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
        backend = new CpuBackend(0);
        net = new Vgg16Net(backend, Safetensors.read(resource("/fixtures/tiny_vgg16_expected.safetensors")));
    }

    @AfterAll
    static void close() {
        net.close();
        backend.close();
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

        public BatchMaps run(float[] x, int n, int h, int w, int[] c, List<Tap> t, List<MapMethod> m, GradientSource g) {
            assertEquals(224, h);
            assertEquals(224, w);
            classes.add(c.clone());
            taps.add(t);
            methods.add(m);
            return net.run(x, n, h, w, c, t, m, g);
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
