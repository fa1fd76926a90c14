package g2m.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.maps.MapMethod;
import g2m.net.Tap;
import g2m.weights.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * {@code eval merge}: the checkpoints of the N runs of {@code --shard 0/N … N−1/N} interleaved
 * back, by dataset position, into the checkpoint that one unsharded run writes (its settings
 * without the shard, its records in order), from which the results files are then added up as
 * after any run. Refused, with the folders named: a folder without a checkpoint, checkpoints made
 * with other settings (another dataset, layers, weights, device…), shards of different N, a shard
 * given twice, a missing shard, a shard that has not finished all its pictures.
 */
public final class Shards {
    private Shards() {}

    /** One shard's folder as found: its shard and how many whole records it holds. */
    public record Part(Path dir, Shard shard, int records) {}

    /**
     * What the shards hold together: the unsharded settings, where shard 0 read its dataset
     * (null when its checkpoint does not say), layers and methods, the dataset's size, the parts
     * in shard order.
     */
    public record Merged(ObjectNode settings, String source, List<Tap> taps, List<MapMethod> methods, int images, List<Part> parts) {
        public int outcomes() {
            return taps.size() * methods.size();
        }
    }

    /** Records appended per write while merging (each write is fsynced). */
    private static final int CHUNK = 512;

    /** Checks the shards in {@code dirs} (any order) and writes their merged checkpoint into {@code out}, which must hold none. */
    public static Merged merge(List<Path> dirs, Path out) {
        Merged m = check(dirs);
        if (Files.exists(out.resolve(EvalCheckpoint.FILE))) throw new EvalException(out.resolve(EvalCheckpoint.FILE) + " exists");
        List<EvalCheckpoint.Reader> readers = new ArrayList<>();
        try (EvalCheckpoint cp = EvalCheckpoint.open(out, m.settings(), m.source(), m.outcomes())) {
            for (Part p : m.parts()) readers.add(EvalCheckpoint.Reader.open(p.dir().resolve(EvalCheckpoint.FILE), m.outcomes()));
            int n = m.parts().size();
            List<ImageRecord> chunk = new ArrayList<>(CHUNK);
            for (int pos = 0; pos < m.images(); pos++) {
                ImageRecord r = readers.get(pos % n).next();
                // check() counted every shard's records and each reader checks their order, so r is picture pos
                if (r == null || r.index() != pos) throw new EvalException(m.parts().get(pos % n).dir() + " changed while it was being merged");
                chunk.add(r);
                if (chunk.size() == CHUNK) {
                    cp.append(chunk);
                    chunk.clear();
                }
            }
            cp.append(chunk);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(out.resolve(EvalCheckpoint.FILE));     // ours (there was none): no half-merged checkpoint stays
            } catch (IOException ignored) {
                // the error below is what matters
            }
            if (e instanceof RuntimeException re) throw re;
            throw new EvalException("cannot read a shard's checkpoint: " + AtomicFiles.describe((IOException) e), e);
        } finally {
            for (EvalCheckpoint.Reader r : readers) {
                try {
                    r.close();
                } catch (IOException ignored) {
                    // read only
                }
            }
        }
        return m;
    }

    /** The checks of {@link #merge}, reading the shards' checkpoints (nothing written). */
    public static Merged check(List<Path> dirs) {
        if (dirs.isEmpty()) throw new EvalException("no shard folders given");
        List<Path> seen = new ArrayList<>();
        java.util.TreeMap<Integer, Part> bySlot = new java.util.TreeMap<>();   // not an array of N: a checkpoint may claim any N
        int count = 0;
        ObjectNode base = null;
        Path baseDir = null;
        String source = null;
        for (Path d : dirs) {
            Path real = realPath(d);
            int twice = seen.indexOf(real);
            if (twice >= 0) throw new EvalException(d + " is given twice" + (dirs.get(twice).equals(d) ? "" : " (also as " + dirs.get(twice) + ")"));
            seen.add(real);
            Path f = d.resolve(EvalCheckpoint.FILE);
            if (!Files.isRegularFile(f)) throw new EvalException(d + " has no " + EvalCheckpoint.FILE + " (not the --output folder of an eval run)");
            ObjectNode settings;
            Shard shard;
            String src;
            try (EvalCheckpoint.Reader r = EvalCheckpoint.Reader.open(f, 0)) {       // the first line only
                settings = r.settings().deepCopy();
                shard = r.shard();
                src = r.source();
            } catch (IOException e) {
                throw new EvalException("cannot read " + f + ": " + AtomicFiles.describe(e), e);
            }
            settings.remove(Shard.SETTING);
            if (base == null) {
                base = settings;
                baseDir = d;
                count = shard.count();
            } else {
                String diff = EvalCheckpoint.difference(base, settings);
                if (diff != null) throw new EvalException(d + " was evaluated with other settings than " + baseDir + " (" + diff + "); only shards of one run merge");
            }
            if (shard.count() != count) {
                throw new EvalException(d + (shard.isAll() ? " holds an unsharded run" : " is shard " + shard.id()) + " but " + baseDir
                        + (count == 1 ? " holds an unsharded run" : " is one of " + count + " shards")
                        + ": they overlap; merge the N folders of one --shard I/N series");
            }
            Part other = bySlot.get(shard.index());
            if (other != null) throw new EvalException("shard " + shard.id() + " is in both " + other.dir() + " and " + d + " (overlapping shards)");
            bySlot.put(shard.index(), new Part(d, shard, 0));
            if (shard.index() == 0) source = src;
        }
        if (bySlot.size() < count) {
            StringJoiner missing = new StringJoiner(", ");
            int named = 0;
            for (int i = 0; i < count && named < 10; i++) {
                if (!bySlot.containsKey(i)) {
                    missing.add(i + "/" + count);
                    named++;
                }
            }
            if (count - bySlot.size() > named) missing.add("…");
            throw new EvalException("shard(s) " + missing + " missing: " + dirs.size() + " of " + count + " folders given");
        }
        List<Tap> taps;
        List<MapMethod> methods;
        int images;
        try {
            taps = Tap.parseList(join(base.path("layers")));
            methods = MapMethod.parseList(join(base.path("methods")));
            if (!base.path("images").canConvertToInt() || base.get("images").intValue() < 1) throw new IllegalArgumentException("no picture count");
            images = base.get("images").intValue();
        } catch (IllegalArgumentException e) {
            throw new EvalException(baseDir.resolve(EvalCheckpoint.FILE) + " does not hold an eval run's settings (" + e.getMessage() + ")");
        }
        List<Part> parts = new ArrayList<>();
        for (Part p : bySlot.values()) {
            int n = count(p.dir().resolve(EvalCheckpoint.FILE), taps.size() * methods.size());
            int want = p.shard().size(images);
            if (n < want) {
                throw new EvalException("shard " + p.shard().id() + " in " + p.dir() + " has " + n + " of its " + want
                        + " pictures: run its eval command again (without --limit) to finish it");
            }
            if (n > want) throw new EvalException("shard " + p.shard().id() + " in " + p.dir() + " holds " + n + " records for its " + want + " pictures");
            parts.add(new Part(p.dir(), p.shard(), n));
        }
        return new Merged(base, source, taps, methods, images, List.copyOf(parts));
    }

    private static int count(Path f, int outcomes) {
        int[] n = {0};
        EvalCheckpoint.forEach(f, outcomes, r -> n[0]++);
        return n[0];
    }

    private static String join(JsonNode ids) {
        if (!ids.isArray()) throw new IllegalArgumentException("no list of layers or methods");
        StringJoiner j = new StringJoiner(",");
        for (JsonNode id : ids) j.add(id.asText());
        return j.toString();
    }

    private static Path realPath(Path d) {
        try {
            return d.toRealPath();
        } catch (IOException e) {
            if (!Files.exists(d)) throw new EvalException(d + ": no such folder");
            throw new EvalException("cannot use " + d + ": " + AtomicFiles.describe(e), e);
        }
    }
}
