package g2m.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import g2m.image.LoadedImage;
import g2m.image.TestPictures;
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
                {new String[] {"--layer", "conv5_1", "--weights", w, "--input", in.toString(), "--threads", "-1"}, "--threads must be 0 (all cores) to 1024, got -1"},
                {new String[] {"--layer", "conv5_1", "--weights", w, "--input", in.toString(), "--threads", "100000"}, "--threads must be 0 (all cores) to 1024"},
                {new String[] {"--layer", "conv5_1", "--weights", w, "--input", in.toString(), "--max-pixels", "0"}, "--max-pixels must be 1 to"},
                {new String[] {"--layer", "conv5_1", "--weights", w, "--input", in.toString(), "--max-pixels", "800000000"}, "--max-pixels must be 1 to"},
                {new String[] {"--layer", "conv5_1", "--weights", w, "--input", in.toString(), "--overlay-max-side", "-1"}, "--overlay-max-side must be at least 0"},
        };
        for (Object[] c : cases) {
            String[] args = (String[]) c[0];
            CliTest.Result r = run(withOutput(args, dir.resolve("never")));
            assertEquals(2, r.code(), String.join(" ", args) + " -> " + r.err());
            assertTrue(r.oneLineError().contains((String) c[1]), String.join(" ", args) + " -> " + r.err());
            assertFalse(Files.exists(dir.resolve("never")), "nothing created: " + String.join(" ", args));
        }
        assertEquals(2, run().code(), "no arguments: usage on stderr, exit 2");
    }

    static String[] withOutput(String[] args, Path out) {
        if (!List.of(args).contains("--layer")) return args;
        String[] a = java.util.Arrays.copyOf(args, args.length + 2);
        a[args.length] = "--output";
        a[args.length + 1] = out.toString();
        return a;
    }

    /** One --input file that cannot be used: one line, exit 2, and no output folder, nothing written. */
    @Test
    void oneUnreadablePictureIsOneLineExitTwoAndNothingCreated() throws IOException {
        Path bad = Files.writeString(dir.resolve("x.png"), "\u0089PNG but not really");
        Path wide = dir.resolve("wide.png");
        Files.write(wide, pngOf(1992, 1));
        Path dirInput = Files.createDirectories(dir.resolve("a-folder.png"));
        for (Path p : List.of(bad, wide, dir.resolve("missing.png"))) {
            Path out = dir.resolve("o-" + p.getFileName());
            CliTest.Result r = run("--layer", "pool5", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", p.toString(),
                    "--output", out.toString());
            assertEquals(2, r.code(), r.err());
            assertTrue(r.oneLineError().contains(p.getFileName().toString()), r.err());
            assertFalse(Files.exists(out), "no output folder for " + p);
        }
        assertTrue(Files.isDirectory(dirInput));
    }

    /**
     * Eight 1992x1 pictures at --batch 8 (each would be a 446208x224 network input: n·3·h·w
     * overflows an int): each is refused in one line for its aspect ratio, the run ends with exit 3
     * and the list in summary.json, never an internal error.
     */
    @Test
    void extremeAspectRatiosAreSkippedNotAnInternalError() throws Exception {
        Path in = Files.createDirectories(dir.resolve("wide"));
        for (int i = 0; i < 8; i++) Files.write(in.resolve("w" + i + ".png"), pngOf(1992, 1));
        Files.copy(Path.of(MapsCliTest.class.getResource("/golden/image_224x256.png").toURI()), in.resolve("ok.png"));
        Path out = dir.resolve("out");
        CliTest.Result r = run("--layer", "conv5_1", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", in.toString(),
                "--output", out.toString(), "--batch", "8", "--device", "cpu");
        assertEquals(3, r.code(), r.err());
        assertFalse(r.err().contains("internal error"), r.err());
        assertEquals(8, r.err().lines().filter(l -> l.startsWith("g2m-engine: skipped ") && l.contains("aspect ratio over 20:1")).count(), r.err());
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(1, s.get("images").size());
        assertEquals(8, s.get("failed").size());
    }

    /**
     * a.png, a.jpg (a PNG by content) and a_png.png: without care a.png and a_png.png both write
     * a_png_*.png. Each picture gets its own names, summary.json lists each once.
     */
    @Test
    void outputNamesAreUniquePerRun() throws Exception {
        Path in = Files.createDirectories(dir.resolve("names"));
        Path png = Path.of(MapsCliTest.class.getResource("/golden/image_224x256.png").toURI());
        for (String n : List.of("a.png", "a.jpg", "a_png.png")) Files.copy(png, in.resolve(n));
        assertEquals(java.util.Map.of(in.resolve("a.jpg"), "a_jpg", in.resolve("a.png"), "a_png_2", in.resolve("a_png.png"), "a_png"),
                MapsJob.stems(MapsJob.listImages(in)));
        // case-insensitive file systems: A.png and a.png may not write A_dgl.png and a_dgl.png
        assertEquals(List.of("A_png", "a_png_2", "b"),
                List.copyOf(MapsJob.stems(List.of(Path.of("A.png"), Path.of("a.png"), Path.of("b.png"))).values()));
        Path out = dir.resolve("out");
        CliTest.Result r = run("--layer", "pool5", "--methods", "dgl", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", in.toString(),
                "--output", out.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        Set<String> files = new java.util.HashSet<>();
        Set<String> outputs = new java.util.HashSet<>();
        for (JsonNode e : s.get("images")) {
            assertTrue(files.add(e.get("file").asText()), "listed once: " + e);
            for (JsonNode o : e.get("outputs")) assertTrue(outputs.add(o.asText()), "written once: " + o);
        }
        assertEquals(Set.of("a_jpg_dgl.png", "a_png_2_dgl.png", "a_png_dgl.png"), outputs);
        try (Stream<Path> l = Files.list(out)) {
            assertEquals(4, l.count(), "three overlays and summary.json");
        }
    }

    /** --overlay-max-side: the overlay is shrunk to it (longer side), the maps are not; the summary says the overlay's size. */
    @Test
    void overlayMaxSideShrinksTheOverlayOnly() throws Exception {
        Path png = Path.of(MapsCliTest.class.getResource("/golden/image_224x256.png").toURI());
        Path out = dir.resolve("out");
        CliTest.Result r = run("--layer", "conv5_1", "--methods", "dgl", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", png.toString(),
                "--output", out.toString(), "--overlay-max-side", "100", "--raw");
        assertEquals(0, r.code(), r.err());
        LoadedImage ov = g2m.image.ImageLoader.load(out.resolve("image_224x256_dgl.png"));
        assertEquals(100, ov.width());                                       // the picture is 256 wide, 224 high
        assertEquals(88, ov.height());                                       // 224 * 100 / 256 = 87.5, rounded
        JsonNode e = new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("images").get(0);
        assertEquals("[88,100]", e.get("overlay_size").toString());        // [height, width], as input_size
        assertEquals("[14,16]", e.get("map_shapes").get("conv5_1").toString());
        Path full = dir.resolve("full");
        assertEquals(0, run("--layer", "conv5_1", "--methods", "dgl", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", png.toString(),
                "--output", full.toString()).code());
        assertEquals(256, g2m.image.ImageLoader.load(full.resolve("image_224x256_dgl.png")).width(), "default: the picture's size");
    }

    /**
     * The progress line and the summary count the same span (decoding, mapping and writing; start-up
     * apart), so their rates agree. Pictures that take long to decode and little to map make a
     * difference in what is counted visible: decoding was left out of the summary's rate.
     */
    @Test
    void progressAndSummaryGiveTheSameRate() throws Exception {
        Path in = Files.createDirectories(dir.resolve("big"));
        java.util.Random rnd = new java.util.Random(5);
        byte[] px = new byte[1600 * 1200 * 3];
        for (int i = 0; i < 6; i++) {
            rnd.nextBytes(px);
            Files.write(in.resolve("n" + i + ".png"), TestPictures.encode(new LoadedImage(null, 1600, 1200, px), ".png"));
        }
        Path out = dir.resolve("out");
        CliTest.Result r = run("--layer", "pool5", "--methods", "dgl", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", in.toString(),
                "--output", out.toString(), "--overlay-max-side", "32", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        String last = r.err().lines().filter(l -> l.contains("6/6 images")).findFirst().orElseThrow(() -> new AssertionError(r.err()));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9.]+) images/s").matcher(last);
        assertTrue(m.find(), last);
        double progressRate = Double.parseDouble(m.group(1));
        double summaryRate = new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("run").get("images_per_s").asDouble();
        assertEquals(summaryRate, progressRate, 0.03 * summaryRate + 0.01, last + " vs summary " + summaryRate);
    }

    static byte[] pngOf(int w, int h) {
        return TestPictures.png(w, h);
    }
}
