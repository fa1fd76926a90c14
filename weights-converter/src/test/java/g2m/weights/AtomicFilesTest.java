package g2m.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** Whole-or-nothing writes: permissions from the umask, nothing left by a signal, stale temporaries swept. */
class AtomicFilesTest {
    @TempDir
    Path dir;

    Set<String> names() throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    static void writeSmall(Path target) {
        AtomicFiles.write(target, false, ch -> ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3})));
    }

    @Test
    void bytesInMemoryAreWrittenWholeAndAnExistingFileOnlyWithOverwrite() throws IOException {
        Path target = dir.resolve("big.bin");
        byte[] b = new byte[3 << 20];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (i * 31);
        AtomicFiles.write(target, false, b);
        assertArrayEquals(b, Files.readAllBytes(target));
        assertThrows(WeightsException.class, () -> AtomicFiles.write(target, false, new byte[] {1}));
        AtomicFiles.write(target, true, new byte[] {1});
        assertArrayEquals(new byte[] {1}, Files.readAllBytes(target));
    }

    @Test
    void writtenFileHasTheSamePermissionsAsAnyNewFile() throws IOException {
        Path ours = dir.resolve("ours.bin");
        writeSmall(ours);
        Path plain = Files.createFile(dir.resolve("plain.bin")); // what the umask gives a new file
        assertEquals(PosixFilePermissions.toString(Files.getPosixFilePermissions(plain)),
                PosixFilePermissions.toString(Files.getPosixFilePermissions(ours)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"022", "077", "002"})
    void outputHonoursTheUmask(String umask) throws Exception {
        Path target = dir.resolve("out-" + umask + ".txt");
        ChildJvm.run(ChildJvm.command(umask, ChildJvm.class, "write", target.toString()));
        String expected = switch (umask) {
            case "022" -> "rw-r--r--";
            case "077" -> "rw-------";
            default -> "rw-rw-r--";
        };
        assertEquals(expected, PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
        assertEquals("done\n", Files.readString(target));
    }

    @ParameterizedTest
    @ValueSource(strings = {"TERM", "INT"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aSignalMidWriteLeavesNothing(String signal) throws Exception {
        assumeFalse(signal.equals("INT") && sigintIgnored(),
                "SIGINT is ignored in this process (started in the background without job control), so the child inherits that and cannot get one");
        Path target = dir.resolve("big.safetensors");
        Process p = ChildJvm.startUntil(ChildJvm.command(null, ChildJvm.class, "hang", target.toString()), "writing");
        assertTrue(names().stream().anyMatch(n -> n.startsWith(".big.safetensors.") && n.endsWith(".part")),
                "the temporary file exists while writing: " + names());
        int code = ChildJvm.signal(p, signal);
        assertTrue(code != 0, "killed, so not a success: " + code);
        assertEquals(Set.of(), names(), "nothing left after SIG" + signal);
    }

    /** Whether this process ignores SIGINT (bit 2 of /proc/self/status's SigIgn mask), as children inherit. */
    static boolean sigintIgnored() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return false;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("SigIgn:")) return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & 2L) != 0;
        }
        return false;
    }

    @Test
    void staleTemporariesOfOurNamingAreSweptAndNothingElse() throws IOException {
        long dead = 999_999_999L; // above any pid_max: no such process
        String here = TempFiles.HOST, elsewhere = "0".repeat(8).equals(here) ? "00000001" : "00000000";
        List<String> swept = List.of(
                ".w.safetensors." + here + "-" + dead + ".123.part",    // ours, from this host, its process gone
                ".w.safetensors.5123456789012.part");                   // no host tag (older naming), untouched for hours
        List<String> kept = List.of(
                ".w.safetensors." + here + "-1.77.part",                // ours, but process 1 is alive
                ".w.safetensors." + elsewhere + "-" + dead + ".9.part", // another host's (a shared cache): its pid means nothing here
                ".w.safetensors.9876543.part",                          // no host tag, but fresh
                ".other.bin." + here + "-" + dead + ".5.part",          // ours, but for another target
                "notes.part", "w.safetensors.part", ".w.safetensors.part", ".w.safetensors.x.part",
                ".w.safetensors." + here + "-" + dead + ".123.part.keep");
        for (String n : swept) Files.writeString(dir.resolve(n), "stale");
        for (String n : kept) Files.writeString(dir.resolve(n), "the user's");
        FileTime old = FileTime.from(Instant.now().minus(2, ChronoUnit.HOURS));
        Files.setLastModifiedTime(dir.resolve(".w.safetensors.5123456789012.part"), old);
        Files.setLastModifiedTime(dir.resolve(".w.safetensors." + elsewhere + "-" + dead + ".9.part"), old);
        Files.setLastModifiedTime(dir.resolve(".other.bin." + here + "-" + dead + ".5.part"), old);
        writeSmall(dir.resolve("w.safetensors"));
        Set<String> expected = new TreeSet<>(kept);
        expected.add("w.safetensors");
        assertEquals(expected, names());
    }

    @Test
    void failuresAreOneLineInPlainWords() throws IOException {
        assertEquals("nosuch.txt: no such file", AtomicFiles.describe(new NoSuchFileException("nosuch.txt")));
        assertEquals("x.csv already exists", AtomicFiles.describe(new FileAlreadyExistsException("x.csv")));
        assertEquals("/root/y: permission denied", AtomicFiles.describe(new AccessDeniedException("/root/y")));
        assertEquals("out: No space left on device", AtomicFiles.describe(new FileSystemException("out", null, "No space left on device")));
        assertEquals("input/output error", AtomicFiles.describe(new IOException()));

        Files.writeString(dir.resolve("afile"), "x");
        for (Path target : List.of(dir.resolve("afile").resolve("o.bin"), dir.resolve("afile").resolve("sub").resolve("o.bin"))) {
            WeightsException e = assertThrows(WeightsException.class, () -> writeSmall(target));
            assertTrue(e.getMessage().endsWith("afile is a file, not a folder"), e.getMessage());
            assertFalse(e.getMessage().matches(".*[A-Z][a-zA-Z]*(Exception|Error).*"), e.getMessage());
        }
    }
}
