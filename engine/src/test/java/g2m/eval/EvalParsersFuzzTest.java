package g2m.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.weights.FuzzSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The evaluation's readers of user files (VOC XML boxes, the ILSVRC labels file, CUB's tables,
 * the checkpoint) under bounded random mutation: only {@link EvalException} escapes, with a
 * one-line message, and a parse allocates at most a bounded multiple of its input.
 */
class EvalParsersFuzzTest {
    static final Path TINYSET = Path.of("src/test/resources/eval/tinyset");
    static final int MUTANTS = 400;
    /** Bytes a parse of a small file may allocate beyond 64 × its size (XML parser set-up is a few MB). */
    static final long SLACK = 16L << 20;

    @Test
    void vocXml(@TempDir Path dir) throws IOException {
        byte[] seed = Files.readAllBytes(TINYSET.resolve("boxes/synth_0001.xml"));
        assertEquals(1, VocXml.read(TINYSET.resolve("boxes/synth_0001.xml")).size(), "the seed file is valid");
        int rejected = FuzzSupport.fuzz(seed, dir, "m.xml", 11, MUTANTS, 64, SLACK, EvalException.class, VocXml::read);
        assertTrue(rejected > MUTANTS / 4, "most mutants of an XML file are not valid annotations: " + rejected);
    }

    @Test
    void hostileXmlIsRefusedNotExpanded(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("xxe.xml");
        Files.writeString(f, "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                + "<annotation><object><bndbox><xmin>&x;</xmin><ymin>1</ymin><xmax>2</xmax><ymax>3</ymax></bndbox></object></annotation>");
        EvalException e = org.junit.jupiter.api.Assertions.assertThrows(EvalException.class, () -> VocXml.read(f));
        assertTrue(e.getMessage().contains("not well-formed XML"), e.getMessage());
    }

    @Test
    void ilsvrcLabels(@TempDir Path dir) throws IOException {
        byte[] seed = Files.readAllBytes(TINYSET.resolve("val.txt"));
        Path images = TINYSET.resolve("images"), boxes = TINYSET.resolve("boxes");
        assertEquals(6, Dataset.ilsvrc(TINYSET.resolve("val.txt"), images, boxes).samples().size(), "the seed file is valid");
        FuzzSupport.fuzz(seed, dir, "val.txt", 12, MUTANTS, 64, SLACK, EvalException.class, f -> Dataset.ilsvrc(f, images, boxes));
    }

    @Test
    void cubTables(@TempDir Path dir) throws IOException {
        Path root = Files.createDirectories(dir.resolve("cub"));
        Path pics = Files.createDirectories(root.resolve("images/001.Bird"));
        StringBuilder images = new StringBuilder(), labels = new StringBuilder(), boxes = new StringBuilder(), split = new StringBuilder();
        for (int i = 1; i <= 4; i++) {
            Files.write(pics.resolve("b" + i + ".jpg"), new byte[] {1});
            images.append(i).append(" 001.Bird/b").append(i).append(".jpg\n");
            labels.append(i).append(' ').append(1 + i % 3).append('\n');
            boxes.append(i).append(" 10.0 12.0 30.5 40.0\n");
            split.append(i).append(' ').append(i % 2).append('\n');
        }
        String[][] files = {{"images.txt", images.toString()}, {"image_class_labels.txt", labels.toString()},
                {"bounding_boxes.txt", boxes.toString()}, {"train_test_split.txt", split.toString()}};
        for (String[] f : files) Files.writeString(root.resolve(f[0]), f[1]);
        assertEquals(2, Dataset.cub(root, "test").samples().size(), "the seed set is valid");
        long s = 20;
        for (String[] f : files) {
            Path fuzzDir = Files.createDirectories(dir.resolve("fuzz-" + f[0]));
            // the mutant replaces one table; the other three stay valid
            FuzzSupport.fuzz(f[1].getBytes(StandardCharsets.UTF_8), fuzzDir, f[0], s++, MUTANTS / 2, 64, SLACK, EvalException.class, m -> {
                try {
                    Files.copy(m, root.resolve(f[0]), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    Dataset.cub(root, "test");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Files.writeString(root.resolve(f[0]), f[1]);
        }
    }

    @Test
    void checkpointRecords(@TempDir Path dir) throws IOException {
        ObjectNode settings = new ObjectMapper().createObjectNode().put("layers", "conv5_1").put("methods", "layercam");
        Path out = Files.createDirectories(dir.resolve("out"));
        int outcomes = 1;
        try (EvalCheckpoint c = EvalCheckpoint.open(out, settings, outcomes)) {
            c.append(List.of(sample(0, outcomes), sample(1, outcomes), sample(2, outcomes)));
        }
        Path file = out.resolve("checkpoint.jsonl");
        int[] seen = {0};
        EvalCheckpoint.forEach(file, outcomes, r -> seen[0]++);
        assertEquals(3, seen[0], "the seed checkpoint reads back");
        FuzzSupport.fuzz(Files.readAllBytes(file), dir, "checkpoint.jsonl", 31, MUTANTS, 64, SLACK, EvalException.class,
                f -> EvalCheckpoint.forEach(f, outcomes, r -> { }));
    }

    /** The record parser behind the line checksum (which turns away nearly every mutant above): the same mutations on bare records. */
    @Test
    void checkpointRecordsBehindTheChecksum(@TempDir Path dir) throws IOException {
        int outcomes = 2;
        String seed = sample(0, outcomes).toJson() + "\n" + sample(1, outcomes).toJson() + "\n" + ImageRecord.skipped(2, "p2.jpg", "why").toJson() + "\n";
        for (String line : seed.split("\n")) ImageRecord.parse(line, outcomes);
        FuzzSupport.fuzz(seed.getBytes(java.nio.charset.StandardCharsets.UTF_8), dir, "records.jsonl", 37, MUTANTS, 64, SLACK, EvalException.class, f -> {
            try {
                for (String line : Files.readAllLines(f, java.nio.charset.StandardCharsets.ISO_8859_1)) {
                    try {
                        ImageRecord.parse(line, outcomes);
                    } catch (IllegalArgumentException e) {       // what forEach turns into "is damaged"
                        throw new EvalException("damaged: " + e.getMessage());
                    }
                }
            } catch (IOException e) {
                throw new EvalException("unreadable: " + e.getMessage());
            }
        });
    }

    private static ImageRecord sample(int index, int outcomes) {
        ImageRecord.Outcome[] o = new ImageRecord.Outcome[outcomes];
        long[][] hits = new long[MaxBoxAccV2.IOU_LEVELS.length][2];
        for (long[] h : hits) h[0] = index;
        for (int k = 0; k < outcomes; k++) o[k] = new ImageRecord.Outcome(new Box(1, 2, 30 + index, 40), 0.25 + index / 8.0, hits);
        return new ImageRecord(index, "p" + index + ".jpg", null, 3, new int[] {3, 1, 4, 5, 9}, 64, 48, List.of(o));
    }
}
