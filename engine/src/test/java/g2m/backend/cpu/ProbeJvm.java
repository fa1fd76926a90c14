package g2m.backend.cpu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A child JVM on this test run's class path, for what one JVM cannot show twice (what a native library read when it loaded). */
final class ProbeJvm {
    private ProbeJvm() {}

    /** Runs {@code main} with {@code args}, its environment edited by {@code env}, stdout and stderr into {@code log}; asserts it ends within 120 s with 0, returns its output. */
    static String run(Class<?> main, String heap, Consumer<java.util.Map<String, String>> env, Path log, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", heap, "-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        env.accept(pb.environment());
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process p = pb.start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done, "the probe finished within 120 s: " + out);
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}
