package g2m.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static g2m.cli.CliTest.fixture;
import static g2m.cli.CliTest.run;
import static g2m.cli.EvalCliTest.resource;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code eval --gradients layercam_loc} and {@code eval --maxboxacc-frame wsol224} end to end on
 * the generated set, against tools/reference/eval_reference.py's own runs of the protocol done
 * those ways (e2e.layercam_loc.json: gradient hooks on the ReLU and the next pool as layercam_loc;
 * e2e.wsol224.json: wsolevaluation's BoxEvaluator in its 224×224 frame): every Top-5, box and
 * MaxBoxAccV2 hit exactly, IoUs to 1e-12, the table's counts and MaxBoxAccV2 exactly; and the
 * settings recorded in results.json and guarded by the checkpoint.
 */
class EvalOptionsCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int[] LEVELS = {30, 50, 70};

    @TempDir
    Path dir;
    Path set;

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
        List<String> a = new ArrayList<>(List.of("eval", "--weights", fixture(EvalCliTest.WEIGHTS), "--images", set.resolve("images").toString(),
                "--labels", set.resolve("val.txt").toString(), "--boxes", set.resolve("boxes").toString(), "--output", out.toString(),
                "--device", "cpu", "--workers", "2"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** Every record and table row of the run in {@code out} against a reference run; returns the records' boxes per image and outcome. */
    static List<List<JsonNode>> assertMatches(JsonNode ref, Path out) throws IOException {
        List<String> lines = Files.readAllLines(out.resolve("checkpoint.jsonl"));
        assertEquals(1 + ref.get("images").size(), lines.size());
        List<String> keys = new ArrayList<>();
        for (JsonNode t : ref.get("taps")) for (JsonNode m : ref.get("methods")) keys.add(t.asText() + "/" + m.asText());
        List<List<JsonNode>> boxes = new ArrayList<>();
        for (int i = 0; i < ref.get("images").size(); i++) {
            JsonNode want = ref.get("images").get(i);
            JsonNode got = JSON.readTree(lines.get(i + 1));
            assertEquals(want.get("name"), got.get("name"));
            assertEquals(want.get("top5"), got.get("top5"), want.get("name").asText());
            List<JsonNode> row = new ArrayList<>();
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
                    for (JsonNode v : w.get("hits").get(String.valueOf(LEVELS[l]))) exp.add(v.intValue());
                    assertEquals(exp, on, what + " MaxBoxAccV2 hits at IoU " + LEVELS[l]);
                }
                row.add(w.get("box"));
            }
            boxes.add(row);
        }
        JsonNode res = EvalCliTest.results(out).get("results");
        assertEquals(ref.get("table").size(), res.size());
        for (int k = 0; k < res.size(); k++) {
            JsonNode w = ref.get("table").get(k), g = res.get(k);
            assertEquals(w.get("layer"), g.get("layer"));
            assertEquals(w.get("method"), g.get("method"));
            assertEquals(w.get("counts"), g.get("counts"), w.get("layer") + "/" + w.get("method"));
            assertEquals(w.get("mean_iou").doubleValue(), g.get("mean_iou").doubleValue(), 1e-12);
            assertEquals(w.get("maxboxacc_v2").doubleValue(), g.get("maxboxacc_v2").get("value").doubleValue(), 1e-12);
        }
        JsonNode settings = EvalCliTest.results(out).get("settings");
        assertEquals(ref.get("gradients").asText(), settings.get("gradients").asText());
        assertEquals(ref.get("maxboxacc_frame").asText(), settings.get("maxboxacc_frame").asText());
        return boxes;
    }

    /**
     * layercam_loc's gradient source at conv5_3, conv4_3 (pool gradient upsampled) and conv3_3 (the
     * same, then GrabCut) equals the reference; the tap's own gradient gives other boxes there.
     */
    @Test
    void layercamLocGradientsMatchTheReferenceEndToEnd() throws IOException {
        JsonNode ref = JSON.readTree(resource("e2e.layercam_loc.json").toFile());
        Path ll = dir.resolve("ll");
        CliTest.Result r = run(args(ll, "--layers", "conv5_3,conv4_3,conv3_3", "--gradients", "layercam_loc"));
        assertEquals(0, r.code(), r.err());
        List<List<JsonNode>> withPool = assertMatches(ref, ll);

        Path tap = dir.resolve("tap");
        assertEquals(0, run(args(tap, "--layers", "conv5_3,conv4_3,conv3_3")).code());
        List<String> lines = Files.readAllLines(tap.resolve("checkpoint.jsonl"));
        int[] moved = new int[3];
        int perTap = ref.get("methods").size();
        for (int i = 0; i < withPool.size(); i++) {
            JsonNode rec = JSON.readTree(lines.get(i + 1));
            for (int k = 0; k < withPool.get(i).size(); k++) {
                JsonNode a = rec.get("r").get(k), b = withPool.get(i).get(k);
                boolean same = true;
                for (int c = 0; c < 4; c++) same &= a.get(c).intValue() == b.get(c).intValue();
                if (!same) moved[k / perTap]++;
            }
        }
        System.out.printf("eval on the tiny set, boxes that move from tap to layercam_loc gradients (of %d per tap): conv5_3 %d, conv4_3 %d, conv3_3 %d%n",
                withPool.size() * perTap, moved[0], moved[1], moved[2]);
        assertTrue(moved[0] > 0 && moved[1] > 0, "the gradient source changes the deep taps' boxes");
        assertEquals("tap", EvalCliTest.results(tap).get("settings").get("gradients").asText());
        assertTrue(Files.readString(ll.resolve("results.md")).endsWith("Gradients: layercam_loc (at conv1_2 … conv5_3 the next max-pool's, "
                + "upsampled, as layercam_loc); MaxBoxAccV2 frame: picture (the picture's size).\n"));
        assertTrue(Files.readString(tap.resolve("results.md")).endsWith("Gradients: tap (the tap's own); MaxBoxAccV2 frame: picture (the picture's size).\n"));
    }

    /** wsolevaluation's frame moves only MaxBoxAccV2: the boxes and IoUs stay e2e.json's. */
    @Test
    void wsol224FrameMatchesTheReferenceEndToEnd() throws IOException {
        JsonNode ref = JSON.readTree(resource("e2e.wsol224.json").toFile());
        Path out = dir.resolve("wsol");
        CliTest.Result r = run(args(out, "--layers", "conv5_1,conv3_3", "--maxboxacc-frame", "wsol224"));
        assertEquals(0, r.code(), r.err());
        assertMatches(ref, out);
        assertTrue(Files.readString(out.resolve("results.md")).endsWith("MaxBoxAccV2 frame: wsol224 (wsolevaluation's 224×224).\n"));
        JsonNode picture = JSON.readTree(resource("e2e.json").toFile());
        int differ = 0;
        for (int k = 0; k < picture.get("table").size(); k++) {
            JsonNode p = picture.get("table").get(k), w = ref.get("table").get(k);
            assertEquals(p.get("counts"), w.get("counts"), "the frame changes no box");
            if (p.get("maxboxacc_v2").doubleValue() != w.get("maxboxacc_v2").doubleValue()) differ++;
        }
        assertTrue(differ > 0, "the frame changes MaxBoxAccV2 on this set");
    }

    @Test
    void resumingWithAnotherGradientSourceOrFrameIsRefused() throws IOException {
        Path out = dir.resolve("out");
        CliTest.Result first = run(args(out, "--limit", "1"));
        assertEquals(0, first.code(), first.err());
        JsonNode settings = EvalCliTest.results(out).get("settings");
        assertEquals("tap", settings.get("gradients").asText());
        assertEquals("picture", settings.get("maxboxacc_frame").asText());
        CliTest.Result g = run(args(out, "--limit", "2", "--gradients", "layercam_loc"));
        assertEquals(2, g.code(), g.err());
        assertTrue(g.oneLineError().contains("other settings (gradients: \"tap\" then, \"layercam_loc\" now)"), g.err());
        CliTest.Result f = run(args(out, "--limit", "2", "--maxboxacc-frame", "wsol224"));
        assertEquals(2, f.code(), f.err());
        assertTrue(f.oneLineError().contains("other settings (maxboxacc_frame: \"picture\" then, \"wsol224\" now)"), f.err());
        assertEquals(2, Files.readAllLines(out.resolve("checkpoint.jsonl")).size(), "the checkpoint is left as it was");
        CliTest.Result same = run(args(out, "--limit", "2", "--gradients", "tap", "--maxboxacc-frame", "picture"));
        assertEquals(0, same.code(), same.err());
        assertTrue(same.err().contains("1 picture(s) already done, 1 to go"), same.err());
    }

    @Test
    void badValuesAreOneLineErrorsAndHelpNamesBoth() {
        CliTest.Result g = run(args(dir.resolve("a"), "--gradients", "pool"));
        assertEquals(2, g.code());
        assertEquals("g2m-engine: --gradients: unknown gradient source 'pool' (valid: tap, layercam_loc)", g.oneLineError().strip());
        CliTest.Result f = run(args(dir.resolve("b"), "--maxboxacc-frame", "224"));
        assertEquals(2, f.code());
        assertEquals("g2m-engine: --maxboxacc-frame must be picture or wsol224, got '224'", f.oneLineError().strip());
        assertTrue(Files.notExists(dir.resolve("a")) && Files.notExists(dir.resolve("b")), "nothing written");
        CliTest.Result h = run("eval", "--help");
        assertEquals(0, h.code());
        String help = h.out().replaceAll("\\s+", " ");
        assertTrue(help.contains("--gradients=tap|layercam_loc") && help.contains("the next max-pool's gradient upsampled"), help);
        assertTrue(help.contains("--maxboxacc-frame=picture|wsol224") && help.contains("wsolevaluation's own protocol"), help);
    }
}
