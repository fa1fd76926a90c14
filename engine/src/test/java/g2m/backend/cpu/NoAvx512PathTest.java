package g2m.backend.cpu;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU backend on a machine without AVX-512, which ours are not: a child JVM with oneDNN capped
 * at AVX2 ({@code ONEDNN_MAX_CPU_ISA}, oneDNN's own switch) must fall back to im2col + OpenBLAS by
 * default, and refuse bf16 and forced oneDNN convolutions in one line that says why.
 */
class NoAvx512PathTest {
    @org.junit.jupiter.api.io.TempDir
    Path dir;

    @Test
    void belowAvx512TheDefaultIsIm2colAndTheFastModesAreRefusedInWords() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), NoAvx512Probe.class.getName());
        pb.environment().put("ONEDNN_MAX_CPU_ISA", "AVX2");
        Path log = dir.resolve("probe.txt");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process p = pb.start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done, "the probe finished within 120 s: " + out);
        assertEquals(0, p.exitValue(), out);
        Map<String, String> v = new HashMap<>();
        for (String line : out.lines().toList()) {
            int eq = line.indexOf('=');
            if (eq > 0) v.put(line.substring(0, eq), line.substring(eq + 1));
        }
        assertEquals("true", v.get("loaded"), out);
        assertEquals("false", v.get("avx512"), "the cap took effect: " + out);
        assertEquals("false", v.get("bf16"), out);
        assertEquals("im2col+sgemm", v.get("auto"), out);
        for (String k : List.of("BF16/AUTO", "open-bf16")) {
            assertTrue(v.get(k).startsWith("refused ") && v.get(k).contains("no AVX-512 bf16"), k + ": " + out);
        }
        assertTrue(v.get("FP32/ONEDNN").startsWith("refused ") && v.get("FP32/ONEDNN").contains("no AVX-512"), out);
        for (String s : v.values()) assertTrue(!s.contains("Exception") && !s.contains("Error"), "no Java class names: " + s);
    }
}
