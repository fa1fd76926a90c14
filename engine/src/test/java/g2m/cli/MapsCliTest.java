package g2m.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static g2m.cli.CliTest.fixture;
import static g2m.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The main job end to end on the tiny model: files, summary, errors and exit codes. */
class MapsCliTest {
    @TempDir
    Path dir;

    Path inputs() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in"));
        Path png = Path.of(MapsCliTest.class.getResource("/golden/image_224x256.png").toURI());
        Files.copy(png, in.resolve("a.png"));
        Files.copy(png, in.resolve("b.png"));
        Files.writeString(in.resolve("broken.jpg"), "not a jpeg");
        Files.writeString(in.resolve("notes.txt"), "ignored: not a picture");
        return in;
    }

    @Test
    void writesOverlaysRawMapsAndSummary() throws Exception {
        Path in = inputs();
        Path out = dir.resolve("out");
        CliTest.Result r = run("--layer", "conv5_1", "--weights", fixture("tiny_vgg16_legacy.pth"), "--input", in.toString(),
                "--output", out.toString(), "--raw", "--batch", "2", "--device", "cpu");
        assertEquals(3, r.code(), "one broken picture: exit 3; stderr: " + r.err());
        assertTrue(r.err().contains("broken.jpg"), r.err());
        assertTrue(r.out().contains("2 image(s) mapped at conv5_1"), r.out());
        Set<String> files;
        try (Stream<Path> s = Files.list(out)) {
            files = s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
        for (String stem : List.of("a", "b")) {
            for (String m : List.of("layercam", "sgl-g1", "sgl-g2", "dgl")) {
                assertTrue(files.contains(stem + "_" + m + ".png"), files.toString());
                assertTrue(files.contains(stem + "_" + m + ".npy"), files.toString());
            }
        }
        assertFalse(files.stream().anyMatch(f -> f.startsWith("broken")));

        // the .npy holds the map at the tap's resolution: conv5_1 of 224x256 is 14x16
        byte[] npy = Files.readAllBytes(out.resolve("a_dgl.npy"));
        String header = new String(npy, 10, ByteBuffer.wrap(npy, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort());
        assertTrue(header.contains("'shape': (14, 16)") && header.contains("<f4"), header);
        assertEquals(10 + header.length() + 14 * 16 * 4, npy.length);

        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(2, s.get("images").size());
        assertEquals(1, s.get("failed").size());
        JsonNode a = s.get("images").get(0);
        assertEquals(5, a.get("top5").size());
        assertEquals(a.get("target_class").asInt(), a.get("top5").get(0).get("class").asInt());
        assertEquals(14, a.get("map_shapes").get("conv5_1").get(0).asInt());
        assertEquals(16, a.get("map_shapes").get("conv5_1").get(1).asInt());
        assertEquals(2, s.get("run").get("images").asInt());
        assertTrue(s.get("run").get("images_per_s").asDouble() > 0);

        // a second run refuses to overwrite, then --force does
        CliTest.Result again = run("--layer", "conv5_1", "--weights", fixture("tiny_vgg16_legacy.pth"), "--input", in.resolve("a.png").toString(),
                "--output", out.toString());
        assertEquals(2, again.code());
        assertTrue(again.oneLineError().contains("--force"));
        CliTest.Result forced = run("--layer", "conv5_1,pool4", "--methods", "gradcam,dgl", "--class", "4", "--force",
                "--weights", fixture("tiny_vgg16_legacy.pth"), "--input", in.resolve("a.png").toString(), "--output", out.toString());
        assertEquals(0, forced.code(), forced.err());
        assertTrue(Files.exists(out.resolve("a_pool4_gradcam.png")), "several layers: the layer is in the name");
        JsonNode s2 = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(4, s2.get("images").get(0).get("target_class").asInt());
    }

    @Test
    void usageErrorsAreOneLineWithExitTwo() throws Exception {
        Path in = inputs();
        String w = fixture("tiny_vgg16_zip.pth");
        Object[][] cases = {
                {new String[] {"--layer", "conv5_0", "--weights", w, "--input", in.toString()}, "valid: conv1_1"},
                {new String[] {"--layer", "conv5_1", "--methods", "cam", "--weights", w, "--input", in.toString()}, "valid: layercam"},
                {new String[] {"--layer", "conv5_1", "--weights", w, "--input", dir.resolve("nope").toString()}, "no such file"},
                {new String[] {"--layer", "conv5_1", "--weights", w}, "--input is required"},
                {new String[] {"--layer", "conv5_1", "--weights", w, "--input", in.toString(), "--class", "10"}, "outside 0..9"},
                {new String[] {"--layer", "conv5_1", "--weights", w, "--input", in.toString(), "--device", "tpu"}, "valid: cpu, cuda, auto"},
                {new String[] {"--layer", "conv5_1", "--weights", w, "--input", in.toString(), "--batch", "0"}, "at least 1"},
                {new String[] {"--layer", "conv5_1", "--weights", dir.resolve("missing.pth").toString(), "--input", in.toString()}, "no such file"},
                {new String[] {"--input", in.toString()}, "--layer is required"},
        };
        for (Object[] c : cases) {
            String[] args = (String[]) c[0];
            CliTest.Result r = run(args);
            assertEquals(2, r.code(), String.join(" ", args) + " -> " + r.err());
            assertTrue(r.oneLineError().contains((String) c[1]), String.join(" ", args) + " -> " + r.err());
        }
        assertEquals(2, run().code(), "no arguments: usage on stderr, exit 2");
    }

    @Test
    void oneBadPictureAloneExitsThree() throws IOException {
        Path bad = Files.writeString(dir.resolve("x.png"), "\u0089PNG but not really");
        CliTest.Result r = run("--layer", "pool5", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", bad.toString(),
                "--output", dir.resolve("o").toString());
        assertEquals(3, r.code(), r.err());
    }
}
