package g2m.backend.cuda;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kernels module's sources, for the tests that pair them with the engine's Java code. */
public final class KernelSources {
    private KernelSources() {}

    /** kernels/ beside the engine module (the tests run with basedir = engine/). */
    public static Path dir() {
        return Path.of(System.getProperty("basedir", "."), "..", "kernels").normalize();
    }

    /** A file of kernels/src/main/cuda; the test is skipped (with the path) where the sources are not there. */
    public static String cuda(String name) throws IOException {
        Path p = dir().resolve("src/main/cuda").resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(p), "no kernel sources at " + p);
        return Files.readString(p);
    }

    /** The value of "NAME = 123" in src. */
    public static int constant(String src, String name) {
        Matcher m = Pattern.compile("\\b" + name + " = (\\d+)").matcher(src);
        assertTrue(m.find(), name + " not found");
        return Integer.parseInt(m.group(1));
    }
}
