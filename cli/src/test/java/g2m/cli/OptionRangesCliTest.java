package g2m.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import g2m.net.Vgg16NetGoldenTest;
import g2m.weights.Checkpoint;
import g2m.weights.Tensor;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static g2m.cli.CliTest.fixture;
import static g2m.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Option values out of range and weights that make no numbers: one line and exit 2 (or a picture
 * listed as failed), never exit 1 "internal error" from a thread pool of 100000, a negative array
 * size or a NaN in an overlay.
 */
class OptionRangesCliTest {
    @TempDir
    Path dir;

    @Test
    void benchSizesBatchesAndThreadsOutOfRange() {
        String w = fixture("tiny_vgg16_zip.pth");
        String[][] cases = {
                {"--size", "100000"}, {"--size", "46341"}, {"--batch", "100000", "--size", "224"},
                {"--threads", "-1"}, {"--threads", "100000"}, {"--warmup", "-1"}, {"--seconds", "NaN"}, {"--seconds", "-1"},
        };
        String[] expected = {"inputs of 100000x100000 are too large", "inputs of 46341x46341 are too large",
                "--batch 100000 is too large at 224x224: at most", "--threads must be 0 (all cores) to 1024, got -1",
                "--threads must be 0 (all cores) to 1024, got 100000", "--warmup >= 0", "--seconds must be 0 to 1000000", "--seconds must be 0"};
        for (int i = 0; i < cases.length; i++) {
            String[] args = new String[cases[i].length + 5];
            System.arraycopy(new String[] {"bench", "--weights", w, "--device", "cpu"}, 0, args, 0, 5);
            System.arraycopy(cases[i], 0, args, 5, cases[i].length);
            CliTest.Result r = run(args);
            assertEquals(2, r.code(), String.join(" ", cases[i]) + " -> " + r.err());
            assertTrue(r.oneLineError().contains(expected[i]), String.join(" ", cases[i]) + " -> " + r.err());
        }
    }

    @Test
    void evalThreadsOutOfRange() {
        for (String t : new String[] {"-1", "100000"}) {
            CliTest.Result r = run("eval", "--threads", t, "--cub", dir.toString(), "--output", dir.resolve("e").toString());
            assertEquals(2, r.code(), r.err());
            assertTrue(r.oneLineError().contains("--threads must be 0 (all cores) to 1024, got " + t), r.err());
            assertFalse(Files.exists(dir.resolve("e")));
        }
    }

    /** NaN in the weights: refused when the engine opens them, in words naming the tensor. */
    @Test
    void weightsWithNaNAreRefusedWhenOpened() throws Exception {
        Path bad = weightsWith("conv3_2.weight", 5, Float.NaN);
        Path png = Path.of(OptionRangesCliTest.class.getResource("/golden/image_224x256.png").toURI());
        CliTest.Result r = run("--layer", "conv5_1", "--weights", bad.toString(), "--input", png.toString(), "--output", dir.resolve("o").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.oneLineError().contains("the weights are unusable: conv3_2.weight holds NaN at index 5"), r.err());
        assertFalse(Files.exists(dir.resolve("o")));
    }

    /** Finite weights whose activations overflow float32: the picture is listed as failed, in words; no overlay, no NaN in JSON. */
    @Test
    void overflowingActivationsFailThePictureInWords() throws Exception {
        Path huge = weightsWith("conv1_1.weight", -1, 3e37f);
        Path png = Path.of(OptionRangesCliTest.class.getResource("/golden/image_224x256.png").toURI());
        Path out = dir.resolve("o");
        CliTest.Result r = run("--layer", "conv5_1", "--weights", huge.toString(), "--input", png.toString(), "--output", out.toString());
        assertEquals(3, r.code(), r.err());
        assertFalse(r.err().contains("internal error"), r.err());
        assertTrue(r.err().contains("is not finite") || r.err().contains("are not finite"), r.err());
        String json = Files.readString(out.resolve("summary.json"));
        JsonNode s = new ObjectMapper().readTree(json);                     // strict JSON: a NaN token would not parse
        assertEquals(0, s.get("images").size());
        assertEquals(1, s.get("failed").size());
        try (var l = Files.list(out)) {
            assertEquals(1, l.count(), "only summary.json");
        }
    }

    /** The tiny test network with one tensor changed: value {@code v} at {@code index} (-1: everywhere). */
    Path weightsWith(String tensor, int index, float v) {
        Checkpoint c = Vgg16NetGoldenTest.tinyWeights();
        Map<String, Tensor> t = new LinkedHashMap<>(c.tensors());
        Tensor old = t.get(tensor);
        float[] values = old.toFloats();
        if (index < 0) java.util.Arrays.fill(values, v);
        else values[index] = v;
        t.put(tensor, Tensor.ofFloats(tensor, old.shape(), values));
        Path p = dir.resolve(tensor + ".safetensors");
        Safetensors.write(p, new Checkpoint(t, c.metadata()), false);
        return p;
    }
}
