package g2m.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static g2m.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code eval --shard I/N} and {@code eval merge} on the six-picture set: three shards merged give
 * the files of one unsharded run byte for byte (checkpoint, results.csv, results.md, boxes.csv;
 * results.json apart from its "run" part; report.html once eval has written it on the merged
 * folder), the shards' maps are the unsharded run's; and every
 * way of handing merge the wrong folders is one line naming them, with nothing written.
 */
class EvalShardCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String[] FAST = {"--layers", "conv5_1,pool4", "--save-boxes"};     // no GrabCut: quick

    @TempDir
    Path dir;
    Path set;

    @BeforeEach
    void copySet() throws IOException {
        set = copyTinyset(dir);
    }

    /** A copy of the six-picture set under {@code dir}/set (tests change it). */
    static Path copyTinyset(Path dir) throws IOException {
        Path set = dir.resolve("set");
        Path src = EvalCliTest.resource("tinyset");
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : s.toList()) {
                Path t = set.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
        return set;
    }

    /** The eval command on {@code set} with the tiny network into {@code out}, as EvalCliTest runs it. */
    static String[] evalArgs(Path set, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("eval", "--weights", CliTest.fixture(EvalCliTest.WEIGHTS), "--images", set.resolve("images").toString(),
                "--labels", set.resolve("val.txt").toString(), "--boxes", set.resolve("boxes").toString(), "--output", out.toString(),
                "--device", "cpu", "--workers", "2"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    String[] args(Path out, String... extra) {
        return evalArgs(set, out, extra);
    }

    static String read(Path p) throws IOException {
        return Files.readString(p);
    }

    String[] shardArgs(Path out, String shard, String... extra) {
        List<String> a = new ArrayList<>(List.of(FAST));
        if (shard != null) a.addAll(List.of("--shard", shard));
        a.addAll(List.of(extra));
        return args(out, a.toArray(String[]::new));
    }

    static JsonNode withoutRun(Path out) throws IOException {
        ObjectNode o = (ObjectNode) JSON.readTree(out.resolve("results.json").toFile());
        o.remove("run");
        return o;
    }

    @Test
    void threeShardsMergedAreTheUnshardedRun() throws IOException {
        Path whole = dir.resolve("whole");
        assertEquals(0, run(shardArgs(whole, null, "--report")).code());
        List<Path> shards = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path s = dir.resolve("shard" + i);
            CliTest.Result r = run(shardArgs(s, i + "/3"));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains("shard " + i + "/3 (positions " + i + ", " + (i + 3) + ", " + (i + 6) + ", …): 2 of the 6 pictures"), r.err());
            assertTrue(r.out().contains("2 image(s) evaluated"), r.out());
            // the shard's records keep their dataset positions
            List<String> lines = Files.readAllLines(s.resolve("checkpoint.jsonl"));
            assertEquals(3, lines.size());
            assertEquals(i, JSON.readTree(lines.get(1)).get("i").intValue());
            assertEquals(i + 3, JSON.readTree(lines.get(2)).get("i").intValue());
            assertTrue(read(s.resolve("results.md")).contains("; shard " + i + "/3 (positions"), read(s.resolve("results.md")));
            assertEquals(i + "/3", JSON.readTree(s.resolve("results.json").toFile()).get("settings").get("shard").asText());
            shards.add(s);
        }
        Path merged = dir.resolve("merged");
        CliTest.Result m = run("eval", "merge", merged.toString(), shards.get(2).toString(), shards.get(0).toString(), shards.get(1).toString());
        assertEquals(0, m.code(), m.err());
        assertTrue(m.out().contains("6 image(s) evaluated (merged from 3 shard(s))"), m.out());
        assertTrue(m.out().contains("| conv5_1  | layercam   |"), m.out());
        for (String f : List.of("checkpoint.jsonl", "results.csv", "results.md", "boxes.csv")) {
            assertArrayEquals(Files.readAllBytes(whole.resolve(f)), Files.readAllBytes(merged.resolve(f)), f);
        }
        assertEquals(withoutRun(whole), withoutRun(merged));
        JsonNode from = JSON.readTree(merged.resolve("results.json").toFile()).get("run").get("merged_from");
        assertEquals(3, from.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i + "/3", from.get(i).get("shard").asText());
            assertEquals(shards.get(i).toString(), from.get(i).get("folder").asText());
            assertEquals(2, from.get(i).get("images").intValue());
        }
        // the shards' maps together are the unsharded run's, each in exactly one shard
        List<Path> maps;
        try (Stream<Path> l = Files.list(whole.resolve("maps"))) {
            maps = l.toList();
        }
        assertEquals(6 * 8, maps.size());
        for (Path p : maps) {
            int in = 0;
            for (Path s : shards) {
                Path q = s.resolve("maps").resolve(p.getFileName());
                if (Files.exists(q)) {
                    in++;
                    assertArrayEquals(Files.readAllBytes(p), Files.readAllBytes(q), q.toString());
                }
            }
            assertEquals(1, in, p.getFileName().toString());
        }
        // the merged folder is an unsharded run's: eval with the same options finds everything done, and writes the same report
        CliTest.Result again = run(shardArgs(merged, null, "--report"));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("all from the checkpoint"), again.out());
        assertArrayEquals(Files.readAllBytes(whole.resolve("results.csv")), Files.readAllBytes(merged.resolve("results.csv")));
        assertArrayEquals(Files.readAllBytes(whole.resolve("report.html")), Files.readAllBytes(merged.resolve("report.html")), "report.html");
    }

    @Test
    void mergeRefusesWrongFoldersNamingThem() throws IOException {
        Path s0 = dir.resolve("s0"), s1 = dir.resolve("s1"), s2 = dir.resolve("s2");
        assertEquals(0, run(shardArgs(s0, "0/3")).code());
        // a shard stopped early (--limit 3: of positions 0..2, shard 1/3 has only position 1)
        CliTest.Result part = run(shardArgs(s1, "1/3", "--limit", "3"));
        assertEquals(0, part.code(), part.err());
        assertTrue(part.err().contains("1 of the 3 pictures"), part.err());
        assertEquals(0, run(shardArgs(s2, "2/3")).code());
        Path out = dir.resolve("out");
        String[][] bad = {
                {s0.toString(), s2.toString()},                                   // one missing
                {s0.toString(), s1.toString(), s2.toString()},                    // one unfinished
                {s0.toString(), s0.toString(), s1.toString(), s2.toString()},     // one twice
        };
        String[] why = {"shard(s) 1/3 missing", "shard 1/3 in " + s1 + " has 1 of its 2 pictures", s0 + " is given twice"};
        for (int k = 0; k < bad.length; k++) {
            List<String> a = new ArrayList<>(List.of("eval", "merge", out.toString()));
            a.addAll(List.of(bad[k]));
            CliTest.Result r = run(a.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", a));
            assertTrue(r.oneLineError().contains(why[k]), r.err());
            assertFalse(Files.exists(out), "nothing written for " + String.join(" ", a));
        }
        // eval's own options before 'merge' would be ignored: refused, naming them
        CliTest.Result opts = run("eval", "--layers", "conv3_3", "--device", "cpu", "merge", out.toString(), s0.toString());
        assertEquals(2, opts.code(), opts.err());
        assertTrue(opts.oneLineError().contains("drop --layers, --device before 'merge'"), opts.err());
        assertFalse(Files.exists(out), "nothing written");
        // the unfinished shard continues with its own count, and a checkpoint refuses another shard
        CliTest.Result other = run(shardArgs(s1, "2/3"));
        assertEquals(2, other.code());
        assertTrue(other.oneLineError().contains("other settings (shard: \"1/3\" then, \"2/3\" now)"), other.err());
        CliTest.Result unsharded = run(shardArgs(s1, null));
        assertEquals(2, unsharded.code());
        assertTrue(unsharded.oneLineError().contains("shard: \"1/3\" then, none now"), unsharded.err());
        CliTest.Result rest = run(shardArgs(s1, "1/3"));
        assertEquals(0, rest.code(), rest.err());
        assertTrue(rest.err().contains("1 picture(s) already done, 1 to go"), rest.err());
        assertTrue(rest.err().contains("2 of the 6 pictures"), rest.err());

        // shards of different N overlap; other settings; an unsharded run among shards
        Path half = dir.resolve("half");
        assertEquals(0, run(shardArgs(half, "1/2")).code());
        CliTest.Result r = run("eval", "merge", out.toString(), s0.toString(), half.toString(), s2.toString());
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains(half + " is shard 1/2 but " + s0 + " is one of 3 shards: they overlap"), r.err());
        Path otherMethods = dir.resolve("methods");
        assertEquals(0, run(shardArgs(otherMethods, "1/3", "--methods", "layercam")).code());
        r = run("eval", "merge", out.toString(), s0.toString(), otherMethods.toString(), s2.toString());
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains(otherMethods + " was evaluated with other settings than " + s0 + " (methods:"), r.err());
        Path whole = dir.resolve("whole");
        assertEquals(0, run(shardArgs(whole, "0/1")).code());          // 0/1 is no shard
        assertFalse(read(whole.resolve("results.md")).contains("shard"), read(whole.resolve("results.md")));
        r = run("eval", "merge", out.toString(), s0.toString(), whole.toString());
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains(whole + " holds an unsharded run but " + s0 + " is one of 3 shards"), r.err());
        r = run("eval", "merge", out.toString(), s0.toString(), dir.resolve("nowhere").toString());
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("nowhere: no such folder"), r.err());
        assertFalse(Files.exists(out));

        // OUT: not a shard's folder; an existing result only with --force
        r = run("eval", "merge", s0.toString(), s0.toString(), s1.toString(), s2.toString());
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("is the folder of shard 0/3"), r.err());
        assertEquals(0, run("eval", "merge", out.toString(), s0.toString(), s1.toString(), s2.toString()).code());
        r = run("eval", "merge", out.toString(), s0.toString(), s1.toString(), s2.toString());
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("checkpoint.jsonl exists; use --force"), r.err());
        r = run("eval", "merge", "--force", out.toString(), s0.toString(), s1.toString(), s2.toString());
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(Files.readAllBytes(whole.resolve("results.csv")), Files.readAllBytes(out.resolve("results.csv")));
    }

    @Test
    void badShardValuesAreOneLineErrors() {
        for (String v : new String[] {"3/3", "1/0", "-1/3", "x", "1/3/4", "1/", "99999999999/2"}) {
            CliTest.Result r = run(shardArgs(dir.resolve("out"), v));
            assertEquals(2, r.code(), v);
            assertTrue(r.oneLineError().contains("--shard must be I/N with 0 <= I < N"), r.err());
        }
        CliTest.Result r = run(shardArgs(dir.resolve("out"), "7/10"));
        assertEquals(2, r.code());
        assertTrue(r.oneLineError().contains("--shard 7/10 has no pictures: 6 to evaluate"), r.err());
        assertFalse(Files.exists(dir.resolve("out")));
    }
}
