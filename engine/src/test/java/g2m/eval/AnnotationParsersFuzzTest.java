package g2m.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.weights.FuzzSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The readers of the annotation files researchers bring (layercam_loc's val_box.mat, uncompressed
 * and compressed; wsolevaluation's metadata files, boxes and masks) and the checkpoint records
 * that carry PxAP histograms, under bounded random mutation as {@link EvalParsersFuzzTest} does:
 * only {@link EvalException} escapes, its message one line, and a parse allocates at most 64 times
 * its input plus 16 MB.
 */
class AnnotationParsersFuzzTest {
    static final Path EVAL = Path.of("src/test/resources/eval");
    static final Path SET = EVAL.resolve("tinyset");
    static final int MUTANTS = 400;
    static final long SLACK = EvalParsersFuzzTest.SLACK;

    @Test
    @Timeout(300)
    void valBoxMat(@TempDir Path dir) throws IOException {
        for (String name : List.of("val_box.mat", "val_box_v7.mat")) {
            byte[] seed = Files.readAllBytes(SET.resolve(name));
            assertEquals(6, MatBoxes.read(SET.resolve(name)).size(), "the seed file is valid");
            int rejected = FuzzSupport.fuzz(seed, dir, name, name.length(), MUTANTS, 64, SLACK, EvalException.class, MatBoxes::read);
            assertTrue(rejected > MUTANTS / 4, "most mutants of a MAT file are not usable: " + rejected);
        }
    }

    @Test
    @Timeout(300)
    void wsolBoxMetadata(@TempDir Path dir) throws IOException {
        Path meta = copy(SET.resolve("wsol"), dir.resolve("wsol"));
        assertEquals(6, WsolMetadata.read(meta, SET, null).samples().size(), "the seed set is valid");
        fuzzEach(meta, dir, List.of("image_ids.txt", "class_labels.txt", "localization.txt"), () -> WsolMetadata.read(meta, SET, null));
    }

    @Test
    @Timeout(300)
    void wsolMaskMetadata(@TempDir Path dir) throws IOException {
        Path root = EVAL.resolve("maskset");
        Path meta = copy(root.resolve("metadata/test"), dir.resolve("meta"));
        assertEquals(5, WsolMetadata.read(meta, root, null).samples().size(), "the seed set is valid");
        fuzzEach(meta, dir, List.of("image_ids.txt", "class_labels.txt", "localization.txt"), () -> WsolMetadata.read(meta, root, null));
    }

    /** Each file in turn replaced by its mutants while the others stay valid. */
    static void fuzzEach(Path meta, Path dir, List<String> files, Runnable read) throws IOException {
        long s = 50;
        for (String f : files) {
            byte[] seed = Files.readAllBytes(meta.resolve(f));
            Path fuzzDir = Files.createDirectories(dir.resolve("fuzz-" + f));
            FuzzSupport.fuzz(seed, fuzzDir, f, s++, MUTANTS / 2, 64, SLACK, EvalException.class, m -> {
                try {
                    Files.copy(m, meta.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                read.run();
            });
            Files.write(meta.resolve(f), seed);
        }
    }

    static Path copy(Path src, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(src)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
        return to;
    }

    @Test
    @Timeout(300)
    void checkpointRecordsWithPixelHistograms(@TempDir Path dir) throws IOException {
        ObjectNode settings = new ObjectMapper().createObjectNode().put("layers", "conv5_1").put("methods", "layercam");
        Path out = Files.createDirectories(dir.resolve("out"));
        try (EvalCheckpoint c = EvalCheckpoint.open(out, settings, 1)) {
            c.append(List.of(record(0), record(1)));
        }
        Path file = out.resolve("checkpoint.jsonl");
        long[] seen = {0};
        EvalCheckpoint.forEach(file, 1, r -> seen[0] += r.outcomes().get(0).pixelHistograms()[3]);
        assertEquals(3 + 4, seen[0], "the seed checkpoint reads back with its histograms");
        FuzzSupport.fuzz(Files.readAllBytes(file), dir, "checkpoint.jsonl", 61, MUTANTS, 64, SLACK, EvalException.class,
                f -> EvalCheckpoint.forEach(f, 1, r -> { }));
    }

    static ImageRecord record(int index) {
        long[][] hits = new long[MaxBoxAccV2.IOU_LEVELS.length][2];
        long[] px = new long[PxAp.VALUES];
        for (int i = 0; i < px.length; i++) px[i] = (i * 7L + index) % 5;
        px[3] = 3 + index;
        return new ImageRecord(index, "p" + index + ".jpg", null, 3, new int[] {3, 1, 4, 5, 9}, 64, 48,
                List.of(new ImageRecord.Outcome(new Box(1, 2, 30, 40), 0.25, hits, px)));
    }
}
