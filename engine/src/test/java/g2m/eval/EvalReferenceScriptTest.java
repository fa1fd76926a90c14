package g2m.eval;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tools/reference/eval_reference.py --help prints its usage and writes nothing (it used to regenerate every golden). */
class EvalReferenceScriptTest {
    static final Path PYTHON = Path.of("/usr/bin/python3"); // Debian's, with torch, numpy, PIL, cv2 (README)

    @Test
    @Timeout(300)
    void helpPrintsUsageAndTouchesNoGolden() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PYTHON), "no " + PYTHON + " to run the reference scripts with");
        Path root = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();
        Path goldens = root.resolve("engine/src/test/resources/eval");
        List<String> before = listing(goldens);
        Process p = new ProcessBuilder(PYTHON.toString(), root.resolve("tools/reference/eval_reference.py").toString(), "--help")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(240, TimeUnit.SECONDS), "--help finishes");
        Assumptions.assumeFalse(out.contains("ModuleNotFoundError"), "the reference scripts' Python modules are missing here: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.startsWith("usage: eval_reference.py [-h] [--synthetic-set DIR N [W H]]"), out);
        assertEquals(before, listing(goldens), "--help rewrote goldens");
    }

    /** Every file under dir with its size and modification time. */
    static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().map(f -> {
                try {
                    return dir.relativize(f) + " " + Files.size(f) + " " + Files.getLastModifiedTime(f).toMillis();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
        }
    }
}
