package g2m.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The options the main job, eval and bench share ({@link MapOptions}, {@link BackendOptions}):
 * one spelling per concept, {@code --layer} and {@code --layers} alike everywhere, the same
 * one-line refusal of a bad value in every command.
 */
class SharedOptionsCliTest {
    @TempDir
    Path dir;

    static final String WEIGHTS = CliTest.fixture("tiny_vgg16_zip.pth");

    static String picture() {
        try {
            return Path.of(SharedOptionsCliTest.class.getResource("/golden/image_224x256.png").toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static JsonNode bench(String... more) throws IOException {
        String[] base = {"bench", "--weights", WEIGHTS, "--size", "32", "--seconds", "0", "--min-runs", "1", "--warmup", "0", "--device", "cpu"};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        CliTest.Result r = CliTest.run(all);
        assertEquals(0, r.code(), r.err());
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void benchTakesEitherSpellingAndRepeatsAddTaps() throws IOException {
        assertEquals("conv5_1", bench().get("layer").asText(), "bench's default tap");
        assertEquals("pool4", bench("--layers", "pool4").get("layer").asText());
        assertEquals("pool4,conv5_1", bench("--layer", "pool4", "--layer", "conv5_1,pool4").get("layer").asText(), "each tap once, in order");
        assertEquals("dgl", bench("--methods", "DGL,dgl").get("methods").asText());
    }

    @Test
    void theMainJobTakesLayersAndClassNames() throws IOException {
        Path names = Files.writeString(dir.resolve("names.txt"), "c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n");
        Path out = dir.resolve("out");
        CliTest.Result r = CliTest.run("--layers", "conv5_1", "--layer", "pool4", "--methods", "dgl", "--weights", WEIGHTS,
                "--input", picture(), "--output", out.toString(), "--class-names", names.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        JsonNode image = s.get("images").get(0);
        assertEquals("c" + image.get("target_class").asInt(), image.get("target_label").asText(), s.toString());
        assertTrue(image.get("map_shapes").has("conv5_1") && image.get("map_shapes").has("pool4"), s.toString());
    }

    @Test
    void emptyItemsAreSkippedAndAnEmptyListIsAUsageError() throws IOException {
        assertEquals("conv5_1,pool4", bench("--layer", "conv5_1,,pool4,").get("layer").asText());
        assertEquals("dgl,layercam", bench("--methods", "dgl,,layercam").get("methods").asText());
        for (String[] c : new String[][] {{"bench", "--weights", WEIGHTS, "--methods", ","},
                {"--layer", "conv5_1", "--weights", WEIGHTS, "--input", picture(), "--methods", ""}}) {
            CliTest.Result r = CliTest.run(c);
            assertEquals(2, r.code(), r.err());
            assertTrue(r.oneLineError().contains("--methods: no methods given (valid: "), r.err());
        }
        CliTest.Result r = CliTest.run("bench", "--weights", WEIGHTS, "--layers", "conv9");
        assertEquals("g2m-engine: --layers: unknown layer 'conv9'", r.oneLineError().strip().replaceAll(" \\(valid.*", ""));
    }

    @Test
    void aBadValueIsTheSameOneLineErrorInEveryCommand() {
        String[][] commands = {
                {"--weights", WEIGHTS, "--input", picture(), "--output", dir.resolve("o").toString()},
                {"bench", "--weights", WEIGHTS},
                {"eval", "--weights", WEIGHTS, "--images", dir.toString(), "--labels", "x", "--boxes", "y", "--output", dir.resolve("e").toString()},
        };
        String[][] bad = {
                {"--layer", "conv5_0", "unknown layer 'conv5_0'"},
                {"--methods", "dgl,cam", "unknown method 'cam'"},
                {"--device", "tpu", "unknown device 'tpu'"},
                {"--precision", "fp8", "fp8"},
                {"--gradients", "pool", "pool"},
        };
        for (String[] c : commands) {
            for (String[] b : bad) {
                String[] args = java.util.Arrays.copyOf(c, c.length + 2);
                args[c.length] = b[0];
                args[c.length + 1] = b[1];
                if (c[0].startsWith("--") && !b[0].equals("--layer")) {                  // the main job needs its tap
                    args = java.util.Arrays.copyOf(args, args.length + 2);
                    args[args.length - 2] = "--layer";
                    args[args.length - 1] = "conv5_1";
                }
                CliTest.Result r = CliTest.run(args);
                assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
                String err = r.oneLineError();
                assertTrue(err.startsWith("g2m-engine: " + b[0] + ": ") && err.contains(b[2]), String.join(" ", args) + ": " + err);
            }
        }
        // a single-valued option of the main job given twice: one short line, not picocli's dump of the whole group
        CliTest.Result twice = CliTest.run("--layer", "conv5_1", "--weights", WEIGHTS, "--output", "a", "--weights", WEIGHTS, "--input", picture());
        assertEquals(2, twice.code(), twice.err());
        String line = twice.oneLineError();
        assertTrue(line.contains("--weights is given twice; give it once") && !line.contains("--overlay-max-side"), line);
        // and the old spelling of the main job's class names is not taken silently
        CliTest.Result r = CliTest.run("--layer", "conv5_1", "--weights", WEIGHTS, "--input", picture(), "--labels", "names.txt");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.oneLineError().contains("--labels"), r.err());
    }
}
