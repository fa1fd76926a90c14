package g2m.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --shard I/N}: which positions a shard has, and how its checkpoint checks that its records are those. */
class ShardTest {
    @TempDir
    Path dir;

    @Test
    void parsesIOverN() {
        assertEquals(new Shard(1, 3), Shard.parse("1/3"));
        assertEquals(new Shard(2, 5), Shard.parse(" 2 / 5 "));
        assertEquals(Shard.ALL, Shard.parse("0/1"));
        assertTrue(Shard.parse("0/1").isAll());
        for (String bad : new String[] {"3/3", "1/0", "-1/3", "1", "a/b", "1/3/5", "/3", "1/", "", "4294967297/2"}) {
            EvalException e = assertThrows(EvalException.class, () -> Shard.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("--shard must be I/N with 0 <= I < N"), e.getMessage());
        }
        assertEquals("shard 1/3 (positions 1, 4, 7, …)", new Shard(1, 3).describe());
    }

    /** For every N and dataset size, the N shards' positions are every position exactly once, each shard in increasing order. */
    @Test
    void theShardsOfNCoverEveryPositionOnce() {
        for (int n = 1; n <= 6; n++) {
            for (int end = 0; end <= 20; end++) {
                int[] seen = new int[end];
                for (int i = 0; i < n; i++) {
                    Shard s = new Shard(i, n);
                    long last = -1;
                    for (int k = 0; k < s.size(end); k++) {
                        long p = s.position(k);
                        assertTrue(p > last && p < end && s.contains((int) p), s.id() + " k=" + k + " end=" + end);
                        last = p;
                        seen[(int) p]++;
                    }
                    if (s.size(end) < end) assertTrue(s.position(s.size(end)) >= end, "size() counts every position below end");
                }
                for (int p = 0; p < end; p++) assertEquals(1, seen[p], "position " + p + " of " + end + " with N = " + n);
            }
        }
        assertEquals(2, new Shard(1, 3).size(6));
        assertEquals(1, new Shard(1, 3).size(2));
        assertEquals(0, new Shard(1, 3).size(1));
        assertEquals(7L, new Shard(1, 3).position(2));
        assertEquals(3_000_000_000L, new Shard(0, 1_500_000_000).position(2), "no int overflow");
    }

    static ImageRecord record(int index) {
        long[][] hits = new long[MaxBoxAccV2.IOU_LEVELS.length][2];
        return new ImageRecord(index, "p" + index + ".jpg", null, 3, new int[] {3, 1, 4, 5, 9}, 64, 48,
                List.of(new ImageRecord.Outcome(new Box(1, 2, 30, 40), 0.25, hits)));
    }

    static ObjectNode settings(String shard) {
        ObjectNode s = new ObjectMapper().createObjectNode().put("test", 1);
        if (shard != null) s.put(Shard.SETTING, shard);
        return s;
    }

    /** A sharded checkpoint holds its shard's positions in order; another position where the next one belongs is refused, by the runner and by merge's reader alike. */
    @Test
    void aShardsCheckpointHoldsItsPositionsInOrder() throws IOException {
        try (EvalCheckpoint cp = EvalCheckpoint.open(dir, settings("1/3"), "labels x", 1)) {
            cp.append(List.of(record(1), record(4)));
        }
        Path f = dir.resolve(EvalCheckpoint.FILE);
        List<Integer> read = new ArrayList<>();
        EvalCheckpoint.forEach(f, 1, r -> read.add(r.index()));
        assertEquals(List.of(1, 4), read);
        try (EvalCheckpoint.Reader r = EvalCheckpoint.Reader.open(f, 1)) {
            assertEquals(new Shard(1, 3), r.shard());
            assertEquals("labels x", r.source());
            assertEquals(settings("1/3"), r.settings());
        }
        try (EvalCheckpoint cp = EvalCheckpoint.open(dir, settings("1/3"), 1)) {
            assertEquals(2, cp.done());
            cp.append(List.of(record(6)));                  // 7 comes next in shard 1/3
        }
        EvalException e = assertThrows(EvalException.class, () -> EvalCheckpoint.forEach(f, 1, r -> { }));
        assertTrue(e.getMessage().contains("line 4 is out of order (picture 6 where 7 comes next in shard 1/3)"), e.getMessage());
        e = assertThrows(EvalException.class, () -> EvalCheckpoint.open(dir, settings("1/3"), 1));
        assertTrue(e.getMessage().contains("line 4 is out of order") && e.getMessage().endsWith("use --force to start over"), e.getMessage());
        // the same lines under an unsharded header are out of order from the first
        Files.delete(f);
        try (EvalCheckpoint cp = EvalCheckpoint.open(dir, settings(null), 1)) {
            cp.append(List.of(record(1)));
        }
        e = assertThrows(EvalException.class, () -> EvalCheckpoint.forEach(f, 1, r -> { }));
        assertTrue(e.getMessage().contains("line 2 is out of order (picture 1 where 0 comes next)"), e.getMessage());
    }

    /** merge reads a shard killed mid-append as the runner would continue it: its whole records, the cut line left out. */
    /** A checkpoint may claim any N: merge refuses before sizing anything by it (a claimed 2e9 shards once ran out of memory). */
    @Test
    void aShardCountBeyondTheFoldersGivenIsRefusedFirst() throws IOException {
        try (EvalCheckpoint cp = EvalCheckpoint.open(dir, settings("0/2000000000"), "labels x", 1)) {
            cp.append(List.of(record(0)));
        }
        EvalException e = assertThrows(EvalException.class, () -> Shards.check(List.of(dir)));
        assertTrue(e.getMessage().contains("shard(s) 1/2000000000, 2/2000000000") && e.getMessage().contains("…"), e.getMessage());
    }

    /** A checkpoint line without end (garbage, a huge file) is refused at a bounded length, not read into memory whole. */
    @Test
    void anEndlessLineIsRefusedAtABoundedLength() throws IOException {
        Path f = dir.resolve(EvalCheckpoint.FILE);
        try (var raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(EvalCheckpoint.MAX_LINE + (1L << 20));                          // sparse: NUL bytes, no newline
        }
        EvalException e = assertThrows(EvalException.class, () -> EvalCheckpoint.open(dir, settings("0/2"), 1).close());
        assertTrue(e.getMessage().contains("not a checkpoint record"), e.getMessage());
    }

    @Test
    void aCutLastLineEndsTheRecords() throws IOException {
        try (EvalCheckpoint cp = EvalCheckpoint.open(dir, settings("0/2"), 1)) {
            cp.append(List.of(record(0), record(2)));
        }
        Path f = dir.resolve(EvalCheckpoint.FILE);
        String whole = Files.readString(f);
        Files.writeString(f, "{\"crc\":\"0000", StandardOpenOption.APPEND);
        int[] n = {0};
        EvalCheckpoint.forEach(f, 1, r -> n[0]++);
        assertEquals(2, n[0]);
        assertEquals(whole + "{\"crc\":\"0000", Files.readString(f), "reading changes nothing");
        try (EvalCheckpoint cp = EvalCheckpoint.open(dir, settings("0/2"), 1)) {
            assertEquals(2, cp.done());
        }
        assertEquals(whole, Files.readString(f), "the runner cuts it off");
        assertFalse(whole.contains("\"source\""), "no source unless given");
    }
}
