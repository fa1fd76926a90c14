package g2m.weights;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The hidden temporary files our outputs are written through, named
 * {@code .<target name>.<host>-<pid>.<n>.part} next to the file they become ({@code host}: 8 hex
 * digits of this machine's host name). Each is registered while in flight, and one shutdown hook
 * deletes whatever is still registered, so SIGINT or SIGTERM (Ctrl-C, {@code kill}) leaves nothing
 * behind. What a JVM cannot clean up (SIGKILL, a power cut) is swept the next time a temporary
 * file for the same target is made: ones of our naming from THIS host whose process is gone (a
 * pid is only meaningful on the host that wrote it: a cache shared over NFS by the machines of a
 * sharded run, or a volume shared by containers, holds other hosts' live files), and ones without
 * a host tag, {@code .<target name>.<digits>.part}, untouched for {@link #LEGACY_STALE}. Nothing
 * else is ever deleted.
 */
public final class TempFiles {
    private TempFiles() {}

    /** Older releases named temporaries {@code .<name>.<random digits>.part}, without a pid. */
    static final Duration LEGACY_STALE = Duration.ofHours(1);
    /** Target names are cut to this many characters in temporary names (a name may have 255 bytes). */
    static final int MAX_STEM = 160;

    private static final long PID = ProcessHandle.current().pid();
    /** 8 hex digits naming this host (its UTS name, so each container is its own host). */
    public static final String HOST = String.format("%08x", hostName().hashCode());
    private static final Set<Path> IN_FLIGHT = ConcurrentHashMap.newKeySet();
    private static final Pattern OURS = Pattern.compile("^\\.(.+)\\.([0-9a-f]{8})-(\\d{1,10})\\.(\\d{1,19})\\.part$");
    private static final Pattern LEGACY = Pattern.compile("^\\.(.+)\\.(\\d{1,20})\\.part$");
    /** Per folder, listed once per process: stale temporaries by target stem. */
    private static final Map<Path, Map<String, List<Path>>> STALE = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(TempFiles::deleteInFlight, "g2m temp-file cleanup"));
    }

    /**
     * Creates an empty temporary file beside {@code target}, with the permissions a new file
     * gets (so the umask applies, as it will to the target it becomes), after sweeping stale
     * temporaries of the same target. The folder must exist.
     */
    public static Path create(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        String stem = stem(abs.getFileName().toString());
        sweep(dir, stem);
        while (true) {
            Path tmp = dir.resolve("." + stem + "." + HOST + "-" + PID + "." + (ThreadLocalRandom.current().nextLong() >>> 1) + ".part");
            IN_FLIGHT.add(tmp); // before it exists: a signal between creating and registering would leak it
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                IN_FLIGHT.remove(tmp);
            } catch (IOException | RuntimeException e) {
                IN_FLIGHT.remove(tmp);
                throw e;
            }
        }
    }

    /** The temporary file became its target (it was renamed): forget it. */
    public static void done(Path tmp) {
        IN_FLIGHT.remove(tmp);
    }

    /** Deletes a temporary file (best effort) and forgets it. */
    public static void delete(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // a hidden .part file is swept by a later run
        }
        IN_FLIGHT.remove(tmp);
    }

    private static void deleteInFlight() {
        for (Path p : IN_FLIGHT) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // nothing more a dying JVM can do; a later run sweeps it
            }
        }
    }

    static String stem(String name) {
        return name.length() <= MAX_STEM ? name : name.substring(0, MAX_STEM);
    }

    /** Deletes the stale temporaries of {@code stem} in {@code dir}; the folder is listed once per process. */
    private static void sweep(Path dir, String stem) {
        Map<String, List<Path>> stale = STALE.computeIfAbsent(dir, TempFiles::listStale);
        List<Path> mine = stale.remove(stem);
        if (mine == null) return;
        for (Path p : mine) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // not ours to insist on: left as it is
            }
        }
    }

    private static Map<String, List<Path>> listStale(Path dir) {
        Map<String, List<Path>> out = new ConcurrentHashMap<>();
        Instant legacyBefore = Instant.now().minus(LEGACY_STALE);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, ".*.part")) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                String stem = null;
                Matcher m = OURS.matcher(name);
                if (m.matches()) {
                    if (m.group(2).equals(HOST) && !alive(m.group(3))) stem = m.group(1);   // another host's: never ours to judge
                } else {
                    Matcher l = LEGACY.matcher(name);
                    if (l.matches() && olderThan(p, legacyBefore)) stem = l.group(1);
                }
                if (stem != null && Files.isRegularFile(p)) out.computeIfAbsent(stem, k -> new ArrayList<>()).add(p);
            }
        } catch (IOException | RuntimeException e) {
            // an unlistable folder is swept by no one; writing into it reports its own error
        }
        return out;
    }

    private static boolean alive(String pid) {
        try {
            long p = Long.parseLong(pid);
            return p == PID || ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return true; // not a pid we could have written: leave it
        }
    }

    private static String hostName() {
        try {
            String h = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            if (!h.isEmpty()) return h;
        } catch (IOException | RuntimeException e) {
            // not Linux: the environment's name, else one name for all (then only this host's pids are judged, as before)
        }
        String h = System.getenv("HOSTNAME");
        return h == null || h.isBlank() ? "localhost" : h;
    }

    private static boolean olderThan(Path p, Instant t) {
        try {
            FileTime m = Files.getLastModifiedTime(p);
            return m.toInstant().isBefore(t);
        } catch (IOException e) {
            return false;
        }
    }
}
